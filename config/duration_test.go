package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"5s", 5 * time.Second},
		{"1m30s", 90 * time.Second},
		{"500ms", 500 * time.Millisecond},
		{"2h", 2 * time.Hour},
		{"0s", 0},
	} {
		got, err := ParseDuration(tc.in)
		if err != nil || got.Duration != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		text, _ := got.MarshalText()
		var back Duration
		if err := back.UnmarshalText(text); err != nil || back != got {
			t.Errorf("round trip of %q through %q gave %v, %v", tc.in, text, back, err)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"-1s", `duration "-1s" is negative`},
		{"5", `invalid duration "5": want a number with a unit`},
		{"five seconds", `invalid duration "five seconds"`},
		{"", `invalid duration ""`},
		{"5 s", `invalid duration "5 s"`},
	} {
		_, err := ParseDuration(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseDuration(%q) error = %v; want it to contain %q", tc.in, err, tc.want)
		}
	}
}

func TestDurationUnmarshalTOML(t *testing.T) {
	var d Duration
	if err := d.UnmarshalTOML("1m"); err != nil || d.Duration != time.Minute {
		t.Errorf(`"1m": got %v, %v`, d, err)
	}
	for _, tc := range []struct {
		in   any
		want string
	}{
		{int64(5), `duration must be a string with a unit, got integer 5; write "5s" for seconds`},
		{2.5, `duration must be a string such as "5s", got float 2.5`},
	} {
		if err := d.UnmarshalTOML(tc.in); err == nil || err.Error() != tc.want {
			t.Errorf("UnmarshalTOML(%v) error = %v; want %q", tc.in, err, tc.want)
		}
	}
}
