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
#include "local_domains.h"
#include "log.h"
#include "mem.h"
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
	queue_envelope_free(&msg->env);
	free(msg->redo);
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
	for (int t = 0; t < QMGR_TRANSPORTS; t++)
		qmgr.ready_head[t] = qmgr.ready_tail[t] = NULL;
}

static bool msg_in_ready(const struct qmgr_message *msg)
{
	for (int t = 0; t < QMGR_TRANSPORTS; t++)
		if (msg->in_ready[t])
			return true;
	return false;
}

static void msg_close(struct qmgr_message **msgp)
{
	ASSERT((*msgp)->outstanding == 0 && !msg_in_ready(*msgp));
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
		log_info("%s: from=<%s>, status=expired, returned to sender",
			 msg->id, sender);
		if (qmgr_notice_expire(msg) == 0) {
			msg_remove(msgp);
			return;
		}
	} else {
		qmgr_notice_defer(msg);
	}
	struct timespec times[2];
	times[0].tv_sec = (time_t)(now_s + backoff_s(msg, now_s));
	times[0].tv_nsec = 0;
	times[1] = times[0];
	active_path(from, msg->id);
	snprintf(to, sizeof(to), QMGR_DEFERRED "/%c/%s", queue_id_hash(msg->id),
		 msg->id);
	if (futimens(msg->fd, times) < 0 || fsync(msg->fd) < 0 ||
	    rename(from, to) < 0) {
		/* It stays in active/; a queue run picks it up again once
		 * nothing else is in memory (see on_queue_run). */
		log_error("%s: cannot defer to %s: %s", msg->id, to,
			  strerror(errno));
		qmgr.active_orphans = true;
	}
	msg_close(msgp);
}

/* The redo slot holding a recipient for transport t, or -1. */
static ssize_t redo_find(const struct qmgr_message *msg,
			 enum qmgr_transport t)
{
	for (size_t i = 0; i < msg->redo_count; i++)
		if (msg->route[msg->redo[i]] == t)
			return (ssize_t)i;
	return -1;
}

/* Skips recipients done or for another transport. */
static void cursor_skip(struct qmgr_message *msg, enum qmgr_transport t)
{
	size_t *next = &msg->next_rcpt[t];

	while (*next < msg->env.rcpt_count &&
	       (msg->env.rcpts[*next].done || msg->route[*next] != t))
		(*next)++;
}

/* True if a recipient for t waits to be dispatched (does not take it). */
static bool msg_has_work_for(struct qmgr_message *msg, enum qmgr_transport t)
{
	if (redo_find(msg, t) >= 0)
		return true;
	cursor_skip(msg, t);
	return msg->next_rcpt[t] < msg->env.rcpt_count;
}

static bool msg_has_work(struct qmgr_message *msg)
{
	for (int t = 0; t < QMGR_TRANSPORTS; t++)
		if (msg_has_work_for(msg, (enum qmgr_transport)t))
			return true;
	return false;
}

/* Called whenever a recipient's fate is known. */
static void msg_check_finished(struct qmgr_message **msgp)
{
	struct qmgr_message *msg = *msgp;

	if (msg->outstanding > 0 || msg_in_ready(msg) || qmgr.stopping)
		return;
	if (msg_has_work(msg)) {
		qmgr_message_ready_add(msg);
		return;
	}
	if (msg->deferred == 0 && qmgr_notice_done(msg) == 0)
		msg_remove(msgp);
	else
		msg_defer(msgp);
}

static void move_corrupt(const char *id, const char *reason)
{
	char from[QMGR_PATH_MAX], to[QMGR_PATH_MAX];

	active_path(from, id);
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

static void rcpt_defer_now(struct qmgr_message *msg, size_t index,
			   const char *dsn, const char *reason);
static void msg_fail_all(struct qmgr_message *msg, const char *dsn,
			 const char *reason);

/* Our domains (virtual_mailbox_domains, as smtpd judged them) go to
 * local, every other to smtp. A recipient whose domain cannot be looked
 * up now waits for the next attempt. */
static void msg_route(struct qmgr_message *msg)
{
	msg->route = xcalloc(msg->env.rcpt_count, 1);
	for (size_t i = 0; i < msg->env.rcpt_count; i++) {
		const struct queue_rcpt *rcpt = &msg->env.rcpts[i];
		const char *domain = addr_domain(rcpt->address), *error;
		int ret = 1;

		if (rcpt->done)
			continue;
		/* Unqualified: local says what is wrong with it. */
		if (*domain != '\0')
			ret = local_domains_match(qmgr.domains, domain, &error);
		msg->route[i] = ret > 0 ? QMGR_LOCAL : ret == 0 ? QMGR_SMTP :
					  QMGR_UNROUTED;
		if (ret < 0) {
			char why[QMGR_ADDR_LOG];
			snprintf(why, sizeof(why), "virtual_mailbox_domains "
				 "lookup of %s: %s", domain, error);
			rcpt_defer_now(msg, i, "4.3.0", why);
		}
	}
}

int qmgr_message_activate(const char *src, const char *id, bool check_mode)
{
	char path[QMGR_PATH_MAX];
	const char *error;
	int fd;

	active_path(path, id);
	fd = open_source(src, check_mode);
	if (fd < 0)
		return 0;
	if (strcmp(src, path) != 0 && rename(src, path) < 0) {
		if (errno != ENOENT)
			log_warn("%s: rename %s %s: %s", id, src, path,
				 strerror(errno));
		close(fd);
		return 0;
	}
	struct qmgr_message *msg = xcalloc(1, sizeof(*msg));
	if (queue_file_read(fd, &msg->env, &msg->content_offset,
			    &msg->content_size, &error) < 0) {
		close(fd);
		free(msg);
		move_corrupt(id, error);
		return 0;
	}
	memcpy(msg->id, id, strlen(id) + 1);
	msg->fd = fd;
	msg_route(msg);
	if (qmgr_hops_exceeded(msg))
		msg_fail_all(msg, "5.4.6",
			     "mail forwarding loop (too many hops)");
	msg->active_us = time_wall_us();
	msg->all_next = qmgr.all_head;
	if (qmgr.all_head != NULL)
		qmgr.all_head->all_prev = msg;
	qmgr.all_head = msg;
	qmgr.active_count++;
	log_active(msg);
	qmgr_message_ready_add(msg);
	msg_check_finished(&msg);	/* recovered with nothing pending */
	return 1;
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

/* ---- the ready ring ---- */

void qmgr_message_ready_add(struct qmgr_message *msg)
{
	for (int i = 0; i < QMGR_TRANSPORTS; i++) {
		enum qmgr_transport t = (enum qmgr_transport)i;
		if (msg->in_ready[t] || !msg_has_work_for(msg, t))
			continue;
		msg->in_ready[t] = true;
		msg->ready_next[t] = NULL;
		if (qmgr.ready_tail[t] != NULL)
			qmgr.ready_tail[t]->ready_next[t] = msg;
		else
			qmgr.ready_head[t] = msg;
		qmgr.ready_tail[t] = msg;
	}
}

struct qmgr_message *qmgr_message_ready_next(enum qmgr_transport t)
{
	struct qmgr_message *msg = qmgr.ready_head[t];

	if (msg == NULL)
		return NULL;
	qmgr.ready_head[t] = msg->ready_next[t];
	if (qmgr.ready_head[t] == NULL)
		qmgr.ready_tail[t] = NULL;
	msg->in_ready[t] = false;
	msg->ready_next[t] = NULL;
	return msg;
}

bool qmgr_message_next_rcpt(struct qmgr_message *msg, enum qmgr_transport t,
			    size_t *index_r)
{
	ssize_t slot = redo_find(msg, t);

	if (slot >= 0) {
		*index_r = msg->redo[slot];
		msg->redo[slot] = msg->redo[--msg->redo_count];
		return true;
	}
	cursor_skip(msg, t);
	if (msg->next_rcpt[t] == msg->env.rcpt_count)
		return false;
	*index_r = msg->next_rcpt[t]++;
	return true;
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

static const char *const relay_name[] = {
	[QMGR_LOCAL] = "local",
	[QMGR_SMTP] = "smtp",
	[QMGR_UNROUTED] = "none",
};

static const char *const status_name[] = {
	[DELIVER_OK] = "sent",
	[DELIVER_TEMPFAIL] = "deferred",
	[DELIVER_PERMFAIL] = "bounced",
};

/* The status line for a result qmgr decided itself (the agents log
 * theirs), in the agents' format. */
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
	log_info("%s: to=<%s>%s, relay=%s, delay=%s, delays=%s/%s/0/0, "
		 "dsn=%s, status=%s (%s)", msg->id, to, orig,
		 relay_name[msg->route[index]], delay, a, b, ans->dsn,
		 status_name[ans->status], why);
}

/* No fsync here: the mark is synced before the file leaves active/
 * (msg_defer), and a removed file needs none. A crash before that may
 * deliver this recipient again, never lose it. */
static void rcpt_mark_done(struct qmgr_message *msg, size_t index)
{
	struct queue_rcpt *rcpt = &msg->env.rcpts[index];

	if (queue_file_mark_done(msg->fd, rcpt) < 0) {
		log_error("%s: cannot mark recipient done: %s", msg->id,
			  strerror(errno));
		rcpt->done = true;
	}
}

void qmgr_message_result(struct qmgr_message *msg, size_t index,
			 const struct deliver_answer *ans, bool logged)
{
	if (!logged)
		log_status(msg, index, ans);
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
	outstanding_dec(msg);
	msg_check_finished(&msg);
}

/* A recipient that stays pending without a dispatch (its route failed). */
static void rcpt_defer_now(struct qmgr_message *msg, size_t index,
			   const char *dsn, const char *reason)
{
	struct deliver_answer ans = {
		.status = DELIVER_TEMPFAIL, .dsn = dsn, .reason = reason,
	};

	log_status(msg, index, &ans);
	msg->deferred++;
}

/* Every pending recipient fails now, without a dispatch (a loop). */
static void msg_fail_all(struct qmgr_message *msg, const char *dsn,
			 const char *reason)
{
	struct deliver_answer ans = {
		.status = DELIVER_PERMFAIL, .dsn = dsn, .reason = reason,
	};

	for (size_t i = 0; i < msg->env.rcpt_count; i++) {
		if (msg->env.rcpts[i].done)
			continue;
		msg->route[i] = QMGR_UNROUTED;	/* relay=none */
		log_status(msg, i, &ans);
		if (qmgr_notice_result(msg, i, &ans) == 0)
			rcpt_mark_done(msg, i);
	}
	msg->deferred = 0;	/* routing's deferrals are moot */
	for (size_t i = 0; i < msg->env.rcpt_count; i++)
		msg->deferred += !msg->env.rcpts[i].done;
}

void qmgr_message_lost(struct qmgr_message *msg, size_t index,
		       const char *reason)
{
	/* The agent may have delivered before it died, so a retry can
	 * duplicate, exactly as a later retry would; but a connection that
	 * the agent closed as idle just as we sent must not cost the
	 * recipient a back-off. Once only, so a message that kills the
	 * agent is not fed to it forever. */
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
	if (msg->redo == NULL)
		msg->redo = xcalloc(msg->env.rcpt_count, sizeof(*msg->redo));
	msg->redo[msg->redo_count++] = index;
	outstanding_dec(msg);
	qmgr_message_ready_add(msg);
}
