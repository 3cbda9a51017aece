/* dns_mx: from a mail domain to the ordered list of addresses to try
 * (RFC 5321 section 5.1, RFC 7505 null MX), over dns_lookup. Decisions
 * where the RFCs leave room follow Postfix's smtp client: duplicate MX
 * hosts are dropped (the lowest preference kept), a numeric or malformed
 * MX target is skipped with a note, an alias as target is followed. */
#include "config.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "buf.h"
#include "dns_impl.h"
#include "mem.h"

/* Hosts resolved when the options say 0, and the most addresses ever
 * collected (before addr_limit), whatever the answers hold. */
#define DNS_MX_HOSTS_DEFAULT 20
#define DNS_MX_COLLECT_MAX 1000
#define DNS_MX_NOTES_MAX 2048

struct mx_build {
	struct dns_resolver *resolver;
	const struct dns_mx_options *o;
	struct dns_mx_result *res;
	const char *domain;
	size_t cap;
	struct buf notes;
	bool tempfail;		/* some host failed temporarily */
	char *last_error;	/* of the last host that failed */
};

static uint32_t mx_random(const struct dns_mx_options *o, uint32_t bound)
{
	if (o->random != NULL)
		return o->random(o->random_ctx, bound) % bound;
	return arc4random_uniform(bound);
}

static void note(struct mx_build *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void note(struct mx_build *b, const char *fmt, ...)
{
	va_list ap;
	size_t len = b->notes.len;

	/* Notes are remarks for the log: when they no longer fit, the
	 * later ones are left out whole. */
	if (len > 0 && buf_append_str(&b->notes, "; ") < 0)
		return;
	va_start(ap, fmt);
	if (buf_vprintf(&b->notes, fmt, ap) < 0)
		buf_truncate(&b->notes, len);
	va_end(ap);
}

static void failed(struct mx_build *b, const char *error)
{
	free(b->last_error);
	b->last_error = xstrdup(error);
}

static void addr_add(struct mx_build *b, const char *host, uint16_t pref,
		     const struct dns_rr *rr, bool authentic)
{
	struct dns_mx_addr *a;

	if (b->res->count == b->cap) {
		b->cap = b->cap == 0 ? 8 : b->cap * 2;
		b->res->addrs = xreallocarray(b->res->addrs, b->cap,
					      sizeof(*b->res->addrs));
	}
	a = &b->res->addrs[b->res->count++];
	memset(a, 0, sizeof(*a));
	a->host = xstrdup(host);
	a->preference = pref;
	a->authentic = authentic;
	if (rr->type == DNS_TYPE_A) {
		a->family = AF_INET;
		a->in4 = rr->in4;
		inet_ntop(AF_INET, &a->in4, a->text, sizeof(a->text));
	} else {
		a->family = AF_INET6;
		a->in6 = rr->in6;
		inet_ntop(AF_INET6, &a->in6, a->text, sizeof(a->text));
	}
}

/* Looks one type of address of host up; returns its status. */
static enum dns_status host_type(struct mx_build *b, const char *host,
				 uint16_t pref, enum dns_type type,
				 bool *alias_noted)
{
	struct dns_answer *ans;
	const char *error;
	enum dns_status st = dns_lookup(b->resolver, host, type, &ans, &error);

	if (st != DNS_OK) {
		failed(b, error);
		if (st == DNS_TEMPFAIL)
			note(b, "%s", error);
		dns_answer_free(&ans);
		return st;
	}
	if (strcmp(ans->cname, ans->qname) != 0 && !*alias_noted) {
		note(b, "MX host %s is an alias for %s", host, ans->cname);
		*alias_noted = true;
	}
	for (size_t i = 0; i < ans->count; i++) {
		if (b->res->count == DNS_MX_COLLECT_MAX) {
			note(b, "more than %d addresses: the rest ignored",
			     DNS_MX_COLLECT_MAX);
			break;
		}
		addr_add(b, host, pref, &ans->rrs[i], ans->authentic);
	}
	dns_answer_free(&ans);
	return st;
}

/* Resolves host to its addresses of the enabled families. Returns
 * DNS_OK when some were found, else the most telling failure. */
static enum dns_status host_resolve(struct mx_build *b, const char *host,
				    uint16_t pref)
{
	static const struct {
		unsigned family;
		enum dns_type type;
	} kinds[] = { { DNS_FAMILY_IPV4, DNS_TYPE_A },
		      { DNS_FAMILY_IPV6, DNS_TYPE_AAAA } };
	enum dns_status got[2] = { DNS_NODATA, DNS_NODATA };
	size_t before = b->res->count;
	bool alias_noted = false;

	for (size_t k = 0; k < 2; k++) {
		if ((b->o->families & kinds[k].family) != 0 &&
		    b->res->count < DNS_MX_COLLECT_MAX)
			got[k] = host_type(b, host, pref, kinds[k].type,
					   &alias_noted);
	}
	if (b->res->count > before)
		return DNS_OK;
	/* Nothing usable: a temporary failure of either type counts
	 * first (the address may exist), then the name's absence. */
	static const enum dns_status rank[] = { DNS_TEMPFAIL, DNS_NXDOMAIN,
						DNS_FAIL };

	for (size_t i = 0; i < 3; i++) {
		if (got[0] == rank[i] || got[1] == rank[i]) {
			if (rank[i] == DNS_TEMPFAIL)
				b->tempfail = true;
			return rank[i];
		}
	}
	return DNS_NODATA;
}

/* A host name as SMTP can use it: LDH labels (and '_', as Postfix
 * allows), not all-numeric at the end (an IP address in disguise). */
static const char *mx_target_problem(const char *t)
{
	struct in6_addr in6;
	size_t label = 0;
	bool alpha_last = false;

	if (inet_pton(AF_INET, t, &in6) == 1 || inet_pton(AF_INET6, t, &in6) == 1)
		return "numeric domain name";
	for (const char *p = t;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0 || p[-1] == '-')
				return "malformed domain name";
			if (*p == '\0')
				break;
			label = 0;
			alpha_last = false;
			continue;
		}
		bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9');

		if (!alnum && *p != '-' && *p != '_')
			return "malformed domain name";
		if (label == 0 && *p == '-')
			return "malformed domain name";
		if (!(*p >= '0' && *p <= '9'))
			alpha_last = true;
		label++;
	}
	return alpha_last ? NULL : "numeric domain name";
}

struct mx_host {
	const char *name;
	uint16_t pref;
	size_t order;		/* random: the tie-breaker among equals */
};

static int mx_host_cmp(const void *a, const void *b)
{
	const struct mx_host *x = a, *y = b;

	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Random order: a Fisher-Yates shuffle of the tie-breakers. */
static void shuffle_order(const struct dns_mx_options *o, size_t *order,
			  size_t n)
{
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	for (size_t i = n; i > 1; i--) {
		size_t j = mx_random(o, (uint32_t)i), t = order[i - 1];

		order[i - 1] = order[j];
		order[j] = t;
	}
}

struct addr_key {
	struct dns_mx_addr addr;
	unsigned rank;		/* family preference within one MX preference */
	size_t order;
};

static int addr_key_cmp(const void *a, const void *b)
{
	const struct addr_key *x = a, *y = b;

	if (x->addr.preference != y->addr.preference)
		return x->addr.preference < y->addr.preference ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Orders the addresses: by MX preference, then the preferred family
 * first; with DNS_PREFER_ANY addresses of equal preference are shuffled
 * (either family may come first), otherwise the hosts' order stays. */
static void addrs_sort(struct mx_build *b)
{
	struct dns_mx_result *res = b->res;
	struct addr_key *keys = xcalloc(res->count + 1, sizeof(*keys));
	size_t *order = xcalloc(res->count + 1, sizeof(*order));

	if (b->o->prefer == DNS_PREFER_ANY)
		shuffle_order(b->o, order, res->count);
	for (size_t i = 0; i < res->count; i++) {
		int first = b->o->prefer == DNS_PREFER_IPV6 ? AF_INET6 : AF_INET;

		keys[i].addr = res->addrs[i];
		keys[i].order = b->o->prefer == DNS_PREFER_ANY ? order[i] : i;
		keys[i].rank = b->o->prefer != DNS_PREFER_ANY &&
			       res->addrs[i].family != first;
	}
	qsort(keys, res->count, sizeof(*keys), addr_key_cmp);
	for (size_t i = 0; i < res->count; i++)
		res->addrs[i] = keys[i].addr;
	free(keys);
	free(order);
}

/* Applies addr_limit; with balance, a family that the cut would remove
 * entirely keeps its best address in place of the last one kept. */
static void addrs_limit(struct mx_build *b)
{
	struct dns_mx_result *res = b->res;
	size_t limit = b->o->addr_limit;

	if (limit == 0 || res->count <= limit)
		return;
	if (b->o->balance) {
		bool kept_other = false;

		for (size_t i = 1; i < limit; i++)
			kept_other |= res->addrs[i].family != res->addrs[0].family;
		for (size_t i = limit; i < res->count && !kept_other; i++) {
			if (res->addrs[i].family == res->addrs[0].family)
				continue;
			struct dns_mx_addr t = res->addrs[limit - 1];

			res->addrs[limit - 1] = res->addrs[i];
			res->addrs[i] = t;
			break;
		}
	}
	for (size_t i = limit; i < res->count; i++)
		free(res->addrs[i].host);
	note(b, "%zu addresses, the first %zu kept", res->count, limit);
	res->count = limit;
}

static struct dns_mx_result *build_start(struct mx_build *b,
					 struct dns_resolver *resolver,
					 const char *domain,
					 const struct dns_mx_options *o)
{
	memset(b, 0, sizeof(*b));
	b->resolver = resolver;
	b->domain = domain;
	b->o = o;
	b->res = xcalloc(1, sizeof(*b->res));
	buf_init(&b->notes, DNS_MX_NOTES_MAX);
	return b->res;
}

/* The error when every MX record was skipped. */
static char *all_skipped_error(const char *domain)
{
	char text[DNS_NAME_MAX + 80];

	snprintf(text, sizeof(text), "no usable MX host name for %.*s",
		 DNS_NAME_MAX, domain);
	return xstrdup(text);
}

static const char *const status_dsn[] = {
	[DNS_MX_OK] = "2.0.0", [DNS_MX_TEMPFAIL] = "4.4.3",
	[DNS_MX_NOTFOUND] = "5.4.4", [DNS_MX_NOADDR] = "5.4.4",
	[DNS_MX_NULLMX] = "5.1.10", [DNS_MX_INVALID] = "5.4.4",
};

/* Ends the build with status (DNS_MX_OK: from the addresses found). */
static enum dns_mx_status build_end(struct mx_build *b,
				    enum dns_mx_status status,
				    const char *error,
				    struct dns_mx_result **result_r)
{
	struct dns_mx_result *res = b->res;

	if (status == DNS_MX_OK && res->count > 0) {
		addrs_sort(b);
		addrs_limit(b);
	} else if (status == DNS_MX_OK) {
		status = b->tempfail ? DNS_MX_TEMPFAIL : DNS_MX_NOADDR;
		error = b->last_error;
	}
	res->status = status;
	res->dsn = status_dsn[status];
	if (status != DNS_MX_OK)
		res->error = error != NULL ? xstrdup(error)
			: all_skipped_error(b->domain);
	if (b->notes.len > 0)
		res->notes = xstrdup(buf_cstr(&b->notes));
	buf_deinit(&b->notes);
	free(b->last_error);
	*result_r = res;
	return status;
}

static enum dns_mx_status status_from_dns(enum dns_status st)
{
	switch (st) {
	case DNS_OK:
		return DNS_MX_OK;
	case DNS_NXDOMAIN:
		return DNS_MX_NOTFOUND;
	case DNS_NODATA:
		return DNS_MX_NOADDR;
	case DNS_FAIL:
		return DNS_MX_INVALID;
	default:
		return DNS_MX_TEMPFAIL;
	}
}

/* Collects the usable MX hosts of ans sorted, resolves them. */
static void mx_hosts(struct mx_build *b, const char *domain,
		     const struct dns_answer *ans)
{
	struct mx_host *hosts = xcalloc(ans->count + 1, sizeof(*hosts));
	size_t *order = xcalloc(ans->count + 1, sizeof(*order));
	size_t n = 0, limit = b->o->host_limit != 0 ? b->o->host_limit
		: DNS_MX_HOSTS_DEFAULT, resolved = 0;

	shuffle_order(b->o, order, ans->count);
	for (size_t i = 0; i < ans->count; i++) {
		const char *t = ans->rrs[i].target;
		const char *problem = t[0] == '\0' ? "empty domain name"
			: mx_target_problem(t);

		if (problem != NULL) {
			note(b, "%s in MX record for %s: \"%s\" (skipped)",
			     problem, domain, t);
			continue;
		}
		hosts[n++] = (struct mx_host){ t, ans->rrs[i].preference,
					       order[i] };
	}
	qsort(hosts, n, sizeof(*hosts), mx_host_cmp);
	for (size_t i = 0; i < n; i++) {
		bool dup = false;

		/* Kept hosts sit at the front, so this stays within limit. */
		for (size_t j = 0; j < resolved && !dup; j++)
			dup = strcmp(hosts[j].name, hosts[i].name) == 0;
		if (dup)
			continue;
		if (resolved == limit) {
			note(b, "more than %zu MX hosts: the rest ignored", limit);
			break;
		}
		hosts[resolved++] = hosts[i];
		const struct mx_host *h = &hosts[resolved - 1];

		if (host_resolve(b, h->name, h->pref) == DNS_NXDOMAIN)
			note(b, "MX host %s does not exist", h->name);
	}
	free(hosts);
	free(order);
}

static bool is_null_mx(const struct dns_answer *ans)
{
	return ans->count == 1 && ans->rrs[0].preference == 0 &&
	       ans->rrs[0].target[0] == '\0';
}

enum dns_mx_status dns_mx_lookup(struct dns_resolver *resolver,
				 const char *domain,
				 const struct dns_mx_options *options,
				 struct dns_mx_result **result_r)
{
	struct mx_build b;
	struct dns_mx_result *res = build_start(&b, resolver, domain, options);
	struct dns_answer *ans;
	const char *error;
	enum dns_status st = dns_lookup(resolver, domain, DNS_TYPE_MX, &ans,
					&error);
	enum dns_mx_status status = DNS_MX_OK;

	if (st == DNS_OK) {
		res->mx_authentic = ans->authentic;
		if (is_null_mx(ans)) {
			char text[DNS_NAME_MAX + 80];

			snprintf(text, sizeof(text),
				 "Domain %s does not accept mail (null MX)",
				 ans->qname);
			failed(&b, text);
			status = DNS_MX_NULLMX;
			error = b.last_error;
		} else {
			mx_hosts(&b, ans->qname, ans);
		}
	} else if (st == DNS_NODATA) {
		/* RFC 5321 5.1: no MX, the domain is its own implicit MX. */
		res->implicit = true;
		res->mx_authentic = ans->authentic;
		st = host_resolve(&b, ans->qname, 0);
		if (st != DNS_OK && st != DNS_TEMPFAIL)
			status = status_from_dns(st);
		error = b.last_error;
	} else {
		status = status_from_dns(st);
	}
	/* error may point into b.last_error, which build_end frees last. */
	status = build_end(&b, status, error, result_r);
	dns_answer_free(&ans);
	return status;
}

enum dns_mx_status dns_mx_host(struct dns_resolver *resolver,
			       const char *host,
			       const struct dns_mx_options *options,
			       struct dns_mx_result **result_r)
{
	struct mx_build b;
	struct dns_rr rr = { .type = DNS_TYPE_A };
	enum dns_mx_status status = DNS_MX_OK;

	build_start(&b, resolver, host, options);
	/* A numeric nexthop ("[192.0.2.1]:25") needs no look-up. */
	bool v4 = inet_pton(AF_INET, host, &rr.in4) == 1;

	if (!v4 && inet_pton(AF_INET6, host, &rr.in6) == 1)
		rr.type = DNS_TYPE_AAAA;
	if (v4 || rr.type == DNS_TYPE_AAAA) {
		unsigned family = v4 ? DNS_FAMILY_IPV4 : DNS_FAMILY_IPV6;

		if ((options->families & family) != 0)
			addr_add(&b, host, 0, &rr, false);
		else
			failed(&b, "address family of the host is disabled");
		return build_end(&b, status, NULL, result_r);
	}
	enum dns_status st = host_resolve(&b, host, 0);

	if (st != DNS_OK && st != DNS_TEMPFAIL)
		status = status_from_dns(st);
	return build_end(&b, status, b.last_error, result_r);
}

void dns_mx_result_free(struct dns_mx_result **result)
{
	struct dns_mx_result *r = *result;

	if (r == NULL)
		return;
	for (size_t i = 0; i < r->count; i++)
		free(r->addrs[i].host);
	free(r->addrs);
	free(r->error);
	free(r->notes);
	free(r);
	*result = NULL;
}
