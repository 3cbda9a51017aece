/* spf: the SPF check of RFC 7208 (check_host() of the MAIL FROM
 * identity, or of postmaster@HELO for the null sender, RFC 7208 2.4) and
 * the Received-SPF header of its result (RFC 7208 9.1).
 *
 * The evaluation is libspf2's (record syntax, macros, the mechanisms, the
 * limit of 10 DNS-querying terms, 10 MX and PTR names); the DNS is ours:
 * a libspf2 DNS layer (spf_dns.c) answers TXT, A, AAAA, MX and PTR
 * look-ups from a lookup function, by default dns_lookup() over surel's
 * resolver (lib/dns.h, the dns_resolver parameter), so that the operator's
 * (or a test's) name server is the one asked. The layer also enforces
 * what libspf2 1.2 predates: the limit of 2 void look-ups (RFC 7208
 * 4.6.4: a third A, AAAA or MX look-up answered NXDOMAIN or without
 * records makes the result permerror), and a time limit on one whole
 * check (SPF_CHECK_TIMEOUT_MS: past it every look-up fails temporarily,
 * so the result is temperror). A look-up that fails temporarily
 * (time-out, SERVFAIL) gives temperror.
 *
 * The DNS-querying terms (include, a, mx, ptr, exists, redirect) are
 * counted in the layer too: libspf2 1.2 counts them per record, not over
 * the includes, so a chain of 20 includes would pass; past 10 the result
 * is permerror. (The exp= look-up of a fail counts as one: a fail after
 * exactly 10 terms with exp= is reported permerror.)
 *
 * libspf2's query_mailfrom gives loopback clients (127.0.0.0/8, ::1) a
 * free pass; RFC 7208 has no such rule, so spf.c runs its two steps (get
 * the record, interpret it) itself, for every client alike.
 *
 * One checker serves one check at a time (one smtpd process serves one
 * client). Libraries' rules: 0/-1 with *error_r, no logging. */
#ifndef SUREL_SPF_H
#define SUREL_SPF_H
#include <stdbool.h>
#include <stddef.h>
#include "dns.h"

/* The time one check may take in all, DNS included. */
#define SPF_CHECK_TIMEOUT_MS 20000
/* RFC 7208 4.6.4: void look-ups allowed in one check. */
#define SPF_VOID_LOOKUP_MAX 2
/* Longest explanation or reason kept (a fail's exp= text is the
 * sender's and may be long). */
#define SPF_REASON_MAX 512

/* RFC 7208 2.6 results (libspf2 has its own SPF_RESULT_* names). */
enum spf_res {
	SPF_RES_NONE = 0,
	SPF_RES_NEUTRAL,
	SPF_RES_PASS,
	SPF_RES_FAIL,
	SPF_RES_SOFTFAIL,
	SPF_RES_TEMPERROR,
	SPF_RES_PERMERROR,
};

/* Answers one look-up as dns_lookup() does (sets *answer_r, returns its
 * status). For tests: a zone in memory. */
typedef enum dns_status spf_lookup_fn(void *ctx, const char *name,
				      enum dns_type type,
				      struct dns_answer **answer_r,
				      const char **error_r);

struct spf_checker;

/* receiver: this host's name for the header (myhostname). lookup NULL:
 * dns_lookup() over resolver (borrowed, must outlive the checker); else
 * lookup(ctx, ...) and resolver is unused. NULL with *error_r when
 * libspf2 cannot be set up. */
struct spf_checker *spf_checker_new(const char *receiver,
				    struct dns_resolver *resolver,
				    spf_lookup_fn *lookup, void *ctx,
				    const char **error_r);
void spf_checker_free(struct spf_checker **checker);

/* The outcome of one check; owns its strings. */
struct spf_check {
	enum spf_res result;
	/* The identity checked was the HELO name (null sender), not the
	 * MAIL FROM address. */
	bool helo_identity;
	/* The domain whose policy was evaluated (lower case), "" when there
	 * was none to check (null sender, HELO an address literal). */
	char *domain;
	/* Why: the fail explanation (exp=, or a default naming the
	 * client), or the error of a temperror or permerror; never NULL,
	 * at most SPF_REASON_MAX bytes, printable ASCII. */
	char *reason;
	/* "Received-SPF: pass (receiver: ...) client-ip=...; ..." folded
	 * with "\n\t", no final newline. */
	char *header;
};

/* Checks sender ("" for the null sender, else local@domain) sent by
 * client_ip (numeric IPv4 or IPv6) who said HELO/EHLO helo. Returns 0 and
 * fills *check_r (free with spf_check_free); -1 with *error_r only for a
 * client_ip that is not an address. DNS trouble is a result (temperror),
 * not an error. */
int spf_check(struct spf_checker *checker, const char *client_ip,
	      const char *helo, const char *sender, struct spf_check *check_r,
	      const char **error_r);
void spf_check_free(struct spf_check *check);

/* "pass", "fail", ... (RFC 7208 2.6, lower case). */
const char *spf_res_name(enum spf_res result);

/* The Received-SPF header of a result, as spf_check builds it: exposed
 * for tests. Values that are not dot-atoms are written as quoted-strings;
 * the comment's parentheses and backslashes are escaped; control
 * characters become '?'. Returns an xmalloc'd string. */
char *spf_header_format(enum spf_res result, const char *receiver,
			const char *client_ip, const char *helo,
			const char *sender, bool helo_identity,
			const char *domain, const char *reason);

#endif
