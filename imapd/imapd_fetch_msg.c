/* imapd_fetch_msg: one message's FETCH response, "* n FETCH (...)", and
 * its items that are not body sections: UID, FLAGS, INTERNALDATE,
 * RFC822.SIZE, ENVELOPE, BODY, BODYSTRUCTURE, MODSEQ (RFC 7162), SAVEDATE
 * (RFC 8514), EMAILID and THREADID (RFC 8474), PREVIEW (RFC 8970).
 *
 * The response is built in one buffer and written at once; only a big
 * body section goes out in pieces (imapd_fetch_body.c). Body sections
 * come last, so that everything that can fail (a message expunged by
 * someone else, an I/O error) fails before a byte of the response is
 * sent: then the message is skipped whole. UID comes first whenever it
 * is sent (clients look for it). Sizes, dates, flags and MODSEQs come
 * from the store's index; headers, envelopes and structures from the
 * cache (imapd_msgdata), so that such a FETCH opens no message file. */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>
#include "imap_date.h"
#include "imap_envelope.h"
#include "imap_string.h"
#include "imapd_fetch.h"

/* Hex digits of the EMAILID hash: 96 bits, no collision in any mailbox. */
#define EMAILID_HEX 24
/* A preview is at most 200 characters (RFC 8970): 800 octets of UTF-8. */
#define PREVIEW_MAX 4096

/* 1 written, 0 the message is gone, -1 an error. */
typedef int fetch_item_fn(struct imapd_fetch_ctx *ctx,
			  const struct imapd_fetch_msg *msg);

int imapd_fetch_put(struct imapd_fetch_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	int ret;

	if (!ctx->first && buf_append_char(&ctx->resp, ' ') < 0)
		return -1;
	ctx->first = false;
	va_start(ap, fmt);
	ret = buf_vprintf(&ctx->resp, fmt, ap);
	va_end(ap);
	return ret;
}

/* The item separator and text, without printf: these run for every
 * message of a 10,000-message FETCH. */
static int put_str(struct imapd_fetch_ctx *ctx, const char *text)
{
	if (!ctx->first && buf_append_char(&ctx->resp, ' ') < 0)
		return -1;
	ctx->first = false;
	return buf_append_str(&ctx->resp, text);
}

/* Appends the decimal digits of n. */
static int append_number(struct buf *b, uint64_t n)
{
	char digits[24];
	size_t i = sizeof(digits);

	do {
		digits[--i] = (char)('0' + n % 10);
		n /= 10;
	} while (n > 0);
	return buf_append(b, digits + i, sizeof(digits) - i);
}

/* "NAME n" (with a prefix and suffix: "MODSEQ (n)"). */
static int put_number(struct imapd_fetch_ctx *ctx, const char *name,
		      uint64_t n, const char *suffix)
{
	if (put_str(ctx, name) < 0 || append_number(&ctx->resp, n) < 0)
		return -1;
	return buf_append_str(&ctx->resp, suffix);
}

static int ok_or_error(int ret)
{
	return ret < 0 ? -1 : 1;
}

static int item_uid(struct imapd_fetch_ctx *ctx,
		    const struct imapd_fetch_msg *msg)
{
	return ok_or_error(put_number(ctx, "UID ", msg->m->uid, ""));
}

static int item_flags(struct imapd_fetch_ctx *ctx,
		      const struct imapd_fetch_msg *msg)
{
	struct imapd_session *s = ctx->s;
	bool recent = (s->enabled & IMAPD_ENABLED_REV2) == 0 &&
		      s->sel->msgs[msg->msn - 1].recent;

	if (put_str(ctx, "FLAGS ") < 0)
		return -1;
	return ok_or_error(imapd_flags_write(s, msg->idx, recent, &ctx->resp));
}

static int item_internaldate(struct imapd_fetch_ctx *ctx,
			     const struct imapd_fetch_msg *msg)
{
	char date[IMAP_DATE_TIME_LEN + 1];

	imap_date_time_format(msg->m->mtime, date);
	return ok_or_error(imapd_fetch_put(ctx, "INTERNALDATE \"%s\"", date));
}

static int item_size(struct imapd_fetch_ctx *ctx,
		     const struct imapd_fetch_msg *msg)
{
	return ok_or_error(put_number(ctx, "RFC822.SIZE ", msg->m->vsize, ""));
}

/* Whether an IMAP value v[0..len) holds a literal: a quoted string
 * cannot hold a CR, so "}" CR LF is only ever a literal's start. */
static bool has_literal(const char *v, size_t len)
{
	return memmem(v, len, "}\r\n", 3) != NULL;
}

/* ENVELOPE from the cache (imapd_msgdata), where its strings are in the
 * plain form. For a UTF8=ACCEPT client a literal there may have to be a
 * quoted string instead: such an envelope is written from the header. */
static int item_envelope(struct imapd_fetch_ctx *ctx,
			 const struct imapd_fetch_msg *msg)
{
	unsigned flags = imapd_string_flags(ctx->s);
	const char *hdr, *error;
	size_t start, hdr_len;
	int ret;

	if (put_str(ctx, "ENVELOPE ") < 0)
		return -1;
	start = ctx->resp.len;
	ret = imapd_msg_envelope(ctx->s, msg->msn, &ctx->resp);
	if (ret != 1 || flags == 0 ||
	    !has_literal(ctx->resp.data + start, ctx->resp.len - start))
		return ret;
	buf_truncate(&ctx->resp, start);
	if ((ret = imapd_msg_header(ctx->s, msg->msn, &hdr, &hdr_len)) != 1)
		return ret;
	return ok_or_error(imap_envelope_write(&ctx->resp, hdr, hdr_len, flags,
					       &error));
}

static int structure(struct imapd_fetch_ctx *ctx,
		     const struct imapd_fetch_msg *msg, bool extended)
{
	if (put_str(ctx, extended ? "BODYSTRUCTURE " : "BODY ") < 0)
		return -1;
	if (ctx->pre_made && ctx->pre_extended == extended)
		return ok_or_error(buf_append(&ctx->resp, ctx->env.data,
					      ctx->env.len));
	return imapd_msg_bodystructure(ctx->s, msg->msn, extended,
				       &ctx->resp);
}

/* With ENVELOPE and a structure asked for together, the structure is
 * made first (into ctx->env): on a cache miss it reads and parses the
 * whole message, whose header ENVELOPE then finds loaded, where the
 * other order would read the start of a big file twice. 1, 0 or -1. */
static int structure_first(struct imapd_fetch_ctx *ctx,
			   const struct imapd_fetch_msg *msg)
{
	unsigned mask = ctx->items.mask;
	bool extended = (mask & IMAP_FETCH_BIT(IMAP_FETCH_BODYSTRUCTURE)) != 0;
	int ret;

	ctx->pre_made = false;
	if ((mask & IMAP_FETCH_BIT(IMAP_FETCH_ENVELOPE)) == 0 ||
	    (mask & (IMAP_FETCH_BIT(IMAP_FETCH_BODY) |
		     IMAP_FETCH_BIT(IMAP_FETCH_BODYSTRUCTURE))) == 0)
		return 1;
	buf_reset(&ctx->env);
	ret = imapd_msg_bodystructure(ctx->s, msg->msn, extended, &ctx->env);
	ctx->pre_made = ret == 1;
	ctx->pre_extended = extended;
	return ret;
}

static int item_body(struct imapd_fetch_ctx *ctx,
		     const struct imapd_fetch_msg *msg)
{
	return structure(ctx, msg, false);
}

static int item_bodystructure(struct imapd_fetch_ctx *ctx,
			      const struct imapd_fetch_msg *msg)
{
	return structure(ctx, msg, true);
}

static int item_modseq(struct imapd_fetch_ctx *ctx,
		       const struct imapd_fetch_msg *msg)
{
	return ok_or_error(put_number(ctx, "MODSEQ (", msg->m->modseq, ")"));
}

static int item_savedate(struct imapd_fetch_ctx *ctx,
			 const struct imapd_fetch_msg *msg)
{
	char date[IMAP_DATE_TIME_LEN + 1];

	if (msg->m->savedate <= 0)
		return ok_or_error(imapd_fetch_put(ctx, "SAVEDATE NIL"));
	imap_date_time_format(msg->m->savedate, date);
	return ok_or_error(imapd_fetch_put(ctx, "SAVEDATE \"%s\"", date));
}

/* EMAILID: "M" and a hash of the file's base name, which never changes
 * while the message exists (flag changes rename only the ":2," part)
 * and is unique in the folder; it survives restarts and index
 * rebuilds. */
static int item_emailid(struct imapd_fetch_ctx *ctx,
			const struct imapd_fetch_msg *msg)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	char hex[EMAILID_HEX + 1];

	if (EVP_Digest(msg->m->base, strlen(msg->m->base), md, &md_len,
		       EVP_sha256(), NULL) != 1 || md_len * 2 < EMAILID_HEX)
		return -1;
	for (size_t i = 0; i < EMAILID_HEX / 2; i++)
		snprintf(hex + i * 2, 3, "%02x", md[i]);
	return ok_or_error(imapd_fetch_put(ctx, "EMAILID (M%s)", hex));
}

/* Threads are not tracked: RFC 8474 5.2 lets THREADID be NIL. */
static int item_threadid(struct imapd_fetch_ctx *ctx,
			 const struct imapd_fetch_msg *msg)
{
	(void)msg;
	return ok_or_error(imapd_fetch_put(ctx, "THREADID NIL"));
}

/* PREVIEW and PREVIEW (LAZY): the preview is cheap once cached and
 * computed otherwise, which LAZY allows as well as NIL. */
static int item_preview(struct imapd_fetch_ctx *ctx,
			const struct imapd_fetch_msg *msg)
{
	struct buf text;
	int ret;

	buf_init(&text, PREVIEW_MAX);
	ret = imapd_msg_preview(ctx->s, msg->msn, &text);
	if (ret == 1 && (imapd_fetch_put(ctx, "PREVIEW ") < 0 ||
			 imap_string_append(&ctx->resp, text.data, text.len,
					    imapd_string_flags(ctx->s)) < 0))
		ret = -1;
	buf_deinit(&text);
	return ret;
}

static fetch_item_fn *const item_fns[IMAP_FETCH_RFC822] = {
	[IMAP_FETCH_UID] = item_uid,
	[IMAP_FETCH_FLAGS] = item_flags,
	[IMAP_FETCH_INTERNALDATE] = item_internaldate,
	[IMAP_FETCH_RFC822_SIZE] = item_size,
	[IMAP_FETCH_ENVELOPE] = item_envelope,
	[IMAP_FETCH_BODY] = item_body,
	[IMAP_FETCH_BODYSTRUCTURE] = item_bodystructure,
	[IMAP_FETCH_MODSEQ] = item_modseq,
	[IMAP_FETCH_SAVEDATE] = item_savedate,
	[IMAP_FETCH_EMAILID] = item_emailid,
	[IMAP_FETCH_THREADID] = item_threadid,
	[IMAP_FETCH_PREVIEW] = item_preview,
};

/* The message's octets the items need. 1, 0 (gone) or -1. */
static int load(struct imapd_fetch_ctx *ctx, struct imapd_fetch_msg *msg)
{
	struct imapd_session *s = ctx->s;
	int ret = 1;

	if ((ctx->need & IMAPD_FETCH_NEED_MIME) != 0)
		ret = imapd_msg_mime(s, msg->msn, &msg->data, &msg->len,
				     &msg->mime);
	else if ((ctx->need & IMAPD_FETCH_NEED_FULL) != 0)
		ret = imapd_msg_full(s, msg->msn, &msg->data, &msg->len);
	if (ret != 1 || (ctx->need & IMAPD_FETCH_NEED_HEADER) == 0)
		return ret;
	if (msg->data != NULL) {
		msg->header = msg->data;
		msg->header_len = mime_header_block_len(msg->data, msg->len);
		return 1;
	}
	return imapd_msg_header(s, msg->msn, &msg->header, &msg->header_len);
}

/* UID first, the other simple items as asked; then FLAGS (with UID and
 * MODSEQ under CONDSTORE, RFC 7162 3.2) when this command set \Seen,
 * and MODSEQ for CHANGEDSINCE. *flags_r: FLAGS was written. */
static int write_simple(struct imapd_fetch_ctx *ctx,
			const struct imapd_fetch_msg *msg, bool *flags_r)
{
	unsigned mask = ctx->items.mask, extra = 0;
	bool condstore = (ctx->s->enabled & IMAPD_ENABLED_CONDSTORE) != 0;
	int ret = 1;

	if (ctx->add_uid)
		mask |= IMAP_FETCH_BIT(IMAP_FETCH_UID);
	if (msg->seen_now)
		extra |= IMAP_FETCH_BIT(IMAP_FETCH_FLAGS) |
			 (condstore ? IMAP_FETCH_BIT(IMAP_FETCH_UID) |
			  IMAP_FETCH_BIT(IMAP_FETCH_MODSEQ) : 0);
	if (ctx->items.has_changedsince)
		extra |= IMAP_FETCH_BIT(IMAP_FETCH_MODSEQ);
	extra &= ~mask;
	*flags_r = ((mask | extra) & IMAP_FETCH_BIT(IMAP_FETCH_FLAGS)) != 0;
	ret = structure_first(ctx, msg);
	if (ret == 1 && ((mask | extra) & IMAP_FETCH_BIT(IMAP_FETCH_UID)) != 0)
		ret = item_uid(ctx, msg);
	for (size_t i = 0; i < ctx->items.count && ret == 1; i++) {
		enum imap_fetch_type t = ctx->items.items[i].type;

		if (t < IMAP_FETCH_RFC822 && t != IMAP_FETCH_UID)
			ret = item_fns[t](ctx, msg);
	}
	if (ret == 1 && (extra & IMAP_FETCH_BIT(IMAP_FETCH_FLAGS)) != 0)
		ret = item_flags(ctx, msg);
	if (ret == 1 && (extra & IMAP_FETCH_BIT(IMAP_FETCH_MODSEQ)) != 0)
		ret = item_modseq(ctx, msg);
	return ret;
}

static enum imapd_fetch_result result_of(int ret)
{
	return ret == 0 ? IMAPD_FETCH_GONE : IMAPD_FETCH_ERROR;
}

enum imapd_fetch_result imapd_fetch_msg_write(struct imapd_fetch_ctx *ctx,
					      uint32_t msn, size_t idx,
					      bool seen_now)
{
	struct imapd_session *s = ctx->s;
	struct imapd_fetch_msg msg = { .msn = msn, .idx = idx,
				       .m = mailstore_msg(s->sel->box, idx),
				       .seen_now = seen_now };
	bool flags = false;
	int ret;

	if ((ret = load(ctx, &msg)) != 1)
		return result_of(ret);
	if (msg.mime != NULL && imapd_fetch_body_check_cte(ctx, &msg) < 0)
		return IMAPD_FETCH_UNKNOWN_CTE;
	buf_reset(&ctx->resp);
	ctx->first = true;
	ctx->streamed = false;
	if (buf_append_str(&ctx->resp, "* ") < 0 ||
	    append_number(&ctx->resp, msn) < 0 ||
	    buf_append_str(&ctx->resp, " FETCH (") < 0)
		return IMAPD_FETCH_ERROR;
	if ((ret = write_simple(ctx, &msg, &flags)) != 1)
		return result_of(ret);
	/* From here on a big literal may already be on its way: nothing
	 * below fails but for an internal limit, and should one be reached
	 * after that, the response cannot be completed: the session ends. */
	for (size_t i = 0; i < ctx->items.count && ret == 1; i++)
		if (ctx->items.items[i].type >= IMAP_FETCH_RFC822 &&
		    imapd_fetch_body_write(ctx, &msg, &ctx->items.items[i]) < 0)
			ret = -1;
	if (ret == 1 && buf_append_str(&ctx->resp, ")\r\n") < 0)
		ret = -1;
	if (ret < 0) {
		if (ctx->streamed)
			imapd_bye(s, "internal error", "Internal error");
		return IMAPD_FETCH_ERROR;
	}
	imapd_write(s, ctx->resp.data, ctx->resp.len);
	if (flags)
		imapd_view_told(s, msn);
	return IMAPD_FETCH_OK;
}
