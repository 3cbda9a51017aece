/* qmgr_notice: the delivery status notices (RFC 3464) qmgr sends to a
 * message's sender: the per-recipient status records it keeps in the
 * queue file (queue_file.h) as results come in, and the notices composed
 * from them (lib/dsn) and queued as new messages from the null sender:
 * failures and successes when an attempt ends, a delay warning once, and
 * the failure of every pending recipient when the message expires.
 *
 * Durability: a failed record is fsynced before the recipient's done
 * mark, and a notice is committed (queue_writer fsyncs it) before the
 * original is removed or its records are marked notified (B), so a crash
 * may send a notice twice, never lose it. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "conf.h"
#include "deliver_proto.h"
#include "dsn.h"
#include "fsutil.h"
#include "log.h"
#include "mem.h"
#include "qmgr.h"
#include "queue_writer.h"
#include "timeutil.h"

#define NOTICE_MAX (16 * 1024 * 1024)	/* one composed notice, at most */
#define NOTICE_ADDR_LOG 1024

static struct {
	uint64_t delay_warning_s;	/* 0: off */
	uint64_t bounce_lifetime_s;	/* mail from <> */
	size_t return_limit;		/* bounce_size_limit */
	const char *myhostname;
} notice;

void qmgr_notice_configure(void)
{
	notice.delay_warning_s = conf_time("delay_warning_time");
	notice.bounce_lifetime_s = conf_time("bounce_queue_lifetime");
	notice.return_limit = (size_t)conf_size("bounce_size_limit");
	notice.myhostname = conf_str("myhostname");
}

uint64_t qmgr_notice_lifetime(const struct qmgr_message *msg)
{
	return msg->env.sender[0] == '\0' ? notice.bounce_lifetime_s
					  : qmgr.max_lifetime_s;
}

/* ---- status records ---- */

static int sync_record(const struct qmgr_message *msg)
{
	if (fsync(msg->fd) == 0)
		return 0;
	log_error("%s: cannot sync status record: %s", msg->id,
		  strerror(errno));
	return -1;
}

static bool same(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

int qmgr_notice_result(struct qmgr_message *msg, size_t index,
		       const struct deliver_answer *ans)
{
	struct queue_rcpt *rcpt = &msg->env.rcpts[index];
	unsigned notify = 0;
	const char *error;
	/* An agent's own failure (local, or smtp before any reply) is our
	 * text; a remote server's reply is quoted as smtp. */
	bool remote = ans->diag != NULL && ans->diag[0] != '\0';
	struct queue_status_new st = {
		.status = ans->dsn,
		.diag_type = remote ? "smtp" : "x-surel",
		.remote_mta = ans->remote_mta,
		.in_reply_to = ans->in_reply_to,
		.diag = remote ? ans->diag : ans->reason,
	};

	switch (ans->status) {
	case DELIVER_PERMFAIL:
		st.kind = QUEUE_STATUS_FAILED;
		break;
	case DELIVER_TEMPFAIL:
		/* Only a new reason: a recipient retried for days does not
		 * grow the file by a line per attempt. */
		if (rcpt->delayed != NULL &&
		    same(rcpt->delayed->status, ans->dsn) &&
		    same(rcpt->delayed->diag, st.diag))
			return 0;
		st.kind = QUEUE_STATUS_DELAYED;
		break;
	case DELIVER_OK:
		if (dsn_notify_parse(rcpt->notify, &notify, &error) < 0 ||
		    !dsn_notify_allows(DSN_KIND_SUCCESS, msg->env.sender,
				       notify) || ans->dsn_passed)
			return 0;
		/* RFC 3461 5.2.2/5.2.3: relayed to a server that does not do
		 * DSN; delivered when we put it into the mailbox. */
		st.kind = msg->route[index] == QMGR_SMTP
				  ? QUEUE_STATUS_RELAYED
				  : QUEUE_STATUS_DELIVERED;
		break;
	}
	if (queue_file_append_status(msg->fd, &msg->env, index, &st,
				     &error) < 0) {
		log_error("%s: %s: %s", msg->id, error, strerror(errno));
		return ans->status == DELIVER_PERMFAIL ? -1 : 0;
	}
	if (st.kind == QUEUE_STATUS_DELAYED)
		return 0;
	return sync_record(msg) < 0 && ans->status == DELIVER_PERMFAIL ? -1
									: 0;
}

/* ---- composing and queueing a notice ---- */

static const char *const kind_log[DSN_KIND_COUNT] = {
	[DSN_KIND_FAILURE] = "sender non-delivery notification",
	[DSN_KIND_DELAY] = "sender delay notification",
	[DSN_KIND_SUCCESS] = "sender delivery status notification",
	/* Postfix logs its -bv report with the success notices' words. */
	[DSN_KIND_VERIFY] = "sender delivery status notification",
};

/* The original's first octets: enough for dsn to return it whole (up to
 * bounce_size_limit) or to know it must return the headers only. */
static char *read_original(const struct qmgr_message *msg, size_t *len_r)
{
	uint64_t want = msg->content_size;

	if (want > (uint64_t)notice.return_limit + 1)
		want = (uint64_t)notice.return_limit + 1;
	char *data = xmalloc((size_t)want + 1);
	ssize_t n = fs_pread_all(msg->fd, data, (size_t)want,
				 msg->content_offset);
	if (n != (ssize_t)want) {
		free(data);
		return NULL;
	}
	*len_r = (size_t)want;
	return data;
}

static void notice_fill(const struct qmgr_message *msg, enum dsn_kind kind,
			struct dsn_notice *n)
{
	const struct queue_envelope *env = &msg->env;
	const char *client = queue_envelope_attr(env, "client_name");

	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->myhostname = notice.myhostname;
	n->now = time(NULL);
	n->sender = env->sender;
	n->queue_id = msg->id;
	n->envid = queue_envelope_attr(env, "envid");
	if (dsn_ret_parse(queue_envelope_attr(env, "ret"), &n->ret) < 0)
		n->ret = SMTP_RET_NONE;
	n->smtputf8 = queue_envelope_attr(env, "smtputf8") != NULL;
	n->arrival = (time_t)(env->arrival_us / 1000000);
	n->client_name = client;
	n->client_address = client != NULL
		? queue_envelope_attr(env, "client_address") : NULL;
	n->return_limit = notice.return_limit;
}

/* Writes the composed notice into incoming/ from <> to the sender. */
static int notice_queue(struct queue_writer **w, const struct buf *text,
			const struct dsn_info *info, const char *to,
			const char **error_r)
{
	struct queue_envelope env;

	memset(&env, 0, sizeof(env));
	env.sender = xstrdup("");
	queue_envelope_add_attr(&env, "protocol", "local");
	if (info->eightbit)
		queue_envelope_add_attr(&env, "body", "8BITMIME");
	if (info->smtputf8)
		queue_envelope_add_attr(&env, "smtputf8", "yes");
	queue_envelope_add_rcpt(&env, to, NULL, NULL, NULL);
	int ret = queue_writer_envelope(*w, &env, error_r);
	queue_envelope_free(&env);
	if (ret == 0)
		ret = queue_writer_content(*w, text->data, text->len, error_r);
	if (ret == 0)
		return queue_writer_commit(w, error_r);
	queue_writer_abort(w);
	return -1;
}

/* Composes one notice for rcpts[0..count) and queues it. */
static int notice_send_one(const struct qmgr_message *msg,
			   struct dsn_notice *n, const struct dsn_rcpt *rcpts,
			   size_t count)
{
	struct queue_writer *w;
	struct dsn_info info;
	struct buf text;
	const char *error;
	char id[QUEUE_ID_MAX];

	if (queue_writer_open(conf_str("queue_directory"), &w, &error) < 0) {
		log_error("%s: cannot queue %s: %s", msg->id,
			  kind_log[n->kind], error);
		return -1;
	}
	snprintf(id, sizeof(id), "%s", queue_writer_id(w));
	n->token = id;
	n->rcpts = rcpts;
	n->rcpt_count = count;
	buf_init(&text, NOTICE_MAX);
	int ret = dsn_compose(n, &text, &info, &error);
	if (ret < 0)
		queue_writer_abort(&w);
	else
		ret = notice_queue(&w, &text, &info, msg->env.sender, &error);
	buf_deinit(&text);
	if (ret < 0) {
		log_error("%s: cannot queue %s: %s", msg->id,
			  kind_log[n->kind], error);
		return -1;
	}
	log_info("%s: %s: %s", msg->id, kind_log[n->kind], id);
	/* Activated from the loop, not from inside this result's call
	 * chain (see qmgr_scan_drain). */
	qmgr_scan_queue_id(id);
	qmgr_scan_drain();
	return 0;
}

int qmgr_notice_send(const struct qmgr_message *msg, enum dsn_kind kind,
		     const struct dsn_rcpt *rcpts, size_t count)
{
	struct dsn_notice n;
	size_t len;
	int ret = 0;

	if (count == 0)
		return 0;
	notice_fill(msg, kind, &n);
	char *orig = read_original(msg, &len);
	if (orig == NULL) {
		log_error("%s: cannot read the message for a notice: %s",
			  msg->id, strerror(errno));
		return -1;
	}
	n.content = orig;
	n.content_len = len;
	for (size_t i = 0; i < count && ret == 0; i += DSN_RCPT_MAX)
		ret = notice_send_one(msg, &n, rcpts + i,
				      count - i < DSN_RCPT_MAX ? count - i
							       : DSN_RCPT_MAX);
	free(orig);
	return ret;
}

/* ---- which recipients a notice names ---- */

static bool rcpt_allows(const struct qmgr_message *msg,
			const struct queue_rcpt *rcpt, enum dsn_kind kind)
{
	unsigned notify = 0;
	const char *error;

	/* The writer checked the list; a bad one counts as absent. */
	if (dsn_notify_parse(rcpt->notify, &notify, &error) < 0)
		notify = 0;
	return dsn_notify_allows(kind, msg->env.sender, notify);
}

static const enum dsn_action action_of[] = {
	[QUEUE_STATUS_FAILED] = DSN_ACTION_FAILED,
	[QUEUE_STATUS_DELAYED] = DSN_ACTION_DELAYED,
	[QUEUE_STATUS_DELIVERED] = DSN_ACTION_DELIVERED,
	[QUEUE_STATUS_RELAYED] = DSN_ACTION_RELAYED,
};

/* A recipient as a notice names it, from a status record (st may be
 * NULL: a pending recipient without one). */
static void rcpt_fill(const struct qmgr_message *msg,
		      const struct queue_rcpt *rcpt,
		      const struct queue_status *st, enum dsn_action action,
		      struct dsn_rcpt *d)
{
	memset(d, 0, sizeof(*d));
	d->address = rcpt->address;
	d->orig_rcpt = rcpt->orig_rcpt;
	d->orcpt = rcpt->orcpt;
	d->action = action;
	d->last_attempt = time(NULL);
	if (action == DSN_ACTION_DELAYED)
		d->retry_until = (time_t)(msg->env.arrival_us / 1000000 +
					  qmgr_notice_lifetime(msg));
	if (st == NULL) {
		d->status = action == DSN_ACTION_FAILED ? "4.4.7" : "4.0.0";
		d->diag_type = DSN_DIAG_LOCAL;
		d->diag = "delivery temporarily suspended";
		d->diag_len = strlen(d->diag);
		return;
	}
	d->status = st->status;
	d->remote_mta = st->remote_mta[0] != '\0' ? st->remote_mta : NULL;
	d->in_reply_to = st->in_reply_to[0] != '\0' ? st->in_reply_to : NULL;
	d->diag_type = strcmp(st->diag_type, "smtp") == 0 ? DSN_DIAG_SMTP
			: st->diag[0] != '\0' ? DSN_DIAG_LOCAL : DSN_DIAG_NONE;
	d->diag = st->diag[0] != '\0' ? st->diag : NULL;
	d->diag_len = strlen(st->diag);
}

/* The failure (with expire: also every pending recipient, failed with
 * its last delay's status) or success notice's recipients not yet
 * notified. Returns how many. */
static size_t collect(const struct qmgr_message *msg, enum dsn_kind kind,
		      bool expire, struct dsn_rcpt *out)
{
	size_t n = 0;

	for (size_t i = 0; i < msg->env.rcpt_count; i++) {
		const struct queue_rcpt *r = &msg->env.rcpts[i];
		const struct queue_status *st =
			kind == DSN_KIND_SUCCESS ? r->success : r->failed;
		bool pending = expire && !r->done;
		if (pending)
			st = r->delayed;
		else if (st == NULL || st->notified || (st == r->failed &&
							!r->done))
			continue;	/* a failed record whose mark was
					 * lost is retried, not reported */
		if (!rcpt_allows(msg, r, kind))
			continue;
		rcpt_fill(msg, r, st,
			  pending ? DSN_ACTION_FAILED : action_of[st->kind],
			  &out[n++]);
	}
	return n;
}

/* Failure and success notices for what is not notified yet. */
static int notices_flush(struct qmgr_message *msg, bool expire, bool mark)
{
	struct dsn_rcpt *rcpts = xcalloc(msg->env.rcpt_count, sizeof(*rcpts));
	const char *error = "fsync failed";
	size_t sent = 0;
	int ret = 0;

	for (int k = 0; k < 2 && ret == 0; k++) {
		enum dsn_kind kind = k == 0 ? DSN_KIND_FAILURE
					    : DSN_KIND_SUCCESS;
		size_t n = collect(msg, kind, expire && k == 0, rcpts);
		ret = qmgr_notice_send(msg, kind, rcpts, n);
		sent += ret == 0 ? n : 0;
	}
	free(rcpts);
	/* B makes the records notified for the next attempt; a removed
	 * file needs none. */
	if (ret == 0 && mark && sent > 0 &&
	    (queue_file_append_mark(msg->fd, &msg->env, 'B', &error) < 0 ||
	     sync_record(msg) < 0))
		log_error("%s: cannot mark notices sent: %s", msg->id, error);
	return ret;
}

/* Mail from <> gets no notice (dsn_notify_allows): say so once, as the
 * message ends, when it had failures. */
static void log_null_sender(const struct qmgr_message *msg, bool expire)
{
	if (msg->env.sender[0] != '\0')
		return;
	for (size_t i = 0; i < msg->env.rcpt_count; i++) {
		const struct queue_rcpt *r = &msg->env.rcpts[i];
		if ((r->failed != NULL && !r->failed->notified) ||
		    (expire && !r->done)) {
			log_info("%s: undeliverable mail from <>: "
				 "no notification", msg->id);
			return;
		}
	}
}

int qmgr_notice_done(struct qmgr_message *msg)
{
	log_null_sender(msg, false);
	return notices_flush(msg, false, false);
}

int qmgr_notice_expire(struct qmgr_message *msg)
{
	log_null_sender(msg, true);
	return notices_flush(msg, true, false);
}

/* One delay notice for the pending recipients that allow it. */
static void delay_warning(struct qmgr_message *msg)
{
	uint64_t now_s = time_wall_us() / 1000000;
	uint64_t arrival_s = msg->env.arrival_us / 1000000;
	const char *error = "fsync failed";
	size_t n = 0;

	if (notice.delay_warning_s == 0 || msg->env.warning_sent ||
	    arrival_s + notice.delay_warning_s > now_s)
		return;
	struct dsn_rcpt *rcpts = xcalloc(msg->env.rcpt_count, sizeof(*rcpts));
	for (size_t i = 0; i < msg->env.rcpt_count; i++) {
		const struct queue_rcpt *r = &msg->env.rcpts[i];
		if (!r->done && rcpt_allows(msg, r, DSN_KIND_DELAY))
			rcpt_fill(msg, r, r->delayed, DSN_ACTION_DELAYED,
				  &rcpts[n++]);
	}
	if (n > 0 && qmgr_notice_send(msg, DSN_KIND_DELAY, rcpts, n) == 0 &&
	    (queue_file_append_mark(msg->fd, &msg->env, 'W', &error) < 0 ||
	     sync_record(msg) < 0))
		log_error("%s: cannot mark the delay warning sent: %s",
			  msg->id, error);
	free(rcpts);
}

void qmgr_notice_defer(struct qmgr_message *msg)
{
	/* As Postfix: the failures of this attempt are reported now, not
	 * when the last recipient is done. */
	(void)notices_flush(msg, false, true);
	delay_warning(msg);
}
