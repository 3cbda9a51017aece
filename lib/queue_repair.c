/* queue_repair: the queue's structure checked and repaired (see
 * queue_repair.h for what is a problem and what is done about it). Every
 * move is a rename that never replaces a file, so a repair cannot lose a
 * message, only leave a problem for the operator. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "queue_file.h"
#include "queue_repair.h"

#define REPAIR_PATH_MAX 512	/* "corrupt/" NAME_MAX ".NN" */
#define REPAIR_WHY_MAX 1024
#define CORRUPT_TRIES 100	/* "name", "name.1" ... in corrupt/ */
#define RENAME_TRIES 16		/* process parts tried for a new id */
#define ID_TIME_SECONDS_MAX 0xFFFFFFFFFFULL	/* 10 hex digits */

struct repair {
	int qfd;
	queue_repair_report_fn *report;
	void *ctx;
	struct queue_repair_counts *n;
	unsigned long long seen;
	time_t now;
};

static void fixed(struct repair *r, unsigned long long *count,
		  const char *from, const char *to, const char *why)
{
	(*count)++;
	r->report(r->ctx, true, from, to, why);
}

static void left(struct repair *r, const char *from, const char *why)
{
	r->n->left++;
	r->report(r->ctx, false, from, NULL, why);
}

/* rename that fails with EEXIST rather than replace a file. */
static int move_noreplace(int qfd, const char *from, const char *to)
{
	if (renameat2(qfd, from, qfd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* A file system without RENAME_NOREPLACE: a link never replaces
	 * either. */
	if (linkat(qfd, from, qfd, to, 0) < 0)
		return -1;
	return unlinkat(qfd, from, 0);
}

static const char *const queue_dirs[] = {
	"incoming", "active", "deferred", "hold", "corrupt",
};

/* A directory created by root for mail_owner's queue must be
 * mail_owner's: it gets the queue directory's owner. */
static void dir_ensure(struct repair *r, const char *dir,
		       const struct stat *top)
{
	struct stat st;

	if (fstatat(r->qfd, dir, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISDIR(st.st_mode))
			left(r, dir, "not a directory");
		return;
	}
	if (errno != ENOENT || mkdirat(r->qfd, dir, 0700) < 0 ||
	    fchownat(r->qfd, dir, top->st_uid, top->st_gid,
		     AT_SYMLINK_NOFOLLOW) < 0) {
		left(r, dir, "missing, and cannot be created");
		return;
	}
	fixed(r, &r->n->created, dir, dir, "missing directory created");
}

static void dirs_ensure(struct repair *r)
{
	char dir[REPAIR_PATH_MAX];
	struct stat top;

	if (fstatat(r->qfd, ".", &top, 0) < 0)
		return;
	for (size_t i = 0; i < sizeof(queue_dirs) / sizeof(queue_dirs[0]);
	     i++)
		dir_ensure(r, queue_dirs[i], &top);
	for (int h = 0; h < 16; h++) {
		snprintf(dir, sizeof(dir), "deferred/%X", h);
		dir_ensure(r, dir, &top);
	}
}

/* Kept for the operator, never deleted. */
static void to_corrupt(struct repair *r, const char *path, const char *name,
		       const char *why)
{
	char to[REPAIR_PATH_MAX], msg[REPAIR_WHY_MAX];

	for (int i = 0; i < CORRUPT_TRIES; i++) {
		if (i == 0)
			snprintf(to, sizeof(to), "corrupt/%s", name);
		else
			snprintf(to, sizeof(to), "corrupt/%s.%d", name, i);
		if (move_noreplace(r->qfd, path, to) == 0) {
			fixed(r, &r->n->corrupt, path, to, why);
			return;
		}
		if (errno != EEXIST)
			break;
	}
	snprintf(msg, sizeof(msg), "%s; cannot move it to corrupt/: %s", why,
		 strerror(errno));
	left(r, path, msg);
}

int queue_repair_remove_stale(int dir_fd, const char *name, time_t now)
{
	struct stat st;
	int removed = 0;
	int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
			O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &st) == 0 &&
	    S_ISREG(st.st_mode) && (st.st_mode & S_IXUSR) == 0 &&
	    st.st_mtime + QUEUE_REPAIR_STALE_S < now &&
	    unlinkat(dir_fd, name, 0) == 0)
		removed = 1;
	close(fd);
	return removed;
}

static void stale_check(struct repair *r, const char *path)
{
	if (queue_repair_remove_stale(r->qfd, path, r->now) == 1)
		fixed(r, &r->n->removed, path, NULL,
		      "incomplete queue file, its writer gone");
}

/* Renames dir/name to its id (built from the arrival time) in the
 * directory it belongs in. */
static void place(struct repair *r, const char *dir, const char *name,
		  uint64_t arrival_us, bool deferred)
{
	char prefix[QUEUE_ID_MAX], id[QUEUE_ID_MAX + 16];
	char from[REPAIR_PATH_MAX], to[REPAIR_PATH_MAX], why[REPAIR_WHY_MAX];

	queue_id_time(prefix, arrival_us);
	size_t plen = strlen(prefix);
	bool name_ok = queue_id_valid(name) && strncmp(name, prefix, plen) == 0;
	snprintf(from, sizeof(from), "%s/%s", dir, name);
	for (unsigned i = 0; i < RENAME_TRIES; i++) {
		if (name_ok)
			snprintf(id, sizeof(id), "%s", name);
		else if (i == 0 && queue_id_valid(name))
			snprintf(id, sizeof(id), "%s%s", prefix, name + plen);
		else
			snprintf(id, sizeof(id), "%s%lX", prefix,
				 (unsigned long)getpid() + i);
		if (deferred)
			snprintf(to, sizeof(to), "deferred/%c/%s",
				 queue_id_hash(id), id);
		else
			snprintf(to, sizeof(to), "%s/%s", dir, id);
		if (strcmp(from, to) == 0)
			return;		/* all is well */
		if (move_noreplace(r->qfd, from, to) == 0) {
			if (name_ok)
				fixed(r, &r->n->moved, from, to,
				      "in the wrong deferred/ subdirectory");
			else
				fixed(r, &r->n->renamed, from, to,
				      "its name is not its queue id");
			return;
		}
		if (errno != EEXIST || name_ok)
			break;
	}
	snprintf(why, sizeof(why), "cannot move it to %s: %s", to,
		 strerror(errno));
	left(r, from, why);
}

static void check_file(struct repair *r, const char *dir, const char *name,
		       bool deferred)
{
	char path[REPAIR_PATH_MAX], why[REPAIR_WHY_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (fstatat(r->qfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;			/* gone meanwhile */
	if (S_ISDIR(st.st_mode)) {
		left(r, path, "a directory where queue files belong");
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		to_corrupt(r, path, name, "not a regular file");
		return;
	}
	if (strcmp(dir, "incoming") == 0 && (st.st_mode & S_IXUSR) == 0) {
		stale_check(r, path);
		return;
	}
	int fd = openat(r->qfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return;
		snprintf(why, sizeof(why), "unreadable: %s", strerror(errno));
		to_corrupt(r, path, name, why);
		return;
	}
	struct queue_envelope env;
	off_t off;
	uint64_t size;
	const char *error;
	int ret = queue_file_read(fd, &env, &off, &size, &error);
	close(fd);
	if (ret < 0) {
		snprintf(why, sizeof(why), "corrupt queue file: %s", error);
		to_corrupt(r, path, name, why);
		return;
	}
	uint64_t arrival = env.arrival_us;
	queue_envelope_free(&env);
	if (arrival / 1000000 > ID_TIME_SECONDS_MAX)
		to_corrupt(r, path, name, "arrival time out of range");
	else
		place(r, dir, name, arrival, deferred);
}

/* deferred/ itself holds the subdirectories 0..F, and a file there is
 * misplaced. */
static bool hash_subdir(const char *dir, const char *name)
{
	return strcmp(dir, "deferred") == 0 && name[0] != '\0' &&
	       name[1] == '\0' && strchr("0123456789ABCDEF", name[0]) != NULL;
}

static void scan(struct repair *r, const char *dir, bool deferred)
{
	int dfd = openat(r->qfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;

	if (d == NULL) {
		if (dfd >= 0)
			close(dfd);
		left(r, dir, "cannot read the directory");
		return;
	}
	while (r->seen < QUEUE_REPAIR_FILES_MAX && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    hash_subdir(dir, de->d_name))
			continue;
		r->seen++;
		check_file(r, dir, de->d_name, deferred);
	}
	closedir(d);
}

unsigned long long queue_repair_run(int qdir_fd, bool include_active,
				    queue_repair_report_fn *report, void *ctx,
				    struct queue_repair_counts *counts_r)
{
	struct repair r = {
		.qfd = qdir_fd, .report = report, .ctx = ctx, .n = counts_r,
		.now = time(NULL),
	};
	char dir[REPAIR_PATH_MAX];

	memset(counts_r, 0, sizeof(*counts_r));
	dirs_ensure(&r);
	scan(&r, "incoming", false);
	if (include_active)
		scan(&r, "active", false);
	scan(&r, "hold", false);
	scan(&r, "deferred", true);
	for (int h = 0; h < 16; h++) {
		snprintf(dir, sizeof(dir), "deferred/%X", h);
		scan(&r, dir, true);
	}
	return counts_r->created + counts_r->renamed + counts_r->moved +
	       counts_r->removed + counts_r->corrupt;
}
