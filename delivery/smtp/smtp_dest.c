/* smtp_dest: one request's destination: the TLS policy of the next hop,
 * its addresses (MX look-up, or the host of "[host]"), and the walk over
 * them (unless a cached connection to the same next hop can be used): an
 * address whose connection, greeting, EHLO or TLS fails gives way to the
 * next one; the first session that works carries the transaction.
 * When every address failed for a temporary reason the destination is
 * "dead" for qmgr. */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "log.h"
#include "smtp.h"
#include "timeutil.h"
#include "transport.h"

/* The TLS level and policy for the next hop: -1 when every recipient got
 * its result (a lookup failure, a bad or unsupported policy). */
static int dest_tls_policy(struct smtp_delivery *d, const char *domain,
			   struct tls_policy *pol, bool *have_pol,
			   enum tls_policy_level *level_r)
{
	const char *value, *error;
	int r;

	*have_pol = false;
	*level_r = smtp_config.tls_level;
	r = maps_lookup(smtp_config.tls_policy_maps, domain, &value, &error);
	if (r < 0) {
		smtp_result_all(d, DELIVER_TEMPFAIL, "4.3.0",
				"smtp_tls_policy_maps lookup for %s failed: %s",
				domain, error);
		return -1;
	}
	if (r == 0)
		return 0;
	if (tls_policy_parse(value, pol, &error) < 0) {
		smtp_result_all(d, DELIVER_TEMPFAIL, "4.3.5", "bad "
				"smtp_tls_policy_maps entry for %s: %s",
				domain, error);
		return -1;
	}
	*have_pol = true;
	*level_r = pol->level;
	return 0;
}

/* The transaction on sess, which is then cached or closed. */
static void dest_run(struct smtp_delivery *d, struct smtp_session *sess,
		     bool reuse)
{
	d->setup_us = time_wall_us();
	d->conn_use = ++sess->uses;
	if (smtp_trans_run(d, sess) < 0)
		smtp_session_close(&sess, true);
	else
		smtp_cache_put(sess, d->req->nexthop, d->relay, reuse);
}

static void dest_walk(struct smtp_delivery *d, const struct dns_mx_result *mx,
		      unsigned port, const struct smtp_tls_want *want,
		      bool reuse)
{
	struct smtp_session *sess = NULL;
	struct smtp_fail f;

	smtp_fail_set(&f, DELIVER_TEMPFAIL, "4.4.3", true,
		      "no usable address for %s", d->req->nexthop);
	for (size_t i = 0; i < mx->count; i++) {
		const struct dns_mx_addr *a = &mx->addrs[i];
		int r = smtp_session_open(a, port, want, false, &sess, &f);
		if (r < 0 && f.retry_plain) {
			log_info("%s: %s; trying again without TLS",
				 d->req->queue_id, f.reason);
			r = smtp_session_open(a, port, want, true, &sess, &f);
		}
		if (r == 0 || f.connected)
			snprintf(d->relay, sizeof(d->relay), "%s[%s]:%u",
				 a->host, a->text, port);
		if (r == 0) {
			dest_run(d, sess, reuse);
			return;
		}
		if (!f.next_address)
			break;
	}
	d->site_dead = f.next_address && f.status == DELIVER_TEMPFAIL;
	smtp_result_all(d, f.status, f.dsn, "%s", f.reason);
}

void smtp_dest_deliver(struct smtp_delivery *d)
{
	const struct deliver_request2 *req = d->req;
	struct transport_nexthop nh;
	struct dns_mx_result *mx = NULL;
	struct tls_policy pol;
	bool have_pol;
	const char *error;
	enum tls_policy_level level;

	memset(&pol, 0, sizeof(pol));
	if (transport_parse_nexthop(TRANSPORT_SMTP, req->nexthop, &nh,
				    &error) < 0) {
		/* The decoder checked it: only a broken qmgr gets here. */
		smtp_result_all(d, DELIVER_TEMPFAIL, "4.3.5", "bad nexthop "
				"%s: %s", req->nexthop, error);
		return;
	}
	if (dest_tls_policy(d, nh.host, &pol, &have_pol, &level) < 0)
		return;
	if (!tls_policy_level_supported(level)) {
		/* Never a weaker level than the one asked for. */
		smtp_result_all(d, DELIVER_TEMPFAIL, "4.7.5", "TLS security "
				"level %s for %s is not supported",
				tls_policy_level_name(level), nh.host);
		tls_policy_deinit(&pol);
		return;
	}
	/* A policy may forbid reuse (connection_reuse=no). */
	bool reuse = !have_pol || pol.connection_reuse != 0;
	struct smtp_session *cached = smtp_cache_take(req->nexthop, d->relay,
						      sizeof(d->relay));
	if (cached != NULL) {
		dest_run(d, cached, reuse);
		tls_policy_deinit(&pol);
		return;
	}
	struct dns_mx_options opts = {
		.families = smtp_config.families,
		.prefer = smtp_config.prefer,
		.balance = smtp_config.balance,
		.addr_limit = smtp_config.mx_address_limit,
	};
	enum dns_mx_status st = nh.mx ?
		dns_mx_lookup(smtp_config.resolver, nh.host, &opts, &mx) :
		dns_mx_host(smtp_config.resolver, nh.host, &opts, &mx);
	if (mx->notes != NULL)
		log_info("%s: nexthop %s: %s", req->queue_id, req->nexthop,
			 mx->notes);
	if (st == DNS_MX_OK) {
		struct smtp_tls_want want = {
			.level = level,
			.policy = have_pol ? &pol : NULL,
			.nexthop_domain = nh.host,
			/* No DANE yet: a name from an MX answer counts as
			 * secure only when the resolver validated it. */
			.host_is_secure = !nh.mx || mx->mx_authentic,
		};
		dest_walk(d, mx, nh.port != 0 ? nh.port : 25, &want, reuse);
	} else {
		d->site_dead = st == DNS_MX_TEMPFAIL;
		smtp_result_all(d, st == DNS_MX_TEMPFAIL ? DELIVER_TEMPFAIL :
				DELIVER_PERMFAIL, mx->dsn, "%s",
				mx->error != NULL ? mx->error : "DNS failure");
	}
	dns_mx_result_free(&mx);
	tls_policy_deinit(&pol);
}
