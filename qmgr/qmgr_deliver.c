/* qmgr_deliver: the pool of persistent connections to the local delivery
 * agent ($queue_directory/private/local). Each connection carries one
 * deliver_proto request at a time; recipients are taken round-robin from
 * the ready messages. Connections are opened lazily, kept across
 * messages, and reopened after an error; if the agent cannot be reached
 * the recipients simply wait (that is not a delivery failure). */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "deliver_proto.h"
#include "fsutil.h"
#include "ipc.h"
#include "log.h"
#include "mem.h"
#include "qmgr.h"
#include "timeutil.h"

#define QMGR_CONNECT_BACKOFF_MS 1000
#define QMGR_ANSWER_LINE_MAX 4200	/* a reason of a few KiB */
#define QMGR_ANSWER_ATTRS 8
#define QMGR_REQUEST_MAX (4 * QUEUE_LINE_MAX)

enum conn_state { CONN_CLOSED, CONN_CONNECTING, CONN_IDLE, CONN_BUSY };

struct qmgr_conn {
	int fd;
	enum conn_state state;
	bool want_write;	/* EVENT_WRITE is being watched */
	struct ipc_reader *reader;
	struct buf out;
	size_t out_off;
	struct qmgr_message *msg;	/* the request in flight */
	size_t rcpt;
	uint64_t deadline_ms;
};

static struct qmgr_conn *conns;
static uint64_t connect_after_ms;	/* back-off after a failed connect */
static bool connect_warned;
static bool kicking;

void qmgr_deliver_init(void)
{
	conns = xcalloc(qmgr.concurrency, sizeof(*conns));
	for (size_t i = 0; i < qmgr.concurrency; i++) {
		conns[i].fd = -1;
		buf_init(&conns[i].out, QMGR_REQUEST_MAX);
	}
}

static void conn_close(struct qmgr_conn *c)
{
	if (c->fd >= 0) {
		event_fd_clear(qmgr.loop, c->fd);
		close(c->fd);
	}
	c->fd = -1;
	c->state = CONN_CLOSED;
	c->want_write = false;
	ipc_reader_free(&c->reader);
	buf_reset(&c->out);
	c->out_off = 0;
}

/* Takes the request in flight off c; the caller reports its fate. */
static struct qmgr_message *conn_take(struct qmgr_conn *c, size_t *rcpt_r)
{
	struct qmgr_message *msg = c->msg;

	*rcpt_r = c->rcpt;
	c->msg = NULL;
	return msg;
}

/* The connection broke: a request in flight is dispatched again once
 * (qmgr_message_lost), unless timed_out (the agent hangs on it). */
static void conn_fail(struct qmgr_conn *c, const char *reason, bool timed_out)
{
	bool busy = c->state == CONN_BUSY && c->msg != NULL;
	size_t rcpt;

	conn_close(c);
	if (!busy)
		return;
	struct qmgr_message *msg = conn_take(c, &rcpt);
	if (timed_out)
		qmgr_message_defer(msg, rcpt, "4.4.2", reason);
	else
		qmgr_message_lost(msg, rcpt, reason);
}

static void conn_event(int fd, unsigned events, void *ctx);

static int conn_watch(struct qmgr_conn *c, bool want_write)
{
	unsigned ev = EVENT_READ | (want_write ? EVENT_WRITE : 0);

	if (event_fd_set(qmgr.loop, c->fd, ev, conn_event, c) < 0) {
		log_error("event_fd_set: %s", strerror(errno));
		return -1;
	}
	c->want_write = want_write;
	return 0;
}

static void connect_failed(const char *why)
{
	connect_after_ms = time_mono_ms() + QMGR_CONNECT_BACKOFF_MS;
	if (!connect_warned)
		log_warn("connect to %s: %s (recipients wait)",
			 QMGR_LOCAL_SOCKET, why);
	connect_warned = true;
}

static void conn_connect(struct qmgr_conn *c)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", QMGR_LOCAL_SOCKET);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		connect_failed(strerror(errno));
		return;
	}
	int ret = connect(c->fd, (struct sockaddr *)&sun, sizeof(sun));
	if (ret < 0 && errno != EINPROGRESS) {
		connect_failed(strerror(errno));
		conn_close(c);
		return;
	}
	c->reader = ipc_reader_new(QMGR_ANSWER_LINE_MAX, QMGR_ANSWER_ATTRS);
	c->state = ret == 0 ? CONN_IDLE : CONN_CONNECTING;
	c->deadline_ms = time_mono_ms() + qmgr.ipc_timeout_ms;
	if (conn_watch(c, ret < 0) < 0)
		conn_close(c);
	else if (ret == 0)
		connect_warned = false;
}

static void conn_send(struct qmgr_conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + c->out_off,
				 c->out.len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->out_off += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!c->want_write && conn_watch(c, true) < 0)
				conn_fail(c, "event error", false);
			return;
		} else {
			conn_fail(c, "delivery agent connection lost", false);
			return;
		}
	}
	buf_reset(&c->out);
	c->out_off = 0;
	if (c->want_write && conn_watch(c, false) < 0)
		conn_fail(c, "event error", false);
}

/* Sends the next recipient of the next ready message on idle c. */
static void conn_dispatch(struct qmgr_conn *c)
{
	struct qmgr_message *msg = qmgr_message_ready_next();
	char file[QMGR_PATH_MAX];
	size_t index;

	if (msg == NULL)
		return;
	if (!qmgr_message_next_rcpt(msg, &index))
		panic("%s: in the ready ring without work", msg->id);
	qmgr_message_ready_add(msg);	/* to the tail: round-robin */
	const struct queue_rcpt *rcpt = &msg->env.rcpts[index];
	snprintf(file, sizeof(file), QMGR_ACTIVE "/%s", msg->id);
	struct deliver_request req = {
		.queue_id = msg->id, .queue_file = file,
		.offset = (uint64_t)msg->content_offset,
		.size = msg->content_size, .sender = msg->env.sender,
		.recipient = rcpt->address,
		.orig_recipient = rcpt->orig_rcpt != NULL ? rcpt->orig_rcpt : "",
		.arrival_us = msg->env.arrival_us, .active_us = msg->active_us,
	};
	msg->outstanding++;
	qmgr.outstanding++;
	c->msg = msg;
	c->rcpt = index;
	c->state = CONN_BUSY;
	c->deadline_ms = time_mono_ms() + qmgr.ipc_timeout_ms;
	if (deliver_request_encode(&c->out, &req) < 0) {
		/* The reader validated every field; this is a bug. */
		panic("%s: request not encodable", msg->id);
	}
	conn_send(c);
}

static void conn_answer(struct qmgr_conn *c, struct ipc_msg *imsg)
{
	struct deliver_answer ans;
	const char *error;
	size_t rcpt;

	if (deliver_answer_decode(imsg, &ans, &error) < 0) {
		log_warn("bad answer from %s: %s", QMGR_LOCAL_SOCKET, error);
		conn_fail(c, "bad answer from delivery agent", true);
		return;
	}
	struct qmgr_message *msg = conn_take(c, &rcpt);
	c->state = CONN_IDLE;
	switch (ans.status) {
	case DELIVER_OK:
		qmgr_message_done(msg, rcpt, false);
		break;
	case DELIVER_PERMFAIL:
		qmgr_message_done(msg, rcpt, true);
		break;
	case DELIVER_TEMPFAIL:
		/* local logged the deferred line */
		qmgr_message_defer(msg, rcpt, ans.dsn, NULL);
		break;
	}
}

static void conn_read(struct qmgr_conn *c)
{
	char chunk[4096];
	struct ipc_msg imsg;
	const char *error;
	size_t used;
	ssize_t n = recv(c->fd, chunk, sizeof(chunk), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		/* An idle connection closed by the agent is normal. */
		conn_fail(c, "delivery agent connection lost", false);
		return;
	}
	if (c->state != CONN_BUSY) {
		log_warn("unexpected data from %s", QMGR_LOCAL_SOCKET);
		conn_fail(c, "protocol error", true);
		return;
	}
	int ret = ipc_reader_feed(c->reader, chunk, (size_t)n, &used, &imsg,
				  &error);
	if (ret < 0 || (ret == 1 && used != (size_t)n)) {
		if (ret == 1)
			ipc_msg_clear(&imsg);
		log_warn("bad answer from %s: %s", QMGR_LOCAL_SOCKET,
			 ret < 0 ? error : "data after the answer");
		conn_fail(c, "bad answer from delivery agent", true);
		return;
	}
	if (ret == 1) {
		conn_answer(c, &imsg);
		ipc_msg_clear(&imsg);
		qmgr_deliver_kick();
	}
}

static void conn_event(int fd, unsigned events, void *ctx)
{
	struct qmgr_conn *c = ctx;
	int err = 0;
	socklen_t len = sizeof(err);

	if (c->state == CONN_CONNECTING) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 ||
		    err != 0) {
			connect_failed(strerror(err != 0 ? err : errno));
			conn_close(c);
			return;
		}
		c->state = CONN_IDLE;
		connect_warned = false;
		if (conn_watch(c, false) < 0)
			conn_close(c);
		qmgr_deliver_kick();
		return;
	}
	if ((events & EVENT_WRITE) && c->state == CONN_BUSY)
		conn_send(c);
	if ((events & EVENT_READ) && c->fd == fd)
		conn_read(c);
}

void qmgr_deliver_kick(void)
{
	/* A kick from inside a kick (a result handled while dispatching)
	 * is folded into the running one. */
	if (kicking || qmgr.stopping)
		return;
	kicking = true;
	for (size_t i = 0; i < qmgr.concurrency && qmgr.ready_head != NULL;
	     i++) {
		struct qmgr_conn *c = &conns[i];
		if (c->state == CONN_CLOSED &&
		    time_mono_ms() >= connect_after_ms)
			conn_connect(c);
		if (c->state == CONN_IDLE)
			conn_dispatch(c);
	}
	kicking = false;
}

void qmgr_deliver_tick(void)
{
	uint64_t now = time_mono_ms();

	for (size_t i = 0; i < qmgr.concurrency; i++) {
		struct qmgr_conn *c = &conns[i];
		if ((c->state == CONN_BUSY || c->state == CONN_CONNECTING) &&
		    now >= c->deadline_ms) {
			log_warn("%s: timeout after %llu s",
				 QMGR_LOCAL_SOCKET,
				 (unsigned long long)qmgr.ipc_timeout_ms /
					 1000);
			conn_fail(c, "delivery agent timed out", true);
		}
	}
	qmgr_deliver_kick();
}

void qmgr_deliver_shutdown(void)
{
	for (size_t i = 0; i < qmgr.concurrency; i++) {
		conn_close(&conns[i]);
		buf_deinit(&conns[i].out);
	}
	xfree(&conns);
}
