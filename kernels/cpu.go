package kernels

/*
#cgo CFLAGS: -O3 -std=c99 -fno-strict-aliasing -Wall
#include "host.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Host blocks are 32x8 threads, the shape the GPU backend launches too, so
// a kernel's bounds checks see the same grid on both targets.
const blockW, blockH = 32, 8

type cpuBackend struct{}

// CPU returns the CPU backend: the kernels compiled as host C, with the grid
// split by block rows across runtime.NumCPU() goroutines.
func CPU() Backend { return cpuBackend{} }

func (cpuBackend) Name() string { return "cpu" }

// ImagesInHostMemory: the CPU backend's images are host frames (HostFrames).
func (cpuBackend) ImagesInHostMemory() {}

// NewImage returns a frame of format f, one given back by Release when there
// is one: a pipeline makes and drops several frames per picture, and fresh
// ones cost the zeroing and page faults of megabytes each time. A reused
// frame holds old samples; every kernel writes each sample of its output.
func (cpuBackend) NewImage(f Format) (Image, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if p, ok := framePools.Load(f); ok {
		if fr, ok := p.(*sync.Pool).Get().(*Frame); ok {
			return fr, nil
		}
	}
	return NewFrame(f), nil
}

// Release keeps a host frame for NewImage to hand out again; the caller must
// not use it afterwards. Pooled frames the garbage collector may still
// take, as it does any sync.Pool's.
func (cpuBackend) Release(img Image) {
	fr, ok := img.(*Frame)
	if !ok || fr == nil || fr.Format.Validate() != nil || !ownLayout(fr) {
		return
	}
	p, _ := framePools.LoadOrStore(fr.Format, new(sync.Pool))
	p.(*sync.Pool).Put(fr)
}

// ownLayout is true for a frame laid out as NewFrame lays out its format:
// planes of its own, not a FieldView or another sharing of memory, which
// the pool must never hand out.
func ownLayout(fr *Frame) bool {
	for i := range fr.Planes {
		p := &fr.Planes[i]
		w, h := fr.Format.PlaneSize(i)
		if p.Width != w || p.Height != h || p.Stride != rowStride(w, fr.Bytes()) || len(p.Data) != p.Stride*h {
			return false
		}
	}
	return true
}

// framePools holds released host frames, a sync.Pool per Format.
var framePools sync.Map

func (cpuBackend) Upload(dst Image, src *Frame) error {
	d, err := hostFrame(dst)
	if err != nil || d == src {
		return err
	}
	return d.CopyFrom(src)
}

func (cpuBackend) Download(dst *Frame, src Image) error {
	s, err := hostFrame(src)
	if err != nil || s == dst {
		return err
	}
	return dst.CopyFrom(s)
}

func hostFrame(img Image) (*Frame, error) {
	f, ok := img.(*Frame)
	if !ok || f == nil {
		return nil, fmt.Errorf("kernels: the CPU backend needs a *Frame, got %T", img)
	}
	return f, nil
}

// referenceLaunches makes every launch run its kernel thread by thread, as
// the device does, instead of the row-wise host versions of host.h. Only
// tests set it, to check the two against each other.
var referenceLaunches atomic.Bool

// launch runs a kernel over a w*h thread grid. Each goroutine makes one cgo
// call covering a contiguous range of block rows.
func launch(w, h int, kernel func(l C.kiln_launch)) {
	gx, gy := (w+blockW-1)/blockW, (h+blockH-1)/blockH
	if gx == 0 || gy == 0 {
		return
	}
	l := C.kiln_launch{gx: C.int(gx), gy: C.int(gy), bx: blockW, by: blockH}
	if referenceLaunches.Load() {
		l.ref = 1
	}
	n := min(runtime.NumCPU(), gy)
	if n == 1 || w*h < 1<<10 {
		l.y0, l.y1 = 0, C.int(gy)
		kernel(l)
		return
	}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		part := l
		part.y0, part.y1 = C.int(gy*i/n), C.int(gy*(i+1)/n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			kernel(part)
		}()
	}
	wg.Wait()
}

// Pointer helpers: Go memory handed to C for the length of one call only.
func u8p(b []byte) *C.uchar   { return (*C.uchar)(unsafe.Pointer(unsafe.SliceData(b))) }
func i16p(b []int16) *C.short { return (*C.short)(unsafe.Pointer(unsafe.SliceData(b))) }
func i32p(b []int32) *C.int   { return (*C.int)(unsafe.Pointer(unsafe.SliceData(b))) }
func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
