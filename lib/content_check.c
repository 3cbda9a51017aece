/* content_check: the walk over the message: physical lines gathered from
 * chunks, logical headers gathered from lines, header sections and MIME
 * parts told apart, each piece judged (content_check_action.c) and
 * written on, edited, through out(). Only one header and one line are
 * held at a time: the message itself streams. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "content_check_impl.h"
#include "log.h"
#include "mem.h"
#include "mime.h"
#include "str.h"

/* Content-Type values longer than this are not looked into (a boundary
 * is at most 70 octets, RFC 2046 5.1.1). */
#define CONTENT_TYPE_MAX 4096

struct content_check *content_check_new(const struct content_check_config *cfg,
					content_check_output_fn *out,
					content_check_event_fn *event,
					void *ctx)
{
	struct content_check *cc = xcalloc(1, sizeof(*cc));
	size_t max = cfg->header_max > cfg->line_max ? cfg->header_max
						      : cfg->line_max;

	cc->cfg = *cfg;
	cc->out = out;
	cc->event = event;
	cc->ctx = ctx;
	buf_init(&cc->line, max);
	buf_init(&cc->raw, cfg->header_max);
	buf_init(&cc->unfolded, cfg->header_max);
	buf_init(&cc->content_type, CONTENT_TYPE_MAX);
	cc->frames = xcalloc(cfg->depth_max, sizeof(*cc->frames));
	return cc;
}

static void frames_pop(struct content_check *cc, size_t count)
{
	while (cc->frame_count > count)
		free(cc->frames[--cc->frame_count].boundary);
}

void content_check_free(struct content_check **ccp)
{
	struct content_check *cc = *ccp;

	if (cc == NULL)
		return;
	frames_pop(cc, 0);
	free(cc->frames);
	buf_deinit(&cc->line);
	buf_deinit(&cc->raw);
	buf_deinit(&cc->unfolded);
	buf_deinit(&cc->content_type);
	xfree(ccp);
}

const struct content_check_verdict *
content_check_verdict(const struct content_check *cc)
{
	return &cc->verdict;
}

static void emit(struct content_check *cc, const char *data, size_t len)
{
	if (!cc->failed && len > 0 && cc->out(cc->ctx, data, len) < 0)
		cc->failed = true;
}

/* A PREPEND or REPLACE text as one line of its own. */
static void emit_line(struct content_check *cc, const char *text)
{
	emit(cc, text, strlen(text));
	emit(cc, "\n", 1);
}

/* "name:" starts the line: a header field (RFC 5322 2.2; white space
 * before the colon is obsolete syntax, still seen). */
static bool is_field_start(const char *p, size_t len)
{
	size_t n = 0;

	while (n < len && p[n] > 0x20 && p[n] < 0x7f && p[n] != ':')
		n++;
	if (n == 0)
		return false;
	while (n < len && (p[n] == ' ' || p[n] == '\t'))
		n++;
	return n < len && p[n] == ':';
}

/* Content-*, MIME-Version: the headers of mime_header_checks. */
static bool is_mime_header(const char *h)
{
	return str_prefix_ci(h, "content-") ||
	       (str_prefix_ci(h, "mime-version") &&
		(h[12] == ':' || h[12] == ' ' || h[12] == '\t'));
}

static enum content_check_class header_class(const struct content_check *cc)
{
	bool mime = is_mime_header(cc->unfolded.data);

	switch (cc->section) {
	case CONTENT_CHECK_SECTION_PART:
		return CONTENT_CHECK_MIME_HEADER;
	case CONTENT_CHECK_SECTION_NESTED:
		return mime ? CONTENT_CHECK_MIME_HEADER
			    : CONTENT_CHECK_NESTED_HEADER;
	case CONTENT_CHECK_SECTION_PRIMARY:
		break;
	}
	return mime ? CONTENT_CHECK_MIME_HEADER : CONTENT_CHECK_HEADER;
}

/* Keeps the section's Content-Type value for what follows the section;
 * the original one: the structure does not change with the edits. */
static void keep_content_type(struct content_check *cc)
{
	const char *colon = memchr(cc->unfolded.data, ':', cc->unfolded.len);

	buf_reset(&cc->content_type);
	if (colon != NULL &&
	    buf_append_str(&cc->content_type, colon + 1) < 0)
		buf_reset(&cc->content_type);
}

/* Judges the header held in raw/unfolded, writes what it becomes, and
 * says what happens to its remaining lines. */
static void judge_header(struct content_check *cc)
{
	char text[CONTENT_CHECK_TEXT_MAX];

	if (cc->is_content_type)
		keep_content_type(cc);
	switch (content_check_apply(cc, header_class(cc), cc->unfolded.data,
				    cc->unfolded.len, text)) {
	case CONTENT_CHECK_KEEP:
		emit(cc, cc->raw.data, cc->raw.len);
		cc->rest = CONTENT_CHECK_REST_PASS;
		break;
	case CONTENT_CHECK_DROP:
		cc->rest = CONTENT_CHECK_REST_DROP;
		break;
	case CONTENT_CHECK_REPLACE:
		emit_line(cc, text);
		cc->rest = CONTENT_CHECK_REST_DROP;
		break;
	case CONTENT_CHECK_PREPEND:
		emit_line(cc, text);
		emit(cc, cc->raw.data, cc->raw.len);
		cc->rest = CONTENT_CHECK_REST_PASS;
		break;
	}
	buf_reset(&cc->raw);
	buf_reset(&cc->unfolded);
}

/* The next piece of the held header (its first, a continuation line, or
 * the rest of a long line). Past header_max the header is judged by what
 * fits (Postfix truncates such headers for the checks). */
static void header_more(struct content_check *cc, const char *p, size_t len)
{
	if (cc->rest == CONTENT_CHECK_REST_HOLD) {
		size_t room = cc->cfg.header_max - cc->raw.len;
		/* Unfolding (RFC 5322 2.2.3) removes the line breaks. */
		size_t text = len > 0 && p[len - 1] == '\n' ? len - 1 : len;
		if (len <= room) {
			if (buf_append(&cc->raw, p, len) < 0 ||
			    buf_append(&cc->unfolded, p, text) < 0)
				panic("content_check: header buffer");
			return;
		}
		if (buf_append(&cc->unfolded, p,
			       text < room ? text : room) < 0)
			panic("content_check: header buffer");
		judge_header(cc);
	}
	if (cc->rest == CONTENT_CHECK_REST_PASS)
		emit(cc, p, len);
}

static void header_start(struct content_check *cc, const char *p, size_t len)
{
	static const char ct[] = "content-type";
	size_t n = sizeof(ct) - 1;

	cc->rest = CONTENT_CHECK_REST_HOLD;
	cc->is_content_type = len > n && strncasecmp(p, ct, n) == 0 &&
			      (p[n] == ':' || p[n] == ' ' || p[n] == '\t');
	header_more(cc, p, len);
}

static void header_end(struct content_check *cc)
{
	if (cc->rest == CONTENT_CHECK_REST_HOLD)
		judge_header(cc);
	cc->rest = CONTENT_CHECK_REST_NONE;
}

/* The empty line after a header section: what follows depends on the
 * section's Content-Type (RFC 2046): a multipart body, an attached
 * message's header, or plain body. */
static void section_end(struct content_check *cc)
{
	static const struct mime_limits limits = {
		.header_size_max = CONTENT_TYPE_MAX + 64,
		.fields_max = 4,
		.depth_max = 1,
		.parts_max = 1,
		.params_max = 16,
		.param_len_max = 256,
	};
	bool nested = cc->part_in_digest;	/* without a Content-Type */

	cc->mode = CONTENT_CHECK_IN_BODY;
	cc->body_seen = 0;
	cc->part_in_digest = false;
	if (cc->content_type.len > 0) {
		struct buf field;
		buf_init(&field, CONTENT_TYPE_MAX + 64);
		if (buf_printf(&field, "Content-Type:%s\n\n",
			       buf_cstr(&cc->content_type)) < 0)
			panic("content_check: Content-Type buffer");
		struct mime_message *msg =
			mime_parse(field.data, field.len, &limits);
		const struct mime_part *part = msg->root;
		const char *b = mime_param_get(part->params, part->param_count,
					       "boundary");
		nested = strcmp(part->type, "message") == 0 &&
			 (strcmp(part->subtype, "rfc822") == 0 ||
			  strcmp(part->subtype, "global") == 0);
		if (strcmp(part->type, "multipart") == 0 && b != NULL &&
		    *b != '\0' && cc->frame_count < cc->cfg.depth_max) {
			struct content_check_frame *f =
				&cc->frames[cc->frame_count++];
			f->boundary = xstrdup(b);
			f->len = strlen(b);
			f->digest = strcmp(part->subtype, "digest") == 0;
		}
		mime_message_free(&msg);
		buf_deinit(&field);
		buf_reset(&cc->content_type);
	}
	if (nested) {
		cc->mode = CONTENT_CHECK_IN_HEADER;
		cc->section = CONTENT_CHECK_SECTION_NESTED;
	}
}

/* A boundary of an open multipart (the innermost that matches; an outer
 * one closes the parts inside it): true when p was one. */
static bool boundary(struct content_check *cc, const char *p, size_t len)
{
	for (size_t i = cc->frame_count; i-- > 0;) {
		const struct content_check_frame *f = &cc->frames[i];
		int r = mime_boundary_line(p, len, f->boundary, f->len);
		if (r == 0)
			continue;
		cc->body_seen = 0;
		if (r == 1) {
			/* A new part's header section starts afresh. */
			buf_reset(&cc->content_type);
			cc->part_in_digest = f->digest;
			frames_pop(cc, i + 1);
			cc->mode = CONTENT_CHECK_IN_HEADER;
			cc->section = CONTENT_CHECK_SECTION_PART;
		} else {
			frames_pop(cc, i);
		}
		return true;
	}
	return false;
}

/* One body line, or a piece of a long one (p is the line buffer,
 * writable, NUL-terminated at len). */
static void body_piece(struct content_check *cc, char *p, size_t len,
		       bool bol, bool eol)
{
	char text[CONTENT_CHECK_TEXT_MAX];
	enum content_check_effect effect = CONTENT_CHECK_KEEP;
	size_t n = eol ? len - 1 : len;
	/* Boundaries are body lines too (header_checks(5)), checked
	 * against the segment they end. */
	bool checked = cc->cfg.body_size_max > 0 &&
		       cc->body_seen < cc->cfg.body_size_max;

	if (checked) {
		cc->body_seen += len;
		p[n] = '\0';
		effect = content_check_apply(cc, CONTENT_CHECK_BODY, p, n,
					     text);
		if (eol)
			p[n] = '\n';
	}
	if (bol && cc->frame_count > 0 && len >= 2 && p[0] == '-' &&
	    p[1] == '-')
		(void)boundary(cc, p, len);
	switch (effect) {
	case CONTENT_CHECK_KEEP:
		emit(cc, p, len);
		break;
	case CONTENT_CHECK_DROP:
		break;
	case CONTENT_CHECK_REPLACE:
		emit(cc, text, strlen(text));
		emit(cc, "\n", eol ? 1 : 0);
		break;
	case CONTENT_CHECK_PREPEND:
		emit_line(cc, text);
		emit(cc, p, len);
		break;
	}
}

static void header_piece(struct content_check *cc, char *p, size_t len,
			 bool bol, bool eol)
{
	if ((!bol || p[0] == ' ' || p[0] == '\t') &&
	    cc->rest != CONTENT_CHECK_REST_NONE) {
		header_more(cc, p, len);
		return;
	}
	header_end(cc);
	if (bol && eol && len == 1) {
		emit(cc, p, len);
		section_end(cc);
	} else if (bol && is_field_start(p, len)) {
		header_start(cc, p, len);
	} else {
		/* Not a header: the body starts here, without the empty
		 * line (Postfix does the same); what this section said of
		 * its content is not followed. */
		buf_reset(&cc->content_type);
		cc->part_in_digest = false;
		cc->mode = CONTENT_CHECK_IN_BODY;
		cc->body_seen = 0;
		body_piece(cc, p, len, bol, eol);
	}
}

/* Handles the gathered piece in cc->line. */
static void piece(struct content_check *cc, bool eol)
{
	bool bol = !cc->mid_line;

	if (cc->mode == CONTENT_CHECK_IN_HEADER)
		header_piece(cc, cc->line.data, cc->line.len, bol, eol);
	else
		body_piece(cc, cc->line.data, cc->line.len, bol, eol);
	buf_reset(&cc->line);
	cc->mid_line = !eol;
}

int content_check_feed(struct content_check *cc, const char *data,
		       size_t len)
{
	while (len > 0 && !cc->failed) {
		size_t cap = cc->mode == CONTENT_CHECK_IN_HEADER
				     ? cc->cfg.header_max
				     : cc->cfg.line_max;
		size_t room = cap > cc->line.len ? cap - cc->line.len : 0;
		const char *lf = memchr(data, '\n', len < room ? len : room);
		size_t n = lf != NULL ? (size_t)(lf - data) + 1
				      : (len < room ? len : room);

		if (buf_append(&cc->line, data, n) < 0)
			panic("content_check: line buffer");
		data += n;
		len -= n;
		if (lf != NULL)
			piece(cc, true);
		else if (cc->line.len >= cap)
			piece(cc, false);
	}
	return cc->failed ? -1 : 0;
}

int content_check_finish(struct content_check *cc)
{
	if (cc->line.len > 0)
		piece(cc, false);
	header_end(cc);
	return cc->failed ? -1 : 0;
}
