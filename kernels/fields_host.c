#include "host.h"
#include "cuda/fields.cu"

void kiln_host_copy_lines(kiln_launch l,
	const unsigned char *src, int sstride,
	unsigned char *dst, int dstride, int bytes, int h)
{
	KILN_LAUNCH(l, kiln_copy_lines, src, sstride, dst, dstride, bytes, h);
}

void kiln_host_shift_lines(kiln_launch l,
	const unsigned char *src, int sstride,
	unsigned char *dst, int dstride, int w, int h, int wide, int d)
{
	KILN_LAUNCH(l, kiln_shift_lines, src, sstride, dst, dstride, w, h, wide, d);
}

void kiln_host_interlace(kiln_launch l,
	const unsigned char *a, const unsigned char *b, int sstride,
	unsigned char *dst, int dstride, int w, int h, int wide, int firstpar,
	const int *taps, int shift, int lo, int hi)
{
	KILN_LAUNCH(l, kiln_interlace, a, b, sstride, dst, dstride, w, h, wide, firstpar, taps, shift, lo, hi);
}

void kiln_host_deinterlace(kiln_launch l,
	const unsigned char *prv, const unsigned char *cur, const unsigned char *nxt,
	const unsigned char *bef, const unsigned char *aft, int sstride,
	unsigned char *dst, int dstride, int w, int h, int wide, int keep)
{
	KILN_LAUNCH(l, kiln_deinterlace, prv, cur, nxt, bef, aft, sstride, dst, dstride, w, h, wide, keep);
}
