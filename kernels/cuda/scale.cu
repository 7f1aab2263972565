/*
 * Separable polyphase scaling, one plane at a time: a horizontal pass into a
 * 16-bit intermediate at 14-bit precision, then a vertical pass to the output
 * depth. Filter tables (start index and 14-bit coefficients summing to 1<<14
 * for every output sample) come from Go, already folded at the picture edges
 * so that every tap reads inside the source.
 */
#include "kiln.h"

/* An 8x8 ordered-dither threshold, 0..63, each value once per tile. */
__device__ static inline int kiln_bayer8(int x, int y)
{
	int v = x ^ y;
	return ((v & 1) << 5) | ((y & 1) << 4) | ((v & 2) << 2) | ((y & 2) << 1) |
	       ((v & 4) >> 1) | ((y & 4) >> 2);
}

/*
 * tmp[y][x] = sum_k coef[x][k] * src[y][pos[x]+k], scaled to 14 bits:
 * shift is the source depth, so an 8-bit sample s becomes s<<6.
 */
KILN_KERNEL(kiln_scale_h,
	const unsigned char *src, int sstride, int swide,
	short *tmp, int tstride, int dw, int h,
	const int *pos, const short *coef, int taps, int shift)
{
	int x = KILN_X, y = KILN_Y;
	if (x >= dw || y >= h)
		return;
	const unsigned char *row = kiln_row(src, sstride, y);
	const short *c = coef + x * taps;
	int p = pos[x];
	int acc = 0;
	if (swide) {
		const unsigned short *r = (const unsigned short *)row + p;
		for (int k = 0; k < taps; k++)
			acc += c[k] * (int)r[k];
	} else {
		const unsigned char *r = row + p;
		for (int k = 0; k < taps; k++)
			acc += c[k] * (int)r[k];
	}
	tmp[(long long)y * tstride + x] = (short)((acc + (1 << (shift - 1))) >> shift);
}

/*
 * dst[y][x] = sum_k coef[y][k] * tmp[pos[y]+k][x] brought from 28 bits down
 * to the output depth: shift is 28 - depth. When the output is shallower than
 * the source, the rounding offset follows an ordered-dither pattern instead
 * of being one half, so gradients keep their mean without banding.
 * lo..hi are the legal levels of the plane (limited range).
 */
KILN_KERNEL(kiln_scale_v,
	const short *tmp, int tstride,
	unsigned char *dst, int dstride, int dwide, int dw, int dh,
	const int *pos, const short *coef, int taps, int shift,
	int lo, int hi, int dither)
{
	int x = KILN_X, y = KILN_Y;
	if (x >= dw || y >= dh)
		return;
	const short *c = coef + y * taps;
	const short *t = tmp + (long long)pos[y] * tstride + x;
	int acc = 0;
	for (int k = 0; k < taps; k++)
		acc += c[k] * (int)t[(long long)k * tstride];
	int round = dither ? (2 * kiln_bayer8(x, y) + 1) << (shift - 7) : 1 << (shift - 1);
	int v = (acc + round) >> shift;
	kiln_st(kiln_wrow(dst, dstride, y), x, dwide, kiln_clamp(v, lo, hi));
}
