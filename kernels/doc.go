// Package kernels holds Kiln's image kernels: scaling, colour matrix,
// composition, field conversion, motion estimation and motion-compensated
// interpolation.
//
// Each kernel is written once, in cuda/*.cu, in a portable CUDA-C subset
// (SUBSET.md). The same source becomes the PTX embedded here (PTX, built by
// gen_ptx.sh with clang-14, no CUDA SDK) and, through cgo, the CPU backend
// (CPU), whose host shim runs the grid on goroutines. Both run the same
// integer arithmetic on tables computed once in Go, so their outputs are
// bit-exact by construction.
//
// The package's room is pixels in memory. It must not touch libav (decode,
// encode and their frames belong to pipeline/) nor the CUDA driver (contexts,
// module loads and launches belong to gpu/, behind the cuda build tag, which
// implements Backend with these PTX entry points). It has no dependency
// outside the standard library.
package kernels
