package gpu

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"sync"
	"unsafe"

	"kiln/kernels"
)

// emuDriver is an emulated CUDA device: device memory is C memory, kernels
// run on their host build (kernels.EmulatorLaunch), and the two streams are
// queues that run as late as possible, in an order the scheduling policy
// picks among what the recorded events allow. A backend that forgets to
// order its streams, reuses a staging block too early or frees a buffer
// still in use then computes something else, or trips a check here, where
// a real GPU would do so only sometimes.
type emuDriver struct {
	mu      sync.Mutex
	policy  emuPolicy
	rng     *rand.Rand
	entered int

	mem     map[uint64][]byte // device allocations by base address
	hosts   int               // pinned blocks alive
	streams []*emuStream
	events  int // events alive
	modules int

	// dropWaits makes wait a no-op: a broken backend, to show the tests
	// notice missing synchronisation.
	dropWaits bool
	// faults collects misuse found while running (use after free, calls
	// outside enter, deadlock); a test fails when it is not empty.
	faults []string
}

type emuPolicy int

const (
	computeFirst emuPolicy = iota // the stream created first runs whenever it can
	copyFirst                     // the other one does
	randomOrder                   // a seeded coin decides each step
)

func (p emuPolicy) String() string {
	return [...]string{"compute first", "copy first", "random order"}[p]
}

type emuStream struct {
	q     []emuOp
	alive bool
}

// emuOp is one queued operation: work, or a wait for an event's recording.
type emuOp struct {
	run     func()
	refs    [][2]uint64 // device ranges it touches, for use-after-free checks
	waitEv  *emuEvent
	waitGen int
}

type emuEvent struct {
	recorded int          // generation of the latest record call
	done     map[int]bool // generations that have completed
}

func newEmuDriver(policy emuPolicy) *emuDriver {
	return &emuDriver{policy: policy, rng: rand.New(rand.NewPCG(1, uint64(policy))), mem: map[uint64][]byte{}}
}

func (d *emuDriver) fault(format string, args ...any) {
	d.faults = append(d.faults, fmt.Sprintf(format, args...))
}

func (d *emuDriver) check(call string) {
	if d.entered <= 0 {
		d.fault("%s called without the context current", call)
	}
}

func (d *emuDriver) enter() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.entered++
	return nil
}

func (d *emuDriver) leave() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.entered--
}

// close checks that the backend gave everything back, as destroying a real
// context would otherwise hide leaks.
func (d *emuDriver) close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var leaks []string
	if len(d.mem) > 0 {
		leaks = append(leaks, fmt.Sprintf("%d device buffers", len(d.mem)))
	}
	if d.hosts > 0 {
		leaks = append(leaks, fmt.Sprintf("%d pinned blocks", d.hosts))
	}
	if d.events > 0 {
		leaks = append(leaks, fmt.Sprintf("%d events", d.events))
	}
	for _, s := range d.streams {
		if s.alive {
			leaks = append(leaks, "a stream")
		}
	}
	if d.modules > 0 {
		leaks = append(leaks, fmt.Sprintf("%d modules", d.modules))
	}
	if len(leaks) > 0 {
		return fmt.Errorf("emulated context destroyed with %v still held", leaks)
	}
	return nil
}

// resolve finds the allocation holding [p, p+n).
func (d *emuDriver) resolve(p uint64, n int64) ([]byte, error) {
	for base, b := range d.mem {
		if p >= base && p+uint64(n) <= base+uint64(len(b)) {
			return b[p-base : p-base+uint64(n)], nil
		}
	}
	return nil, fmt.Errorf("no device allocation holds %#x+%d", p, n)
}

func (d *emuDriver) alloc(n int64) (uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.check("alloc")
	b := kernels.EmulatorAlloc(int(n))
	for i := range b {
		b[i] = 0xa5 // what a kernel reading unwritten memory would see
	}
	p := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
	d.mem[p] = b
	return p, nil
}

func (d *emuDriver) free(p uint64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.check("free")
	b, ok := d.mem[p]
	if !ok {
		return fmt.Errorf("free of %#x, which is no allocation", p)
	}
	for _, s := range d.streams {
		for _, op := range s.q {
			for _, r := range op.refs {
				if r[0] < p+uint64(len(b)) && r[1] > p {
					d.fault("buffer %#x freed while a queued operation still uses it", p)
				}
			}
		}
	}
	delete(d.mem, p)
	kernels.EmulatorFree(b)
	return nil
}

func (d *emuDriver) hostAlloc(n int) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.check("hostAlloc")
	d.hosts++
	b := make([]byte, n)
	for i := range b {
		b[i] = 0x5a
	}
	return b, nil
}

func (d *emuDriver) hostFree([]byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.check("hostFree")
	d.hosts--
	return nil
}

func (d *emuDriver) enqueue(s any, op emuOp) error {
	st, ok := s.(*emuStream)
	if !ok || !st.alive {
		return errors.New("operation on a stream that does not exist")
	}
	st.q = append(st.q, op)
	return nil
}

func (d *emuDriver) memsetAsync(p uint64, n int64, s any) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.check("memsetAsync")
	if _, err := d.resolve(p, n); err != nil {
		return err
	}
	return d.enqueue(s, emuOp{refs: [][2]uint64{{p, p + uint64(n)}}, run: func() {
		b, err := d.resolve(p, n)
		if err != nil {
			d.fault("memset: %v", err)
			return
		}
		clear(b)
	}})
}

func (d *emuDriver) copyHtoDAsync(dst uint64, src []byte, s any) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.check("copyHtoDAsync")
	n := int64(len(src))
	if _, err := d.resolve(dst, n); err != nil {
		return err
	}
	return d.enqueue(s, emuOp{refs: [][2]uint64{{dst, dst + uint64(n)}}, run: func() {
		b, err := d.resolve(dst, n)
		if err != nil {
			d.fault("upload: %v", err)
			return
		}
		copy(b, src) // the host block as it is now, not as it was when queued
	}})
}

func (d *emuDriver) copyDtoHAsync(dst []byte, src uint64, s any) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.check("copyDtoHAsync")
	n := int64(len(dst))
	if _, err := d.resolve(src, n); err != nil {
		return err
	}
	return d.enqueue(s, emuOp{refs: [][2]uint64{{src, src + uint64(n)}}, run: func() {
		b, err := d.resolve(src, n)
		if err != nil {
			d.fault("download: %v", err)
			return
		}
		copy(dst, b)
	}})
}

func (d *emuDriver) copy2DAsync(dst uint64, dstPitch int, src uint64, srcPitch int, rowBytes, rows int, s any) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.check("copy2DAsync")
	if rows <= 0 || rowBytes > dstPitch || rowBytes > srcPitch {
		return fmt.Errorf("copy2D: %d rows of %d bytes between pitches %d and %d", rows, rowBytes, srcPitch, dstPitch)
	}
	dn, sn := int64((rows-1)*dstPitch+rowBytes), int64((rows-1)*srcPitch+rowBytes)
	if _, err := d.resolve(dst, dn); err != nil {
		return err
	}
	if _, err := d.resolve(src, sn); err != nil {
		return err
	}
	return d.enqueue(s, emuOp{refs: [][2]uint64{{dst, dst + uint64(dn)}, {src, src + uint64(sn)}}, run: func() {
		to, err1 := d.resolve(dst, dn)
		from, err2 := d.resolve(src, sn)
		if err := errors.Join(err1, err2); err != nil {
			d.fault("copy2D: %v", err)
			return
		}
		for y := 0; y < rows; y++ {
			copy(to[y*dstPitch:y*dstPitch+rowBytes], from[y*srcPitch:y*srcPitch+rowBytes])
		}
	}})
}

// handle is 0: there is no context for libav to share.
func (d *emuDriver) handle() uintptr { return 0 }

func (d *emuDriver) newStream() (any, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.check("newStream")
	s := &emuStream{alive: true}
	d.streams = append(d.streams, s)
	return s, nil
}

func (d *emuDriver) destroyStream(s any) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.check("destroyStream")
	st := s.(*emuStream)
	if len(st.q) > 0 {
		d.fault("stream destroyed with %d operations queued", len(st.q))
	}
	st.alive = false
	return nil
}

func (d *emuDriver) syncStream(s any) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.check("syncStream")
	st := s.(*emuStream)
	return d.progress(func() bool { return len(st.q) == 0 })
}

func (d *emuDriver) newEvent() (any, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.check("newEvent")
	d.events++
	return &emuEvent{done: map[int]bool{}}, nil
}

func (d *emuDriver) destroyEvent(any) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.check("destroyEvent")
	d.events--
	return nil
}

func (d *emuDriver) record(ev, s any) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.check("record")
	e := ev.(*emuEvent)
	e.recorded++
	gen := e.recorded
	return d.enqueue(s, emuOp{run: func() { e.done[gen] = true }})
}

func (e *emuEvent) complete() bool { return e.recorded == 0 || e.done[e.recorded] }

// done does not run anything: a lazy device has rarely finished.
func (d *emuDriver) done(ev any) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.check("done")
	return ev.(*emuEvent).complete(), nil
}

func (d *emuDriver) syncEvent(ev any) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.check("syncEvent")
	e := ev.(*emuEvent)
	return d.progress(e.complete)
}

func (d *emuDriver) wait(s, ev any) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.check("wait")
	e := ev.(*emuEvent)
	if d.dropWaits || e.recorded == 0 {
		return nil
	}
	return d.enqueue(s, emuOp{waitEv: e, waitGen: e.recorded})
}

var emuEntry = regexp.MustCompile(`\.visible\s+\.entry\s+(\w+)\(`)

func (d *emuDriver) load(ptx string) (any, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.check("load")
	d.modules++
	names := map[string]bool{}
	for _, m := range emuEntry.FindAllStringSubmatch(ptx, -1) {
		names[m[1]] = true
	}
	return names, nil
}

func (d *emuDriver) function(m any, name string) (any, error) {
	if !m.(map[string]bool)[name] {
		return nil, fmt.Errorf("no function %s", name)
	}
	return name, nil
}

func (d *emuDriver) unload(any) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.modules--
	return nil
}

func (d *emuDriver) launch(fn any, gx, gy, bx, by int, s any, args []uint64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.check("launch")
	if bx != 32 || by != 8 {
		return fmt.Errorf("block %dx%d, the kernels' host build runs 32x8", bx, by)
	}
	name := fn.(string)
	slots := append([]uint64(nil), args...)
	var refs [][2]uint64
	for _, a := range slots {
		if _, ok := d.mem[a]; ok || a > 1<<32 {
			refs = append(refs, [2]uint64{a, a + 1})
		}
	}
	return d.enqueue(s, emuOp{refs: refs, run: func() {
		if err := kernels.EmulatorLaunch(name, gx, gy, slots); err != nil {
			d.fault("%v", err)
		}
	}})
}

// progress runs queued operations, one at a time in the policy's order,
// until cond holds. Nothing runnable while cond is false is a deadlock: a
// wait for an event whose recording can never run.
func (d *emuDriver) progress(cond func() bool) error {
	for !cond() {
		var ready []*emuStream
		for _, s := range d.streams {
			if len(s.q) == 0 {
				continue
			}
			if op := s.q[0]; op.waitEv == nil || op.waitEv.done[op.waitGen] {
				ready = append(ready, s)
			}
		}
		if len(ready) == 0 {
			d.fault("emulated device deadlocked")
			return errors.New("emulated device deadlocked")
		}
		s := ready[0]
		switch d.policy {
		case copyFirst:
			s = ready[len(ready)-1]
		case randomOrder:
			s = ready[d.rng.IntN(len(ready))]
		}
		op := s.q[0]
		s.q = s.q[1:]
		if op.run != nil {
			op.run()
		}
	}
	return nil
}
