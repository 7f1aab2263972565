package packaging

import (
	"bytes"
	"fmt"
	"math"
	"os"

	"github.com/Eyevinn/mp4ff/mp4"
)

// RaiseCompositionOffsets adds by ticks to the composition offset of every
// sample of every movie fragment in the fragmented MP4 file at path, in
// place, and marks each trun version 0 (unsigned offsets). A muxer that
// decodes each fragment's first sample when it is shown gives the samples
// after it negative offsets, and players read those differently (libavformat
// and GStreamer shift the track by the largest they have seen so far): once
// raised by the stream's reorder delay, no offset is negative and every
// reader puts every sample at decode time plus offset. An offset that would
// stay negative is an error, and the file is left as it was.
func RaiseCompositionOffsets(path string, by int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	type patch struct {
		off int64
		b   []byte
	}
	var patches []patch
	err = walkBoxes(f, st.Size(), func(hdr mp4.BoxHeader, off int64) error {
		if hdr.Name != "moof" {
			return nil
		}
		moof, before, err := readMoof(f, off, hdr)
		if err != nil {
			return err
		}
		for _, traf := range moof.Trafs {
			for _, trun := range traf.Truns {
				if trun.HasDataOffset() && trun.DataOffset == 0 {
					return fmt.Errorf("moof at %d: a trun points at its own moof (data offset 0)", off)
				}
			}
		}
		// Only the offsets and the trun versions may change: check that
		// mp4ff writes this moof back byte for byte before raising.
		if same, err := encodeBox(moof); err != nil || !bytes.Equal(same, before) {
			return fmt.Errorf("moof at %d does not read back to the same bytes (%v)", off, err)
		}
		if err := raiseMoofOffsets(moof, by); err != nil {
			return fmt.Errorf("moof at %d: %w", off, err)
		}
		after, err := encodeBox(moof)
		if err != nil {
			return fmt.Errorf("moof at %d: %w", off, err)
		}
		if len(after) != len(before) {
			return fmt.Errorf("moof at %d grew from %d to %d bytes", off, len(before), len(after))
		}
		patches = append(patches, patch{off, after})
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	// Written only once every fragment is known to take the raise.
	for _, p := range patches {
		if _, err := f.WriteAt(p.b, p.off); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return f.Sync()
}

// raiseMoofOffsets raises the offsets of every trun of a moof, and makes
// each a version 0 trun.
func raiseMoofOffsets(moof *mp4.MoofBox, by int64) error {
	for _, traf := range moof.Trafs {
		for _, trun := range traf.Truns {
			if !trun.HasSampleCompositionTimeOffset() {
				continue // no offsets: every sample shows when it decodes
			}
			for i := range trun.Samples {
				cto := compositionOffset(trun, trun.Samples[i]) + by
				if cto < 0 || cto > math.MaxUint32 {
					return fmt.Errorf("sample %d's composition offset is %d after raising it by %d", i+1, cto, by)
				}
				// Version 0: the int32 carries the unsigned offset's bits.
				trun.Samples[i].CompositionTimeOffset = int32(uint32(cto))
			}
			trun.Version = 0
		}
	}
	return nil
}
