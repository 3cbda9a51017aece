/* Unit tests for lib/imap_subscriptions: Dovecot's subscriptions file,
 * versions 1 and 2, as Dovecot 2.3 writes it (the version 2 samples are
 * what a private Dovecot wrote for SUBSCRIBE Drafts, Sent, a.b.c and
 * Entw&APw-rfe), limits, and the rewrite keeping unknown lines. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "imap_subscriptions.h"
#include "unit.h"

static const char dovecot_v2[] =
	"V\t2\n\nDrafts\nSent\na\tb\tc\nEntw&APw-rfe\n";

static void test_parse_v2(void)
{
	char **names;
	size_t n;
	const char *error;

	UNIT_CHECK(imap_subscriptions_parse(dovecot_v2, strlen(dovecot_v2),
					    &names, &n, &error) == 0);
	UNIT_CHECK(n == 4);
	if (n == 4) {
		UNIT_STREQ(names[0], "Drafts");
		UNIT_STREQ(names[1], "Sent");
		UNIT_STREQ(names[2], "a.b.c");
		UNIT_STREQ(names[3], "Entw&APw-rfe");
	}
	imap_subscriptions_free(&names, n);
	UNIT_CHECK(names == NULL);
}

static void test_parse_odd(void)
{
	/* v1, INBOX in any case, duplicates, damage, no final LF. */
	static const char v1[] = "inbox\nSent\nSent\n\n.bad\na..b\nINBOX.x\n"
				 "Trash";
	/* v2: escapes; a level holding '.' or an unknown escape is skipped;
	 * an empty level is damage. */
	static const char v2[] = "V\t2\n\nx\001ty\nx.y\nok\t\0011\n"
				 "bad\001q\na\t\tb\nInBoX\tsub\n";
	char **names;
	size_t n;
	const char *error;

	UNIT_CHECK(imap_subscriptions_parse(v1, strlen(v1), &names, &n,
					    &error) == 0);
	UNIT_CHECK(n == 4);
	if (n == 4) {
		UNIT_STREQ(names[0], "INBOX");
		UNIT_STREQ(names[1], "Sent");
		UNIT_STREQ(names[2], "INBOX.x");
		UNIT_STREQ(names[3], "Trash");
	}
	imap_subscriptions_free(&names, n);
	UNIT_CHECK(imap_subscriptions_parse(v2, sizeof(v2) - 1, &names, &n,
					    &error) == 0);
	/* "x\ty" has a TAB in a name: no folder; "ok\t\001" has a control
	 * character: no folder either. */
	UNIT_CHECK(n == 1);
	if (n == 1)
		UNIT_STREQ(names[0], "INBOX.sub");
	imap_subscriptions_free(&names, n);
	UNIT_CHECK(imap_subscriptions_parse("", 0, &names, &n, &error) == 0);
	UNIT_CHECK(n == 0 && names == NULL);
}

static void test_limits(void)
{
	struct buf big, out;
	char **names;
	size_t n;
	const char *error;
	bool changed;

	buf_init(&big, IMAP_SUBSCRIPTIONS_SIZE_MAX * 2);
	for (unsigned i = 0; i < IMAP_SUBSCRIPTIONS_COUNT_MAX; i++)
		unit_put(&big, "f%u\n", i);
	UNIT_CHECK(imap_subscriptions_parse(big.data, big.len, &names, &n,
					    &error) == 0);
	UNIT_CHECK(n == IMAP_SUBSCRIPTIONS_COUNT_MAX);
	imap_subscriptions_free(&names, n);
	buf_init(&out, IMAP_SUBSCRIPTIONS_SIZE_MAX + 4096);
	/* Full: one more is refused, one already there is no change. */
	UNIT_CHECK(imap_subscriptions_update(big.data, big.len, "new", true,
					     &out, &changed, &error) < 0);
	UNIT_CHECK(out.len == 0);
	UNIT_CHECK(imap_subscriptions_update(big.data, big.len, "f7", true,
					     &out, &changed, &error) == 0);
	UNIT_CHECK(!changed);
	unit_put(&big, "f-extra\n");
	UNIT_CHECK(imap_subscriptions_parse(big.data, big.len, &names, &n,
					    &error) < 0);
	while (big.len <= IMAP_SUBSCRIPTIONS_SIZE_MAX)
		unit_put(&big, "%s", "x");
	UNIT_CHECK(imap_subscriptions_parse(big.data, big.len, &names, &n,
					    &error) < 0);
	buf_deinit(&big);
	buf_deinit(&out);
}

static void test_update(void)
{
	struct buf out;
	const char *error;
	bool changed;

	buf_init(&out, 65536);
	/* A new file is version 2, levels joined by TAB. */
	UNIT_CHECK(imap_subscriptions_update("", 0, "a.b.c", true, &out,
					     &changed, &error) == 0);
	UNIT_CHECK(changed);
	UNIT_STREQ(out.data, "V\t2\n\na\tb\tc\n");
	buf_reset(&out);
	UNIT_CHECK(imap_subscriptions_update(dovecot_v2, strlen(dovecot_v2),
					     "Sent", false, &out, &changed,
					     &error) == 0);
	UNIT_CHECK(changed);
	UNIT_STREQ(out.data, "V\t2\n\nDrafts\na\tb\tc\nEntw&APw-rfe\n");
	buf_reset(&out);
	UNIT_CHECK(imap_subscriptions_update(dovecot_v2, strlen(dovecot_v2),
					     "Nope", false, &out, &changed,
					     &error) == 0);
	UNIT_CHECK(!changed);
	buf_reset(&out);
	/* Unknown lines are kept; v1 stays v1. */
	UNIT_CHECK(imap_subscriptions_update("#shared/x\nSent", 14, "INBOX",
					     true, &out, &changed,
					     &error) == 0);
	UNIT_CHECK(changed);
	UNIT_STREQ(out.data, "#shared/x\nSent\nINBOX\n");
	buf_reset(&out);
	UNIT_CHECK(imap_subscriptions_update("inbox\n", 6, "INBOX", false,
					     &out, &changed, &error) == 0);
	UNIT_CHECK(changed && out.len == 0);
	/* A version 1 file must not turn into a version 2 one. */
	UNIT_CHECK(imap_subscriptions_update("V\t2\nx\n\ny\n", 10, "x", false,
					     &out, &changed, &error) == 0);
	UNIT_CHECK(changed);
	UNIT_STREQ(out.data, "\ny\n");
	buf_reset(&out);
	UNIT_CHECK(imap_subscriptions_update("", 0, "a..b", true, &out,
					     &changed, &error) < 0);
	UNIT_CHECK(imap_subscriptions_update("", 0, "a/b", true, &out,
					     &changed, &error) < 0);
	/* The maximum of out is respected, out unchanged. */
	struct buf small;
	buf_init(&small, 8);
	UNIT_CHECK(imap_subscriptions_update(dovecot_v2, strlen(dovecot_v2),
					     "X", true, &small, &changed,
					     &error) < 0);
	UNIT_CHECK(small.len == 0);
	buf_deinit(&small);
	buf_deinit(&out);
}

static void test_line_folder(void)
{
	struct buf out;

	buf_init(&out, 1024);
	UNIT_CHECK(imap_subscriptions_line_folder("a\tb", 3, 2, &out) == 0);
	UNIT_STREQ(out.data, "a.b");
	buf_reset(&out);
	UNIT_CHECK(imap_subscriptions_line_folder("a.b", 3, 1, &out) == 0);
	UNIT_STREQ(out.data, "a.b");
	buf_reset(&out);
	UNIT_CHECK(imap_subscriptions_line_folder("a\001", 2, 2, &out) < 0);
	UNIT_CHECK(imap_subscriptions_line_folder("a\0b", 3, 1, &out) < 0);
	UNIT_CHECK(imap_subscriptions_line_folder("\t", 1, 2, &out) < 0);
	UNIT_CHECK(out.len == 0);
	buf_deinit(&out);
}

int main(void)
{
	test_parse_v2();
	test_parse_odd();
	test_limits();
	test_update();
	test_line_folder();
	return unit_done();
}
