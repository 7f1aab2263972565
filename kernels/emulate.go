package kernels

/*
#include <stdint.h>
#include <stdlib.h>
#include "host.h"

int kiln_host_by_name(const char *n, kiln_launch l, const uint64_t *a, int na);
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// An emulated device for testing device backends on machines without one.
// A backend's launches (PTX entry name, grid, and the argument slots it
// would hand cuLaunchKernel) run here on the kernels' host build, against
// "device memory" that is plain C memory. The GPU backend's tests run the
// parity set through it, which checks its argument lists, pitches and
// offsets bit for bit against the CPU backend with no GPU at hand.

// EmulatorAlloc returns n zeroed bytes of C memory, whose address
// (&b[0]) stands for a device address in emulated launches. Free it with
// EmulatorFree; the garbage collector does not.
func EmulatorAlloc(n int) []byte {
	p := C.calloc(C.size_t(max(n, 1)), 1)
	if p == nil {
		panic(fmt.Sprintf("kernels: calloc(%d) failed", n))
	}
	return unsafe.Slice((*byte)(p), n)
}

// EmulatorFree frees memory from EmulatorAlloc.
func EmulatorFree(b []byte) {
	C.free(unsafe.Pointer(unsafe.SliceData(b)))
}

// EmulatorLaunch runs the kernel named as its PTX entry over a gx*gy grid of
// 32x8 blocks, one after another on the calling goroutine. args are the
// launch's 64-bit slots: addresses of EmulatorAlloc memory (or 0 for an
// optional table), and ints in the low 32 bits. It fails for an unknown
// kernel or a wrong number of arguments; a wrong address is memory
// corruption, as on a device.
func EmulatorLaunch(name string, gx, gy int, args []uint64) error {
	if gx <= 0 || gy <= 0 {
		return nil
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	// The slots go to C in C memory: they are integers to Go.
	slots := (*C.uint64_t)(C.calloc(C.size_t(max(len(args), 1)), 8))
	defer C.free(unsafe.Pointer(slots))
	copy(unsafe.Slice((*uint64)(unsafe.Pointer(slots)), len(args)), args)
	// ref: an emulated device runs each kernel thread by thread, as written,
	// never the CPU backend's row-wise versions.
	l := C.kiln_launch{gx: C.int(gx), gy: C.int(gy), bx: blockW, by: blockH, y0: 0, y1: C.int(gy), ref: 1}
	switch C.kiln_host_by_name(cname, l, slots, C.int(len(args))) {
	case 0:
		return nil
	case -2:
		return fmt.Errorf("kernels: emulated %s: wrong number of arguments (%d)", name, len(args))
	}
	return fmt.Errorf("kernels: emulated launch of unknown kernel %s", name)
}
