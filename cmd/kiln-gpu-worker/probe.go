//go:build cuda

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/asticode/go-astiav"

	"kiln/gpu"
	"kiln/hardware"
)

// probe prints what this machine's GPUs can do for Kiln. Reaching this code
// means cu's init found a device; each facility is then tried for real, as
// the pipeline would use it, so a reason is the library's own error.
func probe(stdout io.Writer) error {
	p := hardware.WorkerProbe{Devices: []hardware.GPU{}, NVENC: map[string]hardware.Availability{}}
	if v := gpu.DriverVersion(); v > 0 {
		p.DriverCUDA = fmt.Sprintf("%d.%d", v/1000, v%1000/10)
	}
	devs, err := gpu.Devices()
	if err != nil {
		p.CUDAReason = err.Error()
	}
	for _, d := range devs {
		p.Devices = append(p.Devices, hardware.GPU{Index: d.Index, Name: d.Name,
			ComputeCapability: d.ComputeCapability(), MemoryBytes: d.MemoryBytes})
	}
	if len(devs) > 0 {
		// Opening a backend makes a context and has the driver compile every
		// PTX module for the device: what a job would do first.
		b, err := gpu.Open(gpu.Options{Device: 0})
		if err != nil {
			p.CUDAReason = err.Error()
		} else {
			p.CUDAAvailable = true
			if err := b.Close(); err != nil {
				p.CUDAAvailable, p.CUDAReason = false, err.Error()
			}
		}
	}
	p.NVENC[hardware.CodecH264] = probeEncoder("h264_nvenc")
	p.NVENC[hardware.CodecHEVC] = probeEncoder("hevc_nvenc")
	p.NVDEC = probeDecoder()
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// libavErrors collects what libav logs at error level while a probe step
// runs: its return codes say little ("Generic error in an external
// library"), its log says why ("Cannot load libnvidia-encode.so.1").
type libavErrors struct {
	mu   sync.Mutex
	msgs []string
}

func (l *libavErrors) start() {
	l.mu.Lock()
	l.msgs = nil
	l.mu.Unlock()
	astiav.SetLogLevel(astiav.LogLevelError)
	astiav.SetLogCallback(func(_ astiav.Classer, lvl astiav.LogLevel, _, msg string) {
		if lvl > astiav.LogLevelError {
			return
		}
		if m := strings.TrimSpace(msg); m != "" {
			l.mu.Lock()
			l.msgs = append(l.msgs, m)
			l.mu.Unlock()
		}
	})
}

// reason joins the logged errors with the returned one.
func (l *libavErrors) reason(err error) string {
	astiav.ResetLogCallback()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.msgs) == 0 {
		return err.Error()
	}
	return strings.Join(l.msgs, "; ") + " (" + err.Error() + ")"
}

// probeEncoder test-opens an NVENC encoder at 256x256 4:2:0, the smallest
// size every NVENC generation accepts. Data-centre GPUs without NVENC
// (A100, H100, H200) fail here with the driver's own words.
func probeEncoder(name string) hardware.Availability {
	c := astiav.FindEncoderByName(name)
	if c == nil {
		return hardware.Availability{Reason: "libav has no " + name + " encoder (FFmpeg built without NVENC)"}
	}
	cc := astiav.AllocCodecContext(c)
	if cc == nil {
		return hardware.Availability{Reason: name + ": cannot allocate a codec context"}
	}
	defer cc.Free()
	cc.SetWidth(256)
	cc.SetHeight(256)
	cc.SetPixelFormat(astiav.PixelFormatYuv420P)
	cc.SetTimeBase(astiav.NewRational(1, 25))
	cc.SetFramerate(astiav.NewRational(25, 1))
	var logs libavErrors
	logs.start()
	if err := cc.Open(c, nil); err != nil {
		return hardware.Availability{Reason: name + ": " + logs.reason(err)}
	}
	astiav.ResetLogCallback()
	return hardware.Availability{Available: true}
}

// probeDecoder makes libav's CUDA hardware device context, which NVDEC
// decoding (h264/hevc/mpeg2 with hwaccel cuda) needs.
func probeDecoder() hardware.Availability {
	var logs libavErrors
	logs.start()
	hdc, err := astiav.CreateHardwareDeviceContext(astiav.HardwareDeviceTypeCUDA, "", nil)
	if err != nil {
		return hardware.Availability{Reason: "libav CUDA device: " + logs.reason(err)}
	}
	astiav.ResetLogCallback()
	// go-astiav 0.16 has no Free for a device context; a codec context
	// that takes it over unreferences it when freed.
	holder := astiav.AllocCodecContext(nil)
	holder.SetHardwareDeviceContext(hdc)
	holder.Free()
	return hardware.Availability{Available: true}
}
