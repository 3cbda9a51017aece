/* dmarc: policy discovery, alignment and the policy of RFC 7489 with
 * libopendmarc parsing the record; see dmarc.h for what is ours and what
 * is the library's, and why. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <opendmarc/dmarc.h>
#include "addr.h"
#include "dmarc.h"
#include "mem.h"
#include "str.h"

/* Exported by libopendmarc (its milter uses it) but left out of its
 * header: the organizational domain by the loaded public suffix list,
 * "" when no rule of the list matches. */
int opendmarc_get_tld(u_char *domain, u_char *tld, size_t tld_len);

struct dmarc_checker {
	dmarc_lookup_fn *lookup;
	void *context;
};

/* libopendmarc's state is global: initialised once per process. */
static bool library_ready;

static const char *const result_names[] = {
	[DMARC_RESULT_NONE] = "none", [DMARC_RESULT_PASS] = "pass",
	[DMARC_RESULT_FAIL] = "fail", [DMARC_RESULT_TEMPERROR] = "temperror",
	[DMARC_RESULT_PERMERROR] = "permerror",
};

static const char *const policy_names[] = {
	[DMARC_POLICY_UNSET] = "", [DMARC_P_NONE] = "none",
	[DMARC_P_QUARANTINE] = "quarantine", [DMARC_P_REJECT] = "reject",
};

const char *dmarc_result_name(enum dmarc_result result)
{
	return (unsigned)result < sizeof(result_names) / sizeof(*result_names)
		       ? result_names[result] : "permerror";
}

const char *dmarc_policy_name(enum dmarc_policy policy)
{
	return (unsigned)policy < sizeof(policy_names) / sizeof(*policy_names)
		       ? policy_names[policy] : "";
}

/* ---- the records of a name ---- */

bool dmarc_record_is_dmarc(const char *p, size_t len)
{
	const char *end = p + len;

	if (p == end || (*p != 'v' && *p != 'V'))
		return false;
	for (p++; p < end && (*p == ' ' || *p == '\t'); p++)
		;
	if (p == end || *p++ != '=')
		return false;
	for (; p < end && (*p == ' ' || *p == '\t'); p++)
		;
	/* %x44 %x4d %x41 %x52 %x43 %x31: case-sensitive */
	if (end - p < 6 || memcmp(p, "DMARC1", 6) != 0)
		return false;
	for (p += 6; p < end && (*p == ' ' || *p == '\t'); p++)
		;
	return p == end || *p == ';';
}

void dmarc_txt_add(struct dmarc_txt *txt, const char *data, size_t len)
{
	if (!dmarc_record_is_dmarc(data, len))
		return;
	if (txt->dmarc_count++ > 0)
		return;
	/* A NUL inside ends the copy: what follows cannot be a tag of a
	 * well-formed record, and libopendmarc reads C strings. */
	if (len > DMARC_RECORD_MAX) {
		txt->too_long = true;
		return;
	}
	memcpy(txt->record, data, len);
	txt->record[len] = '\0';
}

/* ---- organizational domains and alignment ---- */

int dmarc_org_domain(const char *domain, char org_r[DMARC_DOMAIN_MAX + 1])
{
	char name[DMARC_DOMAIN_MAX + 1];
	u_char tld[DMARC_MAXHOSTNAMELEN + 1];
	const char *error;
	size_t n = strlen(domain);

	if (n > 0 && domain[n - 1] == '.')
		n--;
	if (n == 0 || n > DMARC_DOMAIN_MAX ||
	    addr_check_domain(domain, n, 0, &error) < 0)
		return -1;
	memcpy(name, domain, n);
	name[n] = '\0';
	str_lower(name);
	memset(tld, 0, sizeof(tld));
	if (opendmarc_get_tld((u_char *)name, tld, sizeof(tld) - 1) != 0)
		return -1;
	if (tld[0] != '\0' && strlen((char *)tld) <= n) {
		memcpy(org_r, tld, strlen((char *)tld) + 1);
		return 0;
	}
	/* No rule matched: the list's default "*" makes the last label the
	 * public suffix, so the last two are the organizational domain. */
	char *last = strrchr(name, '.');
	char *start = name;
	if (last != NULL) {
		for (char *q = last - 1; q > name; q--)
			if (*q == '.') {
				start = q + 1;
				break;
			}
	}
	memcpy(org_r, start, strlen(start) + 1);
	return 0;
}

/* RFC 7489 3.1.1/3.1.2: strict is the same name, relaxed the same
 * organizational domain. */
static bool aligned(const char *from, const char *other, int mode)
{
	char a[DMARC_DOMAIN_MAX + 1], b[DMARC_DOMAIN_MAX + 1];

	if (other == NULL || *other == '\0')
		return false;
	if (strcasecmp(from, other) == 0)
		return true;
	if (mode == DMARC_RECORD_A_STRICT)
		return false;
	return dmarc_org_domain(from, a) == 0 &&
	       dmarc_org_domain(other, b) == 0 && strcmp(a, b) == 0;
}

/* ---- the checker ---- */

int dmarc_checker_new(const char *psl_path, dmarc_lookup_fn *lookup,
		      void *context, struct dmarc_checker **checker_r,
		      const char **error_r)
{
	if (!library_ready) {
		OPENDMARC_LIB_T lib;
		FILE *f = fopen(psl_path, "r");

		if (f == NULL) {
			*error_r = "cannot read the public suffix list";
			return -1;
		}
		fclose(f);
		memset(&lib, 0, sizeof(lib));
		lib.tld_type = OPENDMARC_TLD_TYPE_MOZILLA;
		if (strlen(psl_path) >= sizeof(lib.tld_source_file)) {
			*error_r = "public suffix list path too long";
			return -1;
		}
		memcpy(lib.tld_source_file, psl_path, strlen(psl_path) + 1);
		if (opendmarc_policy_library_init(&lib) != DMARC_PARSE_OKAY) {
			*error_r = "libopendmarc initialisation failed";
			return -1;
		}
		library_ready = true;
	}
	struct dmarc_checker *c = xcalloc(1, sizeof(*c));
	c->lookup = lookup;
	c->context = context;
	*checker_r = c;
	return 0;
}

void dmarc_checker_free(struct dmarc_checker **checker)
{
	xfree(checker);
}

static void verdict_set(struct dmarc_verdict *v, enum dmarc_result result,
			const char *reason)
{
	v->result = result;
	snprintf(v->reason, sizeof(v->reason), "%s", reason);
}

/* RFC 7489 6.6.3 for one name: 1 found (*txt holds it), 0 none, -1
 * done (a verdict is set). */
static int discover_one(struct dmarc_checker *c, const char *domain,
			struct dmarc_txt *txt, struct dmarc_verdict *v)
{
	char name[DMARC_DOMAIN_MAX + 16];

	memset(txt, 0, sizeof(*txt));
	snprintf(name, sizeof(name), "_dmarc.%s", domain);
	switch (c->lookup(c->context, name, txt)) {
	case DMARC_LOOKUP_TEMPFAIL:
		verdict_set(v, DMARC_RESULT_TEMPERROR, "DNS failure");
		return -1;
	case DMARC_LOOKUP_NOTFOUND:
		return 0;
	case DMARC_LOOKUP_FOUND:
		break;
	}
	if (txt->dmarc_count > 1) {
		verdict_set(v, DMARC_RESULT_PERMERROR,
			    "several DMARC records");
		return -1;
	}
	if (txt->too_long) {
		verdict_set(v, DMARC_RESULT_PERMERROR,
			    "DMARC record too long");
		return -1;
	}
	return txt->dmarc_count == 1 ? 1 : 0;
}

/* The record for v->domain, or the organizational domain's (*org_r then
 * set). 1 found, -1 done. */
static int discover(struct dmarc_checker *c, struct dmarc_txt *txt,
		    struct dmarc_verdict *v, char org_r[DMARC_DOMAIN_MAX + 1])
{
	int ret = discover_one(c, v->domain, txt, v);

	org_r[0] = '\0';
	if (ret != 0)
		return ret;
	if (dmarc_org_domain(v->domain, org_r) == 0 &&
	    strcmp(org_r, v->domain) != 0 &&
	    (ret = discover_one(c, org_r, txt, v)) != 0)
		return ret;
	org_r[0] = '\0';
	verdict_set(v, DMARC_RESULT_NONE, "no DMARC record");
	return -1;
}

static enum dmarc_policy policy_of(int status)
{
	switch (status) {
	case DMARC_POLICY_REJECT:
		return DMARC_P_REJECT;
	case DMARC_POLICY_QUARANTINE:
		return DMARC_P_QUARANTINE;
	case DMARC_POLICY_NONE:
		return DMARC_P_NONE;
	default:
		return DMARC_POLICY_UNSET;
	}
}

/* Aligns the identifiers and gives libopendmarc the aligned passes
 * (under the From: domain: see dmarc.h); true when one of the aligned
 * identifiers had a temporary error. */
static bool store_results(DMARC_POLICY_T *pctx, const struct dmarc_input *in,
			  struct dmarc_verdict *v)
{
	int adkim = 0, aspf = 0;
	bool temp = false;
	const char *selector = NULL;
	u_char *from = (u_char *)v->domain;

	(void)opendmarc_policy_fetch_adkim(pctx, &adkim);
	(void)opendmarc_policy_fetch_aspf(pctx, &aspf);
	if (in->spf != DMARC_AUTH_NONE &&
	    aligned(v->domain, in->spf_domain, aspf)) {
		v->spf_aligned = in->spf == DMARC_AUTH_PASS;
		temp = in->spf == DMARC_AUTH_TEMPERROR;
	}
	for (size_t i = 0; i < in->dkim_count && i < DMARC_DKIM_MAX; i++) {
		if (!aligned(v->domain, in->dkim[i].domain, adkim))
			continue;
		temp |= in->dkim[i].result == DMARC_AUTH_TEMPERROR;
		if (in->dkim[i].result != DMARC_AUTH_PASS || v->dkim_aligned)
			continue;
		v->dkim_aligned = true;
		selector = in->dkim[i].selector;
	}
	if (v->spf_aligned)
		(void)opendmarc_policy_store_spf(
			pctx, from, DMARC_POLICY_SPF_OUTCOME_PASS,
			DMARC_POLICY_SPF_ORIGIN_MAILFROM, NULL);
	if (v->dkim_aligned)
		(void)opendmarc_policy_store_dkim(
			pctx, from, (u_char *)(selector != NULL ? selector : ""),
			DMARC_POLICY_DKIM_OUTCOME_PASS, NULL);
	return temp;
}

/* libopendmarc's part: the record's tags, then the policy. */
static int apply_record(const struct dmarc_input *in, const char *record,
			const char *org, struct dmarc_verdict *v,
			const char **error_r)
{
	const char *ip = in->client_addr != NULL ? in->client_addr : "";
	DMARC_POLICY_T *pctx = opendmarc_policy_connect_init(
		(u_char *)ip, strchr(ip, ':') != NULL ?
		DMARC_POLICY_IP_TYPE_IPV6 : DMARC_POLICY_IP_TYPE_IPV4);
	int status, pct = -1;

	if (pctx == NULL) {
		*error_r = "libopendmarc: out of memory";
		return -1;
	}
	status = opendmarc_policy_store_from_domain(pctx, (u_char *)v->domain);
	if (status == DMARC_PARSE_OKAY)
		status = opendmarc_policy_store_dmarc(
			pctx, (u_char *)record, (u_char *)v->domain,
			*org != '\0' ? (u_char *)org : NULL);
	if (status != DMARC_PARSE_OKAY) {
		snprintf(v->reason, sizeof(v->reason), "bad DMARC record: %s",
			 opendmarc_policy_status_to_str(status));
		v->result = DMARC_RESULT_PERMERROR;
		opendmarc_policy_connect_shutdown(pctx);
		return 0;
	}
	bool temp = store_results(pctx, in, v);
	(void)opendmarc_policy_fetch_pct(pctx, &pct);
	v->pct = pct < 0 || pct > 100 ? 100 : pct;
	status = opendmarc_get_policy_to_enforce(pctx);
	opendmarc_policy_connect_shutdown(pctx);
	if (status == DMARC_POLICY_PASS) {
		verdict_set(v, DMARC_RESULT_PASS, "");
		return 0;
	}
	v->policy = policy_of(status);
	if (v->policy == DMARC_POLICY_UNSET) {
		verdict_set(v, DMARC_RESULT_PERMERROR, "no policy");
		return 0;
	}
	if (temp) {
		/* A sender's DNS trouble must not get its mail refused. */
		v->policy = DMARC_POLICY_UNSET;
		verdict_set(v, DMARC_RESULT_TEMPERROR,
			    "aligned identifier temporary error");
		return 0;
	}
	verdict_set(v, DMARC_RESULT_FAIL, "no aligned pass");
	v->disposition = v->policy;
	if (in->sample >= (unsigned)v->pct)
		v->disposition = v->policy == DMARC_P_REJECT ?
				 DMARC_P_QUARANTINE : DMARC_P_NONE;
	return 0;
}

int dmarc_evaluate(struct dmarc_checker *c, const struct dmarc_input *in,
		   struct dmarc_verdict *v, const char **error_r)
{
	char org[DMARC_DOMAIN_MAX + 1];
	struct dmarc_txt *txt;
	int ret = 0;

	memset(v, 0, sizeof(*v));
	v->pct = 100;
	if (in->from_domain != NULL)
		snprintf(v->domain, sizeof(v->domain), "%s", in->from_domain);
	str_lower(v->domain);
	if (in->from_error != NULL) {
		verdict_set(v, DMARC_RESULT_PERMERROR, in->from_error);
		return 0;
	}
	if (v->domain[0] == '\0') {
		verdict_set(v, DMARC_RESULT_NONE, "no From domain");
		return 0;
	}
	txt = xmalloc(sizeof(*txt));
	if (discover(c, txt, v, org) == 1)
		ret = apply_record(in, txt->record, org, v, error_r);
	free(txt);
	return ret;
}
