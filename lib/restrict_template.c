/* restrict_template: expansion of a DNSBL reply template
 * (default_rbl_reply, rbl_reply_maps values) with Postfix's one level
 * of $name, ${name}, ${name?text}, ${name:text} and $$. Pure. */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "restrict_impl.h"

#define NAME_MAX_LEN 32
#define TEMPLATE_DEPTH_MAX 2

static const char *attr_value(const struct restrict_template_attr *attrs,
			      size_t count, const char *name, size_t len)
{
	for (size_t i = 0; i < count; i++)
		if (strlen(attrs[i].name) == len &&
		    strncmp(attrs[i].name, name, len) == 0)
			return attrs[i].value != NULL ? attrs[i].value : "";
	return NULL;
}

/* Appends len octets of s to out (at *pos); false when it is full. */
static bool put(char *out, size_t size, size_t *pos, const char *s,
		size_t len)
{
	if (len >= size - *pos)
		return false;
	memcpy(out + *pos, s, len);
	*pos += len;
	out[*pos] = '\0';
	return true;
}

static int fail(const char **error_r, const char *why)
{
	*error_r = why;
	return -1;
}

/* The expansion context: where the text goes. */
struct out {
	const struct restrict_template_attr *attrs;
	size_t count;
	char *buf;
	size_t size, pos;
};

static int expand(const char *p, const char *end, struct out *o, int depth,
		  const char **error_r);

/* The '}' that closes the "{" at open, or NULL. */
static const char *closing(const char *open, const char *end)
{
	int depth = 0;

	for (const char *p = open; p < end; p++) {
		if (*p == '{')
			depth++;
		else if (*p == '}' && --depth == 0)
			return p;
	}
	return NULL;
}

/* One "${...}" at *pp (at the '{'): appends its expansion. */
static int braced(const char **pp, const char *end, struct out *o, int depth,
		  const char **error_r)
{
	const char *p = *pp + 1, *close = closing(*pp, end);
	size_t len = strspn(p, "abcdefghijklmnopqrstuvwxyz_");

	if (close == NULL)
		return fail(error_r, "unclosed ${");
	if (len == 0 || len > NAME_MAX_LEN || p + len > close)
		return fail(error_r, "bad attribute name after ${");
	const char *value = attr_value(o->attrs, o->count, p, len);
	if (value == NULL)
		return fail(error_r, "unknown attribute");
	*pp = close + 1;
	if (p + len == close)
		return put(o->buf, o->size, &o->pos, value, strlen(value)) ? 0 :
		       fail(error_r, "reply too long");
	if (p[len] != '?' && p[len] != ':')
		return fail(error_r, "expected } ? or : after the name");
	/* ?text: text when the value is not empty; :text when it is. The
	 * text is expanded in turn (at most TEMPLATE_DEPTH_MAX deep). */
	bool take = p[len] == '?' ? value[0] != '\0' : value[0] == '\0';
	if (!take)
		return 0;
	if (depth >= TEMPLATE_DEPTH_MAX)
		return fail(error_r, "nested too deep");
	return expand(p + len + 1, close, o, depth + 1, error_r);
}

static int expand(const char *p, const char *end, struct out *o, int depth,
		  const char **error_r)
{
	while (p < end) {
		const char *dollar = memchr(p, '$', (size_t)(end - p));
		size_t lit = dollar != NULL ? (size_t)(dollar - p)
					    : (size_t)(end - p);
		if (!put(o->buf, o->size, &o->pos, p, lit))
			return fail(error_r, "reply too long");
		p += lit;
		if (p >= end)
			break;
		p++;	/* the '$' */
		if (p < end && *p == '$') {
			if (!put(o->buf, o->size, &o->pos, "$", 1))
				return fail(error_r, "reply too long");
			p++;
			continue;
		}
		if (p < end && *p == '{') {
			if (braced(&p, end, o, depth, error_r) < 0)
				return -1;
			continue;
		}
		size_t len = 0;
		while (p + len < end && strchr("abcdefghijklmnopqrstuvwxyz_",
					       p[len]) != NULL && p[len] != '\0')
			len++;
		const char *value = len > 0 && len <= NAME_MAX_LEN
			? attr_value(o->attrs, o->count, p, len) : NULL;
		if (value == NULL)
			return fail(error_r, "unknown or missing attribute "
					     "after $");
		if (!put(o->buf, o->size, &o->pos, value, strlen(value)))
			return fail(error_r, "reply too long");
		p += len;
	}
	return 0;
}

int restrict_template_expand(const char *tmpl,
			     const struct restrict_template_attr *attrs,
			     size_t count, char *out, size_t size,
			     const char **error_r)
{
	struct out o = { attrs, count, out, size, 0 };

	out[0] = '\0';
	return expand(tmpl, tmpl + strlen(tmpl), &o, 0, error_r);
}
