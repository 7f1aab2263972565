package plan

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"kiln/config"
	"kiln/job"
	"kiln/packaging"
	"kiln/sdi"
)

// ABRPlan is what an adaptive-bitrate job makes: one decode, a shared chain
// (deinterlace, frame rate) at the source's raster, then one branch per rung
// that scales and encodes once, and packages that share those encodes.
type ABRPlan struct {
	// Shared are the stages every rung shares, at the source raster: they
	// take pictures of pixel format InPixFmt and make SharedPixFmt.
	Shared   []Stage
	InPixFmt string
	Rate     sdi.Rational // pictures per second out of the shared chain
	// Width and Height are the raster of the shared chain: the source's,
	// turned as its display matrix says.
	Width, Height int
	HD            bool // BT.709 source: thumbnails convert to JPEG's BT.601
	Rungs         []ABRRung
	GOP           packaging.GOP
	Formats       []string // hls | dash | smooth
	Package       string   // dir | tar
	// KeyURI is the profile's key_uri template; "" leaves the package clear.
	KeyURI string
	// KeyRotation starts a new key every this many segments; 0 keeps one.
	KeyRotation int
	// ThumbEvery is the thumbnail interval in seconds; 0 makes the poster
	// only. PosterAt is when the poster frame is taken.
	ThumbEvery  float64
	PosterAt    float64
	ThumbWidth  int
	ThumbHeight int
}

// ABRRung is one rung: its place in the ladder and its encoder settings.
type ABRRung struct {
	packaging.Rung
	Video VideoPlan
}

// SharedPixFmt is the pixel format of the shared chain's pictures, which
// every rung scales from: the rungs' own, 8-bit 4:2:0 H.264.
const SharedPixFmt = "yuv420p"

// Has reports whether the plan makes a format.
func (a *ABRPlan) Has(format string) bool { return slices.Contains(a.Formats, format) }

// thumbnail tiles are this wide (tall, for portrait pictures): large enough
// to recognise a scene in a seek bar, small enough for 100 in one sheet.
const thumbTile = 160

func planABR(info job.MediaInfo, src source, p config.Profile) (Plan, error) {
	var d []string
	a := &ABRPlan{Formats: p.Formats, Package: p.Package, HD: src.hd}
	if len(a.Formats) == 0 {
		a.Formats = []string{"hls"}
	}
	if a.Package == "" {
		a.Package = "dir"
	}
	a.Width, a.Height = src.width, src.height
	a.Rate = src.rate

	// The shared chain: progressive pictures at the profile's rate.
	if src.fields != sdi.Progressive {
		if p.Deinterlace == "off" {
			return Plan{}, &ProfileError{Reason: "the source is interlaced, but deinterlace = \"off\": ABR renditions are scaled and played progressive in browsers; remove deinterlace or set it to \"auto\""}
		}
		double := false
		if want, ok := ParseRational(p.FrameRate); ok && p.FrameRate != "" &&
			SameRate(want, sdi.Rational{Num: src.rate.Num * 2, Den: src.rate.Den}) {
			double = true
			a.Rate = sdi.Rational{Num: src.rate.Num * 2, Den: src.rate.Den}
		}
		a.Shared = append(a.Shared, Stage{Op: OpDeinterlace, Order: src.fields, Double: double})
		if double {
			d = append(d, fmt.Sprintf("deinterlace %s %si → %sp, one picture per field", strings.ToUpper(string(src.fields)), rateWords(src.rate), rateWords(a.Rate)))
		} else {
			d = append(d, fmt.Sprintf("deinterlace %s %si → %sp, one picture per frame", strings.ToUpper(string(src.fields)), rateWords(src.rate), rateWords(a.Rate)))
		}
	} else if p.Deinterlace == "on" {
		d = append(d, "deinterlace = \"on\" ignored: the source is progressive")
	}
	if want, ok := ParseRational(p.FrameRate); ok && p.FrameRate != "" && !SameRate(want, a.Rate) {
		frc, words := frameRateStage(want, p.FrameRateMethod)
		a.Shared = append(a.Shared, frc)
		a.Rate = want
		d = append(d, words)
	}

	a.InPixFmt = KernelPixFmt(src.pixFmt)
	var words []string
	a.Shared, words = finishChain(a.Shared, a.InPixFmt, SharedPixFmt, p.ScaleFilter, nil, a.Rate)
	d = append(d, words...)

	rungs, err := packaging.Ladder(packaging.LadderSource{Width: src.width, Height: src.height, SAR: src.sar, Rate: a.Rate},
		int64(p.VideoBitrate), p.Width, p.Height)
	if err != nil {
		return Plan{}, inputErrorf(nil, "%v", err)
	}
	half := false
	for _, r := range rungs {
		half = half || r.Step == 2
	}
	segment := p.Segment.Seconds()
	if segment <= 0 {
		segment = 4
	}
	if a.GOP, err = packaging.PlanGOP(a.Rate, segment, half); err != nil {
		return Plan{}, &ProfileError{Reason: err.Error()}
	}
	d = append(d, fmt.Sprintf("%s → ladder of %d rungs, square pixels, never larger than the source", describeRaster(src), len(rungs)))
	for _, r := range rungs {
		v := abrVideoPlan(r, a, src, p)
		a.Rungs = append(a.Rungs, ABRRung{Rung: r, Video: v})
		d = append(d, fmt.Sprintf("rung %s: %dx%d %s fps, H.264 High, %s (peak %s)", r.Name, r.Width, r.Height, rateWords(r.Rate),
			bitrateWords(r.Bitrate), bitrateWords(r.Bitrate*abrPeakPercent/100)))
	}
	d = append(d, fmt.Sprintf("every rung: closed GOPs of %.3f s, no scene-cut keyframes, an IDR at every %.3f s segment boundary, so players switch at any segment",
		float64(a.GOP.Frames)/a.Rate.Float(), a.GOP.Segment))

	if e := p.Encryption; e != nil && e.Method != "" {
		a.KeyURI, a.KeyRotation = e.KeyURI, e.Rotate
		if a.Has("hls") {
			words := "HLS (MPEG-TS): AES-128-CBC, a key and IV per job from the system's random source; keys kept outside the package"
			if e.Rotate > 0 {
				words = fmt.Sprintf("HLS (MPEG-TS): AES-128-CBC, a new key and IV every %d segments from the system's random source; keys kept outside the package", e.Rotate)
			}
			d = append(d, words)
		}
	}
	if a.Has("hls") {
		words := "HLS over MPEG-TS: master.m3u8 with measured BANDWIDTH and AVERAGE-BANDWIDTH, CODECS from the encoded streams, an audio group and I-frame playlists"
		if a.KeyURI != "" {
			// A byte range inside a segment encrypted whole cannot be
			// decrypted on its own.
			words = "HLS over MPEG-TS: master.m3u8 with measured BANDWIDTH and AVERAGE-BANDWIDTH, CODECS from the encoded streams and an audio group; no I-frame playlists, which AES-128 whole-segment encryption rules out"
		}
		d = append(d, words)
	}
	if a.Has("dash") {
		d = append(d, "DASH: static MPD with SegmentTemplate and SegmentTimeline over CMAF (fMP4) segments, one fragment per GOP")
		if a.Has("hls") && a.KeyURI == "" {
			d = append(d, "HLS over CMAF: master-cmaf.m3u8 plays the same CMAF segments as the MPD")
		}
	}
	if a.Has("smooth") {
		d = append(d, "Smooth Streaming: one .ismv per rung and one .isma per audio track with .ism and .ismc manifests for an IIS origin, and the static layout for any HTTP server (smooth/Manifest with every fragment at its QualityLevels(…)/Fragments(…) URL)")
	}
	a.PosterAt = math.Min(10, 0.1*src.duration)
	if p.Thumbnails != nil {
		a.ThumbEvery = p.Thumbnails.Every.Seconds()
		if a.ThumbEvery <= 0 {
			a.ThumbEvery = 10
		}
		dispW := float64(src.width) * src.sar.Float()
		if dispW >= float64(src.height) {
			a.ThumbWidth, a.ThumbHeight = thumbTile, even(thumbTile*float64(src.height)/dispW)
		} else {
			a.ThumbWidth, a.ThumbHeight = even(thumbTile*dispW/float64(src.height)), thumbTile
		}
		d = append(d, fmt.Sprintf("thumbnails: a %dx%d tile every %s s in sprite sheets, with a WebVTT track", a.ThumbWidth, a.ThumbHeight,
			strconv.FormatFloat(a.ThumbEvery, 'f', -1, 64)))
	}
	d = append(d, fmt.Sprintf("poster frame at %.1f s", a.PosterAt))
	if a.Package == "tar" {
		d = append(d, "package: one tar with a SHA256SUMS manifest")
	} else {
		d = append(d, "package: loose files with a SHA256SUMS manifest")
	}

	plan := Plan{Video: a.Rungs[0].Video, ABR: a, Decisions: d, Muxer: "kiln packaging (" + strings.Join(a.Formats, ", ") + ")", MuxOptions: map[string]string{}}
	plan.Video.Input, plan.Video.InPixFmt = src.index, a.InPixFmt
	if err := planAudio(&plan, info, p); err != nil {
		return Plan{}, err
	}
	if a.Has("smooth") {
		for _, ap := range plan.Audio {
			if ap.Encoder != "aac" {
				return Plan{}, &ProfileError{Reason: fmt.Sprintf("Smooth Streaming carries AAC audio; the profile's audio codec is %s: use audio = { codec = \"aac\" } or leave out \"smooth\"", ap.Encoder)}
			}
		}
	}
	if a.KeyURI != "" && (a.Has("dash") || a.Has("smooth")) {
		plan.Warnings = append(plan.Warnings, "encryption applies to the HLS (MPEG-TS) renditions only: DASH and Smooth Streaming need Common Encryption or PlayReady, which Kiln does not do, so their segments are in the clear (and HLS over CMAF is left out)")
	}
	if a.KeyURI != "" && !a.Has("hls") {
		plan.Warnings = append(plan.Warnings, "encryption is set, but the profile makes no HLS: nothing is encrypted")
	}
	return plan, nil
}

// abrPeakPercent caps each rung's bit rate over the VBV buffer at this much
// of its average: an ABR player picks a rung by its declared bandwidth, and a
// rung that bursts far above it stalls the player that trusted it.
const abrPeakPercent = 110

// abrVideoPlan is one rung's encoder settings: H.264 High at the rung's
// size, constrained VBR, a fixed closed GOP without scene-cut keyframes so
// that every rung has its IDRs at the same times.
func abrVideoPlan(r packaging.Rung, a *ABRPlan, src source, p config.Profile) VideoPlan {
	gop := a.GOP.Frames / r.Step
	v := VideoPlan{
		Encoder: "libx264", PixFmt: "yuv420p", Width: r.Width, Height: r.Height,
		FrameRate: r.Rate, SAR: sdi.Rational{Num: 1, Den: 1}, FieldOrder: sdi.Progressive,
		BitRate: r.Bitrate, GOP: gop, ScaleFilter: p.ScaleFilter, Rotate: src.rotation,
	}
	if src.hd {
		v.ColorPrimaries, v.ColorTransfer, v.ColorSpace = "bt709", "bt709", "bt709"
	}
	v.Options = map[string]string{
		"b": itoa(r.Bitrate), "maxrate": itoa(r.Bitrate * abrPeakPercent / 100), "bufsize": itoa(r.Bitrate * 2),
		"g": strconv.Itoa(gop), "keyint_min": strconv.Itoa(gop), "sc_threshold": "0", "flags": "+cgop",
		"profile": "high", "preset": "medium",
		// Closed GOPs and no open-GOP recovery points: each segment decodes
		// on its own, which HLS's INDEPENDENT-SEGMENTS promises.
		"x264-params": "open-gop=0:scenecut=0:force-cfr=1",
	}
	return v
}
