/* master_queue: the queue directory layout, its owners and modes. master
 * creates it at start and reload; `surel check` runs the same code. */
#ifndef SUREL_MASTER_QUEUE_H
#define SUREL_MASTER_QUEUE_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Who owns what: when root, the queue is mail_owner's and pid/ and the
 * queue directory itself stay root's; otherwise everything is ours. */
struct master_queue_owner {
	bool root;
	uid_t uid;		/* mail_owner, or getuid() */
	gid_t gid;
	gid_t drop_gid;		/* setgid_group's (maildrop/, public/);
				 * mail_owner's gid when it does not exist */
};

/* Called once per repair made ("created ...", "fixed mode of ..."). */
typedef void master_queue_note_fn(const char *msg);

/* Fills *owner_r from mail_owner (when euid is 0) or from our own ids.
 * 0, or -1 with *error_r (unknown user, mail_owner is root). */
int master_queue_owner(struct master_queue_owner *owner_r,
		       const char **error_r)
	__attribute__((warn_unused_result));
/* Creates what is missing under queue_dir (incoming active deferred/0..F
 * hold corrupt pid private public maildrop) and data_dir, and fixes owners (when
 * root) and modes. 0, or -1 with *error_r for what cannot be repaired. */
int master_queue_setup(const char *queue_dir, const char *data_dir,
		       const struct master_queue_owner *owner,
		       master_queue_note_fn *note, const char **error_r)
	__attribute__((warn_unused_result));
/* queue_dir/pid/master.pid into out (size outsize); 0 or -1 (too long). */
int master_queue_pid_path(char *out, size_t outsize, const char *queue_dir)
	__attribute__((warn_unused_result));
/* Is a master holding the lock of this queue? Returns 1 with *pid_r (0
 * when the file holds no number), 0 when not running, -1 with *error_r. */
int master_queue_running(const char *queue_dir, long *pid_r,
			 const char **error_r);

#endif
