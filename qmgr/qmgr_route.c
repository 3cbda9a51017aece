/* qmgr_route: where a recipient goes, decided once at activation, in
 * Postfix's order: our domains (virtual_mailbox_domains) to local; then
 * transport_maps (the keys transport(5) names: address, address without
 * its extension, domain, parent domains, "*"); then default_transport,
 * whose next hop, when it has one, wins over relayhost, which wins over
 * the recipient's domain. error:, retry: and discard: are answered here,
 * without an agent. A table that cannot be read now leaves the recipient
 * waiting for the next attempt. A message with a "filter" attribute
 * (access(5) FILTER, content_filter) sends every recipient, ours
 * included, to that transport:destination instead: the filter
 * re-injects what it accepts through a listener without the filter. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "conf.h"
#include "deliver_proto.h"
#include "log.h"
#include "maps.h"
#include "mem.h"
#include "qmgr.h"
#include "str.h"
#include "transport.h"

static struct maps *transport_maps;
static struct transport_entry default_entry;	/* default_transport */
static struct transport_nexthop relayhost;	/* kind NONE: not set */
static char *delimiters;			/* recipient_delimiter */
static unsigned key_flags;

/* parent_domain_matches_subdomains lists the tables whose bare parent
 * domain matches its subdomains (Postfix's compatibility knob). */
static bool parent_bare(void)
{
	char **words = conf_list("parent_domain_matches_subdomains");
	bool found = false;

	for (size_t i = 0; words[i] != NULL; i++)
		if (strcmp(words[i], "transport_maps") == 0)
			found = true;
	free(words);
	return found;
}

void qmgr_route_init(void)
{
	const char *value = conf_str("relayhost"), *error;

	if (*value != '\0') {
		if (transport_parse_nexthop(TRANSPORT_SMTP, value, &relayhost,
					    &error) < 0)
			fatal("relayhost = %s: %s", value, error);
		if (relayhost.kind == TRANSPORT_HOST_NONE)
			fatal("relayhost = %s: no host", value);
	}
	value = conf_str("default_transport");
	if (transport_parse(value, &default_entry, &error) < 0)
		fatal("default_transport = %s: %s", value, error);
	if (default_entry.type == TRANSPORT_KEEP ||
	    default_entry.type == TRANSPORT_LMTP)
		fatal("default_transport = %s: not a transport surel has",
		      value);
	value = conf_str("transport_maps");
	if (maps_open(value, 0, &transport_maps, &error) < 0)
		fatal("transport_maps = %s: %s", value, error);
	delimiters = xstrdup(conf_str("recipient_delimiter"));
	key_flags = parent_bare() ? TRANSPORT_KEYS_PARENT_BARE : 0;
}

void qmgr_route_deinit(void)
{
	maps_free(&transport_maps);
	xfree(&delimiters);
}

/* The next hop as the smtp agent reads it (transport(5) syntax), in
 * lower case so that one destination has one name. */
static void nexthop_format(const struct transport_nexthop *nh,
			   const char *domain, char out[QMGR_NEXTHOP_MAX])
{
	char port[8] = "";
	const char *host = nh->kind == TRANSPORT_HOST_NONE ? domain : nh->host;
	bool brackets = nh->kind != TRANSPORT_HOST_NONE && !nh->mx;

	if (nh->port != 0)
		snprintf(port, sizeof(port), ":%u", nh->port);
	snprintf(out, QMGR_NEXTHOP_MAX, "%s%s%s%s", brackets ? "[" : "", host,
		 brackets ? "]" : "", port);
	str_lower(out);
}

static void route_answer(struct qmgr_route *r, enum deliver_status status,
			 const char *dsn, const char *reason)
{
	r->transport = QMGR_UNROUTED;
	r->status = status;
	snprintf(r->dsn, sizeof(r->dsn), "%s", dsn);
	snprintf(r->reason, sizeof(r->reason), "%s", reason);
}

/* Routes by a transport entry (found in transport_maps, or the
 * default). */
static void route_entry(const struct transport_entry *e, const char *domain,
			struct qmgr_route *r)
{
	const struct transport_nexthop *nh = &e->nexthop;

	switch (e->type) {
	case TRANSPORT_SMTP:
		r->transport = QMGR_SMTP;
		nexthop_format(nh, domain, r->nexthop);
		return;
	case TRANSPORT_LOCAL:
		r->transport = QMGR_LOCAL;
		r->nexthop[0] = '\0';
		return;
	case TRANSPORT_ERROR:
	case TRANSPORT_RETRY:
		route_answer(r, e->type == TRANSPORT_ERROR ? DELIVER_PERMFAIL :
			     DELIVER_TEMPFAIL, e->status,
			     e->text[0] != '\0' ? e->text :
			     e->type == TRANSPORT_ERROR ? "delivery refused" :
			     "delivery deferred");
		return;
	case TRANSPORT_DISCARD:
		route_answer(r, DELIVER_OK, "2.0.0",
			     e->text[0] != '\0' ? e->text : "discarded");
		return;
	default:
		route_answer(r, DELIVER_TEMPFAIL, "4.3.5",
			     "transport lmtp is not available");
		return;
	}
}

/* No table entry (or one that keeps the default): default_transport; for
 * smtp without a next hop of its own, relayhost, then the domain. */
static void route_default(const struct transport_entry *keep,
			  const char *domain, struct qmgr_route *r)
{
	struct transport_entry e = default_entry;

	if (keep != NULL && keep->nexthop.kind != TRANSPORT_HOST_NONE)
		e.nexthop = keep->nexthop;	/* ":nexthop" */
	else if (e.type == TRANSPORT_SMTP &&
		 e.nexthop.kind == TRANSPORT_HOST_NONE &&
		 relayhost.kind != TRANSPORT_HOST_NONE)
		e.nexthop = relayhost;
	route_entry(&e, domain, r);
}

/* transport_maps: 1 and *entry_r when an entry matched, 0 when none, -1
 * (reason in r) when a table failed or an entry is malformed. */
static int route_lookup(const char *address, struct transport_entry *entry_r,
			struct qmgr_route *r)
{
	struct transport_keys keys;
	const char *value, *error;
	char why[QMGR_REASON_MAX];
	int ret = 0;

	if (transport_keys_make(address, delimiters, key_flags, &keys,
				&error) < 0)
		return 0;	/* nothing to look up: the default */
	for (size_t i = 0; i < keys.count && ret == 0; i++) {
		ret = maps_lookup(transport_maps, keys.keys[i], &value,
				  &error);
		if (ret > 0 && transport_parse(value, entry_r, &error) < 0) {
			log_warn("transport_maps entry %s: %s", keys.keys[i],
				 error);
			ret = -1;
		}
	}
	transport_keys_deinit(&keys);
	if (ret < 0) {
		snprintf(why, sizeof(why), "transport_maps lookup of %s: %s",
			 address, error);
		route_answer(r, DELIVER_TEMPFAIL, "4.3.0", why);
	}
	return ret;
}

/* FILTER: the entry routes as a transport_maps value would, its empty
 * destination being the recipient's domain; a malformed one waits
 * (4.3.5: the operator fixes the table, the mail is not lost). */
static void route_filter(const char *filter, const char *domain,
			 struct qmgr_route *r)
{
	struct transport_entry e;
	const char *error;
	char why[QMGR_REASON_MAX];

	if (transport_parse(filter, &e, &error) < 0) {
		snprintf(why, sizeof(why), "bad content filter \"%s\": %s",
			 filter, error);
		route_answer(r, DELIVER_TEMPFAIL, "4.3.5", why);
		return;
	}
	if (e.type == TRANSPORT_KEEP)
		route_default(&e, domain, r);
	else
		route_entry(&e, domain, r);
}

void qmgr_route_rcpt(const char *address, const char *filter,
		     struct qmgr_route *r)
{
	const char *domain = addr_domain(address), *error;
	struct transport_entry entry;
	char why[QMGR_REASON_MAX];
	int ret = 1;

	memset(r, 0, sizeof(*r));
	if (filter != NULL) {
		route_filter(filter, domain, r);
		return;
	}
	/* Unqualified: local says what is wrong with it. */
	if (*domain != '\0')
		ret = local_domains_match(qmgr.domains, domain, &error);
	if (ret > 0) {
		r->transport = QMGR_LOCAL;
		return;
	}
	if (ret < 0) {
		snprintf(why, sizeof(why), "virtual_mailbox_domains lookup of "
			 "%s: %s", domain, error);
		route_answer(r, DELIVER_TEMPFAIL, "4.3.0", why);
		return;
	}
	ret = route_lookup(address, &entry, r);
	if (ret < 0)
		return;
	if (ret > 0 && entry.type != TRANSPORT_KEEP)
		route_entry(&entry, domain, r);
	else
		route_default(ret > 0 ? &entry : NULL, domain, r);
}
