package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// parseCase parses a test config the way every test here does: origin
// "t.toml", relative paths against /srv/kiln, one leading newline dropped so
// that the first line of the literal is line 1.
func parseCase(src string) (*Config, error) {
	return Parse([]byte(strings.TrimPrefix(src, "\n")), "t.toml", "/srv/kiln")
}

func errorLines(t *testing.T, err error) []string {
	t.Helper()
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error is %T, not *Errors: %v", err, err)
	}
	out := make([]string, len(errs.List))
	for i, e := range errs.List {
		out[i] = e.Error()
	}
	return out
}

func TestParseRejects(t *testing.T) {
	for _, tc := range rejectCases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseCase(tc.src)
			if err == nil {
				t.Fatalf("Parse accepted it:\n%s", cfg.Effective())
			}
			if cfg != nil {
				t.Error("Parse returned a config along with an error")
			}
			got := errorLines(t, err)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("errors:\n  got:  %s\n  want: %s", strings.Join(got, "\n        "), strings.Join(tc.want, "\n        "))
			}
			if joined := err.Error(); joined != strings.Join(got, "\n") {
				t.Errorf("Error() = %q; want the list joined by newlines", joined)
			}
		})
	}
}

func TestParseSizeLimit(t *testing.T) {
	big := append([]byte("# "), make([]byte, maxConfigSize)...)
	_, err := Parse(big, "big.toml", "/")
	if err == nil || err.Error() != fmt.Sprintf("big.toml: config is %d bytes; the limit is %d", len(big), maxConfigSize) {
		t.Errorf("Parse of %d bytes: %v", len(big), err)
	}
}

func TestErrorsUnwrap(t *testing.T) {
	_, err := parseCase("[daemon]\ncpu_jobs = 0\n")
	var one Error
	if !errors.As(err, &one) || one.File != "t.toml" || one.Line != 2 {
		t.Fatalf("errors.As(Error) = %+v from %v", one, err)
	}
	if got := (Error{File: "f", Msg: "m"}).Error(); got != "f: m" {
		t.Errorf("Error without line = %q", got)
	}
}

// acceptCases are configs Parse must take, with what defaulting and
// normalising must have made of them.
var acceptCases = []struct {
	name  string
	src   string
	check func(t *testing.T, c *Config)
}{
	{"empty config gets daemon defaults", ``, func(t *testing.T, c *Config) {
		want := Daemon{
			StateDir: "/var/lib/kiln", Socket: "/run/kiln/kiln.sock", CPUJobs: 2, GPUJobs: 2,
			Rescan: Duration{10 * time.Second}, MaxAttempts: 2, LogLevel: "info",
			StopGrace: Duration{30 * time.Second}, SocketGroup: "kiln", WorkerMemoryMB: 8192, JobTimeoutFactor: 20, WorkerStallTimeout: Duration{5 * time.Minute}, APIConnections: 256, APIConnectionsPerUser: 64,
			Lease: Duration{30 * time.Second}, OutputMode: "0750",
		}
		if !reflect.DeepEqual(c.Daemon, want) {
			t.Errorf("daemon = %+v; want %+v", c.Daemon, want)
		}
		if c.Profiles == nil || len(c.Watches) != 0 {
			t.Errorf("profiles = %v, watches = %v", c.Profiles, c.Watches)
		}
	}},
	{"daemon values and relative paths", `
[daemon]
state_dir = "state/../var/state/"
socket = "/run/k.sock"
cpu_jobs = 64
gpu_jobs = 0
rescan = "1s"
max_attempts = 10
log_level = "debug"
stop_grace = "0s"
socket_group = ""
`, func(t *testing.T, c *Config) {
		want := Daemon{
			StateDir: "/srv/kiln/var/state", Socket: "/run/k.sock", CPUJobs: 64, GPUJobs: 0,
			Rescan: Duration{time.Second}, MaxAttempts: 10, LogLevel: "debug",
			StopGrace: Duration{0}, SocketGroup: "", WorkerMemoryMB: 8192, JobTimeoutFactor: 20, WorkerStallTimeout: Duration{5 * time.Minute}, APIConnections: 256, APIConnectionsPerUser: 64,
			Lease: Duration{30 * time.Second}, OutputMode: "0750",
		}
		if !reflect.DeepEqual(c.Daemon, want) {
			t.Errorf("daemon = %+v; want %+v", c.Daemon, want)
		}
	}},
	{"socket_group by name and by number", `
[daemon]
socket_group = "video-ops_2"
stop_grace = "1h"
`, func(t *testing.T, c *Config) {
		if c.Daemon.SocketGroup != "video-ops_2" || c.Daemon.StopGrace.Duration != time.Hour {
			t.Errorf("daemon = %+v", c.Daemon)
		}
	}},
	{"fleet keys", `
[daemon]
store = "postgresql://kiln@db.example:5432/kiln?sslmode=require"
node_name = "encoder-2.rack_3"
lease = "1m"
`, func(t *testing.T, c *Config) {
		d := c.Daemon
		if d.Store != "postgresql://kiln@db.example:5432/kiln?sslmode=require" || d.NodeName != "encoder-2.rack_3" || d.Lease.Duration != time.Minute {
			t.Errorf("daemon = %+v", d)
		}
	}},
	{"socket_group as a GID", `
[daemon]
socket_group = "1042"
`, func(t *testing.T, c *Config) {
		want := Daemon{
			StateDir: "/var/lib/kiln", Socket: "/run/kiln/kiln.sock", CPUJobs: 2, GPUJobs: 2,
			Rescan: Duration{10 * time.Second}, MaxAttempts: 2, LogLevel: "info",
			StopGrace: Duration{30 * time.Second}, SocketGroup: "1042", WorkerMemoryMB: 8192, JobTimeoutFactor: 20, WorkerStallTimeout: Duration{5 * time.Minute}, APIConnections: 256, APIConnectionsPerUser: 64,
			Lease: Duration{30 * time.Second}, OutputMode: "0750",
		}
		if !reflect.DeepEqual(c.Daemon, want) {
			t.Errorf("daemon = %+v; want %+v", c.Daemon, want)
		}
	}},
	{"watch defaults", `
[[watch]]
name = "pal-playout"
inbox = "in/pal"
output = "/srv/out/pal"
profiles = ["p"]
priority = ""

[[watch]]
name = "x.y_z-1"
inbox = "in/x"
output = "in/x-out"
profiles = ["p"]
priority = "high"
settle = "1m30s"

[profile.p]
kind = "file"
codec = "h264"
`, func(t *testing.T, c *Config) {
		w, ok := c.Watch("pal-playout")
		if !ok {
			t.Fatal("Watch(pal-playout) not found")
		}
		want := Watch{Name: "pal-playout", Inbox: "/srv/kiln/in/pal", Output: "/srv/out/pal",
			Profiles: []string{"p"}, Settle: Duration{5 * time.Second}, IncompleteTimeout: Duration{30 * time.Minute}, OnRedrop: "version"}
		if !reflect.DeepEqual(*w, want) {
			t.Errorf("watch = %+v; want %+v", *w, want)
		}
		w, _ = c.Watch("x.y_z-1")
		if w.Priority != "high" || w.Settle.Duration != 90*time.Second || w.Output != "/srv/kiln/in/x-out" {
			t.Errorf("watch 2 = %+v", *w)
		}
		if _, ok := c.Watch("nope"); ok {
			t.Error("Watch(nope) found")
		}
	}},
	{"watches as an inline array", `
watch = [
  { name = "a", inbox = "/in/a", output = "/out/a", profiles = ["p"] },
  { name = "b", inbox = "/in/b", output = "/out/b", profiles = ["p"] },
]
[profile.p]
kind = "file"
codec = "h264"
`, func(t *testing.T, c *Config) {
		if len(c.Watches) != 2 || c.Watches[1].Inbox != "/in/b" {
			t.Errorf("watches = %+v", c.Watches)
		}
	}},
	{"broadcast defaults", `
[profile.pal]
kind = "broadcast"
standard = "pal"
`, func(t *testing.T, c *Config) {
		p := mustProfile(t, c, "pal")
		checkProfile(t, p, Profile{
			Name: "pal", Kind: "broadcast", Standard: "pal", Codec: "mpeg2", FieldOrder: "tff", Aspect: "16:9", Fit: "letterbox",
			Container: "ts", VideoBitrate: 8_000_000, Audio: Audio{Codec: "mp2", Bitrate: 256_000, Loudness: ptr(-23.0)},
			Priority: "normal", FrameRateMethod: "mc", Deinterlace: "auto", ScaleFilter: "lanczos",
		})
	}},
	{"broadcast h264 and d10 defaults", `
[profile.h]
kind = "broadcast"
standard = "ntsc"
codec = "h264"
aspect = "4:3"
fit = "pillarbox"
frame_rate = "29.97"
audio = { codec = "ac3", bitrate = "384k", loudness = -24 }

[profile.d]
kind = "broadcast"
standard = "pal"
codec = "d10"

[profile.d40]
kind = "broadcast"
standard = "secam"
codec = "d10"
container = "mxf"
video_bitrate = "40M"
audio = { codec = "pcm" }
`, func(t *testing.T, c *Config) {
		checkProfile(t, mustProfile(t, c, "h"), Profile{
			Name: "h", Kind: "broadcast", Standard: "ntsc", Codec: "h264", FieldOrder: "tff", Aspect: "4:3", Fit: "pillarbox",
			Container: "ts", VideoBitrate: 5_000_000, Audio: Audio{Codec: "ac3", Bitrate: 384_000, Loudness: ptr(-24.0)},
			Priority: "normal", FrameRate: "30000/1001", FrameRateMethod: "mc", Deinterlace: "auto", ScaleFilter: "lanczos",
		})
		d := mustProfile(t, c, "d")
		if d.Container != "mxf" || d.VideoBitrate != 50_000_000 || d.Audio.Codec != "pcm" || d.Audio.Bitrate != 0 {
			t.Errorf("d10 defaults: %+v", *d)
		}
		if d := mustProfile(t, c, "d40"); d.VideoBitrate != 40_000_000 {
			t.Errorf("d40 bitrate = %v", d.VideoBitrate)
		}
	}},
	{"abr defaults", `
[profile.web]
kind = "abr"
encryption = { key_uri = "https://keys.example.com/{job}.key" }
`, func(t *testing.T, c *Config) {
		checkProfile(t, mustProfile(t, c, "web"), Profile{
			Name: "web", Kind: "abr", Fit: "letterbox", VideoBitrate: 0,
			Audio:    Audio{Codec: "aac", Bitrate: 128_000},
			Priority: "normal", Formats: []string{"hls"}, Segment: Duration{4 * time.Second}, Package: "dir",
			Encryption:      &Encryption{Method: "aes-128", KeyURI: "https://keys.example.com/{job}.key"},
			FrameRateMethod: "mc", Deinterlace: "auto", ScaleFilter: "lanczos",
		})
	}},
	{"abr values", `
[profile.web]
kind = "abr"
formats = ["hls", "dash", "smooth"]
video_bitrate = 4500000
segment = "6s"
package = "tar"
width = 1280
audio = { codec = "ac3", bitrate = "192k" }
`, func(t *testing.T, c *Config) {
		p := mustProfile(t, c, "web")
		if !reflect.DeepEqual(p.Formats, []string{"hls", "dash", "smooth"}) || p.VideoBitrate != 4_500_000 ||
			p.Segment.Duration != 6*time.Second || p.Package != "tar" || p.Width != 1280 || p.Height != 0 {
			t.Errorf("abr = %+v", *p)
		}
	}},
	{"file defaults per codec", `
[profile.h264]
kind = "file"
codec = "h264"
[profile.hevc]
kind = "file"
codec = "hevc"
[profile.mpeg2]
kind = "file"
codec = "mpeg2"
[profile.mpeg2-mxf]
kind = "file"
codec = "mpeg2"
container = "mxf"
[profile.prores]
kind = "file"
codec = "prores"
[profile.prores-mxf]
kind = "file"
codec = "prores"
container = "mxf"
[profile.ffv1]
kind = "file"
codec = "ffv1"
[profile.ffv1-mov]
kind = "file"
codec = "ffv1"
container = "mov"
audio = { codec = "aac" }
`, func(t *testing.T, c *Config) {
		for _, tc := range []struct {
			name, container string
			video           Bitrate
			audio           string
			audioRate       Bitrate
		}{
			{"h264", "mp4", 8_000_000, "aac", 192_000},
			{"hevc", "mp4", 6_000_000, "aac", 192_000},
			{"mpeg2", "mp4", 15_000_000, "aac", 192_000},
			{"mpeg2-mxf", "mxf", 15_000_000, "pcm", 0},
			{"prores", "mov", 0, "pcm", 0},
			{"prores-mxf", "mxf", 0, "pcm", 0},
			{"ffv1", "mkv", 0, "pcm", 0},
			{"ffv1-mov", "mov", 0, "aac", 192_000},
		} {
			p := mustProfile(t, c, tc.name)
			if p.Container != tc.container || p.VideoBitrate != tc.video || p.Audio.Codec != tc.audio ||
				p.Audio.Bitrate != tc.audioRate || p.Audio.Loudness != nil {
				t.Errorf("%s: container %s, video %v, audio %s %v, loudness %v; want %s, %v, %s %v, nil",
					tc.name, p.Container, p.VideoBitrate, p.Audio.Codec, p.Audio.Bitrate, p.Audio.Loudness,
					tc.container, tc.video, tc.audio, tc.audioRate)
			}
		}
	}},
	{"optional keys of every kind", `
[profile.m]
kind = "file"
codec = "prores"
height = 1080
frame_rate = "23.976"
frame_rate_method = "blend"
deinterlace = "off"
scale_filter = "bicubic"
priority = "low"
fit = "crop"
audio = { loudness = -16.5 }
watermark = { image = "logos/station.PNG" }
thumbnails = {}

[profile."pal.v2"]
kind = "broadcast"
standard = "pal"
frame_rate = "25"
watermark = { image = "/opt/logo.png", position = "top-left", opacity = 0.5 }
thumbnails = { every = "1m" }
`, func(t *testing.T, c *Config) {
		m := mustProfile(t, c, "m")
		if m.Height != 1080 || m.Width != 0 || m.FrameRate != "24000/1001" || m.FrameRateMethod != "blend" ||
			m.Deinterlace != "off" || m.ScaleFilter != "bicubic" || m.Priority != "low" || m.Fit != "crop" ||
			*m.Audio.Loudness != -16.5 {
			t.Errorf("m = %+v", *m)
		}
		if want := (Watermark{Image: "/srv/kiln/logos/station.PNG", Position: "bottom-right", Opacity: 1}); *m.Watermark != want {
			t.Errorf("watermark = %+v; want %+v", *m.Watermark, want)
		}
		if m.Thumbnails.Every.Duration != 10*time.Second {
			t.Errorf("thumbnails = %+v", *m.Thumbnails)
		}
		if num, den, ok := m.FrameRateRational(); !ok || num != 24000 || den != 1001 {
			t.Errorf("FrameRateRational = %d/%d %v", num, den, ok)
		}
		p := mustProfile(t, c, "pal.v2")
		if p.FrameRate != "25/1" || *p.Watermark != (Watermark{Image: "/opt/logo.png", Position: "top-left", Opacity: 0.5}) ||
			p.Thumbnails.Every.Duration != time.Minute {
			t.Errorf("pal.v2 = %+v, %+v", *p, *p.Watermark)
		}
		if got := c.ProfileNames(); !reflect.DeepEqual(got, []string{"m", "pal.v2"}) {
			t.Errorf("ProfileNames = %v", got)
		}
	}},
	{"sub-tables and dotted keys", `
[profile.b]
kind = "broadcast"
standard = "pal"
audio.codec = "aac"
audio.bitrate = 192000

[profile.b.watermark]
image = "logo.png"
`, func(t *testing.T, c *Config) {
		p := mustProfile(t, c, "b")
		if p.Audio.Codec != "aac" || p.Audio.Bitrate != 192_000 || p.Watermark.Image != "/srv/kiln/logo.png" {
			t.Errorf("b = %+v", *p)
		}
	}},
}

func TestParseAccepts(t *testing.T) {
	for _, tc := range acceptCases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseCase(tc.src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if cfg.Origin != "t.toml" {
				t.Errorf("Origin = %q", cfg.Origin)
			}
			tc.check(t, cfg)
			roundTrip(t, cfg)
		})
	}
}

func mustProfile(t *testing.T, c *Config, name string) *Profile {
	t.Helper()
	p, ok := c.Profile(name)
	if !ok {
		t.Fatalf("Profile(%q) not found", name)
	}
	if p.Name != name {
		t.Errorf("Profile(%q).Name = %q", name, p.Name)
	}
	return p
}

func checkProfile(t *testing.T, got *Profile, want Profile) {
	t.Helper()
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("profile\n  got:  %+v\n  want: %+v", *got, want)
	}
}

func ptr[T any](v T) *T { return &v }

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kiln.toml")
	src := "[daemon]\nstate_dir = \"state\"\n\n[[watch]]\nname = \"w\"\ninbox = \"in\"\noutput = \"out\"\nprofiles = [\"p\"]\n\n[profile.p]\nkind = \"file\"\ncodec = \"h264\"\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	// Relative paths follow the config file, not the working directory.
	if cfg.Daemon.StateDir != filepath.Join(dir, "state") || cfg.Watches[0].Inbox != filepath.Join(dir, "in") {
		t.Errorf("paths not resolved against %s: %+v %+v", dir, cfg.Daemon, cfg.Watches[0])
	}
	if cfg.Origin != path {
		t.Errorf("Origin = %q; want %q", cfg.Origin, path)
	}

	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("[daemon]\ncpu_jobs = 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || err.Error() != bad+":2: daemon: cpu_jobs = 0 is out of range; want 1 to 64" {
		t.Errorf("Load(bad) = %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.toml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v; want an error wrapping ErrNotExist", err)
	}
}

func TestDefault(t *testing.T) {
	cfg, err := Default()
	if err != nil {
		t.Fatalf("Default: %v", err)
	}
	wd, _ := os.Getwd()
	if cfg.Origin != DefaultOrigin || cfg.Daemon.StateDir != filepath.Join(wd, "var/state") ||
		cfg.Daemon.Socket != filepath.Join(wd, "var/run/kiln.sock") {
		t.Errorf("default daemon = %+v (origin %q)", cfg.Daemon, cfg.Origin)
	}
	demo, ok := cfg.Watch("demo")
	if !ok || !reflect.DeepEqual(demo.Profiles, []string{"pal-mpeg2-16x9", "mezz-h264"}) ||
		demo.Inbox != filepath.Join(wd, "var/in/demo") || demo.Output != filepath.Join(wd, "var/out/demo") ||
		demo.Settle.Duration != 2*time.Second {
		t.Errorf("demo watch = %+v", demo)
	}
	mezz, ok := cfg.Watch("mezzanine")
	if !ok || !reflect.DeepEqual(mezz.Profiles, []string{"mezz-h264"}) || mezz.Inbox != filepath.Join(wd, "var/in/mezzanine") {
		t.Errorf("mezzanine watch = %+v", mezz)
	}
	if got := cfg.ProfileNames(); !reflect.DeepEqual(got, []string{"mezz-h264", "pal-mpeg2-16x9"}) {
		t.Errorf("profiles = %v", got)
	}
	pal := mustProfile(t, cfg, "pal-mpeg2-16x9")
	if pal.Kind != "broadcast" || pal.Standard != "pal" || pal.Codec != "mpeg2" || pal.Aspect != "16:9" ||
		pal.Fit != "letterbox" || pal.Container != "ts" || pal.VideoBitrate != 8_000_000 ||
		pal.Audio.Codec != "mp2" || pal.Audio.Bitrate != 256_000 || *pal.Audio.Loudness != -23 {
		t.Errorf("pal-mpeg2-16x9 = %+v", *pal)
	}
	mz := mustProfile(t, cfg, "mezz-h264")
	if mz.Kind != "file" || mz.Codec != "h264" || mz.Container != "mp4" || mz.VideoBitrate != 8_000_000 {
		t.Errorf("mezz-h264 = %+v", *mz)
	}
	if string(DefaultTOML()) != string(defaultTOML) {
		t.Error("DefaultTOML differs from the embedded text")
	}
}

// The commented-out examples in default.toml are documentation; they must
// stay valid config.
func TestDefaultCommentedExample(t *testing.T) {
	var b strings.Builder
	for _, line := range strings.Split(string(defaultTOML), "\n") {
		if s, ok := strings.CutPrefix(line, "# "); ok && (strings.HasPrefix(s, "[profile.") || strings.Contains(s, " = ") && b.Len() > 0) {
			b.WriteString(s + "\n")
		}
	}
	if !strings.Contains(b.String(), `kind          = "abr"`) {
		t.Fatalf("did not find the commented abr example in default.toml:\n%s", b.String())
	}
	if _, err := Parse([]byte(b.String()), "default.toml example", "/srv/kiln"); err != nil {
		t.Errorf("commented example in default.toml does not parse: %v\n%s", err, b.String())
	}
}

// The store URL may carry the database password; kilnd --check prints the
// effective config, so it must show the URL without it.
func TestEffectiveRedactsStorePassword(t *testing.T) {
	for _, store := range []string{
		"postgres://kiln:s3cret@db.example:5432/kiln",
		"postgres://db.example/kiln?user=kiln&password=s3cret",
	} {
		c, err := Parse([]byte("[daemon]\nstore = \""+store+"\"\n"), "t.toml", "/srv/kiln")
		if err != nil {
			t.Fatal(err)
		}
		got := string(c.Effective())
		if strings.Contains(got, "s3cret") || !strings.Contains(got, "xxxxx") {
			t.Errorf("store %s: effective config shows\n%s", store, got)
		}
	}
}
