/* restrict_impl: what restrict.c (lists), restrict_check.c (the
 * restrictions) and restrict_access.c (access(5) tables and values)
 * share. Not part of the interface. */
#ifndef SUREL_RESTRICT_IMPL_H
#define SUREL_RESTRICT_IMPL_H
#include "restrict.h"

/* Whose name and class a reply carries. */
enum restrict_subject {
	RESTRICT_SUBJ_CLIENT,
	RESTRICT_SUBJ_HELO,
	RESTRICT_SUBJ_SENDER,
	RESTRICT_SUBJ_RECIPIENT,
};

/* What a restriction means for restrict_open_relay. */
enum restrict_relay_kind {
	RESTRICT_RELAY_NEUTRAL,	/* conditional: does not count */
	RESTRICT_RELAY_STOP,	/* stops a foreign recipient */
	RESTRICT_RELAY_PERMIT,	/* lets everything through */
};

struct restrict_entry;
typedef enum restrict_verdict restrict_check_fn(
	const struct restrict_entry *e, const struct restrict_ctx *ctx,
	enum restrict_subject stage_subject, struct restrict_result *r);

struct restrict_def {
	const char *name;
	bool has_arg;
	restrict_check_fn *check;
	enum restrict_relay_kind relay;
	enum restrict_subject subject;	/* of check_*_access */
};

struct restrict_entry {
	const struct restrict_def *def;
	char *arg;		/* table spec or DNSBL zone */
	char *filter;		/* reject_rbl_client zone=filter */
	void *table;
};

/* The restrictions' table (restrict_check.c) and its size. */
extern const struct restrict_def restrict_defs[];
extern const size_t restrict_defs_count;

/* The subject of a stage's own replies (relay: the recipient). */
enum restrict_subject restrict_stage_subject(enum restrict_stage stage);
/* "<name>" text of a subject: the client "name[addr]", the HELO name,
 * the sender ("" for <>), the recipient; "" when unknown. */
const char *restrict_subject_name(const struct restrict_ctx *ctx,
				  enum restrict_subject subject,
				  char *buf, size_t size);
/* "Client host", "Helo command", "Sender address", "Recipient address". */
const char *restrict_subject_class(enum restrict_subject subject);

/* Sets r's verdict, by and reply (formatted; control characters become
 * '?', and a reply too long is cut: it is the operator's text). Returns
 * the verdict. */
enum restrict_verdict restrict_set(struct restrict_result *r,
				   enum restrict_verdict v, const char *by,
				   const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Replaces control characters (DEL included) with '?'. */
void restrict_sanitize(char *text);
/* Records a DEFER_IF_PERMIT (permit) or DEFER_IF_REJECT reply in r
 * unless one is already there; restrict_eval_all decides at the end. */
void restrict_defer_if(struct restrict_result *r, bool permit,
		       const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* check_*_access: looks the subject up in e->table in Postfix's key
 * order and applies the first value found. */
enum restrict_verdict restrict_access_check(const struct restrict_entry *e,
					    const struct restrict_ctx *ctx,
					    enum restrict_subject subject,
					    struct restrict_result *r);

/* restrict_login.c: reject_sender_login_mismatch and its variants. */
restrict_check_fn restrict_login_both, restrict_login_auth,
	restrict_login_unauth, restrict_login_known;

/* restrict_template.c: one attribute of a reply template. */
struct restrict_template_attr {
	const char *name;	/* "rbl_code" */
	const char *value;	/* NULL: empty */
};
/* Expands tmpl into out (size octets, NUL-terminated): $name, ${name},
 * ${name?text} (text, itself expanded, when the value is not empty),
 * ${name:text} (when it is), $$. An unknown name, an unclosed brace,
 * nesting past 2 levels or an out too small is -1 with *error_r
 * (static). */
int restrict_template_expand(const char *tmpl,
			     const struct restrict_template_attr *attrs,
			     size_t count, char *out, size_t size,
			     const char **error_r);

/* restrict_dns.c: DNSBL and reverse/forward DNS restrictions. */
restrict_check_fn restrict_dns_rbl_client, restrict_dns_rhsbl_client,
	restrict_dns_rhsbl_reverse_client, restrict_dns_rhsbl_helo,
	restrict_dns_rhsbl_sender, restrict_dns_rhsbl_recipient,
	restrict_dns_unknown_client, restrict_dns_unknown_reverse,
	restrict_dns_unknown_helo;

#endif
