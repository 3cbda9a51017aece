/* imap_thread: the THREAD algorithms of RFC 5256, REFERENCES and
 * ORDEREDSUBJECT, over an array of messages, and their output. Pure: no
 * I/O, no globals. Nothing recurses: trees are walked with explicit
 * stacks and parent pointers, so a 100,000-message reply chain is no
 * danger; the loop check of REFERENCES costs the smaller of the two walks
 * it may take (up from the new parent, down from the new child). Memory
 * is linear in the number of message IDs given. */
#ifndef SUREL_IMAP_THREAD_H
#define SUREL_IMAP_THREAD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"

enum imap_thread_alg {
	IMAP_THREAD_ORDEREDSUBJECT = 0,
	IMAP_THREAD_REFERENCES
};

/* "REFERENCES" / "ORDEREDSUBJECT", any case: 1 with *alg_r, or 0. */
int imap_thread_alg_parse(const char *name, enum imap_thread_alg *alg_r);

/* One message to thread, given in ascending sequence order. Field values
 * are raw (unfolded or not) and may be NULL/0 when the field is absent;
 * the strings must live until imap_thread_write() returns. */
struct imap_thread_msg {
	uint32_t id;			/* written in the reply */
	const char *message_id;		/* Message-ID: */
	size_t message_id_len;
	const char *references;		/* References: */
	size_t references_len;
	const char *in_reply_to;	/* In-Reply-To: */
	size_t in_reply_to_len;
	const char *subject;		/* base subject, folded */
	size_t subject_len;
	bool reply;			/* imap_sort_base_subject's *reply_r */
	int64_t date;			/* sent date, else INTERNALDATE */
};

/* Threads msgs[0..count) and appends the thread list without "THREAD"
 * ("(1 2)(3 (4)(5))"; nothing for no messages). Message IDs are the
 * "<...>" of the fields (CFWS around them ignored, one holding white
 * space or no "@" is not valid), compared octet for octet. The first
 * message with an ID owns it; later ones with the same ID count as having
 * none. 0, or -1 when out's maximum would be passed. */
int imap_thread_write(enum imap_thread_alg alg,
		      const struct imap_thread_msg *msgs, size_t count,
		      struct buf *out) __attribute__((warn_unused_result));

/* The message IDs of a References: or In-Reply-To: value, one by one:
 * call with *pos 0 first; returns 1 with *id_r and *len_r (the text between
 * "<" and ">", into value), or 0 at the end. Text that is not a valid ID
 * is skipped. */
int imap_thread_next_id(const char *value, size_t len, size_t *pos,
			const char **id_r, size_t *len_r);

#endif
