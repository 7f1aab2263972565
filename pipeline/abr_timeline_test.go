package pipeline

import (
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"kiln/config"
	"kiln/job"
	"kiln/kernels"
	"kiln/packaging"
	"kiln/pipeline/plan"
	"kiln/sdi"
)

// The ABR profiles of the timeline test, as a user writes them: the plain
// profile of issue 13, one with every other format (Smooth, and HLS over
// MPEG-TS with AES-128), and every format in the clear (HLS over CMAF too).
const timelineConfig = `
[daemon]
state_dir = "{{root}}/state"
socket    = "{{root}}/kiln.sock"

[profile.web]
kind = "abr"
formats = ["hls", "dash"]

[profile.every]
kind = "abr"
formats = ["hls", "dash", "smooth"]
segment = "2s"
encryption = { method = "aes-128", key_uri = "https://keys.example/{job}.key" }

[profile.clear]
kind = "abr"
formats = ["hls", "dash", "smooth"]
segment = "2s"
`

// TestABRRungsShareOneTimeline encodes real HD sources with the ABR
// profiles and reads every rung of every format back with two demuxers that
// players are built on, libavformat (ffprobe) and GStreamer (qtdemux,
// tsdemux): each must find every rung's first picture and IDRs at the same
// times. Before, CMAF and Smooth carried negative composition offsets that
// differed from rung to rung with the encoder's B-frame decisions, and each
// demuxer shifted each rung by the largest it had seen: GStreamer put one
// rung's third IDR of a 1080p23.976 package a picture early, and a ladder
// whose encoders reorder differently (NVENC next to x264 once the job's
// sessions are gone) started one rung at 63 ms and the others at 105 ms.
func TestABRRungsShareOneTimeline(t *testing.T) {
	for _, tool := range []string{"ffmpeg", "ffprobe", "gst-launch-1.0"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed to read the packages (make setup installs ffmpeg and gstreamer1.0-tools): %v", tool, err)
		}
	}
	root := t.TempDir()
	cfg, err := config.Parse([]byte(strings.ReplaceAll(timelineConfig, "{{root}}", root)), "timeline test", root)
	if err != nil {
		t.Fatal(err)
	}
	// Detail and motion (a moving test pattern under grain), so that x264
	// makes its own B-frame decisions on every rung. Each is made when a
	// case first needs it.
	sources := map[string][]string{
		"p2398.mp4": {"testsrc2=size=1920x1080:rate=24000/1001,noise=alls=12:allf=t", "5",
			"-c:v", "libx264", "-preset", "ultrafast", "-crf", "26", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2"},
		"i25.mov": {"testsrc2=size=1920x1080:rate=25,noise=alls=12:allf=t,setfield=tff", "3",
			"-c:v", "prores_ks", "-profile:v", "2", "-flags", "+ildct+ilme", "-pix_fmt", "yuv422p10le", "-c:a", "pcm_s16le", "-ac", "2"},
		"p25.mp4": {"testsrc2=size=640x360:rate=25,noise=alls=12:allf=t", "3",
			"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2"},
	}
	source := func(t *testing.T, name string) string {
		path := filepath.Join(root, name)
		if _, err := os.Stat(path); err != nil {
			a := sources[name]
			timelineSource(t, path, a[0], a[1], a[2:]...)
		}
		return path
	}

	cases := []struct {
		name, src, profile string
		// mixed makes every rung below the top reorder by one picture
		// instead of x264's two (no B-pyramid), as NVENC and x264 rungs of
		// one ladder do.
		mixed bool
		// flat encodes the smallest rung without B-frames, as x264 chose
		// for the 120k rung of a 1 s 2160p clip: libav's ismv muxer then
		// writes no composition offsets in its file, and the package's
		// reorder delay was not added to them (the rung showed its one IDR
		// 80 ms before the others: "Smooth Streaming 234p-120k: first
		// picture and IDRs at 720p-2400k's times").
		flat bool
	}{
		{"1080p23.976 H.264, plain profile", "p2398.mp4", "web", false, false},
		{"1080p23.976 H.264, Smooth and AES-128", "p2398.mp4", "every", false, false},
		{"1080i25 ProRes 422, plain profile", "i25.mov", "web", false, false},
		{"rungs whose encoders reorder differently", "p25.mp4", "clear", true, false},
		{"a rung without B-frames", "p25.mp4", "clear", false, true},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(root, fmt.Sprintf("out%d", i))
			src := source(t, c.src)
			report, err := runTimelineJob(t, src, *cfg.Profiles[c.profile], out, c.mixed, c.flat)
			if err != nil {
				for _, ch := range report.Checks {
					if !ch.Pass {
						t.Logf("failed check %s: expected %s, got %s", ch.Name, ch.Expected, ch.Actual)
					}
				}
				t.Fatalf("the job failed: %v", err)
			}
			dir := filepath.Join(out, SourceName(src), c.profile)
			var keys []*packaging.Key
			if report.ABR != nil && report.ABR.Encryption != nil {
				keys = readTimelineKeys(t, report.ABR.Encryption)
			}
			checkRungTimelines(t, dir, report, keys)
			if c.mixed {
				checkVerifierCatchesShift(t, dir, report, sdi.Rational{Num: 25, Den: 1})
			}
		})
	}
}

// checkVerifierCatchesShift breaks a published package on purpose: the
// second rung's CMAF segments and Smooth file show every picture one
// picture later than the first rung's. The verifier's timeline checks pass
// on an untouched copy of the two rungs and fail on the broken one: in CMAF
// and Smooth as it reads the boxes, and in libav's reading of the CMAF
// playlist.
func checkVerifierCatchesShift(t *testing.T, dir string, report *job.Report, rate sdi.Rational) {
	t.Helper()
	broken := t.TempDir()
	var video []packaging.VideoRendition
	for _, r := range report.ABR.Ladder[:2] {
		cmaf := filepath.Join(packaging.CMAFFolder, r.Name)
		if err := os.CopyFS(filepath.Join(broken, cmaf), os.DirFS(filepath.Join(dir, cmaf))); err != nil {
			t.Fatal(err)
		}
		smooth := filepath.Join(packaging.SmoothFolder, r.Name+".ismv")
		b, err := os.ReadFile(filepath.Join(dir, smooth))
		if err == nil {
			err = os.MkdirAll(filepath.Join(broken, packaging.SmoothFolder), 0o755)
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(broken, smooth), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		video = append(video, packaging.VideoRendition{Rung: packaging.Rung{Name: r.Name}, Smooth: r.Name + ".ismv"})
	}
	segments := func(i int) []string {
		m, _ := filepath.Glob(filepath.Join(broken, packaging.CMAFFolder, video[i].Rung.Name, "seg-*.m4s"))
		sort.Strings(m)
		return m
	}
	timescale := float64(cmafTimescale(rate))
	v := &abrVerifier{dir: broken, pkg: &packaging.Package{Video: video}}
	failed := func() []string {
		v.checks = nil
		if err := v.checkFragmentTimelines("CMAF", func(int) float64 { return timescale }, segments); err != nil {
			t.Fatal(err)
		}
		if err := v.checkFragmentTimelines("Smooth Streaming", func(int) float64 { return 1e7 },
			func(i int) []string { return []string{filepath.Join(broken, packaging.SmoothFolder, video[i].Smooth)} }); err != nil {
			t.Fatal(err)
		}
		var tl [2]rungTimeline
		for i := range tl {
			var err error
			if tl[i], _, err = keyframeTimes(filepath.Join(broken, packaging.CMAFFolder, video[i].Rung.Name, "index.m3u8")); err != nil {
				t.Fatal(err)
			}
		}
		v.checkTimeline("libav reads CMAF", tl[0], tl[1])
		var names []string
		for _, c := range v.checks {
			if !c.Pass {
				names = append(names, c.Name)
			}
		}
		return names
	}
	if f := failed(); len(f) > 0 {
		t.Fatalf("an untouched package fails %q", f)
	}
	picture := float64(rate.Den) / float64(rate.Num)
	for _, seg := range segments(1) {
		if err := packaging.RaiseCompositionOffsets(seg, int64(math.Round(picture*timescale))); err != nil {
			t.Fatal(err)
		}
	}
	if err := packaging.RaiseCompositionOffsets(filepath.Join(broken, packaging.SmoothFolder, video[1].Smooth), int64(math.Round(picture*1e7))); err != nil {
		t.Fatal(err)
	}
	f := failed()
	want := []string{
		fmt.Sprintf("CMAF %s: first picture and IDRs at %s's times", video[1].Rung.Name, video[0].Rung.Name),
		fmt.Sprintf("Smooth Streaming %s: first picture and IDRs at %s's times", video[1].Rung.Name, video[0].Rung.Name),
		"libav reads CMAF",
	}
	if strings.Join(f, "\n") != strings.Join(want, "\n") {
		t.Errorf("a rung shown one picture late fails %q, want %q", f, want)
	}
}

func timelineSource(t *testing.T, path, video, seconds string, codec ...string) {
	t.Helper()
	args := append([]string{"-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", video,
		"-f", "lavfi", "-i", "sine=f=997:sample_rate=48000", "-t", seconds}, codec...)
	if out, err := exec.Command("ffmpeg", append(args, path)...).CombinedOutput(); err != nil {
		os.Remove(path)
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
}

// runTimelineJob runs an ABR job as Run does; mixed first gives every rung
// but the top one an encoder that reorders by one picture, not two, and
// flat gives the smallest rung one that does not reorder.
func runTimelineJob(t *testing.T, src string, p config.Profile, out string, mixed, flat bool) (*job.Report, error) {
	spec := job.Spec{ID: 7, Source: src, Profile: p, OutputRoot: out}
	if !mixed && !flat {
		return Run(context.Background(), spec, nil)
	}
	report := &job.Report{Profile: p.Name, Source: src, Backends: map[string]string{}, Warnings: []string{}, Checks: []job.Check{}}
	info, err := Probe(src)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := plan.Make(info, p, src)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.ABR.Rungs) < 2 {
		t.Fatalf("a ladder of %d rungs", len(plan.ABR.Rungs))
	}
	for i := 1; i < len(plan.ABR.Rungs); i++ {
		v := &plan.ABR.Rungs[i].Video
		opts := map[string]string{}
		for k, val := range v.Options {
			opts[k] = val
		}
		if mixed {
			opts["x264-params"] += ":b-pyramid=none"
		}
		if flat && i == len(plan.ABR.Rungs)-1 {
			opts["x264-params"] += ":bframes=0"
		}
		v.Options = opts
	}
	return runABR(context.Background(), kernels.CPU(), spec, info, plan, newGPUCodecs(spec, kernels.CPU()), report, time.Now(), nil)
}

// readTimelineKeys loads a package's AES-128 keys from its key folder.
func readTimelineKeys(t *testing.T, enc *job.ABRKeys) []*packaging.Key {
	var keys []*packaging.Key
	for _, k := range enc.Keys {
		b, err := os.ReadFile(filepath.Join(enc.KeyFolder, k.File))
		iv, ivErr := hex.DecodeString(strings.TrimPrefix(k.IV, "0x"))
		if err != nil || ivErr != nil || len(b) != 16 || len(iv) != 16 {
			t.Fatalf("key %d: %v %v", k.Number, err, ivErr)
		}
		key := &packaging.Key{Number: k.Number, FirstSegment: k.FirstSegment}
		copy(key.Key[:], b)
		copy(key.IV[:], iv)
		keys = append(keys, key)
	}
	return keys
}

// checkRungTimelines reads each rung of each format of the package in dir
// as one stream (an HLS-TS rendition's segments decrypted and joined, a
// CMAF track's init segment and segments joined, a Smooth .ismv) with
// ffprobe and with GStreamer, and compares every rung's first picture and
// IDR times with the top rung's, in each reader.
func checkRungTimelines(t *testing.T, dir string, report *job.Report, keys []*packaging.Key) {
	t.Helper()
	scratch := t.TempDir()
	type format struct {
		name  string
		files func(rung string) []string
		demux string // the GStreamer elements after filesrc
	}
	glob := func(pattern string) []string {
		m, _ := filepath.Glob(pattern)
		sort.Strings(m)
		return m
	}
	var formats []format
	if _, err := os.Stat(filepath.Join(dir, packaging.HLSMaster)); err == nil {
		formats = append(formats, format{"HLS-TS", func(r string) []string {
			return glob(filepath.Join(dir, packaging.HLSFolder, r, "seg-*.ts"))
		}, "tsdemux ! h264parse"})
	}
	if _, err := os.Stat(filepath.Join(dir, packaging.DASHManifestFile)); err == nil {
		formats = append(formats, format{"CMAF", func(r string) []string {
			return append([]string{filepath.Join(dir, packaging.CMAFFolder, r, packaging.CMAFInit)},
				glob(filepath.Join(dir, packaging.CMAFFolder, r, "seg-*.m4s"))...)
		}, "qtdemux"})
	}
	if files := glob(filepath.Join(dir, packaging.SmoothFolder, "*.ismv")); len(files) > 0 {
		formats = append(formats, format{"Smooth", func(r string) []string {
			return []string{filepath.Join(dir, packaging.SmoothFolder, r+".ismv")}
		}, "qtdemux"})
	}
	if len(formats) == 0 || len(report.ABR.Ladder) < 2 {
		t.Fatalf("nothing to compare: %d formats, %d rungs", len(formats), len(report.ABR.Ladder))
	}
	for _, f := range formats {
		var refFF, refGst rungTimeline
		for i, rung := range report.ABR.Ladder {
			files := f.files(rung.Name)
			joined := filepath.Join(scratch, fmt.Sprintf("%s-%s", strings.ToLower(f.name), rung.Name))
			var data []byte
			for _, file := range files {
				b, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				if f.name == "HLS-TS" && len(keys) > 0 {
					seg, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(file), "seg-"), ".ts"))
					if b, err = packaging.DecryptSegment(timelineKeyFor(keys, seg), b); err != nil {
						t.Fatalf("%s: %v", file, err)
					}
				}
				data = append(data, b...)
			}
			if len(files) == 0 || os.WriteFile(joined, data, 0o644) != nil {
				t.Fatalf("%s %s: no files to read (%v)", f.name, rung.Name, files)
			}
			ff := ffprobeRungTimeline(t, joined)
			gst := gstRungTimeline(t, joined, f.demux)
			t.Logf("%s %s: ffprobe %v; GStreamer %v", f.name, rung.Name, ff, gst)
			if len(ff.keys) == 0 || len(gst.keys) == 0 {
				t.Errorf("%s %s: no IDRs read", f.name, rung.Name)
			}
			if i == 0 {
				refFF, refGst = ff, gst
				continue
			}
			top := report.ABR.Ladder[0].Name
			if !sameTimeline(refFF, ff) {
				t.Errorf("%s %s as ffprobe reads it: %v; %s: %v", f.name, rung.Name, ff, top, refFF)
			}
			if !sameTimeline(refGst, gst) {
				t.Errorf("%s %s as GStreamer reads it: %v; %s: %v", f.name, rung.Name, gst, top, refGst)
			}
		}
	}
}

func timelineKeyFor(keys []*packaging.Key, segment int) *packaging.Key {
	k := keys[0]
	for _, c := range keys {
		if c.FirstSegment <= segment {
			k = c
		}
	}
	return k
}

func sameTimeline(a, b rungTimeline) bool {
	if math.Abs(a.first-b.first) >= timelineTolerance || math.Abs(a.decode-b.decode) >= timelineTolerance || len(a.keys) != len(b.keys) {
		return false
	}
	for i := range a.keys {
		if math.Abs(a.keys[i]-b.keys[i]) >= timelineTolerance {
			return false
		}
	}
	return true
}

// ffprobeRungTimeline reads the first video stream's packets with
// libavformat: presentation times, the keyframes among them, and the first
// packet's decode time.
func ffprobeRungTimeline(t *testing.T, path string) rungTimeline {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time,dts_time,flags",
		"-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var tl rungTimeline
	first := true
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 3 {
			continue
		}
		pts, dts, flags := f[0], f[1], f[2]
		v, err := strconv.ParseFloat(pts, 64)
		if err != nil {
			continue // a packet without a time
		}
		if first {
			tl.decode, _ = strconv.ParseFloat(dts, 64)
		}
		if first || v < tl.first {
			tl.first, first = v, false
		}
		if strings.HasPrefix(flags, "K") {
			tl.keys = append(tl.keys, v)
		}
	}
	sort.Float64s(tl.keys)
	return tl
}

var gstBuffer = regexp.MustCompile(`chain .*dts: (none|\d+:\d+:\d+\.\d+), pts: (\d+):(\d+):(\d+\.\d+).*flags: [0-9a-f]+ ?(.*), meta`)

// gstRungTimeline reads the video with GStreamer: each buffer's
// presentation time as identity logs it, keyframes being those without the
// delta-unit flag.
func gstRungTimeline(t *testing.T, path, demux string) rungTimeline {
	t.Helper()
	args := []string{"-v", "filesrc", "location=" + path}
	for _, e := range strings.Split(demux, " ! ") {
		args = append(append(args, "!"), e)
	}
	args = append(args, "!", "identity", "silent=false", "!", "fakesink", "sync=false")
	out, err := exec.Command("gst-launch-1.0", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("gst-launch-1.0 %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	var tl rungTimeline
	first := true
	clock := func(h, m, s string) float64 {
		hv, _ := strconv.ParseFloat(h, 64)
		mv, _ := strconv.ParseFloat(m, 64)
		sv, _ := strconv.ParseFloat(s, 64)
		return hv*3600 + mv*60 + sv
	}
	for _, m := range gstBuffer.FindAllStringSubmatch(string(out), -1) {
		v := clock(m[2], m[3], m[4])
		if first && m[1] != "none" {
			d := strings.Split(m[1], ":")
			tl.decode = clock(d[0], d[1], d[2])
		}
		if first || v < tl.first {
			tl.first, first = v, false
		}
		if !strings.Contains(m[5], "delta-unit") {
			tl.keys = append(tl.keys, v)
		}
	}
	sort.Float64s(tl.keys)
	return tl
}
