#include "host.h"
#include "cuda/scale.cu"

/*
 * The horizontal pass line by line. The line is first widened to 16-bit
 * samples in a buffer with zeros past its end; each output is then a dot
 * product of whole 4-tap groups of the padded coefficients (hcoef, htaps)
 * with that buffer, on multiply-add vector instructions (8 taps at a time,
 * then a last 4).
 * The padded taps are zeros and integer sums do not depend on their order,
 * so every sample is the one kiln_scale_h computes. Samples deeper than 15
 * bits would not fit the signed 16-bit buffer: they, and a launch without
 * padded coefficients, take the kernel's arithmetic along the line.
 */
KILN_HOT void kiln_host_scale_h(kiln_launch l, const unsigned char *src, int sstride, int swide,
	short *tmp, int tstride, int dw, int h,
	const int *pos, const short *coef, int taps, int shift,
	const short *hcoef, int htaps)
{
	if (l.ref) {
		KILN_LAUNCH(l, kiln_scale_h, src, sstride, swide, tmp, tstride, dw, h, pos, coef, taps, shift);
		return;
	}
	int y0, y1;
	kiln_rows(l, h, &y0, &y1);
	int round = 1 << (shift - 1);
	if (!hcoef || shift > 15 || htaps < taps || htaps % 4 != 0) {
		for (int y = y0; y < y1; y++) {
			const unsigned char *row = kiln_row(src, sstride, y);
			short *out = tmp + (long long)y * tstride;
			for (int x = 0; x < dw; x++) {
				const short *c = coef + x * taps;
				int acc = 0;
				for (int k = 0; k < taps; k++)
					acc += c[k] * kiln_ld(row, pos[x] + k, swide);
				out[x] = (short)((acc + round) >> shift);
			}
		}
		return;
	}
	/* The kernel reads samples [0, need) of a line; the padded taps read up to htaps-taps further. */
	int need = 0;
	for (int x = 0; x < dw; x++)
		need = kiln_max(need, pos[x] + taps);
	int len = need + htaps - taps;
	short line[len > 0 ? len : 1];
	for (int i = need; i < len; i++)
		line[i] = 0;
	for (int y = y0; y < y1; y++) {
		const unsigned char *row = kiln_row(src, sstride, y);
		if (swide) {
			const unsigned short *r16 = (const unsigned short *)row;
			for (int i = 0; i < need; i++)
				line[i] = (short)r16[i];
		} else {
			for (int i = 0; i < need; i++)
				line[i] = (short)row[i];
		}
		short *out = tmp + (long long)y * tstride;
		int x = 0;
#ifdef KILN_SSE2
		/*
		 * Four outputs at a time: per tap group one multiply-add each
		 * (pmaddwd: four 32-bit pair sums), then the four sets of partial
		 * sums folded into one vector of four totals. The (short) cast
		 * of the kernel keeps the low 16 bits: so does shifting them up
		 * and back before the (then never saturating) pack.
		 */
		__m128i rnd = _mm_set1_epi32(round), cnt = _mm_cvtsi32_si128(shift);
		for (; x + 4 <= dw; x += 4) {
			const short *c = hcoef + x * htaps;
			const short *r0 = line + pos[x], *r1 = line + pos[x + 1], *r2 = line + pos[x + 2],
				    *r3 = line + pos[x + 3];
			__m128i s0 = _mm_setzero_si128(), s1 = s0, s2 = s0, s3 = s0;
			int k = 0;
			for (; k + 8 <= htaps; k += 8) {
				s0 = _mm_add_epi32(s0, _mm_madd_epi16(_mm_loadu_si128((const __m128i *)(c + k)),
					_mm_loadu_si128((const __m128i *)(r0 + k))));
				s1 = _mm_add_epi32(s1, _mm_madd_epi16(_mm_loadu_si128((const __m128i *)(c + htaps + k)),
					_mm_loadu_si128((const __m128i *)(r1 + k))));
				s2 = _mm_add_epi32(s2, _mm_madd_epi16(_mm_loadu_si128((const __m128i *)(c + 2 * htaps + k)),
					_mm_loadu_si128((const __m128i *)(r2 + k))));
				s3 = _mm_add_epi32(s3, _mm_madd_epi16(_mm_loadu_si128((const __m128i *)(c + 3 * htaps + k)),
					_mm_loadu_si128((const __m128i *)(r3 + k))));
			}
			if (k < htaps) { /* a last group of 4 */
				s0 = _mm_add_epi32(s0, _mm_madd_epi16(_mm_loadl_epi64((const __m128i *)(c + k)),
					_mm_loadl_epi64((const __m128i *)(r0 + k))));
				s1 = _mm_add_epi32(s1, _mm_madd_epi16(_mm_loadl_epi64((const __m128i *)(c + htaps + k)),
					_mm_loadl_epi64((const __m128i *)(r1 + k))));
				s2 = _mm_add_epi32(s2, _mm_madd_epi16(_mm_loadl_epi64((const __m128i *)(c + 2 * htaps + k)),
					_mm_loadl_epi64((const __m128i *)(r2 + k))));
				s3 = _mm_add_epi32(s3, _mm_madd_epi16(_mm_loadl_epi64((const __m128i *)(c + 3 * htaps + k)),
					_mm_loadl_epi64((const __m128i *)(r3 + k))));
			}
			__m128i u0 = _mm_add_epi32(_mm_unpacklo_epi32(s0, s1), _mm_unpackhi_epi32(s0, s1));
			__m128i u1 = _mm_add_epi32(_mm_unpacklo_epi32(s2, s3), _mm_unpackhi_epi32(s2, s3));
			__m128i tot = _mm_add_epi32(_mm_unpacklo_epi64(u0, u1), _mm_unpackhi_epi64(u0, u1));
			__m128i v = _mm_sra_epi32(_mm_add_epi32(tot, rnd), cnt);
			v = _mm_srai_epi32(_mm_slli_epi32(v, 16), 16);
			_mm_storel_epi64((__m128i *)(out + x), _mm_packs_epi32(v, v));
		}
#endif
		for (; x < dw; x++) {
			const short *c = hcoef + x * htaps;
			const short *r = line + pos[x];
			int acc = 0;
			for (int k = 0; k < htaps; k += 4)
				for (int j = 0; j < 4; j++)
					acc += c[k + j] * r[k + j];
			out[x] = (short)((acc + round) >> shift);
		}
	}
}

/*
 * The vertical pass row by row rather than thread by thread: taps outer,
 * samples inner, so that the inner loop runs along contiguous rows and
 * vectorises. Integer sums do not depend on their order, so every sample
 * is the one kiln_scale_v computes. The rounding term repeats every 8
 * samples along a row (the dither tile), so it is made once per row.
 */
KILN_HOT void kiln_host_scale_v(kiln_launch l, const short *tmp, int tstride,
	unsigned char *dst, int dstride, int dwide, int dw, int dh,
	const int *pos, const short *coef, int taps, int shift,
	int lo, int hi, int dither)
{
	if (l.ref) {
		KILN_LAUNCH(l, kiln_scale_v, tmp, tstride, dst, dstride, dwide, dw, dh, pos, coef, taps, shift,
			lo, hi, dither);
		return;
	}
	int y0, y1;
	kiln_rows(l, dh, &y0, &y1);
	int acc[dw > 0 ? dw : 1];
	int rnd[8];
	for (int y = y0; y < y1; y++) {
		const short *c = coef + y * taps;
		const short *t = tmp + (long long)pos[y] * tstride;
		for (int i = 0; i < 8; i++)
			rnd[i] = dither ? (2 * kiln_bayer8(i, y) + 1) << (shift - 7) : 1 << (shift - 1);
		unsigned char *row = kiln_wrow(dst, dstride, y);
		int x0 = 0;
#ifdef KILN_SSE2
		/*
		 * 8-bit output, eight samples at a time, two taps per multiply-add
		 * (pmaddwd on the two rows' samples interleaved). Exact when no sum
		 * can leave 32 bits: |partial sums| <= sum|c| * 32768, checked with
		 * the rounding term; the shifted result then fits 16 bits, so the
		 * packs and the 16-bit clamp do not saturate.
		 */
		long long reach = 0;
		for (int k = 0; k < taps; k++)
			reach += kiln_abs(c[k]);
		if (!dwide && reach * 32768 + (1LL << shift) < (1LL << 31) && ((1LL << 31) >> shift) < 32768) {
			__m128i rlo = _mm_setr_epi32(rnd[0], rnd[1], rnd[2], rnd[3]), rhi = _mm_setr_epi32(rnd[4], rnd[5], rnd[6], rnd[7]);
			__m128i cnt = _mm_cvtsi32_si128(shift), vlo = _mm_set1_epi16((short)lo), vhi = _mm_set1_epi16((short)hi);
			for (; x0 + 8 <= dw; x0 += 8) {
				__m128i alo = _mm_setzero_si128(), ahi = alo;
				int k = 0;
				for (; k + 2 <= taps; k += 2) {
					__m128i r0 = _mm_loadu_si128((const __m128i *)(t + (long long)k * tstride + x0));
					__m128i r1 = _mm_loadu_si128((const __m128i *)(t + (long long)(k + 1) * tstride + x0));
					__m128i cc = _mm_set1_epi32((int)(((unsigned)(unsigned short)c[k + 1] << 16) | (unsigned short)c[k]));
					alo = _mm_add_epi32(alo, _mm_madd_epi16(_mm_unpacklo_epi16(r0, r1), cc));
					ahi = _mm_add_epi32(ahi, _mm_madd_epi16(_mm_unpackhi_epi16(r0, r1), cc));
				}
				if (k < taps) {
					__m128i r0 = _mm_loadu_si128((const __m128i *)(t + (long long)k * tstride + x0));
					__m128i cc = _mm_set1_epi32((int)(unsigned short)c[k]);
					__m128i z = _mm_setzero_si128();
					alo = _mm_add_epi32(alo, _mm_madd_epi16(_mm_unpacklo_epi16(r0, z), cc));
					ahi = _mm_add_epi32(ahi, _mm_madd_epi16(_mm_unpackhi_epi16(r0, z), cc));
				}
				alo = _mm_sra_epi32(_mm_add_epi32(alo, rlo), cnt);
				ahi = _mm_sra_epi32(_mm_add_epi32(ahi, rhi), cnt);
				__m128i v = _mm_min_epi16(_mm_max_epi16(_mm_packs_epi32(alo, ahi), vlo), vhi);
				_mm_storel_epi64((__m128i *)(row + x0), _mm_packus_epi16(v, v));
			}
		}
#endif
		for (int x = x0; x < dw; x++)
			acc[x] = 0;
		for (int k = 0; k < taps; k++) {
			int ck = c[k];
			const short *r = t + (long long)k * tstride;
			for (int x = x0; x < dw; x++)
				acc[x] += ck * (int)r[x];
		}
		if (dwide) {
			unsigned short *o = (unsigned short *)row;
			for (int x = x0; x < dw; x++)
				o[x] = (unsigned short)kiln_clamp((acc[x] + rnd[x & 7]) >> shift, lo, hi);
		} else {
			for (int x = x0; x < dw; x++)
				row[x] = (unsigned char)kiln_clamp((acc[x] + rnd[x & 7]) >> shift, lo, hi);
		}
	}
}
