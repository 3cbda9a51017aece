/* imap_bodystructure: BODY and BODYSTRUCTURE from a mime tree (see the
 * header). One function per kind of body in the RFC 3501 grammar
 * (body-type-mpart, body-type-basic/-text/-msg, body-ext-*); a small
 * context carries the output and flags. Output errors are collected in
 * ctx.failed and checked once at the end: a failed append leaves the
 * buffer unchanged, and the caller drops it all anyway. */
#include "config.h"
#include <string.h>
#include "crlf.h"
#include "imap_bodystructure.h"
#include "imap_envelope.h"
#include "imap_string.h"

#define EMPTY_TEXT_PART                                                        \
	"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)"

struct bs_ctx {
	struct buf *out;
	const char *data;
	size_t len;
	bool extended;
	unsigned flags;
	bool failed;
};

static void put(struct bs_ctx *c, const char *s)
{
	if (buf_append_str(c->out, s) < 0)
		c->failed = true;
}

static void put_nstring(struct bs_ctx *c, const char *s)
{
	if (imap_string_append_nstring(c->out, s, c->flags) < 0)
		c->failed = true;
}

size_t imap_bodystructure_crlf_size(const char *data, size_t len)
{
	uint64_t lf, bare;

	crlf_count(data, len, &lf, &bare);
	return len + bare;
}

/* The body's octets as sent (counted by the parser), or none when the
 * tree does not fit data. */
static size_t body_size(const struct bs_ctx *c, const struct mime_part *p)
{
	if (p->body_offset > c->len || p->body_len > c->len - p->body_offset)
		return 0;
	return p->body_len + p->body_bare_lfs;
}

/* ("name" "value" ...) or NIL; charset=us-ascii added when asked. */
static void write_params(struct bs_ctx *c, const struct mime_param *params,
			 size_t count, bool default_charset)
{
	if (default_charset && mime_param_get(params, count, "charset") != NULL)
		default_charset = false;
	if (count == 0 && !default_charset) {
		put(c, "NIL");
		return;
	}
	put(c, "(");
	for (size_t i = 0; i < count; i++) {
		if (i > 0)
			put(c, " ");
		put_nstring(c, params[i].name);
		put(c, " ");
		put_nstring(c, params[i].value);
	}
	if (default_charset)
		put(c, count > 0 ? " \"charset\" \"us-ascii\""
				 : "\"charset\" \"us-ascii\"");
	put(c, ")");
}

static void write_disposition(struct bs_ctx *c, const struct mime_part *p)
{
	if (p->disposition == NULL) {
		put(c, "NIL");
		return;
	}
	put(c, "(");
	put_nstring(c, p->disposition);
	put(c, " ");
	write_params(c, p->disp_params, p->disp_param_count, false);
	put(c, ")");
}

/* Content-Language "en, de-CH (comment)" as ("en" "de-CH"), or NIL. */
static void write_language(struct bs_ctx *c, const char *lang)
{
	size_t n = 0, depth = 0;

	for (const char *s = lang; s != NULL && *s != '\0';) {
		size_t len = strcspn(s, " \t,()");

		if (*s == '(' || *s == ')') {
			depth = *s == '(' ? depth + 1 : (depth ? depth - 1 : 0);
			s++;
			continue;
		}
		if (len > 0 && depth == 0) {
			put(c, n++ == 0 ? "(" : " ");
			if (imap_string_append(c->out, s, len, c->flags) < 0)
				c->failed = true;
		}
		s += len > 0 ? len : 1;
	}
	put(c, n > 0 ? ")" : "NIL");
}

static void write_ext_common(struct bs_ctx *c, const struct mime_part *p)
{
	put(c, " ");
	write_disposition(c, p);
	put(c, " ");
	write_language(c, p->language);
	put(c, " ");
	put_nstring(c, p->location);
}

static void write_part(struct bs_ctx *c, const struct mime_part *p);

static void write_multipart(struct bs_ctx *c, const struct mime_part *p)
{
	put(c, "(");
	if (p->children == NULL)
		put(c, EMPTY_TEXT_PART);
	for (const struct mime_part *ch = p->children; ch != NULL;
	     ch = ch->next)
		write_part(c, ch);
	put(c, " ");
	put_nstring(c, p->subtype);
	if (c->extended) {
		put(c, " ");
		write_params(c, p->params, p->param_count, false);
		write_ext_common(c, p);
	}
	put(c, ")");
}

/* envelope body lines, of an embedded message. */
static void write_message_fields(struct bs_ctx *c, const struct mime_part *p)
{
	const struct mime_part *m = p->children;
	const char *error;
	size_t hoff = m != NULL ? m->header_offset : p->body_offset;
	size_t hlen = m != NULL ? m->header_len : 0;

	if (m == NULL && hoff <= c->len)
		hlen = mime_header_block_len(
		    c->data + hoff,
		    p->body_len <= c->len - hoff ? p->body_len : c->len - hoff);
	if (hoff > c->len || hlen > c->len - hoff)
		hoff = hlen = 0;
	put(c, " ");
	if (imap_envelope_write(c->out, c->data + hoff, hlen, c->flags,
				&error) < 0)
		c->failed = true;
	put(c, " ");
	if (m != NULL)
		write_part(c, m);
	else
		put(c, EMPTY_TEXT_PART);
	if (buf_printf(c->out, " %zu", p->body_lines) < 0)
		c->failed = true;
}

static void write_basic(struct bs_ctx *c, const struct mime_part *p)
{
	bool text = strcmp(p->type, "text") == 0;

	put(c, "(");
	put_nstring(c, p->type);
	put(c, " ");
	put_nstring(c, p->subtype);
	put(c, " ");
	write_params(c, p->params, p->param_count, text);
	put(c, " ");
	put_nstring(c, p->id);
	put(c, " ");
	put_nstring(c, p->description);
	put(c, " ");
	put_nstring(c, p->encoding);
	if (buf_printf(c->out, " %zu", body_size(c, p)) < 0)
		c->failed = true;
	if (text && buf_printf(c->out, " %zu", p->body_lines) < 0)
		c->failed = true;
	if (mime_part_is(p, "message", "rfc822") ||
	    mime_part_is(p, "message", "global"))
		write_message_fields(c, p);
	if (c->extended) {
		put(c, " ");
		put_nstring(c, p->md5);
		write_ext_common(c, p);
	}
	put(c, ")");
}

/* Recursion: one level per tree level, bounded by its depth_max. */
static void write_part(struct bs_ctx *c, const struct mime_part *p)
{
	if (c->failed)
		return;
	if (strcmp(p->type, "multipart") == 0)
		write_multipart(c, p);
	else
		write_basic(c, p);
}

int imap_bodystructure_write(struct buf *out, const char *data, size_t len,
			     const struct mime_message *msg, bool extended,
			     unsigned flags, const char **error_r)
{
	struct bs_ctx c = {.out = out,
			   .data = data,
			   .len = len,
			   .extended = extended,
			   .flags = flags};

	write_part(&c, msg->root);
	if (c.failed) {
		*error_r = "response too large";
		return -1;
	}
	return 0;
}
