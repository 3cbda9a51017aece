/* mailstore_cache_impl: the inside of lib/mailstore_cache, shared by its
 * two files (mailstore_cache.c: format, parser, index, loading, lookups;
 * mailstore_cache_write.c: additions, the lock, rewrites); nothing else
 * includes it. The layout is described in mailstore_cache.c. */
#ifndef SUREL_MAILSTORE_CACHE_IMPL_H
#define SUREL_MAILSTORE_CACHE_IMPL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "buf.h"
#include "mailstore_cache.h"

#define CACHE_MAGIC "SURELCCH"
#define CACHE_VERSION 1
#define CACHE_HDR_SIZE 24
#define REC_HDR_SIZE 16
#define CACHE_BASE_MAX 255
/* A file beyond this is rewritten with the newest messages only. */
#define CACHE_FILE_MAX ((size_t)1 << 30)
/* Larger files are not read at all (offsets are 32 bits). */
#define CACHE_LOAD_MAX ((size_t)3 << 29)
/* Messages the index holds; records of others are ignored. */
#define CACHE_UIDS_MAX 2000000u
/* What a message's records take, roughly, to size the index by. */
#define CACHE_BYTES_PER_UID 1024
#define CACHE_FLUSH_AT (256 * 1024)
#define CACHE_PENDING_MAX ((size_t)8 << 20)
/* Files up to this size are read into memory, bigger ones mapped. */
#define CACHE_READ_MAX ((size_t)64 << 20)
/* From this size on the copy is placed in huge pages. */
#define CACHE_HUGE_PAGE ((size_t)2 << 20)
/* Dead space is only worth a rewrite in a file at least this big. */
#define CACHE_COMPACT_MIN (256 * 1024)
#define CACHE_LOCK_TRIES 100
#define CACHE_LOCK_SLEEP_NS 10000000L

/* What ended a scan of records. */
enum scan_end { SCAN_END, SCAN_TORN, SCAN_DAMAGED };

struct cache_entry {
	uint32_t uid;				/* 0: an empty slot */
	uint32_t off[MS_CACHE_FIELD_COUNT];	/* 0: none */
};

struct ms_cache {
	char *path;
	char *dir;
	uint32_t uidvalidity;
	int fd;			/* -1: no file (yet) */
	bool writable;
	dev_t dev;
	ino_t ino;
	unsigned char *map;	/* the file's first map_len octets; NULL
				 * when map_len is 0 */
	size_t map_len;
	size_t map_cap;		/* octets allocated or mapped */
	enum { MAP_KIND_HEAP, MAP_KIND_ANON, MAP_KIND_FILE } map_kind;
	size_t valid_end;	/* end of the records checked so far */
	enum scan_end scan_end;
	bool header_ok;		/* the file is ours (UIDVALIDITY, format) */
	struct cache_entry *slots;
	size_t mask;		/* slots - 1, a power of two minus one */
	size_t used;
	uint64_t live;		/* octets of the records the index uses */
	struct buf pending;	/* records not written yet */
	bool create_failed;	/* creating the file failed: not tried
				 * again before the next flush */
	unsigned temp_seq;
};

/* CRC-32C of data. */
uint32_t ms_cache_crc32c(const void *data, size_t len);
uint32_t ms_cache_get_le32(const unsigned char *p);
void ms_cache_put_le32(unsigned char *p, uint32_t v);
/* Calls fn for the valid records of data[pos..len) (offsets are
 * shift + the offset in data); returns the end of the last one and in
 * *end_r what stopped the scan. */
size_t ms_cache_scan(const unsigned char *data, size_t len, size_t pos,
		     size_t shift, ms_cache_record_fn *fn, void *ctx,
		     enum scan_end *end_r);

/* The index. */
struct cache_entry *ms_cache_entry_find(const struct ms_cache *c,
					uint32_t uid);
/* Empties it, with room for n entries. */
void ms_cache_index_init(struct ms_cache *c, size_t n);
/* The entry of uid, added when absent (NULL: the index is full). */
struct cache_entry *ms_cache_entry_add(struct ms_cache *c, uint32_t uid);
/* A record_fn (ctx: the cache) that puts a record into the index. */
void ms_cache_index_record(void *ctx, uint32_t uid, const char *base,
			   size_t base_len, enum ms_cache_field field,
			   const char *data, size_t len, size_t offset);
/* The record at off: in the map, or in pending, whose records have
 * offsets from map_len + 1 on while a rewrite indexes them (0 is none). */
const unsigned char *ms_cache_record_at(const struct ms_cache *c,
					uint32_t off);
size_t ms_cache_record_size(const unsigned char *r);
/* Octets of the record at off. */
size_t ms_cache_size_at(const struct ms_cache *c, uint32_t off);

/* The file. (Re)opens it: 1 loaded, 0 absent, -1 error. */
int ms_cache_load(struct ms_cache *c);
/* True when the path still names the file c has open. */
bool ms_cache_current(const struct ms_cache *c);
/* Checks what was appended since; reloads a replaced file. */
void ms_cache_catch_up(struct ms_cache *c);
/* Writes the pending records (mailstore_cache_write.c). */
void ms_cache_write(struct ms_cache *c, bool may_rewrite);

#endif
