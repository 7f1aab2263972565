package packaging

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/Eyevinn/mp4ff/mp4"
)

// Fragment is one movie fragment (moof and the mdat after it) of a
// fragmented MP4 file.
type Fragment struct {
	Offset int64 // of the moof
	// Size is the length of the moof and the mdat boxes that follow it:
	// the bytes a Smooth Streaming origin serves for the fragment.
	Size     int64
	Time     uint64
	Duration uint64
	Samples  int
	// Sync reports whether the fragment's first sample is a sync sample.
	Sync bool
	// Presentation is when the first sample is shown, as a player reads
	// it: its decode time (tfdt, or Smooth's tfxd, which players take as
	// the fragment's decode time) plus its composition offset.
	Presentation int64
	// NegativeOffsets reports a sample shown before it is decoded: players
	// do not agree where to show such a fragment's pictures.
	NegativeOffsets bool
}

// ReadFragments lists the fragments of a fragmented MP4 file, reading only
// the box headers and the moof boxes. A fragment's time and duration come
// from its tfxd box when it has one (Smooth Streaming), otherwise from tfdt
// and the sample durations in trun.
func ReadFragments(path string) ([]Fragment, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	frags, err := readFragments(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return frags, nil
}

// readFragments lists the fragments of the size bytes of r.
func readFragments(r io.ReaderAt, size int64) ([]Fragment, error) {
	var frags []Fragment
	err := walkBoxes(r, size, func(hdr mp4.BoxHeader, off int64) error {
		switch hdr.Name {
		case "moof":
			moof, _, err := readMoof(r, off, hdr)
			if err != nil {
				return err
			}
			fr, err := fragmentOf(moof)
			if err != nil {
				return fmt.Errorf("moof at %d: %w", off, err)
			}
			fr.Offset, fr.Size = off, int64(hdr.Size)
			frags = append(frags, fr)
		case "mdat":
			if n := len(frags); n > 0 && frags[n-1].Offset+frags[n-1].Size == off {
				frags[n-1].Size += int64(hdr.Size)
			}
		}
		return nil
	})
	return frags, err
}

// walkBoxes calls visit with the header and the offset of each top-level
// box in the size bytes of r, reading nothing but the headers itself.
func walkBoxes(r io.ReaderAt, size int64, visit func(hdr mp4.BoxHeader, off int64) error) error {
	for off := int64(0); off < size; {
		hdr, err := mp4.DecodeHeader(io.NewSectionReader(r, off, size-off))
		if err != nil {
			return fmt.Errorf("box header at %d: %w", off, err)
		}
		if hdr.Size > uint64(size-off) {
			return fmt.Errorf("box %q at %d has size %d beyond the file", hdr.Name, off, hdr.Size)
		}
		if err := visit(hdr, off); err != nil {
			return err
		}
		off += int64(hdr.Size)
	}
	return nil
}

// readMoof decodes the moof box at off, and returns its bytes as well.
func readMoof(r io.ReaderAt, off int64, hdr mp4.BoxHeader) (*mp4.MoofBox, []byte, error) {
	b := make([]byte, hdr.Size)
	if _, err := r.ReadAt(b, off); err != nil {
		return nil, nil, fmt.Errorf("reading moof at %d: %w", off, err)
	}
	box, err := mp4.DecodeBox(uint64(off), bytes.NewReader(b))
	if err != nil {
		return nil, nil, fmt.Errorf("moof at %d: %w", off, err)
	}
	moof, ok := box.(*mp4.MoofBox)
	if !ok {
		return nil, nil, fmt.Errorf("box at %d is %s, not moof", off, box.Type())
	}
	return moof, b, nil
}

// fragmentOf reads a fragment's times and samples from its moof.
func fragmentOf(moof *mp4.MoofBox) (fr Fragment, err error) {
	haveTfxd := false
	var firstOffset int64
	for _, traf := range moof.Trafs {
		var defaultDur, defaultFlags uint32
		for _, child := range traf.Children {
			switch b := child.(type) {
			case *mp4.TfhdBox:
				if b.HasDefaultSampleDuration() {
					defaultDur = b.DefaultSampleDuration
				}
				if b.HasDefaultSampleFlags() {
					defaultFlags = b.DefaultSampleFlags
				}
			case *mp4.TfdtBox:
				if !haveTfxd {
					fr.Time = b.BaseMediaDecodeTime()
				}
			case *mp4.UUIDBox:
				if b.Tfxd == nil {
					continue
				}
				fr.Time, fr.Duration = b.Tfxd.FragmentAbsoluteTime, b.Tfxd.FragmentAbsoluteDuration
				haveTfxd = true
			case *mp4.TrunBox:
				run := readTrun(b, defaultDur, defaultFlags)
				fr.NegativeOffsets = fr.NegativeOffsets || run.negative
				if fr.Samples == 0 {
					fr.Sync, firstOffset = run.sync, run.firstOffset
				}
				fr.Samples += run.samples
				if !haveTfxd {
					fr.Duration += run.duration
				}
			}
		}
	}
	fr.Presentation = int64(fr.Time) + firstOffset
	return fr, nil
}

// trunSummary is what a fragment's description needs of one track run.
type trunSummary struct {
	samples  int
	duration uint64
	// sync reports whether the first sample is a sync sample, firstOffset
	// its composition offset.
	sync        bool
	firstOffset int64
	// negative reports a sample shown before it is decoded.
	negative bool
}

// readTrun sums up a trun, with the defaults of its tfhd for what it does
// not state per sample.
func readTrun(trun *mp4.TrunBox, defaultDur, defaultFlags uint32) trunSummary {
	s := trunSummary{samples: len(trun.Samples)}
	for i, sample := range trun.Samples {
		d := defaultDur
		if trun.HasSampleDuration() {
			d = sample.Dur
		}
		s.duration += uint64(d)
		if trun.HasSampleCompositionTimeOffset() {
			cto := compositionOffset(trun, sample)
			if i == 0 {
				s.firstOffset = cto
			}
			s.negative = s.negative || cto < 0
		}
	}
	flags := defaultFlags
	if first, ok := trun.FirstSampleFlags(); ok {
		flags = first
	} else if trun.HasSampleFlags() && len(trun.Samples) > 0 {
		flags = trun.Samples[0].Flags
	}
	s.sync = !mp4.DecodeSampleFlags(flags).SampleIsNonSync
	return s
}

// compositionOffset is a sample's composition offset: unsigned in a
// version 0 trun, signed in version 1.
func compositionOffset(trun *mp4.TrunBox, s mp4.Sample) int64 {
	if trun.Version == 0 {
		return int64(uint32(s.CompositionTimeOffset))
	}
	return int64(s.CompositionTimeOffset)
}
