/* header_rcpt: header fields and address lists for local submission; see
 * header_rcpt.h. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "mem.h"
#include "str.h"
#include "header_rcpt.h"

bool header_rcpt_is_field(const char *line, size_t len)
{
	size_t i = 0;

	while (i < len && line[i] > ' ' && line[i] < 127 && line[i] != ':')
		i++;
	if (i == 0)
		return false;
	/* RFC 5322 4.5.8 (obsolete syntax): spaces before the colon. */
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	return i < len && line[i] == ':';
}

/* Where list_element's addresses go: a plain or a positioned callback,
 * and the start of the (blanked, same length) copy for the offsets. */
struct emit {
	header_rcpt_fn *fn;
	header_rcpt_at_fn *at;
	void *ctx;
	const char *base;
};

/* Hands one list element s[0..len) (comments already blanked) to e: the
 * inside of its angle brackets if it has them, else all of it. */
static int list_element(char *s, size_t len, const struct emit *e,
			const char **error_r)
{
	char *lt = NULL, *gt = NULL;
	bool quoted = false;

	for (size_t i = 0; i < len; i++) {
		if (quoted && s[i] == '\\' && i + 1 < len)
			i++;
		else if (s[i] == '"')
			quoted = !quoted;
		else if (!quoted && s[i] == '<' && lt == NULL)
			lt = s + i;
		else if (!quoted && s[i] == '>' && lt != NULL && gt == NULL)
			gt = s + i;
	}
	if (lt != NULL) {
		if (gt == NULL) {
			*error_r = "unbalanced \"<\" in an address";
			return -1;
		}
		s = lt + 1;
		len = (size_t)(gt - s);
		/* Obsolete source route "@a,@b:": dropped (RFC 5322 4.4). */
		if (len > 0 && s[0] == '@') {
			char *colon = memchr(s, ':', len);
			if (colon == NULL) {
				*error_r = "bad source route in an address";
				return -1;
			}
			len -= (size_t)(colon + 1 - s);
			s = colon + 1;
		}
	}
	while (len > 0 && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0)
		return 0;	/* "<>", ",,", an empty group */
	if (len > ADDR_PATH_MAX) {
		*error_r = "address too long";
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < ' ' || s[i] == 127) {
			*error_r = "control character in an address";
			return -1;
		}
	char addr[ADDR_PATH_MAX + 1];
	memcpy(addr, s, len);
	addr[len] = '\0';
	if (e->at != NULL)
		return e->at(e->ctx, addr, (size_t)(s - e->base), len, error_r);
	return e->fn(e->ctx, addr, error_r);
}

/* Splits the blanked value s[0..len) at "," and ";" outside quotes and
 * brackets; a ":" outside them ends a group's display name. */
static int list_split(char *s, size_t len, const struct emit *e,
		      const char **error_r)
{
	bool quoted = false, angle = false;
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? s[i] : ',';
		if (quoted) {
			if (c == '\\' && i + 1 < len)
				i++;
			else if (c == '"')
				quoted = false;
			continue;
		}
		if (c == '"')
			quoted = true;
		else if (c == '<')
			angle = true;
		else if (c == '>')
			angle = false;
		else if (angle)
			continue;
		else if (c == ':')
			start = i + 1;
		else if (c == ',' || c == ';') {
			if (list_element(s + start, i - start, e,
					 error_r) < 0)
				return -1;
			start = i + 1;
		}
	}
	if (quoted || angle) {
		*error_r = quoted ? "unbalanced quote in an address list"
				  : "unbalanced \"<\" in an address";
		return -1;
	}
	return 0;
}

static int list_walk(const char *value, size_t len, struct emit *e,
		     const char **error_r)
{
	char *copy = xmalloc(len + 1);

	/* Unfolded: folding is white space (RFC 5322 2.2.3). Every step
	 * keeps the length, so offsets in copy are offsets in value. */
	for (size_t i = 0; i < len; i++)
		copy[i] = value[i] == '\r' || value[i] == '\n' ||
				  value[i] == '\0'
			? ' '
			: value[i];
	copy[len] = '\0';
	addr_drop_comments(copy);
	e->base = copy;
	int ret = list_split(copy, len, e, error_r);
	free(copy);
	return ret;
}

int header_rcpt_list(const char *value, size_t len, header_rcpt_fn *fn,
		     void *ctx, const char **error_r)
{
	struct emit e = { .fn = fn, .ctx = ctx };

	return list_walk(value, len, &e, error_r);
}

int header_rcpt_list_at(const char *value, size_t len, header_rcpt_at_fn *fn,
			void *ctx, const char **error_r)
{
	struct emit e = { .at = fn, .ctx = ctx };

	return list_walk(value, len, &e, error_r);
}

/* The fields this module cares about, by name. */
enum field_kind { FIELD_OTHER, FIELD_RCPT, FIELD_BCC, FIELD_RESENT,
		  FIELD_RESENT_BCC };

static const struct {
	const char *name;
	enum field_kind kind;
} fields[] = {
	{ "to", FIELD_RCPT },
	{ "cc", FIELD_RCPT },
	{ "bcc", FIELD_BCC },
	{ "resent-to", FIELD_RESENT },
	{ "resent-cc", FIELD_RESENT },
	{ "resent-bcc", FIELD_RESENT_BCC },
};

/* The kind of the field that starts at line[0..len), and where its value
 * starts (after the colon). */
static enum field_kind field_kind(const char *line, size_t len,
				  size_t *value_r)
{
	const char *colon = memchr(line, ':', len);
	size_t n;

	if (colon == NULL)
		return FIELD_OTHER;
	*value_r = (size_t)(colon + 1 - line);
	for (n = (size_t)(colon - line); n > 0 && (line[n - 1] == ' ' ||
						    line[n - 1] == '\t');)
		n--;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strlen(fields[i].name) == n &&
		    strncasecmp(fields[i].name, line, n) == 0)
			return fields[i].kind;
	return FIELD_OTHER;
}

/* The length of the field that starts at hdr[0] (through the LF of its
 * last continuation line). */
static size_t field_len(const char *hdr, size_t len)
{
	size_t i = 0;

	for (;;) {
		const char *lf = memchr(hdr + i, '\n', len - i);
		if (lf == NULL)
			return len;
		i = (size_t)(lf + 1 - hdr);
		if (i >= len || (hdr[i] != ' ' && hdr[i] != '\t'))
			return i;
	}
}

static bool has_resent(const char *hdr, size_t len)
{
	for (size_t i = 0, n; i < len; i += n) {
		size_t value;
		n = field_len(hdr + i, len - i);
		enum field_kind k = field_kind(hdr + i, n, &value);
		if (k == FIELD_RESENT || k == FIELD_RESENT_BCC)
			return true;
	}
	return false;
}

int header_rcpt_extract(const char *hdr, size_t len, struct buf *out,
			header_rcpt_fn *fn, void *ctx, const char **error_r)
{
	bool resent = has_resent(hdr, len);

	for (size_t i = 0, n; i < len; i += n) {
		size_t value = 0;
		n = field_len(hdr + i, len - i);
		enum field_kind k = field_kind(hdr + i, n, &value);
		bool bcc = k == FIELD_BCC || k == FIELD_RESENT_BCC;
		bool wanted = resent ? k == FIELD_RESENT || k == FIELD_RESENT_BCC
				     : k == FIELD_RCPT || k == FIELD_BCC;
		if (fn != NULL && wanted &&
		    header_rcpt_list(hdr + i + value, n - value, fn, ctx,
				     error_r) < 0)
			return -1;
		if (out != NULL && !bcc && buf_append(out, hdr + i, n) < 0) {
			*error_r = "header section too long";
			return -1;
		}
	}
	return 0;
}
