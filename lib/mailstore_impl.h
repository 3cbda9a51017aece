/* mailstore_impl: the inside of lib/mailstore, shared by its files and by
 * its unit tests and fuzz targets; nothing else includes it.
 *
 * The parsers of the three files (dovecot-uidlist, dovecot-keywords,
 * surel-index) are pure functions over a buffer: no I/O, no globals,
 * bounded by the MS_* limits below, so that they can be fuzzed. */
#ifndef SUREL_MAILSTORE_IMPL_H
#define SUREL_MAILSTORE_IMPL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include "buf.h"
#include "mailstore.h"

#define MS_UIDLIST_NAME "dovecot-uidlist"
#define MS_KEYWORDS_NAME "dovecot-keywords"
#define MS_INDEX_NAME "surel-index"

/* Limits on what is read from disk; anything beyond them is damage. */
#define MS_FILE_MAX ((size_t)512 << 20)	/* uidlist, index */
#define MS_KEYWORDS_FILE_MAX (64 * 1024)
#define MS_LINE_MAX 8192		/* one uidlist line */
#define MS_MSGS_MAX 10000000u		/* messages in one folder */
#define MS_BASE_MAX 255			/* a file name (NAME_MAX) */
#define MS_EXT_MAX 4000			/* a record's extension fields */
#define MS_HDR_EXT_MAX 4000		/* the uidlist header's other fields */
#define MS_KEYWORD_NAME_MAX 250
#define MS_GUID_LEN 32			/* 128 bits in hex */
/* Expunge ranges the index keeps; past it the oldest half are merged
 * into one range (QRESYNC may then name more UIDs, never fewer). */
#define MS_EXP_MAX 4096

/* Dovecot's dotlock rules: a lock nobody touched for this long is stale;
 * a lock naming a dead process of this host is stale after 2 s. */
#define MS_LOCK_STALE_SECS 120
#define MS_LOCK_PID_SECS 2
#define MS_LOCK_WAIT_MS_DEFAULT 30000

/* A fixed-size hash of names to indexes (open addressing). */
struct ms_hash_slot {
	uint32_t idx1;		/* index + 1; 0 empty */
	uint32_t hash;
};
struct ms_hash {
	struct ms_hash_slot *slots;
	size_t mask;
};
/* The key of entry idx, for comparisons. */
typedef const char *ms_hash_key_fn(const void *ctx, uint32_t idx,
				   size_t *len_r);
/* Room for n entries. */
void ms_hash_init(struct ms_hash *h, size_t n);
void ms_hash_deinit(struct ms_hash *h);
/* The index stored under key, or -1. */
long ms_hash_find(const struct ms_hash *h, const char *key, size_t len,
		  ms_hash_key_fn *fn, const void *ctx);
/* Stores idx under key; returns the index it replaces, or -1. */
long ms_hash_put(struct ms_hash *h, const char *key, size_t len, uint32_t idx,
		 ms_hash_key_fn *fn, const void *ctx);
/* Stores idx under key (absent so far; at most n entries in all). */
void ms_hash_insert(struct ms_hash *h, const char *key, size_t len,
		    uint32_t idx);

/* A region for what opening a folder makes at once (mailstore.c): the
 * index's records and strings, and the message list of a folder opened
 * from its index. Populated by one call: touching fresh memory costs a
 * page fault per page (14 us each on a paravirtualized host: 10 ms for
 * 10,000 messages), populating it 1 ms. Nothing in it is freed or
 * reallocated alone (ms_arena_has tells what is); it goes as a whole,
 * when the list and the map made in it are replaced. */
struct ms_arena {
	char *base;		/* NULL: none */
	size_t len;
	size_t used;
};
/* 0, or -1 (no arena: callers allocate as usual). */
int ms_arena_init(struct ms_arena *a, size_t len);
/* n octets aligned for any field, or NULL when a is NULL or full. */
void *ms_arena_alloc(struct ms_arena *a, size_t n);
bool ms_arena_has(const struct ms_arena *a, const void *p);
void ms_arena_free(struct ms_arena *a);
/* *to becomes a region of at least len octets, from spare when it is
 * large enough (emptied: its pages are already there), else new. 0 or
 * -1. */
int ms_arena_take(struct ms_arena *to, struct ms_arena *spare, size_t len);
/* Keeps a in spare for the next ms_arena_take (or frees it). */
void ms_arena_keep(struct ms_arena *spare, struct ms_arena *a);

/* One message of the UID map: a dovecot-uidlist record, or an index
 * record (which also caches the fields after ext). */
/* Where a message's file is and how its name is made (index version 4):
 * the name is the base alone (MS_WHERE_BARE), or the base, ":2," and
 * the letters of its flags and keywords in ASCII order; MS_WHERE_ODD
 * when it is neither (other letters, another info) or not known. */
#define MS_WHERE_NEW 0x1	/* in new/ (else cur/) */
#define MS_WHERE_BARE 0x2	/* no ":2," info */
#define MS_WHERE_ODD 0x4
struct ms_rec {
	uint32_t uid;
	uint32_t keywords;
	uint8_t flags;
	uint8_t where;		/* MS_WHERE_* (index only) */
	uint64_t size;
	uint64_t vsize;
	int64_t mtime;
	uint64_t modseq;
	int64_t savedate;	/* when the UID was given (index only) */
	char *base;		/* owned (with ext: one block, freed by
				 * freeing base); never NULL */
	char *ext;		/* the extension fields verbatim, space
				 * separated ("W123 P"); "" when none */
};

/* Expunged UIDs first..last, recorded at MODSEQ modseq (QRESYNC). A
 * range may span UIDs that still exist (they are left out when asked)
 * or that were expunged earlier (reported again: allowed). */
struct ms_exp {
	uint32_t first;
	uint32_t last;
	uint64_t modseq;
};

/* A flag change whose renames are pending (index version 5): what
 * message uid's file was called before the change, so that the renames
 * of a writer that died after its index write can be completed (see
 * mailstore_pending.c). The name is the record's base, in new/ when
 * where has MS_WHERE_NEW, made from where, flags and keywords as for a
 * record (ms_rec_name), or name itself when where has MS_WHERE_ODD. */
struct ms_pend {
	uint32_t uid;
	uint32_t keywords;
	uint8_t flags;
	uint8_t where;
	char *name;		/* owned; NULL unless MS_WHERE_ODD */
};

/* A UID map: the contents of a dovecot-uidlist or of a surel-index. */
struct ms_map {
	unsigned version;	/* uidlist version read (1 or 3) */
	uint32_t uidvalidity;
	uint32_t nextuid;	/* the header's N (uidlist) or next UID */
	uint64_t highest_modseq;	/* index only */
	uint32_t first_recent_uid;	/* index only: UIDs from here on are
					 * \Recent for the next claimer; 0
					 * unknown */
	char guid[MS_GUID_LEN + 1];	/* "" when absent */
	char *hdr_ext;		/* owned; other header fields; "" none */
	struct ms_rec *recs;	/* ascending UIDs */
	size_t count;
	size_t alloc;
	struct ms_exp *exp;	/* index only: the expunge record, in
				 * ascending MODSEQ order; owned */
	size_t exp_count;
	struct ms_arena *arena;	/* where records, their strings and recs
				 * may be (NULL: all allocated alone) */
	uint64_t id;		/* index only: the file's random id, 0 for
				 * none (before version 4) */
	uint32_t crc;		/* index only: the file's CRC, as read or
				 * written */
	struct ms_pend *pend;	/* index only: renames pending (the header's
				 * marker), ascending UIDs; owned */
	size_t pend_count;	/* 0: no marker */
	/* Set by ms_uidlist_parse: */
	bool header_ok;		/* uidvalidity and nextuid were read */
	uint32_t max_uid_seen;	/* highest UID number anywhere in the file,
				 * damaged part included */
};

void ms_map_init(struct ms_map *map);
void ms_map_clear(struct ms_map *map);
/* Appends a record (copies base and ext); returns it. */
/* Room for n records in all (a parser that knows the count). */
void ms_map_reserve(struct ms_map *map, size_t n);
struct ms_rec *ms_map_add(struct ms_map *map, uint32_t uid, const char *base,
			  size_t base_len, const char *ext, size_t ext_len);
/* The record with uid, or NULL. O(log n). */
struct ms_rec *ms_map_find(const struct ms_map *map, uint32_t uid);
/* The next UID this map allows: max(nextuid, last UID + 1,
 * max_uid_seen + 1), at least 1. */
uint32_t ms_map_next_uid(const struct ms_map *map);
/* Appends the records of the maps, in priority order: a base keeps the
 * UID of the first map that has it, a UID the first base. */
void ms_map_union(struct ms_map *out, const struct ms_map *const *srcs,
		  size_t n);
/* GUID and other header fields of from, into to. */
void ms_map_copy_header(struct ms_map *to, const struct ms_map *from);
/* Looks up the value of extension key (an uppercase letter) in ext: 1
 * with *value_r and *len_r pointing into ext, or 0. */
int ms_ext_find(const char *ext, char key, const char **value_r,
		size_t *len_r);

/* Forgets the pending renames (the marker goes with them). */
void ms_map_pend_clear(struct ms_map *map);

/* dovecot-uidlist (mailstore_uidlist.c). Returns 1 when the whole file
 * is valid, 0 when it is empty, -1 when damaged (*error_r static): map
 * then holds the header (when header_ok) and the records before the
 * damage, so that nothing readable is forgotten. A last line without its
 * LF is a record being appended by Dovecot right now: it is skipped (its
 * UID still counts in max_uid_seen), not damage. Duplicate names keep
 * the higher UID, as Dovecot does. */
int ms_uidlist_parse(const char *data, size_t len, struct ms_map *map,
		     const char **error_r);
/* A random mailbox GUID (32 hex digits). */
void ms_make_guid(char guid[MS_GUID_LEN + 1]);
/* Writes map as a version 3 uidlist; -1 when out would pass its max. A
 * map without a GUID gets a random one first. */
int ms_uidlist_format(struct ms_map *map, struct buf *out)
	__attribute__((warn_unused_result));

/* dovecot-keywords (mailstore_keywords.c): "<index> <name>" lines. Bad
 * lines are skipped, as Dovecot does. names[i] is set (owned) or NULL;
 * the caller frees it with ms_keywords_free. */
void ms_keywords_parse(const char *data, size_t len,
		       char *names[MAILSTORE_KEYWORDS_MAX]);
void ms_keywords_free(char *names[MAILSTORE_KEYWORDS_MAX]);
int ms_keywords_format(char *const names[MAILSTORE_KEYWORDS_MAX],
		       struct buf *out) __attribute__((warn_unused_result));
/* A name dovecot-keywords can hold: 1..MS_KEYWORD_NAME_MAX octets, no
 * control character and no space. */
bool ms_keyword_name_valid(const char *name);

/* surel-index (mailstore_index.c): a versioned binary file with a CRC.
 * Returns 0, or -1 (*error_r static, map cleared) on any damage. A
 * version 1 file (no save dates, no expunge record) is read with the
 * mtimes as save dates and one expunge range [1, next UID - 1] at a
 * MODSEQ one above its highest (which becomes the highest): every UID
 * missing before it may have been expunged at any time. Versions 1 and
 * 2 (no first recent UID) are read with their next UID as the first
 * recent UID. Version 5 may carry pending renames (ms_pend). Always
 * written as version 5. */
int ms_index_parse(const unsigned char *data, size_t len, struct ms_map *map,
		   const char **error_r);
int ms_index_format(const struct ms_map *map, struct buf *out)
	__attribute__((warn_unused_result));
/* The CRC the index of map would have with the id id (0 when it cannot
 * be written): equal to a file's CRC means equal to that file. */
uint32_t ms_index_crc(const struct ms_map *map, uint64_t id);
/* The where bits of a message's file name. */
uint8_t ms_name_where(const char *name, size_t base_len, bool in_new);
/* The name where says the message has (base + ":2," + letters), for a
 * record that is not MS_WHERE_ODD; into out, 0, or -1 when too long. */
int ms_rec_name(const struct ms_rec *r, char *out, size_t outsize);
/* The first recent UID as written: 1 when unknown, never above the
 * next UID. */
uint32_t ms_index_first_recent(const struct ms_map *map);
uint32_t ms_crc32(const void *data, size_t len);

/* File names (mailstore_msg.c). */
/* Length of the base: the part before the first ':'. */
size_t ms_name_base_len(const char *name);
/* Flags and keywords of a name's ":2," info (none for other infos). */
void ms_name_flags(const char *name, unsigned *flags_r, uint32_t *kw_r);
/* The name with exactly these flags and keywords: ":2," info with the
 * letters in ASCII order, unknown flags and a second flag set kept.
 * Returns 0, or -1 when it would not fit in outsize. */
int ms_name_set_flags(const char *name, unsigned flags, uint32_t keywords,
		      char *out, size_t outsize);
/* A ",S=<n>" or ",W=<n>" in the base: 1 with *value_r, or 0. */
int ms_name_size(const char *name, size_t base_len, char key,
		 uint64_t *value_r);
/* Dovecot's order for new files: the leading seconds, then the
 * microseconds of ".M<usec>", then the base. */
int ms_name_sort_cmp(const char *a, size_t alen, const char *b, size_t blen);
/* True if a directory entry can be a message file. */
bool ms_name_valid(const char *name);

/* What a file looked like, to notice changes without reading it. */
struct ms_stamp {
	bool exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};
/* stat()s path into st: 0 (exists may be false), or -1 on errors other
 * than ENOENT. */
int ms_stamp_get(const char *path, struct ms_stamp *st);
bool ms_stamp_eq(const struct ms_stamp *a, const struct ms_stamp *b);

/* surel-stamps (mailstore_scan.c): what a sync vouches for. The index
 * with this id is the folder's list (every message, its name and place)
 * for as long as dovecot-uidlist, new/ and cur/ have these stamps: the
 * scan that made the list was stable and trusted, so any later change
 * shows in a stamp. Written (tmp/, rename; no fsync: a lost or stale
 * file only costs a full sync) by a sync that can vouch; read at open
 * (ms_open_fast). Fixed size, CRC last:
 *   "SURELSTP" u32 version (1) u32 0 u64 index id
 *   3 x { u64 dev u64 ino i64 size i64 mtime_sec i64 mtime_nsec }
 *   u32 CRC-32 */
#define MS_STAMPS_NAME "surel-stamps"
#define MS_STAMPS_SIZE 148
struct ms_stamps {
	uint64_t index_id;
	struct ms_stamp ul;
	struct ms_stamp new_dir;
	struct ms_stamp cur_dir;
};
/* 0, or -1 (anything unexpected; a stamp of a missing file included). */
int ms_stamps_parse(const unsigned char *data, size_t len,
		    struct ms_stamps *st);
void ms_stamps_format(const struct ms_stamps *st,
		      unsigned char out[MS_STAMPS_SIZE]);
bool ms_stamps_eq(const struct ms_stamps *a, const struct ms_stamps *b);
/* 1 read and valid, 0 missing or not valid. */
int ms_stamps_read(const struct mailstore *box, struct ms_stamps *st);
/* Errors are ignored: the file is a hint. */
void ms_stamps_write(const struct mailstore *box, const struct ms_stamps *st);

/* Dotlocks (mailstore_lock.c). */
struct ms_lock {
	int fd;			/* -1 when not held */
	char path[4096];	/* target ".lock" */
	dev_t dev;
	ino_t ino;
};
/* Takes target.lock (O_EXCL, mode), overriding a stale lock. wait_ms 0
 * tries once. 1 held, 0 busy (or waited wait_ms in vain), -1 error. */
int ms_lock_take(struct ms_lock *lk, const char *target, mode_t mode,
		 unsigned wait_ms, const char **error_r);
/* What was written to lk->fd becomes target: fsync, a check that the
 * lock is still ours, rename. The lock is gone afterwards either way. */
int ms_lock_replace(struct ms_lock *lk, const char *target,
		    const char **error_r);
/* True if the lock file is still the one lk created (not taken over as
 * stale by another process). */
bool ms_lock_held(const struct ms_lock *lk);
/* Drops the lock without installing anything. */
void ms_lock_release(struct ms_lock *lk);
/* For tests: how long ms_lock_take waits when asked to wait (ms). */
void ms_lock_set_wait_ms(unsigned wait_ms);
unsigned ms_lock_wait_ms(void);

/* A scanned directory entry. */
struct ms_file {
	char *name;		/* owned */
	uint16_t base_len;
	bool in_new;
	bool moved;		/* this sync moved it from new/ */
};

/* new/ and cur/ as read by one scan (mailstore_scan.c). */
struct ms_scan {
	struct ms_file *files;
	size_t count;
	size_t alloc;
	struct ms_hash hash;	/* base -> files[] */
	size_t cur_entries;	/* every entry of cur/ (not . and ..),
				 * message or not */
	bool stable;		/* no directory changed while read: a file
				 * missing from it is gone */
	bool trusted;		/* their mtimes are old enough for the
				 * fast path */
	struct ms_stamp new_st;
	struct ms_stamp cur_st;
	bool done;
	struct ms_stamp ul_st;	/* the uidlist read before this scan */
};
struct ms_sync;
/* Reads new/ and cur/ for the sync c (its expunged UIDs are not looked
 * for when telling whether a scan that raced with a rename must be made
 * again). */
int ms_scan_dirs(const struct ms_sync *c, struct ms_scan *sc,
		 const char **error_r);
void ms_scan_clear(struct ms_scan *sc);
/* The file with base, or -1. */
long ms_scan_find(const struct ms_scan *sc, const char *base);
/* Hash keys: the base of a scanned file, of a map record. */
const char *ms_scan_key(const void *ctx, uint32_t idx, size_t *len_r);
const char *ms_rec_key(const void *ctx, uint32_t idx, size_t *len_r);

/* One sync (mailstore_sync.c; the list is made by mailstore_build.c). */
struct ms_sync {
	struct mailstore *box;
	struct ms_scan scan;
	struct ms_lock lock;
	const uint32_t *gone;	/* expunged (sorted): dropped whatever the
				 * scan says */
	size_t gone_count;
	bool ul_changed;	/* box->ul must be written */
	bool dirs_changed;	/* we renamed files in new/ or cur/ */
	struct ms_map cache2;	/* surel-index as on disk, when another
				 * process wrote it since we read it */
	struct ms_stamp cache2_st;
	bool cache2_loaded;
	/* Files saved into cur/ under the lock (mailstore_save, _copy):
	 * they get consecutive UIDs from save_first, before other files. */
	char *const *saves;
	size_t save_count;
	uint32_t save_first;
	uint32_t assigned_from;	/* UIDs from here were given by this sync */
	bool need_lock;		/* the build gave out a MODSEQ: only valid
				 * under the lock */
	bool index_written;	/* write_out wrote surel-index ... */
	struct ms_stamp index_st;	/* ... this one: ours once swapped in */
	bool lock_failed;	/* the lock cannot be had (read-only): go on
				 * without it */
	bool pend_done;		/* a dead writer's renames were completed:
				 * the index must be written without its
				 * marker */
	/* The new list (in arena when it is large). */
	struct ms_arena arena;
	struct ms_map ix;
	struct mailstore_msg *msgs;
	size_t count;
	bool dirty;		/* ix has something surel-index lacks */
	uint32_t new_min_uid;	/* the lowest UID of a file found in new/
				 * (UINT32_MAX none): the first recent
				 * UID of an index being rebuilt */
};
bool ms_sync_gone(const struct ms_sync *c, uint32_t uid);
/* The lowest UID a new file may get. */
uint32_t ms_sync_first_new_uid(const struct ms_sync *c);
/* Under the lock (mailstore_merge.c): box->ul becomes the new map. */
int ms_sync_merge(struct ms_sync *c, const char **error_r);
/* The index whose records and expunge record are the latest on disk:
 * cache2 when loaded, else ours; NULL when neither is for this
 * UIDVALIDITY (the index is being rebuilt). */
const struct ms_map *ms_sync_latest(const struct ms_sync *c);
/* Builds c->ix and c->msgs: every message of box->ul that has a file.
 * Messages whose flags differ from the latest index, new ones, and UIDs
 * that left the uidlist get new MODSEQs (c->need_lock). */
int ms_build(struct ms_sync *c, const char **error_r);
void ms_build_discard(struct ms_sync *c);
/* box->msgs from box->ix alone (ms_open_fast): 0, or -1 when a record's
 * name is not known (MS_WHERE_ODD). */
int ms_build_from_index(struct mailstore *box);

struct mailstore {
	char *path;
	char *uidlist_path;
	char *index_path;
	char *keywords_path;
	char *new_path;
	char *cur_path;
	char *stamps_path;

	struct ms_map ul;		/* dovecot-uidlist as read/written */
	struct ms_stamp ul_stamp;
	bool ul_loaded;
	bool ul_header_only;		/* opened from the index alone: ul
					 * has the header, not the records
					 * (the index's; read again when a
					 * sync needs them) */
	struct ms_stamps stamps;	/* surel-stamps as read or written */
	bool stamps_valid;

	struct ms_map ix;		/* one record per message: msgs[i]
					 * is ix.recs[i] */
	struct ms_stamp ix_stamp;	/* surel-index as read/written */
	bool ix_dirty;			/* ix differs from surel-index */

	char *keywords[MAILSTORE_KEYWORDS_MAX];
	struct ms_stamp kw_stamp;
	time_t kw_mtime_written;	/* Dovecot needs the mtime to grow */

	struct mailstore_msg *msgs;	/* name, pop3_uidl owned */
	size_t count;

	struct ms_stamp new_stamp;	/* at the last full scan */
	struct ms_stamp cur_stamp;
	bool dirs_trusted;		/* their mtimes were old enough */
	bool synced;
	bool claim_recent;		/* MAILSTORE_OPEN_CLAIM_RECENT */
	bool tmp_checked;		/* tmp/ was looked at ... */
	struct timespec tmp_checked_at;	/* ... then (CLOCK_MONOTONIC) */

	char **graveyard;		/* names replaced by msg_open, freed
					 * at the next change */
	size_t graveyard_count;

	struct ms_arena arena;		/* of box->ix and box->msgs (see
					 * ms_arena) */
	struct ms_arena spare;		/* the one before, for the next
					 * sync (its pages are there) */

	char **limbo;			/* names in tmp/ of files expunged
					 * by this handle, not yet deleted */
	size_t limbo_count;
	struct timespec limbo_since;	/* the oldest (CLOCK_MONOTONIC) */

	struct ms_flags_pending *pending;	/* a flag change between
						 * mailstore_set_flags_begin
						 * and _finish: holds the
						 * uidlist lock */
};

/* The error text of the last failure (static buffer). */
const char *ms_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* path + "/" + name into a fresh string. */
char *ms_path_join(const char *dir, const char *name);
/* Reads a whole regular file of at most max bytes into a new buffer
 * (NUL-terminated); 1 read, 0 missing, -1 error or too big. *st_r gets
 * its stamp as read (retried while it changes under us). */
int ms_read_file(const char *path, size_t max, char **data_r, size_t *len_r,
		 struct ms_stamp *st_r, const char **error_r);
/* The mode new files of the folder get (its directory's, without x). */
mode_t ms_file_mode(const struct mailstore *box);

/* mailstore_sync.c */
int ms_sync(struct mailstore *box, bool force, const char **error_r);
/* Opens from surel-index alone when surel-stamps vouches for it (and no
 * \Recent is to be claimed): 1 done (the handle is synced), 0 not
 * possible (a full sync is needed). */
int ms_open_fast(struct mailstore *box);
/* Takes the uidlist lock with the uidlist's mode; as ms_lock_take. */
int ms_lock_uidlist(struct mailstore *box, struct ms_lock *lk,
		    unsigned wait_ms, const char **error_r);
/* A sync under the lock lk (taken over: released or replaced) after the
 * files of gone (sorted UIDs) were deleted. */
int ms_sync_expunged(struct mailstore *box, struct ms_lock *lk,
		     const uint32_t *gone, size_t count, const char **error_r);
/* A sync under the lock lk (taken over) after files with these bases
 * were put into cur/: they get the UIDs *first_r.. in this order. */
int ms_sync_saved(struct mailstore *box, struct ms_lock *lk,
		  char *const *bases, size_t count, uint32_t *first_r,
		  const char **error_r);
/* Saves the index when dirty, if the lock is free right away. */
void ms_save_index_if_dirty(struct mailstore *box);
/* Frees the message list (names, uidls), but what is in arena (may be
 * NULL). */
void ms_msgs_free(const struct ms_arena *arena, struct mailstore_msg *msgs,
		  size_t count);
void ms_graveyard_clear(struct mailstore *box);

/* mailstore_scan.c: deletes files a crashed writer left in tmp/ (not
 * changed for MS_TMP_MAX_AGE seconds), at most once per
 * MS_TMP_CHECK_SECS per folder (tmp/'s atime records the last look, for
 * every process) and per handle, looking at no more than
 * MS_TMP_SCAN_MAX entries. Errors are ignored: it is housekeeping. */
#define MS_TMP_MAX_AGE (36 * 3600)
#define MS_TMP_CHECK_SECS 3600
#define MS_TMP_SCAN_MAX 100000
void ms_tmp_cleanup(struct mailstore *box);

/* Expunge in two steps (mailstore_msg.c): a file is moved into tmp/ as
 * MS_LIMBO_PREFIX<uidvalidity>.<uid> (out of the Maildir for every
 * reader, and the move made durable before the uidlist forgets it),
 * and deleted later, when freeing its blocks no longer delays the
 * client: at close, or at a sync MS_LIMBO_SECS after the expunge.
 * Left over by a crash, such files go at the next tmp/ clean-up once
 * MS_LIMBO_MAX_AGE old. */
#define MS_LIMBO_PREFIX "surel-expunged."
#define MS_LIMBO_SECS 30
#define MS_LIMBO_MAX_AGE 3600
/* Deletes this handle's expunged files (all, or only when they waited
 * MS_LIMBO_SECS). Errors are ignored: what stays is tmp/'s. */
void ms_limbo_purge(struct mailstore *box, bool all);
/* For tests: other age and interval (seconds). */
void ms_tmp_set_limits(unsigned max_age, unsigned check_secs);

/* mailstore_folder.c: a UIDVALIDITY for a folder whose UID map is
 * lost (or new): above floor, the current time and every UIDVALIDITY
 * given before in its Maildir, which surel-uidvalidity in the Maildir's
 * root records (written under its own dotlock, so that two processes
 * never both take one value). A folder deleted and made again, or whose
 * files were all lost, within one second still gets a new value. When
 * the file cannot be used, the higher of floor and the time. */
#define MS_UIDVALIDITY_NAME "surel-uidvalidity"
uint32_t ms_uidvalidity_new(const struct mailstore *box, uint32_t floor);

/* mailstore_keywords.c: re-reads dovecot-keywords when it changed. */
int ms_keywords_refresh(struct mailstore *box, const char **error_r);
/* Writes box->keywords (caller holds the uidlist lock). */
int ms_keywords_write(struct mailstore *box, const char **error_r);

/* mailstore_expunged.c: the expunge record. */
/* Records as one expunge at modseq the UIDs of old's records that ul
 * lacks; ranges bridge UIDs ul still has. Returns how many UIDs. */
size_t ms_exp_record(struct ms_map *ix, const struct ms_map *old,
		     const struct ms_map *ul, uint64_t modseq);
/* How many UIDs of old's records ul lacks (nothing recorded). */
size_t ms_exp_pending(const struct ms_map *old, const struct ms_map *ul);
void ms_exp_add(struct ms_map *map, uint32_t first, uint32_t last,
		uint64_t modseq);
/* to's expunge record becomes a copy of from's. */
void ms_exp_copy(struct ms_map *to, const struct ms_map *from);
/* Merges the oldest ranges when there are more than MS_EXP_MAX. */
void ms_exp_compact(struct ms_map *map);

/* mailstore_index.c: file I/O of the index. */
/* Reads surel-index; 1 valid, 0 missing or damaged (map empty). With
 * map->arena set, the map is made in it. */
int ms_index_read(const char *path, struct ms_map *map, struct ms_stamp *st);
/* box->ix from surel-index at open, in box->arena, sized for the map and
 * for the list ms_build_from_index makes. */
void ms_index_read_box(struct mailstore *box);
/* Writes map as surel-index (tmp, fsync, rename) with a new id; map's
 * id and crc become the file's. The caller holds the lock. */
int ms_index_write(const struct mailstore *box, struct ms_map *map,
		   struct ms_stamp *st_r, const char **error_r);

/* mailstore_msg.c: finds base again in new/ and cur/ (renamed by
 * someone): 1 with *name_r (owned) and *in_new_r, 0 gone, -1 error. */
int ms_find_base(struct mailstore *box, const char *base, char **name_r,
		 bool *in_new_r, const char **error_r);
/* Size, virtual size and mtime of a file by reading it once. */
int ms_file_measure(int dirfd, const char *name, bool need_vsize,
		    uint64_t *size_r, uint64_t *vsize_r, int64_t *mtime_r);
/* The path of message m under the name name (its directory's). */
char *ms_msg_path(const struct mailstore *box, const struct mailstore_msg *m,
		  const char *name);
/* Follows message m to its new name (renamed by someone): 1, 0 gone,
 * -1 error. The old name stays valid until the next change. */
int ms_msg_follow(struct mailstore *box, struct mailstore_msg *m,
		  const char **error_r);

/* mailstore_pending.c: completes the renames map's pending list names
 * (a writer died between its index write and its renames; the caller
 * holds the lock): each file still under its name of before the change
 * gets the flags of map's record; a file renamed by someone else (or
 * gone) keeps its name. The directories are fsync()ed and the list is
 * cleared: the caller writes the index without the marker. Returns
 * how many files were renamed; a rename that fails leaves that file
 * as it is (the next sync gives it a MODSEQ of its own, as for a
 * change made by someone else). */
size_t ms_pending_complete(struct mailstore *box, struct ms_map *map);
/* For a sync (mailstore_sync.c), after it read the latest index: when
 * that index says a flag change's renames are pending, its writer holds
 * the lock until they are done, so the sync waits for the lock, as for
 * any writer, and never lets the old names win. Under the lock the
 * writer is gone if the marker is still there: its renames are
 * completed, a scan made before is discarded, and the index is written
 * without the marker (pend_done). 1 when the lock was just taken (the
 * pass is made again), 0 go on, -1 error. A folder that cannot be locked
 * (read-only) is read as it is. */
int ms_sync_pending(struct ms_sync *c, const char **error_r);
/* The name a pending entry's file had before the change (rec is the
 * map's record for p->uid): 0, or -1 when it cannot be made. */
int ms_pend_old_name(const struct ms_pend *p, const struct ms_rec *rec,
		     char *out, size_t outsize);
/* Finishes this handle's pending flag change, if any (mailstore_flags.c):
 * every operation on a handle does this first. Errors are left to the
 * next sync (see mailstore_flags.c). */
void ms_flags_settle(struct mailstore *box);

/* For tests: called at each step of a save with its name ("tmp",
 * "published", "index", "uidlist"), so that a test can kill the process
 * there. NULL in real use. */
extern void (*ms_save_hook)(const char *step);

#endif
