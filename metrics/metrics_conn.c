/* metrics_conn: the scrapers' connections. Each one sends a request head
 * (lib/http_request.c), gets one answer and is closed: no keep-alive, so a
 * connection's life is bounded by METRICSD_CONN_TIMEOUT_MS and its memory
 * by HTTP_HEAD_MAX plus one answer. After the answer the connection is
 * half-closed and what the client still sends is read and dropped for
 * METRICSD_LINGER_MS: closing with unread input would reset the
 * connection and could destroy the answer in flight. */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "buf.h"
#include "fsutil.h"
#include "http_request.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "metricsd.h"
#include "timeutil.h"

enum conn_state { CONN_READ, CONN_WRITE, CONN_LINGER };

struct conn {
	int fd;
	enum conn_state state;
	char in[HTTP_HEAD_MAX];
	size_t in_len;
	struct buf out;
	size_t out_done;
	uint64_t timer;
	struct conn *prev, *next;
};

static struct event_loop *loop;
static int listen_fd = -1;
static struct conn *conns;
static size_t conn_total;
static bool accept_paused;

static void conn_event(int fd, unsigned events, void *ctx);
static void on_accept(int fd, unsigned events, void *ctx);

/* Listens again after a pause (a client left, or a second passed). */
static void accept_resume(void *ctx)
{
	(void)ctx;
	if (accept_paused && listen_fd >= 0 &&
	    event_fd_set(loop, listen_fd, EVENT_READ, on_accept, NULL) == 0)
		accept_paused = false;
}

static void conn_close(struct conn *c)
{
	event_fd_clear(loop, c->fd);
	if (c->timer != 0)
		event_timer_cancel(loop, c->timer);
	close(c->fd);
	buf_deinit(&c->out);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	free(c);
	conn_total--;
	accept_resume(NULL);
}

static void conn_timeout(void *ctx)
{
	struct conn *c = ctx;

	c->timer = 0;
	conn_close(c);
}

static const char *status_text(int status)
{
	static const struct { int code; const char *text; } texts[] = {
		{ 200, "OK" }, { 400, "Bad Request" }, { 404, "Not Found" },
		{ 405, "Method Not Allowed" }, { 414, "URI Too Long" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" },
		{ 505, "HTTP Version Not Supported" },
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (texts[i].code == status)
			return texts[i].text;
	return "Error";
}

/* The whole answer into c->out: status line, headers, body (none for
 * HEAD). The body is built first so Content-Length is exact. */
static void conn_answer(struct conn *c, int status, const char *type,
			const struct buf *body, bool head_only)
{
	int ret = buf_printf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
			     "Content-Length: %zu\r\n%sConnection: close\r\n"
			     "\r\n", status, status_text(status), type,
			     body->len, status == 405 ?
			     "Allow: GET, HEAD\r\n" : "");
	if (ret == 0 && !head_only)
		ret = buf_append(&c->out, body->data, body->len);
	if (ret < 0)
		buf_reset(&c->out);	/* cannot happen: out has room */
	c->state = CONN_WRITE;
}

static void conn_error(struct conn *c, int status)
{
	struct buf body;

	buf_init(&body, 256);
	if (buf_printf(&body, "%d %s\n", status, status_text(status)) < 0)
		buf_reset(&body);
	conn_answer(c, status, "text/plain; charset=utf-8", &body, false);
	buf_deinit(&body);
}

static void conn_request(struct conn *c, const struct http_request *req)
{
	bool get = strcmp(req->method, "GET") == 0;
	struct buf body;

	if (!get && !req->head_only) {
		conn_error(c, 405);
		return;
	}
	if (strcmp(req->path, "/metrics") != 0) {
		conn_error(c, 404);
		return;
	}
	buf_init(&body, METRICSD_BODY_MAX);
	const struct metrics_region *r = metrics_region();
	if (r == NULL || metrics_text_format(r, metricsd_queue_get(),
					     (uint64_t)time(NULL),
					     req->openmetrics, &body) < 0) {
		log_warn(r == NULL ? "no metrics region: was this process "
			 "started by master?" : "the exposition is larger "
			 "than %u octets", METRICSD_BODY_MAX);
		buf_deinit(&body);
		conn_error(c, 500);
		return;
	}
	conn_answer(c, 200, req->openmetrics ?
		    METRICS_TEXT_CONTENT_TYPE_OPENMETRICS :
		    METRICS_TEXT_CONTENT_TYPE_PROM, &body, req->head_only);
	buf_deinit(&body);
}

/* Reads; once the head is whole (or cannot be), the answer is ready. */
static int conn_read(struct conn *c)
{
	ssize_t n = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;	/* gone before a whole request */
	c->in_len += (size_t)n;
	struct http_request req;
	int status;
	int ret = http_request_parse(c->in, c->in_len, &req, &status);
	if (ret < 0)
		conn_error(c, status);
	else if (ret > 0)
		conn_request(c, &req);
	return 0;
}

static int conn_write(struct conn *c)
{
	while (c->out_done < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + c->out_done,
				 c->out.len - c->out_done, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->out_done += (size_t)n;
	}
	shutdown(c->fd, SHUT_WR);
	c->state = CONN_LINGER;
	event_timer_cancel(loop, c->timer);
	c->timer = event_timer_add(loop, METRICSD_LINGER_MS, conn_timeout, c);
	return 0;
}

static int conn_linger(struct conn *c)
{
	char drop[4096];
	ssize_t n = read(c->fd, drop, sizeof(drop));

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	return n == 0 ? -1 : 0;
}

static void conn_event(int fd, unsigned events, void *ctx)
{
	struct conn *c = ctx;
	int ret = 0;

	if (c->state == CONN_READ)
		ret = conn_read(c);
	else if (c->state == CONN_LINGER)
		ret = conn_linger(c);
	if (ret == 0 && c->state == CONN_WRITE)
		ret = conn_write(c);
	if (ret < 0) {
		conn_close(c);
		return;
	}
	if (event_fd_set(loop, c->fd, c->state == CONN_WRITE ? EVENT_WRITE :
			 EVENT_READ, conn_event, c) < 0)
		conn_close(c);
}

static void conn_new(int fd)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	c->fd = fd;
	c->state = CONN_READ;
	buf_init(&c->out, METRICSD_BODY_MAX + 1024);
	c->next = conns;
	if (conns != NULL)
		conns->prev = c;
	conns = c;
	conn_total++;
	c->timer = event_timer_add(loop, METRICSD_CONN_TIMEOUT_MS,
				   conn_timeout, c);
	if (event_fd_set(loop, fd, EVENT_READ, conn_event, c) < 0)
		conn_close(c);
}

static void on_accept(int fd, unsigned events, void *ctx)
{
	/* A few per wake-up: the clients already there get their turn. */
	for (int i = 0; i < 16; i++) {
		if (conn_total >= METRICSD_CONN_MAX) {
			event_fd_clear(loop, fd);
			accept_paused = true;
			return;
		}
		int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (cfd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				/* Out of descriptors: wait for a close (or
				 * a second, when none is open) instead of
				 * spinning on the listener. */
				event_fd_clear(loop, fd);
				accept_paused = true;
				if (conn_total == 0)
					event_timer_add(loop, 1000,
							accept_resume, NULL);
			} else if (errno != EAGAIN && errno != EINTR &&
				   errno != ECONNABORTED) {
				log_warn("accept: %s", strerror(errno));
			}
			return;
		}
		conn_new(cfd);
	}
}

void metricsd_conn_start(struct event_loop *l, int fd)
{
	loop = l;
	listen_fd = fd;
	if (event_fd_set(loop, fd, EVENT_READ, on_accept, NULL) < 0)
		fatal("cannot watch the listening socket: %s",
		      strerror(errno));
}

void metricsd_conn_close_all(void)
{
	if (listen_fd >= 0)
		event_fd_clear(loop, listen_fd);
	listen_fd = -1;
	while (conns != NULL)
		conn_close(conns);
}
