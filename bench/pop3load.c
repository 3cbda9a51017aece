/*
 * pop3load: POP3 load generator for surel's benchmark (bench/pop3).
 * Standalone on purpose (no surel library) so that it measures surel and
 * Dovecot alike. Two loads:
 *   -x drop      one session on one big maildrop: USER/PASS, STAT, UIDL,
 *                RETR of every message, DELE of every message, QUIT; the
 *                time of each step (QUIT included: that is when the server
 *                deletes), and a check that RETR returned STAT's octets.
 *                Each command waits for its reply (as fetchmail and getmail
 *                do), or with -P the RETRs, then the DELEs, are pipelined
 *                (RFC 2449): written ahead of their replies, in writes of up
 *                to PIPE_OUT_MAX bytes, while the replies are read; only when
 *                the server's CAPA lists PIPELINING.
 *   -x once      one USER/PASS, STAT, UIDL, QUIT session (so that the
 *                server indexes a drop before a measured run).
 *   -x sessions  -c threads, thread i logging in as user (i mod -u), each
 *                doing USER/PASS, STAT, UIDL, QUIT over and over for -d
 *                seconds: sessions per second and their latency.
 * With -S PID, the CPU time of the server's process tree (the master and
 * every process under it; what exited is in its reaper's cutime/cstime) is
 * measured across the run, and its peak memory sampled.
 * Prints one line "RESULT key=value ...".
 *
 * Build: cc -O2 -Wall -Wextra -o pop3load pop3load.c -lpthread
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "bench_util.h"
#include "bench_load.h"

#define MAX_CONC 1000
#define MAX_USERS 100000
#define NAME_MAX_LEN 256
#define PIPE_OUT_MAX 8192	/* pipelined commands written at once, at most */

struct opts {
	const char *host, *port, *mode;
	unsigned conc, users, duration, io_timeout, settle, sample_ms;
	long expect;		/* messages each drop must hold; -1 unchecked */
	const char *prefix, *domain, *login;
	long sample_pid;
	bool pipeline;		/* -P: pipeline the drop's RETRs and DELEs */
};

static struct opts opt = {
	.host = "127.0.0.1", .port = "110", .mode = "sessions", .conc = 50,
	.users = 50, .duration = 30, .io_timeout = 60, .settle = 1,
	.sample_ms = 100, .expect = -1, .prefix = "user",
	.domain = "bench.test", .login = NULL, .sample_pid = 0, .pipeline = false,
};

static struct addrinfo *server_ai;

/* ---- small helpers ---- */

/* ---- connection I/O ---- */

/* Pipelined commands "VERB first".."VERB last", made PIPE_OUT_MAX bytes at
   a time and written whenever the reader waits for input (see fill), so
   that neither side can block the other: we never wait to write while the
   server waits for us to read. */
struct pipe_out {
	bool active;
	const char *verb;
	unsigned long next, last;
	char buf[PIPE_OUT_MAX];
	size_t len, off;
};

struct conn {
	int fd;
	char in[65536];
	size_t len, off;
	char status[256];	/* the last status line, for messages */
	struct pipe_out out;
};

static int conn_open(struct conn *c)
{
	c->fd = bench_connect(server_ai, opt.io_timeout);
	if (c->fd < 0)
		return -1;
	c->len = c->off = 0;
	c->status[0] = '\0';
	c->out.active = false;
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Waits (bounded by the socket timeout) until the server closes: the
   server, not us, then holds the TIME_WAIT, so that a long run does not
   run out of client ports. */
static void conn_wait_eof(struct conn *c)
{
	char buf[512];

	while (read(c->fd, buf, sizeof(buf)) > 0)
		;
}

/* The next commands into the empty output buffer; false when all are
   made. */
static bool pipe_refill(struct pipe_out *p)
{
	p->len = p->off = 0;
	while (p->next <= p->last) {
		int n = snprintf(p->buf + p->len, sizeof(p->buf) - p->len, "%s %lu\r\n",
				 p->verb, p->next);

		if (n < 0 || (size_t)n >= sizeof(p->buf) - p->len)
			break;
		p->len += (size_t)n;
		p->next++;
	}
	return p->len > 0;
}

/* While pipelined commands remain: writes them as far as the socket takes
   them, until there is input to read. 0, or -1 (c->status says why). */
static int pipe_push(struct conn *c)
{
	struct pipe_out *p = &c->out;

	for (;;) {
		if (p->off == p->len && !pipe_refill(p))
			return 0;	/* all written: plain blocking reads */

		struct pollfd pfd = { .fd = c->fd, .events = POLLIN | POLLOUT };
		int rc = poll(&pfd, 1, (int)opt.io_timeout * 1000);

		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0) {
			snprintf(c->status, sizeof(c->status), "(%s)",
				 rc == 0 ? "timeout" : strerror(errno));
			return -1;
		}
		if (pfd.revents & POLLOUT) {
			ssize_t w = send(c->fd, p->buf + p->off, p->len - p->off,
					 MSG_DONTWAIT | MSG_NOSIGNAL);

			if (w > 0)
				p->off += (size_t)w;
			else if (w < 0 && errno != EAGAIN && errno != EINTR) {
				snprintf(c->status, sizeof(c->status), "(write failed: %s)",
					 strerror(errno));
				return -1;
			}
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR))
			return 0;
	}
}

/* Starts pipelining "VERB 1".."VERB count" (written as the replies are
   read); the replies are then read with read_status, see reply_to. */
static void pipe_start(struct conn *c, const char *verb, unsigned long count)
{
	c->out = (struct pipe_out){ .active = true, .verb = verb, .next = 1, .last = count };
}

/* After the last reply: every command must have gone out. */
static void pipe_end(struct conn *c)
{
	if (c->out.active && (c->out.next <= c->out.last || c->out.off < c->out.len))
		die("%s: replies to commands never sent", c->out.verb);
	c->out.active = false;
}

static int fill(struct conn *c)
{
	ssize_t n;

	if (c->off == c->len)
		c->off = c->len = 0;
	if (c->len == sizeof(c->in)) {
		memmove(c->in, c->in + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (c->out.active && pipe_push(c) < 0)
		return -1;
	do
		n = read(c->fd, c->in + c->len, sizeof(c->in) - c->len);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	c->len += (size_t)n;
	return 0;
}

static int send_line(struct conn *c, const char *line)
{
	char buf[NAME_MAX_LEN * 2];
	int n = snprintf(buf, sizeof(buf), "%s\r\n", line);
	size_t off = 0;

	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	while (off < (size_t)n) {
		ssize_t w = write(c->fd, buf + off, (size_t)n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

/* Reads one line (its CRLF dropped) into c->status; 0, or -1 on EOF,
   timeout or a line longer than 64 KiB. */
static int read_line(struct conn *c)
{
	for (;;) {
		char *nl = memchr(c->in + c->off, '\n', c->len - c->off);

		if (nl != NULL) {
			size_t n = (size_t)(nl - (c->in + c->off));

			if (n > 0 && c->in[c->off + n - 1] == '\r')
				n--;
			snprintf(c->status, sizeof(c->status), "%.*s", (int)n, c->in + c->off);
			c->off = (size_t)(nl - c->in) + 1;
			return 0;
		}
		if (c->len - c->off >= sizeof(c->in) - 1)
			return -1;	/* a line longer than 64 KiB */
		if (fill(c) < 0) {
			if (c->status[0] != '(')
				snprintf(c->status, sizeof(c->status), "(connection closed)");
			return -1;
		}
	}
}

/* Reads one status line into c->status; 0 for "+OK", -1 otherwise. */
static int read_status(struct conn *c)
{
	c->status[0] = '\0';
	if (read_line(c) < 0)
		return -1;
	return strncmp(c->status, "+OK", 3) == 0 ? 0 : -1;
}

/* Reads a multi-line body after its +OK, undoing the dot-stuffing;
   *octets_r gets its octets (CRLF included, as STAT and LIST count them),
   *lines_r its lines. A state machine over the bytes, so that lines of
   any length are handled. 0, or -1 on EOF or timeout. */
static int read_body(struct conn *c, uint64_t *octets_r, uint64_t *lines_r)
{
	enum { BOL, MID, DOT, DOT_CR } st = BOL;
	uint64_t octets = 0, lines = 0;

	for (;;) {
		while (c->off < c->len) {
			char ch = c->in[c->off++];

			switch (st) {
			case BOL:
				if (ch == '.') {
					st = DOT;
					continue;
				}
				st = MID;
				break;
			case DOT:
				if (ch == '\r') {
					st = DOT_CR;
					continue;
				}
				st = MID;	/* a stuffed dot: dropped */
				break;
			case DOT_CR:
				if (ch == '\n') {
					*octets_r = octets;
					*lines_r = lines;
					return 0;
				}
				octets++;	/* ".\r" then more: keep the '\r' */
				st = MID;
				break;
			case MID:
				break;
			}
			octets++;
			if (ch == '\n') {
				lines++;
				st = BOL;
			}
		}
		if (fill(c) < 0)
			return -1;
	}
}

static int command(struct conn *c, const char *line)
{
	if (send_line(c, line) < 0) {
		snprintf(c->status, sizeof(c->status), "(write failed)");
		return -1;
	}
	return read_status(c);
}

/* The reply to "VERB i": the command sent now and its reply awaited, or,
   while pipelining (pipe_start), the command already on its way. */
static int reply_to(struct conn *c, const char *verb, unsigned long i)
{
	char line[64];

	if (c->out.active)
		return read_status(c);
	snprintf(line, sizeof(line), "%s %lu", verb, i);
	return command(c, line);
}

/* CAPA (RFC 2449): 1 when the server lists PIPELINING, 0 when it does
   not, -1 on error. */
static int capa_pipelining(struct conn *c)
{
	int found = 0;

	if (command(c, "CAPA") < 0)
		return -1;
	for (;;) {
		if (read_line(c) < 0)
			return -1;
		if (strcmp(c->status, ".") == 0)
			return found;
		if (strcasecmp(c->status, "PIPELINING") == 0)
			found = 1;
	}
}

static void user_name(unsigned i, char *out, size_t max)
{
	if (opt.login != NULL)
		snprintf(out, max, "%s", opt.login);
	else
		snprintf(out, max, "%s%u@%s", opt.prefix, i, opt.domain);
}

/* USER, PASS (password: "pw-" and the local part, as the bench's
   passwd-files have it), after the greeting. */
static int login(struct conn *c, unsigned user)
{
	char name[NAME_MAX_LEN], line[NAME_MAX_LEN + 16];
	size_t local;

	user_name(user, name, sizeof(name));
	local = strcspn(name, "@");
	snprintf(line, sizeof(line), "USER %s", name);
	if (command(c, line) < 0)
		return -1;
	snprintf(line, sizeof(line), "PASS pw-%.*s", (int)local, name);
	return command(c, line);
}

/* STAT: 0 with the count and octets, -1 on error. */
static int stat_cmd(struct conn *c, unsigned long *count_r, uint64_t *octets_r)
{
	if (command(c, "STAT") < 0)
		return -1;
	if (sscanf(c->status, "+OK %lu %llu", count_r, (unsigned long long *)octets_r) != 2)
		return -1;
	return 0;
}

/* ---- the drop load ---- */

static int run_drop(void)
{
	struct conn *c = calloc(1, sizeof(*c));
	unsigned long count = 0;
	uint64_t octets = 0, got = 0, lines, uidls = 0, n;
	double t[7];

	if (c == NULL)
		die("out of memory");
	t[0] = now_s();
	if (conn_open(c) < 0)
		die("connect: %s", strerror(errno));
	if (read_status(c) < 0)
		die("greeting: %s", c->status);
	/* As a pipelining client would: CAPA first, its round trip in the
	   login time. */
	if (opt.pipeline) {
		int rc = capa_pipelining(c);

		if (rc < 0)
			die("CAPA: %s", c->status);
		if (rc == 0)
			die("-P: the server's CAPA does not list PIPELINING");
	}
	if (login(c, 0) < 0)
		die("login: %s", c->status);
	t[1] = now_s();
	if (stat_cmd(c, &count, &octets) < 0)
		die("STAT: %s", c->status);
	if (opt.expect >= 0 && count != (unsigned long)opt.expect)
		die("STAT says %lu messages, expected %ld", count, opt.expect);
	t[2] = now_s();
	if (command(c, "UIDL") < 0 || read_body(c, &n, &uidls) < 0)
		die("UIDL: %s", c->status);
	if (uidls != count)
		die("UIDL listed %llu messages, STAT %lu", (unsigned long long)uidls, count);
	t[3] = now_s();
	if (opt.pipeline)
		pipe_start(c, "RETR", count);
	for (unsigned long i = 1; i <= count; i++) {
		if (reply_to(c, "RETR", i) < 0 || read_body(c, &n, &lines) < 0)
			die("RETR %lu: %s", i, c->status);
		got += n;
	}
	pipe_end(c);
	if (got != octets)
		die("RETR returned %llu octets, STAT said %llu", (unsigned long long)got,
		    (unsigned long long)octets);
	t[4] = now_s();
	if (opt.pipeline)
		pipe_start(c, "DELE", count);
	for (unsigned long i = 1; i <= count; i++)
		if (reply_to(c, "DELE", i) < 0)
			die("DELE %lu: %s", i, c->status);
	pipe_end(c);
	t[5] = now_s();
	if (command(c, "QUIT") < 0)
		die("QUIT: %s", c->status);
	t[6] = now_s();
	conn_wait_eof(c);
	conn_close(c);
	printf(" pipelined=%d messages=%lu octets=%llu total_ms=%.1f login_ms=%.1f stat_ms=%.1f "
	       "uidl_ms=%.1f retr_ms=%.1f dele_ms=%.1f quit_ms=%.1f",
	       opt.pipeline, count, (unsigned long long)octets, (t[6] - t[0]) * 1e3, (t[1] - t[0]) * 1e3,
	       (t[2] - t[1]) * 1e3, (t[3] - t[2]) * 1e3, (t[4] - t[3]) * 1e3,
	       (t[5] - t[4]) * 1e3, (t[6] - t[5]) * 1e3);
	free(c);
	return 0;
}

/* ---- the sessions load ---- */

static void *conn_new(void)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c != NULL)
		c->fd = -1;
	return c;
}

/* One login/STAT/UIDL/QUIT session as user; 0 or -1. */
static int one_session(struct conn *c, unsigned user)
{
	unsigned long count;
	uint64_t octets, n, lines;

	if (conn_open(c) < 0) {
		snprintf(c->status, sizeof(c->status), "connect: %s", strerror(errno));
		return -1;
	}
	if (read_status(c) < 0 || login(c, user) < 0 || stat_cmd(c, &count, &octets) < 0)
		goto fail;
	if (opt.expect >= 0 && count != (unsigned long)opt.expect) {
		snprintf(c->status, sizeof(c->status), "STAT %lu, expected %ld", count, opt.expect);
		goto fail;
	}
	if (command(c, "UIDL") < 0 || read_body(c, &n, &lines) < 0 || lines != count)
		goto fail;
	if (command(c, "QUIT") < 0)
		goto fail;
	conn_wait_eof(c);
	conn_close(c);
	return 0;
fail:
	conn_close(c);
	return -1;
}

static int pool_session(void *conn, unsigned user, char *err, size_t errsize)
{
	struct conn *c = conn;
	int rc = one_session(c, user);

	if (rc < 0)
		snprintf(err, errsize, "%s", c->status);
	return rc;
}

static int run_once(void)
{
	struct conn *c = conn_new();
	int rc;

	if (c == NULL)
		die("out of memory");
	rc = one_session(c, 0);
	if (rc < 0)
		fprintf(stderr, "pop3load: session failed: %s\n", c->status);
	free(c);
	return rc < 0 ? 1 : 0;
}

static int run_sessions(void)
{
	return bench_run_sessions(opt.conc, opt.users, opt.duration, conn_new,
				  pool_session);
}

static int run_drop(void);

static int run_mode(void)
{
	if (strcmp(opt.mode, "drop") == 0)
		return run_drop();
	if (strcmp(opt.mode, "once") == 0)
		return run_once();
	return run_sessions();
}

/* ---- main ---- */

static void usage(void)
{
	fprintf(stderr,
		"usage: pop3load [options]\n"
		"  -H HOST    server (loopback only)             [%s]\n"
		"  -p PORT    port                               [%s]\n"
		"  -x MODE    drop | once | sessions             [%s]\n"
		"  -c N       concurrent sessions (sessions)     [%u]\n"
		"  -u N       users PREFIX0..PREFIX(N-1)@DOMAIN  [%u]\n"
		"  -U PREFIX  user name prefix                   [%s]\n"
		"  -D DOMAIN  user domain                        [%s]\n"
		"  -L NAME    log in as NAME only (drop, once)\n"
		"  -d SEC     duration (sessions)                [%u]\n"
		"  -e N       messages each drop must hold (checked by STAT)\n"
		"  -P         drop: pipeline the RETRs and the DELEs (the server's\n"
		"             CAPA must list PIPELINING)\n"
		"  -t SEC     I/O timeout                        [%u]\n"
		"  -S PID     measure CPU and memory of PID's process tree\n"
		"  -Z SEC     settle before the last CPU sample  [%u]\n"
		"passwords are \"pw-\" and the user's local part.\n",
		opt.host, opt.port, opt.mode, opt.conc, opt.users, opt.prefix,
		opt.domain, opt.duration, opt.io_timeout, opt.settle);
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	int o;

	while ((o = getopt(argc, argv, "H:p:x:c:u:U:D:L:d:e:t:S:Z:Ph")) != -1) {
		switch (o) {
		case 'H': opt.host = optarg; break;
		case 'p': opt.port = optarg; break;
		case 'x': opt.mode = optarg; break;
		case 'c': opt.conc = parse_ul(optarg, "-c", 1, MAX_CONC); break;
		case 'u': opt.users = parse_ul(optarg, "-u", 1, MAX_USERS); break;
		case 'U': opt.prefix = optarg; break;
		case 'D': opt.domain = optarg; break;
		case 'L': opt.login = optarg; break;
		case 'd': opt.duration = parse_ul(optarg, "-d", 1, 3600); break;
		case 'e': opt.expect = (long)parse_ul(optarg, "-e", 0, 10000000); break;
		case 't': opt.io_timeout = parse_ul(optarg, "-t", 1, 3600); break;
		case 'S': opt.sample_pid = (long)parse_ul(optarg, "-S", 1, 1UL << 30); break;
		case 'Z': opt.settle = parse_ul(optarg, "-Z", 0, 60); break;
		case 'P': opt.pipeline = true; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (strcmp(opt.mode, "drop") != 0 && strcmp(opt.mode, "once") != 0 &&
	    strcmp(opt.mode, "sessions") != 0)
		die("bad -x %s (drop, once or sessions)", opt.mode);
	if (opt.pipeline && strcmp(opt.mode, "drop") != 0)
		die("-P is for -x drop only");
	if (strlen(opt.prefix) + strlen(opt.domain) > NAME_MAX_LEN - 16 ||
	    (opt.login != NULL && strlen(opt.login) > NAME_MAX_LEN - 16))
		die("user name too long");
}

int main(int argc, char **argv)
{
	bench_prog = "pop3load";
	parse_args(argc, argv);
	server_ai = resolve_loopback(opt.host, opt.port);
	bench_sample_ms = opt.sample_ms;
	return bench_measure(opt.mode, opt.sample_pid, opt.settle, run_mode);
}
