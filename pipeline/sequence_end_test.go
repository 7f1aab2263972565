package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kiln/config"
	"kiln/job"
	"kiln/sdi"
)

// testProfiles parses [profile.NAME] tables the way kilnd reads them, with
// the defaults filled in.
func testProfiles(t *testing.T, toml string) map[string]config.Profile {
	t.Helper()
	cfg, err := config.Parse([]byte(toml), "test", t.TempDir())
	if err != nil {
		t.Fatalf("profiles: %v", err)
	}
	out := map[string]config.Profile{}
	for name, p := range cfg.Profiles {
		out[name] = *p
	}
	return out
}

// makeClip runs ffmpeg to make a test source.
func makeClip(t *testing.T, path string, args ...string) string {
	t.Helper()
	full := append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)
	if out, err := exec.Command("ffmpeg", append(full, path)...).CombinedOutput(); err != nil {
		t.Fatalf("making %s: %v\n%s", filepath.Base(path), err, out)
	}
	return path
}

// interlacedClip is a 1 s interlaced source with detail and motion in both
// fields (testsrc2 at the field rate, woven), and a tone.
func interlacedClip(t *testing.T, dir, name, size, fieldRate, order string, extra ...string) string {
	t.Helper()
	weave := "tinterlace=mode=interleave_top,setfield=tff"
	if order == "bff" {
		weave = "tinterlace=mode=interleave_bottom,setfield=bff"
	}
	args := []string{"-f", "lavfi", "-i", "testsrc2=size=" + size + ":rate=" + fieldRate,
		"-f", "lavfi", "-i", "sine=f=997:sample_rate=48000", "-t", "1", "-vf", weave, "-ac", "2"}
	return makeClip(t, filepath.Join(dir, name), append(args, extra...)...)
}

// runProfile runs one job and fails the test unless it publishes.
func runProfile(t *testing.T, src string, p config.Profile, root string) *job.Report {
	t.Helper()
	report, err := Run(context.Background(), job.Spec{ID: 1, Source: src, Profile: p, OutputRoot: root}, nil)
	if err != nil {
		t.Fatalf("%s on %s: %v", p.Name, filepath.Base(src), err)
	}
	if len(report.Outputs) != 1 {
		t.Fatalf("%s: %d outputs", p.Name, len(report.Outputs))
	}
	return report
}

// elementaryStream copies the video of a TS or MXF file out as an MPEG-2
// elementary stream, byte for byte.
func elementaryStream(t *testing.T, path string) string {
	t.Helper()
	es := strings.TrimSuffix(path, filepath.Ext(path)) + ".m2v"
	makeClip(t, es, "-i", path, "-map", "0:v:0", "-c", "copy", "-f", "mpeg2video")
	return es
}

// libmpeg2Pictures counts the pictures libmpeg2 decodes (mpeg2dec prints one
// checksum per picture).
func libmpeg2Pictures(t *testing.T, es string) int {
	t.Helper()
	out, err := exec.Command("mpeg2dec", "-o", "md5", es).Output()
	if err != nil {
		t.Fatalf("mpeg2dec %s: %v", filepath.Base(es), err)
	}
	return strings.Count(string(out), ".pgm\n")
}

// libavPictures counts the pictures libavcodec (ffprobe) decodes.
func libavPictures(t *testing.T, path string) int {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", filepath.Base(path), err)
	}
	var n int
	fmt.Sscan(strings.TrimSpace(string(out)), &n)
	return n
}

// gstreamerPictures counts the pictures GStreamer's libmpeg2 element hands on.
func gstreamerPictures(t *testing.T, es string) int {
	t.Helper()
	out, err := exec.Command("gst-launch-1.0", "-v", "filesrc", "location="+es, "!", "mpegvideoparse", "!",
		"mpeg2dec", "!", "fakesink", "silent=false").CombinedOutput()
	if err != nil {
		t.Fatalf("gst-launch-1.0 %s: %v\n%s", filepath.Base(es), err, out)
	}
	return strings.Count(string(out), "chain   ******* (fakesink")
}

// videoPacketSizes lists the size of every video packet of a file.
func videoPacketSizes(t *testing.T, path string) []string {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=size",
		"-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", filepath.Base(path), err)
	}
	return strings.Fields(string(out))
}

// TestMPEG2StreamsEndWithSequenceEndCode runs the MPEG-2 broadcast profiles,
// long GOP in TS and MXF and D-10, and checks that every stream ends with a
// sequence_end_code and that libmpeg2 (mpeg2dec, and GStreamer's element)
// decodes every picture. Without the code libmpeg2 drops the last one or two.
func TestMPEG2StreamsEndWithSequenceEndCode(t *testing.T) {
	for _, tool := range []string{"ffmpeg", "ffprobe", "mpeg2dec", "gst-launch-1.0"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (scripts/setup-debian.sh installs it): %v", tool, err)
		}
	}
	dir := t.TempDir()
	pal := interlacedClip(t, dir, "pal576i.mkv", "720x576", "50", "tff", "-c:v", "libx264", "-preset", "ultrafast", "-x264-params", "tff=1", "-flags", "+ildct+ilme", "-c:a", "pcm_s16le")
	ntsc := interlacedClip(t, dir, "ntsc480i.mkv", "720x480", "60000/1001", "bff", "-c:v", "libx264", "-preset", "ultrafast", "-x264-params", "bff=1", "-flags", "+ildct+ilme", "-c:a", "pcm_s16le")
	profiles := testProfiles(t, `
[profile.pal-mpeg2-ts]
kind = "broadcast"
standard = "pal"
codec = "mpeg2"
aspect = "16:9"

[profile.ntsc-mpeg2-ts]
kind = "broadcast"
standard = "ntsc"
codec = "mpeg2"
aspect = "4:3"

[profile.pal-mpeg2-mxf]
kind = "broadcast"
standard = "pal"
codec = "mpeg2"
container = "mxf"
aspect = "4:3"

[profile.secam-mpeg2-mxf]
kind = "broadcast"
standard = "secam"
codec = "mpeg2"
container = "mxf"
aspect = "16:9"

[profile.pal-d10]
kind = "broadcast"
standard = "pal"
codec = "d10"
aspect = "16:9"
video_bitrate = "50M"

[profile.ntsc-d10]
kind = "broadcast"
standard = "ntsc"
codec = "d10"
aspect = "4:3"
video_bitrate = "30M"
`)
	runs := []struct {
		profile, src string
		pictures     int
	}{
		{"pal-mpeg2-ts", pal, 25},
		{"ntsc-mpeg2-ts", ntsc, 30},
		{"pal-mpeg2-mxf", pal, 25},
		{"secam-mpeg2-mxf", pal, 25},
		{"pal-d10", pal, 25},
		{"ntsc-d10", ntsc, 30},
	}
	for _, r := range runs {
		t.Run(r.profile, func(t *testing.T) {
			report := runProfile(t, r.src, profiles[r.profile], filepath.Join(dir, r.profile))
			if report.Timings.Frames != int64(r.pictures) {
				t.Fatalf("encoded %d pictures, planned %d", report.Timings.Frames, r.pictures)
			}
			checked := false
			for _, c := range report.Checks {
				if c.Name == "MPEG-2 sequence_end_code (end of stream)" {
					checked = c.Pass
				}
			}
			if !checked {
				t.Errorf("the report has no passed sequence_end_code check: %+v", report.Checks)
			}
			out := report.Outputs[0].Path
			es := elementaryStream(t, out)
			data, err := os.ReadFile(es)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasSuffix(data, sdi.SequenceEndCode) {
				t.Errorf("the stream ends with % x, not with sequence_end_code 00 00 01 b7", data[max(0, len(data)-8):])
			}
			if n := bytes.Count(data, sdi.SequenceEndCode); n != 1 {
				t.Errorf("%d sequence_end_codes in the stream, want 1 (at its end)", n)
			}
			if n := len(videoPacketSizes(t, es)); n != r.pictures {
				t.Errorf("libavcodec's parser finds %d of %d pictures in the stream", n, r.pictures)
			}
			if n := libavPictures(t, out); n != r.pictures {
				t.Errorf("libavcodec decoded %d of %d pictures", n, r.pictures)
			}
			if n := libmpeg2Pictures(t, es); n != r.pictures {
				t.Errorf("mpeg2dec (libmpeg2) decoded %d of %d pictures", n, r.pictures)
			}
			if n := gstreamerPictures(t, es); n != r.pictures {
				t.Errorf("GStreamer mpeg2dec decoded %d of %d pictures", n, r.pictures)
			}
			if profiles[r.profile].Codec == "d10" {
				// D-10 frames have one size; the end code must not change the last one's.
				sizes := videoPacketSizes(t, out)
				for i, s := range sizes {
					if s != sizes[0] {
						t.Errorf("D-10 picture %d is %s bytes, picture 1 %s: %s", i+1, s, sizes[0], fmt.Sprint(sizes))
						break
					}
				}
			}
		})
	}
}
