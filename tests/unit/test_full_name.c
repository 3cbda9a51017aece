#include "config.h"
#include <string.h>
#include "full_name.h"
#include "mime_decode.h"
#include "unit.h"

static void test_gecos(void)
{
	char out[64];

	UNIT_CHECK(full_name_from_gecos("Alice Example,Room 1,555-1234,,",
					"alice", out, sizeof(out)) == 0);
	UNIT_STREQ(out, "Alice Example");
	UNIT_CHECK(full_name_from_gecos("& Smith", "bob", out,
					sizeof(out)) == 0);
	UNIT_STREQ(out, "Bob Smith");
	UNIT_CHECK(full_name_from_gecos("  root  ", "root", out,
					sizeof(out)) == 0);
	UNIT_STREQ(out, "root");
	UNIT_CHECK(full_name_from_gecos(",,,", "x", out, sizeof(out)) < 0);
	UNIT_CHECK(full_name_from_gecos("", "x", out, sizeof(out)) < 0);
	UNIT_CHECK(full_name_from_gecos("&", "", out, sizeof(out)) < 0);
	/* does not fit */
	UNIT_CHECK(full_name_from_gecos("A very long name", "x", out, 8) < 0);
	UNIT_CHECK(full_name_from_gecos("& & &", "abcdefgh", out, 12) < 0);
}

static const char *phrase(struct buf *b, const char *name)
{
	buf_reset(b);
	UNIT_CHECK(full_name_phrase(b, name) == 0);
	return buf_cstr(b);
}

/* The encoded words of b, unfolded and decoded. */
static const char *decoded(struct buf *b, struct buf *d)
{
	const char *error;

	buf_reset(d);
	for (size_t i = 0; i < b->len; i++)
		if (b->data[i] == '\n')
			b->data[i] = ' ';
	UNIT_CHECK(mime_decode_header(b->data, b->len, d, &error) == 0);
	return buf_cstr(d);
}

static void test_phrase(void)
{
	struct buf b, d;

	buf_init(&b, 4096);
	buf_init(&d, 4096);
	UNIT_STREQ(phrase(&b, "Alice Example"), "Alice Example");
	UNIT_STREQ(phrase(&b, "Example, Alice"), "\"Example, Alice\"");
	UNIT_STREQ(phrase(&b, "A \"B\" C\\"), "\"A \\\"B\\\" C\\\\\"");
	UNIT_STREQ(phrase(&b, "Jos\xc3\xa9 M\xc3\xbcller"),
		   "=?utf-8?q?Jos=C3=A9_M=C3=BCller?=");
	UNIT_STREQ(decoded(&b, &d), "Jos\xc3\xa9 M\xc3\xbcller");
	/* not UTF-8, controls: '?' */
	UNIT_STREQ(phrase(&b, "a\xff" "b\x01"), "=?utf-8?q?a=3Fb=3F?=");
	/* long names: words of at most 75 octets, folded, never a
	 * character cut in two, and the whole decodes back */
	char name[257];
	for (size_t i = 0; i + 2 <= 256; i += 2)
		memcpy(name + i, "\xc3\xa9", 2);
	name[256] = '\0';
	phrase(&b, name);
	size_t words = 0;
	for (const char *p = buf_cstr(&b); *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if (words > 0) {
			UNIT_CHECK(p[0] == ' ');
			p++, len--;
		}
		UNIT_CHECK(len <= 75);
		UNIT_CHECK(strncmp(p, "=?utf-8?q?", 10) == 0 &&
			   strncmp(p + len - 2, "?=", 2) == 0);
		UNIT_CHECK((len - 12) % 6 == 0);	/* whole characters */
		words++;
		p += len + (nl != NULL);
	}
	UNIT_CHECK(words > 3);
	UNIT_STREQ(decoded(&b, &d), name);
	/* a full buffer is an error */
	struct buf small;
	buf_init(&small, 10);
	UNIT_CHECK(full_name_phrase(&small, "Jos\xc3\xa9 M\xc3\xbcller") < 0);
	buf_deinit(&small);
	buf_deinit(&b);
	buf_deinit(&d);
}

int main(void)
{
	test_gecos();
	test_phrase();
	return unit_done();
}
