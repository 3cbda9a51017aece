/* imapd_fetch_body: FETCH BODY[section]<partial>, BODY.PEEK, RFC822,
 * RFC822.HEADER, RFC822.TEXT (RFC 3501 / RFC 9051 6.4.5), BINARY[part],
 * BINARY.PEEK, BINARY.SIZE (RFC 3516).
 *
 * A Maildir file has LF line ends; the client gets CRLF. Every size and
 * every <partial> offset counts the CRLF form: the octets are measured
 * and then converted a block at a time while they are written (lib/crlf,
 * at memory speed), so that a big body goes from the message's buffer
 * to the output stream without a converted copy of the whole. In a BODY
 * section a NUL, which a literal may not hold, goes out as 0x80 (as
 * Dovecot does); BINARY keeps it and uses literal8 (~{n}).
 *
 * Sections (the part numbers resolved by mime_part_find):
 *   []            the whole message        [TEXT]    its body
 *   [HEADER]      its header block (from the cache, no file opened)
 *   [HEADER.FIELDS (..)], [HEADER.FIELDS.NOT (..)]: the fields named (or
 *                 all others), in message order, then an empty line
 *   [n]           part n's body (for a message/rfc822 part: the whole
 *                 embedded message)
 *   [n.MIME]      part n's own header
 *   [n.HEADER], [n.TEXT], [n.HEADER.FIELDS..]: of the message embedded
 *                 in part n when it is a message/rfc822; empty otherwise
 * A part that does not exist is an empty string (as Dovecot). */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "buf.h"
#include "crlf.h"
#include "mime_body.h"
#include "imapd_fetch.h"

/* The octets of a section before the partial is applied. */
struct fetch_src {
	const char *data;
	size_t len;
	bool raw;	/* from the file: LF becomes CRLF when written */
	bool fix_nul;	/* NUL goes out as 0x80 */
	bool binary;	/* BINARY: a NUL makes the literal a literal8 */
	bool has_nul;	/* data holds a NUL */
};

/* Where converted octets go: the window [skip, skip + left) of the
 * converted stream is written, to a buffer or to the client. */
struct crlf_out {
	struct imapd_session *s;	/* when to is NULL */
	struct buf *to;
	char *block;			/* 2 * IMAPD_FETCH_BLOCK octets */
	uint64_t skip, left;
	bool fix_nul;			/* NUL becomes 0x80 */
	bool failed;			/* to reached its maximum */
};

static void out_emit(struct crlf_out *o, const char *p, size_t len)
{
	if (o->to == NULL)
		imapd_write(o->s, p, len);
	else if (buf_append(o->to, p, len) < 0)
		o->failed = true;
}

/* The part of p[0..len) (octets of the converted stream) inside the
 * window. */
static void out_put(struct crlf_out *o, const char *p, size_t len)
{
	if (o->skip >= len) {
		o->skip -= len;
		return;
	}
	p += o->skip;
	len -= (size_t)o->skip;
	o->skip = 0;
	if (len > o->left)
		len = (size_t)o->left;
	if (len == 0)
		return;
	out_emit(o, p, len);
	o->left -= len;
}

/* Writes data[0..len) converted (lib/crlf) through the window, a block
 * at a time; stops once the window is full. */
static void out_crlf(struct crlf_out *o, const char *data, size_t len)
{
	for (size_t i = 0; i < len && o->left > 0 && !o->failed;) {
		size_t n = len - i < IMAPD_FETCH_BLOCK ? len - i :
			IMAPD_FETCH_BLOCK;
		size_t m = crlf_convert(o->block, data + i, n,
					i > 0 && data[i - 1] == '\r',
					o->fix_nul);

		out_put(o, o->block, m);
		i += n;
	}
}

unsigned imapd_fetch_body_need(const struct imap_fetch_item *item)
{
	if (item->type < IMAP_FETCH_RFC822)
		return 0;
	if (item->section.part_count > 0)
		return IMAPD_FETCH_NEED_MIME;
	switch (item->section.kind) {
	case IMAP_SECTION_HEADER:
	case IMAP_SECTION_HEADER_FIELDS:
	case IMAP_SECTION_HEADER_FIELDS_NOT:
		return IMAPD_FETCH_NEED_HEADER;
	default:
		return IMAPD_FETCH_NEED_FULL;
	}
}

/* True for a part whose body is itself parts (decoding does not apply). */
static bool part_is_container(const struct mime_part *part)
{
	return part->child_count > 0 || strcmp(part->type, "multipart") == 0;
}

/* Octets [off, off + len) of the message, or none when the tree does not
 * fit the octets (a damaged cache: never read past them). */
static void src_range(struct fetch_src *src, const struct imapd_fetch_msg *msg,
		      size_t off, size_t len)
{
	if (off > msg->len || len > msg->len - off)
		off = len = 0;
	src->data = msg->data + off;
	src->len = len;
}

/* Empties ctx->tmp for what is made of len octets: decoded or
 * converted to CRLF, that is at most twice as many (and an empty line). */
static void tmp_reset(struct imapd_fetch_ctx *ctx, size_t len)
{
	size_t want = len * 2 + 64;

	if (ctx->tmp.max >= want && ctx->tmp.max <= want * 4) {
		buf_reset(&ctx->tmp);	/* the usual case: no allocation */
		return;
	}
	buf_deinit(&ctx->tmp);
	buf_init(&ctx->tmp, want);
}

static bool field_listed(const struct imap_section *sec,
			 const struct mime_field *f)
{
	for (size_t i = 0; i < sec->field_count; i++)
		if (strlen(sec->fields[i]) == f->name_len &&
		    strncasecmp(sec->fields[i], f->name, f->name_len) == 0)
			return true;
	return false;
}

/* HEADER.FIELDS (.NOT) of the header block hdr[0..len) into ctx->tmp,
 * in CRLF form, each field ending in CRLF, then the empty line. */
static int fields_build(struct imapd_fetch_ctx *ctx, const char *hdr,
			size_t len, const struct imap_section *sec)
{
	bool not = sec->kind == IMAP_SECTION_HEADER_FIELDS_NOT;
	struct crlf_out o = { .to = &ctx->tmp, .block = ctx->block,
			      .left = UINT64_MAX, .fix_nul = true };
	struct mime_header_iter it;
	struct mime_field f;

	tmp_reset(ctx, len);
	mime_header_iter_init(&it, hdr, len);
	while (mime_header_next(&it, &f) == 1) {
		if (field_listed(sec, &f) == not)
			continue;
		out_crlf(&o, hdr + f.offset, f.len);
		if (f.len == 0 || hdr[f.offset + f.len - 1] != '\n')
			out_put(&o, "\r\n", 2);
	}
	out_put(&o, "\r\n", 2);
	return o.failed ? -1 : 0;
}

/* A header-kind section of the header block hdr[0..len). */
static int src_header(struct imapd_fetch_ctx *ctx, struct fetch_src *src,
		      const char *hdr, size_t len,
		      const struct imap_section *sec)
{
	if (sec->kind == IMAP_SECTION_HEADER) {
		src->data = hdr;
		src->len = len;
		return 0;
	}
	if (fields_build(ctx, hdr, len, sec) < 0)
		return -1;
	src->data = ctx->tmp.data;
	src->len = ctx->tmp.len;
	src->raw = false;
	return 0;
}

/* BINARY[n] of a leaf part: its body with the transfer encoding undone
 * (7bit and 8bit only need the CRLF conversion, done while writing).
 * 0, -1 (too big) or -2 (unknown encoding). */
static int src_decoded(struct imapd_fetch_ctx *ctx, struct fetch_src *src,
		       const struct mime_part *part)
{
	int ret;

	if (strcmp(part->encoding, "7bit") == 0 ||
	    strcmp(part->encoding, "8bit") == 0)
		return 0;
	tmp_reset(ctx, src->len);
	ret = mime_body_decode(part->encoding, src->data, src->len, &ctx->tmp);
	if (ret < 0)
		return ret;
	src->data = ctx->tmp.data;
	src->len = ctx->tmp.len;
	src->raw = false;
	return 0;
}

/* A section inside part (part_count > 0). */
static int src_part(struct imapd_fetch_ctx *ctx, struct fetch_src *src,
		    const struct imapd_fetch_msg *msg,
		    const struct imap_fetch_item *item)
{
	const struct imap_section *sec = &item->section;
	const struct mime_part *part, *child;

	part = mime_part_find(msg->mime, sec->parts, sec->part_count);
	if (part == NULL)
		return 0;			/* no such part: empty */
	switch (sec->kind) {
	case IMAP_SECTION_PART:
		src_range(src, msg, part->body_offset, part->body_len);
		if (src->binary && !part_is_container(part))
			return src_decoded(ctx, src, part);
		return 0;
	case IMAP_SECTION_MIME:
		src_range(src, msg, part->header_offset, part->header_len);
		return 0;
	default:
		break;
	}
	if (!mime_part_is_message(part))
		return 0;		/* HEADER/TEXT of a non-message: empty */
	child = part->children;
	if (sec->kind == IMAP_SECTION_TEXT) {
		src_range(src, msg, child->body_offset, child->body_len);
		return 0;
	}
	src_range(src, msg, child->header_offset, child->header_len);
	return src_header(ctx, src, src->data, src->len, sec);
}

/* The octets of item's section. 0, -1 (a limit) or -2 (unknown CTE). */
static int section_source(struct imapd_fetch_ctx *ctx,
			  const struct imapd_fetch_msg *msg,
			  const struct imap_fetch_item *item,
			  struct fetch_src *src)
{
	const struct imap_section *sec = &item->section;
	size_t hdr_len;

	memset(src, 0, sizeof(*src));
	src->data = "";
	src->raw = true;
	src->binary = item->type == IMAP_FETCH_BINARY ||
		      item->type == IMAP_FETCH_BINARY_SIZE;
	if (sec->part_count > 0)
		return src_part(ctx, src, msg, item);
	switch (sec->kind) {
	case IMAP_SECTION_HEADER:
	case IMAP_SECTION_HEADER_FIELDS:
	case IMAP_SECTION_HEADER_FIELDS_NOT:
		return src_header(ctx, src, msg->header, msg->header_len, sec);
	case IMAP_SECTION_TEXT:
		hdr_len = mime_header_block_len(msg->data, msg->len);
		src_range(src, msg, hdr_len, msg->len - hdr_len);
		return 0;
	default:
		src_range(src, msg, 0, msg->len);
		return 0;
	}
}

int imapd_fetch_body_check_cte(struct imapd_fetch_ctx *ctx,
			       const struct imapd_fetch_msg *msg)
{
	struct buf empty;
	int ret = 0;

	buf_init(&empty, 16);
	for (size_t i = 0; i < ctx->items.count && ret == 0; i++) {
		const struct imap_fetch_item *item = &ctx->items.items[i];
		const struct mime_part *part;

		if ((item->type != IMAP_FETCH_BINARY &&
		     item->type != IMAP_FETCH_BINARY_SIZE) ||
		    item->section.part_count == 0)
			continue;
		part = mime_part_find(msg->mime, item->section.parts,
				      item->section.part_count);
		/* Decoding nothing tells whether the encoding is known. */
		if (part != NULL && !part_is_container(part) &&
		    mime_body_decode(part->encoding, "", 0, &empty) == -2)
			ret = -1;
	}
	buf_deinit(&empty);
	return ret;
}

/* Whether the literal must be a literal8: BINARY data holding a NUL. */
static bool needs_literal8(const struct fetch_src *src, uint64_t off,
			   uint64_t n)
{
	if (!src->binary || !src->has_nul)
		return false;
	if (src->raw)	/* the whole source: a literal8 may hold anything */
		return true;
	return memchr(src->data + off, '\0', (size_t)n) != NULL;
}

/* Writes the window [off, off + n) of src after the literal's header. */
static int write_data(struct imapd_fetch_ctx *ctx, const struct fetch_src *src,
		      uint64_t off, uint64_t n)
{
	struct crlf_out o = { .s = ctx->s, .to = &ctx->resp,
			      .block = ctx->block, .skip = off, .left = n,
			      .fix_nul = src->fix_nul };

	if (n > IMAPD_FETCH_STREAM_MIN) {
		/* Big: what is built so far goes first, then the octets
		 * straight from the message. */
		imapd_write(ctx->s, ctx->resp.data, ctx->resp.len);
		buf_reset(&ctx->resp);
		ctx->streamed = true;
		o.to = NULL;
	}
	if (src->raw) {
		out_crlf(&o, src->data, src->len);
	} else if (o.to == NULL) {
		imapd_write(ctx->s, src->data + off, (size_t)n);
	} else if (buf_append(o.to, src->data + off, (size_t)n) < 0) {
		o.failed = true;
	}
	return o.failed ? -1 : 0;
}

/* The usual case, a whole section of the file for BODY or RFC822 up to
 * IMAPD_FETCH_BLOCK: converted in one pass into the block, whose length
 * is then the literal's, instead of measured first and converted after
 * (two passes, most of imapd's own CPU when fetching full messages).
 * NUL becomes 0x80 without looking first: with no NUL that changes
 * nothing. Bigger sections keep the two passes: a buffer of their size,
 * fresh memory for each command, costs more in page faults than the
 * measuring pass (in a virtual machine). */
static int write_whole_raw(struct imapd_fetch_ctx *ctx,
			   const struct imap_fetch_item *item,
			   const struct fetch_src *src)
{
	size_t n = crlf_convert(ctx->block, src->data, src->len, false, true);

	if (imapd_fetch_put(ctx, "%s {%zu}\r\n", item->name, n) < 0)
		return -1;
	if (n > IMAPD_FETCH_STREAM_MIN) {
		imapd_write(ctx->s, ctx->resp.data, ctx->resp.len);
		buf_reset(&ctx->resp);
		ctx->streamed = true;
		imapd_write(ctx->s, ctx->block, n);
		return 0;
	}
	return buf_append(&ctx->resp, ctx->block, n);
}

int imapd_fetch_body_write(struct imapd_fetch_ctx *ctx,
			   const struct imapd_fetch_msg *msg,
			   const struct imap_fetch_item *item)
{
	const struct imap_section *sec = &item->section;
	struct fetch_src src;
	uint64_t total, off = 0, n;
	char origin[16] = "";

	if (section_source(ctx, msg, item, &src) < 0)
		return -1;
	if (src.raw && !src.binary && !sec->has_partial &&
	    src.len <= IMAPD_FETCH_BLOCK)
		return write_whole_raw(ctx, item, &src);
	if (src.raw) {
		crlf_measure(src.data, src.len, &total, &src.has_nul);
	} else {
		total = src.len;
		src.has_nul = memchr(src.data, '\0', src.len) != NULL;
	}
	src.fix_nul = !src.binary && src.has_nul;
	if (item->type == IMAP_FETCH_BINARY_SIZE)
		return imapd_fetch_put(ctx, "%s %llu", item->name,
				       (unsigned long long)total);
	n = total;
	if (sec->has_partial) {
		/* An origin past the end gives an empty string. */
		off = sec->partial_offset < total ? sec->partial_offset : total;
		n = total - off < sec->partial_length ? total - off :
			sec->partial_length;
		snprintf(origin, sizeof(origin), "<%u>", sec->partial_offset);
	}
	if (imapd_fetch_put(ctx, "%s%s %s{%llu}\r\n", item->name, origin,
			    needs_literal8(&src, off, n) ? "~" : "",
			    (unsigned long long)n) < 0)
		return -1;
	return write_data(ctx, &src, off, n);
}
