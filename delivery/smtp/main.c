/* smtp: the outbound SMTP client. Each process serves one qmgr connection
 * at a time: it greets it with the version 2 deliver_proto hello, then
 * serves its requests in turn (one message, its recipients for one next
 * hop), answers per recipient and logs one Postfix-format line per
 * recipient. The connection to a server is kept for the next request to
 * the same next hop for smtp_connection_cache_time_limit. */
#include "config.h"
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "conf.h"
#include "ipc.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "service.h"
#include "smtp.h"
#include "str.h"
#include "timeutil.h"

/* A request line: an address or an ORCPT, well below this. */
#define SMTP_REQUEST_LINE_MAX 8192
/* Resolver bounds: each look-up takes at most 5 s x 2. */
#define SMTP_DNS_TIMEOUT_MS 5000
#define SMTP_DNS_ATTEMPTS 2

struct smtp_config smtp_config;

/* A time parameter in ms for a poll: 0 and what does not fit an int are
 * the longest wait an int holds (0 is "no limit", never "at once"). */
static int smtp_timeout_ms(const char *name)
{
	uint64_t s = conf_time(name);

	return s == 0 || s > INT_MAX / 1000 ? INT_MAX : (int)(s * 1000);
}

static void smtp_tls_init(void)
{
	const struct tls_client_settings settings = {
		.ca_file = conf_str("smtp_tls_CAfile"),
		.ca_path = conf_str("smtp_tls_CApath"),
		.cert_file = conf_str("smtp_tls_cert_file"),
		.key_file = conf_str("smtp_tls_key_file"),
		.protocols = conf_str("smtp_tls_protocols"),
		.mandatory_protocols = conf_str("smtp_tls_mandatory_protocols"),
		.ciphers = conf_str("smtp_tls_ciphers"),
		.mandatory_ciphers = conf_str("smtp_tls_mandatory_ciphers"),
		.exclude_ciphers = conf_str("smtp_tls_exclude_ciphers"),
		.mandatory_exclude_ciphers =
			conf_str("smtp_tls_mandatory_exclude_ciphers"),
	};
	const char *level = conf_str("smtp_tls_security_level"), *error;

	if (level[0] == '\0')
		smtp_config.tls_level = TLS_POLICY_NONE;
	else if (tls_policy_level_parse(level, &smtp_config.tls_level) < 0)
		fatal("smtp_tls_security_level: unknown level \"%s\"", level);
	/* A broken TLS setting must not stop mail that needs no TLS: the
	 * levels that need it defer, may goes on in plaintext. */
	if (tls_client_new(&settings, &smtp_config.tls, &error) < 0) {
		log_warn("TLS disabled in the SMTP client: %s", error);
		smtp_config.tls = NULL;
		smtp_config.tls_error = error;
	}
}

/* inet_protocols, smtp_address_preference: Postfix's words. */
static void smtp_families_init(void)
{
	char **words = conf_list("inet_protocols");
	const char *pref = conf_str("smtp_address_preference");

	smtp_config.families = 0;
	for (size_t i = 0; words[i] != NULL; i++) {
		if (strcasecmp(words[i], "all") == 0)
			smtp_config.families |= DNS_FAMILY_IPV4 |
						DNS_FAMILY_IPV6;
		else if (strcasecmp(words[i], "ipv4") == 0)
			smtp_config.families |= DNS_FAMILY_IPV4;
		else if (strcasecmp(words[i], "ipv6") == 0)
			smtp_config.families |= DNS_FAMILY_IPV6;
		else
			fatal("inet_protocols: unknown protocol \"%s\"",
			      words[i]);
	}
	free(words);
	if (smtp_config.families == 0)
		fatal("inet_protocols: no protocol");
	if (strcasecmp(pref, "any") == 0)
		smtp_config.prefer = DNS_PREFER_ANY;
	else if (strcasecmp(pref, "ipv4") == 0)
		smtp_config.prefer = DNS_PREFER_IPV4;
	else if (strcasecmp(pref, "ipv6") == 0)
		smtp_config.prefer = DNS_PREFER_IPV6;
	else
		fatal("smtp_address_preference: unknown value \"%s\"", pref);
	smtp_config.balance = conf_bool("smtp_balance_inet_protocols");
}

/* dkim_signing_table: opened while its file can be reached; signing
 * needs libopendkim's handle. */
static void smtp_dkim_init(void)
{
	const char *spec = conf_str("dkim_signing_table"), *error;

	if (*spec == '\0')
		return;
	if (maps_open(spec, 0, &smtp_config.dkim_table, &error) < 0)
		fatal("dkim_signing_table: %s", error);
	if (dkim_signer_new(&smtp_config.dkim, &error) < 0)
		fatal("DKIM: %s", error);
}

static void smtp_pre_jail(void)
{
	const char *error;

	/* Opened while /etc/resolv.conf and the tables are reachable. */
	smtp_config.resolver = dns_resolver_new(conf_str("dns_resolver"),
						SMTP_DNS_TIMEOUT_MS,
						SMTP_DNS_ATTEMPTS, &error);
	if (smtp_config.resolver == NULL)
		fatal("dns_resolver: %s", error);
	if (maps_open(conf_str("smtp_tls_policy_maps"), 0,
		      &smtp_config.tls_policy_maps, &error) < 0)
		fatal("smtp_tls_policy_maps: %s", error);
	smtp_tls_init();
	smtp_dkim_init();
	smtp_config.helo_name = conf_str("myhostname");
	smtp_config.connect_ms = smtp_timeout_ms("smtp_connect_timeout");
	smtp_config.helo_ms = smtp_timeout_ms("smtp_helo_timeout");
	smtp_config.mail_ms = smtp_timeout_ms("smtp_mail_timeout");
	smtp_config.rcpt_ms = smtp_timeout_ms("smtp_rcpt_timeout");
	smtp_config.data_init_ms = smtp_timeout_ms("smtp_data_init_timeout");
	smtp_config.data_xfer_ms = smtp_timeout_ms("smtp_data_xfer_timeout");
	smtp_config.data_done_ms = smtp_timeout_ms("smtp_data_done_timeout");
	smtp_config.quit_ms = smtp_timeout_ms("smtp_quit_timeout");
	smtp_config.starttls_ms = smtp_timeout_ms("smtp_starttls_timeout");
	smtp_config.rset_ms = smtp_timeout_ms("smtp_rset_timeout");
	smtp_config.cache_time_ms =
		conf_time("smtp_connection_cache_time_limit") * 1000;
	smtp_config.mx_address_limit =
		(size_t)conf_int("smtp_mx_address_limit");
	smtp_families_init();
}

static void smtp_result_vset(struct smtp_rcpt_result *r,
			     enum deliver_status status, const char *dsn,
			     const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

static void smtp_result_vset(struct smtp_rcpt_result *r,
			     enum deliver_status status, const char *dsn,
			     const char *fmt, va_list ap)
{
	r->final = true;
	r->status = status;
	char class = status == DELIVER_OK ? '2' : (char)('0' + status);

	/* qmgr's decoder takes only a well-formed code of the right class. */
	if (!deliver_proto_dsn_ok(dsn, class) ||
	    str_copy(r->dsn, sizeof(r->dsn), dsn) < 0)
		snprintf(r->dsn, sizeof(r->dsn), "%c.0.0", class);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	/* The reason goes into an ipc value and a log line. */
	for (char *p = r->reason; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

void smtp_result_set(struct smtp_rcpt_result *r, enum deliver_status status,
		     const char *dsn, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	smtp_result_vset(r, status, dsn, fmt, ap);
	va_end(ap);
}

void smtp_result_all(struct smtp_delivery *d, enum deliver_status status,
		     const char *dsn, const char *fmt, ...)
{
	for (size_t i = 0; i < d->req->rcpt_count; i++) {
		va_list ap;
		if (d->res[i].final)
			continue;
		va_start(ap, fmt);
		smtp_result_vset(&d->res[i], status, dsn, fmt, ap);
		va_end(ap);
	}
}

/* A reply's text as a DSN's Diagnostic-Code wants it (cut to its
 * bound), and who said it. */
static void result_remote(struct smtp_rcpt_result *r,
			  const struct smtp_session *sess,
			  const struct smtp_reply *reply, const char *cmd)
{
	const char *mta = sess->host[0] != '\0' ? sess->host : sess->addr;
	/* A host name has at most 253 octets; cut what is not one. */
	size_t n = strnlen(mta, sizeof(r->mta) - 1);
	memcpy(r->mta, mta, n);
	r->mta[n] = '\0';
	snprintf(r->diag, sizeof(r->diag), "%s", reply->text);
	snprintf(r->cmd, sizeof(r->cmd), "%s", cmd);
	/* The NOTIFY of this recipient went to a server that does DSN: it
	 * reports from here on (RFC 3461 5.2.2). */
	r->dsn_passed = r->status == DELIVER_OK &&
			(sess->ehlo.ext & SMTP_EXT_DSN) != 0;
}

void smtp_result_reply(struct smtp_rcpt_result *r,
		       const struct smtp_session *sess,
		       const struct smtp_reply *reply, const char *cmd,
		       const struct smtp_fail *f)
{
	smtp_result_set(r, f->status, f->dsn, "%s", f->reason);
	result_remote(r, sess, reply, cmd);
}

void smtp_result_all_reply(struct smtp_delivery *d,
			   const struct smtp_session *sess,
			   const struct smtp_reply *reply, const char *cmd,
			   const struct smtp_fail *f)
{
	for (size_t i = 0; i < d->req->rcpt_count; i++)
		if (!d->res[i].final)
			smtp_result_reply(&d->res[i], sess, reply, cmd, f);
}

static uint64_t smtp_span(uint64_t from, uint64_t to)
{
	return to > from && from > 0 ? to - from : 0;
}

static void smtp_log(const struct smtp_delivery *d)
{
	const struct deliver_request2 *req = d->req;
	char to[1024], reason[2 * SMTP_REASON_MAX], relay[sizeof(d->relay)];
	char delay[24], a[24], b[24], c[24], e[24], use[32] = "";
	uint64_t now = time_wall_us();
	uint64_t setup = d->setup_us > 0 ? d->setup_us : now;

	log_escape(relay, sizeof(relay), d->relay, sizeof(d->relay));
	/* As Postfix: the count appears from a connection's second use. */
	if (d->conn_use > 1)
		snprintf(use, sizeof(use), " conn_use=%u,", d->conn_use);
	time_format_delay(delay, sizeof(delay), smtp_span(req->arrival_us, now));
	time_format_delay(a, sizeof(a), smtp_span(req->arrival_us,
						   req->active_us));
	time_format_delay(b, sizeof(b), smtp_span(req->active_us, d->start_us));
	time_format_delay(c, sizeof(c), smtp_span(d->start_us, setup));
	time_format_delay(e, sizeof(e), smtp_span(setup, now));
	for (size_t i = 0; i < req->rcpt_count; i++) {
		const struct smtp_rcpt_result *r = &d->res[i];
		log_escape(to, sizeof(to), req->rcpts[i].address, 512);
		log_escape(reason, sizeof(reason), r->reason, SMTP_REASON_MAX);
		log_info("%s: to=<%s>, relay=%s,%s delay=%s, "
			 "delays=%s/%s/%s/%s, dsn=%s, status=%s (%s)",
			 req->queue_id, to, relay, use, delay, a, b, c, e,
			 r->dsn, deliver_status_word(r->status, req->trace),
			 reason);
		if (!req->trace)
			metrics_count_delivery(r->status, r->dsn);
	}
}

/* Serves one request; -1 when the qmgr connection is done for. */
static int smtp_request(int fd, const struct ipc_msg *msg)
{
	struct deliver_request2 req;
	struct smtp_delivery d;
	const char *error;

	if (deliver_request2_decode(msg, &req, &error) < 0) {
		log_warn("qmgr connection: bad request: %s", error);
		deliver_request2_deinit(&req);
		return -1;
	}
	memset(&d, 0, sizeof(d));
	d.req = &req;
	d.start_us = time_wall_us();
	d.res = xcalloc(req.rcpt_count, sizeof(*d.res));
	snprintf(d.relay, sizeof(d.relay), "none");
	/* Signatures, when wanted, for every transaction of this request:
	 * as many as 4 folded fields. */
	buf_init(&d.dkim_sig, 4 * (DKIM_SIGNATURE_MAX + 64));
	smtp_dest_deliver(&d);
	buf_deinit(&d.dkim_sig);
	smtp_log(&d);
	struct deliver_answer *ans = xcalloc(req.rcpt_count, sizeof(*ans));
	for (size_t i = 0; i < req.rcpt_count; i++) {
		ans[i].status = d.res[i].status;
		ans[i].dsn = d.res[i].dsn;
		ans[i].reason = d.res[i].reason;
		ans[i].remote_mta = d.res[i].mta;
		ans[i].diag = d.res[i].diag;
		ans[i].in_reply_to = d.res[i].cmd;
		ans[i].dsn_passed = d.res[i].dsn_passed;
	}
	int ret = deliver_answer2_write(fd, ans, req.rcpt_count, d.site_dead,
					smtp_timeout_ms("ipc_timeout"), &error);
	if (ret < 0)
		log_warn("qmgr connection: cannot answer: %s", error);
	free(ans);
	free(d.res);
	deliver_request2_deinit(&req);
	return ret;
}

static void smtp_serve(int fd)
{
	struct ipc_reader *r = ipc_reader_new(SMTP_REQUEST_LINE_MAX,
					      DELIVER_REQUEST2_ATTRS_MAX);
	int idle_ms = smtp_timeout_ms("max_idle");
	struct ipc_msg msg;
	const char *error;

	/* As local: the hello says a process now serves this connection. */
	if (deliver_hello2_write(fd, smtp_timeout_ms("ipc_timeout"),
				 &error) < 0) {
		ipc_reader_free(&r);
		return;
	}
	while (!service_stopping()) {
		/* A cached server connection is closed when its time is
		 * up, whether or not qmgr has more work. */
		int cache_ms = smtp_cache_wait_ms(), wait_ms = idle_ms;
		bool cache_wait = cache_ms >= 0 && cache_ms < idle_ms;
		if (cache_wait)
			wait_ms = cache_ms;
		if (ipc_read_msg(fd, r, &msg, wait_ms, &error) < 0) {
			if (cache_wait && strcmp(error, "timeout") == 0) {
				smtp_cache_close();
				continue;
			}
			if (strcmp(error, "connection closed") != 0 &&
			    strcmp(error, "timeout") != 0)
				log_warn("qmgr connection: %s", error);
			break;
		}
		int ret = smtp_request(fd, &msg);
		ipc_msg_clear(&msg);
		if (ret < 0)
			break;
	}
	smtp_cache_close();
	ipc_reader_free(&r);
}

int main(int argc, char **argv)
{
	static const struct service_def def = {
		.name = "smtp",
		.pre_jail = smtp_pre_jail,
		.serve = smtp_serve,
	};

	service_main(argc, argv, &def);
}
