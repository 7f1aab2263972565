package packaging

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
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
	for off := int64(0); off < st.Size(); {
		typ, size, header, err := readBoxHeader(f, off, st.Size())
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if typ == "moof" {
			moof := make([]byte, size)
			if _, err := f.ReadAt(moof, off); err != nil {
				return fmt.Errorf("%s: reading moof at %d: %w", path, off, err)
			}
			if err := raiseMoofOffsets(moof[header:], by); err != nil {
				return fmt.Errorf("%s: moof at %d: %w", path, off, err)
			}
			patches = append(patches, patch{off, moof})
		}
		off += size
	}
	// Written only once every fragment is known to take the raise.
	for _, p := range patches {
		if _, err := f.WriteAt(p.b, p.off); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return f.Sync()
}

// raiseMoofOffsets rewrites the truns of one moof payload in place.
func raiseMoofOffsets(b []byte, by int64) error {
	boxes, err := children(b)
	if err != nil {
		return err
	}
	for _, bx := range boxes {
		if bx.typ != "traf" {
			continue
		}
		trafBoxes, err := children(bx.payload)
		if err != nil {
			return err
		}
		for _, t := range trafBoxes {
			if t.typ != "trun" {
				continue
			}
			p := t.payload
			if len(p) < 8 {
				return fmt.Errorf("short trun")
			}
			flags := binary.BigEndian.Uint32(p) & 0xffffff
			if flags&0x800 == 0 {
				continue // no offsets: every sample shows when it decodes
			}
			signed := p[0] == 1
			n := int(binary.BigEndian.Uint32(p[4:]))
			q := p[8:]
			for _, bit := range []uint32{0x01, 0x04} {
				if flags&bit != 0 {
					if len(q) < 4 {
						return fmt.Errorf("short trun")
					}
					q = q[4:]
				}
			}
			per, at := 0, 0
			for _, bit := range []uint32{0x100, 0x200, 0x400, 0x800} {
				if flags&bit != 0 {
					if bit == 0x800 {
						at = per
					}
					per += 4
				}
			}
			if len(q) < per*n {
				return fmt.Errorf("trun of %d samples is truncated", n)
			}
			for i := 0; i < n; i++ {
				e := q[i*per+at:]
				cto := int64(binary.BigEndian.Uint32(e))
				if signed {
					cto = int64(int32(binary.BigEndian.Uint32(e)))
				}
				cto += by
				if cto < 0 || cto > math.MaxUint32 {
					return fmt.Errorf("sample %d's composition offset is %d after raising it by %d", i+1, cto, by)
				}
				binary.BigEndian.PutUint32(e, uint32(cto))
			}
			p[0] = 0
		}
	}
	return nil
}
