package pipeline

import (
	"fmt"

	"github.com/asticode/go-astiav"

	"kiln/packaging"
	"kiln/pipeline/internal/av"
)

// tsSegmenter muxes one rendition into MPEG-TS with libav and cuts the byte
// stream into HLS segments. One muxer runs for the whole rendition, writing
// through a custom I/O into memory: at each segment boundary it is flushed,
// and the bytes since the last boundary become a segment. Keeping one muxer
// keeps the continuity counters running across segments, as a broadcast
// chain expects, while each segment still starts with PAT and PMT.
type tsSegmenter struct {
	fc    *astiav.FormatContext
	ioc   *astiav.IOContext
	st    *astiav.Stream
	encTB astiav.Rational
	track *packaging.TSTrack

	buf   []byte
	open  bool
	start int64   // segment's first presentation time, 90 kHz
	keys  []int64 // keyframe times in the segment, 90 kHz
}

// tsMuxDelay offsets every MPEG-TS timestamp by 0.7 s (libav's and the ffmpeg
// tool's default), so that B-frames' decode times before zero stay positive.
// Each rendition has its own muxer; the same offset everywhere keeps audio
// and video renditions in step.
const tsMuxDelay = "700000"

func newTSSegmenter(enc *encoder, track *packaging.TSTrack) (*tsSegmenter, error) {
	s := &tsSegmenter{encTB: enc.ctx.TimeBase(), track: track}
	fc, err := astiav.AllocOutputFormatContext(nil, "mpegts", "")
	if err != nil || fc == nil {
		return nil, fmt.Errorf("creating the MPEG-TS muxer: %v", err)
	}
	s.fc = fc
	if s.st = fc.NewStream(nil); s.st == nil {
		s.Close()
		return nil, fmt.Errorf("creating an MPEG-TS stream failed")
	}
	if err := s.st.CodecParameters().FromCodecContext(enc.ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("copying encoder parameters to the MPEG-TS stream: %w", err)
	}
	s.st.SetTimeBase(enc.ctx.TimeBase())
	s.ioc, err = astiav.AllocIOContext(64*1024, true, nil, nil, func(b []byte) (int, error) {
		s.buf = append(s.buf, b...)
		return len(b), nil
	})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("creating the MPEG-TS segment buffer: %w", err)
	}
	fc.SetPb(s.ioc)
	opts := map[string]string{
		"max_delay": tsMuxDelay,
		// Every rendition has its own muxer: shifting each by its own first
		// timestamp would put audio and video out of step.
		"avoid_negative_ts": "disabled",
	}
	dict := astiav.NewDictionary()
	defer dict.Free()
	for k, v := range opts {
		if err := dict.Set(k, v, 0); err != nil {
			s.Close()
			return nil, fmt.Errorf("setting MPEG-TS option %s: %w", k, err)
		}
	}
	if err := fc.WriteHeader(dict); err != nil {
		s.Close()
		return nil, fmt.Errorf("starting the MPEG-TS muxer: %w", err)
	}
	return s, nil
}

// write muxes one packet (in the encoder's time base). newSegment starts a
// segment with it at presentation time start (90 kHz); key marks a video
// keyframe at time t for the I-frame playlist.
func (s *tsSegmenter) write(pkt *astiav.Packet, newSegment bool, start int64, key bool, t int64) error {
	if newSegment {
		if s.open {
			if err := s.cut(); err != nil {
				return err
			}
		}
		s.open, s.start, s.keys = true, start, nil
		if err := av.ResendTSHeaders(s.fc); err != nil {
			return err
		}
	}
	if key {
		s.keys = append(s.keys, t)
	}
	c := pkt.Clone()
	defer c.Free()
	c.SetStreamIndex(s.st.Index())
	c.RescaleTs(s.encTB, s.st.TimeBase())
	if err := s.fc.WriteFrame(c); err != nil {
		return fmt.Errorf("muxing MPEG-TS: %w", err)
	}
	return nil
}

// cut flushes the muxer (audio waits in it to fill a PES packet) and hands
// the bytes since the last cut to the track.
func (s *tsSegmenter) cut() error {
	if err := s.fc.WriteFrame(nil); err != nil {
		return fmt.Errorf("flushing MPEG-TS: %w", err)
	}
	return s.take()
}

func (s *tsSegmenter) take() error {
	s.ioc.Flush()
	data := s.buf
	s.buf = nil
	return s.track.AddSegment(data, s.start, s.keys)
}

// finish writes the last segment; end is the rendition's presentation end.
func (s *tsSegmenter) finish(end int64) error {
	if !s.open {
		return fmt.Errorf("MPEG-TS rendition received no packets")
	}
	// The trailer flushes what the muxer holds; nothing may be written after.
	if err := s.fc.WriteTrailer(); err != nil {
		return fmt.Errorf("finishing MPEG-TS: %w", err)
	}
	s.open = false
	if err := s.take(); err != nil {
		return err
	}
	return s.track.Finish(end)
}

func (s *tsSegmenter) Close() {
	if s.fc != nil {
		s.fc.Free()
		s.fc = nil
	}
	if s.ioc != nil {
		s.ioc.Free()
		s.ioc = nil
	}
}
