package av

/*
#cgo pkg-config: libavutil
#include <stdlib.h>
#include <libavutil/frame.h>
#include <libavutil/dict.h>

static int kiln_frame_interlaced(AVFrame *f) { return f->interlaced_frame; }
static int kiln_frame_tff(AVFrame *f) { return f->top_field_first; }
static int64_t kiln_frame_best_effort_pts(AVFrame *f) { return f->best_effort_timestamp; }
static uint8_t *kiln_frame_plane(AVFrame *f, int i) { return f->data[i]; }
static int kiln_frame_linesize(AVFrame *f, int i) { return f->linesize[i]; }
static void kiln_frame_set_fields(AVFrame *f, int interlaced, int tff) {
	f->interlaced_frame = interlaced;
	f->top_field_first = tff;
}
static const char *kiln_frame_meta(AVFrame *f, const char *key) {
	AVDictionaryEntry *e = av_dict_get(f->metadata, key, NULL, 0);
	return e ? e->value : NULL;
}
*/
import "C"

import (
	"unsafe"

	"github.com/asticode/go-astiav"
)

// FrameInterlaced reports a decoded picture's field flags.
func FrameInterlaced(f *astiav.Frame) (interlaced, tff bool) {
	cf := (*C.AVFrame)(f.UnsafePointer())
	return C.kiln_frame_interlaced(cf) != 0, C.kiln_frame_tff(cf) != 0
}

// FrameBestEffortPts is libav's guess at a decoded picture's timestamp.
func FrameBestEffortPts(f *astiav.Frame) int64 {
	return int64(C.kiln_frame_best_effort_pts((*C.AVFrame)(f.UnsafePointer())))
}

// FramePlane returns plane i of a video frame as a byte slice of linesize ×
// rows bytes, aliasing the frame's buffer.
func FramePlane(f *astiav.Frame, i, rows int) ([]byte, int) {
	cf := (*C.AVFrame)(f.UnsafePointer())
	stride := int(C.kiln_frame_linesize(cf, C.int(i)))
	ptr := C.kiln_frame_plane(cf, C.int(i))
	if ptr == nil || stride <= 0 {
		return nil, 0
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(ptr)), stride*rows), stride
}

// SetFrameFields flags a frame interlaced (and which field is first) for the
// encoder, which writes it into the bitstream.
func SetFrameFields(f *astiav.Frame, interlaced, tff bool) {
	b := func(v bool) C.int {
		if v {
			return 1
		}
		return 0
	}
	C.kiln_frame_set_fields((*C.AVFrame)(f.UnsafePointer()), b(interlaced), b(tff))
}

// FrameMetadata reads one entry a filter attached to a frame (ebur128's
// lavfi.r128.* measurements).
func FrameMetadata(f *astiav.Frame, key string) (string, bool) {
	ck := C.CString(key)
	defer C.free(unsafe.Pointer(ck))
	v := C.kiln_frame_meta((*C.AVFrame)(f.UnsafePointer()), ck)
	if v == nil {
		return "", false
	}
	return C.GoString(v), true
}
