package packaging

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"kiln/sdi"
)

// TrackConfig describes one CMAF track: one elementary stream, in its own
// folder, as an init segment and numbered media segments.
type TrackConfig struct {
	Kind      string // "video" or "audio"
	Timescale uint32 // ticks per second of every time in the track
	// Lead is added to every presentation time, in ticks, so that the
	// earliest sample of every track of a package (the audio encoder's
	// priming) starts at zero or later, with audio and video kept in sync.
	Lead int64
	// Video.
	Width, Height int          // coded
	SAR           sdi.Rational // 1:1 when zero
	AVC           *AVCConfig
	// Audio.
	Audio    *AudioConfig
	Language string // ISO 639-2/T, "und" when unknown
}

// Sample is one access unit on its way into a package.
type Sample struct {
	PTS, DTS int64 // ticks, as the encoder stamped them (DTS may be negative)
	Duration int64 // ticks; used for the last sample of a track
	Key      bool
	Data     []byte // H.264: Annex B; audio: one raw frame
}

// Segment is one media segment a track wrote.
type Segment struct {
	Number int    // from 1
	URI    string // file name, relative to the track's folder
	// Start and Duration are presentation times in ticks: the segment's
	// earliest picture or sound, and the time to the next segment's.
	Start, Duration int64
	Size            int64
	Keyframes       []Keyframe
}

// Keyframe locates one sync sample inside a segment file, for I-frame
// playlists: the byte range that decodes to that picture on its own.
type Keyframe struct {
	Offset, Length int64
	Time, Duration int64 // presentation, ticks
}

// CMAF file names inside a track folder.
const (
	CMAFInit          = "init.mp4"
	cmafSegmentFormat = "seg-%05d.m4s"
)

// CMAFSegmentTemplate is the DASH SegmentTemplate media pattern that names
// the segments CMAFTrack writes.
const CMAFSegmentTemplate = "seg-$Number%05d$.m4s"

// CMAFTrack writes one track as CMAF: init.mp4 and seg-NNNNN.m4s files, each
// segment made of one fragment (moof+mdat) per GOP for video, so that every
// keyframe starts a fragment that an I-frame playlist can address, and one
// fragment per segment for audio.
//
// Decode and presentation times are the samples' own plus Lead, with no
// edit list: the caller stamps decode times no later than presentation
// times and picks a Lead that keeps decode times at zero or later, so that
// every composition offset is zero or positive (version 0 trun). Players do
// not agree on negative offsets (libavformat and GStreamer shift a track by
// the largest they have seen so far), and tracks of one package whose
// encoders reorder differently must still present on one timeline.
type CMAFTrack struct {
	dir string
	cfg TrackConfig

	started bool
	seq     uint32
	pending []Sample
	segs    []Segment
}

// NewCMAFTrack prepares a track writing into dir, which must exist.
func NewCMAFTrack(dir string, cfg TrackConfig) (*CMAFTrack, error) {
	switch {
	case cfg.Timescale == 0:
		return nil, errors.New("CMAF track without a timescale")
	case cfg.Kind == "video" && cfg.AVC == nil:
		return nil, errors.New("CMAF video track without an H.264 configuration")
	case cfg.Kind == "audio" && cfg.Audio == nil:
		return nil, errors.New("CMAF audio track without an audio configuration")
	case cfg.Kind != "video" && cfg.Kind != "audio":
		return nil, fmt.Errorf("CMAF track kind %q is not video or audio", cfg.Kind)
	}
	if cfg.Language == "" {
		cfg.Language = "und"
	}
	return &CMAFTrack{dir: dir, cfg: cfg}, nil
}

// Config returns the track's configuration.
func (t *CMAFTrack) Config() TrackConfig { return t.cfg }

// WriteSample adds one sample in decode order. newSegment starts a new
// segment with it; the first sample always does.
func (t *CMAFTrack) WriteSample(s Sample, newSegment bool) error {
	if !t.started {
		t.started = true
		if s.DTS+t.cfg.Lead < 0 {
			return fmt.Errorf("CMAF %s track starts decoding at %d ticks, before zero even with a lead of %d", t.cfg.Kind, s.DTS, t.cfg.Lead)
		}
		if err := os.WriteFile(filepath.Join(t.dir, CMAFInit), t.initSegment(), 0o644); err != nil {
			return fmt.Errorf("writing CMAF init segment: %w", err)
		}
		newSegment = true
	}
	if s.PTS < s.DTS {
		return fmt.Errorf("CMAF %s track: a sample presented at %d ticks is decoded later, at %d", t.cfg.Kind, s.PTS, s.DTS)
	}
	if t.cfg.Kind == "video" && t.cfg.AVC != nil && IsAnnexB(s.Data) {
		s.Data = AnnexBToAVCC(s.Data)
	}
	if newSegment && len(t.pending) > 0 {
		if err := t.flush(t.decodeTime(s)); err != nil {
			return err
		}
	}
	t.pending = append(t.pending, s)
	return nil
}

// Finish writes the last segment.
func (t *CMAFTrack) Finish() error {
	if len(t.pending) == 0 {
		if !t.started {
			return fmt.Errorf("CMAF %s track received no samples", t.cfg.Kind)
		}
		return nil
	}
	last := t.pending[len(t.pending)-1]
	return t.flush(t.decodeTime(last) + max(last.Duration, 1))
}

// Segments lists what the track wrote, once finished.
func (t *CMAFTrack) Segments() []Segment { return t.segs }

func (t *CMAFTrack) decodeTime(s Sample) int64 { return s.DTS + t.cfg.Lead }
func (t *CMAFTrack) presentation(s Sample) int64 {
	return s.PTS + t.cfg.Lead
}

// flush writes the pending samples as one segment. next is the decode time
// of the sample after them, which sets the last one's duration.
func (t *CMAFTrack) flush(next int64) error {
	samples := t.pending
	t.pending = nil
	durations := make([]int64, len(samples))
	for i := range samples {
		end := next
		if i+1 < len(samples) {
			end = t.decodeTime(samples[i+1])
		}
		durations[i] = end - t.decodeTime(samples[i])
		if durations[i] <= 0 {
			return fmt.Errorf("CMAF %s track: decode times do not increase at %d ticks", t.cfg.Kind, t.decodeTime(samples[i]))
		}
	}

	seg := Segment{Number: len(t.segs) + 1}
	seg.URI = fmt.Sprintf(cmafSegmentFormat, seg.Number)
	file := newBox("styp").str("msdh").u32(0).str("msdh").str("msix").str("cmfs").bytes()

	// One fragment per GOP for video, one per segment for audio.
	var starts []int
	for i, s := range samples {
		if i == 0 || (t.cfg.Kind == "video" && s.Key) {
			starts = append(starts, i)
		}
	}
	starts = append(starts, len(samples))
	earliest, latest := int64(0), int64(0)
	for f := 0; f+1 < len(starts); f++ {
		frag := samples[starts[f]:starts[f+1]]
		fragDur := durations[starts[f]:starts[f+1]]
		moof := t.moof(frag, fragDur)
		offset := int64(len(file))
		file = append(file, moof...)
		var payload int
		for _, s := range frag {
			payload += len(s.Data)
		}
		file = append(file, mdatHeader(payload)...)
		for _, s := range frag {
			file = append(file, s.Data...)
		}
		if frag[0].Key {
			seg.Keyframes = append(seg.Keyframes, Keyframe{
				Offset: offset, Length: int64(len(moof)) + 8 + int64(len(frag[0].Data)),
				Time: t.presentation(frag[0]),
			})
		}
	}
	for i, s := range samples {
		p := t.presentation(s)
		if i == 0 || p < earliest {
			earliest = p
		}
		if e := p + durations[i]; i == 0 || e > latest {
			latest = e
		}
	}
	seg.Start = earliest
	seg.Duration = latest - earliest
	seg.Size = int64(len(file))
	// Each keyframe lasts until the next one, the last until the segment ends.
	for i := range seg.Keyframes {
		end := latest
		if i+1 < len(seg.Keyframes) {
			end = seg.Keyframes[i+1].Time
		}
		seg.Keyframes[i].Duration = end - seg.Keyframes[i].Time
	}
	// A segment lasts until the next one starts: close the gap (or overlap)
	// that B-frame reordering leaves at the boundary.
	if n := len(t.segs); n > 0 {
		prev := &t.segs[n-1]
		prev.Duration = seg.Start - prev.Start
		if k := len(prev.Keyframes); k > 0 {
			prev.Keyframes[k-1].Duration = seg.Start - prev.Keyframes[k-1].Time
		}
	}
	if err := os.WriteFile(filepath.Join(t.dir, seg.URI), file, 0o644); err != nil {
		return fmt.Errorf("writing CMAF segment: %w", err)
	}
	t.segs = append(t.segs, seg)
	return nil
}

// mdatHeader is the header of an mdat box holding payload bytes.
func mdatHeader(payload int) []byte {
	n := uint32(payload + 8)
	return []byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n), 'm', 'd', 'a', 't'}
}

// moof builds one movie fragment for samples with their durations.
func (t *CMAFTrack) moof(samples []Sample, durations []int64) []byte {
	build := func(dataOffset int32) []byte {
		video := t.cfg.Kind == "video"
		flags := uint32(0x000001 | 0x000100 | 0x000200 | 0x000400) // offset, duration, size, flags
		if video {
			flags |= 0x000800 // composition offsets
		}
		trun := newFullBox("trun", 0, flags).u32(uint32(len(samples))).u32(uint32(dataOffset))
		for i, s := range samples {
			trun.u32(uint32(durations[i])).u32(uint32(len(s.Data)))
			if s.Key || !video {
				trun.u32(syncSampleFlags)
			} else {
				trun.u32(nonSyncSampleFlags)
			}
			if video {
				trun.u32(uint32(t.presentation(s) - t.decodeTime(s)))
			}
		}
		traf := newBox("traf").add(
			newFullBox("tfhd", 0, 0x020000).u32(1).bytes(), // default-base-is-moof, track 1
			newFullBox("tfdt", 1, 0).u64(uint64(t.decodeTime(samples[0]))).bytes(),
			trun.bytes(),
		)
		return newBox("moof").add(newFullBox("mfhd", 0, 0).u32(t.seq+1).bytes(), traf.bytes()).bytes()
	}
	first := build(0)
	out := build(int32(len(first) + 8))
	t.seq++
	return out
}
