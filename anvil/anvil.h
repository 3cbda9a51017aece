/* anvil: the connection and rate counter service (Postfix's anvil(8)
 * model). master runs one process (master.cf: "anvil unix - - n - 1
 * anvil"); every smtpd session holds a connection to private/anvil and
 * reports its events (lib/anvil_proto.h); anvil answers with the
 * client's concurrent connections and the event's rate in the current
 * time unit, and smtpd decides (smtpd/smtpd_anvil.c).
 *
 *   main.c          configuration, the loop, the tick, statistics lines
 *   anvil_table.c   the counters: a bounded hash table of keys
 *   anvil_conn.c    client connections: one request line at a time; the
 *                   connections a client reported are given back when its
 *                   connection closes, so a crashed smtpd leaks nothing
 *
 * Rates are fixed windows, as Postfix counts them: a key's window opens
 * at its first event and lasts anvil_rate_time_unit; the first event
 * after that opens a new one with every rate back at zero. */
#ifndef SUREL_ANVIL_H
#define SUREL_ANVIL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "anvil_proto.h"
#include "event.h"

/* A key: a kind octet ('a' client address, 'u' SASL user), then
 * "service:ident" (the form of the statistics lines). */
#define ANVIL_KEY_MAX (2 + ANVIL_SERVICE_MAX + ANVIL_IDENT_MAX)

/* ---- anvil_table.c ---- */

/* The largest value of one counter kind since the last report. */
struct anvil_stat {
	uint32_t value;			/* 0: none seen */
	uint64_t at_ms;			/* when (the table's clock) */
	char key[ANVIL_KEY_MAX + 1];	/* "service:ident", may hold any
					 * octet but NUL: escape to log */
};

struct anvil_stats {
	struct anvil_stat rate[ANVIL_EVENT_COUNT];	/* not DISCONNECT */
	struct anvil_stat count;	/* concurrent connections */
	size_t max_size;		/* most keys at once */
	uint64_t max_size_at_ms;
};

struct anvil_table;
/* unit_ms: anvil_rate_time_unit; max_keys: at most so many keys (>= 1).
 * Time is what the caller passes as now_ms (monotonic ms): the table
 * never reads a clock, so tests inject one. */
struct anvil_table *anvil_table_new(uint64_t unit_ms, size_t max_keys);
void anvil_table_free(struct anvil_table **t);
/* Counts req's event at now_ms for its key (ANVIL_USER_MESSAGE counts a
 * user, the others a client address) and fills reply (ok, count, rate).
 * CONNECT adds a connection and counts its rate; DISCONNECT takes one
 * away (never below 0) and does not create a key. A new key when the
 * table is full replaces the least recently used key without
 * connections; when every key has connections, -1 with *error_r
 * (static) and nothing counted. */
int anvil_table_event(struct anvil_table *t, const struct anvil_request *req,
		      uint64_t now_ms, struct anvil_reply *reply,
		      const char **error_r)
	__attribute__((warn_unused_result));
/* Drops the keys without connections that saw no event for a time unit:
 * their rates would start again from zero anyway. Returns how many. */
size_t anvil_table_expire(struct anvil_table *t, uint64_t now_ms);
size_t anvil_table_size(const struct anvil_table *t);
/* The maxima since anvil_table_stats_reset (or the start). */
const struct anvil_stats *anvil_table_stats(const struct anvil_table *t);
void anvil_table_stats_reset(struct anvil_table *t);

/* ---- anvil_conn.c ---- */

/* Most clients at once (each holds one descriptor), and most connections
 * one client may hold counted at once (smtpd reports one per session). */
#define ANVIL_CONN_MAX 4096
#define ANVIL_CONN_KEYS_MAX 4

/* Accepts clients on listen_fd (non-blocking) into loop, counting in t. */
void anvil_conn_start(struct event_loop *loop, int listen_fd,
		      struct anvil_table *t);
void anvil_conn_stop_accepting(void);
/* Accepts again after running out of descriptors; called every second. */
void anvil_conn_tick(void);
void anvil_conn_close_all(void);

#endif
