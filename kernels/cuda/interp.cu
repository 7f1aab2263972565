/*
 * Frame interpolation at a phase t between pictures a (t=0) and b (t=1),
 * t in 1/4096 units: blending, and motion-compensated interpolation in two
 * steps. kiln_mc_select picks, per 8x8 block of the new picture, the a->b
 * vector of the object passing through it; kiln_mc_render draws every plane
 * from those picks with overlapped blocks.
 */
#include "kiln.h"

/* Bilinear sample at (x16, y16) in 1/16 sample units of any depth, edges repeated. */
__device__ static inline int kiln_at16(const unsigned char *img, int stride, int w, int h, int wide, int x16, int y16)
{
	int ix = x16 >> 4, iy = y16 >> 4, fx = x16 & 15, fy = y16 & 15;
	int x0 = kiln_clamp(ix, 0, w - 1), x1 = kiln_clamp(ix + 1, 0, w - 1);
	const unsigned char *r0 = kiln_row(img, stride, kiln_clamp(iy, 0, h - 1));
	const unsigned char *r1 = kiln_row(img, stride, kiln_clamp(iy + 1, 0, h - 1));
	return ((16 - fx) * (16 - fy) * kiln_ld(r0, x0, wide) + fx * (16 - fy) * kiln_ld(r0, x1, wide) +
		(16 - fx) * fy * kiln_ld(r1, x0, wide) + fx * fy * kiln_ld(r1, x1, wide) + 128) >> 8;
}

KILN_KERNEL(kiln_blend,
	const unsigned char *a, const unsigned char *b, int sstride,
	unsigned char *dst, int dstride, int w, int h, int wide, int t)
{
	int x = KILN_X, y = KILN_Y;
	if (x >= w || y >= h)
		return;
	int va = kiln_ld(kiln_row(a, sstride, y), x, wide), vb = kiln_ld(kiln_row(b, sstride, y), x, wide);
	kiln_st(kiln_wrow(dst, dstride, y), x, wide, (va * (4096 - t) + vb * t + 2048) >> 12);
}

#define KILN_MCB 8
/* Vectors within this many quarter samples (L1) count as the same motion. */
#define KILN_AGREE 8
/* The cost, per block, of a vector that a side's own field does not confirm. */
#define KILN_UNCONFIRMED 512

/* The part of a quarter-sample vector covered by phase t, in 1/16 samples. */
__device__ static inline int kiln_part16(int vq, int t)
{
	return (t * vq * 4) >> 12;
}

/* Block index of a luma position given in quarter samples, clamped to the grid. */
__device__ static inline int kiln_block_of(int q, int n)
{
	return kiln_clamp(q >> 5, 0, n - 1);
}

KILN_KERNEL(kiln_mc_select,
	const unsigned char *a, const unsigned char *b, int stride, int w, int h,
	const int *fx, const int *fy, const int *gx, const int *gy, int bw, int bh,
	int t, int *ovx, int *ovy, int *omode)
{
	int bx = KILN_X, by = KILN_Y;
	if (bx >= bw || by >= bh)
		return;
	int i = by * bw + bx;
	int pcx = (bx * KILN_MCB + KILN_MCB / 2) * 4, pcy = (by * KILN_MCB + KILN_MCB / 2) * 4;
	int best = 0x7fffffff, bvx = 0, bvy = 0, bmode = 0;
	for (int k = 0; k < 23; k++) {
		int vx, vy;
		if (k < 18) {
			/* a's vectors around here, then b's reversed */
			int j = k % 9;
			int nx = kiln_clamp(bx + j % 3 - 1, 0, bw - 1), ny = kiln_clamp(by + j / 3 - 1, 0, bh - 1);
			int n = ny * bw + nx;
			vx = k < 9 ? fx[n] : -gx[n];
			vy = k < 9 ? fy[n] : -gy[n];
		} else if (k < 22) {
			/*
			 * Follow a co-located vector to where its object sits in a
			 * (or b) and take the vector found there: the object passing
			 * through this block at phase t may start blocks away.
			 */
			int ux = (k & 1) ? -gx[i] : fx[i], uy = (k & 1) ? -gy[i] : fy[i];
			int px = pcx - ((t * ux) >> 12), py = pcy - ((t * uy) >> 12);
			int qx = pcx + (((4096 - t) * ux) >> 12), qy = pcy + (((4096 - t) * uy) >> 12);
			if (k < 20) {
				int n = kiln_block_of(py, bh) * bw + kiln_block_of(px, bw);
				vx = fx[n];
				vy = fy[n];
			} else {
				int n = kiln_block_of(qy, bh) * bw + kiln_block_of(qx, bw);
				vx = -gx[n];
				vy = -gy[n];
			}
		} else {
			vx = 0;
			vy = 0;
		}
		/* Does each side's own field agree that this motion passes here? */
		int pa = kiln_block_of(pcy - ((t * vy) >> 12), bh) * bw + kiln_block_of(pcx - ((t * vx) >> 12), bw);
		int pb = kiln_block_of(pcy + (((4096 - t) * vy) >> 12), bh) * bw + kiln_block_of(pcx + (((4096 - t) * vx) >> 12), bw);
		int ca = kiln_abs(fx[pa] - vx) + kiln_abs(fy[pa] - vy) <= KILN_AGREE;
		int cb = kiln_abs(gx[pb] + vx) + kiln_abs(gy[pb] + vy) <= KILN_AGREE;
		int oax = kiln_part16(vx, t), oay = kiln_part16(vy, t);
		int obx = vx * 4 - oax, oby = vy * 4 - oay;
		int cost = (2 - ca - cb) * KILN_UNCONFIRMED;
		for (int yy = 0; yy < KILN_MCB && cost < best; yy++)
			for (int xx = 0; xx < KILN_MCB; xx++) {
				int X = (bx * KILN_MCB + xx) * 16, Y = (by * KILN_MCB + yy) * 16;
				cost += kiln_abs(kiln_at16(a, stride, w, h, 0, X - oax, Y - oay) -
						 kiln_at16(b, stride, w, h, 0, X + obx, Y + oby));
			}
		if (cost < best) {
			best = cost;
			bvx = vx;
			bvy = vy;
			/* 0: both sides see it; 1: only a (being covered); 2: only b (uncovered) */
			bmode = (ca && !cb) ? 1 : ((cb && !ca) ? 2 : 0);
		}
	}
	ovx[i] = bvx;
	ovy[i] = bvy;
	omode[i] = bmode;
}

/*
 * Each sample is the blend of the predictions of the four nearest blocks,
 * weighted bilinearly by distance to their centres (overlapped blocks: no
 * seams). A block predicts from a, from b, or from both weighted by phase,
 * as kiln_mc_select decided. subx/suby shift plane coordinates to luma.
 */
KILN_KERNEL(kiln_mc_render,
	const unsigned char *a, const unsigned char *b, int sstride,
	unsigned char *dst, int dstride, int w, int h, int wide, int subx, int suby,
	const int *vx, const int *vy, const int *mode, int bw, int bh, int t)
{
	int x = KILN_X, y = KILN_Y;
	if (x >= w || y >= h)
		return;
	/* Position in 1/16 of a block from the first block centre. */
	int ux = (((x << subx) * 2 + 1) - KILN_MCB), uy = (((y << suby) * 2 + 1) - KILN_MCB);
	int ix = ux >> 4, iy = uy >> 4, fx = ux & 15, fy = uy & 15;
	int acc = 0;
	/*
	 * Where the four overlapping blocks carry one vector and one mode,
	 * as inside any coherent motion, their weights sum to 256 and the
	 * blend is that one prediction: make it once instead of four times.
	 */
	int n0 = kiln_clamp(iy, 0, bh - 1) * bw + kiln_clamp(ix, 0, bw - 1);
	int same = 1;
	for (int k = 1; k < 4; k++) {
		int n = kiln_clamp(iy + (k >> 1), 0, bh - 1) * bw + kiln_clamp(ix + (k & 1), 0, bw - 1);
		same = same && vx[n] == vx[n0] && vy[n] == vy[n0] && mode[n] == mode[n0];
	}
	int kn = same ? 1 : 4;
	for (int k = 0; k < kn; k++) {
		int nx = kiln_clamp(ix + (k & 1), 0, bw - 1), ny = kiln_clamp(iy + (k >> 1), 0, bh - 1);
		int wgt = same ? 256 : ((k & 1) ? fx : 16 - fx) * ((k >> 1) ? fy : 16 - fy);
		int n = ny * bw + nx;
		/* The vector in 1/16 samples of this plane. */
		int v16x = (vx[n] * 4) >> subx, v16y = (vy[n] * 4) >> suby;
		int oax = (t * v16x) >> 12, oay = (t * v16y) >> 12;
		int pa = kiln_at16(a, sstride, w, h, wide, x * 16 - oax, y * 16 - oay);
		int pb = kiln_at16(b, sstride, w, h, wide, x * 16 + v16x - oax, y * 16 + v16y - oay);
		int p = mode[n] == 1 ? pa : (mode[n] == 2 ? pb : (pa * (4096 - t) + pb * t + 2048) >> 12);
		acc += wgt * p;
	}
	kiln_st(kiln_wrow(dst, dstride, y), x, wide, (acc + 128) >> 8);
}
