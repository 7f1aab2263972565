package gpu

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"kiln/kernels"
)

// kernel is one PTX entry point with its parameter kinds as the PTX
// declares them (true for a 64-bit pointer, false for a 32-bit int), so that
// a launch with arguments out of order fails here instead of faulting on
// the device or, worse, computing something else.
type kernel struct {
	name string
	fn   any
	ptr  []bool
}

var (
	ptxEntry = regexp.MustCompile(`\.visible\s+\.entry\s+(\w+)\(([^)]*)\)`)
	ptxParam = regexp.MustCompile(`\.param\s+\.(u64|u32|b64|b32|s32|s64)\s+\w+`)
)

// entryParams lists every entry point of a PTX module with its parameter
// kinds.
func entryParams(ptx string) (map[string][]bool, error) {
	out := map[string][]bool{}
	for _, m := range ptxEntry.FindAllStringSubmatch(ptx, -1) {
		var kinds []bool
		for _, p := range ptxParam.FindAllStringSubmatch(m[2], -1) {
			kinds = append(kinds, strings.HasSuffix(p[1], "64"))
		}
		if want := strings.Count(m[2], ".param"); len(kinds) != want {
			return nil, fmt.Errorf("entry %s: %d parameters, %d of a kind this backend passes", m[1], want, len(kinds))
		}
		out[m[1]] = kinds
	}
	return out, nil
}

// loadModules loads every embedded PTX module into the current context; the
// driver JIT-compiles the sm_75 PTX for the device (and caches the result
// in ~/.nv/ComputeCache, so later starts are quick).
func (b *Backend) loadModules() error {
	mods := kernels.PTX()
	names := make([]string, 0, len(mods))
	for n := range mods {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		src := string(mods[n])
		params, err := entryParams(src)
		if err != nil {
			return fmt.Errorf("gpu: PTX module %s: %w", n, err)
		}
		// The driver wants a NUL-terminated image.
		m, err := b.drv.load(src)
		if err != nil {
			return fmt.Errorf("gpu: loading PTX module %s on %s (compute %s): %w",
				n, b.dev.Name, b.dev.ComputeCapability(), err)
		}
		b.modules = append(b.modules, m)
		for entry, kinds := range params {
			fn, err := b.drv.function(m, entry)
			if err != nil {
				return fmt.Errorf("gpu: PTX module %s has no function %s: %w", n, entry, err)
			}
			b.kernels[entry] = &kernel{name: entry, fn: fn, ptr: kinds}
		}
	}
	return nil
}

// arg is one kernel argument: a device address or a 32-bit int.
type arg struct {
	v   uint64
	ptr bool
}

// dp passes a device address (0 is the kernels' null, for optional tables).
func dp(p uint64) arg { return arg{v: p, ptr: true} }

// in passes an int as the kernels' 32-bit int.
func in(v int) arg { return arg{v: uint64(uint32(int32(v)))} }

// bl passes a flag as the kernels' int 0 or 1.
func bl(v bool) arg {
	if v {
		return in(1)
	}
	return in(0)
}

// Threads per block: the 32x8 the CPU backend's host loops use too, so the
// kernels' bounds checks see the same grid on both targets.
const blockW, blockH = 32, 8

// launch queues a kernel over a w*h thread grid on the compute stream.
// The caller has made the stream wait for the buffers involved.
func (b *Backend) launch(name string, w, h int, args ...arg) error {
	gx, gy := (w+blockW-1)/blockW, (h+blockH-1)/blockH
	if gx <= 0 || gy <= 0 {
		return nil // as the CPU backend: an empty grid launches nothing
	}
	k := b.kernels[name]
	if k == nil {
		return fmt.Errorf("gpu: no kernel %s in the embedded PTX", name)
	}
	if len(args) != len(k.ptr) {
		return fmt.Errorf("gpu: %s takes %d arguments, got %d", name, len(k.ptr), len(args))
	}
	vals := make([]uint64, len(args))
	for i, a := range args {
		if a.ptr != k.ptr[i] {
			return fmt.Errorf("gpu: %s argument %d: pointer %v, the PTX wants pointer %v", name, i, a.ptr, k.ptr[i])
		}
		vals[i] = a.v
	}
	if err := b.drv.launch(k.fn, gx, gy, blockW, blockH, b.compute.s, vals); err != nil {
		return fmt.Errorf("gpu: launching %s on a %dx%d grid: %w", name, gx, gy, err)
	}
	b.launches[name]++
	return nil
}
