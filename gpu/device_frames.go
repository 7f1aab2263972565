package gpu

import (
	"fmt"

	"kiln/kernels"
)

// ContextHandle is the CUcontext the backend's images and kernels live in,
// as a number, for libav to share (AVCUDADeviceContext.cuda_ctx): libav's
// frames are then in the same context as the backend's images, and a copy
// between them stays on the device. 0 on the tests' emulated device.
func (b *Backend) ContextHandle() uintptr { return b.drv.handle() }

// CopyToDevice copies the planes of src (Y, Cb, Cr) into device memory the
// backend did not allocate, such as a libav CUDA frame's that NVENC encodes
// from: plane i goes to address ptrs[i], whose rows are pitches[i] bytes
// apart. The copy stays on the device, runs after the kernels that wrote
// src, and is done when CopyToDevice returns: the caller hands the planes
// to an encoder that reads them on a stream of its own, which no event of
// the backend's orders.
func (b *Backend) CopyToDevice(ptrs [3]uint64, pitches [3]int, src kernels.Image) error {
	return b.do(func() error {
		im, err := b.image("CopyToDevice", src)
		if err != nil {
			return err
		}
		n := im.format.Bytes()
		for i := 0; i < 3; i++ {
			if w, _ := im.format.PlaneSize(i); ptrs[i] == 0 || pitches[i] < w*n {
				return fmt.Errorf("gpu: CopyToDevice: plane %d of %v does not fit device plane %#x with pitch %d", i, im.format, ptrs[i], pitches[i])
			}
		}
		if err := b.await(&b.copy, im.buf); err != nil {
			return err
		}
		for i := 0; i < 3; i++ {
			w, h := im.format.PlaneSize(i)
			if err := b.drv.copy2DAsync(ptrs[i], pitches[i], im.plane(i), im.pitch[i], w*n, h, b.copy.s); err != nil {
				return fmt.Errorf("gpu: queueing a device-to-device copy of plane %d: %w", i, err)
			}
		}
		if err := b.mark(&b.copy, im.buf); err != nil {
			return err
		}
		if err := b.drv.syncStream(b.copy.s); err != nil {
			return fmt.Errorf("gpu: waiting for a device-to-device copy (a kernel or copy failed): %w", err)
		}
		return nil
	})
}
