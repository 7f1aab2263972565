package av

/*
#cgo pkg-config: libavfilter
#include <libavfilter/buffersrc.h>

static int kiln_buffersrc_close(AVFilterContext *ctx, int64_t pts) {
	return av_buffersrc_close(ctx, pts, AV_BUFFERSRC_FLAG_PUSH);
}
*/
import "C"

import (
	"fmt"

	"github.com/asticode/go-astiav"
)

// CloseBufferSource ends a filter chain's input at pts, the end of the last
// frame. FFmpeg 5.1's av_buffersrc_add_frame(NULL) ends it at the last frame's
// start instead, and rate filters then drop that last frame.
func CloseBufferSource(src *astiav.FilterContext, pts int64) error {
	if ret := C.kiln_buffersrc_close((*C.AVFilterContext)(cObject(src)), C.int64_t(pts)); ret < 0 {
		return fmt.Errorf("closing filter input: libav error %d", int(ret))
	}
	return nil
}
