/* queue_writer: the writer (smtpd, pickup) of the on-disk queue file; see
 * queue_file.h for the format. The writer is on the hot path of the whole
 * MTA: one large buffer, as few system calls as possible, exactly one
 * fsync of the file and one of incoming/. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fsutil.h"
#include "mem.h"
#include "metrics.h"
#include "queue_impl.h"
#include "queue_writer.h"

#define QUEUE_WRITE_BUF (64 * 1024)
#define QUEUE_OPEN_TRIES 20

/* ---- field syntax ---- */

static bool field_ok(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\t' || s[i] == '\r' || s[i] == '\n' ||
		    s[i] == '\0')
			return false;
	return true;
}

/* ---- writer ---- */

struct queue_writer {
	int fd;
	int dir_fd;		/* incoming/, borrowed from the cache below */
	char id[QUEUE_ID_MAX];
	uint64_t arrival_us;
	char *wbuf;
	size_t wlen;
	uint64_t file_off;	/* bytes already written to the file */
	uint64_t len_off;	/* offset of the length digits; 0: no envelope */
	uint64_t content_size;
	bool failed;
	bool late;		/* late attributes written: no more content */
	bool own_dir;		/* dir_fd is ours (maildrop/), not the cache */
	mode_t done_mode;	/* the mode that says "complete" */
	bool sync_fs;		/* dir_fd is O_PATH: syncfs() at commit */
	/* The attribute names written, envelope and late: the reader
	 * refuses duplicates and more than QUEUE_ATTR_MAX. */
	char *names[QUEUE_ATTR_MAX];
	size_t name_count;
};

/* incoming/ stays open for the life of the process: a writer process
 * (smtpd) commits many messages and each needs the directory for O_EXCL
 * creation and its fsync; reopening it every time would cost two system
 * calls and a path walk per message. */
static int incoming_fd = -1;
static char *incoming_for;

static int incoming_dir(const char *queue_dir)
{
	if (incoming_fd >= 0 && strcmp(incoming_for, queue_dir) == 0)
		return incoming_fd;
	if (incoming_fd >= 0)
		close(incoming_fd);
	xfree(&incoming_for);
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/incoming", queue_dir) >=
	    (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	incoming_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (incoming_fd >= 0)
		incoming_for = xstrdup(queue_dir);
	return incoming_fd;
}

/* Creates a file with a new id in dir_fd, mode 0600, locked. */
static int writer_create(int dir_fd, struct queue_writer **w_r,
			 const char **error_r)
{
	struct queue_writer *w = xcalloc(1, sizeof(*w));
	for (int i = 0; i < QUEUE_OPEN_TRIES; i++) {
		queue_id_new(w->id, &w->arrival_us);
		w->fd = openat(dir_fd, w->id,
			       O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (w->fd >= 0 || errno != EEXIST)
			break;
	}
	if (w->fd < 0) {
		free(w);
		*error_r = "cannot create queue file";
		return -1;
	}
	/* Held until commit (the close): qmgr removes a stale 0600 file
	 * only if it can take this lock, i.e. once its writer is gone. A
	 * slow client can keep the file unchanged for hours while its
	 * content waits in wbuf. */
	if (flock(w->fd, LOCK_EX | LOCK_NB) < 0) {
		(void)unlinkat(dir_fd, w->id, 0);
		close(w->fd);
		free(w);
		*error_r = "cannot lock queue file";
		return -1;
	}
	w->dir_fd = dir_fd;
	w->done_mode = 0700;
	w->wbuf = xmalloc(QUEUE_WRITE_BUF);
	*w_r = w;
	return 0;
}

int queue_writer_open(const char *queue_dir, struct queue_writer **w_r,
		      const char **error_r)
{
	int dir_fd = incoming_dir(queue_dir);

	if (dir_fd < 0) {
		*error_r = "cannot open the incoming queue directory";
		return -1;
	}
	return writer_create(dir_fd, w_r, error_r);
}

int queue_writer_open_maildrop(const char *queue_dir,
			       struct queue_writer **w_r, const char **error_r)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/maildrop", queue_dir) >=
	    (int)sizeof(path)) {
		*error_r = "queue directory path too long";
		return -1;
	}
	/* A member of setgid_group may create files in maildrop/ (-wx)
	 * but not read it, so the directory cannot be opened for its
	 * fsync: then commit uses syncfs(), which covers the new entry. */
	bool path_only = false;
	int dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0 && errno == EACCES) {
		path_only = true;
		dir_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	if (dir_fd < 0) {
		*error_r = errno == EACCES
			? "no permission to write the maildrop directory"
			: "cannot open the maildrop directory";
		return -1;
	}
	if (writer_create(dir_fd, w_r, error_r) < 0) {
		if (errno == EACCES)
			*error_r = "no permission to write the maildrop "
				   "directory";
		close(dir_fd);
		return -1;
	}
	(*w_r)->own_dir = true;
	/* pickup (mail_owner) reads what a user wrote: readable whatever
	 * the user's umask; the owner's x bit is added at commit. */
	if (fchmod((*w_r)->fd, 0644) < 0) {
		*error_r = "cannot chmod the maildrop file";
		queue_writer_abort(w_r);
		return -1;
	}
	(*w_r)->sync_fs = path_only;
	(*w_r)->done_mode = 0744;
	return 0;
}

const char *queue_writer_id(const struct queue_writer *w) { return w->id; }

uint64_t queue_writer_arrival_us(const struct queue_writer *w)
{
	return w->arrival_us;
}

uint64_t queue_writer_size(const struct queue_writer *w)
{
	return w->content_size;
}

static int writer_flush(struct queue_writer *w)
{
	if (w->wlen == 0)
		return 0;
	if (fs_write_all(w->fd, w->wbuf, w->wlen) < 0) {
		w->failed = true;
		return -1;
	}
	w->file_off += w->wlen;
	w->wlen = 0;
	return 0;
}

static int writer_put(struct queue_writer *w, const void *data, size_t len)
{
	if (w->wlen + len > QUEUE_WRITE_BUF && writer_flush(w) < 0)
		return -1;
	if (len >= QUEUE_WRITE_BUF) {
		/* A big block goes straight to the file, no copy. */
		if (fs_write_all(w->fd, data, len) < 0) {
			w->failed = true;
			return -1;
		}
		w->file_off += len;
		return 0;
	}
	memcpy(w->wbuf + w->wlen, data, len);
	w->wlen += len;
	return 0;
}

/* One envelope line is built here first so its length can be bounded. */
struct qf_line {
	char b[QUEUE_LINE_MAX];
	size_t len;
	bool bad;
};

static void line_put(struct qf_line *l, const char *s)
{
	size_t len = strlen(s);

	if (!field_ok(s, len) || len >= sizeof(l->b) - l->len) {
		l->bad = true;
		return;
	}
	memcpy(l->b + l->len, s, len);
	l->len += len;
}

/* Appends the tag, then the fields separated by TAB, then LF. */
static int line_emit(struct queue_writer *w, const char *tag,
		     const char *const *fields, size_t count)
{
	struct qf_line l = { .len = 0, .bad = false };

	line_put(&l, tag);
	for (size_t i = 0; i < count; i++) {
		if (l.len + 1 < sizeof(l.b))
			l.b[l.len++] = '\t';
		line_put(&l, fields[i]);
	}
	if (l.bad || l.len + 1 > sizeof(l.b))
		return -1;
	l.b[l.len++] = '\n';
	return writer_put(w, l.b, l.len);
}

static const char *dash(const char *s)
{
	return s == NULL || *s == '\0' ? "-" : s;
}

static int envelope_check(const struct queue_envelope *env,
			  const char **error_r)
{
	if (env->rcpt_count == 0 || env->rcpt_count > QUEUE_RCPT_MAX) {
		*error_r = "bad recipient count";
		return -1;
	}
	if (env->attr_count > QUEUE_ATTR_MAX) {
		*error_r = "too many attributes";
		return -1;
	}
	for (size_t i = 0; i < env->attr_count; i++)
		if (!queue_file_attr_name_ok(env->attrs[i].name)) {
			*error_r = "bad attribute name";
			return -1;
		}
	for (size_t i = 0; i < env->rcpt_count; i++) {
		const struct queue_rcpt *r = &env->rcpts[i];
		if (r->address[0] == '\0' ||
		    (r->notify != NULL && *r->notify != '\0' &&
		     !queue_file_notify_ok(r->notify)) ||
		    (r->orcpt != NULL && strcmp(r->orcpt, "-") == 0) ||
		    (r->orig_rcpt != NULL && strcmp(r->orig_rcpt, "-") == 0)) {
			*error_r = "bad recipient";
			return -1;
		}
	}
	return 0;
}

int queue_writer_envelope(struct queue_writer *w,
			  const struct queue_envelope *env,
			  const char **error_r)
{
	char num[32];

	if (w->failed || w->len_off != 0) {
		*error_r = "queue file envelope written twice";
		return -1;
	}
	if (envelope_check(env, error_r) < 0)
		return -1;
	snprintf(num, sizeof(num), "%llu", (unsigned long long)w->arrival_us);
	const char *t[] = { num };
	const char *s[] = { env->sender != NULL ? env->sender : "" };
	if (writer_put(w, QUEUE_FILE_MAGIC, strlen(QUEUE_FILE_MAGIC)) < 0 ||
	    line_emit(w, "T", t, 1) < 0 || line_emit(w, "S", s, 1) < 0)
		goto fail;
	for (size_t i = 0; i < env->attr_count; i++) {
		const char *a[] = { env->attrs[i].name, env->attrs[i].value };
		if (line_emit(w, "A", a, 2) < 0)
			goto fail;
		w->names[w->name_count++] = xstrdup(env->attrs[i].name);
	}
	for (size_t i = 0; i < env->rcpt_count; i++) {
		const struct queue_rcpt *r = &env->rcpts[i];
		const char *f[] = { "P", dash(r->notify), dash(r->orcpt),
				    dash(r->orig_rcpt), r->address };
		if (line_emit(w, "R", f, 5) < 0)
			goto fail;
	}
	/* The length is fixed up at commit; the digits' place is kept. */
	w->len_off = w->file_off + w->wlen + 2;
	if (writer_put(w, "C\t00000000000000000000\n", 23) < 0)
		goto fail;
	return 0;
fail:
	*error_r = w->failed ? "queue file write error"
			     : "bad envelope field (TAB, CR, LF or too long)";
	w->failed = true;
	return -1;
}

int queue_writer_content(struct queue_writer *w, const void *data, size_t len,
			 const char **error_r)
{
	if (w->failed || w->len_off == 0 || w->late) {
		*error_r = w->failed ? "queue file write error"
			   : w->late ? "queue file content after attributes"
				     : "queue file content before envelope";
		return -1;
	}
	if (writer_put(w, data, len) < 0) {
		*error_r = "queue file write error";
		return -1;
	}
	w->content_size += len;
	return 0;
}

int queue_writer_late_attr(struct queue_writer *w, const char *name,
			   const char *value, const char **error_r)
{
	if (w->failed || w->len_off == 0) {
		*error_r = "queue file incomplete";
		return -1;
	}
	if (!queue_file_attr_name_ok(name)) {
		*error_r = "bad attribute name";
		return -1;
	}
	for (size_t i = 0; i < w->name_count; i++)
		if (strcmp(w->names[i], name) == 0) {
			*error_r = "duplicate attribute";
			return -1;
		}
	if (w->name_count >= QUEUE_ATTR_MAX) {
		*error_r = "too many attributes";
		return -1;
	}
	const char *a[] = { name, value };
	/* A bad value leaves the file as it was: line_emit builds the
	 * whole line before anything is put. */
	struct qf_line l = { .len = 0, .bad = false };
	line_put(&l, value);
	if (l.bad || strlen(name) + strlen(value) + 4 > QUEUE_LINE_MAX) {
		*error_r = "bad attribute value (TAB, CR, LF or too long)";
		return -1;
	}
	if (line_emit(w, "A", a, 2) < 0) {
		w->failed = true;
		*error_r = "queue file write error";
		return -1;
	}
	w->late = true;
	w->names[w->name_count++] = xstrdup(name);
	return 0;
}

/* Writes the content length into its reserved place: in the buffer if
 * it is still there (small messages: no extra system call), else pwrite. */
static int writer_fix_length(struct queue_writer *w)
{
	char digits[QUEUE_LEN_DIGITS + 1];

	snprintf(digits, sizeof(digits), "%020llu",
		 (unsigned long long)w->content_size);
	if (w->len_off >= w->file_off) {
		memcpy(w->wbuf + (w->len_off - w->file_off), digits,
		       QUEUE_LEN_DIGITS);
		return writer_flush(w);
	}
	if (writer_flush(w) < 0)
		return -1;
	return pwrite(w->fd, digits, QUEUE_LEN_DIGITS, (off_t)w->len_off) ==
			       QUEUE_LEN_DIGITS
		       ? 0
		       : -1;
}

static void writer_free(struct queue_writer **w)
{
	if ((*w)->fd >= 0)
		close((*w)->fd);
	if ((*w)->own_dir)
		close((*w)->dir_fd);
	for (size_t i = 0; i < (*w)->name_count; i++)
		free((*w)->names[i]);
	free((*w)->wbuf);
	xfree(w);
}

int queue_writer_commit(struct queue_writer **wp, const char **error_r)
{
	struct queue_writer *w = *wp;

	if (w->failed || w->len_off == 0) {
		*error_r = "queue file incomplete";
		queue_writer_abort(wp);
		return -1;
	}
	/* Mode 0700 (maildrop: 0744) before the fsync, so the mode that says "complete" is
	 * durable together with the content it vouches for. */
	if (writer_put(w, "E\n", 2) < 0 || writer_fix_length(w) < 0 ||
	    fchmod(w->fd, w->done_mode) < 0 || fsync(w->fd) < 0) {
		*error_r = "queue file write or fsync error";
		queue_writer_abort(wp);
		return -1;
	}
	int ret = w->sync_fs ? syncfs(w->fd) : 0;
	if (close(w->fd) < 0)
		ret = -1;
	w->fd = -1;
	if (ret < 0 || (!w->sync_fs && fsync(w->dir_fd) < 0)) {
		*error_r = "queue file close or directory fsync error";
		queue_writer_abort(wp);
		return -1;
	}
	writer_free(wp);
	metrics_count(METRICS_RECEIVED);
	return 0;
}

void queue_writer_abort(struct queue_writer **wp)
{
	if (*wp == NULL)
		return;
	int saved = errno;
	(void)unlinkat((*wp)->dir_fd, (*wp)->id, 0);
	writer_free(wp);
	errno = saved;
}
