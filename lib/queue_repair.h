/* queue_repair: the queue's structure checked and repaired after a crash
 * or an operator's mistake (surelsuper -s, like Postfix's postsuper -s).
 * A queue file's name is its queue id: 15 hex digits of its arrival time
 * (the T line) and a process id (queue_id.h); in deferred/ it lies in the
 * subdirectory queue_id_hash(id). Repaired, in incoming/, hold/,
 * deferred/ (and its subdirectories) and, when asked, active/:
 *
 * - a missing queue directory (corrupt/, hold/, deferred/H...): created;
 * - a file that is not a readable queue file (queue_file_read fails, or
 *   not a regular file): moved to corrupt/ (name kept, ".N" added on a
 *   clash), never deleted;
 * - a file whose name is not its queue id (not an id at all, or another
 *   arrival time): renamed to its id (the time from T; the process part
 *   kept when the old name had one, else the caller's pid; never over an
 *   existing file);
 * - a file in the wrong deferred/ subdirectory (or in deferred/ itself):
 *   moved into deferred/H/;
 * - a 0600 file in incoming/ whose writer is gone (its flock is free) and
 *   that is older than QUEUE_REPAIR_STALE_S: removed (nobody was promised
 *   it: the writer makes a file 0700 before its 250). A younger one, or a
 *   locked one, is being written and left alone.
 *
 * active/ belongs to qmgr's memory while qmgr runs: qmgr's own repair
 * (surelsuper -s with qmgr running) leaves it out; surelsuper -s with qmgr
 * stopped includes it. Nothing else may move queue files meanwhile (only
 * qmgr does: see doc/queue.md). No logging: each fix, and each problem
 * left (a directory where a file belongs, a name clash, a failed rename),
 * is reported through the callback. */
#ifndef SUREL_QUEUE_REPAIR_H
#define SUREL_QUEUE_REPAIR_H
#include <stdbool.h>
#include <time.h>

#define QUEUE_REPAIR_STALE_S 3600	/* a 0600 file this old is stale */
#define QUEUE_REPAIR_FILES_MAX 10000000	/* entries looked at, in all */

/* One fix (fixed) or one problem left (!fixed). from: the path relative
 * to the queue directory; to: where it went, NULL when it was removed or
 * left; why: the reason, for the operator. */
typedef void queue_repair_report_fn(void *ctx, bool fixed, const char *from,
				    const char *to, const char *why);

struct queue_repair_counts {
	unsigned long long created;	/* directories */
	unsigned long long renamed;	/* name was not the queue id */
	unsigned long long moved;	/* wrong deferred/ subdirectory */
	unsigned long long removed;	/* stale incomplete files */
	unsigned long long corrupt;	/* moved to corrupt/ */
	unsigned long long left;	/* problems not fixed */
};

/* Repairs the queue under the directory qdir_fd (AT_FDCWD: the current
 * directory). Returns the number of fixes (counts_r has them by kind). */
unsigned long long queue_repair_run(int qdir_fd, bool include_active,
				    queue_repair_report_fn *report, void *ctx,
				    struct queue_repair_counts *counts_r);

/* The stale-file rule that qmgr's incoming/ scan and the repair share:
 * dir_fd/name is removed when it is a regular file still without the
 * owner's x bit (never committed), its writer is gone (its flock is
 * free) and it is older than QUEUE_REPAIR_STALE_S at now. Returns 1 when
 * it was removed, else 0 (nobody was promised its mail). */
int queue_repair_remove_stale(int dir_fd, const char *name, time_t now);

#endif
