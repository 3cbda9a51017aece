/* anvil_client: a blocking, bounded request/reply exchange with anvil
 * over one kept connection; see anvil_client.h. */
#include "config.h"
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include "anvil_client.h"
#include "buf.h"
#include "fsutil.h"
#include "mem.h"
#include "str.h"
#include "timeutil.h"

struct anvil_client {
	int fd;
	int timeout_ms;
	char in[ANVIL_LINE_MAX];
	size_t in_len;
};

/* Waits for fd to be ready for events until deadline: 0 or -1. */
static int wait_ready(int fd, short events, uint64_t deadline,
		      const char **error_r)
{
	if (fs_wait_fd(fd, events, deadline) <= 0) {
		*error_r = "timeout talking to anvil";
		return -1;
	}
	return 0;
}

/* connect() on a blocking AF_UNIX socket waits while anvil's listen
 * backlog is full (a non-blocking one would fail at once, with no
 * connection in progress to wait for); SO_SNDTIMEO bounds that wait. The
 * socket turns non-blocking once connected. */
struct anvil_client *anvil_client_open(const char *path, int timeout_ms,
				       const char **error_r)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = timeout_ms / 1000,
			      .tv_usec = (timeout_ms % 1000) * 1000 };
	int fd;

	if (str_copy(sun.sun_path, sizeof(sun.sun_path), path) < 0) {
		*error_r = "anvil socket path too long";
		return NULL;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = "cannot create a socket";
		return NULL;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    fs_set_nonblock(fd) < 0) {
		*error_r = errno == EAGAIN || errno == EINPROGRESS ?
			"timeout connecting to anvil" :
			"cannot connect to anvil";
		close(fd);
		return NULL;
	}
	struct anvil_client *c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->timeout_ms = timeout_ms;
	return c;
}

void anvil_client_free(struct anvil_client **cp)
{
	if (*cp == NULL)
		return;
	close((*cp)->fd);
	free(*cp);
	*cp = NULL;
}

static int send_all(struct anvil_client *c, const struct buf *b,
		    uint64_t deadline, const char **error_r)
{
	size_t done = 0;

	while (done < b->len) {
		ssize_t n = send(c->fd, b->data + done, b->len - done,
				 MSG_NOSIGNAL);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (wait_ready(c->fd, POLLOUT, deadline, error_r) < 0)
				return -1;
			continue;
		}
		*error_r = "anvil closed the connection";
		return -1;
	}
	return 0;
}

/* Reads up to one LF into c->in; the line's length (without LF). */
static ssize_t read_line(struct anvil_client *c, uint64_t deadline,
			 const char **error_r)
{
	char *lf;

	while ((lf = memchr(c->in, '\n', c->in_len)) == NULL) {
		if (c->in_len == sizeof(c->in)) {
			*error_r = "anvil reply too long";
			return -1;
		}
		ssize_t n = read(c->fd, c->in + c->in_len,
				 sizeof(c->in) - c->in_len);
		if (n > 0) {
			c->in_len += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (wait_ready(c->fd, POLLIN, deadline, error_r) < 0)
				return -1;
			continue;
		}
		*error_r = "anvil closed the connection";
		return -1;
	}
	return lf - c->in;
}

int anvil_client_event(struct anvil_client *c, enum anvil_event event,
		       const char *service, const char *ident,
		       struct anvil_reply *reply, const char **error_r)
{
	uint64_t deadline = time_mono_ms() + (uint64_t)c->timeout_ms;
	struct buf req;
	int ret = -1;

	memset(reply, 0, sizeof(*reply));
	buf_init(&req, ANVIL_LINE_MAX);
	if (anvil_proto_request_encode(&req, event, service, ident,
				       error_r) == 0 &&
	    send_all(c, &req, deadline, error_r) == 0) {
		ssize_t len = read_line(c, deadline, error_r);
		if (len >= 0) {
			ret = anvil_proto_reply_parse(c->in, (size_t)len,
						      reply, error_r);
			c->in_len -= (size_t)len + 1;
			memmove(c->in, c->in + len + 1, c->in_len);
		}
	}
	buf_deinit(&req);
	return ret;
}
