/* surelsuper: queue maintenance, like Postfix's postsuper: -h puts
 * messages on hold, -H releases them. Every option takes a queue id, ALL,
 * or "-" for ids on standard input, and may be repeated; they run in
 * command-line order. The moves are qmgr's (the only process that moves
 * queue files, so nothing is moved from under a delivery): surelsuper
 * sends each request over private/qmgr-super (lib/super_proto.h) and sums
 * the replies. Adding an operation (issue 7: -d, -r) is a row in ops[] and
 * one in qmgr's table. */
#include "config.h"
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "conf.h"
#include "conf_file.h"
#include "fsutil.h"
#include "mem.h"
#include "super_proto.h"
#include "timeutil.h"

#define SUPER_REPLY_TIMEOUT_MS (3600 * 1000)	/* ALL on a huge queue */

/* The operations, by option letter. */
static const struct super_cmd {
	char flag;
	enum super_op op;
	const char *done;	/* Postfix's summary: "Placed on hold" */
} ops[] = {
	{ 'h', SUPER_HOLD, "Placed on hold" },
	{ 'H', SUPER_RELEASE, "Released from hold" },
};
#define OPS_COUNT (sizeof(ops) / sizeof(ops[0]))

/* One option as given: which operation, on what. */
struct super_arg {
	const struct super_cmd *cmd;
	const char *target;	/* queue id, ALL or "-" */
};

struct super_run {
	int fd;
	char in[SUPER_LINE_MAX];	/* a reply being read */
	unsigned long long count[OPS_COUNT];
	bool failed;
};

static void usage(void)
{
	fprintf(stderr, "usage: surelsuper [-c config_dir] [-h queue_id] "
		"[-H queue_id] ...\n"
		"       queue_id: a queue id, ALL, or - (ids on standard "
		"input); repeat an option for more ids\n");
	exit(2);
}

/* s made printable for a message (it may come from anywhere). */
static const char *printable(const char *s, char *out, size_t size)
{
	size_t n = 0;

	for (; *s != '\0' && n + 5 < size; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= ' ' && c <= '~')
			out[n++] = (char)c;
		else
			n += (size_t)snprintf(out + n, size - n, "\\%03o", c);
	}
	out[n] = '\0';
	return out;
}

static int super_connect(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *dir = conf_str("queue_directory");
	int n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", dir,
			 SUPER_SOCKET);
	int fd;

	if (n < 0 || (size_t)n >= sizeof(sun.sun_path)) {
		fprintf(stderr, "surelsuper: fatal: queue_directory %s: path "
			"too long for a socket\n", dir);
		exit(1);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "surelsuper: fatal: cannot reach qmgr at %s: "
			"%s (is surel running? only root and mail_owner may "
			"use surelsuper)\n", sun.sun_path, strerror(errno));
		exit(1);
	}
	return fd;
}

/* Reads one reply line (lock step: nothing follows it). */
static int reply_read(struct super_run *run, struct super_reply *r)
{
	uint64_t deadline = time_mono_ms() + SUPER_REPLY_TIMEOUT_MS;
	size_t len = 0;
	const char *error;

	for (;;) {
		char *nl = memchr(run->in, '\n', len);
		if (nl != NULL)
			return super_proto_parse_reply(
				run->in, (size_t)(nl - run->in), r, &error);
		if (len == sizeof(run->in) ||
		    fs_wait_fd(run->fd, POLLIN, deadline) <= 0)
			return -1;
		ssize_t n = read(run->fd, run->in + len,
				 sizeof(run->in) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		len += (size_t)n;
	}
}

/* Sends one request for target (a queue id or ALL) and counts its
 * reply. */
static void request(struct super_run *run, const struct super_cmd *cmd,
		    const char *target)
{
	struct super_request req = { .op = cmd->op };
	struct super_reply r;
	char line[SUPER_LINE_MAX], esc[4 * SUPER_LINE_MAX];

	if (strcmp(target, SUPER_ALL) == 0) {
		req.all = true;
	} else if (queue_id_valid(target)) {
		snprintf(req.id, sizeof(req.id), "%s", target);
	} else {
		fprintf(stderr, "surelsuper: invalid queue id: \"%s\"\n",
			printable(target, esc, sizeof(esc)));
		run->failed = true;
		return;
	}
	size_t len = super_proto_format_request(&req, line);
	if (fs_write_all(run->fd, line, len) < 0 || reply_read(run, &r) < 0) {
		fprintf(stderr, "surelsuper: fatal: lost the connection to "
			"qmgr\n");
		exit(1);
	}
	if (r.status == SUPER_OK) {
		run->count[cmd - ops] += r.count;
		return;
	}
	run->failed = true;
	if (r.status == SUPER_NONE)
		fprintf(stderr, "surelsuper: %s: no such queue file\n",
			target);
	else
		fprintf(stderr, "surelsuper: %s: %s\n", target,
			printable(r.text, esc, sizeof(esc)));
}

/* "-": one queue id a line on standard input (surrounding white space
 * ignored, empty lines skipped); a line too long is an error, not a
 * truncated id. */
static void request_stdin(struct super_run *run, const struct super_cmd *cmd)
{
	char line[SUPER_LINE_MAX + 2];

	while (fgets(line, sizeof(line), stdin) != NULL) {
		size_t len = strlen(line);
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			int c;
			while ((c = getchar()) != EOF && c != '\n')
				;
			fprintf(stderr, "surelsuper: invalid queue id: line "
				"too long on standard input\n");
			run->failed = true;
			continue;
		}
		char *s = line;
		while (*s == ' ' || *s == '\t')
			s++;
		while (len > 0 && strchr(" \t\r\n", line[len - 1]) != NULL)
			line[--len] = '\0';
		if (*s == '\0')
			continue;
		if (strcmp(s, SUPER_ALL) == 0) {
			fprintf(stderr, "surelsuper: ALL is not a queue id on "
				"standard input\n");
			run->failed = true;
			continue;
		}
		request(run, cmd, s);
	}
}

static const struct super_cmd *cmd_of(int flag)
{
	for (size_t i = 0; i < OPS_COUNT; i++)
		if (ops[i].flag == flag)
			return &ops[i];
	return NULL;
}

int main(int argc, char **argv)
{
	struct super_arg *args = xcalloc((size_t)argc, sizeof(*args));
	struct super_run run = { .fd = -1 };
	const char *config_dir = NULL, *error;
	size_t nargs = 0;
	int c;

	while ((c = getopt(argc, argv, "c:h:H:")) != -1) {
		const struct super_cmd *cmd = cmd_of(c);
		if (c == 'c')
			config_dir = optarg;
		else if (cmd != NULL)
			args[nargs++] = (struct super_arg){ cmd, optarg };
		else
			usage();
	}
	if (optind < argc || nargs == 0)
		usage();
	if (conf_load(conf_file_dir(config_dir), NULL, &error) < 0) {
		fprintf(stderr, "surelsuper: fatal: %s\n", error);
		return 1;
	}
	/* qmgr gone mid-run: a write error, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
	run.fd = super_connect();
	for (size_t i = 0; i < nargs; i++) {
		if (strcmp(args[i].target, "-") == 0)
			request_stdin(&run, args[i].cmd);
		else
			request(&run, args[i].cmd, args[i].target);
	}
	close(run.fd);
	for (size_t i = 0; i < OPS_COUNT; i++)
		if (run.count[i] > 0)
			fprintf(stderr, "surelsuper: %s: %llu message%s\n",
				ops[i].done, run.count[i],
				run.count[i] == 1 ? "" : "s");
	free(args);
	return run.failed ? 1 : 0;
}
