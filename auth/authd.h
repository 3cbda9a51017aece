/* authd: the only process that reads password data. One process, one
 * event loop: pop3d, imapd (and later smtpd) connect to private/auth and
 * send "verify" or "lookup" requests (lib/auth_client.h, doc/auth.md).
 *
 *   main.c             configuration, the loop, signals, start and stop
 *   authd_conn.c       client connections: bounded buffers, one request
 *                      at a time, the delayed "fail" reply
 *   authd_request.c    what a request means: lookup, verify, throttle,
 *                      cache, the failure log line
 *   authd_users.c      the user tables (passwd-file:, hash:, btree:) and
 *                      their reload on change
 *   authd_fields.c     a table entry's home, mail and quota fields
 *   authd_throttle.c   failure counters per client address and per user
 *   authd_cache.c      the success cache (keyed digests, never passwords)
 *   authd_lru.c        the bounded hash table the last two are built on
 *
 * crypt(3) runs in this process, between events: a verify holds the loop
 * for as long as its hash takes (SHA512-CRYPT ~1-5 ms, bcrypt more), and
 * a connection gets one request handled per turn, so no client waits for
 * more than the verifies queued before its own. */
#ifndef SUREL_AUTHD_H
#define SUREL_AUTHD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "auth_client.h"
#include "buf.h"
#include "event.h"
#include "ipc.h"
#include "passwd_file.h"

/* Most entries of each throttle table and of the success cache; the
 * least recently touched entry makes room. */
#define AUTHD_TABLE_MAX 100000
#define AUTHD_HOME_MAX 1024	/* as struct auth_reply's home and mail */

struct authd_state {
	struct event_loop *loop;
	struct authd_users *users;
	struct authd_throttle *throttle;
	struct authd_cache *cache;
	bool allow_plain;		/* auth_allow_plain_passwords */
	bool stopping;
};
extern struct authd_state authd;

/* ---- authd_users.c ---- */

/* A user found in a table. password is a heap copy of the stored
 * "{SCHEME}hash"; authd_user_clear wipes and frees it. */
struct authd_user {
	char name[AUTH_USER_MAX + 1];	/* canonical: as the table has it */
	char *password;
	char home[AUTHD_HOME_MAX];	/* "" when none */
	char mail[AUTHD_HOME_MAX];	/* Maildir path, "" when none */
	uint64_t quota;			/* bytes, 0: none given */
};
void authd_user_clear(struct authd_user *u);

struct authd_users;
/* Opens the tables of auth_user_maps (specs: NULL-terminated). A table
 * that cannot be read is logged and retried later; until then every
 * lookup through it is a temporary failure. Fatal on a spec of an unknown
 * type: a configuration error. */
struct authd_users *authd_users_open(char **specs);
void authd_users_free(struct authd_users **u);
/* Re-reads passwd-files whose file changed (mtime, size, inode), each at
 * most once a second. A new file that does not parse is logged and the
 * old table stays. Returns true when a table was replaced (the caller
 * empties the success cache). */
bool authd_users_refresh(struct authd_users *u);
/* Looks user up, ASCII case-insensitively, in each table in order.
 * 1 found (*out filled), 0 not found, -1 temporary failure (*error_r,
 * valid until the next call). */
int authd_users_lookup(struct authd_users *u, const char *user,
		       struct authd_user *out, const char **error_r);
/* A hash of the default scheme with a random password, checked when the
 * user is unknown so that the answer takes as long as for a known one. */
const char *authd_users_dummy_hash(const struct authd_users *u);
/* "passwd-file:/x (12 users), hash:/y" for the start-up line. */
void authd_users_describe(const struct authd_users *u, struct buf *out);
size_t authd_users_table_count(const struct authd_users *u);

/* ---- authd_fields.c ---- */

/* Fills out->home, out->mail and out->quota from a table entry: the home
 * field, and the extra fields mail= / userdb_mail= (maildir:PATH or a
 * bare path; ~/ is the home; %u %n %d %% are expanded) and quota_rule= /
 * userdb_quota_rule= (*:storage=SIZE or *:bytes=SIZE with Dovecot's units
 * B k M G T). Other extra fields are ignored. -1 with *error_r (static)
 * on a field authd cannot honour (another mailbox format, a relative
 * path, a bad size): the entry is broken, the operator must fix it. */
int authd_fields_apply(const struct passwd_file_entry *e,
		       struct authd_user *out, const char **error_r);
/* SIZE with an optional unit (B, k, M, G, T, also kB ... TB; any case;
 * 1024-based) into bytes; 0 or -1. */
int authd_fields_size(const char *s, uint64_t *bytes_r);

/* ---- authd_lru.c ---- */

/* A hash table of byte-string keys (at most AUTHD_LRU_KEY_MAX) to two
 * numbers, holding at most max entries: adding one more drops the entry
 * least recently added or updated. Keys are hashed with SipHash under a
 * random key, so chosen keys cannot make the table slow. */
#define AUTHD_LRU_KEY_MAX 512
struct authd_lru;
struct authd_lru *authd_lru_new(size_t max);
void authd_lru_free(struct authd_lru **lru);
/* The two values of key, or NULL. Does not count as an update. */
uint64_t *authd_lru_get(struct authd_lru *lru, const void *key, size_t len);
/* The two values of key (zeroed when new), now the most recent entry. */
uint64_t *authd_lru_put(struct authd_lru *lru, const void *key, size_t len);
void authd_lru_delete(struct authd_lru *lru, const void *key, size_t len);
void authd_lru_clear(struct authd_lru *lru);
size_t authd_lru_count(const struct authd_lru *lru);

/* ---- authd_throttle.c ---- */

struct authd_throttle;
/* delay_ms: auth_failure_delay, max_ms: auth_failure_delay_max,
 * reset_ms: auth_failure_reset_time; max_entries per table. */
struct authd_throttle *authd_throttle_new(uint64_t delay_ms, uint64_t max_ms,
					  uint64_t reset_ms,
					  size_t max_entries);
void authd_throttle_free(struct authd_throttle **t);
/* Counts a failure of user (folded to lower case here) from rip ("" when
 * unknown: not counted; an IPv6 address counts by its /48, an IPv4-mapped
 * one as the IPv4 address) at now_ms, and returns the delay before the fail
 * reply: delay * 2^(n-1) capped at max, n the larger of the two counts
 * (failures no more than reset_ms apart). */
uint64_t authd_throttle_fail(struct authd_throttle *t, const char *rip,
			     const char *user, uint64_t now_ms);
/* A success: forgets the failures of user and of rip. */
void authd_throttle_success(struct authd_throttle *t, const char *rip,
			    const char *user);

/* ---- authd_cache.c ---- */

struct authd_cache;
/* ttl_ms 0: the cache is off. */
struct authd_cache *authd_cache_new(uint64_t ttl_ms, size_t max_entries);
void authd_cache_free(struct authd_cache **c);
/* True if user logged in with password against stored within the ttl.
 * Only an HMAC-SHA256 (random key of this process) of the three is
 * kept, so a changed stored hash misses. */
bool authd_cache_hit(struct authd_cache *c, const char *user,
		     const char *stored, const char *password, uint64_t now_ms);
void authd_cache_add(struct authd_cache *c, const char *user,
		     const char *stored, const char *password, uint64_t now_ms);
void authd_cache_clear(struct authd_cache *c);

/* ---- authd_request.c ---- */

/* Handles one request: appends the encoded reply to out and sets
 * *delay_ms_r (how long to hold it back: a failure; the throttle's delay
 * less the time the request has taken so far). -1 with *error_r
 * (static) for a request that breaks the protocol: the caller drops the
 * client. */
int authd_request_handle(const struct ipc_msg *msg, struct buf *out,
			 uint64_t *delay_ms_r, const char **error_r);
/* Writes user for a log line: every byte outside printable ASCII, and
 * '<', '>', ',', '=', '\\', as \ooo, so that a chosen name cannot forge
 * another field of the line (fail2ban). Returns out. */
char *authd_log_user(char *out, size_t outsize, const char *user);

/* ---- authd_conn.c ---- */

#define AUTHD_CONN_MAX 1024
/* Accepts clients on listen_fd from now on, at most max_conns at once
 * (<= AUTHD_CONN_MAX). */
void authd_conn_start(int listen_fd, size_t max_conns);
/* Stops accepting; connections finish their request in flight. */
void authd_conn_stop_accepting(void);
/* Closes idle connections, and accepts again after running out of
 * descriptors; called every second. */
void authd_conn_tick(uint64_t now_ms);
/* Connections with a request in flight (a reply held back or being
 * written). */
size_t authd_conn_busy(void);
void authd_conn_close_all(void);

#endif
