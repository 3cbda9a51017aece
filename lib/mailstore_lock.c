/* mailstore_lock: Dovecot's dotlocks. FILE.lock is created with O_EXCL;
 * its holder writes the new content of FILE into it and renames it over
 * FILE, which installs the content and drops the lock in one step.
 *
 * A lock is stale, and taken over, when neither it nor FILE changed for
 * MS_LOCK_STALE_SECS (a crashed writer), or, once it is a few seconds
 * old, when its holder is known to be dead: Dovecot writes "pid:host"
 * into its uidlist lock, surel holds flock() on its own.
 * Waiting polls every 10-50 ms and gives up after a bounded time. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "mailstore_impl.h"

static unsigned lock_wait = MS_LOCK_WAIT_MS_DEFAULT;

/* What the waiter saw of the lock and of FILE, to tell "someone is busy"
 * from "nobody touched it for minutes". */
struct lock_watch {
	bool seen;
	struct ms_stamp lock;
	struct ms_stamp target;
	time_t last_change;
	time_t last_pid_check;
};

void ms_lock_set_wait_ms(unsigned wait_ms)
{
	lock_wait = wait_ms;
}

unsigned ms_lock_wait_ms(void)
{
	return lock_wait;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* 10-50 ms, different in each process so that waiters spread out. */
static void nap(void)
{
	static unsigned seed;

	if (seed == 0)
		seed = (unsigned)getpid() ^ (unsigned)time(NULL);
	seed = seed * 1103515245u + 12345u;
	struct timespec ts = { 0, (long)(10 + (seed >> 16) % 41) * 1000000L };
	nanosleep(&ts, NULL);
}

/* True if "pid:host" names a process of this host that is gone. */
static bool pid_dead(char *data)
{
	char host[256];
	char *colon = strchr(data, ':');

	if (colon == NULL || colon == data || gethostname(host, sizeof(host)) < 0)
		return false;
	host[sizeof(host) - 1] = '\0';
	*colon = '\0';
	if (strcmp(colon + 1, host) != 0 || strspn(data, "0123456789") !=
	    strlen(data) || strlen(data) > 9)
		return false;
	long pid = strtol(data, NULL, 10);
	return pid > 0 && pid != getpid() && kill((pid_t)pid, 0) < 0 &&
		errno == ESRCH;
}

/* True if the holder of the lock is known to be dead: Dovecot writes
 * "pid:host" into its lock; surel holds flock() on its lock while it has
 * it (its lock holds the new file instead), which the kernel drops when
 * the process dies. */
static bool lock_holder_dead(const char *path)
{
	char data[512];
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	bool dead = false;

	if (fd < 0)
		return false;
	ssize_t n = read(fd, data, sizeof(data) - 1);
	if (n >= 0) {
		if (n > 0 && data[n - 1] == '\n')
			n--;
		data[n] = '\0';
		/* "pid:host" has no space; a uidlist always has one. */
		if (n > 0 && strchr(data, '\n') == NULL &&
		    strchr(data, ' ') == NULL)
			dead = pid_dead(data);
		else if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			dead = true;
	}
	close(fd);
	return dead;
}

/* Removes the lock if it is still the one looked at; then waits a little
 * so that another process overriding it at the same moment does not
 * remove the lock we are about to create. */
static int lock_override(const char *path, const struct ms_stamp *seen)
{
	struct ms_stamp now;

	if (ms_stamp_get(path, &now) < 0)
		return -1;
	if (now.exists && now.ino == seen->ino && now.dev == seen->dev &&
	    unlink(path) < 0 && errno != ENOENT)
		return -1;
	nap();
	return 1;
}

/* 1 the lock is gone or was taken over (try again now), 0 it stands, -1
 * error. */
static int lock_check(const char *path, const char *target,
		      struct lock_watch *w)
{
	struct ms_stamp lock, file;
	time_t now = time(NULL);

	if (ms_stamp_get(path, &lock) < 0 || ms_stamp_get(target, &file) < 0)
		return -1;
	if (!lock.exists)
		return 1;
	if (!w->seen) {
		/* First look: it changed when its mtime (and FILE's) says. */
		w->last_change = lock.mtime.tv_sec <= now ? lock.mtime.tv_sec :
			now;
		if (file.exists && file.mtime.tv_sec <= now &&
		    file.mtime.tv_sec > w->last_change)
			w->last_change = file.mtime.tv_sec;
	} else if (!ms_stamp_eq(&lock, &w->lock) ||
		   !ms_stamp_eq(&file, &w->target)) {
		w->last_change = now;
		w->last_pid_check = 0;
	}
	w->seen = true;
	w->lock = lock;
	w->target = file;
	if (lock.mtime.tv_sec < now - MS_LOCK_PID_SECS &&
	    w->last_pid_check != now) {
		w->last_pid_check = now;
		if (lock_holder_dead(path))
			return lock_override(path, &lock);
	}
	if (now - w->last_change > MS_LOCK_STALE_SECS)
		return lock_override(path, &lock);
	return 0;
}

static int lock_create(struct ms_lock *lk, mode_t mode)
{
	struct stat st;
	int fd = open(lk->path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
		      O_CLOEXEC, mode);

	if (fd < 0)
		return errno == EEXIST ? 0 : -1;
	/* The umask must not make the uidlist unreadable for Dovecot. The
	 * flock() tells waiters we are alive (see lock_holder_dead). */
	if (fchmod(fd, mode) < 0 || fstat(fd, &st) < 0 ||
	    flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int saved = errno;
		unlink(lk->path);
		close(fd);
		errno = saved;
		return -1;
	}
	lk->fd = fd;
	lk->dev = st.st_dev;
	lk->ino = st.st_ino;
	return 1;
}

int ms_lock_take(struct ms_lock *lk, const char *target, mode_t mode,
		 unsigned wait_ms, const char **error_r)
{
	struct lock_watch w = { .seen = false };
	uint64_t deadline = now_ms() + wait_ms;
	int ret;

	lk->fd = -1;
	if (snprintf(lk->path, sizeof(lk->path), "%s.lock", target) >=
	    (int)sizeof(lk->path)) {
		*error_r = ms_error("%s: path too long", target);
		return -1;
	}
	/* Even without waiting, a stale lock may be taken over (twice at
	 * most: it can only be replaced by a live one). */
	for (unsigned tries = 0;; tries++) {
		if ((ret = lock_create(lk, mode)) != 0)
			break;
		if ((ret = lock_check(lk->path, target, &w)) < 0)
			break;
		if (ret == 1 && tries < 1000)
			continue;
		if (now_ms() >= deadline || (wait_ms == 0 && tries >= 2)) {
			*error_r = ms_error("%s: held by another process%s",
					    lk->path, wait_ms > 0 ?
					    " for too long" : "");
			return 0;
		}
		nap();
	}
	if (ret < 0) {
		*error_r = ms_error("lock %s: %s", lk->path, strerror(errno));
		return -1;
	}
	return 1;
}

bool ms_lock_held(const struct ms_lock *lk)
{
	struct stat st;

	return lstat(lk->path, &st) == 0 && st.st_ino == lk->ino &&
		st.st_dev == lk->dev;
}

int ms_lock_replace(struct ms_lock *lk, const char *target,
		    const char **error_r)
{
	int ret = 0;

	if (fsync(lk->fd) < 0) {
		*error_r = ms_error("fsync %s: %s", lk->path, strerror(errno));
		ret = -1;
	} else if (!ms_lock_held(lk)) {
		/* Someone took it over as stale: what we wrote is void. */
		*error_r = ms_error("%s was taken over by another process",
				    lk->path);
		close(lk->fd);
		lk->fd = -1;
		return -1;
	} else if (rename(lk->path, target) < 0) {
		*error_r = ms_error("rename %s: %s", lk->path, strerror(errno));
		ret = -1;
	}
	if (ret < 0) {
		ms_lock_release(lk);
		return -1;
	}
	close(lk->fd);
	lk->fd = -1;
	return 0;
}

void ms_lock_release(struct ms_lock *lk)
{
	if (lk->fd < 0)
		return;
	if (ms_lock_held(lk))
		unlink(lk->path);
	close(lk->fd);
	lk->fd = -1;
}
