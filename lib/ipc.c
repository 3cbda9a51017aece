/* ipc: encoder and incremental, bounded decoder of the "name=value\n"
 * attribute messages daemons exchange over UNIX sockets; see ipc.h. */
#include "config.h"
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "fsutil.h"
#include "ipc.h"
#include "log.h"
#include "mem.h"
#include "timeutil.h"

#define IPC_READ_CHUNK 4096
#define IPC_WRITE_MAX (1024 * 1024)

static bool ipc_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static bool ipc_name_ok(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!ipc_name_char(s[i]))
			return false;
	return true;
}

int ipc_encode(struct buf *out, const struct ipc_attr *attrs, size_t count)
{
	size_t start = out->len;

	for (size_t i = 0; i < count; i++) {
		const char *value = attrs[i].value;
		if (!ipc_name_ok(attrs[i].name, strlen(attrs[i].name)) ||
		    value == NULL || strpbrk(value, "\r\n") != NULL ||
		    buf_printf(out, "%s=%s\n", attrs[i].name, value) < 0)
			goto fail;
	}
	if (buf_append_char(out, '\n') < 0)
		goto fail;
	return 0;
fail:
	buf_truncate(out, start);
	return -1;
}

void ipc_msg_clear(struct ipc_msg *msg)
{
	free(msg->attrs);
	if (msg->storage != NULL)
		explicit_bzero(msg->storage, msg->storage_len);
	free(msg->storage);
	memset(msg, 0, sizeof(*msg));
}

const char *ipc_msg_get(const struct ipc_msg *msg, const char *name)
{
	for (size_t i = 0; i < msg->count; i++)
		if (strcmp(msg->attrs[i].name, name) == 0)
			return msg->attrs[i].value;
	return NULL;
}

int ipc_msg_get_exact(const struct ipc_msg *msg, const char *const *names,
		      const char **values, size_t count)
{
	if (msg->count != count)
		return -1;
	for (size_t i = 0; i < count; i++)
		values[i] = NULL;
	for (size_t a = 0; a < msg->count; a++) {
		size_t i = 0;
		while (i < count && strcmp(names[i], msg->attrs[a].name) != 0)
			i++;
		if (i == count || values[i] != NULL)
			return -1;	/* unknown or duplicate */
		values[i] = msg->attrs[a].value;
	}
	return 0;
}

struct ipc_reader {
	size_t max_line;
	size_t max_attrs;
	struct buf msg;		/* the complete lines of the message so far */
	size_t line_start;	/* where the current line starts in msg */
	size_t attrs;		/* complete attribute lines in msg */
	const char *error;	/* sticky: a broken stream stays broken */
	struct buf pending;	/* read but not yet fed (ipc_read_msg) */
};

struct ipc_reader *ipc_reader_new(size_t max_line, size_t max_attrs)
{
	struct ipc_reader *r = xcalloc(1, sizeof(*r));
	size_t max;

	if (__builtin_add_overflow(max_line, 1, &max) ||
	    __builtin_mul_overflow(max, max_attrs, &max))
		max = (size_t)-2;
	r->max_line = max_line;
	r->max_attrs = max_attrs;
	buf_init(&r->msg, max);
	buf_init(&r->pending, IPC_READ_CHUNK);
	return r;
}

void ipc_reader_free(struct ipc_reader **r)
{
	if (*r == NULL)
		return;
	buf_deinit(&(*r)->msg);
	buf_deinit(&(*r)->pending);
	xfree(r);
}

/* Turns the collected lines into msg: '=' and '\n' become NULs in one
 * copy that the attribute pointers point into. */
static void reader_take(struct ipc_reader *r, struct ipc_msg *msg)
{
	msg->count = r->attrs;
	msg->attrs = xcalloc(r->attrs, sizeof(*msg->attrs));
	msg->storage = xmemdup(r->msg.data, r->msg.len + 1);
	msg->storage_len = r->msg.len + 1;
	char *p = msg->storage;
	for (size_t i = 0; i < r->attrs; i++) {
		char *eq = strchr(p, '=');
		char *nl = strchr(eq, '\n');
		*eq = '\0';
		*nl = '\0';
		msg->attrs[i].name = p;
		msg->attrs[i].value = eq + 1;
		p = nl + 1;
	}
	explicit_bzero(r->msg.data, r->msg.len);
	buf_reset(&r->msg);
	r->line_start = 0;
	r->attrs = 0;
}

static int reader_fail(struct ipc_reader *r, const char *error,
		       const char **error_r)
{
	r->error = error;
	*error_r = error;
	return -1;
}

/* A complete attribute line: "name=value" with a valid name. */
static int reader_end_line(struct ipc_reader *r, const char **error_r)
{
	const char *line = r->msg.data + r->line_start;
	size_t len = r->msg.len - r->line_start;
	const char *eq = memchr(line, '=', len);

	if (eq == NULL || !ipc_name_ok(line, (size_t)(eq - line)))
		return reader_fail(r, "bad attribute line", error_r);
	if (r->attrs >= r->max_attrs)
		return reader_fail(r, "too many attributes", error_r);
	if (buf_append_char(&r->msg, '\n') < 0)
		return reader_fail(r, "message too long", error_r);
	r->attrs++;
	r->line_start = r->msg.len;
	return 0;
}

int ipc_reader_feed(struct ipc_reader *r, const char *data, size_t len,
		    size_t *used_r, struct ipc_msg *msg_r, const char **error_r)
{
	size_t i = 0;

	if (r->error != NULL)
		return reader_fail(r, r->error, error_r);
	while (i < len) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t seg = nl == NULL ? len - i : (size_t)(nl - (data + i));

		if (memchr(data + i, '\0', seg) != NULL ||
		    memchr(data + i, '\r', seg) != NULL)
			return reader_fail(r, "NUL or CR in message", error_r);
		if (r->msg.len - r->line_start + seg > r->max_line)
			return reader_fail(r, "line too long", error_r);
		if (buf_append(&r->msg, data + i, seg) < 0)
			return reader_fail(r, "message too long", error_r);
		i += seg;
		if (nl == NULL)
			break;
		i++;
		if (r->msg.len == r->line_start) {
			reader_take(r, msg_r);
			*used_r = i;
			return 1;
		}
		if (reader_end_line(r, error_r) < 0)
			return -1;
	}
	*used_r = len;
	return 0;
}

/* Waits until fd is ready for events or the deadline passes. */
static int ipc_wait(int fd, short events, uint64_t deadline,
		    const char **error_r)
{
	int ret = fs_wait_fd(fd, events, deadline);

	if (ret <= 0)
		*error_r = ret == 0 ? "timeout" : "poll error";
	return ret > 0 ? 0 : -1;
}

/* MSG_DONTWAIT makes even a blocking socket honour the timeout without a
 * poll() before every call: the common case costs one system call. A
 * non-socket (a pipe in tests) falls back to poll + write/read. */
static ssize_t ipc_send(int fd, const char *p, size_t len, uint64_t deadline,
			const char **error_r)
{
	ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0 && errno == ENOTSOCK) {
		if (ipc_wait(fd, POLLOUT, deadline, error_r) < 0)
			return -2;
		n = write(fd, p, len);
	}
	return n;
}

static ssize_t ipc_recv(int fd, char *p, size_t len, uint64_t deadline,
			const char **error_r)
{
	ssize_t n = recv(fd, p, len, MSG_DONTWAIT);

	if (n < 0 && errno == ENOTSOCK) {
		if (ipc_wait(fd, POLLIN, deadline, error_r) < 0)
			return -2;
		n = read(fd, p, len);
	}
	return n;
}

int ipc_write_msg(int fd, const struct ipc_attr *attrs, size_t count,
		  int timeout_ms, const char **error_r)
{
	uint64_t deadline = time_mono_ms() + (uint64_t)timeout_ms;
	struct buf out;
	int ret = -1;

	buf_init(&out, IPC_WRITE_MAX);
	if (ipc_encode(&out, attrs, count) < 0) {
		*error_r = "message not encodable";
		goto out;
	}
	for (size_t done = 0; done < out.len;) {
		ssize_t n = ipc_send(fd, out.data + done, out.len - done,
				     deadline, error_r);
		if (n == -2)
			goto out;
		if (n > 0) {
			done += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (ipc_wait(fd, POLLOUT, deadline, error_r) < 0)
				goto out;
		} else {
			*error_r = "write error";
			goto out;
		}
	}
	ret = 0;
out:
	buf_deinit(&out);
	return ret;
}

int ipc_read_msg(int fd, struct ipc_reader *r, struct ipc_msg *msg_r,
		 int timeout_ms, const char **error_r)
{
	uint64_t deadline = time_mono_ms() + (uint64_t)timeout_ms;
	char chunk[IPC_READ_CHUNK];
	size_t used;

	for (;;) {
		if (r->pending.len > 0) {
			int ret = ipc_reader_feed(r, r->pending.data,
						  r->pending.len, &used, msg_r,
						  error_r);
			if (ret < 0)
				return -1;
			buf_consume(&r->pending, used);
			if (ret == 1)
				return 0;
		}
		ssize_t n = ipc_recv(fd, chunk, sizeof(chunk), deadline,
				     error_r);
		if (n == -2)
			return -1;
		if (n > 0) {
			/* pending is empty here: everything was fed */
			if (buf_append(&r->pending, chunk, (size_t)n) < 0)
				panic("ipc: pending buffer overflow");
		} else if (n == 0) {
			*error_r = "connection closed";
			return -1;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (ipc_wait(fd, POLLIN, deadline, error_r) < 0)
				return -1;
		} else if (errno != EINTR) {
			*error_r = "read error";
			return -1;
		}
	}
}
