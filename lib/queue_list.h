/* queue_list: the queue listings of surelqueue, as pure formatting of one
 * parsed queue file at a time (the caller streams the queue: memory is
 * one message's, never the queue's).
 *
 * -p, Postfix's mailq format (one entry per message, a blank line after
 * each):
 *
 *   -Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------
 *   <id><mark><size, 8 wide> <arrival, "%a %b %e %H:%M:%S">  <sender>
 *   (<delay reason>)                       once per run of recipients
 *                                          that share one reason
 *   <41 spaces><recipient>                 every pending recipient
 *
 *   -- <kbytes> Kbytes in <n> Request[s].  (queue_list_mailq_footer)
 *
 * The id and its mark fill at least 11 columns (Postfix's short ids; ours
 * are longer, and a column is never cut): with a short id the sender
 * starts at column 41 like the recipients, as in Postfix. mark: '*' active, '!' hold,
 * ' ' otherwise (Postfix's '#' forced expiry does not exist here). The
 * arrival time is local time. The sender is "MAILER-DAEMON" for the null
 * sender. A recipient's delay reason is the diagnostic of its latest L
 * status record (its status code when the diagnostic is empty); one never
 * tried has none. Control characters in any field are shown as '?': the
 * fields come from the network and go to a terminal. Reasons are not
 * wrapped (one line each, easier for scripts than Postfix's wrapping).
 *
 * -j, one line of JSON per message with postqueue -j's members:
 * queue_name, queue_id, arrival_time (seconds), message_size,
 * forced_expire (always false), sender ("" for the null sender),
 * recipients: [{address, delay_reason (only when there is one)}].
 *
 * message_size is the content as stored (header and body, LF line
 * endings), the same in both formats.
 *
 * Functions append to b and return 0, or -1 when b's maximum would be
 * passed. */
#ifndef SUREL_QUEUE_LIST_H
#define SUREL_QUEUE_LIST_H
#include <stdint.h>
#include "buf.h"
#include "queue_file.h"

/* The queue directories, in listing order (QUEUE_LIST_CORRUPT last: not
 * listed by -p and -j, only counted by -S). */
enum queue_list_queue {
	QUEUE_LIST_MAILDROP,
	QUEUE_LIST_INCOMING,
	QUEUE_LIST_ACTIVE,
	QUEUE_LIST_DEFERRED,
	QUEUE_LIST_HOLD,
	QUEUE_LIST_CORRUPT,
	QUEUE_LIST_COUNT
};

/* The directory name of a queue ("deferred"). */
const char *queue_list_name(enum queue_list_queue q);
/* True for the queues whose files sit in one hex-digit subdirectory per
 * id hash (deferred/H/). */
int queue_list_hashed(enum queue_list_queue q);

struct queue_list_entry {
	enum queue_list_queue queue;
	const char *id;
	uint64_t size;		/* content octets */
	const struct queue_envelope *env;
};

/* A recipient's delay reason ("" when it has none). */
const char *queue_list_reason(const struct queue_rcpt *rcpt);

int queue_list_mailq_header(struct buf *b) __attribute__((warn_unused_result));
int queue_list_mailq(struct buf *b, const struct queue_list_entry *e)
	__attribute__((warn_unused_result));
/* The last line; "Mail queue is empty" when count is 0. */
int queue_list_mailq_footer(struct buf *b, uint64_t total_size,
			    uint64_t count) __attribute__((warn_unused_result));
/* One JSON object and its newline. */
int queue_list_json(struct buf *b, const struct queue_list_entry *e)
	__attribute__((warn_unused_result));

/* ---- -S: the summary (queue_summary.c) ---- */

#define QUEUE_SUMMARY_DOMAINS_MAX 100000 /* distinct domains counted */
#define QUEUE_SUMMARY_TOP 10

struct queue_summary;

struct queue_summary *queue_summary_new(void);
void queue_summary_free(struct queue_summary **s);
/* Counts one message of queue q that arrived at arrival_us (for a file
 * that cannot be parsed, its mtime). env, when not NULL and q is the
 * deferred queue, adds its pending recipients' domains (lower-cased; past
 * QUEUE_SUMMARY_DOMAINS_MAX distinct ones, into "(other domains)"). */
void queue_summary_add(struct queue_summary *s, enum queue_list_queue q,
		       uint64_t arrival_us, const struct queue_envelope *env);
/* The report at time now_us:
 *
 *   <queue, 10 wide> <messages, 8 wide>  <oldest age or "-">
 *   (one line per queue, maildrop to corrupt, under a title line)
 *
 *   Top deferred destinations:           (when any)
 *   <count, 8 wide>  <domain>            (at most QUEUE_SUMMARY_TOP,
 *                                         most first, then by name)
 * An age is "42s", "5m10s", "3h12m" or "2d3h". */
int queue_summary_format(const struct queue_summary *s, uint64_t now_us,
			 struct buf *b) __attribute__((warn_unused_result));
/* Age formatting, exposed for the tests. */
void queue_summary_age(char *out, size_t size, uint64_t age_s);

#endif
