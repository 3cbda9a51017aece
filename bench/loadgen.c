/*
 * loadgen: SMTP load generator for surel's benchmark (bench/run). Standalone
 * on purpose (no surel library) so that it measures surel and Postfix alike.
 * Threads, one SMTP client each; optional end-to-end wait on the Maildirs and
 * sampling of a server's process tree for CPU time and peak memory.
 *
 * Optionally the submission client's part: STARTTLS (-e) and AUTH PLAIN
 * (-a), a fixed message from a file (-F, e.g. one signed ahead so that a
 * verifier has work), and a source address (-B, to be outside a server's
 * mynetworks on loopback).
 *
 * Build: cc -O2 -Wall -Wextra -o loadgen loadgen.c -lpthread -lssl -lcrypto
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include "bench_util.h"

#define MAX_CONC 1000
#define MAX_RCPTS 100
#define MAX_SIZE (64UL * 1024 * 1024)
#define MAX_TOTAL 10000000UL
#define REPLY_MAX_LINES 64
#define LINE_MAX_LEN 2048
#define CONNECT_RETRIES 5
#define WALK_MAX_DEPTH 4
#define NCODES 600

/* Failure classes that have no SMTP reply code. */
enum fail_class { FAIL_CONNECT, FAIL_IO, FAIL_PROTO, FAIL_NCLASSES };
static const char *const fail_names[FAIL_NCLASSES] = { "connect", "io", "proto" };

struct opts {
	const char *host;
	const char *port;
	unsigned conc;
	unsigned long total;
	size_t size;
	unsigned users;
	const char *domain;
	unsigned domains;
	const char *user_prefix;
	unsigned rcpts;
	bool pipelining;
	unsigned per_conn;
	const char *from;
	const char *marker;
	unsigned io_timeout;
	unsigned time_limit;
	const char *wait_dir;
	unsigned wait_timeout;
	long sample_pid;
	unsigned sample_ms;
	unsigned settle;
	bool verbose;
	bool starttls;
	const char *auth;		/* "user:password" for AUTH PLAIN */
	const char *message_file;
	const char *bind_addr;
};

static struct opts opt = {
	.host = "127.0.0.1", .port = "25", .conc = 1, .total = 100,
	.size = 1024, .users = 10, .domain = "bench.test", .domains = 0, .user_prefix = "user",
	.rcpts = 1, .pipelining = true, .per_conn = 10,
	.from = "sender@bench.example", .marker = NULL, .io_timeout = 60,
	.time_limit = 600, .wait_dir = NULL, .wait_timeout = 300,
	.sample_pid = 0, .sample_ms = 100, .settle = 0, .verbose = false,
};

/* Shared run state. */
static struct addrinfo *server_ai;
static char run_id[64];
static char date_hdr[64];
static char *body;
static size_t body_len;
static unsigned long next_seq;
static double deadline;
static uint32_t *latency_us;		/* per seq; 0 = not accepted */
static SSL_CTX *tls_ctx;
static char auth_plain[600];		/* "AUTH PLAIN <base64>\r\n" */
static bool body_is_message;		/* -F: body holds header and body */

struct stats {
	unsigned long accepted;
	unsigned long deliveries;	/* accepted recipients of accepted messages */
	unsigned long failed;
	unsigned long connects;
	unsigned long codes[NCODES];
	unsigned long classes[FAIL_NCLASSES];
};

struct conn {
	int fd;
	SSL *ssl;			/* after STARTTLS */
	char in[8192];
	size_t in_len, in_off;
	bool pipelining;
	char last_reply[256];
};

struct worker {
	pthread_t thread;
	unsigned id;
	struct stats st;
};

/* ---- connection I/O ---- */

static int conn_open(struct conn *c)
{
	c->fd = bench_connect_from(server_ai, opt.bind_addr, opt.io_timeout);
	if (c->fd < 0)
		return -1;
	c->in_len = c->in_off = 0;
	c->pipelining = false;
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->ssl != NULL) {
		SSL_free(c->ssl);	/* no close_notify: QUIT was the goodbye */
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* One write: SSL_write of the first buffer under TLS, else writev. */
static ssize_t conn_writev(struct conn *c, const struct iovec *iov, int iovcnt)
{
	if (c->ssl == NULL)
		return writev(c->fd, iov, iovcnt);
	int n = SSL_write(c->ssl, iov->iov_base, (int)(iov->iov_len > 1 << 30 ? 1 << 30 : iov->iov_len));

	if (n <= 0) {
		errno = EIO;
		return -1;
	}
	return n;
}

static ssize_t conn_read(struct conn *c, void *buf, size_t len)
{
	if (c->ssl == NULL)
		return read(c->fd, buf, len);
	int n = SSL_read(c->ssl, buf, (int)len);

	return n > 0 ? n : -1;
}

static int write_all_iov(struct conn *c, struct iovec *iov, int iovcnt)
{
	while (iovcnt > 0) {
		ssize_t n = conn_writev(c, iov, iovcnt);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
			n -= iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= n;
		}
	}
	return 0;
}

static int write_all(struct conn *c, const char *p, size_t len)
{
	struct iovec iov = { .iov_base = (void *)p, .iov_len = len };

	return write_all_iov(c, &iov, 1);
}

/* Reads one CRLF line (without CRLF) into line; -1 on EOF/timeout/overlong. */
static int read_line(struct conn *c, char *line, size_t max)
{
	size_t len = 0;

	for (;;) {
		while (c->in_off < c->in_len) {
			char ch = c->in[c->in_off++];

			if (ch == '\n') {
				if (len > 0 && line[len - 1] == '\r')
					len--;
				line[len] = '\0';
				return 0;
			}
			if (len + 1 >= max)
				return -1;
			line[len++] = ch;
		}
		ssize_t n = conn_read(c, c->in, sizeof(c->in));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c->in_len = (size_t)n;
		c->in_off = 0;
	}
}

/*
 * Reads a whole (possibly multi-line) reply. Returns its code (100..599),
 * -1 on I/O error, -2 on a malformed reply. When ehlo_caps is set, notes
 * PIPELINING.
 */
static int read_reply(struct conn *c, bool ehlo_caps)
{
	char line[LINE_MAX_LEN];
	int code = -1;

	for (int i = 0; i < REPLY_MAX_LINES; i++) {
		if (read_line(c, line, sizeof(line)) < 0)
			return -1;
		if (strlen(line) < 3 || !isdigit((unsigned char)line[0]) ||
		    !isdigit((unsigned char)line[1]) || !isdigit((unsigned char)line[2]) ||
		    (line[3] != '\0' && line[3] != ' ' && line[3] != '-'))
			return -2;
		int this_code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');

		if (this_code < 100 || (code >= 0 && this_code != code))
			return -2;
		code = this_code;
		if (ehlo_caps && line[3] != '\0' && strncasecmp(line + 4, "PIPELINING", 10) == 0)
			c->pipelining = true;
		if (line[3] != '-') {
			snprintf(c->last_reply, sizeof(c->last_reply), "%.200s", line);
			return code;
		}
	}
	return -2;
}

/* ---- the SMTP dialogue ---- */

static void note_failure(struct stats *st, int code)
{
	st->failed++;
	if (code == -1)
		st->classes[FAIL_IO]++;
	else if (code == -2)
		st->classes[FAIL_PROTO]++;
	else
		st->codes[code]++;
}

static int say_ehlo(struct conn *c)
{
	static const char ehlo[] = "EHLO loadgen.bench.test\r\n";

	c->pipelining = false;
	if (write_all(c, ehlo, sizeof(ehlo) - 1) < 0)
		return -1;
	return read_reply(c, true) == 250 ? 0 : -1;
}

/* STARTTLS, the handshake (no certificate check: a private test server)
   and EHLO again (RFC 3207: what was said before is forgotten). */
static int start_tls(struct conn *c)
{
	if (write_all(c, "STARTTLS\r\n", 10) < 0 || read_reply(c, false) != 220)
		return -1;
	if (c->in_off != c->in_len)
		return -1;		/* octets after 220: injection, refuse */
	c->ssl = SSL_new(tls_ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 || SSL_connect(c->ssl) != 1)
		return -1;
	return say_ehlo(c);
}

/* Connects, reads the greeting, says EHLO (then STARTTLS and AUTH when
   asked): -1 when ready, else a fail_class. */
static int session_start(struct conn *c)
{
	if (conn_open(c) < 0)
		return FAIL_CONNECT;
	if (read_reply(c, false) != 220 || say_ehlo(c) < 0)
		goto fail;
	if (opt.starttls && start_tls(c) < 0)
		goto fail;
	if (opt.auth != NULL && (write_all(c, auth_plain, strlen(auth_plain)) < 0 ||
				 read_reply(c, false) != 235))
		goto fail;
	if (opt.pipelining && !c->pipelining && opt.verbose)
		fprintf(stderr, "loadgen: server does not offer PIPELINING\n");
	return -1;
fail:
	if (opt.verbose)
		fprintf(stderr, "loadgen: session start failed: %s\n", c->last_reply);
	conn_close(c);
	return FAIL_IO;
}

static void session_quit(struct conn *c)
{
	if (c->fd < 0)
		return;
	if (write_all(c, "QUIT\r\n", 6) == 0)
		(void)read_reply(c, false);
	conn_close(c);
}

/* With -D, message seq goes to domain d(seq mod D + 1).DOMAIN: every
   destination gets the same share, in turn (bench/relay's next hops). */
static void rcpt_addr(unsigned long seq, unsigned r, char *out, size_t max)
{
	unsigned long n = (seq * opt.rcpts + r) % opt.users;

	if (opt.domains > 0)
		snprintf(out, max, "%s%lu@d%lu.%s", opt.user_prefix, n,
			 seq % opt.domains + 1, opt.domain);
	else
		snprintf(out, max, "%s%lu@%s", opt.user_prefix, n, opt.domain);
}

/* Envelope commands of one transaction, pipelined or not. */
static size_t build_envelope(unsigned long seq, char *out, size_t max)
{
	size_t len;
	char rcpt[256];

	len = snprintf(out, max, "MAIL FROM:<%s> SIZE=%zu\r\n", opt.from, opt.size);
	for (unsigned r = 0; r < opt.rcpts; r++) {
		rcpt_addr(seq, r, rcpt, sizeof(rcpt));
		len += snprintf(out + len, max - len, "RCPT TO:<%s>\r\n", rcpt);
	}
	len += snprintf(out + len, max - len, "DATA\r\n");
	return len;
}

/*
 * Sends the envelope and reads its replies. Returns 0 when DATA got 354,
 * else the failing code (or -1/-2); *need_rset says the transaction must be
 * reset before the next one.
 */
static int send_envelope(struct conn *c, const char *env, size_t env_len, bool *need_rset,
			 unsigned *ok_rcpts_r)
{
	int fail = 0, code;
	unsigned ok_rcpts = 0;
	const char *p = env;
	bool pipe = opt.pipelining && c->pipelining;

	*need_rset = false;
	if (pipe && write_all(c, env, env_len) < 0)
		return -1;
	for (unsigned step = 0; step < opt.rcpts + 2; step++) {
		const char *eol = memchr(p, '\n', env_len - (p - env));

		if (!pipe && write_all(c, p, eol + 1 - p) < 0)
			return -1;
		p = eol + 1;
		code = read_reply(c, false);
		if (code < 0)
			return code;
		if (step == 0) {
			if (code / 100 != 2)
				fail = code;
			else
				*need_rset = true;
		} else if (step <= opt.rcpts) {
			if (code / 100 == 2)
				ok_rcpts++;
			else if (fail == 0 && ok_rcpts == 0 && step == opt.rcpts)
				fail = code;
		} else {
			*ok_rcpts_r = ok_rcpts;
			if (code == 354)
				return fail == 0 ? 0 : -2;	/* 354 after a failed MAIL */
			return fail != 0 ? fail : code;
		}
		/* Without pipelining, stop at the first fatal step. */
		if (!pipe && fail != 0)
			return fail;
		if (!pipe && step == opt.rcpts && ok_rcpts == 0)
			return code;
	}
	return -2;
}

static size_t build_header(unsigned long seq, char *out, size_t max)
{
	char rcpt[256];

	if (body_is_message)	/* only the marker: the file's own header follows */
		return snprintf(out, max, "X-Bench-Marker: %s-%lu\r\n", run_id, seq);
	rcpt_addr(seq, 0, rcpt, sizeof(rcpt));
	return snprintf(out, max,
			"From: Bench Sender <%s>\r\n"
			"To: <%s>\r\n"
			"Subject: loadgen %s message %lu\r\n"
			"Date: %s\r\n"
			"Message-ID: <%s.%lu@loadgen.bench.test>\r\n"
			"X-Bench-Marker: %s-%lu\r\n"
			"\r\n",
			opt.from, rcpt, run_id, seq, date_hdr, run_id, seq, run_id, seq);
}

/* One message: 1 accepted, 0 refused (connection still usable), -1 dead connection. */
static int send_message(struct conn *c, unsigned long seq, struct stats *st)
{
	char env[MAX_RCPTS * 300 + 200], hdr[1024];
	size_t env_len = build_envelope(seq, env, sizeof(env));
	size_t hdr_len = build_header(seq, hdr, sizeof(hdr));
	double t0 = now_s();
	bool need_rset;
	unsigned ok_rcpts = 0;
	int code;

	code = send_envelope(c, env, env_len, &need_rset, &ok_rcpts);
	if (code == 0) {
		struct iovec iov[3] = {
			{ .iov_base = hdr, .iov_len = hdr_len },
			{ .iov_base = body, .iov_len = body_len },
			{ .iov_base = ".\r\n", .iov_len = 3 },
		};

		if (write_all_iov(c, iov, 3) < 0)
			code = -1;
		else
			code = read_reply(c, false);
		if (code == 250) {
			double us = (now_s() - t0) * 1e6;

			latency_us[seq] = us < 1 ? 1 : us > 4e9 ? 4000000000u : (uint32_t)us;
			st->accepted++;
			st->deliveries += ok_rcpts;
			return 1;
		}
		need_rset = code >= 0;
	}
	note_failure(st, code);
	if (opt.verbose)
		fprintf(stderr, "loadgen: message %lu failed (%d): %s\n", seq, code, c->last_reply);
	if (code < 0)
		return -1;
	if (need_rset && (write_all(c, "RSET\r\n", 6) < 0 || read_reply(c, false) != 250))
		return -1;
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct conn c = { .fd = -1 };
	unsigned on_conn = 0, connect_fails = 0;

	for (;;) {
		if (now_s() > deadline)
			break;
		if (c.fd < 0) {
			int rc = session_start(&c);

			if (rc >= 0) {
				w->st.classes[rc]++;
				if (++connect_fails >= CONNECT_RETRIES)
					break;
				usleep(100000);
				continue;
			}
			w->st.connects++;
			connect_fails = 0;
			on_conn = 0;
		}
		unsigned long seq = __atomic_fetch_add(&next_seq, 1, __ATOMIC_RELAXED);

		if (seq >= opt.total)
			break;
		if (send_message(&c, seq, &w->st) < 0) {
			conn_close(&c);
			continue;
		}
		if (++on_conn >= opt.per_conn)
			session_quit(&c);
	}
	session_quit(&c);
	return NULL;
}

/* ---- message body ---- */

/* Body of fixed lines so that header + body come to opt.size bytes. */
static void build_body(void)
{
	char hdr[1024];
	size_t hdr_len = build_header(opt.total, hdr, sizeof(hdr));
	size_t want = opt.size > hdr_len + 2 ? opt.size - hdr_len : 2;
	size_t pos = 0;
	unsigned line = 0;

	body = malloc(want + 1);
	if (body == NULL)
		die("out of memory");
	while (pos < want) {
		size_t left = want - pos;
		size_t len = left > 78 ? 76 : left - 2;	/* keep 2 for CRLF */

		if (left > 78 && left - 78 < 2)
			len = 74;		/* never leave a lone 1-byte tail */
		for (size_t i = 0; i < len; i++)
			body[pos + i] = 'a' + (char)((line + i) % 26);
		pos += len;
		body[pos++] = '\r';
		body[pos++] = '\n';
		line++;
	}
	body_len = pos;
}

/* -F: the file as the message, CRLF line ends and dot-stuffed, sent as is
   to every recipient (after the X-Bench-Marker line), so that a signature
   made ahead over it verifies in every copy. */
static void load_message(void)
{
	FILE *f = fopen(opt.message_file, "r");
	char line[LINE_MAX_LEN];
	size_t cap = 1 << 16;

	if (f == NULL)
		die("%s: %s", opt.message_file, strerror(errno));
	body = malloc(cap);
	body_len = 0;
	while (body != NULL && fgets(line, sizeof(line), f) != NULL) {
		size_t len = strcspn(line, "\r\n");

		if (line[len] == '\0' && !feof(f))
			die("%s: a line longer than %d octets", opt.message_file, LINE_MAX_LEN - 2);
		while (body != NULL && body_len + len + 4 > cap)
			body = realloc(body, cap *= 2);
		if (body == NULL)
			break;
		if (line[0] == '.')
			body[body_len++] = '.';
		memcpy(body + body_len, line, len);
		body_len += len;
		body[body_len++] = '\r';
		body[body_len++] = '\n';
		if (body_len > MAX_SIZE)
			die("%s: over %lu octets", opt.message_file, MAX_SIZE);
	}
	if (body == NULL)
		die("out of memory");
	fclose(f);
	body_is_message = true;
	opt.size = body_len;
}

/* -a user:password: the AUTH PLAIN command with its initial response. */
static void build_auth(void)
{
	unsigned char raw[300];
	const char *colon = strchr(opt.auth, ':');
	size_t ulen, plen;

	if (colon == NULL)
		die("-a wants user:password");
	ulen = (size_t)(colon - opt.auth);
	plen = strlen(colon + 1);
	if (ulen + plen + 2 > sizeof(raw))
		die("-a: too long");
	raw[0] = '\0';		/* no authorization identity */
	memcpy(raw + 1, opt.auth, ulen);
	raw[1 + ulen] = '\0';
	memcpy(raw + 2 + ulen, colon + 1, plen);
	memcpy(auth_plain, "AUTH PLAIN ", 11);
	int n = EVP_EncodeBlock((unsigned char *)auth_plain + 11, raw, (int)(ulen + plen + 2));

	memcpy(auth_plain + 11 + n, "\r\n", 3);
}

/* ---- Maildir wait ---- */

/* Counts entries of every directory named "new" under dir (bounded depth). */
static long count_new(const char *dir, int depth, bool is_new)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	long n = 0;
	char path[4096];

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (is_new) {
			n++;
			continue;
		}
		if (depth >= WALK_MAX_DEPTH || de->d_type != DT_DIR)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path))
			continue;
		n += count_new(path, depth + 1, strcmp(de->d_name, "new") == 0);
	}
	closedir(d);
	return n;
}

/* ---- server process tree sampling ---- */

struct proc_sample {
	double cpu_s;		/* utime+stime+cutime+cstime of the live tree */
	long rss_kb;
	long pss_kb;
	int nprocs;
};

/* The server's process tree at one instant (only its members are kept). */
struct tree_snap {
	struct proc_info p[MAX_PROCS];
	size_t n;
};

/* Reads every process, keeps root and its descendants (found via ppid). */
static void snap_tree(long root, struct tree_snap *t)
{
	static struct proc_info all[MAX_PROCS];
	size_t n = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;

	t->n = 0;
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL && n < MAX_PROCS) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if (read_stat(strtol(de->d_name, NULL, 10), &all[n])) {
			all[n].in_tree = all[n].pid == root;
			n++;
		}
	}
	closedir(d);
	for (bool changed = true; changed;) {
		changed = false;
		for (size_t i = 0; i < n; i++) {
			if (all[i].in_tree)
				continue;
			for (size_t j = 0; j < n; j++)
				if (all[j].in_tree && all[j].pid == all[i].ppid) {
					all[i].in_tree = changed = true;
					break;
				}
		}
	}
	for (size_t i = 0; i < n; i++)
		if (all[i].in_tree)
			t->p[t->n++] = all[i];
}

static void sample_tree(long root, bool with_pss, struct proc_sample *s, struct tree_snap *t)
{
	long page_kb = sysconf(_SC_PAGESIZE) / 1024;
	double hz = (double)sysconf(_SC_CLK_TCK);

	memset(s, 0, sizeof(*s));
	snap_tree(root, t);
	for (size_t i = 0; i < t->n; i++) {
		const struct proc_info *pi = &t->p[i];

		s->cpu_s += (pi->ut + pi->st + pi->cut + pi->cst) / hz;
		s->rss_kb += pi->rss_pages * page_kb;
		if (with_pss)
			s->pss_kb += read_pss_kb(pi->pid);
		s->nprocs++;
	}
}

static const struct proc_info *snap_find(const struct tree_snap *t, long pid)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->p[i].pid == pid)
			return &t->p[i];
	return NULL;
}

struct comm_cpu {
	char comm[32];
	double user_ms, sys_ms;
};

static void split_add(struct comm_cpu *c, size_t *n, const char *comm, double u, double s)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp(c[i].comm, comm) == 0)
			break;
	if (i == *n) {
		if (*n >= 64)
			return;
		snprintf(c[i].comm, sizeof(c[i].comm), "%s", comm);
		c[i].user_ms = c[i].sys_ms = 0;
		(*n)++;
	}
	c[i].user_ms += u;
	c[i].sys_ms += s;
}

/*
 * Prints " cpu_split=comm:user/sys,..." in ms per message between two
 * snapshots. What exited in between is in the reapers' cutime/cstime: it is
 * reported as "exited" (less what those processes had used before a).
 */
static void print_cpu_split(const struct tree_snap *a, const struct tree_snap *b,
			    unsigned long msgs)
{
	static struct comm_cpu c[64];
	size_t n = 0;
	double ms = 1000.0 / (double)sysconf(_SC_CLK_TCK) / (msgs > 0 ? msgs : 1);

	for (size_t i = 0; i < b->n; i++) {
		const struct proc_info *pb = &b->p[i], *pa = snap_find(a, pb->pid);
		double u = pb->ut, s = pb->st, cu = pb->cut, cs = pb->cst;

		if (pa != NULL) {
			u -= pa->ut, s -= pa->st, cu -= pa->cut, cs -= pa->cst;
		}
		split_add(c, &n, pb->comm, u * ms, s * ms);
		split_add(c, &n, "exited", cu * ms, cs * ms);
	}
	for (size_t i = 0; i < a->n; i++)
		if (snap_find(b, a->p[i].pid) == NULL)
			split_add(c, &n, "exited", -(double)a->p[i].ut * ms, -(double)a->p[i].st * ms);
	printf(" cpu_split=");
	for (size_t i = 0; i < n; i++)
		printf("%s%s:%.3f/%.3f", i > 0 ? "," : "", c[i].comm, c[i].user_ms, c[i].sys_ms);
}

/* Busy CPU seconds of the whole machine (all CPUs, kernel threads too). */
static double machine_busy_s(void)
{
	FILE *f = fopen("/proc/stat", "re");
	unsigned long long v[8] = { 0 };
	double hz = (double)sysconf(_SC_CLK_TCK);

	if (f == NULL)
		return 0;
	/* cpu user nice system idle iowait irq softirq steal */
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		   &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
		memset(v, 0, sizeof(v));
	fclose(f);
	return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / hz;
}

/* CPU seconds used by this process so far (all threads). */
static double self_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct proc_sample peak;
static volatile bool sampler_stop;

static void *sampler_main(void *arg)
{
	static struct tree_snap t;

	(void)arg;
	while (!sampler_stop) {
		struct proc_sample s;

		sample_tree(opt.sample_pid, true, &s, &t);
		if (s.rss_kb > peak.rss_kb)
			peak.rss_kb = s.rss_kb;
		if (s.pss_kb > peak.pss_kb)
			peak.pss_kb = s.pss_kb;
		if (s.nprocs > peak.nprocs)
			peak.nprocs = s.nprocs;
		usleep(opt.sample_ms * 1000);
	}
	return NULL;
}

/* ---- reporting ---- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double pct_ms(const uint32_t *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	size_t i = (size_t)(p * (n - 1) + 0.5);

	return v[i] / 1000.0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: loadgen [options]\n"
		"  -H host        server (loopback only)       [127.0.0.1]\n"
		"  -p port        server port                  [25]\n"
		"  -c N           concurrent connections        [1]\n"
		"  -n N           total messages                [100]\n"
		"  -s BYTES       message size (header+body)    [1024]\n"
		"  -u N           recipients cycle user0..user(N-1) [10]\n"
		"  -d DOMAIN      recipient domain              [bench.test]\n"
		"  -D N           recipient domains d1.DOMAIN..dN.DOMAIN, message\n"
		"                 by message in turn            [0: DOMAIN only]\n"
		"  -U PREFIX      recipient local-part prefix   [user]\n"
		"  -r N           recipients per message        [1]\n"
		"  -P 0|1         use PIPELINING if offered     [1]\n"
		"  -m N           messages per connection       [10]\n"
		"  -f ADDR        envelope sender               [sender@bench.example]\n"
		"  -M ID          run marker (X-Bench-Marker: ID-seq) [pid.time]\n"
		"  -t SEC         per-I/O timeout               [60]\n"
		"  -T SEC         stop taking new messages after SEC [600]\n"
		"  -w DIR         after sending, wait until DIR/**/new/ holds one file per\n"
		"                 accepted recipient (e2e_rate counts those files)\n"
		"  -W SEC         bound of that wait            [300]\n"
		"  -S PID         sample CPU and memory of PID and its descendants\n"
		"  -i MS          sampling interval             [100]\n"
		"  -Z SEC         with -S: wait SEC after the end before the last CPU\n"
		"                 sample (late clean-up work; not in the timing) [0]\n"
		"  -e             STARTTLS after EHLO (certificate not checked)\n"
		"  -a USER:PASS   AUTH PLAIN (after STARTTLS with -e)\n"
		"  -F FILE        send FILE as every message (its own header; -s ignored)\n"
		"  -B ADDR        connect from this loopback address\n"
		"  -v             verbose failures\n"
		"exit: 0 all accepted (and delivered with -w), 1 failures, 2 usage,\n"
		"      3 delivery wait timed out\n");
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	int ch;

	while ((ch = getopt(argc, argv, "H:p:c:n:s:u:d:D:U:r:P:m:f:M:t:T:w:W:S:i:Z:ea:F:B:vh")) != -1) {
		switch (ch) {
		case 'H': opt.host = optarg; break;
		case 'p': opt.port = optarg; break;
		case 'c': opt.conc = parse_ul(optarg, "concurrency", 1, MAX_CONC); break;
		case 'n': opt.total = parse_ul(optarg, "total", 1, MAX_TOTAL); break;
		case 's': opt.size = parse_ul(optarg, "size", 64, MAX_SIZE); break;
		case 'u': opt.users = parse_ul(optarg, "users", 1, 1000000); break;
		case 'd': opt.domain = optarg; break;
		case 'D': opt.domains = parse_ul(optarg, "domains", 1, 1000); break;
		case 'U': opt.user_prefix = optarg; break;
		case 'r': opt.rcpts = parse_ul(optarg, "recipients", 1, MAX_RCPTS); break;
		case 'P': opt.pipelining = parse_ul(optarg, "pipelining", 0, 1); break;
		case 'm': opt.per_conn = parse_ul(optarg, "messages per connection", 1, 1000000); break;
		case 'f': opt.from = optarg; break;
		case 'M': opt.marker = optarg; break;
		case 't': opt.io_timeout = parse_ul(optarg, "timeout", 1, 3600); break;
		case 'T': opt.time_limit = parse_ul(optarg, "time limit", 1, 86400); break;
		case 'w': opt.wait_dir = optarg; break;
		case 'W': opt.wait_timeout = parse_ul(optarg, "wait timeout", 1, 86400); break;
		case 'S': opt.sample_pid = parse_ul(optarg, "pid", 1, 1UL << 30); break;
		case 'i': opt.sample_ms = parse_ul(optarg, "interval", 10, 10000); break;
		case 'Z': opt.settle = parse_ul(optarg, "settle", 0, 60); break;
		case 'e': opt.starttls = true; break;
		case 'a': opt.auth = optarg; break;
		case 'F': opt.message_file = optarg; break;
		case 'B': opt.bind_addr = optarg; break;
		case 'v': opt.verbose = true; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (strlen(opt.from) > 200 || strlen(opt.domain) > 100 || strlen(opt.user_prefix) > 50 ||
	    strpbrk(opt.from, "<>\r\n ") || strpbrk(opt.domain, "<>\r\n ") ||
	    strpbrk(opt.user_prefix, "<>\r\n @"))
		die("bad sender, domain or prefix");
	if (opt.marker != NULL && (strlen(opt.marker) >= sizeof(run_id) ||
				   strpbrk(opt.marker, "<>\r\n @")))
		die("bad marker");
}

static void print_results(struct stats *tot, double t_start, double t_sent)
{
	uint32_t *lat = malloc(sizeof(*lat) * opt.total);
	size_t nlat = 0;
	double elapsed = t_sent - t_start;

	if (lat == NULL)
		die("out of memory");
	for (unsigned long i = 0; i < opt.total; i++)
		if (latency_us[i] != 0)
			lat[nlat++] = latency_us[i];
	qsort(lat, nlat, sizeof(*lat), cmp_u32);
	printf("loadgen: %s:%s conc=%u total=%lu size=%zu rcpts=%u users=%u "
	       "pipelining=%s per_conn=%u marker=%s\n",
	       opt.host, opt.port, opt.conc, opt.total, opt.size, opt.rcpts, opt.users,
	       opt.pipelining ? "on" : "off", opt.per_conn, run_id);
	printf("accepted %lu, failed %lu, connections %lu\n", tot->accepted, tot->failed,
	       tot->connects);
	if (tot->failed > 0 || tot->classes[FAIL_CONNECT] > 0) {
		printf("failures:");
		for (int i = 0; i < NCODES; i++)
			if (tot->codes[i] > 0)
				printf(" %d:%lu", i, tot->codes[i]);
		for (int i = 0; i < FAIL_NCLASSES; i++)
			if (tot->classes[i] > 0)
				printf(" %s:%lu", fail_names[i], tot->classes[i]);
		printf("\n");
	}
	printf("smtp: %.3f s, %.1f msg/s; latency ms p50 %.2f p90 %.2f p99 %.2f max %.2f\n",
	       elapsed, elapsed > 0 ? tot->accepted / elapsed : 0, pct_ms(lat, nlat, 0.5),
	       pct_ms(lat, nlat, 0.9), pct_ms(lat, nlat, 0.99), pct_ms(lat, nlat, 1.0));
	printf("RESULT accepted=%lu failed=%lu smtp_s=%.3f smtp_rate=%.1f p50_ms=%.2f "
	       "p90_ms=%.2f p99_ms=%.2f max_ms=%.2f",
	       tot->accepted, tot->failed, elapsed, elapsed > 0 ? tot->accepted / elapsed : 0,
	       pct_ms(lat, nlat, 0.5), pct_ms(lat, nlat, 0.9), pct_ms(lat, nlat, 0.99),
	       pct_ms(lat, nlat, 1.0));
	free(lat);
}

int main(int argc, char **argv)
{
	bench_prog = "loadgen";
	struct worker *workers;
	struct stats tot = { 0 };
	pthread_t sampler;
	struct proc_sample cpu0 = { 0 }, cpu1 = { 0 };
	static struct tree_snap snap0, snap1;
	double busy0, busy1, self0, self1;
	long base_count = 0;
	int rc = 0;

	parse_args(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	server_ai = resolve_loopback(opt.host, opt.port);
	if (opt.marker != NULL)
		snprintf(run_id, sizeof(run_id), "%s", opt.marker);
	else
		snprintf(run_id, sizeof(run_id), "%ld.%ld", (long)getpid(), (long)time(NULL));
	time_t t = time(NULL);
	struct tm tm;

	strftime(date_hdr, sizeof(date_hdr), "%a, %d %b %Y %H:%M:%S +0000", gmtime_r(&t, &tm));
	if (opt.message_file != NULL)
		load_message();
	else
		build_body();
	if (opt.auth != NULL)
		build_auth();
	if (opt.starttls) {
		tls_ctx = SSL_CTX_new(TLS_client_method());
		if (tls_ctx == NULL)
			die("SSL_CTX_new failed");
		SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL);
	}
	latency_us = calloc(opt.total, sizeof(*latency_us));
	workers = calloc(opt.conc, sizeof(*workers));
	if (latency_us == NULL || workers == NULL)
		die("out of memory");
	if (opt.wait_dir != NULL)
		base_count = count_new(opt.wait_dir, 0, false);
	if (opt.sample_pid > 0) {
		sample_tree(opt.sample_pid, false, &cpu0, &snap0);
		if (cpu0.nprocs == 0)
			die("no process %ld to sample", opt.sample_pid);
		if (pthread_create(&sampler, NULL, sampler_main, NULL) != 0)
			die("pthread_create failed");
	}

	busy0 = machine_busy_s();
	self0 = self_cpu_s();
	double t_start = now_s();

	deadline = t_start + opt.time_limit;
	for (unsigned i = 0; i < opt.conc; i++) {
		workers[i].id = i;
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0)
			die("pthread_create failed");
	}
	for (unsigned i = 0; i < opt.conc; i++) {
		pthread_join(workers[i].thread, NULL);
		tot.accepted += workers[i].st.accepted;
		tot.deliveries += workers[i].st.deliveries;
		tot.failed += workers[i].st.failed;
		tot.connects += workers[i].st.connects;
		for (int j = 0; j < NCODES; j++)
			tot.codes[j] += workers[i].st.codes[j];
		for (int j = 0; j < FAIL_NCLASSES; j++)
			tot.classes[j] += workers[i].st.classes[j];
	}

	double t_sent = now_s(), t_done = t_sent;
	long delivered = 0;

	if (tot.accepted + tot.failed < opt.total)
		tot.failed = opt.total - tot.accepted;	/* never attempted: count as failed */
	if (opt.wait_dir != NULL) {
		double wait_end = t_sent + opt.wait_timeout;

		for (;;) {
			delivered = count_new(opt.wait_dir, 0, false) - base_count;
			t_done = now_s();
			if (delivered >= (long)tot.deliveries || t_done > wait_end)
				break;
			usleep(5000);
		}
	}
	if (opt.sample_pid > 0) {
		sleep(opt.settle);
		sampler_stop = true;
		pthread_join(sampler, NULL);
		sample_tree(opt.sample_pid, false, &cpu1, &snap1);
	}
	busy1 = machine_busy_s();
	self1 = self_cpu_s();
	print_results(&tot, t_start, t_sent);
	if (opt.wait_dir != NULL) {
		double e2e = t_done - t_start;

		printf(" deliveries=%lu delivered=%ld e2e_s=%.3f e2e_rate=%.1f", tot.deliveries,
		       delivered, e2e,
		       e2e > 0 ? delivered / e2e : 0);
		if (delivered < (long)tot.deliveries)
			rc = 3;
	}
	if (opt.sample_pid > 0) {
		double cpu_ms = (cpu1.cpu_s - cpu0.cpu_s) * 1000;

		printf(" cpu_ms=%.0f cpu_ms_per_msg=%.3f peak_rss_kb=%ld peak_pss_kb=%ld "
		       "peak_procs=%d",
		       cpu_ms, tot.accepted > 0 ? cpu_ms / tot.accepted : 0, peak.rss_kb,
		       peak.pss_kb, peak.nprocs);
		print_cpu_split(&snap0, &snap1, tot.accepted);
	}
	/* Everything but loadgen itself: the server, the kernel's writeback and
	   journal threads, and whatever else runs (should be idle). */
	double other_ms = ((busy1 - busy0) - (self1 - self0)) * 1000;

	printf(" machine_cpu_ms_per_msg=%.3f loadgen_cpu_ms_per_msg=%.3f",
	       tot.accepted > 0 ? other_ms / tot.accepted : 0,
	       tot.accepted > 0 ? (self1 - self0) * 1000 / tot.accepted : 0);
	printf("\n");
	if (opt.wait_dir != NULL)
		printf("end-to-end: %ld delivered in %.3f s, %.1f msg/s%s\n", delivered,
		       t_done - t_start, t_done > t_start ? delivered / (t_done - t_start) : 0,
		       rc == 3 ? " (WAIT TIMED OUT)" : "");
	if (rc == 0 && (tot.failed > 0 || tot.accepted < opt.total))
		rc = 1;
	return rc;
}
