package packaging

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
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

// tfxdUUID marks Smooth Streaming's TrackFragmentExtendedHeaderBox, which
// states a fragment's absolute time and duration.
var tfxdUUID = []byte{0x6d, 0x1d, 0x9b, 0x05, 0x42, 0xd5, 0x44, 0xe6, 0x80, 0xe2, 0x14, 0x1d, 0xaf, 0xf7, 0x57, 0xb2}

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
	var frags []Fragment
	for off := int64(0); off < st.Size(); {
		typ, size, header, err := readBoxHeader(f, off, st.Size())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if typ == "moof" {
			moof := make([]byte, size)
			if _, err := f.ReadAt(moof, off); err != nil {
				return nil, fmt.Errorf("%s: reading moof at %d: %w", path, off, err)
			}
			fr, err := parseMoof(moof[header:])
			if err != nil {
				return nil, fmt.Errorf("%s: moof at %d: %w", path, off, err)
			}
			fr.Offset, fr.Size = off, size
			frags = append(frags, fr)
		} else if typ == "mdat" && len(frags) > 0 {
			if last := &frags[len(frags)-1]; last.Offset+last.Size == off {
				last.Size += size
			}
		}
		off += size
	}
	return frags, nil
}

func readBoxHeader(r io.ReaderAt, off, limit int64) (typ string, size int64, header int64, err error) {
	var h [16]byte
	if _, err := r.ReadAt(h[:8], off); err != nil {
		return "", 0, 0, fmt.Errorf("box header at %d: %w", off, err)
	}
	size, header = int64(binary.BigEndian.Uint32(h[:4])), 8
	typ = string(h[4:8])
	switch size {
	case 0:
		size = limit - off
	case 1:
		if _, err := r.ReadAt(h[8:16], off+8); err != nil {
			return "", 0, 0, fmt.Errorf("box size at %d: %w", off, err)
		}
		size, header = int64(binary.BigEndian.Uint64(h[8:16])), 16
	}
	if size < header || off+size > limit {
		return "", 0, 0, fmt.Errorf("box %q at %d has size %d beyond the file", typ, off, size)
	}
	return typ, size, header, nil
}

// rawBox is one box read from memory.
type rawBox struct {
	typ     string
	payload []byte
}

// children splits a box payload into its child boxes.
func children(b []byte) ([]rawBox, error) {
	var out []rawBox
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, errors.New("truncated box")
		}
		size := int(binary.BigEndian.Uint32(b))
		if size < 8 || size > len(b) {
			return nil, fmt.Errorf("box %q has size %d of %d bytes left", string(b[4:8]), size, len(b))
		}
		out = append(out, rawBox{string(b[4:8]), b[8:size]})
		b = b[size:]
	}
	return out, nil
}

func parseMoof(b []byte) (fr Fragment, err error) {
	boxes, err := children(b)
	if err != nil {
		return fr, err
	}
	haveTfxd := false
	var firstOffset int64
	defer func() { fr.Presentation = int64(fr.Time) + firstOffset }()
	for _, bx := range boxes {
		if bx.typ != "traf" {
			continue
		}
		trafBoxes, err := children(bx.payload)
		if err != nil {
			return fr, err
		}
		var defaultDur, defaultFlags uint32
		for _, t := range trafBoxes {
			p := t.payload
			switch t.typ {
			case "tfhd":
				if len(p) < 8 {
					return fr, errors.New("short tfhd")
				}
				flags := binary.BigEndian.Uint32(p) & 0xffffff
				q := p[8:]
				if flags&0x01 != 0 && len(q) >= 8 {
					q = q[8:]
				}
				if flags&0x02 != 0 && len(q) >= 4 {
					q = q[4:]
				}
				if flags&0x08 != 0 && len(q) >= 4 {
					defaultDur = binary.BigEndian.Uint32(q)
					q = q[4:]
				}
				if flags&0x10 != 0 && len(q) >= 4 {
					q = q[4:]
				}
				if flags&0x20 != 0 && len(q) >= 4 {
					defaultFlags = binary.BigEndian.Uint32(q)
				}
			case "tfdt":
				if haveTfxd {
					continue
				}
				if len(p) >= 12 && p[0] == 1 {
					fr.Time = binary.BigEndian.Uint64(p[4:])
				} else if len(p) >= 8 {
					fr.Time = uint64(binary.BigEndian.Uint32(p[4:]))
				}
			case "uuid":
				if len(p) < 16 || !bytes.Equal(p[:16], tfxdUUID) {
					continue
				}
				q := p[16:]
				switch {
				case len(q) >= 20 && q[0] == 1:
					fr.Time, fr.Duration = binary.BigEndian.Uint64(q[4:]), binary.BigEndian.Uint64(q[12:])
				case len(q) >= 12:
					fr.Time, fr.Duration = uint64(binary.BigEndian.Uint32(q[4:])), uint64(binary.BigEndian.Uint32(q[8:]))
				default:
					return fr, errors.New("short tfxd")
				}
				haveTfxd = true
			case "trun":
				n, dur, sync, cto, negative, err := parseTrun(p, defaultDur, defaultFlags)
				if err != nil {
					return fr, err
				}
				fr.NegativeOffsets = fr.NegativeOffsets || negative
				if fr.Samples == 0 {
					fr.Sync, firstOffset = sync, cto
				}
				fr.Samples += n
				if !haveTfxd {
					fr.Duration += dur
				}
			}
		}
	}
	return fr, nil
}

// parseTrun returns a trun's sample count, total duration, whether its
// first sample is a sync sample, the first sample's composition offset
// (signed in a version 1 trun) and whether any offset is negative.
func parseTrun(p []byte, defaultDur, defaultFlags uint32) (n int, total uint64, sync bool, cto int64, negative bool, err error) {
	short := errors.New("short trun")
	if len(p) < 8 {
		return 0, 0, false, 0, false, short
	}
	version := p[0]
	flags := binary.BigEndian.Uint32(p) & 0xffffff
	n = int(binary.BigEndian.Uint32(p[4:]))
	q := p[8:]
	if flags&0x01 != 0 {
		if len(q) < 4 {
			return 0, 0, false, 0, false, short
		}
		q = q[4:]
	}
	firstFlags, haveFirst := uint32(0), false
	if flags&0x04 != 0 {
		if len(q) < 4 {
			return 0, 0, false, 0, false, short
		}
		firstFlags, haveFirst = binary.BigEndian.Uint32(q), true
		q = q[4:]
	}
	per := 0
	for _, bit := range []uint32{0x100, 0x200, 0x400, 0x800} {
		if flags&bit != 0 {
			per += 4
		}
	}
	if len(q) < per*n || (per == 0 && n > 1<<20) {
		return 0, 0, false, 0, false, fmt.Errorf("trun of %d samples is truncated", n)
	}
	sampleFlags := defaultFlags
	for i := 0; i < n; i++ {
		e := q[i*per:]
		d := defaultDur
		if flags&0x100 != 0 {
			d = binary.BigEndian.Uint32(e)
			e = e[4:]
		}
		if flags&0x200 != 0 {
			e = e[4:]
		}
		if flags&0x400 != 0 {
			if i == 0 {
				sampleFlags = binary.BigEndian.Uint32(e)
			}
			e = e[4:]
		}
		if flags&0x800 != 0 {
			c := int64(binary.BigEndian.Uint32(e))
			if version != 0 {
				c = int64(int32(binary.BigEndian.Uint32(e)))
			}
			if i == 0 {
				cto = c
			}
			negative = negative || c < 0
		}
		total += uint64(d)
	}
	if haveFirst {
		sampleFlags = firstFlags
	}
	return n, total, sampleFlags&0x00010000 == 0, cto, negative, nil
}
