/* surelsuper: queue maintenance, like Postfix's postsuper: -h puts
 * messages on hold, -H releases them, -d deletes them, -r requeues them
 * (back through incoming/, routed anew). Every such option takes a queue
 * id, ALL, or "-" for ids on standard input, and may be repeated; they
 * run in command-line order. The moves are qmgr's (the only process that
 * moves queue files, so nothing is moved or deleted from under a
 * delivery): surelsuper sends each request over private/qmgr-super
 * (lib/super_client.h) and sums the replies.
 *
 * -s (first, as postsuper's) checks and repairs the queue's structure
 * (lib/queue_repair.h): done by qmgr when it runs (the connection
 * succeeds), else by surelsuper itself, active/ included, printing each
 * fix. qmgr not running is told by the socket: missing, or nobody
 * accepting on it. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "conf.h"
#include "conf_file.h"
#include "log.h"
#include "mem.h"
#include "queue_cli.h"
#include "queue_repair.h"
#include "super_client.h"

/* The operations, by option letter. */
static const struct super_cmd {
	char flag;
	enum super_op op;
	const char *done;	/* Postfix's summary: "Placed on hold" */
} ops[] = {
	{ 'h', SUPER_HOLD, "Placed on hold" },
	{ 'H', SUPER_RELEASE, "Released from hold" },
	{ 'd', SUPER_DELETE, "Deleted" },
	{ 'r', SUPER_REQUEUE, "Requeued" },
};
#define OPS_COUNT (sizeof(ops) / sizeof(ops[0]))

/* One option as given: which operation, on what. */
struct super_arg {
	const struct super_cmd *cmd;
	const char *target;	/* queue id, ALL or "-" */
};

struct super_run {
	struct super_client *client;
	unsigned long long count[OPS_COUNT];
	bool failed;
};

static void usage(void)
{
	fprintf(stderr, "usage: surelsuper [-c config_dir] [-s] "
		"[-d queue_id] [-h queue_id] [-H queue_id] [-r queue_id] "
		"...\n"
		"       queue_id: a queue id, ALL, or - (ids on standard "
		"input); repeat an option for more ids\n");
	exit(2);
}

static void connect_or_die(struct super_run *run)
{
	const char *error;

	if (run->client != NULL)
		return;
	if (super_client_open(conf_str("queue_directory"), &run->client,
			      &error) < 0) {
		fprintf(stderr, "surelsuper: fatal: %s at %s/%s: %s (is surel "
			"running? only root and mail_owner may use "
			"surelsuper)\n", error, conf_str("queue_directory"),
			SUPER_SOCKET, strerror(errno));
		exit(1);
	}
}

/* Sends one request for target (a queue id or ALL) and counts its
 * reply. */
static void request(struct super_run *run, const struct super_cmd *cmd,
		    const char *target)
{
	struct super_request req = { .op = cmd->op };
	struct super_reply r;
	char esc[4 * SUPER_LINE_MAX];

	if (strcmp(target, SUPER_ALL) == 0) {
		req.all = true;
	} else if (queue_id_valid(target)) {
		snprintf(req.id, sizeof(req.id), "%s", target);
	} else {
		fprintf(stderr, "surelsuper: invalid queue id: \"%s\"\n",
			queue_cli_printable(target, esc, sizeof(esc)));
		run->failed = true;
		return;
	}
	const char *error;
	if (super_client_request(run->client, &req, &r,
				 SUPER_CLIENT_TIMEOUT_MS, &error) < 0) {
		fprintf(stderr, "surelsuper: fatal: %s\n", error);
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
			queue_cli_printable(r.text, esc, sizeof(esc)));
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

static void repair_print(void *ctx, bool fixed, const char *from,
			 const char *to, const char *why)
{
	char esc[3][4 * 512];

	(void)ctx;
	queue_cli_printable(from, esc[0], sizeof(esc[0]));
	queue_cli_printable(why, esc[1], sizeof(esc[1]));
	if (!fixed) {
		fprintf(stderr, "surelsuper: warning: %s: %s (left as it is)\n",
			esc[0], esc[1]);
		log_warn("queue repair: %s: %s (left as it is)", esc[0],
			 esc[1]);
	} else if (to == NULL) {
		fprintf(stderr, "surelsuper: warning: %s: %s: removed\n",
			esc[0], esc[1]);
		log_warn("queue repair: %s: %s: removed", esc[0], esc[1]);
	} else {
		queue_cli_printable(to, esc[2], sizeof(esc[2]));
		fprintf(stderr, "surelsuper: warning: %s: %s: moved to %s\n",
			esc[0], esc[1], esc[2]);
		log_warn("queue repair: %s: %s: moved to %s", esc[0], esc[1],
			 esc[2]);
	}
}

/* -s with qmgr stopped: the repair is ours, active/ included. */
static void repair_here(struct super_run *run)
{
	const char *dir = conf_str("queue_directory");
	struct queue_repair_counts n;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "surelsuper: fatal: %s: %s\n", dir,
			strerror(errno));
		exit(1);
	}
	log_init("surelsuper", conf_str("maillog_file"));
	unsigned long long fixed = queue_repair_run(fd, true, repair_print,
						    NULL, &n);
	close(fd);
	if (fixed > 0)
		fprintf(stderr, "surelsuper: Repaired: %llu problem%s "
			"(%llu renamed, %llu moved, %llu corrupt, %llu stale "
			"removed, %llu directories created)\n", fixed,
			fixed == 1 ? "" : "s", n.renamed, n.moved, n.corrupt,
			n.removed, n.created);
	if (n.left > 0) {
		fprintf(stderr, "surelsuper: %llu problem%s left as %s\n",
			n.left, n.left == 1 ? "" : "s",
			n.left == 1 ? "it is" : "they are");
		run->failed = true;
	}
}

/* -s: qmgr repairs when it runs (it owns active/); else we do. */
static void repair(struct super_run *run)
{
	struct super_request req = { .op = SUPER_REPAIR, .all = true };
	struct super_reply r;
	const char *error;

	if (super_client_open(conf_str("queue_directory"), &run->client,
			      &error) < 0) {
		if (!super_client_qmgr_absent(errno)) {
			fprintf(stderr, "surelsuper: fatal: %s: %s (only root "
				"and mail_owner may use surelsuper)\n", error,
				strerror(errno));
			exit(1);
		}
		repair_here(run);
		return;
	}
	if (super_client_request(run->client, &req, &r,
				 SUPER_CLIENT_TIMEOUT_MS, &error) < 0) {
		fprintf(stderr, "surelsuper: fatal: %s\n", error);
		exit(1);
	}
	if (r.status != SUPER_OK) {
		fprintf(stderr, "surelsuper: queue repair: %s\n",
			r.status == SUPER_ERROR ? r.text : "refused");
		run->failed = true;
	} else if (r.count > 0) {
		fprintf(stderr, "surelsuper: Repaired: %llu problem%s (done "
			"by qmgr: the details are in the mail log)\n",
			r.count, r.count == 1 ? "" : "s");
	}
}

int main(int argc, char **argv)
{
	struct super_arg *args = xcalloc((size_t)argc, sizeof(*args));
	struct super_run run = { .client = NULL };
	const char *config_dir = NULL, *error;
	bool repair_wanted = false;
	size_t nargs = 0;
	int c;

	while ((c = getopt(argc, argv, "c:d:h:H:r:s")) != -1) {
		const struct super_cmd *cmd = cmd_of(c);
		if (c == 'c')
			config_dir = optarg;
		else if (c == 's')
			repair_wanted = true;
		else if (cmd != NULL)
			args[nargs++] = (struct super_arg){ cmd, optarg };
		else
			usage();
	}
	if (optind < argc || (nargs == 0 && !repair_wanted))
		usage();
	if (conf_load(conf_file_dir(config_dir), NULL, &error) < 0) {
		fprintf(stderr, "surelsuper: fatal: %s\n", error);
		return 1;
	}
	if (repair_wanted)
		repair(&run);
	if (nargs > 0)
		connect_or_die(&run);
	for (size_t i = 0; i < nargs; i++) {
		if (strcmp(args[i].target, "-") == 0)
			request_stdin(&run, args[i].cmd);
		else
			request(&run, args[i].cmd, args[i].target);
	}
	super_client_close(&run.client);
	for (size_t i = 0; i < OPS_COUNT; i++)
		if (run.count[i] > 0)
			fprintf(stderr, "surelsuper: %s: %llu message%s\n",
				ops[i].done, run.count[i],
				run.count[i] == 1 ? "" : "s");
	free(args);
	return run.failed ? 1 : 0;
}
