#include "config.h"
#include <string.h>
#include "header_qualify.h"
#include "unit.h"

static const char *q(struct buf *b, const char *hdr)
{
	buf_reset(b);
	UNIT_CHECK(header_qualify(b, hdr, strlen(hdr), "example.test") == 0);
	return buf_cstr(b);
}

int main(void)
{
	struct buf b;

	buf_init(&b, 1 << 16);
	UNIT_STREQ(q(&b, "To: carol\n"), "To: carol@example.test\n");
	/* names, comments, brackets, folding and groups stay as written */
	UNIT_STREQ(q(&b, "From: \"Root, the\" <root> (cron)\n"
		     "Cc: a,\n b@else.test, Bob (x) <bob>\n"),
		   "From: \"Root, the\" <root@example.test> (cron)\n"
		   "Cc: a@example.test,\n b@else.test, Bob (x) "
		   "<bob@example.test>\n");
	UNIT_STREQ(q(&b, "To: friends: ann, ben;, carl\n"),
		   "To: friends: ann@example.test, ben@example.test;, "
		   "carl@example.test\n");
	UNIT_STREQ(q(&b, "to : carol (comment)\n"),
		   "to : carol@example.test (comment)\n");
	UNIT_STREQ(q(&b, "Resent-To: x\nReply-To: \"q uoted\"\n"),
		   "Resent-To: x@example.test\nReply-To: \"q uoted\"@example.test\n");
	/* other fields, qualified addresses, non-addresses: untouched */
	static const char *const same[] = {
		"Subject: carol\n", "X-To: carol\n", "To: carol@else.test\n",
		"To: undisclosed-recipients:;\n", "To: two words\n",
		"To: <>\n", "To: a <b\n", "To:\n", "Received: from x by y\n",
		"To: last line without LF",
	};
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		UNIT_STREQ(q(&b, same[i]), same[i]);
	/* a whole section: only the address fields change */
	UNIT_STREQ(q(&b, "Subject: hi\nTo: carol\nX-Mailer: m\n"),
		   "Subject: hi\nTo: carol@example.test\nX-Mailer: m\n");
	/* no domain: nothing to append */
	buf_reset(&b);
	UNIT_CHECK(header_qualify(&b, "To: carol\n", 10, "") == 0);
	UNIT_STREQ(buf_cstr(&b), "To: carol\n");
	/* a full buffer is an error */
	struct buf small;
	buf_init(&small, 12);
	UNIT_CHECK(header_qualify(&small, "To: carol\n", 10, "example.test")
		   < 0);
	buf_deinit(&small);
	buf_deinit(&b);
	return unit_done();
}
