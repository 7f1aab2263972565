/*
 * emulate_host.c: runs a kernel's host build by its PTX entry name with
 * arguments as a device backend passes them to cuLaunchKernel, one 64-bit
 * slot each (addresses, or 32-bit ints in the low half). It lets a device
 * backend be exercised on an emulated device (see emulate.go).
 */
#include <stdint.h>
#include <string.h>
#include "host.h"

/* A slot handed to the wrong kind of parameter must not compile quietly. */
#pragma GCC diagnostic error "-Wint-conversion"
#pragma GCC diagnostic error "-Wincompatible-pointer-types"

#define P(i) ((void *)(uintptr_t)a[i])
#define I(i) ((int)(int32_t)(uint32_t)a[i])

int kiln_host_by_name(const char *n, kiln_launch l, const uint64_t *a, int na)
{
#define K(name, want, call) \
	if (!strcmp(n, name)) { \
		if (na != want) \
			return -2; \
		call; \
		return 0; \
	}
	K("kiln_scale_h", 11, kiln_host_scale_h(l, P(0), I(1), I(2), P(3), I(4), I(5), I(6), P(7), P(8), I(9), I(10),
		0, 0))
	K("kiln_scale_v", 14, kiln_host_scale_v(l, P(0), I(1), P(2), I(3), I(4), I(5), I(6), P(7), P(8), I(9), I(10),
		I(11), I(12), I(13)))
	K("kiln_matrix_luma", 16, kiln_host_matrix_luma(l, P(0), I(1), P(2), P(3), I(4), P(5), I(6), I(7), I(8), I(9),
		I(10), I(11), P(12), I(13), I(14), I(15)))
	K("kiln_matrix_chroma", 13, kiln_host_matrix_chroma(l, P(0), P(1), I(2), P(3), P(4), I(5), I(6), I(7), I(8),
		P(9), I(10), I(11), I(12)))
	K("kiln_place", 12, kiln_host_place(l, P(0), I(1), I(2), I(3), P(4), I(5), I(6), I(7), I(8), I(9), I(10), I(11)))
	K("kiln_overlay", 12, kiln_host_overlay(l, P(0), I(1), I(2), I(3), I(4), P(5), P(6), I(7), I(8), I(9), I(10), I(11)))
	K("kiln_copy_lines", 6, kiln_host_copy_lines(l, P(0), I(1), P(2), I(3), I(4), I(5)))
	K("kiln_shift_lines", 8, kiln_host_shift_lines(l, P(0), I(1), P(2), I(3), I(4), I(5), I(6), I(7)))
	K("kiln_interlace", 13, kiln_host_interlace(l, P(0), P(1), I(2), P(3), I(4), I(5), I(6), I(7), I(8), P(9), I(10),
		I(11), I(12)))
	K("kiln_deinterlace", 12, kiln_host_deinterlace(l, P(0), P(1), P(2), P(3), P(4), I(5), P(6), I(7), I(8), I(9),
		I(10), I(11)))
	K("kiln_luma8", 7, kiln_host_luma8(l, P(0), I(1), I(2), P(3), I(4), I(5), I(6)))
	K("kiln_half", 8, kiln_host_half(l, P(0), I(1), I(2), I(3), P(4), I(5), I(6), I(7)))
	K("kiln_me_search", 18, kiln_host_me_search(l, P(0), P(1), I(2), I(3), I(4), I(5), I(6), P(7), P(8), I(9), I(10),
		P(11), P(12), I(13), I(14), P(15), P(16), P(17)))
	K("kiln_me_subpel", 12, kiln_host_me_subpel(l, P(0), P(1), I(2), I(3), I(4), I(5), I(6), P(7), P(8), P(9), P(10),
		P(11)))
	K("kiln_me_smooth", 14, kiln_host_me_smooth(l, P(0), P(1), I(2), I(3), I(4), I(5), I(6), P(7), P(8), P(9), I(10),
		P(11), P(12), P(13)))
	K("kiln_blend", 9, kiln_host_blend(l, P(0), P(1), I(2), P(3), I(4), I(5), I(6), I(7), I(8)))
	K("kiln_mc_select", 15, kiln_host_mc_select(l, P(0), P(1), I(2), I(3), I(4), P(5), P(6), P(7), P(8), I(9), I(10),
		I(11), P(12), P(13), P(14)))
	K("kiln_mc_render", 16, kiln_host_mc_render(l, P(0), P(1), I(2), P(3), I(4), I(5), I(6), I(7), I(8), I(9), P(10),
		P(11), P(12), I(13), I(14), I(15)))
#undef K
	return -1;
}
