package packaging

import (
	"fmt"
	"math"

	"kiln/sdi"
)

// DefaultLadder is the ladder of a profile that names no video_bitrate, in
// bit/s: a top rung for 720p and three below it down to a thumbnail-sized
// rung that still plays on a poor mobile link.
var DefaultLadder = []int64{2_400_000, 600_000, 300_000, 120_000}

// rungLines maps a rung's bitrate to the lines of its picture's short side
// (the height of a landscape picture). The steps follow the usual web
// ladders (Apple's HLS authoring table and the streaming services' published
// ladders) at roughly 0.1 bit per pixel per frame for 25–30 fps H.264: below
// that a larger picture only shows blocking, above it a smaller one wastes
// the bits.
var rungLines = []struct {
	minBitrate int64
	lines      int
}{
	{12_000_000, 2160},
	{8_000_000, 1440},
	{4_500_000, 1080},
	{2_000_000, 720},
	{1_100_000, 540},
	{700_000, 432},
	{350_000, 360},
	{200_000, 270},
	{0, 234},
}

// halfRateBelow is the bitrate under which a rung of a source faster than
// 30 fps is encoded at half the frame rate: at these rates the bits do more
// for each picture than for more pictures.
const halfRateBelow = 1_000_000

// LadderSource is the picture that enters the ladder: the source after
// rotation and deinterlacing.
type LadderSource struct {
	Width, Height int          // coded samples
	SAR           sdi.Rational // sample aspect ratio; 1:1 when unknown
	Rate          sdi.Rational // progressive pictures per second
}

// Rung is one rendition of the ladder.
type Rung struct {
	Name          string // folder name, such as "720p-2400k"
	Bitrate       int64  // video, bit/s
	Width, Height int    // square samples, even
	Rate          sdi.Rational
	// Step is how many source pictures make one of this rung's: 1, or 2
	// when the rung halves the frame rate.
	Step int
}

// Ladder computes the rungs for a source. top is the profile's
// video_bitrate, or 0 for DefaultLadder; a given top makes the ladder top,
// top/2, top/4, top/8. maxW and maxH, when not 0, bound the picture (the
// profile's width and height).
//
// Each rung's picture keeps the source's display aspect in square samples,
// is never larger than the source (in lines) nor than maxW×maxH, and has even
// sides for 4:2:0 chroma. Rungs below 1 Mbit/s of sources faster than 30 fps
// run at half the rate, which keeps every keyframe time of the full-rate
// rungs.
func Ladder(src LadderSource, top int64, maxW, maxH int) ([]Rung, error) {
	if src.Width <= 0 || src.Height <= 0 {
		return nil, fmt.Errorf("ladder: source picture %dx%d is empty", src.Width, src.Height)
	}
	if src.Rate.Num <= 0 || src.Rate.Den <= 0 {
		return nil, fmt.Errorf("ladder: source frame rate %s is not valid", src.Rate)
	}
	sar := src.SAR
	if sar.Num <= 0 || sar.Den <= 0 {
		sar = sdi.Rational{Num: 1, Den: 1}
	}
	rates := DefaultLadder
	if top > 0 {
		rates = []int64{top, top / 2, top / 4, top / 8}
	}
	// Display size in square samples.
	dispW := float64(src.Width) * sar.Float()
	dispH := float64(src.Height)
	if maxW > 0 && dispW > float64(maxW) {
		dispH, dispW = dispH*float64(maxW)/dispW, float64(maxW)
	}
	if maxH > 0 && dispH > float64(maxH) {
		dispW, dispH = dispW*float64(maxH)/dispH, float64(maxH)
	}
	landscape := dispW >= dispH
	short := math.Min(dispW, dispH)

	var rungs []Rung
	for _, b := range rates {
		lines := math.Min(float64(linesFor(b)), short)
		var w, h int
		if landscape {
			h = evenAtLeast2(lines)
			w = evenAtLeast2(lines * dispW / dispH)
		} else {
			w = evenAtLeast2(lines)
			h = evenAtLeast2(lines * dispH / dispW)
		}
		r := Rung{Bitrate: b, Width: w, Height: h, Rate: src.Rate, Step: 1}
		if src.Rate.Float() > 30.5 && b < halfRateBelow {
			r.Rate, r.Step = halfRate(src.Rate), 2
		}
		r.Name = fmt.Sprintf("%dp-%dk", min(w, h), b/1000)
		rungs = append(rungs, r)
	}
	return rungs, nil
}

func linesFor(bitrate int64) int {
	for _, r := range rungLines {
		if bitrate >= r.minBitrate {
			return r.lines
		}
	}
	return rungLines[len(rungLines)-1].lines
}

func halfRate(r sdi.Rational) sdi.Rational {
	if r.Num%2 == 0 {
		return sdi.Rational{Num: r.Num / 2, Den: r.Den}
	}
	return sdi.Rational{Num: r.Num, Den: r.Den * 2}
}

// evenAtLeast2 rounds to the nearest even number, at least 2.
func evenAtLeast2(v float64) int {
	n := int(math.Round(v/2)) * 2
	if n < 2 {
		n = 2
	}
	return n
}

// GOP is the keyframe structure every rung shares, so that a player can
// switch rungs at any segment boundary.
type GOP struct {
	// SegmentFrames and Frames count pictures at the full (top-rung) rate.
	SegmentFrames int
	Frames        int
	// Segment is the segment duration in seconds that SegmentFrames makes.
	Segment float64
}

// PlanGOP picks the segment length in whole pictures nearest the profile's
// segment, and the longest keyframe interval of at most two seconds that
// divides it: players seek and switch at keyframes, and segments must start
// on one. halfRate says a rung runs at half the rate, so the interval must be
// even for that rung's keyframes to fall on the same times.
func PlanGOP(rate sdi.Rational, segment float64, halfRate bool) (GOP, error) {
	if segment <= 0 || rate.Num <= 0 || rate.Den <= 0 {
		return GOP{}, fmt.Errorf("segment %.3f s at %s fps is not valid", segment, rate)
	}
	fps := rate.Float()
	seg := int(math.Round(segment * fps))
	if halfRate && seg%2 == 1 {
		seg++
	}
	if seg < 1 {
		seg = 1
	}
	limit := int(math.Round(2 * fps))
	gop := seg
	for k := 1; k <= seg; k++ {
		n := seg / k
		if seg%k != 0 || (halfRate && n%2 != 0) {
			continue
		}
		if n <= limit {
			gop = n
			break
		}
	}
	return GOP{SegmentFrames: seg, Frames: gop, Segment: float64(seg) / fps}, nil
}
