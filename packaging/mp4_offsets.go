package packaging

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
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
	for off := int64(0); off < st.Size(); {
		typ, size, header, err := readBoxHeader(f, off, st.Size())
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		b := topBox{typ: typ, off: off, size: size, shift: shift}
		if typ == "moof" {
			moof := make([]byte, size)
			if _, err := f.ReadAt(moof, off); err != nil {
				return fmt.Errorf("%s: reading moof at %d: %w", path, off, err)
			}
			if b.raised, err = raiseMoof(moof, int(header), by, shift); err != nil {
				return fmt.Errorf("%s: moof at %d: %w", path, off, err)
			}
			shift += int64(len(b.raised)) - size
		}
		boxes = append(boxes, b)
		off += size
	}
	if shift == 0 {
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
	return rewriteRaised(f, path, st.Mode().Perm(), boxes)
}

// topBox is one top-level box of a file being raised.
type topBox struct {
	typ       string
	off, size int64
	shift     int64  // how far the raise moves it
	raised    []byte // a moof's new bytes
}

// rewriteRaised writes the file again with its grown moofs, beside it, and
// puts it in its place. An mfra's moof offsets move with the moofs; a sidx
// (which counts the bytes of what it indexes) is not expected in the files
// this is for, and refused.
func rewriteRaised(f *os.File, path string, perm os.FileMode, boxes []topBox) error {
	moved := func(off int64) int64 {
		for i := len(boxes) - 1; i >= 0; i-- {
			if boxes[i].off <= off {
				return off + boxes[i].shift
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
			mfra := make([]byte, b.size)
			if _, err = f.ReadAt(mfra, b.off); err == nil {
				if err = moveMfraOffsets(mfra, moved); err == nil {
					_, err = tmp.Write(mfra)
				}
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

// raiseMoof returns a moof box with every trun raised. shift is how far the
// raise moves the moof in the file: a base data offset (absolute) moves by
// it and by the moof's own growth; a data offset counted from the moof's
// start moves by its growth only.
func raiseMoof(moof []byte, header int, by, shift int64) ([]byte, error) {
	kids, err := children(moof[header:])
	if err != nil {
		return nil, err
	}
	// A trun gains four bytes a sample when it gets offsets.
	var growth int64
	for _, k := range kids {
		if k.typ != "traf" {
			continue
		}
		trafKids, err := children(k.payload)
		if err != nil {
			return nil, err
		}
		for _, t := range trafKids {
			if t.typ != "trun" {
				continue
			}
			if len(t.payload) < 8 {
				return nil, errors.New("short trun")
			}
			if binary.BigEndian.Uint32(t.payload)&0x800 == 0 {
				growth += 4 * int64(binary.BigEndian.Uint32(t.payload[4:]))
			}
		}
	}
	var payload []byte
	first := true
	for _, k := range kids {
		if k.typ != "traf" {
			payload = appendBox(payload, k.typ, k.payload)
			continue
		}
		traf, err := raiseTraf(k.payload, by, growth, shift, first)
		if err != nil {
			return nil, err
		}
		first = false
		payload = appendBox(payload, "traf", traf)
	}
	if header == 16 {
		out := binary.BigEndian.AppendUint32(nil, 1)
		out = append(out, "moof"...)
		out = binary.BigEndian.AppendUint64(out, uint64(16+len(payload)))
		return append(out, payload...), nil
	}
	return appendBox(nil, "moof", payload), nil
}

// raiseTraf raises the truns of one traf payload. Its tfhd says where its
// data offsets count from: a base data offset (absolute, moved by shift and
// growth), the moof's start (default-base-is-moof, or the first traf of a
// moof whose tfhd names no base: moved by growth), or the end of the
// previous traf's data (unmoved).
func raiseTraf(p []byte, by, growth, shift int64, first bool) ([]byte, error) {
	kids, err := children(p)
	if err != nil {
		return nil, err
	}
	var out []byte
	fromMoof := first
	for _, k := range kids {
		switch k.typ {
		case "tfhd":
			if len(k.payload) < 8 {
				return nil, errors.New("short tfhd")
			}
			flags := binary.BigEndian.Uint32(k.payload) & 0xffffff
			tfhd := append([]byte(nil), k.payload...)
			switch {
			case flags&0x01 != 0:
				if len(tfhd) < 16 {
					return nil, errors.New("short tfhd")
				}
				base := int64(binary.BigEndian.Uint64(tfhd[8:]))
				binary.BigEndian.PutUint64(tfhd[8:], uint64(base+shift+growth))
				fromMoof = false
			case flags&0x020000 != 0:
				fromMoof = true
			}
			out = appendBox(out, "tfhd", tfhd)
		case "trun":
			trun, err := raiseTrun(k.payload, by)
			if err != nil {
				return nil, err
			}
			if fromMoof && binary.BigEndian.Uint32(trun)&0x01 != 0 {
				at := int32(binary.BigEndian.Uint32(trun[8:]))
				binary.BigEndian.PutUint32(trun[8:], uint32(int64(at)+growth))
			}
			out = appendBox(out, "trun", trun)
		default:
			out = appendBox(out, k.typ, k.payload)
		}
	}
	return out, nil
}

// raiseTrun returns a trun payload, version 0, with by added to every
// sample's composition offset; a trun without offsets gets by as each
// sample's offset (after the sample's other fields, where the offset goes).
func raiseTrun(p []byte, by int64) ([]byte, error) {
	if len(p) < 8 {
		return nil, errors.New("short trun")
	}
	flags := binary.BigEndian.Uint32(p) & 0xffffff
	signed := p[0] == 1
	n := int(binary.BigEndian.Uint32(p[4:]))
	head := 8
	for _, bit := range []uint32{0x01, 0x04} {
		if flags&bit != 0 {
			head += 4
		}
	}
	per := 0
	for _, bit := range []uint32{0x100, 0x200, 0x400, 0x800} {
		if flags&bit != 0 {
			per += 4
		}
	}
	if len(p) < head || (len(p)-head)/max(per, 1) < n {
		return nil, fmt.Errorf("trun of %d samples is truncated", n)
	}
	offset := func(i int, cto int64) (uint32, error) {
		cto += by
		if cto < 0 || cto > math.MaxUint32 {
			return 0, fmt.Errorf("sample %d's composition offset is %d after raising it by %d", i+1, cto, by)
		}
		return uint32(cto), nil
	}
	if flags&0x800 != 0 {
		out := append([]byte(nil), p...)
		out[0] = 0
		q := out[head:]
		for i := 0; i < n; i++ {
			e := q[i*per+per-4:]
			cto := int64(binary.BigEndian.Uint32(e))
			if signed {
				cto = int64(int32(binary.BigEndian.Uint32(e)))
			}
			v, err := offset(i, cto)
			if err != nil {
				return nil, err
			}
			binary.BigEndian.PutUint32(e, v)
		}
		return out, nil
	}
	v, err := offset(0, 0)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, head+n*(per+4))
	out = binary.BigEndian.AppendUint32(out, flags|0x800) // version 0
	out = append(out, p[4:head]...)
	for i := 0; i < n; i++ {
		out = append(out, p[head+i*per:head+(i+1)*per]...)
		out = binary.BigEndian.AppendUint32(out, v)
	}
	return out, nil
}

// moveMfraOffsets rewrites, in place, the moof offset of every entry of
// every tfra in an mfra box.
func moveMfraOffsets(mfra []byte, moved func(int64) int64) error {
	kids, err := children(mfra[8:])
	if err != nil {
		return err
	}
	at := 8
	for _, k := range kids {
		box := 8 + len(k.payload)
		if k.typ == "tfra" {
			if err := moveTfraOffsets(mfra[at+8:at+box], moved); err != nil {
				return err
			}
		}
		at += box
	}
	return nil
}

func moveTfraOffsets(p []byte, moved func(int64) int64) error {
	if len(p) < 16 {
		return errors.New("short tfra")
	}
	wide := p[0] == 1
	sizes := binary.BigEndian.Uint32(p[8:])
	n := int(binary.BigEndian.Uint32(p[12:]))
	field := 4
	if wide {
		field = 8
	}
	// traf_number, trun_number and sample_number, each 1 to 4 bytes.
	tail := int(sizes>>4&3) + 1 + int(sizes>>2&3) + 1 + int(sizes&3) + 1
	entry := 2*field + tail
	if (len(p)-16)/entry < n {
		return fmt.Errorf("tfra of %d entries is truncated", n)
	}
	for i := 0; i < n; i++ {
		e := p[16+i*entry+field:]
		if wide {
			binary.BigEndian.PutUint64(e, uint64(moved(int64(binary.BigEndian.Uint64(e)))))
			continue
		}
		off := moved(int64(binary.BigEndian.Uint32(e)))
		if off > math.MaxUint32 {
			return fmt.Errorf("tfra entry %d: moof offset %d does not fit 32 bits", i+1, off)
		}
		binary.BigEndian.PutUint32(e, uint32(off))
	}
	return nil
}

// appendBox appends a box of the given type and payload (32-bit size).
func appendBox(b []byte, typ string, payload []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(8+len(payload)))
	b = append(b, typ...)
	return append(b, payload...)
}
