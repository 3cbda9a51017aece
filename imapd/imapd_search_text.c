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
 * The cost is in BODY and TEXT. Most of a mailbox's octets are
 * attachments, which are never searched: the message's text map (where
 * its text pieces lie, lib/mime_body) is cached the first time the
 * message is parsed, and from then on only those pieces are read from
 * the file (a message without text is not opened at all). A piece in
 * 7bit/8bit/binary whose charset is UTF-8 or US-ASCII (or unnamed) and
 * whose octets are valid UTF-8 is searched as it was read; only other
 * pieces are decoded, each when a key first gets to it, into one buffer
 * kept for the message's other keys. */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "fsutil.h"
#include "imap_date.h"
#include "imapd_search.h"
#include "mem.h"
#include "mime.h"
#include "mime_body.h"
#include "mime_decode.h"
#include "log.h"

/* Buffers grow with what they hold, which is bounded by the message
 * (text never grows more than IMAP_CASEMAP_GROWTH times). */
#define TEXT_BUF_MAX ((size_t)1 << 40)

/* Where a piece's searchable text is once made. */
enum seg_src {
	SEG_NEW = 0,
	SEG_ROOT,	/* the message's header as loaded (t->hdr) */
	SEG_DATA,	/* in the whole message (t->data) */
	SEG_RAW,	/* in the pieces read from the file (t->raw) */
	SEG_DECODED	/* in t->decoded */
};

struct imapd_search_seg {
	struct mime_body_piece piece;
	bool root;		/* the message's own header */
	enum seg_src src;
	size_t off, len;
};

void imapd_search_text_init(struct imapd_search_text *t,
			    struct imapd_session *s)
{
	memset(t, 0, sizeof(*t));
	t->s = s;
	t->fd = -1;
	buf_init(&t->map, TEXT_BUF_MAX);
	buf_init(&t->decoded, TEXT_BUF_MAX);
	buf_init(&t->value, TEXT_BUF_MAX);
	buf_init(&t->value2, TEXT_BUF_MAX);
	buf_init(&t->scratch, TEXT_BUF_MAX);
}

void imapd_search_text_deinit(struct imapd_search_text *t)
{
	if (t->fd >= 0)
		close(t->fd);
	ms_cache_close(&t->cache);	/* writes the maps made */
	xfree(&t->raw);
	buf_deinit(&t->map);
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
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	t->raw_len = 0;
	if (t->raw_cap > KEEP_MAX) {
		xfree(&t->raw);
		t->raw_cap = 0;
	}
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
	/* unfolded: runs between line ends appended whole; NUL a space */
	for (size_t i = 0, start = 0; i <= len; i++) {
		if (i < len && v[i] != '\r' && v[i] != '\n' && v[i] != '\0')
			continue;
		if (buf_append(cur, v + start, i - start) < 0 ||
		    (i < len && v[i] == '\0' && buf_append_char(cur, ' ') < 0))
			break;
		start = i + 1;
	}
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

/* The next field called name (nl octets) in the header block h[0..len)
 * from *pos: 1 with *f, or 0 at the end. Only lines that start with the
 * name are parsed (by mime_header_next, from there): a header search
 * does not parse every field of every message. */
static int next_named(const char *h, size_t len, size_t *pos,
		      const char *name, size_t nl, struct mime_field *f)
{
	while (*pos < len) {
		size_t p = *pos;
		const char *lf = memchr(h + p, '\n', len - p);
		struct mime_header_iter it;

		if (h[p] == '\n' || (h[p] == '\r' && p + 1 < len &&
				     h[p + 1] == '\n'))
			return 0;	/* the empty line: the end */
		*pos = lf == NULL ? len : (size_t)(lf - h) + 1;
		if (len - p <= nl || strncasecmp(h + p, name, nl) != 0 ||
		    (h[p + nl] != ':' && h[p + nl] != ' ' && h[p + nl] != '\t'))
			continue;
		mime_header_iter_init(&it, h, len);
		it.pos = p;
		if (mime_header_next(&it, f) == 1 && f->offset == p &&
		    f->name_len == nl) {
			*pos = it.pos;
			return 1;
		}
	}
	return 0;
}

int imapd_search_text_header(struct imapd_search_text *t, const char *name,
			     const struct imap_casemap_needle *n)
{
	size_t pos = 0, nl = strlen(name);
	struct mime_field f;

	if (load_header(t) < 0)
		return -1;
	while (next_named(t->hdr, t->hdr_len, &pos, name, nl, &f)) {
		const char *text;
		size_t len;

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
			if (imap_date_rfc5322_parse(text, len, &when,
						    &zone) == 0)
				t->sent = when + (int64_t)zone * 60;
		}
		t->sent_known = true;
	}
	*local_r = t->sent;
	return 1;
}

/* ---- text pieces ---- */

static void seg_add(struct imapd_search_text *t,
		    const struct mime_body_piece *piece, bool root)
{
	if (t->nsegs == t->segs_alloc) {
		t->segs_alloc = t->segs_alloc == 0 ? 16 : t->segs_alloc * 2;
		t->segs = xreallocarray(t->segs, t->segs_alloc,
					sizeof(*t->segs));
	}
	memset(&t->segs[t->nsegs], 0, sizeof(t->segs[0]));
	t->segs[t->nsegs].piece = *piece;
	t->segs[t->nsegs++].root = root;
}

/* The message's store record (NULL when it is gone). */
static const struct mailstore_msg *store_msg(struct imapd_search_text *t)
{
	long idx = imapd_view_index(t->s, t->msn);

	return idx < 0 ? NULL : mailstore_msg(t->s->sel->box, (size_t)idx);
}

static struct ms_cache *cache(struct imapd_search_text *t)
{
	if (t->cache == NULL)
		t->cache = ms_cache_open(t->s->sel->path,
					 mailstore_uidvalidity(t->s->sel->box));
	return t->cache;
}

/* Lists the pieces from the map in t->map: 1, or 0 when it is
 * malformed. */
static int segs_from_map(struct imapd_search_text *t, const char *map,
			 size_t len)
{
	struct mime_body_piece piece = { .header = true };
	size_t pos = 0;
	int r;

	t->nsegs = 0;
	seg_add(t, &piece, true);
	while ((r = mime_body_textmap_next(map, len, &pos, &piece)) > 0)
		seg_add(t, &piece, false);
	return r == 0;
}

/* Lists the pieces: from the cached map, else from a parse (whose map
 * is cached). 1, or -1 (gone). */
static int segs_list(struct imapd_search_text *t)
{
	const struct mailstore_msg *m = store_msg(t);
	const char *map;
	size_t len;

	if (m == NULL)
		return loaded(t, 0);
	if (ms_cache_get(cache(t), m->uid, m->base, MS_CACHE_TEXTMAP, &map,
			 &len) == 1 &&
	    segs_from_map(t, map, len)) {
		t->segs_listed = true;
		return 1;
	}
	if (load_mime(t) < 0)
		return -1;
	buf_reset(&t->map);
	if (mime_body_textmap_write(t->mime, t->len, &t->map) < 0 ||
	    !segs_from_map(t, t->map.data, t->map.len))
		return loaded(t, -1);	/* cannot happen: bounded by size */
	if ((m = store_msg(t)) != NULL)
		ms_cache_put(cache(t), m->uid, m->base, MS_CACHE_TEXTMAP,
			     t->map.data, t->map.len);
	t->segs_listed = true;
	return 1;
}

/* Reads len octets at off of the message file into t->raw (appended):
 * the offset in t->raw, or -1 (gone or I/O error, t->gone set). */
static long read_piece(struct imapd_search_text *t, size_t off, size_t len)
{
	const struct mailstore_msg *m = store_msg(t);
	const char *error;
	ssize_t n;

	if (m == NULL)
		return loaded(t, 0);
	/* a map from the cache is trusted no further than the file's size */
	if (off > m->size)
		off = (size_t)m->size;
	if (len > m->size - off)
		len = (size_t)(m->size - off);
	if (t->fd < 0) {
		long idx = imapd_view_index(t->s, t->msn);
		int r = mailstore_msg_open(t->s->sel->box, (size_t)idx, &t->fd,
					   &error);

		if (r < 0)
			log_error("user=<%s>: %s: UID %u: open: %s",
				  t->s->user, t->s->sel->path, m->uid, error);
		if (r <= 0)
			return loaded(t, r);
	}
	if (t->raw_cap - t->raw_len < len + 1) {
		t->raw_cap = (t->raw_len + len + 1) * 2;
		t->raw = xrealloc(t->raw, t->raw_cap);
	}
	n = fs_pread_all(t->fd, t->raw + t->raw_len, len, (off_t)off);
	if (n < 0) {
		log_error("user=<%s>: %s: UID %u: read: %s", t->s->user,
			  t->s->sel->path, m->uid, strerror(errno));
		return loaded(t, -1);
	}
	/* a shorter file (replaced behind our back) gives what is there */
	t->raw_len += (size_t)n;
	return (long)(t->raw_len - (size_t)n);
}

/* Whether octets may be searched as they are, if they are valid UTF-8
 * (imap_casemap_find_utf8 tells): for a header no encoded words or
 * folded lines (a value must read as one line); for a body, no transfer
 * or charset decoding. */
static bool searchable_as_is(const struct mime_body_piece *p, const char *s,
			     size_t len)
{
	if (p->header)
		return memmem(s, len, "=?", 2) == NULL &&
		       memmem(s, len, "\n ", 2) == NULL &&
		       memmem(s, len, "\n\t", 2) == NULL;
	if (strcasecmp(p->encoding, "7bit") != 0 &&
	    strcasecmp(p->encoding, "8bit") != 0 &&
	    strcasecmp(p->encoding, "binary") != 0)
		return false;
	return strcmp(p->charset, "-") == 0 ||
	       strcasecmp(p->charset, "utf-8") == 0 ||
	       strcasecmp(p->charset, "utf8") == 0 ||
	       strcasecmp(p->charset, "us-ascii") == 0;
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

/* The octets of a piece: 1 with them, or -1 (gone). */
static int seg_octets(struct imapd_search_text *t, struct imapd_search_seg *g,
		      const char **s_r, size_t *len_r, enum seg_src *src_r,
		      size_t *off_r)
{
	size_t off = g->piece.offset, len = g->piece.len;
	long at;

	if (g->root) {
		if (load_header(t) < 0)
			return -1;
		*s_r = t->hdr;
		*len_r = t->hdr_len;
		*src_r = SEG_ROOT;
		*off_r = 0;
		return 1;
	}
	if (t->data != NULL) {
		if (off > t->len)
			off = t->len;
		if (len > t->len - off)
			len = t->len - off;
		*s_r = t->data + off;
		*len_r = len;
		*src_r = SEG_DATA;
		*off_r = off;
		return 1;
	}
	if ((at = read_piece(t, off, len)) < 0)
		return -1;
	*s_r = t->raw + at;
	*len_r = t->raw_len - (size_t)at;
	*src_r = SEG_RAW;
	*off_r = (size_t)at;
	return 1;
}

/* The decoded text of a piece whose octets are s[0..len). */
static void seg_decode(struct imapd_search_text *t,
		       struct imapd_search_seg *g, const char *s, size_t len)
{
	g->src = SEG_DECODED;
	g->off = t->decoded.len;
	if (g->piece.header)
		header_decode(t, s, len);
	else
		(void)!mime_body_piece_text(&g->piece, s, len, &t->decoded);
	g->len = t->decoded.len - g->off;
}

/* Makes a piece's text: where it lies when it may be searched as it is,
 * else decoded. */
static int seg_make(struct imapd_search_text *t, struct imapd_search_seg *g)
{
	const char *s;
	size_t len, off;
	enum seg_src src;

	if (seg_octets(t, g, &s, &len, &src, &off) < 0)
		return -1;
	if (searchable_as_is(&g->piece, s, len)) {
		g->src = src;
		g->off = off;
		g->len = len;
	} else {
		seg_decode(t, g, s, len);
	}
	return 1;
}

static const char *seg_text(const struct imapd_search_text *t,
			    const struct imapd_search_seg *g)
{
	switch (g->src) {
	case SEG_ROOT:
		return t->hdr;
	case SEG_DATA:
		return t->data + g->off;
	case SEG_RAW:
		return t->raw + g->off;
	default:
		return t->decoded.data + g->off;
	}
}

int imapd_search_text_body(struct imapd_search_text *t,
			   const struct imap_casemap_needle *n, bool headers)
{
	if (n->len == 0)
		return 1;	/* every message has a (maybe empty) text */
	if (!t->segs_listed && segs_list(t) < 0)
		return -1;
	for (size_t i = 0; i < t->nsegs; i++) {
		struct imapd_search_seg *g = &t->segs[i];

		if (g->piece.header && !headers)
			continue;
		if (g->src == SEG_NEW && seg_make(t, g) < 0)
			return -1;
		if (g->src != SEG_DECODED) {
			/* octets as they are: valid UTF-8 is not known yet */
			int r = imap_casemap_find_utf8(n, seg_text(t, g),
						       g->len, &t->scratch);

			if (r != -2) {
				if (r > 0)
					return 1;
				continue;
			}
			/* not UTF-8: decoded as lib/mime_body reads it */
			seg_decode(t, g, seg_text(t, g), g->len);
		}
		if (imap_casemap_find(n, seg_text(t, g), g->len,
				      &t->scratch) > 0)
			return 1;
	}
	return 0;
}
