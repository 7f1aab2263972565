package gpu

import "fmt"

// Options configure a backend. The zero value uses device 0 with default
// pool sizes.
type Options struct {
	// Device is the CUDA ordinal of the GPU to use.
	Device int
	// PoolIdleBytes caps the device memory the pool keeps for reuse once
	// images and intermediates are released; 0 means 1 GiB. A job works on
	// a fixed set of sizes, so the pool settles after the first frames.
	PoolIdleBytes int64
}

func (o Options) poolIdleBytes() int64 {
	if o.PoolIdleBytes > 0 {
		return o.PoolIdleBytes
	}
	return 1 << 30
}

// DeviceInfo describes one CUDA device as the probe reports it.
type DeviceInfo struct {
	Index        int
	Name         string
	Major, Minor int // compute capability
	MemoryBytes  int64
}

// ComputeCapability is the "major.minor" form NVIDIA's tables use.
func (d DeviceInfo) ComputeCapability() string { return fmt.Sprintf("%d.%d", d.Major, d.Minor) }

// MinMajor and MinMinor are the lowest compute capability the embedded PTX
// runs on: kernels/gen_ptx.sh targets sm_75, and the driver JIT-compiles
// that PTX for any later GPU but not for an earlier one.
const MinMajor, MinMinor = 7, 5

// Supported reports whether the embedded PTX can run on the device.
func (d DeviceInfo) Supported() bool {
	return d.Major > MinMajor || d.Major == MinMajor && d.Minor >= MinMinor
}
