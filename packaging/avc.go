package packaging

import (
	"bytes"
	"errors"
	"fmt"
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
		var err error
		if nals, err = avccParameterSets(extradata); err != nil {
			return c, err
		}
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

// highProfile reports whether avcC carries the chroma and bit-depth fields
// (ISO/IEC 14496-15 5.3.3.1.2).
func (c AVCConfig) highProfile() bool {
	switch c.Profile {
	case 100, 110, 122, 144:
		return true
	}
	return false
}

// Record is the AVCDecoderConfigurationRecord, the payload of avcC.
func (c AVCConfig) Record() []byte {
	b := []byte{1, c.Profile, c.Constraints, c.Level, 0xfc | 3, 0xe0 | byte(len(c.SPS))}
	for _, s := range c.SPS {
		b = append(b, byte(len(s)>>8), byte(len(s)))
		b = append(b, s...)
	}
	b = append(b, byte(len(c.PPS)))
	for _, p := range c.PPS {
		b = append(b, byte(len(p)>>8), byte(len(p)))
		b = append(b, p...)
	}
	if c.highProfile() {
		b = append(b, 0xfc|byte(c.ChromaFormat&3), 0xf8|byte(c.BitDepthLuma&7), 0xf8|byte(c.BitDepthChroma&7), 0)
	}
	return b
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

func (c *AVCConfig) parseSPS(sps []byte) error {
	if len(sps) < 4 {
		return errors.New("H.264 SPS is too short")
	}
	c.Profile, c.Constraints, c.Level = sps[1], sps[2], sps[3]
	c.ChromaFormat = 1
	if !c.highProfile() {
		return nil
	}
	r := bitReader{b: unescapeRBSP(sps[4:])}
	r.ue() // seq_parameter_set_id
	c.ChromaFormat = r.ue()
	if c.ChromaFormat == 3 {
		r.bit() // separate_colour_plane_flag
	}
	c.BitDepthLuma = r.ue()
	c.BitDepthChroma = r.ue()
	if r.err != nil {
		return fmt.Errorf("H.264 SPS: %w", r.err)
	}
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

func avccParameterSets(rec []byte) ([][]byte, error) {
	bad := errors.New("avcC record is truncated")
	if len(rec) < 7 {
		return nil, bad
	}
	var nals [][]byte
	p := 5
	for set := 0; set < 2; set++ {
		if p >= len(rec) {
			return nil, bad
		}
		n := int(rec[p])
		if set == 0 {
			n &= 0x1f
		}
		p++
		for i := 0; i < n; i++ {
			if p+2 > len(rec) {
				return nil, bad
			}
			l := int(rec[p])<<8 | int(rec[p+1])
			p += 2
			if p+l > len(rec) {
				return nil, bad
			}
			nals = append(nals, rec[p:p+l])
			p += l
		}
	}
	return nals, nil
}

// unescapeRBSP removes emulation-prevention bytes (00 00 03 → 00 00).
func unescapeRBSP(b []byte) []byte {
	out := make([]byte, 0, len(b))
	zeros := 0
	for _, v := range b {
		if zeros >= 2 && v == 3 {
			zeros = 0
			continue
		}
		if v == 0 {
			zeros++
		} else {
			zeros = 0
		}
		out = append(out, v)
	}
	return out
}

// bitReader reads big-endian bits and Exp-Golomb codes.
type bitReader struct {
	b   []byte
	pos int // in bits
	err error
}

func (r *bitReader) bit() uint {
	if r.pos >= len(r.b)*8 {
		r.err = errors.New("bitstream ends early")
		return 0
	}
	v := uint(r.b[r.pos/8]>>(7-r.pos%8)) & 1
	r.pos++
	return v
}

func (r *bitReader) bits(n int) uint {
	var v uint
	for i := 0; i < n; i++ {
		v = v<<1 | r.bit()
	}
	return v
}

func (r *bitReader) ue() uint {
	zeros := 0
	for r.bit() == 0 && r.err == nil {
		zeros++
		if zeros > 31 {
			r.err = errors.New("Exp-Golomb code too long")
			return 0
		}
	}
	return (1<<zeros - 1) + r.bits(zeros)
}
