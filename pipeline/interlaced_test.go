package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kiln/job"
)

// probedFields is how ffprobe reads an output's scan: the stream's field
// order (container or bitstream) and each decoded picture's flags.
type probedFields struct {
	fieldOrder string
	pictures   int
	interlaced int // pictures flagged interlaced
	tff        int // of those, top field first
}

func probeFields(t *testing.T, path string) probedFields {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0",
		"-show_entries", "stream=field_order:frame=interlaced_frame,top_field_first", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", filepath.Base(path), err)
	}
	var p struct {
		Streams []struct {
			FieldOrder string `json:"field_order"`
		} `json:"streams"`
		Frames []struct {
			Interlaced int `json:"interlaced_frame"`
			TFF        int `json:"top_field_first"`
		} `json:"frames"`
	}
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe %s: %v", filepath.Base(path), err)
	}
	var r probedFields
	if len(p.Streams) == 1 {
		r.fieldOrder = p.Streams[0].FieldOrder
	}
	for _, f := range p.Frames {
		r.pictures++
		if f.Interlaced == 1 {
			r.interlaced++
			r.tff += f.TFF
		}
	}
	return r
}

// mpeg2Coding is what an MPEG-2 picture_coding_extension (ISO/IEC 13818-2
// 6.2.3.1) says about how one picture is coded.
type mpeg2Coding struct {
	topFieldFirst, framePredFrameDCT, alternateScan, progressiveFrame bool
}

// mpeg2PictureCodings reads the picture_coding_extension of every picture of
// an elementary stream.
func mpeg2PictureCodings(es []byte) []mpeg2Coding {
	var out []mpeg2Coding
	for i := 0; ; {
		j := bytes.Index(es[i:], []byte{0x00, 0x00, 0x01, 0xB5})
		if j < 0 {
			return out
		}
		e := es[i+j+4:]
		i += j + 4
		if len(e) < 5 || e[0]>>4 != 8 {
			continue // another extension
		}
		out = append(out, mpeg2Coding{
			topFieldFirst:     e[3]&0x80 != 0,
			framePredFrameDCT: e[3]&0x40 != 0,
			alternateScan:     e[3]&0x04 != 0,
			progressiveFrame:  e[4]&0x80 != 0,
		})
	}
}

// checkMPEG2Fields checks that every picture of an MPEG-2 output is coded as
// an interlaced frame with field DCT and prediction, alternate scan, and
// the field order given.
func checkMPEG2Fields(t *testing.T, path string, tff bool, pictures int) {
	t.Helper()
	es, err := os.ReadFile(elementaryStream(t, path))
	if err != nil {
		t.Fatal(err)
	}
	codings := mpeg2PictureCodings(es)
	if len(codings) != pictures {
		t.Errorf("%d picture coding extensions, want %d", len(codings), pictures)
	}
	for i, c := range codings {
		if c.progressiveFrame || c.framePredFrameDCT || !c.alternateScan || c.topFieldFirst != tff {
			t.Errorf("picture %d coded %+v, want interlaced, field DCT/prediction, alternate scan, top_field_first %v", i+1, c, tff)
			return
		}
	}
}

// TestInterlacedFileOutputsCodeFields runs file profiles of every codec that
// can code fields on interlaced sources (HD and SD, TFF and BFF) and checks
// that each output publishes, is signalled with the source's field order
// and has every picture coded interlaced with that order.
func TestInterlacedFileOutputsCodeFields(t *testing.T) {
	dir := t.TempDir()
	x264 := func(order string) []string {
		return []string{"-c:v", "libx264", "-preset", "ultrafast", "-x264-params", order + "=1", "-flags", "+ildct+ilme", "-c:a", "aac"}
	}
	sources := []struct {
		name, order string
		pictures    int
		path        string
	}{
		{"1080i25 TFF ProRes 422", "tff", 10, interlacedClip(t, dir, "1080i25.mov", "1920x1080", "50", "tff",
			"-t", "0.4", "-c:v", "prores_ks", "-profile:v", "2", "-pix_fmt", "yuv422p10le", "-flags", "+ildct", "-c:a", "pcm_s24le")},
		{"1080i29.97 BFF H.264", "bff", 12, interlacedClip(t, dir, "1080i2997.mp4", "1920x1080", "60000/1001", "bff",
			append([]string{"-t", "0.4"}, x264("bff")...)...)},
		{"576i25 TFF H.264", "tff", 25, interlacedClip(t, dir, "576i25.mp4", "720x576", "50", "tff", x264("tff")...)},
		{"480i29.97 BFF H.264", "bff", 30, interlacedClip(t, dir, "480i2997.mp4", "720x480", "60000/1001", "bff", x264("bff")...)},
	}
	profiles := testProfiles(t, `
[profile.prores]
kind = "file"
codec = "prores"
container = "mov"

[profile.h264]
kind = "file"
codec = "h264"
container = "mp4"
video_bitrate = "8M"

[profile.mpeg2]
kind = "file"
codec = "mpeg2"
container = "mxf"
video_bitrate = "15M"

[profile.ffv1]
kind = "file"
codec = "ffv1"
container = "mkv"
`)
	for _, src := range sources {
		for _, name := range []string{"prores", "h264", "mpeg2", "ffv1"} {
			t.Run(fmt.Sprintf("%s/%s", src.name, name), func(t *testing.T) {
				report := runProfile(t, src.path, profiles[name], filepath.Join(dir, name))
				got := probeFields(t, report.Outputs[0].Path)
				want := map[string]string{"tff": "tt", "bff": "bb"}[src.order]
				if name == "mpeg2" && src.order == "bff" {
					// MXF describes a BFF frame as stored top field first
					// with the second field dominant (first in time), which
					// libavformat reports as tb: bottom displayed first.
					want = "tb"
				}
				if got.fieldOrder != want {
					t.Errorf("stream field_order %q, want %q", got.fieldOrder, want)
				}
				if got.pictures != src.pictures {
					t.Errorf("%d pictures, want %d", got.pictures, src.pictures)
				}
				if got.interlaced != got.pictures {
					t.Errorf("%d of %d pictures flagged interlaced", got.interlaced, got.pictures)
				}
				wantTFF := 0
				if src.order == "tff" {
					wantTFF = got.interlaced
				}
				if got.tff != wantTFF {
					t.Errorf("%d of %d interlaced pictures top field first, want %d (%s)", got.tff, got.interlaced, wantTFF, src.order)
				}
				if name == "mpeg2" {
					checkMPEG2Fields(t, report.Outputs[0].Path, src.order == "tff", src.pictures)
				}
			})
		}
	}
}

// TestBroadcastH264FieldOrder runs the broadcast H.264 profiles into both
// field orders, from sources of the other order, and checks that the
// stream says the target's order and every picture is coded with it.
func TestBroadcastH264FieldOrder(t *testing.T) {
	dir := t.TempDir()
	pal := interlacedClip(t, dir, "576i25.mkv", "720x576", "50", "tff", "-t", "0.6",
		"-c:v", "libx264", "-preset", "ultrafast", "-x264-params", "tff=1", "-flags", "+ildct+ilme", "-c:a", "pcm_s16le")
	ntsc := interlacedClip(t, dir, "480i2997.mkv", "720x480", "60000/1001", "bff", "-t", "0.6",
		"-c:v", "libx264", "-preset", "ultrafast", "-x264-params", "bff=1", "-flags", "+ildct+ilme", "-c:a", "pcm_s16le")
	profiles := testProfiles(t, `
[profile.pal-h264-bff]
kind = "broadcast"
standard = "pal"
codec = "h264"
aspect = "16:9"
field_order = "bff"

[profile.ntsc-h264]
kind = "broadcast"
standard = "ntsc"
codec = "h264"
aspect = "4:3"
`)
	for _, r := range []struct{ profile, src, order string }{
		{"pal-h264-bff", pal, "bb"},
		{"ntsc-h264", ntsc, "tt"},
	} {
		t.Run(r.profile, func(t *testing.T) {
			report := runProfile(t, r.src, profiles[r.profile], filepath.Join(dir, r.profile))
			got := probeFields(t, report.Outputs[0].Path)
			if got.fieldOrder != r.order {
				t.Errorf("stream field_order %q, want %q", got.fieldOrder, r.order)
			}
			wantTFF := 0
			if r.order == "tt" {
				wantTFF = got.pictures
			}
			if got.pictures == 0 || got.interlaced != got.pictures || got.tff != wantTFF {
				t.Errorf("%d pictures, %d interlaced, %d top field first; want all interlaced, %d top field first", got.pictures, got.interlaced, got.tff, wantTFF)
			}
		})
	}
}

// TestHEVCOfInterlacedSource: HEVC outputs cannot carry fields here, so an
// interlaced source is deinterlaced (auto) and publishes progressive, or,
// with deinterlace = "off", is refused at planning with a reason, never
// encoded and then quarantined.
func TestHEVCOfInterlacedSource(t *testing.T) {
	dir := t.TempDir()
	src := interlacedClip(t, dir, "576i25.mp4", "720x576", "50", "tff", "-t", "0.6",
		"-c:v", "libx264", "-preset", "ultrafast", "-x264-params", "tff=1", "-flags", "+ildct+ilme", "-c:a", "aac")
	profiles := testProfiles(t, `
[profile.hevc]
kind = "file"
codec = "hevc"
container = "mp4"
video_bitrate = "2M"

[profile.hevc-keep-fields]
kind = "file"
codec = "hevc"
container = "mp4"
video_bitrate = "2M"
deinterlace = "off"
`)
	report := runProfile(t, src, profiles["hevc"], filepath.Join(dir, "auto"))
	got := probeFields(t, report.Outputs[0].Path)
	if got.pictures != 15 || got.interlaced != 0 {
		t.Errorf("%d pictures, %d flagged interlaced; want 15 progressive", got.pictures, got.interlaced)
	}
	_, err := Run(context.Background(), job.Spec{ID: 2, Source: src, Profile: profiles["hevc-keep-fields"], OutputRoot: filepath.Join(dir, "off")}, nil)
	var pe *ProfileError
	if !errors.As(err, &pe) || !strings.Contains(pe.Reason, "cannot carry fields") {
		t.Fatalf("deinterlace = \"off\": got %v, want a profile error saying HEVC cannot carry fields", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "off", ".kiln-quarantine")); err == nil {
		t.Errorf("the refused job left a quarantine folder")
	}
}

// TestInterlacedToDoubleRate converts 25i to 50p from a source that shows
// a bright bar at a different, unpredictable place in every field (50
// pictures a second): each output picture must come from its own field and
// show its bar where that field has it. Deinterlacing frame by frame and
// interpolating loses every second field's picture.
func TestInterlacedToDoubleRate(t *testing.T) {
	dir := t.TempDir()
	// Picture N has a 64-sample bar at x = N²·37 mod 640.
	src := makeClip(t, filepath.Join(dir, "jumps576i25.mkv"), "-f", "lavfi", "-i",
		"color=c=black:s=720x576:r=50,format=yuv420p,geq=lum='if(between(X\\,mod(N*N*37\\,640)\\,mod(N*N*37\\,640)+63)\\,235\\,16)':cb=128:cr=128",
		"-t", "0.4", "-vf", "tinterlace=mode=interleave_top,setfield=tff", "-c:v", "ffv1")
	profiles := testProfiles(t, `
[profile.mezzanine]
kind              = "file"
codec             = "prores"
container         = "mov"
frame_rate        = "50"
frame_rate_method = "mc"
`)
	report := runProfile(t, src, profiles["mezzanine"], filepath.Join(dir, "out"))
	raw, err := exec.Command("ffmpeg", "-v", "error", "-i", report.Outputs[0].Path, "-f", "rawvideo", "-pix_fmt", "gray", "-").Output()
	if err != nil {
		t.Fatalf("decoding the output: %v", err)
	}
	const w, h = 720, 576
	if len(raw) != 20*w*h {
		t.Fatalf("%d bytes decoded, want 20 pictures of 720x576", len(raw))
	}
	for i := 0; i < 20; i++ {
		pic := raw[i*w*h : (i+1)*w*h]
		x0 := i * i * 37 % 640
		bright := 0
		for x := x0; x < x0+64; x++ {
			sum := 0
			for y := 0; y < h; y++ {
				sum += int(pic[y*w+x])
			}
			if sum/h > 150 {
				bright++
			}
		}
		// Most of the bar, not all: where it overlaps the neighbouring
		// field's bar the motion-adaptive deinterlacer may weave and dim it.
		// A picture interpolated from the frames either side shows at most
		// a fragment of it.
		if bright < 40 {
			t.Errorf("picture %d: %d of the 64 columns of its field's bar (x = %d) are bright; want the picture made from that field", i, bright, x0)
		}
	}
}
