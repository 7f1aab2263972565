#include "host.h"
#include "cuda/interp.cu"

void kiln_host_blend(kiln_launch l,
	const unsigned char *a, const unsigned char *b, int sstride,
	unsigned char *dst, int dstride, int w, int h, int wide, int t)
{
	KILN_LAUNCH(l, kiln_blend, a, b, sstride, dst, dstride, w, h, wide, t);
}

void kiln_host_mc_select(kiln_launch l,
	const unsigned char *a, const unsigned char *b, int stride, int w, int h,
	const int *fx, const int *fy, const int *gx, const int *gy, int bw, int bh,
	int t, int *ovx, int *ovy, int *omode)
{
	KILN_LAUNCH(l, kiln_mc_select, a, b, stride, w, h, fx, fy, gx, gy, bw, bh, t, ovx, ovy, omode);
}

void kiln_host_mc_render(kiln_launch l,
	const unsigned char *a, const unsigned char *b, int sstride,
	unsigned char *dst, int dstride, int w, int h, int wide, int subx, int suby,
	const int *vx, const int *vy, const int *mode, int bw, int bh, int t)
{
	KILN_LAUNCH(l, kiln_mc_render, a, b, sstride, dst, dstride, w, h, wide, subx, suby, vx, vy, mode, bw, bh, t);
}
