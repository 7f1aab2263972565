/*
 * Colour-matrix conversion of limited-range YCbCr (BT.601 <-> BT.709).
 *
 * The 3x3 matrix between two YCbCr spaces maps grey to grey, so new chroma
 * depends on old chroma only: the chroma kernel is exact per chroma sample
 * at any subsampling. New luma needs the chroma at each luma sample; it
 * takes the chroma sample whose area covers it. Coefficients are 14-bit
 * fixed point from Go: m[0..1] luma from Cb, Cr; m[2..5] the 2x2 chroma part.
 */
#include "kiln.h"

KILN_KERNEL(kiln_matrix_luma,
	const unsigned char *sy, int systride,
	const unsigned char *scb, const unsigned char *scr, int scstride,
	unsigned char *dy, int dystride,
	int w, int h, int wide, int subx, int suby,
	const int *m, int coff, int lo, int hi)
{
	int x = KILN_X, y = KILN_Y;
	if (x >= w || y >= h)
		return;
	int cx = x >> subx, cy = y >> suby;
	int cb = kiln_ld(kiln_row(scb, scstride, cy), cx, wide) - coff;
	int cr = kiln_ld(kiln_row(scr, scstride, cy), cx, wide) - coff;
	int v = kiln_ld(kiln_row(sy, systride, y), x, wide);
	v += (m[0] * cb + m[1] * cr + (1 << 13)) >> 14;
	kiln_st(kiln_wrow(dy, dystride, y), x, wide, kiln_clamp(v, lo, hi));
}

KILN_KERNEL(kiln_matrix_chroma,
	const unsigned char *scb, const unsigned char *scr, int sstride,
	unsigned char *dcb, unsigned char *dcr, int dstride,
	int w, int h, int wide,
	const int *m, int coff, int lo, int hi)
{
	int x = KILN_X, y = KILN_Y;
	if (x >= w || y >= h)
		return;
	int cb = kiln_ld(kiln_row(scb, sstride, y), x, wide) - coff;
	int cr = kiln_ld(kiln_row(scr, sstride, y), x, wide) - coff;
	int ncb = coff + ((m[2] * cb + m[3] * cr + (1 << 13)) >> 14);
	int ncr = coff + ((m[4] * cb + m[5] * cr + (1 << 13)) >> 14);
	kiln_st(kiln_wrow(dcb, dstride, y), x, wide, kiln_clamp(ncb, lo, hi));
	kiln_st(kiln_wrow(dcr, dstride, y), x, wide, kiln_clamp(ncr, lo, hi));
}
