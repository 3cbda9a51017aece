/* mailstore_scan: reading new/ and cur/ of a folder into a table of
 * files by base name. A scan is "stable" when no directory changed while
 * it was read: only then may a file missing from it be taken as gone
 * (mutt renames files while we read; a rename seen neither under the old
 * nor the new name must not look like an expunge). Also the clean-up of
 * tmp/, which nothing else reads, and surel-stamps, where a sync records
 * what it vouches for. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "fsutil.h"
#include "mailstore_impl.h"
#include "mem.h"

/* A scan is retried while the directories change under it. */
#define SCAN_TRIES 3
/* Directory mtimes this recent may hide a change made in the same clock
 * tick: such a directory is read again next time. */
#define TRUST_SECS 2

const char *ms_scan_key(const void *ctx, uint32_t idx, size_t *len_r)
{
	const struct ms_scan *sc = ctx;

	*len_r = sc->files[idx].base_len;
	return sc->files[idx].name;
}

void ms_scan_clear(struct ms_scan *sc)
{
	for (size_t i = 0; i < sc->count; i++)
		free(sc->files[i].name);
	free(sc->files);
	sc->files = NULL;
	sc->count = sc->alloc = sc->cur_entries = 0;
	ms_hash_deinit(&sc->hash);
	sc->done = false;
}

static int scan_dir(const char *dir, bool in_new, struct ms_scan *sc,
		    const char **error_r)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL) {
		*error_r = ms_error("opendir %s: %s", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (!in_new && strcmp(e->d_name, ".") != 0 &&
		    strcmp(e->d_name, "..") != 0)
			sc->cur_entries++;
		if (!ms_name_valid(e->d_name))
			continue;
		if (sc->count >= MS_MSGS_MAX) {
			closedir(d);
			*error_r = ms_error("%s: too many files", dir);
			return -1;
		}
		if (sc->count == sc->alloc) {
			sc->alloc = sc->alloc < 256 ? 256 : sc->alloc * 2;
			sc->files = xreallocarray(sc->files, sc->alloc,
						  sizeof(*sc->files));
		}
		struct ms_file *f = &sc->files[sc->count++];
		f->name = xstrdup(e->d_name);
		f->base_len = (uint16_t)ms_name_base_len(f->name);
		f->in_new = in_new;
		f->moved = false;
	}
	closedir(d);
	return 0;
}

/* One base once: a file seen in new/ and then in cur/ was moved while we
 * read; cur/ wins. */
static void scan_index(struct ms_scan *sc)
{
	size_t out = 0;

	ms_hash_init(&sc->hash, sc->count);
	for (size_t i = 0; i < sc->count; i++) {
		struct ms_file *f = &sc->files[i];
		long j = ms_hash_find(&sc->hash, f->name, f->base_len, ms_scan_key,
				      sc);
		if (j < 0) {
			sc->files[out] = *f;
			ms_hash_insert(&sc->hash, sc->files[out].name,
				       f->base_len, (uint32_t)out);
			out++;
			continue;
		}
		struct ms_file *kept = &sc->files[j];
		if (kept->in_new && !f->in_new) {
			struct ms_file tmp = *kept;
			*kept = *f;
			*f = tmp;
		}
		free(f->name);
	}
	sc->count = out;
}

/* Whether every message of the uidlist has its file in the scan: then
 * an unstable scan (a directory changed while it was read, our own
 * renames a moment ago among them) needs no second look, since it is
 * only ever asked whether a file is gone. */
static bool all_listed(const struct ms_sync *c, const struct ms_scan *sc)
{
	const struct ms_map *ul = &c->box->ul;

	for (size_t i = 0; i < ul->count; i++)
		if (ms_scan_find(sc, ul->recs[i].base) < 0 &&
		    !ms_sync_gone(c, ul->recs[i].uid))
			return false;
	return true;
}

static int scan_stat(struct mailstore *box, struct ms_stamp *n,
		     struct ms_stamp *c, const char **error_r)
{
	if (ms_stamp_get(box->new_path, n) < 0 ||
	    ms_stamp_get(box->cur_path, c) < 0 || !n->exists || !c->exists) {
		*error_r = ms_error("%s: new/ or cur/ missing or unreadable",
				    box->path);
		return -1;
	}
	return 0;
}

static bool ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
		(a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* new/ first, then cur/: a file moving from new/ to cur/ meanwhile is
 * seen at least in cur/. The scan is stable (it may drop vanished files)
 * when neither directory changed while it was read: same stamps before
 * and after, and mtimes from an earlier clock tick than the start (file
 * times come from the coarse clock: a change in the tick of the last one
 * would not show). */
int ms_scan_dirs(const struct ms_sync *c, struct ms_scan *sc,
		 const char **error_r)
{
	struct mailstore *box = c->box;
	struct ms_stamp n2, c2;
	struct timespec start;
	time_t now = 0;

	for (int i = 0; i < SCAN_TRIES; i++) {
		if (i > 0)
			nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
		ms_scan_clear(sc);
		clock_gettime(CLOCK_REALTIME_COARSE, &start);
		now = start.tv_sec;
		if (scan_stat(box, &sc->new_st, &sc->cur_st, error_r) < 0 ||
		    scan_dir(box->new_path, true, sc, error_r) < 0 ||
		    scan_dir(box->cur_path, false, sc, error_r) < 0 ||
		    scan_stat(box, &n2, &c2, error_r) < 0) {
			ms_scan_clear(sc);
			return -1;
		}
		sc->stable = ms_stamp_eq(&n2, &sc->new_st) &&
			ms_stamp_eq(&c2, &sc->cur_st) &&
			ts_before(&sc->new_st.mtime, &start) &&
			ts_before(&sc->cur_st.mtime, &start);
		scan_index(sc);
		if (sc->stable || all_listed(c, sc))
			break;
	}
	sc->trusted = sc->stable &&
		sc->new_st.mtime.tv_sec <= now - TRUST_SECS &&
		sc->cur_st.mtime.tv_sec <= now - TRUST_SECS;
	return 0;
}

long ms_scan_find(const struct ms_scan *sc, const char *base)
{
	return ms_hash_find(&sc->hash, base, strlen(base), ms_scan_key, sc);
}

static unsigned tmp_max_age = MS_TMP_MAX_AGE;
static unsigned tmp_check_secs = MS_TMP_CHECK_SECS;
static unsigned limbo_max_age = MS_LIMBO_MAX_AGE;

void ms_tmp_set_limits(unsigned max_age, unsigned check_secs)
{
	tmp_max_age = max_age;
	tmp_check_secs = check_secs;
	limbo_max_age = max_age < MS_LIMBO_MAX_AGE ? max_age :
		MS_LIMBO_MAX_AGE;
}

/* Whether this handle looked less than tmp_check_secs ago (the monotonic
 * clock: no system call, and a clock set back does not stop it). */
static bool tmp_checked_lately(struct mailstore *box)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	if (box->tmp_checked &&
	    now.tv_sec - box->tmp_checked_at.tv_sec < (time_t)tmp_check_secs)
		return true;
	box->tmp_checked = true;
	box->tmp_checked_at = now;
	return false;
}

/* A file is left over when neither its data (mtime) nor its inode
 * (ctime: a hard link made by a copy keeps the source's old mtime) changed
 * for tmp_max_age: no writer takes that long. */
static void tmp_unlink_old(int dfd, time_t now)
{
	DIR *d = fdopendir(dfd);
	struct dirent *e;
	struct stat st;
	size_t seen = 0;

	if (d == NULL) {
		close(dfd);
		return;
	}
	while (seen++ < MS_TMP_SCAN_MAX && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    S_ISDIR(st.st_mode))
			continue;
		/* An expunged file its process did not get to delete (the
		 * move into tmp/ set its ctime) is nobody's. */
		time_t age = strncmp(e->d_name, MS_LIMBO_PREFIX,
				     strlen(MS_LIMBO_PREFIX)) == 0 ?
			(time_t)limbo_max_age : (time_t)tmp_max_age;
		if (st.st_mtime <= now - age && st.st_ctime <= now - age)
			(void)unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

/* Dovecot's rule, shared by every process through tmp/'s atime: it is
 * set to the time of each look, so a folder is looked at once per
 * tmp_check_secs whoever opens it (Dovecot does the same, with 8 hours).
 * The atime is only read and set here; reading a directory may move it
 * too (relatime), which only delays the next look. */
void ms_tmp_cleanup(struct mailstore *box)
{
	char path[4096];
	struct stat st;

	if (tmp_checked_lately(box) ||
	    (size_t)snprintf(path, sizeof(path), "%s/tmp", box->path) >=
	    sizeof(path))
		return;
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	time_t now = time(NULL);
	if (dfd < 0)
		return;
	if (fstat(dfd, &st) < 0 ||
	    (st.st_atime > now - (time_t)tmp_check_secs && st.st_atime <= now)) {
		close(dfd);
		return;
	}
	/* Stamped first: two processes opening the folder together do not
	 * both read it. A stamp we may not set (not our folder) leaves the
	 * per-handle limit. */
	struct timespec times[2] = { { now, 0 }, { 0, UTIME_OMIT } };
	(void)futimens(dfd, times);
	tmp_unlink_old(dfd, now);
}

/* ---- surel-stamps ---- */

#define STAMPS_MAGIC "SURELSTP"
#define STAMPS_VERSION 1

static unsigned char *put_le(unsigned char *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
	return p + n;
}

static uint64_t get_le(const unsigned char **p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)(*p)[i] << (8 * i);
	*p += n;
	return v;
}

static unsigned char *put_stamp(unsigned char *p, const struct ms_stamp *st)
{
	p = put_le(p, (uint64_t)st->dev, 8);
	p = put_le(p, (uint64_t)st->ino, 8);
	p = put_le(p, (uint64_t)st->size, 8);
	p = put_le(p, (uint64_t)st->mtime.tv_sec, 8);
	return put_le(p, (uint64_t)st->mtime.tv_nsec, 8);
}

static int get_stamp(const unsigned char **p, struct ms_stamp *st)
{
	memset(st, 0, sizeof(*st));
	st->exists = true;
	st->dev = (dev_t)get_le(p, 8);
	st->ino = (ino_t)get_le(p, 8);
	st->size = (off_t)get_le(p, 8);
	st->mtime.tv_sec = (time_t)get_le(p, 8);
	int64_t ns = (int64_t)get_le(p, 8);
	st->mtime.tv_nsec = (long)ns;
	return st->size >= 0 && ns >= 0 && ns < 1000000000 ? 0 : -1;
}

void ms_stamps_format(const struct ms_stamps *st,
		      unsigned char out[MS_STAMPS_SIZE])
{
	unsigned char *p = out;

	memcpy(p, STAMPS_MAGIC, 8);
	p = put_le(p + 8, STAMPS_VERSION, 4);
	p = put_le(p, 0, 4);
	p = put_le(p, st->index_id, 8);
	p = put_stamp(p, &st->ul);
	p = put_stamp(p, &st->new_dir);
	p = put_stamp(p, &st->cur_dir);
	put_le(p, ms_crc32(out, (size_t)(p - out)), 4);
}

int ms_stamps_parse(const unsigned char *data, size_t len,
		    struct ms_stamps *st)
{
	const unsigned char *p = data + 8;

	memset(st, 0, sizeof(*st));
	if (len != MS_STAMPS_SIZE || memcmp(data, STAMPS_MAGIC, 8) != 0 ||
	    get_le(&p, 4) != STAMPS_VERSION || get_le(&p, 4) != 0)
		return -1;
	st->index_id = get_le(&p, 8);
	if (st->index_id == 0 || get_stamp(&p, &st->ul) < 0 ||
	    get_stamp(&p, &st->new_dir) < 0 ||
	    get_stamp(&p, &st->cur_dir) < 0 ||
	    get_le(&p, 4) != ms_crc32(data, len - 4))
		return -1;
	return 0;
}

bool ms_stamps_eq(const struct ms_stamps *a, const struct ms_stamps *b)
{
	return a->index_id == b->index_id && ms_stamp_eq(&a->ul, &b->ul) &&
		ms_stamp_eq(&a->new_dir, &b->new_dir) &&
		ms_stamp_eq(&a->cur_dir, &b->cur_dir);
}

int ms_stamps_read(const struct mailstore *box, struct ms_stamps *st)
{
	unsigned char data[MS_STAMPS_SIZE + 1];
	int fd = open(box->stamps_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return 0;
	ssize_t n = read(fd, data, sizeof(data));
	close(fd);
	return n > 0 && ms_stamps_parse(data, (size_t)n, st) == 0 ? 1 : 0;
}

void ms_stamps_write(const struct mailstore *box, const struct ms_stamps *st)
{
	unsigned char data[MS_STAMPS_SIZE];
	char tmp[4096];

	/* In tmp/, under a name of this process: writers need no lock (a
	 * file names exactly what it vouches for, so the last rename wins
	 * harmlessly), and one left by a crash goes with tmp/'s leftovers. */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/tmp/%s.%ld", box->path,
			     MS_STAMPS_NAME, (long)getpid()) >= sizeof(tmp))
		return;
	ms_stamps_format(st, data);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
		      O_CLOEXEC, ms_file_mode(box));
	if (fd < 0)
		return;
	bool ok = fs_write_all(fd, data, sizeof(data)) == 0;
	if (close(fd) < 0 || !ok || rename(tmp, box->stamps_path) < 0)
		(void)unlink(tmp);
}
