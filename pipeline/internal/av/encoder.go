package av

/*
#cgo pkg-config: libavcodec libavformat libavutil
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>

static int kiln_initial_padding(AVCodecContext *c) { return c->initial_padding; }
static int kiln_has_b_frames(AVCodecContext *c) { return c->has_b_frames; }
static int kiln_max_b_frames(AVCodecContext *c) { return c->max_b_frames; }
static int kiln_mpegts_resend_headers(AVFormatContext *s) {
	return av_opt_set(s->priv_data, "mpegts_flags", "+resend_headers", 0);
}
*/
import "C"

import (
	"fmt"

	"github.com/asticode/go-astiav"
)

// EncoderPriming is how many samples an audio encoder puts before the first
// real one (AAC: 1024). Its first packet is stamped that far before zero.
func EncoderPriming(ctx *astiav.CodecContext) int {
	return int(C.kiln_initial_padding((*C.AVCodecContext)(cObject(ctx))))
}

// EncoderReorder is how many pictures an open video encoder may stamp a
// packet's decode time before its presentation time: its reorder delay.
// libx264 reports it as has_b_frames (2 with a B-pyramid, 1 without);
// NVENC stamps decode times bf pictures early (its P interval less one)
// but may report less, so the larger of the two is taken.
func EncoderReorder(ctx *astiav.CodecContext) int64 {
	c := (*C.AVCodecContext)(cObject(ctx))
	return int64(max(int(C.kiln_has_b_frames(c)), int(C.kiln_max_b_frames(c)), 0))
}

// ResendTSHeaders makes libav's MPEG-TS muxer write PAT and PMT before the
// next packet, so that the HLS segment that packet starts can be demuxed on
// its own.
func ResendTSHeaders(fc *astiav.FormatContext) error {
	if ret := C.kiln_mpegts_resend_headers((*C.AVFormatContext)(cObject(fc))); ret < 0 {
		return fmt.Errorf("asking the MPEG-TS muxer for PAT/PMT: libav error %d", int(ret))
	}
	return nil
}
