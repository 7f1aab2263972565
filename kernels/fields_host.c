#include <string.h>
#include "host.h"
#include "cuda/fields.cu"

/* Whole lines are bytes to copy: memcpy per line. */
KILN_HOT void kiln_host_copy_lines(kiln_launch l,
	const unsigned char *src, int sstride,
	unsigned char *dst, int dstride, int bytes, int h)
{
	if (l.ref) {
		KILN_LAUNCH(l, kiln_copy_lines, src, sstride, dst, dstride, bytes, h);
		return;
	}
	int y0, y1;
	kiln_rows(l, h, &y0, &y1);
	for (int y = y0; y < y1; y++)
		memcpy(kiln_wrow(dst, dstride, y), kiln_row(src, sstride, y), (size_t)bytes);
}

/* The source line of each output line is the kernel's; the line is a copy. */
KILN_HOT void kiln_host_shift_lines(kiln_launch l,
	const unsigned char *src, int sstride,
	unsigned char *dst, int dstride, int w, int h, int wide, int d)
{
	if (l.ref) {
		KILN_LAUNCH(l, kiln_shift_lines, src, sstride, dst, dstride, w, h, wide, d);
		return;
	}
	int y0, y1;
	kiln_rows(l, h, &y0, &y1);
	for (int y = y0; y < y1; y++) {
		int sy = y + d;
		if (sy < 0 || sy >= h)
			sy = y - d;
		sy = kiln_clamp(sy, 0, h - 1);
		memcpy(kiln_wrow(dst, dstride, y), kiln_row(src, sstride, sy), (size_t)w * (wide ? 2 : 1));
	}
}

/* Per line: pick the frame and the five source lines once, then filter along the line. */
KILN_HOT void kiln_host_interlace(kiln_launch l,
	const unsigned char *a, const unsigned char *b, int sstride,
	unsigned char *dst, int dstride, int w, int h, int wide, int firstpar,
	const int *taps, int shift, int lo, int hi)
{
	if (l.ref) {
		KILN_LAUNCH(l, kiln_interlace, a, b, sstride, dst, dstride, w, h, wide, firstpar, taps, shift, lo, hi);
		return;
	}
	int y0, y1;
	kiln_rows(l, h, &y0, &y1);
	int t0 = taps[0], t1 = taps[1], t2 = taps[2], t3 = taps[3], t4 = taps[4];
	int round = 1 << (shift - 1);
	/*
	 * For 8-bit samples, every partial sum lies within +-(sum of |taps| *
	 * 255 + round); below 32768 the arithmetic is exact in 16 bits, as are
	 * the clamp bounds.
	 */
	int reach = (kiln_abs(t0) + kiln_abs(t1) + kiln_abs(t2) + kiln_abs(t3) + kiln_abs(t4)) * 255 + round;
	int narrow = !wide && reach < 32768 && lo >= -32768 && hi < 32768;
	for (int y = y0; y < y1; y++) {
		const unsigned char *src = (y & 1) == firstpar ? a : b;
		const unsigned char *r[5];
		for (int k = 0; k < 5; k++)
			r[k] = kiln_row(src, sstride, kiln_clamp(y + k - 2, 0, h - 1));
		unsigned char *out = kiln_wrow(dst, dstride, y);
		if (wide) {
			const unsigned short *r0 = (const unsigned short *)r[0], *r1 = (const unsigned short *)r[1],
					     *r2 = (const unsigned short *)r[2], *r3 = (const unsigned short *)r[3],
					     *r4 = (const unsigned short *)r[4];
			unsigned short *o = (unsigned short *)out;
			for (int x = 0; x < w; x++) {
				int v = (t0 * r0[x] + t1 * r1[x] + t2 * r2[x] + t3 * r3[x] + t4 * r4[x] + round) >> shift;
				o[x] = (unsigned short)kiln_clamp(v, lo, hi);
			}
		} else if (narrow && t0 == 0 && t4 == 0) {
			/* Three taps (the linear filter, or none): the outer rows weigh nothing. */
			const unsigned char *r1 = r[1], *r2 = r[2], *r3 = r[3];
			short s1 = (short)t1, s2 = (short)t2, s3 = (short)t3;
			short sr = (short)round, slo = (short)lo, shi = (short)hi;
			for (int x = 0; x < w; x++) {
				short v = (short)(s1 * r1[x] + s2 * r2[x] + s3 * r3[x] + sr);
				v = (short)(v >> shift);
				v = v < slo ? slo : (v > shi ? shi : v);
				out[x] = (unsigned char)v;
			}
		} else if (narrow) {
			/* The sum fits 16 bits (checked above): 16-bit lanes, twice as many. */
			const unsigned char *r0 = r[0], *r1 = r[1], *r2 = r[2], *r3 = r[3], *r4 = r[4];
			short s0 = (short)t0, s1 = (short)t1, s2 = (short)t2, s3 = (short)t3, s4 = (short)t4;
			short sr = (short)round, slo = (short)lo, shi = (short)hi;
			for (int x = 0; x < w; x++) {
				short v = (short)(s0 * r0[x] + s1 * r1[x] + s2 * r2[x] + s3 * r3[x] + s4 * r4[x] + sr);
				v = (short)(v >> shift);
				v = v < slo ? slo : (v > shi ? shi : v);
				out[x] = (unsigned char)v;
			}
		} else {
			const unsigned char *r0 = r[0], *r1 = r[1], *r2 = r[2], *r3 = r[3], *r4 = r[4];
			for (int x = 0; x < w; x++) {
				int v = (t0 * r0[x] + t1 * r1[x] + t2 * r2[x] + t3 * r3[x] + t4 * r4[x] + round) >> shift;
				out[x] = (unsigned char)kiln_clamp(v, lo, hi);
			}
		}
	}
}

/*
 * One missing sample of kiln_deinterlace, from row pointers the caller
 * found once per line: c and e the kept field's lines above and below,
 * c3 and e3 three lines out, p1/p2 and n1/n2 those lines of the previous
 * and next frames, bf/af this line and bb/ab, bf2/af2 the lines two above
 * and below of the fields before and after. The arithmetic is the kernel's.
 */
static inline __attribute__((always_inline)) int kiln_deint_sample(int x, int w, int wide,
	const unsigned char *cr, const unsigned char *er, const unsigned char *c3, const unsigned char *e3,
	const unsigned char *p1, const unsigned char *p2, const unsigned char *n1, const unsigned char *n2,
	const unsigned char *bf, const unsigned char *af, const unsigned char *bb, const unsigned char *ab,
	const unsigned char *bf2, const unsigned char *af2)
{
	int c = kiln_ld(cr, x, wide), e = kiln_ld(er, x, wide);
	int pb = kiln_ld(bf, x, wide), pa = kiln_ld(af, x, wide);
	int d = (pb + pa + 1) >> 1;
	int diff0 = kiln_abs(pb - pa);
	int diff1 = (kiln_abs(kiln_ld(p1, x, wide) - c) + kiln_abs(kiln_ld(p2, x, wide) - e)) >> 1;
	int diff2 = (kiln_abs(kiln_ld(n1, x, wide) - c) + kiln_abs(kiln_ld(n2, x, wide) - e)) >> 1;
	int diff = kiln_max3(diff0 >> 1, diff1, diff2);
	if (diff == 0)
		return d;
	int cl[7], el[7];
	for (int k = 0; k < 7; k++) {
		int xx = kiln_clamp(x + k - 3, 0, w - 1);
		cl[k] = kiln_ld(cr, xx, wide);
		el[k] = kiln_ld(er, xx, wide);
	}
	int best = kiln_abs(cl[2] - el[2]) + kiln_abs(c - e) + kiln_abs(cl[4] - el[4]);
	int dir = 0;
	for (int s = -1; s <= 1; s += 2) {
		for (int k = 1; k <= 2; k++) {
			int j = k * s;
			int score = kiln_abs(cl[2 + j] - el[2 - j]) + kiln_abs(cl[3 + j] - el[3 - j]) +
				    kiln_abs(cl[4 + j] - el[4 - j]);
			if (score >= best)
				break;
			best = score;
			dir = j;
		}
	}
	int sp;
	if (dir != 0) {
		sp = (cl[3 + dir] + el[3 - dir] + 1) >> 1;
	} else {
		int a = kiln_ld(c3, x, wide), g = kiln_ld(e3, x, wide);
		sp = (5077 * (c + e) - 981 * (a + g) + 4096) >> 13;
	}
	int b = (kiln_ld(bb, x, wide) + kiln_ld(ab, x, wide) + 1) >> 1;
	int f = (kiln_ld(bf2, x, wide) + kiln_ld(af2, x, wide) + 1) >> 1;
	int mx = kiln_max3(d - e, d - c, kiln_min(b - c, f - e));
	int mn = kiln_min3(d - e, d - c, kiln_max(b - c, f - e));
	diff = kiln_max3(diff, mn, -mx);
	int v = kiln_clamp(sp, d - diff, d + diff);
	return kiln_clamp(v, 0, wide ? 65535 : 255);
}

/*
 * Line by line: a kept line is a copy of cur's; a missing one finds its
 * source lines (kiln_field_line) once and then runs the kernel's per-sample
 * arithmetic along the line.
 */
KILN_HOT void kiln_host_deinterlace(kiln_launch l,
	const unsigned char *prv, const unsigned char *cur, const unsigned char *nxt,
	const unsigned char *bef, const unsigned char *aft, int sstride,
	unsigned char *dst, int dstride, int w, int h, int wide, int keep)
{
	if (l.ref) {
		KILN_LAUNCH(l, kiln_deinterlace, prv, cur, nxt, bef, aft, sstride, dst, dstride, w, h, wide, keep);
		return;
	}
	int y0, y1;
	kiln_rows(l, h, &y0, &y1);
	for (int y = y0; y < y1; y++) {
		unsigned char *out = kiln_wrow(dst, dstride, y);
		if ((y & 1) == keep) {
			memcpy(out, kiln_row(cur, sstride, y), (size_t)w * (wide ? 2 : 1));
			continue;
		}
		int ya = kiln_field_line(y - 1, h), ye = kiln_field_line(y + 1, h);
		int yb = kiln_field_line(y - 2, h), yf = kiln_field_line(y + 2, h);
		const unsigned char *cr = kiln_row(cur, sstride, ya), *er = kiln_row(cur, sstride, ye);
		const unsigned char *c3 = kiln_row(cur, sstride, kiln_field_line(y - 3, h));
		const unsigned char *e3 = kiln_row(cur, sstride, kiln_field_line(y + 3, h));
		const unsigned char *p1 = kiln_row(prv, sstride, ya), *p2 = kiln_row(prv, sstride, ye);
		const unsigned char *n1 = kiln_row(nxt, sstride, ya), *n2 = kiln_row(nxt, sstride, ye);
		const unsigned char *bf = kiln_row(bef, sstride, y), *af = kiln_row(aft, sstride, y);
		const unsigned char *bb = kiln_row(bef, sstride, yb), *ab = kiln_row(aft, sstride, yb);
		const unsigned char *bf2 = kiln_row(bef, sstride, yf), *af2 = kiln_row(aft, sstride, yf);
		if (wide) {
			unsigned short *o16 = (unsigned short *)out;
			for (int x = 0; x < w; x++)
				o16[x] = (unsigned short)kiln_deint_sample(x, w, 1, cr, er, c3, e3, p1, p2, n1, n2,
					bf, af, bb, ab, bf2, af2);
		} else {
			for (int x = 0; x < w; x++)
				out[x] = (unsigned char)kiln_deint_sample(x, w, 0, cr, er, c3, e3, p1, p2, n1, n2,
					bf, af, bb, ab, bf2, af2);
		}
	}
}
