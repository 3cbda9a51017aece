/* spf_dns: the libspf2 DNS layer that answers from surel's resolver (or a
 * test's lookup function), counts void look-ups and keeps the check's
 * time limit. See spf.h for the contract, spf_impl.h for the glue. */
#include "config.h"
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <spf2/spf.h>
#include <spf2/spf_dns.h>
#include <spf2/spf_dns_rr.h>
#include "spf_impl.h"
#include "timeutil.h"

/* libspf2 keeps an answer's TTL; ours are used once. */
#define SPF_DNS_TTL 0

static enum dns_status lookup_default(void *ctx, const char *name,
				      enum dns_type type,
				      struct dns_answer **answer_r,
				      const char **error_r)
{
	return dns_lookup(ctx, name, type, answer_r, error_r);
}

/* Our type for libspf2's; 0 for one we do not serve. */
static enum dns_type type_of(ns_type t)
{
	static const struct { ns_type ns; enum dns_type ours; } map[] = {
		{ ns_t_a, DNS_TYPE_A }, { ns_t_aaaa, DNS_TYPE_AAAA },
		{ ns_t_mx, DNS_TYPE_MX }, { ns_t_txt, DNS_TYPE_TXT },
		{ ns_t_ptr, DNS_TYPE_PTR },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].ns == t)
			return map[i].ours;
	return 0;
}

/* netdb's h_errno values, which libspf2 reads. */
static int herrno_of(enum dns_status st)
{
	switch (st) {
	case DNS_OK:
		return NETDB_SUCCESS;
	case DNS_NXDOMAIN:
	case DNS_FAIL:
		return HOST_NOT_FOUND;
	case DNS_NODATA:
		return NO_DATA;
	case DNS_TEMPFAIL:
		break;
	}
	return TRY_AGAIN;
}

/* A TXT record. libspf2 reads C strings: a NUL ends the text early,
 * which can only spoil that record. A record that is not an SPF record
 * can only be used as an explanation (exp=), whose spaces libspf2 1.2
 * mangles ("a b %{d}" expands to "a%b%{d}"): they go as the macro "%_"
 * (RFC 7208 7.3: a space), which it expands right. */
static int copy_txt(SPF_dns_rr_t *rr, int i, const char *text, size_t len)
{
	bool spf = len >= 6 && strncasecmp(text, "v=spf1", 6) == 0;
	size_t spaces = 0;

	len = strnlen(text, len);
	for (size_t k = 0; !spf && k < len; k++)
		spaces += text[k] == ' ';
	if (SPF_dns_rr_buf_realloc(rr, i, len + spaces + 1) != SPF_E_SUCCESS)
		return -1;
	char *out = (char *)rr->rr[i];
	for (size_t k = 0; k < len; k++) {
		if (!spf && text[k] == ' ')
			*out++ = '%', *out++ = '_';
		else
			*out++ = text[k];
	}
	*out = '\0';
	return 0;
}

/* Copies one record into slot i of rr; 0 or -1 (out of memory). */
static int copy_rr(SPF_dns_rr_t *rr, int i, const struct dns_rr *src,
		   enum dns_type type)
{
	const void *data;
	size_t len;

	switch (type) {
	case DNS_TYPE_A:
		data = &src->in4, len = sizeof(src->in4);
		break;
	case DNS_TYPE_AAAA:
		data = &src->in6, len = sizeof(src->in6);
		break;
	case DNS_TYPE_TXT:
		return copy_txt(rr, i, (const char *)src->data, src->data_len);
	default:		/* MX, PTR: the target */
		data = src->target, len = strlen(src->target);
		break;
	}
	bool text = type != DNS_TYPE_A && type != DNS_TYPE_AAAA;
	if (SPF_dns_rr_buf_realloc(rr, i, len + (text ? 1 : 0)) !=
	    SPF_E_SUCCESS)
		return -1;
	memcpy(rr->rr[i], data, len);
	if (text)
		((char *)rr->rr[i])[len] = '\0';
	return 0;
}

/* RFC 7208 4.6.4: the answers to mechanism look-ups (a, mx, exists and
 * the A/AAAA of MX hosts) that are empty count as void. TXT (the records
 * themselves) and PTR (ptr, %{p}) are left out: a missing record of an
 * include or redirect is a permerror of its own, and libspf2's PTR
 * validation is not a term the RFC counts. */
static void count_void(struct spf_checker *c, enum dns_type type,
		       enum dns_status st)
{
	if ((st == DNS_NXDOMAIN || st == DNS_NODATA) &&
	    (type == DNS_TYPE_A || type == DNS_TYPE_AAAA ||
	     type == DNS_TYPE_MX))
		c->void_lookups++;
}

void spf_dns_begin(struct spf_checker *c)
{
	c->deadline_ms = time_mono_ms() + SPF_CHECK_TIMEOUT_MS;
	c->lookups = c->terms = c->void_lookups = 0;
	c->timed_out = c->dns_failed = false;
	c->dns_error[0] = '\0';
	c->hosts_len = 0;
}

/* name is one of the last MX or PTR answer's names. */
static bool is_host(const struct spf_checker *c, const char *name)
{
	size_t len = strlen(name);

	if (len > 0 && name[len - 1] == '.')
		len--;
	for (size_t at = 0; at < c->hosts_len;) {
		const char *h = c->hosts + at;
		size_t hlen = strlen(h);
		if (hlen == len && strncasecmp(h, name, len) == 0)
			return true;
		at += hlen + 1;
	}
	return false;
}

/* Keeps the names of an MX or PTR answer (as many as fit; libspf2 looks
 * at 10 at most, and 11 names of the longest length fit). */
static void keep_hosts(struct spf_checker *c, const struct dns_answer *a)
{
	c->hosts_len = 0;
	for (size_t i = 0; a != NULL && i < a->count; i++) {
		size_t len = strlen(a->rrs[i].target) + 1;
		if (c->hosts_len + len > sizeof(c->hosts))
			break;
		memcpy(c->hosts + c->hosts_len, a->rrs[i].target, len);
		c->hosts_len += len;
	}
}

/* Counts the look-up against RFC 7208 4.6.4's 10 terms. Not a term:
 * the first TXT (the domain's own record) and the addresses of the names
 * an MX or PTR term returned. */
static void count_term(struct spf_checker *c, enum dns_type type,
		       const char *name)
{
	if (type == DNS_TYPE_TXT && c->lookups == 1)
		return;
	if ((type == DNS_TYPE_A || type == DNS_TYPE_AAAA) && is_host(c, name))
		return;
	c->terms++;
}

static SPF_dns_rr_t *layer_lookup(SPF_dns_server_t *layer,
				  const char *domain, ns_type ns_type,
				  int should_cache)
{
	struct spf_checker *c = layer->hook;
	enum dns_type type = type_of(ns_type);
	struct dns_answer *answer = NULL;
	const char *error;
	enum dns_status st;

	(void)should_cache;
	if (type == 0)
		return SPF_dns_rr_new_init(layer, domain, ns_type,
					   SPF_DNS_TTL, NO_DATA);
	c->lookups++;
	count_term(c, type, domain);
	if (c->dns_failed) {
		/* RFC 7208 5: the check ends at the first DNS error. */
		st = DNS_TEMPFAIL;
	} else if (time_mono_ms() >= c->deadline_ms) {
		c->timed_out = true;
		st = DNS_TEMPFAIL;
	} else if (c->terms > SPF_TERM_MAX ||
		   c->void_lookups > SPF_VOID_LOOKUP_MAX) {
		/* A limit is passed: the result will be permerror, asking
		 * more would only send queries where the record says. */
		st = DNS_NXDOMAIN;
	} else {
		st = c->lookup(c->lookup_ctx, domain, type, &answer, &error);
		count_void(c, type, st);
		if (st == DNS_TEMPFAIL)
			spf_note_error(c, error);
		if (type == DNS_TYPE_MX || type == DNS_TYPE_PTR)
			keep_hosts(c, st == DNS_OK ? answer : NULL);
	}
	SPF_dns_rr_t *rr = SPF_dns_rr_new_init(layer, domain, ns_type,
					       SPF_DNS_TTL, herrno_of(st));
	if (rr != NULL && st == DNS_OK) {
		for (size_t i = 0; i < answer->count && i < INT32_MAX; i++) {
			if (copy_rr(rr, (int)i, &answer->rrs[i], type) < 0)
				break;
			rr->num_rr = (int)i + 1;
		}
	}
	dns_answer_free(&answer);
	return rr;
}

SPF_dns_server_t *spf_dns_layer_new(struct spf_checker *c,
				    struct dns_resolver *resolver,
				    spf_lookup_fn *lookup, void *ctx)
{
	SPF_dns_server_t *layer = calloc(1, sizeof(*layer));

	if (layer == NULL)
		return NULL;
	/* No destroy: libspf2 leaves the layer to us (spf_checker_free). */
	layer->lookup = layer_lookup;
	layer->name = "surel";
	layer->hook = c;
	c->lookup = lookup != NULL ? lookup : lookup_default;
	c->lookup_ctx = lookup != NULL ? ctx : (void *)resolver;
	return layer;
}
