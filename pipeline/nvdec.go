package pipeline

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/asticode/go-astiav"

	"kiln/pipeline/internal/av"
)

// nvdecFrames is a video decoder's NVDEC side: libav's CUDA hwaccel hands
// back pictures in GPU memory (AV_PIX_FMT_CUDA), and download copies each
// into system memory for the kernels. The decoder itself is libav's own
// (h264, hevc, mpeg2video, …), which parses the bitstream on the CPU and
// has NVDEC decode the slices.
type nvdecFrames struct {
	pixFmt astiav.PixelFormat // the hwaccel's: AV_PIX_FMT_CUDA
	sw     *astiav.Frame      // the last picture downloaded
	// software is set when libav offered no CUDA format for the stream
	// (NVDEC cannot decode its profile or chroma format) and the decoder
	// went on in software; offered names what it offered instead.
	software atomic.Bool
	mu       sync.Mutex
	offered  string
}

// nvdecPixelFormat is the pixel format libav's decoder c delivers through
// the CUDA hwaccel, or PixelFormatNone when c has no NVDEC hwaccel in this
// libav build (ProRes, FFV1, DV, …).
func nvdecPixelFormat(c *astiav.Codec) astiav.PixelFormat {
	for _, hc := range c.HardwareConfigs() {
		if hc.HardwareDeviceType() == astiav.HardwareDeviceTypeCUDA &&
			hc.MethodFlags().Has(astiav.CodecHardwareConfigMethodFlagHwDeviceCtx) {
			return hc.PixelFormat()
		}
	}
	return astiav.PixelFormatNone
}

// chooseDecoderFormat is the decoder's get_format: the hwaccel's format
// when libav offers it, else the first software format, which is what
// libav's default would pick. libav lists every hwaccel it was built with,
// whether or not a device exists, so any other hardware format would fail.
func chooseDecoderFormat(offered []astiav.PixelFormat, hw astiav.PixelFormat) astiav.PixelFormat {
	for _, f := range offered {
		if f == hw {
			return f
		}
	}
	for _, f := range offered {
		if !av.IsHardwarePixelFormat(f) {
			return f
		}
	}
	return astiav.PixelFormatNone
}

// openVideoDecoder opens a video stream's decoder: with NVDEC when nvdec
// is asked for and the codec has a CUDA hwaccel, else in software. It
// returns the decoder, its NVDEC side (nil when decoding in software) and,
// when NVDEC was asked for but is not used, why, for the report. A failure
// on the NVDEC side never fails the job: the software decoder opens instead.
func openVideoDecoder(s *astiav.Stream, rate astiav.Rational, nvdec bool) (*astiav.CodecContext, *nvdecFrames, string, error) {
	software := func(note string) (*astiav.CodecContext, *nvdecFrames, string, error) {
		ctx, err := openDecoder(s, rate)
		return ctx, nil, note, err
	}
	if !nvdec {
		return software("")
	}
	params := s.CodecParameters()
	codec := astiav.FindDecoder(params.CodecID())
	if codec == nil {
		return software("") // openDecoder says there is no decoder
	}
	hwFmt := nvdecPixelFormat(codec)
	if hwFmt == astiav.PixelFormatNone {
		return software(fmt.Sprintf("NVDEC does not decode %s; decoded in software", codec.Name()))
	}
	var device *astiav.HardwareDeviceContext
	err := withLibavErrors(func() (err error) {
		device, err = astiav.CreateHardwareDeviceContext(astiav.HardwareDeviceTypeCUDA, "", nil)
		return err
	})
	if err != nil {
		return software(fmt.Sprintf("NVDEC unavailable (%v); decoded in software", err))
	}
	ctx := astiav.AllocCodecContext(codec)
	if ctx == nil {
		// go-astiav 0.16 has no Free for a device context: a codec context
		// that takes it over unreferences it when freed.
		holder := astiav.AllocCodecContext(nil)
		holder.SetHardwareDeviceContext(device)
		holder.Free()
		return software("NVDEC unavailable (allocating a decoder context failed); decoded in software")
	}
	ctx.SetHardwareDeviceContext(device)
	hw := &nvdecFrames{pixFmt: hwFmt}
	ctx.SetPixelFormatCallback(func(offered []astiav.PixelFormat) astiav.PixelFormat {
		f := chooseDecoderFormat(offered, hw.pixFmt)
		if f != hw.pixFmt {
			names := make([]string, 0, len(offered))
			for _, o := range offered {
				names = append(names, o.Name())
			}
			hw.mu.Lock()
			hw.offered = strings.Join(names, ", ")
			hw.mu.Unlock()
			hw.software.Store(true)
		}
		return f
	})
	free := func() {
		// The callback lives in a map keyed by the context's address,
		// which Free does not clear: a later context at that address
		// would inherit it.
		ctx.SetPixelFormatCallback(nil)
		ctx.Free()
	}
	if err := params.ToCodecContext(ctx); err != nil {
		free()
		return software(fmt.Sprintf("NVDEC could not take the stream's parameters (%v); decoded in software", err))
	}
	ctx.SetTimeBase(s.TimeBase())
	ctx.SetFramerate(rate)
	// NVDEC does the decoding work; the CPU only parses. Frame threads
	// would add nothing but latency, and each would hold decode surfaces.
	ctx.SetThreadCount(1)
	err = withLibavErrors(func() error { return ctx.Open(codec, nil) })
	if err != nil {
		free()
		return software(fmt.Sprintf("NVDEC could not open the %s decoder (%v); decoded in software", codec.Name(), err))
	}
	hw.sw = astiav.AllocFrame()
	return ctx, hw, "", nil
}

// download copies a decoded picture from GPU to system memory, with its
// timestamps, field flags and colour tags, into a frame that stays valid
// until the next call.
func (h *nvdecFrames) download(f *astiav.Frame) (*astiav.Frame, error) {
	h.sw.Unref()
	if err := f.TransferHardwareData(h.sw); err != nil {
		return nil, fmt.Errorf("downloading an NVDEC picture: %w", err)
	}
	if err := av.CopyFrameProps(h.sw, f); err != nil {
		return nil, err
	}
	return h.sw, nil
}

// softwareNote says, once decoding is over, why a decoder opened with
// NVDEC decoded in software after all; "" when NVDEC decoded.
func (h *nvdecFrames) softwareNote(codec string) string {
	if !h.software.Load() {
		return ""
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return fmt.Sprintf("NVDEC cannot decode this %s stream (libav offered %s); decoded in software", codec, h.offered)
}

// close frees the download frame.
func (h *nvdecFrames) close() {
	if h.sw != nil {
		h.sw.Free()
		h.sw = nil
	}
}

// libavLog serialises withLibavErrors: libav has one log callback per
// process.
var libavLog sync.Mutex

// withLibavErrors runs fn and, when it fails, adds what libav logged at
// error level meanwhile to its error: libav's return codes say little
// ("Generic error in an external library", "Unknown error occurred"), its
// log says why ("cuInit(0) failed -> CUDA_ERROR_NO_DEVICE: no CUDA-capable
// device is detected"). Other threads' messages in that moment land in it
// too; fn is short (opening a device or an encoder) and runs before the
// job's stages start.
func withLibavErrors(fn func() error) error {
	libavLog.Lock()
	defer libavLog.Unlock()
	var mu sync.Mutex
	var logged strings.Builder
	astiav.SetLogCallback(func(_ astiav.Classer, lvl astiav.LogLevel, _, msg string) {
		if lvl > astiav.LogLevelError {
			return
		}
		// A libav line may come in pieces ("cu->cuInit(0) failed", then
		// " -> CUDA_ERROR_NO_DEVICE: …\n"); the newline ends it.
		mu.Lock()
		logged.WriteString(msg)
		mu.Unlock()
	})
	err := fn()
	astiav.ResetLogCallback()
	if err == nil {
		return nil
	}
	mu.Lock()
	defer mu.Unlock()
	var lines []string
	for _, l := range strings.Split(logged.String(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return err
	}
	return fmt.Errorf("%s: %w", strings.Join(lines, "; "), err)
}
