/* qmgr: the queue manager's shared state and the interfaces between its
 * parts: main.c (the loop, wakeup clients, timers), qmgr_scan.c (directory
 * scans), qmgr_message.c (a message from activation to removal or
 * deferral) and qmgr_deliver.c (the connection pool to the local delivery
 * agent). One process, one event loop, no threads: nothing here locks. */
#ifndef SUREL_QMGR_H
#define SUREL_QMGR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "event.h"
#include "queue_file.h"

#define QMGR_INCOMING "incoming"
#define QMGR_ACTIVE "active"
#define QMGR_DEFERRED "deferred"
#define QMGR_CORRUPT "corrupt"
#define QMGR_LOCAL_SOCKET "private/local"
#define QMGR_PATH_MAX 64	/* "deferred/H/ID" and friends */

/* A message in memory: one per file in active/. */
struct qmgr_message {
	char id[QUEUE_ID_MAX];
	int fd;			/* active/ID, read-write for the done marks */
	struct queue_envelope env;
	off_t content_offset;
	uint64_t content_size;
	uint64_t active_us;	/* when it was activated (delays=a/b) */
	size_t next_rcpt;	/* the next recipient not yet dispatched */
	size_t *redo;		/* recipients to dispatch again */
	size_t redo_count;
	uint8_t *retried;	/* per recipient: 1 once re-dispatched */
	size_t outstanding;	/* requests in flight */
	size_t deferred;	/* recipients that stay pending this time */
	struct qmgr_message *ready_next;	/* the round-robin ring */
	bool in_ready;
	struct qmgr_message *all_prev, *all_next;	/* every message */
};

/* The process-wide state; the configuration is read once at start. */
struct qmgr_state {
	struct event_loop *loop;
	uint64_t min_backoff_s, max_backoff_s, max_lifetime_s, run_delay_s;
	uint64_t ipc_timeout_ms;
	size_t active_limit;
	size_t concurrency;

	size_t active_count;		/* messages in memory */
	struct qmgr_message *all_head;
	struct qmgr_message *ready_head, *ready_tail;
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
/* The next recipient to dispatch for msg: false if none is left now. */
bool qmgr_message_next_rcpt(struct qmgr_message *msg, size_t *index_r);
/* Results of a dispatched recipient. */
void qmgr_message_done(struct qmgr_message *msg, size_t index, bool bounced);
void qmgr_message_defer(struct qmgr_message *msg, size_t index,
			const char *dsn, const char *reason);
/* The delivery agent connection died with index in flight: dispatched
 * again once, then deferred like a temporary failure. */
void qmgr_message_lost(struct qmgr_message *msg, size_t index,
		       const char *reason);
/* The head of the ready ring (rotated round-robin), or NULL. */
struct qmgr_message *qmgr_message_ready_next(void);
void qmgr_message_ready_add(struct qmgr_message *msg);
/* At exit: forgets every message (the files stay where they are). */
void qmgr_message_free_all(void);

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

#endif
