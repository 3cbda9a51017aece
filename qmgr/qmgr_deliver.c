/* qmgr_deliver: a pool of persistent connections per delivery agent
 * (private/local, private/smtp: qmgr_request.c says what each speaks).
 * Each connection carries one deliver_proto request at a time: a
 * message's recipients for one destination, taken as qmgr_dest.c
 * decides (round-robin over destinations within their concurrency
 * windows). A connection is opened when work waits and no ready
 * connection is free, is usable only once the agent's hello says a
 * process accepted it (the agent may have fewer processes than we have
 * connections: the rest wait unaccepted in its listen backlog, holding no
 * recipient), is kept across messages, and is closed after a short idle
 * time so the pool shrinks to the work there is and the agent's processes
 * are free again. If the agent cannot be reached the recipients simply
 * wait (that is not a delivery failure). */
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
/* An answer's attributes: site and a few per recipient (room for
 * optional ones an agent may add). */
#define QMGR_ANSWER_ATTRS(rcpts) (4 + 8 * (rcpts))
/* A request: the message's lines and three per recipient, each at most a
 * queue file line (the buffer grows as needed up to this). */
#define QMGR_REQUEST_MAX(rcpts) ((16 + 3 * (rcpts)) * QUEUE_LINE_MAX)
/* Connections opened but not yet greeted, at most: like Postfix's qmgr,
 * a few at a time, so that a burst does not fill the agent's backlog with
 * connections no process will take soon. Each hello opens the next while
 * work waits. */
#define QMGR_PENDING_MAX 2
/* How long a connection may wait for its hello (at most ipc_timeout):
 * nothing is lost then, it is only closed and opened again. */
#define QMGR_HELLO_TIMEOUT_MS 60000
/* A greeted connection without a request for this long is closed: the
 * agent process is free for a connection that waits, or to exit. So is
 * one still waiting for its hello, opened this long ago, once no
 * recipient waits: it would only become such an idle connection. */
#define QMGR_IDLE_CLOSE_MS 5000

/* CLOSED -> CONNECTING -> HELLO -> IDLE <-> BUSY; any -> CLOSED.
 * Only IDLE connections take requests. */
enum conn_state {
	CONN_CLOSED,
	CONN_CONNECTING,	/* non-blocking connect in progress */
	CONN_HELLO,		/* connected, waiting for the agent's hello */
	CONN_IDLE,
	CONN_BUSY,
	CONN_STATES
};

struct qmgr_pool;

struct qmgr_conn {
	struct qmgr_pool *pool;
	int fd;
	enum conn_state state;
	bool want_write;	/* EVENT_WRITE is being watched */
	struct ipc_reader *reader;
	struct buf out;
	size_t out_off;
	struct qmgr_message *msg;	/* the request in flight */
	struct qmgr_dest *dest;		/* its destination */
	size_t *rcpts;			/* its recipients */
	size_t count;
	struct qmgr_dest *last_dest;	/* served last: the agent may hold
					 * a connection to it */
	uint64_t deadline_ms;	/* for the hello, or for the answer */
	uint64_t idle_since_ms;	/* idle: since when; pending: opened when */
};

/* One agent's connections. */
struct qmgr_pool {
	enum qmgr_transport transport;
	const char *socket;		/* relative to queue_directory */
	struct qmgr_conn *conns;	/* size of them */
	size_t size;
	size_t counts[CONN_STATES];	/* connections in each state */
	uint64_t connect_after_ms;	/* back-off after a failed connect */
	bool connect_warned;
	bool hello_warned;
};

static struct qmgr_pool pools[QMGR_TRANSPORTS];
static uint64_t hello_timeout_ms;
static bool kicking;

static void conn_set_state(struct qmgr_conn *c, enum conn_state state)
{
	c->pool->counts[c->state]--;
	c->pool->counts[state]++;
	c->state = state;
}

static size_t conns_pending(const struct qmgr_pool *p)
{
	return p->counts[CONN_CONNECTING] + p->counts[CONN_HELLO];
}

static bool pool_has_work(const struct qmgr_pool *p)
{
	return qmgr_dest_ready(p->transport);
}

void qmgr_deliver_init(void)
{
	for (int t = 0; t < QMGR_TRANSPORTS; t++) {
		struct qmgr_pool *p = &pools[t];
		p->transport = (enum qmgr_transport)t;
		p->socket = qmgr_request_socket(p->transport);
		p->size = qmgr.pool_size[t];
		p->conns = xcalloc(p->size, sizeof(*p->conns));
		for (size_t i = 0; i < p->size; i++) {
			p->conns[i].pool = p;
			p->conns[i].fd = -1;
			p->conns[i].rcpts = xcalloc(qmgr.rcpt_limit[t],
						    sizeof(size_t));
			buf_init(&p->conns[i].out,
				 QMGR_REQUEST_MAX(qmgr.rcpt_limit[t]));
		}
		p->counts[CONN_CLOSED] = p->size;
	}
	hello_timeout_ms = qmgr.ipc_timeout_ms < QMGR_HELLO_TIMEOUT_MS ?
				   qmgr.ipc_timeout_ms : QMGR_HELLO_TIMEOUT_MS;
}

static void conn_close(struct qmgr_conn *c)
{
	if (c->fd >= 0) {
		event_fd_clear(qmgr.loop, c->fd);
		close(c->fd);
	}
	c->fd = -1;
	conn_set_state(c, CONN_CLOSED);
	c->want_write = false;
	ipc_reader_free(&c->reader);
	buf_reset(&c->out);
	c->out_off = 0;
}

/* The connection broke: a request in flight is queued again once
 * (qmgr_message_lost), unless timed_out (the agent hangs on it). The
 * recipients are copied first: their results may free the message and
 * start new requests. */
static void conn_fail(struct qmgr_conn *c, const char *reason, bool timed_out)
{
	bool busy = c->state == CONN_BUSY && c->msg != NULL;
	struct qmgr_message *msg = c->msg;
	struct qmgr_dest *dest = c->dest;
	size_t count = c->count, rcpts[count > 0 ? count : 1];
	struct deliver_answer ans = {
		.status = DELIVER_TEMPFAIL, .dsn = "4.4.2", .reason = reason,
	};

	memcpy(rcpts, c->rcpts, count * sizeof(*rcpts));
	conn_close(c);
	c->msg = NULL;
	c->dest = c->last_dest = NULL;
	c->count = 0;
	if (!busy)
		return;
	qmgr_dest_done(dest, QMGR_FEEDBACK_NONE, NULL, NULL);
	for (size_t i = 0; i < count; i++) {
		if (timed_out)
			qmgr_message_result(msg, rcpts[i], &ans, false);
		else
			qmgr_message_lost(msg, dest, rcpts[i], reason);
	}
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

static void connect_failed(struct qmgr_pool *p, const char *why)
{
	p->connect_after_ms = time_mono_ms() + QMGR_CONNECT_BACKOFF_MS;
	if (!p->connect_warned)
		log_warn("connect to %s: %s (recipients wait)", p->socket,
			 why);
	p->connect_warned = true;
}

static void conn_connect(struct qmgr_conn *c)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", c->pool->socket);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		connect_failed(c->pool, strerror(errno));
		return;
	}
	int ret = connect(c->fd, (struct sockaddr *)&sun, sizeof(sun));
	if (ret < 0 && errno != EINPROGRESS) {
		connect_failed(c->pool, strerror(errno));
		conn_close(c);
		return;
	}
	c->reader = ipc_reader_new(QMGR_ANSWER_LINE_MAX,
			QMGR_ANSWER_ATTRS(qmgr.rcpt_limit[c->pool->transport]));
	conn_set_state(c, ret == 0 ? CONN_HELLO : CONN_CONNECTING);
	c->idle_since_ms = time_mono_ms();
	c->deadline_ms = c->idle_since_ms + hello_timeout_ms;
	if (conn_watch(c, ret < 0) < 0)
		conn_close(c);
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

/* Sends the next request for dest on idle c. */
static void conn_dispatch(struct qmgr_conn *c, struct qmgr_dest *dest)
{
	enum qmgr_transport t = c->pool->transport;
	struct qmgr_message *msg = qmgr_dest_take(dest, qmgr.rcpt_limit[t],
						  c->rcpts, &c->count);

	msg->outstanding += c->count;
	qmgr.outstanding += c->count;
	c->msg = msg;
	c->dest = c->last_dest = dest;
	conn_set_state(c, CONN_BUSY);
	c->deadline_ms = time_mono_ms() + qmgr.ipc_timeout_ms;
	qmgr_request_encode(t, msg, c->rcpts, c->count,
			    qmgr_dest_nexthop(dest), &c->out);
	conn_send(c);
}

/* The agent broke the protocol. A connection still waiting for its hello
 * holds no request: it is closed with the connect back-off, so that a
 * wrong program on the socket is not hammered. A busy one loses its
 * request as if it had timed out (not re-sent: the agent may have
 * delivered it). */
static void conn_protocol_error(struct qmgr_conn *c, const char *what,
				const char *detail)
{
	log_warn("%s from %s%s%s", what, c->pool->socket,
		 detail != NULL ? ": " : "", detail != NULL ? detail : "");
	if (c->state == CONN_HELLO) {
		conn_close(c);
		c->pool->connect_after_ms =
			time_mono_ms() + QMGR_CONNECT_BACKOFF_MS;
		return;
	}
	conn_fail(c, "bad answer from delivery agent", true);
}

/* What the answers say about the destination: it is dead (the agent
 * says so), it took nothing (every recipient deferred), or it works. */
static enum qmgr_feedback answer_feedback(const struct deliver_answer *ans,
					  size_t count, bool site_dead)
{
	if (site_dead)
		return QMGR_FEEDBACK_DEAD;
	for (size_t i = 0; i < count; i++)
		if (ans[i].status != DELIVER_TEMPFAIL)
			return QMGR_FEEDBACK_OK;
	return QMGR_FEEDBACK_DEFERRED;
}

static void conn_answer(struct qmgr_conn *c, struct ipc_msg *imsg)
{
	struct deliver_answer ans[c->count];
	struct qmgr_message *msg = c->msg;
	size_t count = c->count, rcpts[count];
	const char *error;
	bool site_dead;

	if (qmgr_request_answer(c->pool->transport, imsg, count, ans,
				&site_dead, &error) < 0) {
		conn_protocol_error(c, "bad answer", error);
		return;
	}
	memcpy(rcpts, c->rcpts, count * sizeof(*rcpts));
	c->msg = NULL;
	c->count = 0;
	conn_set_state(c, CONN_IDLE);
	c->idle_since_ms = time_mono_ms();
	/* The destination first: when it is dead, what waits for it is
	 * deferred with the same reason. */
	qmgr_dest_done(c->dest, answer_feedback(ans, count, site_dead),
		       ans[0].dsn, ans[0].reason);
	c->dest = NULL;
	for (size_t i = 0; i < count; i++)
		qmgr_message_result(msg, rcpts[i], &ans[i], true);
}

/* A process of the agent took the connection: from now on it is ready
 * for requests. */
static void conn_hello(struct qmgr_conn *c, struct ipc_msg *imsg)
{
	const char *error;

	if (qmgr_request_hello(c->pool->transport, imsg, &error) < 0) {
		conn_protocol_error(c, "bad hello", error);
		return;
	}
	conn_set_state(c, CONN_IDLE);
	c->idle_since_ms = time_mono_ms();
	c->pool->connect_warned = false;
	c->pool->hello_warned = false;
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
		/* An idle connection closed by the agent is normal; one
		 * closed before its hello is not (the agent dies as it
		 * starts?): back off before the next. */
		if (c->state == CONN_HELLO) {
			conn_close(c);
			connect_failed(c->pool,
				       "connection closed before the hello");
			return;
		}
		conn_fail(c, "delivery agent connection lost", false);
		return;
	}
	if (c->state != CONN_BUSY && c->state != CONN_HELLO) {
		conn_protocol_error(c, "unexpected data", NULL);
		return;
	}
	int ret = ipc_reader_feed(c->reader, chunk, (size_t)n, &used, &imsg,
				  &error);
	if (ret < 0 || (ret == 1 && used != (size_t)n)) {
		if (ret == 1)
			ipc_msg_clear(&imsg);
		conn_protocol_error(c, c->state == CONN_HELLO ? "bad hello" :
				    "bad answer",
				    ret < 0 ? error : "data after the message");
		return;
	}
	if (ret == 1) {
		if (c->state == CONN_HELLO)
			conn_hello(c, &imsg);
		else
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
			connect_failed(c->pool,
				       strerror(err != 0 ? err : errno));
			conn_close(c);
			return;
		}
		/* Connected, maybe only into the backlog: the hello
		 * says when a process has it. */
		conn_set_state(c, CONN_HELLO);
		if (conn_watch(c, false) < 0)
			conn_close(c);
		return;
	}
	if ((events & EVENT_WRITE) && c->state == CONN_BUSY)
		conn_send(c);
	if ((events & EVENT_READ) && c->fd == fd)
		conn_read(c);
}

/* Work waits and no ready connection is free: opens more, up to the
 * concurrency limit, QMGR_PENDING_MAX at a time. */
static void conns_open(struct qmgr_pool *p)
{
	if (p->counts[CONN_CLOSED] == 0 ||
	    conns_pending(p) >= QMGR_PENDING_MAX ||
	    time_mono_ms() < p->connect_after_ms)
		return;
	for (size_t i = 0; i < p->size &&
			   conns_pending(p) < QMGR_PENDING_MAX &&
			   time_mono_ms() >= p->connect_after_ms;
	     i++)
		if (p->conns[i].state == CONN_CLOSED)
			conn_connect(&p->conns[i]);
}

/* The idle connection to send a request for dest on: the one that
 * served dest last (its agent process may still hold an SMTP connection
 * to it), else one whose last destination has nothing to send now, else
 * any; lowest index first, so that under a light load the same few
 * connections are reused and the others go idle and are closed. */
static struct qmgr_conn *pool_pick(struct qmgr_pool *p, struct qmgr_dest *dest)
{
	struct qmgr_conn *free_one = NULL, *any = NULL;

	for (size_t i = 0; i < p->size; i++) {
		struct qmgr_conn *c = &p->conns[i];
		if (c->state != CONN_IDLE)
			continue;
		if (c->last_dest == dest)
			return c;
		if (free_one == NULL && (c->last_dest == NULL ||
					 !qmgr_dest_can_take(c->last_dest)))
			free_one = c;
		if (any == NULL)
			any = c;
	}
	return free_one != NULL ? free_one : any;
}

static void pool_kick(struct qmgr_pool *p)
{
	qmgr_dest_defer_dead(p->transport);
	/* Each turn sends a request on an idle connection, or stops. */
	while (p->counts[CONN_IDLE] > 0) {
		struct qmgr_dest *dest = qmgr_dest_next(p->transport);
		if (dest == NULL)
			break;
		conn_dispatch(pool_pick(p, dest), dest);
	}
	if (pool_has_work(p))
		conns_open(p);
}

void qmgr_deliver_kick(void)
{
	/* A kick from inside a kick (a result handled while dispatching)
	 * is folded into the running one. */
	if (kicking || qmgr.stopping)
		return;
	kicking = true;
	for (int t = 0; t < QMGR_TRANSPORTS; t++)
		pool_kick(&pools[t]);
	kicking = false;
}

/* No hello in time: nothing was assigned to c, so closing it loses
 * nothing. Worth a warning only when no process of the agent serves us
 * at all; otherwise c merely waited behind busy ones. */
static void conn_hello_timeout(struct qmgr_conn *c)
{
	struct qmgr_pool *p = c->pool;

	conn_close(c);
	if (p->counts[CONN_IDLE] + p->counts[CONN_BUSY] == 0 &&
	    !p->hello_warned) {
		log_warn("%s: no delivery agent process took the connection "
			 "within %llu s (recipients wait)", p->socket,
			 (unsigned long long)hello_timeout_ms / 1000);
		p->hello_warned = true;
	}
}

static void conn_tick(struct qmgr_conn *c, uint64_t now)
{
	switch (c->state) {
	case CONN_BUSY:
		if (now < c->deadline_ms)
			break;
		log_warn("%s: timeout after %llu s", c->pool->socket,
			 (unsigned long long)qmgr.ipc_timeout_ms / 1000);
		conn_fail(c, "delivery agent timed out", true);
		break;
	case CONN_CONNECTING:
	case CONN_HELLO:
		if (now >= c->deadline_ms)
			conn_hello_timeout(c);
		else if (!pool_has_work(c->pool) &&
			 now - c->idle_since_ms >= QMGR_IDLE_CLOSE_MS)
			conn_close(c);	/* the work it was for is done */
		break;
	case CONN_IDLE:
		if (now - c->idle_since_ms >= QMGR_IDLE_CLOSE_MS)
			conn_close(c);
		break;
	default:
		break;
	}
}

void qmgr_deliver_tick(void)
{
	uint64_t now = time_mono_ms();

	for (int t = 0; t < QMGR_TRANSPORTS; t++)
		for (size_t i = 0; i < pools[t].size; i++)
			conn_tick(&pools[t].conns[i], now);
	qmgr_dest_tick();
	qmgr_deliver_kick();
}

void qmgr_deliver_shutdown(void)
{
	for (int t = 0; t < QMGR_TRANSPORTS; t++) {
		struct qmgr_pool *p = &pools[t];
		for (size_t i = 0; i < p->size; i++) {
			conn_close(&p->conns[i]);
			buf_deinit(&p->conns[i].out);
			free(p->conns[i].rcpts);
		}
		xfree(&p->conns);
		p->size = 0;
	}
}

void qmgr_deliver_dest_gone(const struct qmgr_dest *dest)
{
	for (int t = 0; t < QMGR_TRANSPORTS; t++)
		for (size_t i = 0; i < pools[t].size; i++)
			if (pools[t].conns[i].last_dest == dest)
				pools[t].conns[i].last_dest = NULL;
}
