/* smtpd_dmarc: DKIM verification (lib/dkim_verify) of the content as it
 * streams in, and DMARC (lib/dmarc) at the end of DATA/BDAT, before the
 * commit, so that a p=reject failure is refused in the session (a bounce
 * later would be backscatter). The verdicts go into the queue file as
 * late attributes, which local turns into Authentication-Results:
 *   dkim       the number of signatures (0: dkim=none);
 *   dkim_N     N = 1..: "RESULT D S B REASON" ("-" for an empty field;
 *              D, S and B hold no space or control);
 *   dmarc      the result; dmarc_from (header.from), dmarc_policy and
 *              dmarc_dis (the policy in force and what was done: none,
 *              or reject in the log only), dmarc_reason.
 *
 * Checked are the clients SPF checks: not authenticated, not in
 * mynetworks. smtpd_dkim_verify = no leaves DKIM out (DMARC then has SPF
 * only); smtpd_dmarc_policy says what DMARC does:
 *   off     no evaluation;
 *   tag     (default) the verdict is recorded, the message accepted;
 *   reject  the same, and a fail whose disposition after pct= sampling
 *           is reject is answered "550 5.7.1" and not queued. A
 *           quarantine disposition (also p=reject sampled out) is only
 *           tagged: the user's filters see dmarc=fail. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "conf.h"
#include "dkim.h"
#include "dmarc.h"
#include "dns.h"
#include "log.h"
#include "mem.h"
#include "smtpd.h"

#define DMARC_DNS_TIMEOUT_MS 5000
#define DMARC_DNS_ATTEMPTS 2
#define DMARC_ATTR_MAX 512	/* one dkim_N value */

enum dmarc_mode { MODE_OFF, MODE_TAG, MODE_REJECT };

static const char *const mode_names[] = {
	[MODE_OFF] = "off", [MODE_TAG] = "tag", [MODE_REJECT] = "reject",
};

static enum dmarc_mode mode;
static bool dkim_enabled;
static struct dns_resolver *resolver;
static struct dkim_verifier *verifier;
static struct dmarc_checker *checker;

/* One message's state. */
struct smtpd_dmarc {
	struct dkim_verifying *verifying;	/* NULL: not verifying */
	const char *dkim_error;			/* feed failed */
	struct buf headers;			/* the header section */
	bool headers_done, line_start;
};

/* The first TXT record (RFC 6376 3.6.2.2 lets the verifier pick one).
 * One holding a NUL is given cut there: libopendkim finds it malformed. */
static enum dkim_lookup_status key_lookup(void *context, const char *name,
					  char *txt, size_t txt_size)
{
	struct dns_answer *answer;
	const char *error;
	enum dkim_lookup_status ret = DKIM_LOOKUP_NOTFOUND;

	(void)context;
	switch (dns_lookup(resolver, name, DNS_TYPE_TXT, &answer, &error)) {
	case DNS_OK:
		if (answer->count == 0)
			break;
		snprintf(txt, txt_size, "%.*s",
			 (int)(answer->rrs[0].data_len < txt_size ?
			       answer->rrs[0].data_len : txt_size - 1),
			 (const char *)answer->rrs[0].data);
		ret = DKIM_LOOKUP_FOUND;
		break;
	case DNS_TEMPFAIL:
		ret = DKIM_LOOKUP_TEMPFAIL;
		break;
	default:
		break;
	}
	dns_answer_free(&answer);
	return ret;
}

static enum dmarc_lookup_status dmarc_lookup(void *context, const char *name,
					     struct dmarc_txt *txt)
{
	struct dns_answer *answer;
	const char *error;
	enum dmarc_lookup_status ret = DMARC_LOOKUP_NOTFOUND;

	(void)context;
	switch (dns_lookup(resolver, name, DNS_TYPE_TXT, &answer, &error)) {
	case DNS_OK:
		for (size_t i = 0; i < answer->count; i++)
			dmarc_txt_add(txt, (const char *)answer->rrs[i].data,
				      answer->rrs[i].data_len);
		ret = DMARC_LOOKUP_FOUND;
		break;
	case DNS_TEMPFAIL:
		ret = DMARC_LOOKUP_TEMPFAIL;
		break;
	default:
		break;
	}
	dns_answer_free(&answer);
	return ret;
}

void smtpd_dmarc_init(void)
{
	const char *value = conf_str("smtpd_dmarc_policy"), *error;
	size_t i;

	for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (strcmp(value, mode_names[i]) == 0)
			break;
	if (i == sizeof(mode_names) / sizeof(mode_names[0]))
		fatal("smtpd_dmarc_policy = %s: expected off, tag or reject",
		      value);
	mode = (enum dmarc_mode)i;
	dkim_enabled = conf_bool("smtpd_dkim_verify");
	if (mode == MODE_OFF && !dkim_enabled)
		return;
	resolver = dns_resolver_new(conf_str("dns_resolver"),
				    DMARC_DNS_TIMEOUT_MS, DMARC_DNS_ATTEMPTS,
				    &error);
	if (resolver == NULL)
		fatal("dns_resolver: %s", error);
	if (dkim_enabled &&
	    dkim_verifier_new(key_lookup, NULL, &verifier, &error) < 0)
		fatal("DKIM: %s", error);
	if (mode != MODE_OFF &&
	    dmarc_checker_new(conf_str("dmarc_public_suffix_list"),
			      dmarc_lookup, NULL, &checker, &error) < 0)
		fatal("DMARC: %s: %s", conf_str("dmarc_public_suffix_list"),
		      error);
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
}

static bool checked(const struct smtpd_session *s)
{
	return (mode != MODE_OFF || dkim_enabled) && !smtpd_client_is_ours(s);
}

static struct smtpd_dmarc *state(struct smtpd_session *s)
{
	struct smtpd_txn *t = &s->txn;
	const char *error;

	if (t->dmarc != NULL)
		return t->dmarc;
	t->dmarc = xcalloc(1, sizeof(*t->dmarc));
	buf_init(&t->dmarc->headers, DKIM_HEADER_SECTION_MAX);
	t->dmarc->line_start = true;
	if (dkim_enabled && dkim_verifying_begin(verifier,
						 queue_writer_id(t->writer),
						 &t->dmarc->verifying,
						 &error) < 0)
		t->dmarc->dkim_error = error;
	return t->dmarc;
}

/* Keeps the header section (for From:), up to its empty line. */
static void keep_headers(struct smtpd_dmarc *d, const char *data, size_t len)
{
	size_t n = 0;

	for (; n < len && !d->headers_done; n++) {
		if (d->line_start && data[n] == '\n')
			d->headers_done = true;
		d->line_start = data[n] == '\n';
	}
	if (buf_append(&d->headers, data, n) < 0)
		d->headers_done = true;	/* past the bound: From: is in */
}

void smtpd_dmarc_feed(struct smtpd_session *s, const char *data, size_t len)
{
	if (!checked(s))
		return;
	struct smtpd_dmarc *d = state(s);
	const char *error;

	if (!d->headers_done)
		keep_headers(d, data, len);
	if (d->verifying != NULL && d->dkim_error == NULL &&
	    dkim_verifying_feed(d->verifying, data, len, &error) < 0)
		d->dkim_error = error;
}

void smtpd_dmarc_reset(struct smtpd_txn *t)
{
	if (t->dmarc == NULL)
		return;
	dkim_verifying_abort(&t->dmarc->verifying);
	buf_deinit(&t->dmarc->headers);
	xfree(&t->dmarc);
}

/* A d=, s= or b= value for the dkim_N attribute: "-" when empty or
 * holding what would break the space-separated fields. */
static const char *word(const char *s)
{
	if (*s == '\0')
		return "-";
	for (const char *p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return "-";
	return s;
}

/* The DKIM results: a failed verification is one temperror (logged). */
static size_t dkim_results(const char *id, struct smtpd_dmarc *d,
			   struct dkim_verify_sig sigs[DKIM_VERIFY_SIGS_MAX])
{
	const char *error = d->dkim_error;
	size_t count = 0;

	if (error == NULL && dkim_verifying_end(&d->verifying, sigs, &count,
						&error) == 0)
		return count;
	log_warn("%s: DKIM verification: %s", id, error);
	memset(&sigs[0], 0, sizeof(sigs[0]));
	sigs[0].result = DKIM_VERIFY_TEMPERROR;
	snprintf(sigs[0].reason, sizeof(sigs[0].reason),
		 "verification failed");
	return 1;
}

static int write_dkim(struct queue_writer *w,
		      const struct dkim_verify_sig *sigs, size_t count,
		      const char **error_r)
{
	char name[32], value[DMARC_ATTR_MAX];

	snprintf(value, sizeof(value), "%zu", count);
	if (queue_writer_late_attr(w, "dkim", value, error_r) < 0)
		return -1;
	for (size_t i = 0; i < count; i++) {
		const struct dkim_verify_sig *g = &sigs[i];
		snprintf(name, sizeof(name), "dkim_%zu", i + 1);
		snprintf(value, sizeof(value), "%s %s %s %s %s",
			 dkim_verify_result_name(g->result), word(g->domain),
			 word(g->selector), word(g->b),
			 *g->reason != '\0' ? g->reason : "-");
		if (queue_writer_late_attr(w, name, value, error_r) < 0)
			return -1;
	}
	return 0;
}

static enum dmarc_auth auth_of_spf(enum spf_res r)
{
	return r == SPF_RES_PASS ? DMARC_AUTH_PASS :
	       r == SPF_RES_TEMPERROR ? DMARC_AUTH_TEMPERROR :
	       r == SPF_RES_NONE ? DMARC_AUTH_NONE : DMARC_AUTH_FAIL;
}

static enum dmarc_auth auth_of_dkim(enum dkim_verify_result r)
{
	return r == DKIM_VERIFY_PASS ? DMARC_AUTH_PASS :
	       r == DKIM_VERIFY_TEMPERROR ? DMARC_AUTH_TEMPERROR :
					    DMARC_AUTH_FAIL;
}

static void evaluate(struct smtpd_session *s, struct smtpd_dmarc *d,
		     const struct dkim_verify_sig *sigs, size_t count,
		     struct dmarc_verdict *v)
{
	char from[DMARC_DOMAIN_MAX + 1];
	const char *from_error = NULL, *error;
	struct dmarc_input in = { .client_addr = s->client_addr,
				  .sample = (unsigned)(random() % 100) };
	const struct spf_check *spf = s->txn.spf;

	if (dmarc_from_domain(d->headers.data, d->headers.len, from,
			      &from_error) < 0 && *from == '\0' &&
	    strcmp(from_error, DMARC_FROM_NONE) == 0)
		from_error = NULL;	/* nothing to evaluate: none */
	in.from_domain = from;
	in.from_error = from_error;
	if (spf != NULL && !spf->helo_identity) {
		in.spf = auth_of_spf(spf->result);
		in.spf_domain = spf->domain;
	}
	for (size_t i = 0; i < count && i < DMARC_DKIM_MAX; i++) {
		in.dkim[i].result = auth_of_dkim(sigs[i].result);
		in.dkim[i].domain = sigs[i].domain;
		in.dkim[i].selector = sigs[i].selector;
		in.dkim_count++;
	}
	if (dmarc_evaluate(checker, &in, v, &error) < 0) {
		memset(v, 0, sizeof(*v));
		v->result = DMARC_RESULT_TEMPERROR;
		snprintf(v->reason, sizeof(v->reason), "%s", error);
	}
}

static int write_dmarc(struct queue_writer *w, const struct dmarc_verdict *v,
		       const char **error_r)
{
	const char *names[] = { "dmarc", "dmarc_from", "dmarc_policy",
				"dmarc_dis", "dmarc_reason" };
	const char *values[] = {
		dmarc_result_name(v->result), v->domain,
		dmarc_policy_name(v->policy),
		v->policy != DMARC_POLICY_UNSET ? "none" : "", v->reason,
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (*values[i] != '\0' &&
		    queue_writer_late_attr(w, names[i], values[i],
					   error_r) < 0)
			return -1;
	return 0;
}

static void log_verdict(const char *id, const struct dmarc_verdict *v,
			bool reject)
{
	const char *dis = reject ? "reject" : "none";

	if (v->policy != DMARC_POLICY_UNSET)
		log_info("%s: dmarc: %s (p=%s dis=%s) header.from=%s", id,
			 dmarc_result_name(v->result),
			 dmarc_policy_name(v->policy), dis, v->domain);
	else
		log_info("%s: dmarc: %s%s%s%s header.from=%s", id,
			 dmarc_result_name(v->result),
			 *v->reason != '\0' ? " (" : "", v->reason,
			 *v->reason != '\0' ? ")" : "",
			 *v->domain != '\0' ? v->domain : "-");
}

int smtpd_dmarc_end(struct smtpd_session *s, const char *id, char *reply,
		    size_t size)
{
	struct dkim_verify_sig sigs[DKIM_VERIFY_SIGS_MAX];
	struct dmarc_verdict v;
	const char *error;
	size_t count = 0;
	int ret = 0;

	if (!checked(s))
		return 0;
	struct smtpd_dmarc *d = state(s);
	if (dkim_enabled)
		count = dkim_results(id, d, sigs);
	if (dkim_enabled &&
	    write_dkim(s->txn.writer, sigs, count, &error) < 0)
		goto write_failed;
	if (mode == MODE_OFF)
		goto out;
	evaluate(s, d, sigs, count, &v);
	bool reject = mode == MODE_REJECT && v.result == DMARC_RESULT_FAIL &&
		      v.disposition == DMARC_P_REJECT;
	log_verdict(id, &v, reject);
	if (reject) {
		snprintf(reply, size, "550 5.7.1 Error: rejected by DMARC "
			 "policy for %s", v.domain);
		ret = -1;
	} else if (write_dmarc(s->txn.writer, &v, &error) < 0) {
		goto write_failed;
	}
out:
	smtpd_dmarc_reset(&s->txn);
	return ret;
write_failed:
	log_warn("%s: %s", id, error);
	snprintf(reply, size, "451 4.3.0 Error: queue file write error");
	smtpd_dmarc_reset(&s->txn);
	return -1;
}
