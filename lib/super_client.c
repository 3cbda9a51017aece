/* super_client: one connection to qmgr's private/qmgr-super and its lock
 * step requests (super_client.h). */
#include "config.h"
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "fsutil.h"
#include "mem.h"
#include "super_client.h"
#include "timeutil.h"

struct super_client {
	int fd;
	char in[SUPER_LINE_MAX];	/* a reply being read */
};

int super_client_open(const char *queue_dir, struct super_client **client_r,
		      const char **error_r)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s",
			 queue_dir, SUPER_SOCKET);

	*client_r = NULL;
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path)) {
		*error_r = "queue_directory too long for a socket path";
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int saved = errno;
		if (fd >= 0)
			close(fd);
		errno = saved;
		*error_r = "cannot reach qmgr";
		return -1;
	}
	struct super_client *c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	*client_r = c;
	return 0;
}

bool super_client_qmgr_absent(int error)
{
	return error == ENOENT || error == ECONNREFUSED;
}

/* Reads one reply line (lock step: nothing follows it). */
static int reply_read(struct super_client *c, struct super_reply *r,
		      unsigned timeout_ms, const char **error_r)
{
	uint64_t deadline = time_mono_ms() + timeout_ms;
	size_t len = 0;

	*error_r = "lost the connection to qmgr";
	for (;;) {
		char *nl = memchr(c->in, '\n', len);
		if (nl != NULL)
			return super_proto_parse_reply(
				c->in, (size_t)(nl - c->in), r, error_r);
		if (len == sizeof(c->in)) {
			*error_r = "reply from qmgr too long";
			return -1;
		}
		int w = fs_wait_fd(c->fd, POLLIN, deadline);
		if (w == 0)
			*error_r = "timed out waiting for qmgr";
		if (w <= 0)
			return -1;
		ssize_t n = read(c->fd, c->in + len, sizeof(c->in) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		len += (size_t)n;
	}
}

int super_client_request(struct super_client *c,
			 const struct super_request *req,
			 struct super_reply *reply_r, unsigned timeout_ms,
			 const char **error_r)
{
	char line[SUPER_LINE_MAX];
	size_t len = super_proto_format_request(req, line);

	memset(reply_r, 0, sizeof(*reply_r));
	/* MSG_NOSIGNAL: qmgr gone mid-run is an error, not a SIGPIPE. */
	for (size_t off = 0; off < len;) {
		ssize_t n = send(c->fd, line + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*error_r = "lost the connection to qmgr";
			return -1;
		}
		off += (size_t)n;
	}
	return reply_read(c, reply_r, timeout_ms, error_r);
}

void super_client_close(struct super_client **client)
{
	if (*client == NULL)
		return;
	close((*client)->fd);
	xfree(client);
}

int super_client_call(const char *queue_dir, const struct super_request *req,
		      struct super_reply *reply_r, const char **error_r)
{
	struct super_client *c;

	if (super_client_open(queue_dir, &c, error_r) < 0)
		return -1;
	int ret = super_client_request(c, req, reply_r,
				       SUPER_CLIENT_TIMEOUT_MS, error_r);
	int saved = errno;
	super_client_close(&c);
	errno = saved;
	return ret;
}
