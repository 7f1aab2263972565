package av

/*
#cgo pkg-config: libavutil
#include <libavutil/frame.h>
#include <libavutil/pixdesc.h>

static int kiln_pix_fmt_is_hw(int f) {
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f);
	return d && (d->flags & AV_PIX_FMT_FLAG_HWACCEL);
}
*/
import "C"

import (
	"fmt"

	"github.com/asticode/go-astiav"
)

// IsHardwarePixelFormat reports whether f is a hwaccel's format (CUDA,
// VAAPI, …), whose pictures are not in system memory.
func IsHardwarePixelFormat(f astiav.PixelFormat) bool {
	return C.kiln_pix_fmt_is_hw(C.int(f)) != 0
}

// CopyFrameProps copies a picture's timestamps, field flags, colour tags
// and side data from src to dst, as a hwaccel download needs: the
// transfer copies the pixels only.
func CopyFrameProps(dst, src *astiav.Frame) error {
	if ret := C.av_frame_copy_props((*C.AVFrame)(dst.UnsafePointer()), (*C.AVFrame)(src.UnsafePointer())); ret < 0 {
		return fmt.Errorf("copying an NVDEC picture's properties: %w", astiav.Error(ret))
	}
	return nil
}
