/* restrict_access: check_{client,helo,sender,recipient}_access. The
 * look-up keys in Postfix's order (access(5)), and the actions of a
 * table value. An action we do not know, or one whose argument is
 * malformed, is a server configuration error (451 4.3.5, with a
 * warning), never silently ignored. Not reentrant: the key list is one
 * static array (single-threaded daemons). */
#include "config.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "restrict_impl.h"

#define KEY_MAX 1100

/* A DSN "D.DDD.DDD" at the start of text, of class cls ('4' or '5');
 * its length (without the space after it), or 0. */
static size_t dsn_prefix(const char *text, char cls)
{
	size_t i = 0, digits;

	if (text[0] != cls || text[1] != '.')
		return 0;
	i = 2;
	for (int part = 0; part < 2; part++) {
		for (digits = 0; isdigit((unsigned char)text[i]); i++)
			digits++;
		if (digits == 0 || digits > 3)
			return 0;
		if (part == 0 && text[i++] != '.')
			return 0;
	}
	return text[i] == ' ' || text[i] == '\0' ? i : 0;
}

/* "CODE DSN <name>: Class rejected: text" where text may start with
 * its own DSN. */
static enum restrict_verdict access_reply(struct restrict_result *r,
					  enum restrict_verdict v,
					  unsigned code, const char *text,
					  const struct restrict_ctx *ctx,
					  enum restrict_subject subj)
{
	char cls = v == RESTRICT_DEFER ? '4' : '5', dsn[16], name[512];
	size_t n = dsn_prefix(text, cls);

	snprintf(dsn, sizeof(dsn), "%c.7.1", cls);
	if (n > 0) {
		snprintf(dsn, sizeof(dsn), "%.*s", (int)n, text);
		text += n + strspn(text + n, " ");
	}
	if (text[0] == '\0')
		text = "Access denied";
	return restrict_set(r, v, "access", "%u %s <%s>: %s rejected: %s",
			    code, dsn,
			    restrict_subject_name(ctx, subj, name, sizeof(name)),
			    restrict_subject_class(subj), text);
}

/* DEFER_IF_PERMIT, DEFER_IF_REJECT: access_map_defer_code (450) 4.7.1,
 * the text or Postfix's generic one; decided by restrict_eval_all. */
static enum restrict_verdict defer_if(struct restrict_result *r,
				      bool permit, const char *text,
				      const struct restrict_ctx *ctx,
				      enum restrict_subject subj)
{
	char name[512];

	restrict_defer_if(r, permit, "450 4.7.1 <%s>: %s rejected: %s",
			  restrict_subject_name(ctx, subj, name, sizeof(name)),
			  restrict_subject_class(subj),
			  text[0] != '\0' ? text : "Service unavailable");
	return r->verdict = RESTRICT_DUNNO;
}

static enum restrict_verdict config_error(struct restrict_result *r,
					  const struct restrict_ctx *ctx,
					  const char *why, const char *value)
{
	char msg[256];

	if (ctx->note != NULL) {
		snprintf(msg, sizeof(msg), "access table: %s: \"%.120s\"", why,
			 value);
		ctx->note(ctx->cb_ctx, RESTRICT_NOTE_WARN, msg);
	}
	return restrict_set(r, RESTRICT_DEFER, "access",
			    "451 4.3.5 Server configuration error");
}

/* "Name: value": a field name of printable ASCII without ':' (RFC 5322
 * 3.6.8), no control characters anywhere, and one line of at most 998
 * octets (RFC 5322 2.1.1). */
static bool valid_header(const char *h)
{
	const char *colon = strchr(h, ':');

	if (colon == NULL || colon == h || strlen(h) > 998)
		return false;
	for (const char *p = h; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
		if (p < colon && (c <= 0x20 || c >= 0x7f))
			return false;
	}
	return true;
}

/* REDIRECT and BCC take one user@domain: a local part and a domain,
 * both non-empty, no white space or control characters, at most 254
 * octets (RFC 5321 4.5.3.1.3 less the brackets). A quoted local part
 * with spaces is not worth the complexity here. */
static bool valid_target(const char *a)
{
	const char *at = strrchr(a, '@');
	size_t len = strlen(a);

	if (at == NULL || at == a || at[1] == '\0' || len > 254)
		return false;
	for (const char *p = a; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '<' ||
		    *p == '>' || *p == ',')
			return false;
	return true;
}

/* FILTER's transport:destination: a master.cf service name (letters,
 * digits, '-', '_', '.') before the colon, printable ASCII after. The
 * destination's own syntax is checked where it is used (qmgr). */
static bool valid_filter(const char *f)
{
	size_t name = strspn(f, "abcdefghijklmnopqrstuvwxyz"
			     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.");

	if (name == 0 || f[name] != ':' || strlen(f) > 512)
		return false;
	for (const char *p = f; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return false;
	return true;
}

static void note(const struct restrict_ctx *ctx, enum restrict_note n,
		 const char *text)
{
	if (ctx->note != NULL)
		ctx->note(ctx->cb_ctx, n, text);
}

static bool all_digits(const char *s)
{
	return s[0] != '\0' && strspn(s, "0123456789") == strlen(s);
}

/* A "4NN text" or "5NN text" value: its code, or 0. */
static unsigned numeric_code(const char *cmd, size_t len)
{
	if (len != 3 || (cmd[0] != '4' && cmd[0] != '5') ||
	    !isdigit((unsigned char)cmd[1]) || !isdigit((unsigned char)cmd[2]))
		return 0;
	return (unsigned)((cmd[0] - '0') * 100 + (cmd[1] - '0') * 10 +
			  (cmd[2] - '0'));
}

static enum restrict_verdict apply(const char *value,
				   enum restrict_subject subj,
				   const struct restrict_ctx *ctx,
				   struct restrict_result *r)
{
	const char *v = value + strspn(value, " \t");
	size_t len = strcspn(v, " \t");
	const char *text = v + len + strspn(v + len, " \t");
	unsigned code;

#define IS(word) (len == strlen(word) && strncasecmp(v, word, len) == 0)
	if (all_digits(v) || IS("OK"))
		return restrict_set(r, RESTRICT_PERMIT, "access", "OK");
	if (IS("DUNNO"))
		return r->verdict = RESTRICT_DUNNO;
	if (IS("REJECT"))
		return access_reply(r, RESTRICT_REJECT, 554, text, ctx, subj);
	if (IS("DEFER"))
		return access_reply(r, RESTRICT_DEFER, 450, text, ctx, subj);
	if ((code = numeric_code(v, len)) != 0)
		return access_reply(r, code < 500 ? RESTRICT_DEFER
						  : RESTRICT_REJECT,
				    code, text, ctx, subj);
	if (IS("HOLD") || IS("WARN")) {
		note(ctx, IS("HOLD") ? RESTRICT_NOTE_HOLD : RESTRICT_NOTE_WARN,
		     text);
		return r->verdict = RESTRICT_DUNNO;
	}
	if (IS("DISCARD")) {
		note(ctx, RESTRICT_NOTE_DISCARD, text);
		return restrict_set(r, RESTRICT_PERMIT, "access", "DISCARD");
	}
	if (IS("DEFER_IF_PERMIT") || IS("DEFER_IF_REJECT"))
		return defer_if(r, IS("DEFER_IF_PERMIT"), text, ctx, subj);
	if (IS("REDIRECT") || IS("BCC")) {
		if (!valid_target(text))
			return config_error(r, ctx, IS("BCC") ?
					    "BCC needs user@domain" :
					    "REDIRECT needs user@domain",
					    value);
		note(ctx, IS("BCC") ? RESTRICT_NOTE_BCC
				    : RESTRICT_NOTE_REDIRECT, text);
		return r->verdict = RESTRICT_DUNNO;
	}
	if (IS("FILTER")) {
		if (!valid_filter(text))
			return config_error(r, ctx, "FILTER needs "
					    "transport:destination", value);
		note(ctx, RESTRICT_NOTE_FILTER, text);
		return r->verdict = RESTRICT_DUNNO;
	}
	if (IS("INFO")) {
		note(ctx, RESTRICT_NOTE_INFO, text);
		return r->verdict = RESTRICT_DUNNO;
	}
	if (IS("PREPEND")) {
		if (!valid_header(text))
			return config_error(r, ctx, "bad PREPEND header",
					    value);
		note(ctx, RESTRICT_NOTE_PREPEND, text);
		return r->verdict = RESTRICT_DUNNO;
	}
#undef IS
	return config_error(r, ctx, "unknown or unsupported action", value);
}

enum restrict_verdict restrict_access_value(const char *value,
					    enum restrict_stage stage,
					    const struct restrict_ctx *ctx,
					    struct restrict_result *result)
{
	memset(result, 0, sizeof(*result));
	return apply(value, restrict_stage_subject(stage), ctx, result);
}

/* ---- look-up keys ---- */

struct keys {
	char k[40][KEY_MAX];
	size_t count;
};

/* Adds the key a followed by b (a too long key is skipped: no table
 * holds one, MAPS_KEY_MAX). */
static void add_key(struct keys *keys, const char *a, const char *b)
{
	if (keys->count >= sizeof(keys->k) / sizeof(keys->k[0]))
		return;
	int n = snprintf(keys->k[keys->count], KEY_MAX, "%s%s", a, b);
	if (n > 0 && n < KEY_MAX)
		keys->count++;
}

/* The name, then its parent domains (parent_domain_matches_subdomains
 * holds smtpd_access_maps in Postfix's default). */
static void domain_keys(struct keys *keys, const char *name)
{
	for (const char *p = name; p != NULL && *p != '\0';) {
		add_key(keys, p, "");
		p = strchr(p, '.');
		if (p != NULL)
			p++;
	}
}

/* The address, then its prefixes: 1.2.3.4, 1.2.3, 1.2, 1 (IPv6: by
 * ':'-separated groups, as Postfix). */
static void addr_keys(struct keys *keys, const char *addr)
{
	char buf[64];
	char sep = strchr(addr, ':') != NULL ? ':' : '.';

	if (snprintf(buf, sizeof(buf), "%s", addr) >= (int)sizeof(buf))
		return;
	for (;;) {
		if (buf[0] != '\0')
			add_key(keys, buf, "");
		char *last = strrchr(buf, sep);
		if (last == NULL)
			break;
		*last = '\0';
	}
}

static void client_keys(struct keys *keys, const struct restrict_ctx *ctx)
{
	if (ctx->client_name != NULL &&
	    strcmp(ctx->client_name, "unknown") != 0)
		domain_keys(keys, ctx->client_name);
	if (ctx->client_addr != NULL)
		addr_keys(keys, ctx->client_addr);
}

/* user+ext@domain, user@domain, domain (and parents), user+ext@, user@;
 * the null sender is "<>" (smtpd_null_access_lookup_key). */
static void address_keys(struct keys *keys, const struct restrict_ctx *ctx,
			 const char *address)
{
	const char *at = strrchr(address, '@'), *d = ctx->recipient_delimiter;
	char local[KEY_MAX], base[KEY_MAX];

	if (address[0] == '\0') {
		add_key(keys, "<>", "");
		return;
	}
	size_t llen = at != NULL ? (size_t)(at - address) : strlen(address);
	if (llen >= sizeof(local))
		return;
	memcpy(local, address, llen);
	local[llen] = '\0';
	snprintf(base, sizeof(base), "%s", local);
	if (d != NULL && d[0] != '\0')
		base[strcspn(base, d)] = '\0';
	bool ext = strcmp(base, local) != 0 && base[0] != '\0';
	add_key(keys, address, "");
	if (ext && at != NULL)
		add_key(keys, base, at);
	if (at != NULL)
		domain_keys(keys, at + 1);
	add_key(keys, local, "@");
	if (ext)
		add_key(keys, base, "@");
}

enum restrict_verdict restrict_access_check(const struct restrict_entry *e,
					    const struct restrict_ctx *ctx,
					    enum restrict_subject unused,
					    struct restrict_result *r)
{
	static struct keys keys;	/* 44 KB: not on the stack */
	enum restrict_subject subj = e->def->subject;
	const char *value, *subject;
	char name[512];

	(void)unused;
	keys.count = 0;
	subject = restrict_subject_name(ctx, subj, name, sizeof(name));
	if (subj == RESTRICT_SUBJ_CLIENT)
		client_keys(&keys, ctx);
	else if (subj == RESTRICT_SUBJ_HELO && ctx->helo != NULL)
		domain_keys(&keys, ctx->helo);
	else if (subj == RESTRICT_SUBJ_SENDER && ctx->sender != NULL)
		address_keys(&keys, ctx, ctx->sender);
	else if (subj == RESTRICT_SUBJ_RECIPIENT && ctx->recipient != NULL)
		address_keys(&keys, ctx, ctx->recipient);
	for (size_t i = 0; i < keys.count && ctx->table_lookup != NULL; i++) {
		int ret = ctx->table_lookup(ctx->cb_ctx, e->table, keys.k[i],
					    &value);
		if (ret < 0)
			return restrict_set(r, RESTRICT_DEFER, e->def->name,
					    "451 4.3.0 <%s>: Temporary lookup "
					    "failure", subject);
		if (ret == 0)
			continue;
		/* The first key found decides, DUNNO included: it stops
		 * the search for shorter keys (access(5)). */
		enum restrict_verdict v = apply(value, subj, ctx, r);
		if (r->by != NULL && strcmp(r->by, "access") == 0)
			r->by = e->def->name;
		return v;
	}
	return RESTRICT_DUNNO;
}
