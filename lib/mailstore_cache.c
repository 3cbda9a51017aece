/* mailstore_cache: surel-cache, a folder's cache of header blocks, body
 * structures and previews (see mailstore_cache.h for the contract).
 *
 * Layout (little-endian):
 *   header  "SURELCCH" u32 version u32 uidvalidity u32 0
 *           u32 CRC-32C of the 20 octets before it          (24 octets)
 *   records u32 CRC-32C of the rest of the record, u32 data_len,
 *           u32 uid, u8 field, u8 base_len, u16 0, base, data
 * A later record of (uid, field) supersedes an earlier one.
 *
 * Reading: the file is mapped (shared page cache between the sessions of
 * a mailbox) and its records are checked once, O(n), into a hash of UID
 * -> record offsets per field; a get is a hash probe and a compare of the
 * base. Data within the size fstat() reported is final (the kernel
 * extends the size only over copied data, and the file only grows), so a
 * record that ends within it and fails its checks is damage, while one
 * that runs past it is a tail being written (or torn by a crash).
 *
 * Writing: put() collects records in memory and one write() appends them
 * (at flush, or when 256 KiB are pending), under an OFD write lock that
 * every writer takes: under it, a tail that runs past the end is torn for
 * certain, and a rewrite (damage, UIDVALIDITY change, mostly dead, too
 * big) cannot lose another writer's records. Rewrites go to a temp file
 * renamed over the old one; other processes notice the new inode (one
 * stat) and load it. Batching, not a write() per value: a FETCH 1:* on a
 * cold mailbox computes two values per message, and 20,000 write() calls
 * would cost more than the parsing they save.
 *
 * The map is never truncated under a reader (rewrites make new files);
 * if someone else truncated it in place, a reader could get SIGBUS:
 * only surel writes this file. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "buf.h"
#include "fsutil.h"
#include "mailstore_cache.h"
#include "mem.h"
#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

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
#define CACHE_FLUSH_AT (256 * 1024)
#define CACHE_PENDING_MAX ((size_t)8 << 20)
/* Dead space is only worth a rewrite in a file at least this big. */
#define CACHE_COMPACT_MIN (256 * 1024)
#define CACHE_LOCK_TRIES 100
#define CACHE_LOCK_SLEEP_NS 10000000L

/* ---- CRC-32C (Castagnoli): the SSE 4.2 instruction when there is one,
 * a table otherwise; loading a cache checks every octet of it. */

static uint32_t crc32c_sw(uint32_t crc, const unsigned char *p, size_t len)
{
	static uint32_t table[256];

	if (table[1] == 0) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0x82f63b78u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	}
	while (len-- > 0)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc32c_hw(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t c = crc;

	for (; len >= 8; p += 8, len -= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c = _mm_crc32_u64(c, v);
	}
	for (; len > 0; p++, len--)
		c = _mm_crc32_u8((uint32_t)c, *p);
	return (uint32_t)c;
}
#endif

static uint32_t crc32c(const void *data, size_t len)
{
#if defined(__x86_64__)
	static int hw = -1;

	if (hw < 0)
		hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
	if (hw)
		return ~crc32c_hw(0xffffffffu, data, len);
#endif
	return ~crc32c_sw(0xffffffffu, data, len);
}

static uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* ---- the pure parser ---- */

enum scan_end { SCAN_END, SCAN_TORN, SCAN_DAMAGED };

static bool header_valid(const unsigned char *data, size_t len,
			 uint32_t uidvalidity)
{
	return len >= CACHE_HDR_SIZE && memcmp(data, CACHE_MAGIC, 8) == 0 &&
	       get_le32(data + 8) == CACHE_VERSION &&
	       get_le32(data + 12) == uidvalidity && get_le32(data + 16) == 0 &&
	       get_le32(data + 20) == crc32c(data, 20);
}

/* Calls fn for the valid records of data[pos..len) (offsets are
 * shift + the offset in data); returns the end of the last one and in
 * *end_r what stopped the scan. */
static size_t scan_records(const unsigned char *data, size_t len, size_t pos,
			   size_t shift, ms_cache_record_fn *fn, void *ctx,
			   enum scan_end *end_r)
{
	*end_r = SCAN_END;
	while (pos < len) {
		const unsigned char *r = data + pos;
		if (len - pos < REC_HDR_SIZE) {
			*end_r = SCAN_TORN;
			break;
		}
		uint32_t dlen = get_le32(r + 4), uid = get_le32(r + 8);
		unsigned field = r[12], blen = r[13];
		if (uid == 0 || field >= MS_CACHE_FIELD_COUNT || blen == 0 ||
		    r[14] != 0 || r[15] != 0 || dlen > MS_CACHE_VALUE_MAX) {
			*end_r = SCAN_DAMAGED;
			break;
		}
		size_t total = REC_HDR_SIZE + blen + (size_t)dlen;
		if (total > len - pos) {
			*end_r = SCAN_TORN;
			break;
		}
		if (get_le32(r) != crc32c(r + 4, total - 4)) {
			*end_r = SCAN_DAMAGED;
			break;
		}
		fn(ctx, uid, (const char *)r + REC_HDR_SIZE, blen,
		   (enum ms_cache_field)field,
		   (const char *)r + REC_HDR_SIZE + blen, dlen, shift + pos);
		pos += total;
	}
	return pos;
}

long ms_cache_parse(const unsigned char *data, size_t len,
		    uint32_t uidvalidity, ms_cache_record_fn *fn, void *ctx)
{
	enum scan_end end;

	if (len > CACHE_LOAD_MAX || !header_valid(data, len, uidvalidity))
		return -1;
	return (long)scan_records(data, len, CACHE_HDR_SIZE, 0, fn, ctx, &end);
}

/* ---- the index: UID -> record offsets ---- */

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
	unsigned char *map;	/* NULL when map_len is 0 */
	size_t map_len;
	size_t valid_end;	/* end of the records checked so far */
	enum scan_end scan_end;
	bool header_ok;		/* the file is ours (UIDVALIDITY, format) */
	struct cache_entry *slots;
	size_t mask;		/* slots - 1, a power of two minus one */
	size_t used;
	uint64_t live;		/* octets of the records the index uses */
	struct buf pending;	/* records not written yet */
	unsigned temp_seq;
};

static uint32_t uid_hash(uint32_t uid) { return uid * 2654435761u; }

static struct cache_entry *entry_find(const struct ms_cache *c, uint32_t uid)
{
	if (c->slots == NULL)
		return NULL;
	for (size_t i = uid_hash(uid) & c->mask;; i = (i + 1) & c->mask) {
		if (c->slots[i].uid == uid)
			return &c->slots[i];
		if (c->slots[i].uid == 0)
			return NULL;
	}
}

static void index_init(struct ms_cache *c, size_t n)
{
	size_t size = 64;

	while (size < n * 2)
		size *= 2;
	free(c->slots);
	c->slots = xcalloc(size, sizeof(*c->slots));
	c->mask = size - 1;
	c->used = 0;
	c->live = 0;
}

/* The entry of uid, added when absent (NULL: the index is full). */
static struct cache_entry *entry_add(struct ms_cache *c, uint32_t uid)
{
	struct cache_entry *e = entry_find(c, uid);

	if (e != NULL)
		return e;
	if (c->used >= CACHE_UIDS_MAX)
		return NULL;
	if (c->slots == NULL || (c->used + 1) * 2 > c->mask + 1) {
		struct cache_entry *old = c->slots;
		size_t old_size = old == NULL ? 0 : c->mask + 1;
		uint64_t live = c->live;
		c->slots = NULL;
		index_init(c, old_size);
		for (size_t i = 0; i < old_size; i++) {
			if (old[i].uid != 0)
				*entry_add(c, old[i].uid) = old[i];
		}
		c->live = live;
		free(old);
	}
	size_t i = uid_hash(uid) & c->mask;
	while (c->slots[i].uid != 0)
		i = (i + 1) & c->mask;
	c->slots[i].uid = uid;
	c->used++;
	return &c->slots[i];
}

/* The record at off: in the map, or in pending, whose records have
 * offsets from map_len + 1 on while a rewrite indexes them (0 is none). */
static const unsigned char *record_at(const struct ms_cache *c, uint32_t off)
{
	if (off < c->map_len)
		return c->map + off;
	return (const unsigned char *)c->pending.data + (off - c->map_len - 1);
}

static size_t record_size(const unsigned char *r)
{
	return REC_HDR_SIZE + r[13] + (size_t)get_le32(r + 4);
}

static void index_record(void *ctx, uint32_t uid, const char *base,
			 size_t base_len, enum ms_cache_field field,
			 const char *data, size_t len, size_t offset)
{
	struct ms_cache *c = ctx;
	struct cache_entry *e = entry_add(c, uid);

	(void)base;
	(void)data;
	if (e == NULL)
		return;
	if (e->off[field] != 0)
		c->live -= record_size(record_at(c, e->off[field]));
	e->off[field] = (uint32_t)offset;
	c->live += REC_HDR_SIZE + base_len + len;
}

/* ---- loading ---- */

static void cache_unload(struct ms_cache *c)
{
	if (c->map != NULL)
		munmap(c->map, c->map_len);
	if (c->fd >= 0)
		close(c->fd);
	c->map = NULL;
	c->map_len = c->valid_end = 0;
	c->fd = -1;
	c->header_ok = false;
	c->scan_end = SCAN_END;
	index_init(c, 0);
}

/* Maps the first size octets of the file and checks what is new in
 * them. -1 when it cannot (the cache then stays as it was). */
static int cache_map(struct ms_cache *c, size_t size)
{
	if (size > CACHE_LOAD_MAX)
		return -1;
	/* Populated: every page is read right below, and one call that maps
	 * them all is far cheaper than a fault per page. */
	void *map = size == 0 ? NULL :
		mmap(NULL, size, PROT_READ, MAP_SHARED | MAP_POPULATE, c->fd, 0);
	if (map == MAP_FAILED)
		return -1;
	if (c->map != NULL)
		munmap(c->map, c->map_len);
	c->map = map;
	c->map_len = size;
	if (!c->header_ok) {
		c->header_ok = header_valid(c->map, size, c->uidvalidity);
		c->valid_end = CACHE_HDR_SIZE;
		if (!c->header_ok)
			return 0;
	}
	c->valid_end = scan_records(c->map, size, c->valid_end, 0,
				    index_record, c, &c->scan_end);
	return 0;
}

/* (Re)opens the file at the path: 1 loaded, 0 absent, -1 error. */
static int cache_load(struct ms_cache *c)
{
	struct stat st;

	cache_unload(c);
	c->writable = true;
	c->fd = open(c->path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (c->fd < 0 && (errno == EACCES || errno == EROFS)) {
		c->writable = false;
		c->fd = open(c->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (c->fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(c->fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    cache_map(c, (size_t)st.st_size) < 0) {
		cache_unload(c);
		return -1;
	}
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	return 1;
}

struct ms_cache *ms_cache_open(const char *dir, uint32_t uidvalidity)
{
	struct ms_cache *c = xcalloc(1, sizeof(*c));
	struct buf p;

	buf_init(&p, 8192);
	if (buf_printf(&p, "%s/%s", dir, MS_CACHE_NAME) < 0)
		p.data[0] = '\0';	/* too long: never opens */
	c->path = xstrdup(p.data);
	buf_deinit(&p);
	c->dir = xstrdup(dir);
	c->uidvalidity = uidvalidity;
	c->fd = -1;
	buf_init(&c->pending, CACHE_PENDING_MAX);
	if (c->path[0] != '\0')
		(void)cache_load(c);
	return c;
}

/* True when the path still names the file we have open. */
static bool cache_current(const struct ms_cache *c)
{
	struct stat st;

	return c->fd >= 0 && stat(c->path, &st) == 0 && st.st_dev == c->dev &&
	       st.st_ino == c->ino;
}

/* Checks what was appended since; reloads a replaced file. */
static void cache_catch_up(struct ms_cache *c)
{
	struct stat st;

	if (!cache_current(c)) {
		(void)cache_load(c);
		return;
	}
	if (fstat(c->fd, &st) < 0 || (size_t)st.st_size < c->map_len) {
		(void)cache_load(c);
		return;
	}
	if ((size_t)st.st_size > c->map_len &&
	    cache_map(c, (size_t)st.st_size) < 0)
		(void)cache_load(c);
}

void ms_cache_refresh(struct ms_cache *c)
{
	if (c->path[0] != '\0')
		cache_catch_up(c);
}

/* ---- lookups and additions ---- */

int ms_cache_get(struct ms_cache *c, uint32_t uid, const char *base,
		 enum ms_cache_field field, const char **data_r,
		 size_t *len_r)
{
	const struct cache_entry *e = entry_find(c, uid);
	size_t blen = strlen(base);

	if (e == NULL || (unsigned)field >= MS_CACHE_FIELD_COUNT ||
	    e->off[field] == 0 || e->off[field] >= c->map_len)
		return 0;
	const unsigned char *r = c->map + e->off[field];
	if (r[13] != blen || memcmp(r + REC_HDR_SIZE, base, blen) != 0)
		return 0;
	*data_r = (const char *)r + REC_HDR_SIZE + blen;
	*len_r = get_le32(r + 4);
	return 1;
}

static void cache_write(struct ms_cache *c, bool may_rewrite);

void ms_cache_put(struct ms_cache *c, uint32_t uid, const char *base,
		  enum ms_cache_field field, const char *data, size_t len)
{
	size_t blen = strlen(base), start = c->pending.len;
	unsigned char hdr[REC_HDR_SIZE];

	if (uid == 0 || (unsigned)field >= MS_CACHE_FIELD_COUNT ||
	    blen == 0 || blen > CACHE_BASE_MAX || len > MS_CACHE_VALUE_MAX ||
	    c->path[0] == '\0' || (c->fd >= 0 && !c->writable))
		return;
	put_le32(hdr, 0);
	put_le32(hdr + 4, (uint32_t)len);
	put_le32(hdr + 8, uid);
	hdr[12] = (unsigned char)field;
	hdr[13] = (unsigned char)blen;
	hdr[14] = hdr[15] = 0;
	if (buf_append(&c->pending, hdr, sizeof(hdr)) < 0 ||
	    buf_append(&c->pending, base, blen) < 0 ||
	    buf_append(&c->pending, data, len) < 0) {
		buf_truncate(&c->pending, start);	/* full: dropped */
		return;
	}
	unsigned char *r = (unsigned char *)c->pending.data + start;
	put_le32(r, crc32c(r + 4, c->pending.len - start - 4));
	if (c->pending.len >= CACHE_FLUSH_AT)
		cache_write(c, false);
}

/* ---- writing ---- */

static int cache_lock(int fd, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET };
	struct timespec ts = { 0, CACHE_LOCK_SLEEP_NS };

	for (int i = 0; i < CACHE_LOCK_TRIES; i++) {
		if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
			return 0;
		if (errno != EAGAIN && errno != EACCES && errno != EINTR)
			return -1;
		if (type == F_UNLCK)
			return -1;
		nanosleep(&ts, NULL);
	}
	return -1;
}

static int uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The UIDs in the index, ascending, keeping the newest ones whose records
 * fit in budget octets. */
static uint32_t *live_uids(const struct ms_cache *c, size_t budget,
			   size_t *count_r)
{
	uint32_t *uids = xreallocarray(NULL, c->used + 1, sizeof(*uids));
	size_t n = 0, first, total = 0;

	for (size_t i = 0; c->slots != NULL && i <= c->mask; i++) {
		if (c->slots[i].uid != 0)
			uids[n++] = c->slots[i].uid;
	}
	qsort(uids, n, sizeof(*uids), uid_cmp);
	for (first = n; first > 0; first--) {
		const struct cache_entry *e = entry_find(c, uids[first - 1]);
		size_t size = 0;
		for (int f = 0; f < MS_CACHE_FIELD_COUNT; f++) {
			if (e->off[f] != 0)
				size += record_size(record_at(c, e->off[f]));
		}
		if (total + size > budget)
			break;
		total += size;
	}
	memmove(uids, uids + first, (n - first) * sizeof(*uids));
	*count_r = n - first;
	return uids;
}

/* Writes the file's header and the live records of the index (pending
 * ones included) to fd. */
static int write_live(struct ms_cache *c, int fd)
{
	unsigned char hdr[CACHE_HDR_SIZE];
	struct buf out;
	size_t n;
	int ret = 0;

	memcpy(hdr, CACHE_MAGIC, 8);
	put_le32(hdr + 8, CACHE_VERSION);
	put_le32(hdr + 12, c->uidvalidity);
	put_le32(hdr + 16, 0);
	put_le32(hdr + 20, crc32c(hdr, 20));
	uint32_t *uids = live_uids(c, CACHE_FILE_MAX / 2, &n);
	/* Written in chunks of about 1 MiB; a record is at most that. */
	buf_init(&out, 2 * MS_CACHE_VALUE_MAX + 4096);
	if (buf_append(&out, hdr, sizeof(hdr)) < 0)
		ret = -1;
	for (size_t i = 0; i < n && ret == 0; i++) {
		const struct cache_entry *e = entry_find(c, uids[i]);
		for (int f = 0; f < MS_CACHE_FIELD_COUNT && ret == 0; f++) {
			if (e->off[f] == 0)
				continue;
			const unsigned char *r = record_at(c, e->off[f]);
			size_t size = record_size(r);
			if (out.len + size > MS_CACHE_VALUE_MAX) {
				ret = fs_write_all(fd, out.data, out.len);
				buf_reset(&out);
			}
			if (ret == 0 && buf_append(&out, r, size) < 0)
				ret = -1;
		}
	}
	if (ret == 0 && out.len > 0)
		ret = fs_write_all(fd, out.data, out.len);
	buf_deinit(&out);
	free(uids);
	return ret;
}

/* Rewrites the file with the live records and the pending ones (a temp
 * file renamed over it, or linked when there is none: a file made by
 * someone else meanwhile wins). The caller holds the lock, if any. The
 * pending records are written when it returns true. No fsync: a cache
 * lost in a crash is computed again, and a damaged one is detected. */
static bool cache_rewrite(struct ms_cache *c, bool replace)
{
	struct buf tmp;
	enum scan_end end;
	bool ok = false;

	/* The pending records join the index, at offsets past the map (the
	 * index is empty when the file is not ours). */
	(void)scan_records((const unsigned char *)c->pending.data,
			   c->pending.len, 0, c->map_len + 1, index_record, c,
			   &end);
	buf_init(&tmp, 8192);
	if (buf_printf(&tmp, "%s/%s.%ld.%u.tmp", c->dir, MS_CACHE_NAME,
		       (long)getpid(), c->temp_seq++) == 0) {
		int fd = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			      0600);
		ok = fd >= 0 && write_live(c, fd) == 0;
		if (fd >= 0 && close(fd) < 0)
			ok = false;
		if (ok)
			ok = (replace ? rename(tmp.data, c->path) :
			      link(tmp.data, c->path)) == 0;
		if (!ok || !replace)
			(void)unlink(tmp.data);
	}
	buf_deinit(&tmp);
	if (ok)
		buf_reset(&c->pending);
	(void)cache_load(c);
	return ok;
}

static bool cache_needs_rewrite(const struct ms_cache *c)
{
	size_t dead = c->map_len > CACHE_HDR_SIZE + c->live ?
		c->map_len - CACHE_HDR_SIZE - c->live : 0;

	return !c->header_ok || c->valid_end < c->map_len ||
	       c->map_len + c->pending.len > CACHE_FILE_MAX ||
	       (c->map_len >= CACHE_COMPACT_MIN && dead > c->live);
}

/* Writes the pending records. With may_rewrite (the caller's pointers
 * from get may move), the file is first brought up to date under the
 * lock and rewritten when it needs it; without, records are appended
 * only to a file known to be in order, else they wait. */
static void cache_write(struct ms_cache *c, bool may_rewrite)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		if (c->fd < 0) {
			/* Loading moves nothing a get returned when nothing
			 * was mapped. */
			if (c->pending.len == 0 ||
			    (!may_rewrite && (c->map != NULL ||
					      cache_load(c) != 1)))
				return;
			if (may_rewrite && cache_load(c) == 0) {
				/* Creates it; if someone else just did, the
				 * next round appends to theirs. */
				if (cache_rewrite(c, false))
					return;
				continue;
			}
			if (c->fd < 0)
				break;
		}
		if (!c->writable || cache_lock(c->fd, F_WRLCK) < 0)
			break;
		if (!cache_current(c)) {
			(void)cache_lock(c->fd, F_UNLCK);
			if (!may_rewrite)
				return;
			(void)cache_load(c);
			continue;
		}
		if (may_rewrite)
			cache_catch_up(c);	/* same inode: only maps more */
		if (may_rewrite && cache_needs_rewrite(c)) {
			int fd = c->fd;
			c->fd = -1;	/* held locked until the rename */
			(void)cache_rewrite(c, true);
			close(fd);
			break;
		}
		if (c->pending.len == 0 || !c->header_ok ||
		    (!may_rewrite && c->scan_end == SCAN_DAMAGED)) {
			(void)cache_lock(c->fd, F_UNLCK);
			return;
		}
		int ret = fs_write_all(c->fd, c->pending.data, c->pending.len);
		(void)cache_lock(c->fd, F_UNLCK);
		if (ret == 0 || may_rewrite)
			buf_reset(&c->pending);
		return;
	}
	if (may_rewrite)
		buf_reset(&c->pending);	/* written, or cannot be: dropped */
}

void ms_cache_flush(struct ms_cache *c)
{
	if (c->path[0] != '\0')
		cache_write(c, true);
}

void ms_cache_retain(struct ms_cache *c, const uint32_t *uids, size_t count)
{
	struct cache_entry *old = c->slots;
	size_t old_mask = c->mask;
	const struct cache_entry *e;

	c->slots = NULL;
	index_init(c, count);
	for (size_t i = 0; i < count && old != NULL; i++) {
		struct ms_cache probe = { .slots = old, .mask = old_mask };
		e = entry_find(&probe, uids[i]);
		if (e == NULL)
			continue;
		struct cache_entry *ne = entry_add(c, uids[i]);
		if (ne == NULL)
			break;
		*ne = *e;
		for (int f = 0; f < MS_CACHE_FIELD_COUNT; f++) {
			if (e->off[f] != 0)
				c->live += record_size(record_at(c, e->off[f]));
		}
	}
	free(old);
	if (c->fd >= 0 && c->writable && cache_needs_rewrite(c))
		cache_write(c, true);
}

void ms_cache_close(struct ms_cache **cp)
{
	struct ms_cache *c = *cp;

	if (c == NULL)
		return;
	if (c->pending.len > 0)
		ms_cache_flush(c);
	cache_unload(c);
	free(c->slots);
	buf_deinit(&c->pending);
	free(c->path);
	free(c->dir);
	free(c);
	*cp = NULL;
}
