package packaging

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// x264's extradata for a 640x360 High@3.0 stream: SPS and PPS in Annex B.
const x264Extradata = "000000016764001EACD940A02FF97011000003000100000300328F162D960000000168EBECB22C"

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseAVCConfig(t *testing.T) {
	c, err := ParseAVCConfig(mustHex(t, x264Extradata))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Codecs(); got != "avc1.64001e" {
		t.Errorf("CODECS %s, want avc1.64001e", got)
	}
	if c.ChromaFormat != 1 || c.BitDepthLuma != 0 || c.BitDepthChroma != 0 {
		t.Errorf("chroma %d, depths %d/%d; want 4:2:0 8-bit", c.ChromaFormat, c.BitDepthLuma, c.BitDepthChroma)
	}
	rec := c.Record()
	if !bytes.HasPrefix(rec, []byte{1, 0x64, 0x00, 0x1e, 0xff, 0xe1}) {
		t.Errorf("avcC starts % x", rec[:6])
	}
	// High profile records end with chroma_format and the bit depths.
	if tail := rec[len(rec)-4:]; !bytes.Equal(tail, []byte{0xfd, 0xf8, 0xf8, 0}) {
		t.Errorf("avcC High profile extension % x", tail)
	}
	// The record reads back to the same parameter sets.
	back, err := ParseAVCConfig(rec)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.SPS[0], c.SPS[0]) || !bytes.Equal(back.PPS[0], c.PPS[0]) {
		t.Error("avcC does not read back to the same SPS and PPS")
	}
	if !bytes.Equal(c.AnnexB(), mustHex(t, x264Extradata)) {
		t.Errorf("AnnexB % x", c.AnnexB())
	}
	if _, err := ParseAVCConfig(mustHex(t, "0000000168EBECB22C")); err == nil {
		t.Error("extradata without an SPS was accepted")
	}
}

func TestAnnexBToAVCC(t *testing.T) {
	// An access unit delimiter, an IDR slice after a 4-byte start code and
	// a slice after a 3-byte one.
	au := mustHex(t, "0000000109F0"+"00000001658884"+"000001419A01")
	got := AnnexBToAVCC(au)
	// The AUD goes; each NAL unit gets a 4-byte length.
	want := mustHex(t, "00000003658884"+"00000003419A01")
	if !bytes.Equal(got, want) {
		t.Errorf("AVCC % x, want % x", got, want)
	}
	if !IsAnnexB(au) || IsAnnexB(got) {
		t.Error("IsAnnexB is wrong")
	}
}

func TestParseAAC(t *testing.T) {
	for _, c := range []struct {
		asc      string
		rate, ch int
		codecs   string
	}{
		{"1190", 48000, 2, "mp4a.40.2"},
		{"119056E500", 48000, 2, "mp4a.40.2"}, // libav's, with an explicit no-SBR extension
		{"1210", 44100, 2, "mp4a.40.2"},
		{"1188", 48000, 1, "mp4a.40.2"},
		{"2B09", 24000, 1, "mp4a.40.5"}, // HE-AAC: the core rate
	} {
		a, err := ParseAAC(mustHex(t, c.asc), 128000)
		if err != nil {
			t.Errorf("%s: %v", c.asc, err)
			continue
		}
		if a.SampleRate != c.rate || a.Channels != c.ch || a.Codecs() != c.codecs {
			t.Errorf("%s: %d Hz %d ch %s; want %d Hz %d ch %s", c.asc, a.SampleRate, a.Channels, a.Codecs(), c.rate, c.ch, c.codecs)
		}
	}
	if _, err := ParseAAC(nil, 0); err == nil {
		t.Error("an empty ASC was accepted")
	}
	esds, err := encodeBox(AudioConfig{Codec: "aac", ASC: mustHex(t, "1190"), Bitrate: 128000}.esds(1))
	if err != nil || !bytes.Contains(esds, []byte{0x05, 0x02, 0x11, 0x90}) || string(esds[4:8]) != "esds" {
		t.Errorf("esds % x lacks the decoder-specific info", esds)
	}
}

func TestParseAC3(t *testing.T) {
	// The first syncframe of libav's 192 kbit/s stereo AC-3 at 48 kHz.
	a, err := ParseAC3(mustHex(t, "0B77FE95144043E106F46370"), 192000)
	if err != nil {
		t.Fatal(err)
	}
	if a.SampleRate != 48000 || a.Channels != 2 || a.Codecs() != "ac-3" {
		t.Errorf("%d Hz %d ch %s", a.SampleRate, a.Channels, a.Codecs())
	}
	if !bytes.Equal(a.DAC3, []byte{0x10, 0x11, 0x40}) {
		t.Errorf("dac3 % x, want 10 11 40", a.DAC3)
	}
	if _, err := ParseAC3(mustHex(t, "0000FE951440"), 0); err == nil {
		t.Error("a frame without a syncword was accepted")
	}
}
