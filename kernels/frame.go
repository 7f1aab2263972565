package kernels

import (
	"encoding/binary"
	"fmt"
)

// Chroma is the chroma subsampling of a planar YCbCr format.
type Chroma int

const (
	Chroma420 Chroma = iota // half width, half height
	Chroma422               // half width, full height
	Chroma444               // full resolution
)

func (c Chroma) String() string {
	switch c {
	case Chroma420:
		return "4:2:0"
	case Chroma422:
		return "4:2:2"
	case Chroma444:
		return "4:4:4"
	}
	return fmt.Sprintf("Chroma(%d)", int(c))
}

// Sub returns the horizontal and vertical subsampling factors of the chroma planes.
func (c Chroma) Sub() (sx, sy int) {
	switch c {
	case Chroma420:
		return 2, 2
	case Chroma422:
		return 2, 1
	}
	return 1, 1
}

// Format describes a planar limited-range YCbCr picture. Depth is 8, or 9..16
// for samples held in little-endian 16-bit words.
type Format struct {
	Width, Height int
	Chroma        Chroma
	Depth         int
}

func (f Format) String() string {
	return fmt.Sprintf("%dx%d %v %d-bit", f.Width, f.Height, f.Chroma, f.Depth)
}

// Bytes is the size of one sample in memory.
func (f Format) Bytes() int {
	if f.Depth > 8 {
		return 2
	}
	return 1
}

// PlaneSize returns the sample dimensions of plane i (0 luma, 1 Cb, 2 Cr).
func (f Format) PlaneSize(i int) (w, h int) {
	if i == 0 {
		return f.Width, f.Height
	}
	sx, sy := f.Chroma.Sub()
	return (f.Width + sx - 1) / sx, (f.Height + sy - 1) / sy
}

// Validate reports formats the kernels cannot hold.
func (f Format) Validate() error {
	if f.Width <= 0 || f.Height <= 0 {
		return fmt.Errorf("kernels: bad size %dx%d", f.Width, f.Height)
	}
	if f.Depth < 8 || f.Depth > 16 {
		return fmt.Errorf("kernels: bad depth %d", f.Depth)
	}
	if f.Chroma < Chroma420 || f.Chroma > Chroma444 {
		return fmt.Errorf("kernels: bad chroma %d", int(f.Chroma))
	}
	return nil
}

// Levels returns the legal limited-range levels of plane i at this depth:
// 16..235 for luma and 16..240 for chroma at 8 bits, scaled by 2^(depth-8).
func (f Format) Levels(i int) (lo, hi int) {
	s := uint(f.Depth - 8)
	if i == 0 {
		return 16 << s, 235 << s
	}
	return 16 << s, 240 << s
}

// Black returns the limited-range black level of plane i (16 or 128 at 8 bits).
func (f Format) Black(i int) int {
	if i == 0 {
		return 16 << uint(f.Depth-8)
	}
	return 128 << uint(f.Depth-8)
}

// Plane is one image plane in host memory. Stride is in bytes; samples deeper
// than 8 bits are little-endian uint16.
type Plane struct {
	Width, Height, Stride int
	Data                  []byte
}

// Frame is a host picture: the image type of the CPU backend, and what
// Upload and Download exchange with a device backend.
type Frame struct {
	Format
	Planes [3]Plane
}

// NewFrame allocates a frame with rows padded to 64 bytes, so that rows start
// aligned for vector loads on the host and coalesced copies to a device.
// It panics on an invalid format, as make does on a negative size.
func NewFrame(f Format) *Frame {
	if err := f.Validate(); err != nil {
		panic(err)
	}
	fr := &Frame{Format: f}
	for i := range fr.Planes {
		w, h := f.PlaneSize(i)
		stride := rowStride(w, f.Bytes())
		fr.Planes[i] = Plane{Width: w, Height: h, Stride: stride, Data: make([]byte, stride*h)}
	}
	return fr
}

// rowStride is NewFrame's distance between rows: w samples of bytes each,
// padded to 64 bytes.
func rowStride(w, bytes int) int { return (w*bytes + 63) &^ 63 }

// ImageFormat implements Image.
func (fr *Frame) ImageFormat() Format { return fr.Format }

// At returns sample (x, y) of plane i.
func (fr *Frame) At(i, x, y int) int {
	p := &fr.Planes[i]
	if fr.Bytes() == 2 {
		return int(binary.LittleEndian.Uint16(p.Data[y*p.Stride+2*x:]))
	}
	return int(p.Data[y*p.Stride+x])
}

// Set writes sample (x, y) of plane i.
func (fr *Frame) Set(i, x, y, v int) {
	p := &fr.Planes[i]
	if fr.Bytes() == 2 {
		binary.LittleEndian.PutUint16(p.Data[y*p.Stride+2*x:], uint16(v))
		return
	}
	p.Data[y*p.Stride+x] = byte(v)
}

// Fill sets every sample of plane i to v.
func (fr *Frame) Fill(i, v int) {
	p := &fr.Planes[i]
	for y := 0; y < p.Height; y++ {
		for x := 0; x < p.Width; x++ {
			fr.Set(i, x, y, v)
		}
	}
}

// CopyFrom copies the samples of src, which must have the same format.
func (fr *Frame) CopyFrom(src *Frame) error {
	if fr.Format != src.Format {
		return fmt.Errorf("kernels: copy %v into %v", src.Format, fr.Format)
	}
	for i := range fr.Planes {
		d, s := &fr.Planes[i], &src.Planes[i]
		n := d.Width * fr.Bytes()
		for y := 0; y < d.Height; y++ {
			copy(d.Data[y*d.Stride:y*d.Stride+n], s.Data[y*s.Stride:y*s.Stride+n])
		}
	}
	return nil
}

// ReadRaw fills the frame from tightly packed planar data, as ffmpeg's
// rawvideo yuv420p / yuv420p10le and friends write it.
func (fr *Frame) ReadRaw(raw []byte) error {
	if len(raw) != fr.RawSize() {
		return fmt.Errorf("kernels: raw %v frame needs %d bytes, got %d", fr.Format, fr.RawSize(), len(raw))
	}
	off := 0
	for i := range fr.Planes {
		p := &fr.Planes[i]
		n := p.Width * fr.Bytes()
		for y := 0; y < p.Height; y++ {
			copy(p.Data[y*p.Stride:y*p.Stride+n], raw[off:off+n])
			off += n
		}
	}
	return nil
}

// AppendRaw appends the frame as tightly packed planar data.
func (fr *Frame) AppendRaw(b []byte) []byte {
	for i := range fr.Planes {
		p := &fr.Planes[i]
		n := p.Width * fr.Bytes()
		for y := 0; y < p.Height; y++ {
			b = append(b, p.Data[y*p.Stride:y*p.Stride+n]...)
		}
	}
	return b
}

// RawSize is the size of the frame as tightly packed planar data.
func (f Format) RawSize() int {
	n := 0
	for i := 0; i < 3; i++ {
		w, h := f.PlaneSize(i)
		n += w * h * f.Bytes()
	}
	return n
}
