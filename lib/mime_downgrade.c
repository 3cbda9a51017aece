/* mime_downgrade: 8-bit MIME to 7-bit (see mime_downgrade.h). A line
 * walker: each line goes to the region it is in (a header section being
 * held, a body being encoded or passed on, a preamble or epilogue); a
 * boundary line of an open multipart ends the region. Header sections are
 * parsed with lib/mime (mime_parse on the section alone). */
#include "config.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "mem.h"
#include "mime.h"
#include "mime_downgrade.h"

#define LINE_HOLD 1024		/* a boundary line is shorter than this */
#define LINE_MAX_SMTP 998	/* RFC 5321 4.5.3.1.6, without CRLF */
#define QP_LINE 76		/* RFC 2045 6.7 (5) */
#define BAD_8BIT 1
#define BAD_LONG 2

enum region {
	R_HEADER,	/* a header section, held until it ends */
	R_QP,		/* a leaf body being encoded */
	R_PLAIN,	/* a 7bit leaf body passed on (the scan marks it) */
	R_OPAQUE,	/* a body passed on that must be 7-bit: why says why */
	R_OUTSIDE,	/* a preamble or an epilogue */
};

struct level {
	char *boundary;
	size_t blen;
	bool digest;
	unsigned depth;		/* of the multipart */
};

struct mime_downgrade {
	bool convert;
	struct buf *out;	/* of the current call; NULL when scanning */
	const char *error;	/* set: the pass failed */
	enum region region;
	const char *why;	/* R_OPAQUE's refusal */
	unsigned depth;		/* of the part being read */
	bool top, digest_child;	/* of the header being read */
	struct level levels[MIME_DOWNGRADE_DEPTH_MAX + 1];
	size_t nlevels;
	size_t part, parts;	/* the part being read; parts seen */
	struct buf line;	/* the start of the line being read */
	bool long_line;		/* it went on past LINE_HOLD */
	size_t line_len;	/* octets of the line so far (checks) */
	bool last_cr;
	struct buf header;
	unsigned col;		/* QP: octets on the output line */
	int pending;		/* QP: the octet held back, or -1 */
	bool soft;		/* QP: the output line follows a soft break */
	unsigned char *plan;	/* bit per part: its 7bit body is encoded */
	size_t plan_len;
};

static const struct mime_limits header_limits = {
	.header_size_max = MIME_DOWNGRADE_HEADER_MAX, .fields_max = 100000,
	.depth_max = 1, .parts_max = 2, .params_max = 64,
	.param_len_max = MIME_DOWNGRADE_BOUNDARY_MAX,
};

static void fail(struct mime_downgrade *dg, const char *why)
{
	if (dg->error == NULL)
		dg->error = why;
}

static void emit(struct mime_downgrade *dg, const char *p, size_t n)
{
	if (dg->out != NULL && dg->error == NULL &&
	    buf_append(dg->out, p, n) < 0)
		fail(dg, "output buffer full");
}

static void emit_str(struct mime_downgrade *dg, const char *s)
{
	emit(dg, s, strlen(s));
}

static bool plan_get(const struct mime_downgrade *dg, size_t part)
{
	return part / 8 < dg->plan_len &&
		(dg->plan[part / 8] & (1u << (part % 8))) != 0;
}

static void plan_set(struct mime_downgrade *dg, size_t part)
{
	size_t need = part / 8 + 1;

	if (need > dg->plan_len) {
		dg->plan = xrealloc(dg->plan, need);
		memset(dg->plan + dg->plan_len, 0, need - dg->plan_len);
		dg->plan_len = need;
	}
	dg->plan[part / 8] |= (unsigned char)(1u << (part % 8));
}

/* The next part begins (its header); false past the limit. */
static bool new_part(struct mime_downgrade *dg)
{
	if (dg->parts >= MIME_DOWNGRADE_PARTS_MAX) {
		fail(dg, "too many MIME parts to convert");
		return false;
	}
	dg->part = ++dg->parts;
	dg->region = R_HEADER;
	return true;
}

/* The walk's state at the start of a pass; the plan stays. */
static void walk_reset(struct mime_downgrade *dg)
{
	for (size_t i = 0; i < dg->nlevels; i++)
		free(dg->levels[i].boundary);
	dg->nlevels = 0;
	dg->error = NULL;
	dg->region = R_HEADER;
	dg->why = NULL;
	dg->depth = 0;
	dg->top = true;
	dg->digest_child = false;
	dg->part = dg->parts = 0;
	buf_reset(&dg->line);
	buf_reset(&dg->header);
	dg->long_line = dg->last_cr = false;
	dg->line_len = 0;
	dg->col = 0;
	dg->pending = -1;
	dg->soft = false;
}

struct mime_downgrade *mime_downgrade_new(void)
{
	struct mime_downgrade *dg = xcalloc(1, sizeof(*dg));

	buf_init(&dg->line, LINE_HOLD);
	buf_init(&dg->header, MIME_DOWNGRADE_HEADER_MAX);
	walk_reset(dg);
	return dg;
}

void mime_downgrade_free(struct mime_downgrade **dgp)
{
	struct mime_downgrade *dg = *dgp;

	if (dg == NULL)
		return;
	walk_reset(dg);
	buf_deinit(&dg->line);
	buf_deinit(&dg->header);
	free(dg->plan);
	free(dg);
	*dgp = NULL;
}

void mime_downgrade_rewind(struct mime_downgrade *dg)
{
	walk_reset(dg);
	dg->convert = true;
}

/* The checks of passed-on octets: BAD_8BIT, BAD_LONG (a line over 998
 * octets, a CR before its LF not counted; at_end: the content ends). */
static unsigned check_octets(struct mime_downgrade *dg, const char *p,
			     size_t n, bool at_end)
{
	unsigned bad = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\n') {
			if (dg->line_len - (dg->last_cr ? 1 : 0) >
			    LINE_MAX_SMTP)
				bad |= BAD_LONG;
			dg->line_len = 0;
			dg->last_cr = false;
			continue;
		}
		if (c >= 0x80)
			bad |= BAD_8BIT;
		dg->line_len++;
		dg->last_cr = c == '\r';
	}
	if (at_end && dg->line_len > LINE_MAX_SMTP)
		bad |= BAD_LONG;
	return bad;
}

/* ---- quoted-printable (RFC 2045 6.7) ---- */

/* One octet's encoding; final: the last of its line (white space there
 * must be encoded, rule 3). A "-" that would start a line after a soft
 * break is encoded, so that no line of a long one can become a boundary
 * line of an enclosing multipart. */
static void qp_token(struct mime_downgrade *dg, unsigned char c, bool final)
{
	static const char hex[] = "0123456789ABCDEF";
	bool lit = (c >= 33 && c <= 126 && c != '=') ||
		((c == ' ' || c == '\t') && !final);
	unsigned n = lit ? 1 : 3;
	char t[3];

	/* A non-final token leaves room for the "=" of a soft break. */
	if (dg->col + n > (final ? QP_LINE : QP_LINE - 1)) {
		emit(dg, "=\n", 2);
		dg->col = 0;
		dg->soft = true;
	}
	if (lit && c == '-' && dg->col == 0 && dg->soft) {
		lit = false;
		n = 3;
	}
	t[0] = (char)c;
	if (!lit) {
		t[0] = '=';
		t[1] = hex[c >> 4];
		t[2] = hex[c & 15];
	}
	emit(dg, t, n);
	dg->col += n;
}

static void qp_flush(struct mime_downgrade *dg)
{
	if (dg->pending >= 0)
		qp_token(dg, (unsigned char)dg->pending, true);
	dg->pending = -1;
}

/* Octets of a body being encoded: each is held back until the next shows
 * whether it ends its line; a CR held back when the LF comes is the line
 * end's. */
static void qp_feed(struct mime_downgrade *dg, const char *p, size_t n)
{
	if (dg->out == NULL)
		return;		/* scanning: nothing to check */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\n') {
			if (dg->pending == '\r')
				dg->pending = -1;
			qp_flush(dg);
			emit(dg, "\n", 1);
			dg->col = 0;
			dg->soft = false;
			continue;
		}
		if (dg->pending >= 0)
			qp_token(dg, (unsigned char)dg->pending, false);
		dg->pending = c;
	}
}

/* ---- header sections ---- */

static bool enc_is(const struct mime_part *p, const char *enc)
{
	return strcmp(p->encoding, enc) == 0;
}

/* The section again, its Content-Transfer-Encoding fields replaced by one
 * saying quoted-printable (added at the end when there is none), and
 * MIME-Version added when add_version. blank: the length of the empty
 * line that ended the section (0: none). */
static void emit_header_qp(struct mime_downgrade *dg, size_t blank,
			   bool add_version)
{
	static const char cte[] = "Content-Transfer-Encoding: quoted-printable\n";
	const char *h = dg->header.data;
	size_t len = dg->header.len - blank, pos = 0;
	struct mime_header_iter it;
	struct mime_field f;
	bool done = false;

	mime_header_iter_init(&it, h, len);
	while (mime_header_next(&it, &f) == 1) {
		if (f.name_len != 25 || strncasecmp(f.name,
			"Content-Transfer-Encoding", 25) != 0)
			continue;
		emit(dg, h + pos, f.offset - pos);
		if (!done)
			emit_str(dg, cte);
		done = true;
		pos = f.offset + f.len;
	}
	emit(dg, h + pos, len - pos);
	if ((!done || add_version) && len > 0 && h[len - 1] != '\n')
		emit(dg, "\n", 1);
	if (add_version)
		emit_str(dg, "MIME-Version: 1.0\n");
	if (!done)
		emit_str(dg, cte);
	emit(dg, h + len, blank);
}

/* A container's body, walked when its encoding and depth allow. */
static void header_container(struct mime_downgrade *dg,
			     const struct mime_part *p, bool multipart)
{
	const char *b = mime_param_get(p->params, p->param_count, "boundary");

	if (enc_is(p, "binary")) {
		fail(dg, "a part has Content-Transfer-Encoding: binary");
		return;
	}
	dg->region = R_OPAQUE;
	if (!enc_is(p, "7bit") && !enc_is(p, "8bit")) {
		dg->why = "8-bit octets or an over-long line in a multipart or "
			"message part that is not encoded 7bit or 8bit";
		return;
	}
	if (dg->depth >= MIME_DOWNGRADE_DEPTH_MAX) {
		dg->why = "8-bit octets or an over-long line in MIME parts "
			"nested too deeply";
		return;
	}
	if (!multipart) {
		/* The embedded message's header follows at once. */
		dg->depth++;
		dg->top = dg->digest_child = false;
		(void)new_part(dg);
		return;
	}
	if (b == NULL || b[0] == '\0') {
		dg->why = "8-bit octets or an over-long line in a multipart "
			"without a boundary";
		return;
	}
	struct level *l = &dg->levels[dg->nlevels++];
	l->boundary = xstrdup(b);
	l->blen = strlen(b);
	l->digest = strcmp(p->subtype, "digest") == 0;
	l->depth = dg->depth;
	dg->region = R_OUTSIDE;
}

/* A leaf's body: encoded, passed on, or refused. */
static void header_leaf(struct mime_downgrade *dg, const struct mime_part *p,
			size_t blank, bool nonmime)
{
	bool message = strcmp(p->type, "message") == 0;

	if (enc_is(p, "binary")) {
		fail(dg, "a part has Content-Transfer-Encoding: binary");
		return;
	}
	if (!message && (enc_is(p, "8bit") ||
			 (enc_is(p, "7bit") && plan_get(dg, dg->part)))) {
		emit_header_qp(dg, blank, nonmime);
		dg->region = R_QP;
		dg->pending = -1;
		dg->col = 0;
		dg->soft = false;
		return;
	}
	emit(dg, dg->header.data, dg->header.len);
	if (!message && enc_is(p, "7bit")) {
		dg->region = R_PLAIN;
		return;
	}
	dg->region = R_OPAQUE;
	dg->why = message ? "8-bit octets or an over-long line in a message/ "
		"part that is not message/rfc822 or message/global" :
		"8-bit octets or an over-long line in a part encoded base64, "
		"quoted-printable or otherwise";
}

/* The header section held has ended (blank: its empty line's length, 0
 * when a boundary or the end of the content ended it): parsed, passed on
 * (changed for an encoded leaf), and the body's region set. */
static void header_end(struct mime_downgrade *dg, size_t blank)
{
	const char *h = dg->header.data;
	size_t len = dg->header.len;
	struct mime_field f;

	dg->line_len = 0;
	dg->last_cr = false;
	unsigned bad = check_octets(dg, h, len, true);
	dg->line_len = 0;
	if (bad != 0) {
		fail(dg, (bad & BAD_8BIT) != 0 ?
		     "8-bit octets in a header field" :
		     "a header line longer than 998 octets");
		return;
	}
	struct mime_message *msg = mime_parse(h, len, &header_limits);
	struct mime_part *p = msg->root;
	bool nonmime = dg->top && mime_header_find(h, len, "MIME-Version",
						     &f) == 0;
	if (nonmime) {
		/* One text part whatever its fields say. */
		free(p->type);
		free(p->subtype);
		p->type = xstrdup("text");
		p->subtype = xstrdup("plain");
	} else if (dg->digest_child &&
		   mime_header_find(h, len, "Content-Type", &f) == 0) {
		free(p->type);
		free(p->subtype);
		p->type = xstrdup("message");
		p->subtype = xstrdup("rfc822");
	}
	if (strcmp(p->type, "multipart") == 0) {
		emit(dg, h, len);
		header_container(dg, p, true);
	} else if (mime_part_is(p, "message", "rfc822") ||
		   mime_part_is(p, "message", "global")) {
		emit(dg, h, len);
		header_container(dg, p, false);
	} else {
		header_leaf(dg, p, blank, nonmime);
	}
	mime_message_free(&msg);
	buf_reset(&dg->header);
}

/* ---- lines ---- */

/* The innermost open multipart whose boundary line line[0..n) is
 * (*kind_r 1 or 2), or -1. */
static long boundary_level(const struct mime_downgrade *dg, const char *line,
			   size_t n, int *kind_r)
{
	if (n < 2 || line[0] != '-' || line[1] != '-')
		return -1;
	for (size_t i = dg->nlevels; i-- > 0;) {
		const struct level *l = &dg->levels[i];
		int kind = mime_boundary_line(line, n, l->boundary, l->blen);
		if (kind != 0) {
			*kind_r = kind;
			return (long)i;
		}
	}
	return -1;
}

/* The region before a boundary line ends; the line goes out as it is. */
static void boundary(struct mime_downgrade *dg, size_t k, int kind,
		     const char *line, size_t n)
{
	if (dg->region == R_HEADER)
		header_end(dg, 0);
	if (dg->region == R_QP)
		qp_flush(dg);
	/* A closing boundary ends its multipart too; inner ones left
	 * open end with it (lib/mime does the same). */
	size_t keep = kind == 2 ? k : k + 1;
	struct level *l = &dg->levels[k];
	unsigned depth = l->depth;
	bool digest = l->digest;
	while (dg->nlevels > keep)
		free(dg->levels[--dg->nlevels].boundary);
	/* "--b--" may be followed by anything, and padding is long. */
	dg->line_len = 0;
	dg->last_cr = false;
	if (check_octets(dg, line, n, true) != 0)
		fail(dg, "8-bit octets or an over-long line in a boundary "
		     "line");
	dg->line_len = 0;
	emit(dg, line, n);
	if (kind == 2) {
		dg->region = R_OUTSIDE;
		return;
	}
	dg->depth = depth + 1;
	dg->top = false;
	dg->digest_child = digest;
	(void)new_part(dg);
}

/* Passed-on octets of a body region. */
static void pass_on(struct mime_downgrade *dg, const char *p, size_t n,
		    bool at_end)
{
	if (check_octets(dg, p, n, at_end) != 0) {
		if (dg->region == R_PLAIN && !dg->convert)
			plan_set(dg, dg->part);
		else if (dg->region == R_PLAIN)
			fail(dg, "the content changed between the passes");
		else if (dg->region == R_OPAQUE)
			fail(dg, dg->why);
		else
			fail(dg, "8-bit octets or an over-long line outside "
			     "the MIME parts (preamble or epilogue)");
	}
	emit(dg, p, n);
}

/* A piece of a line: whole when it is the line (with its LF, or the
 * content's last line without one), else a part of a line over
 * LINE_HOLD octets, which can be neither a boundary nor empty. */
static void piece(struct mime_downgrade *dg, const char *p, size_t n,
		  bool whole, bool at_end)
{
	int kind = 0;
	long k = whole && dg->nlevels > 0 ?
		boundary_level(dg, p, n, &kind) : -1;

	if (k >= 0) {
		boundary(dg, (size_t)k, kind, p, n);
		return;
	}
	switch (dg->region) {
	case R_HEADER:
		if (buf_append(&dg->header, p, n) < 0) {
			fail(dg, "a header section too large to convert");
			return;
		}
		if (whole && (n == 1 || (n == 2 && p[0] == '\r')) &&
		    p[n - 1] == '\n')
			header_end(dg, n);
		else if (at_end)
			header_end(dg, 0);
		break;
	case R_QP:
		qp_feed(dg, p, n);
		break;
	default:
		pass_on(dg, p, n, at_end);
	}
}

int mime_downgrade_feed(struct mime_downgrade *dg, const char *data,
			size_t len, struct buf *out, const char **error_r)
{
	dg->out = dg->convert ? out : NULL;
	while (len > 0 && dg->error == NULL) {
		const char *lf = memchr(data, '\n', len);
		size_t take = lf == NULL ? len : (size_t)(lf - data) + 1;
		if (!dg->long_line && dg->line.len + take <= LINE_HOLD) {
			if (buf_append(&dg->line, data, take) < 0)
				fail(dg, "internal error: line buffer");
			if (lf != NULL) {
				piece(dg, dg->line.data, dg->line.len, true,
				      false);
				buf_reset(&dg->line);
			}
		} else {
			if (!dg->long_line && dg->line.len > 0)
				piece(dg, dg->line.data, dg->line.len, false,
				      false);
			buf_reset(&dg->line);
			dg->long_line = lf == NULL;
			piece(dg, data, take, false, false);
		}
		data += take;
		len -= take;
	}
	dg->out = NULL;
	if (dg->error != NULL) {
		*error_r = dg->error;
		return -1;
	}
	return 0;
}

int mime_downgrade_finish(struct mime_downgrade *dg, struct buf *out,
			  const char **error_r)
{
	dg->out = dg->convert ? out : NULL;
	if (dg->error == NULL) {
		if (dg->line.len > 0)
			piece(dg, dg->line.data, dg->line.len, !dg->long_line,
			      true);
		else
			piece(dg, "", 0, false, true);
		buf_reset(&dg->line);
		dg->long_line = false;
		if (dg->region == R_QP)
			qp_flush(dg);
	}
	dg->out = NULL;
	if (dg->error != NULL) {
		*error_r = dg->error;
		return -1;
	}
	return 0;
}
