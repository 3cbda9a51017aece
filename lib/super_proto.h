/* super_proto: the requests surelsuper sends qmgr over private/qmgr-super
 * and qmgr's replies. One line each way, in lock step (a request, then its
 * reply, then the next request), so neither side ever buffers more than
 * one line:
 *
 *   request:  <op> SP <target> LF      op and target:
 *     "hold" | "release" | "delete" | "requeue" | "flush"  "ALL" or an id
 *     "flush-site"                        a site: a domain or an address
 *                                         literal ("[192.0.2.1]")
 *     "repair"                            "ALL" only
 *   reply:    "ok" SP <count> LF       count: messages moved (0: the
 *                                       message exists but the operation
 *                                       does not apply, e.g. already held)
 *             "none" LF                 no such message in any queue
 *             "error" SP <text> LF      the request failed (text: printable
 *                                       US-ASCII, for the operator)
 *
 * Lines are at most SUPER_LINE_MAX octets with the LF. The operation
 * table is enum super_op; what each does is doc/queue.md's (qmgr_hold.c,
 * qmgr_ops.c). A count is what the op did: moved, deleted, requeued,
 * scheduled now (flush), or problems repaired. */
#ifndef SUREL_SUPER_PROTO_H
#define SUREL_SUPER_PROTO_H
#include <stdbool.h>
#include <stddef.h>
#include "queue_id.h"

#define SUPER_SOCKET "private/qmgr-super"	/* under queue_directory */
#define SUPER_LINE_MAX 512
#define SUPER_SITE_MAX 256		/* a domain (253) or a literal, NUL */
#define SUPER_ALL "ALL"

enum super_op {
	SUPER_HOLD,		/* incoming, active, deferred -> hold */
	SUPER_RELEASE,		/* hold -> deferred, taken at once */
	SUPER_DELETE,		/* removed from every queue but corrupt/ */
	SUPER_REQUEUE,		/* back to incoming/, routed again */
	SUPER_FLUSH,		/* deferred: retry now */
	SUPER_FLUSH_SITE,	/* deferred with a recipient at the site */
	SUPER_REPAIR,		/* the queue's structure (queue_repair.h) */
	SUPER_OPS
};

struct super_request {
	enum super_op op;
	bool all;			/* target ALL */
	char id[QUEUE_ID_MAX];		/* the queue id unless all */
	char site[SUPER_SITE_MAX];	/* SUPER_FLUSH_SITE: the site */
};

enum super_status { SUPER_OK, SUPER_NONE, SUPER_ERROR };

struct super_reply {
	enum super_status status;
	unsigned long long count;	/* SUPER_OK */
	char text[SUPER_LINE_MAX];	/* SUPER_ERROR */
};

/* The op's word ("hold"), or NULL for a bad op. */
const char *super_proto_op_name(enum super_op op);
/* Whether s is a site for flush-site: a domain name (letters, digits,
 * '-', '_' and dots between non-empty labels of at most 63, at most 253
 * octets) or an RFC 5321 address literal: "[192.0.2.1]",
 * "[IPv6:2001:db8::1]". Never "/" nor "..". */
bool super_proto_site_valid(const char *s);
/* Parses a request line (line[0..len), without its LF). 0, or -1 with
 * *error_r (static) for an unknown op, a missing or bad target (a queue
 * id must pass queue_id_valid: no "/", no "..", bounded; a site
 * super_proto_site_valid; repair takes ALL only, flush-site never). */
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
