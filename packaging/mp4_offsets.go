package packaging

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/Eyevinn/mp4ff/mp4"
)

// RaiseCompositionOffsets adds by ticks to the composition offset of every
// sample of every movie fragment in the fragmented MP4 file at path, and
// marks each trun version 0 (unsigned offsets). A muxer that decodes each
// fragment's first sample when it is shown gives the samples after it
// negative offsets, and players read those differently (libavformat and
// GStreamer shift the track by the largest they have seen so far): once
// raised by the stream's reorder delay, no offset is negative and every
// reader puts every sample at decode time plus offset.
//
// A trun that carries no offsets at all (libav leaves them out of a track
// whose samples all show when they decode: a rung encoded without
// B-frames) gets them: by on every sample. That makes its moof longer, so
// the file is written anew, with the moof offsets of its mfra index and
// its data offsets moved to match; otherwise it is patched in place.
//
// An offset that would stay negative is an error, and the file is left as
// it was.
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
	var (
		boxes []topBox
		shift int64 // how much longer the moofs before this box have grown
	)
	err = walkBoxes(f, st.Size(), func(hdr mp4.BoxHeader, off int64) error {
		b := topBox{typ: hdr.Name, off: off, size: int64(hdr.Size), shift: shift}
		if hdr.Name == "moof" {
			raised, err := raiseMoof(f, off, hdr, by, shift)
			if err != nil {
				return fmt.Errorf("moof at %d: %w", off, err)
			}
			b.raised = raised
			shift += int64(len(raised)) - b.size
		}
		boxes = append(boxes, b)
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if shift != 0 {
		return rewriteRaised(f, path, st.Mode().Perm(), boxes)
	}
	// Written only once every fragment is known to take the raise.
	for _, b := range boxes {
		if b.raised != nil {
			if _, err := f.WriteAt(b.raised, b.off); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
	}
	return f.Sync()
}

// topBox is one top-level box of a file being raised.
type topBox struct {
	typ       string
	off, size int64
	shift     int64  // how far the raise moves it
	raised    []byte // a moof's new bytes
}

// raiseMoof returns the moof at off with every trun raised and its data
// offsets moved. shift is how far the raise moves the moof in the file.
func raiseMoof(f io.ReaderAt, off int64, hdr mp4.BoxHeader, by, shift int64) ([]byte, error) {
	moof, before, err := readMoof(f, off, hdr)
	if err != nil {
		return nil, err
	}
	for _, traf := range moof.Trafs {
		for _, trun := range traf.Truns {
			if trun.HasDataOffset() && trun.DataOffset == 0 {
				return nil, fmt.Errorf("a trun points at its own moof (data offset 0)")
			}
		}
	}
	// Only the offsets, the trun versions and what follows from them may
	// change: check that mp4ff writes this moof back byte for byte first.
	if same, err := encodeBox(moof); err != nil || !bytes.Equal(same, before) {
		return nil, fmt.Errorf("it does not read back to the same bytes (%v)", err)
	}
	if err := raiseMoofOffsets(moof, by); err != nil {
		return nil, err
	}
	growth := int64(moof.Size()) - int64(len(before))
	if growth != 0 {
		moveDataOffsets(moof, growth, shift)
	}
	return encodeBox(moof)
}

// raiseMoofOffsets raises the offsets of every trun of a moof, and makes
// each a version 0 trun. A trun without offsets gets them.
func raiseMoofOffsets(moof *mp4.MoofBox, by int64) error {
	for _, traf := range moof.Trafs {
		for _, trun := range traf.Truns {
			had := trun.HasSampleCompositionTimeOffset()
			for i := range trun.Samples {
				cto := by
				if had {
					cto += compositionOffset(trun, trun.Samples[i])
				}
				if cto < 0 || cto > math.MaxUint32 {
					return fmt.Errorf("sample %d's composition offset is %d after raising it by %d", i+1, cto, by)
				}
				// Version 0: the int32 carries the unsigned offset's bits.
				trun.Samples[i].CompositionTimeOffset = int32(uint32(cto))
			}
			trun.Flags |= mp4.TrunSampleCompositionTimeOffsetPresentFlag
			trun.Version = 0
		}
	}
	return nil
}

// moveDataOffsets moves the data offsets of a moof that grew by growth
// bytes, and moved by shift in the file. Each traf's tfhd says where its
// data offsets count from: a base data offset (absolute: moves by shift
// and growth), the moof's start (default-base-is-moof, or the first traf of
// a moof whose tfhd names no base: moves by growth), or the end of the
// previous traf's data (unmoved).
func moveDataOffsets(moof *mp4.MoofBox, growth, shift int64) {
	for i, traf := range moof.Trafs {
		fromMoof := i == 0
		switch tfhd := traf.Tfhd; {
		case tfhd.HasBaseDataOffset():
			tfhd.BaseDataOffset = uint64(int64(tfhd.BaseDataOffset) + shift + growth)
			fromMoof = false
		case tfhd.DefaultBaseIfMoof():
			fromMoof = true
		}
		if !fromMoof {
			continue
		}
		for _, trun := range traf.Truns {
			if trun.HasDataOffset() {
				trun.DataOffset += int32(growth)
			}
		}
	}
}

// rewriteRaised writes the file again with its grown moofs, beside it, and
// puts it in its place. An mfra's moof offsets move with the moofs; a sidx
// (which counts the bytes of what it indexes) is not expected in the files
// this is for, and refused.
func rewriteRaised(f *os.File, path string, perm os.FileMode, boxes []topBox) error {
	moved := func(off uint64) uint64 {
		for i := len(boxes) - 1; i >= 0; i-- {
			if boxes[i].off <= int64(off) {
				return uint64(int64(off) + boxes[i].shift)
			}
		}
		return off
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".raise-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing there
	defer tmp.Close()
	for _, b := range boxes {
		switch {
		case b.raised != nil:
			_, err = tmp.Write(b.raised)
		case b.typ == "sidx":
			err = fmt.Errorf("a sidx at %d indexes bytes the raise moves", b.off)
		case b.typ == "mfra":
			var mfra []byte
			if mfra, err = movedMfra(f, b, moved); err == nil {
				_, err = tmp.Write(mfra)
			}
		default:
			_, err = io.Copy(tmp, io.NewSectionReader(f, b.off, b.size))
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	if err := tmp.Chmod(perm); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// movedMfra returns the mfra box b with the moof offset of every tfra entry
// moved; it keeps its size (a version 0 tfra whose offsets outgrow 32 bits
// is an error).
func movedMfra(f io.ReaderAt, b topBox, moved func(uint64) uint64) ([]byte, error) {
	raw := make([]byte, b.size)
	if _, err := f.ReadAt(raw, b.off); err != nil {
		return nil, err
	}
	box, err := mp4.DecodeBox(uint64(b.off), bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("mfra at %d: %w", b.off, err)
	}
	mfra, ok := box.(*mp4.MfraBox)
	if !ok {
		return nil, fmt.Errorf("box at %d is %s, not mfra", b.off, box.Type())
	}
	for _, tfra := range mfra.Tfras {
		for i := range tfra.Entries {
			e := &tfra.Entries[i]
			e.MoofOffset = moved(e.MoofOffset)
			if tfra.Version == 0 && e.MoofOffset > math.MaxUint32 {
				return nil, fmt.Errorf("tfra entry %d: moof offset %d does not fit 32 bits", i+1, e.MoofOffset)
			}
		}
	}
	out, err := encodeBox(mfra)
	if err != nil {
		return nil, err
	}
	if int64(len(out)) != b.size {
		return nil, fmt.Errorf("mfra at %d changed size from %d to %d bytes", b.off, b.size, len(out))
	}
	return out, nil
}
