/* queue_cli: what surelqueue and surelcat share: loading the
 * configuration, checking a queue id given by the user, and reading one
 * queue file read-only, looking for it once more in the other queues when
 * qmgr moved it between the readdir and the open (lib/queue_walk.h).
 * Errors are reported on stderr as "PROG: ..." (these are programs, not
 * libraries); exit statuses are sysexits(3)'s. */
#ifndef SUREL_QUEUE_CLI_H
#define SUREL_QUEUE_CLI_H
#include <stdint.h>
#include <sys/types.h>
#include "queue_file.h"
#include "queue_list.h"

/* Loads main.cf from config_dir (NULL: the default); exits EX_CONFIG on
 * an error. Returns queue_directory. */
const char *queue_cli_init(const char *prog, const char *config_dir);

/* s made printable into out (control and non-ASCII octets as \ooo). */
const char *queue_cli_printable(const char *s, char *out, size_t size);

/* Checks a queue id from the command line: empty, too long, "/" or "..",
 * or not an id: a message and exit EX_USAGE. */
void queue_cli_check_id(const char *prog, const char *id);

/* One queue file read: its queue (where it was found), envelope and
 * content extent. fd stays open for surelcat (-1 once closed). */
struct queue_cli_file {
	enum queue_list_queue queue;
	int fd;
	struct queue_envelope env;
	off_t content_offset;
	uint64_t content_size;
	uint64_t mtime_us;
	mode_t mode;
};

/* Opens id in queue q (or, when it is gone, in any queue, once) and
 * reads it. Returns 0; 1 when it is in no queue (any more); -1 with
 * *error_r: corrupt ("queue file truncated", ...) or an open error
 * (errno set, *error_r "permission denied", ...). On -1 with a corrupt
 * file, f->queue and f->mtime_us say where it is. */
int queue_cli_read(const char *queue_dir, enum queue_list_queue q,
		   const char *id, struct queue_cli_file *f,
		   const char **error_r);
/* Frees the envelope and closes the file. */
void queue_cli_close(struct queue_cli_file *f);

#endif
