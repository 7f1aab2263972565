package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// roundTrip checks that Effective is accepted by Parse and describes the
// same config: Effective → Parse → Effective gives the same text and the same
// value.
func roundTrip(t *testing.T, cfg *Config) {
	t.Helper()
	text := cfg.Effective()
	again, err := Parse(text, cfg.Origin, "/elsewhere")
	if err != nil {
		t.Fatalf("Parse(Effective()) failed: %v\n%s", err, text)
	}
	if text2 := again.Effective(); !bytes.Equal(text, text2) {
		t.Errorf("Effective changed on a round trip:\n--- first\n%s\n--- second\n%s", text, text2)
	}
	if !reflect.DeepEqual(cfg, again) {
		t.Errorf("config changed on a round trip:\n%+v\n%+v", cfg, again)
	}
}

func TestEffectiveGolden(t *testing.T) {
	// A fixed base keeps the absolute paths, and so the golden file, the same
	// on every machine.
	cfg, err := Parse(defaultTOML, DefaultOrigin, "/srv/kiln")
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Effective()
	golden := filepath.Join("testdata", "effective_default.toml")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./config -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("effective default config differs from %s (run go test ./config -update if intended):\n%s", golden, got)
	}
	roundTrip(t, cfg)
}

// kitchenSink sets every key of every kind, to round-trip them all.
const kitchenSink = `
[daemon]
state_dir = "/var/lib/kiln"
socket = "/run/kiln/kiln.sock"
cpu_jobs = 8
gpu_jobs = 4
nvenc_sessions = 3
rescan = "1m30s"
max_attempts = 3
log_level = "warn"
stop_grace = "1m"
socket_group = "video"

[[watch]]
name = "pal-playout"
inbox = "/srv/kiln/in/pal"
output = "/srv/kiln/out/pal"
profiles = ["pal-mpeg2-16x9", "web", "mezzanine"]
priority = "high"
settle = "5s"

[[watch]]
name = "odd"
inbox = "/srv/kiln/in/odd path"
output = "/srv/kiln/out/ü"
profiles = ["d10"]

[profile.pal-mpeg2-16x9]
kind = "broadcast"
standard = "pal"
codec = "mpeg2"
aspect = "16:9"
fit = "letterbox"
container = "ts"
video_bitrate = "8M"
audio = { codec = "mp2", bitrate = "256k", loudness = -23.0 }
priority = "normal"
frame_rate = "25"
thumbnails = { every = "10s" }

[profile.d10]
kind = "broadcast"
standard = "ntsc"
codec = "d10"
video_bitrate = "30M"

[profile.web]
kind = "abr"
formats = ["hls", "dash"]
video_bitrate = "1234567"
segment = "4s"
package = "dir"
encryption = { method = "aes-128", key_uri = "https://keys.example.com/{job}.key" }
width = 1280
audio = { loudness = -16.0 }
watermark = { image = "/opt/kiln/logo.png", position = "center", opacity = 0.25 }

[profile.mezzanine]
kind = "file"
codec = "prores"
container = "mov"
frame_rate = "50"
frame_rate_method = "mc"
deinterlace = "on"
scale_filter = "bicubic"
height = 1080
priority = "low"

[profile."x.y"]
kind = "file"
codec = "hevc"
`

func TestEffectiveRoundTrip(t *testing.T) {
	cfg, err := Parse([]byte(kitchenSink), "sink.toml", "/")
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, cfg)
	text := string(cfg.Effective())
	for _, want := range []string{
		`video_bitrate = "1234567"`,
		`[profile."x.y"]`,
		`frame_rate = "25/1"`,
		`inbox = "/srv/kiln/in/odd path"`,
		`audio = { codec = "aac", bitrate = "128k", loudness = -16.0 }`,
		`watermark = { image = "/opt/kiln/logo.png", position = "center", opacity = 0.25 }`,
		`rescan = "1m30s"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("effective config lacks %s:\n%s", want, text)
		}
	}
}

func TestTOMLQuoting(t *testing.T) {
	for in, want := range map[string]string{
		"plain":      `"plain"`,
		`a"b\c`:      `"a\"b\\c"`,
		"tab\tnl\n":  `"tab\tnl\n"`,
		"bell\a\x7f": `"bell\u0007\u007F"`,
		"ünïcödé":    `"ünïcödé"`,
	} {
		if got := tomlString(in); got != want {
			t.Errorf("tomlString(%q) = %s; want %s", in, got, want)
		}
	}
	for in, want := range map[string]string{"web": "web", "pal-mpeg2_16x9": "pal-mpeg2_16x9", "a.b": `"a.b"`, "": `""`} {
		if got := tomlKey(in); got != want {
			t.Errorf("tomlKey(%q) = %s; want %s", in, got, want)
		}
	}
}
