/* qmgr_hold: the hold/ queue. A message goes there for smtpd's HOLD
 * verdict (envelope attribute hold=yes, carried out at its first
 * activation) or for surelsuper -h, and leaves it only for surelsuper -H.
 * qmgr is the only process that moves queue files, so surelsuper's
 * requests (qmgr_super.c) end here: a message in flight is never moved
 * from under its delivery agent (qmgr_message_hold waits for its answers).
 *
 * Every move is one rename followed by an fsync of both directories: the
 * file is in exactly one queue directory at every instant, and a hold or
 * a release that was answered "done" is not undone by a crash (a lost
 * rename into hold/ would put a held message back into delivery). */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "log.h"
#include "qmgr.h"
#include "timeutil.h"

bool qmgr_hold_wanted(const struct queue_envelope *env)
{
	const char *v = queue_envelope_attr(env, "hold");

	if (env->hold_mark != 0)
		return env->hold_mark == 'O';
	return v != NULL && strcmp(v, "yes") == 0;
}

int qmgr_hold_cancel(int fd, struct queue_envelope *env,
		     const char **error_r)
{
	if (!qmgr_hold_wanted(env))
		return 0;
	return queue_file_append_mark(fd, env, 'H', error_r) < 0 ||
	       fsync(fd) < 0 ? -1 : 0;
}

int qmgr_hold_move(const char *src, const char *id)
{
	char to[QMGR_PATH_MAX];

	snprintf(to, sizeof(to), QMGR_HOLD "/%s", id);
	if (qmgr_qfile_move_synced(src, to) < 0) {
		if (errno != ENOENT)
			log_error("%s: cannot move %s to %s: %s", id, src, to,
				  strerror(errno));
		return -1;
	}
	log_info("%s: placed on hold", id);
	return 0;
}

/* ---- hold ---- */

/* Holds one message wherever it is: 1 moved (or moving: in memory, it
 * goes once its deliveries in flight are answered), 0 nothing to do
 * (already held, still being written, or nowhere). */
static int hold_one(const char *id, const char **error_r)
{
	char path[QMGR_PATH_MAX];
	struct qmgr_message *msg;

	(void)error_r;
	snprintf(path, sizeof(path), QMGR_ACTIVE "/%s", id);
	if (qmgr_qfile_exists(path)) {
		msg = qmgr_message_find(id);
		if (msg != NULL) {
			if (msg->hold)
				return 0;
			qmgr_message_hold(msg);
			return 1;
		}
		/* An orphan (see on_queue_run): nothing delivers it. */
		return qmgr_hold_move(path, id) == 0;
	}
	snprintf(path, sizeof(path), QMGR_INCOMING "/%s", id);
	if (qmgr_qfile_exists(path))
		return qmgr_qfile_committed(path) && qmgr_hold_move(path, id) == 0;
	snprintf(path, sizeof(path), QMGR_DEFERRED "/%c/%s",
		 queue_id_hash(id), id);
	if (qmgr_qfile_exists(path))
		return qmgr_hold_move(path, id) == 0;
	return 0;
}

static unsigned long long held_in_memory;

static void hold_in_memory(struct qmgr_message *msg)
{
	if (!msg->hold) {
		held_in_memory++;
		qmgr_message_hold(msg);
	}
}

static int hold_file(const char *dir, const char *id)
{
	char path[QMGR_PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, id);
	if (strcmp(dir, QMGR_INCOMING) == 0 && !qmgr_qfile_committed(path))
		return 0;
	if (strcmp(dir, QMGR_ACTIVE) == 0 && qmgr_message_find(id) != NULL)
		return 0;
	return qmgr_hold_move(path, id) == 0;
}

static unsigned long long hold_all(void)
{
	unsigned long long n;

	held_in_memory = 0;
	qmgr_message_each(hold_in_memory);
	n = held_in_memory;
	/* Orphans only: the rest of active/ is in memory, held above. */
	if (qmgr.active_orphans)
		n += qmgr_qfile_each(QMGR_ACTIVE, hold_file);
	n += qmgr_qfile_each(QMGR_INCOMING, hold_file);
	return n + qmgr_qfile_each(QMGR_DEFERRED, hold_file);
}

/* ---- release ---- */

/* Releases hold/ID into deferred/H/ID with mtime now, so that it is
 * taken at once. A held message whose hold=yes verdict is not spent
 * gets an H record first (synced before the move): qmgr would otherwise
 * hold it again at its activation. Its arrival time is kept:
 * maximal_queue_lifetime still counts from arrival, so a message held
 * past it gets one more delivery attempt and then expires, as in Postfix.
 * 1 released, 0 not in hold/, -1 with *error_r. */
static int release_one(const char *id, const char **error_r)
{
	char from[QMGR_PATH_MAX], to[QMGR_PATH_MAX];
	struct queue_envelope env;
	off_t off;
	uint64_t size;

	snprintf(from, sizeof(from), QMGR_HOLD "/%s", id);
	int fd = open(from, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = "cannot open the queue file";
		log_error("open %s: %s", from, strerror(errno));
		return -1;
	}
	int ret = -1;
	if (queue_file_read(fd, &env, &off, &size, error_r) < 0) {
		log_warn("%s: corrupt queue file in hold/: %s", id, *error_r);
		*error_r = "corrupt queue file, left in hold/";
		close(fd);
		return -1;
	}
	snprintf(to, sizeof(to), QMGR_DEFERRED "/%c/%s", queue_id_hash(id),
		 id);
	if (qmgr_hold_cancel(fd, &env, error_r) < 0)
		*error_r = "cannot record the release";
	else if (futimens(fd, NULL) < 0 || qmgr_qfile_move_synced(from, to) < 0)
		*error_r = "cannot move the queue file";
	else
		ret = 1;
	if (ret < 0)
		log_error("%s: cannot release from hold: %s", id,
			  strerror(errno));
	else
		log_info("%s: released from hold", id);
	queue_envelope_free(&env);
	close(fd);
	if (ret > 0) {
		if (qmgr_message_room())
			qmgr_message_activate(to, id, false);
		else
			qmgr.deferred_rescan = true;
	}
	return ret;
}

static int release_file(const char *dir, const char *id)
{
	const char *error;

	(void)dir;
	return release_one(id, &error);
}

static unsigned long long release_all(void)
{
	return qmgr_qfile_each(QMGR_HOLD, release_file);
}

/* ---- the requests ---- */

/* surelsuper's operations (enum super_op): one message, or ALL; or
 * (other) a target that is not a message: a site, the whole queue. The
 * rest of them are qmgr_ops.c's. */
static const struct {
	/* 1 moved, 0 nothing to do, -1 with *error_r */
	int (*one)(const char *id, const char **error_r);
	unsigned long long (*all)(void);
	/* 1 with *count_r, or -1 with *error_r */
	int (*other)(const char *target, unsigned long long *count_r,
		     const char **error_r);
} ops[SUPER_OPS] = {
	[SUPER_HOLD] = { hold_one, hold_all, NULL },
	[SUPER_RELEASE] = { release_one, release_all, NULL },
	[SUPER_DELETE] = { qmgr_ops_delete_one, qmgr_ops_delete_all, NULL },
	[SUPER_REQUEUE] = { qmgr_ops_requeue_one, qmgr_ops_requeue_all,
			    NULL },
	[SUPER_FLUSH] = { qmgr_ops_flush_one, qmgr_ops_flush_all, NULL },
	[SUPER_FLUSH_SITE] = { NULL, NULL, qmgr_ops_flush_site },
	[SUPER_REPAIR] = { NULL, NULL, qmgr_ops_repair },
};

int qmgr_hold_request(enum super_op op, const char *id,
		      unsigned long long *count_r, const char **error_r)
{
	int ret = 1;

	*count_r = 0;
	if ((unsigned)op >= SUPER_OPS) {
		*error_r = "unknown operation";
		return -1;
	}
	if (ops[op].other != NULL) {
		ret = ops[op].other(id != NULL ? id : SUPER_ALL, count_r,
				    error_r);
	} else if (id == NULL) {
		*count_r = ops[op].all();
	} else {
		ret = ops[op].one(id, error_r);
		if (ret > 0)
			*count_r = 1;
		else if (ret == 0) {
			/* held already, or not held: found */
			char dir[QMGR_PATH_MAX];
			ret = qmgr_qfile_locate(id, dir) ? 1 : 0;
		}
	}
	qmgr_deliver_kick();
	return ret;
}
