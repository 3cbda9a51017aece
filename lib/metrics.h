/* metrics: counters shared by every process of an instance, for the
 * metrics service to publish (surel-metrics(8)).
 *
 * master creates one region (a memfd of fixed size) before it starts any
 * service and hands it to every child on fd METRICS_FD, with the child's
 * slot number in the environment (METRICS_SLOT_ENV). A slot belongs to one
 * master.cf service (name and type) for the life of master: a reload keeps
 * a service's slot, so its counters only grow, and a new service takes a
 * free one. The processes of a service add to their slot's counters with
 * relaxed atomic increments: no lock, no system call, and a process that
 * dies mid-way loses nothing it already counted. master alone writes the
 * slot names and the process gauges.
 *
 * What counts is fixed here (enum metrics_counter, the delivery table), so
 * the region has one layout and the number of series is bounded: at most
 * METRICS_SLOTS services, and delivery outcomes by DSN class and subject
 * (RFC 3463: X.Y, Y from 0 to 7; anything else is counted as X.0).
 *
 * Trust: every child can write the whole region (one mapping). A daemon
 * taken over could falsify counters, never reach anything else; the
 * figures are for operators' graphs, not for decisions.
 *
 * Without a region (a program not started by master, or memfd failed)
 * every metrics_count* call does nothing. */
#ifndef SUREL_METRICS_H
#define SUREL_METRICS_H
#include <stdbool.h>
#include <stdint.h>
#include "deliver_proto.h"

#define METRICS_FD 5			/* next to the listener and status fds */
#define METRICS_SLOT_ENV "SUREL_METRICS_SLOT"
#define METRICS_SLOTS 128
#define METRICS_NAME_MAX 64		/* service name, with its NUL */
#define METRICS_PROGRAM_MAX 32
#define METRICS_MAGIC UINT64_C(0x31744d6c65727553)	/* "SurelMt1" */

enum metrics_counter {
	METRICS_CONNECTIONS,	/* clients accepted by the pre-fork skeleton */
	METRICS_AUTH_OK,	/* passwords authd accepted */
	METRICS_AUTH_FAIL,	/* passwords authd refused */
	METRICS_TLS_1_3,	/* TLS handshakes completed, by version */
	METRICS_TLS_1_2,
	METRICS_TLS_OTHER,
	METRICS_RECEIVED,	/* messages committed to the queue */
	METRICS_COUNTER_COUNT
};

/* The outcomes of a delivery attempt, as the status= of the log lines. */
enum metrics_outcome {
	METRICS_SENT,
	METRICS_DEFERRED,
	METRICS_BOUNCED,
	METRICS_OUTCOME_COUNT
};

#define METRICS_DSN_SUBJECTS 8	/* X.0 .. X.7 */

struct metrics_slot {
	/* Written by master only; in_use last, after the names. */
	char name[METRICS_NAME_MAX];	/* "smtp", "127.0.0.1:2525" */
	char type[8];			/* "inet", "unix" */
	char program[METRICS_PROGRAM_MAX];	/* "smtpd" */
	uint32_t in_use;
	uint32_t processes;		/* alive, not retired */
	uint32_t busy;			/* of those, serving a client */
	uint32_t pad_;
	uint64_t counter[METRICS_COUNTER_COUNT];
	/* [outcome][subject]: the class follows from the outcome (2, 4, 5). */
	uint64_t delivery[METRICS_OUTCOME_COUNT][METRICS_DSN_SUBJECTS];
};

struct metrics_region {
	uint64_t magic;
	uint64_t start_time;		/* master's start, Unix seconds */
	struct metrics_slot slot[METRICS_SLOTS];
};

/* ---- master ---- */

/* Creates a zeroed region (memfd, close-on-exec) and maps it: 0 with
 * *fd_r, or -1 with *error_r (static). */
int metrics_region_create(int *fd_r, struct metrics_region **region_r,
			  const char **error_r);
/* The slot of service name/type, reusing the one it had, else taking a
 * free one (whose program is recorded). -1 when all are taken or a name
 * does not fit: that service goes uncounted. */
int metrics_slot_assign(struct metrics_region *r, const char *name,
			const char *type, const char *program);
/* master's gauges of one slot. */
void metrics_slot_processes(struct metrics_region *r, int slot,
			    unsigned processes, unsigned busy);

/* ---- the processes of a service ---- */

/* Maps the region from fd METRICS_FD and picks the slot the environment
 * names, then closes the fd. Quietly does nothing when either is missing
 * or wrong (a program started by hand counts nothing). Call before
 * opening any other file: the fd number is fixed. */
void metrics_attach(void);
/* The region metrics_attach mapped (the metrics service reads it), or
 * NULL. */
const struct metrics_region *metrics_region(void);

void metrics_count(enum metrics_counter c);
/* A TLS handshake completed with protocol ("TLSv1.3", from OpenSSL). */
void metrics_count_tls(const char *protocol);
/* One recipient's delivery attempt ended with status and dsn ("4.4.1"; a
 * malformed one counts as X.0 of status's class): where an agent or qmgr
 * logs its status= line. */
void metrics_count_delivery(enum deliver_status status, const char *dsn);

/* The DSN subject (Y of X.Y.Z) metrics_count_delivery files dsn under:
 * 0..7, 0 when dsn is not X.Y.Z with Y a known subject. */
unsigned metrics_dsn_subject(const char *dsn);

#endif
