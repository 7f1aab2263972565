package pipeline

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/asticode/go-astiav"

	"kiln/packaging"
	"kiln/sdi"
)

// renditionWriter fans one rendition's encoded packets out to every package
// format: the same encoded bytes go to the MPEG-TS segmenter (HLS), the CMAF
// track (DASH and HLS over CMAF) and the Smooth Streaming muxer. It decides
// where segments start, once, so that every format cuts at the same place.
type renditionWriter struct {
	name  string
	video bool
	encTB astiav.Rational

	// Segment boundaries. Video: a keyframe on a multiple of segFrames
	// (counted at the full rate; step source pictures make one of this
	// rendition's). Audio: the frame nearest each multiple of segSeconds.
	step, segFrames int
	segSeconds      float64
	frameSize       int // audio samples per packet
	sampleRate      int
	// lastBoundary is the last audio segment boundary, in seconds: past it
	// the video has ended (or will within a quarter segment), and a segment
	// of a few audio frames would only cost players a request.
	lastBoundary float64
	nextSeg      int
	started      bool

	ts      *tsSegmenter
	cmaf    *packaging.CMAFTrack
	cmafDir string
	cmafCfg packaging.TrackConfig
	bitrate int64
	smooth  *smoothMuxer

	// reorder is the package's reorder delay in the encoder's time base: every
	// video rendition's decode times are stamped exactly this far before
	// its presentation times at a keyframe, whatever its own encoder's delay
	// (x264 with or without a B-pyramid, NVENC), so that every rung has the
	// same decode-to-presentation offsets at its IDRs and, with the lead,
	// no negative composition offset in any format. dtsShift is how much
	// earlier than the encoder this rendition's decode times are stamped.
	reorder, dtsShift int64

	end90     int64     // presentation end so far, 90 kHz
	keyTimes  []float64 // video keyframes, seconds from the first picture
	segStarts []float64 // seconds
	packets   int64
}

// cmafTimescale picks a video track clock: a multiple of 90 kHz in which
// every frame of rate (and of half of it) lasts whole ticks, and so does the
// audio priming offset (1024 samples at 48 kHz is 1920 ticks at 90 kHz).
func cmafTimescale(rate sdi.Rational) uint32 {
	for m := int64(1); m <= 16; m++ {
		t := 90000 * m
		if (t*int64(rate.Den))%int64(rate.Num) == 0 {
			return uint32(t)
		}
	}
	return 90000
}

// write sends one packet, in the encoder's time base and decode order, to
// every format.
func (w *renditionWriter) write(pkt *astiav.Packet) error {
	key := pkt.Flags().Has(astiav.PacketFlagKey)
	if !w.started && w.video && !key {
		return fmt.Errorf("rendition %s does not start with a keyframe", w.name)
	}
	if w.video {
		if !w.started {
			own := pkt.Pts() - pkt.Dts()
			if own < 0 || own > w.reorder {
				return fmt.Errorf("rendition %s: its encoder stamps decode times %d ticks before presentation, outside the package's reorder delay of %d", w.name, own, w.reorder)
			}
			w.dtsShift = w.reorder - own
		}
		pkt.SetDts(pkt.Dts() - w.dtsShift)
	}
	newSeg := w.startsSegment(pkt, key)
	w.started = true
	w.packets++
	pts90 := astiav.RescaleQ(pkt.Pts(), w.encTB, astiav.NewRational(1, packaging.TSTimescale))
	ptsSec := float64(pkt.Pts()) * float64(w.encTB.Num()) / float64(w.encTB.Den())
	if newSeg {
		w.segStarts = append(w.segStarts, ptsSec)
	}
	if key && w.video {
		w.keyTimes = append(w.keyTimes, ptsSec)
	}
	end := pkt.Pts() + max(pkt.Duration(), 1)
	w.end90 = max(w.end90, astiav.RescaleQ(end, w.encTB, astiav.NewRational(1, packaging.TSTimescale)))

	if w.ts != nil {
		if err := w.ts.write(pkt, newSeg, pts90, key && w.video, pts90); err != nil {
			return fmt.Errorf("rendition %s: %w", w.name, err)
		}
	}
	if w.cmafDir != "" {
		if err := w.writeCMAF(pkt, key, newSeg); err != nil {
			return fmt.Errorf("rendition %s: %w", w.name, err)
		}
	}
	if w.smooth != nil {
		if err := w.smooth.write(pkt); err != nil {
			return fmt.Errorf("rendition %s: %w", w.name, err)
		}
	}
	return nil
}

func (w *renditionWriter) startsSegment(pkt *astiav.Packet, key bool) bool {
	if !w.started {
		w.nextSeg = 1
		return true
	}
	if w.video {
		return key && (pkt.Pts()*int64(w.step))%int64(w.segFrames) == 0
	}
	if float64(w.nextSeg)*w.segSeconds > w.lastBoundary {
		return false
	}
	boundary := float64(w.nextSeg) * w.segSeconds * float64(w.sampleRate)
	if float64(pkt.Pts())+float64(w.frameSize)/2 >= boundary {
		w.nextSeg++
		return true
	}
	return false
}

func (w *renditionWriter) writeCMAF(pkt *astiav.Packet, key, newSeg bool) error {
	data := pkt.Data()
	if w.cmaf == nil {
		if !w.video && w.cmafCfg.Audio == nil {
			// AC-3's parameters live in its frames, not in extradata.
			a, err := packaging.ParseAC3(data, w.bitrate)
			if err != nil {
				return err
			}
			w.cmafCfg.Audio = &a
		}
		if err := os.MkdirAll(w.cmafDir, 0o755); err != nil {
			return fmt.Errorf("creating CMAF folder: %w", err)
		}
		t, err := packaging.NewCMAFTrack(w.cmafDir, w.cmafCfg)
		if err != nil {
			return err
		}
		w.cmaf = t
	}
	ts := astiav.NewRational(1, int(w.cmafCfg.Timescale))
	return w.cmaf.WriteSample(packaging.Sample{
		PTS: astiav.RescaleQ(pkt.Pts(), w.encTB, ts), DTS: astiav.RescaleQ(pkt.Dts(), w.encTB, ts),
		Duration: astiav.RescaleQ(max(pkt.Duration(), 1), w.encTB, ts), Key: key || !w.video, Data: data,
	}, newSeg)
}

// finish ends every format's output of this rendition.
func (w *renditionWriter) finish() error {
	if w.packets == 0 {
		return fmt.Errorf("rendition %s: the encoder produced no packets", w.name)
	}
	var errs []error
	if w.ts != nil {
		errs = append(errs, w.ts.finish(w.end90))
	}
	if w.cmaf != nil {
		errs = append(errs, w.cmaf.Finish())
	}
	if w.smooth != nil {
		errs = append(errs, w.smooth.finish())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("rendition %s: %w", w.name, err)
	}
	return nil
}

func (w *renditionWriter) Close() {
	if w.ts != nil {
		w.ts.Close()
	}
	if w.smooth != nil {
		w.smooth.Close()
	}
}

// renditionOutputs says where a rendition's formats go.
type renditionOutputs struct {
	tsTrack  *packaging.TSTrack // nil without HLS
	cmafDir  string             // "" without DASH
	smooth   string             // .ismv/.isma path; "" without Smooth
	leadSecs float64
	// reorderSecs is the part of the lead that is the rungs' reorder delay.
	reorderSecs float64
}

// openRenditionWriter sets up a rendition's formats for encoder enc.
func openRenditionWriter(name string, enc *encoder, video bool, outs renditionOutputs, cfg packaging.TrackConfig, bitrate int64) (*renditionWriter, error) {
	w := &renditionWriter{name: name, video: video, encTB: enc.ctx.TimeBase(), cmafDir: outs.cmafDir, cmafCfg: cfg, bitrate: bitrate}
	var err error
	if outs.tsTrack != nil {
		if w.ts, err = newTSSegmenter(enc, outs.tsTrack); err != nil {
			return nil, fmt.Errorf("rendition %s: %w", name, err)
		}
	}
	if outs.smooth != "" {
		if err := os.MkdirAll(filepath.Dir(outs.smooth), 0o755); err != nil {
			w.Close()
			return nil, fmt.Errorf("creating Smooth Streaming folder: %w", err)
		}
		if w.smooth, err = newSmoothMuxer(outs.smooth, enc, !video, outs.leadSecs, outs.reorderSecs); err != nil {
			w.Close()
			return nil, fmt.Errorf("rendition %s: %w", name, err)
		}
	}
	return w, nil
}

// secondsToTicks converts seconds to whole ticks of a clock.
func secondsToTicks(s float64, timescale uint32) int64 {
	return int64(math.Round(s * float64(timescale)))
}
