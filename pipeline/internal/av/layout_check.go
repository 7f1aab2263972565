package av

/*
#cgo pkg-config: libavcodec libavformat libavfilter
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavfilter/avfilter.h>

static int kiln_check_stream_index(AVStream *s) { return s->index; }
static int kiln_check_codecpar_width(AVCodecParameters *p) { return p->width; }
static unsigned kiln_check_format_nb_streams(AVFormatContext *f) { return f->nb_streams; }
static unsigned kiln_check_filter_nb_outputs(AVFilterContext *f) { return f->nb_outputs; }
static int kiln_check_codec_width(AVCodecContext *c) { return c->width; }
static int64_t kiln_check_packet_pts(AVPacket *p) { return p->pts; }
*/
import "C"

import "github.com/asticode/go-astiav"

// wrapperFields reads, through cObject, one field of each wrapper that
// go-astiav also has a getter for: TestWrapperLayout compares the two.
type wrapperFields struct {
	streamIndex, codecParamsWidth, formatStreams, filterOutputs, codecWidth int
	packetPts                                                               int64
}

func readThroughCObject(s *astiav.Stream, p *astiav.CodecParameters, fc *astiav.FormatContext,
	filter *astiav.FilterContext, cc *astiav.CodecContext, pkt *astiav.Packet) wrapperFields {
	return wrapperFields{
		streamIndex:      int(C.kiln_check_stream_index((*C.AVStream)(cObject(s)))),
		codecParamsWidth: int(C.kiln_check_codecpar_width((*C.AVCodecParameters)(cObject(p)))),
		formatStreams:    int(C.kiln_check_format_nb_streams((*C.AVFormatContext)(cObject(fc)))),
		filterOutputs:    int(C.kiln_check_filter_nb_outputs((*C.AVFilterContext)(cObject(filter)))),
		codecWidth:       int(C.kiln_check_codec_width((*C.AVCodecContext)(cObject(cc)))),
		packetPts:        int64(C.kiln_check_packet_pts((*C.AVPacket)(cObject(pkt)))),
	}
}
