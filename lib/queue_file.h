/* queue_file: the on-disk queue file and its reader (the writer is
 * queue_writer.h).
 *
 * A queue file is the envelope followed by the message content:
 *
 *   SUREL-QUEUE 1\n
 *   T\t<arrival microseconds>\n
 *   S\t<envelope sender, empty for the null sender>\n
 *   A\t<name>\t<value>\n             0..n attributes (client_address,
 *                                    client_name, helo_name, protocol, envid,
 *                                    ret, body, smtputf8, ...)
 *   R\t<P|D>\t<notify>\t<orcpt>\t<orig_rcpt>\t<address>\n   1..n recipients
 *   C\t<content length, 20 digits>\n
 *   <content: the message, LF line endings, no dot-stuffing>
 *   E\n
 *
 * Fields never contain TAB, CR, LF or NUL (the writer refuses them). The
 * recipient status byte (P pending, D done) is overwritten in place when a
 * recipient is finished; "-" stands for an empty orcpt/orig_rcpt, notify is
 * "-" or a comma list of SUCCESS,FAILURE,DELAY,NEVER.
 *
 * A file is created in incoming/ with mode 0600 and becomes mode 0700 only
 * when complete and synced: qmgr ignores 0600 files (being written, or left
 * by a writer that died before its 250) until they are stale, and removes
 * one only when it can take the flock its writer holds until commit. See
 * doc/queue.md for the states. */
#ifndef SUREL_QUEUE_FILE_H
#define SUREL_QUEUE_FILE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "queue_id.h"

#define QUEUE_FILE_MAGIC "SUREL-QUEUE 1\n"
#define QUEUE_RCPT_PENDING 'P'
#define QUEUE_RCPT_DONE 'D'
#define QUEUE_LINE_MAX 4096		/* longest envelope line */
#define QUEUE_RCPT_MAX 100000		/* most recipients in one file */
#define QUEUE_ATTR_MAX 64

struct queue_attr {
	char *name;
	char *value;
};

struct queue_rcpt {
	char *address;
	char *orig_rcpt;	/* before alias expansion, or NULL */
	char *orcpt;		/* DSN ORCPT as received (xtext), or NULL */
	char *notify;		/* DSN NOTIFY list, or NULL */
	bool done;
	off_t status_offset;	/* file offset of the P/D byte (reader) */
};

struct queue_envelope {
	uint64_t arrival_us;
	char *sender;		/* "" for the null sender */
	struct queue_attr *attrs;
	size_t attr_count;
	struct queue_rcpt *rcpts;
	size_t rcpt_count;
};

/* Frees every field and zeroes env; accepts an already-freed one. */
void queue_envelope_free(struct queue_envelope *env);
/* Value of attribute name, or NULL. */
const char *queue_envelope_attr(const struct queue_envelope *env,
				const char *name);
/* Adds an attribute / recipient (copies the strings). */
void queue_envelope_add_attr(struct queue_envelope *env, const char *name,
			     const char *value);
void queue_envelope_add_rcpt(struct queue_envelope *env, const char *address,
			     const char *orig_rcpt, const char *orcpt,
			     const char *notify);

/* Reads and validates a whole queue file from fd (from offset 0): magic,
 * envelope, content length against the file size, end marker. Bounded by
 * QUEUE_LINE_MAX, QUEUE_RCPT_MAX and QUEUE_ATTR_MAX. Returns 0, or -1 with
 * *error_r naming what is corrupt (static string). */
int queue_file_read(int fd, struct queue_envelope *env_r,
		    off_t *content_offset_r, uint64_t *content_size_r,
		    const char **error_r) __attribute__((warn_unused_result));
/* The same over a memory image of a file (fuzzing, tests). */
int queue_file_parse(const char *data, size_t len,
		     struct queue_envelope *env_r, off_t *content_offset_r,
		     uint64_t *content_size_r, const char **error_r)
	__attribute__((warn_unused_result));
/* Marks one recipient done in place (pwrite of its status byte). The
 * caller fsyncs before anything forgets the delivery. */
int queue_file_mark_done(int fd, struct queue_rcpt *rcpt)
	__attribute__((warn_unused_result));

#endif
