package e2e

import (
	"crypto/rand"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"kiln/api"
)

const watchConfig = `
[daemon]
state_dir = "{{root}}/state"
socket    = "{{root}}/run/kiln.sock"
cpu_jobs  = 2
rescan    = "1s"

[[watch]]
name     = "e2e"
inbox    = "{{root}}/in"
output   = "{{root}}/out"
profiles = ["pal", "mezz"]
settle   = "1s"

[profile.pal]
kind          = "broadcast"
standard      = "pal"
codec         = "mpeg2"
aspect        = "16:9"
video_bitrate = "6M"

[profile.mezz]
kind          = "file"
codec         = "h264"
container     = "mp4"
width         = 640
video_bitrate = "2M"
`

// clip is a generated source and what its outputs must look like.
type clip struct {
	name     string  // file name in the inbox
	audio    int     // audio tracks the outputs must carry
	duration float64 // seconds of video
	mezzH    int     // height of the 640-wide mezzanine
}

// makeClips generates the sources the Foundation issue names.
func makeClips(t *testing.T, dir string) []clip {
	t.Helper()
	// 1080i25 H.264 in TS with stereo.
	ffmpeg(t, filepath.Join(dir, "hd1080i25.ts"),
		"-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=50", "-f", "lavfi", "-i", "sine=f=1000:sample_rate=48000",
		"-t", "2", "-vf", "tinterlace=mode=interleave_top,setfield=tff",
		"-c:v", "libx264", "-preset", "ultrafast", "-flags", "+ildct+ilme", "-x264-params", "tff=1",
		"-ac", "2", "-c:a", "aac", "-f", "mpegts")
	// 4:3 SD MPEG-2 (interlaced, TFF) with two audio tracks, in MPEG-PS.
	ffmpeg(t, filepath.Join(dir, "sd43.mpg"),
		"-f", "lavfi", "-i", "testsrc2=size=720x576:rate=25", "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000",
		"-f", "lavfi", "-i", "sine=f=880:sample_rate=48000", "-map", "0:v", "-map", "1:a", "-map", "2:a", "-t", "2",
		"-c:v", "mpeg2video", "-b:v", "5M", "-flags", "+ildct+ilme", "-aspect", "4:3", "-vf", "setfield=tff",
		"-c:a", "mp2", "-ac:a:0", "2", "-ac:a:1", "1", "-f", "vob")
	// 10-bit 4:2:2 ProRes with 24-bit PCM.
	ffmpeg(t, filepath.Join(dir, "prores422.mov"),
		"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25", "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000",
		"-t", "2", "-c:v", "prores_ks", "-profile:v", "2", "-pix_fmt", "yuv422p10le",
		"-ac", "2", "-c:a", "pcm_s24le")
	// An MP4 with its moov at the end (ffmpeg's default without faststart).
	ffmpeg(t, filepath.Join(dir, "moovend.mp4"),
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine=f=440:sample_rate=44100",
		"-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2")
	return []clip{
		{name: "hd1080i25.ts", audio: 1, duration: 2, mezzH: 360},
		{name: "sd43.mpg", audio: 2, duration: 2, mezzH: 480},
		{name: "prores422.mov", audio: 1, duration: 2, mezzH: 360},
		{name: "moovend.mp4", audio: 1, duration: 2, mezzH: 360},
	}
}

// TestWatchFolderEndToEnd drops good and bad files into a watch folder of a
// real kilnd and checks every outcome: verified outputs and reports, sources
// in done/ or failed/ with a reason, and an incomplete file left waiting.
func TestWatchFolderEndToEnd(t *testing.T) {
	d := startDaemon(t, watchConfig)
	inbox, out := filepath.Join(d.root, "in"), filepath.Join(d.root, "out")
	waitFor(t, 10*time.Second, "the inbox to exist", func() bool { _, err := os.Stat(inbox); return err == nil })

	clipsDir := t.TempDir()
	clips := makeClips(t, clipsDir)

	// Bad inputs.
	os.WriteFile(filepath.Join(clipsDir, "empty.mp4"), nil, 0o644)
	noise := make([]byte, 200<<10)
	rand.Read(noise)
	os.WriteFile(filepath.Join(clipsDir, "noise.mp4"), noise, 0o644)
	ffmpeg(t, filepath.Join(clipsDir, "radio.m4a"),
		"-f", "lavfi", "-i", "sine=f=440:sample_rate=48000", "-t", "2", "-c:a", "aac")
	bad := map[string]string{
		// Random bytes sometimes look enough like a raw stream (h263) for a
		// demuxer to try; either way the file fails with a reason.
		"noise.mp4": "not a media file|no decodable|cannot open|no video stream",
		"radio.m4a": "no video stream",
	}

	// A file still being copied: half of an MP4 whose moov is at the end,
	// held open for writing.
	whole, err := os.ReadFile(filepath.Join(clipsDir, "moovend.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	copying, err := os.Create(filepath.Join(inbox, "copying.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	defer copying.Close()
	copying.Write(whole[:len(whole)/2])

	for _, c := range clips {
		drop(t, filepath.Join(clipsDir, c.name), inbox, c.name)
	}
	for name := range bad {
		drop(t, filepath.Join(clipsDir, name), inbox, name)
	}
	// A zero-byte file is what a copy looks like before its first byte: it
	// waits rather than failing.
	drop(t, filepath.Join(clipsDir, "empty.mp4"), inbox, "empty.mp4")

	// Every good and bad file ends up in done/ or failed/.
	waitFor(t, 6*time.Minute, "all sources to be filed", func() bool {
		for _, c := range clips {
			if _, err := os.Stat(filepath.Join(inbox, "done", c.name)); err != nil {
				if _, ferr := os.Stat(filepath.Join(inbox, "failed", c.name)); ferr == nil {
					t.Fatalf("%s failed: %s", c.name, errorReason(t, inbox, c.name))
				}
				return false
			}
		}
		for name := range bad {
			if _, err := os.Stat(filepath.Join(inbox, "failed", name)); err != nil {
				return false
			}
		}
		return true
	})

	for _, c := range clips {
		t.Run(c.name, func(t *testing.T) { checkOutputs(t, out, c) })
	}
	for name, want := range bad {
		got := errorReason(t, inbox, name)
		if !regexp.MustCompile(want).MatchString(got) {
			t.Errorf("%s: failed with %q, want a reason containing %q", name, got, want)
		}
	}

	// The incomplete files wait: no job, still in the inbox.
	for _, j := range d.jobs() {
		if name := filepath.Base(j.Source); name == "copying.mp4" || name == "empty.mp4" {
			t.Fatalf("a job was made from an incomplete file: %+v", j)
		}
	}
	for _, name := range []string{"copying.mp4", "empty.mp4"} {
		if _, err := os.Stat(filepath.Join(inbox, name)); err != nil {
			t.Fatalf("incomplete file %s left the inbox: %v", name, err)
		}
	}
	// Once the copy finishes, it is taken and processed.
	copying.Write(whole[len(whole)/2:])
	copying.Close()
	waitFor(t, 3*time.Minute, "the finished copy to be processed", func() bool {
		_, err := os.Stat(filepath.Join(inbox, "done", "copying.mp4"))
		return err == nil
	})

	var h api.Health
	if err := d.get("/v1/health", &h); err != nil || h.Status != "ok" {
		t.Fatalf("daemon unhealthy after the run: %+v %v", h, err)
	}
	if h.QueueDepth != 0 || h.Running != 0 {
		t.Errorf("queue not drained: %+v", h)
	}
}

func checkOutputs(t *testing.T, out string, c clip) {
	stem := strings.TrimSuffix(c.name, filepath.Ext(c.name))

	// Broadcast PAL MPEG-2 in TS.
	pal := ffprobe(t, filepath.Join(out, stem, "pal", stem+".ts"))
	v := pal.video()
	if v.Codec != "mpeg2video" || v.Width != 720 || v.Height != 576 || v.Rate != "25/1" || v.FieldOrder != "tt" || v.PixFmt != "yuv420p" {
		t.Errorf("pal video: %+v, want mpeg2video 720x576 25/1 tt yuv420p", v)
	}
	if v.SAR != "64:45" {
		t.Errorf("pal SAR %s, want 64:45 (16:9 flag)", v.SAR)
	}
	if got := pal.streams("audio"); got != c.audio {
		t.Errorf("pal: %d audio streams, want %d", got, c.audio)
	}
	checkDuration(t, "pal", float64(v.Frames)/25, c.duration, 1.0/25)
	for _, s := range pal.Streams {
		if s.CodecType == "audio" && (s.CodecName != "mp2" || s.SampleRate != "48000" || s.Channels != 2) {
			t.Errorf("pal audio: %s %s Hz %d ch, want mp2 48000 Hz 2 ch", s.CodecName, s.SampleRate, s.Channels)
		}
	}

	// H.264 mezzanine in MP4, 640 wide.
	mezz := ffprobe(t, filepath.Join(out, stem, "mezz", stem+".mp4"))
	mv := mezz.video()
	if mv.Codec != "h264" || mv.Width != 640 || mv.Height != c.mezzH {
		t.Errorf("mezz video: %+v, want h264 640x%d", mv, c.mezzH)
	}
	if got := mezz.streams("audio"); got != c.audio {
		t.Errorf("mezz: %d audio streams, want %d", got, c.audio)
	}
	checkDuration(t, "mezz", mv.Duration, c.duration, 1.0/25)

	// Reports: every check passed, and they say what ran.
	for _, p := range []string{"pal", "mezz"} {
		r := readReport(t, filepath.Join(out, stem, p, stem+".kiln.json"))
		if r.Profile != p || r.JobID == 0 || len(r.Outputs) != 1 || len(r.Plan) == 0 {
			t.Errorf("%s report incomplete: profile %q job %d outputs %d plan %d", p, r.Profile, r.JobID, len(r.Outputs), len(r.Plan))
		}
		if len(r.Checks) < 10 {
			t.Errorf("%s report has only %d checks", p, len(r.Checks))
		}
		for _, ck := range r.Checks {
			if !ck.Pass {
				t.Errorf("%s check %s failed: expected %s, got %s", p, ck.Name, ck.Expected, ck.Actual)
			}
		}
		if r.Backends["video_encode"] == "" || r.Backends["decode"] == "" {
			t.Errorf("%s report lacks backends: %v", p, r.Backends)
		}
		if _, err := os.Stat(r.Outputs[0].Path); err != nil {
			t.Errorf("%s report names a missing output: %v", p, err)
		}
	}
	// No staging debris is visible.
	if entries, _ := os.ReadDir(filepath.Join(out, ".kiln-staging")); len(entries) != 0 {
		t.Errorf("staging folders left behind: %d", len(entries))
	}
}

func checkDuration(t *testing.T, what string, got, want, frame float64) {
	t.Helper()
	if math.Abs(got-want) > frame+0.001 {
		t.Errorf("%s duration %.3f s, want %.3f s within one frame (%.3f s)", what, got, want, frame)
	}
}

func errorReason(t *testing.T, inbox, name string) string {
	t.Helper()
	stem := strings.TrimSuffix(name, filepath.Ext(name))
	b, err := os.ReadFile(filepath.Join(inbox, "failed", stem+".error.json"))
	if err != nil {
		return "(no error file: " + err.Error() + ")"
	}
	var e struct {
		Reason string `json:"reason"`
	}
	json.Unmarshal(b, &e)
	return e.Reason
}
