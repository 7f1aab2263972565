package pipeline

/*
#cgo pkg-config: libavformat
#include <libavformat/avformat.h>

static void kiln_stream_discard_all(AVStream *s) { s->discard = AVDISCARD_ALL; }
*/
import "C"

import "github.com/asticode/go-astiav"

// discardStream tells the demuxer to drop a stream's packets; go-astiav
// v0.16.0 does not expose AVStream.discard.
func discardStream(s *astiav.Stream) {
	C.kiln_stream_discard_all((*C.AVStream)(cPointer(s)))
}
