package packaging

import (
	"errors"
	"fmt"
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
	// from the first syncframe.
	DAC3 []byte
}

// ParseAAC reads an AudioSpecificConfig.
func ParseAAC(asc []byte, bitrate int64) (AudioConfig, error) {
	r := bitReader{b: asc}
	aot := int(r.bits(5))
	if aot == 31 {
		aot = 32 + int(r.bits(6))
	}
	freqIndex := r.bits(4)
	rate := 0
	if freqIndex == 15 {
		rate = int(r.bits(24))
	} else if int(freqIndex) < len(aacRates) {
		rate = aacRates[freqIndex]
	}
	channels := int(r.bits(4))
	if r.err != nil || rate == 0 || aot == 0 {
		return AudioConfig{}, fmt.Errorf("AAC AudioSpecificConfig %x is not valid", asc)
	}
	if channels == 7 {
		channels = 8 // channel configuration 7 is 7.1
	}
	return AudioConfig{Codec: "aac", SampleRate: rate, Channels: channels, Bitrate: bitrate,
		ASC: append([]byte(nil), asc...), ObjectType: aot}, nil
}

var aacRates = []int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

// ParseAC3 reads the AC-3 parameters from a syncframe (the first packet).
func ParseAC3(frame []byte, bitrate int64) (AudioConfig, error) {
	if len(frame) < 7 || frame[0] != 0x0b || frame[1] != 0x77 {
		return AudioConfig{}, errors.New("AC-3 packet does not start with a syncword")
	}
	r := bitReader{b: frame[4:]}
	fscod := r.bits(2)
	frmsizecod := r.bits(6)
	bsid := r.bits(5)
	bsmod := r.bits(3)
	acmod := r.bits(3)
	if acmod&1 != 0 && acmod != 1 {
		r.bits(2) // cmixlev
	}
	if acmod&4 != 0 {
		r.bits(2) // surmixlev
	}
	if acmod == 2 {
		r.bits(2) // dsurmod
	}
	lfeon := r.bit()
	if r.err != nil || fscod == 3 || bsid > 10 {
		return AudioConfig{}, errors.New("AC-3 syncframe header is not valid")
	}
	v := fscod<<22 | bsid<<17 | bsmod<<14 | acmod<<11 | lfeon<<10 | (frmsizecod>>1)<<5
	channels := []int{2, 1, 2, 3, 3, 4, 4, 5}[acmod] + int(lfeon)
	return AudioConfig{Codec: "ac3", SampleRate: []int{48000, 44100, 32000}[fscod], Channels: channels, Bitrate: bitrate,
		DAC3: []byte{byte(v >> 16), byte(v >> 8), byte(v)}}, nil
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
func (a AudioConfig) esds(trackID uint32) []byte {
	dsi := descriptor(0x05, a.ASC)
	dcd := []byte{0x40, 0x15, 0, 0x18, 0} // MPEG-4 audio, audio stream, 6 KiB buffer
	br := uint32(a.Bitrate)
	dcd = append(dcd, byte(br>>24), byte(br>>16), byte(br>>8), byte(br), byte(br>>24), byte(br>>16), byte(br>>8), byte(br))
	dcd = descriptor(0x04, append(dcd, dsi...))
	es := []byte{byte(trackID >> 8), byte(trackID), 0}
	es = append(es, dcd...)
	es = append(es, descriptor(0x06, []byte{0x02})...) // SLConfig: predefined for MP4
	return newFullBox("esds", 0, 0).raw(descriptor(0x03, es)).bytes()
}

// descriptor writes an MPEG-4 descriptor with a one-to-four byte length.
func descriptor(tag byte, payload []byte) []byte {
	n := len(payload)
	b := []byte{tag}
	var size []byte
	for {
		size = append([]byte{byte(n & 0x7f)}, size...)
		n >>= 7
		if n == 0 {
			break
		}
	}
	for i := 0; i < len(size)-1; i++ {
		size[i] |= 0x80
	}
	b = append(b, size...)
	return append(b, payload...)
}
