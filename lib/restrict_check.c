/* restrict_check: the restrictions, one function each, and the table
 * that names them. Replies and codes are Postfix's defaults
 * (reject_code 554, defer_code 450, relay_domains_reject_code 554,
 * non_fqdn_reject_code 504, invalid_hostname_reject_code 501,
 * unknown_address_reject_code 450, maps_rbl_reject_code 554). */
#include "config.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include "restrict_impl.h"

static enum restrict_verdict do_permit(const struct restrict_entry *e,
				       const struct restrict_ctx *ctx,
				       enum restrict_subject subj,
				       struct restrict_result *r)
{
	(void)ctx;
	(void)subj;
	r->by = e->def->name;
	return r->verdict = RESTRICT_PERMIT;
}

static enum restrict_verdict do_reject(const struct restrict_entry *e,
				       const struct restrict_ctx *ctx,
				       enum restrict_subject subj,
				       struct restrict_result *r)
{
	char name[512];

	return restrict_set(r, RESTRICT_REJECT, e->def->name,
			    "554 5.7.1 <%s>: %s rejected: Access denied",
			    restrict_subject_name(ctx, subj, name,
						  sizeof(name)),
			    restrict_subject_class(subj));
}

static enum restrict_verdict do_defer(const struct restrict_entry *e,
				      const struct restrict_ctx *ctx,
				      enum restrict_subject subj,
				      struct restrict_result *r)
{
	char name[512];

	return restrict_set(r, RESTRICT_DEFER, e->def->name,
			    "450 4.3.2 <%s>: %s rejected: Try again later",
			    restrict_subject_name(ctx, subj, name,
						  sizeof(name)),
			    restrict_subject_class(subj));
}

static enum restrict_verdict permit_mynetworks(const struct restrict_entry *e,
					       const struct restrict_ctx *ctx,
					       enum restrict_subject subj,
					       struct restrict_result *r)
{
	if (ctx->client_addr == NULL || ctx->in_mynetworks == NULL ||
	    !ctx->in_mynetworks(ctx->cb_ctx, ctx->client_addr))
		return RESTRICT_DUNNO;
	return do_permit(e, ctx, subj, r);
}

static enum restrict_verdict permit_sasl(const struct restrict_entry *e,
					 const struct restrict_ctx *ctx,
					 enum restrict_subject subj,
					 struct restrict_result *r)
{
	if (ctx->sasl_username == NULL || ctx->sasl_username[0] == '\0')
		return RESTRICT_DUNNO;
	return do_permit(e, ctx, subj, r);
}

/* The domain of an address (after the last '@'), or NULL. */
static const char *domain_of(const char *address)
{
	const char *at = address != NULL ? strrchr(address, '@') : NULL;

	return at != NULL ? at + 1 : NULL;
}

/* Sender-specified routing in the local part: user%host, host!user, or
 * a quoted "user@host" (Postfix's RESOLVE_FLAG_ROUTED; its
 * allow_untrusted_routing = no refuses to relay such mail). A source
 * route never gets here: the SMTP parser drops it (RFC 5321 C). */
static bool routed(const char *address)
{
	const char *at = strrchr(address, '@');
	size_t len = at != NULL ? (size_t)(at - address) : strlen(address);

	for (size_t i = 0; i < len; i++)
		if (address[i] == '@' || address[i] == '%' ||
		    address[i] == '!')
			return true;
	return false;
}

static enum restrict_verdict unauth_dest(const struct restrict_entry *e,
					 const struct restrict_ctx *ctx,
					 struct restrict_result *r, bool defer)
{
	const char *rcpt = ctx->recipient, *domain = domain_of(rcpt);
	int local = 0;

	if (rcpt == NULL)
		return RESTRICT_DUNNO;
	if (domain != NULL && !routed(rcpt) && ctx->domain_is_local != NULL)
		local = ctx->domain_is_local(ctx->cb_ctx, domain);
	if (local > 0)
		return RESTRICT_DUNNO;
	if (local < 0)
		return restrict_set(r, RESTRICT_DEFER, e->def->name,
				    "451 4.3.0 <%s>: Temporary lookup failure",
				    rcpt);
	if (defer)
		return restrict_set(r, RESTRICT_DEFER, e->def->name,
				    "450 4.7.1 <%s>: Relay access denied",
				    rcpt);
	return restrict_set(r, RESTRICT_REJECT, e->def->name,
			    "554 5.7.1 <%s>: Relay access denied", rcpt);
}

static enum restrict_verdict reject_unauth(const struct restrict_entry *e,
					   const struct restrict_ctx *ctx,
					   enum restrict_subject subj,
					   struct restrict_result *r)
{
	(void)subj;
	return unauth_dest(e, ctx, r, false);
}

static enum restrict_verdict defer_unauth(const struct restrict_entry *e,
					  const struct restrict_ctx *ctx,
					  enum restrict_subject subj,
					  struct restrict_result *r)
{
	(void)subj;
	return unauth_dest(e, ctx, r, true);
}

static bool is_literal(const char *domain)
{
	return domain[0] == '[';
}

/* Postfix's valid_hostname: labels of letters, digits, '-' and '_', not
 * starting or ending with '-', at most 63 octets, 255 in all, not all
 * numeric. An address literal must hold a valid address. */
static bool valid_hostname(const char *name)
{
	size_t len = strlen(name), label = 0;
	bool numeric = true;

	if (len > 2 && name[0] == '[' && name[len - 1] == ']') {
		char addr[64];
		struct in6_addr a6;
		if (len - 2 >= sizeof(addr))
			return false;
		memcpy(addr, name + 1, len - 2);
		addr[len - 2] = '\0';
		if (strncasecmp(addr, "IPv6:", 5) == 0)
			return inet_pton(AF_INET6, addr + 5, &a6) == 1;
		return inet_pton(AF_INET, addr, &a6) == 1;
	}
	if (len == 0 || len > 255)
		return false;
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || name[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-' && c != '_')
			return false;
		if ((label == 0 && c == '-') || ++label > 63)
			return false;
		if (!isdigit(c))
			numeric = false;
	}
	return !numeric;
}

static enum restrict_verdict invalid_helo(const struct restrict_entry *e,
					  const struct restrict_ctx *ctx,
					  enum restrict_subject subj,
					  struct restrict_result *r)
{
	(void)subj;
	if (ctx->helo == NULL || valid_hostname(ctx->helo))
		return RESTRICT_DUNNO;
	return restrict_set(r, RESTRICT_REJECT, e->def->name,
			    "501 5.5.2 <%s>: Helo command rejected: "
			    "Invalid name", ctx->helo);
}

static enum restrict_verdict non_fqdn_helo(const struct restrict_entry *e,
					   const struct restrict_ctx *ctx,
					   enum restrict_subject subj,
					   struct restrict_result *r)
{
	(void)subj;
	if (ctx->helo == NULL || is_literal(ctx->helo) ||
	    (strchr(ctx->helo, '.') != NULL &&
	     ctx->helo[strlen(ctx->helo) - 1] != '.'))
		return RESTRICT_DUNNO;
	return restrict_set(r, RESTRICT_REJECT, e->def->name,
			    "504 5.5.2 <%s>: Helo command rejected: need "
			    "fully-qualified hostname", ctx->helo);
}

/* An address is fully qualified when its domain has a dot inside it or
 * is an address literal. The null sender is fine. */
static enum restrict_verdict non_fqdn(const struct restrict_entry *e,
				      const char *address,
				      enum restrict_subject subj,
				      struct restrict_result *r)
{
	const char *domain = domain_of(address);

	if (address == NULL || address[0] == '\0')
		return RESTRICT_DUNNO;
	if (domain != NULL && domain[0] != '\0' &&
	    (is_literal(domain) || (strchr(domain, '.') != NULL &&
				    domain[strlen(domain) - 1] != '.')))
		return RESTRICT_DUNNO;
	return restrict_set(r, RESTRICT_REJECT, e->def->name,
			    "504 5.5.2 <%s>: %s rejected: need "
			    "fully-qualified address", address,
			    restrict_subject_class(subj));
}

static enum restrict_verdict non_fqdn_sender(const struct restrict_entry *e,
					     const struct restrict_ctx *ctx,
					     enum restrict_subject subj,
					     struct restrict_result *r)
{
	(void)subj;
	return non_fqdn(e, ctx->sender, RESTRICT_SUBJ_SENDER, r);
}

static enum restrict_verdict non_fqdn_rcpt(const struct restrict_entry *e,
					   const struct restrict_ctx *ctx,
					   enum restrict_subject subj,
					   struct restrict_result *r)
{
	(void)subj;
	return non_fqdn(e, ctx->recipient, RESTRICT_SUBJ_RECIPIENT, r);
}

/* No MX and no A/AAAA: unknown_address_reject_code (450: a DNS hiccup
 * must not bounce mail), a null MX: 556 (RFC 7505 3.2, 3.3). */
static enum restrict_verdict unknown_domain(const struct restrict_entry *e,
					    const struct restrict_ctx *ctx,
					    const char *address,
					    enum restrict_subject subj,
					    struct restrict_result *r)
{
	const char *domain = domain_of(address);
	const char *cls = restrict_subject_class(subj);
	bool sender = subj == RESTRICT_SUBJ_SENDER;

	if (domain == NULL || domain[0] == '\0' || is_literal(domain) ||
	    ctx->dns_domain == NULL)
		return RESTRICT_DUNNO;
	switch (ctx->dns_domain(ctx->cb_ctx, domain)) {
	case RESTRICT_DNS_FOUND:
		return RESTRICT_DUNNO;
	case RESTRICT_DNS_NOTFOUND:
		return restrict_set(r, RESTRICT_DEFER, e->def->name,
				    "450 %s <%s>: %s rejected: Domain not "
				    "found", sender ? "4.1.8" : "4.1.2",
				    address, cls);
	case RESTRICT_DNS_NULLMX:
		return restrict_set(r, RESTRICT_REJECT, e->def->name,
				    "556 %s <%s>: %s rejected: Domain %s does "
				    "not accept mail (nullMX)",
				    sender ? "5.7.27" : "5.1.10", address, cls,
				    domain);
	case RESTRICT_DNS_TEMPFAIL:
		break;
	}
	/* unknown_address_tempfail_action = defer_if_permit: a later
	 * reject still rejects, a permit waits for DNS to come back. */
	restrict_defer_if(r, true,
			  "450 4.4.3 <%s>: %s rejected: Domain not found",
			  address, cls);
	return RESTRICT_DUNNO;
}

static enum restrict_verdict unknown_sender(const struct restrict_entry *e,
					    const struct restrict_ctx *ctx,
					    enum restrict_subject subj,
					    struct restrict_result *r)
{
	(void)subj;
	return unknown_domain(e, ctx, ctx->sender, RESTRICT_SUBJ_SENDER, r);
}

/* Only for domains we are not the final destination of: ours are
 * checked against our own tables. */
static enum restrict_verdict unknown_rcpt(const struct restrict_entry *e,
					  const struct restrict_ctx *ctx,
					  enum restrict_subject subj,
					  struct restrict_result *r)
{
	const char *domain = domain_of(ctx->recipient);

	(void)subj;
	if (domain == NULL || ctx->domain_is_local == NULL ||
	    ctx->domain_is_local(ctx->cb_ctx, domain) != 0)
		return RESTRICT_DUNNO;
	return unknown_domain(e, ctx, ctx->recipient,
			      RESTRICT_SUBJ_RECIPIENT, r);
}

#define N RESTRICT_RELAY_NEUTRAL
const struct restrict_def restrict_defs[] = {
	{ "permit", false, do_permit, RESTRICT_RELAY_PERMIT, 0 },
	{ "reject", false, do_reject, RESTRICT_RELAY_STOP, 0 },
	{ "defer", false, do_defer, RESTRICT_RELAY_STOP, 0 },
	{ "permit_mynetworks", false, permit_mynetworks, N, 0 },
	{ "permit_sasl_authenticated", false, permit_sasl, N, 0 },
	{ "reject_unauth_destination", false, reject_unauth,
	  RESTRICT_RELAY_STOP, 0 },
	{ "defer_unauth_destination", false, defer_unauth,
	  RESTRICT_RELAY_STOP, 0 },
	{ "reject_unknown_sender_domain", false, unknown_sender, N, 0 },
	{ "reject_unknown_recipient_domain", false, unknown_rcpt, N, 0 },
	{ "reject_non_fqdn_sender", false, non_fqdn_sender, N, 0 },
	{ "reject_non_fqdn_recipient", false, non_fqdn_rcpt, N, 0 },
	{ "reject_non_fqdn_helo_hostname", false, non_fqdn_helo, N, 0 },
	{ "reject_invalid_helo_hostname", false, invalid_helo, N, 0 },
	{ "reject_unknown_helo_hostname", false, restrict_dns_unknown_helo,
	  N, 0 },
	{ "reject_unknown_client_hostname", false,
	  restrict_dns_unknown_client, N, 0 },
	{ "reject_unknown_reverse_client_hostname", false,
	  restrict_dns_unknown_reverse, N, 0 },
	{ "reject_rbl_client", true, restrict_dns_rbl_client, N, 0 },
	{ "reject_rhsbl_client", true, restrict_dns_rhsbl_client, N, 0 },
	{ "reject_rhsbl_reverse_client", true,
	  restrict_dns_rhsbl_reverse_client, N, 0 },
	{ "reject_rhsbl_helo", true, restrict_dns_rhsbl_helo, N, 0 },
	{ "reject_rhsbl_sender", true, restrict_dns_rhsbl_sender, N, 0 },
	{ "reject_rhsbl_recipient", true, restrict_dns_rhsbl_recipient, N,
	  0 },
	{ "reject_sender_login_mismatch", false, restrict_login_both, N, 0 },
	{ "reject_authenticated_sender_login_mismatch", false,
	  restrict_login_auth, N, 0 },
	{ "reject_unauthenticated_sender_login_mismatch", false,
	  restrict_login_unauth, N, 0 },
	{ "reject_known_sender_login_mismatch", false, restrict_login_known,
	  N, 0 },
	{ "check_client_access", true, restrict_access_check, N,
	  RESTRICT_SUBJ_CLIENT },
	{ "check_helo_access", true, restrict_access_check, N,
	  RESTRICT_SUBJ_HELO },
	{ "check_sender_access", true, restrict_access_check, N,
	  RESTRICT_SUBJ_SENDER },
	{ "check_recipient_access", true, restrict_access_check, N,
	  RESTRICT_SUBJ_RECIPIENT },
};
#undef N
const size_t restrict_defs_count =
	sizeof(restrict_defs) / sizeof(restrict_defs[0]);
