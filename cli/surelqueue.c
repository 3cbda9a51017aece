/* surelqueue: the queue listings, like Postfix's postqueue: -p (mailq
 * format; also the default when run as "mailq"), -j (one JSON object per
 * message), and -S, our own summary (counts and oldest message per queue,
 * top destinations of the deferred queue).
 *
 * Read-only and lock-free: it reads the queue files directly (qmgr alone
 * moves them; an open for reading never disturbs a delivery) one at a
 * time, so memory is one message's however long the queue. A file that
 * qmgr moves between the readdir and the open is looked for once more in
 * the other queues (cli/queue_cli.c), else skipped; as with Postfix, a
 * message moving during the listing may be shown twice or not at all.
 *
 * The queue is mode 0700 of mail_owner: only root and mail_owner can
 * list it; anyone else gets "permission denied" (Postfix lets any user
 * run mailq through its setgid postqueue and the showq daemon).
 *
 * The flushes (-f all deferred mail, -i id, -s site) are qmgr's: one
 * request over private/qmgr-super (lib/super_client.h), as surelsuper's;
 * each sets the deferred files' retry time to now and revives dead
 * destinations (doc/queue.md, F1). */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>
#include "buf.h"
#include "conf.h"
#include "queue_cli.h"
#include "queue_list.h"
#include "queue_walk.h"
#include "super_client.h"
#include "timeutil.h"

#define PROG "surelqueue"
/* One message's lines: bounded by the envelope's own limits. */
#define ENTRY_MAX (1024u * 1024 * 1024)

enum queue_op {
	OP_LIST_MAILQ, OP_LIST_JSON, OP_SUMMARY,
	OP_FLUSH, OP_FLUSH_ID, OP_FLUSH_SITE,	/* qmgr's */
};

/* The operations, by option letter. */
static const struct queue_cmd {
	char flag;
	enum queue_op op;
	const char *what;
} ops[] = {
	{ 'p', OP_LIST_MAILQ, "list the queue, mailq format" },
	{ 'j', OP_LIST_JSON, "list the queue, one JSON object per message" },
	{ 'S', OP_SUMMARY, "summary per queue, top deferred destinations" },
	{ 'f', OP_FLUSH, "deliver all deferred mail now" },
	{ 'i', OP_FLUSH_ID, "deliver the deferred message ID now" },
	{ 's', OP_FLUSH_SITE, "deliver deferred mail for SITE now" },
};

struct listing {
	const char *queue_dir;
	enum queue_op op;
	struct buf out;
	uint64_t count, total;
	struct queue_summary *summary;
	uint64_t now_us;
	int warned;
};

static void usage(void)
{
	fprintf(stderr, "usage: " PROG " [-c config_dir] -p | -j | -S | -f | "
		"-i ID | -s SITE\n");
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		fprintf(stderr, "  -%c  %s\n", ops[i].flag, ops[i].what);
	exit(EX_USAGE);
}

static void flush_out(struct listing *l)
{
	if (l->out.len > 0 &&
	    fwrite(l->out.data, 1, l->out.len, stdout) != l->out.len) {
		fprintf(stderr, PROG ": fatal: write error: %s\n",
			strerror(errno));
		exit(EX_IOERR);
	}
	buf_reset(&l->out);
}

static void warn_file(struct listing *l, enum queue_list_queue q,
		      const char *id, const char *error)
{
	fprintf(stderr, PROG ": warning: %s/%s: %s\n", queue_list_name(q), id,
		error);
	l->warned = 1;
}

/* One message of a listing (-p, -j). */
static void list_one(struct listing *l, const struct queue_cli_file *f,
		     const char *id)
{
	struct queue_list_entry e = { .queue = f->queue, .id = id,
				      .size = f->content_size, .env = &f->env };
	int ret;

	if (l->op == OP_LIST_MAILQ && l->count == 0)
		ret = queue_list_mailq_header(&l->out);
	else
		ret = 0;
	if (ret == 0)
		ret = l->op == OP_LIST_MAILQ ? queue_list_mailq(&l->out, &e)
				     : queue_list_json(&l->out, &e);
	if (ret < 0) {
		buf_reset(&l->out);
		warn_file(l, f->queue, id, "entry too large to list");
		return;
	}
	l->count++;
	l->total += f->content_size;
	flush_out(l);
}

static int visit(void *ctx, enum queue_list_queue q, const char *id)
{
	struct listing *l = ctx;
	struct queue_cli_file f;
	const char *error;
	int ret = queue_cli_read(l->queue_dir, q, id, &f, &error);

	if (ret == 1)
		return 0;	/* gone: delivered or removed meanwhile */
	if (ret < 0) {
		/* incoming/ files of mode 0600 are still being written. */
		if (f.queue == QUEUE_LIST_INCOMING && (f.mode & S_IXUSR) == 0)
			return 0;
		if (l->op == OP_SUMMARY && f.mtime_us != 0)
			queue_summary_add(l->summary, f.queue, f.mtime_us, NULL);
		else if (f.queue != QUEUE_LIST_CORRUPT)
			warn_file(l, f.queue, id, error);
		return 0;
	}
	if (l->op == OP_SUMMARY)
		queue_summary_add(l->summary, f.queue, f.env.arrival_us,
				  &f.env);
	else if (f.queue != QUEUE_LIST_CORRUPT)
		list_one(l, &f, id);
	queue_cli_close(&f);
	return 0;
}

static void walk_all(struct listing *l)
{
	for (int q = 0; q < QUEUE_LIST_COUNT; q++) {
		const char *error;

		if (q == QUEUE_LIST_CORRUPT && l->op != OP_SUMMARY)
			break;
		if (queue_walk(l->queue_dir, (enum queue_list_queue)q, visit, l,
			       &error) >= 0)
			continue;
		if (errno == EACCES || errno == EPERM) {
			fprintf(stderr, PROG ": fatal: %s/%s: permission denied"
				" (the queue is readable only by root and "
				"mail_owner %s)\n", l->queue_dir,
				queue_list_name((enum queue_list_queue)q),
				conf_str("mail_owner"));
			exit(EX_NOPERM);
		}
		fprintf(stderr, PROG ": fatal: %s/%s: %s: %s\n", l->queue_dir,
			queue_list_name((enum queue_list_queue)q), error,
			strerror(errno));
		exit(EX_IOERR);
	}
}

static enum queue_op op_of(int flag)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].flag == flag)
			return ops[i].op;
	usage();
	return OP_LIST_MAILQ;
}

/* -f, -i, -s: one request to qmgr. */
static int flush_request(const char *queue_dir, enum queue_op op,
			 const char *arg)
{
	struct super_request req = { .op = SUPER_FLUSH, .all = true };
	struct super_reply r;
	const char *error;

	if (op == OP_FLUSH_SITE) {
		req.op = SUPER_FLUSH_SITE;
		req.all = false;
		if (!super_proto_site_valid(arg)) {
			fprintf(stderr, PROG ": fatal: invalid site\n");
			return EX_USAGE;
		}
		snprintf(req.site, sizeof(req.site), "%s", arg);
	} else if (op == OP_FLUSH_ID) {
		req.all = false;
		if (!queue_id_valid(arg)) {
			fprintf(stderr, PROG ": fatal: invalid queue id\n");
			return EX_USAGE;
		}
		snprintf(req.id, sizeof(req.id), "%s", arg);
	}
	errno = 0;
	if (super_client_call(queue_dir, &req, &r, &error) < 0) {
		fprintf(stderr, PROG ": fatal: %s: %s (is surel running?)\n",
			error, errno != 0 ? strerror(errno) : "bad reply");
		return EX_UNAVAILABLE;
	}
	if (r.status == SUPER_NONE) {
		fprintf(stderr, PROG ": fatal: %s: no such queue file\n", arg);
		return EX_NOINPUT;
	}
	if (r.status == SUPER_ERROR) {
		fprintf(stderr, PROG ": fatal: %s\n", r.text);
		return EX_SOFTWARE;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');
	const char *config_dir = NULL;
	struct listing l = { .op = OP_LIST_MAILQ };
	const char *arg = NULL;
	int nops = 0, c;

	base = base != NULL ? base + 1 : argv[0];
	/* "mailq" is Postfix's name for postqueue -p. */
	if (strcmp(base, "mailq") == 0)
		nops = -1;
	while ((c = getopt(argc, argv, "c:pjSfi:s:")) != -1) {
		if (c == 'c') {
			config_dir = optarg;
			continue;
		}
		l.op = op_of(c);
		arg = optarg;
		nops = nops < 0 ? 1 : nops + 1;
	}
	if (optind < argc || nops == 0 || nops > 1)
		usage();
	l.queue_dir = queue_cli_init(PROG, config_dir);
	if (l.op >= OP_FLUSH)
		return flush_request(l.queue_dir, l.op, arg);
	buf_init(&l.out, ENTRY_MAX);
	if (l.op == OP_SUMMARY)
		l.summary = queue_summary_new();
	l.now_us = time_wall_us();
	walk_all(&l);
	if ((l.op == OP_LIST_MAILQ &&
	     queue_list_mailq_footer(&l.out, l.total, l.count) < 0) ||
	    (l.op == OP_SUMMARY &&
	     queue_summary_format(l.summary, l.now_us, &l.out) < 0)) {
		/* ENTRY_MAX is far above a footer or a summary */
		fprintf(stderr, PROG ": fatal: output too large\n");
		return EX_SOFTWARE;
	}
	flush_out(&l);
	queue_summary_free(&l.summary);
	buf_deinit(&l.out);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, PROG ": fatal: write error\n");
		return EX_IOERR;
	}
	return 0;
}
