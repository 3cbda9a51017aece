/* smtpd_policy: the restriction lists (lib/restrict) wired to smtpd's
 * tables, DNS and session. All five lists are evaluated at RCPT TO, as
 * Postfix does with smtpd_delay_reject = yes (its default): the client
 * learns of a refused client, HELO or sender at RCPT, and the log line
 * names the recipient. The order is Postfix's: client, helo, sender,
 * relay, recipient; the first REJECT or DEFER answers, a PERMIT ends
 * only its own list. */
#include "config.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static struct restrict_list *lists[RESTRICT_STAGE_COUNT];
static struct dns_resolver *resolver;
static struct maps *sender_login_maps;	/* NULL: none */

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
	struct dns_answer *a;
	const char *error;

	(void)cb;
	for (size_t i = 0; i < 3 && result == RESTRICT_DNS_NOTFOUND; i++) {
		enum dns_status st = dns_lookup(resolver, domain, types[i], &a,
						&error);
		result = dns_of(st);
		if (st == DNS_OK && types[i] == DNS_TYPE_MX && a->count == 1 &&
		    a->rrs[0].target[0] == '\0')
			result = RESTRICT_DNS_NULLMX;
		dns_answer_free(&a);
		if (st == DNS_NXDOMAIN || st == DNS_FAIL)
			break;	/* no name: no other type either */
	}
	return result;
}

static enum restrict_dns cb_dns_a(void *cb, const char *name,
				  char (*addrs)[16], size_t max,
				  size_t *count_r)
{
	struct dns_answer *a;
	const char *error;
	enum dns_status st = dns_lookup(resolver, name, DNS_TYPE_A, &a, &error);

	(void)cb;
	*count_r = 0;
	for (size_t i = 0; st == DNS_OK && i < a->count && i < max; i++)
		if (inet_ntop(AF_INET, &a->rrs[i].in4, addrs[i], 16) != NULL)
			(*count_r)++;
	dns_answer_free(&a);
	return dns_of(st);
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
		.sender_owners = cb_sender_owners,
		.note = cb_note,
	};
	struct restrict_result r;

	for (int i = 0; i < RESTRICT_STAGE_COUNT; i++) {
		restrict_eval(lists[i], &ctx, &r);
		if (r.verdict == RESTRICT_REJECT ||
		    r.verdict == RESTRICT_DEFER) {
			snprintf(reply, size, "%s", r.reply);
			return -1;
		}
	}
	return 0;
}
