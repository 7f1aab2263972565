package plan

import (
	"errors"
	"strings"
	"testing"
	"time"

	"kiln/config"
)

func abrProfile(bitrate config.Bitrate, formats ...string) config.Profile {
	return config.Profile{Name: "web", Kind: "abr", Formats: formats, VideoBitrate: bitrate, Package: "dir",
		Segment: config.Duration{Duration: 4 * time.Second}, ScaleFilter: "lanczos", FrameRateMethod: "mc", Deinterlace: "auto",
		Audio: config.Audio{Codec: "aac", Bitrate: 128_000}}
}

func TestABRPlans(t *testing.T) {
	cases := []struct {
		name    string
		w, h    int
		rate    string
		fields  string
		profile config.Profile
		shared  string // ops of the shared chain
		ladder  string
		gop     int    // frames at the full rate
		words   string // a decision the report must state
	}{
		{"1080p25, 2.4M", 1920, 1080, "25/1", "progressive", abrProfile(2_400_000, "hls"), "frame_rate",
			"1280x720@25/1 960x540@25/1 640x360@25/1 480x270@25/1", 50, "IDR at every 4.000 s segment boundary"},
		{"1080i25 deinterlaced once, shared", 1920, 1080, "25/1", "tt", abrProfile(2_400_000, "hls", "dash"), "deinterlace,frame_rate",
			"1280x720@25/1 960x540@25/1 640x360@25/1 480x270@25/1", 50, "deinterlace TFF 25i → 25p"},
		{"1080p50: the rungs under 1 Mbit/s at 25", 1920, 1080, "50/1", "progressive", abrProfile(2_400_000, "hls"), "frame_rate",
			"1280x720@50/1 960x540@50/1 640x360@25/1 480x270@25/1", 100, "2.000 s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan, err := Make(videoSource(c.w, c.h, c.rate, c.fields, "1:1", "bt709"), c.profile, "/in/a.mov")
			if err != nil {
				t.Fatal(err)
			}
			a := plan.ABR
			if a == nil {
				t.Fatal("no ABR plan")
			}
			if got := ops(a.Shared); got != c.shared {
				t.Errorf("shared chain %q, want %q", got, c.shared)
			}
			var ladder []string
			for _, r := range a.Rungs {
				ladder = append(ladder, strings.Join([]string{itoa(int64(r.Width)) + "x" + itoa(int64(r.Height)), r.Rate.String()}, "@"))
				v := r.Video
				// Every rung: the same GOP in seconds, no scene cuts, closed.
				if v.GOP*r.Step != c.gop || v.Options["sc_threshold"] != "0" || v.Options["flags"] != "+cgop" ||
					v.Options["g"] != itoa(int64(v.GOP)) || v.Options["keyint_min"] != itoa(int64(v.GOP)) {
					t.Errorf("rung %s: GOP %d (step %d), options %v", r.Name, v.GOP, r.Step, v.Options)
				}
				if v.Encoder != "libx264" || v.PixFmt != "yuv420p" || v.ColorSpace != "bt709" {
					t.Errorf("rung %s: %s %s %s", r.Name, v.Encoder, v.PixFmt, v.ColorSpace)
				}
			}
			if got := strings.Join(ladder, " "); got != c.ladder {
				t.Errorf("ladder %s\n want %s", got, c.ladder)
			}
			if a.GOP.Frames != c.gop {
				t.Errorf("GOP %d frames, want %d", a.GOP.Frames, c.gop)
			}
			if !strings.Contains(strings.Join(plan.Decisions, "\n"), c.words) {
				t.Errorf("decisions lack %q:\n%s", c.words, strings.Join(plan.Decisions, "\n"))
			}
			if plan.Video.Width != a.Rungs[0].Width || len(plan.Audio) != 1 || plan.Audio[0].Encoder != "aac" {
				t.Errorf("plan video %dx%d, audio %+v", plan.Video.Width, plan.Video.Height, plan.Audio)
			}
		})
	}
}

func TestABRPlanRefusalsAndWarnings(t *testing.T) {
	src := videoSource(1920, 1080, "25/1", "tt", "1:1", "bt709")
	var pe *ProfileError

	off := abrProfile(2_400_000, "hls")
	off.Deinterlace = "off"
	if _, err := Make(src, off, "a.ts"); !errors.As(err, &pe) {
		t.Errorf("interlaced source with deinterlace = off: %v, want a ProfileError", err)
	}

	ac3 := abrProfile(2_400_000, "hls", "smooth")
	ac3.Audio.Codec = "ac3"
	if _, err := Make(src, ac3, "a.ts"); !errors.As(err, &pe) || !strings.Contains(pe.Reason, "Smooth Streaming carries AAC") {
		t.Errorf("Smooth Streaming with AC-3: %v, want a ProfileError", err)
	}

	enc := abrProfile(2_400_000, "hls", "dash")
	enc.Encryption = &config.Encryption{Method: "aes-128", KeyURI: "https://keys.example.com/{job}.key"}
	plan, err := Make(src, enc, "a.ts")
	if err != nil {
		t.Fatal(err)
	}
	if plan.ABR.KeyURI == "" || !strings.Contains(strings.Join(plan.Warnings, " "), "DASH and Smooth Streaming need Common Encryption") {
		t.Errorf("encrypted HLS with DASH: key %q, warnings %v", plan.ABR.KeyURI, plan.Warnings)
	}
	if strings.Contains(strings.Join(plan.Decisions, "\n"), "HLS over CMAF") {
		t.Error("an encrypted package offers clear HLS over CMAF")
	}

	rot := abrProfile(2_400_000, "hls")
	rot.Encryption = &config.Encryption{Method: "aes-128", KeyURI: "https://keys.example.com/{job}/{key}.key", Rotate: 3}
	plan, err = Make(src, rot, "a.ts")
	if err != nil {
		t.Fatal(err)
	}
	if plan.ABR.KeyRotation != 3 || !strings.Contains(strings.Join(plan.Decisions, "\n"), "a new key and IV every 3 segments") {
		t.Errorf("key rotation not planned: rotation %d, decisions %v", plan.ABR.KeyRotation, plan.Decisions)
	}
}

// TestABRSharedChainConverts: a 10-bit source's pictures are converted to
// the rungs' 8-bit 4:2:0 in the shared chain, once, where the plan and the
// report show it, before the constant-rate stage.
func TestABRSharedChainConverts(t *testing.T) {
	src := videoSource(1920, 1080, "25/1", "progressive", "1:1", "bt709")
	src.Streams[0].PixelFormat = "yuv420p10le"
	plan, err := Make(src, abrProfile(2_400_000, "hls"), "a.mov")
	if err != nil {
		t.Fatal(err)
	}
	a := plan.ABR
	if got := ops(a.Shared); got != "convert,frame_rate" || a.InPixFmt != "yuv420p10le" || a.Shared[0].PixFmt != SharedPixFmt {
		t.Errorf("shared chain from %s: %s (%+v)", a.InPixFmt, got, a.Shared)
	}
	if last := a.Shared[len(a.Shared)-1]; last.Method != "dup" || last.Rate != a.Rate {
		t.Errorf("last shared stage %+v, want dup at %v", last, a.Rate)
	}
	if !strings.Contains(strings.Join(plan.Decisions, "\n"), "convert yuv420p10le → yuv420p") {
		t.Errorf("decisions lack the conversion:\n%s", strings.Join(plan.Decisions, "\n"))
	}
}
