/* Unit tests of lib/crlf: fixed cases (bare LF, CRLF kept, CR alone, LF
 * first, NUL kept or made 0x80), and random data of every length up to a
 * few blocks, converted whole and in pieces of every size (with the CR
 * before a piece carried over), against a one-octet-at-a-time reference;
 * crlf_measure against the converted length and a NUL search; crlf_count
 * against plain counts, up to past the 255 blocks its lanes hold. */
#include "config.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "crlf.h"
#include "unit.h"

/* The rule of crlf.h, plainly. */
static size_t reference(char *dst, const char *src, size_t len, bool fix)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (src[i] == '\n' && (i == 0 || src[i - 1] != '\r'))
			dst[o++] = '\r';
		dst[o++] = src[i] == '\0' && fix ? (char)0x80 : src[i];
	}
	return o;
}

static void check_fixed(const char *in, size_t len, const char *want,
			size_t want_len, bool fix)
{
	char out[256];
	uint64_t size;
	bool nul;
	size_t n = crlf_convert(out, in, len, false, fix);

	UNIT_CHECK(n == want_len && memcmp(out, want, n) == 0);
	crlf_measure(in, len, &size, &nul);
	UNIT_CHECK(size == want_len);
	UNIT_CHECK(nul == (memchr(in, '\0', len) != NULL));
}

static void test_fixed(void)
{
	static const char nul_in[] = "a\0b\n";
	static const char nul_kept[] = "a\0b\r\n";
	static const char nul_8bit[] = "a\x80" "b\r\n";

	check_fixed("", 0, "", 0, false);
	check_fixed("\n", 1, "\r\n", 2, false);
	check_fixed("\r\n", 2, "\r\n", 2, false);
	check_fixed("\r", 1, "\r", 1, false);
	check_fixed("a\nb\r\nc\rd\n\n", 11, "a\r\nb\r\nc\rd\r\n\r\n", 14,
		    false);
	check_fixed(nul_in, 4, nul_kept, 5, false);
	check_fixed(nul_in, 4, nul_8bit, 5, true);
	/* Across a 16-octet block: the CR in one, the LF in the next. */
	check_fixed("0123456789abcde\r\nx", 18, "0123456789abcde\r\nx", 18,
		    false);
	check_fixed("0123456789abcdef\nx", 18, "0123456789abcdef\r\nx", 19,
		    false);
}

/* Random data from a small alphabet rich in LF, CR and NUL. */
static void fill(char *buf, size_t len, unsigned *seed)
{
	static const char alphabet[] = "ab\n\n\r\0xyz";

	for (size_t i = 0; i < len; i++) {
		*seed = *seed * 1103515245u + 12345u;
		buf[i] = (*seed >> 16) % 7 == 0 ?
			alphabet[(*seed >> 8) % (sizeof(alphabet) - 1)] :
			(char)('A' + (*seed >> 20) % 26);
	}
}

/* Whole and in pieces of size piece, against the reference. The input
 * and the output have exactly the sizes the contract gives (in heap
 * blocks of their own), so that ASan sees any octet read or written
 * past them. */
static bool same_as_reference(const char *data, size_t len, size_t piece,
			      bool fix)
{
	char *in = malloc(len > 0 ? len : 1), *want = malloc(2 * len + 1);
	char *got = malloc(len > 0 ? 2 * len : 1);
	size_t wn, gn = 0;
	bool ok;

	memcpy(in, data, len);
	wn = reference(want, in, len, fix);

	for (size_t i = 0; i < len; i += piece) {
		size_t n = len - i < piece ? len - i : piece;

		gn += crlf_convert(got + gn, in + i, n,
				   i > 0 && in[i - 1] == '\r', fix);
	}
	ok = gn == wn && memcmp(got, want, wn) == 0;
	free(in);
	free(want);
	free(got);
	return ok;
}

static void test_random(void)
{
	unsigned seed = 42;
	char in[200];
	int bad = 0;

	for (size_t len = 0; len <= sizeof(in); len++) {
		for (int round = 0; round < 4; round++) {
			uint64_t size;
			bool nul;
			char out[2 * sizeof(in)];

			fill(in, len, &seed);
			for (size_t piece = 1; piece <= len + 1; piece += 7)
				if (!same_as_reference(in, len, piece,
						       round % 2 == 0))
					bad++;
			crlf_measure(in, len, &size, &nul);
			if (size != reference(out, in, len, false) ||
			    nul != (memchr(in, '\0', len) != NULL))
				bad++;
		}
	}
	UNIT_CHECK(bad == 0);
}

/* crlf_count of in[0..len) against the octets counted one by one. */
static bool count_ok(const char *in, size_t len)
{
	uint64_t lf = 0, bare = 0, got_lf, got_bare;

	for (size_t i = 0; i < len; i++) {
		if (in[i] != '\n')
			continue;
		lf++;
		bare += i == 0 || in[i - 1] != '\r';
	}
	crlf_count(in, len, &got_lf, &got_bare);
	return got_lf == lf && got_bare == bare;
}

static void test_count(void)
{
	/* 300 blocks and more: lanes that would wrap past 255 matches. */
	size_t max = 16 * 300 + 40;
	char *in = malloc(max);
	size_t bad = 0;

	UNIT_CHECK(count_ok("", 0));
	UNIT_CHECK(count_ok("\n", 1));
	UNIT_CHECK(count_ok("\r\n", 2));
	UNIT_CHECK(count_ok("0123456789abcde\r\n\n", 19));
	memset(in, '\n', max);
	UNIT_CHECK(count_ok(in, max));
	for (size_t i = 1; i < max; i += 2)
		in[i - 1] = '\r';
	UNIT_CHECK(count_ok(in, max));
	srand(4);
	for (int round = 0; round < 300; round++) {
		size_t len = (size_t)rand() % max;
		for (size_t i = 0; i < len; i++)
			in[i] = "\r\nab"[rand() % 4];
		/* Every start within a block, so loads straddle both ways. */
		for (size_t off = 0; off < 17 && off <= len; off++)
			bad += !count_ok(in + off, len - off);
	}
	UNIT_CHECK(bad == 0);
	free(in);
}

int main(void)
{
	test_fixed();
	test_random();
	test_count();
	return unit_done();
}
