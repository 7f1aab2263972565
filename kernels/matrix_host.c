#include "host.h"
#include "cuda/matrix.cu"

void kiln_host_matrix_luma(kiln_launch l,
	const unsigned char *sy, int systride,
	const unsigned char *scb, const unsigned char *scr, int scstride,
	unsigned char *dy, int dystride,
	int w, int h, int wide, int subx, int suby,
	const int *m, int coff, int lo, int hi)
{
	KILN_LAUNCH(l, kiln_matrix_luma, sy, systride, scb, scr, scstride, dy, dystride,
		w, h, wide, subx, suby, m, coff, lo, hi);
}

void kiln_host_matrix_chroma(kiln_launch l,
	const unsigned char *scb, const unsigned char *scr, int sstride,
	unsigned char *dcb, unsigned char *dcr, int dstride,
	int w, int h, int wide,
	const int *m, int coff, int lo, int hi)
{
	KILN_LAUNCH(l, kiln_matrix_chroma, scb, scr, sstride, dcb, dcr, dstride, w, h, wide, m, coff, lo, hi);
}
