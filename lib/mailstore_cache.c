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
 * Reading: the file is read into memory (mapped when over 64 MiB, see
 * cache_fetch) and its records are checked once, O(n), into a hash of
 * UID -> record offsets per field; a get is a hash probe and a compare of
 * the base. Data within the size fstat() reported is final (the kernel
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
#include "mailstore_cache_impl.h"
#include "mem.h"
#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

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

#if defined(__x86_64__)
/* Three CRCs at once: the instruction waits three cycles for its own
 * previous result, and a cache being loaded is read from memory page
 * after page, so three independent chains go nearly three times as fast
 * as one. */
__attribute__((target("sse4.2")))
static void crc32c_hw3(const unsigned char *const p[3], const size_t len[3],
		       uint32_t out[3])
{
	uint64_t c0 = 0xffffffffu, c1 = c0, c2 = c0;
	size_t m = len[0] < len[1] ? len[0] : len[1];

	m = (m < len[2] ? m : len[2]) & ~(size_t)7;
	for (size_t i = 0; i < m; i += 8) {
		uint64_t v0, v1, v2;
		memcpy(&v0, p[0] + i, 8);
		memcpy(&v1, p[1] + i, 8);
		memcpy(&v2, p[2] + i, 8);
		c0 = _mm_crc32_u64(c0, v0);
		c1 = _mm_crc32_u64(c1, v1);
		c2 = _mm_crc32_u64(c2, v2);
	}
	out[0] = ~crc32c_hw((uint32_t)c0, p[0] + m, len[0] - m);
	out[1] = ~crc32c_hw((uint32_t)c1, p[1] + m, len[1] - m);
	out[2] = ~crc32c_hw((uint32_t)c2, p[2] + m, len[2] - m);
}
#endif

static bool crc_hw(void)
{
#if defined(__x86_64__)
	static int hw = -1;

	if (hw < 0)
		hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
	return hw == 1;
#else
	return false;
#endif
}

/* The CRC-32C of n (at most 3) buffers. */
static void crc32c_n(const unsigned char *const p[3], const size_t len[3],
		     size_t n, uint32_t out[3])
{
#if defined(__x86_64__)
	if (n == 3 && crc_hw()) {
		crc32c_hw3(p, len, out);
		return;
	}
#endif
	for (size_t i = 0; i < n; i++)
		out[i] = ms_cache_crc32c(p[i], len[i]);
}

uint32_t ms_cache_crc32c(const void *data, size_t len)
{
#if defined(__x86_64__)
	if (crc_hw())
		return ~crc32c_hw(0xffffffffu, data, len);
#endif
	return ~crc32c_sw(0xffffffffu, data, len);
}

uint32_t ms_cache_get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

void ms_cache_put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* ---- the pure parser ---- */

static bool header_valid(const unsigned char *data, size_t len,
			 uint32_t uidvalidity)
{
	return len >= CACHE_HDR_SIZE && memcmp(data, CACHE_MAGIC, 8) == 0 &&
	       ms_cache_get_le32(data + 8) == CACHE_VERSION &&
	       ms_cache_get_le32(data + 12) == uidvalidity &&
	       ms_cache_get_le32(data + 16) == 0 &&
	       ms_cache_get_le32(data + 20) == ms_cache_crc32c(data, 20);
}

/* The size of the record at pos when its header is sound and it lies
 * within len; else 0 with *end_r saying why. */
static size_t record_shape(const unsigned char *data, size_t len, size_t pos,
			   enum scan_end *end_r)
{
	const unsigned char *r = data + pos;

	if (len - pos < REC_HDR_SIZE) {
		*end_r = SCAN_TORN;
		return 0;
	}
	uint32_t dlen = ms_cache_get_le32(r + 4);
	unsigned field = r[12], blen = r[13];
	if (ms_cache_get_le32(r + 8) == 0 || field >= MS_CACHE_FIELD_COUNT ||
	    blen == 0 || r[14] != 0 || r[15] != 0 ||
	    dlen > MS_CACHE_VALUE_MAX) {
		*end_r = SCAN_DAMAGED;
		return 0;
	}
	size_t total = REC_HDR_SIZE + blen + (size_t)dlen;
	if (total > len - pos) {
		*end_r = SCAN_TORN;
		return 0;
	}
	return total;
}

/* Records are taken three at a time: their shapes first, then their
 * CRCs together (crc32c_n), then, in file order, each whose CRC holds. */
size_t ms_cache_scan(const unsigned char *data, size_t len, size_t pos,
		     size_t shift, ms_cache_record_fn *fn, void *ctx,
		     enum scan_end *end_r)
{
	*end_r = SCAN_END;
	while (pos < len && *end_r == SCAN_END) {
		const unsigned char *crc_p[3];
		size_t at[3], crc_len[3], n = 0, next = pos;
		uint32_t crc[3];

		for (; n < 3 && next < len; n++) {
			size_t total = record_shape(data, len, next, end_r);
			if (total == 0)
				break;
			at[n] = next;
			crc_p[n] = data + next + 4;
			crc_len[n] = total - 4;
			next += total;
		}
		crc32c_n(crc_p, crc_len, n, crc);
		for (size_t i = 0; i < n; i++) {
			const unsigned char *r = data + at[i];
			if (ms_cache_get_le32(r) != crc[i]) {
				*end_r = SCAN_DAMAGED;
				return at[i];
			}
			fn(ctx, ms_cache_get_le32(r + 8),
			   (const char *)r + REC_HDR_SIZE, r[13],
			   (enum ms_cache_field)r[12],
			   (const char *)r + REC_HDR_SIZE + r[13],
			   ms_cache_get_le32(r + 4), shift + at[i]);
		}
		pos = next;
	}
	return pos;
}

long ms_cache_parse(const unsigned char *data, size_t len,
		    uint32_t uidvalidity, ms_cache_record_fn *fn, void *ctx)
{
	enum scan_end end;

	if (len > CACHE_LOAD_MAX || !header_valid(data, len, uidvalidity))
		return -1;
	return (long)ms_cache_scan(data, len, CACHE_HDR_SIZE, 0, fn, ctx, &end);
}

/* ---- the index: UID -> record offsets ---- */

/* UIDs are dense and ascending, and a message's records sit together in
 * the file: a hash that keeps neighbouring UIDs in neighbouring slots
 * makes loading and FETCH 1:* walk the table nearly in order, where a
 * multiplicative one sent every look-up to a random cache line (the
 * biggest cost of loading a cache of 10,000 messages). The high half is
 * folded in so that UIDs far apart still spread. */
static uint32_t uid_hash(uint32_t uid) { return uid ^ (uid >> 16); }

struct cache_entry *ms_cache_entry_find(const struct ms_cache *c,
					uint32_t uid)
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

void ms_cache_index_init(struct ms_cache *c, size_t n)
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

struct cache_entry *ms_cache_entry_add(struct ms_cache *c, uint32_t uid)
{
	struct cache_entry *e = ms_cache_entry_find(c, uid);

	if (e != NULL)
		return e;
	if (c->used >= CACHE_UIDS_MAX)
		return NULL;
	if (c->slots == NULL || (c->used + 1) * 2 > c->mask + 1) {
		struct cache_entry *old = c->slots;
		size_t old_size = old == NULL ? 0 : c->mask + 1;
		uint64_t live = c->live;
		c->slots = NULL;
		ms_cache_index_init(c, old_size);
		for (size_t i = 0; i < old_size; i++) {
			if (old[i].uid != 0)
				*ms_cache_entry_add(c, old[i].uid) = old[i];
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

const unsigned char *ms_cache_record_at(const struct ms_cache *c,
					uint32_t off)
{
	if (off < c->map_len)
		return c->map + off;
	return (const unsigned char *)c->pending.data + (off - c->map_len - 1);
}

size_t ms_cache_record_size(const unsigned char *r)
{
	return REC_HDR_SIZE + r[13] + (size_t)ms_cache_get_le32(r + 4);
}

size_t ms_cache_size_at(const struct ms_cache *c, uint32_t off)
{
	return ms_cache_record_size(ms_cache_record_at(c, off));
}

void ms_cache_index_record(void *ctx, uint32_t uid, const char *base,
			   size_t base_len, enum ms_cache_field field,
			   const char *data, size_t len, size_t offset)
{
	struct ms_cache *c = ctx;
	struct cache_entry *e = ms_cache_entry_add(c, uid);

	(void)base;
	(void)data;
	if (e == NULL)
		return;
	if (e->off[field] != 0)
		c->live -= ms_cache_size_at(c, e->off[field]);
	e->off[field] = (uint32_t)offset;
	c->live += REC_HDR_SIZE + base_len + len;
}

/* ---- loading ---- */

static void map_release(struct ms_cache *c)
{
	if (c->map_kind == MAP_KIND_FILE || c->map_kind == MAP_KIND_ANON)
		munmap(c->map, c->map_cap);
	else
		free(c->map);
	c->map = NULL;
	c->map_cap = 0;
	c->map_kind = MAP_KIND_HEAP;
}

static void cache_unload(struct ms_cache *c)
{
	map_release(c);
	if (c->fd >= 0)
		close(c->fd);
	c->map_len = c->valid_end = 0;
	c->fd = -1;
	c->header_ok = false;
	c->scan_end = SCAN_END;
	ms_cache_index_init(c, 0);
}

/* The first size octets of the file in memory (into *m, its kind and
 * size set), the first c->map_len of them copied from the current map
 * when that is a copy too. A file up to CACHE_READ_MAX is read rather
 * than mapped: a FETCH 1:* touches every page of it, and through a
 * mapping of the page cache each 4 KiB page costs a TLB miss, which in a
 * virtual machine (two page tables to walk) costs far more than the
 * copy; the copy sits in huge pages from 2 MiB on. -1 on failure. */
static int cache_fetch(struct ms_cache *c, size_t size, struct ms_cache *m)
{
	size_t keep = c->map_kind != MAP_KIND_FILE ? c->map_len : 0;

	m->map_len = size;
	if (size > CACHE_READ_MAX) {
		void *p = mmap(NULL, size, PROT_READ, MAP_SHARED | MAP_POPULATE,
			       c->fd, 0);
		m->map = p == MAP_FAILED ? NULL : p;
		m->map_cap = size;
		m->map_kind = MAP_KIND_FILE;
		return m->map != NULL ? 0 : -1;
	}
	if (size < CACHE_HUGE_PAGE) {
		m->map = xmalloc(size + 1);
		m->map_cap = size + 1;
		m->map_kind = MAP_KIND_HEAP;
	} else {
		/* A quarter more than needed: a growing file (a cold
		 * FETCH 1:* appends batch after batch) is then read on in
		 * place (cache_grow) rather than copied whole again. Pages
		 * not touched cost nothing. */
		size_t cap = (size + size / 4 + CACHE_HUGE_PAGE - 1) &
			~(CACHE_HUGE_PAGE - 1);
		void *p = mmap(NULL, cap, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -1;
		(void)madvise(p, cap, MADV_HUGEPAGE);
		m->map = p;
		m->map_cap = cap;
		m->map_kind = MAP_KIND_ANON;
	}
	if (keep > 0)
		memcpy(m->map, c->map, keep);
	if (fs_pread_all(c->fd, m->map + keep, size - keep, (off_t)keep) !=
	    (ssize_t)(size - keep)) {
		map_release(m);
		return -1;
	}
	return 0;
}

/* Reads what the file gained into the copy's spare room: 1 done, 0 no
 * room (or not a copy), -1 failed. The memory is already faulted in
 * (fresh memory costs the kernel's zeroing first, slow in a virtual
 * machine), and nothing already handed out moves. */
static int cache_grow(struct ms_cache *c, size_t size)
{
	size_t have = c->map_len;

	if (c->map_kind != MAP_KIND_ANON || c->map == NULL ||
	    size > c->map_cap || size < have)
		return 0;
	if (fs_pread_all(c->fd, c->map + have, size - have, (off_t)have) !=
	    (ssize_t)(size - have))
		return -1;
	return 1;
}

/* Loads the first size octets of the file and checks what is new in
 * them. -1 when it cannot (the cache then stays as it was). */
static int cache_map(struct ms_cache *c, size_t size)
{
	struct ms_cache m = { .map_kind = MAP_KIND_HEAP };
	int grown;

	if (size > CACHE_LOAD_MAX || (grown = cache_grow(c, size)) < 0)
		return -1;
	if (grown == 0) {
		if (size > 0 && cache_fetch(c, size, &m) < 0)
			return -1;
		map_release(c);
		c->map = m.map;
		c->map_cap = m.map_cap;
		c->map_kind = m.map_kind;
	}
	c->map_len = size;
	if (!c->header_ok) {
		c->header_ok = header_valid(c->map, size, c->uidvalidity);
		c->valid_end = CACHE_HDR_SIZE;
		if (!c->header_ok)
			return 0;
	}
	c->valid_end = ms_cache_scan(c->map, size, c->valid_end, 0,
				     ms_cache_index_record, c, &c->scan_end);
	return 0;
}

int ms_cache_load(struct ms_cache *c)
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
	if (fstat(c->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		cache_unload(c);
		return -1;
	}
	/* Sized for the messages the file likely holds (a rough 1 KiB of
	 * records each), rather than grown by doubling through them. */
	if ((size_t)st.st_size <= CACHE_LOAD_MAX)
		ms_cache_index_init(c, (size_t)st.st_size /
				       CACHE_BYTES_PER_UID);
	if (cache_map(c, (size_t)st.st_size) < 0) {
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
		(void)ms_cache_load(c);
	return c;
}

bool ms_cache_matches(const struct ms_cache *c, const char *dir,
		      uint32_t uidvalidity)
{
	return c->uidvalidity == uidvalidity && strcmp(c->dir, dir) == 0;
}

bool ms_cache_below(const struct ms_cache *c, const char *root)
{
	size_t n = strlen(root);

	while (n > 1 && root[n - 1] == '/')
		n--;
	return strncmp(c->dir, root, n) == 0 &&
	       (c->dir[n] == '\0' || c->dir[n] == '/');
}

bool ms_cache_current(const struct ms_cache *c)
{
	struct stat st;

	return c->fd >= 0 && stat(c->path, &st) == 0 && st.st_dev == c->dev &&
	       st.st_ino == c->ino;
}

void ms_cache_catch_up(struct ms_cache *c)
{
	struct stat st;

	if (!ms_cache_current(c)) {
		(void)ms_cache_load(c);
		return;
	}
	if (fstat(c->fd, &st) < 0 || (size_t)st.st_size < c->map_len) {
		(void)ms_cache_load(c);
		return;
	}
	if ((size_t)st.st_size > c->map_len &&
	    cache_map(c, (size_t)st.st_size) < 0)
		(void)ms_cache_load(c);
}

void ms_cache_refresh(struct ms_cache *c)
{
	if (c->path[0] != '\0')
		ms_cache_catch_up(c);
}

/* ---- lookups and additions ---- */

int ms_cache_get(struct ms_cache *c, uint32_t uid, const char *base,
		 enum ms_cache_field field, const char **data_r,
		 size_t *len_r)
{
	const struct cache_entry *e = ms_cache_entry_find(c, uid);
	size_t blen = strlen(base);

	if (e == NULL || (unsigned)field >= MS_CACHE_FIELD_COUNT ||
	    e->off[field] == 0 || e->off[field] >= c->map_len)
		return 0;
	const unsigned char *r = c->map + e->off[field];
	if (r[13] != blen || memcmp(r + REC_HDR_SIZE, base, blen) != 0)
		return 0;
	*data_r = (const char *)r + REC_HDR_SIZE + blen;
	*len_r = ms_cache_get_le32(r + 4);
	return 1;
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
