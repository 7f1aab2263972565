package pipeline

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/asticode/go-astiav"

	"kiln/pipeline/internal/av"
	"kiln/pipeline/plan"
)

// Loudness is what an EBU R 128 / ITU-R BS.1770 meter reads over a whole track.
type Loudness struct {
	Integrated float64 // LUFS
	TruePeak   float64 // dBTP
	// Samples is the track's length at 48 kHz as the meter heard it (its
	// remix and padding included).
	Samples int64
}

// truePeakCeiling is the plan's: the highest true peak a delivery may have.
const truePeakCeiling = plan.TruePeakCeiling

// silence is what BS.1770 gating reports for a track with nothing above the
// absolute gate; such a track is left alone rather than amplified.
const silence = -70.0

// measureLoudness reads the integrated loudness and true peak of the given
// audio streams of a file, in one pass over it. remix maps a stream index to
// a channel mapping applied first, so that the measurement hears what the
// output will carry (dual mono, for instance). lengths, for a track shorter
// than a gating block, is the length in samples at 48 kHz its sound is
// measured over, in place of the length heard: an output's track is
// measured over its source's, not over the silence its codec's frames and
// priming add to it (a 0.08 s track comes back 0.096 s long from MP2 and
// AC-3, 0.107 s from AAC).
func measureLoudness(path string, streams []int, remix map[int]string, lengths map[int]int64) (map[int]Loudness, error) {
	in, err := openInputStreams(path, streams)
	if err != nil {
		return nil, err
	}
	defer in.Close()

	type meter struct {
		dec   *astiav.CodecContext
		graph *filterGraph
		tb    astiav.Rational
		last  Loudness
		seen  bool
		// samples is the track's length at 48 kHz, as the meter heard it.
		samples int64
	}
	meters := map[int]*meter{}
	defer func() {
		for _, m := range meters {
			if m.graph != nil {
				m.graph.Close()
			}
			m.dec.Free()
		}
	}()
	for _, idx := range streams {
		s, err := in.stream(idx)
		if err != nil {
			return nil, err
		}
		dec, err := openDecoder(s, astiav.Rational{})
		if err != nil {
			return nil, err
		}
		meters[idx] = &meter{dec: dec, tb: s.TimeBase()}
	}

	frame, out := astiav.AllocFrame(), astiav.AllocFrame()
	defer frame.Free()
	defer out.Free()
	read := func(m *meter) error {
		return m.graph.pull(out, func(f *astiav.Frame) error {
			m.samples += int64(f.NbSamples())
			if v, ok := av.FrameMetadata(f, "lavfi.r128.I"); ok {
				m.last.Integrated, _ = strconv.ParseFloat(v, 64)
				m.seen = true
			}
			if v, ok := av.FrameMetadata(f, "lavfi.r128.true_peak"); ok {
				// ebur128 reports the true peak as a linear amplitude.
				if tp, err := strconv.ParseFloat(v, 64); err == nil && tp > 0 {
					m.last.TruePeak = math.Max(m.last.TruePeak, 20*math.Log10(tp))
				}
			}
			return nil
		})
	}
	feed := func(idx int, m *meter, pkt *astiav.Packet) error {
		if err := m.dec.SendPacket(pkt); err != nil && !isDataError(err) && !errors.Is(err, astiav.ErrEof) {
			return err
		}
		for {
			frame.Unref()
			err := m.dec.ReceiveFrame(frame)
			if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
				return nil
			}
			if err != nil {
				if isDataError(err) {
					continue
				}
				return err
			}
			if m.graph == nil {
				chain := "aresample=48000,ebur128=metadata=1:peak=true"
				if r := remix[idx]; r != "" {
					chain = r + "," + chain
				}
				if m.graph, err = newAudioGraph(chain, frame, m.tb); err != nil {
					return fmt.Errorf("loudness meter: %w", err)
				}
				m.last.TruePeak = math.Inf(-1)
			}
			if err := m.graph.push(frame); err != nil {
				return err
			}
			if err := read(m); err != nil {
				return err
			}
		}
	}

	pkt := astiav.AllocPacket()
	defer pkt.Free()
	for {
		err := in.fc.ReadFrame(pkt)
		if errors.Is(err, astiav.ErrEof) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("loudness meter: reading %s: %w", path, err)
		}
		if m, ok := meters[pkt.StreamIndex()]; ok {
			if err := feed(pkt.StreamIndex(), m, pkt); err != nil {
				pkt.Unref()
				return nil, fmt.Errorf("loudness meter: %w", err)
			}
		}
		pkt.Unref()
	}
	result := map[int]Loudness{}
	var short []int
	for idx, m := range meters {
		if err := feed(idx, m, nil); err != nil {
			return nil, fmt.Errorf("loudness meter: %w", err)
		}
		if m.graph != nil {
			if err := m.graph.end(math.MaxInt32); err == nil {
				read(m)
			}
		}
		if m.samples >= shortestMeasured && m.samples < gatingBlock {
			short = append(short, idx)
			continue
		}
		if !m.seen {
			result[idx] = Loudness{Integrated: silence, TruePeak: silence, Samples: m.samples}
			continue
		}
		if math.IsInf(m.last.TruePeak, -1) || math.IsNaN(m.last.TruePeak) {
			m.last.TruePeak = silence
		}
		if math.IsInf(m.last.Integrated, 0) || math.IsNaN(m.last.Integrated) || m.last.Integrated < silence {
			m.last.Integrated = silence
		}
		m.last.Samples = m.samples
		result[idx] = m.last
	}
	for _, idx := range short {
		// Shorter than one gating block, BS.1770 has no integrated
		// loudness (the meter reads -70, which would call the track silent
		// and leave it alone): the track is measured as one block of its
		// own length. The meter hears it padded with silence to a block,
		// and the silence is taken back out of the block's mean square.
		padded, err := measureLoudness(path, []int{idx}, map[int]string{
			idx: joinFilters(remix[idx], "aresample=48000", fmt.Sprintf("apad=whole_len=%d", gatingBlock))}, nil)
		if err != nil {
			return nil, err
		}
		l := padded[idx]
		l.Samples = meters[idx].samples
		length := l.Samples
		if n := lengths[idx]; n > 0 && n < gatingBlock {
			length = n
		}
		if l.Integrated > silence {
			l.Integrated += 10 * math.Log10(float64(gatingBlock)/float64(length))
		}
		result[idx] = l
	}
	return result, nil
}

// gatingBlock is BS.1770's gating block, 400 ms, in samples at 48 kHz: the
// shortest stretch of sound it gives an integrated loudness.
const gatingBlock = 19200

// shortestMeasured is the shortest track measured at all, 100 ms at 48 kHz.
// Shorter, the output's track differs from the source's by more than its
// level: codec frames (21 to 32 ms) and the alignment to the first picture
// change how much of the sound it carries by a good part of it (a 21 ms
// track, all the sound a 2-frame file kept, came back 2 LU under its
// target), so such a track is left alone, as BS.1770 leaves it.
const shortestMeasured = 4800

// loudnessFilter returns the gain (and, when the gain would push true peaks
// over the ceiling, the limiter) that brings a track to target.
func loudnessFilter(measured Loudness, target float64) (chain string, gain float64) {
	if measured.Integrated <= silence {
		return "", 0 // silence stays silence
	}
	gain = target - measured.Integrated
	if measured.TruePeak+gain > truePeakCeiling {
		return limitedGain(gain), gain
	}
	return fmt.Sprintf("volume=%.2fdB:precision=double", gain), gain
}

// limitedGain is a gain followed by a sample-peak limiter a dB under the
// true-peak ceiling: the margin covers inter-sample overs of the limited
// signal.
func limitedGain(gain float64) string {
	limit := math.Pow(10, (truePeakCeiling-1)/20)
	return fmt.Sprintf("volume=%.2fdB:precision=double,alimiter=limit=%.4f:attack=5:release=50:level=0", gain, limit)
}
