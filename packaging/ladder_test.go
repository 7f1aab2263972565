package packaging

import (
	"fmt"
	"strings"
	"testing"

	"kiln/sdi"
)

func describeLadder(rungs []Rung) string {
	var parts []string
	for _, r := range rungs {
		parts = append(parts, fmt.Sprintf("%dk %dx%d@%s", r.Bitrate/1000, r.Width, r.Height, r.Rate))
	}
	return strings.Join(parts, ", ")
}

func TestLadder(t *testing.T) {
	r25 := sdi.Rational{Num: 25, Den: 1}
	r50 := sdi.Rational{Num: 50, Den: 1}
	r5994 := sdi.Rational{Num: 60000, Den: 1001}
	square := sdi.Rational{Num: 1, Den: 1}
	cases := []struct {
		name       string
		src        LadderSource
		top        int64
		maxW, maxH int
		want       string
	}{
		{"1080p25, default ladder", LadderSource{1920, 1080, square, r25}, 0, 0, 0,
			"2400k 1280x720@25/1, 600k 640x360@25/1, 300k 480x270@25/1, 120k 416x234@25/1"},
		{"1080p25, 8M: this, 1/2, 1/4, 1/8", LadderSource{1920, 1080, square, r25}, 8_000_000, 0, 0,
			"8000k 1920x1080@25/1, 4000k 1280x720@25/1, 2000k 1280x720@25/1, 1000k 768x432@25/1"},
		{"a small source is never upscaled", LadderSource{640, 360, square, r25}, 0, 0, 0,
			"2400k 640x360@25/1, 600k 640x360@25/1, 300k 480x270@25/1, 120k 416x234@25/1"},
		{"1080p50: rungs under 1 Mbit/s at 25", LadderSource{1920, 1080, square, r50}, 0, 0, 0,
			"2400k 1280x720@50/1, 600k 640x360@25/1, 300k 480x270@25/1, 120k 416x234@25/1"},
		{"720p59.94 halves to 29.97", LadderSource{1280, 720, square, r5994}, 1_600_000, 0, 0,
			"1600k 960x540@60000/1001, 800k 768x432@30000/1001, 400k 640x360@30000/1001, 200k 480x270@30000/1001"},
		{"anamorphic PAL 16:9 keeps its display aspect", LadderSource{720, 576, sdi.Rational{Num: 64, Den: 45}, r25}, 0, 0, 0,
			"2400k 1024x576@25/1, 600k 640x360@25/1, 300k 480x270@25/1, 120k 416x234@25/1"},
		{"4:3 source", LadderSource{640, 480, square, r25}, 0, 0, 0,
			"2400k 640x480@25/1, 600k 480x360@25/1, 300k 360x270@25/1, 120k 312x234@25/1"},
		{"portrait phone video: the short side is the width", LadderSource{1080, 1920, square, r25}, 0, 0, 0,
			"2400k 720x1280@25/1, 600k 360x640@25/1, 300k 270x480@25/1, 120k 234x416@25/1"},
		{"profile width bounds the top rung", LadderSource{1920, 1080, square, r25}, 0, 960, 0,
			"2400k 960x540@25/1, 600k 640x360@25/1, 300k 480x270@25/1, 120k 416x234@25/1"},
		{"odd display sizes round to even", LadderSource{854, 480, square, r25}, 0, 0, 0,
			"2400k 854x480@25/1, 600k 640x360@25/1, 300k 480x270@25/1, 120k 416x234@25/1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rungs, err := Ladder(c.src, c.top, c.maxW, c.maxH)
			if err != nil {
				t.Fatal(err)
			}
			if got := describeLadder(rungs); got != c.want {
				t.Errorf("ladder\n got %s\nwant %s", got, c.want)
			}
			names := map[string]bool{}
			for i, r := range rungs {
				if r.Width%2 != 0 || r.Height%2 != 0 {
					t.Errorf("rung %d is %dx%d, not even", i, r.Width, r.Height)
				}
				if i > 0 && r.Width*r.Height > rungs[i-1].Width*rungs[i-1].Height {
					t.Errorf("rung %d is larger than the rung above it", i)
				}
				wantStep := 1
				if r.Rate != c.src.Rate {
					wantStep = 2
				}
				if r.Step != wantStep {
					t.Errorf("rung %d: step %d at rate %s", i, r.Step, r.Rate)
				}
				if names[r.Name] {
					t.Errorf("rung name %q repeats", r.Name)
				}
				names[r.Name] = true
			}
		})
	}
}

func TestLadderRejectsEmptySources(t *testing.T) {
	if _, err := Ladder(LadderSource{0, 1080, sdi.Rational{Num: 1, Den: 1}, sdi.Rational{Num: 25, Den: 1}}, 0, 0, 0); err == nil {
		t.Error("a 0-wide source made a ladder")
	}
	if _, err := Ladder(LadderSource{1920, 1080, sdi.Rational{Num: 1, Den: 1}, sdi.Rational{}}, 0, 0, 0); err == nil {
		t.Error("a source without a frame rate made a ladder")
	}
}

func TestPlanGOP(t *testing.T) {
	cases := []struct {
		rate    sdi.Rational
		segment float64
		half    bool
		seg     int
		gop     int
	}{
		{sdi.Rational{Num: 25, Den: 1}, 4, false, 100, 50},
		{sdi.Rational{Num: 25, Den: 1}, 6, false, 150, 50},
		{sdi.Rational{Num: 25, Den: 1}, 5, false, 125, 25},
		{sdi.Rational{Num: 25, Den: 1}, 1, false, 25, 25},
		{sdi.Rational{Num: 30000, Den: 1001}, 4, false, 120, 60},
		{sdi.Rational{Num: 50, Den: 1}, 4, true, 200, 100},
		{sdi.Rational{Num: 60000, Den: 1001}, 3, true, 180, 90},
		{sdi.Rational{Num: 24, Den: 1}, 2, false, 48, 48},
	}
	for _, c := range cases {
		g, err := PlanGOP(c.rate, c.segment, c.half)
		if err != nil {
			t.Fatal(err)
		}
		if g.SegmentFrames != c.seg || g.Frames != c.gop {
			t.Errorf("%s fps, %gs segments (half %v): segment %d frames, GOP %d; want %d, %d",
				c.rate, c.segment, c.half, g.SegmentFrames, g.Frames, c.seg, c.gop)
		}
		if g.SegmentFrames%g.Frames != 0 {
			t.Errorf("GOP %d does not divide the segment %d", g.Frames, g.SegmentFrames)
		}
		if c.half && g.Frames%2 != 0 {
			t.Errorf("GOP %d is odd for a half-rate rung", g.Frames)
		}
	}
}
