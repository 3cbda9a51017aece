/* qmgr: the queue manager's shared state and the interfaces between its
 * parts: main.c (the loop, wakeup clients, timers), qmgr_scan.c (directory
 * scans), qmgr_message.c (a message from activation to removal or
 * deferral, routing each recipient to a transport), qmgr_deliver.c (a
 * connection pool per delivery agent) and qmgr_request.c (what each
 * agent's protocol version says). One process, one event loop, no threads: nothing here locks. */
#ifndef SUREL_QMGR_H
#define SUREL_QMGR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "event.h"
#include "local_domains.h"
#include "queue_file.h"

#define QMGR_INCOMING "incoming"
#define QMGR_ACTIVE "active"
#define QMGR_DEFERRED "deferred"
#define QMGR_CORRUPT "corrupt"
#define QMGR_LOCAL_SOCKET "private/local"
#define QMGR_SMTP_SOCKET "private/smtp"

/* Where a recipient goes: each transport has its agent, its connection
 * pool and its ring of messages with recipients for it. */
enum qmgr_transport {
	QMGR_LOCAL,		/* our domains: delivery/local, version 1 */
	QMGR_SMTP,		/* the rest: delivery/smtp, version 2 */
	QMGR_TRANSPORTS,
	QMGR_UNROUTED = QMGR_TRANSPORTS	/* the route look-up failed:
					 * waits for the next attempt */
};
#define QMGR_PATH_MAX 64	/* "deferred/H/ID" and friends */

/* A message in memory: one per file in active/. */
struct qmgr_message {
	char id[QUEUE_ID_MAX];
	int fd;			/* active/ID, read-write for the done marks */
	struct queue_envelope env;
	off_t content_offset;
	uint64_t content_size;
	uint64_t active_us;	/* when it was activated (delays=a/b) */
	/* per transport: the next recipient not yet dispatched */
	size_t next_rcpt[QMGR_TRANSPORTS];
	uint8_t *route;		/* per recipient: an enum qmgr_transport */
	size_t *redo;		/* recipients to dispatch again */
	size_t redo_count;
	uint8_t *retried;	/* per recipient: 1 once re-dispatched */
	size_t outstanding;	/* requests in flight */
	size_t deferred;	/* recipients that stay pending this time */
	/* the round-robin rings, one per transport */
	struct qmgr_message *ready_next[QMGR_TRANSPORTS];
	bool in_ready[QMGR_TRANSPORTS];
	struct qmgr_message *all_prev, *all_next;	/* every message */
};

/* The process-wide state; the configuration is read once at start. */
struct qmgr_state {
	struct event_loop *loop;
	uint64_t min_backoff_s, max_backoff_s, max_lifetime_s, run_delay_s;
	uint64_t ipc_timeout_ms;
	size_t active_limit;
	size_t concurrency;		/* connections per agent, at most */
	struct local_domains *domains;	/* virtual_mailbox_domains */
	char *relayhost;		/* the smtp next hop, or NULL */

	size_t active_count;		/* messages in memory */
	struct qmgr_message *all_head;
	struct qmgr_message *ready_head[QMGR_TRANSPORTS];
	struct qmgr_message *ready_tail[QMGR_TRANSPORTS];
	size_t outstanding;		/* requests in flight, all messages */
	bool incoming_rescan;		/* files left in incoming/ */
	bool deferred_rescan;		/* a deferred scan was cut short */
	bool active_orphans;		/* a file was left in active/ */
	bool stopping;			/* SIGTERM: no new work, no moves */
};
extern struct qmgr_state qmgr;

/* qmgr_message.c */
/* Takes id from a wakeup: activates it now, or queues it until there is
 * room under the active limit. */
void qmgr_message_wakeup(const char *id);
/* Moves src_path ("incoming/ID", "deferred/H/ID"; "active/ID" recovers in
 * place) to active/ and loads it. A 0600 file in incoming/ is left alone
 * when check_mode (still being written). 1 activated, 0 skipped. */
int qmgr_message_activate(const char *src_path, const char *id,
			  bool check_mode);
bool qmgr_message_room(void);
/* The next recipient for transport t to dispatch for msg: false if none
 * is left now. */
bool qmgr_message_next_rcpt(struct qmgr_message *msg, enum qmgr_transport t,
			    size_t *index_r);
/* The result of a dispatched recipient, from its agent's answer or from
 * qmgr itself. logged: the agent has logged the status line already;
 * otherwise qmgr logs it (relay=the route's transport). */
struct deliver_answer;
void qmgr_message_result(struct qmgr_message *msg, size_t index,
			 const struct deliver_answer *ans, bool logged);
/* The delivery agent connection died with index in flight: dispatched
 * again once, then deferred like a temporary failure. */
void qmgr_message_lost(struct qmgr_message *msg, size_t index,
		       const char *reason);
/* Takes the head of t's ready ring off it, or NULL: the caller puts it
 * back at the tail (round-robin) with qmgr_message_ready_add. */
struct qmgr_message *qmgr_message_ready_next(enum qmgr_transport t);
/* Puts msg on the ring of each transport it has recipients waiting for
 * (and is not on yet). */
void qmgr_message_ready_add(struct qmgr_message *msg);
/* At exit: forgets every message (the files stay where they are). */
void qmgr_message_free_all(void);

/* qmgr_notice.c: status records and delivery status notices (RFC 3464)
 * to the sender, queued from <> with queue_writer; never for mail from
 * <> (logged instead). */
/* Reads delay_warning_time, bounce_queue_lifetime, bounce_size_limit,
 * myhostname. */
void qmgr_notice_configure(void);
/* How long msg may stay queued: bounce_queue_lifetime for mail from <>,
 * else maximal_queue_lifetime. */
uint64_t qmgr_notice_lifetime(const struct qmgr_message *msg);
/* Records a recipient's result before its done mark: failed (synced),
 * delayed (a new reason only), delivered/relayed for NOTIFY=SUCCESS
 * unless the peer took DSN over (synced). -1 only when a failed record
 * could not be made durable: the recipient must then stay pending. */
int qmgr_notice_result(struct qmgr_message *msg, size_t index,
		       const struct deliver_answer *ans);
/* No recipient pending, before the file is removed: queues the failure
 * and success notices not sent yet. -1 if one could not be queued: the
 * message must be deferred, not removed. */
int qmgr_notice_done(struct qmgr_message *msg);
/* The message expired: as qmgr_notice_done, every pending recipient
 * failed with its last delayed record's status and reason. */
int qmgr_notice_expire(struct qmgr_message *msg);
/* The message is deferred: the notices for this attempt's failures (then
 * marked notified) and, once, the delay warning at delay_warning_time. */
void qmgr_notice_defer(struct qmgr_message *msg);

/* qmgr_hops.c: the mail loop check at activation. */
/* Reads hopcount_limit. */
void qmgr_hops_configure(void);
/* True when the content's header section has more Received: and
 * Delivered-To: fields than hopcount_limit (reads at most
 * QMGR_HOPS_HEADER_MAX octets of it). */
#define QMGR_HOPS_HEADER_MAX (100 * 1024)
bool qmgr_hops_exceeded(const struct qmgr_message *msg);

/* qmgr_scan.c */
void qmgr_scan_recover_active(void);
void qmgr_scan_incoming(void);
void qmgr_scan_deferred(void);
/* Activates queued wakeup ids and rescans when room frees up. */
void qmgr_scan_drain(void);
/* Queues an id that could not be activated yet. */
void qmgr_scan_queue_id(const char *id);
bool qmgr_scan_have_queued(void);

/* qmgr_deliver.c */
void qmgr_deliver_init(void);
/* Starts requests on ready connections (greeted by the agent's hello)
 * while recipients wait, and opens more connections if needed. */
void qmgr_deliver_kick(void);
/* Once a second: request and hello timeouts, closing connections idle
 * for a while, connect retries. */
void qmgr_deliver_tick(void);
void qmgr_deliver_shutdown(void);

/* qmgr_request.c: the protocol of t's agent (local: version 1, one
 * recipient; smtp: version 2, one recipient per request for now). */
struct ipc_msg;
struct buf;
const char *qmgr_request_socket(enum qmgr_transport t);
/* 0 if imsg is the hello of t's agent, else -1 with *error_r. */
int qmgr_request_hello(enum qmgr_transport t, const struct ipc_msg *imsg,
		       const char **error_r);
/* Appends the request for recipient index of msg to out. */
void qmgr_request_encode(enum qmgr_transport t,
			 const struct qmgr_message *msg, size_t index,
			 struct buf *out);
/* Decodes the answer to that request into *ans_r (strings in imsg). */
int qmgr_request_answer(enum qmgr_transport t, const struct ipc_msg *imsg,
			struct deliver_answer *ans_r, const char **error_r);

#endif
