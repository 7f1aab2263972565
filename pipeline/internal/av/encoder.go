package av

/*
#cgo pkg-config: libavcodec
#include <libavcodec/avcodec.h>

static int kiln_initial_padding(AVCodecContext *c) { return c->initial_padding; }
static int kiln_has_b_frames(AVCodecContext *c) { return c->has_b_frames; }
static int kiln_max_b_frames(AVCodecContext *c) { return c->max_b_frames; }
*/
import "C"

import "github.com/asticode/go-astiav"

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
