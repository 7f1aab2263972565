//go:build cuda

package gpu

/*
#cgo LDFLAGS: -lcuda
#cgo linux CFLAGS: -I/usr/local/cuda/include
#cgo linux LDFLAGS: -L/usr/local/cuda/lib64
#include <cuda.h>

// gorgonia.org/cu does not wrap page-locked allocation, which asynchronous
// copies need: from pageable memory the driver copies through a bounce
// buffer and the host waits.
static CUresult kiln_host_alloc(void **p, size_t n) { return cuMemHostAlloc(p, n, 0); }
static CUresult kiln_host_free(void *p) { return cuMemFreeHost(p); }
*/
import "C"

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"unsafe"

	"gorgonia.org/cu"

	"kiln/kernels"
)

// CUDA reports whether this build links the CUDA driver.
const CUDA = true

// Devices lists the CUDA devices the driver sees, in ordinal order. Only a
// process that got past cu's init (which exits without a device) gets here,
// so an empty list means the driver hides every device (CUDA_VISIBLE_DEVICES).
func Devices() ([]DeviceInfo, error) {
	n, err := cu.NumDevices()
	if err != nil {
		return nil, fmt.Errorf("gpu: counting devices: %w", err)
	}
	out := make([]DeviceInfo, 0, n)
	for i := 0; i < n; i++ {
		d, err := deviceInfo(i)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func deviceInfo(i int) (DeviceInfo, error) {
	dev, err := cu.GetDevice(i)
	if err != nil {
		return DeviceInfo{}, fmt.Errorf("gpu: device %d: %w", i, err)
	}
	name, err := dev.Name()
	if err != nil {
		return DeviceInfo{}, fmt.Errorf("gpu: device %d name: %w", i, err)
	}
	major, minor, err := dev.ComputeCapability()
	if err != nil {
		return DeviceInfo{}, fmt.Errorf("gpu: device %d compute capability: %w", i, err)
	}
	mem, err := dev.TotalMem()
	if err != nil {
		return DeviceInfo{}, fmt.Errorf("gpu: device %d memory: %w", i, err)
	}
	return DeviceInfo{Index: i, Name: name, Major: major, Minor: minor, MemoryBytes: mem}, nil
}

// DriverVersion is the CUDA version the installed driver supports, as
// 1000*major + 10*minor (12020 for 12.2), or -1 when the driver does not say.
func DriverVersion() int { return cu.Version() }

// NewBackend opens a backend on opts.Device: see Open. It returns the
// kernels interface that pipelines are written against; the value is a
// *Backend, so close it through io.Closer, or use Open for the concrete type.
func NewBackend(opts Options) (kernels.Backend, error) {
	b, err := Open(opts)
	if err != nil {
		return nil, err // not a nil *Backend in a non-nil interface
	}
	return b, nil
}

// Open creates a context of its own on the device (a worker's pipelines
// then share it), loads the embedded PTX into it and makes the streams. It
// fails with a reason a person can act on when the device is too old for
// the PTX or the driver cannot compile it.
func Open(opts Options) (*Backend, error) {
	info, err := deviceInfo(opts.Device)
	if err != nil {
		return nil, err
	}
	if !info.Supported() {
		return nil, fmt.Errorf("gpu: %s has compute capability %s; the kernels need %d.%d or later",
			info.Name, info.ComputeCapability(), MinMajor, MinMinor)
	}
	dev, err := cu.GetDevice(opts.Device)
	if err != nil {
		return nil, fmt.Errorf("gpu: device %d: %w", opts.Device, err)
	}
	d, err := newCUDriver(dev, info)
	if err != nil {
		return nil, err
	}
	return newBackend(d, info, opts)
}

// cuDriver is the driver interface on gorgonia.org/cu and one context.
type cuDriver struct {
	ctx cu.CUContext
}

func newCUDriver(dev cu.Device, info DeviceInfo) (*cuDriver, error) {
	// cuCtxCreate makes the context current on the calling thread: lock it
	// for the call and pop the context again, so that the backend pushes
	// it for itself on whatever thread each method runs.
	return withLockedThread(func() (*cuDriver, error) {
		// Blocking sync lets a waiting host thread sleep rather than spin:
		// the worker has encoders to feed on its CPU cores.
		ctx, err := dev.MakeContext(cu.SchedBlockingSync)
		if err != nil {
			return nil, fmt.Errorf("gpu: creating a context on %s: %w", info.Name, err)
		}
		if _, err := cu.PopCurrentCtx(); err != nil {
			ctx.Destroy()
			return nil, fmt.Errorf("gpu: releasing a new context from the thread: %w", err)
		}
		return &cuDriver{ctx: ctx}, nil
	})
}

func (d *cuDriver) enter() error { return cu.PushCurrentCtx(d.ctx) }

func (d *cuDriver) leave() { cu.PopCurrentCtx() }

func (d *cuDriver) close() error { return d.ctx.Destroy() }

func (d *cuDriver) alloc(n int64) (uint64, error) {
	p, err := cu.MemAlloc(n)
	if errors.Is(err, cu.OutOfMemory) {
		return 0, fmt.Errorf("%w (%d bytes): %w", errOutOfMemory, n, err)
	}
	return uint64(p), err
}

func (d *cuDriver) free(p uint64) error { return cu.MemFree(cu.DevicePtr(p)) }

func (d *cuDriver) hostAlloc(n int) ([]byte, error) {
	var p unsafe.Pointer
	if r := C.kiln_host_alloc(&p, C.size_t(n)); r != C.CUDA_SUCCESS {
		return nil, fmt.Errorf("cuMemHostAlloc: CUDA error %d", int(r))
	}
	return unsafe.Slice((*byte)(p), n), nil
}

func (d *cuDriver) hostFree(b []byte) error {
	if r := C.kiln_host_free(unsafe.Pointer(unsafe.SliceData(b))); r != C.CUDA_SUCCESS {
		return fmt.Errorf("cuMemFreeHost: CUDA error %d", int(r))
	}
	return nil
}

func (d *cuDriver) memsetAsync(p uint64, n int64, s any) error {
	return cu.MemsetD8Async(cu.DevicePtr(p), 0, n, s.(cu.Stream))
}

// The host side of a copy is always page-locked memory from hostAlloc (C
// memory), so handing its address to the driver breaks no cgo rule.
func (d *cuDriver) copyHtoDAsync(dst uint64, src []byte, s any) error {
	return cu.MemcpyHtoDAsync(cu.DevicePtr(dst), unsafe.Pointer(unsafe.SliceData(src)), int64(len(src)), s.(cu.Stream))
}

func (d *cuDriver) copyDtoHAsync(dst []byte, src uint64, s any) error {
	return cu.MemcpyDtoHAsync(unsafe.Pointer(unsafe.SliceData(dst)), cu.DevicePtr(src), int64(len(dst)), s.(cu.Stream))
}

func (d *cuDriver) copy2DAsync(dst uint64, dstPitch int, src uint64, srcPitch int, rowBytes, rows int, s any) error {
	return cu.Memcpy2DAsync(cu.Memcpy2dParam{
		Height: int64(rows), WidthInBytes: int64(rowBytes),
		DstDevice: cu.DevicePtr(dst), DstMemoryType: cu.DeviceMemory, DstPitch: int64(dstPitch),
		SrcDevice: cu.DevicePtr(src), SrcMemoryType: cu.DeviceMemory, SrcPitch: int64(srcPitch),
	}, s.(cu.Stream))
}

// handle reads the CUcontext out of cu's wrapper, which keeps it as its
// only field and does not export it.
func (d *cuDriver) handle() uintptr { return uintptr(*(*unsafe.Pointer)(unsafe.Pointer(&d.ctx))) }

// cuContextIsOnePointer fails the build if cu's context wrapper ever holds
// more than the CUcontext that handle reads from it.
var _ [unsafe.Sizeof(cu.CUContext{}) - unsafe.Sizeof(unsafe.Pointer(nil))]struct{}
var _ [unsafe.Sizeof(unsafe.Pointer(nil)) - unsafe.Sizeof(cu.CUContext{})]struct{}

func (d *cuDriver) newStream() (any, error) {
	// Non-blocking: the legacy default stream, which libav's CUDA code may
	// use in the same process, must not serialise with ours.
	return cu.MakeStream(cu.NonBlocking)
}

func (d *cuDriver) destroyStream(s any) error {
	st := s.(cu.Stream)
	return st.Destroy()
}

func (d *cuDriver) syncStream(s any) error { return s.(cu.Stream).Synchronize() }

func (d *cuDriver) newEvent() (any, error) {
	// No timing: events here only order streams and let the host wait.
	return cu.MakeEvent(cu.DisableTiming)
}

func (d *cuDriver) destroyEvent(ev any) error {
	e := ev.(cu.Event)
	return cu.DestroyEvent(&e)
}

func (d *cuDriver) record(ev, s any) error { return ev.(cu.Event).Record(s.(cu.Stream)) }

func (d *cuDriver) done(ev any) (bool, error) {
	err := ev.(cu.Event).Query()
	if errors.Is(err, cu.NotReady) {
		return false, nil
	}
	return err == nil, err
}

func (d *cuDriver) syncEvent(ev any) error { return ev.(cu.Event).Synchronize() }

func (d *cuDriver) wait(s, ev any) error { return s.(cu.Stream).Wait(ev.(cu.Event), 0) }

// load has the driver JIT-compile a PTX module for the context's device,
// with the compiler's error log in the error: "InvalidPtx" alone does not
// say which line of which kernel the driver's compiler refused.
func (d *cuDriver) load(ptx string) (any, error) {
	log := &cu.JITErrorLogBuffer{Buffer: make([]byte, 4096)}
	m, err := cu.LoadDataEx(ptx, log)
	if err != nil {
		n := bytes.IndexByte(log.Buffer, 0)
		if n < 0 {
			n = len(log.Buffer)
		}
		if msg := strings.TrimSpace(string(log.Buffer[:n])); msg != "" {
			return nil, fmt.Errorf("%w: %s", err, msg)
		}
		return nil, err
	}
	return m, nil
}

func (d *cuDriver) function(m any, name string) (any, error) { return m.(cu.Module).Function(name) }

func (d *cuDriver) unload(m any) error { return m.(cu.Module).Unload() }

// launch hands the slots to cuLaunchKernel. cu copies 8 bytes from behind
// each pointer into C memory; the driver then reads as many bytes as the
// parameter has, which on a little-endian host is the low half for a
// 32-bit int.
func (d *cuDriver) launch(fn any, gx, gy, bx, by int, s any, args []uint64) error {
	ptrs := make([]unsafe.Pointer, len(args))
	for i := range args {
		ptrs[i] = unsafe.Pointer(&args[i])
	}
	return fn.(cu.Function).Launch(gx, gy, 1, bx, by, 1, 0, s.(cu.Stream), ptrs)
}

// withLockedThread runs fn on one OS thread, for driver calls that change
// the thread's current context.
func withLockedThread[T any](fn func() (T, error)) (T, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return fn()
}
