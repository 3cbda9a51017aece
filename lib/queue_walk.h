/* queue_walk: read-only access to the queue directories for the operator
 * tools (surelqueue, surelcat). Nothing here moves, locks or writes a
 * file: qmgr alone moves queue files (doc/queue.md), and a reader must
 * never disturb a delivery. Files are opened O_RDONLY|O_NOFOLLOW and
 * must be regular files.
 *
 * A walk is a readdir stream: memory does not grow with the queue. Since
 * qmgr keeps moving files, a name read from a directory may be gone
 * when it is opened; the caller looks for it again with queue_walk_find
 * (see cli/queue_cli.c). Names that are not queue ids (queue_id_valid)
 * are skipped. */
#ifndef SUREL_QUEUE_WALK_H
#define SUREL_QUEUE_WALK_H
#include <stdint.h>
#include "queue_id.h"
#include "queue_list.h"

/* Called for each queue id found; a return of -1 ends the walk. */
typedef int queue_walk_fn(void *ctx, enum queue_list_queue q,
			  const char *id);

/* Walks the directory of queue q under queue_dir (each of deferred/'s
 * sixteen subdirectories). A directory that does not exist is an empty
 * queue. Returns 0, 1 when fn stopped the walk, or -1 with *error_r
 * (static) and errno set (EACCES: the caller lacks the rights). */
int queue_walk(const char *queue_dir, enum queue_list_queue q,
	       queue_walk_fn *fn, void *ctx, const char **error_r)
	__attribute__((warn_unused_result));

/* Opens queue file id of queue q read-only into *fd_r. Returns 0, or -1
 * with errno (ENOENT: not there; EINVAL: not a regular file; ENAMETOOLONG:
 * the path does not fit). id must be queue_id_valid. */
int queue_walk_open(const char *queue_dir, enum queue_list_queue q,
		    const char *id, int *fd_r)
	__attribute__((warn_unused_result));

/* Looks for id in every queue (listing order, corrupt included) and opens
 * it: 0 with *q_r and *fd_r, or -1 with errno (ENOENT: in no queue). */
int queue_walk_find(const char *queue_dir, const char *id,
		    enum queue_list_queue *q_r, int *fd_r)
	__attribute__((warn_unused_result));

#endif
