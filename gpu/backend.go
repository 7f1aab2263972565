package gpu

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"kiln/kernels"
)

// Backend is the CUDA implementation of kernels.Backend on one device, with
// its own context. Its methods may be called from any goroutine; they are
// serialised, since they share the streams and pools.
//
// Kernels run asynchronously on a compute stream and copies on a copy
// stream, so an Upload of the next frame overlaps the kernels of this one,
// and a Download waits for the kernels only while not holding the backend.
// Every method is still synchronous from the caller's point of view: inputs
// may be changed once it returns, and a Download returns finished data. A
// fault in a kernel surfaces at the next Download, Sync or Close.
type Backend struct {
	mu       sync.Mutex
	inflight sync.WaitGroup // Downloads waiting without the lock
	closed   bool

	dev     DeviceInfo
	drv     driver
	compute stream
	copy    stream
	modules []any
	kernels map[string]*kernel

	pool   devicePool
	pinned []*pinned
	events []any
	tables tableCache

	launches map[string]int
}

var errClosed = errors.New("gpu: backend is closed")

// newBackend sets a backend up on a driver whose context was just made:
// it loads the embedded PTX (the driver compiles it for the device) and
// makes the two streams. On failure the driver's context is closed too.
func newBackend(drv driver, info DeviceInfo, opts Options) (*Backend, error) {
	b := &Backend{
		dev:      info,
		drv:      drv,
		kernels:  map[string]*kernel{},
		pool:     devicePool{free: map[int64][]*buffer{}, idleCap: opts.poolIdleBytes()},
		tables:   tableCache{entries: map[any]*tableEntry{}},
		launches: map[string]int{},
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := drv.enter(); err != nil {
		drv.close()
		return nil, fmt.Errorf("gpu: making the context current: %w", err)
	}
	err := b.setup()
	if err != nil {
		b.teardown()
	}
	drv.leave()
	if err != nil {
		drv.close()
		return nil, err
	}
	return b, nil
}

func (b *Backend) setup() error {
	if err := b.loadModules(); err != nil {
		return err
	}
	for _, s := range []*stream{&b.compute, &b.copy} {
		st, err := b.drv.newStream()
		if err != nil {
			return fmt.Errorf("gpu: creating a stream: %w", err)
		}
		s.s = st
	}
	b.compute.id, b.copy.id = computeStream, copyStream
	return nil
}

// Device describes the GPU the backend runs on.
func (b *Backend) Device() DeviceInfo { return b.dev }

// Name is "cuda", as job reports record the backend.
func (b *Backend) Name() string { return "cuda" }

// KernelsOnGPU: the backend's kernels run on the device (kernels.OnGPU).
func (*Backend) KernelsOnGPU() {}

// enter holds the backend and makes its context current on this goroutine's
// OS thread: the driver's current context is per thread, and Go moves
// goroutines between threads unless locked.
func (b *Backend) enter() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return errClosed
	}
	runtime.LockOSThread()
	if err := b.drv.enter(); err != nil {
		runtime.UnlockOSThread()
		b.mu.Unlock()
		return fmt.Errorf("gpu: making the context current: %w", err)
	}
	return nil
}

func (b *Backend) leave() {
	b.drv.leave()
	runtime.UnlockOSThread()
	b.mu.Unlock()
}

// do runs fn inside the backend.
func (b *Backend) do(fn func() error) error {
	if err := b.enter(); err != nil {
		return err
	}
	defer b.leave()
	return fn()
}

// Sync waits until every queued copy and kernel is done and reports the
// first fault, if any: what a benchmark needs to time the device.
func (b *Backend) Sync() error {
	return b.do(func() error {
		for _, s := range []*stream{&b.compute, &b.copy} {
			if err := b.drv.syncStream(s.s); err != nil {
				return fmt.Errorf("gpu: waiting for the device (a kernel or copy failed): %w", err)
			}
		}
		return nil
	})
}

// LaunchCounts returns how often each kernel was launched so far, so that a
// parity run can check that an operation took the kernels it claims to.
func (b *Backend) LaunchCounts() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]int, len(b.launches))
	for k, v := range b.launches {
		out[k] = v
	}
	return out
}

// Close waits for the device, frees every buffer, pinned block, event,
// stream and module, and destroys the context. Images still held become
// unusable. Closing twice is harmless.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	b.inflight.Wait() // Downloads between their two halves

	b.mu.Lock()
	defer b.mu.Unlock()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := b.drv.enter(); err != nil {
		return fmt.Errorf("gpu: making the context current to close it: %w", err)
	}
	err := b.teardown()
	b.drv.leave()
	if derr := b.drv.close(); derr != nil && err == nil {
		err = fmt.Errorf("gpu: destroying the context: %w", derr)
	}
	return err
}

// teardown releases what setup and the operations made, with the context
// current; the context itself stays.
func (b *Backend) teardown() error {
	var errs []error
	for _, s := range []*stream{&b.compute, &b.copy} {
		if s.s != nil {
			if err := b.drv.syncStream(s.s); err != nil {
				errs = append(errs, fmt.Errorf("gpu: waiting for the device before closing: %w", err))
			}
		}
	}
	b.tables.clear(b)
	errs = append(errs, b.trimPool(0))
	for len(b.pinned) > 0 {
		errs = append(errs, b.dropStaging(b.pinned[0]))
	}
	for _, ev := range b.events {
		errs = append(errs, b.drv.destroyEvent(ev))
	}
	b.events = nil
	for _, s := range []*stream{&b.compute, &b.copy} {
		if s.s != nil {
			errs = append(errs, b.drv.destroyStream(s.s))
			s.s = nil
		}
	}
	for _, m := range b.modules {
		errs = append(errs, b.drv.unload(m))
	}
	b.modules = nil
	return errors.Join(errs...)
}

// Image is a picture in device memory: three planes in one pooled buffer,
// rows padded to 256 bytes for coalesced access. Its contents are only
// reachable through the Backend that made it.
type Image struct {
	format kernels.Format
	owner  *Backend
	buf    *buffer
	pitch  [3]int
	off    [3]int64
	size   int64
}

// ImageFormat implements kernels.Image.
func (im *Image) ImageFormat() kernels.Format { return im.format }

// plane is the device address of plane i.
func (im *Image) plane(i int) uint64 { return im.buf.ptr + uint64(im.off[i]) }

// layout places the planes of f one after another with 256-byte rows and
// plane starts.
func layout(f kernels.Format) (pitch [3]int, off [3]int64, size int64) {
	for i := 0; i < 3; i++ {
		w, h := f.PlaneSize(i)
		pitch[i] = (w*f.Bytes() + 255) &^ 255
		off[i] = size
		size += int64(pitch[i]) * int64(h)
	}
	return pitch, off, size
}

// NewImage allocates an image from the pool and clears it to zero, as the
// CPU backend's fresh frames are, so that a pipeline sees the same picture
// on both even when it reads an image before writing all of it. The clear
// runs on the copy stream, where the upload that usually follows runs too:
// on the compute stream it would queue behind the previous frame's kernels
// and hold the upload back with it.
func (b *Backend) NewImage(f kernels.Format) (kernels.Image, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	var im *Image
	err := b.do(func() error {
		pitch, off, size := layout(f)
		buf, err := b.alloc(size)
		if err != nil {
			return err
		}
		if err := b.await(&b.copy, buf); err != nil {
			b.free(buf)
			return err
		}
		if err := b.drv.memsetAsync(buf.ptr, size, b.copy.s); err != nil {
			b.free(buf)
			return fmt.Errorf("gpu: clearing a new image: %w", err)
		}
		if err := b.mark(&b.copy, buf); err != nil {
			b.free(buf)
			return err
		}
		im = &Image{format: f, owner: b, buf: buf, pitch: pitch, off: off, size: size}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return im, nil
}

// Release returns an image's memory to the pool; work already queued on it
// finishes first (the pool's fences see to that). Images of other backends
// and released images are ignored, as the CPU backend ignores everything.
func (b *Backend) Release(img kernels.Image) {
	im, ok := img.(*Image)
	if !ok || im == nil || im.owner != b || im.buf == nil {
		return
	}
	b.do(func() error {
		buf := im.buf
		im.buf = nil
		return b.free(buf)
	})
}

// image checks that img is a live image of this backend.
func (b *Backend) image(what string, img kernels.Image) (*Image, error) {
	im, ok := img.(*Image)
	switch {
	case !ok || im == nil:
		return nil, fmt.Errorf("gpu: %s: the CUDA backend needs a *gpu.Image, got %T", what, img)
	case im.owner != b:
		return nil, fmt.Errorf("gpu: %s: image belongs to another backend", what)
	case im.buf == nil:
		return nil, fmt.Errorf("gpu: %s: image was released", what)
	}
	return im, nil
}

// images checks several images at once.
func (b *Backend) images(what string, imgs ...kernels.Image) ([]*Image, error) {
	out := make([]*Image, len(imgs))
	for i, img := range imgs {
		im, err := b.image(what, img)
		if err != nil {
			return nil, err
		}
		out[i] = im
	}
	return out, nil
}

func checkFormat(what string, im *Image, want kernels.Format) error {
	if im.format != want {
		return fmt.Errorf("gpu: %s is %v, want %v", what, im.format, want)
	}
	return nil
}

func errInPlace(op string) error { return fmt.Errorf("gpu: %s cannot work in place", op) }

// Upload packs the frame into a pinned block in the image's layout and
// queues one copy on the copy stream; it returns without waiting for the
// copy, which the next kernel on the image waits for on the device.
func (b *Backend) Upload(dst kernels.Image, src *kernels.Frame) error {
	return b.do(func() error {
		im, err := b.image("Upload", dst)
		if err != nil {
			return err
		}
		if src.Format != im.format {
			return fmt.Errorf("gpu: upload %v into %v", src.Format, im.format)
		}
		p, err := b.staging(int(im.size))
		if err != nil {
			return err
		}
		defer p.release()
		n := src.Bytes()
		for i := 0; i < 3; i++ {
			sp := &src.Planes[i]
			row := sp.Width * n
			for y := 0; y < sp.Height; y++ {
				o := im.off[i] + int64(y*im.pitch[i])
				copy(p.host[o:o+int64(row)], sp.Data[y*sp.Stride:y*sp.Stride+row])
			}
		}
		return b.copyIn(im.buf, p, im.size)
	})
}

// copyIn queues the copy of n bytes from a pinned block into buf.
func (b *Backend) copyIn(buf *buffer, p *pinned, n int64) error {
	if err := b.await(&b.copy, buf); err != nil {
		return err
	}
	if err := b.drv.copyHtoDAsync(buf.ptr, p.host[:n], b.copy.s); err != nil {
		return fmt.Errorf("gpu: queueing an upload of %d bytes: %w", n, err)
	}
	if err := b.drv.record(p.ev, b.copy.s); err != nil {
		return fmt.Errorf("gpu: recording an event: %w", err)
	}
	p.used = true
	return b.mark(&b.copy, buf)
}

// Download waits for the image's last kernel, copies it out through a
// pinned block and unpacks it into dst. The wait happens without holding
// the backend, so other goroutines keep queuing work meanwhile.
func (b *Backend) Download(dst *kernels.Frame, src kernels.Image) error {
	if err := b.enter(); err != nil {
		return err
	}
	im, err := b.image("Download", src)
	if err == nil && dst.Format != im.format {
		err = fmt.Errorf("gpu: download %v into %v", im.format, dst.Format)
	}
	var p *pinned
	if err == nil {
		p, err = b.copyOut(im.buf, im.size)
	}
	if err != nil {
		b.leave()
		return err
	}
	b.inflight.Add(1)
	b.mu.Unlock() // the context stays current on this thread
	err = b.drv.syncEvent(p.ev)
	if err == nil {
		n := dst.Bytes()
		for i := 0; i < 3; i++ {
			dp := &dst.Planes[i]
			row := dp.Width * n
			for y := 0; y < dp.Height; y++ {
				o := im.off[i] + int64(y*im.pitch[i])
				copy(dp.Data[y*dp.Stride:y*dp.Stride+row], p.host[o:o+int64(row)])
			}
		}
	} else {
		err = fmt.Errorf("gpu: waiting for a download (a kernel or copy failed): %w", err)
	}
	b.mu.Lock()
	p.release()
	b.inflight.Done()
	b.leave()
	return err
}

// copyOut queues the copy of n bytes of buf into a pinned block, after
// the last kernel that touched buf; the block's event marks its end.
func (b *Backend) copyOut(buf *buffer, n int64) (*pinned, error) {
	p, err := b.staging(int(n))
	if err != nil {
		return nil, err
	}
	if err := b.await(&b.copy, buf); err != nil {
		p.release()
		return nil, err
	}
	if err := b.drv.copyDtoHAsync(p.host[:n], buf.ptr, b.copy.s); err != nil {
		p.release()
		return nil, fmt.Errorf("gpu: queueing a download of %d bytes: %w", n, err)
	}
	if err := b.drv.record(p.ev, b.copy.s); err != nil {
		p.release()
		return nil, fmt.Errorf("gpu: recording an event: %w", err)
	}
	p.used = true
	if err := b.mark(&b.copy, buf); err != nil {
		p.release()
		return nil, err
	}
	return p, nil
}

// arrays is a set of small host arrays uploaded into one buffer, each at a
// 256-byte aligned offset: filter tables, logo planes, vector fields.
type arrays struct {
	buf *buffer
	off []int64
}

// at is the device address of array i.
func (a *arrays) at(i int) uint64 { return a.buf.ptr + uint64(a.off[i]) }

// asBytes views a slice of fixed-size integers as bytes, for copying into
// a pinned block.
func asBytes[T int16 | uint16 | int32](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(s[0])))
}

// upload copies host arrays into a new buffer through the copy stream.
// The caller owns the buffer (free it, or keep it in the table cache).
func (b *Backend) upload(data ...[]byte) (*arrays, error) {
	a := &arrays{off: make([]int64, len(data))}
	var size int64
	for i, d := range data {
		a.off[i] = size
		size += (int64(len(d)) + 255) &^ 255
	}
	buf, err := b.alloc(size)
	if err != nil {
		return nil, err
	}
	p, err := b.staging(int(size))
	if err != nil {
		b.free(buf)
		return nil, err
	}
	defer p.release()
	for i, d := range data {
		copy(p.host[a.off[i]:], d)
	}
	if err := b.copyIn(buf, p, size); err != nil {
		b.free(buf)
		return nil, err
	}
	a.buf = buf
	return a, nil
}

// tableCache keeps the device copies of the plans' tables (scalers, matrix
// converters, overlays, interlace taps), keyed by the plan, so each is
// uploaded once. Plans are immutable and a job makes a few, so a small LRU
// bounds the memory of a long benchmark without re-uploading in a job.
type tableCache struct {
	entries map[any]*tableEntry
	tick    uint64
}

type tableEntry struct {
	a    *arrays
	last uint64
}

const maxTables = 64

// table returns the device copy of a plan's tables, uploading them with
// build on first use.
func (b *Backend) table(key any, build func() [][]byte) (*arrays, error) {
	c := &b.tables
	c.tick++
	if e := c.entries[key]; e != nil {
		e.last = c.tick
		return e.a, nil
	}
	if len(c.entries) >= maxTables {
		var oldest any
		var at uint64
		for k, e := range c.entries {
			if oldest == nil || e.last < at {
				oldest, at = k, e.last
			}
		}
		if err := b.free(c.entries[oldest].a.buf); err != nil {
			return nil, err
		}
		delete(c.entries, oldest)
	}
	a, err := b.upload(build()...)
	if err != nil {
		return nil, err
	}
	c.entries[key] = &tableEntry{a: a, last: c.tick}
	return a, nil
}

func (c *tableCache) clear(b *Backend) {
	for k, e := range c.entries {
		b.free(e.a.buf)
		delete(c.entries, k)
	}
}

// op queues one backend operation on the compute stream: it waits for the
// other stream's last use of every buffer involved, runs the launches, and
// marks the buffers as used by it. Buffers the launches need besides those
// (intermediate fields) come from the scratch allocator; they are marked
// too, then go back to the pool unless kept for the caller.
func (b *Backend) op(bufs []*buffer, launches func(s *scratch) error) error {
	if err := b.await(&b.compute, bufs...); err != nil {
		return err
	}
	s := &scratch{b: b}
	err := launches(s)
	// Mark even after a failed launch: earlier launches of the op may be
	// queued and still use the buffers.
	if merr := b.mark(&b.compute, append(bufs, s.bufs...)...); err == nil {
		err = merr
	}
	for _, buf := range s.bufs {
		if !s.kept[buf] {
			b.free(buf)
		}
	}
	return err
}

// scratch allocates device buffers for the length of one op.
type scratch struct {
	b    *Backend
	bufs []*buffer
	kept map[*buffer]bool
}

// alloc returns a buffer that the compute stream may write: a pooled
// buffer last used by a copy is waited for first.
func (s *scratch) alloc(n int64) (*buffer, error) {
	buf, err := s.b.alloc(n)
	if err != nil {
		return nil, err
	}
	s.bufs = append(s.bufs, buf)
	if err := s.b.await(&s.b.compute, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// keep hands a scratch buffer to the caller, who frees it.
func (s *scratch) keep(buf *buffer) {
	if s.kept == nil {
		s.kept = map[*buffer]bool{}
	}
	s.kept[buf] = true
}

// bufsOf lists the buffers of images (nil images are skipped).
func bufsOf(imgs ...*Image) []*buffer {
	out := make([]*buffer, 0, len(imgs))
	for _, im := range imgs {
		if im != nil {
			out = append(out, im.buf)
		}
	}
	return out
}
