package packaging

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/Eyevinn/mp4ff/mp4"

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
		init, err := t.initSegment()
		if err != nil {
			return fmt.Errorf("CMAF init segment: %w", err)
		}
		if err := os.WriteFile(filepath.Join(t.dir, CMAFInit), init, 0o644); err != nil {
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
	file := mp4.NewMediaSegmentWithStyp(mp4.NewStyp("msdh", 0, []string{"msdh", "msix", "cmfs"}))

	// One fragment per GOP for video, one per segment for audio.
	var starts []int
	for i, s := range samples {
		if i == 0 || (t.cfg.Kind == "video" && s.Key) {
			starts = append(starts, i)
		}
	}
	starts = append(starts, len(samples))
	earliest, latest := int64(0), int64(0)
	offset := int64(file.Size())
	for f := 0; f+1 < len(starts); f++ {
		frag := samples[starts[f]:starts[f+1]]
		fragment := t.fragment(frag, durations[starts[f]:starts[f+1]])
		file.AddFragment(fragment)
		if frag[0].Key {
			seg.Keyframes = append(seg.Keyframes, Keyframe{
				Offset: offset,
				Length: int64(fragment.Moof.Size()+fragment.Mdat.HeaderSize()) + int64(len(frag[0].Data)),
				Time:   t.presentation(frag[0]),
			})
		}
		offset += int64(fragment.Size())
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
	b, err := encodeBox(file)
	if err != nil {
		return fmt.Errorf("CMAF segment %d: %w", seg.Number, err)
	}
	seg.Size = int64(len(b))
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
	if err := os.WriteFile(filepath.Join(t.dir, seg.URI), b, 0o644); err != nil {
		return fmt.Errorf("writing CMAF segment: %w", err)
	}
	t.segs = append(t.segs, seg)
	return nil
}

// Sample flags (ISO/IEC 14496-12 8.8.3.1): a sync sample depends on no other
// (sample_depends_on = 2); any other depends on others and is not a sync
// sample (sample_is_non_sync_sample = 1).
var (
	syncSampleFlags    = mp4.SampleFlags{SampleDependsOn: 2}.Encode()
	nonSyncSampleFlags = mp4.SampleFlags{SampleDependsOn: 1, SampleIsNonSync: true}.Encode()
)

// fragment builds one movie fragment (moof and mdat) for samples with
// their durations: one track run of version 0, whose composition offsets
// are unsigned, as the track's lead guarantees.
func (t *CMAFTrack) fragment(samples []Sample, durations []int64) *mp4.Fragment {
	video := t.cfg.Kind == "video"
	trun := &mp4.TrunBox{Flags: mp4.TrunDataOffsetPresentFlag | mp4.TrunSampleDurationPresentFlag |
		mp4.TrunSampleSizePresentFlag | mp4.TrunSampleFlagsPresentFlag}
	if video {
		trun.Flags |= mp4.TrunSampleCompositionTimeOffsetPresentFlag
	}
	mdat := &mp4.MdatBox{}
	for i, s := range samples {
		flags := syncSampleFlags
		if video && !s.Key {
			flags = nonSyncSampleFlags
		}
		// A version 0 offset is unsigned: the int32 carries its bits.
		cto := int32(uint32(t.presentation(s) - t.decodeTime(s)))
		trun.AddSample(mp4.NewSample(flags, uint32(durations[i]), uint32(len(s.Data)), cto))
		mdat.AddSampleDataPart(s.Data)
	}
	tfdt := mp4.CreateTfdt(uint64(t.decodeTime(samples[0])))
	tfdt.Version = 1 // 64-bit decode times from the first fragment on

	traf := &mp4.TrafBox{}
	traf.AddChild(mp4.CreateTfhd(cmafTrackID)) // default-base-is-moof
	traf.AddChild(tfdt)
	traf.AddChild(trun)
	moof := &mp4.MoofBox{}
	moof.AddChild(mp4.CreateMfhd(t.seq + 1))
	moof.AddChild(traf)
	t.seq++

	f := mp4.NewFragment()
	f.AddChild(moof)
	f.AddChild(mdat) // Encode points the trun's data offset into it
	return f
}
