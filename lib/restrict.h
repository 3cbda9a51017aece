/* restrict: Postfix's smtpd restriction lists (smtpd_client_restrictions,
 * smtpd_helo_restrictions, smtpd_sender_restrictions,
 * smtpd_relay_restrictions, smtpd_recipient_restrictions), parsed once at
 * start and evaluated per request as Postfix does. Pure: no I/O. The
 * caller supplies the session's facts and every look-up (tables, DNS, "is
 * this domain ours", mynetworks) through struct restrict_ctx, and carries
 * out the side effects (HOLD, DISCARD, PREPEND, WARN) it is told about.
 * Mail layer.
 *
 * Evaluation of one list: the restrictions in order; the first that
 * answers PERMIT, REJECT or DEFER ends the list; DUNNO goes on to the next
 * one; a list that runs out answers DUNNO. Replies are Postfix's: code,
 * RFC 3463 enhanced status and text, e.g.
 *   554 5.7.1 <u@example.com>: Relay access denied
 *   504 5.5.2 <u>: Sender address rejected: need fully-qualified address
 *
 * DEFER_IF_PERMIT and DEFER_IF_REJECT (access(5) actions, and a DNS
 * look-up that failed temporarily) are remembered in the result and
 * decided by restrict_eval_all at the end of the whole request, as
 * Postfix does. A restriction name not in restrict_check.c's table is
 * an error at parse time. */
#ifndef SUREL_RESTRICT_H
#define SUREL_RESTRICT_H
#include <stdbool.h>
#include <stddef.h>

/* The most restrictions in one list, the longest reply. */
#define RESTRICT_LIST_MAX 64
#define RESTRICT_REPLY_MAX 512
/* The most addresses one DNSBL answer is checked for. */
#define RESTRICT_DNS_ADDR_MAX 16

enum restrict_stage {
	RESTRICT_CLIENT,	/* smtpd_client_restrictions */
	RESTRICT_HELO,		/* smtpd_helo_restrictions */
	RESTRICT_SENDER,	/* smtpd_sender_restrictions */
	RESTRICT_RELAY,		/* smtpd_relay_restrictions */
	RESTRICT_RECIPIENT,	/* smtpd_recipient_restrictions */
	RESTRICT_STAGE_COUNT
};

enum restrict_verdict {
	RESTRICT_DUNNO = 0,	/* no decision: the next list */
	RESTRICT_PERMIT,
	RESTRICT_REJECT,	/* 5xx reply */
	RESTRICT_DEFER,		/* 4xx reply */
};

/* Side effects of access(5) actions, reported through ctx->note. */
enum restrict_note {
	RESTRICT_NOTE_HOLD,	/* put the message on hold; text: reason */
	RESTRICT_NOTE_DISCARD,	/* accept and drop it; text: reason */
	RESTRICT_NOTE_PREPEND,	/* text: a header "Name: value" to add */
	RESTRICT_NOTE_WARN,	/* text: what to log as "warning" */
	RESTRICT_NOTE_INFO,	/* text: what to log as "info" */
	/* After the message is queued, the recipients are replaced by
	 * text (user@domain; overrides FILTER). The last one wins. */
	RESTRICT_NOTE_REDIRECT,
	/* One more recipient, text (user@domain). The last one wins. */
	RESTRICT_NOTE_BCC,
	/* Every recipient goes through text ("transport:destination",
	 * transport(5) syntax). The last one wins. */
	RESTRICT_NOTE_FILTER,
};

enum restrict_dns {
	RESTRICT_DNS_FOUND,
	RESTRICT_DNS_NOTFOUND,	/* NXDOMAIN, or no record of the type */
	RESTRICT_DNS_NULLMX,	/* domain look-up: a null MX (RFC 7505) */
	RESTRICT_DNS_TEMPFAIL,
};

/* What the caller knows and can look up. Strings may be NULL where the
 * session has not got that far (helo before HELO, sender before MAIL). */
struct restrict_ctx {
	const char *client_addr;	/* "192.0.2.1", "2001:db8::1" */
	const char *client_name;	/* "unknown" without reverse DNS */
	const char *helo;
	const char *sender;		/* "" for the null sender */
	const char *recipient;		/* qualified: local@domain */
	const char *sasl_username;	/* NULL: not authenticated */
	const char *recipient_delimiter;	/* "+", or NULL/"" */
	void *cb_ctx;			/* passed to every callback */
	/* The client is in mynetworks. */
	bool (*in_mynetworks)(void *cb_ctx, const char *addr);
	/* We are the final destination of domain: 1 yes, 0 no, -1 look-up
	 * failure. */
	int (*domain_is_local)(void *cb_ctx, const char *domain);
	/* Looks key up in a table opened by open_table: 1 found (*value_r
	 * valid until the next look-up), 0 not, -1 temporary failure. */
	int (*table_lookup)(void *cb_ctx, void *table, const char *key,
			    const char **value_r);
	/* Does domain have an MX, or (no MX) an A or AAAA record? */
	enum restrict_dns (*dns_domain)(void *cb_ctx, const char *domain);
	/* The A records of name, as text, at most max of them. */
	enum restrict_dns (*dns_a)(void *cb_ctx, const char *name,
				   char (*addrs)[16], size_t max,
				   size_t *count_r);
	/* The TXT record of name (character-strings joined, at most
	 * size - 1 octets, NUL-terminated; the caller may cut it). May be
	 * NULL: no TXT look-ups. */
	enum restrict_dns (*dns_txt)(void *cb_ctx, const char *name,
				     char *text, size_t size);
	/* The client's host name from reverse DNS: verified false, the
	 * first PTR name; true, that name only when its forward look-up
	 * (A or AAAA) gives the client address back (NOTFOUND otherwise).
	 * *name_r is valid until the next call. May be NULL: unknown. */
	enum restrict_dns (*client_hostname)(void *cb_ctx, bool verified,
					     const char **name_r);
	/* The reply template of a DNSBL zone (rbl_reply_maps, else
	 * default_rbl_reply; valid until the next call), or NULL for
	 * Postfix's default. May be NULL. See restrict_dns.c for the
	 * attributes. */
	const char *(*rbl_reply)(void *cb_ctx, const char *zone);
	/* The login names that own sender (smtpd_sender_login_maps: the
	 * address, then "@domain"): 1 with *owners_r (names separated by
	 * commas or white space; valid until the next call), 0 unlisted,
	 * -1 temporary failure. NULL: no map, nobody is listed. */
	int (*sender_owners)(void *cb_ctx, const char *sender,
			     const char **owners_r);
	/* A side effect to carry out (text valid during the call). May be
	 * NULL: then the notes are dropped. */
	void (*note)(void *cb_ctx, enum restrict_note note, const char *text);
};

struct restrict_result {
	enum restrict_verdict verdict;
	/* REJECT, DEFER: "554 5.7.1 <a@b.example>: Relay access denied". */
	char reply[RESTRICT_REPLY_MAX];
	/* For logs: what decided, e.g. "reject_unauth_destination". */
	const char *by;
	/* DEFER_IF_PERMIT, DEFER_IF_REJECT met so far (the first of each
	 * wins), as the reply to give: "450 4.7.1 <a@b>: ...", or "". */
	char defer_if_permit[RESTRICT_REPLY_MAX];
	char defer_if_reject[RESTRICT_REPLY_MAX];
};

/* Opens the table of a check_*_access restriction ("hash:/etc/x"):
 * returns a handle, or NULL with *error_r. close_table frees it. */
struct restrict_tables {
	void *(*open_table)(void *ctx, const char *spec, const char **error_r);
	void (*close_table)(void *ctx, void *table);
	void *ctx;
};

struct restrict_list;

/* Parses the value of parameter (its name, for errors) for stage: words
 * separated by commas and/or white space ("{ ... }" keeps an inline:
 * table one word); check_*_access and reject_rbl_client take the next
 * word as argument; a bare "type:name" word is the stage's own
 * check_*_access (as in Postfix). Every restriction is allowed in every
 * list: smtpd evaluates them all at RCPT (smtpd_delay_reject = yes), and
 * one whose fact is missing (no HELO yet) answers DUNNO. An unknown
 * name, a missing argument, unbalanced braces or more than
 * RESTRICT_LIST_MAX entries is -1 with *error_r (valid until the next
 * call) naming the parameter and the word. tables may be NULL: then
 * check_*_access is refused. */
int restrict_parse(const char *parameter, enum restrict_stage stage,
		   const char *value, const struct restrict_tables *tables,
		   struct restrict_list **list_r, const char **error_r)
	__attribute__((warn_unused_result));
/* Closes the list's tables; accepts NULL and sets *list to NULL. */
void restrict_list_free(struct restrict_list **list);

/* Evaluates list (NULL: an empty list) for ctx. Always fills *result
 * (the defer_if_* fields included: this list's alone). */
void restrict_eval(const struct restrict_list *list,
		   const struct restrict_ctx *ctx,
		   struct restrict_result *result);

/* Evaluates a whole request: the lists (indexed by stage, NULL entries
 * empty) in stage order; the first REJECT or DEFER ends it, a PERMIT
 * ends only its own list. Then, as Postfix: a REJECT after a
 * DEFER_IF_REJECT becomes that deferral (by "defer_if_reject"); an end
 * in an explicit or implicit permit after a DEFER_IF_PERMIT becomes
 * that deferral (by "defer_if_permit"). Always fills *result. */
void restrict_eval_all(const struct restrict_list *const lists[],
		       const struct restrict_ctx *ctx,
		       struct restrict_result *result);

/* Parses an access(5) table value for the stage's reply class into
 * *result (the recipient or sender in the reply text comes from ctx).
 * Returns the verdict; unknown actions, and REDIRECT/BCC without a
 * user@domain or FILTER without a transport:destination, are a 451
 * 4.3.5 server configuration error (RESTRICT_DEFER, a WARN note) with
 * by = "access". */
enum restrict_verdict restrict_access_value(const char *value,
					    enum restrict_stage stage,
					    const struct restrict_ctx *ctx,
					    struct restrict_result *result);

/* True when the lists (indexed by stage, NULL entries are empty) let an
 * unauthenticated client outside mynetworks send to a domain that is not
 * ours: no list holds reject_unauth_destination,
 * defer_unauth_destination, reject or defer before an unconditional
 * permit. Conditional restrictions (permit_mynetworks,
 * permit_sasl_authenticated, table look-ups, DNS checks) are the
 * operator's deliberate exceptions and do not count either way. smtpd refuses to start on such a configuration
 * unless smtpd_allow_open_relay = yes. */
bool restrict_open_relay(const struct restrict_list *const lists[]);

/* The parameter name of a stage ("smtpd_client_restrictions"). */
const char *restrict_stage_parameter(enum restrict_stage stage);

#endif
