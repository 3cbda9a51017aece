/* maildir: one durable Maildir delivery: tmp/, fsync, rename into new/,
 * fsync new/. The content is copied with pread/write rather than by the
 * kernel (copy_file_range, sendfile): the name carries Dovecot's W=
 * (the size with every LF counted as CRLF), which needs every byte seen,
 * and one more user-space copy of a message costs little next to the two
 * syncs of a delivery. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include "fsutil.h"
#include "maildir.h"
#include "mem.h"

#define MAILDIR_COPY_BLOCK (64 * 1024)
/* ",S=" and ",W=" with 20 digits each. */
#define MAILDIR_SIZES_MAX (2 * (3 + 20))
/* How far up from a new Maildir its created parents are fsync()ed. */
#define MAILDIR_SYNC_DEPTH 16

static char maildir_errbuf[PATH_MAX + 256];
static unsigned long maildir_counter;

struct maildir_paths {
	char tmp[PATH_MAX];
	char new[PATH_MAX];
	char newdir[PATH_MAX];
};

int maildir_escape_host(char *out, size_t outsize, const char *hostname)
{
	size_t o = 0;

	for (const char *p = hostname; *p != '\0'; p++) {
		const char *rep = *p == '/' ? "\\057" : *p == ':' ? "\\072" :
			NULL;
		size_t n = rep != NULL ? 4 : 1;
		if (o + n >= outsize) {
			if (outsize > 0)
				out[0] = '\0';
			return -1;
		}
		if (rep != NULL)
			memcpy(out + o, rep, 4);
		else
			out[o] = *p;
		o += n;
	}
	if (outsize == 0)
		return -1;
	out[o] = '\0';
	return 0;
}

/* The status for errno, and -1 for the caller to return. */
static int maildir_fail(int err, const char *what, const char *path,
			const char **dsn_r, const char **error_r)
{
	const char *dsn = "4.3.0";

	switch (err) {
	case EDQUOT:
		dsn = "4.2.2";
		break;
	case ENOSPC:
		dsn = "4.3.1";
		break;
	case EFBIG:
		dsn = "5.2.3";
		break;
	case ENOTDIR:
	case ELOOP:
	case EISDIR:
	case ENAMETOOLONG:
		dsn = "4.3.5";
		break;
	}
	snprintf(maildir_errbuf, sizeof(maildir_errbuf), "%s %s: %s", what,
		 path, strerror(err));
	*dsn_r = dsn;
	*error_r = maildir_errbuf;
	return -1;
}

int maildir_unique_name(char *out, size_t outsize, const char *hostname)
{
	char host[MAILDIR_HOSTNAME_MAX * 4 + 1];
	struct timeval tv;

	if (maildir_escape_host(host, sizeof(host), hostname) < 0) {
		if (outsize > 0)
			out[0] = '\0';
		return -1;
	}
	gettimeofday(&tv, NULL);
	maildir_counter++;
	int n = snprintf(out, outsize, "%lld.M%ldP%ldQ%lu.%s",
			 (long long)tv.tv_sec, (long)tv.tv_usec,
			 (long)getpid(), maildir_counter, host);
	return n < 0 || (size_t)n >= outsize ? -1 : 0;
}

/* tmp/NAME and new/; new/NAME,S=..,W=.. once the sizes are known. */
static int maildir_make_paths(const char *maildir, const char *hostname,
			      struct maildir_paths *p)
{
	char name[MAILDIR_NAME_MAX];

	if (maildir_unique_name(name, sizeof(name), hostname) < 0)
		return -1;
	int n1 = snprintf(p->tmp, sizeof(p->tmp), "%s/tmp/%s", maildir, name);
	int n2 = snprintf(p->newdir, sizeof(p->newdir), "%s/new", maildir);
	/* The new/ name must fit too, with the longest sizes: known now,
	 * before anything is written. */
	if (n1 < 0 || n2 < 0 ||
	    (size_t)n1 + MAILDIR_SIZES_MAX >= sizeof(p->new) ||
	    (size_t)n2 >= sizeof(p->newdir))
		return -1;
	return 0;
}

static int maildir_make_new_path(const char *maildir, uint64_t size,
				 uint64_t vsize, struct maildir_paths *p)
{
	const char *name = strrchr(p->tmp, '/') + 1;
	int n = snprintf(p->new, sizeof(p->new), "%s/new/%s,S=%llu,W=%llu",
			 maildir, name, (unsigned long long)size,
			 (unsigned long long)vsize);

	return n < 0 || (size_t)n >= sizeof(p->new) ? -1 : 0;
}

/* The LFs of data[0..len) not preceded by CR; *cr says whether the byte
 * before data was a CR, and is updated for the next piece. */
static uint64_t maildir_count_lf(const char *data, size_t len, bool *cr)
{
	const char *p = data, *end = data + len;
	uint64_t n = 0;

	if (len == 0)
		return 0;
	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		bool after_cr = p == data ? *cr : p[-1] == '\r';
		n += !after_cr;
		if (++p == end)
			break;
	}
	*cr = end[-1] == '\r';
	return n;
}

/* fsync()s dir and its parents up to (and including) base's level, so
 * that directories just created survive a crash. */
static int maildir_sync_up(const char *dir, const char *base)
{
	char path[PATH_MAX];
	size_t blen = base != NULL ? strlen(base) : 0;

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (int depth = 0; depth < MAILDIR_SYNC_DEPTH; depth++) {
		if (fs_fsync_dir(path) < 0)
			return -1;
		char *slash = strrchr(path, '/');
		if (slash == NULL || slash == path)
			break;
		*slash = '\0';
		/* Stop once the base itself (or, without a base, the parent
		 * of the Maildir) has been synced. */
		if (strlen(path) < blen || (base == NULL && depth >= 1))
			break;
	}
	return 0;
}

/* Creates the Maildir (and the directories between base and it). */
static int maildir_create(const char *maildir, const char *base,
			  const char **dsn_r, const char **error_r)
{
	static const char *const subdirs[] = { "tmp", "new", "cur" };
	char path[PATH_MAX];
	struct stat st;

	if (base != NULL && (stat(base, &st) < 0 || !S_ISDIR(st.st_mode))) {
		snprintf(maildir_errbuf, sizeof(maildir_errbuf),
			 "mailbox base %s is missing or not a directory", base);
		*dsn_r = "4.3.0";
		*error_r = maildir_errbuf;
		return -1;
	}
	if (fs_mkdir_p(maildir, 0700) < 0)
		return maildir_fail(errno, "create", maildir, dsn_r, error_r);
	for (size_t i = 0; i < 3; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", maildir,
			     subdirs[i]) >= (int)sizeof(path))
			return maildir_fail(ENAMETOOLONG, "create", maildir,
					    dsn_r, error_r);
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return maildir_fail(errno, "create", path, dsn_r,
					    error_r);
	}
	if (maildir_sync_up(maildir, base) < 0)
		return maildir_fail(errno, "fsync", maildir, dsn_r, error_r);
	return 0;
}

/* Copies size bytes from in at offset to out's current position,
 * adding the LFs that are not preceded by CR to *lf (cr as in
 * maildir_count_lf). Returns 0, -1 (errno), or -2 when in ends early. */
static int maildir_copy(int out, int in, off_t offset, uint64_t size,
			bool *cr, uint64_t *lf)
{
	static char block[MAILDIR_COPY_BLOCK];
	off_t pos = offset;

	while (size > 0) {
		size_t chunk = size > sizeof(block) ? sizeof(block) :
			(size_t)size;
		ssize_t n = fs_pread_all(in, block, chunk, pos);
		if (n < 0)
			return -1;
		if (n == 0)
			return -2;
		*lf += maildir_count_lf(block, (size_t)n, cr);
		if (fs_write_all(out, block, (size_t)n) < 0)
			return -1;
		pos += n;
		size -= (uint64_t)n;
	}
	return 0;
}

/* The octets the skip ranges leave out, or -1 when the ranges are not in
 * order or reach past the content. */
static int maildir_skipped(const struct maildir_delivery *d, uint64_t *n_r)
{
	uint64_t pos = 0;

	*n_r = 0;
	for (size_t i = 0; i < d->skip_count; i++) {
		const struct maildir_skip *s = &d->skip[i];
		if (s->offset < pos || s->len > d->content_size ||
		    s->offset > d->content_size - s->len)
			return -1;
		pos = s->offset + s->len;
		*n_r += s->len;
	}
	return 0;
}

/* The content without the skip ranges (checked by maildir_skipped). */
static int maildir_copy_content(int fd, const struct maildir_delivery *d,
				bool *cr, uint64_t *lf)
{
	uint64_t pos = 0;

	for (size_t i = 0; i <= d->skip_count; i++) {
		uint64_t end = i < d->skip_count ? d->skip[i].offset :
			       d->content_size;
		int ret = maildir_copy(fd, d->content_fd, d->content_offset +
				       (off_t)pos, end - pos, cr, lf);
		if (ret < 0)
			return ret;
		if (i < d->skip_count)
			pos = end + d->skip[i].len;
	}
	return 0;
}

/* Writes the file; on failure the caller removes it. *lf_r: the LFs to
 * count twice in the virtual size. */
static int maildir_write(int fd, const struct maildir_delivery *d,
			 const char *path, uint64_t *lf_r, const char **dsn_r,
			 const char **error_r)
{
	bool cr = false;

	*lf_r = maildir_count_lf(d->prefix, d->prefix_len, &cr);
	if (d->prefix_len > 0 && fs_write_all(fd, d->prefix, d->prefix_len) < 0)
		return maildir_fail(errno, "write", path, dsn_r, error_r);
	int ret = maildir_copy_content(fd, d, &cr, lf_r);
	if (ret == -2) {
		snprintf(maildir_errbuf, sizeof(maildir_errbuf),
			 "queue file ends before the content does");
		*dsn_r = "4.3.0";
		*error_r = maildir_errbuf;
		return -1;
	}
	if (ret < 0)
		return maildir_fail(errno, "write", path, dsn_r, error_r);
	if (fdatasync(fd) < 0)
		return maildir_fail(errno, "fsync", path, dsn_r, error_r);
	return 0;
}

/* Creates tmp/NAME, making the Maildir once if it is missing. */
static int maildir_open_tmp(const char *maildir,
			    const struct maildir_delivery *d,
			    struct maildir_paths *p, const char **dsn_r,
			    const char **error_r)
{
	bool created = false;

	for (int tries = 0; tries < 4; tries++) {
		if (maildir_make_paths(maildir, d->hostname, p) < 0)
			return maildir_fail(ENAMETOOLONG, "deliver to", maildir,
					    dsn_r, error_r);
		int fd = open(p->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
				O_NOFOLLOW, 0600);
		if (fd >= 0)
			return fd;
		if (errno == ENOENT && !created) {
			if (maildir_create(maildir, d->base, dsn_r,
					   error_r) < 0)
				return -1;
			created = true;
		} else if (errno != EEXIST) {
			/* EEXIST: a name clash (clock stepped back): the
			 * counter makes the next name differ. */
			return maildir_fail(errno, "create", p->tmp, dsn_r,
					    error_r);
		}
	}
	return maildir_fail(EEXIST, "create", p->tmp, dsn_r, error_r);
}

/* rename() into new/, recreating new/ if someone removed it. */
static int maildir_publish(const char *maildir, const struct maildir_paths *p,
			   const char **dsn_r, const char **error_r)
{
	if (rename(p->tmp, p->new) < 0) {
		if (errno != ENOENT || mkdir(p->newdir, 0700) < 0 ||
		    fs_fsync_dir(maildir) < 0 || rename(p->tmp, p->new) < 0)
			return maildir_fail(errno, "rename to", p->new, dsn_r,
					    error_r);
	}
	if (fs_fsync_dir(p->newdir) < 0) {
		int err = errno;
		/* Not durable: take it back so that the retry is the only
		 * copy (a crash now may still leave both: delivered twice,
		 * never lost). */
		(void)unlink(p->new);
		return maildir_fail(err, "fsync", p->newdir, dsn_r, error_r);
	}
	return 0;
}

int maildir_deliver(const char *maildir_path, const struct maildir_delivery *d,
		    char **path_r, const char **dsn_r, const char **error_r)
{
	struct maildir_paths p;
	uint64_t total, vsize, lf, skipped;

	if (maildir_skipped(d, &skipped) < 0) {
		snprintf(maildir_errbuf, sizeof(maildir_errbuf),
			 "content ranges to leave out are not inside the "
			 "content");
		*dsn_r = "4.3.0";
		*error_r = maildir_errbuf;
		return -1;
	}
	if (__builtin_add_overflow(d->content_size - skipped,
				   (uint64_t)d->prefix_len, &total))
		return maildir_fail(EFBIG, "deliver to", maildir_path, dsn_r,
				    error_r);
	int fd = maildir_open_tmp(maildir_path, d, &p, dsn_r, error_r);
	if (fd < 0)
		return -1;
	int ret = maildir_write(fd, d, p.tmp, &lf, dsn_r, error_r);
	if (close(fd) < 0 && ret == 0)
		ret = maildir_fail(errno, "close", p.tmp, dsn_r, error_r);
	/* lf <= total, and total fits an off_t: no overflow, and the name
	 * fits (maildir_make_paths checked): both only in theory. */
	if (ret == 0 && (__builtin_add_overflow(total, lf, &vsize) ||
			 maildir_make_new_path(maildir_path, total, vsize,
					       &p) < 0))
		ret = maildir_fail(EFBIG, "deliver to", maildir_path, dsn_r,
				   error_r);
	if (ret == 0)
		ret = maildir_publish(maildir_path, &p, dsn_r, error_r);
	if (ret < 0) {
		(void)unlink(p.tmp);
		return -1;
	}
	if (path_r != NULL)
		*path_r = xstrdup(p.new);
	return 0;
}
