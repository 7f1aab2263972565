package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// matrixSource is one real-world source of the conformance matrix: what a
// broadcast engineer is likely to drop into an inbox, made by ffmpeg with
// detail and motion (a moving test pattern, scrolled, with grain), short.
type matrixSource struct {
	id     string  // the row's key, also the file's stem
	label  string  // the row as the README shows it
	ext    string  // container
	frames int     // pictures in the file, by construction
	rate   float64 // pictures per second (VFR: frames / seconds)
	args   []string
}

// seconds is the source's video duration, by construction.
func (s matrixSource) seconds() float64 { return float64(s.frames) / s.rate }

// matrixPicture is the lavfi graph of a moving, detailed picture of size
// WxH at the given rate, with filters appended (interlacing and the like).
func matrixPicture(size, rate string, filters ...string) []string {
	g := "testsrc2=size=" + size + ":rate=" + rate + ",scroll=h=0.002:v=0.001,noise=alls=8:allf=t+u"
	for _, f := range filters {
		g += "," + f
	}
	return []string{"-f", "lavfi", "-i", g}
}

// matrixSound returns the audio inputs and maps of a layout: "" (none),
// "mono", "stereo", "5.1" or "8-mono" (eight mono tracks, as a playout
// server's MXF carries them). Each channel has its own tone, its level
// moving as programme does.
func matrixSound(layout string, seconds float64) (inputs, maps []string) {
	dur := fmt.Sprintf("%.3f", seconds)
	tone := func(f int) string {
		return fmt.Sprintf("0.25*sin(2*PI*%d*t)*(0.6+0.4*sin(2*PI*1.3*t))", f)
	}
	eval := func(layout string, freqs ...int) {
		var ch []string
		for _, f := range freqs {
			ch = append(ch, tone(f))
		}
		inputs = append(inputs, "-t", dur, "-f", "lavfi", "-i", "aevalsrc="+strings.Join(ch, "|")+":s=48000:c="+layout)
		maps = append(maps, "-map", fmt.Sprintf("%d:a:0", len(maps)/2+1))
	}
	switch layout {
	case "":
	case "mono":
		eval("mono", 997)
	case "stereo":
		eval("stereo", 440, 554)
	case "5.1":
		eval("5.1", 440, 554, 659, 80, 330, 392)
	case "8-mono":
		for i := 0; i < 8; i++ {
			eval("mono", 300+100*i)
		}
	default:
		panic("matrix: unknown audio layout " + layout)
	}
	return inputs, maps
}

// matrixFile assembles an ffmpeg command: the picture, the sound, then the
// codec and container options.
func matrixFile(picture []string, frames int, rate float64, sound string, opts ...string) []string {
	in, maps := matrixSound(sound, float64(frames)/rate)
	args := append(append([]string{}, picture...), in...)
	args = append(args, "-map", "0:v:0")
	args = append(args, maps...)
	args = append(args, "-frames:v", fmt.Sprint(frames))
	return append(args, opts...)
}

const ntscRate = 30000.0 / 1001

var x264Interlaced = []string{"-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-flags", "+ildct+ilme"}

// matrixSources is the matrix's rows: every source issue 13 lists.
func matrixSources() []matrixSource {
	film := 24000.0 / 1001
	x264 := []string{"-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"}
	mpeg2i := []string{"-c:v", "mpeg2video", "-b:v", "8M", "-maxrate", "9M", "-bufsize", "1835k", "-g", "12", "-bf", "2", "-flags", "+ildct+ilme", "-top", "1"}
	cat := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	return []matrixSource{
		{"1080i25-h264", "1080i25 TFF H.264, stereo (TS)", ".ts", 25, 25,
			matrixFile(matrixPicture("1920x1080", "50", "tinterlace=mode=interleave_top", "setfield=tff"), 25, 25, "stereo",
				cat(x264Interlaced, []string{"-x264-params", "tff=1", "-c:a", "aac", "-f", "mpegts"})...)},
		{"1080i25-prores", "1080i25 TFF ProRes 422 10-bit, 8 mono tracks (MOV)", ".mov", 25, 25,
			matrixFile(matrixPicture("1920x1080", "50", "tinterlace=mode=interleave_top", "setfield=tff", "format=yuv422p10le"), 25, 25, "8-mono",
				"-c:v", "prores_ks", "-profile:v", "2", "-pix_fmt", "yuv422p10le", "-flags", "+ildct", "-c:a", "pcm_s24le")},
		{"1080i2997-bff", "1080i29.97 BFF H.264, AC-3 stereo (TS)", ".ts", 30, ntscRate,
			matrixFile(matrixPicture("1920x1080", "60000/1001", "tinterlace=mode=interleave_bottom", "setfield=bff"), 30, ntscRate, "stereo",
				cat(x264Interlaced, []string{"-x264-params", "bff=1", "-c:a", "ac3", "-f", "mpegts"})...)},
		{"1080p23976", "1080p23.976 H.264, 5.1 (MP4)", ".mp4", 24, film,
			matrixFile(matrixPicture("1920x1080", "24000/1001"), 24, film, "5.1", cat(x264, []string{"-c:a", "aac"})...)},
		{"1080p25", "1080p25 H.264, stereo (MP4)", ".mp4", 25, 25,
			matrixFile(matrixPicture("1920x1080", "25"), 25, 25, "stereo", cat(x264, []string{"-c:a", "aac"})...)},
		{"1080p50", "1080p50 H.264, no audio (MP4)", ".mp4", 50, 50,
			matrixFile(matrixPicture("1920x1080", "50"), 50, 50, "", x264...)},
		{"720p5994", "720p59.94 H.264, mono (MP4)", ".mp4", 60, 2 * ntscRate,
			matrixFile(matrixPicture("1280x720", "60000/1001"), 60, 2*ntscRate, "mono", cat(x264, []string{"-c:a", "aac"})...)},
		{"576i25-43", "576i25 4:3 MPEG-2, stereo (PS)", ".mpg", 25, 25,
			matrixFile(matrixPicture("720x576", "50", "tinterlace=mode=interleave_top", "setfield=tff"), 25, 25, "stereo",
				cat(mpeg2i, []string{"-aspect", "4:3", "-c:a", "mp2", "-b:a", "256k", "-f", "vob"})...)},
		{"576i25-169", "576i25 16:9 anamorphic MPEG-2, stereo (TS)", ".ts", 25, 25,
			matrixFile(matrixPicture("720x576", "50", "tinterlace=mode=interleave_top", "setfield=tff"), 25, 25, "stereo",
				cat(mpeg2i, []string{"-aspect", "16:9", "-c:a", "mp2", "-b:a", "256k", "-f", "mpegts"})...)},
		{"480i2997", "480i29.97 4:3 MPEG-2, stereo (PS)", ".mpg", 30, ntscRate,
			matrixFile(matrixPicture("720x480", "60000/1001", "tinterlace=mode=interleave_top", "setfield=tff"), 30, ntscRate, "stereo",
				cat(mpeg2i, []string{"-g", "15", "-aspect", "4:3", "-c:a", "mp2", "-b:a", "192k", "-f", "vob"})...)},
		{"hdv-1440", "1440x1080i25 HDV-style anamorphic 16:9 MPEG-2 (TS)", ".m2t", 25, 25,
			matrixFile(matrixPicture("1440x1080", "50", "tinterlace=mode=interleave_top", "setfield=tff"), 25, 25, "stereo",
				"-c:v", "mpeg2video", "-b:v", "25M", "-maxrate", "25M", "-bufsize", "7M", "-g", "12", "-bf", "2", "-flags", "+ildct+ilme", "-top", "1",
				"-aspect", "16:9", "-c:a", "mp2", "-b:a", "384k", "-f", "mpegts")},
		{"2160p25-hevc10", "2160p25 HEVC Main 10, stereo (MP4)", ".mp4", 25, 25,
			matrixFile(matrixPicture("3840x2160", "25"), 25, 25, "stereo",
				"-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le", "-x265-params", "log-level=error", "-tag:v", "hvc1", "-c:a", "aac")},
		// A phone records its sensor's landscape raster and says "rotate
		// 90" for portrait; its rate varies (30 fps, then 15 in low light).
		{"phone-vfr", "1080x1920 phone clip: coded 1920x1080, rotation 90°, VFR 30→15 fps (MP4)", ".mp4", 45, 22.5,
			matrixFile(matrixPicture("1080x1920", "30", "transpose=cclock", "setpts='if(lt(N,30),N/30,1+(N-30)/15)/TB'"), 45, 22.5, "stereo",
				cat(x264, []string{"-vsync", "vfr", "-video_track_timescale", "600", "-metadata:s:v:0", "rotate=90", "-c:a", "aac"})...)},
		{"odd-1918", "1918x1080p25 H.264 (MP4)", ".mp4", 25, 25,
			matrixFile(matrixPicture("1920x1080", "25", "crop=1918:1080:0:0"), 25, 25, "stereo", cat(x264, []string{"-c:a", "aac"})...)},
		// testsrc2 makes even sizes only; the crop makes the odd one, and
		// 4:4:4 lets x264 keep it (4:2:0 would round it to 852).
		{"odd-853", "853x480p25 H.264 4:4:4 (MP4)", ".mp4", 25, 25,
			matrixFile(matrixPicture("856x480", "25", "format=yuv444p", "crop=853:480:0:0"), 25, 25, "stereo",
				"-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv444p", "-c:a", "aac")},
		{"opengop-bpyramid", "1080p25 H.264 open GOPs, B-pyramid (TS)", ".ts", 50, 25,
			matrixFile(matrixPicture("1920x1080", "25"), 50, 25, "stereo",
				cat(x264, []string{"-x264-params", "open-gop=1:bframes=3:b-pyramid=normal:keyint=24:min-keyint=24:scenecut=0", "-c:a", "aac", "-f", "mpegts"})...)},
		// 2^33 / 90 kHz is 95443.7 s: the clock wraps 1.1 s into the file.
		{"ts-wrap", "1080i25 H.264 TS, timestamps wrap 2^33 1.1 s in", ".ts", 50, 25,
			matrixFile(matrixPicture("1920x1080", "50", "tinterlace=mode=interleave_top", "setfield=tff"), 50, 25, "stereo",
				cat(x264Interlaced, []string{"-x264-params", "tff=1", "-c:a", "aac", "-output_ts_offset", "95442.6", "-f", "mpegts"})...)},
		{"two-frames", "2-frame 1080p25 H.264 file (MP4)", ".mp4", 2, 25,
			matrixFile(matrixPicture("1920x1080", "25"), 2, 25, "stereo", cat(x264, []string{"-c:a", "aac"})...)},
	}
}

// matrixSourceCache makes each source once per test binary, next to the
// binaries TestMain builds (removed with them).
var matrixSourceCache struct {
	sync.Mutex
	made map[string]string
}

func matrixSourceFile(t *testing.T, s matrixSource) string {
	t.Helper()
	matrixSourceCache.Lock()
	defer matrixSourceCache.Unlock()
	if p, ok := matrixSourceCache.made[s.id]; ok {
		return p
	}
	dir := filepath.Join(filepath.Dir(kilndBin), "matrix-sources")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, s.id+s.ext)
	full := append([]string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y"}, s.args...)
	if b, err := exec.Command("ffmpeg", append(full, path)...).CombinedOutput(); err != nil {
		t.Fatalf("making source %s: ffmpeg %s: %v\n%s", s.id, strings.Join(full, " "), err, b)
	}
	if matrixSourceCache.made == nil {
		matrixSourceCache.made = map[string]string{}
	}
	matrixSourceCache.made[s.id] = path
	return path
}
