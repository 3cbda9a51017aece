/* restrict_dns: the restrictions that ask DNS about the client, its HELO
 * name or an address's domain: reject_rbl_client, the reject_rhsbl_*
 * family, reject_unknown_{client,reverse_client,helo}_hostname. Every
 * look-up goes through the caller's callbacks (restrict.h). Replies
 * are Postfix's: default_rbl_reply ("$rbl_code Service unavailable;
 * $rbl_class [$rbl_what] blocked using $rbl_domain${rbl_reason?;
 * $rbl_reason}", the reason from the listing's TXT record), or the
 * zone's template from the caller (rbl_reply_maps), with
 * maps_rbl_reject_code 554, and unknown_client_reject_code /
 * unknown_hostname_reject_code 450. A DNS failure is a
 * defer_if_permit (Postfix's *_tempfail_action), except for DNSBLs:
 * a list that does not answer lists nobody. */
#include "config.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "restrict_impl.h"

#define DNS_NAME_MAX_LEN 253
/* The most of a TXT record that goes into a reply: the rest of
 * RESTRICT_REPLY_MAX is for the fixed text, the name and the zone. */
#define RBL_REASON_MAX 160

/* The DNSBL query name: the address's octets (IPv4) or nibbles (IPv6)
 * reversed, then the zone. -1 when addr is not an address or the name
 * is too long. */
static int rbl_name(const char *addr, const char *zone, char *buf,
		    size_t size)
{
	unsigned char b[16];
	size_t len = 0;
	int n;

	if (inet_pton(AF_INET, addr, b) == 1) {
		n = snprintf(buf, size, "%u.%u.%u.%u.%s", b[3], b[2], b[1],
			     b[0], zone);
		return n < 0 || (size_t)n > DNS_NAME_MAX_LEN ? -1 : 0;
	}
	if (inet_pton(AF_INET6, addr, b) != 1)
		return -1;
	for (int i = 15; i >= 0; i--) {
		n = snprintf(buf + len, size - len, "%x.%x.", b[i] & 0xf,
			     b[i] >> 4);
		len += (size_t)n;
	}
	n = snprintf(buf + len, size - len, "%s", zone);
	return n < 0 || len + (size_t)n > DNS_NAME_MAX_LEN ? -1 : 0;
}

/* Is qname listed: an A record (equal to e->filter when there is one)?
 * A temporary failure is a warning and no listing. */
static bool rbl_listed(const struct restrict_entry *e,
		       const struct restrict_ctx *ctx, const char *qname,
		       const char *what)
{
	char addrs[RESTRICT_DNS_ADDR_MAX][16], msg[DNS_NAME_MAX_LEN + 128];
	size_t count = 0;
	bool hit = e->filter == NULL;

	if (ctx->dns_a == NULL)
		return false;
	enum restrict_dns st = ctx->dns_a(ctx->cb_ctx, qname, addrs,
					  RESTRICT_DNS_ADDR_MAX, &count);
	if (st == RESTRICT_DNS_TEMPFAIL && ctx->note != NULL) {
		snprintf(msg, sizeof(msg), "%s: DNSBL look-up of %s failed "
			 "temporarily", e->arg, what);
		ctx->note(ctx->cb_ctx, RESTRICT_NOTE_WARN, msg);
	}
	if (st != RESTRICT_DNS_FOUND)
		return false;
	for (size_t i = 0; i < count && i < RESTRICT_DNS_ADDR_MAX && !hit;
	     i++)
		hit = strncmp(addrs[i], e->filter, sizeof(addrs[i])) == 0;
	return hit;
}

/* Postfix's default_rbl_reply. */
static const char default_reply[] =
	"$rbl_code Service unavailable; $rbl_class [$rbl_what] blocked "
	"using $rbl_domain${rbl_reason?; $rbl_reason}";

static const char *domain_of(const char *address)
{
	const char *at = address != NULL ? strrchr(address, '@') : NULL;

	return at != NULL ? at + 1 : NULL;
}

/* The local part of an address ("<>" for the null address). */
static const char *local_of(const char *address, char *buf, size_t size)
{
	const char *at;

	if (address == NULL)
		return "";
	if (address[0] == '\0')
		return "<>";
	at = strrchr(address, '@');
	snprintf(buf, size, "%.*s", (int)(at != NULL ? at - address
					 : (ptrdiff_t)strlen(address)),
		 address);
	return buf;
}

/* A template's expansion is a reply: "4NN " or "5NN ", then an
 * enhanced status code of that class, added (X.7.1) when missing. */
static enum restrict_verdict template_reply(const struct restrict_entry *e,
					    const struct restrict_ctx *ctx,
					    const char *text,
					    struct restrict_result *r)
{
	char cls = text[0];

	if ((cls != '4' && cls != '5') || !isdigit((unsigned char)text[1]) ||
	    !isdigit((unsigned char)text[2]) || text[3] != ' ') {
		if (ctx->note != NULL)
			ctx->note(ctx->cb_ctx, RESTRICT_NOTE_WARN,
				  "DNSBL reply template: the reply must start "
				  "with a 4NN or 5NN code");
		return restrict_set(r, RESTRICT_DEFER, e->def->name,
				    "451 4.3.5 Server configuration error");
	}
	enum restrict_verdict v = cls == '4' ? RESTRICT_DEFER : RESTRICT_REJECT;
	const char *rest = text + 4;
	bool dsn = rest[0] == cls && rest[1] == '.' &&
		   strspn(rest + 2, "0123456789.") > 2;
	return restrict_set(r, v, e->def->name, "%.3s %s%s", text,
			    dsn ? "" : cls == '4' ? "4.7.1 " : "5.7.1 ", rest);
}

/* The reject, with the TXT record of qname as $rbl_reason when the
 * list publishes one (a failed TXT look-up: no reason, still listed),
 * in the zone's reply template. */
static enum restrict_verdict rbl_reject(const struct restrict_entry *e,
					const struct restrict_ctx *ctx,
					const char *qname,
					enum restrict_subject subj,
					const char *what,
					struct restrict_result *r)
{
	char reason[RBL_REASON_MAX + 1] = "", client[512], sname[256],
	     rname[256], text[RESTRICT_REPLY_MAX];
	const char *tmpl = ctx->rbl_reply != NULL
		? ctx->rbl_reply(ctx->cb_ctx, e->arg) : NULL, *error;

	if (ctx->dns_txt == NULL ||
	    ctx->dns_txt(ctx->cb_ctx, qname, reason, sizeof(reason)) !=
		    RESTRICT_DNS_FOUND)
		reason[0] = '\0';
	restrict_sanitize(reason);
	const struct restrict_template_attr attrs[] = {
		{ "client", restrict_subject_name(ctx, RESTRICT_SUBJ_CLIENT,
						  client, sizeof(client)) },
		{ "client_address", ctx->client_addr },
		{ "client_name", ctx->client_name },
		{ "reverse_client_name", ctx->client_name },
		{ "helo_name", ctx->helo },
		{ "rbl_class", restrict_subject_class(subj) },
		{ "rbl_code", "554" },	/* maps_rbl_reject_code */
		{ "rbl_domain", e->arg },
		{ "rbl_reason", reason },
		{ "rbl_txt", reason },
		{ "rbl_what", what },
		{ "recipient", ctx->recipient != NULL && ctx->recipient[0] ==
			'\0' ? "<>" : ctx->recipient },
		{ "recipient_domain", domain_of(ctx->recipient) },
		{ "recipient_name", local_of(ctx->recipient, rname,
					     sizeof(rname)) },
		{ "sender", ctx->sender != NULL && ctx->sender[0] == '\0'
			? "<>" : ctx->sender },
		{ "sender_domain", domain_of(ctx->sender) },
		{ "sender_name", local_of(ctx->sender, sname, sizeof(sname)) },
	};
	if (restrict_template_expand(tmpl != NULL ? tmpl : default_reply,
				     attrs, sizeof(attrs) / sizeof(attrs[0]),
				     text, sizeof(text), &error) < 0) {
		if (ctx->note != NULL)
			ctx->note(ctx->cb_ctx, RESTRICT_NOTE_WARN, error);
		return restrict_set(r, RESTRICT_DEFER, e->def->name,
				    "451 4.3.5 Server configuration error");
	}
	return template_reply(e, ctx, text, r);
}

enum restrict_verdict restrict_dns_rbl_client(const struct restrict_entry *e,
					      const struct restrict_ctx *ctx,
					      enum restrict_subject subj,
					      struct restrict_result *r)
{
	char qname[DNS_NAME_MAX_LEN + 128];

	(void)subj;
	if (ctx->client_addr == NULL ||
	    rbl_name(ctx->client_addr, e->arg, qname, sizeof(qname)) < 0 ||
	    !rbl_listed(e, ctx, qname, ctx->client_addr))
		return RESTRICT_DUNNO;
	return rbl_reject(e, ctx, qname, RESTRICT_SUBJ_CLIENT,
			  ctx->client_addr, r);
}

/* The RHSBL check of domain (what: the name the reply shows). Literals
 * and names too long for the zone are not looked up. */
static enum restrict_verdict rhsbl(const struct restrict_entry *e,
				   const struct restrict_ctx *ctx,
				   const char *domain, const char *what,
				   enum restrict_subject subj,
				   struct restrict_result *r)
{
	char qname[DNS_NAME_MAX_LEN + 128];
	int n;

	if (domain == NULL || domain[0] == '\0' || domain[0] == '[')
		return RESTRICT_DUNNO;
	n = snprintf(qname, sizeof(qname), "%s.%s", domain, e->arg);
	if (n < 0 || n > DNS_NAME_MAX_LEN ||
	    !rbl_listed(e, ctx, qname, what))
		return RESTRICT_DUNNO;
	return rbl_reject(e, ctx, qname, subj, what, r);
}

/* The client's name (verified or not), or NULL when it has none. */
static const char *client_name(const struct restrict_ctx *ctx, bool verified)
{
	const char *name = NULL;

	if (ctx->client_hostname == NULL ||
	    ctx->client_hostname(ctx->cb_ctx, verified, &name) !=
		    RESTRICT_DNS_FOUND)
		return NULL;
	return name;
}

enum restrict_verdict restrict_dns_rhsbl_client(
	const struct restrict_entry *e, const struct restrict_ctx *ctx,
	enum restrict_subject subj, struct restrict_result *r)
{
	const char *name = client_name(ctx, true);

	(void)subj;
	return rhsbl(e, ctx, name, name, RESTRICT_SUBJ_CLIENT, r);
}

enum restrict_verdict restrict_dns_rhsbl_reverse_client(
	const struct restrict_entry *e, const struct restrict_ctx *ctx,
	enum restrict_subject subj, struct restrict_result *r)
{
	const char *name = client_name(ctx, false);

	(void)subj;
	return rhsbl(e, ctx, name, name, RESTRICT_SUBJ_CLIENT, r);
}

enum restrict_verdict restrict_dns_rhsbl_helo(const struct restrict_entry *e,
					      const struct restrict_ctx *ctx,
					      enum restrict_subject subj,
					      struct restrict_result *r)
{
	(void)subj;
	return rhsbl(e, ctx, ctx->helo, ctx->helo, RESTRICT_SUBJ_HELO, r);
}

enum restrict_verdict restrict_dns_rhsbl_sender(
	const struct restrict_entry *e, const struct restrict_ctx *ctx,
	enum restrict_subject subj, struct restrict_result *r)
{
	(void)subj;
	return rhsbl(e, ctx, domain_of(ctx->sender), ctx->sender,
		     RESTRICT_SUBJ_SENDER, r);
}

enum restrict_verdict restrict_dns_rhsbl_recipient(
	const struct restrict_entry *e, const struct restrict_ctx *ctx,
	enum restrict_subject subj, struct restrict_result *r)
{
	(void)subj;
	return rhsbl(e, ctx, domain_of(ctx->recipient), ctx->recipient,
		     RESTRICT_SUBJ_RECIPIENT, r);
}

/* reject_unknown_client_hostname (verified) and
 * reject_unknown_reverse_client_hostname: 450 4.7.25 (RFC 8601's code
 * for a failed reverse DNS check), as Postfix 3.x. */
static enum restrict_verdict unknown_client(const struct restrict_entry *e,
					    const struct restrict_ctx *ctx,
					    bool verified,
					    struct restrict_result *r)
{
	const char *name = NULL, *what = verified ? "hostname"
						  : "reverse hostname";
	const char *addr = ctx->client_addr;

	if (addr == NULL || ctx->client_hostname == NULL)
		return RESTRICT_DUNNO;
	switch (ctx->client_hostname(ctx->cb_ctx, verified, &name)) {
	case RESTRICT_DNS_FOUND:
		return RESTRICT_DUNNO;
	case RESTRICT_DNS_TEMPFAIL:
		restrict_defer_if(r, true, "450 4.7.25 Client host rejected: "
				  "cannot find your %s, [%s]", what, addr);
		return RESTRICT_DUNNO;
	default:
		return restrict_set(r, RESTRICT_DEFER, e->def->name,
				    "450 4.7.25 Client host rejected: cannot "
				    "find your %s, [%s]", what, addr);
	}
}

enum restrict_verdict restrict_dns_unknown_client(
	const struct restrict_entry *e, const struct restrict_ctx *ctx,
	enum restrict_subject subj, struct restrict_result *r)
{
	(void)subj;
	return unknown_client(e, ctx, true, r);
}

enum restrict_verdict restrict_dns_unknown_reverse(
	const struct restrict_entry *e, const struct restrict_ctx *ctx,
	enum restrict_subject subj, struct restrict_result *r)
{
	(void)subj;
	return unknown_client(e, ctx, false, r);
}

/* A HELO name with no A, AAAA or MX record (a null MX is a record):
 * 450 4.7.1 "Host not found"; address literals are not looked up. */
enum restrict_verdict restrict_dns_unknown_helo(
	const struct restrict_entry *e, const struct restrict_ctx *ctx,
	enum restrict_subject subj, struct restrict_result *r)
{
	const char *helo = ctx->helo;

	(void)subj;
	if (helo == NULL || helo[0] == '\0' || helo[0] == '[' ||
	    ctx->dns_domain == NULL)
		return RESTRICT_DUNNO;
	switch (ctx->dns_domain(ctx->cb_ctx, helo)) {
	case RESTRICT_DNS_FOUND:
	case RESTRICT_DNS_NULLMX:
		return RESTRICT_DUNNO;
	case RESTRICT_DNS_TEMPFAIL:
		restrict_defer_if(r, true, "450 4.7.1 <%s>: Helo command "
				  "rejected: Host not found", helo);
		return RESTRICT_DUNNO;
	default:
		return restrict_set(r, RESTRICT_DEFER, e->def->name,
				    "450 4.7.1 <%s>: Helo command rejected: "
				    "Host not found", helo);
	}
}
