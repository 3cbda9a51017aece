/* authd_conn: the client connections on private/auth. Each carries one
 * request at a time: bytes are fed to a bounded ipc_reader, a complete
 * message is handled, and the reply is written, after a timer when it is
 * a failure (the throttle's delay: the loop serves others meanwhile).
 * Bytes a client sent beyond its request wait for the reply, and are
 * taken up on a later turn of the loop, so one client with many queued
 * requests cannot hold the loop. A client that breaks the protocol is
 * dropped. Received bytes are wiped once used: they hold passwords. */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "authd.h"
#include "log.h"
#include "mem.h"
#include "timeutil.h"

/* "password=" and a password a little over AUTH_PASSWORD_MAX, so that a
 * long one gets a proper "fail" rather than a dropped connection. */
#define CONN_LINE_MAX 2048
#define CONN_ATTRS_MAX 8
#define CONN_IN_MAX 4096
#define CONN_OUT_MAX 8192
/* A client that neither finishes a request nor sends another for this
 * long is closed; the daemons reconnect per request anyway. */
#define CONN_IDLE_MS 300000
#define CONN_ACCEPT_BATCH 64
#define CONN_FULL_WARN_MS 60000

struct conn {
	int fd;
	struct ipc_reader *reader;
	char in[CONN_IN_MAX];
	size_t in_start, in_end;	/* unfed bytes: in[in_start..in_end) */
	struct buf out;
	size_t out_done;
	bool busy;		/* a request in flight: reply held or writing */
	uint64_t timer;		/* the held reply, or the next turn */
	uint64_t last_ms;
	struct conn *prev, *next;
};

static struct conn *conns;
static size_t conn_total, conn_busy_total, conn_max = AUTHD_CONN_MAX;
static int listen_fd = -1;
static bool accept_paused;
static uint64_t full_warned_ms;

size_t authd_conn_busy(void) { return conn_busy_total; }

static void conn_event(int fd, unsigned events, void *ctx);
static void conn_process(struct conn *c);

static void conn_set_busy(struct conn *c, bool busy)
{
	if (c->busy != busy)
		conn_busy_total += busy ? 1 : (size_t)-1;
	c->busy = busy;
}

static void conn_close(struct conn *c)
{
	if (c->timer != 0)
		event_timer_cancel(authd.loop, c->timer);
	event_fd_clear(authd.loop, c->fd);
	close(c->fd);
	conn_set_busy(c, false);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	conn_total--;
	ipc_reader_free(&c->reader);
	buf_deinit(&c->out);
	explicit_bzero(c->in, sizeof(c->in));
	free(c);
}

static void conn_drop(struct conn *c, const char *why)
{
	log_warn("dropping a client of private/auth: %s", why);
	conn_close(c);
}

static void conn_watch(struct conn *c, unsigned events)
{
	if (event_fd_set(authd.loop, c->fd, events, conn_event, c) < 0)
		conn_drop(c, "cannot watch its socket");
}

static void on_next_turn(void *ctx)
{
	struct conn *c = ctx;

	c->timer = 0;
	conn_process(c);
}

/* Writes what is left of the reply; when done, takes up the next
 * request (on a later turn) or waits for one. */
static void conn_flush(struct conn *c)
{
	while (c->out_done < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + c->out_done,
				 c->out.len - c->out_done,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->out_done += (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			conn_watch(c, EVENT_WRITE);
			return;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			conn_close(c);	/* the client went away: its loss */
			return;
		}
	}
	buf_reset(&c->out);
	c->out_done = 0;
	conn_set_busy(c, false);
	c->last_ms = time_mono_ms();
	if (c->in_end > c->in_start) {
		event_fd_clear(authd.loop, c->fd);
		c->timer = event_timer_add(authd.loop, 0, on_next_turn, c);
	} else {
		conn_watch(c, EVENT_READ);
	}
}

static void on_reply_due(void *ctx)
{
	struct conn *c = ctx;

	c->timer = 0;
	conn_flush(c);
}

/* Passwords do not stay behind in freed memory. */
static void msg_wipe_clear(struct ipc_msg *msg)
{
	for (size_t i = 0; i < msg->count; i++)
		explicit_bzero((char *)msg->attrs[i].value,
			       strlen(msg->attrs[i].value));
	ipc_msg_clear(msg);
}

static void conn_request(struct conn *c, struct ipc_msg *msg)
{
	uint64_t delay_ms;
	const char *error;
	int ret = authd_request_handle(msg, &c->out, &delay_ms, &error);

	msg_wipe_clear(msg);
	if (ret < 0) {
		conn_drop(c, error);
		return;
	}
	conn_set_busy(c, true);
	if (delay_ms == 0) {
		conn_flush(c);
		return;
	}
	event_fd_clear(authd.loop, c->fd);
	c->timer = event_timer_add(authd.loop, delay_ms, on_reply_due, c);
}

/* Feeds the unfed bytes to the reader until one request is complete
 * (handled) or all are used. */
static void conn_process(struct conn *c)
{
	struct ipc_msg msg = { 0 };
	size_t used = 0;
	const char *error;
	size_t len = c->in_end - c->in_start;
	int ret = ipc_reader_feed(c->reader, c->in + c->in_start, len, &used,
				  &msg, &error);

	if (ret < 0) {
		conn_drop(c, error);
		return;
	}
	explicit_bzero(c->in + c->in_start, used);
	c->in_start += used;
	if (c->in_start == c->in_end)
		c->in_start = c->in_end = 0;
	if (ret == 1)
		conn_request(c, &msg);
	else
		conn_watch(c, EVENT_READ);
}

static void conn_read(struct conn *c)
{
	ssize_t n;

	if (c->in_start > 0) {
		size_t len = c->in_end - c->in_start;
		memmove(c->in, c->in + c->in_start, len);
		explicit_bzero(c->in + len, c->in_end - len);
		c->in_start = 0;
		c->in_end = len;
	}
	if (c->in_end == sizeof(c->in)) {
		conn_drop(c, "too much input");
		return;
	}
	n = recv(c->fd, c->in + c->in_end, sizeof(c->in) - c->in_end,
		 MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		      errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);	/* a partial request at EOF is dropped */
		return;
	}
	c->in_end += (size_t)n;
	c->last_ms = time_mono_ms();
	conn_process(c);
}

static void conn_event(int fd, unsigned events, void *ctx)
{
	struct conn *c = ctx;

	if (c->busy)
		conn_flush(c);
	else
		conn_read(c);
}

static void conn_new(int fd)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	c->fd = fd;
	c->reader = ipc_reader_new(CONN_LINE_MAX, CONN_ATTRS_MAX);
	buf_init(&c->out, CONN_OUT_MAX);
	c->last_ms = time_mono_ms();
	c->next = conns;
	if (conns != NULL)
		conns->prev = c;
	conns = c;
	conn_total++;
	conn_watch(c, EVENT_READ);
}

static void on_accept(int fd, unsigned events, void *ctx);

/* Out of descriptors (EMFILE, ENFILE): the pending client stays in the
 * backlog and the socket stays readable, so watching it would spin.
 * Accepting resumes at the next tick. */
static void accept_pause(int err)
{
	uint64_t now = time_mono_ms();

	if (now - full_warned_ms >= CONN_FULL_WARN_MS) {
		log_warn("accept: %s: pausing for a second", strerror(err));
		full_warned_ms = now;
	}
	event_fd_clear(authd.loop, listen_fd);
	accept_paused = true;
}

static void on_accept(int fd, unsigned events, void *ctx)
{
	for (int i = 0; i < CONN_ACCEPT_BATCH; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				accept_pause(errno);
			else if (errno != EAGAIN && errno != EWOULDBLOCK &&
				 errno != EINTR && errno != ECONNABORTED)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		if (conn_total >= conn_max) {
			uint64_t now = time_mono_ms();
			if (now - full_warned_ms >= CONN_FULL_WARN_MS) {
				log_warn("%zu clients connected: refusing more",
					 conn_max);
				full_warned_ms = now;
			}
			close(cfd);
			continue;
		}
		conn_new(cfd);
	}
}

void authd_conn_start(int fd, size_t max_conns)
{
	listen_fd = fd;
	conn_max = max_conns < AUTHD_CONN_MAX ? max_conns : AUTHD_CONN_MAX;
	full_warned_ms = time_mono_ms() - CONN_FULL_WARN_MS;
	if (event_fd_set(authd.loop, fd, EVENT_READ, on_accept, NULL) < 0)
		fatal("cannot watch the listening socket: %s", strerror(errno));
}

void authd_conn_stop_accepting(void)
{
	if (listen_fd >= 0)
		event_fd_clear(authd.loop, listen_fd);
	listen_fd = -1;
	accept_paused = false;
}

void authd_conn_tick(uint64_t now_ms)
{
	struct conn *c = conns, *next;

	if (accept_paused && listen_fd >= 0) {
		accept_paused = false;
		if (event_fd_set(authd.loop, listen_fd, EVENT_READ, on_accept,
				 NULL) < 0)
			fatal("cannot watch the listening socket: %s",
			      strerror(errno));
	}

	for (; c != NULL; c = next) {
		next = c->next;
		if (!c->busy && c->timer == 0 &&
		    (authd.stopping || now_ms - c->last_ms >= CONN_IDLE_MS))
			conn_close(c);
	}
}

void authd_conn_close_all(void)
{
	while (conns != NULL)
		conn_close(conns);
}
