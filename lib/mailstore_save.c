/* mailstore_save: new messages in a folder (IMAP APPEND, MULTIAPPEND)
 * and copies from another folder (COPY, MOVE), written as delivery
 * writes them and named as delivery names them (maildir_unique_name):
 *   1. each file into tmp/ (written and fsync()ed, or hard-linked from
 *      the source), its mtime the INTERNALDATE;
 *   2. under the uidlist lock, renamed into cur/ as
 *      "<name>,S=<size>,W=<vsize>:2,<flags>", and cur/ fsync()ed;
 *   3. still under the lock, one sync gives them consecutive UIDs before
 *      any other new file, and writes surel-index, then the uidlist.
 * All or nothing: a failure at any step removes every file of the
 * batch. A crash leaves files in tmp/ (never seen), or files in cur/
 * without UIDs (the next sync gives them UIDs: the message is kept), or
 * UIDs in the index but not yet in the uidlist (the next sync gives the
 * same ones back); no UID is ever given twice (doc/mailstore.md). */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fsutil.h"
#include "maildir.h"
#include "mailstore_impl.h"
#include "mem.h"

#define SAVE_BLOCK (64 * 1024)
#define SAVE_NAME_TRIES 4

/* One file of a batch. */
struct save_file {
	char *tmp;		/* owned: its path in tmp/ while there */
	char *base;		/* owned: the name up to ':' */
	char *name;		/* owned: its name in cur/ */
	bool in_cur;
	uint64_t size;
};

struct save_batch {
	struct mailstore *box;
	struct save_file *files;
	size_t count;
};

/* Output through a block buffer, counting octets and bare LFs (each
 * counts twice in the virtual size). */
struct save_out {
	int fd;
	char *block;
	size_t len;
	uint64_t size;
	uint64_t bare_lf;
	bool last_cr;		/* the last octet written was a CR */
	int error;		/* errno of the first failed write, or 0 */
};

static void out_flush(struct save_out *o)
{
	if (o->len > 0 && o->error == 0 && fs_write_all(o->fd, o->block,
							o->len) < 0)
		o->error = errno != 0 ? errno : EIO;
	o->len = 0;
}

static void out_put(struct save_out *o, const char *p, size_t n)
{
	for (const char *lf = p; n > 0 && (lf = memchr(lf, '\n',
				    (size_t)(p + n - lf))) != NULL; lf++)
		o->bare_lf += !(lf == p ? o->last_cr : lf[-1] == '\r');
	if (n > 0)
		o->last_cr = p[n - 1] == '\r';
	o->size += n;
	while (n > 0) {
		size_t room = SAVE_BLOCK - o->len;
		size_t k = n < room ? n : room;
		memcpy(o->block + o->len, p, k);
		o->len += k;
		p += k;
		n -= k;
		if (o->len == SAVE_BLOCK)
			out_flush(o);
	}
}

/* The message as stored: every CRLF becomes LF, other octets stay. */
static void out_put_lf(struct save_out *o, const char *data, size_t len)
{
	const char *p = data, *end = data + len;

	while (p < end) {
		const char *cr = memchr(p, '\r', (size_t)(end - p));
		out_put(o, p, (size_t)((cr != NULL ? cr : end) - p));
		if (cr == NULL)
			break;
		if (cr + 1 == end || cr[1] != '\n')
			out_put(o, "\r", 1);
		p = cr + 1;
	}
}

static const char *save_hostname(void)
{
	static char host[256];

	if (host[0] == '\0' && (gethostname(host, sizeof(host)) < 0 ||
				host[0] == '\0'))
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	return host;
}

/* A fresh unique path in box's tmp/ into f->tmp (not created yet). */
static int tmp_path(struct mailstore *box, struct save_file *f,
		    char uniq[MAILDIR_NAME_MAX], const char **error_r)
{
	xfree(&f->tmp);
	if (maildir_unique_name(uniq, MAILDIR_NAME_MAX, save_hostname()) < 0) {
		*error_r = ms_error("host name too long for a file name");
		return -1;
	}
	char *dir = ms_path_join(box->path, "tmp");
	f->tmp = ms_path_join(dir, uniq);
	free(dir);
	return 0;
}

/* Creates a new file in box's tmp/: its fd, with f->tmp and uniq set;
 * -1 with f->tmp NULL (nothing of ours to remove). */
static int tmp_open(struct mailstore *box, struct save_file *f,
		    char uniq[MAILDIR_NAME_MAX], const char **error_r)
{
	for (int tries = 0; tries < SAVE_NAME_TRIES; tries++) {
		if (tmp_path(box, f, uniq, error_r) < 0)
			return -1;
		int fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
			      O_NOFOLLOW, ms_file_mode(box));
		if (fd >= 0)
			return fd;
		/* EEXIST: a clock stepped back; the counter moves on. */
		if (errno != EEXIST) {
			*error_r = ms_error("create %s: %s", f->tmp,
					    strerror(errno));
			break;
		}
	}
	if (f->tmp != NULL && errno == EEXIST)
		*error_r = ms_error("%s: no unique file name", box->path);
	xfree(&f->tmp);
	return -1;
}

/* Names the file "<uniq>,S=<size>,W=<vsize>:2,<flags>". */
static int set_names(struct save_file *f, const char *uniq, uint64_t size,
		     uint64_t vsize, unsigned flags, uint32_t keywords,
		     const char **error_r)
{
	char base[MAILDIR_NAME_MAX + 64], name[MS_BASE_MAX + 1];

	snprintf(base, sizeof(base), "%s,S=%llu,W=%llu", uniq,
		 (unsigned long long)size, (unsigned long long)vsize);
	if (ms_name_set_flags(base, flags & MAILSTORE_FLAGS_ALL,
			      keywords & ((1u << MAILSTORE_KEYWORDS_MAX) - 1),
			      name, sizeof(name)) < 0 || !ms_name_valid(name)) {
		*error_r = ms_error("%s: file name too long (host name?)",
				    base);
		return -1;
	}
	f->base = xstrdup(base);
	f->name = xstrdup(name);
	f->size = size;
	return 0;
}

/* Finishes a file written to fd: fsync, mtime, close. */
static int tmp_finish(int fd, const struct save_file *f, int64_t mtime,
		      const char **error_r)
{
	struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
	int ret = 0;

	if (fdatasync(fd) < 0 || (mtime != 0 && futimens(fd, ts) < 0))
		ret = -1;
	if (close(fd) < 0)
		ret = -1;
	if (ret < 0)
		*error_r = ms_error("write %s: %s", f->tmp, strerror(errno));
	return ret;
}

static struct save_file *batch_add(struct save_batch *b)
{
	struct save_file *f = &b->files[b->count++];

	memset(f, 0, sizeof(*f));
	return f;
}

/* Writes one new message into tmp/. */
static int save_one(struct save_batch *b, const struct mailstore_new_msg *msg,
		    const char **error_r)
{
	struct save_file *f = batch_add(b);
	char uniq[MAILDIR_NAME_MAX];
	int fd = tmp_open(b->box, f, uniq, error_r);

	if (fd < 0)
		return -1;
	struct save_out o = { .fd = fd, .block = xmalloc(SAVE_BLOCK) };
	out_put_lf(&o, msg->data, msg->len);
	out_flush(&o);
	free(o.block);
	if (o.error != 0) {
		*error_r = ms_error("write %s: %s", f->tmp, strerror(o.error));
		close(fd);
		return -1;
	}
	if (tmp_finish(fd, f, msg->internaldate, error_r) < 0)
		return -1;
	return set_names(f, uniq, o.size, o.size + o.bare_lf, msg->flags,
			 msg->keywords, error_r);
}

/* Removes every file of the batch (a failure: none may stay). */
static void batch_discard(struct save_batch *b)
{
	bool synced = false;

	for (size_t i = 0; i < b->count; i++) {
		struct save_file *f = &b->files[i];
		if (f->in_cur) {
			char *p = ms_path_join(b->box->cur_path, f->name);
			(void)unlink(p);
			free(p);
			synced = true;
		} else if (f->tmp != NULL) {
			(void)unlink(f->tmp);
		}
	}
	/* Best effort: a file that comes back after a crash is kept as a
	 * message, never lost. */
	if (synced && fs_fsync_dir(b->box->cur_path) < 0)
		return;
}

static void batch_free(struct save_batch *b)
{
	for (size_t i = 0; i < b->count; i++) {
		free(b->files[i].tmp);
		free(b->files[i].base);
		free(b->files[i].name);
	}
	free(b->files);
}

/* Steps 2 and 3: into cur/ and UIDs, under the lock. *first_r: the
 * first UID. On -1 the caller discards the batch. */
static int batch_publish(struct save_batch *b, uint32_t *first_r,
			 const char **error_r)
{
	struct mailstore *box = b->box;
	struct ms_lock lk = { .fd = -1 };

	if (ms_save_hook != NULL)
		ms_save_hook("tmp");
	if (ms_lock_uidlist(box, &lk, ms_lock_wait_ms(), error_r) <= 0)
		return -1;
	for (size_t i = 0; i < b->count; i++) {
		struct save_file *f = &b->files[i];
		char *to = ms_path_join(box->cur_path, f->name);
		int ret = rename(f->tmp, to);
		free(to);
		if (ret < 0) {
			*error_r = ms_error("rename %s: %s", f->tmp,
					    strerror(errno));
			ms_lock_release(&lk);
			return -1;
		}
		f->in_cur = true;
	}
	if (fs_fsync_dir(box->cur_path) < 0) {
		*error_r = ms_error("fsync %s: %s", box->cur_path,
				    strerror(errno));
		ms_lock_release(&lk);
		return -1;
	}
	if (ms_save_hook != NULL)
		ms_save_hook("published");
	char **bases = xcalloc(b->count + 1, sizeof(*bases));
	for (size_t i = 0; i < b->count; i++)
		bases[i] = b->files[i].base;
	int ret = ms_sync_saved(box, &lk, bases, b->count, first_r, error_r);
	free(bases);
	return ret;
}

/* Publishes the batch; on failure nothing of it stays. */
static int batch_finish(struct save_batch *b, uint32_t *first_r,
			uint64_t *bytes_r, const char **error_r)
{
	uint64_t bytes = 0;

	if (b->count > 0 && batch_publish(b, first_r, error_r) < 0) {
		batch_discard(b);
		return -1;
	}
	for (size_t i = 0; i < b->count; i++)
		bytes += b->files[i].size;
	if (bytes_r != NULL)
		*bytes_r = bytes;
	return 0;
}

int mailstore_save(struct mailstore *box, const struct mailstore_new_msg *msgs,
		   size_t n, uint32_t *uids_r, uint64_t *bytes_r,
		   const char **error_r)
{
	struct save_batch b = { box, xcalloc(n + 1, sizeof(*b.files)), 0 };
	uint32_t first = 0;
	int ret = 0;

	ms_flags_settle(box);
	for (size_t i = 0; i < n && ret == 0; i++)
		ret = save_one(&b, &msgs[i], error_r);
	if (ret < 0)
		batch_discard(&b);
	else
		ret = batch_finish(&b, &first, bytes_r, error_r);
	for (size_t i = 0; i < n && ret == 0; i++)
		uids_r[i] = first + (uint32_t)i;
	batch_free(&b);
	return ret;
}

/* ---- copies ---- */

/* dst's index for each keyword src uses (-1: none, dst has no room). */
static int map_keywords(struct mailstore *src, struct mailstore *dst,
			uint32_t used, int map[MAILSTORE_KEYWORDS_MAX],
			const char **error_r)
{
	char *names[MAILSTORE_KEYWORDS_MAX] = { NULL };
	int ret = 0;

	/* Copies first: when src is dst, a lookup may read the keywords
	 * again and free the names. */
	for (unsigned k = 0; k < MAILSTORE_KEYWORDS_MAX; k++) {
		const char *name = mailstore_keyword_name(src, k);
		map[k] = src == dst ? (int)k : -1;
		if ((used & (1u << k)) && name != NULL && src != dst)
			names[k] = xstrdup(name);
	}
	for (unsigned k = 0; k < MAILSTORE_KEYWORDS_MAX && ret >= 0; k++) {
		unsigned idx;
		if (names[k] == NULL)
			continue;
		ret = mailstore_keyword_index(dst, names[k], true, &idx,
					      error_r);
		if (ret > 0)
			map[k] = (int)idx;
	}
	ms_keywords_free(names);
	return ret < 0 ? -1 : 0;
}

static uint32_t keywords_mapped(uint32_t kw,
				const int map[MAILSTORE_KEYWORDS_MAX])
{
	uint32_t out = 0;

	for (unsigned k = 0; k < MAILSTORE_KEYWORDS_MAX; k++)
		if ((kw & (1u << k)) && map[k] >= 0)
			out |= 1u << map[k];
	return out;
}

/* Copies the octets of fd into a new tmp/ file (another file system). */
static int copy_data(struct save_file *f, int dst_fd, int src_fd,
		     uint64_t *size_r, uint64_t *vsize_r, const char **error_r)
{
	struct save_out o = { .fd = dst_fd, .block = xmalloc(SAVE_BLOCK) };
	char *in = xmalloc(SAVE_BLOCK);
	ssize_t n;
	off_t pos = 0;

	while ((n = fs_pread_all(src_fd, in, SAVE_BLOCK, pos)) > 0) {
		out_put(&o, in, (size_t)n);
		pos += n;
	}
	if (n < 0)
		o.error = errno;
	out_flush(&o);
	free(in);
	free(o.block);
	if (o.error != 0) {
		*error_r = ms_error("copy to %s: %s", f->tmp,
				    strerror(o.error));
		return -1;
	}
	*size_r = o.size;
	*vsize_r = o.size + o.bare_lf;
	return 0;
}

enum link_result { LINK_DONE, LINK_TAKEN, LINK_UNSUPPORTED, LINK_GONE,
		  LINK_ERROR };

/* The source file as a new hard link at tmp, following a rename. */
static enum link_result copy_link(struct mailstore *src, size_t i,
				  const char *tmp, const char **error_r)
{
	for (int tries = 0; tries < 2; tries++) {
		struct mailstore_msg *m = &src->msgs[i];
		char *from = ms_msg_path(src, m, m->name);
		int ret = link(from, tmp);
		int saved = errno;
		free(from);
		if (ret == 0)
			return LINK_DONE;
		if (saved == EEXIST)
			return LINK_TAKEN;
		if (saved == EXDEV || saved == EPERM || saved == EMLINK ||
		    saved == ENOTSUP || saved == EOPNOTSUPP)
			return LINK_UNSUPPORTED;
		if (saved != ENOENT) {
			*error_r = ms_error("link %s: %s", m->name,
					    strerror(saved));
			return LINK_ERROR;
		}
		int found = ms_msg_follow(src, m, error_r);
		if (found < 0)
			return LINK_ERROR;
		if (found == 0)
			return LINK_GONE;
	}
	return LINK_GONE;
}

/* Another file system: the octets are copied (and synced), the mtime
 * kept. 1, 0 the message is gone, -1 error. */
static int copy_by_reading(struct save_batch *b, struct save_file *f,
			   struct mailstore *src, size_t i,
			   char uniq[MAILDIR_NAME_MAX], uint64_t *size_r,
			   uint64_t *vsize_r, const char **error_r)
{
	int src_fd, ret = mailstore_msg_open(src, i, &src_fd, error_r);

	if (ret <= 0)
		return ret;
	int fd = tmp_open(b->box, f, uniq, error_r);
	if (fd >= 0 && copy_data(f, fd, src_fd, size_r, vsize_r, error_r) < 0) {
		close(fd);
		fd = -1;
	}
	close(src_fd);
	if (fd < 0 || tmp_finish(fd, f, src->msgs[i].mtime, error_r) < 0)
		return -1;
	return 1;
}

/* The message into dst's tmp/, a hard link where possible. 1 done, 0
 * the message is gone, -1 error. */
static int copy_file(struct save_batch *b, struct save_file *f,
		     struct mailstore *src, size_t i,
		     char uniq[MAILDIR_NAME_MAX], uint64_t *size_r,
		     uint64_t *vsize_r, const char **error_r)
{
	enum link_result r = LINK_TAKEN;
	struct stat st;

	for (int tries = 0; tries < SAVE_NAME_TRIES && r == LINK_TAKEN;
	     tries++) {
		if (tmp_path(b->box, f, uniq, error_r) < 0)
			return -1;
		r = copy_link(src, i, f->tmp, error_r);
	}
	if (r != LINK_DONE)
		xfree(&f->tmp);
	switch (r) {
	case LINK_DONE:
		break;
	case LINK_UNSUPPORTED:
		return copy_by_reading(b, f, src, i, uniq, size_r, vsize_r,
				       error_r);
	case LINK_GONE:
		return 0;
	case LINK_TAKEN:
		*error_r = ms_error("%s: no unique file name", b->box->path);
		return -1;
	case LINK_ERROR:
		return -1;
	}
	/* The same file: its sizes are known, unless the list was wrong. */
	*size_r = src->msgs[i].size;
	*vsize_r = src->msgs[i].vsize;
	if (stat(f->tmp, &st) < 0 ||
	    ((uint64_t)st.st_size != *size_r &&
	     ms_file_measure(AT_FDCWD, f->tmp, true, size_r, vsize_r,
			     &(int64_t){ 0 }) < 0)) {
		*error_r = ms_error("%s: %s", f->tmp, strerror(errno));
		return -1;
	}
	return 1;
}

/* One message of src into dst's tmp/: 1, 0 gone (not in the batch),
 * -1 error. */
static int copy_one(struct save_batch *b, struct mailstore *src, size_t i,
		    const int map[MAILSTORE_KEYWORDS_MAX], const char **error_r)
{
	struct save_file *f = batch_add(b);
	char uniq[MAILDIR_NAME_MAX];
	uint64_t size = 0, vsize = 0;
	int ret = copy_file(b, f, src, i, uniq, &size, &vsize, error_r);

	if (ret == 0)
		b->count--;
	if (ret <= 0)
		return ret;
	const struct mailstore_msg *m = &src->msgs[i];
	return set_names(f, uniq, size, vsize, m->flags,
			 keywords_mapped(m->keywords, map), error_r) < 0 ?
		-1 : 1;
}

int mailstore_copy(struct mailstore *src, const size_t *idx, size_t n,
		   struct mailstore *dst, uint32_t *uids_r, uint64_t *bytes_r,
		   const char **error_r)
{
	int map[MAILSTORE_KEYWORDS_MAX];
	uint32_t used = 0, first = 0;
	int ret = 0;

	ms_flags_settle(src);
	ms_flags_settle(dst);
	for (size_t k = 0; k < n; k++) {
		if (idx[k] >= src->count) {
			*error_r = ms_error("no message %zu", idx[k]);
			return -1;
		}
		used |= src->msgs[idx[k]].keywords;
	}
	if (map_keywords(src, dst, used, map, error_r) < 0)
		return -1;
	struct save_batch b = { dst, xcalloc(n + 1, sizeof(*b.files)), 0 };
	bool *copied = xcalloc(n + 1, sizeof(*copied));
	for (size_t k = 0; k < n && ret >= 0; k++)
		copied[k] = (ret = copy_one(&b, src, idx[k], map,
					    error_r)) > 0;
	if (ret < 0)
		batch_discard(&b);
	else
		ret = batch_finish(&b, &first, bytes_r, error_r);
	for (size_t k = 0; k < n && ret >= 0; k++)
		uids_r[k] = copied[k] ? first++ : 0;
	batch_free(&b);
	free(copied);
	return ret < 0 ? -1 : 0;
}
