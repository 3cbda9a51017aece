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
 *          when qmgr took the message: the a/b split of delays=a/b/c/d);
 *          optional: trace ("1", only present when set): trace only
 *          (sendmail -bv): resolve the recipient as for a delivery, write
 *          nothing, answer what a delivery would do (see below)
 * answer:  status (0 delivered, 4 try later, 5 failed), dsn (x.y.z), reason
 *          (text for the log "status=sent (reason)") */
#ifndef SUREL_DELIVER_PROTO_H
#define SUREL_DELIVER_PROTO_H
#include <stdbool.h>
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
	bool trace;		/* trace only: nothing delivered */
};

/* Trace only (sendmail -bv, both versions): the request is a question,
 * "what would you do with these recipients?". The agent resolves each
 * one exactly as for a delivery but delivers nothing (local: no Maildir
 * is written; smtp: MAIL and RCPT, never DATA) and answers as it would
 * have: 0 deliverable (reason says how: "delivers to maildir", the RCPT
 * reply), 4 would be deferred, 5 undeliverable. The attribute is sent
 * only when set, so that an ordinary request is what it always was; an
 * agent older than it refuses a request that has it (the decoders take
 * no unknown attribute) rather than deliver a verification probe. */
#define DELIVER_TRACE_ATTR "trace"

struct deliver_answer {
	enum deliver_status status;
	const char *dsn;
	const char *reason;
	/* Version 2 only (NULL / false otherwise): what a DSN reports. */
	const char *remote_mta;	/* the host name that answered */
	const char *diag;	/* its reply, lines joined ("550 5.1.1 ...") */
	const char *in_reply_to; /* the command it answered ("RCPT TO") */
	bool dsn_passed;	/* OK, and the peer took NOTIFY over: no
				 * "relayed" notice from us (RFC 3461 5.2) */
};

#define DELIVER_PROTO_NAME "deliver"
#define DELIVER_PROTO_VERSION "1"

/* Appends the hello to out; -1 if out is full. */
/* The status= word of a delivery log line: sent, deferred, bounced; for a
 * trace-only request (sendmail -bv), Postfix's deliverable and
 * undeliverable. */
const char *deliver_status_word(enum deliver_status status, bool trace);

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

/* ---- version 2: one message, many recipients, one destination ----
 *
 * Spoken by agents whose hello says version=2 (smtp). Version 1 stays as
 * it is for local.
 *
 * request: queue_id, queue_file, offset, size, sender, arrival, active
 *          (as version 1); ret ("FULL", "HDRS" or "" for none), envid
 *          (RFC 3461 xtext as stored, "" for none, at most 100 octets),
 *          smtputf8 ("0"/"1"), body ("7bit"/"8bitmime"), nexthop (as qmgr
 *          resolved it, transport(5) syntax for smtp: "example.test",
 *          "example.test:2525", "[mx.example.test]:2525"; never empty);
 *          then for N = 0..count-1 (count 1..DELIVER_RCPT_MAX, every N
 *          present, no gap): rcpt_N (the address, not empty), orcpt_N
 *          (RFC 3461 ORCPT value as stored, "addr-type;xtext", or ""),
 *          notify_N ("" for none, "NEVER", or a comma list of SUCCESS,
 *          FAILURE, DELAY); optional: trace ("1", as version 1's).
 * answer:  status_N, dsn_N, reason_N for each recipient of the request
 *          (as version 1's status, dsn and reason); optional per
 *          recipient: mta_N (the remote MTA's host name, printable ASCII
 *          without spaces, 1..DELIVER_MTA_MAX), diag_N (its reply text,
 *          1..DELIVER_DIAG_MAX octets), cmd_N (the command it answered,
 *          printable ASCII, 1..DELIVER_CMD_MAX), pass_N ("1" only with
 *          status 0: the peer offered DSN and got NOTIFY); and site: "ok", or
 *          "dead" when the destination itself failed (no address could
 *          be reached, the DNS failed): qmgr backs the whole destination
 *          off. */

#define DELIVER_PROTO_VERSION2 "2"
/* The most recipients in one version 2 request. */
#define DELIVER_RCPT_MAX 1000
/* Attributes of a request with DELIVER_RCPT_MAX recipients: a reader's
 * max_attrs. */
#define DELIVER_REQUEST2_ATTRS_MAX (14 + 3 * DELIVER_RCPT_MAX)
#define DELIVER_ENVID_MAX 100
#define DELIVER_MTA_MAX 255
#define DELIVER_DIAG_MAX 1000
#define DELIVER_CMD_MAX 64

struct deliver_rcpt {
	const char *address;
	const char *orcpt;	/* "" if none */
	const char *notify;	/* "" if none */
};

struct deliver_request2 {
	const char *queue_id;
	const char *queue_file;
	uint64_t offset;
	uint64_t size;
	const char *sender;
	uint64_t arrival_us;
	uint64_t active_us;
	const char *ret;	/* "FULL", "HDRS" or "" */
	const char *envid;	/* xtext or "" */
	bool smtputf8;
	bool body_8bit;		/* body=8bitmime */
	const char *nexthop;
	bool dkim_sign;		/* sign: the sender is ours (authenticated or
				 * in mynetworks): sign per
				 * dkim_signing_table */
	bool trace;		/* trace only (see DELIVER_TRACE_ATTR) */
	struct deliver_rcpt *rcpts;	/* owned (heap array), strings in msg */
	size_t rcpt_count;
};

/* The hello of a version 2 agent (protocol=deliver, version=2). */
int deliver_hello2_encode(struct buf *out) __attribute__((warn_unused_result));
int deliver_hello2_write(int fd, int timeout_ms, const char **error_r)
	__attribute__((warn_unused_result));
/* 0 only for exactly protocol=deliver and version=2. */
int deliver_hello2_decode(const struct ipc_msg *msg, const char **error_r)
	__attribute__((warn_unused_result));

/* -1 if out is full or a value cannot be encoded (CR, LF, NUL). */
int deliver_request2_encode(struct buf *out,
			    const struct deliver_request2 *req)
	__attribute__((warn_unused_result));
/* Strict: exactly the attribute set above for some count, each value
 * checked. On success req_r->rcpts is a heap array: release it with
 * deliver_request2_deinit (also safe after a failure). */
int deliver_request2_decode(const struct ipc_msg *msg,
			    struct deliver_request2 *req_r,
			    const char **error_r)
	__attribute__((warn_unused_result));
void deliver_request2_deinit(struct deliver_request2 *req);

/* ans[0..count) are the recipients' answers in request order. */
int deliver_answer2_encode(struct buf *out, const struct deliver_answer *ans,
			   size_t count, bool site_dead)
	__attribute__((warn_unused_result));
/* Writes the answer on fd within timeout_ms (ipc_write_msg). 0 or -1. */
int deliver_answer2_write(int fd, const struct deliver_answer *ans,
			  size_t count, bool site_dead, int timeout_ms,
			  const char **error_r)
	__attribute__((warn_unused_result));
/* Strict: exactly count recipients' attributes and site. Fills
 * ans_r[0..count) (strings point into msg) and *site_dead_r. */
int deliver_answer2_decode(const struct ipc_msg *msg, size_t count,
			   struct deliver_answer *ans_r, bool *site_dead_r,
			   const char **error_r)
	__attribute__((warn_unused_result));

/* Shared by both versions' decoders (deliver_proto.c). */
bool deliver_proto_dsn_ok(const char *dsn, char class);
bool deliver_proto_queue_file_ok(const char *queue_file,
				 const char *queue_id);
int deliver_proto_status_parse(const char *s, enum deliver_status *status_r);

#endif
