/* maildir_quota: Maildir++ "maildirsize", read and written the way
 * Courier and Dovecot do, so that a Maildir moves between them and surel
 * with its quota intact.
 *
 * Concurrency: deliveries and expunges append one "<bytes> <count>" line
 * each with a single O_APPEND write, atomic on a local file system, so
 * no lock is taken. A recount takes none either (Maildir++ has no lock
 * for it, and Courier and Dovecot would not honour ours): it fingerprints
 * every new/ and cur/ directory it reads (inode and mtime), renames the
 * new file into place, and counts again (up to three times) when a
 * directory changed meanwhile, since a change line appended to the old
 * file during the count is lost with it. What slips past that (changes
 * within the file system's timestamp granularity) is the small drift
 * Maildir++ accepts: the next recount corrects it.
 *
 * A file whose figures say "over the limit" is trusted only when it is a
 * fresh recount (one change line, less than 15 minutes old): otherwise
 * the Maildir is counted first, as Courier and Dovecot do, so that
 * messages deleted by other tools free their space. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "fsutil.h"
#include "maildir_quota.h"

/* Figures older than this are counted again before refusing mail. */
#define MAILDIR_QUOTA_STALE_SECS (15 * 60)
/* Numbers in the file: at most INT64_MAX, so at most 19 digits. */
#define MAILDIR_QUOTA_DIGITS_MAX 19
/* Counts of a Maildir that keeps changing before the result is kept. */
#define MAILDIR_QUOTA_RECOUNT_TRIES 3

static char maildir_quota_errbuf[PATH_MAX + 128];
static unsigned long maildir_quota_counter;

/* What one maildirsize file says. */
struct maildir_quota_file {
	struct maildir_quota_limit limit;
	struct maildir_quota_usage usage;
	unsigned long lines;		/* change lines after line 1 */
	bool limit_ok;			/* line 1 parsed */
};

/* A count of the Maildir: the sums and a fingerprint of its folders'
 * new/ and cur/ directories. */
struct maildir_quota_scan {
	bool read_files;		/* false: fingerprint only */
	struct maildir_quota_usage usage;
	uint64_t fingerprint;
	bool root_exists;
	mode_t root_mode;
};

static int maildir_quota_fail(const char **error_r, const char *what,
			      const char *path, int err)
{
	snprintf(maildir_quota_errbuf, sizeof(maildir_quota_errbuf),
		 "%s %s: %s", what, path, strerror(err));
	*error_r = maildir_quota_errbuf;
	return -1;
}

/* An unsigned decimal number of 1..19 digits, at most INT64_MAX. */
static const char *maildir_quota_digits(const char *p, const char *end,
					uint64_t *value_r)
{
	uint64_t v = 0;
	size_t n = 0;

	while (p < end && *p >= '0' && *p <= '9') {
		if (++n > MAILDIR_QUOTA_DIGITS_MAX)
			return NULL;
		v = v * 10 + (uint64_t)(*p++ - '0');
	}
	if (n == 0 || v > INT64_MAX)
		return NULL;
	*value_r = v;
	return p;
}

/* Line 1: empty, or "<n>S", "<n>C" or both, comma-separated, each kind
 * at most once. */
static int maildir_quota_parse_limit(const char *p, const char *end,
				     struct maildir_quota_limit *limit_r)
{
	bool have_s = false, have_c = false;

	limit_r->bytes = limit_r->count = 0;
	if (p == end)
		return 0;
	for (;;) {
		uint64_t v;
		p = maildir_quota_digits(p, end, &v);
		if (p == NULL || p == end)
			return -1;
		if (*p == 'S' && !have_s) {
			have_s = true;
			limit_r->bytes = v;
		} else if (*p == 'C' && !have_c) {
			have_c = true;
			limit_r->count = v;
		} else {
			return -1;
		}
		if (++p == end)
			return 0;
		if (*p++ != ',')
			return -1;
	}
}

/* A signed number with optional leading blanks (Courier pads them). */
static const char *maildir_quota_signed(const char *p, const char *end,
					int64_t *value_r)
{
	uint64_t v;
	bool neg = false;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p < end && (*p == '-' || *p == '+'))
		neg = *p++ == '-';
	p = maildir_quota_digits(p, end, &v);
	if (p == NULL)
		return NULL;
	*value_r = neg ? -(int64_t)v : (int64_t)v;
	return p;
}

/* "<bytes> <count>", either may be negative, blanks around. */
static int maildir_quota_parse_change(const char *p, const char *end,
				      struct maildir_quota_usage *sum)
{
	int64_t bytes, count;

	p = maildir_quota_signed(p, end, &bytes);
	if (p == NULL || p == end || (*p != ' ' && *p != '\t'))
		return -1;
	p = maildir_quota_signed(p, end, &count);
	if (p == NULL)
		return -1;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p != end)
		return -1;
	if (__builtin_add_overflow(sum->bytes, bytes, &sum->bytes) ||
	    __builtin_add_overflow(sum->count, count, &sum->count))
		return -1;
	return 0;
}

/* Fills f; f->limit_ok may be true even when the rest is damaged, so
 * that the limit survives a recount. */
static int maildir_quota_parse_file(const char *data, size_t len,
				    struct maildir_quota_file *f,
				    const char **error_r)
{
	const char *end = data + len;
	const char *eol = memchr(data, '\n', len);

	f->limit_ok = false;
	f->lines = 0;
	f->usage.bytes = f->usage.count = 0;
	if (len == 0) {
		*error_r = "empty file";
		return -1;
	}
	if (eol == NULL) {
		*error_r = "no complete line";
		return -1;
	}
	if (maildir_quota_parse_limit(data, eol, &f->limit) == 0)
		f->limit_ok = true;
	if (memchr(data, '\0', len) != NULL) {
		*error_r = "NUL byte";
		return -1;
	}
	if (!f->limit_ok) {
		*error_r = "bad limit line";
		return -1;
	}
	if (len > MAILDIR_QUOTA_MAX_SIZE) {
		*error_r = "file too large";
		return -1;
	}
	if (end[-1] != '\n') {
		*error_r = "incomplete last line";
		return -1;
	}
	for (const char *p = eol + 1; p < end; p = eol + 1) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (maildir_quota_parse_change(p, eol, &f->usage) < 0) {
			*error_r = "bad change line";
			return -1;
		}
		f->lines++;
	}
	if (f->usage.bytes < 0 || f->usage.count < 0) {
		*error_r = "negative total";
		return -1;
	}
	return 0;
}

int maildir_quota_parse(const char *data, size_t len,
			struct maildir_quota_limit *limit_r,
			struct maildir_quota_usage *usage_r,
			const char **error_r)
{
	struct maildir_quota_file f;

	if (maildir_quota_parse_file(data, len, &f, error_r) < 0)
		return -1;
	*limit_r = f.limit;
	*usage_r = f.usage;
	return 0;
}

static bool maildir_quota_over(uint64_t limit, int64_t used, uint64_t add)
{
	uint64_t total;

	if (limit == 0)
		return false;
	if (__builtin_add_overflow(used > 0 ? (uint64_t)used : 0, add, &total))
		return true;
	return total > limit;
}

bool maildir_quota_exceeded(const struct maildir_quota_limit *limit,
			    const struct maildir_quota_usage *usage,
			    uint64_t bytes, uint64_t count)
{
	return maildir_quota_over(limit->bytes, usage->bytes, bytes) ||
		maildir_quota_over(limit->count, usage->count, count);
}

/* ---------------------------------------------------------- counting */

/* Order-independent: readdir order need not be stable. */
static void maildir_quota_mix(struct maildir_quota_scan *s, const char *name,
			      const struct stat *st, bool exists)
{
	uint64_t h = 14695981039346656037ull;	/* FNV-1a */

	for (const char *p = name; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	if (exists) {
		uint64_t parts[] = {
			(uint64_t)st->st_ino, (uint64_t)st->st_mtim.tv_sec,
			(uint64_t)st->st_mtim.tv_nsec,
		};
		for (size_t i = 0; i < 3; i++)
			h = (h ^ parts[i]) * 1099511628211ull;
	}
	s->fingerprint += h;
}

/* The size from ",S=<digits>" (ending at ':', ',' or the end), as
 * Dovecot and Courier read it; false if there is none. */
static bool maildir_quota_name_size(const char *name, uint64_t *size_r)
{
	const char *p = strstr(name, ",S=");
	uint64_t v;

	if (p == NULL)
		return false;
	p += 3;
	const char *end = maildir_quota_digits(p, p + strlen(p), &v);
	if (end == NULL || (*end != '\0' && *end != ':' && *end != ','))
		return false;
	*size_r = v;
	return true;
}

static void maildir_quota_add(struct maildir_quota_usage *u, uint64_t size)
{
	int64_t s = size > INT64_MAX ? INT64_MAX : (int64_t)size;

	if (__builtin_add_overflow(u->bytes, s, &u->bytes))
		u->bytes = INT64_MAX;
	if (u->count < INT64_MAX)
		u->count++;
}

/* Counts the messages of one new/ or cur/ (path); a missing one is
 * empty. */
static int maildir_quota_count_dir(struct maildir_quota_scan *s,
				   const char *path, const char **error_r)
{
	struct stat st;
	struct dirent *e;

	if (!s->read_files) {
		bool exists = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
		maildir_quota_mix(s, path, &st, exists);
		return 0;
	}
	DIR *d = opendir(path);
	if (d == NULL) {
		if (errno != ENOENT && errno != ENOTDIR)
			return maildir_quota_fail(error_r, "opendir", path,
						  errno);
		maildir_quota_mix(s, path, &st, false);
		return 0;
	}
	/* Before the entries: a change while reading alters the mtime. */
	if (fstat(dirfd(d), &st) < 0) {
		int err = errno;
		closedir(d);
		return maildir_quota_fail(error_r, "fstat", path, err);
	}
	maildir_quota_mix(s, path, &st, true);
	errno = 0;
	while ((e = readdir(d)) != NULL) {
		uint64_t size;
		if (e->d_name[0] == '.')
			continue;
		if (!maildir_quota_name_size(e->d_name, &size)) {
			/* Gone meanwhile (moved to cur/, expunged), or not
			 * a message: not counted. */
			if (fstatat(dirfd(d), e->d_name, &st,
				    AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISREG(st.st_mode))
				continue;
			size = (uint64_t)st.st_size;
		}
		maildir_quota_add(&s->usage, size);
		errno = 0;
	}
	int err = errno;
	closedir(d);
	if (err != 0)
		return maildir_quota_fail(error_r, "readdir", path, err);
	return 0;
}

/* new/ and cur/ of the folder at dir. */
static int maildir_quota_count_folder(struct maildir_quota_scan *s,
				      const char *dir, const char **error_r)
{
	static const char *const subs[] = { "new", "cur" };
	char path[PATH_MAX];

	for (size_t i = 0; i < 2; i++) {
		int n = snprintf(path, sizeof(path), "%s/%s", dir, subs[i]);
		if (n < 0 || (size_t)n >= sizeof(path))
			return maildir_quota_fail(error_r, "count", dir,
						  ENAMETOOLONG);
		if (maildir_quota_count_dir(s, path, error_r) < 0)
			return -1;
	}
	return 0;
}

/* True for a ".Folder" entry that is a real directory (not a link:
 * counting follows no link out of the Maildir). */
static bool maildir_quota_is_folder(int dfd, const struct dirent *e)
{
	struct stat st;

	if (e->d_name[0] != '.' || strcmp(e->d_name, ".") == 0 ||
	    strcmp(e->d_name, "..") == 0)
		return false;
	if (e->d_type == DT_DIR)
		return true;
	if (e->d_type != DT_UNKNOWN)
		return false;
	return fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		S_ISDIR(st.st_mode);
}

/* INBOX (root's new/ cur/) and every Maildir++ folder. */
static int maildir_quota_walk(const char *root, struct maildir_quota_scan *s,
			      const char **error_r)
{
	char path[PATH_MAX];
	struct stat st;
	struct dirent *e;

	s->usage.bytes = s->usage.count = 0;
	s->fingerprint = 0;
	s->root_exists = false;
	DIR *d = opendir(root);
	if (d == NULL) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return maildir_quota_fail(error_r, "opendir", root, errno);
	}
	if (fstat(dirfd(d), &st) == 0) {
		s->root_exists = true;
		s->root_mode = st.st_mode;
	}
	int ret = maildir_quota_count_folder(s, root, error_r);
	errno = 0;
	while (ret == 0 && (e = readdir(d)) != NULL) {
		if (!maildir_quota_is_folder(dirfd(d), e))
			continue;
		int n = snprintf(path, sizeof(path), "%s/%s", root, e->d_name);
		if (n < 0 || (size_t)n >= sizeof(path))
			ret = maildir_quota_fail(error_r, "count", root,
						 ENAMETOOLONG);
		else
			ret = maildir_quota_count_folder(s, path, error_r);
		errno = 0;
	}
	if (ret == 0 && errno != 0)
		ret = maildir_quota_fail(error_r, "readdir", root, errno);
	closedir(d);
	return ret;
}

/* ----------------------------------------------------------- writing */

/* Line 1 as Dovecot writes it: "0S" rather than an empty line when
 * there is no limit. */
static int maildir_quota_format(char *out, size_t outsize,
				const struct maildir_quota_limit *limit,
				const struct maildir_quota_usage *usage)
{
	char line1[64] = "";
	size_t o = 0;

	if (limit->bytes != 0 || limit->count == 0)
		o = (size_t)snprintf(line1, sizeof(line1), "%lluS",
				     (unsigned long long)limit->bytes);
	if (limit->count != 0)
		snprintf(line1 + o, sizeof(line1) - o, "%s%lluC",
			 o > 0 ? "," : "", (unsigned long long)limit->count);
	int n = snprintf(out, outsize, "%s\n%lld %lld\n", line1,
			 (long long)usage->bytes, (long long)usage->count);
	return n < 0 || (size_t)n >= outsize ? -1 : n;
}

/* Writes root/tmp/..., then renames it over root/maildirsize. 1 done, 0
 * no tmp/ to write in (no Maildir yet: nothing to keep), -1 error. */
static int maildir_quota_write(const char *root, mode_t root_mode,
			       const struct maildir_quota_limit *limit,
			       const struct maildir_quota_usage *usage,
			       const char **error_r)
{
	char tmp[PATH_MAX], path[PATH_MAX], data[128];
	struct timeval tv;

	gettimeofday(&tv, NULL);
	int n1 = snprintf(tmp, sizeof(tmp), "%s/tmp/%lld.M%ldP%ldQ%lu.%s",
			  root, (long long)tv.tv_sec, (long)tv.tv_usec,
			  (long)getpid(), ++maildir_quota_counter,
			  MAILDIR_QUOTA_FILE);
	int n2 = snprintf(path, sizeof(path), "%s/%s", root,
			  MAILDIR_QUOTA_FILE);
	int len = maildir_quota_format(data, sizeof(data), limit, usage);
	if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof(tmp) ||
	    (size_t)n2 >= sizeof(path) || len < 0)
		return maildir_quota_fail(error_r, "write", root,
					  ENAMETOOLONG);
	/* The Maildir's own permissions, as Dovecot does (0700: 0600). */
	mode_t mode = root_mode & 0666;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		      O_CLOEXEC, mode);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return maildir_quota_fail(error_r, "create", tmp, errno);
	}
	/* Not fsync()ed: a file lost in a crash is counted again. fchmod:
	 * the mode exactly, whatever the umask. */
	bool ok = fchmod(fd, mode) == 0 &&
		fs_write_all(fd, data, (size_t)len) == 0;
	int err = errno;
	if (close(fd) < 0 && ok) {
		ok = false;
		err = errno;
	}
	if (!ok) {
		(void)unlink(tmp);
		return maildir_quota_fail(error_r, "write", tmp, err);
	}
	if (rename(tmp, path) < 0) {
		err = errno;
		(void)unlink(tmp);
		return maildir_quota_fail(error_r, "rename to", path, err);
	}
	return 1;
}

/* Counts the Maildir and writes the result under limit. */
static int maildir_quota_recount(const char *root,
				 const struct maildir_quota_limit *limit,
				 struct maildir_quota_usage *usage_r,
				 const char **error_r)
{
	struct maildir_quota_scan s, check;

	for (int tries = 0; tries < MAILDIR_QUOTA_RECOUNT_TRIES; tries++) {
		s.read_files = true;
		if (maildir_quota_walk(root, &s, error_r) < 0)
			return -1;
		*usage_r = s.usage;
		if (!s.root_exists)
			return 0;
		int ret = maildir_quota_write(root, s.root_mode, limit,
					      &s.usage, error_r);
		if (ret <= 0)
			return ret;
		check.read_files = false;
		if (maildir_quota_walk(root, &check, error_r) < 0)
			return -1;
		if (check.fingerprint == s.fingerprint)
			break;
	}
	return 0;
}

/* ----------------------------------------------------------- reading */

/* Reads root/maildirsize into buf (at most MAX_SIZE + 1 bytes). 1 read,
 * 0 missing, -1 error. */
static int maildir_quota_read(const char *path, char *buf, size_t bufsize,
			      size_t *len_r, time_t *mtime_r,
			      const char **error_r)
{
	struct stat st;
	/* O_NONBLOCK: a FIFO planted there must not hang delivery. */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
		      O_NOCTTY);

	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		/* A link is damage: the recount's rename replaces it. */
		if (errno == ELOOP) {
			*len_r = 0;
			*mtime_r = 0;
			return 1;
		}
		return maildir_quota_fail(error_r, "open", path, errno);
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return maildir_quota_fail(error_r, "read", path, EINVAL);
	}
	ssize_t n = fs_pread_all(fd, buf, bufsize, 0);
	int err = errno;
	close(fd);
	if (n < 0)
		return maildir_quota_fail(error_r, "read", path, err);
	*len_r = (size_t)n;
	*mtime_r = st.st_mtime;
	return 1;
}

static bool maildir_quota_limit_eq(const struct maildir_quota_limit *a,
				   const struct maildir_quota_limit *b)
{
	return a->bytes == b->bytes && a->count == b->count;
}

/* Usage and limit of root; *fresh_r: the figures are a count, not a sum
 * of changes (a recount just now, or a one-change-line file younger than
 * MAILDIR_QUOTA_STALE_SECS). */
static int maildir_quota_load(const char *root,
			      const struct maildir_quota_limit *limit,
			      struct maildir_quota_usage *usage_r,
			      struct maildir_quota_limit *limit_r,
			      bool *fresh_r, const char **error_r)
{
	char path[PATH_MAX], buf[MAILDIR_QUOTA_MAX_SIZE + 1];
	struct maildir_quota_file f = { .limit_ok = false };
	const char *parse_error;
	size_t len;
	time_t mtime;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", root,
			     MAILDIR_QUOTA_FILE) >= sizeof(path))
		return maildir_quota_fail(error_r, "read", root, ENAMETOOLONG);
	int ret = maildir_quota_read(path, buf, sizeof(buf), &len, &mtime,
				     error_r);
	if (ret < 0)
		return -1;
	bool ok = ret > 0 &&
		maildir_quota_parse_file(buf, len, &f, &parse_error) == 0;
	*limit_r = limit != NULL ? *limit : f.limit_ok ? f.limit :
		(struct maildir_quota_limit){ 0, 0 };
	*fresh_r = ok && f.lines == 1 &&
		time(NULL) - mtime < MAILDIR_QUOTA_STALE_SECS;
	if (ok && f.lines > 0 &&
	    (limit == NULL || maildir_quota_limit_eq(limit, &f.limit))) {
		*usage_r = f.usage;
		return 0;
	}
	/* Missing without a limit to keep: counted, but no file is made
	 * (a Maildir without quota stays without maildirsize). */
	*fresh_r = true;
	if (ret == 0 && limit == NULL) {
		struct maildir_quota_scan s = { .read_files = true };
		if (maildir_quota_walk(root, &s, error_r) < 0)
			return -1;
		*usage_r = s.usage;
		return 0;
	}
	return maildir_quota_recount(root, limit_r, usage_r, error_r);
}

int maildir_quota_get(const char *root, const struct maildir_quota_limit *limit,
		      struct maildir_quota_usage *usage_r,
		      struct maildir_quota_limit *limit_r, const char **error_r)
{
	struct maildir_quota_limit lim;
	bool fresh;

	if (maildir_quota_load(root, limit, usage_r, &lim, &fresh,
			       error_r) < 0)
		return -1;
	if (!fresh && maildir_quota_exceeded(&lim, usage_r, 0, 0) &&
	    maildir_quota_recount(root, &lim, usage_r, error_r) < 0)
		return -1;
	if (limit_r != NULL)
		*limit_r = lim;
	return 0;
}

int maildir_quota_check(const char *root,
			const struct maildir_quota_limit *limit,
			uint64_t bytes, uint64_t count,
			struct maildir_quota_usage *usage_r,
			const char **error_r)
{
	struct maildir_quota_limit lim;
	bool fresh;

	if (maildir_quota_load(root, limit, usage_r, &lim, &fresh,
			       error_r) < 0)
		return -1;
	if (!maildir_quota_exceeded(&lim, usage_r, bytes, count))
		return 1;
	if (fresh)
		return 0;
	if (maildir_quota_recount(root, &lim, usage_r, error_r) < 0)
		return -1;
	return maildir_quota_exceeded(&lim, usage_r, bytes, count) ? 0 : 1;
}

int maildir_quota_update(const char *root, int64_t bytes, int64_t count,
			 const char **error_r)
{
	char path[PATH_MAX], line[64];
	struct stat st;

	if (bytes == 0 && count == 0)
		return 0;
	int n = snprintf(line, sizeof(line), "%lld %lld\n", (long long)bytes,
			 (long long)count);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", root,
			     MAILDIR_QUOTA_FILE) >= sizeof(path))
		return maildir_quota_fail(error_r, "update", root,
					  ENAMETOOLONG);
	int fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC |
		      O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return maildir_quota_fail(error_r, "open", path, errno);
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return maildir_quota_fail(error_r, "update", path, EINVAL);
	}
	/* One write: O_APPEND makes it atomic against other appenders. A
	 * short one leaves a damaged line, which makes the next reader
	 * count again. */
	ssize_t w = write(fd, line, (size_t)n);
	int err = errno;
	if (close(fd) < 0 && w == n) {
		err = errno;
		w = -1;
	}
	if (w != n)
		return maildir_quota_fail(error_r, "append to", path,
					  w < 0 ? err : EIO);
	return 0;
}
