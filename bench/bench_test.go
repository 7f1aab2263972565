package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kiln/packaging"
	"kiln/pipeline/plan"
	"kiln/sdi"
)

// The ffmpeg side of a pipeline pair is only as fair as this translation.
func TestFFmpegVideoFilter(t *testing.T) {
	const siting = "in_h_chr_pos=0:out_h_chr_pos=0:in_v_chr_pos=128:out_v_chr_pos=128"
	for _, c := range []struct {
		name string
		v    plan.VideoPlan
		want string
	}{
		{"PAL from 1080i25: fields scaled each on its own", plan.VideoPlan{
			Chain: []plan.Stage{
				{Op: plan.OpFieldScale, Width: 704, Height: 576, Filter: "lanczos"},
				{Op: plan.OpColourMatrix, Matrix: "bt709→bt601"},
				{Op: plan.OpPad, Width: 720, Height: 576, X: 8},
			},
			SAR: sdi.Rational{Num: 64, Den: 45}, FieldOrder: sdi.TopFirst, PixFmt: "yuv420p"},
			"scale=704:576:flags=lanczos:" + siting + ":interl=1,colormatrix=bt709:bt601,pad=720:576:8:0:black,setsar=64/45,setfield=tff,format=yuv420p"},
		{"NTSC from 23.976p: pulldown", plan.VideoPlan{
			Chain: []plan.Stage{
				{Op: plan.OpScale, Width: 704, Height: 480, Filter: "bicubic"},
				{Op: plan.OpPad, Width: 720, Height: 480, X: 8},
				{Op: plan.OpPulldown},
			},
			SAR: sdi.Rational{Num: 32, Den: 27}, FieldOrder: sdi.TopFirst, PixFmt: "yuv420p"},
			"scale=704:480:flags=bicubic:" + siting + ",pad=720:480:8:0:black,telecine=first_field=top:pattern=23,setsar=32/27,setfield=tff,format=yuv420p"},
		{"standards conversion in the field domain", plan.VideoPlan{
			Chain: []plan.Stage{
				{Op: plan.OpDeinterlace, Order: sdi.BottomFirst, Double: true},
				{Op: plan.OpColourMatrix, Matrix: "bt601→bt709"},
				{Op: plan.OpFrameRate, Rate: sdi.Rational{Num: 60000, Den: 1001}, Method: "mc"},
				{Op: plan.OpFieldOrder, Order: sdi.BottomFirst},
				{Op: plan.OpInterlace},
			},
			SAR: sdi.Rational{Num: 1, Den: 1}, FieldOrder: sdi.TopFirst, PixFmt: "yuv422p10le"},
			"bwdif=mode=send_field:parity=bff:deint=all,colorspace=iall=bt601-6-625:all=bt709:fast=1,minterpolate=fps=60000/1001:mi_mode=mci," +
				"fieldorder=tff,interlace=scan=tff:lowpass=linear,setsar=1/1,setfield=tff,format=yuv422p10le"},
		{"ProRes 4:2:2 10-bit into H.264: the chain's conversion and constant rate", plan.VideoPlan{
			Chain: []plan.Stage{
				{Op: plan.OpConvert, PixFmt: "yuv420p", Filter: "lanczos"},
				{Op: plan.OpFrameRate, Rate: sdi.Rational{Num: 25, Den: 1}, Method: "dup"},
			},
			SAR: sdi.Rational{Num: 1, Den: 1}, PixFmt: "yuv420p"},
			"format=yuv420p,fps=25/1,setsar=1/1,setfield=prog,format=yuv420p"},
	} {
		got, err := ffmpegVideoFilter(c.v)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
	if _, err := ffmpegVideoFilter(plan.VideoPlan{Chain: []plan.Stage{{Op: "sharpen"}}}); err == nil {
		t.Error("a stage without an ffmpeg equivalent must be an error, not a silent gap in the comparison")
	}
}

func TestEncodeArgsScopeOptionsToTheirStreams(t *testing.T) {
	loud := -23.0
	plan := plan.Plan{
		Muxer:      "mpegts",
		MuxOptions: map[string]string{"muxrate": "9600000", "mpegts_service_name": "Kiln PAL"},
		Video: plan.VideoPlan{Encoder: "mpeg2video", PixFmt: "yuv420p", SAR: sdi.Rational{Num: 64, Den: 45},
			FieldOrder: sdi.TopFirst, FrameRate: sdi.Rational{Num: 25, Den: 1}, Options: map[string]string{"b": "8000000", "g": "12"}},
		Audio: []plan.AudioPlan{{Input: 1, Encoder: "mp2", SampleRate: 48000, Layout: "stereo", BitRate: 256000, Loudness: &loud}},
	}
	args, err := ffmpegEncodeArgs(plan, "in.ts", "out.ts", []string{"volume=4.00dB:precision=double"})
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Join(args, " ")
	for _, want := range []string{"-b:v 8000000", "-g:v 12", "-b:a:0 256000", "-r 25/1", "-metadata service_name=Kiln PAL", "-muxrate 9600000",
		"-filter:a:0 aresample=48000:async=1:first_pts=0,volume=4.00dB:precision=double,aformat=sample_rates=48000:channel_layouts=stereo"} {
		if !strings.Contains(line, want) {
			t.Errorf("missing %q in\n%s", want, line)
		}
	}
	if strings.Contains(line, " -b 8000000") {
		t.Error("a bare -b would set the audio bit rate too")
	}
}

func TestLoudnessGainFollowsKilnsRule(t *testing.T) {
	chain, gain, limited := loudnessGain(-27, -16.6, -23)
	if chain != "volume=4.00dB:precision=double" || gain != 4 || limited {
		t.Errorf("quiet track: %q %v %v", chain, gain, limited)
	}
	if chain, _, limited := loudnessGain(-30, -3, -23); !limited || !strings.Contains(chain, "alimiter") {
		t.Errorf("a gain that pushes peaks over %v dBTP needs the limiter: %q", truePeakCeiling, chain)
	}
	if chain, _, _ := loudnessGain(-80, -90, -23); chain != "" {
		t.Errorf("silence must stay silence: %q", chain)
	}
}

func TestParsers(t *testing.T) {
	stderr := []byte(`frame=  250 fps=0.0 q=-0.0 Lsize=N/A time=00:00:10.00 bitrate=N/A speed=16.6x
[Parsed_ssim_7 @ 0x1] SSIM Y:0.966762 (14.783697) U:0.943868 (12.507860) V:0.943675 (12.492965) All:0.959099 (13.882619)
[Parsed_psnr_6 @ 0x2] PSNR y:34.662443 u:33.021178 v:32.385909 average:33.901909 min:32.179023 max:35.494684
bench: utime=0.961s stime=0.056s rtime=0.677s
bench: maxrss=175000kB
`)
	q, err := parseQuality(stderr)
	if err != nil {
		t.Fatal(err)
	}
	if q.PSNRY != 34.662443 || q.PSNRAll != 33.901909 || q.SSIMY != 0.966762 || q.SSIMAll != 0.959099 || q.Frames != 250 {
		t.Errorf("quality %+v", q)
	}
	wall, cpu, err := ffmpegLoop(stderr)
	if err != nil || wall != 0.677 || cpu < 1.016 || cpu > 1.018 {
		t.Errorf("benchmark: %v %v %v", wall, cpu, err)
	}
	l, err := parseEBUR128([]byte(`[Parsed_ebur128_1 @ 0x3] Summary:

  Integrated loudness:
    I:         -27.0 LUFS
    Threshold: -37.0 LUFS

  True peak:
    Peak:      -16.6 dBFS`))
	if err != nil || l.integrated != -27 || l.truePeak != -16.6 {
		t.Errorf("ebur128: %+v %v", l, err)
	}
}

func TestABRArgsFollowTheLadder(t *testing.T) {
	v := func(w, h int, rate sdi.Rational, b string) plan.VideoPlan {
		return plan.VideoPlan{Encoder: "libx264", PixFmt: "yuv420p", Width: w, Height: h, FrameRate: rate,
			SAR: sdi.Rational{Num: 1, Den: 1}, Options: map[string]string{"b": b, "preset": "medium"}}
	}
	full, half := sdi.Rational{Num: 50, Den: 1}, sdi.Rational{Num: 25, Den: 1}
	plan := plan.Plan{
		ABR: &plan.ABRPlan{Rate: full, GOP: packaging.GOP{Segment: 4},
			Shared: []plan.Stage{{Op: plan.OpDeinterlace, Order: sdi.TopFirst, Double: true}},
			Rungs:  []plan.ABRRung{{Video: v(1280, 720, full, "2400000")}, {Video: v(480, 270, half, "300000")}}},
		Audio: []plan.AudioPlan{{Input: 1, Encoder: "aac", SampleRate: 48000, Layout: "stereo", BitRate: 128000}},
	}
	args, err := ffmpegABRArgs(plan, "in.ts", "out")
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Join(args, " ")
	for _, want := range []string{
		"[0:v]bwdif=mode=send_field:parity=tff:deint=all,split=2[s0][s1];[s0]scale=1280:720:flags=lanczos:",
		"[s1]scale=480:270:flags=lanczos:" + leftSited + ",fps=25/1,setsar=1/1,format=yuv420p[v1]",
		"-b:v:1 300000", "-preset:v:0 medium", "-b:a:0 128000", "-hls_time 4",
		"-var_stream_map v:0,agroup:aud v:1,agroup:aud a:0,agroup:aud",
	} {
		if !strings.Contains(line, want) {
			t.Errorf("missing %q in\n%s", want, line)
		}
	}
}

func TestHLSLadder(t *testing.T) {
	dir := t.TempDir()
	master := `#EXTM3U
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-STREAM-INF:BANDWIDTH=700000,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2"
360p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2800000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2"
720p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=140800,CODECS="mp4a.40.2",AUDIO="aud"
audio.m3u8
`
	if err := os.WriteFile(filepath.Join(dir, "master.m3u8"), []byte(master), 0o644); err != nil {
		t.Fatal(err)
	}
	rungs, _, err := hlsLadder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rungs) != 2 || rungs[0].width != 1280 || rungs[1].height != 360 || rungs[0].uri != filepath.Join(dir, "720p/index.m3u8") {
		t.Errorf("rungs %+v", rungs)
	}
}

func TestGlyphsAreFiveBySeven(t *testing.T) {
	for r, g := range glyphs {
		for _, row := range g {
			if len(row) != 5 || strings.Trim(row, "01") != "" {
				t.Errorf("glyph %q has row %q", r, row)
			}
		}
	}
}

func TestShellLineRoundTrips(t *testing.T) {
	got := shellLine([]string{"ffmpeg", "-vf", "crop=1:1:x='2*n'", "a b", ""})
	want := `ffmpeg -vf 'crop=1:1:x='\''2*n'\''' 'a b' ''`
	if got != want {
		t.Errorf("got %s want %s", got, want)
	}
}
