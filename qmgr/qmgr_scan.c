/* qmgr_scan: the directory scans, none of them on the hot path: recovery
 * of active/ at start, the periodic look into incoming/ for files nobody
 * woke us for (and stale half-written ones), the queue run over
 * deferred/H/ for files whose retry time (mtime) has come, and the queue
 * of wakeup ids waiting for room under qmgr_message_active_limit. */
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
#include "log.h"
#include "mem.h"
#include "qmgr.h"
#include "queue_repair.h"

#define QMGR_WAIT_IDS 10000		/* wakeup ids kept while full */

/* A FIFO ring of ids; when it overflows incoming/ is rescanned instead. */
static char (*wait_ids)[QUEUE_ID_MAX];
static size_t wait_head, wait_count;
static bool drain_scheduled;

bool qmgr_scan_have_queued(void) { return wait_count > 0; }

void qmgr_scan_queue_id(const char *id)
{
	if (wait_count == QMGR_WAIT_IDS) {
		qmgr.incoming_rescan = true;
		return;
	}
	if (wait_ids == NULL)
		wait_ids = xcalloc(QMGR_WAIT_IDS, sizeof(*wait_ids));
	size_t slot = (wait_head + wait_count) % QMGR_WAIT_IDS;
	snprintf(wait_ids[slot], QUEUE_ID_MAX, "%s", id);
	wait_count++;
}

/* Calls fn for each queue file name in dir; fn returns false to stop. */
static void scan_dir(const char *dir,
		     bool (*fn)(int dir_fd, const char *dir, const char *id,
				time_t now))
{
	DIR *d = opendir(dir);
	struct dirent *de;
	time_t now = time(NULL);

	if (d == NULL) {
		log_error("opendir %s: %s", dir, strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (!queue_id_valid(de->d_name)) {
			continue;	/* not ours: an operator's file */
		}
		if (!fn(dirfd(d), dir, de->d_name, now))
			break;
	}
	closedir(d);
}

static bool recover_one(int dir_fd, const char *dir, const char *id,
			time_t now)
{
	char path[QMGR_PATH_MAX], to[QMGR_PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, id);
	if (qmgr_message_room()) {
		qmgr_message_activate(path, id, false);
		return true;
	}
	/* More than fits in memory: back to incoming/, taken from there as
	 * room frees up. */
	snprintf(to, sizeof(to), QMGR_INCOMING "/%s", id);
	if (rename(path, to) < 0)
		log_error("rename %s %s: %s", path, to, strerror(errno));
	qmgr.incoming_rescan = true;
	return true;
}

void qmgr_scan_recover_active(void)
{
	scan_dir(QMGR_ACTIVE, recover_one);
}

/* An old 0600 file goes only once its writer died before it could answer
 * 250: nobody was promised this message. The writer holds an flock on it
 * from creation to commit, and commit makes it 0700 before letting go, so
 * the lock and then the mode decide (an old mtime alone does not: a slow
 * client's content waits in the writer's buffer). The rule is shared with
 * surelsuper -s (queue_repair_remove_stale). */
static bool incoming_one(int dir_fd, const char *dir, const char *id,
			 time_t now)
{
	char path[QMGR_PATH_MAX];
	struct stat st;

	if (fstatat(dir_fd, id, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode))
		return true;
	snprintf(path, sizeof(path), "%s/%s", dir, id);
	if ((st.st_mode & S_IXUSR) == 0) {
		if (st.st_mtime + QUEUE_REPAIR_STALE_S < now &&
		    queue_repair_remove_stale(dir_fd, id, now) == 1)
			log_warn("%s: removed incomplete queue file left in "
				 "%s", id, dir);
		return true;
	}
	if (!qmgr_message_room()) {
		qmgr.incoming_rescan = true;
		return false;
	}
	qmgr_message_activate(path, id, true);
	return true;
}

void qmgr_scan_incoming(void)
{
	qmgr.incoming_rescan = false;
	scan_dir(QMGR_INCOMING, incoming_one);
	qmgr_deliver_kick();
}

static bool deferred_one(int dir_fd, const char *dir, const char *id,
			 time_t now)
{
	char path[QMGR_PATH_MAX];
	struct stat st;

	if (fstatat(dir_fd, id, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode) || st.st_mtime > now)
		return true;
	if (!qmgr_message_room()) {
		qmgr.deferred_rescan = true;
		return false;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, id);
	qmgr_message_activate(path, id, false);
	return true;
}

void qmgr_scan_deferred(void)
{
	char dir[QMGR_PATH_MAX];

	qmgr.deferred_rescan = false;
	for (int h = 0; h < 16 && !qmgr.deferred_rescan; h++) {
		snprintf(dir, sizeof(dir), QMGR_DEFERRED "/%X", h);
		scan_dir(dir, deferred_one);
	}
	qmgr_deliver_kick();
}

/* A rescan costs a readdir of the whole directory: only once a good part
 * of the active limit is free, not for every message that finishes. */
static bool rescan_worth_it(void)
{
	size_t low = qmgr.active_limit - qmgr.active_limit / 4;

	return qmgr.active_count < (low > 0 ? low : 1);
}

static void drain_run(void *ctx)
{
	char path[QMGR_PATH_MAX];

	drain_scheduled = false;
	if (qmgr.stopping)
		return;
	while (wait_count > 0 && qmgr_message_room()) {
		const char *id = wait_ids[wait_head];
		snprintf(path, sizeof(path), QMGR_INCOMING "/%s", id);
		qmgr_message_activate(path, id, true);
		wait_head = (wait_head + 1) % QMGR_WAIT_IDS;
		wait_count--;
	}
	if (qmgr.incoming_rescan && wait_count == 0 && rescan_worth_it())
		qmgr_scan_incoming();
	if (qmgr.deferred_rescan && rescan_worth_it())
		qmgr_scan_deferred();
	qmgr_deliver_kick();
}

void qmgr_scan_drain(void)
{
	if (drain_scheduled || qmgr.loop == NULL ||
	    (wait_count == 0 && !qmgr.incoming_rescan &&
	     !qmgr.deferred_rescan))
		return;
	drain_scheduled = true;
	event_timer_add(qmgr.loop, 0, drain_run, NULL);
}
