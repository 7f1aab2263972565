#include <string.h>
#include "host.h"
#include "cuda/compose.cu"

/* A run of n samples of value v from x on. */
static inline void kiln_fill(unsigned char *row, int x, int n, int wide, int v)
{
	if (n <= 0)
		return;
	if (!wide) {
		memset(row + x, (unsigned char)v, (size_t)n);
		return;
	}
	unsigned short *r = (unsigned short *)row + x;
	for (int i = 0; i < n; i++)
		r[i] = (unsigned short)v;
}

/* Per line: the fill left of the picture, the picture's samples, the fill right of it. */
KILN_HOT void kiln_host_place(kiln_launch l,
	const unsigned char *src, int sstride, int sw, int sh,
	unsigned char *dst, int dstride, int dw, int dh,
	int ox, int oy, int wide, int fill)
{
	if (l.ref) {
		KILN_LAUNCH(l, kiln_place, src, sstride, sw, sh, dst, dstride, dw, dh, ox, oy, wide, fill);
		return;
	}
	int y0, y1;
	kiln_rows(l, dh, &y0, &y1);
	int bytes = wide ? 2 : 1;
	/* Output samples [x0, x1) come from the source, sample x from x-ox. */
	int x0 = kiln_clamp(ox, 0, dw), x1 = kiln_clamp(ox + sw, x0, dw);
	for (int y = y0; y < y1; y++) {
		unsigned char *out = kiln_wrow(dst, dstride, y);
		int sy = y - oy;
		if (sy < 0 || sy >= sh) {
			kiln_fill(out, 0, dw, wide, fill);
			continue;
		}
		kiln_fill(out, 0, x0, wide, fill);
		if (x1 > x0)
			memcpy(out + (size_t)x0 * bytes, kiln_row(src, sstride, sy) + (size_t)(x0 - ox) * bytes,
				(size_t)(x1 - x0) * bytes);
		kiln_fill(out, x1, dw - x1, wide, fill);
	}
}

KILN_HOT void kiln_host_overlay(kiln_launch l,
	unsigned char *dst, int dstride, int dw, int dh, int wide,
	const unsigned short *logo, const unsigned short *alpha, int lw, int lh,
	int ox, int oy, int opacity)
{
	KILN_LAUNCH(l, kiln_overlay, dst, dstride, dw, dh, wide, logo, alpha, lw, lh, ox, oy, opacity);
}
