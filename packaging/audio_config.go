package packaging

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/Eyevinn/mp4ff/aac"
	"github.com/Eyevinn/mp4ff/bits"
	"github.com/Eyevinn/mp4ff/mp4"
)

// AudioConfig is an audio track's decoder configuration.
type AudioConfig struct {
	Codec      string // "aac" or "ac3"
	SampleRate int
	Channels   int
	Bitrate    int64 // nominal, bit/s
	// ASC is AAC's AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1), from the
	// encoder's extradata.
	ASC []byte
	// ObjectType is the AAC audio object type the ASC names (2 = AAC LC).
	ObjectType int
	// DAC3 is the AC-3 specific box payload (ETSI TS 102 366 F.4), read
	// from the first syncframe: the dac3 box without its 8-byte header.
	DAC3 []byte
}

// ParseAAC reads an AudioSpecificConfig.
func ParseAAC(asc []byte, bitrate int64) (AudioConfig, error) {
	hdr, err := aac.DecodeAudioSpecificConfigHeader(bytes.NewReader(asc))
	if err != nil || hdr.SamplingFrequency == 0 || hdr.ObjectType == 0 {
		return AudioConfig{}, fmt.Errorf("AAC AudioSpecificConfig %x is not valid", asc)
	}
	channels := int(hdr.ChannelConfiguration)
	if channels == 7 {
		channels = 8 // channel configuration 7 is 7.1
	}
	return AudioConfig{Codec: "aac", SampleRate: hdr.SamplingFrequency, Channels: channels, Bitrate: bitrate,
		ASC: append([]byte(nil), asc...), ObjectType: int(hdr.ObjectType)}, nil
}

// ParseAC3 reads the AC-3 parameters from a syncframe (the first packet).
func ParseAC3(frame []byte, bitrate int64) (AudioConfig, error) {
	if len(frame) < 7 || frame[0] != 0x0b || frame[1] != 0x77 {
		return AudioConfig{}, errors.New("AC-3 packet does not start with a syncword")
	}
	r := bits.NewReader(bytes.NewReader(frame[4:]))
	fscod := r.Read(2)
	frmsizecod := r.Read(6)
	bsid := r.Read(5)
	bsmod := r.Read(3)
	acmod := r.Read(3)
	if acmod&1 != 0 && acmod != 1 {
		r.Read(2) // cmixlev
	}
	if acmod&4 != 0 {
		r.Read(2) // surmixlev
	}
	if acmod == 2 {
		r.Read(2) // dsurmod
	}
	lfeon := r.Read(1)
	if r.AccError() != nil || fscod == 3 || bsid > 10 {
		return AudioConfig{}, errors.New("AC-3 syncframe header is not valid")
	}
	dac3 := &mp4.Dac3Box{FSCod: byte(fscod), BSID: byte(bsid), BSMod: byte(bsmod), ACMod: byte(acmod), LFEOn: byte(lfeon),
		BitRateCode: byte(frmsizecod >> 1)} // frmsizecod counts two frame sizes per bit rate
	box, err := encodeBox(dac3)
	if err != nil {
		return AudioConfig{}, err
	}
	channels := []int{2, 1, 2, 3, 3, 4, 4, 5}[acmod] + int(lfeon)
	return AudioConfig{Codec: "ac3", SampleRate: []int{48000, 44100, 32000}[fscod], Channels: channels, Bitrate: bitrate,
		DAC3: box[8:]}, nil
}

// Codecs is the RFC 6381 codecs parameter: mp4a.40.<object type> or ac-3.
func (a AudioConfig) Codecs() string {
	if a.Codec == "ac3" {
		return "ac-3"
	}
	return fmt.Sprintf("mp4a.40.%d", a.ObjectType)
}

// esds is the MPEG-4 elementary stream descriptor box for AAC (ISO/IEC
// 14496-1 7.2.6.5), with the AudioSpecificConfig as decoder-specific info.
func (a AudioConfig) esds(trackID uint32) *mp4.EsdsBox {
	esds := mp4.CreateEsdsBox(a.ASC) // MPEG-4 audio, an audio stream, SLConfig predefined for MP4
	esds.EsID = uint16(trackID)
	dcd := esds.DecConfigDescriptor
	dcd.BufferSizeDB = 6 << 10 // 6 KiB, the AAC LC decoder's input buffer for two channels
	dcd.MaxBitrate, dcd.AvgBitrate = uint32(a.Bitrate), uint32(a.Bitrate)
	return esds
}

// dac3Box is the AC-3 specific box, read from the DAC3 payload.
func (a AudioConfig) dac3Box() (*mp4.Dac3Box, error) {
	hdr := mp4.BoxHeader{Name: "dac3", Size: uint64(8 + len(a.DAC3)), Hdrlen: 8}
	b, err := mp4.DecodeDac3SR(hdr, 0, bits.NewFixedSliceReader(a.DAC3))
	if err != nil || len(a.DAC3) != 3 {
		return nil, fmt.Errorf("AC-3 specific box payload % x is not valid", a.DAC3)
	}
	return b.(*mp4.Dac3Box), nil
}
