package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The test material is made by ffmpeg from one still: a deep zoom into the
// Mandelbrot set, which has fine detail next to smooth gradients, as real
// pictures do. A window pans across it while a testsrc2 box (its own moving
// pattern and counter) crosses the other way, so that motion estimation
// meets occlusions and every scaler and encoder meets real detail. The
// still is rendered once; panning a still is cheap, rendering the set per
// frame is not.
const backgroundGraph = "mandelbrot=size=2944x1600:start_scale=0.006:end_scale=0.006:maxiter=512,trim=end_frame=1"

// Source durations. The pipelines use 10 s of 1080 so that each tool works
// long enough to be timed, and a fresh machine still finishes in minutes.
const (
	clipSeconds = 10
	sd50Frames  = 41 // the SD frame-rate clip: 21 kept, 20 rebuilt
	hd50Frames  = 13 // the 1080 one: 7 kept, 6 rebuilt (minterpolate is slow there)
)

// clip is a file the harness makes with ffmpeg, kept between runs.
type clip struct {
	name string
	desc string
	args func(bg string) []string // ffmpeg arguments before the output path
}

// Programme-like audio: pink noise well under the broadcast target, so that
// loudness normalisation has real gain to apply.
func audioGraph(seconds float64) string {
	return fmt.Sprintf("anoisesrc=color=pink:amplitude=0.25:sample_rate=48000:seed=7:duration=%g,aformat=channel_layouts=stereo", seconds)
}

var clips = map[string]clip{
	"src-1080i25.ts": {
		desc: "1920x1080i25 TFF, H.264 High (CRF 14) + AAC stereo, MPEG-TS, 10 s: 50 pictures/s (pan 100 px/s, box 150 px/s) woven into fields",
		args: func(bg string) []string {
			return []string{"-loop", "1", "-framerate", "50", "-i", bg,
				"-f", "lavfi", "-i", "testsrc2=size=480x360:rate=50", "-f", "lavfi", "-i", audioGraph(clipSeconds),
				"-filter_complex", "[0:v]crop=1920:1080:x='2*n':y='n'[bg];[bg][1:v]overlay=x='1400-3*n':y='300+n/2':shortest=1," +
					"format=yuv420p,tinterlace=mode=interleave_top,setfield=tff[v]",
				"-map", "[v]", "-map", "2:a", "-t", fmt.Sprint(clipSeconds),
				"-c:v", "libx264", "-preset", "veryfast", "-crf", "14", "-flags", "+ildct+ilme", "-x264-params", "tff=1",
				"-c:a", "aac", "-b:a", "192k", "-f", "mpegts"}
		},
	},
	"src-1080p23976.mov": {
		desc: "1920x1080p23.976, H.264 High (CRF 14) + AAC stereo, QuickTime, 10 s (240 frames): pan 72 px/s, box 144 px/s",
		args: func(bg string) []string {
			return []string{"-loop", "1", "-framerate", "24000/1001", "-i", bg,
				"-f", "lavfi", "-i", "testsrc2=size=480x360:rate=24000/1001", "-f", "lavfi", "-i", audioGraph(240 * 1001 / 24000.0),
				"-filter_complex", "[0:v]crop=1920:1080:x='3*n':y='2*n'[bg];[bg][1:v]overlay=x='1400-6*n':y='300+n':shortest=1,format=yuv420p[v]",
				"-map", "[v]", "-map", "2:a", "-frames:v", "240",
				"-c:v", "libx264", "-preset", "veryfast", "-crf", "14", "-c:a", "aac", "-b:a", "192k", "-f", "mov"}
		},
	},
	// Raw 4:2:0 pictures for the kernels and the frame-rate tests, with the
	// motions of kernels/interp_test.go's clip: the background pans 5 px a
	// picture at SD, the box crosses at 12.
	"sd50.yuv": {
		desc: "720x576 50p raw yuv420p, 41 pictures: pan 5 px/picture right and 1 down, box 12 px/picture left",
		args: func(bg string) []string {
			return []string{"-loop", "1", "-framerate", "50", "-i", bg, "-f", "lavfi", "-i", "testsrc2=size=240x180:rate=50",
				"-filter_complex", "[0:v]crop=720:576:x='1100+5*n':y='640+n'[bg];[bg][1:v]overlay=x='460-12*n':y='200+n':shortest=1,format=yuv420p[v]",
				"-map", "[v]", "-frames:v", fmt.Sprint(sd50Frames), "-f", "rawvideo"}
		},
	},
	"hd50.yuv": {
		desc: "1920x1080 50p raw yuv420p, 13 pictures: pan 10 px/picture right and 2 down, box 24 px/picture left",
		args: func(bg string) []string {
			return []string{"-loop", "1", "-framerate", "50", "-i", bg, "-f", "lavfi", "-i", "testsrc2=size=480x360:rate=50",
				"-filter_complex", "[0:v]crop=1920:1080:x='10*n':y='2*n'[bg];[bg][1:v]overlay=x='1300-24*n':y='400+2*n':shortest=1,format=yuv420p[v]",
				"-map", "[v]", "-frames:v", fmt.Sprint(hd50Frames), "-f", "rawvideo"}
		},
	},
}

// derived raw files are made from a raw clip by one more filter.
type derived struct {
	from   string
	size   string // of from
	filter string
	desc   string
}

var derivedClips = map[string]derived{
	"sd25i.yuv":  {"sd50.yuv", "720x576", "tinterlace=mode=interleave_top,setfield=tff", "sd50.yuv woven into 720x576i25 TFF"},
	"hd25i.yuv":  {"hd50.yuv", "1920x1080", "tinterlace=mode=interleave_top,setfield=tff", "hd50.yuv woven into 1920x1080i25 TFF"},
	"sd704.yuv":  {"sd50.yuv", "720x576", "scale=704:576:flags=lanczos", "sd50.yuv at 704x576 (a picture to pad)"},
	"hd1440.yuv": {"hd50.yuv", "1920x1080", "scale=1440:1080:flags=lanczos", "hd50.yuv at 1440x1080 (a picture to pad)"},
}

// source returns the path of a generated file, making it first if it is
// missing or was made by other arguments.
func (h *harness) source(ctx context.Context, name string) (string, error) {
	bg := filepath.Join(h.srcDir, "background.png")
	if err := h.cached(ctx, bg, []string{"-f", "lavfi", "-i", backgroundGraph, "-frames:v", "1"}); err != nil {
		return "", err
	}
	out := filepath.Join(h.srcDir, name)
	if c, ok := clips[name]; ok {
		return out, h.cached(ctx, out, c.args(bg))
	}
	if d, ok := derivedClips[name]; ok {
		from, err := h.source(ctx, d.from)
		if err != nil {
			return "", err
		}
		return out, h.cached(ctx, out, []string{"-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", d.size, "-r", "50", "-i", from,
			"-vf", d.filter, "-f", "rawvideo"})
	}
	return "", fmt.Errorf("no recipe for %s", name)
}

// cached runs ffmpeg args... out unless out exists and a side file says the
// same arguments made it.
func (h *harness) cached(ctx context.Context, out string, args []string) error {
	key := strings.Join(args, "\n")
	if b, err := os.ReadFile(out + ".args"); err == nil && string(b) == key {
		if _, err := os.Stat(out); err == nil {
			return nil
		}
	}
	// Write under a temporary name, so an interrupted run leaves no file
	// that a later run would take for finished.
	part := filepath.Join(filepath.Dir(out), "part-"+filepath.Base(out))
	argv := append([]string{"ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y"}, args...)
	if _, err := h.exec(ctx, "generate "+filepath.Base(out), append(argv, part)...); err != nil {
		os.Remove(part)
		return err
	}
	if err := os.Rename(part, out); err != nil {
		return err
	}
	return os.WriteFile(out+".args", []byte(key), 0o644)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}
