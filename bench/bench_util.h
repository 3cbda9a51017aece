/* bench_util: helpers shared by the load generators (loadgen.c for SMTP,
 * pop3load.c for POP3): clock, fatal errors, option numbers, the
 * loopback-only server address, and /proc readings of a process tree.
 * Header-only (static functions) so that each tool stays one `cc` line. */
#ifndef SUREL_BENCH_UTIL_H
#define SUREL_BENCH_UTIL_H
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* The tool's name for error messages; set in main(). */
static const char *bench_prog = "bench";

struct proc_info {
	long pid, ppid, rss_pages;
	unsigned long long ut, st, cut, cst;	/* clock ticks */
	char comm[32];
	bool in_tree;
};

#define MAX_PROCS 8192

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", bench_prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	/* _exit: a half-written RESULT line in stdout's buffer is dropped. */
	_exit(2);
}

static unsigned long parse_ul(const char *s, const char *what, unsigned long min,
			      unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max)
		die("bad %s '%s' (want %lu..%lu)", what, s, min, max);
	return v;
}

/* Resolves host:port; only loopback targets: these tools must never load
 * anything but this machine. */
static struct addrinfo *resolve_loopback(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	int rc = getaddrinfo(host, port, &hints, &ai);

	if (rc != 0)
		die("%s:%s: %s", host, port, gai_strerror(rc));
	const struct sockaddr *sa = ai->ai_addr;
	bool loop = false;

	if (sa->sa_family == AF_INET)
		loop = (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	else if (sa->sa_family == AF_INET6)
		loop = IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	if (!loop)
		die("%s is not a loopback address; refusing", host);
	return ai;
}

/* A TCP connection to ai, every read and write bounded by timeout_s
 * seconds, Nagle off (the tools write a command, then wait for its reply:
 * a delayed last segment would be measured as server time). The fd, or
 * -1 with errno set. */
/* Connects from source address "from" (an IPv4 literal, NULL: any). */
static int bench_connect_from(const struct addrinfo *ai, const char *from, unsigned timeout_s)
{
	struct timeval tv = { .tv_sec = timeout_s };
	int one = 1, fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in src = { .sin_family = AF_INET };

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (from != NULL && (inet_pton(AF_INET, from, &src.sin_addr) != 1 ||
			     bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0)) {
		close(fd);
		errno = EADDRNOTAVAIL;
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

static __attribute__((unused)) int bench_connect(const struct addrinfo *ai, unsigned timeout_s)
{
	return bench_connect_from(ai, NULL, timeout_s);
}

/* /proc/PID/stat: parent, CPU times, resident pages and command name. */
static bool read_stat(long pid, struct proc_info *pi)
{
	char path[64], buf[1024];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* The command name is in parentheses and may hold spaces and ')'. */
	char *open_paren = strchr(buf, '('), *p = strrchr(buf, ')');

	if (open_paren == NULL || p == NULL || p < open_paren)
		return false;
	snprintf(pi->comm, sizeof(pi->comm), "%.*s", (int)(p - open_paren - 1), open_paren + 1);
	pi->pid = pid;
	return sscanf(p + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u "
		      "%llu %llu %llu %llu %*d %*d %*d %*d %*u %*u %ld",
		      &pi->ppid, &pi->ut, &pi->st, &pi->cut, &pi->cst, &pi->rss_pages) == 6;
}

/* Proportional set size of pid in KiB (0 when unreadable). */
static long read_pss_kb(long pid)
{
	char path[64], line[256];
	FILE *f;
	long kb = 0;

	snprintf(path, sizeof(path), "/proc/%ld/smaps_rollup", pid);
	f = fopen(path, "re");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "Pss:", 4) == 0) {
			kb = strtol(line + 4, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

#endif
