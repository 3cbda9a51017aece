/* smtpd_policy: the restriction lists (lib/restrict) wired to smtpd's
 * tables, DNS and session. All five lists are evaluated at RCPT TO, as
 * Postfix does with smtpd_delay_reject = yes (its default): the client
 * learns of a refused client, HELO or sender at RCPT, and the log line
 * names the recipient. The order is Postfix's: client, helo, sender,
 * relay, recipient; the first REJECT or DEFER answers, a PERMIT ends
 * only its own list (restrict_eval_all, with DEFER_IF_PERMIT/REJECT).
 * As the lists run again for every RCPT, DNS answers are kept for the
 * session (at most POLICY_CACHE_MAX of them, no longer than the
 * session): the same DNSBL, reverse or domain look-up is asked once. */
#include "config.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "conf.h"
#include "dns.h"
#include "log.h"
#include "mem.h"
#include "restrict.h"
#include "smtpd.h"

/* A look-up blocks this client's process only (one client per
 * process): 5 s a try, 2 tries, as Postfix's resolver defaults. */
#define POLICY_DNS_TIMEOUT_MS 5000
#define POLICY_DNS_ATTEMPTS 2
/* Answers kept per session: a session of 100 recipients in distinct
 * domains asks about 3 names each; past the bound the oldest goes. */
#define POLICY_CACHE_MAX 64

static struct restrict_list *lists[RESTRICT_STAGE_COUNT];
static struct dns_resolver *resolver;
static struct maps *sender_login_maps;	/* NULL: none */
static struct maps *rbl_reply_maps;	/* NULL: none */

static void *table_open(void *ctx, const char *spec, const char **error_r)
{
	struct maps *maps;

	(void)ctx;
	if (maps_open(spec, 0, &maps, error_r) < 0)
		return NULL;
	return maps;
}

static void table_close(void *ctx, void *table)
{
	struct maps *maps = table;

	(void)ctx;
	maps_free(&maps);
}

void smtpd_policy_init(void)
{
	static const struct restrict_tables tables = { table_open,
						       table_close, NULL };
	const char *error;

	const char *logins = conf_str("smtpd_sender_login_maps");
	if (*logins != '\0' &&
	    maps_open(logins, 0, &sender_login_maps, &error) < 0)
		fatal("smtpd_sender_login_maps: %s", error);
	const char *rbl = conf_str("rbl_reply_maps");
	if (*rbl != '\0' && maps_open(rbl, 0, &rbl_reply_maps, &error) < 0)
		fatal("rbl_reply_maps: %s", error);
	for (int i = 0; i < RESTRICT_STAGE_COUNT; i++) {
		const char *name = restrict_stage_parameter(i);
		if (restrict_parse(name, i, conf_str(name), &tables, &lists[i],
				   &error) < 0)
			fatal("%s", error);
	}
	if (restrict_open_relay((const struct restrict_list *const *)lists) &&
	    !conf_bool("smtpd_allow_open_relay"))
		fatal("open relay: smtpd_relay_restrictions and "
		      "smtpd_recipient_restrictions let any client send "
		      "mail anywhere; add reject_unauth_destination (or "
		      "defer_unauth_destination) to smtpd_relay_restrictions, "
		      "or set smtpd_allow_open_relay = yes if you mean it");
	resolver = dns_resolver_new(conf_str("dns_resolver"),
				    POLICY_DNS_TIMEOUT_MS, POLICY_DNS_ATTEMPTS,
				    &error);
	if (resolver == NULL)
		fatal("dns_resolver: %s", error);
}

/* ---- the callbacks ---- */

static bool cb_mynetworks(void *cb, const char *addr)
{
	(void)cb;
	return netmatch_has(smtpd_tables.mynetworks, addr);
}

static int cb_domain_is_local(void *cb, const char *domain)
{
	const char *error;
	int ret = local_domains_match(smtpd_tables.domains, domain, &error);

	(void)cb;
	if (ret < 0)
		log_warn("virtual_mailbox_domains lookup of %s: %s", domain,
			 error);
	return ret;
}

static int cb_lookup(void *cb, void *table, const char *key,
		     const char **value_r)
{
	const char *error;
	int ret = maps_lookup(table, key, value_r, &error);

	(void)cb;
	if (ret < 0)
		log_warn("%s lookup of %s: %s", maps_spec(table), key, error);
	return ret;
}

/* ---- the session's DNS cache ---- */

/* Keyed by the name as asked (dns normalises qname for logs, which
 * could make two odd names one). */
static struct {
	char *name;
	enum dns_type type;
	struct dns_answer *answer;
} cache[POLICY_CACHE_MAX];
static size_t cache_next;	/* the slot to fill (and evict) next */

static void cache_drop(size_t i)
{
	xfree(&cache[i].name);
	dns_answer_free(&cache[i].answer);
}

void smtpd_policy_end(void)
{
	for (size_t i = 0; i < POLICY_CACHE_MAX; i++)
		cache_drop(i);
	cache_next = 0;
}

/* dns_lookup through the cache. The answer belongs to the cache and is
 * valid until the next lookup() call (which may evict it). */
static const struct dns_answer *lookup(const char *name, enum dns_type type)
{
	const char *error;
	struct dns_answer *a;

	for (size_t i = 0; i < POLICY_CACHE_MAX; i++)
		if (cache[i].name != NULL && cache[i].type == type &&
		    strcasecmp(cache[i].name, name) == 0)
			return cache[i].answer;
	dns_lookup(resolver, name, type, &a, &error);
	if (a->status == DNS_TEMPFAIL)
		log_warn("DNS look-up: %s", error);
	cache_drop(cache_next);
	cache[cache_next].name = xstrdup(name);
	cache[cache_next].type = type;
	cache[cache_next].answer = a;
	cache_next = (cache_next + 1) % POLICY_CACHE_MAX;
	return a;
}

static enum restrict_dns dns_of(enum dns_status st)
{
	if (st == DNS_OK)
		return RESTRICT_DNS_FOUND;
	return st == DNS_TEMPFAIL ? RESTRICT_DNS_TEMPFAIL
				  : RESTRICT_DNS_NOTFOUND;
}

/* MX, else A, else AAAA (RFC 5321 5.1's implicit MX). */
static enum restrict_dns cb_dns_domain(void *cb, const char *domain)
{
	static const enum dns_type types[] = { DNS_TYPE_MX, DNS_TYPE_A,
						DNS_TYPE_AAAA };
	enum restrict_dns result = RESTRICT_DNS_NOTFOUND;

	(void)cb;
	for (size_t i = 0; i < 3 && result == RESTRICT_DNS_NOTFOUND; i++) {
		const struct dns_answer *a = lookup(domain, types[i]);
		enum dns_status st = a->status;
		result = dns_of(st);
		if (st == DNS_OK && types[i] == DNS_TYPE_MX && a->count == 1 &&
		    a->rrs[0].target[0] == '\0')
			result = RESTRICT_DNS_NULLMX;
		if (st == DNS_NXDOMAIN || st == DNS_FAIL)
			break;	/* no name: no other type either */
	}
	return result;
}

static enum restrict_dns cb_dns_a(void *cb, const char *name,
				  char (*addrs)[16], size_t max,
				  size_t *count_r)
{
	const struct dns_answer *a = lookup(name, DNS_TYPE_A);

	(void)cb;
	*count_r = 0;
	for (size_t i = 0; a->status == DNS_OK && i < a->count && i < max;
	     i++)
		if (inet_ntop(AF_INET, &a->rrs[i].in4, addrs[*count_r], 16) !=
		    NULL)
			(*count_r)++;
	return dns_of(a->status);
}

/* The first TXT record, cut to size - 1 octets; a NUL inside ends it. */
static enum restrict_dns cb_dns_txt(void *cb, const char *name, char *text,
				    size_t size)
{
	const struct dns_answer *a = lookup(name, DNS_TYPE_TXT);

	(void)cb;
	text[0] = '\0';
	if (a->status != DNS_OK || a->count == 0)
		return a->status == DNS_OK ? RESTRICT_DNS_NOTFOUND
					   : dns_of(a->status);
	snprintf(text, size, "%.*s", (int)(a->rrs[0].data_len < size
					   ? a->rrs[0].data_len : size - 1),
		 (const char *)a->rrs[0].data);
	return RESTRICT_DNS_FOUND;
}

/* The PTR query name of addr (in-addr.arpa or ip6.arpa), or -1. */
static int ptr_name(const char *addr, char *buf, size_t size)
{
	unsigned char b[16];
	size_t len = 0;

	if (inet_pton(AF_INET, addr, b) == 1)
		return snprintf(buf, size, "%u.%u.%u.%u.in-addr.arpa", b[3],
				b[2], b[1], b[0]) < (int)size ? 0 : -1;
	if (inet_pton(AF_INET6, addr, b) != 1 || size < 74)
		return -1;
	for (int i = 15; i >= 0; i--)
		len += (size_t)snprintf(buf + len, size - len, "%x.%x.",
					b[i] & 0xf, b[i] >> 4);
	snprintf(buf + len, size - len, "ip6.arpa");
	return 0;
}

/* Does name's A (or AAAA) record set hold addr? */
static enum restrict_dns forward_confirm(const char *name, const char *addr)
{
	unsigned char want[16];
	bool v6 = strchr(addr, ':') != NULL;
	const struct dns_answer *a = lookup(name, v6 ? DNS_TYPE_AAAA
						     : DNS_TYPE_A);

	if (a->status != DNS_OK ||
	    inet_pton(v6 ? AF_INET6 : AF_INET, addr, want) != 1)
		return dns_of(a->status);
	for (size_t i = 0; i < a->count; i++)
		if (v6 ? memcmp(&a->rrs[i].in6, want, 16) == 0
		       : memcmp(&a->rrs[i].in4, want, 4) == 0)
			return RESTRICT_DNS_FOUND;
	return RESTRICT_DNS_NOTFOUND;
}

static enum restrict_dns cb_client_hostname(void *cb, bool verified,
					    const char **name_r)
{
	static char name[256];
	struct smtpd_session *s = cb;
	char qname[80];

	*name_r = NULL;
	if (ptr_name(s->client_addr, qname, sizeof(qname)) < 0)
		return RESTRICT_DNS_NOTFOUND;
	const struct dns_answer *a = lookup(qname, DNS_TYPE_PTR);
	if (a->status != DNS_OK || a->count == 0 ||
	    a->rrs[0].target[0] == '\0')
		return a->status == DNS_TEMPFAIL ? RESTRICT_DNS_TEMPFAIL
						 : RESTRICT_DNS_NOTFOUND;
	snprintf(name, sizeof(name), "%s", a->rrs[0].target);
	if (verified) {
		enum restrict_dns st = forward_confirm(name, s->client_addr);
		if (st != RESTRICT_DNS_FOUND)
			return st;
	}
	*name_r = name;
	return RESTRICT_DNS_FOUND;
}

/* rbl_reply_maps: the zone's template, or NULL (the default; also
 * when the table fails: a listed client is refused all the same). */
static const char *cb_rbl_reply(void *cb, const char *zone)
{
	const char *value, *error;
	int ret;

	(void)cb;
	if (rbl_reply_maps == NULL)
		return NULL;
	ret = maps_lookup(rbl_reply_maps, zone, &value, &error);
	if (ret < 0)
		log_warn("rbl_reply_maps lookup of %s: %s", zone, error);
	return ret > 0 ? value : NULL;
}

/* smtpd_sender_login_maps, in Postfix's order: the address (with and
 * without its extension), then "@domain". */
static int cb_sender_owners(void *cb, const char *sender,
			    const char **owners_r)
{
	struct smtpd_session *s = cb;
	const char *error;
	int r;

	if (sender_login_maps == NULL)
		return 0;
	r = maps_lookup_addr(sender_login_maps, sender,
			     s->p->recipient_delimiter, owners_r, &error);
	if (r < 0)
		log_warn("smtpd_sender_login_maps lookup of %s: %s", sender,
			 error);
	return r;
}

/* *slot = a copy of text: the last REDIRECT, BCC, FILTER wins. */
static void replace(char **slot, const char *text)
{
	free(*slot);
	*slot = xstrdup(text);
}

/* HOLD, DISCARD and PREPEND apply to the whole message. The lists run
 * again for each RCPT, so a header already added is not added twice. */
static void cb_note(void *cb, enum restrict_note note, const char *text)
{
	struct smtpd_session *s = cb;
	struct smtpd_txn *t = &s->txn;

	switch (note) {
	case RESTRICT_NOTE_WARN:
		log_warn("access table: %s[%s]: %s", s->client_name,
			 s->client_addr, text);
		return;
	case RESTRICT_NOTE_HOLD:
		if (!t->hold)
			log_info("NOQUEUE: hold: RCPT from %s[%s]: %s",
				 s->client_name, s->client_addr, text);
		t->hold = true;
		return;
	case RESTRICT_NOTE_DISCARD:
		if (!t->discard)
			log_info("NOQUEUE: discard: RCPT from %s[%s]: %s",
				 s->client_name, s->client_addr, text);
		t->discard = true;
		return;
	case RESTRICT_NOTE_INFO:
		log_info("access table: %s[%s]: %s", s->client_name,
			 s->client_addr, text);
		return;
	case RESTRICT_NOTE_REDIRECT:
		replace(&t->redirect, text);
		return;
	case RESTRICT_NOTE_BCC:
		replace(&t->bcc, text);
		return;
	case RESTRICT_NOTE_FILTER:
		replace(&t->filter, text);
		return;
	case RESTRICT_NOTE_PREPEND:
		for (size_t i = 0; i < t->prepend_count; i++)
			if (strcmp(t->prepend[i], text) == 0)
				return;
		if (t->prepend_count >= SMTPD_PREPEND_MAX) {
			log_warn("PREPEND: more than %d headers, dropping "
				 "\"%.100s\"", SMTPD_PREPEND_MAX, text);
			return;
		}
		t->prepend[t->prepend_count++] = xstrdup(text);
		return;
	}
}

int smtpd_policy_check(struct smtpd_session *s, const char *recipient,
		       char *reply, size_t size)
{
	const struct restrict_ctx ctx = {
		.client_addr = s->client_addr,
		.client_name = s->client_name,
		.helo = s->helo,
		.sender = s->txn.env.sender,
		.recipient = recipient,
		.sasl_username = s->sasl_username,
		.recipient_delimiter = s->p->recipient_delimiter,
		.cb_ctx = s,
		.in_mynetworks = cb_mynetworks,
		.domain_is_local = cb_domain_is_local,
		.table_lookup = cb_lookup,
		.dns_domain = cb_dns_domain,
		.dns_a = cb_dns_a,
		.dns_txt = cb_dns_txt,
		.client_hostname = cb_client_hostname,
		.rbl_reply = cb_rbl_reply,
		.sender_owners = cb_sender_owners,
		.note = cb_note,
	};
	struct restrict_result r;

	restrict_eval_all((const struct restrict_list *const *)lists, &ctx,
			  &r);
	if (r.verdict == RESTRICT_REJECT || r.verdict == RESTRICT_DEFER) {
		snprintf(reply, size, "%s", r.reply);
		return -1;
	}
	return 0;
}
