/* dmarc: DMARC (RFC 7489) evaluation of a received message with
 * libopendmarc: the From: domain's policy record, SPF and DKIM results,
 * identifier alignment, and the disposition the record asks for.
 *
 * Policy discovery (RFC 7489 6.6.3) is ours: the TXT records at
 * _dmarc.<From domain> come from the caller's look-up function (the
 * server's resolver, never libopendmarc's own res_query); when there is
 * no DMARC record there, the organizational domain's is asked for. Of the
 * TXT records of a name, only those starting with the "v=DMARC1" tag
 * count (6.6.3 step 3: others are discarded); none is "no record", two or
 * more make the evaluation end (step 4). The one record is handed to
 * libopendmarc, which parses its tags.
 *
 * The organizational domain (RFC 7489 3.2) is found with the public
 * suffix list (libopendmarc reads it); a name under a suffix the list
 * does not know takes the list's default rule "*" (its last label is the
 * suffix). Alignment (3.1) is decided here on organizational domains
 * (relaxed) or exact names (strict): libopendmarc 1.4's own check lets
 * strict alignment pass on equal organizational domains and fails
 * relaxed alignment under a suffix missing from the list. Only the
 * aligned pass results are given to libopendmarc, which then picks the
 * policy (p=, or sp= when the record is the organizational domain's).
 *
 * Results (RFC 7489 11.2, RFC 8601 2.7.1 words):
 *   pass       an aligned SPF or DKIM pass;
 *   fail       a record applies and nothing aligned passed;
 *   none       no record (or no From: domain to look one up for);
 *   temperror  a look-up failed temporarily;
 *   permerror  several DMARC records, one too long or that libopendmarc
 *              refuses (bad v=, p= or sp= value, no p=: 6.6.3 step 6
 *              applies no policy; we report it), several From: fields,
 *              or one naming mailboxes of different domains (6.6.1).
 * Only fail has a policy and a disposition. */
#ifndef SUREL_DMARC_H
#define SUREL_DMARC_H
#include <stdbool.h>
#include <stddef.h>

#define DMARC_DOMAIN_MAX 253
#define DMARC_RECORD_MAX 2048	/* one DMARC record's TXT value, at most */
#define DMARC_DKIM_MAX 5	/* DKIM results looked at */

enum dmarc_result {
	DMARC_RESULT_NONE = 0,
	DMARC_RESULT_PASS,
	DMARC_RESULT_FAIL,
	DMARC_RESULT_TEMPERROR,
	DMARC_RESULT_PERMERROR,
};

/* p= / sp= and what to do with a failing message. */
enum dmarc_policy {
	DMARC_POLICY_UNSET = 0,		/* not fail: no policy applies */
	DMARC_P_NONE,
	DMARC_P_QUARANTINE,
	DMARC_P_REJECT,
};

/* The TXT records of one name, as the look-up hands them over. */
struct dmarc_txt {
	size_t dmarc_count;		/* records starting with v=DMARC1 */
	bool too_long;			/* the first is over DMARC_RECORD_MAX */
	char record[DMARC_RECORD_MAX + 1];	/* the first one */
};
/* Adds one TXT record (len octets, the character-strings joined). */
void dmarc_txt_add(struct dmarc_txt *txt, const char *data, size_t len);
/* Whether a TXT record starts with RFC 7489 6.4's version tag:
 * "v" *WSP "=" *WSP "DMARC1" *WSP, then ";" or the end. */
bool dmarc_record_is_dmarc(const char *data, size_t len);

enum dmarc_lookup_status {
	DMARC_LOOKUP_FOUND = 0,		/* the name's TXT records were added */
	DMARC_LOOKUP_NOTFOUND,		/* no such name, or no TXT record */
	DMARC_LOOKUP_TEMPFAIL,
};
/* name: "_dmarc.<domain>"; adds every TXT record with dmarc_txt_add. */
typedef enum dmarc_lookup_status dmarc_lookup_fn(void *context,
						 const char *name,
						 struct dmarc_txt *txt);

/* The identifiers' results, as the checks gave them. */
enum dmarc_auth { DMARC_AUTH_NONE = 0, DMARC_AUTH_PASS, DMARC_AUTH_FAIL,
		  DMARC_AUTH_TEMPERROR };

struct dmarc_input {
	/* From the From: header field (dmarc_from_domain): the domain, or
	 * "" when there is none; from_error: why it cannot be evaluated
	 * (several fields, several domains), or NULL. */
	const char *from_domain;
	const char *from_error;
	const char *client_addr;	/* numeric IPv4 or IPv6 */
	/* SPF: the result for the MAIL FROM domain (a HELO identity does
	 * not count for DMARC: RFC 7489 4.1). */
	enum dmarc_auth spf;
	const char *spf_domain;		/* "" or NULL: none */
	size_t dkim_count;
	struct {
		enum dmarc_auth result;
		const char *domain;	/* d= */
		const char *selector;	/* s=, or NULL */
	} dkim[DMARC_DKIM_MAX];
	/* A number 0..99 drawn by the caller: pct= sampling (RFC 7489
	 * 6.6.4) applies the policy when it is below pct. */
	unsigned sample;
};

struct dmarc_verdict {
	enum dmarc_result result;
	enum dmarc_policy policy;	/* p= or sp= in force; UNSET: none */
	/* What the record asks for this message after pct= sampling: the
	 * policy, or the next less strict one when sampled out. */
	enum dmarc_policy disposition;
	int pct;			/* 0..100 (100 when absent) */
	bool spf_aligned, dkim_aligned;
	char domain[DMARC_DOMAIN_MAX + 1];	/* header.from, "" if none */
	/* Why, in a few words for a comment or a log ("" for pass). */
	char reason[96];
};

struct dmarc_checker;
/* One per process: libopendmarc's library state and the public suffix
 * list at psl_path (read now; -1 with *error_r when unreadable). */
int dmarc_checker_new(const char *psl_path, dmarc_lookup_fn *lookup,
		      void *context, struct dmarc_checker **checker_r,
		      const char **error_r) __attribute__((warn_unused_result));
void dmarc_checker_free(struct dmarc_checker **checker);

/* Evaluates one message into *v. -1 with *error_r only when the
 * evaluation itself failed (memory, libopendmarc): a temporary error. */
int dmarc_evaluate(struct dmarc_checker *checker, const struct dmarc_input *in,
		   struct dmarc_verdict *v, const char **error_r)
	__attribute__((warn_unused_result));

/* The organizational domain of domain (lower case) into org_r; -1 when
 * domain is not a domain name. */
int dmarc_org_domain(const char *domain, char org_r[DMARC_DOMAIN_MAX + 1])
	__attribute__((warn_unused_result));

/* "pass", "fail", ... and "none", "quarantine", "reject". */
const char *dmarc_result_name(enum dmarc_result result);
const char *dmarc_policy_name(enum dmarc_policy policy);

/* dmarc_from_domain's error for a header section without From:. */
#define DMARC_FROM_NONE "no From: field"

/* The From: header field(s) of a header section (len octets, LF line
 * ends; more may follow): the domain of its mailboxes into domain_r
 * (lower case) and 0; or -1 with *error_r: no From: field (domain_r
 * ""), several From: fields, mailboxes of several domains, or no valid
 * domain (RFC 7489 6.6.1). */
int dmarc_from_domain(const char *headers, size_t len,
		      char domain_r[DMARC_DOMAIN_MAX + 1],
		      const char **error_r)
	__attribute__((warn_unused_result));

#endif
