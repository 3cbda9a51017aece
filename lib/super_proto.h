/* super_proto: the requests surelsuper sends qmgr over private/qmgr-super
 * and qmgr's replies. One line each way, in lock step (a request, then its
 * reply, then the next request), so neither side ever buffers more than
 * one line:
 *
 *   request:  <op> SP <target> LF      op: "hold" or "release";
 *                                       target: "ALL" or a queue id
 *   reply:    "ok" SP <count> LF       count: messages moved (0: the
 *                                       message exists but the operation
 *                                       does not apply, e.g. already held)
 *             "none" LF                 no such message in any queue
 *             "error" SP <text> LF      the request failed (text: printable
 *                                       US-ASCII, for the operator)
 *
 * Lines are at most SUPER_LINE_MAX octets with the LF. The operation
 * table is enum super_op: issue 7 adds delete and requeue to it. */
#ifndef SUREL_SUPER_PROTO_H
#define SUREL_SUPER_PROTO_H
#include <stdbool.h>
#include <stddef.h>
#include "queue_id.h"

#define SUPER_SOCKET "private/qmgr-super"	/* under queue_directory */
#define SUPER_LINE_MAX 256
#define SUPER_ALL "ALL"

enum super_op {
	SUPER_HOLD,		/* incoming, active, deferred -> hold */
	SUPER_RELEASE,		/* hold -> deferred, taken at once */
	SUPER_OPS
};

struct super_request {
	enum super_op op;
	bool all;			/* target ALL */
	char id[QUEUE_ID_MAX];		/* the queue id unless all */
};

enum super_status { SUPER_OK, SUPER_NONE, SUPER_ERROR };

struct super_reply {
	enum super_status status;
	unsigned long long count;	/* SUPER_OK */
	char text[SUPER_LINE_MAX];	/* SUPER_ERROR */
};

/* The op's word ("hold"), or NULL for a bad op. */
const char *super_proto_op_name(enum super_op op);
/* Parses a request line (line[0..len), without its LF). 0, or -1 with
 * *error_r (static) for an unknown op, a missing or bad target (a target
 * that is not ALL must pass queue_id_valid: no "/", no "..", bounded). */
int super_proto_parse_request(const char *line, size_t len,
			      struct super_request *req_r,
			      const char **error_r)
	__attribute__((warn_unused_result));
/* Formats req as a line with its LF into out[SUPER_LINE_MAX]; returns the
 * length. */
size_t super_proto_format_request(const struct super_request *req,
				  char out[SUPER_LINE_MAX]);
/* Parses a reply line (without its LF); 0 or -1 with *error_r. */
int super_proto_parse_reply(const char *line, size_t len,
			    struct super_reply *reply_r, const char **error_r)
	__attribute__((warn_unused_result));
/* Formats a reply with its LF into out[SUPER_LINE_MAX]; an error text is
 * cut to fit and anything not printable US-ASCII becomes '?'. Returns the
 * length. */
size_t super_proto_format_reply(const struct super_reply *reply,
				char out[SUPER_LINE_MAX]);

#endif
