package gpu

import (
	"errors"
	"fmt"
)

// Synchronisation between the two streams. Every device buffer remembers
// the last operation that touched it, as an event recorded on the stream
// that ran it. An operation on the other stream waits for that event on
// the device (cuStreamWaitEvent, no host stall); one on the same stream is
// ordered by the stream already. Since each cross-stream use waits for the
// previous use, the last fence covers every earlier one: uploads may run
// ahead of the kernels of the previous frame, a buffer released to the
// pool is not overwritten while a kernel still reads it, and a download
// reads only what the kernels finished writing.

// stream is one CUDA stream with a small id for fence comparisons.
type stream struct {
	s  any
	id int
}

const (
	computeStream = iota // kernels
	copyStream           // uploads, downloads and clears of new images
)

// fence is an event shared by the buffers one operation touched.
type fence struct {
	ev     any
	stream int
	refs   int
}

// buffer is one device allocation from the pool.
type buffer struct {
	ptr   uint64
	size  int64
	fence *fence
}

// devicePool keeps released allocations by size class for reuse: a job
// works on a handful of sizes, so after the first frames no operation
// allocates. Beyond idleCap bytes kept, released buffers are freed.
type devicePool struct {
	free    map[int64][]*buffer
	idle    int64
	idleCap int64
}

// sizeClass rounds small sizes up to a power of two and large ones to
// 64 KiB, so that near-equal requests (a field of 45x36 or 45x35 blocks)
// share buffers.
func sizeClass(n int64) int64 {
	const grain = 64 << 10
	if n <= grain {
		c := int64(256)
		for c < n {
			c <<= 1
		}
		return c
	}
	return (n + grain - 1) &^ (grain - 1)
}

// alloc takes a buffer of at least n bytes from the pool, or from the
// driver; when the driver is out of memory it gives back the idle buffers
// and tries once more.
func (b *Backend) alloc(n int64) (*buffer, error) {
	c := sizeClass(max(n, 1))
	if l := b.pool.free[c]; len(l) > 0 {
		buf := l[len(l)-1]
		b.pool.free[c] = l[:len(l)-1]
		b.pool.idle -= buf.size
		return buf, nil
	}
	p, err := b.drv.alloc(c)
	if errors.Is(err, errOutOfMemory) {
		if ferr := b.trimPool(0); ferr != nil {
			return nil, ferr
		}
		p, err = b.drv.alloc(c)
	}
	if err != nil {
		return nil, fmt.Errorf("gpu: allocating %d bytes of device memory: %w", c, err)
	}
	return &buffer{ptr: p, size: c}, nil
}

// free returns a buffer to the pool, or to the driver when the pool holds
// enough already. Nil is ignored, so callers can release optional buffers.
func (b *Backend) free(buf *buffer) error {
	if buf == nil {
		return nil
	}
	if b.pool.idle+buf.size <= b.pool.idleCap {
		b.pool.free[buf.size] = append(b.pool.free[buf.size], buf)
		b.pool.idle += buf.size
		return nil
	}
	return b.destroy(buf)
}

// destroy gives a buffer back to the driver once its last use is done:
// cuMemFree does not wait for work queued on other streams.
func (b *Backend) destroy(buf *buffer) error {
	if f := buf.fence; f != nil {
		if err := b.drv.syncEvent(f.ev); err != nil {
			return fmt.Errorf("gpu: waiting for a buffer's last use: %w", err)
		}
		b.unref(f)
		buf.fence = nil
	}
	if err := b.drv.free(buf.ptr); err != nil {
		return fmt.Errorf("gpu: freeing device memory: %w", err)
	}
	buf.ptr = 0
	return nil
}

// trimPool frees idle buffers until at most keep bytes stay idle.
func (b *Backend) trimPool(keep int64) error {
	var first error
	for c, l := range b.pool.free {
		for len(l) > 0 && b.pool.idle > keep {
			buf := l[len(l)-1]
			l = l[:len(l)-1]
			b.pool.idle -= buf.size
			if err := b.destroy(buf); err != nil && first == nil {
				first = err
			}
		}
		b.pool.free[c] = l
	}
	return first
}

// event takes an event from the free list or makes one. Events carry no
// timing: they only order streams and let the host wait.
func (b *Backend) event() (any, error) {
	if n := len(b.events); n > 0 {
		ev := b.events[n-1]
		b.events = b.events[:n-1]
		return ev, nil
	}
	ev, err := b.drv.newEvent()
	if err != nil {
		return nil, fmt.Errorf("gpu: creating an event: %w", err)
	}
	return ev, nil
}

// unref drops one buffer's hold on a fence; the event is reused once no
// buffer refers to it (a stream already waiting on it waited on the
// recording it saw, so recording it again later is safe).
func (b *Backend) unref(f *fence) {
	f.refs--
	if f.refs == 0 {
		b.events = append(b.events, f.ev)
	}
}

// await makes stream s wait for the last use of each buffer on the other
// stream. Nil buffers (optional arguments) are skipped.
func (b *Backend) await(s *stream, bufs ...*buffer) error {
	seen := map[*fence]bool{}
	for _, buf := range bufs {
		if buf == nil || buf.fence == nil || buf.fence.stream == s.id || seen[buf.fence] {
			continue
		}
		seen[buf.fence] = true
		if err := b.drv.wait(s.s, buf.fence.ev); err != nil {
			return fmt.Errorf("gpu: ordering streams: %w", err)
		}
	}
	return nil
}

// mark records that the work just queued on s touched bufs.
func (b *Backend) mark(s *stream, bufs ...*buffer) error {
	ev, err := b.event()
	if err != nil {
		return err
	}
	if err := b.drv.record(ev, s.s); err != nil {
		b.events = append(b.events, ev)
		return fmt.Errorf("gpu: recording an event: %w", err)
	}
	f := &fence{ev: ev, stream: s.id}
	for _, buf := range bufs {
		if buf == nil || buf.fence == f {
			continue
		}
		if buf.fence != nil {
			b.unref(buf.fence)
		}
		f.refs++
		buf.fence = f
	}
	if f.refs == 0 {
		b.events = append(b.events, ev)
	}
	return nil
}

// pinned is a page-locked host block for one upload or download. Its event
// marks the end of the last copy that used it.
type pinned struct {
	host []byte // page-locked memory from the driver
	ev   any
	used bool // ev has been recorded
	busy bool // held by an operation
}

// maxStaging bounds the pinned blocks: enough for a few uploads in flight
// while kernels run and a download drains, without pinning much memory.
const maxStaging = 4

// staging returns a free pinned block of at least n bytes: a block whose
// last copy is done, else a new one while there are fewer than maxStaging,
// else the host waits for a block's copy to finish and takes that block.
func (b *Backend) staging(n int) (*pinned, error) {
	var fit, spare *pinned
	for _, p := range b.pinned {
		if p.busy {
			continue
		}
		if len(p.host) >= n && (fit == nil || len(p.host) < len(fit.host)) {
			if done, err := b.copyDone(p); err != nil {
				return nil, err
			} else if done {
				fit = p
			}
		}
		spare = p
	}
	if fit == nil && len(b.pinned) >= maxStaging && spare != nil {
		if spare.used {
			if err := b.drv.syncEvent(spare.ev); err != nil {
				return nil, fmt.Errorf("gpu: waiting for a copy: %w", err)
			}
		}
		if len(spare.host) >= n {
			fit = spare
		} else if err := b.dropStaging(spare); err != nil { // too small: replace it
			return nil, err
		}
	}
	if fit == nil {
		p, err := b.newPinned(n)
		if err != nil {
			return nil, err
		}
		fit = p
	}
	fit.busy = true
	return fit, nil
}

// copyDone tells whether the last copy through p has finished.
func (b *Backend) copyDone(p *pinned) (bool, error) {
	if !p.used {
		return true, nil
	}
	done, err := b.drv.done(p.ev)
	if err != nil {
		return false, fmt.Errorf("gpu: querying a copy: %w", err)
	}
	return done, nil
}

func (b *Backend) newPinned(n int) (*pinned, error) {
	size := (n + 1<<20 - 1) &^ (1<<20 - 1)
	host, err := b.drv.hostAlloc(size)
	if err != nil {
		return nil, fmt.Errorf("gpu: allocating %d bytes of pinned host memory: %w", size, err)
	}
	ev, err := b.event()
	if err != nil {
		b.drv.hostFree(host)
		return nil, err
	}
	blk := &pinned{host: host, ev: ev}
	b.pinned = append(b.pinned, blk)
	return blk, nil
}

// dropStaging frees a block whose copies are done.
func (b *Backend) dropStaging(p *pinned) error {
	for i, q := range b.pinned {
		if q == p {
			b.pinned = append(b.pinned[:i], b.pinned[i+1:]...)
			break
		}
	}
	b.events = append(b.events, p.ev)
	if err := b.drv.hostFree(p.host); err != nil {
		return fmt.Errorf("gpu: freeing pinned host memory: %w", err)
	}
	p.host = nil
	return nil
}

// release ends an operation's hold on a block; if a copy was queued from
// or into it, ev was recorded after that copy.
func (p *pinned) release() { p.busy = false }
