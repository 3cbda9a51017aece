/* mime_param: the structured MIME fields of lib/mime (see mime.h):
 * Content-Type, Content-Disposition and Content-Transfer-Encoding as
 * RFC 2045 tokens, quoted strings and comments, with parameters. Input is
 * an unfolded, NUL-terminated value. Lenient where real mail is sloppy:
 * an unquoted parameter value runs to ";", white space or "(" even if it
 * holds tspecials ("boundary=----=_Part_1" is common). */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "mem.h"
#include "mime_impl.h"

/* RFC 2045 tspecials, as a table: tokens are read an octet at a time. */
static const bool tspecial[256] = {
	['('] = true, [')'] = true, ['<'] = true, ['>'] = true, ['@'] = true,
	[','] = true, [';'] = true, [':'] = true, ['\\'] = true, ['"'] = true,
	['/'] = true, ['['] = true, [']'] = true, ['?'] = true, ['='] = true,
};

static bool is_tspecial(char c)
{
	return tspecial[(unsigned char)c];
}

static bool is_token_char(char c)
{
	return (unsigned char)c > ' ' && c != 0x7f && !is_tspecial(c);
}

/* Skips white space and comments; comments nest (a counter, not
 * recursion) and end at the end of the string if unterminated. */
static void skip_cfws(const char *s, size_t *pos)
{
	size_t i = *pos;

	for (;;) {
		while (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')
			i++;
		if (s[i] != '(')
			break;
		for (size_t depth = 0; s[i] != '\0'; i++) {
			if (s[i] == '\\' && s[i + 1] != '\0')
				i++;
			else if (s[i] == '(')
				depth++;
			else if (s[i] == ')' && --depth == 0) {
				i++;
				break;
			}
		}
	}
	*pos = i;
}

static size_t token_len(const char *s, size_t pos)
{
	size_t i = pos;

	while (is_token_char(s[i]))
		i++;
	return i - pos;
}

static char *copy_lower(const char *s, size_t len)
{
	char *r = xstrndup(s, len);

	for (char *c = r; *c != '\0'; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return r;
}

/* A parameter value at *pos: a quoted string (escapes removed; it ends at
 * the end of the string if unterminated) or a lenient unquoted run.
 * Returns a copy and its length. */
static char *param_value(const char *s, size_t *pos, size_t *len_r)
{
	size_t i = *pos, o = 0;
	char *v;

	if (s[i] == '"') {
		v = xmalloc(strlen(s + i) + 1);
		for (i++; s[i] != '\0' && s[i] != '"'; i++) {
			if (s[i] == '\\' && s[i + 1] != '\0')
				i++;
			v[o++] = s[i];
		}
		if (s[i] == '"')
			i++;
	} else {
		size_t start = i;

		while (s[i] != '\0' && s[i] != ';' && s[i] != ' ' &&
		       s[i] != '\t' && s[i] != '(')
			i++;
		o = i - start;
		v = xmalloc(o + 1);
		memcpy(v, s + start, o);
	}
	v[o] = '\0';
	*pos = i;
	*len_r = o;
	return v;
}

/* Parses "; name=value" pairs from *pos to the end. A pair without a name
 * or "=" is skipped up to the next ";". */
static void parse_params(struct mime_parser *p, const char *s, size_t pos,
			 struct mime_param **params_r, size_t *count_r)
{
	struct mime_param *params = NULL;
	size_t count = 0;

	for (;;) {
		size_t nlen, vlen, npos;
		char *value;

		skip_cfws(s, &pos);
		if (s[pos] != ';') {
			/* Junk: resynchronise at the next ";". */
			const char *semi = strchr(s + pos, ';');

			if (semi == NULL)
				break;
			pos = (size_t)(semi - s);
		}
		pos++;
		skip_cfws(s, &pos);
		nlen = token_len(s, pos);
		if (nlen == 0)
			continue;
		npos = pos;
		pos += nlen;
		skip_cfws(s, &pos);
		if (s[pos] != '=')
			continue;
		pos++;
		skip_cfws(s, &pos);
		value = param_value(s, &pos, &vlen);
		if (count >= p->limits->params_max ||
		    nlen > p->limits->param_len_max ||
		    vlen > p->limits->param_len_max) {
			p->msg->flags |= MIME_TRUNC_PARAMS;
			free(value);
			continue;
		}
		params = xreallocarray(params, count + 1, sizeof(*params));
		params[count].name = copy_lower(s + npos, nlen);
		params[count].value = value;
		count++;
	}
	*params_r = params;
	*count_r = count;
}

void mime_parse_content_type(struct mime_parser *p, struct mime_part *part,
			     const char *s)
{
	size_t pos = 0, tlen, slen, tpos, spos;

	skip_cfws(s, &pos);
	tpos = pos;
	tlen = token_len(s, pos);
	pos += tlen;
	skip_cfws(s, &pos);
	if (tlen == 0 || s[pos] != '/')
		return;		/* invalid: the defaults stay */
	pos++;
	skip_cfws(s, &pos);
	spos = pos;
	slen = token_len(s, pos);
	if (slen == 0)
		return;
	pos += slen;
	free(part->type);
	free(part->subtype);
	mime_params_free(&part->params, &part->param_count);
	part->type = copy_lower(s + tpos, tlen);
	part->subtype = copy_lower(s + spos, slen);
	parse_params(p, s, pos, &part->params, &part->param_count);
}

void mime_parse_disposition(struct mime_parser *p, struct mime_part *part,
			    const char *s)
{
	size_t pos = 0, len;

	skip_cfws(s, &pos);
	len = token_len(s, pos);
	if (len == 0)
		return;
	part->disposition = copy_lower(s + pos, len);
	parse_params(p, s, pos + len, &part->disp_params,
		     &part->disp_param_count);
}

void mime_parse_encoding(struct mime_part *part, const char *s)
{
	size_t pos = 0, len;

	skip_cfws(s, &pos);
	len = token_len(s, pos);
	if (len == 0)
		return;
	free(part->encoding);
	part->encoding = copy_lower(s + pos, len);
}

void mime_params_free(struct mime_param **params, size_t *count)
{
	for (size_t i = 0; i < *count; i++) {
		free((*params)[i].name);
		free((*params)[i].value);
	}
	xfree(params);
	*count = 0;
}

const char *mime_param_get(const struct mime_param *params, size_t count,
			   const char *name)
{
	for (size_t i = 0; i < count; i++)
		if (strcasecmp(params[i].name, name) == 0)
			return params[i].value;
	return NULL;
}
