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
 *                                    ret, body, smtputf8, ...; "pad"
 *                                    with a value of '-': a place kept
 *                                    for a late attribute, see
 *                                    queue_writer_reserve_attr)
 *   R\t<P|D>\t<notify>\t<orcpt>\t<orig_rcpt>\t<address>\n   1..n recipients
 *   C\t<content length, 20 digits>\n
 *   <content: the message, LF line endings, no dot-stuffing>
 *   E\n
 *   <status records, appended by qmgr (queue_status.c), 0..n>
 *
 * Fields never contain TAB, CR, LF or NUL (the writer refuses them). The
 * recipient status byte (P pending, D done) is overwritten in place when a
 * recipient is finished; "-" stands for an empty orcpt/orig_rcpt, notify is
 * "-" or a comma list of SUCCESS,FAILURE,DELAY,NEVER.
 *
 * Status records: qmgr appends one line per recipient result that a
 * notice will need, after the end marker, so they travel with the file
 * between active/ and deferred/:
 *
 *   <K>\t<index>\t<status>\t<diag type>\t<remote mta>\t<in reply to>\t<diag>\n
 *     K: F failed, L delayed (the last one for an index wins), D
 *     delivered or Y relayed (a NOTIFY=SUCCESS recipient); index: the
 *     recipient's, from 0, below the recipient count; status: RFC 3463
 *     "c.s.d" (F: 4 or 5, L: 4, D/Y: 2); diag type "smtp", "x-surel" or
 *     "-"; "-" for an empty remote mta, in reply to or diag.
 *   B\n  the failure and success notices for every F, D and Y record
 *         before it have been queued (they are "notified").
 *   W\n  the delay warning has been queued (one per message).
 *
 * A last record without its LF (a crash during an append) is ignored,
 * and the next append overwrites it; anything else malformed is corrupt.
 * Bounded: QUEUE_STATUS_MAX records, QUEUE_STATUS_BYTES_MAX octets.
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

#define QUEUE_STATUS_MAX 200000		/* status records in one file */
#define QUEUE_STATUS_BYTES_MAX (32 * 1024 * 1024)
#define QUEUE_DIAG_MAX 1000		/* octets of a record's diag */
#define QUEUE_MTA_MAX 255		/* octets of a remote mta */
#define QUEUE_CMD_MAX 64		/* octets of an in reply to */

enum queue_status_kind {
	QUEUE_STATUS_FAILED = 'F',
	QUEUE_STATUS_DELAYED = 'L',
	QUEUE_STATUS_DELIVERED = 'D',
	QUEUE_STATUS_RELAYED = 'Y',
};

/* One recipient's status record (all strings NUL-terminated, never
 * NULL when read; empty for "-"). */
struct queue_status {
	enum queue_status_kind kind;
	char *status;		/* "5.1.1" */
	char *diag_type;	/* "smtp", "x-surel" or "" */
	char *remote_mta;
	char *in_reply_to;
	char *diag;
	bool notified;		/* a B record follows (F, D, Y) */
};

/* A record to append (queue_file_append_status). */
struct queue_status_new {
	enum queue_status_kind kind;
	const char *status;
	const char *diag_type;
	const char *remote_mta;
	const char *in_reply_to;
	const char *diag;
};

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
	/* The latest status records of this recipient, or NULL. */
	struct queue_status *failed;	/* F */
	struct queue_status *delayed;	/* L */
	struct queue_status *success;	/* D or Y */
};

struct queue_envelope {
	uint64_t arrival_us;
	char *sender;		/* "" for the null sender */
	struct queue_attr *attrs;
	size_t attr_count;
	struct queue_rcpt *rcpts;
	size_t rcpt_count;
	/* The status records (reader; kept current by the appends). */
	size_t status_count;	/* records in the file, B and W included */
	bool warning_sent;	/* a W record */
	off_t status_end;	/* where the next record goes (0: unknown) */
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
/* Appends a status record for recipient index at env->status_end with
 * one pwrite, and updates env (the recipient's latest record). Strings
 * may be NULL or empty ("-"); TAB, CR, LF and NUL in them become spaces,
 * and they are cut at QUEUE_DIAG_MAX / QUEUE_MTA_MAX / QUEUE_CMD_MAX.
 * Refuses (-1, *error_r static) a bad index, kind or status, too many
 * records, and a failed write (errno set). The caller fsyncs when the
 * record must be durable (an F before the done mark). */
int queue_file_append_status(int fd, struct queue_envelope *env,
			     size_t index, const struct queue_status_new *st,
			     const char **error_r)
	__attribute__((warn_unused_result));
/* Appends a B (notified: marks every F/D/Y record notified) or W record
 * (warning_sent). */
int queue_file_append_mark(int fd, struct queue_envelope *env, char mark,
			   const char **error_r)
	__attribute__((warn_unused_result));
/* Parses the status records in data[0..len) (what follows "E\n") into
 * env, whose recipients are read already; status_end is set to base +
 * the end of the last complete record. 0 or -1 with *error_r. */
int queue_file_parse_status(struct queue_envelope *env, const char *data,
			    size_t len, off_t base, const char **error_r)
	__attribute__((warn_unused_result));

/* Marks one recipient done in place (pwrite of its status byte). The
 * caller fsyncs before anything forgets the delivery. */
int queue_file_mark_done(int fd, struct queue_rcpt *rcpt)
	__attribute__((warn_unused_result));

#endif
