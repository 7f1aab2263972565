package av

/*
#cgo pkg-config: libavcodec libavutil
#include <string.h>
#include <libavcodec/avcodec.h>

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
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/asticode/go-astiav"
)

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
