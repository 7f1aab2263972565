package e2e

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"kiln/api"
)

const hostileConfig = `
[daemon]
state_dir        = "{{root}}/state"
socket           = "{{root}}/run/kiln.sock"
cpu_jobs         = 2
rescan           = "1s"
worker_memory_mb = 3072
stop_grace       = "0s"

[[watch]]
name               = "hostile"
inbox              = "{{root}}/in"
output             = "{{root}}/out"
profiles           = ["mezz"]
settle             = "1s"
incomplete_timeout = "4s"

[profile.mezz]
kind          = "file"
codec         = "h264"
container     = "mp4"
width         = 320
video_bitrate = "500k"
`

// TestHostileInputs drops a corpus of broken and hostile files next to good
// ones. Each broken file ends in failed/ with a reason a person can act on,
// within bounded time; valid media in disguise is delivered; the daemon stays
// healthy and the good files complete.
func TestHostileInputs(t *testing.T) {
	dir := t.TempDir()
	good := ffmpeg(t, filepath.Join(dir, "good.mp4"),
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000",
		"-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart")
	goodBytes, _ := os.ReadFile(good)
	ts := ffmpeg(t, filepath.Join(dir, "good.ts"),
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000",
		"-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "mpegts")
	tsBytes, _ := os.ReadFile(ts)

	corpus := map[string][]byte{}
	// Truncated mid-frame: the moov is at the front, the mdat is cut.
	corpus["truncated.mp4"] = goodBytes[:len(goodBytes)*6/10]
	// Header only: ftyp and moov, no media data at all.
	mdat := bytes.Index(goodBytes, []byte("mdat"))
	corpus["header-only.mp4"] = goodBytes[:mdat-4]
	// Random bytes.
	noise := make([]byte, 300<<10)
	rand.Read(noise)
	corpus["random.mov"] = noise
	// A codec nobody decodes: the sample description renamed.
	stsd := bytes.Index(goodBytes, []byte("stsd"))
	unsupported := append([]byte(nil), goodBytes...)
	entry := stsd + bytes.Index(goodBytes[stsd:], []byte("avc1"))
	copy(unsupported[entry:], "zzz9")
	corpus["unsupported.mp4"] = unsupported
	// Absurd dimensions in the header.
	corpus["absurd.y4m"] = append([]byte("YUV4MPEG2 W65535 H65535 F25:1 Ip A1:1 C420jpeg\nFRAME\n"), make([]byte, 4096)...)
	// Thousands of streams (well, 300: the limit is 64).
	args := []string{"-f", "lavfi", "-i", "sine=f=440:sample_rate=8000:d=0.2"}
	for i := 0; i < 300; i++ {
		args = append(args, "-map", "0:a")
	}
	args = append(args, "-c:a", "pcm_s16le")
	many := ffmpeg(t, filepath.Join(dir, "many.mkv"), args...)
	corpus["many-streams.mkv"], _ = os.ReadFile(many)
	// Zero duration: a video stream without a single frame.
	zero := ffmpeg(t, filepath.Join(dir, "zero.mp4"), "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
		"-frames:v", "0", "-c:v", "libx264")
	corpus["zero-duration.mp4"], _ = os.ReadFile(zero)
	// Audio only.
	audio := ffmpeg(t, filepath.Join(dir, "audio.m4a"), "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000", "-t", "1", "-c:a", "aac")
	corpus["audio-only.m4a"], _ = os.ReadFile(audio)

	fails := map[string]string{
		"truncated.mp4":     "incomplete", // mdat runs past the end: never becomes complete
		"header-only.mp4":   "",           // any clear reason
		"random.mov":        "not a media file|no decodable|cannot open|no video stream",
		"unsupported.mp4":   "no decoder",
		"absurd.y4m":        "beyond what Kiln accepts|libav cannot open absurd.y4m: ",
		"many-streams.mkv":  "streams in one file",
		"zero-duration.mp4": "",
		"audio-only.m4a":    "no video stream",
	}

	// Valid media in disguise, and damage a decoder can conceal, are delivered.
	corrupt := append([]byte(nil), tsBytes...)
	mid := len(corrupt) / 2 / 188 * 188
	for i := mid; i < mid+40*188; i += 188 {
		rand.Read(corrupt[i+4 : i+188]) // keep the sync bytes, wreck the payload
	}
	videoOnly := ffmpeg(t, filepath.Join(dir, "video-only.mp4"), "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
		"-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
	videoOnlyBytes, _ := os.ReadFile(videoOnly)
	delivers := map[string][]byte{
		"good.mp4":            goodBytes,
		"wrong-extension.mp4": tsBytes, // a transport stream named .mp4
		"corrupt-middle.ts":   corrupt,
		"video-only.mp4":      videoOnlyBytes,
		// Spaces, quotes, unicode and a leading dash: never given to a shell.
		`-leading dash 'quoted' "twice" ünïcödé.mp4`: goodBytes,
	}

	d := startDaemon(t, hostileConfig)
	inbox := filepath.Join(d.root, "in")
	waitFor(t, 10*time.Second, "the inbox", func() bool { _, err := os.Stat(inbox); return err == nil })
	began := time.Now()
	for name, data := range corpus {
		writeDrop(t, inbox, name, data)
	}
	for name, data := range delivers {
		writeDrop(t, inbox, name, data)
	}

	waitFor(t, 4*time.Minute, "every file to be filed", func() bool {
		for name := range fails {
			if _, err := os.Stat(filepath.Join(inbox, "failed", name)); err != nil {
				return false
			}
		}
		for name := range delivers {
			if _, err := os.Stat(filepath.Join(inbox, "done", name)); err != nil {
				if _, ferr := os.Stat(filepath.Join(inbox, "failed", name)); ferr == nil {
					t.Fatalf("%s failed: %s", name, errorReason(t, inbox, name))
				}
				return false
			}
		}
		return true
	})
	t.Logf("corpus filed in %s", time.Since(began).Round(time.Second))

	for name, want := range fails {
		reason := errorReason(t, inbox, name)
		t.Logf("%-18s → %s", name, reason)
		if reason == "" || strings.HasPrefix(reason, "(no error file") {
			t.Errorf("%s: no reason recorded", name)
		}
		if want != "" && !regexp.MustCompile(want).MatchString(reason) {
			t.Errorf("%s: reason %q, want it to mention %q", name, reason, want)
		}
		if strings.Contains(reason, "worker crashed") || strings.Contains(reason, "signal") {
			t.Errorf("%s: a worker crashed instead of failing cleanly: %s", name, reason)
		}
	}
	for name := range delivers {
		stem := strings.TrimSuffix(name, filepath.Ext(name))
		if _, err := os.Stat(filepath.Join(d.root, "out", stem, "mezz", stem+".mp4")); err != nil {
			t.Errorf("%s: no output: %v", name, err)
		}
	}
	var h api.Health
	if err := d.get("/v1/health", &h); err != nil || h.Status != "ok" {
		t.Fatalf("daemon unhealthy after the corpus: %+v %v", h, err)
	}
}

func writeDrop(t *testing.T, inbox, name string, data []byte) {
	t.Helper()
	tmp := filepath.Join(inbox, "."+name+".part")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(inbox, name)); err != nil {
		t.Fatal(err)
	}
}
