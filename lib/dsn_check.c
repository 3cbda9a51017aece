/* dsn_check: what lib/dsn accepts before composing anything: the
 * NOTIFY and RET values of the envelope, whether a notice may be sent at
 * all, and the checks of every field a caller passes in (so that nothing
 * a remote server or a client chose can break the notice's structure or
 * inject a header). Also the table of actions, shared with dsn.c. */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "dsn.h"
#include "dsn_impl.h"
#include "utf8.h"

#define HOST_MAX 255

const struct dsn_action_info dsn_actions[DSN_ACTION_COUNT] = {
	[DSN_ACTION_FAILED] = { "failed", DSN_KIND_FAILURE, "45",
				"delivery failed" },
	[DSN_ACTION_DELAYED] = { "delayed", DSN_KIND_DELAY, "4",
				 "delivery is delayed" },
	[DSN_ACTION_DELIVERED] = { "delivered", DSN_KIND_SUCCESS, "2",
				   "delivered" },
	[DSN_ACTION_RELAYED] = { "relayed", DSN_KIND_SUCCESS, "2",
				 "relayed to a system without delivery "
				 "reports" },
	[DSN_ACTION_EXPANDED] = { "expanded", DSN_KIND_SUCCESS, "2",
				  "expanded to the members of an alias or "
				  "list" },
	[DSN_ACTION_DELIVERABLE] = { "deliverable", DSN_KIND_VERIFY, "2",
				     "deliverable" },
	[DSN_ACTION_UNDELIVERABLE] = { "undeliverable", DSN_KIND_VERIFY,
				       "45", "no reason given" },
};

static const struct {
	const char *word;
	unsigned bit;
} notify_words[] = {
	{ "SUCCESS", SMTP_NOTIFY_SUCCESS },
	{ "FAILURE", SMTP_NOTIFY_FAILURE },
	{ "DELAY", SMTP_NOTIFY_DELAY },
	{ "NEVER", SMTP_NOTIFY_NEVER },
};

static const unsigned kind_notify_bit[DSN_KIND_COUNT] = {
	[DSN_KIND_FAILURE] = SMTP_NOTIFY_FAILURE,
	[DSN_KIND_DELAY] = SMTP_NOTIFY_DELAY,
	[DSN_KIND_SUCCESS] = SMTP_NOTIFY_SUCCESS,
};

const char *dsn_action_name(enum dsn_action action)
{
	return (unsigned)action < DSN_ACTION_COUNT ?
		dsn_actions[action].name : "unknown";
}

int dsn_notify_parse(const char *s, unsigned *notify_r, const char **error_r)
{
	unsigned bits = 0;

	*notify_r = 0;
	if (s == NULL || *s == '\0' || strcmp(s, "-") == 0)
		return 0;
	for (const char *p = s;; p++) {
		size_t len = strcspn(p, ","), i;
		for (i = 0; i < sizeof(notify_words) / sizeof(notify_words[0]);
		     i++) {
			if (strlen(notify_words[i].word) == len &&
			    strncasecmp(p, notify_words[i].word, len) == 0)
				break;
		}
		if (i == sizeof(notify_words) / sizeof(notify_words[0])) {
			*error_r = len == 0 ? "empty NOTIFY element"
					    : "unknown NOTIFY keyword";
			return -1;
		}
		bits |= notify_words[i].bit;
		p += len;
		if (*p == '\0')
			break;
	}
	if ((bits & SMTP_NOTIFY_NEVER) != 0 && bits != SMTP_NOTIFY_NEVER) {
		*error_r = "NOTIFY=NEVER combined with other keywords";
		return -1;
	}
	*notify_r = bits;
	return 0;
}

bool dsn_notify_allows(enum dsn_kind kind, const char *sender,
		       unsigned notify)
{
	if ((unsigned)kind >= DSN_KIND_COUNT || sender == NULL ||
	    *sender == '\0' || strcmp(sender, "<>") == 0)
		return false;
	/* Asked for by the sender (sendmail -bv), not a notification. */
	if (kind == DSN_KIND_VERIFY)
		return true;
	if ((notify & SMTP_NOTIFY_NEVER) != 0)
		return false;
	if (notify == 0)	/* RFC 3461 4.1: as if FAILURE,DELAY */
		return kind != DSN_KIND_SUCCESS;
	return (notify & kind_notify_bit[kind]) != 0;
}

int dsn_ret_parse(const char *s, enum smtp_ret *ret_r)
{
	if (s == NULL)
		*ret_r = SMTP_RET_NONE;
	else if (strcasecmp(s, "FULL") == 0)
		*ret_r = SMTP_RET_FULL;
	else if (strcasecmp(s, "HDRS") == 0)
		*ret_r = SMTP_RET_HDRS;
	else
		return -1;
	return 0;
}

/* ---- checks and cleaning ---- */

bool dsn_all_of(const char *s, size_t max, const char *extra)
{
	size_t len = strlen(s);

	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!(ch >= 'a' && ch <= 'z') && !(ch >= 'A' && ch <= 'Z') &&
		    !(ch >= '0' && ch <= '9') && strchr(extra, ch) == NULL)
			return false;
	}
	return true;
}

static bool host_ok(const char *s)
{
	return s != NULL && dsn_all_of(s, HOST_MAX, ".-_:[]");
}

/* RFC 3463: class "." subject "." detail, 1-3 digits without leading
 * zeros, the class among those the action allows. */
static bool status_ok(const char *s, const char *classes)
{
	if (s == NULL || s[0] == '\0' || strchr(classes, s[0]) == NULL ||
	    s[1] != '.')
		return false;
	s += 2;
	for (int part = 0; part < 2; part++) {
		size_t n = strspn(s, "0123456789");
		if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
			return false;
		s += n;
		if (*s != (part == 0 ? '.' : '\0'))
			return false;
		s++;
	}
	return true;
}

/* An address fit for a header: 1..DSN_ADDR_MAX octets, no controls,
 * valid UTF-8. Returns 1 if it holds non-ASCII, 0 if not, -1 if bad. */
int dsn_addr_check(const char *s)
{
	size_t len = s != NULL ? strlen(s) : 0;
	int wide = 0;

	if (len == 0 || len > DSN_ADDR_MAX || !utf8_valid(s, len))
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 || ch == 0x7f)
			return -1;
		if (ch >= 0x80)
			wide = 1;
	}
	return wide;
}


/* ---- checks of the input ---- */

const char *dsn_check_rcpt(const struct dsn_notice *n,
			   const struct dsn_rcpt *r, bool *wide)
{
	int a = dsn_addr_check(r->address);

	if (a < 0)
		return "bad recipient address";
	if (r->orig_rcpt != NULL && dsn_addr_check(r->orig_rcpt) < 0)
		return "bad original recipient address";
	if ((unsigned)r->action >= DSN_ACTION_COUNT ||
	    dsn_actions[r->action].kind != n->kind)
		return "action does not fit the kind of notice";
	if (!status_ok(r->status, dsn_actions[r->action].classes))
		return "bad status code for the action";
	if (r->remote_mta != NULL && !host_ok(r->remote_mta))
		return "bad remote MTA name";
	if (r->in_reply_to != NULL && !dsn_all_of(r->in_reply_to, 32, " "))
		return "bad in_reply_to command";
	if ((unsigned)r->diag_type > DSN_DIAG_LOCAL)
		return "bad diagnostic type";
	if (r->via != NULL && (r->action != DSN_ACTION_DELIVERABLE ||
			       !dsn_all_of(r->via, 32, "_-")))
		return "bad transport name";
	*wide = *wide || a == 1 ||
		(r->orig_rcpt != NULL && dsn_addr_check(r->orig_rcpt) == 1);
	return NULL;
}

/* NULL when the notice can be composed, else why not. */
const char *dsn_check_notice(const struct dsn_notice *n, bool *wide)
{
	int a;

	if ((unsigned)n->kind >= DSN_KIND_COUNT)
		return "bad kind of notice";
	if (n->sender == NULL || n->sender[0] == '\0' ||
	    strcmp(n->sender, "<>") == 0)
		return "no notice to the null sender";
	if ((a = dsn_addr_check(n->sender)) < 0)
		return "bad sender address";
	*wide = a == 1;
	if (!host_ok(n->myhostname))
		return "bad myhostname";
	if (n->token == NULL || !dsn_all_of(n->token, DSN_TOKEN_MAX, "._-"))
		return "bad Message-ID token";
	if (n->queue_id != NULL && !dsn_all_of(n->queue_id, 64, "._-"))
		return "bad queue id";
	if ((n->client_name != NULL && !host_ok(n->client_name)) ||
	    (n->client_address != NULL &&
	     (n->client_name == NULL ||
	      !dsn_all_of(n->client_address, 64, ".:"))))
		return "bad client name or address";
	if (n->content == NULL && n->content_len != 0)
		return "content length without content";
	if (n->rcpts == NULL || n->rcpt_count == 0)
		return "no recipients";
	if (n->rcpt_count > DSN_RCPT_MAX)
		return "too many recipients for one notice";
	return NULL;
}
