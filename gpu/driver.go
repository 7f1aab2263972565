package gpu

import "errors"

// driver is the part of the CUDA driver API the backend uses. The cuda
// build implements it with gorgonia.org/cu (cu_driver.go); the tests
// implement it with an emulated device that runs the kernels' host build
// and orders the two streams adversarially, so that the backend's launches
// and its stream synchronisation are checked on machines without a GPU.
//
// Handles (streams, events, modules, functions) are opaque to the backend.
// Every call but close runs between enter and leave on one locked thread.
type driver interface {
	// enter makes the context current on the calling thread, which the
	// backend has locked; leave undoes it; close destroys the context.
	enter() error
	leave()
	close() error

	alloc(n int64) (uint64, error) // errOutOfMemory when the device is full
	free(p uint64) error
	hostAlloc(n int) ([]byte, error) // page-locked
	hostFree(b []byte) error

	memsetAsync(p uint64, n int64, s any) error
	copyHtoDAsync(dst uint64, src []byte, s any) error
	copyDtoHAsync(dst []byte, src uint64, s any) error
	// copy2DAsync copies rows rows of rowBytes bytes between pitched
	// device allocations.
	copy2DAsync(dst uint64, dstPitch int, src uint64, srcPitch int, rowBytes, rows int, s any) error
	// handle is the context as the driver API knows it (a CUcontext), for
	// libav to share; 0 when there is no real context.
	handle() uintptr

	newStream() (any, error)
	destroyStream(s any) error
	syncStream(s any) error

	newEvent() (any, error)
	destroyEvent(ev any) error
	record(ev, s any) error
	done(ev any) (bool, error) // without waiting
	syncEvent(ev any) error
	wait(s, ev any) error // s waits on the device for ev's latest recording

	load(ptx string) (any, error)
	function(module any, name string) (any, error)
	unload(module any) error
	launch(fn any, gx, gy, bx, by int, s any, args []uint64) error
}

// errOutOfMemory is what a driver's alloc wraps when device memory is
// exhausted, so that the pool can give its idle buffers back and retry.
var errOutOfMemory = errors.New("out of device memory")
