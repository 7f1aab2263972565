/*
 * host.h: the host launchers of the CPU backend, one per kernel. Each runs
 * the block rows [l.y0, l.y1) of a launch; Go calls them from goroutines.
 * Their definitions sit in the *_host.c files next to this header, which
 * include the kernel sources from cuda/ in host mode.
 */
#ifndef KILN_HOST_H
#define KILN_HOST_H

#include "cuda/kiln.h"

void kiln_host_scale_h(kiln_launch l, const unsigned char *src, int sstride, int swide,
	short *tmp, int tstride, int dw, int h,
	const int *pos, const short *coef, int taps, int shift);
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
