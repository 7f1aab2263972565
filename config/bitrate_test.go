package config

import (
	"strings"
	"testing"
)

func TestParseBitrate(t *testing.T) {
	ok := []struct {
		in   string
		want Bitrate
	}{
		{"8M", 8_000_000},
		{"8m", 8_000_000},
		{"256k", 256_000},
		{"256K", 256_000},
		{"2400k", 2_400_000},
		{"1.5M", 1_500_000},
		{"0.5M", 500_000},
		{"1.25G", 1_250_000_000},
		{"2400000", 2_400_000},
		{"1", 1},
		{"100G", 100_000_000_000},
	}
	for _, tc := range ok {
		got, err := ParseBitrate(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseBitrate(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}

	bad := []struct {
		in, want string
	}{
		{"", "empty bitrate"},
		{"0", `bitrate "0" is zero`},
		{"0k", `bitrate "0k" is zero`},
		{"-8M", `bitrate "-8M" is negative`},
		{"-1", `bitrate "-1" is negative`},
		{"8X", `invalid bitrate "8X"`},
		{"M", `invalid bitrate "M"`},
		{"8 M", `invalid bitrate "8 M"`},
		{"8Mbps", `invalid bitrate "8Mbps"`},
		{"1e6", `invalid bitrate "1e6"`},
		{"1/2M", `invalid bitrate "1/2M"`},
		{".5M", `invalid bitrate ".5M"`},
		{"5.M", `invalid bitrate "5.M"`},
		{"1.2.3M", `invalid bitrate "1.2.3M"`},
		{"+8M", `invalid bitrate "+8M"`},
		{"0x10", `invalid bitrate "0x10"`},
		{"1.0005k", `bitrate "1.0005k" is not a whole number of bits per second`},
		{"0.5", `bitrate "0.5" is not a whole number`},
		{"101G", `bitrate "101G" is above the 100G limit`},
		{"99999999999999999999999999999", `above the 100G limit`},
	}
	for _, tc := range bad {
		_, err := ParseBitrate(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseBitrate(%q) error = %v; want it to contain %q", tc.in, err, tc.want)
		}
	}
}

func TestBitrateMarshal(t *testing.T) {
	for _, tc := range []struct {
		in   Bitrate
		want string
	}{
		{8_000_000, "8M"},
		{256_000, "256k"},
		{2_400_000, "2400k"},
		{1_500_000, "1500k"},
		{2_000_000_000, "2G"},
		{1_234_567, "1234567"},
		{999, "999"},
	} {
		got, err := tc.in.MarshalText()
		if err != nil || string(got) != tc.want {
			t.Errorf("Bitrate(%d).MarshalText() = %q, %v; want %q", int64(tc.in), got, err, tc.want)
		}
		var back Bitrate
		if err := back.UnmarshalText(got); err != nil || back != tc.in {
			t.Errorf("round trip of %d through %q gave %d, %v", int64(tc.in), got, int64(back), err)
		}
	}
}

func TestBitrateUnmarshalTOML(t *testing.T) {
	var b Bitrate
	if err := b.UnmarshalTOML(int64(8_000_000)); err != nil || b != 8_000_000 {
		t.Errorf("int 8000000: got %d, %v", int64(b), err)
	}
	if err := b.UnmarshalTOML("256k"); err != nil || b != 256_000 {
		t.Errorf(`"256k": got %d, %v`, int64(b), err)
	}
	for _, tc := range []struct {
		in   any
		want string
	}{
		{int64(0), "bitrate 0 must be greater than 0"},
		{int64(-5), "bitrate -5 must be greater than 0"},
		{int64(200_000_000_000), "above the 100G limit"},
		{1.5, `bitrate 1.5 is a bare float; write it as a string such as "1.5M"`},
		{true, "bitrate must be a string such as \"8M\" or an integer, got boolean true"},
	} {
		if err := b.UnmarshalTOML(tc.in); err == nil || err.Error() != tc.want && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("UnmarshalTOML(%v) error = %v; want %q", tc.in, err, tc.want)
		}
	}
}
