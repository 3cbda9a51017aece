#include "config.h"
/* test_anvil_client: smtpd's side of anvil against a scripted server (a
 * child process on a UNIX socket): a good exchange, replies that break
 * the protocol, a server that never answers or never accepts (each
 * must cost no more than the timeout) and no server at all. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "anvil_client.h"
#include "timeutil.h"
#include "unit.h"

static char dir[] = "/tmp/test-anvil-client.XXXXXX";
static char path[64];

static int listen_at(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memcpy(sun.sun_path, path, sizeof(path));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(fd, 4) < 0) {
		perror("listen");
		exit(2);
	}
	return fd;
}

/* The child: accepts one client and answers each request line with the
 * next of replies (raw bytes, sent in one write), then reads until the
 * client closes. The
 * request lines it read go to out_fd. */
static void serve_child(int lfd, const char *const *replies, size_t n,
			int out_fd)
{
	int c = accept(lfd, NULL, NULL);
	char buf[1024];
	size_t got = 0;

	for (size_t i = 0; c >= 0 && i < n; i++) {
		char *lf;
		ssize_t r = 1;
		while ((lf = memchr(buf, '\n', got)) == NULL && r > 0 &&
		       got < sizeof(buf)) {
			r = read(c, buf + got, sizeof(buf) - got);
			got += r > 0 ? (size_t)r : 0;
		}
		if (lf == NULL)
			break;
		size_t len = (size_t)(lf - buf + 1);
		(void)!write(out_fd, buf, len);
		got -= len;
		memmove(buf, lf + 1, got);
		(void)!write(c, replies[i], strlen(replies[i]));
	}
	/* Holds the connection until the client closes it, so that a
	 * client waiting for more sees a silent server, not a close. */
	while (c >= 0 && read(c, buf, sizeof(buf)) > 0)
		;
	_exit(0);
}

struct server {
	pid_t pid;
	int log_fd;	/* the request lines the child read */
};

static struct server serve(int lfd, const char *const *replies, size_t n)
{
	int p[2];
	struct server s;

	if (pipe(p) < 0)
		exit(2);
	s.pid = fork();
	if (s.pid < 0)
		exit(2);
	if (s.pid == 0) {
		close(p[0]);
		serve_child(lfd, replies, n, p[1]);
	}
	close(p[1]);
	s.log_fd = p[0];
	return s;
}

/* Waits for the child; its log of requests into out. */
static void finish(struct server *s, char *out, size_t size)
{
	size_t got = 0;
	ssize_t r;

	while (got + 1 < size &&
	       (r = read(s->log_fd, out + got, size - 1 - got)) > 0)
		got += (size_t)r;
	out[got] = '\0';
	close(s->log_fd);
	waitpid(s->pid, NULL, 0);
}

static void test_exchange(int lfd)
{
	static const char *const replies[] = {
		"ok 3 7\n", "error table full\n", "ok 1 2 3\n",
	};
	struct server s = serve(lfd, replies, 3);
	struct anvil_client *c;
	struct anvil_reply r;
	const char *error;
	char log[1024];

	c = anvil_client_open(path, 500, &error);
	UNIT_CHECK(c != NULL);
	if (c == NULL)
		exit(1);
	UNIT_CHECK(anvil_client_event(c, ANVIL_CONNECT, "smtp", "192.0.2.1",
				      &r, &error) == 0);
	UNIT_CHECK(r.ok && r.count == 3 && r.rate == 7);
	UNIT_CHECK(anvil_client_event(c, ANVIL_USER_MESSAGE, "submission",
				      "a b", &r, &error) == 0);
	UNIT_CHECK(!r.ok);
	UNIT_STREQ(r.error, "table full");
	UNIT_CHECK(anvil_client_event(c, ANVIL_MESSAGE, "smtp", "192.0.2.1",
				      &r, &error) < 0);
	/* the server says nothing more: an error within the timeout */
	UNIT_CHECK(anvil_client_event(c, ANVIL_RCPT, "smtp", "192.0.2.1",
				      &r, &error) < 0);
	anvil_client_free(&c);
	UNIT_CHECK(c == NULL);
	anvil_client_free(&c);
	finish(&s, log, sizeof(log));
	UNIT_STREQ(log, "connect smtp 192.0.2.1\n"
		   "user-message submission a%20b\n"
		   "message smtp 192.0.2.1\n");
}

/* A reply without its LF is waited for until the timeout; a reply
 * longer than a line may be is refused without waiting. */
static void test_partial_and_long(int lfd)
{
	static char longest[ANVIL_LINE_MAX + 2];
	const char *partial[] = { "ok 1" };
	const char *longer[] = { longest };
	struct server s;
	struct anvil_client *c;
	struct anvil_reply r;
	const char *error = NULL;
	char log[1024];

	s = serve(lfd, partial, 1);
	c = anvil_client_open(path, 300, &error);
	UNIT_CHECK(c != NULL);
	UNIT_CHECK(anvil_client_event(c, ANVIL_AUTH, "smtp", "x", &r,
				      &error) < 0);
	UNIT_CHECK(error != NULL && strstr(error, "timeout") != NULL);
	anvil_client_free(&c);
	finish(&s, log, sizeof(log));

	memset(longest, '9', sizeof(longest) - 1);
	s = serve(lfd, longer, 1);
	c = anvil_client_open(path, 5000, &error);
	uint64_t start = time_mono_ms();
	UNIT_CHECK(anvil_client_event(c, ANVIL_AUTH, "smtp", "x", &r,
				      &error) < 0);
	UNIT_CHECK(time_mono_ms() - start < 4000);
	UNIT_STREQ(error, "anvil reply too long");
	anvil_client_free(&c);
	finish(&s, log, sizeof(log));
}

static void test_no_answer(int lfd)
{
	struct anvil_client *c;
	struct anvil_reply r;
	const char *error = NULL;

	/* Nobody accepts: the connection waits in the backlog. */
	c = anvil_client_open(path, 300, &error);
	UNIT_CHECK(c != NULL);
	uint64_t start = time_mono_ms();
	UNIT_CHECK(anvil_client_event(c, ANVIL_CONNECT, "smtp", "192.0.2.1",
				      &r, &error) < 0);
	uint64_t took = time_mono_ms() - start;
	UNIT_CHECK(took >= 250 && took < 2000);
	UNIT_CHECK(error != NULL && strstr(error, "timeout") != NULL);
	anvil_client_free(&c);
	/* a name that cannot be sent fails before anything is sent */
	c = anvil_client_open(path, 300, &error);
	UNIT_CHECK(anvil_client_event(c, ANVIL_CONNECT, "smtp", "", &r,
				      &error) < 0);
	anvil_client_free(&c);
	/* drain the backlog */
	for (int i = 0; i < 2; i++) {
		int fd = accept(lfd, NULL, NULL);
		if (fd >= 0)
			close(fd);
	}
}

/* A full listen backlog (anvil not accepting): open waits for a slot at
 * most its timeout, then fails. */
static void test_backlog_full(int lfd)
{
	struct anvil_client *held[16];
	size_t n = 0;
	const char *error = NULL;
	uint64_t took = 0;

	while (n < 16) {
		uint64_t start = time_mono_ms();
		held[n] = anvil_client_open(path, 200, &error);
		took = time_mono_ms() - start;
		if (held[n] == NULL)
			break;
		n++;
	}
	UNIT_CHECK(n > 0 && n < 16);
	UNIT_CHECK(took >= 150 && took < 2000);
	UNIT_STREQ(error, "timeout connecting to anvil");
	for (size_t i = 0; i < n; i++) {
		anvil_client_free(&held[i]);
		int fd = accept(lfd, NULL, NULL);
		if (fd >= 0)
			close(fd);
	}
}

static void test_no_server(void)
{
	char other[300];
	const char *error = NULL;

	snprintf(other, sizeof(other), "%s/none", dir);
	UNIT_CHECK(anvil_client_open(other, 300, &error) == NULL);
	UNIT_CHECK(error != NULL);
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		return 2;
	snprintf(path, sizeof(path), "%s/anvil", dir);
	int lfd = listen_at();
	test_exchange(lfd);
	test_partial_and_long(lfd);
	test_no_answer(lfd);
	test_backlog_full(lfd);
	test_no_server();
	close(lfd);
	unit_rmtree(dir);
	return unit_done();
}
