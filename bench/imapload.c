/*
 * imapload: IMAP load generator for surel's benchmark (bench/imap).
 * Standalone on purpose (no surel library) so that it measures surel and
 * Dovecot alike. Two loads:
 *   -x ops       on one big mailbox (-L), each step timed and each step
 *                waiting for its tagged reply:
 *                  session 1: LOGIN, SELECT INBOX (cold: the server has
 *                  never seen the mailbox), FETCH 1:* (UID FLAGS
 *                  RFC822.SIZE ENVELOPE BODYSTRUCTURE) (cold), LOGOUT;
 *                  session 2: LOGIN, SELECT (warm), the same FETCH (warm),
 *                  UID FETCH 1:N BODY.PEEK[] (-b N full bodies), UID SEARCH
 *                  HEADER Subject NEEDLE, UID SEARCH BODY NEEDLE, STORE 1:*
 *                  +FLAGS (\Flagged), then STORE of \Deleted on 1:E (not
 *                  timed) and EXPUNGE (-E E), LOGOUT.
 *                The answers are counted (FETCH responses, literal octets,
 *                search hits, EXPUNGE responses) so that the script can
 *                check both servers gave the same ones.
 *   -x sessions  -c threads, thread i logging in as user (i mod -u), each
 *                doing LOGIN, SELECT INBOX, FETCH 1:* (UID FLAGS
 *                BODY.PEEK[HEADER.FIELDS (...)]), LOGOUT over and over for
 *                -d seconds: sessions per second and their latency.
 * With -S PID, the CPU time and peak memory of the server's process tree
 * are measured across the run (bench_load.h). Prints one line
 * "RESULT key=value ...".
 *
 * Build: cc -O2 -Wall -Wextra -o imapload imapload.c -lpthread
 */
#define _GNU_SOURCE
#include <netinet/tcp.h>
#include <stdint.h>
#include <strings.h>
#include <sys/time.h>
#include "bench_util.h"
#include "bench_load.h"

#define MAX_CONC 1000
#define MAX_USERS 100000
#define NAME_MAX_LEN 256
#define HEAD_MAX 64		/* start of a response line kept to classify it */
#define TAIL_MAX 32		/* end of a physical line kept for "{n}" */

struct opts {
	const char *host, *port, *mode;
	unsigned conc, users, duration, io_timeout, settle, sample_ms;
	unsigned bodies, expunge;
	const char *prefix, *domain, *login, *needle_header, *needle_body;
	long sample_pid;
};

static struct opts opt = {
	.host = "127.0.0.1", .port = "143", .mode = "sessions", .conc = 50,
	.users = 50, .duration = 30, .io_timeout = 300, .settle = 1,
	.sample_ms = 100, .bodies = 1000, .expunge = 1000, .prefix = "user",
	.domain = "bench.test", .login = NULL, .needle_header = "needle",
	.needle_body = "zebracorn", .sample_pid = 0,
};

static struct addrinfo *server_ai;

/* ---- connection ---- */

struct conn {
	int fd;
	unsigned tag;
	char in[262144];
	size_t len, off;
	char status[256];	/* the tagged reply, or why it failed */
};

/* What one command's responses held. */
struct resp {
	unsigned long fetches, expunges, exists, search_hits;
	uint64_t literal_octets;
};

static void *conn_new(void)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c != NULL)
		c->fd = -1;
	return c;
}

static int conn_open(struct conn *c)
{
	c->fd = bench_connect(server_ai, opt.io_timeout);
	if (c->fd < 0) {
		snprintf(c->status, sizeof(c->status), "connect: %s", strerror(errno));
		return -1;
	}
	c->len = c->off = 0;
	c->status[0] = '\0';
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Until the server closes (bounded by the socket timeout): the server,
   not us, then holds the TIME_WAIT. */
static void conn_wait_eof(struct conn *c)
{
	char buf[512];

	while (read(c->fd, buf, sizeof(buf)) > 0)
		;
}

static int fill(struct conn *c)
{
	ssize_t n;

	c->off = c->len = 0;
	do
		n = read(c->fd, c->in, sizeof(c->in));
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		snprintf(c->status, sizeof(c->status), "(%s)",
			 n == 0 ? "connection closed" : strerror(errno));
		return -1;
	}
	c->len = (size_t)n;
	return 0;
}

static int send_all(struct conn *c, const char *buf, size_t n)
{
	size_t off = 0;

	while (off < n) {
		ssize_t w = write(c->fd, buf + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(c->status, sizeof(c->status), "(write: %s)", strerror(errno));
			return -1;
		}
		off += (size_t)w;
	}
	return 0;
}

/* The size of a "{n}" or "{n+}" (or "~{n}") at the end of a physical line
   whose last octets (CRLF excluded) are tail[0..len): 1 with *n_r, or 0. */
static int literal_at_end(const char *tail, size_t len, uint64_t *n_r)
{
	size_t i;
	uint64_t n = 0;

	if (len < 3 || tail[len - 1] != '}')
		return 0;
	i = len - 1;
	if (tail[i - 1] == '+')
		i--;
	size_t end = i;
	while (i > 0 && tail[i - 1] >= '0' && tail[i - 1] <= '9')
		i--;
	if (i == end || i == 0 || tail[i - 1] != '{')
		return 0;
	for (size_t k = i; k < end; k++)
		n = n * 10 + (uint64_t)(tail[k] - '0');
	*n_r = n;
	return 1;
}

/* Classifies one finished logical response line by its start. 1 when it
   is the tagged reply of tag (c->status gets it), else 0. */
static int line_done(struct conn *c, const char *tag, const char *head,
		     size_t hlen, unsigned long spaces, struct resp *r)
{
	size_t tlen = strlen(tag);
	unsigned long num;
	char word[16];

	if (hlen > tlen && memcmp(head, tag, tlen) == 0 && head[tlen] == ' ') {
		snprintf(c->status, sizeof(c->status), "%.*s", (int)hlen, head);
		return 1;
	}
	if (hlen >= 8 && memcmp(head, "* SEARCH", 8) == 0) {
		r->search_hits += spaces - 1;
		return 0;
	}
	if (sscanf(head, "* %lu %15[A-Z]", &num, word) == 2) {
		if (strcmp(word, "FETCH") == 0)
			r->fetches++;
		else if (strcmp(word, "EXPUNGE") == 0)
			r->expunges++;
		else if (strcmp(word, "EXISTS") == 0)
			r->exists = num;
	}
	return 0;
}

/* Reads responses up to the tagged reply of tag, counting them into *r.
   A state machine over the octets, so that lines and literals of any
   length are handled without holding them. 0 when the reply is OK, -1
   otherwise (c->status says what came). */
static int read_response(struct conn *c, const char *tag, struct resp *r)
{
	char head[HEAD_MAX + 1], tail[TAIL_MAX];
	size_t hlen = 0, tlen = 0;
	uint64_t literal = 0;
	unsigned long spaces = 0;
	size_t tag_len = strlen(tag);

	memset(r, 0, sizeof(*r));
	for (;;) {
		if (c->off == c->len && fill(c) < 0)
			return -1;
		if (literal > 0) {
			size_t n = c->len - c->off;

			if (n > literal)
				n = (size_t)literal;
			c->off += n;
			literal -= n;
			r->literal_octets += n;
			continue;
		}
		char ch = c->in[c->off++];

		if (ch != '\n') {
			if (hlen < HEAD_MAX)
				head[hlen++] = ch;
			if (tlen == TAIL_MAX) {
				memmove(tail, tail + 1, TAIL_MAX - 1);
				tlen--;
			}
			tail[tlen++] = ch;
			spaces += ch == ' ';
			continue;
		}
		if (tlen > 0 && tail[tlen - 1] == '\r')
			tlen--;
		if (literal_at_end(tail, tlen, &literal)) {
			tlen = 0;
			continue;	/* the logical line goes on after it */
		}
		head[hlen] = '\0';
		if (hlen > 0 && head[hlen - 1] == '\r')
			head[--hlen] = '\0';
		if (line_done(c, tag, head, hlen, spaces, r))
			return strncmp(head + tag_len, " OK", 3) == 0 ? 0 : -1;
		hlen = tlen = 0;
		spaces = 0;
	}
}

/* Sends "tag command" and reads its responses. 0 for OK, else -1. */
static int command(struct conn *c, struct resp *r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int command(struct conn *c, struct resp *r, const char *fmt, ...)
{
	char buf[1024], tag[16];
	va_list ap;
	int n;

	snprintf(tag, sizeof(tag), "a%u", ++c->tag);
	n = snprintf(buf, sizeof(buf), "%s ", tag);
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf) - 2)
		die("command too long");
	memcpy(buf + n, "\r\n", 2);
	if (send_all(c, buf, (size_t)n + 2) < 0)
		return -1;
	return read_response(c, tag, r);
}

/* Connects, reads the greeting and logs in as name ("pw-" + its local
   part is the password). 0 or -1. */
static int login(struct conn *c, const char *name)
{
	char pw[NAME_MAX_LEN];
	struct resp r;

	snprintf(pw, sizeof(pw), "pw-%.*s", (int)strcspn(name, "@"), name);
	if (conn_open(c) < 0)
		return -1;
	c->tag = 0;
	/* The greeting: one untagged line. */
	for (;;) {
		if (c->off == c->len && fill(c) < 0)
			return -1;
		if (c->in[c->off++] == '\n')
			break;
	}
	if (command(c, &r, "LOGIN \"%s\" \"%s\"", name, pw) < 0)
		return -1;
	return 0;
}

static int logout(struct conn *c)
{
	struct resp r;
	int rc = command(c, &r, "LOGOUT");

	conn_wait_eof(c);
	conn_close(c);
	return rc;
}

/* ---- the ops load ---- */

static double ms_since(double t0)
{
	return (now_s() - t0) * 1000;
}

#define FETCH_ALL "FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE)"

/* Runs one timed step; on failure says which and returns -1. */
#define STEP(name, call)                                                   \
	do {                                                               \
		t0 = now_s();                                              \
		if ((call) < 0) {                                          \
			fprintf(stderr, "imapload: %s failed: %s\n", name, \
				c->status);                                \
			return 1;                                          \
		}                                                          \
		t_ms = ms_since(t0);                                       \
	} while (0)

static int run_ops(void)
{
	struct conn *c = conn_new();
	struct resp r;
	double t0, t_ms;
	unsigned long exists;

	if (c == NULL)
		die("out of memory");
	if (opt.login == NULL)
		die("-x ops needs -L");
	STEP("login", login(c, opt.login));
	printf(" login_ms=%.1f", t_ms);
	STEP("select (cold)", command(c, &r, "SELECT INBOX"));
	exists = r.exists;
	printf(" exists=%lu select_cold_ms=%.1f", exists, t_ms);
	STEP("fetch (cold)", command(c, &r, FETCH_ALL));
	printf(" fetch_cold_ms=%.1f fetch_cold_n=%lu", t_ms, r.fetches);
	logout(c);

	STEP("login again", login(c, opt.login));
	STEP("select (warm)", command(c, &r, "SELECT INBOX"));
	printf(" select_warm_ms=%.1f", t_ms);
	STEP("fetch (warm)", command(c, &r, FETCH_ALL));
	printf(" fetch_warm_ms=%.1f fetch_warm_n=%lu", t_ms, r.fetches);
	STEP("bodies", command(c, &r, "UID FETCH 1:%u BODY.PEEK[]", opt.bodies));
	printf(" bodies_ms=%.1f bodies_n=%lu bodies_octets=%llu", t_ms,
	       r.fetches, (unsigned long long)r.literal_octets);
	STEP("search header", command(c, &r, "UID SEARCH HEADER Subject \"%s\"",
				      opt.needle_header));
	printf(" search_header_ms=%.1f search_header_hits=%lu", t_ms, r.search_hits);
	STEP("search body", command(c, &r, "UID SEARCH BODY \"%s\"", opt.needle_body));
	printf(" search_body_ms=%.1f search_body_hits=%lu", t_ms, r.search_hits);
	STEP("store", command(c, &r, "STORE 1:* +FLAGS (\\Flagged)"));
	printf(" store_ms=%.1f store_n=%lu", t_ms, r.fetches);
	if (command(c, &r, "STORE 1:%u +FLAGS.SILENT (\\Deleted)", opt.expunge) < 0)
		die("STORE \\Deleted failed: %s", c->status);
	STEP("expunge", command(c, &r, "EXPUNGE"));
	printf(" expunge_ms=%.1f expunge_n=%lu", t_ms, r.expunges);
	logout(c);
	free(c);
	return 0;
}

/* ---- the sessions load ---- */

static int one_session(void *conn, unsigned user, char *err, size_t errsize)
{
	struct conn *c = conn;
	char name[NAME_MAX_LEN];
	struct resp r;

	snprintf(name, sizeof(name), "%s%u@%s", opt.prefix, user, opt.domain);
	if (login(c, name) < 0 || command(c, &r, "SELECT INBOX") < 0 ||
	    command(c, &r, "FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS "
		    "(From To Cc Subject Date Message-ID)])") < 0 ||
	    r.fetches == 0 || logout(c) < 0) {
		snprintf(err, errsize, "%s", c->status[0] ? c->status :
			 "no FETCH response");
		conn_close(c);
		return -1;
	}
	return 0;
}

static int run_mode(void)
{
	if (strcmp(opt.mode, "ops") == 0)
		return run_ops();
	return bench_run_sessions(opt.conc, opt.users, opt.duration, conn_new,
				  one_session);
}

/* ---- main ---- */

static void usage(void)
{
	fprintf(stderr,
		"usage: imapload [options]\n"
		"  -H HOST    server (loopback only)             [%s]\n"
		"  -p PORT    port                               [%s]\n"
		"  -x MODE    ops | sessions                     [%s]\n"
		"  -L NAME    the big mailbox's user (ops)\n"
		"  -b N       full bodies fetched (ops)          [%u]\n"
		"  -E N       messages expunged (ops)            [%u]\n"
		"  -n TEXT    header needle (Subject)            [%s]\n"
		"  -N TEXT    body needle                        [%s]\n"
		"  -c N       concurrent sessions (sessions)     [%u]\n"
		"  -u N       users PREFIX0..PREFIX(N-1)@DOMAIN  [%u]\n"
		"  -U PREFIX  user name prefix                   [%s]\n"
		"  -D DOMAIN  user domain                        [%s]\n"
		"  -d SEC     duration (sessions)                [%u]\n"
		"  -t SEC     I/O timeout                        [%u]\n"
		"  -S PID     measure CPU and memory of PID's process tree\n"
		"  -Z SEC     settle before the last CPU sample  [%u]\n"
		"passwords are \"pw-\" and the user's local part.\n",
		opt.host, opt.port, opt.mode, opt.bodies, opt.expunge,
		opt.needle_header, opt.needle_body, opt.conc, opt.users,
		opt.prefix, opt.domain, opt.duration, opt.io_timeout, opt.settle);
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	int o;

	while ((o = getopt(argc, argv, "H:p:x:L:b:E:n:N:c:u:U:D:d:t:S:Z:h")) != -1) {
		switch (o) {
		case 'H': opt.host = optarg; break;
		case 'p': opt.port = optarg; break;
		case 'x': opt.mode = optarg; break;
		case 'L': opt.login = optarg; break;
		case 'b': opt.bodies = parse_ul(optarg, "-b", 1, 10000000); break;
		case 'E': opt.expunge = parse_ul(optarg, "-E", 1, 10000000); break;
		case 'n': opt.needle_header = optarg; break;
		case 'N': opt.needle_body = optarg; break;
		case 'c': opt.conc = parse_ul(optarg, "-c", 1, MAX_CONC); break;
		case 'u': opt.users = parse_ul(optarg, "-u", 1, MAX_USERS); break;
		case 'U': opt.prefix = optarg; break;
		case 'D': opt.domain = optarg; break;
		case 'd': opt.duration = parse_ul(optarg, "-d", 1, 3600); break;
		case 't': opt.io_timeout = parse_ul(optarg, "-t", 1, 3600); break;
		case 'S': opt.sample_pid = (long)parse_ul(optarg, "-S", 1, 1UL << 30); break;
		case 'Z': opt.settle = parse_ul(optarg, "-Z", 0, 60); break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (strcmp(opt.mode, "ops") != 0 && strcmp(opt.mode, "sessions") != 0)
		die("bad -x %s (ops or sessions)", opt.mode);
	if (strlen(opt.prefix) + strlen(opt.domain) > NAME_MAX_LEN - 16 ||
	    (opt.login != NULL && strlen(opt.login) > NAME_MAX_LEN - 16) ||
	    strlen(opt.needle_header) > 200 || strlen(opt.needle_body) > 200 ||
	    strpbrk(opt.needle_header, "\"\\\r\n") != NULL ||
	    strpbrk(opt.needle_body, "\"\\\r\n") != NULL)
		die("names or needles too long, or holding quotes");
}

int main(int argc, char **argv)
{
	bench_prog = "imapload";
	parse_args(argc, argv);
	server_ai = resolve_loopback(opt.host, opt.port);
	bench_sample_ms = opt.sample_ms;
	return bench_measure(opt.mode, opt.sample_pid, opt.settle, run_mode);
}
