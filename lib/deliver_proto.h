/* deliver_proto: the hello a delivery agent greets qmgr with, the request
 * qmgr sends it and the answer it gets back, over the agent's UNIX socket
 * (private/local), encoded with ipc.
 * One connection carries the agent's hello, then many request/answer pairs
 * in turn; qmgr keeps it open while it has work for it. Both sides decode
 * strictly: exactly these attributes, and the hello's exact values.
 *
 * hello:   protocol ("deliver"), version ("1"). The agent sends it first,
 *          as soon as it has accepted a connection, unasked. A connection
 *          sits in the listen backlog until an agent process accepts it,
 *          which may be never while the agent's processes (master.cf
 *          maxproc) are all busy with other connections: so qmgr sends no
 *          request before the hello, and a connection still waiting for
 *          one holds no recipient. One hello per connection, no round
 *          trip per request.
 * request: queue_id, queue_file (relative to queue_directory, "active/ID"),
 *          offset, size (of the content), sender, recipient, orig_recipient
 *          ("" if none), arrival (microseconds), active (microseconds,
 *          when qmgr took the message: the a/b split of delays=a/b/c/d)
 * answer:  status (0 delivered, 4 try later, 5 failed), dsn (x.y.z), reason
 *          (text for the log "status=sent (reason)") */
#ifndef SUREL_DELIVER_PROTO_H
#define SUREL_DELIVER_PROTO_H
#include <stdint.h>
#include "buf.h"
#include "ipc.h"

enum deliver_status {
	DELIVER_OK = 0,
	DELIVER_TEMPFAIL = 4,
	DELIVER_PERMFAIL = 5,
};

struct deliver_request {
	const char *queue_id;
	const char *queue_file;
	uint64_t offset;
	uint64_t size;
	const char *sender;
	const char *recipient;
	const char *orig_recipient;
	uint64_t arrival_us;
	uint64_t active_us;
};

struct deliver_answer {
	enum deliver_status status;
	const char *dsn;
	const char *reason;
};

#define DELIVER_PROTO_NAME "deliver"
#define DELIVER_PROTO_VERSION "1"

/* Appends the hello to out; -1 if out is full. */
int deliver_hello_encode(struct buf *out) __attribute__((warn_unused_result));
/* Writes the hello on fd within timeout_ms (ipc_write_msg). 0 or -1. */
int deliver_hello_write(int fd, int timeout_ms, const char **error_r)
	__attribute__((warn_unused_result));
/* 0 only for exactly protocol=deliver and version=1: another protocol or
 * version is a peer we do not know how to talk to. */
int deliver_hello_decode(const struct ipc_msg *msg, const char **error_r)
	__attribute__((warn_unused_result));

int deliver_request_encode(struct buf *out, const struct deliver_request *req)
	__attribute__((warn_unused_result));
/* Strings point into msg. Checks the queue_id and queue_file syntax
 * (no "..", no leading "/"), the numbers, and the attribute set. */
int deliver_request_decode(const struct ipc_msg *msg,
			   struct deliver_request *req_r, const char **error_r)
	__attribute__((warn_unused_result));
int deliver_answer_encode(struct buf *out, const struct deliver_answer *ans)
	__attribute__((warn_unused_result));
int deliver_answer_decode(const struct ipc_msg *msg,
			  struct deliver_answer *ans_r, const char **error_r)
	__attribute__((warn_unused_result));

#endif
