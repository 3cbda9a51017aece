/* Unit tests of lib/stream over a socketpair: lines and their limit
 * (limit-1, limit, limit+1, and a line far too long), raw reads, timeouts,
 * pending input, buffered output, a vanished peer, and the transport
 * indirection. */
#include "config.h"
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "stream.h"
#include "timeutil.h"
#include "unit.h"

static void pair(int fds[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0) {
		perror("socketpair");
		exit(2);
	}
}

static void put(int fd, const char *s, size_t len)
{
	UNIT_CHECK(write(fd, s, len) == (ssize_t)len);
}

static void test_lines(void)
{
	int fds[2];
	const char *line;
	size_t len;

	pair(fds);
	struct stream *s = stream_new(fds[0], 16);
	stream_set_timeout(s, 2000);
	UNIT_CHECK(stream_fd(s) == fds[0]);
	/* 16 octets with CRLF: the limit; then 17; then 15. */
	put(fds[1], "0123456789abcd\r\n", 16);
	put(fds[1], "0123456789abcde\r\n", 17);
	put(fds[1], "0123456789abc\r\n", 15);
	put(fds[1], "bare\n", 5);
	UNIT_CHECK(stream_read_line(s, &line, &len) == 1);
	UNIT_CHECK(len == 15 && memcmp(line, "0123456789abcd\r", 15) == 0);
	UNIT_CHECK(line[len] == '\0');
	UNIT_CHECK(stream_input_pending(s));
	UNIT_CHECK(stream_read_line(s, &line, &len) == STREAM_TOO_LONG);
	UNIT_CHECK(stream_read_line(s, &line, &len) == 1);
	UNIT_CHECK(len == 14);
	UNIT_CHECK(stream_read_line(s, &line, &len) == 1);
	UNIT_STREQ(line, "bare");
	UNIT_CHECK(!stream_input_pending(s));
	/* EOF in the middle of a line. */
	put(fds[1], "partial", 7);
	close(fds[1]);
	UNIT_CHECK(stream_read_line(s, &line, &len) == STREAM_EOF);
	stream_free(&s);
	UNIT_CHECK(s == NULL);
	close(fds[0]);
}

/* A line of a megabyte, written by a child, is dropped without being
 * held; the next line reads fine. */
static void test_huge_line(void)
{
	int fds[2];
	const char *line;
	size_t len;

	pair(fds);
	pid_t pid = fork();
	if (pid == 0) {
		char chunk[8192];
		close(fds[0]);
		memset(chunk, 'x', sizeof(chunk));
		for (int i = 0; i < 128; i++)
			if (write(fds[1], chunk, sizeof(chunk)) < 0)
				_exit(1);
		if (write(fds[1], "\r\nNOOP\r\n", 8) < 0)
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	struct stream *s = stream_new(fds[0], 2048);
	stream_set_timeout(s, 5000);
	UNIT_CHECK(stream_read_line(s, &line, &len) == STREAM_TOO_LONG);
	UNIT_CHECK(stream_read_line(s, &line, &len) == 1);
	UNIT_STREQ(line, "NOOP\r");
	UNIT_CHECK(stream_read_line(s, &line, &len) == STREAM_EOF);
	stream_free(&s);
	close(fds[0]);
	waitpid(pid, NULL, 0);
}

static void test_raw_and_timeout(void)
{
	int fds[2];
	const char *data, *line;
	size_t len;

	pair(fds);
	struct stream *s = stream_new(fds[0], 512);
	stream_set_timeout(s, 100);
	put(fds[1], "LINE\r\nraw bytes", 15);
	UNIT_CHECK(stream_read_line(s, &line, &len) == 1);
	UNIT_CHECK(stream_peek(s, &data, &len) == 1);
	UNIT_CHECK(len == 9 && memcmp(data, "raw bytes", 9) == 0);
	stream_skip(s, 4);
	UNIT_CHECK(stream_peek(s, &data, &len) == 1);
	UNIT_CHECK(len == 5 && memcmp(data, "bytes", 5) == 0);
	stream_skip(s, 5);
	UNIT_CHECK(!stream_input_pending(s));

	uint64_t start = time_mono_ms();
	UNIT_CHECK(stream_peek(s, &data, &len) == STREAM_TIMEOUT);
	uint64_t took = time_mono_ms() - start;
	UNIT_CHECK(took >= 90 && took < 2000);
	UNIT_CHECK(stream_read_line(s, &line, &len) == STREAM_TIMEOUT);

	/* Early-talker check: nothing, then something. */
	UNIT_CHECK(stream_poll_input(s, 0) == 0);
	UNIT_CHECK(stream_poll_input(s, 50) == 0);
	put(fds[1], "EHLO", 4);
	UNIT_CHECK(stream_poll_input(s, 0) == 1);
	UNIT_CHECK(stream_input_pending(s));
	UNIT_CHECK(stream_poll_input(s, 0) == 1);
	close(fds[1]);
	UNIT_CHECK(stream_peek(s, &data, &len) == 1 && len == 4);
	stream_skip(s, len);
	UNIT_CHECK(stream_poll_input(s, 100) == STREAM_EOF);
	stream_free(&s);
	close(fds[0]);
}

static void test_output(void)
{
	int fds[2];
	char in[256];

	pair(fds);
	struct stream *s = stream_new(fds[0], 512);
	stream_set_timeout(s, 200);
	UNIT_CHECK(stream_write(s, "250-a\r\n", 7) == 0);
	UNIT_CHECK(stream_printf(s, "250 %s %d\r\n", "b", 42) == 0);
	/* Nothing is sent before the flush. */
	UNIT_CHECK(recv(fds[1], in, sizeof(in), MSG_DONTWAIT) == -1);
	UNIT_CHECK(stream_flush(s) == 0);
	ssize_t n = read(fds[1], in, sizeof(in));
	UNIT_CHECK(n == 17 && memcmp(in, "250-a\r\n250 b 42\r\n", 17) == 0);

	/* A long printf goes out whole. */
	char big[3000];
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	UNIT_CHECK(stream_printf(s, "%s", big) == 0);
	UNIT_CHECK(stream_flush(s) == 0);
	size_t got = 0;
	while (got < sizeof(big) - 1) {
		n = read(fds[1], in, sizeof(in));
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	UNIT_CHECK(got == sizeof(big) - 1);

	/* Nobody reads: the write times out. */
	char chunk[65536];
	memset(chunk, 'z', sizeof(chunk));
	int ret = 0;
	for (int i = 0; i < 200 && ret == 0; i++)
		ret = stream_write(s, chunk, sizeof(chunk));
	UNIT_CHECK(ret == -1 && stream_error(s) == STREAM_TIMEOUT);
	UNIT_CHECK(stream_write(s, "x", 1) == -1);
	UNIT_CHECK(stream_flush(s) == -1);
	stream_free(&s);
	close(fds[0]);
	close(fds[1]);

	/* The peer is gone: an error, not a SIGPIPE. */
	pair(fds);
	s = stream_new(fds[0], 512);
	close(fds[1]);
	UNIT_CHECK(stream_write(s, "221 Bye\r\n", 9) == 0);
	UNIT_CHECK(stream_flush(s) == -1);
	UNIT_CHECK(stream_error(s) == STREAM_IO_ERROR);
	stream_free(&s);
	close(fds[0]);
}

/* The transport indirection (where TLS goes): a pass-through that counts
 * and upper-cases what is read. */
static int io_reads, io_writes;

static ssize_t upper_read(void *ctx, void *buf, size_t len)
{
	int fd = *(int *)ctx;
	ssize_t n = read(fd, buf, len);

	io_reads++;
	for (ssize_t i = 0; i < n; i++)
		if (((char *)buf)[i] >= 'a' && ((char *)buf)[i] <= 'z')
			((char *)buf)[i] -= 32;
	return n;
}

static ssize_t count_write(void *ctx, const void *buf, size_t len)
{
	int fd = *(int *)ctx;

	io_writes++;
	return write(fd, buf, len);
}

static void test_io(void)
{
	int fds[2];
	const char *line;
	size_t len;
	char in[16];

	pair(fds);
	struct stream *s = stream_new(fds[0], 512);
	stream_set_timeout(s, 1000);
	stream_set_io(s, upper_read, count_write, &fds[0]);
	put(fds[1], "quit\r\n", 6);
	UNIT_CHECK(stream_read_line(s, &line, &len) == 1);
	UNIT_STREQ(line, "QUIT\r");
	UNIT_CHECK(io_reads > 0);
	UNIT_CHECK(stream_write(s, "ok\r\n", 4) == 0 && stream_flush(s) == 0);
	UNIT_CHECK(io_writes == 1);
	UNIT_CHECK(read(fds[1], in, sizeof(in)) == 4);
	/* Back to the plain fd. */
	stream_set_io(s, NULL, NULL, NULL);
	put(fds[1], "x\r\n", 3);
	UNIT_CHECK(stream_read_line(s, &line, &len) == 1);
	UNIT_STREQ(line, "x\r");
	stream_free(&s);
	close(fds[0]);
	close(fds[1]);
}

/* STARTTLS: what was pipelined behind the command is thrown away. */
static void test_drop_input(void)
{
	int fds[2];
	const char *line;
	size_t len;

	pair(fds);
	struct stream *s = stream_new(fds[0], 512);
	stream_set_timeout(s, 1000);
	UNIT_CHECK(stream_drop_input(s) == 0);
	put(fds[1], "STARTTLS\r\nMAIL FROM:<x@y>\r\n", 27);
	UNIT_CHECK(stream_read_line(s, &line, &len) == 1);
	UNIT_STREQ(line, "STARTTLS\r");
	UNIT_CHECK(stream_input_pending(s));
	UNIT_CHECK(stream_drop_input(s) == 17);
	UNIT_CHECK(!stream_input_pending(s));
	put(fds[1], "after\r\n", 7);
	UNIT_CHECK(stream_read_line(s, &line, &len) == 1);
	UNIT_STREQ(line, "after\r");
	stream_free(&s);
	close(fds[0]);
	close(fds[1]);
}

/* A transport with a buffer of its own that, like TLS, first needs the
 * socket writable before it can deliver what it holds. */
struct held {
	int calls;
	short asked;		/* events the stream offered the wait fn */
	int waits;
};

static ssize_t held_read(void *ctx, void *buf, size_t len)
{
	struct held *h = ctx;

	if (h->calls++ == 0) {
		errno = EAGAIN;
		return -1;
	}
	if (len < 6)
		return -1;
	memcpy(buf, "held\r\n", 6);
	return 6;
}

static ssize_t held_write(void *ctx, const void *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	return (ssize_t)len;
}

static short held_wait(void *ctx, short events)
{
	struct held *h = ctx;

	h->asked = events;
	h->waits++;
	return POLLOUT;
}

static void test_io_wait(void)
{
	int fds[2];
	const char *line;
	size_t len;
	struct held h = { 0 };

	pair(fds);
	struct stream *s = stream_new(fds[0], 512);
	stream_set_timeout(s, 2000);
	stream_set_io(s, held_read, held_write, &h);
	stream_set_io_wait(s, held_wait);
	/* Nothing to read on the fd: only the POLLOUT the transport asked
	 * for lets the read go on before the timeout. */
	uint64_t t0 = time_mono_ms();
	UNIT_CHECK(stream_read_line(s, &line, &len) == 1);
	UNIT_STREQ(line, "held\r");
	UNIT_CHECK(time_mono_ms() - t0 < 1000);
	UNIT_CHECK(h.waits == 1 && h.asked == POLLIN);
	/* Input the transport holds counts as input although the fd shows
	 * none. */
	UNIT_CHECK(stream_poll_input(s, 0) == 1);
	UNIT_CHECK(stream_read_line(s, &line, &len) == 1);
	/* A new transport forgets the wait function. */
	h.calls = 0;
	stream_set_io(s, held_read, held_write, &h);
	stream_set_timeout(s, 200);
	UNIT_CHECK(stream_read_line(s, &line, &len) == STREAM_TIMEOUT);
	UNIT_CHECK(h.waits == 1);
	stream_free(&s);
	close(fds[0]);
	close(fds[1]);
}

int main(void)
{
	signal(SIGPIPE, SIG_DFL);	/* the stream must not raise it */
	test_lines();
	test_huge_line();
	test_raw_and_timeout();
	test_output();
	test_io();
	test_drop_input();
	test_io_wait();
	return unit_done();
}
