#include "host.h"
#include "cuda/matrix.cu"

/*
 * Per luma line: the chroma term of each chroma sample of the line's chroma
 * row once (it is the same for the 1 << subx luma samples it covers), then
 * luma plus its term along the line.
 */
KILN_HOT void kiln_host_matrix_luma(kiln_launch l,
	const unsigned char *sy, int systride,
	const unsigned char *scb, const unsigned char *scr, int scstride,
	unsigned char *dy, int dystride,
	int w, int h, int wide, int subx, int suby,
	const int *m, int coff, int lo, int hi)
{
	if (l.ref) {
		KILN_LAUNCH(l, kiln_matrix_luma, sy, systride, scb, scr, scstride, dy, dystride,
			w, h, wide, subx, suby, m, coff, lo, hi);
		return;
	}
	int y0, y1;
	kiln_rows(l, h, &y0, &y1);
	int cw = ((w - 1) >> subx) + 1;
	int term[cw];
	int m0 = m[0], m1 = m[1];
	int crow = -1;
	for (int y = y0; y < y1; y++) {
		int cy = y >> suby;
		if (cy != crow) {
			crow = cy;
			const unsigned char *cbr = kiln_row(scb, scstride, cy), *crr = kiln_row(scr, scstride, cy);
			if (wide) {
				const unsigned short *cb = (const unsigned short *)cbr, *cr = (const unsigned short *)crr;
				for (int x = 0; x < cw; x++)
					term[x] = (m0 * (cb[x] - coff) + m1 * (cr[x] - coff) + (1 << 13)) >> 14;
			} else {
				for (int x = 0; x < cw; x++)
					term[x] = (m0 * (cbr[x] - coff) + m1 * (crr[x] - coff) + (1 << 13)) >> 14;
			}
		}
		const unsigned char *in = kiln_row(sy, systride, y);
		unsigned char *out = kiln_wrow(dy, dystride, y);
		if (wide) {
			const unsigned short *i16 = (const unsigned short *)in;
			unsigned short *o16 = (unsigned short *)out;
			for (int x = 0; x < w; x++)
				o16[x] = (unsigned short)kiln_clamp(i16[x] + term[x >> subx], lo, hi);
		} else if (subx == 1) {
			int pairs = w >> 1;
			for (int c = 0; c < pairs; c++) {
				out[2 * c] = (unsigned char)kiln_clamp(in[2 * c] + term[c], lo, hi);
				out[2 * c + 1] = (unsigned char)kiln_clamp(in[2 * c + 1] + term[c], lo, hi);
			}
			if (w & 1)
				out[w - 1] = (unsigned char)kiln_clamp(in[w - 1] + term[(w - 1) >> 1], lo, hi);
		} else {
			for (int x = 0; x < w; x++)
				out[x] = (unsigned char)kiln_clamp(in[x] + term[x >> subx], lo, hi);
		}
	}
}

KILN_HOT void kiln_host_matrix_chroma(kiln_launch l,
	const unsigned char *scb, const unsigned char *scr, int sstride,
	unsigned char *dcb, unsigned char *dcr, int dstride,
	int w, int h, int wide,
	const int *m, int coff, int lo, int hi)
{
	if (l.ref) {
		KILN_LAUNCH(l, kiln_matrix_chroma, scb, scr, sstride, dcb, dcr, dstride, w, h, wide, m, coff, lo, hi);
		return;
	}
	int y0, y1;
	kiln_rows(l, h, &y0, &y1);
	int m2 = m[2], m3 = m[3], m4 = m[4], m5 = m[5];
	for (int y = y0; y < y1; y++) {
		const unsigned char *cbr = kiln_row(scb, sstride, y), *crr = kiln_row(scr, sstride, y);
		unsigned char *ob = kiln_wrow(dcb, dstride, y), *orr = kiln_wrow(dcr, dstride, y);
		if (wide) {
			const unsigned short *cb = (const unsigned short *)cbr, *cr = (const unsigned short *)crr;
			unsigned short *b16 = (unsigned short *)ob, *r16 = (unsigned short *)orr;
			for (int x = 0; x < w; x++) {
				int u = cb[x] - coff, v = cr[x] - coff;
				b16[x] = (unsigned short)kiln_clamp(coff + ((m2 * u + m3 * v + (1 << 13)) >> 14), lo, hi);
				r16[x] = (unsigned short)kiln_clamp(coff + ((m4 * u + m5 * v + (1 << 13)) >> 14), lo, hi);
			}
		} else {
			for (int x = 0; x < w; x++) {
				int u = cbr[x] - coff, v = crr[x] - coff;
				ob[x] = (unsigned char)kiln_clamp(coff + ((m2 * u + m3 * v + (1 << 13)) >> 14), lo, hi);
				orr[x] = (unsigned char)kiln_clamp(coff + ((m4 * u + m5 * v + (1 << 13)) >> 14), lo, hi);
			}
		}
	}
}
