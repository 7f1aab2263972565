/*
 * Hierarchical block-matching motion estimation on an 8-bit luma pyramid.
 *
 * Blocks are 8x8 samples at every level. The coarsest level is searched
 * exhaustively; each finer level tries its parent's vector and those of the
 * parent's neighbours (doubled), the previous field's vector and zero, then
 * searches +-2 around the winner. Level 0 ends with half- and quarter-pel
 * refinement by bilinear interpolation, and a smoothing pass that lets each
 * block take a neighbour's vector when that matches as well. Each thread is
 * one block and reads only the fields of the previous pass.
 */
#include "kiln.h"

#define KILN_MB 8

/* 10-bit and deeper luma to 8 bits, rounded: level 0 of the pyramid. */
KILN_KERNEL(kiln_luma8,
	const unsigned char *src, int sstride, int shift,
	unsigned char *dst, int dstride, int w, int h)
{
	int x = KILN_X, y = KILN_Y;
	if (x >= w || y >= h)
		return;
	int v = ((const unsigned short *)kiln_row(src, sstride, y))[x];
	v = (v + (1 << (shift - 1))) >> shift;
	kiln_wrow(dst, dstride, y)[x] = (unsigned char)kiln_min(v, 255);
}

/* One pyramid step: the rounded mean of each 2x2 (edge samples repeat). */
KILN_KERNEL(kiln_half,
	const unsigned char *src, int sstride, int sw, int sh,
	unsigned char *dst, int dstride, int dw, int dh)
{
	int x = KILN_X, y = KILN_Y;
	if (x >= dw || y >= dh)
		return;
	int x0 = kiln_min(2 * x, sw - 1), x1 = kiln_min(2 * x + 1, sw - 1);
	const unsigned char *r0 = kiln_row(src, sstride, kiln_min(2 * y, sh - 1));
	const unsigned char *r1 = kiln_row(src, sstride, kiln_min(2 * y + 1, sh - 1));
	kiln_wrow(dst, dstride, y)[x] = (unsigned char)((r0[x0] + r0[x1] + r1[x0] + r1[x1] + 2) >> 2);
}

__device__ static inline int kiln_px(const unsigned char *img, int stride, int w, int h, int x, int y)
{
	return kiln_row(img, stride, kiln_clamp(y, 0, h - 1))[kiln_clamp(x, 0, w - 1)];
}

/* Bilinear sample at (x16, y16) in 1/16 sample units, edges repeated, 8-bit image. */
__device__ static inline int kiln_px16(const unsigned char *img, int stride, int w, int h, int x16, int y16)
{
	int ix = x16 >> 4, iy = y16 >> 4, fx = x16 & 15, fy = y16 & 15;
	int a = kiln_px(img, stride, w, h, ix, iy), b = kiln_px(img, stride, w, h, ix + 1, iy);
	int c = kiln_px(img, stride, w, h, ix, iy + 1), d = kiln_px(img, stride, w, h, ix + 1, iy + 1);
	return ((16 - fx) * (16 - fy) * a + fx * (16 - fy) * b + (16 - fx) * fy * c + fx * fy * d + 128) >> 8;
}

/* SAD of the block at (x0, y0) of cur against ref displaced by whole samples. */
__device__ static inline int kiln_sad(const unsigned char *cur, const unsigned char *ref, int stride,
	int w, int h, int x0, int y0, int vx, int vy)
{
	int s = 0;
	if (x0 + vx >= 0 && y0 + vy >= 0 && x0 + vx + KILN_MB <= w && y0 + vy + KILN_MB <= h &&
	    x0 + KILN_MB <= w && y0 + KILN_MB <= h) {
		for (int j = 0; j < KILN_MB; j++) {
			const unsigned char *c = kiln_row(cur, stride, y0 + j) + x0;
			const unsigned char *r = kiln_row(ref, stride, y0 + j + vy) + x0 + vx;
			for (int i = 0; i < KILN_MB; i++)
				s += kiln_abs(c[i] - r[i]);
		}
		return s;
	}
	for (int j = 0; j < KILN_MB; j++)
		for (int i = 0; i < KILN_MB; i++)
			s += kiln_abs(kiln_px(cur, stride, w, h, x0 + i, y0 + j) -
				      kiln_px(ref, stride, w, h, x0 + i + vx, y0 + j + vy));
	return s;
}

/* SAD with the displacement in quarter samples. */
__device__ static inline int kiln_sadq(const unsigned char *cur, const unsigned char *ref, int stride,
	int w, int h, int x0, int y0, int vxq, int vyq)
{
	if (((vxq | vyq) & 3) == 0)
		return kiln_sad(cur, ref, stride, w, h, x0, y0, vxq >> 2, vyq >> 2);
	int s = 0;
	/*
	 * Every sample of the block has the same fractional offset, so the
	 * four bilinear weights are the block's; inside the picture no read
	 * needs clamping. Same arithmetic as kiln_px16, sample for sample.
	 */
	int ox = (vxq * 4) >> 4, oy = (vyq * 4) >> 4, fx = (vxq * 4) & 15, fy = (vyq * 4) & 15;
	if (x0 + ox >= 0 && y0 + oy >= 0 && x0 + ox + KILN_MB + 1 <= w && y0 + oy + KILN_MB + 1 <= h &&
	    x0 + KILN_MB <= w && y0 + KILN_MB <= h) {
		int wa = (16 - fx) * (16 - fy), wb = fx * (16 - fy), wc = (16 - fx) * fy, wd = fx * fy;
		for (int j = 0; j < KILN_MB; j++) {
			const unsigned char *c = kiln_row(cur, stride, y0 + j) + x0;
			const unsigned char *r0 = kiln_row(ref, stride, y0 + j + oy) + x0 + ox;
			const unsigned char *r1 = kiln_row(ref, stride, y0 + j + oy + 1) + x0 + ox;
			for (int i = 0; i < KILN_MB; i++)
				s += kiln_abs(c[i] - ((wa * r0[i] + wb * r0[i + 1] + wc * r1[i] + wd * r1[i + 1] + 128) >> 8));
		}
		return s;
	}
	for (int j = 0; j < KILN_MB; j++)
		for (int i = 0; i < KILN_MB; i++)
			s += kiln_abs(kiln_px(cur, stride, w, h, x0 + i, y0 + j) -
				      kiln_px16(ref, stride, w, h, (x0 + i) * 16 + vxq * 4, (y0 + j) * 16 + vyq * 4));
	return s;
}

/*
 * One level of the search. pvx/pvy is the parent level's field (pbw x pbh
 * blocks), or null at the coarsest level, which is searched exhaustively
 * over +-range. tvx/tvy is an optional field of this level to take
 * candidates from (the previous frame pair's). lambda weighs the distance
 * from the parent's vector against the SAD, keeping fields smooth where
 * the texture cannot decide.
 */
KILN_KERNEL(kiln_me_search,
	const unsigned char *cur, const unsigned char *ref, int stride, int w, int h,
	int bw, int bh,
	const int *pvx, const int *pvy, int pbw, int pbh,
	const int *tvx, const int *tvy,
	int range, int lambda,
	int *ovx, int *ovy, int *ocost)
{
	int bx = KILN_X, by = KILN_Y;
	if (bx >= bw || by >= bh)
		return;
	int x0 = bx * KILN_MB, y0 = by * KILN_MB;
	int best = 0x7fffffff, bvx = 0, bvy = 0, px = 0, py = 0;
	if (!pvx) {
		for (int vy = -range; vy <= range; vy++)
			for (int vx = -range; vx <= range; vx++) {
				int c = kiln_sad(cur, ref, stride, w, h, x0, y0, vx, vy) +
					lambda * (kiln_abs(vx) + kiln_abs(vy));
				if (c < best) {
					best = c;
					bvx = vx;
					bvy = vy;
				}
			}
	} else {
		int qx = kiln_min(bx >> 1, pbw - 1), qy = kiln_min(by >> 1, pbh - 1);
		px = 2 * pvx[qy * pbw + qx];
		py = 2 * pvy[qy * pbw + qx];
		for (int k = 0; k < 11; k++) {
			int vx, vy;
			if (k < 9) {
				int nx = kiln_clamp(qx + k % 3 - 1, 0, pbw - 1), ny = kiln_clamp(qy + k / 3 - 1, 0, pbh - 1);
				vx = 2 * pvx[ny * pbw + nx];
				vy = 2 * pvy[ny * pbw + nx];
			} else if (k == 9) {
				if (!tvx)
					continue;
				vx = tvx[by * bw + bx];
				vy = tvy[by * bw + bx];
			} else {
				vx = 0;
				vy = 0;
			}
			int c = kiln_sad(cur, ref, stride, w, h, x0, y0, vx, vy) +
				lambda * (kiln_abs(vx - px) + kiln_abs(vy - py));
			if (c < best) {
				best = c;
				bvx = vx;
				bvy = vy;
			}
		}
		int cx = bvx, cy = bvy;
		for (int dy = -2; dy <= 2; dy++)
			for (int dx = -2; dx <= 2; dx++) {
				int vx = cx + dx, vy = cy + dy;
				int c = kiln_sad(cur, ref, stride, w, h, x0, y0, vx, vy) +
					lambda * (kiln_abs(vx - px) + kiln_abs(vy - py));
				if (c < best) {
					best = c;
					bvx = vx;
					bvy = vy;
				}
			}
	}
	int i = by * bw + bx;
	ovx[i] = bvx;
	ovy[i] = bvy;
	ocost[i] = kiln_sad(cur, ref, stride, w, h, x0, y0, bvx, bvy);
}

/* Half-pel then quarter-pel refinement around whole-sample vectors; output in quarter samples. */
KILN_KERNEL(kiln_me_subpel,
	const unsigned char *cur, const unsigned char *ref, int stride, int w, int h,
	int bw, int bh, const int *ivx, const int *ivy,
	int *ovx, int *ovy, int *ocost)
{
	int bx = KILN_X, by = KILN_Y;
	if (bx >= bw || by >= bh)
		return;
	int i = by * bw + bx;
	int x0 = bx * KILN_MB, y0 = by * KILN_MB;
	int vx = ivx[i] * 4, vy = ivy[i] * 4;
	int best = kiln_sadq(cur, ref, stride, w, h, x0, y0, vx, vy);
	for (int step = 2; step >= 1; step >>= 1) {
		int cx = vx, cy = vy;
		for (int k = 0; k < 9; k++) {
			if (k == 4)
				continue;
			int qx = cx + (k % 3 - 1) * step, qy = cy + (k / 3 - 1) * step;
			int c = kiln_sadq(cur, ref, stride, w, h, x0, y0, qx, qy);
			if (c < best) {
				best = c;
				vx = qx;
				vy = qy;
			}
		}
	}
	ovx[i] = vx;
	ovy[i] = vy;
	ocost[i] = best;
}

/*
 * Each block may take the vector of one of its eight neighbours if that
 * fits it nearly as well (within bias, in SAD units): isolated wrong
 * vectors, which the interpolation would show as broken blocks, give way to
 * their surroundings' motion. Quarter-sample vectors in and out.
 */
KILN_KERNEL(kiln_me_smooth,
	const unsigned char *cur, const unsigned char *ref, int stride, int w, int h,
	int bw, int bh, const int *ivx, const int *ivy, const int *icost, int bias,
	int *ovx, int *ovy, int *ocost)
{
	int bx = KILN_X, by = KILN_Y;
	if (bx >= bw || by >= bh)
		return;
	int i = by * bw + bx;
	int x0 = bx * KILN_MB, y0 = by * KILN_MB;
	int vx = ivx[i], vy = ivy[i], cost = icost[i];
	/* A vector shared by more of the 3x3 neighbourhood earns a larger bias. */
	int own = 0;
	for (int m = 0; m < 9; m++) {
		int mx = kiln_clamp(bx + m % 3 - 1, 0, bw - 1), my = kiln_clamp(by + m / 3 - 1, 0, bh - 1);
		own += ivx[my * bw + mx] == vx && ivy[my * bw + mx] == vy;
	}
	int best = cost - bias * own / 4;
	for (int k = 0; k < 9; k++) {
		if (k == 4)
			continue;
		int nx = kiln_clamp(bx + k % 3 - 1, 0, bw - 1), ny = kiln_clamp(by + k / 3 - 1, 0, bh - 1);
		int qx = ivx[ny * bw + nx], qy = ivy[ny * bw + nx];
		if (qx == ivx[i] && qy == ivy[i])
			continue;
		int votes = 0;
		for (int m = 0; m < 9; m++) {
			int mx = kiln_clamp(bx + m % 3 - 1, 0, bw - 1), my = kiln_clamp(by + m / 3 - 1, 0, bh - 1);
			votes += ivx[my * bw + mx] == qx && ivy[my * bw + mx] == qy;
		}
		int c = kiln_sadq(cur, ref, stride, w, h, x0, y0, qx, qy);
		if (c - bias * votes / 4 < best) {
			best = c - bias * votes / 4;
			vx = qx;
			vy = qy;
			cost = c;
		}
	}
	ovx[i] = vx;
	ovy[i] = vy;
	ocost[i] = cost;
}
