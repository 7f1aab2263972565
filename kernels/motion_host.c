#include "host.h"
#include "cuda/motion.cu"

void kiln_host_luma8(kiln_launch l,
	const unsigned char *src, int sstride, int shift,
	unsigned char *dst, int dstride, int w, int h)
{
	KILN_LAUNCH(l, kiln_luma8, src, sstride, shift, dst, dstride, w, h);
}

void kiln_host_half(kiln_launch l,
	const unsigned char *src, int sstride, int sw, int sh,
	unsigned char *dst, int dstride, int dw, int dh)
{
	KILN_LAUNCH(l, kiln_half, src, sstride, sw, sh, dst, dstride, dw, dh);
}

void kiln_host_me_search(kiln_launch l,
	const unsigned char *cur, const unsigned char *ref, int stride, int w, int h,
	int bw, int bh,
	const int *pvx, const int *pvy, int pbw, int pbh,
	const int *tvx, const int *tvy,
	int range, int lambda,
	int *ovx, int *ovy, int *ocost)
{
	KILN_LAUNCH(l, kiln_me_search, cur, ref, stride, w, h, bw, bh, pvx, pvy, pbw, pbh,
		tvx, tvy, range, lambda, ovx, ovy, ocost);
}

void kiln_host_me_subpel(kiln_launch l,
	const unsigned char *cur, const unsigned char *ref, int stride, int w, int h,
	int bw, int bh, const int *ivx, const int *ivy,
	int *ovx, int *ovy, int *ocost)
{
	KILN_LAUNCH(l, kiln_me_subpel, cur, ref, stride, w, h, bw, bh, ivx, ivy, ovx, ovy, ocost);
}

void kiln_host_me_smooth(kiln_launch l,
	const unsigned char *cur, const unsigned char *ref, int stride, int w, int h,
	int bw, int bh, const int *ivx, const int *ivy, const int *icost, int bias,
	int *ovx, int *ovy, int *ocost)
{
	KILN_LAUNCH(l, kiln_me_smooth, cur, ref, stride, w, h, bw, bh, ivx, ivy, icost, bias, ovx, ovy, ocost);
}
