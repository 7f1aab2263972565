package pipeline

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestLibavExtLayout reads, end to end, the fields that go-astiav lacks and
// package av reaches (field order, profile and format names, field flags):
// av's TestWrapperLayout pins the layout itself.
func TestLibavExtLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "i.mov")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
		"-t", "0.4", "-vf", "setfield=bff", "-flags", "+ildct", "-c:v", "prores_ks", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	info, err := Probe(path)
	if err != nil {
		t.Fatal(err)
	}
	v := info.VideoStreams()[0]
	if v.FieldOrder != "bb" && v.FieldOrder != "bt" {
		t.Errorf("field order %q, want bottom first", v.FieldOrder)
	}
	if info.Format == "" || v.Profile == "" {
		t.Errorf("format %q profile %q: names not read", info.Format, v.Profile)
	}
	fields, err := firstFrameFields(path)
	if err != nil {
		t.Fatal(err)
	}
	if fields.order != "bff" {
		t.Errorf("first picture %s, want bff", fields.order)
	}
}
