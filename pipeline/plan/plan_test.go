package plan

import (
	"errors"
	"strings"
	"testing"

	"kiln/config"
	"kiln/job"
	"kiln/sdi"
)

func videoSource(w, h int, rate, fieldOrder, sar, colorSpace string) job.MediaInfo {
	return job.MediaInfo{Format: "mpegts", Duration: 10, Streams: []job.StreamInfo{
		{Index: 0, Type: "video", Codec: "h264", Width: w, Height: h, FrameRate: rate, FieldOrder: fieldOrder,
			SAR: sar, ColorSpace: colorSpace, PixelFormat: "yuv420p"},
		{Index: 1, Type: "audio", Codec: "aac", SampleRate: 48000, Channels: 2, ChannelLayout: "stereo"},
	}}
}

func broadcast(standard, codec, aspect, fit string) config.Profile {
	loud := -23.0
	return config.Profile{Name: "p", Kind: "broadcast", Standard: standard, Codec: codec, Aspect: aspect, Fit: fit,
		Container: "ts", VideoBitrate: 8_000_000, FrameRateMethod: "mc", ScaleFilter: "lanczos",
		Audio: config.Audio{Codec: "mp2", Bitrate: 256_000, Loudness: &loud}}
}

func ops(chain []Stage) string {
	var names []string
	for _, s := range chain {
		names = append(names, s.Op)
	}
	return strings.Join(names, ",")
}

func TestBroadcastPlans(t *testing.T) {
	hd := func(rate, fo string) job.MediaInfo { return videoSource(1920, 1080, rate, fo, "1:1", "bt709") }
	cases := []struct {
		name    string
		src     job.MediaInfo
		profile config.Profile
		ops     string
		sar     sdi.Rational
		gop     int
		words   string // a decision the report must state
	}{
		{"1080i25 TFF → PAL keeps fields", hd("25/1", "tt"), broadcast("pal", "mpeg2", "16:9", "letterbox"),
			"field_scale,colour_matrix,pad,frame_rate", sdi.Rational{Num: 64, Den: 45}, 12, "fields kept"},
		{"1080i25 BFF → PAL reverses field order", hd("25/1", "bb"), broadcast("pal", "mpeg2", "16:9", "letterbox"),
			"field_scale,colour_matrix,pad,field_order,frame_rate", sdi.Rational{Num: 64, Den: 45}, 12, "BFF → TFF"},
		{"1080p25 → PAL as PsF", hd("25/1", "progressive"), broadcast("pal", "mpeg2", "16:9", "letterbox"),
			"scale,colour_matrix,pad,frame_rate", sdi.Rational{Num: 64, Den: 45}, 12, "PsF"},
		{"1080p50 → 25i, a field per frame", hd("50/1", "progressive"), broadcast("pal", "mpeg2", "16:9", "letterbox"),
			"scale,colour_matrix,pad,interlace,frame_rate", sdi.Rational{Num: 64, Den: 45}, 12, "each field from its own frame"},
		{"1080p23.976 → NTSC by pulldown", hd("24000/1001", "progressive"), broadcast("ntsc", "mpeg2", "16:9", "letterbox"),
			"scale,colour_matrix,pad,pulldown,frame_rate", sdi.Rational{Num: 32, Den: 27}, 15, "3:2 pulldown"},
		{"720p59.94 → PAL by MC in the field domain", videoSource(1280, 720, "60000/1001", "progressive", "1:1", "bt709"),
			broadcast("pal", "mpeg2", "16:9", "letterbox"), "scale,colour_matrix,pad,frame_rate,interlace,frame_rate", sdi.Rational{Num: 64, Den: 45}, 12,
			"motion-compensated"},
		{"1080i29.97 → PAL deinterlaces to field rate first", hd("30000/1001", "tt"), broadcast("pal", "mpeg2", "16:9", "letterbox"),
			"deinterlace,scale,colour_matrix,pad,frame_rate,interlace,frame_rate", sdi.Rational{Num: 64, Den: 45}, 12, "one picture per field"},
		{"H.264 carries the exact BT.601 SAR", hd("25/1", "tt"), broadcast("pal", "h264", "16:9", "letterbox"),
			"field_scale,colour_matrix,pad,frame_rate", sdi.Rational{Num: 16, Den: 11}, 12, "MBAFF"},
		{"HD into 4:3 letterboxes", hd("25/1", "tt"), broadcast("pal", "h264", "4:3", "letterbox"),
			"field_scale,colour_matrix,pad,frame_rate", sdi.Rational{Num: 12, Den: 11}, 12, "letterbox: picture 704x432"},
		{"1080i25 TFF → PAL BFF target shifts the fields", hd("25/1", "tt"), bff(broadcast("pal", "mpeg2", "16:9", "letterbox")),
			"field_scale,colour_matrix,pad,field_order,frame_rate", sdi.Rational{Num: 64, Den: 45}, 12, "TFF → BFF"},
		{"1080p50 → 25i BFF target weaves then shifts", hd("50/1", "progressive"), bff(broadcast("pal", "mpeg2", "16:9", "letterbox")),
			"scale,colour_matrix,pad,interlace,field_order,frame_rate", sdi.Rational{Num: 64, Den: 45}, 12, "bottom-field-first target"},
		{"1080i25 BFF source → BFF target keeps its fields", hd("25/1", "bb"), bff(broadcast("pal", "mpeg2", "16:9", "letterbox")),
			"field_scale,colour_matrix,pad,frame_rate", sdi.Rational{Num: 64, Den: 45}, 12, "fields kept"},
		{"4:3 SD into 16:9 pillarboxes", videoSource(720, 576, "25/1", "tt", "16:15", "bt470bg"), broadcast("pal", "h264", "16:9", "pillarbox"),
			"field_scale,pad,frame_rate", sdi.Rational{Num: 16, Den: 11}, 12, "pillarbox: picture 528x576"},
		{"4:3 SD into 16:9 by centre crop", videoSource(720, 576, "25/1", "tt", "16:15", "bt470bg"), broadcast("pal", "h264", "16:9", "crop"),
			"field_scale,crop,pad,frame_rate", sdi.Rational{Num: 16, Den: 11}, 12, "centre cut"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan, err := Make(c.src, c.profile, "/in/clip.mxf")
			if err != nil {
				t.Fatal(err)
			}
			if got := ops(plan.Video.Chain); got != c.ops {
				t.Errorf("stages %s, want %s", got, c.ops)
			}
			if plan.Video.SAR != c.sar {
				t.Errorf("SAR %v, want %v", plan.Video.SAR, c.sar)
			}
			if plan.Video.GOP != c.gop {
				t.Errorf("GOP %d, want %d", plan.Video.GOP, c.gop)
			}
			if plan.Video.FieldOrder != sdi.TopFirst && c.profile.FieldOrder != "bff" {
				t.Errorf("field order %s, want tff", plan.Video.FieldOrder)
			}
			if !strings.Contains(strings.Join(plan.Decisions, "\n"), c.words) {
				t.Errorf("decisions do not say %q:\n%s", c.words, strings.Join(plan.Decisions, "\n"))
			}
			if plan.OutputName != "clip.ts" || plan.Muxer != "mpegts" {
				t.Errorf("output %s via %s", plan.OutputName, plan.Muxer)
			}
			for _, st := range plan.Video.Chain {
				if st.Op == OpPad && (st.X%2 != 0 || st.Y%2 != 0 || st.Width != 720) {
					t.Errorf("pad off the chroma grid or raster: %+v", st)
				}
				if (st.Op == OpScale || st.Op == OpFieldScale) && (st.Width%2 != 0 || st.Height%4 != 0) {
					t.Errorf("picture size breaks whole field chroma lines: %+v", st)
				}
			}
		})
	}
}

func TestFitGeometry(t *testing.T) {
	// 16:9 HD fills the 704-sample active picture of PAL 16:9.
	plan, err := Make(videoSource(1920, 1080, "25/1", "progressive", "1:1", "bt709"), broadcast("pal", "h264", "16:9", "letterbox"), "a.mov")
	if err != nil {
		t.Fatal(err)
	}
	scale, pad := plan.Video.Chain[0], plan.Video.Chain[2]
	if scale.Width != 704 || scale.Height != 576 || pad.X != 8 || pad.Y != 0 {
		t.Errorf("HD 16:9 → PAL 16:9: scale %dx%d at (%d,%d), want 704x576 at (8,0)", scale.Width, scale.Height, pad.X, pad.Y)
	}
	// NTSC 4:3 letterbox of 16:9 HD: 704 wide, 480 × (4/3)/(16/9) = 360 lines.
	plan, err = Make(videoSource(1920, 1080, "30000/1001", "tt", "1:1", "bt709"), broadcast("ntsc", "h264", "4:3", "letterbox"), "a.mov")
	if err != nil {
		t.Fatal(err)
	}
	scale, pad = plan.Video.Chain[0], plan.Video.Chain[2]
	if scale.Width != 704 || scale.Height != 360 || pad.Y != 60 {
		t.Errorf("HD → NTSC 4:3 letterbox: %dx%d at y=%d, want 704x360 at y=60", scale.Width, scale.Height, pad.Y)
	}
}

func TestFilePlans(t *testing.T) {
	prores := job.MediaInfo{Format: "mov,mp4,m4a,3gp,3g2,mj2", Duration: 2, Streams: []job.StreamInfo{
		{Index: 0, Type: "video", Codec: "prores", Width: 1280, Height: 720, FrameRate: "25/1", PixelFormat: "yuv422p10le", FieldOrder: "progressive"},
		{Index: 1, Type: "audio", Codec: "pcm_s24le", SampleRate: 48000, Channels: 2, ChannelLayout: "stereo"},
		{Index: 2, Type: "audio", Codec: "pcm_s24le", SampleRate: 48000, Channels: 1, ChannelLayout: "mono"},
	}}
	p := config.Profile{Name: "m", Kind: "file", Codec: "h264", Container: "mp4", Width: 640, VideoBitrate: 2_000_000,
		FrameRateMethod: "mc", Deinterlace: "auto", ScaleFilter: "lanczos", Audio: config.Audio{Codec: "aac", Bitrate: 192_000}}
	plan, err := Make(prores, p, "/x/master.mov")
	if err != nil {
		t.Fatal(err)
	}
	v := plan.Video
	if ops(v.Chain) != "scale,frame_rate" || v.Width != 640 || v.Height != 360 || v.PixFmt != "yuv420p" || v.Encoder != "libx264" {
		t.Errorf("file plan: %s %dx%d %s %s", ops(v.Chain), v.Width, v.Height, v.PixFmt, v.Encoder)
	}
	if v.SAR != (sdi.Rational{Num: 1, Den: 1}) {
		t.Errorf("SAR %v, want 1:1", v.SAR)
	}
	if len(plan.Audio) != 2 || plan.Audio[1].Channels != 1 || plan.Audio[0].Encoder != "aac" {
		t.Errorf("audio plan %+v: want both tracks, mono kept mono for a file", plan.Audio)
	}
	if plan.OutputName != "master.mp4" {
		t.Errorf("output name %s", plan.OutputName)
	}

	// An interlaced source converted to another rate is deinterlaced first:
	// to the field rate when the target is faster than the source's frames.
	p.FrameRate, p.Width = "50/1", 0
	plan, err = Make(videoSource(1920, 1080, "25/1", "tt", "1:1", "bt709"), p, "a.ts")
	if err != nil {
		t.Fatal(err)
	}
	if got := ops(plan.Video.Chain); got != "deinterlace,frame_rate" || !plan.Video.Chain[0].Double || plan.Video.FieldOrder != sdi.Progressive {
		t.Errorf("25i → 50p: %s (one picture per field: %v) %s", got, plan.Video.Chain[0].Double, plan.Video.FieldOrder)
	}
	p.FrameRate = "60000/1001"
	plan, err = Make(videoSource(1920, 1080, "25/1", "tt", "1:1", "bt709"), p, "a.ts")
	if err != nil {
		t.Fatal(err)
	}
	if got := ops(plan.Video.Chain); got != "deinterlace,frame_rate,frame_rate" || !plan.Video.Chain[0].Double {
		t.Errorf("25i → 59.94p: %s (one picture per field: %v)", got, plan.Video.Chain[0].Double)
	}
	p.FrameRate = "24000/1001"
	plan, err = Make(videoSource(1920, 1080, "25/1", "tt", "1:1", "bt709"), p, "a.ts")
	if err != nil {
		t.Fatal(err)
	}
	if got := ops(plan.Video.Chain); got != "deinterlace,frame_rate,frame_rate" || plan.Video.Chain[0].Double {
		t.Errorf("25i → 23.976p: %s (one picture per field: %v)", got, plan.Video.Chain[0].Double)
	}
}

func TestPlanRefusals(t *testing.T) {
	audioOnly := job.MediaInfo{Streams: []job.StreamInfo{{Index: 0, Type: "audio", Codec: "aac", SampleRate: 48000, Channels: 2}}}
	_, err := Make(audioOnly, broadcast("pal", "mpeg2", "16:9", "letterbox"), "a.m4a")
	var ie *InputError
	if !errors.As(err, &ie) || !strings.Contains(ie.Reason, "no video stream (found: audio aac)") {
		t.Errorf("audio-only: %v", err)
	}
	src := videoSource(1920, 1080, "25/1", "tt", "1:1", "bt709")
	var pe *ProfileError
	if _, err := Make(src, config.Profile{Kind: "abr"}, "a.ts"); !errors.As(err, &pe) {
		t.Errorf("abr without an audio codec: %v, want a ProfileError", err)
	}
	huge := videoSource(65535, 65535, "25/1", "", "", "")
	if _, err := Make(huge, broadcast("pal", "mpeg2", "16:9", "letterbox"), "a.ts"); !errors.As(err, &ie) {
		t.Errorf("65535x65535: %v, want an InputError", err)
	}
}

func TestD10Plan(t *testing.T) {
	p := broadcast("pal", "d10", "16:9", "letterbox")
	p.Container, p.VideoBitrate, p.Audio = "mxf", 50_000_000, config.Audio{Codec: "pcm"}
	plan, err := Make(videoSource(1920, 1080, "25/1", "tt", "1:1", "bt709"), p, "/in/a.mov")
	if err != nil {
		t.Fatal(err)
	}
	v := plan.Video
	if plan.Muxer != "mxf_d10" || v.Width != 720 || v.Height != 608 || v.PixFmt != "yuv422p" || v.GOP != 1 {
		t.Errorf("d10: %s %dx%d %s GOP %d", plan.Muxer, v.Width, v.Height, v.PixFmt, v.GOP)
	}
	if last := v.Chain[len(v.Chain)-2]; last.Op != OpPad || last.Y != 32 || last.Height != 608 {
		t.Errorf("d10 VBI padding: %+v", last)
	}
	if v.Options["bufsize"] != "2000000" || v.Options["minrate"] != "50000000" {
		t.Errorf("d10 VBV: %v", v.Options)
	}
	if len(plan.Audio) != 1 || plan.Audio[0].Channels != 8 || plan.Audio[0].Encoder != "pcm_s24le" {
		t.Errorf("d10 audio: %+v", plan.Audio)
	}
}

func bff(p config.Profile) config.Profile {
	p.FieldOrder = "bff"
	return p
}

// TestChainEndsAsTheEncoderNeeds: the stages the chain used to add on its
// own are in the plan, so the report shows them: the conversion to the
// encoder's pixel format where no scaling made it, the watermark, and the
// constant-rate stage last.
func TestChainEndsAsTheEncoderNeeds(t *testing.T) {
	prores := func(pixFmt string) job.MediaInfo {
		return job.MediaInfo{Format: "mov,mp4,m4a,3gp,3g2,mj2", Duration: 2, Streams: []job.StreamInfo{
			{Index: 0, Type: "video", Codec: "prores", Width: 1280, Height: 720, FrameRate: "25/1", PixelFormat: pixFmt, FieldOrder: "progressive"}}}
	}
	file := config.Profile{Name: "m", Kind: "file", Codec: "h264", Container: "mp4", VideoBitrate: 2_000_000,
		FrameRateMethod: "mc", Deinterlace: "auto", ScaleFilter: "lanczos", Audio: config.Audio{Codec: "aac", Bitrate: 192_000}}
	hevc := file
	hevc.Codec = "hevc"
	marked := file
	marked.Watermark = &config.Watermark{Image: "/logos/kiln.png", Position: "top-left", Opacity: 0.5}
	for _, c := range []struct {
		name    string
		src     job.MediaInfo
		profile config.Profile
		in, ops string
		words   string
	}{
		{"4:2:2 10-bit ProRes into H.264 is converted", prores("yuv422p10le"), file, "yuv422p10le", "convert,frame_rate", "convert yuv422p10le → yuv420p for the encoder (lanczos)"},
		{"10-bit 4:2:0 into 10-bit HEVC needs no conversion", prores("yuv420p10le"), hevc, "yuv420p10le", "frame_rate", "constant 25 fps into the encoder"},
		{"8-bit 4:2:0 into H.264 needs none", prores("yuv420p"), file, "yuv420p", "frame_rate", "constant 25 fps into the encoder"},
		{"a packed source enters as what libavfilter makes of it", prores("uyvy422"), file, "yuv422p", "convert,frame_rate", "convert yuv422p → yuv420p"},
		{"the watermark after the conversion", prores("yuv422p10le"), marked, "yuv422p10le", "convert,watermark,frame_rate", "watermark kiln.png at top-left, opacity 0.50"},
		{"a broadcast chain converts by scaling", videoSource(1920, 1080, "25/1", "tt", "1:1", "bt709"), broadcast("pal", "d10", "16:9", "letterbox"),
			"yuv420p", "field_scale,colour_matrix,pad,pad,frame_rate", "constant 25 fps"},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan, err := Make(c.src, c.profile, "/in/a.mov")
			if err != nil {
				t.Fatal(err)
			}
			v := plan.Video
			if v.InPixFmt != c.in || ops(v.Chain) != c.ops {
				t.Errorf("chain from %s: %s; want from %s: %s", v.InPixFmt, ops(v.Chain), c.in, c.ops)
			}
			if !strings.Contains(strings.Join(plan.Decisions, "\n"), c.words) {
				t.Errorf("decisions do not say %q:\n%s", c.words, strings.Join(plan.Decisions, "\n"))
			}
			last := v.Chain[len(v.Chain)-1]
			if last.Op != OpFrameRate || last.Method != "dup" || last.Rate != v.FrameRate {
				t.Errorf("last stage %+v, want frame_rate dup at %v", last, v.FrameRate)
			}
			for _, st := range v.Chain {
				if st.Op == OpConvert && st.PixFmt != v.PixFmt {
					t.Errorf("conversion to %s, the encoder takes %s", st.PixFmt, v.PixFmt)
				}
				if st.Op == OpWatermark && st.Watermark != c.profile.Watermark {
					t.Errorf("watermark %+v, want the profile's", st.Watermark)
				}
			}
		})
	}
}
