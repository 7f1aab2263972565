#include "host.h"
#include "cuda/scale.cu"

void kiln_host_scale_h(kiln_launch l, const unsigned char *src, int sstride, int swide,
	short *tmp, int tstride, int dw, int h,
	const int *pos, const short *coef, int taps, int shift)
{
	KILN_LAUNCH(l, kiln_scale_h, src, sstride, swide, tmp, tstride, dw, h, pos, coef, taps, shift);
}

/*
 * The vertical pass row by row rather than thread by thread: taps outer,
 * samples inner, so that the inner loop runs along contiguous rows and
 * vectorises. Integer sums do not depend on their order, so every sample
 * is the one kiln_scale_v computes.
 */
void kiln_host_scale_v(kiln_launch l, const short *tmp, int tstride,
	unsigned char *dst, int dstride, int dwide, int dw, int dh,
	const int *pos, const short *coef, int taps, int shift,
	int lo, int hi, int dither)
{
	int y1 = kiln_min(l.y1 * l.by, dh);
	int acc[dw > 0 ? dw : 1];
	for (int y = l.y0 * l.by; y < y1; y++) {
		const short *c = coef + y * taps;
		const short *t = tmp + (long long)pos[y] * tstride;
		for (int x = 0; x < dw; x++)
			acc[x] = 0;
		for (int k = 0; k < taps; k++) {
			int ck = c[k];
			const short *r = t + (long long)k * tstride;
			for (int x = 0; x < dw; x++)
				acc[x] += ck * (int)r[x];
		}
		unsigned char *row = kiln_wrow(dst, dstride, y);
		for (int x = 0; x < dw; x++) {
			int round = dither ? (2 * kiln_bayer8(x, y) + 1) << (shift - 7) : 1 << (shift - 1);
			kiln_st(row, x, dwide, kiln_clamp((acc[x] + round) >> shift, lo, hi));
		}
	}
}
