/* Unit tests for lib/imap_metadata: entry names (RFC 5464 3.2), the
 * sorted set, DEPTH scopes, and the file format (round trip, binary
 * values, damage, one byte at a time truncation). */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "imap_metadata.h"
#include "unit.h"

static int check(const char *name, char *out, size_t outsize)
{
	struct buf b;
	const char *error;
	int r;

	buf_init(&b, IMAP_METADATA_ENTRY_MAX + 1);
	r = imap_metadata_entry_check(name, strlen(name), &b, &error);
	if (r == 0 && out != NULL)
		snprintf(out, outsize, "%s", b.data);
	buf_deinit(&b);
	return r;
}

static void test_names(void)
{
	static const char *const bad[] = {
		"", "/", "/foo", "private/comment", "/private/", "/shared//x",
		"/shared/a*b", "/shared/a%", "/privatex", "/shared/x\001",
		"/shared/\xc3", "/shared/a/",
	};
	char out[IMAP_METADATA_ENTRY_MAX + 1];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		UNIT_CHECK(check(bad[i], NULL, 0) < 0);
	UNIT_CHECK(check("/Shared/Comment", out, sizeof(out)) == 0);
	UNIT_STREQ(out, "/shared/comment");
	UNIT_CHECK(check("/PRIVATE", out, sizeof(out)) == 0);
	UNIT_CHECK(imap_metadata_entry_is_root(out));
	UNIT_CHECK(check("/private/vendor/x/\xc3\xa4", out, sizeof(out)) == 0);
	UNIT_STREQ(out, "/private/vendor/x/\xc3\xa4");
	UNIT_CHECK(!imap_metadata_entry_is_root("/private/x"));
	/* Length: limit, limit + 1. */
	char *longname = malloc(IMAP_METADATA_ENTRY_MAX + 2);
	memcpy(longname, "/shared/", 8);
	memset(longname + 8, 'a', IMAP_METADATA_ENTRY_MAX - 8);
	longname[IMAP_METADATA_ENTRY_MAX] = '\0';
	UNIT_CHECK(check(longname, NULL, 0) == 0);
	longname[IMAP_METADATA_ENTRY_MAX] = 'a';
	longname[IMAP_METADATA_ENTRY_MAX + 1] = '\0';
	UNIT_CHECK(check(longname, NULL, 0) < 0);
	free(longname);
}

static void test_set_and_scope(void)
{
	struct imap_metadata md;
	size_t first, end;

	imap_metadata_init(&md);
	imap_metadata_set(&md, "/shared/b", "2", 1);
	imap_metadata_set(&md, "/shared/a/x/y", "3", 1);
	imap_metadata_set(&md, "/shared/a", "1", 1);
	imap_metadata_set(&md, "/shared/a-z", "4", 1);
	imap_metadata_set(&md, "/shared/a/x", "5", 1);
	UNIT_CHECK(md.count == 5);
	UNIT_STREQ(md.entries[0].name, "/shared/a");
	UNIT_CHECK(imap_metadata_find(&md, "/shared/b") == 4);
	UNIT_CHECK(imap_metadata_find(&md, "/shared/c") == -1);
	imap_metadata_descendants(&md, "/shared/a", &first, &end);
	UNIT_CHECK(end - first == 2);
	UNIT_STREQ(md.entries[first].name, "/shared/a/x");
	UNIT_CHECK(imap_metadata_in_scope("/shared/a", "/shared/a", 0));
	UNIT_CHECK(!imap_metadata_in_scope("/shared/a", "/shared/a/x", 0));
	UNIT_CHECK(imap_metadata_in_scope("/shared/a", "/shared/a/x", 1));
	UNIT_CHECK(!imap_metadata_in_scope("/shared/a", "/shared/a/x/y", 1));
	UNIT_CHECK(imap_metadata_in_scope("/shared/a", "/shared/a/x/y",
					  IMAP_METADATA_DEPTH_INFINITY));
	UNIT_CHECK(!imap_metadata_in_scope("/shared/a", "/shared/a-z",
					   IMAP_METADATA_DEPTH_INFINITY));
	size_t octets = md.octets;
	imap_metadata_set(&md, "/shared/b", "22", 2);
	UNIT_CHECK(md.octets == octets + 1);
	imap_metadata_set(&md, "/shared/b", NULL, 0);
	imap_metadata_set(&md, "/shared/none", NULL, 0);
	UNIT_CHECK(md.count == 4 && md.octets == octets - 10);
	imap_metadata_deinit(&md);
	UNIT_CHECK(md.count == 0 && md.entries == NULL);
}

static void test_file(void)
{
	struct imap_metadata md, back;
	struct buf out;
	const char *error;

	imap_metadata_init(&md);
	imap_metadata_init(&back);
	buf_init(&out, 65536);
	imap_metadata_set(&md, "/private/comment", "a\0b\r\n", 5);
	imap_metadata_set(&md, "/shared/comment", "", 0);
	UNIT_CHECK(imap_metadata_format(&md, &out) == 0);
	UNIT_CHECK(out.len == 17 + 5 + 16 + 5 + 1 + 5 + 15 + 1);
	UNIT_CHECK(imap_metadata_parse(out.data, out.len, &back, &error) == 0);
	UNIT_CHECK(back.count == 2 && back.entries[0].value_len == 5 &&
		   memcmp(back.entries[0].value, "a\0b\r\n", 5) == 0);
	UNIT_CHECK(back.octets == md.octets);
	imap_metadata_deinit(&back);
	/* A truncation is damage unless it ends after the header or after
	 * the first entry; so is any extra byte. */
	for (size_t n = 1; n < out.len; n++) {
		int r = imap_metadata_parse(out.data, n, &back, &error);
		UNIT_CHECK(r < 0 || n == 17 || n == 17 + 5 + 16 + 5 + 1);
		UNIT_CHECK(r < 0 ? back.count == 0 : true);
		imap_metadata_deinit(&back);
	}
	unit_put(&out, "x");
	UNIT_CHECK(imap_metadata_parse(out.data, out.len, &back, &error) < 0);
	static const char *const damaged[] = {
		"surel-metadata 2\n",
		"surel-metadata 1\n15 1\n/shared/commenx\n16 1\n/private/commentx\n",
		"surel-metadata 1\n15 1\n/shared/commentx\n15 1\n/shared/commentx\n",
		"surel-metadata 1\n15 01\n/shared/commentx\n",
		"surel-metadata 1\n15 99999999999999999999\n/shared/commentx\n",
		"surel-metadata 1\n15 1\n/SHARED/commentx\n",
		"surel-metadata 1\n7 1\n/sharedx\n",
		"surel-metadata 1\n15 1 /shared/commentx\n",
	};
	for (size_t i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
		UNIT_CHECK(imap_metadata_parse(damaged[i], strlen(damaged[i]),
					       &back, &error) < 0);
		imap_metadata_deinit(&back);
	}
	UNIT_CHECK(imap_metadata_parse("", 0, &back, &error) == 0 &&
		   back.count == 0);
	struct buf tiny;
	buf_init(&tiny, 10);
	UNIT_CHECK(imap_metadata_format(&md, &tiny) < 0 && tiny.len == 0);
	buf_deinit(&tiny);
	buf_deinit(&out);
	imap_metadata_deinit(&md);
}

int main(void)
{
	test_names();
	test_set_and_scope();
	test_file();
	return unit_done();
}
