package av

/*
#cgo pkg-config: libavcodec libavformat libavutil
#include <stdlib.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
#include <libavutil/display.h>

static int kiln_codecpar_field_order(AVCodecParameters *p) { return p->field_order; }
static void kiln_codecpar_set_field_order(AVCodecParameters *p, int fo) { p->field_order = fo; }
static void kiln_codecpar_set_color(AVCodecParameters *p, int prim, int trc, int space) {
	p->color_primaries = prim; p->color_trc = trc; p->color_space = space;
}
static int kiln_stream_rotation(AVStream *s) {
	size_t size = 0;
	const uint8_t *m = av_stream_get_side_data(s, AV_PKT_DATA_DISPLAYMATRIX, &size);
	if (!m || size < 9 * 4) return 0;
	double r = av_display_rotation_get((const int32_t *)m);
	if (r != r) return 0; // NaN
	return (int)(r < 0 ? r - 0.5 : r + 0.5);
}
static const char *kiln_format_name(AVFormatContext *f) { return f->iformat ? f->iformat->name : ""; }
*/
import "C"

import (
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

// StreamRotation is the display matrix's rotation in whole degrees; 0
// when the stream has none.
func StreamRotation(s *astiav.Stream) int {
	return int(C.kiln_stream_rotation((*C.AVStream)(cObject(s))))
}

// InputFormatName is the demuxer's short name ("mov,mp4,m4a,3gp,3g2,mj2").
func InputFormatName(f *astiav.FormatContext) string {
	return C.GoString(C.kiln_format_name((*C.AVFormatContext)(cObject(f))))
}

// ColorPrimariesName and the four below are libav's names for colour
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
