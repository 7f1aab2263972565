/*
 * Field conversions of interlaced pictures: strided line copies (separate
 * and weave fields), a one-line shift (field-order reversal), interlacing
 * two progressive frames with a vertical low-pass, and motion-adaptive
 * deinterlacing. Every plane is interlaced line by line, chroma included:
 * in interlaced 4:2:0, chroma lines alternate between the fields too.
 */
#include "kiln.h"

/* dst line y = src line y; the Go side offsets and doubles the strides. */
KILN_KERNEL(kiln_copy_lines,
	const unsigned char *src, int sstride,
	unsigned char *dst, int dstride, int bytes, int h)
{
	int x = KILN_X, y = KILN_Y;
	if (x >= bytes || y >= h)
		return;
	kiln_wrow(dst, dstride, y)[x] = kiln_row(src, sstride, y)[x];
}

/*
 * dst line y = src line y+d (d = +1 or -1). The line that falls off an edge
 * is taken from y-d, a line of the same field as y+d would have been, so
 * each new field holds lines of one old field only.
 */
KILN_KERNEL(kiln_shift_lines,
	const unsigned char *src, int sstride,
	unsigned char *dst, int dstride, int w, int h, int wide, int d)
{
	int x = KILN_X, y = KILN_Y;
	if (x >= w || y >= h)
		return;
	int sy = y + d;
	if (sy < 0 || sy >= h)
		sy = y - d;
	sy = kiln_clamp(sy, 0, h - 1);
	kiln_st(kiln_wrow(dst, dstride, y), x, wide, kiln_ld(kiln_row(src, sstride, sy), x, wide));
}

/*
 * Lines of parity firstpar come from the progressive frame a, the others
 * from b, each through a 5-tap vertical filter (taps sum to 1<<shift) that
 * takes out the vertical detail that would twitter at field rate.
 */
KILN_KERNEL(kiln_interlace,
	const unsigned char *a, const unsigned char *b, int sstride,
	unsigned char *dst, int dstride, int w, int h, int wide, int firstpar,
	const int *taps, int shift, int lo, int hi)
{
	int x = KILN_X, y = KILN_Y;
	if (x >= w || y >= h)
		return;
	const unsigned char *src = (y & 1) == firstpar ? a : b;
	int acc = 0;
	for (int k = 0; k < 5; k++) {
		int sy = kiln_clamp(y + k - 2, 0, h - 1);
		acc += taps[k] * kiln_ld(kiln_row(src, sstride, sy), x, wide);
	}
	int v = (acc + (1 << (shift - 1))) >> shift;
	kiln_st(kiln_wrow(dst, dstride, y), x, wide, kiln_clamp(v, lo, hi));
}

/* The nearest line of the same parity as yy inside 0..h-1. */
__device__ static inline int kiln_field_line(int yy, int h)
{
	while (yy < 0)
		yy += 2;
	while (yy >= h)
		yy -= 2;
	return yy < 0 ? 0 : yy;
}

__device__ static inline int kiln_max3(int a, int b, int c) { return kiln_max(kiln_max(a, b), c); }
__device__ static inline int kiln_min3(int a, int b, int c) { return kiln_min(kiln_min(a, b), c); }

/*
 * Motion-adaptive deinterlacing of one field into a full frame.
 *
 * Lines of parity keep are copied from cur. A missing line y is predicted
 * temporally from the opposite-parity fields just before (bef) and after
 * (aft) in time, and spatially by edge-directed interpolation (ELA) along
 * the best of five directions, or by a 4-tap vertical cubic when no
 * diagonal wins. How far the result may stray from the temporal prediction
 * is bounded by the local motion: the difference across time of the
 * opposite field, and of the kept field against the previous (prv) and next
 * (nxt) frames. A still area rebuilds the woven frame exactly; a moving one
 * falls to the spatial prediction.
 */
KILN_KERNEL(kiln_deinterlace,
	const unsigned char *prv, const unsigned char *cur, const unsigned char *nxt,
	const unsigned char *bef, const unsigned char *aft, int sstride,
	unsigned char *dst, int dstride, int w, int h, int wide, int keep)
{
	int x = KILN_X, y = KILN_Y;
	if (x >= w || y >= h)
		return;
	unsigned char *out = kiln_wrow(dst, dstride, y);
	if ((y & 1) == keep) {
		kiln_st(out, x, wide, kiln_ld(kiln_row(cur, sstride, y), x, wide));
		return;
	}
	const unsigned char *c_row = kiln_row(cur, sstride, kiln_field_line(y - 1, h));
	const unsigned char *e_row = kiln_row(cur, sstride, kiln_field_line(y + 1, h));
	int c = kiln_ld(c_row, x, wide);
	int e = kiln_ld(e_row, x, wide);
	int pb = kiln_ld(kiln_row(bef, sstride, y), x, wide);
	int pa = kiln_ld(kiln_row(aft, sstride, y), x, wide);
	int d = (pb + pa + 1) >> 1;

	int diff0 = kiln_abs(pb - pa);
	int diff1 = (kiln_abs(kiln_ld(kiln_row(prv, sstride, kiln_field_line(y - 1, h)), x, wide) - c) +
		     kiln_abs(kiln_ld(kiln_row(prv, sstride, kiln_field_line(y + 1, h)), x, wide) - e)) >> 1;
	int diff2 = (kiln_abs(kiln_ld(kiln_row(nxt, sstride, kiln_field_line(y - 1, h)), x, wide) - c) +
		     kiln_abs(kiln_ld(kiln_row(nxt, sstride, kiln_field_line(y + 1, h)), x, wide) - e)) >> 1;
	int diff = kiln_max3(diff0 >> 1, diff1, diff2);
	if (diff == 0) {
		kiln_st(out, x, wide, d);
		return;
	}

	/* Edge-directed search, widening only while the direction keeps improving. */
	int cl[7], el[7];
	for (int k = 0; k < 7; k++) {
		int xx = kiln_clamp(x + k - 3, 0, w - 1);
		cl[k] = kiln_ld(c_row, xx, wide);
		el[k] = kiln_ld(e_row, xx, wide);
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
		int a = kiln_ld(kiln_row(cur, sstride, kiln_field_line(y - 3, h)), x, wide);
		int g = kiln_ld(kiln_row(cur, sstride, kiln_field_line(y + 3, h)), x, wide);
		sp = (5077 * (c + e) - 981 * (a + g) + 4096) >> 13;
	}

	/* Let vertical detail of the other fields widen the bound, as yadif does. */
	int yb = kiln_field_line(y - 2, h), yf = kiln_field_line(y + 2, h);
	int b = (kiln_ld(kiln_row(bef, sstride, yb), x, wide) + kiln_ld(kiln_row(aft, sstride, yb), x, wide) + 1) >> 1;
	int f = (kiln_ld(kiln_row(bef, sstride, yf), x, wide) + kiln_ld(kiln_row(aft, sstride, yf), x, wide) + 1) >> 1;
	int mx = kiln_max3(d - e, d - c, kiln_min(b - c, f - e));
	int mn = kiln_min3(d - e, d - c, kiln_max(b - c, f - e));
	diff = kiln_max3(diff, mn, -mx);

	int v = kiln_clamp(sp, d - diff, d + diff);
	int top = wide ? 65535 : 255;
	kiln_st(out, x, wide, kiln_clamp(v, 0, top));
}
