/* addr: RFC 5321 / RFC 6531 path and mailbox parsing into one canonical
 * form; see addr.h. A hand-written recursive-descent parser over a cursor:
 * the grammar is small and every rule maps to one function. */
#include "config.h"
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include "addr.h"
#include "utf8.h"

struct cursor {
	const char *s;
	size_t len;
	size_t pos;
	unsigned flags;
	bool utf8;	/* a non-ASCII octet was taken */
};

/* The output under construction; bounded by ADDR_PATH_MAX. */
struct out {
	char *data;
	size_t len;
};

static int cur_peek(const struct cursor *c)
{
	return c->pos < c->len ? (unsigned char)c->s[c->pos] : -1;
}

static bool out_add(struct out *o, const char *p, size_t n)
{
	if (o->len + n > ADDR_PATH_MAX)
		return false;
	memcpy(o->data + o->len, p, n);
	o->len += n;
	o->data[o->len] = '\0';
	return true;
}

bool addr_utf8_valid(const char *s, size_t len)
{
	return utf8_valid(s, len);
}

/* Takes one non-ASCII UTF-8 character when allowed; returns its length
 * or 0. */
static size_t take_utf8(struct cursor *c)
{
	if ((c->flags & ADDR_FLAG_UTF8) == 0 || cur_peek(c) < 0x80)
		return 0;
	size_t n = utf8_decode((const unsigned char *)c->s + c->pos,
			       c->len - c->pos, NULL);
	if (n > 0) {
		c->pos += n;
		c->utf8 = true;
	}
	return n;
}

static bool is_alnum(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9');
}

static bool is_atext(int ch)
{
	if (ch <= 0 || ch > 126)
		return false;
	return is_alnum(ch) || strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL;
}

/* True if s[0..len) is a dot-string (ASCII, or UTF-8 when allowed). */
static bool is_dot_string(const char *s, size_t len, unsigned flags)
{
	struct cursor c = { s, len, 0, flags, false };
	bool need_atom = true;

	while (c.pos < c.len) {
		int ch = cur_peek(&c);
		if (ch == '.') {
			if (need_atom)
				return false;
			need_atom = true;
			c.pos++;
		} else if (is_atext(ch)) {
			need_atom = false;
			c.pos++;
		} else if (take_utf8(&c) > 0) {
			need_atom = false;
		} else {
			return false;
		}
	}
	return !need_atom;
}

/* Quoted-string: '"' *(qtextSMTP / quoted-pairSMTP) '"'. Writes the
 * canonical form: unquoted when the content is a dot-string. */
static int parse_quoted(struct cursor *c, struct out *o, const char **error_r)
{
	char plain[ADDR_LOCAL_MAX + 1];
	size_t plain_len = 0, start = c->pos;

	c->pos++;	/* the opening quote */
	for (;;) {
		int ch = cur_peek(c);
		size_t n = 1;

		if (ch == '"')
			break;
		if (ch == '\\') {
			c->pos++;
			ch = cur_peek(c);
			if (ch < 32 || ch > 126) {
				*error_r = "bad quoted pair in local part";
				return -1;
			}
		} else if (ch >= 32 && ch <= 126) {
			/* qtextSMTP */
		} else if ((n = take_utf8(c)) > 0) {
			c->pos -= n;
		} else {
			*error_r = ch < 0 ? "unterminated quoted local part"
					  : "bad character in local part";
			return -1;
		}
		if (plain_len + n > ADDR_LOCAL_MAX) {
			*error_r = "local part too long";
			return -1;
		}
		memcpy(plain + plain_len, c->s + c->pos, n);
		plain_len += n;
		c->pos += n;
	}
	c->pos++;	/* the closing quote */
	if (c->pos - start > ADDR_LOCAL_MAX) {
		*error_r = "local part too long";
		return -1;
	}
	if (plain_len > 0 && is_dot_string(plain, plain_len, c->flags))
		return out_add(o, plain, plain_len) ? 0 : -1;
	return out_add(o, c->s + start, c->pos - start) ? 0 : -1;
}

static int parse_local(struct cursor *c, struct out *o, const char **error_r)
{
	size_t start = c->pos;

	if (cur_peek(c) == '"')
		return parse_quoted(c, o, error_r);
	for (;;) {
		int ch = cur_peek(c);
		if (ch == '.' || is_atext(ch))
			c->pos++;
		else if (take_utf8(c) == 0)
			break;
	}
	size_t n = c->pos - start;
	if (n == 0) {
		*error_r = "empty local part";
		return -1;
	}
	if (n > ADDR_LOCAL_MAX) {
		*error_r = "local part too long";
		return -1;
	}
	if (!is_dot_string(c->s + start, n, c->flags)) {
		*error_r = "bad dot-string in local part";
		return -1;
	}
	return out_add(o, c->s + start, n) ? 0 : -1;
}

/* sub-domain *("." sub-domain), lower-cased into o when o != NULL. */
static int parse_domain_name(struct cursor *c, struct out *o,
			     const char **error_r)
{
	size_t start = c->pos;

	for (;;) {
		size_t label = c->pos;
		int last = -1;

		for (;;) {
			int ch = cur_peek(c);
			if (is_alnum(ch) || ch == '-') {
				last = ch;
				c->pos++;
			} else if (take_utf8(c) > 0) {
				last = 0x80;
			} else {
				break;
			}
		}
		size_t n = c->pos - label;
		if (n == 0 || c->s[label] == '-' || last == '-') {
			*error_r = "bad domain label";
			return -1;
		}
		if (n > 63) {
			*error_r = "domain label too long";
			return -1;
		}
		if (cur_peek(c) != '.')
			break;
		c->pos++;
	}
	size_t n = c->pos - start;
	if (n > ADDR_DOMAIN_MAX) {
		*error_r = "domain too long";
		return -1;
	}
	if (o == NULL)
		return 0;
	size_t at = o->len;
	if (!out_add(o, c->s + start, n))
		return -1;
	for (size_t i = at; i < o->len; i++)
		if (o->data[i] >= 'A' && o->data[i] <= 'Z')
			o->data[i] = (char)(o->data[i] - 'A' + 'a');
	return 0;
}

/* "[" IPv4 "]" or "[IPv6:" addr "]"; general literals are refused. */
static int parse_literal(struct cursor *c, struct out *o, const char **error_r)
{
	char text[ADDR_DOMAIN_MAX + 1], bin[16];
	const char *close;
	size_t start = c->pos + 1;

	close = memchr(c->s + start, ']', c->len - start);
	if (close == NULL || (size_t)(close - (c->s + start)) >= sizeof(text)) {
		*error_r = "bad address literal";
		return -1;
	}
	size_t n = (size_t)(close - (c->s + start));
	memcpy(text, c->s + start, n);
	text[n] = '\0';
	if (strlen(text) != n) {
		*error_r = "bad address literal";
		return -1;
	}
	const char *lit;
	if (n > 5 && strncasecmp(text, "IPv6:", 5) == 0) {
		if (inet_pton(AF_INET6, text + 5, bin) != 1) {
			*error_r = "bad IPv6 address literal";
			return -1;
		}
		for (size_t i = 5; i < n; i++)
			if (text[i] >= 'A' && text[i] <= 'F')
				text[i] = (char)(text[i] - 'A' + 'a');
		lit = text + 5;
		if (!out_add(o, "[IPv6:", 6))
			return -1;
	} else {
		if (inet_pton(AF_INET, text, bin) != 1) {
			*error_r = "bad IPv4 address literal";
			return -1;
		}
		lit = text;
		if (!out_add(o, "[", 1))
			return -1;
	}
	if (!out_add(o, lit, strlen(lit)) || !out_add(o, "]", 1))
		return -1;
	c->pos = start + n + 1;
	return 0;
}

/* Source route "@d1,@d2:" (already known to start with "@"). */
static int skip_route(struct cursor *c, const char **error_r)
{
	for (;;) {
		if (cur_peek(c) != '@') {
			*error_r = "bad source route";
			return -1;
		}
		c->pos++;
		if (parse_domain_name(c, NULL, error_r) < 0)
			return -1;
		if (cur_peek(c) == ':') {
			c->pos++;
			return 0;
		}
		if (cur_peek(c) != ',') {
			*error_r = "bad source route";
			return -1;
		}
		c->pos++;
	}
}

static int parse_mailbox(struct cursor *c, struct addr *a, bool in_path,
			 const char **error_r)
{
	struct out o = { a->address, 0 };

	a->address[0] = '\0';
	if (parse_local(c, &o, error_r) < 0)
		goto fail;
	a->local_len = o.len;
	if (cur_peek(c) != '@') {
		if (in_path && (c->flags & ADDR_FLAG_POSTMASTER) != 0 &&
		    cur_peek(c) == '>' && o.len == 10 &&
		    strncasecmp(o.data, "postmaster", 10) == 0)
			goto done;
		*error_r = "missing domain";
		goto fail;
	}
	c->pos++;
	if (!out_add(&o, "@", 1))
		goto too_long;
	int ret = cur_peek(c) == '['
		? parse_literal(c, &o, error_r)
		: parse_domain_name(c, &o, error_r);
	if (ret < 0)
		goto fail;
done:
	a->utf8 = c->utf8;
	return 0;
too_long:
	*error_r = "address too long";
fail:
	/* out_add() fails only past ADDR_PATH_MAX */
	if (*error_r == NULL)
		*error_r = "address too long";
	a->address[0] = '\0';
	return -1;
}

int addr_parse_path(const char *s, size_t len, unsigned flags,
		    struct addr *addr_r, size_t *used_r, const char **error_r)
{
	struct cursor c = { s, len, 0, flags, false };

	*error_r = NULL;
	memset(addr_r, 0, sizeof(*addr_r));
	if (cur_peek(&c) != '<') {
		*error_r = "missing <";
		return -1;
	}
	c.pos++;
	if (cur_peek(&c) == '>') {
		if ((flags & ADDR_FLAG_NULL_OK) == 0) {
			*error_r = "null address not allowed";
			return -1;
		}
		*used_r = 2;
		return 0;
	}
	if (cur_peek(&c) == '@' && skip_route(&c, error_r) < 0)
		return -1;
	if (parse_mailbox(&c, addr_r, true, error_r) < 0)
		return -1;
	if (cur_peek(&c) != '>') {
		*error_r = "bad character in address";
		addr_r->address[0] = '\0';
		return -1;
	}
	c.pos++;
	if (c.pos > ADDR_PATH_MAX) {
		*error_r = "path too long";
		addr_r->address[0] = '\0';
		return -1;
	}
	*used_r = c.pos;
	return 0;
}

int addr_parse_mailbox(const char *s, size_t len, unsigned flags,
		       struct addr *addr_r, const char **error_r)
{
	struct cursor c = { s, len, 0, flags & ADDR_FLAG_UTF8, false };

	*error_r = NULL;
	memset(addr_r, 0, sizeof(*addr_r));
	if (len > ADDR_PATH_MAX - 2) {
		*error_r = "address too long";
		return -1;
	}
	if (parse_mailbox(&c, addr_r, false, error_r) < 0)
		return -1;
	if (c.pos != len) {
		*error_r = "bad character in address";
		addr_r->address[0] = '\0';
		return -1;
	}
	return 0;
}

int addr_check_domain(const char *s, size_t len, unsigned flags,
		      const char **error_r)
{
	struct cursor c = { s, len, 0, flags & ADDR_FLAG_UTF8, false };
	char scratch[ADDR_PATH_MAX + 1];
	struct out o = { scratch, 0 };

	*error_r = NULL;
	if (len == 0 || len > ADDR_DOMAIN_MAX) {
		*error_r = len == 0 ? "empty domain" : "domain too long";
		return -1;
	}
	int ret = cur_peek(&c) == '['
		? parse_literal(&c, &o, error_r)
		: parse_domain_name(&c, NULL, error_r);
	if (ret == 0 && c.pos != len) {
		*error_r = "bad character in domain";
		ret = -1;
	}
	if (ret < 0 && *error_r == NULL)
		*error_r = "domain too long";
	return ret;
}

const char *addr_domain(const char *address)
{
	const char *at = strrchr(address, '@');

	return at == NULL ? "" : at + 1;
}

/* The state machine walks the field once; a quoted-pair is skipped
 * whole so that "\\)" inside a comment does not close it. */
void addr_drop_comments(char *s)
{
	int depth = 0;
	bool quoted = false;

	for (; *s != '\0'; s++) {
		if (*s == '\\' && (quoted || depth > 0) && s[1] != '\0') {
			if (depth > 0)
				*s = s[1] = ' ';
			s++;
			continue;
		}
		if (*s == '"' && depth == 0)
			quoted = !quoted;
		else if (!quoted && *s == '(')
			depth++;
		else if (!quoted && *s == ')' && depth > 0) {
			depth--;
			*s = ' ';
			continue;
		}
		if (depth > 0)
			*s = ' ';
	}
}
