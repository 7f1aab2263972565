#include "host.h"
#include "cuda/interp.cu"

KILN_HOT void kiln_host_blend(kiln_launch l,
	const unsigned char *a, const unsigned char *b, int sstride,
	unsigned char *dst, int dstride, int w, int h, int wide, int t)
{
	if (l.ref) {
		KILN_LAUNCH(l, kiln_blend, a, b, sstride, dst, dstride, w, h, wide, t);
		return;
	}
	int y0, y1;
	kiln_rows(l, h, &y0, &y1);
	for (int y = y0; y < y1; y++) {
		const unsigned char *ra = kiln_row(a, sstride, y), *rb = kiln_row(b, sstride, y);
		unsigned char *out = kiln_wrow(dst, dstride, y);
		if (wide) {
			const unsigned short *a16 = (const unsigned short *)ra, *b16 = (const unsigned short *)rb;
			unsigned short *o16 = (unsigned short *)out;
			for (int x = 0; x < w; x++)
				o16[x] = (unsigned short)((a16[x] * (4096 - t) + b16[x] * t + 2048) >> 12);
		} else {
			for (int x = 0; x < w; x++)
				out[x] = (unsigned char)((ra[x] * (4096 - t) + rb[x] * t + 2048) >> 12);
		}
	}
}

/*
 * Where the 9x9 samples from (x, y) of an 8-bit picture are: in the
 * picture, or, when some fall off it, in win (rows 16 apart) as kiln_at16
 * reads them, edges repeated. Sets *rs, the distance between their rows.
 */
static inline __attribute__((always_inline)) const unsigned char *kiln_mc_window(const unsigned char *img,
	int stride, int w, int h, int x, int y, unsigned char *win, int *rs)
{
	if (x >= 0 && y >= 0 && x + KILN_MCB + 1 <= w && y + KILN_MCB + 1 <= h) {
		*rs = stride;
		return kiln_row(img, stride, y) + x;
	}
	for (int j = 0; j <= KILN_MCB; j++) {
		const unsigned char *row = kiln_row(img, stride, kiln_clamp(y + j, 0, h - 1));
		for (int i = 0; i <= KILN_MCB; i++)
			win[j * 16 + i] = row[kiln_clamp(x + i, 0, w - 1)];
	}
	*rs = 16;
	return win;
}

/*
 * The 8x8 block's match cost in kiln_mc_select, without the early stop:
 * the sum over the block of |a at the block moved back by (oax, oay)/16 -
 * b moved on by (obx, oby)/16|, each side a bilinear kiln_at16 with one
 * fraction for the whole block. The weights sum to 256, so sums of 8-bit
 * samples stay below 65536 and 16-bit lanes hold them exactly.
 */
static inline __attribute__((always_inline)) int kiln_mc_cost(const unsigned char *a, const unsigned char *b,
	int stride, int w, int h, int bx, int by, int oax, int oay, int obx, int oby)
{
	int X = bx * KILN_MCB * 16, Y = by * KILN_MCB * 16;
	int fxa = (X - oax) & 15, fya = (Y - oay) & 15, fxb = (X + obx) & 15, fyb = (Y + oby) & 15;
	unsigned char wina[(KILN_MCB + 1) * 16], winb[(KILN_MCB + 1) * 16];
	int sa, sb;
	const unsigned char *ra = kiln_mc_window(a, stride, w, h, (X - oax) >> 4, (Y - oay) >> 4, wina, &sa);
	const unsigned char *rb = kiln_mc_window(b, stride, w, h, (X + obx) >> 4, (Y + oby) >> 4, winb, &sb);
	int cost = 0;
#ifdef KILN_SSE2
	__m128i wa0 = _mm_set1_epi16((short)((16 - fxa) * (16 - fya))), wa1 = _mm_set1_epi16((short)(fxa * (16 - fya))),
		wa2 = _mm_set1_epi16((short)((16 - fxa) * fya)), wa3 = _mm_set1_epi16((short)(fxa * fya));
	__m128i wb0 = _mm_set1_epi16((short)((16 - fxb) * (16 - fyb))), wb1 = _mm_set1_epi16((short)(fxb * (16 - fyb))),
		wb2 = _mm_set1_epi16((short)((16 - fxb) * fyb)), wb3 = _mm_set1_epi16((short)(fxb * fyb));
	for (int j = 0; j < KILN_MCB; j += 2, ra += 2 * sa, rb += 2 * sb) {
		__m128i pa = _mm_packus_epi16(kiln_bilin8(ra, ra + sa, wa0, wa1, wa2, wa3),
			kiln_bilin8(ra + sa, ra + 2 * sa, wa0, wa1, wa2, wa3));
		__m128i pb = _mm_packus_epi16(kiln_bilin8(rb, rb + sb, wb0, wb1, wb2, wb3),
			kiln_bilin8(rb + sb, rb + 2 * sb, wb0, wb1, wb2, wb3));
		cost += kiln_sad16(pa, pb);
	}
#else
	int a0 = (16 - fxa) * (16 - fya), a1 = fxa * (16 - fya), a2 = (16 - fxa) * fya, a3 = fxa * fya;
	int b0 = (16 - fxb) * (16 - fyb), b1 = fxb * (16 - fyb), b2 = (16 - fxb) * fyb, b3 = fxb * fyb;
	for (int j = 0; j < KILN_MCB; j++, ra += sa, rb += sb)
		for (int i = 0; i < KILN_MCB; i++) {
			int pa = (a0 * ra[i] + a1 * ra[i + 1] + a2 * ra[sa + i] + a3 * ra[sa + i + 1] + 128) >> 8;
			int pb = (b0 * rb[i] + b1 * rb[i + 1] + b2 * rb[sb + i] + b3 * rb[sb + i + 1] + 128) >> 8;
			cost += kiln_abs(pa - pb);
		}
#endif
	return cost;
}

/*
 * kiln_mc_select block by block, with kiln_mc_cost. A candidate's cost
 * and mode depend on its vector only, and a candidate wins only when
 * strictly cheaper than the best so far. So a vector tried before for the
 * block is skipped (neighbours mostly agree), and a cost is summed whole
 * where the kernel stops once it reaches the best: such a candidate loses
 * either way. The picks are the kernel's.
 */
KILN_HOT void kiln_host_mc_select(kiln_launch l,
	const unsigned char *a, const unsigned char *b, int stride, int w, int h,
	const int *fx, const int *fy, const int *gx, const int *gy, int bw, int bh,
	int t, int *ovx, int *ovy, int *omode)
{
	if (l.ref) {
		KILN_LAUNCH(l, kiln_mc_select, a, b, stride, w, h, fx, fy, gx, gy, bw, bh, t, ovx, ovy, omode);
		return;
	}
	int by0, by1;
	kiln_rows(l, bh, &by0, &by1);
	for (int by = by0; by < by1; by++)
		for (int bx = 0; bx < bw; bx++) {
			int i = by * bw + bx;
			int pcx = (bx * KILN_MCB + KILN_MCB / 2) * 4, pcy = (by * KILN_MCB + KILN_MCB / 2) * 4;
			int best = 0x7fffffff, bvx = 0, bvy = 0, bmode = 0;
			int tried = 0, tvx[23], tvy[23];
			for (int k = 0; k < 23; k++) {
				int vx, vy;
				if (k < 18) {
					int j = k % 9;
					int nx = kiln_clamp(bx + j % 3 - 1, 0, bw - 1), ny = kiln_clamp(by + j / 3 - 1, 0, bh - 1);
					int n = ny * bw + nx;
					vx = k < 9 ? fx[n] : -gx[n];
					vy = k < 9 ? fy[n] : -gy[n];
				} else if (k < 22) {
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
				int seen = 0;
				for (int j = 0; j < tried && !seen; j++)
					seen = tvx[j] == vx && tvy[j] == vy;
				if (seen)
					continue;
				tvx[tried] = vx;
				tvy[tried] = vy;
				tried++;
				int pa = kiln_block_of(pcy - ((t * vy) >> 12), bh) * bw + kiln_block_of(pcx - ((t * vx) >> 12), bw);
				int pb = kiln_block_of(pcy + (((4096 - t) * vy) >> 12), bh) * bw +
					 kiln_block_of(pcx + (((4096 - t) * vx) >> 12), bw);
				int ca = kiln_abs(fx[pa] - vx) + kiln_abs(fy[pa] - vy) <= KILN_AGREE;
				int cb = kiln_abs(gx[pb] + vx) + kiln_abs(gy[pb] + vy) <= KILN_AGREE;
				int cost = (2 - ca - cb) * KILN_UNCONFIRMED;
				if (cost >= best)
					continue;
				int oax = kiln_part16(vx, t), oay = kiln_part16(vy, t);
				cost += kiln_mc_cost(a, b, stride, w, h, bx, by, oax, oay, vx * 4 - oax, vy * 4 - oay);
				if (cost < best) {
					best = cost;
					bvx = vx;
					bvy = vy;
					bmode = (ca && !cb) ? 1 : ((cb && !ca) ? 2 : 0);
				}
			}
			ovx[i] = bvx;
			ovy[i] = bvy;
			omode[i] = bmode;
		}
}

/*
 * Bilinear samples of img for the output samples [x0, x1) of a row: sample
 * x is kiln_at16 at (x*16 + dx16, y16). All of them share one fractional
 * offset, so the four weights are the run's; only samples whose columns
 * fall off the picture need kiln_at16's clamping.
 */
static inline void kiln_mc_run(const unsigned char *img, int stride, int w, int h, int wide,
	int dx16, int y16, int x0, int x1, int *p)
{
	int ox = dx16 >> 4, fx = dx16 & 15, iy = y16 >> 4, fy = y16 & 15;
	const unsigned char *r0 = kiln_row(img, stride, kiln_clamp(iy, 0, h - 1));
	const unsigned char *r1 = kiln_row(img, stride, kiln_clamp(iy + 1, 0, h - 1));
	int wa = (16 - fx) * (16 - fy), wb = fx * (16 - fy), wc = (16 - fx) * fy, wd = fx * fy;
	/* Columns x+ox and x+ox+1 are both inside for x in [lo, hi). */
	int lo = kiln_clamp(-ox, x0, x1), hi = kiln_clamp(w - 1 - ox, lo, x1);
	for (int x = x0; x < lo; x++)
		p[x] = kiln_at16(img, stride, w, h, wide, x * 16 + dx16, y16);
	if (wide) {
		const unsigned short *a = (const unsigned short *)r0 + ox, *c = (const unsigned short *)r1 + ox;
		for (int x = lo; x < hi; x++)
			p[x] = (wa * a[x] + wb * a[x + 1] + wc * c[x] + wd * c[x + 1] + 128) >> 8;
	} else {
		const unsigned char *a = r0 + ox, *c = r1 + ox;
		for (int x = lo; x < hi; x++)
			p[x] = (wa * a[x] + wb * a[x + 1] + wc * c[x] + wd * c[x + 1] + 128) >> 8;
	}
	for (int x = hi; x < x1; x++)
		p[x] = kiln_at16(img, stride, w, h, wide, x * 16 + dx16, y16);
}

/*
 * kiln_mc_render's prediction of block n for the samples [x0, x1) of row
 * y, into p: from a, from b, or both weighted by phase, as its mode says.
 * pb is scratch of the same length.
 */
static inline void kiln_mc_predict(const unsigned char *a, const unsigned char *b, int sstride,
	int w, int h, int wide, int subx, int suby, int vxn, int vyn, int moden, int t,
	int y, int x0, int x1, int *p, int *pb)
{
	int v16x = (vxn * 4) >> subx, v16y = (vyn * 4) >> suby;
	int oax = (t * v16x) >> 12, oay = (t * v16y) >> 12;
	if (moden == 1) {
		kiln_mc_run(a, sstride, w, h, wide, -oax, y * 16 - oay, x0, x1, p);
		return;
	}
	if (moden == 2) {
		kiln_mc_run(b, sstride, w, h, wide, v16x - oax, y * 16 + v16y - oay, x0, x1, p);
		return;
	}
	kiln_mc_run(a, sstride, w, h, wide, -oax, y * 16 - oay, x0, x1, p);
	kiln_mc_run(b, sstride, w, h, wide, v16x - oax, y * 16 + v16y - oay, x0, x1, pb);
	for (int x = x0; x < x1; x++)
		p[x] = (p[x] * (4096 - t) + pb[x] * t + 2048) >> 12;
}

/* Block column of the first block kiln_mc_render blends at sample x (before clamping). */
static inline int kiln_mc_col(int x, int subx)
{
	return ((x << subx) * 2 + 1 - KILN_MCB) >> 4;
}

/*
 * The row version of kiln_mc_render. Along a row the four blocks a sample
 * blends change only every few samples (a segment); where they all carry
 * one vector and mode, the kernel's output is that one prediction, so runs
 * of such segments with the same motion are predicted in one go. Other
 * segments blend the four predictions with the kernel's weights.
 */
KILN_HOT void kiln_host_mc_render(kiln_launch l,
	const unsigned char *a, const unsigned char *b, int sstride,
	unsigned char *dst, int dstride, int w, int h, int wide, int subx, int suby,
	const int *vx, const int *vy, const int *mode, int bw, int bh, int t)
{
	if (l.ref) {
		KILN_LAUNCH(l, kiln_mc_render, a, b, sstride, dst, dstride, w, h, wide, subx, suby, vx, vy, mode,
			bw, bh, t);
		return;
	}
	int y0, y1;
	kiln_rows(l, h, &y0, &y1);
	int n = w > 0 ? w : 1;
	int p[n], pb[n], acc[n];
	for (int y = y0; y < y1; y++) {
		int uy = ((y << suby) * 2 + 1) - KILN_MCB;
		int iy = uy >> 4, fy = uy & 15;
		int row0 = kiln_clamp(iy, 0, bh - 1) * bw, row1 = kiln_clamp(iy + 1, 0, bh - 1) * bw;
		unsigned char *out = kiln_wrow(dst, dstride, y);
		int x = 0;
		while (x < w) {
			int ix = kiln_mc_col(x, subx);
			int xe = x + 1;
			while (xe < w && kiln_mc_col(xe, subx) == ix)
				xe++;
			int nb[4] = {
				row0 + kiln_clamp(ix, 0, bw - 1), row0 + kiln_clamp(ix + 1, 0, bw - 1),
				row1 + kiln_clamp(ix, 0, bw - 1), row1 + kiln_clamp(ix + 1, 0, bw - 1),
			};
			int n0 = nb[0], same = 1;
			for (int k = 1; k < 4; k++)
				same = same && vx[nb[k]] == vx[n0] && vy[nb[k]] == vy[n0] && mode[nb[k]] == mode[n0];
			if (same) {
				/* Extend over the following segments of the same single motion. */
				while (xe < w) {
					int jx = kiln_mc_col(xe, subx), je = xe + 1;
					while (je < w && kiln_mc_col(je, subx) == jx)
						je++;
					int m[4] = {
						row0 + kiln_clamp(jx, 0, bw - 1), row0 + kiln_clamp(jx + 1, 0, bw - 1),
						row1 + kiln_clamp(jx, 0, bw - 1), row1 + kiln_clamp(jx + 1, 0, bw - 1),
					};
					int ok = 1;
					for (int k = 0; k < 4; k++)
						ok = ok && vx[m[k]] == vx[n0] && vy[m[k]] == vy[n0] && mode[m[k]] == mode[n0];
					if (!ok)
						break;
					xe = je;
				}
				kiln_mc_predict(a, b, sstride, w, h, wide, subx, suby, vx[n0], vy[n0], mode[n0], t,
					y, x, xe, p, pb);
				/* One prediction weighs 256: (256*p + 128) >> 8 is p. */
				if (wide) {
					unsigned short *o16 = (unsigned short *)out;
					for (int i = x; i < xe; i++)
						o16[i] = (unsigned short)p[i];
				} else {
					for (int i = x; i < xe; i++)
						out[i] = (unsigned char)p[i];
				}
				x = xe;
				continue;
			}
			for (int i = x; i < xe; i++)
				acc[i] = 0;
			for (int k = 0; k < 4; k++) {
				int nn = nb[k];
				kiln_mc_predict(a, b, sstride, w, h, wide, subx, suby, vx[nn], vy[nn], mode[nn], t,
					y, x, xe, p, pb);
				int wy = (k >> 1) ? fy : 16 - fy;
				for (int i = x; i < xe; i++) {
					int fx = (((i << subx) * 2 + 1) - KILN_MCB) & 15;
					acc[i] += ((k & 1) ? fx : 16 - fx) * wy * p[i];
				}
			}
			for (int i = x; i < xe; i++) {
				int v = (acc[i] + 128) >> 8;
				if (wide)
					((unsigned short *)out)[i] = (unsigned short)v;
				else
					out[i] = (unsigned char)v;
			}
			x = xe;
		}
	}
}
