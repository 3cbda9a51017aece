/* Unit tests of lib/smtp_dotstuff: LF to CRLF, dot-stuffing and the end
 * of DATA, whole and fed one octet at a time (the same output), and the
 * worst-case growth the header promises (3 x len). */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "smtp_dotstuff.h"
#include "unit.h"

static size_t encode(const char *in, size_t len, size_t piece, char *out)
{
	struct smtp_dotstuff ds;
	size_t o = 0;

	smtp_dotstuff_init(&ds);
	for (size_t i = 0; i < len; i += piece) {
		size_t n = len - i < piece ? len - i : piece;
		o += smtp_dotstuff_feed(&ds, out + o, in + i, n);
	}
	o += smtp_dotstuff_finish(&ds, out + o);
	out[o] = '\0';
	return o;
}

static void test_table(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "", ".\r\n" },
		{ "a\n", "a\r\n.\r\n" },
		{ "a", "a\r\n.\r\n" },
		{ "a\r\n", "a\r\n.\r\n" },
		{ "a\r", "a\r\n.\r\n" },
		{ ".\n", "..\r\n.\r\n" },
		{ ".", "..\r\n.\r\n" },
		{ "a\n.b\n..\n", "a\r\n..b\r\n...\r\n.\r\n" },
		{ "a.\n b.\n", "a.\r\n b.\r\n.\r\n" },
		{ "\n\n", "\r\n\r\n.\r\n" },
		{ "x\n.\n", "x\r\n..\r\n.\r\n" },
		{ "\xc3\xa9t\xc3\xa9\n", "\xc3\xa9t\xc3\xa9\r\n.\r\n" },
		{ "a\r\n.\r\n", "a\r\n..\r\n.\r\n" },
	};
	char out[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].in);
		for (size_t piece = 1; piece <= len + 1; piece++) {
			size_t o = encode(cases[i].in, len, piece, out);
			UNIT_CHECK(o == strlen(cases[i].out));
			UNIT_STREQ(out, cases[i].out);
		}
	}
}

/* Only dots and LFs: the most growth there is, within 2 x len + 5. */
static void test_growth(void)
{
	char in[64], out[3 * sizeof(in) + 6];

	for (size_t i = 0; i < sizeof(in); i += 2) {
		in[i] = '.';
		in[i + 1] = '\n';
	}
	size_t o = encode(in, sizeof(in), sizeof(in), out);
	UNIT_CHECK(o == 2 * sizeof(in) + 3);
	UNIT_CHECK(o <= 2 * sizeof(in) + 5);
	UNIT_CHECK(strncmp(out, "..\r\n..\r\n", 8) == 0);
}

int main(void)
{
	test_table();
	test_growth();
	return unit_done();
}
