/* super_client: the client side of private/qmgr-super (the protocol is
 * super_proto.h), shared by surelsuper, surelqueue (-f, -i, -s) and
 * `surel flush`: connect, then requests one at a time, each answered
 * before the next goes (lock step). No logging, no exit: errors are
 * static strings with errno kept for the caller's message. */
#ifndef SUREL_SUPER_CLIENT_H
#define SUREL_SUPER_CLIENT_H
#include <stdbool.h>
#include "super_proto.h"

/* How long a reply may take: ALL walks a whole queue, maybe a huge one. */
#define SUPER_CLIENT_TIMEOUT_MS (3600 * 1000)

struct super_client;

/* Connects to queue_dir/private/qmgr-super. 0, or -1 with *error_r and
 * errno (ENAMETOOLONG: the path does not fit a socket address; ENOENT or
 * ECONNREFUSED: qmgr is not running; EACCES: not root or mail_owner). */
int super_client_open(const char *queue_dir, struct super_client **client_r,
		      const char **error_r)
	__attribute__((warn_unused_result));
/* Whether an errno from super_client_open means no qmgr listens (the
 * socket is missing or nobody accepts on it). */
bool super_client_qmgr_absent(int error);
/* Sends req and reads its reply (within timeout_ms). 0, or -1 with
 * *error_r (the connection is then unusable: close it). */
int super_client_request(struct super_client *client,
			 const struct super_request *req,
			 struct super_reply *reply_r, unsigned timeout_ms,
			 const char **error_r)
	__attribute__((warn_unused_result));
/* Closes and frees; accepts NULL. */
void super_client_close(struct super_client **client);

/* One connection, one request, closed: what `surel flush` and surelqueue
 * need. 0 or -1 as above. */
int super_client_call(const char *queue_dir, const struct super_request *req,
		      struct super_reply *reply_r, const char **error_r)
	__attribute__((warn_unused_result));

#endif
