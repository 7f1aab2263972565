#include <string.h>
#include "host.h"
#include "cuda/motion.cu"

KILN_HOT void kiln_host_luma8(kiln_launch l,
	const unsigned char *src, int sstride, int shift,
	unsigned char *dst, int dstride, int w, int h)
{
	KILN_LAUNCH(l, kiln_luma8, src, sstride, shift, dst, dstride, w, h);
}

KILN_HOT void kiln_host_half(kiln_launch l,
	const unsigned char *src, int sstride, int sw, int sh,
	unsigned char *dst, int dstride, int dw, int dh)
{
	KILN_LAUNCH(l, kiln_half, src, sstride, sw, sh, dst, dstride, dw, dh);
}

/*
 * Host SADs. The current picture's 8x8 block is gathered once per block
 * into 64 contiguous samples; a candidate reads the reference straight from
 * the picture when its window lies inside, or from a copy of the window
 * made with the kernels' edge clamping (kiln_px) when it does not. Either
 * way each sample is the one kiln_sad and kiln_sadq read, so the sums are
 * theirs; only the loops differ (SSE2 where the machine has it).
 */
typedef struct {
	const unsigned char *ref;
	int stride, w, h, x0, y0;
	unsigned char blk[64];
} kiln_me_block;

/* The window rows a candidate reads: 9 rows of up to 9 samples, 16 apart. */
#define KILN_WIN 16

static inline __attribute__((always_inline)) void kiln_me_block_init(kiln_me_block *b,
	const unsigned char *cur, const unsigned char *ref, int stride, int w, int h, int x0, int y0)
{
	b->ref = ref;
	b->stride = stride;
	b->w = w;
	b->h = h;
	b->x0 = x0;
	b->y0 = y0;
	if (x0 + KILN_MB <= w && y0 + KILN_MB <= h) {
		for (int j = 0; j < KILN_MB; j++)
			memcpy(b->blk + j * KILN_MB, kiln_row(cur, stride, y0 + j) + x0, KILN_MB);
		return;
	}
	for (int j = 0; j < KILN_MB; j++)
		for (int i = 0; i < KILN_MB; i++)
			b->blk[j * KILN_MB + i] = (unsigned char)kiln_px(cur, stride, w, h, x0 + i, y0 + j);
}

/*
 * Where the n x n reference samples from (x, y) are: in the picture, or,
 * when some fall off it, in win as kiln_px reads them. Sets *rs, the
 * distance between their rows.
 */
static inline __attribute__((always_inline)) const unsigned char *kiln_me_window(const kiln_me_block *b,
	int x, int y, int n, unsigned char *win, int *rs)
{
	if (x >= 0 && y >= 0 && x + n <= b->w && y + n <= b->h) {
		*rs = b->stride;
		return kiln_row(b->ref, b->stride, y) + x;
	}
	for (int j = 0; j < n; j++) {
		const unsigned char *row = kiln_row(b->ref, b->stride, kiln_clamp(y + j, 0, b->h - 1));
		for (int i = 0; i < n; i++)
			win[j * KILN_WIN + i] = row[kiln_clamp(x + i, 0, b->w - 1)];
	}
	*rs = KILN_WIN;
	return win;
}

/* kiln_sad: whole-sample displacement. */
static inline __attribute__((always_inline)) int kiln_sad_host(const kiln_me_block *b, int vx, int vy)
{
	unsigned char win[KILN_MB * KILN_WIN];
	int rs;
	const unsigned char *r = kiln_me_window(b, b->x0 + vx, b->y0 + vy, KILN_MB, win, &rs);
	int s = 0;
#ifdef KILN_SSE2
	for (int j = 0; j < KILN_MB; j += 2, r += 2 * rs)
		s += kiln_sad16(_mm_loadu_si128((const __m128i *)(b->blk + j * KILN_MB)), kiln_load2x8(r, r + rs));
#else
	for (int j = 0; j < KILN_MB; j++, r += rs)
		for (int i = 0; i < KILN_MB; i++)
			s += kiln_abs(b->blk[j * KILN_MB + i] - r[i]);
#endif
	return s;
}

/*
 * kiln_sadq: quarter-sample displacement. A fractional one interpolates
 * every sample with the same four weights (kiln_px16 at a whole-sample
 * position plus one fixed fraction); each weight is at most 240 (fx or fy
 * is not 0) and they sum to 256, so the weighted sum of 8-bit samples plus
 * the rounding term stays below 65536: taken in 16 bits it is the kernel's
 * value, and the vector code works on 16-bit lanes.
 */
static inline __attribute__((always_inline)) int kiln_sadq_host(const kiln_me_block *b, int vxq, int vyq)
{
	if (((vxq | vyq) & 3) == 0)
		return kiln_sad_host(b, vxq >> 2, vyq >> 2);
	int ox = (vxq * 4) >> 4, oy = (vyq * 4) >> 4, fx = (vxq * 4) & 15, fy = (vyq * 4) & 15;
	unsigned char win[(KILN_MB + 1) * KILN_WIN];
	int rs;
	const unsigned char *r = kiln_me_window(b, b->x0 + ox, b->y0 + oy, KILN_MB + 1, win, &rs);
	int s = 0;
#ifdef KILN_SSE2
	__m128i wa = _mm_set1_epi16((short)((16 - fx) * (16 - fy))), wb = _mm_set1_epi16((short)(fx * (16 - fy))),
		wc = _mm_set1_epi16((short)((16 - fx) * fy)), wd = _mm_set1_epi16((short)(fx * fy));
	for (int j = 0; j < KILN_MB; j += 2, r += 2 * rs) {
		const unsigned char *r1 = r + rs, *r2 = r1 + rs;
		__m128i p = _mm_packus_epi16(kiln_bilin8(r, r1, wa, wb, wc, wd), kiln_bilin8(r1, r2, wa, wb, wc, wd));
		s += kiln_sad16(_mm_loadu_si128((const __m128i *)(b->blk + j * KILN_MB)), p);
	}
#else
	int wa = (16 - fx) * (16 - fy), wb = fx * (16 - fy), wc = (16 - fx) * fy, wd = fx * fy;
	for (int j = 0; j < KILN_MB; j++, r += rs)
		for (int i = 0; i < KILN_MB; i++) {
			int v = (wa * r[i] + wb * r[i + 1] + wc * r[rs + i] + wd * r[rs + i + 1] + 128) >> 8;
			s += kiln_abs(b->blk[j * KILN_MB + i] - v);
		}
#endif
	return s;
}

/*
 * kiln_me_search block by block, with kiln_sad_host. A candidate's cost
 * depends on its vector only and a candidate wins only when strictly
 * cheaper, so a vector tried before for the same block cannot win again:
 * the row version skips repeats (neighbouring parents often agree, and the
 * +-2 window's centre is the winner so far). It also keeps the winner's SAD rather
 * than measuring it again. The result is the kernel's.
 */
KILN_HOT void kiln_host_me_search(kiln_launch l,
	const unsigned char *cur, const unsigned char *ref, int stride, int w, int h,
	int bw, int bh,
	const int *pvx, const int *pvy, int pbw, int pbh,
	const int *tvx, const int *tvy,
	int range, int lambda,
	int *ovx, int *ovy, int *ocost)
{
	if (l.ref) {
		KILN_LAUNCH(l, kiln_me_search, cur, ref, stride, w, h, bw, bh, pvx, pvy, pbw, pbh,
			tvx, tvy, range, lambda, ovx, ovy, ocost);
		return;
	}
	int by0, by1;
	kiln_rows(l, bh, &by0, &by1);
	kiln_me_block blk;
	for (int by = by0; by < by1; by++)
		for (int bx = 0; bx < bw; bx++) {
			kiln_me_block_init(&blk, cur, ref, stride, w, h, bx * KILN_MB, by * KILN_MB);
			int best = 0x7fffffff, bvx = 0, bvy = 0, bsad = 0, px = 0, py = 0;
			if (!pvx) {
				for (int vy = -range; vy <= range; vy++)
					for (int vx = -range; vx <= range; vx++) {
						int sad = kiln_sad_host(&blk, vx, vy);
						int c = sad + lambda * (kiln_abs(vx) + kiln_abs(vy));
						if (c < best) {
							best = c;
							bvx = vx;
							bvy = vy;
							bsad = sad;
						}
					}
			} else {
				int qx = kiln_min(bx >> 1, pbw - 1), qy = kiln_min(by >> 1, pbh - 1);
				px = 2 * pvx[qy * pbw + qx];
				py = 2 * pvy[qy * pbw + qx];
				int tried = 0, tx[11], ty[11];
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
					int seen = 0;
					for (int j = 0; j < tried && !seen; j++)
						seen = tx[j] == vx && ty[j] == vy;
					if (seen)
						continue;
					tx[tried] = vx;
					ty[tried] = vy;
					tried++;
					int sad = kiln_sad_host(&blk, vx, vy);
					int c = sad + lambda * (kiln_abs(vx - px) + kiln_abs(vy - py));
					if (c < best) {
						best = c;
						bvx = vx;
						bvy = vy;
						bsad = sad;
					}
				}
				int cx = bvx, cy = bvy;
				for (int dy = -2; dy <= 2; dy++)
					for (int dx = -2; dx <= 2; dx++) {
						if (dx == 0 && dy == 0)
							continue; /* the winner so far */
						int vx = cx + dx, vy = cy + dy;
						int sad = kiln_sad_host(&blk, vx, vy);
						int c = sad + lambda * (kiln_abs(vx - px) + kiln_abs(vy - py));
						if (c < best) {
							best = c;
							bvx = vx;
							bvy = vy;
							bsad = sad;
						}
					}
			}
			int i = by * bw + bx;
			ovx[i] = bvx;
			ovy[i] = bvy;
			ocost[i] = bsad;
		}
}

/* kiln_me_subpel block by block, with kiln_sadq_host. */
KILN_HOT void kiln_host_me_subpel(kiln_launch l,
	const unsigned char *cur, const unsigned char *ref, int stride, int w, int h,
	int bw, int bh, const int *ivx, const int *ivy,
	int *ovx, int *ovy, int *ocost)
{
	if (l.ref) {
		KILN_LAUNCH(l, kiln_me_subpel, cur, ref, stride, w, h, bw, bh, ivx, ivy, ovx, ovy, ocost);
		return;
	}
	int by0, by1;
	kiln_rows(l, bh, &by0, &by1);
	for (int by = by0; by < by1; by++)
		for (int bx = 0; bx < bw; bx++) {
			int i = by * bw + bx;
			kiln_me_block blk;
			kiln_me_block_init(&blk, cur, ref, stride, w, h, bx * KILN_MB, by * KILN_MB);
			int vx = ivx[i] * 4, vy = ivy[i] * 4;
			int best = kiln_sadq_host(&blk, vx, vy);
			for (int step = 2; step >= 1; step >>= 1) {
				int cx = vx, cy = vy;
				for (int k = 0; k < 9; k++) {
					if (k == 4)
						continue;
					int qx = cx + (k % 3 - 1) * step, qy = cy + (k / 3 - 1) * step;
					int c = kiln_sadq_host(&blk, qx, qy);
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
}

/* kiln_me_smooth block by block, with kiln_sadq_host. */
KILN_HOT void kiln_host_me_smooth(kiln_launch l,
	const unsigned char *cur, const unsigned char *ref, int stride, int w, int h,
	int bw, int bh, const int *ivx, const int *ivy, const int *icost, int bias,
	int *ovx, int *ovy, int *ocost)
{
	if (l.ref) {
		KILN_LAUNCH(l, kiln_me_smooth, cur, ref, stride, w, h, bw, bh, ivx, ivy, icost, bias, ovx, ovy, ocost);
		return;
	}
	int by0, by1;
	kiln_rows(l, bh, &by0, &by1);
	for (int by = by0; by < by1; by++)
		for (int bx = 0; bx < bw; bx++) {
			int i = by * bw + bx;
			kiln_me_block blk;
			kiln_me_block_init(&blk, cur, ref, stride, w, h, bx * KILN_MB, by * KILN_MB);
			int vx = ivx[i], vy = ivy[i], cost = icost[i];
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
				int c = kiln_sadq_host(&blk, qx, qy);
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
}
