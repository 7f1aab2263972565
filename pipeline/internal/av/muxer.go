package av

/*
#cgo pkg-config: libavformat libavutil
#include <libavformat/avformat.h>
#include <libavutil/opt.h>

static int kiln_mpegts_resend_headers(AVFormatContext *s) {
	return av_opt_set(s->priv_data, "mpegts_flags", "+resend_headers", 0);
}
*/
import "C"

import (
	"fmt"

	"github.com/asticode/go-astiav"
)

// ResendTSHeaders makes libav's MPEG-TS muxer write PAT and PMT before the
// next packet, so that the HLS segment that packet starts can be demuxed on
// its own.
func ResendTSHeaders(fc *astiav.FormatContext) error {
	if ret := C.kiln_mpegts_resend_headers((*C.AVFormatContext)(cObject(fc))); ret < 0 {
		return fmt.Errorf("asking the MPEG-TS muxer for PAT/PMT: libav error %d", int(ret))
	}
	return nil
}
