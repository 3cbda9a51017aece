#include "config.h"
#include <string.h>
#include "restrict.h"
#include "unit.h"

/* alice owns alice@a.test and all of @b.test; "fail@" fails. */
static int owners(void *cb, const char *sender, const char **owners_r)
{
	(void)cb;
	if (strncmp(sender, "fail@", 5) == 0)
		return -1;
	if (strcmp(sender, "alice@a.test") == 0 ||
	    strstr(sender, "@b.test") != NULL) {
		*owners_r = "root, alice";
		return 1;
	}
	return 0;
}

/* The verdict of restriction for sender, logged in as login (NULL:
 * not); the reply into reply. */
static enum restrict_verdict eval(const char *restriction, const char *sender,
				  const char *login, char *reply)
{
	struct restrict_list *list;
	struct restrict_result r;
	const char *error;
	struct restrict_ctx ctx = {
		.client_addr = "192.0.2.9", .client_name = "unknown",
		.sender = sender, .recipient = "x@c.test",
		.sasl_username = login, .sender_owners = owners,
	};

	UNIT_CHECK(restrict_parse("smtpd_sender_restrictions",
				  RESTRICT_SENDER, restriction, NULL, &list,
				  &error) == 0);
	restrict_eval(list, &ctx, &r);
	strcpy(reply, r.verdict == RESTRICT_DUNNO ? "" : r.reply);
	restrict_list_free(&list);
	return r.verdict;
}

int main(void)
{
	static const struct {
		const char *restriction, *sender, *login;
		enum restrict_verdict want;
		const char *reply;	/* NULL: not checked */
	} cases[] = {
		{ "reject_sender_login_mismatch", "alice@a.test", "alice",
		  RESTRICT_DUNNO, NULL },
		{ "reject_sender_login_mismatch", "alice@a.test", "ALICE",
		  RESTRICT_DUNNO, NULL },	/* login names: any case */
		{ "reject_sender_login_mismatch", "x@b.test", "root",
		  RESTRICT_DUNNO, NULL },
		{ "reject_sender_login_mismatch", "alice@a.test", "bob",
		  RESTRICT_REJECT, "553 5.7.1 <alice@a.test>: Sender address "
		  "rejected: not owned by user bob" },
		{ "reject_sender_login_mismatch", "free@c.test", "bob",
		  RESTRICT_REJECT, NULL },
		{ "reject_sender_login_mismatch", "alice@a.test", NULL,
		  RESTRICT_REJECT, "553 5.7.1 <alice@a.test>: Sender address "
		  "rejected: not logged in" },
		{ "reject_sender_login_mismatch", "free@c.test", NULL,
		  RESTRICT_DUNNO, NULL },
		{ "reject_sender_login_mismatch", "", NULL, RESTRICT_DUNNO,
		  NULL },
		{ "reject_sender_login_mismatch", "fail@a.test", "bob",
		  RESTRICT_DEFER, "451 4.3.0 <fail@a.test>: Sender address "
		  "rejected: Server configuration error" },
		/* authenticated only */
		{ "reject_authenticated_sender_login_mismatch", "alice@a.test",
		  NULL, RESTRICT_DUNNO, NULL },
		{ "reject_authenticated_sender_login_mismatch", "free@c.test",
		  "bob", RESTRICT_REJECT, NULL },
		/* unauthenticated only */
		{ "reject_unauthenticated_sender_login_mismatch", "alice@a.test",
		  "bob", RESTRICT_DUNNO, NULL },
		{ "reject_unauthenticated_sender_login_mismatch", "alice@a.test",
		  NULL, RESTRICT_REJECT, NULL },
		/* known: an unlisted sender is fine for a logged-in user */
		{ "reject_known_sender_login_mismatch", "free@c.test", "bob",
		  RESTRICT_DUNNO, NULL },
		{ "reject_known_sender_login_mismatch", "alice@a.test", "bob",
		  RESTRICT_REJECT, NULL },
		{ "reject_known_sender_login_mismatch", "alice@a.test", NULL,
		  RESTRICT_REJECT, NULL },
	};
	char reply[RESTRICT_REPLY_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CHECK(eval(cases[i].restriction, cases[i].sender,
				cases[i].login, reply) == cases[i].want);
		if (cases[i].reply != NULL)
			UNIT_STREQ(reply, cases[i].reply);
	}
	return unit_done();
}
