/* qmgr_message: one message from activation (a rename into active/) to
 * its end: removed when no recipient is pending, otherwise its done marks
 * synced and the file renamed into deferred/H/ with the next retry time as
 * its mtime, or removed once it has been queued too long. Also the ring
 * that hands out recipients round-robin between messages. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "addr.h"
#include "deliver_proto.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "qmgr.h"
#include "timeutil.h"

#define QMGR_ADDR_LOG 1024	/* escaped address in a log line */

static void escape(char out[QMGR_ADDR_LOG], const char *s)
{
	log_escape(out, QMGR_ADDR_LOG, s, QMGR_ADDR_LOG / 4 - 1);
}

bool qmgr_message_room(void)
{
	return qmgr.active_count < qmgr.active_limit;
}

/* Postfix's delay notation: seconds with at most two decimals. */
static void fmt_delay(char *out, size_t size, uint64_t us)
{
	uint64_t cs = (us + 5000) / 10000;	/* centiseconds, rounded */

	if (cs % 100 == 0)
		snprintf(out, size, "%llu", (unsigned long long)(cs / 100));
	else if (cs % 10 == 0)
		snprintf(out, size, "%llu.%llu", (unsigned long long)(cs / 100),
			 (unsigned long long)(cs % 100 / 10));
	else
		snprintf(out, size, "%llu.%02llu",
			 (unsigned long long)(cs / 100),
			 (unsigned long long)(cs % 100));
}

static void msg_free(struct qmgr_message **msgp)
{
	struct qmgr_message *msg = *msgp;

	if (msg->all_prev != NULL)
		msg->all_prev->all_next = msg->all_next;
	else
		qmgr.all_head = msg->all_next;
	if (msg->all_next != NULL)
		msg->all_next->all_prev = msg->all_prev;
	if (msg->fd >= 0)
		close(msg->fd);
	qmgr_dest_forget(msg);
	qmgr_verify_free(msg);
	queue_envelope_free(&msg->env);
	free(msg->retried);
	free(msg->route);
	xfree(msgp);
	qmgr.active_count--;
}

void qmgr_message_free_all(void)
{
	while (qmgr.all_head != NULL) {
		struct qmgr_message *msg = qmgr.all_head;
		msg_free(&msg);
	}
}

static void msg_close(struct qmgr_message **msgp)
{
	ASSERT((*msgp)->outstanding == 0 && !qmgr_dest_msg_waiting(*msgp));
	msg_free(msgp);
	/* Room again: what waits is activated from the loop, not from deep
	 * inside this call chain. */
	qmgr_scan_drain();
}

static void active_path(char out[QMGR_PATH_MAX], const char *id)
{
	snprintf(out, QMGR_PATH_MAX, QMGR_ACTIVE "/%s", id);
}

static void msg_remove(struct qmgr_message **msgp)
{
	char path[QMGR_PATH_MAX];

	active_path(path, (*msgp)->id);
	if (unlink(path) < 0)
		log_error("%s: unlink %s: %s", (*msgp)->id, path,
			  strerror(errno));
	else
		log_info("%s: removed", (*msgp)->id);
	msg_close(msgp);
}

/* Postfix's rule: wait as long as the message is old, within the limits,
 * so retries space out exponentially. */
static uint64_t backoff_s(const struct qmgr_message *msg, uint64_t now_s)
{
	uint64_t arrival_s = msg->env.arrival_us / 1000000;
	uint64_t age = now_s > arrival_s ? now_s - arrival_s : 0;

	if (age > qmgr.max_backoff_s)
		age = qmgr.max_backoff_s;
	if (age < qmgr.min_backoff_s)
		age = qmgr.min_backoff_s;
	return age;
}

/* The done marks are synced before the file leaves active/: after this,
 * a crash can no longer make us forget a delivered recipient. */
static void msg_defer(struct qmgr_message **msgp)
{
	struct qmgr_message *msg = *msgp;
	char from[QMGR_PATH_MAX], to[QMGR_PATH_MAX], sender[QMGR_ADDR_LOG];
	uint64_t now_s = time_wall_us() / 1000000;

	if (msg->env.arrival_us / 1000000 + qmgr_notice_lifetime(msg) <=
	    now_s) {
		escape(sender, msg->env.sender);
		/* A verification whose report never got out: a question
		 * nobody waits for, not mail to return. */
		log_info("%s: from=<%s>, status=expired, %s", msg->id, sender,
			 msg->verify ? "address verification dropped"
				     : "returned to sender");
		if (msg->verify || qmgr_notice_expire(msg) == 0) {
			msg_remove(msgp);
			return;
		}
	} else if (!msg->verify) {
		qmgr_notice_defer(msg);
	}
	struct timespec times[2];
	times[0].tv_sec = (time_t)(now_s + backoff_s(msg, now_s));
	times[0].tv_nsec = 0;
	times[1] = times[0];
	active_path(from, msg->id);
	snprintf(to, sizeof(to), QMGR_DEFERRED "/%c/%s", queue_id_hash(msg->id),
		 msg->id);
	/* Only done marks need the sync: a lost mtime or rename costs an
	 * early retry or a recovery from active/, never a message. A queue
	 * of mail for a dead destination is deferred without one. */
	if (futimens(msg->fd, times) < 0 ||
	    (msg->marked && fsync(msg->fd) < 0) || rename(from, to) < 0) {
		/* It stays in active/; a queue run picks it up again once
		 * nothing else is in memory (see on_queue_run). */
		log_error("%s: cannot defer to %s: %s", msg->id, to,
			  strerror(errno));
		qmgr.active_orphans = true;
	}
	msg_close(msgp);
}

static bool msg_pending(const struct qmgr_message *msg)
{
	for (size_t i = 0; i < msg->env.rcpt_count; i++)
		if (!msg->env.rcpts[i].done)
			return true;
	return false;
}

/* surelsuper -h, now that nothing is in flight: the done marks synced as
 * for a deferral (9b), then into hold/. The notices of this attempt's
 * failures wait for the release (their records are not marked notified). */
static void msg_hold(struct qmgr_message **msgp)
{
	struct qmgr_message *msg = *msgp;
	char path[QMGR_PATH_MAX];

	active_path(path, msg->id);
	if ((msg->marked && fsync(msg->fd) < 0) ||
	    qmgr_hold_move(path, msg->id) < 0) {
		log_error("%s: cannot hold: %s", msg->id, strerror(errno));
		qmgr.active_orphans = true;
	}
	msg_close(msgp);
}

/* surelsuper -r, now that nothing is in flight: the done marks synced
 * (as 9b), then back into incoming/ and taken again from there, every
 * pending recipient routed anew. */
static void msg_requeue(struct qmgr_message **msgp)
{
	struct qmgr_message *msg = *msgp;
	char from[QMGR_PATH_MAX], to[QMGR_PATH_MAX];

	active_path(from, msg->id);
	snprintf(to, sizeof(to), QMGR_INCOMING "/%s", msg->id);
	if ((msg->marked && fsync(msg->fd) < 0) || rename(from, to) < 0) {
		log_error("%s: cannot requeue: %s", msg->id, strerror(errno));
		qmgr.active_orphans = true;
	} else {
		log_info("%s: requeued", msg->id);
		qmgr_scan_queue_id(msg->id);
	}
	msg_close(msgp);
}

/* Called whenever a recipient's fate is known. */
static void msg_check_finished(struct qmgr_message **msgp)
{
	struct qmgr_message *msg = *msgp;

	if (msg->outstanding > 0 || qmgr_dest_msg_waiting(msg) ||
	    qmgr.stopping)
		return;
	/* surelsuper -d: no notices, as Postfix's postsuper -d. */
	if (msg->deleted)
		msg_remove(msgp);
	else if (msg->requeue)
		msg_requeue(msgp);
	else if (msg->hold && msg_pending(msg))
		msg_hold(msgp);
	else if (msg->verify && qmgr_verify_report(msg) == 0)
		msg_remove(msgp);
	else if (msg->verify)
		msg_defer(msgp);	/* asked again at the next attempt */
	else if (msg->deferred == 0 && qmgr_notice_done(msg) == 0)
		msg_remove(msgp);
	else
		msg_defer(msgp);
}

static void move_corrupt(const char *from, const char *id,
			 const char *reason)
{
	char to[QMGR_PATH_MAX];

	snprintf(to, sizeof(to), QMGR_CORRUPT "/%s", id);
	log_warn("%s: corrupt queue file: %s", id, reason);
	if (rename(from, to) < 0)
		log_error("%s: rename %s %s: %s", id, from, to,
			  strerror(errno));
}

/* Opens src for the move; in incoming/ only a file whose writer finished
 * (mode 0700) may go. -1 if it is gone or not ready. */
static int open_source(const char *src, bool check_mode)
{
	struct stat st;
	int fd = open(src, O_RDWR | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		if (errno != ENOENT)
			log_warn("open %s: %s", src, strerror(errno));
		return -1;
	}
	if (check_mode && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
			   (st.st_mode & S_IXUSR) == 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void log_active(const struct qmgr_message *msg)
{
	char sender[QMGR_ADDR_LOG];

	escape(sender, msg->env.sender);
	log_info("%s: from=<%s>, size=%llu, nrcpt=%zu (queue active)", msg->id,
		 sender, (unsigned long long)msg->content_size,
		 msg->env.rcpt_count);
}

static void msg_fail_all(struct qmgr_message *msg, const char *dsn,
			 const char *reason);

static void result_record(struct qmgr_message *msg, size_t index,
			  const struct deliver_answer *ans, bool logged);

/* Each pending recipient to its destination's queue, or answered now
 * (error:, retry:, discard:, a look-up that failed). Called once msg is
 * complete: an answer may finish it. */
static void msg_route(struct qmgr_message *msg)
{
	struct qmgr_route r;
	const char *filter = queue_envelope_attr(&msg->env, "filter");

	msg->route = xcalloc(msg->env.rcpt_count, 1);
	for (size_t i = 0; i < msg->env.rcpt_count; i++) {
		if (msg->env.rcpts[i].done)
			continue;
		qmgr_route_rcpt(msg->env.rcpts[i].address, filter, &r);
		msg->route[i] = (uint8_t)r.transport;
		if (r.transport != QMGR_UNROUTED) {
			qmgr_dest_add(qmgr_dest_get(r.transport, r.nexthop),
				      msg, i);
			continue;
		}
		struct deliver_answer ans = {
			.status = (enum deliver_status)r.status, .dsn = r.dsn,
			.reason = r.reason,
		};
		result_record(msg, i, &ans, false);
	}
}

/* The envelope is read where the file lies (only qmgr moves it), so
 * that a held message goes from there straight to hold/ or corrupt/,
 * never through active/. */
int qmgr_message_activate(const char *src, const char *id, bool check_mode)
{
	char path[QMGR_PATH_MAX];
	const char *error;
	int fd;

	active_path(path, id);
	fd = open_source(src, check_mode);
	if (fd < 0)
		return 0;
	struct qmgr_message *msg = xcalloc(1, sizeof(*msg));
	if (queue_file_read(fd, &msg->env, &msg->content_offset,
			    &msg->content_size, &error) < 0) {
		close(fd);
		free(msg);
		move_corrupt(src, id, error);
		return 0;
	}
	bool hold = qmgr_hold_wanted(&msg->env);
	if (hold || (strcmp(src, path) != 0 && rename(src, path) < 0)) {
		if (!hold && errno != ENOENT)
			log_warn("%s: rename %s %s: %s", id, src, path,
				 strerror(errno));
		if (hold)
			(void)qmgr_hold_move(src, id);
		close(fd);
		queue_envelope_free(&msg->env);
		free(msg);
		return 0;
	}
	memcpy(msg->id, id, strlen(id) + 1);
	msg->fd = fd;
	msg->active_us = time_wall_us();
	msg->all_next = qmgr.all_head;
	if (qmgr.all_head != NULL)
		qmgr.all_head->all_prev = msg;
	qmgr.all_head = msg;
	qmgr.active_count++;
	qmgr_verify_init(msg);
	log_active(msg);
	/* A loop fails every recipient before any is queued anywhere. */
	/* Local mail that header/body_checks rejected (pickup): nobody is
	 * waiting for a reply, so it is returned to the sender, as
	 * Postfix's cleanup does for pickup's mail. */
	const char *reject = queue_envelope_attr(&msg->env, "reject");
	if (qmgr_hops_exceeded(msg))
		msg_fail_all(msg, "5.4.6",
			     "mail forwarding loop (too many hops)");
	else if (reject != NULL)
		msg_fail_all(msg, "5.7.1", reject);
	else
		msg_route(msg);
	msg_check_finished(&msg);	/* nothing pending, or all answered */
	return 1;
}

struct qmgr_message *qmgr_message_find(const char *id)
{
	for (struct qmgr_message *m = qmgr.all_head; m != NULL;
	     m = m->all_next)
		if (strcmp(m->id, id) == 0)
			return m;
	return NULL;
}

void qmgr_message_each(void (*fn)(struct qmgr_message *msg))
{
	struct qmgr_message *m = qmgr.all_head, *next;

	for (; m != NULL; m = next) {
		next = m->all_next;
		fn(m);
	}
}

void qmgr_message_hold(struct qmgr_message *msg)
{
	const char *error;

	msg->hold = true;
	if (msg->outstanding > 0 &&
	    (queue_file_append_mark(msg->fd, &msg->env, 'O', &error) < 0 ||
	     fsync(msg->fd) < 0))
		log_error("%s: cannot record the hold: %s (held once its "
			  "deliveries are answered, unless qmgr stops first)",
			  msg->id, strerror(errno));
	/* What waits for a destination stays pending in the file. */
	qmgr_dest_forget(msg);
	msg_check_finished(&msg);
}

void qmgr_message_delete(struct qmgr_message *msg)
{
	msg->deleted = true;
	qmgr_dest_forget(msg);
	msg_check_finished(&msg);
}

void qmgr_message_requeue(struct qmgr_message *msg)
{
	const char *error;

	/* A hold recorded for in-flight deliveries (an O record) would hold
	 * the message again at its activation: the requeue cancels it. */
	if (msg->hold && msg->env.hold_mark == 'O' &&
	    (queue_file_append_mark(msg->fd, &msg->env, 'H', &error) < 0 ||
	     fsync(msg->fd) < 0))
		log_error("%s: cannot record the release: %s", msg->id,
			  strerror(errno));
	msg->hold = false;
	msg->requeue = true;
	qmgr_dest_forget(msg);
	msg_check_finished(&msg);
}

void qmgr_message_wakeup(const char *id)
{
	char path[QMGR_PATH_MAX];

	if (!queue_id_valid(id)) {
		char esc[QMGR_ADDR_LOG];
		escape(esc, id);
		log_warn("wakeup for a bad queue id \"%s\" ignored", esc);
		return;
	}
	if (!qmgr_message_room() || qmgr_scan_have_queued()) {
		qmgr_scan_queue_id(id);
		return;
	}
	snprintf(path, sizeof(path), QMGR_INCOMING "/%s", id);
	if (qmgr_message_activate(path, id, true) > 0)
		qmgr_deliver_kick();
}

/* ---- results ---- */

static void outstanding_dec(struct qmgr_message *msg)
{
	ASSERT(msg->outstanding > 0 && qmgr.outstanding > 0);
	msg->outstanding--;
	qmgr.outstanding--;
	/* SIGTERM waits only for the answers on their way. */
	if (qmgr.stopping && qmgr.outstanding == 0)
		event_loop_stop(qmgr.loop);
}

/* The status line for a result qmgr decided itself (the agents log
 * theirs), in the agents' format; relay=none as in Postfix: no agent
 * reached a server for it. */
static void log_status(const struct qmgr_message *msg, size_t index,
		       const struct deliver_answer *ans)
{
	const struct queue_rcpt *rcpt = &msg->env.rcpts[index];
	char to[QMGR_ADDR_LOG], orig[QMGR_ADDR_LOG + 16], why[QMGR_ADDR_LOG];
	char delay[32], a[32], b[32];
	uint64_t now = time_wall_us(), arrival = msg->env.arrival_us;

	escape(to, rcpt->address);
	orig[0] = '\0';
	if (rcpt->orig_rcpt != NULL) {
		char esc[QMGR_ADDR_LOG];
		escape(esc, rcpt->orig_rcpt);
		snprintf(orig, sizeof(orig), ", orig_to=<%s>", esc);
	}
	escape(why, ans->reason != NULL ? ans->reason : "");
	fmt_delay(delay, sizeof(delay), now > arrival ? now - arrival : 0);
	fmt_delay(a, sizeof(a),
		  msg->active_us > arrival ? msg->active_us - arrival : 0);
	fmt_delay(b, sizeof(b),
		  now > msg->active_us ? now - msg->active_us : 0);
	log_info("%s: to=<%s>%s, relay=none, delay=%s, delays=%s/%s/0/0, "
		 "dsn=%s, status=%s (%s)", msg->id, to, orig, delay, a, b,
		 ans->dsn, deliver_status_word(ans->status, msg->verify), why);
	if (!msg->verify)
		metrics_count_delivery(ans->status, ans->dsn);
}

/* No fsync here: the mark is synced before the file leaves active/
 * (msg_defer), and a removed file needs none. A crash before that may
 * deliver this recipient again, never lose it. */
static void rcpt_mark_done(struct qmgr_message *msg, size_t index)
{
	struct queue_rcpt *rcpt = &msg->env.rcpts[index];

	msg->marked = true;
	if (queue_file_mark_done(msg->fd, rcpt) < 0) {
		log_error("%s: cannot mark recipient done: %s", msg->id,
			  strerror(errno));
		rcpt->done = true;
	}
}

/* Records one recipient's result: the done mark, or one more deferred. */
static void result_record(struct qmgr_message *msg, size_t index,
			  const struct deliver_answer *ans, bool logged)
{
	if (!logged)
		log_status(msg, index, ans);
	/* sendmail -bv: the answer is all there is to do (qmgr_verify.c). */
	if (msg->verify) {
		qmgr_verify_record(msg, index, ans);
		return;
	}
	/* The notice's record before the done mark: -1 keeps a failed
	 * recipient pending rather than lose its bounce. */
	bool keep = qmgr_notice_result(msg, index, ans) < 0;
	switch (keep ? DELIVER_TEMPFAIL : ans->status) {
	case DELIVER_OK:
	case DELIVER_PERMFAIL:
		rcpt_mark_done(msg, index);
		break;
	case DELIVER_TEMPFAIL:
		msg->deferred++;
		break;
	}
}

void qmgr_message_result(struct qmgr_message *msg, size_t index,
			 const struct deliver_answer *ans, bool logged)
{
	result_record(msg, index, ans, logged);
	outstanding_dec(msg);
	msg_check_finished(&msg);
}

void qmgr_message_result_waiting(struct qmgr_message *msg, size_t index,
				 const struct deliver_answer *ans)
{
	result_record(msg, index, ans, false);
}

void qmgr_message_check(struct qmgr_message *msg)
{
	msg_check_finished(&msg);
}

/* Every pending recipient fails now, without a dispatch (a loop). */
static void msg_fail_all(struct qmgr_message *msg, const char *dsn,
			 const char *reason)
{
	struct deliver_answer ans = {
		.status = DELIVER_PERMFAIL, .dsn = dsn, .reason = reason,
	};

	msg->route = xcalloc(msg->env.rcpt_count, 1);
	for (size_t i = 0; i < msg->env.rcpt_count; i++) {
		if (msg->env.rcpts[i].done)
			continue;
		msg->route[i] = QMGR_UNROUTED;
		result_record(msg, i, &ans, false);
	}
}

void qmgr_message_lost(struct qmgr_message *msg, struct qmgr_dest *dest,
		       size_t index, const char *reason)
{
	/* The agent may have delivered before it died, so a retry can
	 * duplicate, exactly as a later retry would; but a connection that
	 * the agent closed as idle just as we sent must not cost the
	 * recipient a back-off. Once only, so a message that kills the
	 * agent is not fed to it forever. */
	if (msg->hold || msg->deleted || msg->requeue) {
		/* Held (deleted, requeued) meanwhile: it stays pending, for
		 * after the release (or the next activation). */
		outstanding_dec(msg);
		msg_check_finished(&msg);
		return;
	}
	if (msg->retried == NULL)
		msg->retried = xcalloc(msg->env.rcpt_count, 1);
	if (msg->retried[index] || qmgr.stopping) {
		struct deliver_answer ans = {
			.status = DELIVER_TEMPFAIL, .dsn = "4.3.0",
			.reason = reason,
		};
		qmgr_message_result(msg, index, &ans, false);
		return;
	}
	msg->retried[index] = 1;
	qmgr_dest_add(dest, msg, index);
	outstanding_dec(msg);
}
