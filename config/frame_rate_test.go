package config

import (
	"strings"
	"testing"
)

func TestParseFrameRate(t *testing.T) {
	for _, tc := range []struct {
		in       string
		num, den int
	}{
		{"25", 25, 1},
		{"50", 50, 1},
		{"25.0", 25, 1},
		{"29.97", 30000, 1001},
		{"59.94", 60000, 1001},
		{"23.976", 24000, 1001},
		{"23.98", 24000, 1001},
		{"119.88", 120000, 1001},
		{"12.5", 25, 2},
		{"30000/1001", 30000, 1001},
		{"24000/1001", 24000, 1001},
		{"50/2", 25, 1},
		{"1", 1, 1},
		{"300", 300, 1},
	} {
		num, den, err := ParseFrameRate(tc.in)
		if err != nil || num != tc.num || den != tc.den {
			t.Errorf("ParseFrameRate(%q) = %d/%d, %v; want %d/%d", tc.in, num, den, err, tc.num, tc.den)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"", "invalid frame rate"},
		{"abc", `invalid frame rate "abc"`},
		{"25fps", `invalid frame rate "25fps"`},
		{"-25", `invalid frame rate "-25"`},
		{"25/", `invalid frame rate "25/"`},
		{"/25", `invalid frame rate "/25"`},
		{"1/2/3", `invalid frame rate "1/2/3"`},
		{"25.", `invalid frame rate "25."`},
		{"25/0", `frame rate "25/0" divides by zero`},
		{"0", `frame rate "0" is out of range; want 1 to 300 fps`},
		{"0.5", `frame rate "0.5" is out of range`},
		{"301", `frame rate "301" is out of range`},
		{"1/2", `frame rate "1/2" is out of range`},
		{"99999999999", `invalid frame rate`},
	} {
		_, _, err := ParseFrameRate(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseFrameRate(%q) error = %v; want it to contain %q", tc.in, err, tc.want)
		}
	}
}

func TestFrameRateRational(t *testing.T) {
	p := &Profile{FrameRate: "30000/1001"}
	if num, den, ok := p.FrameRateRational(); !ok || num != 30000 || den != 1001 {
		t.Errorf("FrameRateRational() = %d, %d, %v", num, den, ok)
	}
	p.FrameRate = ""
	if _, _, ok := p.FrameRateRational(); ok {
		t.Error("FrameRateRational() with no frame_rate reported ok")
	}
}
