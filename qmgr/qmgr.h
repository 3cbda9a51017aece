/* qmgr: the queue manager's shared state and the interfaces between its
 * parts: main.c (the loop, wakeup clients, timers), qmgr_scan.c (directory
 * scans), qmgr_message.c (a message from activation to removal or
 * deferral, routing each recipient to a transport), qmgr_deliver.c (a
 * connection pool per delivery agent), qmgr_request.c (what each
 * agent's protocol version says), qmgr_hold.c (the hold/ queue: moves in
 * and out of it), qmgr_verify.c (sendmail -bv: trace-only messages and
 * their report) and qmgr_super.c (surelsuper's requests on
 * private/qmgr-super). One process, one event loop, no threads: nothing here locks. */
#ifndef SUREL_QMGR_H
#define SUREL_QMGR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "dsn.h"
#include "event.h"
#include "local_domains.h"
#include "netmatch.h"
#include "queue_file.h"
#include "super_proto.h"

#define QMGR_INCOMING "incoming"
#define QMGR_ACTIVE "active"
#define QMGR_DEFERRED "deferred"
#define QMGR_CORRUPT "corrupt"
#define QMGR_HOLD "hold"
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
#define QMGR_NEXTHOP_MAX 300	/* "[" host "]:" port */
#define QMGR_REASON_MAX 600

struct qmgr_dest;
struct qmgr_job;

/* A message in memory: one per file in active/. */
struct qmgr_message {
	char id[QUEUE_ID_MAX];
	int fd;			/* active/ID, read-write for the done marks */
	struct queue_envelope env;
	off_t content_offset;
	uint64_t content_size;
	uint64_t active_us;	/* when it was activated (delays=a/b) */
	uint8_t *route;		/* per recipient: an enum qmgr_transport */
	uint8_t *retried;	/* per recipient: 1 once re-dispatched */
	struct qmgr_job *jobs;	/* its recipients waiting, per destination */
	size_t outstanding;	/* recipients in flight */
	size_t deferred;	/* recipients that stay pending this time */
	bool marked;		/* a done mark was written: sync before
				 * the file leaves active/ */
	bool hold;		/* surelsuper -h: to hold/ once nothing of
				 * it is in flight */
	bool deleted;		/* surelsuper -d: removed once nothing of
				 * it is in flight */
	bool requeue;		/* surelsuper -r: to incoming/ once nothing
				 * of it is in flight */
	bool verify;		/* verify=yes (sendmail -bv): agents trace
				 * only, one report, never a retry */
	struct qmgr_verify_rcpt *vrcpts;	/* verify: per recipient,
						 * its answer */
	struct qmgr_message *all_prev, *all_next;	/* every message */
};

/* The process-wide state; the configuration is read once at start. */
struct qmgr_state {
	struct event_loop *loop;
	uint64_t min_backoff_s, max_backoff_s, max_lifetime_s, run_delay_s;
	uint64_t ipc_timeout_ms;
	size_t active_limit;
	size_t pool_size[QMGR_TRANSPORTS];	/* agent connections */
	size_t dest_limit[QMGR_TRANSPORTS];	/* per destination */
	size_t rcpt_limit[QMGR_TRANSPORTS];	/* per request */
	size_t initial_window;		/* initial_destination_concurrency */
	struct local_domains *domains;	/* virtual_mailbox_domains */
	struct netmatch *mynetworks;	/* whose mail is ours to sign */

	size_t active_count;		/* messages in memory */
	struct qmgr_message *all_head;
	size_t outstanding;		/* recipients in flight, all messages */
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
/* The result of a dispatched recipient, from its agent's answer or from
 * qmgr itself. logged: the agent has logged the status line already;
 * otherwise qmgr logs it (relay=the route's transport). */
struct deliver_answer;
void qmgr_message_result(struct qmgr_message *msg, size_t index,
			 const struct deliver_answer *ans, bool logged);
/* The same for a recipient that was waiting, not in flight (a dead
 * destination, qmgr's own routing answers). Does not finish msg: the
 * caller calls qmgr_message_check after its last such result. */
void qmgr_message_result_waiting(struct qmgr_message *msg, size_t index,
				 const struct deliver_answer *ans);
/* Removes or defers msg when nothing of it is waiting or in flight (msg
 * may be freed). */
void qmgr_message_check(struct qmgr_message *msg);
/* The delivery agent connection died with index in flight: queued for
 * dest again once, then deferred like a temporary failure. */
void qmgr_message_lost(struct qmgr_message *msg, struct qmgr_dest *dest,
		       size_t index, const char *reason);
/* At exit: forgets every message (the files stay where they are). */
void qmgr_message_free_all(void);
/* The message in memory with this id, or NULL. */
struct qmgr_message *qmgr_message_find(const char *id);
/* surelsuper -h on a message in memory: nothing more of it is
 * dispatched; once its recipients in flight are answered it goes to
 * hold/ (or is removed when none is left pending). With deliveries in
 * flight an O record is synced first, so that a crash before they are
 * answered cannot undo the hold. msg may be freed. */
void qmgr_message_hold(struct qmgr_message *msg);
/* surelsuper -d on a message in memory: nothing more of it is
 * dispatched; it is removed (no notices) once its recipients in flight
 * are answered, at once if none is. Not recorded in the file: a crash
 * before those answers brings the message back. msg may be freed. */
void qmgr_message_delete(struct qmgr_message *msg);
/* surelsuper -r on a message in memory: as the delete, but once nothing
 * is in flight its done marks are synced and it is renamed back into
 * incoming/ and activated again (routed anew). Cancels a pending hold
 * (an H record after its O). msg may be freed. */
void qmgr_message_requeue(struct qmgr_message *msg);
/* Calls fn for every message in memory (fn may free the one it gets). */
void qmgr_message_each(void (*fn)(struct qmgr_message *msg));

/* qmgr_qfile.c: queue files outside memory, for the operator's requests.
 * exists: lstat finds path. committed: a regular file with the owner's x
 * bit (a 0600 one in incoming/ is still being written, and nobody has
 * been promised it). locate: id's file in active/, incoming/, hold/ or
 * deferred/H/, in that order: true with the directory that holds it
 * ("deferred/3"), else false.
 * each: fn(dir, id) for every queue id in dir (QMGR_DEFERRED: in each of
 * its subdirectories, given as dir); the count of fn's results above 0.
 * move_synced: rename, then both directories synced; -1 with errno
 * (after a failed sync the rename happened but may not survive a
 * crash). */
typedef int qmgr_qfile_fn(const char *dir, const char *id);
bool qmgr_qfile_exists(const char *path);
bool qmgr_qfile_committed(const char *path);
bool qmgr_qfile_locate(const char *id, char dir[QMGR_PATH_MAX]);
unsigned long long qmgr_qfile_each(const char *dir, qmgr_qfile_fn *fn);
int qmgr_qfile_move_synced(const char *from, const char *to);

/* qmgr_hold.c: the hold/ queue. hold/ is never scanned for delivery;
 * a file enters it only here, by rename, and the directories are synced
 * so that neither a hold nor a release is lost in a crash. */
/* Whether env must go to hold/ instead of being delivered: its last O
 * or H status record is an O (held while in flight), or it has none and
 * its envelope says hold=yes (smtpd's HOLD verdict). */
bool qmgr_hold_wanted(const struct queue_envelope *env);
/* Renames src ("incoming/ID", "active/ID", "deferred/H/ID") to hold/ID,
 * syncs both directories and logs "ID: placed on hold". 0, or -1
 * (logged; the file is still in src). */
int qmgr_hold_move(const char *src, const char *id);
/* Before a message leaves hold/ by the operator's hand: when activation
 * would hold it again (qmgr_hold_wanted), an H record, synced. 0, or -1
 * with errno (the message must stay where it is). */
int qmgr_hold_cancel(int fd, struct queue_envelope *env,
		     const char **error_r);
/* surelsuper's operations (enum super_op), for one id (a site for
 * flush-site) or ALL (id NULL):
 * *count_r gets the messages moved. 1 done, 0 no such message, -1 with
 * *error_r. */
int qmgr_hold_request(enum super_op op, const char *id, unsigned long long *count_r,
		      const char **error_r);

/* qmgr_ops.c: surelsuper -d, -r, -s and the flushes (surel flush,
 * surelqueue -f/-i/-s), the rows of qmgr_hold.c's operation table.
 * delete/requeue/flush_one: 1 done, 0 nothing to do, -1 with *error_r;
 * the _all ones return the count. */
int qmgr_ops_delete_one(const char *id, const char **error_r);
unsigned long long qmgr_ops_delete_all(void);
int qmgr_ops_requeue_one(const char *id, const char **error_r);
unsigned long long qmgr_ops_requeue_all(void);
int qmgr_ops_flush_one(const char *id, const char **error_r);
unsigned long long qmgr_ops_flush_all(void);
/* Ops whose target is not a message: 1 with *count_r, or -1. */
int qmgr_ops_flush_site(const char *site, unsigned long long *count_r,
			const char **error_r);
int qmgr_ops_repair(const char *target, unsigned long long *count_r,
		    const char **error_r);

/* qmgr_super.c: the socket private/qmgr-super, reachable by root and
 * mail_owner only (the directory's mode, and the peer's uid checked). */
void qmgr_super_init(void);
/* Once a second: closes clients idle too long. */
void qmgr_super_tick(void);
void qmgr_super_shutdown(void);

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

/* qmgr_notice.c, also for qmgr_verify.c: composes the notices of this
 * kind for rcpts[0..count) (in pieces of DSN_RCPT_MAX) from <> to msg's
 * sender and queues them. 0, or -1 when one could not be queued. */
int qmgr_notice_send(const struct qmgr_message *msg, enum dsn_kind kind,
		     const struct dsn_rcpt *rcpts, size_t count);

/* qmgr_verify.c: sendmail -bv. A message whose envelope says verify=yes
 * is routed as any other, but its requests are trace only (the agents
 * resolve, deliver nothing and answer what they would do); each answer,
 * whatever its status, is the recipient's final word for this message:
 * nothing is retried, no done mark is written, no notice is sent. When
 * every recipient has one, the sender gets one report (a
 * multipart/report with Postfix's actions deliverable/undeliverable,
 * lib/dsn's DSN_KIND_VERIFY) and the message is removed; to <> nothing is
 * sent. A report that cannot be queued defers the message: the next
 * attempt asks again, so nothing is lost. */
/* Sets msg->verify from the envelope (at activation). */
void qmgr_verify_init(struct qmgr_message *msg);
/* Keeps recipient index's answer (copied). */
void qmgr_verify_record(struct qmgr_message *msg, size_t index,
			const struct deliver_answer *ans);
/* Every recipient answered: the report. 0 sent (or not to be sent: <>),
 * -1 it could not be queued (logged). */
int qmgr_verify_report(struct qmgr_message *msg);
/* Frees msg's answers (the message is being freed). */
void qmgr_verify_free(struct qmgr_message *msg);

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

/* qmgr_route.c: where each recipient goes. */
struct qmgr_route {
	enum qmgr_transport transport;	/* QMGR_UNROUTED: answered now */
	char nexthop[QMGR_NEXTHOP_MAX];	/* smtp: transport(5) next hop */
	/* QMGR_UNROUTED: the answer (error:, retry:, discard:, a failed
	 * look-up); reason points into the route. */
	int status;			/* an enum deliver_status */
	char dsn[16];
	char reason[QMGR_REASON_MAX];
};
/* Opens transport_maps and checks relayhost and default_transport (before
 * a chroot). Exits on a configuration error. */
void qmgr_route_init(void);
void qmgr_route_deinit(void);
/* filter: the message's "filter" attribute, or NULL. */
void qmgr_route_rcpt(const char *address, const char *filter,
		     struct qmgr_route *route_r);

/* qmgr_dest.c: destinations (transport + next hop), each with its queue of
 * jobs (a message's recipients for it), concurrency window and dead-until
 * time; served round-robin per transport. */
struct qmgr_dest *qmgr_dest_get(enum qmgr_transport t, const char *nexthop);
const char *qmgr_dest_nexthop(const struct qmgr_dest *dest);
/* Queues recipient index of msg for dest (a dead destination defers it at
 * the next kick, without a connection attempt). */
void qmgr_dest_add(struct qmgr_dest *dest, struct qmgr_message *msg,
		   size_t index);
/* Forgets msg's jobs (it is being freed). */
void qmgr_dest_forget(struct qmgr_message *msg);
bool qmgr_dest_msg_waiting(const struct qmgr_message *msg);
/* The next destination of transport t that may take a request now,
 * round-robin; NULL when none. Defers the recipients of dead ones it
 * passes. */
struct qmgr_dest *qmgr_dest_next(enum qmgr_transport t);
/* Defers the waiting recipients of every dead destination of t, as
 * qmgr_dest_next does for those it passes: mail for a dead destination
 * goes to deferred/ at once even when no connection is idle to ask for
 * work (Postfix defers it the moment it is queued). */
void qmgr_dest_defer_dead(enum qmgr_transport t);
/* Whether some destination of t may take a request now (without the
 * rotation or the deferrals of qmgr_dest_next). */
bool qmgr_dest_ready(enum qmgr_transport t);
/* Whether dest may take a request now. */
bool qmgr_dest_can_take(struct qmgr_dest *dest);
/* Takes the next request for dest (one that may take one): up to max
 * recipients of its next message into rcpts; counts it in flight. */
struct qmgr_message *qmgr_dest_take(struct qmgr_dest *dest, size_t max,
				    size_t *rcpts, size_t *count_r);
/* What an answered request says about its destination. */
enum qmgr_feedback {
	QMGR_FEEDBACK_OK,	/* it answered: the window may grow */
	QMGR_FEEDBACK_DEFERRED,	/* every recipient deferred: shrink */
	QMGR_FEEDBACK_DEAD,	/* site=dead: back the destination off */
	QMGR_FEEDBACK_NONE,	/* no answer (the agent connection broke) */
};
/* The request to dest is over. With DEAD, every waiting recipient is
 * deferred now with dsn and reason. */
void qmgr_dest_done(struct qmgr_dest *dest, enum qmgr_feedback fb,
		    const char *dsn, const char *reason);
/* A flush: every dead destination may be tried again now (with a window
 * of one, as when its back-off ends). */
void qmgr_dest_revive_all(void);
/* Once a second: frees destinations nothing waits for (a dead one is kept
 * until it revives, so that new mail for it is deferred at once). */
void qmgr_dest_tick(void);
void qmgr_dest_free_all(void);

/* qmgr_deliver.c */
void qmgr_deliver_init(void);
/* Starts requests on ready connections (greeted by the agent's hello)
 * while recipients wait, and opens more connections if needed. */
void qmgr_deliver_kick(void);
/* Once a second: request and hello timeouts, closing connections idle
 * for a while, connect retries. */
void qmgr_deliver_tick(void);
void qmgr_deliver_shutdown(void);
/* dest is being freed: no connection may remember it. */
void qmgr_deliver_dest_gone(const struct qmgr_dest *dest);

/* qmgr_request.c: the protocol of t's agent (local: version 1, one
 * recipient; smtp: version 2, a message's recipients for one next hop). */
struct ipc_msg;
struct buf;
const char *qmgr_request_socket(enum qmgr_transport t);
/* 0 if imsg is the hello of t's agent, else -1 with *error_r. */
int qmgr_request_hello(enum qmgr_transport t, const struct ipc_msg *imsg,
		       const char **error_r);
/* Appends the request for recipients rcpts[0..count) of msg, for
 * nexthop, to out. */
void qmgr_request_encode(enum qmgr_transport t,
			 const struct qmgr_message *msg, const size_t *rcpts,
			 size_t count, const char *nexthop, struct buf *out);
/* Decodes the answer to that request into ans_r[0..count) (strings in
 * imsg) and *site_dead_r. */
int qmgr_request_answer(enum qmgr_transport t, const struct ipc_msg *imsg,
			size_t count, struct deliver_answer *ans_r,
			bool *site_dead_r, const char **error_r);

#endif
