/*
 * host.h: the host launchers of the CPU backend, one per kernel. Each runs
 * the block rows [l.y0, l.y1) of a launch; Go calls them from goroutines.
 * Their definitions sit in the *_host.c files next to this header, which
 * include the kernel sources from cuda/ in host mode.
 */
#ifndef KILN_HOST_H
#define KILN_HOST_H

#include "cuda/kiln.h"

/*
 * Row-wise host versions. A launcher with one runs the same integer
 * arithmetic as its kernel, sample for sample, over whole rows: the per-row
 * work (row pointers, field lines, rounding terms) is done once per row and
 * the inner loops are plain array loops gcc vectorises. With l.ref set it
 * runs the kernel thread by thread instead (kiln.h); the tests compare the
 * two, so a row version can never drift from what the GPU computes.
 *
 * KILN_HOT builds a launcher twice on x86-64, for AVX2 and for the baseline,
 * and picks one at load time (gcc function multiversioning): the binary
 * still runs on any x86-64. The arithmetic is integer, so both give the
 * same samples.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define KILN_HOT __attribute__((target_clones("avx2", "default")))
#else
#define KILN_HOT
#endif

/*
 * SSE2 is part of every x86-64, so these need no multiversioning. Where it
 * is missing the row versions use plain loops that compute the same.
 */
#if defined(__SSE2__)
#include <emmintrin.h>
#define KILN_SSE2 1

/*
 * Eight bilinear samples of an 8-bit image as 16-bit lanes:
 * (wa*r0[i] + wb*r0[i+1] + wc*r1[i] + wd*r1[i+1] + 128) >> 8 for i < 8, the
 * weights (in every lane) summing to 256. The sum is then at most
 * 256*255 + 128 < 65536, so 16-bit lanes hold it exactly. Reads r0[0..8]
 * and r1[0..8], as the plain arithmetic does.
 */
static inline __m128i kiln_bilin8(const unsigned char *r0, const unsigned char *r1,
	__m128i wa, __m128i wb, __m128i wc, __m128i wd)
{
	__m128i z = _mm_setzero_si128();
	__m128i a = _mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)r0), z);
	__m128i b = _mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)(r0 + 1)), z);
	__m128i c = _mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)r1), z);
	__m128i d = _mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)(r1 + 1)), z);
	__m128i s = _mm_add_epi16(_mm_add_epi16(_mm_mullo_epi16(a, wa), _mm_mullo_epi16(b, wb)),
		_mm_add_epi16(_mm_mullo_epi16(c, wc), _mm_mullo_epi16(d, wd)));
	return _mm_srli_epi16(_mm_add_epi16(s, _mm_set1_epi16(128)), 8);
}

/* Two rows of 8 bytes as one vector. */
static inline __m128i kiln_load2x8(const unsigned char *r0, const unsigned char *r1)
{
	return _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)r0), _mm_loadl_epi64((const __m128i *)r1));
}

/* The sum of |a[i] - b[i]| over 16 bytes. */
static inline int kiln_sad16(__m128i a, __m128i b)
{
	__m128i s = _mm_sad_epu8(a, b);
	return _mm_cvtsi128_si32(s) + _mm_cvtsi128_si32(_mm_srli_si128(s, 8));
}
#endif

/* The pixel rows [*y0, *y1) of a launch's block rows, clipped to h. */
static inline void kiln_rows(kiln_launch l, int h, int *y0, int *y1)
{
	*y0 = l.y0 * l.by;
	*y1 = kiln_min(l.y1 * l.by, h);
}

/*
 * hcoef/htaps: the coefficients again with each output's taps padded with
 * zeros to a multiple of 4 (htaps), for the row version's dot products;
 * null runs the kernel as written.
 */
void kiln_host_scale_h(kiln_launch l, const unsigned char *src, int sstride, int swide,
	short *tmp, int tstride, int dw, int h,
	const int *pos, const short *coef, int taps, int shift,
	const short *hcoef, int htaps);
void kiln_host_scale_v(kiln_launch l, const short *tmp, int tstride,
	unsigned char *dst, int dstride, int dwide, int dw, int dh,
	const int *pos, const short *coef, int taps, int shift,
	int lo, int hi, int dither);

void kiln_host_matrix_luma(kiln_launch l,
	const unsigned char *sy, int systride,
	const unsigned char *scb, const unsigned char *scr, int scstride,
	unsigned char *dy, int dystride,
	int w, int h, int wide, int subx, int suby,
	const int *m, int coff, int lo, int hi);
void kiln_host_matrix_chroma(kiln_launch l,
	const unsigned char *scb, const unsigned char *scr, int sstride,
	unsigned char *dcb, unsigned char *dcr, int dstride,
	int w, int h, int wide,
	const int *m, int coff, int lo, int hi);

void kiln_host_place(kiln_launch l,
	const unsigned char *src, int sstride, int sw, int sh,
	unsigned char *dst, int dstride, int dw, int dh,
	int ox, int oy, int wide, int fill);
void kiln_host_overlay(kiln_launch l,
	unsigned char *dst, int dstride, int dw, int dh, int wide,
	const unsigned short *logo, const unsigned short *alpha, int lw, int lh,
	int ox, int oy, int opacity);

void kiln_host_copy_lines(kiln_launch l,
	const unsigned char *src, int sstride,
	unsigned char *dst, int dstride, int bytes, int h);
void kiln_host_shift_lines(kiln_launch l,
	const unsigned char *src, int sstride,
	unsigned char *dst, int dstride, int w, int h, int wide, int d);
void kiln_host_interlace(kiln_launch l,
	const unsigned char *a, const unsigned char *b, int sstride,
	unsigned char *dst, int dstride, int w, int h, int wide, int firstpar,
	const int *taps, int shift, int lo, int hi);
void kiln_host_deinterlace(kiln_launch l,
	const unsigned char *prv, const unsigned char *cur, const unsigned char *nxt,
	const unsigned char *bef, const unsigned char *aft, int sstride,
	unsigned char *dst, int dstride, int w, int h, int wide, int keep);

void kiln_host_luma8(kiln_launch l,
	const unsigned char *src, int sstride, int shift,
	unsigned char *dst, int dstride, int w, int h);
void kiln_host_half(kiln_launch l,
	const unsigned char *src, int sstride, int sw, int sh,
	unsigned char *dst, int dstride, int dw, int dh);
void kiln_host_me_search(kiln_launch l,
	const unsigned char *cur, const unsigned char *ref, int stride, int w, int h,
	int bw, int bh,
	const int *pvx, const int *pvy, int pbw, int pbh,
	const int *tvx, const int *tvy,
	int range, int lambda,
	int *ovx, int *ovy, int *ocost);
void kiln_host_me_subpel(kiln_launch l,
	const unsigned char *cur, const unsigned char *ref, int stride, int w, int h,
	int bw, int bh, const int *ivx, const int *ivy,
	int *ovx, int *ovy, int *ocost);
void kiln_host_me_smooth(kiln_launch l,
	const unsigned char *cur, const unsigned char *ref, int stride, int w, int h,
	int bw, int bh, const int *ivx, const int *ivy, const int *icost, int bias,
	int *ovx, int *ovy, int *ocost);

void kiln_host_blend(kiln_launch l,
	const unsigned char *a, const unsigned char *b, int sstride,
	unsigned char *dst, int dstride, int w, int h, int wide, int t);
void kiln_host_mc_select(kiln_launch l,
	const unsigned char *a, const unsigned char *b, int stride, int w, int h,
	const int *fx, const int *fy, const int *gx, const int *gy, int bw, int bh,
	int t, int *ovx, int *ovy, int *omode);
void kiln_host_mc_render(kiln_launch l,
	const unsigned char *a, const unsigned char *b, int sstride,
	unsigned char *dst, int dstride, int w, int h, int wide, int subx, int suby,
	const int *vx, const int *vy, const int *mode, int bw, int bh, int t);

#endif
