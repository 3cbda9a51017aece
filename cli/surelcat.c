/* surelcat: shows a queue file, like Postfix's postcat -q: the envelope
 * (-e), the header section (-h), the body (-b); all three by default.
 * The id is looked for in every queue directory (lib/queue_walk.h); the
 * file is opened read-only and never locked, so showing a message being
 * delivered does not disturb the delivery. The content is copied in
 * 64 KiB reads: memory does not grow with the message.
 *
 * A corrupt file is an error naming what is wrong (exit 1); a bad id
 * EX_USAGE, an id in no queue EX_NOINPUT, a queue we may not read
 * EX_NOPERM, a file still being received (incoming/, mode 0600)
 * EX_TEMPFAIL. */
#include "config.h"
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include "conf.h"
#include "fsutil.h"
#include "queue_cli.h"
#include "queue_walk.h"
#include "timeutil.h"

#define PROG "surelcat"
#define CHUNK (64 * 1024)

enum { SHOW_ENV = 1, SHOW_HEADER = 2, SHOW_BODY = 4 };

/* Option letters and what they show. */
static const struct {
	char flag;
	int show;
} flags[] = {
	{ 'e', SHOW_ENV }, { 'h', SHOW_HEADER }, { 'b', SHOW_BODY },
};

static void usage(void)
{
	fprintf(stderr, "usage: " PROG " [-c config_dir] [-e] [-h] [-b] "
		"queue_id ...\n");
	exit(EX_USAGE);
}

static void out_safe(const char *label, const char *s)
{
	char esc[4 * QUEUE_LINE_MAX + 8];

	printf("%s: %s\n", label, queue_cli_printable(s, esc, sizeof(esc)));
}

static void show_status(const char *label, const struct queue_status *st)
{
	char esc[4 * QUEUE_DIAG_MAX + 8];

	if (st == NULL)
		return;
	printf("  %s: %s", label, st->status);
	if (st->remote_mta[0] != '\0')
		printf(" remote_mta=%s", queue_cli_printable(
				st->remote_mta, esc, sizeof(esc)));
	printf(" (%s)%s\n", queue_cli_printable(st->diag, esc, sizeof(esc)),
	       st->kind != QUEUE_STATUS_DELAYED && st->notified ? " notified"
								: "");
}

static void show_envelope(const struct queue_cli_file *f)
{
	const struct queue_envelope *env = &f->env;
	char date[64];

	time_rfc5322(date, sizeof(date),
		     (time_t)(env->arrival_us / 1000000));
	printf("arrival_time: %s (%" PRIu64 ".%06" PRIu64 ")\n", date,
	       env->arrival_us / 1000000, env->arrival_us % 1000000);
	printf("message_size: %" PRIu64 "\n", f->content_size);
	out_safe("sender", env->sender);
	for (size_t i = 0; i < env->attr_count; i++) {
		char label[QUEUE_LINE_MAX + 16];
		snprintf(label, sizeof(label), "attribute %s",
			 env->attrs[i].name);
		out_safe(label, env->attrs[i].value);
	}
	for (size_t i = 0; i < env->rcpt_count; i++) {
		const struct queue_rcpt *r = &env->rcpts[i];
		out_safe(r->done ? "recipient (done)" : "recipient (pending)",
			 r->address);
		if (r->orig_rcpt != NULL)
			out_safe("  original_recipient", r->orig_rcpt);
		if (r->orcpt != NULL)
			out_safe("  orcpt", r->orcpt);
		if (r->notify != NULL)
			printf("  notify: %s\n", r->notify);
		show_status("delayed", r->delayed);
		show_status("failed", r->failed);
		show_status("delivered", r->success);
	}
	if (env->warning_sent)
		printf("delay_warning: sent\n");
	if (env->hold_mark != 0)
		printf("hold_record: %s\n",
		       env->hold_mark == 'O' ? "held" : "released");
}

/* Writes the parts of data[0..len) that show selects, tracking where
 * the header ends (the first empty line, which belongs to neither). */
struct content_state {
	bool in_header;
	bool at_line_start;
};

static int out_range(const char *p, size_t n)
{
	return n == 0 || fwrite(p, 1, n, stdout) == n ? 0 : -1;
}

static int show_chunk(struct content_state *cs, const char *data, size_t len,
		      int show)
{
	size_t start = 0;

	for (size_t i = 0; i < len && cs->in_header; i++) {
		if (data[i] == '\n' && cs->at_line_start) {
			if ((show & SHOW_HEADER) &&
			    out_range(data, i) < 0)
				return -1;
			/* both shown: the empty line stays between them */
			if ((show & SHOW_HEADER) && (show & SHOW_BODY) &&
			    out_range("\n", 1) < 0)
				return -1;
			cs->in_header = false;
			start = i + 1;
			break;
		}
		cs->at_line_start = data[i] == '\n';
	}
	if (cs->in_header)
		return (show & SHOW_HEADER) ? out_range(data, len) : 0;
	return (show & SHOW_BODY) ? out_range(data + start, len - start) : 0;
}

static int show_content(const struct queue_cli_file *f, int show,
			const char **error_r)
{
	struct content_state cs = { .in_header = true, .at_line_start = true };
	char *chunk = malloc(CHUNK);
	uint64_t done = 0;
	int ret = 0;

	if (chunk == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	while (done < f->content_size && ret == 0) {
		size_t want = f->content_size - done < CHUNK
				      ? (size_t)(f->content_size - done)
				      : CHUNK;
		ssize_t n = fs_pread_all(f->fd, chunk, want,
					 f->content_offset + (off_t)done);
		if (n != (ssize_t)want) {
			*error_r = "queue file truncated while reading";
			ret = -1;
		} else if (show_chunk(&cs, chunk, want, show) < 0) {
			*error_r = "write error";
			ret = -1;
		}
		done += want;
	}
	free(chunk);
	return ret;
}

/* Shows one id; returns the exit status for it. */
static int cat_one(const char *queue_dir, const char *id, int show)
{
	struct queue_cli_file f;
	const char *error;
	const char *qname;
	int ret;

	/* id was checked (queue_cli_check_id) before anything was read. */
	ret = queue_cli_read(queue_dir, QUEUE_LIST_INCOMING, id, &f, &error);
	qname = queue_list_name(f.queue);
	if (ret == 1) {
		fprintf(stderr, PROG ": %s: no such queue file in %s\n", id,
			queue_dir);
		return EX_NOINPUT;
	}
	if (ret < 0 && f.mtime_us == 0) {
		bool perm = strcmp(error, "permission denied") == 0;
		fprintf(stderr, PROG ": %s: %s%s%s%s\n", id, error,
			perm ? " (the queue is readable only by root and "
			       "mail_owner " : "",
			perm ? conf_str("mail_owner") : "", perm ? ")" : "");
		return perm ? EX_NOPERM : EX_IOERR;
	}
	/* incoming/ files of mode 0600 are not committed yet (no 250). */
	if (ret < 0 && f.queue == QUEUE_LIST_INCOMING &&
	    (f.mode & S_IXUSR) == 0) {
		fprintf(stderr, PROG ": %s/%s: still being received, not "
			"queued yet\n", qname, id);
		return EX_TEMPFAIL;
	}
	if (ret < 0) {
		fprintf(stderr, PROG ": %s/%s: corrupt queue file: %s\n", qname,
			id, error);
		return 1;
	}
	bool marks = (show & SHOW_ENV) != 0;
	if (marks)
		printf("*** ENVELOPE RECORDS %s/%s ***\n", qname, id);
	if (show & SHOW_ENV)
		show_envelope(&f);
	if (marks && (show & (SHOW_HEADER | SHOW_BODY)))
		printf("*** MESSAGE CONTENTS %s/%s ***\n", qname, id);
	ret = 0;
	if ((show & (SHOW_HEADER | SHOW_BODY)) &&
	    show_content(&f, show, &error) < 0) {
		fprintf(stderr, PROG ": %s/%s: %s\n", qname, id, error);
		ret = 1;
	}
	if (marks && ret == 0)
		printf("*** MESSAGE FILE END %s/%s ***\n", qname, id);
	queue_cli_close(&f);
	return ret;
}

int main(int argc, char **argv)
{
	const char *config_dir = NULL;
	int show = 0, c, status = 0;

	while ((c = getopt(argc, argv, "c:ehb")) != -1) {
		size_t i;
		if (c == 'c') {
			config_dir = optarg;
			continue;
		}
		for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
			if (flags[i].flag == c)
				show |= flags[i].show;
		if (c == '?')
			usage();
	}
	if (optind >= argc)
		usage();
	if (show == 0)
		show = SHOW_ENV | SHOW_HEADER | SHOW_BODY;
	for (int i = optind; i < argc; i++)
		queue_cli_check_id(PROG, argv[i]);
	const char *queue_dir = queue_cli_init(PROG, config_dir);
	for (int i = optind; i < argc; i++) {
		int ret = cat_one(queue_dir, argv[i], show);
		if (ret != 0 && status == 0)
			status = ret;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, PROG ": fatal: write error\n");
		return EX_IOERR;
	}
	return status;
}
