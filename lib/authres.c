/* authres: composing our Authentication-Results field and recognising the
 * fields that claim to be ours (RFC 8601 2.2's ABNF, read as far as the
 * authserv-id). */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "authres.h"
#include "mem.h"

#define AUTHRES_NAME "Authentication-Results"
#define AUTHRES_COMMENT_DEPTH 16	/* nested comments followed */

static const char *const result_names[] = {
	[AUTHRES_NONE] = "none", [AUTHRES_PASS] = "pass",
	[AUTHRES_FAIL] = "fail", [AUTHRES_NEUTRAL] = "neutral",
	[AUTHRES_SOFTFAIL] = "softfail", [AUTHRES_TEMPERROR] = "temperror",
	[AUTHRES_PERMERROR] = "permerror", [AUTHRES_POLICY] = "policy",
};
#define RESULT_COUNT (sizeof(result_names) / sizeof(result_names[0]))

const char *authres_result_name(enum authres_result result)
{
	return (unsigned)result < RESULT_COUNT ? result_names[result] :
	       "permerror";
}

int authres_result_parse(const char *word, enum authres_result *result_r)
{
	for (size_t i = 0; i < RESULT_COUNT; i++) {
		if (strcasecmp(word, result_names[i]) == 0) {
			*result_r = (enum authres_result)i;
			return 0;
		}
	}
	return -1;
}

/* RFC 2045 token: CHAR except SPACE, CTLs and tspecials. */
static bool token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* A value: as is when a token, else a quoted-string. Controls refused. */
static int append_value(struct buf *out, const char *v)
{
	bool token = *v != '\0';

	for (const char *p = v; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c == 0x7f)
			return -1;
		token = token && token_char(c);
	}
	if (token)
		return buf_append_str(out, v);
	int bad = buf_append_char(out, '"');
	for (const char *p = v; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			bad |= buf_append_char(out, '\\');
		bad |= buf_append_char(out, *p);
	}
	return bad | buf_append_char(out, '"');
}

/* " (reason)": controls dropped, parentheses and backslashes quoted. */
static int append_comment(struct buf *out, const char *reason)
{
	if (*reason == '\0')
		return 0;
	int bad = buf_append_str(out, " (");
	for (const char *p = reason; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c == 0x7f)
			continue;
		if (c == '(' || c == ')' || c == '\\')
			bad |= buf_append_char(out, '\\');
		bad |= buf_append_char(out, (char)c);
	}
	return bad | buf_append_char(out, ')');
}

/* " name=value" when value is not empty. */
static int append_prop(struct buf *out, const char *name, const char *value)
{
	if (*value == '\0')
		return 0;
	if (buf_printf(out, " %s=", name) < 0)
		return -1;
	return append_value(out, value);
}

static int append_dkim(struct buf *out, const struct authres_dkim *d)
{
	if (buf_printf(out, ";\n\tdkim=%s", authres_result_name(d->result)) <
	    0 || append_comment(out, d->reason) < 0 ||
	    append_prop(out, "header.d", d->domain) < 0 ||
	    append_prop(out, "header.s", d->selector) < 0)
		return -1;
	return append_prop(out, "header.b", d->b);
}

/* RFC 7489 11.2 with the policy in a comment, as receivers write it. */
static int append_dmarc(struct buf *out, const struct authres *r)
{
	char comment[AUTHRES_REASON_MAX + 64];

	if (r->dmarc.policy[0] != '\0')
		snprintf(comment, sizeof(comment), "p=%s dis=%s",
			 r->dmarc.policy, r->dmarc.disposition[0] != '\0' ?
			 r->dmarc.disposition : "none");
	else
		snprintf(comment, sizeof(comment), "%s", r->dmarc.reason);
	if (buf_printf(out, ";\n\tdmarc=%s",
		       authres_result_name(r->dmarc.result)) < 0 ||
	    append_comment(out, comment) < 0)
		return -1;
	return append_prop(out, "header.from", r->dmarc.domain);
}

int authres_compose(const char *authserv_id, const struct authres *r,
		    struct buf *out, const char **error_r)
{
	int bad = buf_append_str(out, AUTHRES_NAME ": ");

	if (*authserv_id == '\0' || append_value(out, authserv_id) < 0) {
		*error_r = "bad authserv-id";
		return -1;
	}
	if (!r->spf.checked && !r->dkim_checked && !r->dmarc.checked)
		bad |= buf_append_str(out, "; none");
	if (r->spf.checked) {
		bad |= buf_printf(out, ";\n\tspf=%s",
				  authres_result_name(r->spf.result));
		bad |= append_prop(out, r->spf.helo ? "smtp.helo" :
				   "smtp.mailfrom", r->spf.domain);
	}
	if (r->dkim_checked && r->dkim_count == 0)
		bad |= buf_append_str(out, ";\n\tdkim=none");
	for (size_t i = 0; r->dkim_checked && i < r->dkim_count &&
	     i < AUTHRES_DKIM_MAX; i++)
		bad |= append_dkim(out, &r->dkim[i]);
	if (r->dmarc.checked)
		bad |= append_dmarc(out, r);
	if ((bad | buf_append_char(out, '\n')) != 0) {
		*error_r = "a value holds a control character, or the field "
			   "is too long";
		return -1;
	}
	return 0;
}

/* Skips CFWS (white space, folds, comments with quoted-pairs). -1 when a
 * comment is not closed or nests too deep. */
static int skip_cfws(const char **p, const char *end)
{
	int depth = 0;

	for (; *p < end; (*p)++) {
		char c = **p;
		if (depth > 0 && c == '\\') {
			if (++*p == end)
				return -1;
		} else if (c == '(') {
			if (++depth > AUTHRES_COMMENT_DEPTH)
				return -1;
		} else if (depth > 0 && c == ')') {
			depth--;
		} else if (depth == 0 && c != ' ' && c != '\t' && c != '\n' &&
			   c != '\r') {
			return 0;
		}
	}
	return depth == 0 ? 0 : -1;
}

/* A token or quoted-string into id_r. */
static int read_value(const char **p, const char *end, char *id_r,
		      size_t size)
{
	size_t n = 0;

	if (*p < end && **p == '"') {
		for (++*p; *p < end && **p != '"'; ++*p) {
			if (**p == '\\' && ++*p == end)
				return -1;
			/* Folds inside are white space, not content. */
			if (**p == '\n' || **p == '\r')
				continue;
			/* qtext and quoted-pair: no NUL, no controls */
			if (((unsigned char)**p < 0x20 && **p != '\t') ||
			    **p == 0x7f || n + 1 >= size)
				return -1;
			id_r[n++] = **p;
		}
		if (*p == end)
			return -1;
		++*p;
	} else {
		for (; *p < end && token_char((unsigned char)**p); ++*p) {
			if (n + 1 >= size)
				return -1;
			id_r[n++] = **p;
		}
	}
	id_r[n] = '\0';
	return n > 0 ? 0 : -1;
}

int authres_authserv_id(const char *value, size_t len, char *id_r,
			size_t size)
{
	const char *p = value, *end = value + len;

	if (size == 0)
		return -1;
	id_r[0] = '\0';
	if (skip_cfws(&p, end) < 0 || read_value(&p, end, id_r, size) < 0 ||
	    skip_cfws(&p, end) < 0)
		goto bad;
	/* authres-version = 1*DIGIT [CFWS] */
	if (p < end && *p >= '0' && *p <= '9') {
		for (int i = 0; p < end && *p >= '0' && *p <= '9'; p++)
			if (++i > 9)
				goto bad;
		if (skip_cfws(&p, end) < 0)
			goto bad;
	}
	if (p < end && *p == ';')
		return 0;
bad:
	id_r[0] = '\0';
	return -1;
}

bool authres_field_is_ours(const char *field, size_t len,
			   const char *authserv_id)
{
	size_t name_len = strlen(AUTHRES_NAME);
	char id[AUTHRES_DOMAIN_MAX + 2];

	if (len < name_len || strncasecmp(field, AUTHRES_NAME, name_len) != 0)
		return false;
	const char *p = field + name_len, *end = field + len;
	/* RFC 5322's obsolete syntax allows white space before the colon. */
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || *p != ':')
		return false;
	p++;
	if (authres_authserv_id(p, (size_t)(end - p), id, sizeof(id)) < 0)
		return true;
	return strcasecmp(id, authserv_id) == 0;
}

void authres_scan_init(struct authres_scan *scan, const char *authserv_id)
{
	memset(scan, 0, sizeof(*scan));
	scan->authserv_id = authserv_id;
	scan->in_headers = true;
	scan->line_start = true;
}

/* The field that began at field_start ends at the current offset. */
static void scan_field_end(struct authres_scan *s)
{
	s->in_field = false;
	if (!authres_field_is_ours(s->prefix, s->prefix_len, s->authserv_id))
		return;
	if (s->count >= AUTHRES_REMOVE_MAX) {
		s->overflow = true;
		return;
	}
	/* Grown in steps: 16, 32, ... up to the bound. */
	if ((s->count & (s->count - 1)) == 0 && s->count >= 16)
		s->ranges = xreallocarray(s->ranges, s->count * 2,
					  sizeof(*s->ranges));
	else if (s->count == 0)
		s->ranges = xreallocarray(NULL, 16, sizeof(*s->ranges));
	s->ranges[s->count].offset = s->field_start;
	s->ranges[s->count].len = s->offset - s->field_start;
	s->count++;
}

void authres_scan_feed(struct authres_scan *s, const char *data, size_t len)
{
	for (size_t i = 0; i < len && s->in_headers; i++, s->offset++) {
		char c = data[i];
		if (s->line_start && c != ' ' && c != '\t') {
			if (s->in_field)
				scan_field_end(s);
			if (c == '\n') {
				s->in_headers = false;
				break;
			}
			s->in_field = true;
			s->field_start = s->offset;
			s->prefix_len = 0;
		}
		if (s->in_field && s->prefix_len < sizeof(s->prefix))
			s->prefix[s->prefix_len++] = c;
		s->line_start = c == '\n';
	}
}

void authres_scan_end(struct authres_scan *s)
{
	if (s->in_headers && s->in_field)
		scan_field_end(s);
	s->in_headers = false;
}

bool authres_scan_headers_done(const struct authres_scan *s)
{
	return !s->in_headers;
}

void authres_scan_deinit(struct authres_scan *s)
{
	xfree(&s->ranges);
	s->count = 0;
}
