/* restrict_login: who may use which sender address (Postfix's
 * smtpd_sender_login_maps and its reject_*_sender_login_mismatch
 * restrictions). The caller's sender_owners callback looks the MAIL FROM
 * address up (Postfix's order: the address, then "@domain") and gives
 * the owning login names, separated by commas or white space. The null
 * sender is never checked (bounces have no owner). */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "restrict_impl.h"

enum owners { OWNERS_NONE, OWNERS_LISTED, OWNERS_TEMPFAIL };

/* Whether login is one of the owners in list. */
static bool owns(const char *list, const char *login)
{
	size_t len = strlen(login);

	for (const char *p = list; *p != '\0';) {
		p += strspn(p, ", \t");
		size_t n = strcspn(p, ", \t");
		if (n == len && strncasecmp(p, login, len) == 0)
			return true;
		p += n;
	}
	return false;
}

/* The sender's owners: *list_r when listed. */
static enum owners lookup(const struct restrict_ctx *ctx, const char **list_r)
{
	if (ctx->sender_owners == NULL)
		return OWNERS_NONE;
	int r = ctx->sender_owners(ctx->cb_ctx, ctx->sender, list_r);
	return r > 0 ? OWNERS_LISTED : r == 0 ? OWNERS_NONE : OWNERS_TEMPFAIL;
}

/* The checks: authenticated (an unlisted sender counts unless
 * known_only) and unauthenticated ones (a listed sender is refused). */
static enum restrict_verdict mismatch(const struct restrict_entry *e,
				      const struct restrict_ctx *ctx,
				      struct restrict_result *r, bool auth,
				      bool unauth, bool known_only)
{
	const char *list = NULL;
	bool authenticated = ctx->sasl_username != NULL &&
			     ctx->sasl_username[0] != '\0';

	if (ctx->sender == NULL || ctx->sender[0] == '\0' ||
	    (authenticated ? !auth : !unauth))
		return RESTRICT_DUNNO;
	enum owners o = lookup(ctx, &list);
	if (o == OWNERS_TEMPFAIL)
		return restrict_set(r, RESTRICT_DEFER, e->def->name,
				    "451 4.3.0 <%s>: Sender address rejected: "
				    "Server configuration error", ctx->sender);
	if (!authenticated)
		return o == OWNERS_LISTED ?
			restrict_set(r, RESTRICT_REJECT, e->def->name,
				     "553 5.7.1 <%s>: Sender address rejected: "
				     "not logged in", ctx->sender) :
			RESTRICT_DUNNO;
	if ((o == OWNERS_NONE && known_only) ||
	    (o == OWNERS_LISTED && owns(list, ctx->sasl_username)))
		return RESTRICT_DUNNO;
	return restrict_set(r, RESTRICT_REJECT, e->def->name,
			    "553 5.7.1 <%s>: Sender address rejected: not "
			    "owned by user %s", ctx->sender,
			    ctx->sasl_username);
}

enum restrict_verdict restrict_login_both(const struct restrict_entry *e,
					  const struct restrict_ctx *ctx,
					  enum restrict_subject subj,
					  struct restrict_result *r)
{
	(void)subj;
	return mismatch(e, ctx, r, true, true, false);
}

enum restrict_verdict restrict_login_auth(const struct restrict_entry *e,
					  const struct restrict_ctx *ctx,
					  enum restrict_subject subj,
					  struct restrict_result *r)
{
	(void)subj;
	return mismatch(e, ctx, r, true, false, false);
}

enum restrict_verdict restrict_login_unauth(const struct restrict_entry *e,
					    const struct restrict_ctx *ctx,
					    enum restrict_subject subj,
					    struct restrict_result *r)
{
	(void)subj;
	return mismatch(e, ctx, r, false, true, false);
}

enum restrict_verdict restrict_login_known(const struct restrict_entry *e,
					   const struct restrict_ctx *ctx,
					   enum restrict_subject subj,
					   struct restrict_result *r)
{
	(void)subj;
	return mismatch(e, ctx, r, true, true, true);
}
