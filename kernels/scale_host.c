#include "host.h"
#include "cuda/scale.cu"

void kiln_host_scale_h(kiln_launch l, const unsigned char *src, int sstride, int swide,
	short *tmp, int tstride, int dw, int h,
	const int *pos, const short *coef, int taps, int shift)
{
	KILN_LAUNCH(l, kiln_scale_h, src, sstride, swide, tmp, tstride, dw, h, pos, coef, taps, shift);
}

void kiln_host_scale_v(kiln_launch l, const short *tmp, int tstride,
	unsigned char *dst, int dstride, int dwide, int dw, int dh,
	const int *pos, const short *coef, int taps, int shift,
	int lo, int hi, int dither)
{
	KILN_LAUNCH(l, kiln_scale_v, tmp, tstride, dst, dstride, dwide, dw, dh, pos, coef, taps, shift, lo, hi, dither);
}
