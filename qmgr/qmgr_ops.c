/* qmgr_ops: surelsuper's -d (delete), -r (requeue), -s (repair) and the
 * flushes (surel flush, surelqueue -f, -i, -s), asked over
 * private/qmgr-super (qmgr_super.c, rows of qmgr_hold.c's table). qmgr is
 * the only process that moves queue files, so a message in flight is
 * never removed or moved from under its delivery agent: a message in
 * memory is marked, and deleted or requeued once its deliveries are
 * answered (qmgr_message_delete, qmgr_message_requeue). Every step is
 * one unlink or rename: at every instant a file is whole in one place or
 * gone, whatever moment an operator or a crash picks. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "addr.h"
#include "log.h"
#include "qmgr.h"
#include "queue_repair.h"

/* ---- delete ---- */

/* dir/id, a file nobody has in memory. 1 removed, 0 gone meanwhile,
 * -1. A file in incoming/ still being written (mode 0600) is its
 * writer's: removing it would let smtpd answer 250 for a file that is
 * gone. */
static int delete_file(const char *dir, const char *id)
{
	char path[QMGR_PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, id);
	if (strcmp(dir, QMGR_INCOMING) == 0 && !qmgr_qfile_committed(path))
		return 0;
	if (strcmp(dir, QMGR_ACTIVE) == 0 && qmgr_message_find(id) != NULL)
		return 0;		/* in memory: see delete_in_memory */
	if (unlink(path) < 0) {
		if (errno == ENOENT)
			return 0;
		log_error("%s: cannot remove %s: %s", id, path,
			  strerror(errno));
		return -1;
	}
	log_info("%s: removed", id);
	return 1;
}

int qmgr_ops_delete_one(const char *id, const char **error_r)
{
	char dir[QMGR_PATH_MAX];
	struct qmgr_message *msg = qmgr_message_find(id);

	if (msg != NULL) {
		if (msg->deleted)
			return 0;
		qmgr_message_delete(msg);	/* now, or once answered */
		return 1;
	}
	if (!qmgr_qfile_locate(id, dir))
		return 0;
	int ret = delete_file(dir, id);
	if (ret < 0)
		*error_r = "cannot remove the queue file";
	return ret;
}

static unsigned long long in_memory_count;

static void delete_in_memory(struct qmgr_message *msg)
{
	if (!msg->deleted) {
		in_memory_count++;
		qmgr_message_delete(msg);
	}
}

unsigned long long qmgr_ops_delete_all(void)
{
	static const char *const dirs[] = {
		QMGR_ACTIVE, QMGR_INCOMING, QMGR_DEFERRED, QMGR_HOLD,
	};
	unsigned long long n;

	in_memory_count = 0;
	qmgr_message_each(delete_in_memory);
	n = in_memory_count;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		n += qmgr_qfile_each(dirs[i], delete_file);
	return n;
}

/* ---- requeue ---- */

/* A file in hold/ that activation would hold again (qmgr_hold_wanted)
 * gets an H record, synced, as surelsuper -H gives it. 0 or -1 (logged:
 * a corrupt file stays in hold/). */
static int unhold(const char *path, const char *id)
{
	struct queue_envelope env;
	off_t off;
	uint64_t size;
	const char *error;
	int ret = -1, fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		log_error("%s: open %s: %s", id, path, strerror(errno));
		return -1;
	}
	if (queue_file_read(fd, &env, &off, &size, &error) < 0) {
		log_warn("%s: corrupt queue file in hold/: %s", id, error);
		close(fd);
		return -1;
	}
	if (qmgr_hold_cancel(fd, &env, &error) == 0)
		ret = 0;
	else
		log_error("%s: cannot record the release: %s", id,
			  strerror(errno));
	queue_envelope_free(&env);
	close(fd);
	return ret;
}

/* path -> incoming/ID, then taken from there like new mail. From hold/
 * the move is synced (a lost one would leave the message held after it
 * was reported requeued) and a hold that activation would redo is
 * cancelled first by an H record, as surelsuper -H does. */
static int requeue_file(const char *dir, const char *id)
{
	char path[QMGR_PATH_MAX], to[QMGR_PATH_MAX];
	bool from_hold = strcmp(dir, QMGR_HOLD) == 0;

	snprintf(path, sizeof(path), "%s/%s", dir, id);
	if (strcmp(dir, QMGR_INCOMING) == 0)
		return 0;		/* there already */
	if (strcmp(dir, QMGR_ACTIVE) == 0 && qmgr_message_find(id) != NULL)
		return 0;		/* in memory: see requeue_in_memory */
	if (from_hold && unhold(path, id) < 0)
		return -1;
	snprintf(to, sizeof(to), QMGR_INCOMING "/%s", id);
	if ((from_hold ? qmgr_qfile_move_synced(path, to)
		       : rename(path, to)) < 0) {
		if (errno == ENOENT)
			return 0;
		log_error("%s: cannot requeue %s: %s", id, path,
			  strerror(errno));
		return -1;
	}
	log_info("%s: requeued", id);
	qmgr_scan_queue_id(id);
	qmgr_scan_drain();
	return 1;
}

int qmgr_ops_requeue_one(const char *id, const char **error_r)
{
	char dir[QMGR_PATH_MAX];
	struct qmgr_message *msg = qmgr_message_find(id);

	if (msg != NULL) {
		if (msg->deleted || msg->requeue)
			return 0;
		qmgr_message_requeue(msg);
		return 1;
	}
	if (!qmgr_qfile_locate(id, dir))
		return 0;
	int ret = requeue_file(dir, id);
	if (ret < 0)
		*error_r = "cannot requeue the queue file";
	return ret;
}

static void requeue_in_memory(struct qmgr_message *msg)
{
	if (!msg->deleted && !msg->requeue) {
		in_memory_count++;
		qmgr_message_requeue(msg);
	}
}

unsigned long long qmgr_ops_requeue_all(void)
{
	static const char *const dirs[] = {
		QMGR_ACTIVE, QMGR_DEFERRED, QMGR_HOLD,
	};
	unsigned long long n;

	in_memory_count = 0;
	qmgr_message_each(requeue_in_memory);
	n = in_memory_count;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		n += qmgr_qfile_each(dirs[i], requeue_file);
	return n;
}

/* ---- flush ---- */

/* Due now: the queue run takes a deferred file whose mtime has come. */
static int flush_file(const char *dir, const char *id)
{
	char path[QMGR_PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, id);
	if (utimensat(AT_FDCWD, path, NULL, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		log_error("%s: cannot flush %s: %s", id, path,
			  strerror(errno));
		return -1;
	}
	return 1;
}

/* The operator says "try now": dead destinations too, or the mail would
 * be deferred again at once without a connection (as Postfix's flush). */
static void flush_run(void)
{
	qmgr_dest_revive_all();
	qmgr_scan_deferred();
}

int qmgr_ops_flush_one(const char *id, const char **error_r)
{
	char dir[QMGR_PATH_MAX];

	snprintf(dir, sizeof(dir), QMGR_DEFERRED "/%c", queue_id_hash(id));
	int ret = flush_file(dir, id);
	if (ret < 0)
		*error_r = "cannot flush the queue file";
	if (ret > 0)
		flush_run();
	return ret;
}

unsigned long long qmgr_ops_flush_all(void)
{
	unsigned long long n = qmgr_qfile_each(QMGR_DEFERRED, flush_file);

	flush_run();
	return n;
}

static const char *flush_site_name;

/* Whether the file has a pending recipient in the site's domain (the
 * part after the last "@", case-insensitive). */
static bool for_site(const char *path, const char *site)
{
	struct queue_envelope env;
	off_t off;
	uint64_t size;
	const char *error;
	bool found = false;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (queue_file_read(fd, &env, &off, &size, &error) == 0) {
		for (size_t i = 0; i < env.rcpt_count && !found; i++) {
			found = !env.rcpts[i].done &&
				strcasecmp(addr_domain(env.rcpts[i].address),
					   site) == 0;
		}
		queue_envelope_free(&env);
	}
	close(fd);
	return found;
}

static int flush_site_file(const char *dir, const char *id)
{
	char path[QMGR_PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, id);
	return for_site(path, flush_site_name) ? flush_file(dir, id) : 0;
}

int qmgr_ops_flush_site(const char *site, unsigned long long *count_r,
			const char **error_r)
{
	(void)error_r;
	flush_site_name = site;
	*count_r = qmgr_qfile_each(QMGR_DEFERRED, flush_site_file);
	flush_run();
	return 1;
}

/* ---- repair ---- */

static void repair_log(void *ctx, bool fixed, const char *from,
		       const char *to, const char *why)
{
	(void)ctx;
	if (!fixed)
		log_warn("queue repair: %s: %s (left as it is)", from, why);
	else if (to == NULL)
		log_warn("queue repair: %s: %s: removed", from, why);
	else
		log_warn("queue repair: %s: %s: moved to %s", from, why, to);
}

/* With qmgr running: active/ is its memory's, left out (queue_repair.h).
 * What was renamed in incoming/ is found by a rescan. */
int qmgr_ops_repair(const char *target, unsigned long long *count_r,
		    const char **error_r)
{
	struct queue_repair_counts counts;

	(void)target;
	(void)error_r;
	*count_r = queue_repair_run(AT_FDCWD, false, repair_log, NULL,
				    &counts);
	log_info("queue repair: %llu fixed, %llu left as they are", *count_r,
		 counts.left);
	qmgr.incoming_rescan = true;
	qmgr_scan_drain();
	return 1;
}
