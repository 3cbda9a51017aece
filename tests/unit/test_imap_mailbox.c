/* Unit tests of lib/imap_mailbox: the modified UTF-7 codec with RFC 3501's
 * example and every refusal, the IMAP name <-> Maildir++ mapping with both
 * delimiters (on-disk forms as Dovecot 2.3 writes them) and its length
 * limit (limit-1, limit, limit+1), and LIST pattern matching, including a
 * pattern that would backtrack exponentially in a naive matcher. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "buf.h"
#include "imap_mailbox.h"
#include "mailstore.h"
#include "unit.h"

/* NULL out: refused. Strings hold no NUL, so strlen gives the length. */
static const struct {
	const char *mutf7, *utf8;
} codec[] = {
	{ "", "" },
	{ "INBOX", "INBOX" },
	{ "~peter/mail/&U,BTFw-/&ZeVnLIqe-", "~peter/mail/台北/日本語" },
	{ "Entw&APw-rfe", "Entwürfe" },
	{ "a&-b", "a&b" },
	{ "&-", "&" },
	{ "&-&-", "&&" },
	{ "&AOQ-&-", "ä&" },
	{ "&2D3eAA-", "\xf0\x9f\x98\x80" },
	{ "&AOnYPd4A-", "é\xf0\x9f\x98\x80" },
	{ "&AAE-", "\x01" },
	{ "&AH8-", "\x7f" },
	{ "&AOQ- &APY-", "ä ö" },
};

static const char *const bad_mutf7[] = {
	"&",			/* unterminated */
	"a&",
	"&U,BTFw",
	"&-&",
	"&!-",			/* not BASE64 */
	"&U/BTFw-",		/* '/' is not modified BASE64 */
	"&AGE-",		/* 'a' must be direct */
	"&ACY-",		/* '&' must be "&-" */
	"&ACA-",		/* ' ' must be direct */
	"&AOQ-&APY-",		/* two shifts where one would do */
	"&AOR-",		/* padding bits not zero */
	"&AOQA-",		/* a character too many */
	"&A-",			/* no complete UTF-16 unit */
	"&AA-",
	"&2D0-",		/* lone high surrogate */
	"&3gA-",		/* lone low surrogate */
	"&2D3YPQ-",		/* high surrogate then high */
	"&3gDYPQ-",		/* reversed pair */
	"Entwürfe",		/* 8-bit octets */
	"a\tb",			/* control */
	"a\x7f",
};

static const char *const bad_utf8[] = {
	"\xc3", "a\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
	"\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80", "\xff", "\x80", "\xe2\x82",
};

static void test_codec(void)
{
	struct buf b;
	const char *error;

	buf_init(&b, 4096);
	for (size_t i = 0; i < sizeof(codec) / sizeof(codec[0]); i++) {
		buf_reset(&b);
		UNIT_CHECK(imap_mailbox_mutf7_decode(codec[i].mutf7,
			   strlen(codec[i].mutf7), &b, &error) == 0);
		UNIT_STREQ(b.data, codec[i].utf8);
		buf_reset(&b);
		UNIT_CHECK(imap_mailbox_mutf7_encode(codec[i].utf8,
			   strlen(codec[i].utf8), &b, &error) == 0);
		UNIT_STREQ(b.data, codec[i].mutf7);
	}
	for (size_t i = 0; i < sizeof(bad_mutf7) / sizeof(bad_mutf7[0]); i++) {
		buf_reset(&b);
		UNIT_CHECK(buf_append_str(&b, "keep") == 0);
		error = NULL;
		if (imap_mailbox_mutf7_decode(bad_mutf7[i],
		    strlen(bad_mutf7[i]), &b, &error) != -1)
			fprintf(stderr, "accepted: %s\n", bad_mutf7[i]);
		UNIT_CHECK(error != NULL);
		UNIT_STREQ(b.data, "keep");
	}
	for (size_t i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
		buf_reset(&b);
		error = NULL;
		UNIT_CHECK(imap_mailbox_mutf7_encode(bad_utf8[i],
			   strlen(bad_utf8[i]), &b, &error) == -1);
		UNIT_CHECK(error != NULL && b.len == 0);
		UNIT_CHECK(!imap_mailbox_utf8_valid(bad_utf8[i],
						    strlen(bad_utf8[i])));
	}
	/* NUL is a legal character in the codec. */
	buf_reset(&b);
	UNIT_CHECK(imap_mailbox_mutf7_encode("a\0b", 3, &b, &error) == 0);
	UNIT_STREQ(b.data, "a&AAA-b");
	/* A full buffer is an error, not a truncation. */
	buf_deinit(&b);
	buf_init(&b, 5);
	UNIT_CHECK(imap_mailbox_mutf7_encode("ü", 2, &b, &error) == 0);
	buf_reset(&b);
	UNIT_CHECK(imap_mailbox_mutf7_encode("üü", 4, &b, &error) == -1 &&
		   b.len == 0);
	UNIT_CHECK(imap_mailbox_mutf7_decode("abcdef", 6, &b, &error) == -1 &&
		   b.len == 0);
	buf_deinit(&b);
}

/* folder NULL: refused. */
static const struct {
	const char *name;
	char sep;
	const char *folder;
} mapping[] = {
	{ "INBOX", '.', "INBOX" },
	{ "inbox", '/', "INBOX" },
	{ "InBoX.child", '.', "INBOX.child" },
	{ "inbox/child", '/', "INBOX.child" },
	{ "INBOXfoo", '.', "INBOXfoo" },
	{ "Foo.inbox", '.', "Foo.inbox" },
	{ "Entwürfe", '.', "Entw&APw-rfe" },
	{ "Entwürfe.x", '.', "Entw&APw-rfe.x" },
	{ "日本語", '/', "&ZeVnLIqe-" },
	{ "a&b", '.', "a&-b" },
	{ "a~b", '.', "a~b" },
	{ "Archive.2024", '.', "Archive.2024" },
	{ "Archive/2024", '/', "Archive.2024" },
	{ "~peter/mail/台北/日本語", '/', "~peter.mail.&U,BTFw-.&ZeVnLIqe-" },
	{ "", '.', NULL },
	{ "", '/', NULL },
	{ ".", '.', NULL },
	{ "..", '.', NULL },
	{ ".a", '.', NULL },
	{ "a.", '.', NULL },
	{ "a..b", '.', NULL },
	{ "a/b", '.', NULL },
	{ "/", '/', NULL },
	{ "/a", '/', NULL },
	{ "a/", '/', NULL },
	{ "a//b", '/', NULL },
	{ ".", '/', NULL },
	{ "..", '/', NULL },
	{ "a/../b", '/', NULL },
	{ "a/./b", '/', NULL },
	{ "a.b", '/', NULL },
	{ ".hidden", '/', NULL },
	{ "a\x01" "b", '.', NULL },
	{ "a\x7f" "b", '.', NULL },
	{ "a\r\nb", '.', NULL },
	{ "a\xc2\x85" "b", '.', NULL },		/* C1 control */
	{ "a\xff", '.', NULL },
	{ "a\xc3", '.', NULL },
	{ "a", ',', NULL },
	{ "a", '\0', NULL },
};

static void test_mapping(void)
{
	struct buf b, back;
	const char *error;
	char name[300];

	buf_init(&b, 4096);
	buf_init(&back, 4096);
	for (size_t i = 0; i < sizeof(mapping) / sizeof(mapping[0]); i++) {
		int r;

		buf_reset(&b);
		error = NULL;
		r = imap_mailbox_to_folder(mapping[i].name,
					   strlen(mapping[i].name),
					   mapping[i].sep, &b, &error);
		if (mapping[i].folder == NULL) {
			if (r != -1)
				fprintf(stderr, "accepted: %s\n",
					mapping[i].name);
			UNIT_CHECK(r == -1 && error != NULL && b.len == 0);
			continue;
		}
		UNIT_CHECK(r == 0);
		UNIT_STREQ(b.data, mapping[i].folder);
		UNIT_CHECK(strcmp(b.data, "INBOX") == 0 ||
			   mailstore_folder_name_valid(b.data));
		/* And back: INBOX comes back upper-cased. */
		buf_reset(&back);
		UNIT_CHECK(imap_mailbox_from_folder(b.data, mapping[i].sep,
						    &back, &error) == 0);
		if (strncasecmp(mapping[i].name, "inbox", 5) == 0 &&
		    strcmp(b.data, "INBOXfoo") != 0)
			UNIT_CHECK(strncmp(back.data, "INBOX", 5) == 0 &&
				   strcmp(back.data + 5,
					  mapping[i].name + 5) == 0);
		else
			UNIT_STREQ(back.data, mapping[i].name);
	}
	/* NUL inside a name (from a literal). */
	buf_reset(&b);
	UNIT_CHECK(imap_mailbox_to_folder("a\0b", 3, '.', &b, &error) == -1);
	/* The on-disk length limit: limit-1, limit, limit+1. */
	for (size_t n = MAILSTORE_FOLDER_MAX - 1;
	     n <= MAILSTORE_FOLDER_MAX + 1; n++) {
		memset(name, 'a', n);
		buf_reset(&b);
		UNIT_CHECK(imap_mailbox_to_folder(name, n, '.', &b, &error) ==
			   (n <= MAILSTORE_FOLDER_MAX ? 0 : -1));
	}
	/* 127 '&' are 254 octets on disk, 128 are 256. */
	memset(name, '&', 128);
	buf_reset(&b);
	UNIT_CHECK(imap_mailbox_to_folder(name, 127, '.', &b, &error) == 0);
	buf_reset(&b);
	UNIT_CHECK(imap_mailbox_to_folder(name, 128, '.', &b, &error) == -1);

	/* Folders from disk that no IMAP name maps to. */
	static const struct {
		const char *folder;
		char sep;
	} unreachable[] = {
		{ "inbox.x", '.' }, { "Inbox", '.' }, { "Entwürfe", '.' },
		{ "a&AOQ", '.' }, { "&AAE-", '.' }, { "a&AC8-b", '/' },
		{ "a..b", '.' }, { ".a", '/' }, { "", '.' }, { "a", 'x' },
		{ "&AOQ-&APY-", '.' },
	};
	for (size_t i = 0; i < sizeof(unreachable) / sizeof(unreachable[0]);
	     i++) {
		buf_reset(&b);
		error = NULL;
		UNIT_CHECK(imap_mailbox_from_folder(unreachable[i].folder,
			   unreachable[i].sep, &b, &error) == -1 &&
			   error != NULL && b.len == 0);
	}
	buf_deinit(&b);
	buf_deinit(&back);
}

static const struct {
	const char *pattern, *name;
	char sep;
	int match;
} matches[] = {
	{ "*", "", '/', 1 },
	{ "*", "foo/bar/baz", '/', 1 },
	{ "%", "foo", '/', 1 },
	{ "%", "foo/bar", '/', 0 },
	{ "%", "foo.bar", '/', 1 },
	{ "%", "foo.bar", '.', 0 },
	{ "foo/%", "foo/bar", '/', 1 },
	{ "foo/%", "foo/bar/baz", '/', 0 },
	{ "foo/%", "foo", '/', 0 },
	{ "foo*", "foo", '/', 1 },
	{ "foo*", "foobar", '/', 1 },
	{ "foo*", "foo/bar/baz", '/', 1 },
	{ "foo%", "foobar", '/', 1 },
	{ "foo%", "foo/bar", '/', 0 },
	{ "%/%", "a/b", '/', 1 },
	{ "%/%", "a/b/c", '/', 0 },
	{ "*/%", "a/b/c", '/', 1 },
	{ "%*", "a/b", '/', 1 },
	{ "a%b%c", "aXbYc", '.', 1 },
	{ "a%b%c", "aXbY.c", '.', 0 },
	{ "", "", '.', 1 },
	{ "", "a", '.', 0 },
	{ "a", "", '.', 0 },
	{ "inbox", "INBOX", '.', 1 },
	{ "InBox.%", "INBOX.x", '.', 1 },
	{ "inbox*", "INBOX.x.y", '.', 1 },
	{ "inbox.X", "INBOX.x", '.', 0 },
	{ "inboxes", "INBOXES", '.', 0 },
	{ "Entw%", "Entwürfe", '.', 1 },
	{ "*e", "Entwürfe", '.', 1 },
	{ "*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", '.', 0 },
	{ "*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaab", '.', 1 },
	{ "%a%a%a%a%b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaab", '.', 1 },
};

static void test_match(void)
{
	size_t n = 200000;
	char *name = malloc(n), *pat = malloc(IMAP_MAILBOX_PATTERN_MAX + 1);
	clock_t t0;

	for (size_t i = 0; i < sizeof(matches) / sizeof(matches[0]); i++) {
		int r = imap_mailbox_match(matches[i].pattern,
					   strlen(matches[i].pattern),
					   matches[i].name,
					   strlen(matches[i].name),
					   matches[i].sep);
		if (r != matches[i].match)
			fprintf(stderr, "match %s %s: %d\n",
				matches[i].pattern, matches[i].name, r);
		UNIT_CHECK(r == matches[i].match);
	}
	/* Pattern length: limit, limit+1. */
	memset(pat, '*', IMAP_MAILBOX_PATTERN_MAX + 1);
	UNIT_CHECK(imap_mailbox_match(pat, IMAP_MAILBOX_PATTERN_MAX, "a", 1,
				      '.') == 1);
	UNIT_CHECK(imap_mailbox_match(pat, IMAP_MAILBOX_PATTERN_MAX + 1, "a",
				      1, '.') == -1);
	/* No exponential backtracking: a 200 KB name in well under a
	 * second. */
	memset(name, 'a', n);
	t0 = clock();
	UNIT_CHECK(imap_mailbox_match("*a*a*a*a*a*a*a*a*a*b", 20, name, n,
				      '.') == 0);
	UNIT_CHECK(imap_mailbox_match("%a%a%a%a%a%a%a%a%a%", 19, name, n,
				      '.') == 1);
	UNIT_CHECK((double)(clock() - t0) / CLOCKS_PER_SEC < 1.0);
	free(name);
	free(pat);
}

int main(void)
{
	test_codec();
	test_mapping();
	test_match();
	return unit_done();
}
