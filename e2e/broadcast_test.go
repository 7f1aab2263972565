package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The broadcast profiles under test: every standard, codec and container.
const broadcastConfig = `
[daemon]
state_dir = "{{root}}/state"
socket    = "{{root}}/run/kiln.sock"

[profile.pal-mpeg2-ts]
kind = "broadcast"
standard = "pal"
codec = "mpeg2"
aspect = "16:9"

[profile.ntsc-h264-ts]
kind = "broadcast"
standard = "ntsc"
codec = "h264"
aspect = "4:3"
audio = { codec = "ac3", bitrate = "192k", loudness = -24.0 }

[profile.pal-d10]
kind = "broadcast"
standard = "pal"
codec = "d10"
aspect = "16:9"
video_bitrate = "50M"

[profile.pal-mpeg2-mxf]
kind = "broadcast"
standard = "pal"
codec = "mpeg2"
container = "mxf"
aspect = "4:3"

[profile.secam-mpeg2-crop]
kind = "broadcast"
standard = "secam"
codec = "mpeg2"
aspect = "4:3"
fit = "crop"

[profile.ntsc-mpeg2-ts]
kind = "broadcast"
standard = "ntsc"
codec = "mpeg2"
aspect = "16:9"

[profile.pal-mpeg2-bff]
kind = "broadcast"
standard = "pal"
codec = "mpeg2"
aspect = "16:9"
field_order = "bff"

[profile.pal-h264-pillar]
kind = "broadcast"
standard = "pal"
codec = "h264"
aspect = "16:9"
fit = "pillarbox"
`

type broadcastSource struct {
	name     string
	duration float64 // seconds
	args     []string
}

func broadcastSources() []broadcastSource {
	audio := []string{"-f", "lavfi", "-i", "sine=f=997:sample_rate=48000"}
	src := func(size, rate string, interlaced bool, extra ...string) []string {
		in := []string{"-f", "lavfi", "-i", "testsrc2=size=" + size + ":rate=" + rate}
		args := append(in, audio...)
		args = append(args, "-t", "1")
		if interlaced {
			args = append(args, "-vf", "tinterlace=mode=interleave_top,setfield=tff", "-flags", "+ildct+ilme", "-x264-params", "tff=1")
		}
		args = append(args, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-ac", "2", "-c:a", "aac")
		return append(args, extra...)
	}
	return []broadcastSource{
		{"1080i25.ts", 1, src("1920x1080", "50", true, "-f", "mpegts")},
		{"1080p25.mp4", 1, src("1920x1080", "25", false)},
		{"1080p50.mp4", 1, src("1920x1080", "50", false)},
		{"1080p23976.mp4", 1001.0 / 1000, src("1920x1080", "24000/1001", false)},
		{"720p5994.mp4", 1, src("1280x720", "60000/1001", false)},
		{"576i43.mpg", 1, append([]string{"-f", "lavfi", "-i", "testsrc2=size=720x576:rate=25"}, append(audio,
			"-t", "1", "-vf", "setfield=tff", "-c:v", "mpeg2video", "-b:v", "6M", "-flags", "+ildct+ilme", "-aspect", "4:3",
			"-ac", "2", "-c:a", "mp2", "-f", "vob")...)},
	}
}

// expectation is what a profile's output must be.
type expectation struct {
	codec, profile    string // ffprobe codec and (when set) profile
	width, height     int
	rate              string // r_frame_rate
	sar, dar          string
	primaries, matrix string
	loudness          float64
	mxf               bool
}

var broadcastExpect = map[string]expectation{
	"pal-mpeg2-ts":     {codec: "mpeg2video", profile: "Main", width: 720, height: 576, rate: "25/1", sar: "64:45", dar: "16:9", primaries: "bt470bg", matrix: "bt470bg", loudness: -23},
	"ntsc-h264-ts":     {codec: "h264", profile: "High", width: 720, height: 480, rate: "30000/1001", sar: "10:11", dar: "15:11", primaries: "smpte170m", matrix: "smpte170m", loudness: -24},
	"pal-d10":          {codec: "mpeg2video", profile: "4:2:2", width: 720, height: 608, rate: "25/1", sar: "608:405", dar: "16:9", loudness: -23, mxf: true},
	"pal-mpeg2-mxf":    {codec: "mpeg2video", profile: "Main", width: 720, height: 576, rate: "25/1", sar: "16:15", dar: "4:3", primaries: "bt470bg", matrix: "bt470bg", loudness: -23, mxf: true},
	"secam-mpeg2-crop": {codec: "mpeg2video", profile: "Main", width: 720, height: 576, rate: "25/1", sar: "16:15", dar: "4:3", primaries: "bt470bg", matrix: "bt470bg", loudness: -23},
	"ntsc-mpeg2-ts":    {codec: "mpeg2video", profile: "Main", width: 720, height: 480, rate: "30000/1001", sar: "32:27", dar: "16:9", primaries: "smpte170m", matrix: "smpte170m", loudness: -23},
	"pal-h264-pillar":  {codec: "h264", profile: "High", width: 720, height: 576, rate: "25/1", sar: "16:11", dar: "20:11", primaries: "bt470bg", matrix: "bt470bg", loudness: -23},
}

// TestBroadcastDeliverables runs every source through PAL and NTSC, and one
// HD source through every codec and container, with `kilnd transcode`, and
// checks each output with ffprobe, mediainfo and an independent loudness meter.
func TestBroadcastDeliverables(t *testing.T) {
	root := t.TempDir()
	cfg := filepath.Join(root, "kiln.toml")
	os.WriteFile(cfg, []byte(strings.ReplaceAll(broadcastConfig, "{{root}}", root)), 0o644)
	srcDir := filepath.Join(root, "src")
	os.MkdirAll(srcDir, 0o755)

	runs := map[string][]string{}
	for _, s := range broadcastSources() {
		ffmpeg(t, filepath.Join(srcDir, s.name), s.args...)
		runs[s.name] = []string{"pal-mpeg2-ts", "ntsc-h264-ts"}
	}
	runs["1080i25.ts"] = append(runs["1080i25.ts"], "pal-d10", "pal-mpeg2-mxf", "secam-mpeg2-crop", "ntsc-mpeg2-ts", "pal-h264-pillar")

	for _, s := range broadcastSources() {
		for _, profile := range runs[s.name] {
			t.Run(s.name+"→"+profile, func(t *testing.T) {
				out := filepath.Join(root, "out")
				cmd := exec.Command(kilndBin, "transcode", "--config", cfg, "--profile", profile, filepath.Join(srcDir, s.name), out)
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("kilnd transcode: %v\n%s", err, b)
				}
				stem := strings.TrimSuffix(s.name, filepath.Ext(s.name))
				want := broadcastExpect[profile]
				ext := ".ts"
				if want.mxf {
					ext = ".mxf"
				}
				path := filepath.Join(out, stem, profile, stem+ext)
				checkBroadcast(t, path, want, s.duration)
				if afd, ok := expectAFD[s.name+"→"+profile]; ok {
					if got := firstAFD(t, path); got != afd {
						t.Errorf("AFD %q in the first picture, want %q", got, afd)
					}
				}
			})
		}
	}
}

func checkBroadcast(t *testing.T, path string, want expectation, duration float64) {
	t.Helper()
	var p struct {
		Streams []struct {
			CodecType  string `json:"codec_type"`
			CodecName  string `json:"codec_name"`
			Profile    string `json:"profile"`
			Width      int    `json:"width"`
			Height     int    `json:"height"`
			FieldOrder string `json:"field_order"`
			SAR        string `json:"sample_aspect_ratio"`
			DAR        string `json:"display_aspect_ratio"`
			Rate       string `json:"r_frame_rate"`
			Primaries  string `json:"color_primaries"`
			Matrix     string `json:"color_space"`
			Frames     string `json:"nb_read_frames"`
		} `json:"streams"`
	}
	b, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_streams", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	json.Unmarshal(b, &p)
	if len(p.Streams) != 1 {
		t.Fatalf("no video stream in %s", path)
	}
	v := p.Streams[0]
	check := func(what, got, want string) {
		if want != "" && got != want {
			t.Errorf("%s: got %q, want %q", what, got, want)
		}
	}
	check("codec", v.CodecName, want.codec)
	check("profile", v.Profile, want.profile)
	check("raster", fmt.Sprintf("%dx%d", v.Width, v.Height), fmt.Sprintf("%dx%d", want.width, want.height))
	check("frame rate", v.Rate, want.rate)
	check("field order", v.FieldOrder, "tt")
	check("SAR", v.SAR, want.sar)
	check("DAR", v.DAR, want.dar)
	check("colour primaries", v.Primaries, want.primaries)
	check("colour matrix", v.Matrix, want.matrix)
	frames, _ := strconv.Atoi(v.Frames)
	num, den := ratio(want.rate)
	got := float64(frames) * den / num
	if math.Abs(got-duration) > den/num+0.001 {
		t.Errorf("duration %.3f s (%d frames), want %.3f s within one frame", got, frames, duration)
	}

	// mediainfo, an independent parser, must agree on scan and aspect.
	mi := mediainfoVideo(t, path)
	// H.264 codes fields as MBAFF, which mediainfo names as such.
	if st := mi["ScanType"]; st != "Interlaced" && !(want.codec == "h264" && st == "MBAFF") {
		t.Errorf("mediainfo ScanType %q, want interlaced coding", st)
	}
	check("mediainfo ScanOrder", mi["ScanOrder"], "TFF")
	if mi["Height"] == "" || mi["DisplayAspectRatio"] == "" {
		t.Errorf("mediainfo lacks raster or aspect: %v", mi)
	}

	// Loudness, measured by ffmpeg's own meter on the first audio track.
	if lufs := integratedLoudness(t, path); math.Abs(lufs-want.loudness) > 1 {
		t.Errorf("loudness %.1f LUFS, want %.1f ± 1", lufs, want.loudness)
	}
}

func ratio(r string) (float64, float64) {
	n, d, _ := strings.Cut(r, "/")
	a, _ := strconv.ParseFloat(n, 64)
	b, _ := strconv.ParseFloat(d, 64)
	return a, b
}

func mediainfoVideo(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := exec.Command("mediainfo", "--Output=JSON", path).Output()
	if err != nil {
		t.Fatalf("mediainfo: %v", err)
	}
	var doc struct {
		Media struct {
			Track []map[string]any `json:"track"`
		} `json:"media"`
	}
	json.Unmarshal(b, &doc)
	out := map[string]string{}
	for _, tr := range doc.Media.Track {
		if tr["@type"] == "Video" {
			for k, v := range tr {
				if s, ok := v.(string); ok {
					out[k] = s
				}
			}
			break
		}
	}
	return out
}

var integratedRE = regexp.MustCompile(`I:\s+(-?[0-9.]+) LUFS`)

func integratedLoudness(t *testing.T, path string) float64 {
	t.Helper()
	b, _ := exec.Command("ffmpeg", "-hide_banner", "-nostats", "-i", path, "-map", "0:a:0", "-af", "ebur128", "-f", "null", "-").CombinedOutput()
	m := integratedRE.FindAllSubmatch(b, -1)
	if len(m) == 0 {
		t.Fatalf("no loudness summary from ffmpeg:\n%s", b)
	}
	v, _ := strconv.ParseFloat(string(m[len(m)-1][1]), 64)
	return v
}

var yavgRE = regexp.MustCompile(`lavfi\.signalstats\.YAVG=([0-9.]+)`)

// fieldLevels returns the mean luma of the top and of the bottom field of
// every picture of a file, averaged over the file.
func fieldLevels(t *testing.T, path string) (top, bottom float64) {
	t.Helper()
	mean := func(field string) float64 {
		b, err := exec.Command("ffmpeg", "-hide_banner", "-nostats", "-i", path, "-map", "0:v:0",
			"-vf", "field=type="+field+",signalstats,metadata=print:key=lavfi.signalstats.YAVG", "-f", "null", "-").CombinedOutput()
		if err != nil {
			t.Fatalf("ffmpeg field %s: %v\n%s", field, err, b)
		}
		var sum float64
		m := yavgRE.FindAllSubmatch(b, -1)
		for _, v := range m {
			f, _ := strconv.ParseFloat(string(v[1]), 64)
			sum += f
		}
		if len(m) == 0 {
			t.Fatalf("no signalstats for %s", path)
		}
		return sum / float64(len(m))
	}
	return mean("top"), mean("bottom")
}

// TestFieldsStayFields builds sources whose two fields show different
// pictures (top white, bottom black) and checks that each output field comes
// from the matching source field, never a blend of the two.
func TestFieldsStayFields(t *testing.T) {
	root := t.TempDir()
	cfg := filepath.Join(root, "kiln.toml")
	os.WriteFile(cfg, []byte(strings.ReplaceAll(broadcastConfig, "{{root}}", root)), 0o644)
	// 50 pictures a second, alternately white and black.
	alternating := []string{"-f", "lavfi", "-i", "color=c=black:s=1920x1080:r=50,format=yuv420p,geq=lum='if(mod(N\\,2)\\,16\\,235)':cb=128:cr=128",
		"-f", "lavfi", "-i", "sine=f=997:sample_rate=48000", "-t", "1", "-ac", "2", "-c:a", "aac"}
	interlaced := filepath.Join(root, "fields1080i25.ts")
	ffmpeg(t, interlaced, append(alternating, "-vf", "tinterlace=mode=interleave_top,setfield=tff",
		"-c:v", "libx264", "-qp", "4", "-flags", "+ildct+ilme", "-x264-params", "tff=1", "-f", "mpegts")...)
	progressive := filepath.Join(root, "fields1080p50.mp4")
	ffmpeg(t, progressive, append(alternating, "-c:v", "libx264", "-qp", "4")...)

	srcTop, srcBottom := fieldLevels(t, interlaced)
	if srcTop < 200 || srcBottom > 50 {
		t.Fatalf("test source is wrong: fields %.0f / %.0f", srcTop, srcBottom)
	}
	for _, src := range []string{interlaced, progressive} {
		for _, profile := range []string{"pal-mpeg2-ts", "pal-h264-pillar", "pal-mpeg2-bff"} {
			name := filepath.Base(src) + "→" + profile
			t.Run(name, func(t *testing.T) {
				out := filepath.Join(root, "out")
				if b, err := exec.Command(kilndBin, "transcode", "--config", cfg, "--profile", profile, src, out).CombinedOutput(); err != nil {
					t.Fatalf("kilnd transcode: %v\n%s", err, b)
				}
				stem := strings.TrimSuffix(filepath.Base(src), filepath.Ext(src))
				top, bottom := fieldLevels(t, filepath.Join(out, stem, profile, stem+".ts"))
				t.Logf("%s: top field Y %.1f, bottom field Y %.1f", name, top, bottom)
				first, second := top, bottom
				if profile == "pal-mpeg2-bff" {
					// Bottom field first: the first picture in time (white)
					// must be on the bottom lines.
					first, second = bottom, top
					if fo := fieldOrderOf(t, filepath.Join(out, stem, profile, stem+".ts")); fo != "bb" {
						t.Errorf("field order %q, want bb", fo)
					}
				}
				if first < 180 || second > 60 {
					t.Errorf("fields mixed or swapped: first field Y %.1f (want white, > 180), second %.1f (want black, < 60)", first, second)
				}
			})
		}
	}
}

// expectAFD is the Active Format Description a decoder must find.
var expectAFD = map[string]string{
	"1080i25.ts→pal-mpeg2-ts":     "8",  // 16:9 fills a 16:9 frame
	"1080i25.ts→ntsc-h264-ts":     "10", // 16:9 letterboxed in 4:3
	"1080i25.ts→secam-mpeg2-crop": "8",  // centre cut fills 4:3
	"1080i25.ts→pal-h264-pillar":  "8",
	"576i43.mpg→pal-mpeg2-ts":     "9", // 4:3 pillarboxed in 16:9
	"576i43.mpg→ntsc-h264-ts":     "8",
	"1080i25.ts→pal-d10":          "", // D-10 carries AFD in VANC, not written yet
}

var afdRE = regexp.MustCompile(`active_format=(\d+)`)

// firstAFD is the AFD ffprobe's decoder reads from the first picture.
func firstAFD(t *testing.T, path string) string {
	t.Helper()
	b, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-read_intervals", "%+#1", "-show_frames", path).Output()
	if err != nil {
		t.Fatalf("ffprobe frames: %v", err)
	}
	if m := afdRE.FindSubmatch(b); m != nil {
		return string(m[1])
	}
	return ""
}

func fieldOrderOf(t *testing.T, path string) string {
	t.Helper()
	b, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=field_order", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	return strings.Trim(strings.TrimSpace(strings.Split(string(b), "\n")[0]), ",")
}
