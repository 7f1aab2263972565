package av

/*
#cgo pkg-config: libavcodec libavformat libavutil libavfilter
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
#include <libavutil/display.h>
#include <stdlib.h>
#include <string.h>
#include <libavfilter/buffersrc.h>

static int kiln_codecpar_field_order(AVCodecParameters *p) { return p->field_order; }
static void kiln_codecpar_set_field_order(AVCodecParameters *p, int fo) { p->field_order = fo; }
static void kiln_codecpar_set_color(AVCodecParameters *p, int prim, int trc, int space) {
	p->color_primaries = prim; p->color_trc = trc; p->color_space = space;
}
static int kiln_frame_interlaced(AVFrame *f) { return f->interlaced_frame; }
static int kiln_frame_tff(AVFrame *f) { return f->top_field_first; }
static int64_t kiln_frame_best_effort_pts(AVFrame *f) { return f->best_effort_timestamp; }
static int kiln_stream_rotation(AVStream *s) {
	size_t size = 0;
	const uint8_t *m = av_stream_get_side_data(s, AV_PKT_DATA_DISPLAYMATRIX, &size);
	if (!m || size < 9 * 4) return 0;
	double r = av_display_rotation_get((const int32_t *)m);
	if (r != r) return 0; // NaN
	return (int)(r < 0 ? r - 0.5 : r + 0.5);
}
static int kiln_buffersrc_close(AVFilterContext *ctx, int64_t pts) {
	return av_buffersrc_close(ctx, pts, AV_BUFFERSRC_FLAG_PUSH);
}
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
static int kiln_packet_set_data(AVPacket *pkt, const uint8_t *data, int size) {
	AVBufferRef *buf = av_buffer_alloc(size + AV_INPUT_BUFFER_PADDING_SIZE);
	if (!buf) return AVERROR(ENOMEM);
	memcpy(buf->data, data, size);
	memset(buf->data + size, 0, AV_INPUT_BUFFER_PADDING_SIZE);
	av_buffer_unref(&pkt->buf);
	pkt->buf = buf;
	pkt->data = buf->data;
	pkt->size = size;
	return 0;
}
static const char *kiln_format_name(AVFormatContext *f) { return f->iformat ? f->iformat->name : ""; }
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// fieldOrderNames maps AVFieldOrder to ffprobe's words.
var fieldOrderNames = map[int]string{0: "", 1: "progressive", 2: "tt", 3: "bb", 4: "tb", 5: "bt"}

// CodecParamsFieldOrder is a stream's field order in ffprobe's words
// ("progressive", "tt", "bb", "tb", "bt"); "" when unknown.
func CodecParamsFieldOrder(p *astiav.CodecParameters) string {
	return fieldOrderNames[int(C.kiln_codecpar_field_order((*C.AVCodecParameters)(cObject(p))))]
}

// SetStreamSignalling writes field order and colour tags into an output
// stream's parameters, where the muxer reads them (MOV 'fiel'/'colr', MXF
// descriptors), after FromCodecContext has copied the encoder's settings.
func SetStreamSignalling(p *astiav.CodecParameters, fieldOrder string, prim, trc, space string) {
	cp := (*C.AVCodecParameters)(cObject(p))
	for k, v := range fieldOrderNames {
		if v == fieldOrder && v != "" {
			C.kiln_codecpar_set_field_order(cp, C.int(k))
		}
	}
	if prim != "" {
		C.kiln_codecpar_set_color(cp, C.int(colorPrimariesID(prim)), C.int(colorTransferID(trc)), C.int(colorSpaceID(space)))
	}
}

// FrameInterlaced reports a decoded picture's field flags.
func FrameInterlaced(f *astiav.Frame) (interlaced, tff bool) {
	cf := (*C.AVFrame)(f.UnsafePointer())
	return C.kiln_frame_interlaced(cf) != 0, C.kiln_frame_tff(cf) != 0
}

// FrameBestEffortPts is libav's guess at a decoded picture's timestamp.
func FrameBestEffortPts(f *astiav.Frame) int64 {
	return int64(C.kiln_frame_best_effort_pts((*C.AVFrame)(f.UnsafePointer())))
}

// StreamRotation is the display matrix's rotation in whole degrees; 0
// when the stream has none.
func StreamRotation(s *astiav.Stream) int {
	return int(C.kiln_stream_rotation((*C.AVStream)(cObject(s))))
}

// InputFormatName is the demuxer's short name ("mov,mp4,m4a,3gp,3g2,mj2").
func InputFormatName(f *astiav.FormatContext) string {
	return C.GoString(C.kiln_format_name((*C.AVFormatContext)(cObject(f))))
}

// ColorPrimariesName and the three below are libav's names for colour
// tags and profiles; "" for unknown, unspecified and reserved values.
func ColorPrimariesName(v astiav.ColorPrimaries) string {
	return cString(C.av_color_primaries_name(C.enum_AVColorPrimaries(v)))
}

func ColorTransferName(v astiav.ColorTransferCharacteristic) string {
	return cString(C.av_color_transfer_name(C.enum_AVColorTransferCharacteristic(v)))
}

func ColorSpaceName(v astiav.ColorSpace) string {
	return cString(C.av_color_space_name(C.enum_AVColorSpace(v)))
}

func ColorRangeName(v astiav.ColorRange) string {
	return cString(C.av_color_range_name(C.enum_AVColorRange(v)))
}

func ProfileName(id astiav.CodecID, profile astiav.Profile) string {
	return cString(C.avcodec_profile_name(C.enum_AVCodecID(id), C.int(profile)))
}

func colorPrimariesID(name string) int {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return int(C.av_color_primaries_from_name(cs))
}

func colorTransferID(name string) int {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return int(C.av_color_transfer_from_name(cs))
}

func colorSpaceID(name string) int {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return int(C.av_color_space_from_name(cs))
}

func cString(s *C.char) string {
	if s == nil {
		return ""
	}
	name := C.GoString(s)
	if name == "unknown" || name == "unspecified" || name == "reserved" {
		return ""
	}
	return name
}

// CloseBufferSource ends a filter chain's input at pts, the end of the last
// frame. FFmpeg 5.1's av_buffersrc_add_frame(NULL) ends it at the last frame's
// start instead, and rate filters then drop that last frame.
func CloseBufferSource(src *astiav.FilterContext, pts int64) error {
	if ret := C.kiln_buffersrc_close((*C.AVFilterContext)(cObject(src)), C.int64_t(pts)); ret < 0 {
		return fmt.Errorf("closing filter input: libav error %d", int(ret))
	}
	return nil
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

// SetPacketData replaces a packet's payload, keeping its timestamps, flags
// and side data: for rewriting encoded pictures (AFD) before they are muxed.
func SetPacketData(p *astiav.Packet, data []byte) error {
	if len(data) == 0 {
		return fmt.Errorf("empty packet payload")
	}
	if ret := C.kiln_packet_set_data((*C.AVPacket)(cObject(p)), (*C.uint8_t)(unsafe.Pointer(&data[0])), C.int(len(data))); ret < 0 {
		return fmt.Errorf("replacing packet payload: libav error %d", int(ret))
	}
	return nil
}
