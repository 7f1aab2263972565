#include "host.h"
#include "cuda/compose.cu"

void kiln_host_place(kiln_launch l,
	const unsigned char *src, int sstride, int sw, int sh,
	unsigned char *dst, int dstride, int dw, int dh,
	int ox, int oy, int wide, int fill)
{
	KILN_LAUNCH(l, kiln_place, src, sstride, sw, sh, dst, dstride, dw, dh, ox, oy, wide, fill);
}

void kiln_host_overlay(kiln_launch l,
	unsigned char *dst, int dstride, int dw, int dh, int wide,
	const unsigned short *logo, const unsigned short *alpha, int lw, int lh,
	int ox, int oy, int opacity)
{
	KILN_LAUNCH(l, kiln_overlay, dst, dstride, dw, dh, wide, logo, alpha, lw, lh, ox, oy, opacity);
}
