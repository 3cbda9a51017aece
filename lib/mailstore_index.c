/* mailstore_index: surel-index, surel's own file beside dovecot-uidlist.
 * It caches what is costly to learn again (sizes, mtimes), keeps MODSEQs,
 * and holds a full copy of the UID map (header and records with their
 * extension fields) so that a lost dovecot-uidlist comes back with the
 * same UIDs and POP3 UIDLs. It is only a cache: any damage makes it
 * ignored and rebuilt.
 *
 * Version 2 also keeps each message's save date (IMAP SAVEDATE) and the
 * expunge record (QRESYNC's VANISHED): UID ranges with the MODSEQ of the
 * expunge that removed them. Version 3 adds the first recent UID (IMAP
 * \Recent: messages from it on are recent for the next read-write
 * SELECT, which moves it to the next UID). Version 4 adds a random id
 * per written file (surel-stamps names the index it vouches for) and
 * where each message's file is and how its name is made (MS_WHERE_*), so
 * that an unchanged folder opens from this file alone. Version 5 gives
 * the word after the version (0 before) a meaning: header flags, of
 * which IX_FLAG_PENDING says a flag change's renames are pending (the
 * file is its write-ahead record, mailstore_flags.c) and that a list of
 * the changed messages' names of before follows the expunge record.
 * A reader of version 4 rejects the version and rebuilds the index
 * (the file names then win, as they did for it before): it can never
 * take a change in progress for a finished one.
 *
 * Layout (little-endian), see doc/mailstore.md:
 *   "SURELIDX" u32 version u32 hdr_flags (0 before version 5)
 *   u32 uidvalidity u32 nextuid
 *   u64 highest_modseq [u32 first_recent_uid: version 3]
 *   [u64 id: version 4] u32 count u16 guid_len u16 hdr_ext_len
 *   guid hdr_ext
 *   count x { u32 uid u32 keywords u64 size u64 vsize i64 mtime
 *             u64 modseq [i64 savedate: version 2] u8 flags
 *             u8 where (version 4; else 0) u16 base_len u16 ext_len
 *             base ext }
 *   version 2: u32 exp_count, exp_count x { u32 first u32 last u64 modseq }
 *   IX_FLAG_PENDING: u32 pend_count (1..count), pend_count x { u32 uid
 *             u32 keywords u8 flags u8 where u16 name_len name }
 *   u32 CRC-32 of everything before it. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "fsutil.h"
#include "mailstore_impl.h"
#include "mem.h"

#define IX_MAGIC "SURELIDX"
#define IX_VERSION 5
#define IX_HEADER_SIZE 40
#define IX_FLAG_PENDING 0x1u	/* renames pending: ms_pend list follows */

/* CRC-32 (IEEE 802.3, as zlib's), eight octets a step with eight
 * tables: an index of 10,000 messages is a megabyte, checked at every
 * read and write. */
static uint32_t crc_table[8][256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_table[t][i] = crc_table[0][crc_table[t - 1][i] & 0xff] ^
				(crc_table[t - 1][i] >> 8);
}

/* crc is the running value (~0 at the start; ~ of the result). */
static uint32_t crc_update(uint32_t crc, const unsigned char *p, size_t len)
{
	if (crc_table[0][1] == 0)
		crc_init();
	for (; len >= 8; p += 8, len -= 8) {
		uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
				     (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
			crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
			crc_table[3][p[4]] ^ crc_table[2][p[5]] ^
			crc_table[1][p[6]] ^ crc_table[0][p[7]];
	}
	for (; len > 0; p++, len--)
		crc = crc_table[0][(crc ^ *p) & 0xff] ^ (crc >> 8);
	return crc;
}

uint32_t ms_crc32(const void *data, size_t len)
{
	return crc_update(0xffffffffu, data, len) ^ 0xffffffffu;
}

/* A bounded little-endian reader. */
struct rd {
	const unsigned char *p;
	size_t left;
	bool bad;
};

static uint64_t rd_le(struct rd *r, size_t n)
{
	uint64_t v = 0;

	if (r->bad || r->left < n) {
		r->bad = true;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += n;
	r->left -= n;
	return v;
}

static const char *rd_bytes(struct rd *r, size_t n)
{
	const char *s = (const char *)r->p;

	if (r->bad || r->left < n) {
		r->bad = true;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return s;
}

/* Text the uidlist could hold: no NUL, CR or LF. */
static bool text_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0' || s[i] == '\r' || s[i] == '\n')
			return false;
	return true;
}

static int parse_header(struct rd *r, struct ms_map *map, uint32_t *count_r,
			unsigned *version_r, uint32_t *hdr_flags_r)
{
	const char *magic = rd_bytes(r, 8);

	*version_r = (unsigned)rd_le(r, 4);
	*hdr_flags_r = (uint32_t)rd_le(r, 4);
	if (magic == NULL || memcmp(magic, IX_MAGIC, 8) != 0 ||
	    *version_r < 1 || *version_r > IX_VERSION ||
	    (*hdr_flags_r & ~(*version_r >= 5 ? IX_FLAG_PENDING : 0u)) != 0)
		return -1;
	map->uidvalidity = (uint32_t)rd_le(r, 4);
	map->nextuid = (uint32_t)rd_le(r, 4);
	map->highest_modseq = rd_le(r, 8);
	/* Older versions knew no \Recent of their own: what they list was
	 * seen by someone, what comes after them is recent. */
	map->first_recent_uid = *version_r >= 3 ? (uint32_t)rd_le(r, 4) :
		map->nextuid;
	map->id = *version_r >= 4 ? rd_le(r, 8) : 0;
	*count_r = (uint32_t)rd_le(r, 4);
	size_t guid_len = rd_le(r, 2), ext_len = rd_le(r, 2);
	const char *guid = rd_bytes(r, guid_len);
	const char *ext = rd_bytes(r, ext_len);
	if (r->bad || map->uidvalidity == 0 || map->nextuid == 0 ||
	    map->first_recent_uid == 0 ||
	    map->first_recent_uid > map->nextuid || *count_r > MS_MSGS_MAX ||
	    (guid_len != 0 && guid_len != MS_GUID_LEN) ||
	    ext_len > MS_HDR_EXT_MAX || !text_ok(guid, guid_len) ||
	    !text_ok(ext, ext_len) || memchr(guid, ' ', guid_len) != NULL)
		return -1;
	memcpy(map->guid, guid, guid_len);
	map->guid[guid_len] = '\0';
	free(map->hdr_ext);
	map->hdr_ext = xstrndup(ext, ext_len);
	return 0;
}

static int parse_rec(struct rd *r, struct ms_map *map, unsigned version)
{
	uint32_t uid = (uint32_t)rd_le(r, 4);
	uint32_t kw = (uint32_t)rd_le(r, 4);
	uint64_t size = rd_le(r, 8), vsize = rd_le(r, 8);
	int64_t mtime = (int64_t)rd_le(r, 8);
	uint64_t modseq = rd_le(r, 8);
	int64_t savedate = version >= 2 ? (int64_t)rd_le(r, 8) : mtime;
	unsigned flags = (unsigned)rd_le(r, 1), where = (unsigned)rd_le(r, 1);
	size_t base_len = rd_le(r, 2), ext_len = rd_le(r, 2);
	const char *base = rd_bytes(r, base_len), *ext = rd_bytes(r, ext_len);

	if (r->bad || uid == 0 || uid >= map->nextuid ||
	    (map->count > 0 && uid <= map->recs[map->count - 1].uid) ||
	    kw >= (1u << MAILSTORE_KEYWORDS_MAX) ||
	    flags > MAILSTORE_FLAGS_ALL ||
	    where > (version >= 4 ? 7u : 0u) || base_len == 0 ||
	    base_len > MS_BASE_MAX || ext_len > MS_EXT_MAX ||
	    !text_ok(base, base_len) || !text_ok(ext, ext_len) ||
	    memchr(base, '/', base_len) != NULL ||
	    memchr(base, ':', base_len) != NULL ||
	    modseq > map->highest_modseq)
		return -1;
	struct ms_rec *rec = ms_map_add(map, uid, base, base_len, ext,
					ext_len);
	rec->keywords = kw;
	rec->flags = (uint8_t)flags;
	/* Before version 4 the names were not recorded. */
	rec->where = version >= 4 ? (uint8_t)where : MS_WHERE_ODD;
	rec->size = size;
	rec->vsize = vsize;
	rec->mtime = mtime;
	rec->modseq = modseq;
	rec->savedate = savedate;
	return 0;
}

/* The expunge record: ranges below the next UID, MODSEQs ascending and
 * not above the highest. */
static int parse_exp(struct rd *r, struct ms_map *map)
{
	uint32_t count = (uint32_t)rd_le(r, 4);

	if (r->bad || count > MS_EXP_MAX)
		return -1;
	for (uint32_t i = 0; i < count; i++) {
		uint32_t first = (uint32_t)rd_le(r, 4);
		uint32_t last = (uint32_t)rd_le(r, 4);
		uint64_t modseq = rd_le(r, 8);
		const struct ms_exp *prev = map->exp_count > 0 ?
			&map->exp[map->exp_count - 1] : NULL;
		/* A range that continues the one before at its MODSEQ is
		 * one range: never written so (ms_exp_add joins them). */
		if (r->bad || first == 0 || first > last ||
		    last >= map->nextuid || modseq == 0 ||
		    modseq > map->highest_modseq ||
		    (prev != NULL && (modseq < prev->modseq ||
				      (modseq == prev->modseq &&
				       prev->last + 1 == first))))
			return -1;
		ms_exp_add(map, first, last, modseq);
	}
	return 0;
}

/* The pending renames: UIDs ascending and below the next UID, a name
 * exactly when it cannot be made from where. */
static int parse_pend(struct rd *r, struct ms_map *map)
{
	uint32_t count = (uint32_t)rd_le(r, 4);

	if (r->bad || count == 0 || count > map->count)
		return -1;
	map->pend = xcalloc(count, sizeof(*map->pend));
	for (uint32_t i = 0; i < count; i++) {
		struct ms_pend *p = &map->pend[i];
		p->uid = (uint32_t)rd_le(r, 4);
		p->keywords = (uint32_t)rd_le(r, 4);
		p->flags = (uint8_t)rd_le(r, 1);
		p->where = (uint8_t)rd_le(r, 1);
		size_t len = rd_le(r, 2);
		const char *name = rd_bytes(r, len);
		map->pend_count = i + 1;
		if (r->bad || p->uid == 0 || p->uid >= map->nextuid ||
		    (i > 0 && p->uid <= map->pend[i - 1].uid) ||
		    p->keywords >= (1u << MAILSTORE_KEYWORDS_MAX) ||
		    p->flags > MAILSTORE_FLAGS_ALL || p->where > 7 ||
		    ((p->where & MS_WHERE_ODD) != 0) != (len > 0) ||
		    len > MS_BASE_MAX || !text_ok(name, len) ||
		    memchr(name, '/', len) != NULL)
			return -1;
		if (len > 0)
			p->name = xstrndup(name, len);
	}
	return 0;
}

/* A version 1 index knows no expunges: any UID below its next UID may
 * have gone at any time, so all of them count as expunged at a MODSEQ
 * above everything it gave out. */
static int upgrade_v1(struct ms_map *map)
{
	if (map->highest_modseq == UINT64_MAX)
		return -1;
	map->highest_modseq++;
	if (map->nextuid > 1)
		ms_exp_add(map, 1, map->nextuid - 1, map->highest_modseq);
	return 0;
}

int ms_index_parse(const unsigned char *data, size_t len, struct ms_map *map,
		   const char **error_r)
{
	struct rd r = { .p = data, .left = len };
	struct ms_arena *arena = map->arena;
	uint32_t count;

	ms_map_clear(map);
	map->arena = arena;
	if (len < IX_HEADER_SIZE + 4 || len > MS_FILE_MAX) {
		*error_r = ms_error("surel-index: bad size %zu", len);
		return -1;
	}
	uint32_t crc = (uint32_t)data[len - 4] | (uint32_t)data[len - 3] << 8 |
		(uint32_t)data[len - 2] << 16 | (uint32_t)data[len - 1] << 24;
	if (ms_crc32(data, len - 4) != crc) {
		*error_r = ms_error("surel-index: checksum mismatch");
		return -1;
	}
	r.left -= 4;
	unsigned version;
	uint32_t hdr_flags;
	if (parse_header(&r, map, &count, &version, &hdr_flags) < 0) {
		ms_map_clear(map);
		*error_r = ms_error("surel-index: bad header");
		return -1;
	}
	/* Each record takes 46 octets at least: a count the file cannot
	 * hold is caught before anything is reserved for it. */
	if ((uint64_t)count * 46 <= r.left)
		ms_map_reserve(map, count);
	for (uint32_t i = 0; i < count; i++) {
		if (parse_rec(&r, map, version) < 0) {
			ms_map_clear(map);
			*error_r = ms_error("surel-index: bad record %u", i);
			return -1;
		}
	}
	if (version >= 2 ? parse_exp(&r, map) < 0 : upgrade_v1(map) < 0) {
		ms_map_clear(map);
		*error_r = ms_error("surel-index: bad expunge record");
		return -1;
	}
	if ((hdr_flags & IX_FLAG_PENDING) != 0 && parse_pend(&r, map) < 0) {
		ms_map_clear(map);
		*error_r = ms_error("surel-index: bad pending renames");
		return -1;
	}
	if (r.left != 0) {
		ms_map_clear(map);
		*error_r = ms_error("surel-index: trailing bytes");
		return -1;
	}
	map->crc = crc;
	return 0;
}

/* Where a formatted index goes, in blocks with the CRC kept as they
 * pass: a buffer (ms_index_format), or the file itself (ms_index_write:
 * no copy of the whole index in memory, no growing buffer). */
#define IX_BLOCK (64 * 1024)
struct ix_sink {
	unsigned char *block;	/* IX_BLOCK octets */
	size_t len;
	uint32_t crc;
	struct buf *out;	/* or ... */
	int fd;			/* ... this file (neither: the CRC only) */
	bool failed;		/* errno tells why, for a file */
};

static void sink_flush(struct ix_sink *k, bool crc)
{
	if (k->len == 0 || k->failed)
		return;
	if (crc)
		k->crc = crc_update(k->crc, k->block, k->len);
	if (k->out != NULL ? buf_append(k->out, k->block, k->len) < 0 :
	    k->fd >= 0 && fs_write_all(k->fd, k->block, k->len) < 0)
		k->failed = true;
	k->len = 0;
}

static void sink_put(struct ix_sink *k, const void *data, size_t n)
{
	const unsigned char *p = data;

	while (n > 0 && !k->failed) {
		size_t room = IX_BLOCK - k->len, m = n < room ? n : room;
		memcpy(k->block + k->len, p, m);
		k->len += m;
		p += m;
		n -= m;
		if (k->len == IX_BLOCK)
			sink_flush(k, true);
	}
}

/* n octets of v, little-endian, at p; returns p + n. */
static unsigned char *le(unsigned char *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
	return p + n;
}

static int format_rec(struct ix_sink *k, const struct ms_rec *r)
{
	unsigned char fixed[54], *p = fixed;
	size_t base_len = strlen(r->base), ext_len = strlen(r->ext);

	if (base_len > 0xffff || ext_len > 0xffff)
		return -1;
	p = le(p, r->uid, 4);
	p = le(p, r->keywords, 4);
	p = le(p, r->size, 8);
	p = le(p, r->vsize, 8);
	p = le(p, (uint64_t)r->mtime, 8);
	p = le(p, r->modseq, 8);
	p = le(p, (uint64_t)r->savedate, 8);
	p = le(p, r->flags, 1);
	p = le(p, r->where, 1);
	p = le(p, base_len, 2);
	le(p, ext_len, 2);
	sink_put(k, fixed, sizeof(fixed));
	sink_put(k, r->base, base_len);
	sink_put(k, r->ext, ext_len);
	return 0;
}

static int format_header(struct ix_sink *k, const struct ms_map *map,
			 uint64_t id)
{
	/* Version 5: the version 2 header with its flags, the first
	 * recent UID and the id. */
	unsigned char fixed[IX_HEADER_SIZE + 12], *p = fixed;
	size_t guid_len = strlen(map->guid), ext_len = strlen(map->hdr_ext);

	if (map->count > MS_MSGS_MAX || ext_len > 0xffff)
		return -1;
	memcpy(p, IX_MAGIC, 8);
	p = le(p + 8, IX_VERSION, 4);
	p = le(p, map->pend_count > 0 ? IX_FLAG_PENDING : 0, 4);
	p = le(p, map->uidvalidity, 4);
	p = le(p, ms_map_next_uid(map), 4);
	p = le(p, map->highest_modseq, 8);
	p = le(p, ms_index_first_recent(map), 4);
	p = le(p, id, 8);
	p = le(p, map->count, 4);
	p = le(p, guid_len, 2);
	le(p, ext_len, 2);
	sink_put(k, fixed, sizeof(fixed));
	sink_put(k, map->guid, guid_len);
	sink_put(k, map->hdr_ext, ext_len);
	return 0;
}

static int format_pend(struct ix_sink *k, const struct ms_map *map)
{
	unsigned char v[16];

	if (map->pend_count > map->count)
		return -1;
	sink_put(k, v, (size_t)(le(v, map->pend_count, 4) - v));
	for (size_t i = 0; i < map->pend_count; i++) {
		const struct ms_pend *p = &map->pend[i];
		size_t len = p->name != NULL ? strlen(p->name) : 0;
		unsigned char *q = le(v, p->uid, 4);
		q = le(q, p->keywords, 4);
		q = le(q, p->flags, 1);
		q = le(q, p->where, 1);
		q = le(q, len, 2);
		sink_put(k, v, (size_t)(q - v));
		sink_put(k, p->name != NULL ? p->name : "", len);
	}
	return 0;
}

uint32_t ms_index_first_recent(const struct ms_map *map)
{
	uint32_t next = ms_map_next_uid(map);

	if (map->first_recent_uid == 0)
		return 1;
	return map->first_recent_uid < next ? map->first_recent_uid : next;
}

/* The whole index into k with the id id, CRC last (*crc_r). -1 when it
 * cannot be written (too large, or k failed). */
static int format_all(struct ix_sink *k, const struct ms_map *map,
		      uint64_t id, uint32_t *crc_r)
{
	unsigned char v[16];

	k->crc = 0xffffffffu;
	if (format_header(k, map, id) < 0 || map->exp_count > MS_EXP_MAX)
		return -1;
	for (size_t i = 0; i < map->count; i++)
		if (format_rec(k, &map->recs[i]) < 0)
			return -1;
	sink_put(k, v, (size_t)(le(v, map->exp_count, 4) - v));
	for (size_t i = 0; i < map->exp_count; i++) {
		const struct ms_exp *e = &map->exp[i];
		unsigned char *p = le(v, e->first, 4);
		p = le(p, e->last, 4);
		p = le(p, e->modseq, 8);
		sink_put(k, v, (size_t)(p - v));
	}
	if (map->pend_count > 0 && format_pend(k, map) < 0)
		return -1;
	sink_flush(k, true);
	*crc_r = k->crc ^ 0xffffffffu;
	sink_put(k, v, (size_t)(le(v, *crc_r, 4) - v));
	sink_flush(k, false);
	return k->failed ? -1 : 0;
}

int ms_index_format(const struct ms_map *map, struct buf *out)
{
	struct ix_sink k = { .out = out, .fd = -1 };
	uint32_t crc;

	k.block = xmalloc(IX_BLOCK);
	int ret = format_all(&k, map, map->id, &crc);
	free(k.block);
	return ret;
}

uint32_t ms_index_crc(const struct ms_map *map, uint64_t id)
{
	struct ix_sink k = { .fd = -1 };
	uint32_t crc = 0;

	k.block = xmalloc(IX_BLOCK);
	if (format_all(&k, map, id, &crc) < 0)
		crc = 0;
	free(k.block);
	return crc;
}

/* A new random id, never 0: an index is never taken for another. */
static uint64_t new_id(void)
{
	static uint64_t counter;
	struct timespec ts;
	uint64_t id = 0;

	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != (ssize_t)sizeof(id)) {
		clock_gettime(CLOCK_REALTIME, &ts);
		id = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^
			((uint64_t)getpid() << 16) ^ ++counter;
	}
	return id != 0 ? id : 1;
}

/* Mapped, not read: a folder's open is mostly this file (a megabyte for
 * 10,000 messages), and a copy of it costs more than parsing it. The
 * file is only ever replaced by rename(), never changed in place, so
 * the mapping stays what it was. */
/* The arena for an index of len octets and the list made from it: the
 * records and the messages (their count is at octet 44 of versions 4
 * and 5; an older index cannot open a folder alone: no arena), the strings
 * (within the file's size), the names (base, info, letters). */
static size_t arena_size(const unsigned char *data, size_t len)
{
	const size_t per = sizeof(struct ms_rec) +
		sizeof(struct mailstore_msg) + MAILSTORE_KEYWORDS_MAX + 40;
	uint64_t count = 0;

	if (len < 48 || memcmp(data, IX_MAGIC, 8) != 0 ||
	    (data[8] != 4 && data[8] != 5))
		return 0;
	for (size_t i = 0; i < 4; i++)
		count |= (uint64_t)data[44 + i] << (8 * i);
	if (count > MS_MSGS_MAX || count * 46 > len)
		return 0;
	return (size_t)(count * per) + 2 * len + 4096;
}

int ms_index_read(const char *path, struct ms_map *map, struct ms_stamp *st)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct ms_arena *arena = map->arena;
	struct stat s;
	const char *error;
	int ret = -1;

	ms_map_clear(map);
	map->arena = arena;
	memset(st, 0, sizeof(*st));
	if (fd < 0)
		return 0;
	if (fstat(fd, &s) < 0) {
		close(fd);
		return 0;
	}
	if (S_ISREG(s.st_mode) && s.st_size > 0 &&
	    (uint64_t)s.st_size <= MS_FILE_MAX) {
		void *data = mmap(NULL, (size_t)s.st_size, PROT_READ,
				  MAP_PRIVATE | MAP_POPULATE, fd, 0);
		if (data != MAP_FAILED) {
			if (arena != NULL && arena->base == NULL)
				(void)ms_arena_init(arena, arena_size(
					data, (size_t)s.st_size));
			ret = ms_index_parse(data, (size_t)s.st_size, map,
					     &error);
			munmap(data, (size_t)s.st_size);
		}
	}
	close(fd);
	st->exists = true;
	st->dev = s.st_dev;
	st->ino = s.st_ino;
	st->size = s.st_size;
	st->mtime = s.st_mtim;
	return ret < 0 ? 0 : 1;
}

void ms_index_read_box(struct mailstore *box)
{
	box->ix.arena = &box->arena;
	(void)ms_index_read(box->index_path, &box->ix, &box->ix_stamp);
}

int ms_index_write(const struct mailstore *box, struct ms_map *map,
		   struct ms_stamp *st_r, const char **error_r)
{
	char tmp[4096];
	struct ix_sink k = { .fd = -1 };
	struct stat st;
	uint64_t id = new_id();
	uint32_t crc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", box->index_path) >=
	    (int)sizeof(tmp)) {
		*error_r = ms_error("%s: path too long", box->index_path);
		return -1;
	}
	/* Only the holder of the uidlist lock writes this temporary file. */
	k.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		    ms_file_mode(box));
	if (k.fd < 0) {
		*error_r = ms_error("open %s: %s", tmp, strerror(errno));
		return -1;
	}
	k.block = xmalloc(IX_BLOCK);
	errno = EFBIG;	/* what a failure without a system call means */
	int ret = format_all(&k, map, id, &crc);
	free(k.block);
	if (ret < 0 || fdatasync(k.fd) < 0 || fstat(k.fd, &st) < 0 ||
	    rename(tmp, box->index_path) < 0) {
		*error_r = ms_error("write %s: %s", tmp, strerror(errno));
		close(k.fd);
		unlink(tmp);
		return -1;
	}
	close(k.fd);
	map->id = id;
	map->crc = crc;
	st_r->exists = true;
	st_r->dev = st.st_dev;
	st_r->ino = st.st_ino;
	st_r->size = st.st_size;
	st_r->mtime = st.st_mtim;
	return 0;
}
