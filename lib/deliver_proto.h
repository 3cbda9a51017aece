/* deliver_proto: the request qmgr sends a delivery agent and the answer it
 * gets back, over the agent's UNIX socket (private/local), encoded with ipc.
 * One connection carries many request/answer pairs in turn; qmgr keeps it
 * open. Both sides decode strictly: exactly these attributes.
 *
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
