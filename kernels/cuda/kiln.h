/*
 * kiln.h: the one header every kernel source includes.
 *
 * Kernel sources under cuda/ are written once in the common subset of C99
 * and CUDA C++ (see ../SUBSET.md) and compiled twice:
 *   - for the GPU by clang-14 in CUDA device mode (__CUDA_ARCH__ is defined),
 *     with no CUDA SDK: this header supplies what cuda_runtime.h would;
 *   - for the host by cgo as plain C: this header turns a kernel into a
 *     static inline function whose grid coordinates are its first four
 *     parameters, and KILN_LAUNCH loops over the grid.
 *
 * Kernels are declared with KILN_KERNEL(name, params...) rather than a bare
 * `__global__ void name(params)` because the host build must hand each call
 * its own blockIdx/threadIdx: as parameters they are locals of that call,
 * so goroutines running different block rows at once share nothing.
 */
#ifndef KILN_H
#define KILN_H

typedef struct { unsigned int x, y, z; } kiln_dim3;

#if defined(__CUDA_ARCH__)

#define __global__ __attribute__((global))
#define __device__ __attribute__((device))

__device__ static inline kiln_dim3 kiln_make_dim3(unsigned int x, unsigned int y, unsigned int z)
{
	kiln_dim3 d;
	d.x = x;
	d.y = y;
	d.z = z;
	return d;
}

/* The special registers are read-none intrinsics, so unused members cost nothing. */
#define threadIdx kiln_make_dim3(__nvvm_read_ptx_sreg_tid_x(), __nvvm_read_ptx_sreg_tid_y(), __nvvm_read_ptx_sreg_tid_z())
#define blockIdx kiln_make_dim3(__nvvm_read_ptx_sreg_ctaid_x(), __nvvm_read_ptx_sreg_ctaid_y(), __nvvm_read_ptx_sreg_ctaid_z())
#define blockDim kiln_make_dim3(__nvvm_read_ptx_sreg_ntid_x(), __nvvm_read_ptx_sreg_ntid_y(), __nvvm_read_ptx_sreg_ntid_z())
#define gridDim kiln_make_dim3(__nvvm_read_ptx_sreg_nctaid_x(), __nvvm_read_ptx_sreg_nctaid_y(), __nvvm_read_ptx_sreg_nctaid_z())

/* Unmangled entry names, so the GPU backend finds kernels by their C name. */
#ifdef __cplusplus
#define KILN_KERNEL(name, ...) extern "C" __global__ void name(__VA_ARGS__)
#else
#define KILN_KERNEL(name, ...) __global__ void name(__VA_ARGS__)
#endif

#else /* host */

#define __device__
#define __global__ static inline

/*
 * always_inline: a kernel is inlined into its launcher, which host.h may
 * build once per instruction set; a kernel left out of line would be built
 * for the baseline only.
 */
#define KILN_KERNEL(name, ...) \
	static inline __attribute__((always_inline)) void name(kiln_dim3 blockIdx, kiln_dim3 threadIdx, \
		kiln_dim3 blockDim, kiln_dim3 gridDim, __VA_ARGS__)

/*
 * A host launch covers the block rows [y0, y1) of a gx*gy grid of bx*by
 * threads. Go splits the rows among goroutines, one cgo call each.
 *
 * Hot kernels also have a row-wise host version (see host.h) that computes
 * the same samples with the per-row work hoisted and loops the compiler
 * vectorises. ref makes such a launcher run the kernel thread by thread
 * instead, as a device does: the emulated device always does, and the
 * tests run each operation both ways and compare the outputs.
 */
typedef struct { int gx, gy, bx, by, y0, y1, ref; } kiln_launch;

/*
 * Threads run one after another in row-major pixel order. That is a valid
 * schedule only because the subset has no shared memory, no barriers and no
 * thread reading what another thread of the same launch writes.
 */
#define KILN_LAUNCH(l, name, ...) do { \
	kiln_dim3 gridDim_ = {(unsigned)(l).gx, (unsigned)(l).gy, 1}; \
	kiln_dim3 blockDim_ = {(unsigned)(l).bx, (unsigned)(l).by, 1}; \
	kiln_dim3 bi_ = {0, 0, 0}, ti_ = {0, 0, 0}; \
	for (bi_.y = (unsigned)(l).y0; bi_.y < (unsigned)(l).y1; bi_.y++) \
		for (ti_.y = 0; ti_.y < blockDim_.y; ti_.y++) \
			for (bi_.x = 0; bi_.x < gridDim_.x; bi_.x++) \
				for (ti_.x = 0; ti_.x < blockDim_.x; ti_.x++) \
					name(bi_, ti_, blockDim_, gridDim_, __VA_ARGS__); \
} while (0)

#endif

/* ---- helpers shared by all kernels (plain integer code, both targets) ---- */

__device__ static inline int kiln_clamp(int v, int lo, int hi)
{
	return v < lo ? lo : (v > hi ? hi : v);
}

__device__ static inline int kiln_min(int a, int b) { return a < b ? a : b; }
__device__ static inline int kiln_max(int a, int b) { return a > b ? a : b; }
__device__ static inline int kiln_abs(int a) { return a < 0 ? -a : a; }

/* Samples: 8-bit ones are bytes, deeper ones little-endian 16-bit words (wide != 0). */
__device__ static inline int kiln_ld(const unsigned char *row, int x, int wide)
{
	return wide ? (int)((const unsigned short *)row)[x] : (int)row[x];
}

__device__ static inline void kiln_st(unsigned char *row, int x, int wide, int v)
{
	if (wide)
		((unsigned short *)row)[x] = (unsigned short)v;
	else
		row[x] = (unsigned char)v;
}

__device__ static inline const unsigned char *kiln_row(const unsigned char *base, int stride, int y)
{
	return base + (long long)y * stride;
}

__device__ static inline unsigned char *kiln_wrow(unsigned char *base, int stride, int y)
{
	return base + (long long)y * stride;
}

/* Global x and y of the calling thread; only kernels pass their indices in. */
#define KILN_X ((int)(blockIdx.x * blockDim.x + threadIdx.x))
#define KILN_Y ((int)(blockIdx.y * blockDim.y + threadIdx.y))

#endif
