/* transport: transport table entries and the recipient's lookup keys
 * (contract in transport.h). Table-driven: each transport names the
 * parser of its nexthop. */
#include "config.h"
#include "transport.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "buf.h"
#include "str.h"
#include "utf8.h"

#define ERROR_MAX 200
#define QUOTE_MAX 60

static struct buf error_buf;

static int fail(const char **error_r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int fail(const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	*error_r = buf_error_vset(&error_buf, ERROR_MAX,
				  "invalid transport entry", fmt, ap);
	va_end(ap);
	return -1;
}

static int parse_port(const char *s, uint16_t *port_r, const char **error_r)
{
	uint64_t v;

	/* str_to_u64 refuses signs, spaces and junk; the length check keeps
	 * the quoted text short. */
	if (strlen(s) > 5 || str_to_u64(s, &v) < 0 || v == 0 || v > 65535)
		return fail(error_r, "bad port \"%.*s\": a number from 1 to "
			    "65535 (service names are not supported)",
			    QUOTE_MAX, s);
	*port_r = (uint16_t)v;
	return 0;
}

/* True if the last label is all digits: no TLD is, so "192.0.2.256" or
 * "10.1" is a mistyped address, not a host name (RFC 1123 2.1). */
static bool numeric_tld(const char *name)
{
	const char *dot = strrchr(name, '.'), *s = dot != NULL ? dot + 1 : name;

	return strspn(s, "0123456789") == strlen(s);
}

/* host[0..len) as an address (bracketed form) or a domain. */
static int parse_host(const char *host, size_t len, bool bracketed,
		      struct transport_nexthop *r, const char **error_r)
{
	char tmp[ADDR_DOMAIN_MAX + 1];
	unsigned char bin[sizeof(struct in6_addr)];
	bool tagged = len >= 5 && strncasecmp(host, "IPv6:", 5) == 0;
	const char *error;

	if (len == 0)
		return fail(error_r, "empty host name");
	if (len >= sizeof(tmp))
		return fail(error_r, "host name longer than %d octets",
			    ADDR_DOMAIN_MAX);
	memcpy(tmp, host + (tagged && bracketed ? 5 : 0),
	       len - (tagged && bracketed ? 5 : 0));
	tmp[len - (tagged && bracketed ? 5 : 0)] = '\0';
	if (!tagged && inet_pton(AF_INET, tmp, bin) == 1) {
		if (!bracketed)
			return fail(error_r, "IP address \"%s\" must be in "
				    "[brackets]", tmp);
		r->kind = TRANSPORT_HOST_IPV4;
	} else if (bracketed && inet_pton(AF_INET6, tmp, bin) == 1) {
		r->kind = TRANSPORT_HOST_IPV6;
	} else if (tagged && bracketed) {
		return fail(error_r, "bad IPv6 address \"%s\"", tmp);
	} else if (addr_check_domain(tmp, strlen(tmp), 0, &error) < 0) {
		return fail(error_r, "bad host name \"%.*s\": %s", QUOTE_MAX,
			    tmp, error);
	} else if (numeric_tld(tmp)) {
		return fail(error_r, "bad host name \"%.*s\": a numeric top "
			    "label (RFC 1123 2.1)", QUOTE_MAX, tmp);
	} else {
		r->kind = TRANSPORT_HOST_DOMAIN;
	}
	if (r->kind != TRANSPORT_HOST_DOMAIN) {
		/* The canonical text, for logs and the connection cache. */
		if (inet_ntop(r->kind == TRANSPORT_HOST_IPV4 ? AF_INET :
			      AF_INET6, bin, r->host, sizeof(r->host)) == NULL)
			return fail(error_r, "bad address \"%s\"", tmp);
		return 0;
	}
	str_lower(tmp);
	return str_copy(r->host, sizeof(r->host), tmp) < 0 ?
		fail(error_r, "host name too long") : 0;
}

/* "[host]" ["]:port"]: no MX lookup. */
static int parse_bracketed(const char *s, struct transport_nexthop *r,
			   const char **error_r)
{
	const char *end = strchr(s, ']');

	if (end == NULL)
		return fail(error_r, "unbalanced brackets: no ']' in \"%.*s\"",
			    QUOTE_MAX, s);
	if (memchr(s + 1, '[', (size_t)(end - s - 1)) != NULL ||
	    strchr(end + 1, '[') != NULL || strchr(end + 1, ']') != NULL)
		return fail(error_r, "unbalanced brackets in \"%.*s\"",
			    QUOTE_MAX, s);
	if (end[1] != '\0' && end[1] != ':')
		return fail(error_r, "junk after ']' in \"%.*s\"", QUOTE_MAX,
			    s);
	if (parse_host(s + 1, (size_t)(end - s - 1), true, r, error_r) < 0)
		return -1;
	r->mx = false;
	return end[1] == ':' ? parse_port(end + 2, &r->port, error_r) : 0;
}

/* "host" [":port"]: an MX lookup for smtp. */
static int parse_plain(const char *s, struct transport_nexthop *r,
		       const char **error_r)
{
	const char *colon = strchr(s, ':');

	if (strchr(s, ']') != NULL)
		return fail(error_r, "unbalanced brackets: no '[' in \"%.*s\"",
			    QUOTE_MAX, s);
	if (strpbrk(s, ", \t") != NULL)
		return fail(error_r, "lists of next-hop destinations are not "
			    "supported: \"%.*s\"", QUOTE_MAX, s);
	if (colon != NULL && strchr(colon + 1, ':') != NULL)
		return fail(error_r, "an IPv6 address must be in [brackets]: "
			    "\"%.*s\"", QUOTE_MAX, s);
	if (parse_host(s, colon != NULL ? (size_t)(colon - s) : strlen(s),
		       false, r, error_r) < 0)
		return -1;
	r->mx = true;
	return colon != NULL ? parse_port(colon + 1, &r->port, error_r) : 0;
}

static int parse_unix(const char *path, struct transport_nexthop *r,
		      const char **error_r)
{
	if (path[0] != '/')
		return fail(error_r, "unix socket path \"%.*s\" is not "
			    "absolute", QUOTE_MAX, path);
	for (const char *p = path; *p != '\0'; p++)
		if ((unsigned char)*p < 0x21 || *p == 0x7f)
			return fail(error_r, "control character or space in "
				    "unix socket path");
	if (strlen(path) > TRANSPORT_PATH_MAX)
		return fail(error_r, "unix socket path longer than %d octets",
			    TRANSPORT_PATH_MAX);
	r->kind = TRANSPORT_HOST_UNIX;
	return str_copy(r->host, sizeof(r->host), path) < 0 ?
		fail(error_r, "unix socket path too long") : 0;
}

int transport_parse_nexthop(enum transport_type type, const char *s,
			    struct transport_nexthop *r, const char **error_r)
{
	int ret;

	memset(r, 0, sizeof(*r));
	if (type == TRANSPORT_LMTP && strncmp(s, "unix:", 5) == 0)
		return parse_unix(s + 5, r, error_r);
	if (type == TRANSPORT_LMTP && strncmp(s, "inet:", 5) == 0)
		s += 5;
	if (*s == '\0') {
		r->mx = type == TRANSPORT_SMTP || type == TRANSPORT_KEEP;
		return 0;
	}
	ret = *s == '[' ? parse_bracketed(s, r, error_r) :
		parse_plain(s, r, error_r);
	if (ret < 0) {
		memset(r, 0, sizeof(*r));
		return -1;
	}
	if (type == TRANSPORT_LMTP || type == TRANSPORT_LOCAL)
		r->mx = false;
	if (type == TRANSPORT_LOCAL && (r->port != 0 ||
					r->kind != TRANSPORT_HOST_DOMAIN)) {
		memset(r, 0, sizeof(*r));
		return fail(error_r, "local: takes only a host name");
	}
	return 0;
}

/* The text of error/retry/discard: printable, TAB or valid UTF-8. */
static int parse_text(const char *s, struct transport_entry *e,
		      const char **error_r)
{
	size_t len = strlen(s);

	if (len > TRANSPORT_TEXT_MAX)
		return fail(error_r, "text longer than %d octets",
			    TRANSPORT_TEXT_MAX);
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') ||
		    s[i] == 0x7f)
			return fail(error_r, "control character in text");
	if (!utf8_valid(s, len))
		return fail(error_r, "text is not valid UTF-8");
	memcpy(e->text, s, len + 1);
	return 0;
}

/* True if s starts with a 3-digit reply code followed by SP or the end. */
static bool reply_code_at(const char *s)
{
	for (int i = 0; i < 3; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return s[3] == ' ' || s[3] == '\0';
}

/* True if s starts with "X.Y.Z" (Y, Z 1 to 3 digits) followed by SP or
 * the end; *len_r gets its length. */
static bool status_at(const char *s, size_t *len_r)
{
	size_t i = 1;

	if (s[0] < '0' || s[0] > '9')
		return false;
	for (int group = 0; group < 2; group++) {
		size_t digits = 0;

		if (s[i] != '.')
			return false;
		for (i++; s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
		if (digits == 0 || digits > 3)
			return false;
	}
	if (s[i] != ' ' && s[i] != '\0')
		return false;
	*len_r = i;
	return true;
}

/* error / retry: [code SP] [X.Y.Z SP] text, of class cls ('5' or '4'). */
static int parse_failure(const char *s, char cls, struct transport_entry *e,
			 const char **error_r)
{
	size_t slen;

	e->code = cls == '5' ? 550 : 450;
	e->status[0] = cls;
	memcpy(e->status + 1, ".0.0", 5);
	s += strspn(s, " \t");
	if (reply_code_at(s)) {
		if (s[0] != cls || s[1] > '5')
			return fail(error_r, "reply code %.3s: %s: needs a %cXX "
				    "code", s, e->name, cls);
		e->code = (unsigned)(s[0] - '0') * 100 +
			(unsigned)(s[1] - '0') * 10 + (unsigned)(s[2] - '0');
		s += 3;
		s += strspn(s, " \t");
	}
	if (status_at(s, &slen)) {
		if (s[0] != cls)
			return fail(error_r, "enhanced status code %.*s: %s: "
				    "needs a %c.X.X code", (int)slen, s,
				    e->name, cls);
		memcpy(e->status, s, slen);
		e->status[slen] = '\0';
		s += slen;
		s += strspn(s, " \t");
	}
	return parse_text(s, e, error_r);
}

static int parse_error(const char *s, struct transport_entry *e,
		       const char **error_r)
{
	return parse_failure(s, e->type == TRANSPORT_ERROR ? '5' : '4', e,
			     error_r);
}

static int parse_discard(const char *s, struct transport_entry *e,
			 const char **error_r)
{
	return parse_text(s + strspn(s, " \t"), e, error_r);
}

static int parse_host_entry(const char *s, struct transport_entry *e,
			    const char **error_r)
{
	return transport_parse_nexthop(e->type, s, &e->nexthop, error_r);
}

static const struct {
	const char *name;
	enum transport_type type;
	int (*parse)(const char *nexthop, struct transport_entry *e,
		     const char **error_r);
} transports[] = {
	{ "", TRANSPORT_KEEP, parse_host_entry },
	{ "smtp", TRANSPORT_SMTP, parse_host_entry },
	{ "relay", TRANSPORT_SMTP, parse_host_entry },
	{ "lmtp", TRANSPORT_LMTP, parse_host_entry },
	{ "local", TRANSPORT_LOCAL, parse_host_entry },
	{ "error", TRANSPORT_ERROR, parse_error },
	{ "retry", TRANSPORT_RETRY, parse_error },
	{ "discard", TRANSPORT_DISCARD, parse_discard },
};

int transport_parse(const char *value, struct transport_entry *e,
		    const char **error_r)
{
	size_t n = strcspn(value, ":");
	const char *nexthop = value[n] == ':' ? value + n + 1 : value + n;

	memset(e, 0, sizeof(*e));
	if (*value == '\0')
		return fail(error_r, "empty transport entry");
	for (size_t i = 0; i < sizeof(transports) / sizeof(*transports); i++) {
		if (strlen(transports[i].name) != n ||
		    strncmp(transports[i].name, value, n) != 0)
			continue;
		e->type = transports[i].type;
		memcpy(e->name, value, n);
		e->name[n] = '\0';
		if (transports[i].parse(nexthop, e, error_r) == 0)
			return 0;
		memset(e, 0, sizeof(*e));
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)value[i] < 0x21 || value[i] == 0x7f)
			return fail(error_r, "unknown transport (with a space "
				    "or control character)");
	return fail(error_r, "unknown transport \"%.*s\" (known: smtp, relay, "
		    "lmtp, local, error, retry, discard)",
		    n > QUOTE_MAX ? QUOTE_MAX : (int)n, value);
}

/* Appends key s[0..len), lower-cased, NUL-terminated. */
static void keys_add(struct transport_keys *k, size_t *offsets, const char *s,
		     size_t len)
{
	size_t start = k->storage.len;

	/* storage's maximum is sized for the worst case: cannot fail. */
	if (k->count >= TRANSPORT_KEYS_MAX ||
	    buf_append(&k->storage, s, len) < 0 ||
	    buf_append_char(&k->storage, '\0') < 0)
		abort();
	str_lower(k->storage.data + start);
	offsets[k->count++] = start;
}

int transport_keys_make(const char *address, const char *delimiters,
			unsigned flags, struct transport_keys *k,
			const char **error_r)
{
	size_t len = strlen(address), offsets[TRANSPORT_KEYS_MAX];
	const char *at = strrchr(address, '@');

	memset(k, 0, sizeof(*k));
	if (len == 0 || len > ADDR_PATH_MAX) {
		*error_r = len == 0 ? "empty address" : "address too long";
		return -1;
	}
	/* No empty label: it bounds the parents (one per label) too. */
	if (at != NULL && (at[1] == '\0' || at[1] == '.' ||
			   strstr(at, "..") != NULL)) {
		*error_r = "empty domain or domain label in address";
		return -1;
	}
	/* Each key is at most the address; one per label at most. */
	buf_init(&k->storage, (len + 1) * TRANSPORT_KEYS_MAX);
	keys_add(k, offsets, address, len);
	if (at != NULL) {
		size_t local = (size_t)(at - address), base = local;

		if (delimiters != NULL && *delimiters != '\0')
			base = strcspn(address, delimiters);
		if (base > 0 && base < local) {
			keys_add(k, offsets, address, base);
			/* Re-append "@domain" to the base key in place. */
			k->storage.len--;
			if (buf_append(&k->storage, at, len - local) < 0 ||
			    buf_append_char(&k->storage, '\0') < 0)
				abort();
			str_lower(k->storage.data + offsets[k->count - 1]);
		}
		keys_add(k, offsets, at + 1, strlen(at + 1));
		for (const char *d = strchr(at + 2, '.'); d != NULL && d[1];
		     d = strchr(d + 1, '.')) {
			bool bare = (flags & TRANSPORT_KEYS_PARENT_BARE) != 0;

			keys_add(k, offsets, d + bare, strlen(d + bare));
		}
	}
	keys_add(k, offsets, "*", 1);
	for (size_t i = 0; i < k->count; i++)
		k->keys[i] = k->storage.data + offsets[i];
	return 0;
}

void transport_keys_deinit(struct transport_keys *k)
{
	if (k->storage.data != NULL)
		buf_deinit(&k->storage);
	k->count = 0;
}
