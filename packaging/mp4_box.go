package packaging

import "encoding/binary"

// boxWriter builds one ISO BMFF box (ISO/IEC 14496-12) in memory. The size
// field is filled in by bytes(), once the payload and the children are known;
// boxes larger than 4 GiB never occur in a segment or an init segment.
type boxWriter struct {
	b []byte
}

// newBox starts a box of type typ.
func newBox(typ string) *boxWriter {
	w := &boxWriter{b: make([]byte, 8, 64)}
	copy(w.b[4:8], typ)
	return w
}

// newFullBox starts a box with a version and 24 bits of flags.
func newFullBox(typ string, version uint8, flags uint32) *boxWriter {
	w := newBox(typ)
	w.u32(uint32(version)<<24 | flags&0xffffff)
	return w
}

func (w *boxWriter) u8(v uint8) *boxWriter { w.b = append(w.b, v); return w }
func (w *boxWriter) u16(v uint16) *boxWriter {
	w.b = binary.BigEndian.AppendUint16(w.b, v)
	return w
}
func (w *boxWriter) u24(v uint32) *boxWriter {
	w.b = append(w.b, byte(v>>16), byte(v>>8), byte(v))
	return w
}
func (w *boxWriter) u32(v uint32) *boxWriter {
	w.b = binary.BigEndian.AppendUint32(w.b, v)
	return w
}
func (w *boxWriter) u64(v uint64) *boxWriter {
	w.b = binary.BigEndian.AppendUint64(w.b, v)
	return w
}
func (w *boxWriter) raw(p []byte) *boxWriter { w.b = append(w.b, p...); return w }
func (w *boxWriter) zeros(n int) *boxWriter {
	w.b = append(w.b, make([]byte, n)...)
	return w
}
func (w *boxWriter) str(s string) *boxWriter { w.b = append(w.b, s...); return w }

// add appends finished child boxes.
func (w *boxWriter) add(children ...[]byte) *boxWriter {
	for _, c := range children {
		w.b = append(w.b, c...)
	}
	return w
}

// bytes finishes the box.
func (w *boxWriter) bytes() []byte {
	binary.BigEndian.PutUint32(w.b[0:4], uint32(len(w.b)))
	return w.b
}

// unityMatrix is the identity transformation of mvhd and tkhd.
var unityMatrix = []uint32{0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000}

func (w *boxWriter) matrix() *boxWriter {
	for _, v := range unityMatrix {
		w.u32(v)
	}
	return w
}

// Sample flags (ISO/IEC 14496-12 8.8.3.1): a sync sample depends on no other
// (sample_depends_on = 2); any other depends on others and is not a sync
// sample (sample_is_non_sync_sample = 1).
const (
	syncSampleFlags    = 0x02000000
	nonSyncSampleFlags = 0x01010000
)
