/* imapd_search: the matching engine shared by SEARCH, SORT and THREAD
 * (private to imapd_search*.c, imapd_sort.c and imapd_thread.c).
 *
 *   imapd_search.c        SEARCH and UID SEARCH: replies (SEARCH,
 *                         ESEARCH), SEARCHRES's SAVE
 *   imapd_search_match.c  a parsed program (lib/imap_search) compiled for
 *                         the selected mailbox and run over its messages
 *   imapd_search_text.c   a message's header fields, sent date and text
 *                         (decoded MIME parts) as the keys see them
 *
 * Keys are tried cheapest first in every AND (flags, sizes, dates and
 * sets before header fields, header fields before bodies) and a message
 * is dropped at its first failed key, so that "UNSEEN BODY x" reads only
 * the unseen messages. Header fields come from the cache of
 * imapd_msgdata (no file is opened for them once cached); bodies are read
 * once per message however many keys look at them, and a part is
 * decoded only when a key gets to it. */
#ifndef SUREL_IMAPD_SEARCH_H
#define SUREL_IMAPD_SEARCH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "imap_arg.h"
#include "imap_casemap.h"
#include "imap_search.h"
#include "imapd.h"
#include "mailstore_cache.h"

/* ---- imapd_search_match.c ---- */

struct imapd_search_result {
	uint32_t *msns;		/* ascending; owned (free()) */
	size_t count;
	bool modseq_used;	/* a MODSEQ key was given (RFC 7162 3.1.5:
				 * the reply names the highest MODSEQ) */
	uint64_t highest_modseq;	/* of the matches */
};

/* Parses a search program from args (the first argument after the
 * command name, or after SORT's criteria and charset). with_return: a
 * RETURN option list is allowed (SEARCH). On an error the reply is
 * written (BAD, or NO [BADCHARSET (UTF-8 US-ASCII)]) and NULL returned;
 * *bad_r (may be NULL) tells which. */
struct imap_search_program *
imapd_search_parse(struct imapd_session *s, const struct imap_arg *args,
		   bool with_return, bool *bad_r);

/* Runs prog over the selected mailbox's messages (those expunged by
 * another session meanwhile never match). 0 with *res (the caller frees
 * res->msns), or -1 when a message could not be read (logged). */
int imapd_search_run(struct imapd_session *s,
		     const struct imap_search_program *prog,
		     struct imapd_search_result *res)
	__attribute__((warn_unused_result));

/* Checks a SORT/THREAD charset argument: true for UTF-8 and US-ASCII;
 * otherwise replies NO [BADCHARSET ...] (or BAD when it is not an
 * astring) and returns false. */
bool imapd_search_charset_ok(struct imapd_session *s,
			     const struct imap_arg *arg);

/* A MODSEQ key enables CONDSTORE (RFC 7162 3.1); the first time, the
 * client hears the mailbox's HIGHESTMODSEQ, before the results (as
 * Dovecot). */
void imapd_search_condstore(struct imapd_session *s);

/* What SORT and THREAD do with the matches: reply with them (untagged);
 * -1 when a message could not be read (logged). */
typedef int imapd_search_reply_fn(struct imapd_session *s,
				  const struct imapd_search_result *res,
				  void *ctx);

/* SORT's and THREAD's common part, after their own first argument: args
 * is the charset, args->next the search keys. Checks the charset, parses
 * and runs the search (a MODSEQ key enables CONDSTORE), hands the
 * matches to reply and ends the command: OK done_text, NO [SERVERBUG]
 * when the search or reply failed, or the BAD/NO of a bad argument. */
void imapd_search_reply_matches(struct imapd_session *s,
				const struct imap_arg *args,
				imapd_search_reply_fn *reply, void *ctx,
				const char *done_text);

/* ---- imapd_sort.c ---- */

/* The sent date of a header block for SORT and THREAD (RFC 5256 2.2):
 * the Date: field in UTC seconds, or internal when there is none or it
 * cannot be read. */
int64_t imapd_sort_sent_date(const char *hdr, size_t len, int64_t internal);

/* ---- imapd_search_text.c ---- */

/* What the keys of one message look at, loaded when first needed. */
struct imapd_search_text {
	struct imapd_session *s;
	struct ms_cache *cache;	/* the folder's cache, for text maps; NULL
				 * until a body key needs it */
	uint32_t msn;
	int gone;		/* 1: expunged meanwhile, -1: I/O error */
	const char *hdr;	/* header block, or NULL */
	size_t hdr_len;
	const char *data;	/* whole message, or NULL */
	size_t len;
	const struct mime_message *mime;
	bool sent_known;	/* sent: the Date: field, read */
	int64_t sent;
	int fd;			/* the file, for pieces read alone; or -1 */
	struct imapd_search_seg *segs;	/* the text's pieces */
	size_t nsegs, segs_alloc;
	bool segs_listed;
	char *raw;		/* pieces read from the file */
	size_t raw_len, raw_cap;
	struct buf map;		/* a text map */
	struct buf decoded;	/* decoded pieces */
	struct buf value;	/* a header value, unfolded and decoded */
	struct buf value2;
	struct buf scratch;	/* folded text for imap_casemap_find */
};

void imapd_search_text_init(struct imapd_search_text *t,
			    struct imapd_session *s);
void imapd_search_text_deinit(struct imapd_search_text *t);
/* Forgets the last message; the next calls look at msn. */
void imapd_search_text_reset(struct imapd_search_text *t, uint32_t msn);

/* Each returns 1 (match), 0 (no match) or -1 (the message is gone or
 * unreadable: t->gone says which; it matches nothing then). */

/* Whether a field called name holds the needle (an empty needle: whether
 * the field is there). Values are unfolded and RFC 2047 decoded. */
int imapd_search_text_header(struct imapd_search_text *t, const char *name,
			     const struct imap_casemap_needle *n);
/* The sent date (Date:) as the sender's local time in seconds since the
 * epoch (its time of day and zone make its calendar day); 0 when there
 * is none or it cannot be read, as Dovecot has it. */
int imapd_search_text_sent(struct imapd_search_text *t, int64_t *local_r);
/* BODY: the text of the text parts, decoded; with headers (TEXT): also
 * every header block (the message's, each part's, each embedded
 * message's), decoded. Where the pieces lie comes from the message's
 * text map in the cache (then only they are read from the file), else
 * from a parse of the message, whose map is then cached. */
int imapd_search_text_body(struct imapd_search_text *t,
			   const struct imap_casemap_needle *n,
			   bool headers);

#endif
