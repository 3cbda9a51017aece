/* crlf: LF to CRLF at memory speed; see crlf.h. The SSE2 paths look at
 * 16 octets at a time: a block without LF (or NUL) is counted or copied
 * whole, which is nearly every block of a text (lines are ~70 octets);
 * the few others go through the plain per-octet step. */
#include "config.h"
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include "crlf.h"

/* The plain per-octet step of crlf_convert. */
static size_t convert_tail(char *dst, const char *src, size_t len,
			   bool after_cr, bool nul_to_8bit)
{
	size_t o = 0;
	bool cr = after_cr;

	for (size_t i = 0; i < len; i++) {
		char c = src[i];

		if (c == '\n' && !cr)
			dst[o++] = '\r';
		cr = c == '\r';
		dst[o++] = c == '\0' && nul_to_8bit ? (char)0x80 : c;
	}
	return o;
}

static void measure_tail(const char *data, size_t len, bool after_cr,
			 uint64_t *size, bool *nul)
{
	bool cr = after_cr;

	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n' && !cr)
			(*size)++;
		if (data[i] == '\0')
			*nul = true;
		cr = data[i] == '\r';
	}
}

/* The per-octet step of crlf_count from data[i] on (i >= 1). */
static void count_tail(const char *data, size_t len, size_t i, uint64_t *lf,
		       uint64_t *pairs)
{
	for (; i < len; i++) {
		bool is_lf = data[i] == '\n';

		*lf += is_lf;
		*pairs += is_lf && data[i - 1] == '\r';
	}
}

#ifdef __SSE2__
/* The sum of the 16 octet lanes of v. */
static uint64_t lane_sum(__m128i v)
{
	__m128i s = _mm_sad_epu8(v, _mm_setzero_si128());

	return (uint64_t)_mm_cvtsi128_si64(s) +
	       (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(s, s));
}

/* 16 octets at a time, each block compared with itself and with itself
 * one octet earlier (for the CR before an LF); the matches are counted in
 * octet lanes, folded into the sums every 255 blocks before they wrap. */
void crlf_count(const char *data, size_t len, uint64_t *lf_r,
		uint64_t *bare_r)
{
	const __m128i nl = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');
	uint64_t lf, pairs = 0;
	size_t i = 1;

	if (len == 0) {
		*lf_r = *bare_r = 0;
		return;
	}
	lf = data[0] == '\n';
	while (len - i >= 16) {
		size_t blocks = (len - i) / 16;
		__m128i acc_lf = _mm_setzero_si128(), acc_pair = acc_lf;

		if (blocks > 255)
			blocks = 255;
		for (size_t b = 0; b < blocks; b++, i += 16) {
			const __m128i *q = (const __m128i *)(data + i);
			__m128i v = _mm_loadu_si128(q);
			__m128i before = _mm_loadu_si128(
				(const __m128i *)(data + i - 1));
			__m128i lfs = _mm_cmpeq_epi8(v, nl);

			acc_lf = _mm_sub_epi8(acc_lf, lfs);
			acc_pair = _mm_sub_epi8(
				acc_pair,
				_mm_and_si128(lfs, _mm_cmpeq_epi8(before, cr)));
		}
		lf += lane_sum(acc_lf);
		pairs += lane_sum(acc_pair);
	}
	count_tail(data, len, i, &lf, &pairs);
	*lf_r = lf;
	*bare_r = lf - pairs;
}

/* Bit k set: octet k of the block v is a LF that no CR precedes
 * (prev_cr: the octet before the block was CR). */
static unsigned bare_lfs(__m128i v, bool prev_cr)
{
	unsigned lfs = (unsigned)_mm_movemask_epi8(
		_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')));
	unsigned crs;

	if (lfs == 0)
		return 0;
	/* Bit k: the octet before block[k] is CR. */
	crs = (unsigned)_mm_movemask_epi8(
		_mm_cmpeq_epi8(v, _mm_set1_epi8('\r'))) << 1 | prev_cr;
	return lfs & ~crs;
}

static unsigned bit_count(unsigned x)
{
	unsigned n = 0;

	for (; x != 0; x &= x - 1)	/* usually 0 or 1 bit */
		n++;
	return n;
}

void crlf_measure(const char *data, size_t len, uint64_t *size_r,
		  bool *nul_r)
{
	const __m128i zero = _mm_setzero_si128();
	uint64_t size = len;
	unsigned nul = 0;
	size_t i = 0;

	for (; i + 16 <= len; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(data + i));

		nul |= (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, zero));
		size += bit_count(bare_lfs(v, i > 0 && data[i - 1] == '\r'));
	}
	*nul_r = nul != 0;
	*size_r = size;
	measure_tail(data + i, len - i, i > 0 && data[i - 1] == '\r', size_r,
		     nul_r);
}

size_t crlf_convert(char *dst, const char *src, size_t len, bool after_cr,
		    bool nul_to_8bit)
{
	const __m128i zero = _mm_setzero_si128();
	size_t i = 0, o = 0;

	for (; i + 16 <= len; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(src + i));
		bool prev_cr = i > 0 ? src[i - 1] == '\r' : after_cr;
		unsigned bare = bare_lfs(v, prev_cr);
		unsigned b;

		if (nul_to_8bit &&
		    _mm_movemask_epi8(_mm_cmpeq_epi8(v, zero)) != 0) {
			o += convert_tail(dst + o, src + i, 16, prev_cr, true);
			continue;
		}
		_mm_storeu_si128((__m128i *)(dst + o), v);
		if (bare == 0) {
			o += 16;
			continue;
		}
		b = (unsigned)__builtin_ctz(bare);
		/* Two LFs or more (rare), or too near the end to read 16
		 * octets from the LF on: octet by octet. */
		if ((bare & (bare - 1)) != 0 || i + b + 16 > len) {
			o += convert_tail(dst + o, src + i, 16, prev_cr,
					  false);
			continue;
		}
		/* One LF at b: CR there, then the 16 octets from the LF on
		 * one further (dst has room: o <= 2 * i, and what lands past
		 * this block is overwritten by the next). */
		dst[o + b] = '\r';
		_mm_storeu_si128((__m128i *)(dst + o + b + 1),
				 _mm_loadu_si128((const __m128i *)(src + i + b)));
		o += 17;
	}
	return o + convert_tail(dst + o, src + i, len - i,
				i > 0 ? src[i - 1] == '\r' : after_cr,
				nul_to_8bit);
}
#else
void crlf_count(const char *data, size_t len, uint64_t *lf_r,
		uint64_t *bare_r)
{
	uint64_t lf = 0, pairs = 0;

	if (len > 0) {
		lf = data[0] == '\n';
		count_tail(data, len, 1, &lf, &pairs);
	}
	*lf_r = lf;
	*bare_r = lf - pairs;
}

void crlf_measure(const char *data, size_t len, uint64_t *size_r,
		  bool *nul_r)
{
	*size_r = len;
	*nul_r = false;
	measure_tail(data, len, false, size_r, nul_r);
}

size_t crlf_convert(char *dst, const char *src, size_t len, bool after_cr,
		    bool nul_to_8bit)
{
	return convert_tail(dst, src, len, after_cr, nul_to_8bit);
}
#endif
