package kernels

// MotionBlock is the block size of vector fields, in luma samples.
const MotionBlock = 8

// MotionRange is how far the estimator reaches, in luma samples, through
// its pyramid: +-8 at 1/8 resolution, refined down to full resolution.
const MotionRange = 64

// VectorField holds one vector per 8x8 luma block, in row-major block
// order. X and Y are in quarter luma samples: block b of the picture the
// field belongs to is best matched by the other picture's block displaced
// by (X[b]/4, Y[b]/4). Cost is the block's SAD at that vector, in 8-bit
// codes summed over its 64 samples. Fields are small (32k blocks at 1080),
// so they live in host memory on every backend.
type VectorField struct {
	BlocksX, BlocksY int
	X, Y, Cost       []int32
}

func newVectorField(bw, bh int) *VectorField {
	return &VectorField{BlocksX: bw, BlocksY: bh,
		X: make([]int32, bw*bh), Y: make([]int32, bw*bh), Cost: make([]int32, bw*bh)}
}

// At returns block (bx, by)'s vector in quarter samples and its cost.
func (f *VectorField) At(bx, by int) (x, y, cost int) {
	i := by*f.BlocksX + bx
	return int(f.X[i]), int(f.Y[i]), int(f.Cost[i])
}

// MeanCost is the average SAD per sample, in 8-bit codes.
func (f *VectorField) MeanCost() float64 {
	s := 0.0
	for _, c := range f.Cost {
		s += float64(c)
	}
	return s / float64(len(f.Cost)*MotionBlock*MotionBlock)
}

// Motion is the motion between two pictures a and b: Fwd for a's blocks
// (a → b), Bwd for b's (b → a).
type Motion struct {
	Fwd, Bwd *VectorField
}

// Tuning of the estimator, in SAD units of one 8x8 block.
const (
	meLambda       = 4  // per sample of distance from the parent's vector
	meLambdaCoarse = 1  // per sample of distance from zero, coarsest level
	meSmoothBias   = 96 // a neighbour's vector shared by the 3x3 wins this much
)
