package kernels

import "fmt"

// FrameRateMethod is how a frame between two others is made, as the
// profile's frame_rate_method names it.
type FrameRateMethod int

const (
	MethodMC    FrameRateMethod = iota // "mc": motion-compensated
	MethodBlend                        // "blend": weighted mix of the two
	MethodDup                          // "dup": the nearer of the two
)

func (m FrameRateMethod) String() string {
	switch m {
	case MethodMC:
		return "mc"
	case MethodBlend:
		return "blend"
	case MethodDup:
		return "dup"
	}
	return fmt.Sprintf("FrameRateMethod(%d)", int(m))
}

// Scene-cut thresholds, in 8-bit codes of mean SAD per sample. Matching
// detailed moving pictures leaves a few codes; two unrelated pictures
// leave tens. A cut needs both a high mean and most blocks unmatched, so
// one large fast object does not count as one.
const (
	cutMeanCost  = 18
	cutBlockCost = 12 * MotionBlock * MotionBlock
	cutShare     = 0.6
)

// IsSceneCut tells whether a and b of m show different scenes, where motion
// interpolation would morph one into the other: Interpolate then repeats
// the nearer picture instead.
func IsSceneCut(m *Motion) bool {
	f := m.Fwd
	if f.MeanCost() < cutMeanCost {
		return false
	}
	bad := 0
	for _, c := range f.Cost {
		if c > cutBlockCost {
			bad++
		}
	}
	return float64(bad) > cutShare*float64(len(f.Cost))
}

// phase turns t in (0,1) into the kernels' 1/4096 units.
func phase(t float64) (int, error) {
	if !(t > 0 && t < 1) {
		return 0, fmt.Errorf("kernels: interpolation phase %v outside (0,1)", t)
	}
	return min(max(int(t*4096+0.5), 1), 4095), nil
}
