/* conf_expand: $name, ${name}, $(name), ${name?text}, ${name:text} and $$
 * in main.cf values, bounded in depth, references and work so that a
 * $name loop is an error at load time (see conf.h). */
#include "config.h"
#include <stdbool.h>
#include <string.h>
#include "buf.h"
#include "conf_impl.h"

#define CONF_DEPTH_MAX 20		/* nested $name expansions */
#define CONF_REFS_MAX 1000		/* $name references in one value */
#define CONF_WORK_MAX (4u << 20)	/* bytes copied while expanding one value */

struct expand_ctx {
	struct conf_gen *g;
	size_t refs;		/* references left */
	size_t work;		/* bytes left to copy */
	const char *reason;	/* static text, set on failure */
};

static int expand(struct expand_ctx *x, const char *s, size_t len,
		  struct buf *out, unsigned depth);

static int expand_fail(struct expand_ctx *x, const char *reason)
{
	x->reason = reason;
	return -1;
}

static int expand_append(struct expand_ctx *x, struct buf *out,
			 const char *s, size_t n)
{
	if (n > x->work)
		return expand_fail(x, "too much $name expansion");
	x->work -= n;
	if (buf_append(out, s, n) < 0)
		return expand_fail(x, "expanded value too long");
	return 0;
}

/* Appends the expansion of name; an undefined name expands to nothing,
 * as in Postfix. */
static int expand_name(struct expand_ctx *x, const char *name, size_t len,
		       struct buf *out, unsigned depth)
{
	const char *raw;

	if (x->refs == 0)
		return expand_fail(x, "too many $name references");
	x->refs--;
	raw = conf_gen_raw(x->g, name, len);
	if (raw == NULL)
		return 0;
	return expand(x, raw, strlen(raw), out, depth + 1);
}

/* Index of the brace or parenthesis closing the one at s[open], or len. */
static size_t match_close(const char *s, size_t len, size_t open)
{
	char o = s[open], c = o == '{' ? '}' : ')';
	size_t level = 0;

	for (size_t i = open; i < len; i++) {
		if (s[i] == o)
			level++;
		else if (s[i] == c && --level == 0)
			return i;
	}
	return len;
}

/* ${name}, $(name), ${name?value} (value if $name is not empty) and
 * ${name:value} (value if $name is empty); s[*ip] is the opening brace. */
static int expand_braced(struct expand_ctx *x, const char *s, size_t len,
			 size_t *ip, struct buf *out, unsigned depth)
{
	size_t open = *ip, end = match_close(s, len, open);
	const char *body = s + open + 1;
	size_t blen, nlen;

	if (end == len)
		return expand_fail(x, "unbalanced '{' or '(' after '$'");
	blen = end - open - 1;
	*ip = end + 1;
	nlen = 0;
	while (nlen < blen && strchr(CONF_NAME_CHARS, body[nlen]) != NULL)
		nlen++;
	if (nlen == 0 || (nlen < blen && body[nlen] != '?' &&
			  body[nlen] != ':'))
		return expand_fail(x, "bad parameter name after '$'");
	if (nlen == blen)
		return expand_name(x, body, nlen, out, depth);

	/* Expand the name only to learn whether it is empty. */
	size_t mark = out->len;
	if (expand_name(x, body, nlen, out, depth) < 0)
		return -1;
	bool empty = out->len == mark;
	buf_truncate(out, mark);
	if (empty == (body[nlen] == ':'))
		return expand(x, body + nlen + 1, blen - nlen - 1, out,
			      depth + 1);
	return 0;
}

static int expand(struct expand_ctx *x, const char *s, size_t len,
		  struct buf *out, unsigned depth)
{
	size_t i = 0;

	if (depth > CONF_DEPTH_MAX)
		return expand_fail(x, "$name expansion nested too deeply "
				   "(a loop?)");
	while (i < len) {
		const char *dollar = memchr(s + i, '$', len - i);
		size_t n = dollar != NULL ? (size_t)(dollar - s) - i : len - i;

		if (expand_append(x, out, s + i, n) < 0)
			return -1;
		i += n;
		if (i == len)
			break;
		i++;
		if (i < len && s[i] == '$') {
			/* $$ is a literal $ */
			if (expand_append(x, out, "$", 1) < 0)
				return -1;
			i++;
		} else if (i < len && (s[i] == '{' || s[i] == '(')) {
			if (expand_braced(x, s, len, &i, out, depth) < 0)
				return -1;
		} else {
			size_t nlen = 0;
			while (i + nlen < len &&
			       strchr(CONF_NAME_CHARS, s[i + nlen]) != NULL)
				nlen++;
			/* A '$' before anything else stays as it is. */
			if (nlen == 0 ? expand_append(x, out, "$", 1) < 0 :
			    expand_name(x, s + i, nlen, out, depth) < 0)
				return -1;
			i += nlen;
		}
	}
	return 0;
}

int conf_expand(struct conf_gen *g, const char *s, size_t len,
		struct buf *out, const char **reason_r)
{
	struct expand_ctx x = { g, CONF_REFS_MAX, CONF_WORK_MAX, NULL };

	if (expand(&x, s, len, out, 0) < 0) {
		*reason_r = x.reason;
		return -1;
	}
	return 0;
}
