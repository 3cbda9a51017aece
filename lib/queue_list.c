/* queue_list: the mailq (-p) and JSON (-j) formats of one queued message;
 * see queue_list.h. */
#include "config.h"
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "json_out.h"
#include "queue_list.h"

#define MAILQ_ID_WIDTH 11	/* Postfix's "-Queue ID-  " column */
#define MAILQ_RCPT_INDENT 41	/* where the sender and recipients start */

static const struct {
	const char *name;
	char mark;
	int hashed;
} queues[QUEUE_LIST_COUNT] = {
	[QUEUE_LIST_MAILDROP] = { "maildrop", ' ', 0 },
	[QUEUE_LIST_INCOMING] = { "incoming", ' ', 0 },
	[QUEUE_LIST_ACTIVE] = { "active", '*', 0 },
	[QUEUE_LIST_DEFERRED] = { "deferred", ' ', 1 },
	[QUEUE_LIST_HOLD] = { "hold", '!', 0 },
	[QUEUE_LIST_CORRUPT] = { "corrupt", ' ', 0 },
};

const char *queue_list_name(enum queue_list_queue q)
{
	return queues[q].name;
}

int queue_list_hashed(enum queue_list_queue q)
{
	return queues[q].hashed;
}

const char *queue_list_reason(const struct queue_rcpt *rcpt)
{
	if (rcpt->delayed == NULL)
		return "";
	return rcpt->delayed->diag[0] != '\0' ? rcpt->delayed->diag
					      : rcpt->delayed->status;
}

/* s with control characters as '?': network text on a terminal. */
static int append_safe(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (buf_append_char(b, c < 0x20 || c == 0x7f ? '?' : (char)c) <
		    0)
			return -1;
	}
	return 0;
}

int queue_list_mailq_header(struct buf *b)
{
	return buf_append_str(b, "-Queue ID-  --Size-- ----Arrival Time---- "
				 "-Sender/Recipient-------\n");
}

static int mailq_first_line(struct buf *b, const struct queue_list_entry *e)
{
	time_t when = (time_t)(e->env->arrival_us / 1000000);
	struct tm tm;
	char date[64];
	size_t idlen = strlen(e->id) + 1;

	if (localtime_r(&when, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a %b %e %H:%M:%S", &tm) == 0)
		snprintf(date, sizeof(date), "%s", "?");
	/* Postfix's columns: the size right after the id and its mark, so
	 * the sender lines up with the recipients at column 41. */
	if (buf_printf(b, "%s%c%*s%8" PRIu64 " %-20s ", e->id,
		       queues[e->queue].mark,
		       idlen < MAILQ_ID_WIDTH ? (int)(MAILQ_ID_WIDTH - idlen) : 0,
		       "", e->size, date) < 0 ||
	    append_safe(b, e->env->sender[0] != '\0' ? e->env->sender
						     : "MAILER-DAEMON") < 0)
		return -1;
	return buf_append_char(b, '\n');
}

int queue_list_mailq(struct buf *b, const struct queue_list_entry *e)
{
	const char *last_reason = "";

	if (mailq_first_line(b, e) < 0)
		return -1;
	for (size_t i = 0; i < e->env->rcpt_count; i++) {
		const struct queue_rcpt *r = &e->env->rcpts[i];
		const char *reason = queue_list_reason(r);

		if (r->done)
			continue;
		/* Postfix prints a reason once for the recipients under it. */
		if (reason[0] != '\0' && strcmp(reason, last_reason) != 0 &&
		    (buf_append_char(b, '(') < 0 || append_safe(b, reason) < 0 ||
		     buf_append_str(b, ")\n") < 0))
			return -1;
		last_reason = reason;
		if (buf_printf(b, "%*s", MAILQ_RCPT_INDENT, "") < 0 ||
		    append_safe(b, r->address) < 0 ||
		    buf_append_char(b, '\n') < 0)
			return -1;
	}
	return buf_append_char(b, '\n');
}

int queue_list_mailq_footer(struct buf *b, uint64_t total_size,
			    uint64_t count)
{
	if (count == 0)
		return buf_append_str(b, "Mail queue is empty\n");
	return buf_printf(b, "-- %" PRIu64 " Kbytes in %" PRIu64 " Request%s.\n",
			  (total_size + 1023) / 1024, count,
			  count == 1 ? "" : "s");
}

static int json_rcpts(struct buf *b, const struct queue_envelope *env)
{
	int first = 1;

	if (buf_append_str(b, "\"recipients\":[") < 0)
		return -1;
	for (size_t i = 0; i < env->rcpt_count; i++) {
		const struct queue_rcpt *r = &env->rcpts[i];
		const char *reason = queue_list_reason(r);

		if (r->done)
			continue;
		if ((!first && buf_append_char(b, ',') < 0) ||
		    buf_append_char(b, '{') < 0 ||
		    json_out_member_str(b, "address", r->address) < 0 ||
		    (reason[0] != '\0' &&
		     (buf_append_char(b, ',') < 0 ||
		      json_out_member_str(b, "delay_reason", reason) < 0)) ||
		    buf_append_char(b, '}') < 0)
			return -1;
		first = 0;
	}
	return buf_append_char(b, ']');
}

int queue_list_json(struct buf *b, const struct queue_list_entry *e)
{
	if (buf_append_char(b, '{') < 0 ||
	    json_out_member_str(b, "queue_name", queues[e->queue].name) < 0 ||
	    buf_append_char(b, ',') < 0 ||
	    json_out_member_str(b, "queue_id", e->id) < 0 ||
	    buf_append_char(b, ',') < 0 ||
	    json_out_member_u64(b, "arrival_time",
				e->env->arrival_us / 1000000) < 0 ||
	    buf_append_char(b, ',') < 0 ||
	    json_out_member_u64(b, "message_size", e->size) < 0 ||
	    buf_append_char(b, ',') < 0 ||
	    json_out_member_bool(b, "forced_expire", 0) < 0 ||
	    buf_append_char(b, ',') < 0 ||
	    json_out_member_str(b, "sender", e->env->sender) < 0 ||
	    buf_append_char(b, ',') < 0 || json_rcpts(b, e->env) < 0)
		return -1;
	return buf_append_str(b, "}\n");
}
