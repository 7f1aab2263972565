/*
 * Composition: placing a picture in a larger or smaller canvas (pad, crop)
 * and blending a pre-converted logo over a picture (overlay).
 */
#include "kiln.h"

/*
 * dst[y][x] = src[y-oy][x-ox] where that lies inside src, else fill: pad
 * is a positive offset into a bigger canvas, crop a negative one into a
 * smaller. Offsets are in samples of this plane.
 */
KILN_KERNEL(kiln_place,
	const unsigned char *src, int sstride, int sw, int sh,
	unsigned char *dst, int dstride, int dw, int dh,
	int ox, int oy, int wide, int fill)
{
	int x = KILN_X, y = KILN_Y;
	if (x >= dw || y >= dh)
		return;
	int sx = x - ox, sy = y - oy;
	int v = fill;
	if (sx >= 0 && sx < sw && sy >= 0 && sy < sh)
		v = kiln_ld(kiln_row(src, sstride, sy), sx, wide);
	kiln_st(kiln_wrow(dst, dstride, y), x, wide, v);
}

/*
 * Blends the logo plane (values and 12-bit alpha, lw*lh, rows of lw) over
 * dst at (ox, oy), in place: each thread reads and writes only its own
 * sample. opacity is 12-bit too (4096 = opaque).
 */
KILN_KERNEL(kiln_overlay,
	unsigned char *dst, int dstride, int dw, int dh, int wide,
	const unsigned short *logo, const unsigned short *alpha, int lw, int lh,
	int ox, int oy, int opacity)
{
	int x = KILN_X, y = KILN_Y;
	if (x >= lw || y >= lh)
		return;
	int px = x + ox, py = y + oy;
	if (px < 0 || px >= dw || py < 0 || py >= dh)
		return;
	int i = y * lw + x;
	int a = ((int)alpha[i] * opacity + 2048) >> 12;
	unsigned char *row = kiln_wrow(dst, dstride, py);
	int s = kiln_ld(row, px, wide);
	int v = (s * (4096 - a) + (int)logo[i] * a + 2048) >> 12;
	kiln_st(row, px, wide, v);
}
