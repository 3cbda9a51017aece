/* imapd_fetch: what the files of FETCH share (private to them).
 *   imapd_fetch.c       the command: items, sequence set, CHANGEDSINCE,
 *                       VANISHED, the implicit \Seen, the loop, the
 *                       tagged reply
 *   imapd_fetch_msg.c   one message's response and its simple items
 *   imapd_fetch_body.c  BODY[section]<partial>, RFC822*, BINARY[],
 *                       BINARY.SIZE[]: the octets as the client gets
 *                       them (CRLF line ends), literals streamed
 * The message's octets come only from imapd_msgdata (its cache). */
#ifndef SUREL_IMAPD_FETCH_H
#define SUREL_IMAPD_FETCH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "imap_fetch_items.h"
#include "mime.h"
#include "imapd.h"

/* What the items need of a message (computed once per command). */
#define IMAPD_FETCH_NEED_HEADER 0x1	/* the header block */
#define IMAPD_FETCH_NEED_FULL 0x2	/* all octets */
#define IMAPD_FETCH_NEED_MIME 0x4	/* all octets and the MIME tree */

/* A literal bigger than this is written to the client in pieces as it
 * is converted, not built in the response buffer first. */
#define IMAPD_FETCH_STREAM_MIN (64 * 1024)
/* Octets converted to CRLF at a time (into a buffer twice as big). */
#define IMAPD_FETCH_BLOCK (64 * 1024)

struct imapd_fetch_ctx {
	struct imapd_session *s;
	struct imap_fetch_items items;
	unsigned need;		/* IMAPD_FETCH_NEED_* */
	bool add_uid;		/* UID FETCH: UID even when not asked */
	struct buf resp;	/* the response being built */
	struct buf tmp;		/* scratch: decoded parts, header fields */
	char *block;		/* 2 * IMAPD_FETCH_BLOCK: CRLF conversion */
	struct buf env;		/* the structure made ahead (pre_made) */
	bool pre_made;		/* env holds this message's BODYSTRUCTURE
				 * (pre_extended) or BODY */
	bool pre_extended;
	bool first;		/* no item of this response written yet */
	bool streamed;		/* part of this response was written */
};

/* The message being answered: its octets as imapd_msgdata gave them
 * (valid until the next message), NULL/0 for what was not needed. */
struct imapd_fetch_msg {
	uint32_t msn;
	size_t idx;			/* store index */
	const struct mailstore_msg *m;
	bool seen_now;			/* this command set its \Seen */
	const char *data;		/* NEED_FULL / NEED_MIME */
	size_t len;
	const struct mime_message *mime;	/* NEED_MIME */
	const char *header;		/* NEED_HEADER */
	size_t header_len;
};

enum imapd_fetch_result {
	IMAPD_FETCH_OK = 0,
	IMAPD_FETCH_GONE,	/* expunged by someone else: nothing sent */
	IMAPD_FETCH_ERROR,	/* I/O or an internal limit: nothing sent */
	IMAPD_FETCH_UNKNOWN_CTE	/* BINARY of a part whose encoding is not
				 * known (RFC 3516): nothing sent */
};

/* imapd_fetch_msg.c: appends one item to ctx->resp, with the space
 * that separates it from the one before. 0 or -1 (resp full). */
int imapd_fetch_put(struct imapd_fetch_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), warn_unused_result));
/* imapd_fetch_msg.c: writes "* msn FETCH (...)" for message msn (store
 * index idx). */
enum imapd_fetch_result imapd_fetch_msg_write(struct imapd_fetch_ctx *ctx,
					      uint32_t msn, size_t idx,
					      bool seen_now);

/* imapd_fetch_body.c */
/* What item needs of the message (IMAPD_FETCH_NEED_*). */
unsigned imapd_fetch_body_need(const struct imap_fetch_item *item);
/* 0, or -1 when a BINARY item of the message names a leaf part whose
 * Content-Transfer-Encoding is not known (checked before anything of the
 * message is written). */
int imapd_fetch_body_check_cte(struct imapd_fetch_ctx *ctx,
			       const struct imapd_fetch_msg *msg);
/* Appends " NAME[...]<origin> {n}\r\n<octets>" (BINARY.SIZE: " NAME n")
 * of item to ctx->resp; a large literal is written to the client in
 * pieces after the response so far. 0, or -1 when an internal limit was
 * reached before anything of the item was written. */
int imapd_fetch_body_write(struct imapd_fetch_ctx *ctx,
			   const struct imapd_fetch_msg *msg,
			   const struct imap_fetch_item *item);

#endif
