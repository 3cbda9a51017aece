/* anvil_conn: anvil's client connections. A client sends one request
 * line and waits for its reply (lib/anvil_client.c), so each connection
 * has one line of input and one reply of output at most; a client that
 * pipelines more than that waits (anvil stops reading it until its
 * replies are written). Each connection remembers the connections it
 * reported (CONNECT without DISCONNECT) and gives them back when it
 * closes: an smtpd that crashes or is killed leaks no count. A request
 * that breaks the protocol gets an "error" reply and the connection
 * closes. */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "anvil.h"
#include "log.h"
#include "mem.h"
#include "str.h"
#include "timeutil.h"

#define CONN_OUT_MAX 4096
#define CONN_ACCEPT_BATCH 64

struct conn {
	int fd;
	char in[ANVIL_LINE_MAX];
	size_t in_len;
	struct buf out;
	size_t out_done;
	bool closing;		/* close once out is written */
	struct anvil_request held[ANVIL_CONN_KEYS_MAX];
	size_t nheld;
	struct conn *prev, *next;
};

static struct event_loop *loop;
static struct anvil_table *table;
static struct conn *conns;
static size_t conn_total;
static int listen_fd = -1;
static bool accept_paused;

static void conn_event(int fd, unsigned events, void *ctx);

/* Gives back the connections c reported and has not ended. */
static void conn_release(struct conn *c)
{
	uint64_t now = time_mono_ms();

	for (size_t i = 0; i < c->nheld; i++) {
		struct anvil_reply reply;
		const char *error;

		c->held[i].event = ANVIL_DISCONNECT;
		/* a disconnect never fails: it creates no key */
		if (anvil_table_event(table, &c->held[i], now, &reply,
				      &error) < 0)
			log_warn("disconnect: %s", error);
	}
	c->nheld = 0;
}

static void conn_close(struct conn *c)
{
	conn_release(c);
	event_fd_clear(loop, c->fd);
	close(c->fd);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	conn_total--;
	buf_deinit(&c->out);
	free(c);
}

/* CONNECT is held by c, DISCONNECT lets go of one: -1 when c would hold
 * more than ANVIL_CONN_KEYS_MAX. */
static int conn_track(struct conn *c, const struct anvil_request *req)
{
	if (req->event == ANVIL_CONNECT) {
		if (c->nheld == ANVIL_CONN_KEYS_MAX)
			return -1;
		c->held[c->nheld++] = *req;
		return 0;
	}
	for (size_t i = 0; i < c->nheld; i++) {
		struct anvil_request *h = &c->held[i];
		if (strcmp(h->service, req->service) == 0 &&
		    h->ident_len == req->ident_len &&
		    memcmp(h->ident, req->ident, req->ident_len) == 0) {
			c->held[i] = c->held[--c->nheld];
			return 0;
		}
	}
	return -1;
}

static void conn_reply_error(struct conn *c, const char *text)
{
	struct anvil_reply reply = { .ok = false };

	if (str_copy(reply.error, sizeof(reply.error), text) < 0)
		memcpy(reply.error, "failed", 7);
	if (anvil_proto_reply_encode(&c->out, &reply) < 0)
		c->closing = true;
}

/* One request line (LF removed). */
static void conn_request(struct conn *c, const char *line, size_t len)
{
	struct anvil_request req;
	struct anvil_reply reply;
	const char *error;

	if (anvil_proto_request_parse(line, len, &req, &error) < 0) {
		char text[64];
		log_warn("bad request from a client: %s: %s", error,
			 log_escape(text, sizeof(text), line,
				    len < 40 ? len : 40));
		conn_reply_error(c, error);
		c->closing = true;
		return;
	}
	if ((req.event == ANVIL_CONNECT || req.event == ANVIL_DISCONNECT) &&
	    conn_track(c, &req) < 0) {
		conn_reply_error(c, req.event == ANVIL_CONNECT ?
				 "too many connections on one client" :
				 "disconnect without connect");
		return;
	}
	if (anvil_table_event(table, &req, time_mono_ms(), &reply,
			      &error) < 0) {
		log_warn("cannot count %s for %s: %s",
			 anvil_proto_event_name(req.event), req.service, error);
		if (req.event == ANVIL_CONNECT)
			c->nheld--;
		conn_reply_error(c, error);
		return;
	}
	if (anvil_proto_reply_encode(&c->out, &reply) < 0)
		c->closing = true;
}

/* Handles the complete lines in c->in while there is room for replies. */
static void conn_process(struct conn *c)
{
	char *lf;

	while (!c->closing && c->out.len < CONN_OUT_MAX / 2 &&
	       (lf = memchr(c->in, '\n', c->in_len)) != NULL) {
		size_t len = (size_t)(lf - c->in);
		conn_request(c, c->in, len);
		c->in_len -= len + 1;
		memmove(c->in, lf + 1, c->in_len);
	}
	if (!c->closing && c->in_len == sizeof(c->in) &&
	    memchr(c->in, '\n', c->in_len) == NULL) {
		conn_reply_error(c, "request line too long");
		c->closing = true;
	}
}

/* Writes what it can; 0, or -1 when c is gone. */
static int conn_write(struct conn *c)
{
	while (c->out_done < c->out.len) {
		ssize_t n = write(c->fd, c->out.data + c->out_done,
				  c->out.len - c->out_done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			conn_close(c);
			return -1;
		}
		c->out_done += (size_t)n;
	}
	buf_reset(&c->out);
	c->out_done = 0;
	if (c->closing) {
		conn_close(c);
		return -1;
	}
	return 0;
}

static int conn_read(struct conn *c)
{
	ssize_t n = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		conn_close(c);
		return -1;
	}
	c->in_len += (size_t)n;
	return 0;
}

static void conn_event(int fd, unsigned events, void *ctx)
{
	struct conn *c = ctx;
	bool want_read;

	if ((events & EVENT_WRITE) != 0 && conn_write(c) < 0)
		return;
	if ((events & EVENT_READ) != 0 && c->out.len == 0 &&
	    c->in_len < sizeof(c->in) && conn_read(c) < 0)
		return;
	/* Lines already read are answered before reading more; each turn
	 * consumes at least one, so this ends. */
	do {
		conn_process(c);
		if (conn_write(c) < 0)
			return;
	} while (c->out.len == 0 && !c->closing &&
		 memchr(c->in, '\n', c->in_len) != NULL);
	want_read = c->out.len == 0;
	if (event_fd_set(loop, fd, want_read ? EVENT_READ : EVENT_WRITE,
			 conn_event, c) < 0)
		conn_close(c);
}

static void conn_add(int fd)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	c->fd = fd;
	buf_init(&c->out, CONN_OUT_MAX);
	if (event_fd_set(loop, fd, EVENT_READ, conn_event, c) < 0) {
		log_warn("cannot watch a client: %s", strerror(errno));
		buf_deinit(&c->out);
		close(fd);
		free(c);
		return;
	}
	c->next = conns;
	if (conns != NULL)
		conns->prev = c;
	conns = c;
	conn_total++;
}

static void on_accept(int fd, unsigned events, void *ctx)
{
	for (int i = 0; i < CONN_ACCEPT_BATCH && conn_total < ANVIL_CONN_MAX;
	     i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd >= 0) {
			conn_add(cfd);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE) {
			/* Leave the client in the backlog; the tick
			 * accepts again. */
			log_warn("accept: %s", strerror(errno));
			event_fd_clear(loop, fd);
			accept_paused = true;
		}
		return;
	}
	if (conn_total >= ANVIL_CONN_MAX) {
		/* smtpd carries on without limits until a slot is free */
		log_warn("%d clients at once: not accepting more",
			 ANVIL_CONN_MAX);
		event_fd_clear(loop, fd);
		accept_paused = true;
	}
}

void anvil_conn_start(struct event_loop *l, int fd, struct anvil_table *t)
{
	loop = l;
	table = t;
	listen_fd = fd;
	if (event_fd_set(loop, fd, EVENT_READ, on_accept, NULL) < 0)
		fatal("cannot watch the listening socket: %s",
		      strerror(errno));
}

void anvil_conn_stop_accepting(void)
{
	if (listen_fd >= 0)
		event_fd_clear(loop, listen_fd);
	listen_fd = -1;
}

void anvil_conn_tick(void)
{
	if (accept_paused && listen_fd >= 0 && conn_total < ANVIL_CONN_MAX &&
	    event_fd_set(loop, listen_fd, EVENT_READ, on_accept, NULL) == 0)
		accept_paused = false;
}

void anvil_conn_close_all(void)
{
	while (conns != NULL)
		conn_close(conns);
}
