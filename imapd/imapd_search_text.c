/* imapd_search_text: a message's header fields, sent date and text as
 * SEARCH keys see them (see imapd_search.h). What Dovecot searches is
 * searched: HEADER/FROM/SUBJECT/... the unfolded, RFC 2047 decoded value
 * of every field of that name; BODY the text parts (text/ *, and
 * message/ * leaves such as delivery reports), transfer encoding undone
 * and converted to UTF-8, never a header, a boundary or an attachment's
 * base64; TEXT that and every header block of the message (its own, each
 * part's MIME header, each embedded message's header) as "Name: value"
 * lines.
 *
 * The cost is in BODY and TEXT, so the common case goes without copies:
 * a part in 7bit/8bit/binary whose charset is UTF-8 or US-ASCII (or
 * unnamed) and whose octets are valid UTF-8 is searched where it lies in
 * the message; only other parts are decoded, each when a key first gets
 * to it, into one buffer kept for the message's other keys. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "imap_date.h"
#include "imapd_search.h"
#include "mem.h"
#include "mime.h"
#include "mime_body.h"
#include "mime_decode.h"

/* Buffers grow with what they hold, which is bounded by the message
 * (text never grows more than IMAP_CASEMAP_GROWTH times). */
#define TEXT_BUF_MAX ((size_t)1 << 40)

enum seg_state { SEG_NEW = 0, SEG_RAW, SEG_DECODED };

struct imapd_search_seg {
	const struct mime_part *part;
	bool header;		/* the part's header block, else its body */
	enum seg_state state;
	size_t off, len;	/* in data (raw) or in decoded */
};

void imapd_search_text_init(struct imapd_search_text *t,
			    struct imapd_session *s)
{
	memset(t, 0, sizeof(*t));
	t->s = s;
	buf_init(&t->decoded, TEXT_BUF_MAX);
	buf_init(&t->value, TEXT_BUF_MAX);
	buf_init(&t->value2, TEXT_BUF_MAX);
	buf_init(&t->scratch, TEXT_BUF_MAX);
}

void imapd_search_text_deinit(struct imapd_search_text *t)
{
	buf_deinit(&t->decoded);
	buf_deinit(&t->value);
	buf_deinit(&t->value2);
	buf_deinit(&t->scratch);
	xfree(&t->segs);
}

/* Buffers that grew past this are given back between messages. */
#define KEEP_MAX (1024 * 1024)

static void buf_shrink(struct buf *b)
{
	if (b->cap > KEEP_MAX) {
		buf_deinit(b);
		buf_init(b, TEXT_BUF_MAX);
	} else {
		buf_reset(b);
	}
}

void imapd_search_text_reset(struct imapd_search_text *t, uint32_t msn)
{
	t->msn = msn;
	t->gone = 0;
	t->hdr = t->data = NULL;
	t->hdr_len = t->len = 0;
	t->mime = NULL;
	t->sent_known = false;
	t->nsegs = 0;
	t->segs_listed = false;
	buf_shrink(&t->decoded);
	buf_shrink(&t->scratch);
}

/* ---- loading ---- */

static int loaded(struct imapd_search_text *t, int ret)
{
	if (ret > 0)
		return 1;
	t->gone = ret == 0 ? 1 : -1;
	return -1;
}

static int load_mime(struct imapd_search_text *t)
{
	if (t->mime != NULL)
		return 1;
	if (loaded(t, imapd_msg_mime(t->s, t->msn, &t->data, &t->len,
				     &t->mime)) < 0)
		return -1;
	/* The header from the whole message: a cached one handed out
	 * before may not outlive the load. */
	t->hdr = t->data + t->mime->root->header_offset;
	t->hdr_len = t->mime->root->header_len;
	return 1;
}

static int load_header(struct imapd_search_text *t)
{
	if (t->hdr != NULL)
		return 1;
	return loaded(t, imapd_msg_header(t->s, t->msn, &t->hdr,
					  &t->hdr_len));
}

/* ---- header values ---- */

/* The searchable text of a field value: as it is when it is one line
 * of ASCII without encoded words; else unfolded, decoded and made UTF-8
 * (in t->value). */
static void value_text(struct imapd_search_text *t, const char *v,
		       size_t len, const char **text_r, size_t *len_r)
{
	bool fold = false, high = false, word = false;
	const char *error;
	struct buf *cur = &t->value2, *other = &t->value, *tmp;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '\n' || c == '\r' || c == '\0')
			fold = true;
		else if (c >= 0x80)
			high = true;
		else if (c == '=' && i + 1 < len && v[i + 1] == '?')
			word = true;
	}
	*text_r = v;
	*len_r = len;
	if (!fold && !high && !word)
		return;
	buf_reset(cur);
	for (size_t i = 0; i < len; i++)
		if (v[i] != '\r' && v[i] != '\n' &&
		    buf_append_char(cur, v[i] == '\0' ? ' ' : v[i]) < 0)
			break;
	if (word) {
		buf_reset(other);
		(void)!mime_decode_header(cur->data, cur->len, other, &error);
		tmp = cur, cur = other, other = tmp;
	}
	if (!mime_body_utf8_valid(cur->data, cur->len)) {
		buf_reset(other);
		(void)!mime_body_to_utf8(NULL, cur->data, cur->len, other);
		tmp = cur, cur = other, other = tmp;
	}
	*text_r = cur->data;
	*len_r = cur->len;
}

static bool field_is(const struct mime_field *f, const char *name)
{
	size_t n = strlen(name);

	return f->name_len == n && strncasecmp(f->name, name, n) == 0;
}

int imapd_search_text_header(struct imapd_search_text *t, const char *name,
			     const struct imap_casemap_needle *n)
{
	struct mime_header_iter it;
	struct mime_field f;

	if (load_header(t) < 0)
		return -1;
	mime_header_iter_init(&it, t->hdr, t->hdr_len);
	while (mime_header_next(&it, &f)) {
		const char *text;
		size_t len;

		if (!field_is(&f, name))
			continue;
		if (n->len == 0)
			return 1;
		value_text(t, f.value, f.value_len, &text, &len);
		if (imap_casemap_find(n, text, len, &t->scratch) > 0)
			return 1;
	}
	return 0;
}

int imapd_search_text_sent(struct imapd_search_text *t, int64_t *local_r)
{
	struct mime_field f;
	int64_t when;
	int zone;

	if (!t->sent_known) {
		if (load_header(t) < 0)
			return -1;
		t->sent = 0;
		if (mime_header_find(t->hdr, t->hdr_len, "Date", &f) == 1) {
			const char *text;
			size_t len;

			value_text(t, f.value, f.value_len, &text, &len);
			if (imap_date_rfc5322_parse(text, len, &when, &zone) == 0)
				t->sent = when + (int64_t)zone * 60;
		}
		t->sent_known = true;
	}
	*local_r = t->sent;
	return 1;
}

/* ---- text pieces ---- */

static void seg_add(struct imapd_search_text *t, const struct mime_part *p,
		    bool header)
{
	if (t->nsegs == t->segs_alloc) {
		t->segs_alloc = t->segs_alloc == 0 ? 16 : t->segs_alloc * 2;
		t->segs = xreallocarray(t->segs, t->segs_alloc,
					sizeof(*t->segs));
	}
	t->segs[t->nsegs++] = (struct imapd_search_seg){ p, header, SEG_NEW,
							 0, 0 };
}

/* Lists each part's header and text in message order (pre-order, by the
 * tree's links: no recursion). */
static void segs_list(struct imapd_search_text *t)
{
	const struct mime_part *p = t->mime->root;

	while (p != NULL) {
		seg_add(t, p, true);
		if (mime_body_is_text(p))
			seg_add(t, p, false);
		if (p->children != NULL) {
			p = p->children;
			continue;
		}
		while (p != NULL && p->next == NULL)
			p = p->parent;
		if (p != NULL)
			p = p->next;
	}
	t->segs_listed = true;
}

static bool charset_is_utf8(const struct mime_part *p)
{
	const char *cs = mime_param_get(p->params, p->param_count, "charset");

	return cs == NULL || strcasecmp(cs, "utf-8") == 0 ||
	       strcasecmp(cs, "us-ascii") == 0 || strcasecmp(cs, "utf8") == 0;
}

static bool encoding_is_identity(const struct mime_part *p)
{
	return strcmp(p->encoding, "7bit") == 0 ||
	       strcmp(p->encoding, "8bit") == 0 ||
	       strcmp(p->encoding, "binary") == 0;
}

/* A header block as "Name: value" lines, values unfolded and decoded. */
static void header_decode(struct imapd_search_text *t, const char *h,
			  size_t len)
{
	struct mime_header_iter it;
	struct mime_field f;

	mime_header_iter_init(&it, h, len);
	while (mime_header_next(&it, &f)) {
		const char *text;
		size_t tlen;

		value_text(t, f.value, f.value_len, &text, &tlen);
		if (buf_append(&t->decoded, f.name, f.name_len) < 0 ||
		    buf_append(&t->decoded, ": ", 2) < 0 ||
		    buf_append(&t->decoded, text, tlen) < 0 ||
		    buf_append(&t->decoded, "\r\n", 2) < 0)
			return;
	}
}

/* Makes a piece's text: where it lies when it can be searched as it is,
 * else decoded. */
static void seg_make(struct imapd_search_text *t, struct imapd_search_seg *g)
{
	const struct mime_part *p = g->part;
	size_t off = g->header ? p->header_offset : p->body_offset;
	size_t len = g->header ? p->header_len : p->body_len;
	const char *s;

	if (off > t->len)
		off = t->len;
	if (len > t->len - off)
		len = t->len - off;
	s = t->data + off;
	/* a header is searched as it is without encoded words or folded
	 * lines (a value must read as one line) */
	if (mime_body_utf8_valid(s, len) &&
	    (g->header ? memmem(s, len, "=?", 2) == NULL &&
			 memmem(s, len, "\n ", 2) == NULL &&
			 memmem(s, len, "\n\t", 2) == NULL :
			 encoding_is_identity(p) && charset_is_utf8(p))) {
		g->state = SEG_RAW;
		g->off = off;
		g->len = len;
		return;
	}
	g->state = SEG_DECODED;
	g->off = t->decoded.len;
	if (g->header)
		header_decode(t, s, len);
	else
		(void)!mime_body_text(t->data, t->len, p, &t->decoded);
	g->len = t->decoded.len - g->off;
}

int imapd_search_text_body(struct imapd_search_text *t,
			   const struct imap_casemap_needle *n, bool headers)
{
	if (n->len == 0)
		return 1;	/* every message has a (maybe empty) text */
	if (load_mime(t) < 0)
		return -1;
	if (!t->segs_listed)
		segs_list(t);
	for (size_t i = 0; i < t->nsegs; i++) {
		struct imapd_search_seg *g = &t->segs[i];
		const char *text;

		if (g->header && !headers)
			continue;
		if (g->state == SEG_NEW)
			seg_make(t, g);
		text = g->state == SEG_RAW ? t->data + g->off :
					     t->decoded.data + g->off;
		if (imap_casemap_find(n, text, g->len, &t->scratch) > 0)
			return 1;
	}
	return 0;
}
