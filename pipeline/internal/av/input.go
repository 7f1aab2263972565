package av

/*
#cgo pkg-config: libavformat
#include <libavformat/avformat.h>

static void kiln_stream_discard_all(AVStream *s) { s->discard = AVDISCARD_ALL; }
*/
import "C"

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/asticode/go-astiav"
)

// OpenError is a file that OpenInput could not open (no demuxer took it, or
// the system refused it) or whose streams it could not read.
type OpenError struct {
	Path string
	// Streams is set when the file opened but reading its stream
	// information failed.
	Streams bool
	Err     error // libav's error
}

func (e *OpenError) Error() string { return e.Reason() + ": " + e.Err.Error() }

func (e *OpenError) Unwrap() error { return e.Err }

// Reason says what failed, without libav's error: "libav cannot open
// a.mov", "libav cannot read the streams of a.mov".
func (e *OpenError) Reason() string {
	if e.Streams {
		return fmt.Sprintf("libav cannot read the streams of %s", filepath.Base(e.Path))
	}
	return fmt.Sprintf("libav cannot open %s", filepath.Base(e.Path))
}

// OpenInput opens path for demuxing, with the demuxer options opts (nil for
// none), and reads its stream information. When keep is not nil, the
// streams it refuses are discarded before that: libav then neither decodes
// them to find their parameters nor hands out their packets. The caller
// closes the input (CloseInput, then Free). Its errors are *OpenError, but
// for a failed allocation.
func OpenInput(path string, opts map[string]string, keep func(*astiav.Stream) bool) (*astiav.FormatContext, error) {
	fc := astiav.AllocFormatContext()
	if fc == nil {
		return nil, errors.New("allocating a libav format context failed")
	}
	var dict *astiav.Dictionary
	if opts != nil {
		dict = astiav.NewDictionary()
		defer dict.Free()
		for k, v := range opts {
			if err := dict.Set(k, v, 0); err != nil {
				fc.Free()
				return nil, fmt.Errorf("demuxer option %s=%s: %w", k, v, err)
			}
		}
	}
	if err := fc.OpenInput(path, nil, dict); err != nil {
		fc.Free()
		return nil, &OpenError{Path: path, Err: err}
	}
	if keep != nil {
		for _, s := range fc.Streams() {
			if !keep(s) {
				DiscardStream(s)
			}
		}
	}
	if err := fc.FindStreamInfo(nil); err != nil {
		fc.CloseInput()
		fc.Free()
		return nil, &OpenError{Path: path, Streams: true, Err: err}
	}
	return fc, nil
}

// DiscardStream tells the demuxer to drop a stream's packets; go-astiav
// v0.16.0 does not expose AVStream.discard.
func DiscardStream(s *astiav.Stream) {
	C.kiln_stream_discard_all((*C.AVStream)(cObject(s)))
}
