// Package av is the pipeline's layer under go-astiav: every libav field
// and function that go-astiav v0.16.0 (the last release built for FFmpeg
// 5.1) does not expose is reached here, through cgo, and nowhere else in
// the pipeline. Its functions take go-astiav's types, so the pipeline keeps
// using go-astiav for everything go-astiav has.
//
// Reaching a libav field needs the C object behind a go-astiav wrapper.
// Frame has a public accessor (UnsafePointer); the other wrappers hold it
// in a private field, which cObject reads: the one unsafe read of
// go-astiav's internals, pinned by TestWrapperLayout.
package av

import (
	"unsafe"

	"github.com/asticode/go-astiav"
)

// wrapper lists the go-astiav types whose C object cObject may read: each
// holds it as its first field (CodecContext has more fields after it).
// Frame is not here: it has UnsafePointer.
type wrapper interface {
	astiav.Stream | astiav.CodecParameters | astiav.FormatContext | astiav.FilterContext |
		astiav.CodecContext | astiav.Packet
}

// cObject returns the C object (AVStream, AVPacket, …) that a go-astiav
// wrapper holds in its first, private field.
func cObject[T wrapper](w *T) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(w))
}
