package pipeline

import (
	"fmt"
	"math"

	"github.com/asticode/go-astiav"

	"kiln/packaging"
)

// smoothMuxer writes one rendition as a Smooth Streaming .ismv or .isma file
// with libav's ismv muxer: fragmented MP4 with tfxd boxes and an mfra index,
// on a 100 ns clock.
type smoothMuxer struct {
	fc    *astiav.FormatContext
	ioc   *astiav.IOContext
	st    *astiav.Stream
	encTB astiav.Rational
	lead  float64 // seconds added to every timestamp
	path  string
	// raise is the package's reorder delay in the file's time base, added
	// to every video composition offset once the file is written: libav's
	// ismv muxer decodes each fragment's first picture when it is shown and
	// gives the B-frames after it negative offsets, which players read
	// differently on rungs whose encoders reordered differently. A rung
	// without B-frames has no offsets in its file at all: it gets them.
	raise int64
}

// smoothAudioFragment is the length of an audio fragment in microseconds:
// audio has no keyframes to cut at, and 2 s matches the video's GOPs.
const smoothAudioFragment = "2000000"

// newSmoothMuxer opens a Smooth Streaming file at path. lead is the
// package's lead in seconds, reorder the part of it that is the rungs'
// reorder delay: a video file decodes its keyframes that much before it
// shows them, as every other format of the package does.
func newSmoothMuxer(path string, enc *encoder, audio bool, lead, reorder float64) (*smoothMuxer, error) {
	m := &smoothMuxer{encTB: enc.ctx.TimeBase(), lead: lead, path: path}
	if !audio {
		// The raised offsets show every picture reorder later than the
		// muxer stamps it; its stamps start that much earlier.
		m.lead -= reorder
	}
	fc, err := astiav.AllocOutputFormatContext(nil, "ismv", path)
	if err != nil || fc == nil {
		return nil, fmt.Errorf("creating the Smooth Streaming muxer: %v", err)
	}
	m.fc = fc
	if m.st = fc.NewStream(nil); m.st == nil {
		m.Close()
		return nil, fmt.Errorf("creating a Smooth Streaming stream failed")
	}
	if err := m.st.CodecParameters().FromCodecContext(enc.ctx); err != nil {
		m.Close()
		return nil, fmt.Errorf("copying encoder parameters to the Smooth Streaming stream: %w", err)
	}
	m.st.SetTimeBase(enc.ctx.TimeBase())
	if m.ioc, err = astiav.OpenIOContext(path, astiav.NewIOContextFlags(astiav.IOContextFlagWrite)); err != nil {
		m.Close()
		return nil, fmt.Errorf("creating %s: %w", path, err)
	}
	fc.SetPb(m.ioc)
	dict := astiav.NewDictionary()
	defer dict.Free()
	// Every file has its own muxer: a shift per file would put audio and
	// video out of step. The lead keeps the audio's priming at zero or later.
	if err := dict.Set("avoid_negative_ts", "disabled", 0); err != nil {
		m.Close()
		return nil, err
	}
	if audio {
		if err := dict.Set("frag_duration", smoothAudioFragment, 0); err != nil {
			m.Close()
			return nil, err
		}
	}
	if err := fc.WriteHeader(dict); err != nil {
		m.Close()
		return nil, fmt.Errorf("starting the Smooth Streaming muxer: %w", err)
	}
	if !audio {
		tb := m.st.TimeBase()
		m.raise = int64(math.Round(reorder * float64(tb.Den()) / float64(tb.Num())))
	}
	return m, nil
}

func (m *smoothMuxer) write(pkt *astiav.Packet) error {
	c := pkt.Clone()
	defer c.Free()
	c.SetStreamIndex(m.st.Index())
	c.RescaleTs(m.encTB, m.st.TimeBase())
	tb := m.st.TimeBase()
	shift := int64(m.lead*float64(tb.Den())/float64(tb.Num()) + 0.5)
	c.SetPts(c.Pts() + shift)
	c.SetDts(c.Dts() + shift)
	if err := m.fc.WriteFrame(c); err != nil {
		return fmt.Errorf("muxing Smooth Streaming: %w", err)
	}
	return nil
}

func (m *smoothMuxer) finish() error {
	if err := m.fc.WriteTrailer(); err != nil {
		return fmt.Errorf("finishing Smooth Streaming: %w", err)
	}
	if m.raise == 0 {
		return nil
	}
	m.ioc.Close()
	m.ioc = nil
	if err := packaging.RaiseCompositionOffsets(m.path, m.raise); err != nil {
		return fmt.Errorf("finishing Smooth Streaming: %w", err)
	}
	return nil
}

func (m *smoothMuxer) Close() {
	if m.ioc != nil {
		m.ioc.Close()
		m.ioc = nil
	}
	if m.fc != nil {
		m.fc.Free()
		m.fc = nil
	}
}
