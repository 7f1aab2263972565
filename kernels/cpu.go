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

func (cpuBackend) NewImage(f Format) (Image, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return NewFrame(f), nil
}

// Release leaves host frames to the garbage collector.
func (cpuBackend) Release(Image) {}

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

// launch runs a kernel over a w*h thread grid. Each goroutine makes one cgo
// call covering a contiguous range of block rows.
func launch(w, h int, kernel func(l C.kiln_launch)) {
	gx, gy := (w+blockW-1)/blockW, (h+blockH-1)/blockH
	if gx == 0 || gy == 0 {
		return
	}
	l := C.kiln_launch{gx: C.int(gx), gy: C.int(gy), bx: blockW, by: blockH}
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
