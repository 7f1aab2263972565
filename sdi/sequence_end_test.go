package sdi

import (
	"bytes"
	"testing"
)

func TestEndMPEG2Sequence(t *testing.T) {
	slice := []byte{0x00, 0x00, 0x01, 0x01, 0x12, 0x34, 0x80}
	cases := []struct {
		name     string
		in, want []byte
	}{
		{"no stuffing: appended", slice, append(bytes.Clone(slice), 0x00, 0x00, 0x01, 0xB7)},
		{"three stuffing bytes: appended", append(bytes.Clone(slice), 0, 0, 0), append(bytes.Clone(slice), 0, 0, 0, 0x00, 0x00, 0x01, 0xB7)},
		{"stuffing: replaced, size kept", append(bytes.Clone(slice), 0, 0, 0, 0, 0, 0), append(bytes.Clone(slice), 0, 0, 0x00, 0x00, 0x01, 0xB7)},
		{"already ended", append(bytes.Clone(slice), 0x00, 0x00, 0x01, 0xB7), append(bytes.Clone(slice), 0x00, 0x00, 0x01, 0xB7)},
	}
	for _, c := range cases {
		in := bytes.Clone(c.in)
		got := EndMPEG2Sequence(in)
		if !bytes.Equal(got, c.want) {
			t.Errorf("%s: got % x, want % x", c.name, got, c.want)
		}
		if !bytes.Equal(in, c.in) {
			t.Errorf("%s: the input was modified", c.name)
		}
	}
}
