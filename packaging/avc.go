package packaging

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/Eyevinn/mp4ff/avc"
)

// AVCConfig is an H.264 stream's decoder configuration: its parameter sets
// and what the CODECS attribute and the avcC box say about them.
type AVCConfig struct {
	SPS, PPS [][]byte // NAL units without start codes
	// Profile, Constraints and Level are profile_idc, the constraint_set
	// flags byte and level_idc of the first SPS.
	Profile, Constraints, Level byte
	// ChromaFormat and the bit depths come from the SPS of the High
	// profiles; avcC repeats them for those profiles.
	ChromaFormat                 uint
	BitDepthLuma, BitDepthChroma uint // minus 8, as coded
}

// NAL unit types used here (ITU-T H.264 table 7-1).
const (
	nalIDR = 5
	nalSPS = 7
	nalPPS = 8
	nalAUD = 9
)

// ParseAVCConfig reads the decoder configuration from an encoder's extradata:
// Annex B parameter sets (libx264 with a global header) or an avcC record.
func ParseAVCConfig(extradata []byte) (AVCConfig, error) {
	var c AVCConfig
	var nals [][]byte
	if len(extradata) > 0 && extradata[0] == 1 {
		rec, err := avc.DecodeAVCDecConfRec(extradata)
		// A record with SPS extensions still holds its parameter sets.
		if err != nil && !errors.Is(err, avc.ErrCannotParseAVCExtension) {
			return c, fmt.Errorf("avcC record: %w", err)
		}
		nals = append(append(nals, rec.SPSnalus...), rec.PPSnalus...)
	} else {
		nals = SplitAnnexB(extradata)
	}
	for _, n := range nals {
		if len(n) == 0 {
			continue
		}
		switch n[0] & 0x1f {
		case nalSPS:
			c.SPS = append(c.SPS, n)
		case nalPPS:
			c.PPS = append(c.PPS, n)
		}
	}
	if len(c.SPS) == 0 || len(c.PPS) == 0 {
		return c, fmt.Errorf("H.264 extradata holds %d SPS and %d PPS; both are needed", len(c.SPS), len(c.PPS))
	}
	if err := c.parseSPS(c.SPS[0]); err != nil {
		return c, err
	}
	return c, nil
}

// Codecs is the RFC 6381 codecs parameter: avc1.PPCCLL.
func (c AVCConfig) Codecs() string {
	return fmt.Sprintf("avc1.%02x%02x%02x", c.Profile, c.Constraints, c.Level)
}

// decConfRec is the AVCDecoderConfigurationRecord, the payload of avcC.
// Records of every profile but Baseline, Main and Extended end with the
// chroma format and bit depths (ISO/IEC 14496-15 5.3.3.1.2); mp4ff writes
// them when the profile asks for them.
func (c AVCConfig) decConfRec() avc.DecConfRec {
	return avc.DecConfRec{
		AVCProfileIndication: c.Profile,
		ProfileCompatibility: c.Constraints,
		AVCLevelIndication:   c.Level,
		SPSnalus:             c.SPS,
		PPSnalus:             c.PPS,
		ChromaFormat:         byte(c.ChromaFormat),
		BitDepthLumaMinus1:   byte(c.BitDepthLuma),   // minus 8, as the SPS codes it
		BitDepthChromaMinus1: byte(c.BitDepthChroma), // despite mp4ff's names
	}
}

// Record is the AVCDecoderConfigurationRecord, the payload of avcC.
func (c AVCConfig) Record() []byte {
	rec := c.decConfRec()
	var b bytes.Buffer
	rec.Encode(&b) // writing to memory does not fail
	return b.Bytes()
}

// AnnexB returns the parameter sets with start codes, as Smooth Streaming's
// CodecPrivateData carries them.
func (c AVCConfig) AnnexB() []byte {
	var b []byte
	for _, n := range append(append([][]byte{}, c.SPS...), c.PPS...) {
		b = append(b, 0, 0, 0, 1)
		b = append(b, n...)
	}
	return b
}

// recordCarriesChroma reports whether avcC ends with the chroma format
// and bit depths, as it does for every profile but Baseline, Main and
// Extended (ISO/IEC 14496-15 5.3.3.1.2).
func recordCarriesChroma(profile byte) bool {
	switch profile {
	case 66, 77, 88:
		return false
	}
	return true
}

func (c *AVCConfig) parseSPS(sps []byte) error {
	if len(sps) < 4 {
		return errors.New("H.264 SPS is too short")
	}
	// profile_idc, the constraint flags and level_idc are the SPS's first
	// bytes, which CODECS and avcC copy whatever follows.
	c.Profile, c.Constraints, c.Level = sps[1], sps[2], sps[3]
	c.ChromaFormat = 1
	parsed, err := avc.ParseSPSNALUnit(sps, false)
	if err != nil {
		if recordCarriesChroma(c.Profile) {
			return fmt.Errorf("H.264 SPS: %w", err)
		}
		return nil
	}
	c.ChromaFormat = uint(parsed.ChromaFormatIDC)
	c.BitDepthLuma, c.BitDepthChroma = parsed.BitDepthLumaMinus8, parsed.BitDepthChromaMinus8
	return nil
}

// SplitAnnexB splits an Annex B byte stream into NAL units, without their
// start codes.
func SplitAnnexB(b []byte) [][]byte {
	var nals [][]byte
	start := -1
	for i := 0; i+2 < len(b); {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				nals = append(nals, trimZeros(b[start:i]))
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 && start <= len(b) {
		nals = append(nals, b[start:])
	}
	return nals
}

// trimZeros drops the trailing zero of a four-byte start code (and any
// trailing_zero_8bits) from the end of a NAL unit.
func trimZeros(n []byte) []byte {
	for len(n) > 0 && n[len(n)-1] == 0 {
		n = n[:len(n)-1]
	}
	return n
}

// AnnexBToAVCC converts one access unit from start codes to 4-byte lengths,
// as MP4 samples carry it. Access unit delimiters are dropped: an MP4 sample
// is already one access unit.
func AnnexBToAVCC(au []byte) []byte {
	out := make([]byte, 0, len(au)+16)
	for _, n := range SplitAnnexB(au) {
		if len(n) == 0 || n[0]&0x1f == nalAUD {
			continue
		}
		out = append(out, byte(len(n)>>24), byte(len(n)>>16), byte(len(n)>>8), byte(len(n)))
		out = append(out, n...)
	}
	return out
}

// IsAnnexB reports whether an access unit starts with a start code.
func IsAnnexB(au []byte) bool {
	return bytes.HasPrefix(au, []byte{0, 0, 1}) || bytes.HasPrefix(au, []byte{0, 0, 0, 1})
}
