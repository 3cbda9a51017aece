/* mailstore_index: surel-index, surel's own file beside dovecot-uidlist.
 * It caches what is costly to learn again (sizes, mtimes), keeps MODSEQs,
 * and holds a full copy of the UID map (header and records with their
 * extension fields) so that a lost dovecot-uidlist comes back with the
 * same UIDs and POP3 UIDLs. It is only a cache: any damage makes it
 * ignored and rebuilt.
 *
 * Version 2 also keeps each message's save date (IMAP SAVEDATE) and the
 * expunge record (QRESYNC's VANISHED): UID ranges with the MODSEQ of the
 * expunge that removed them.
 *
 * Layout (little-endian), see doc/mailstore.md:
 *   "SURELIDX" u32 version u32 0 u32 uidvalidity u32 nextuid
 *   u64 highest_modseq u32 count u16 guid_len u16 hdr_ext_len
 *   guid hdr_ext
 *   count x { u32 uid u32 keywords u64 size u64 vsize i64 mtime
 *             u64 modseq [i64 savedate: version 2] u8 flags u8 0
 *             u16 base_len u16 ext_len base ext }
 *   version 2: u32 exp_count, exp_count x { u32 first u32 last u64 modseq }
 *   u32 CRC-32 of everything before it. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fsutil.h"
#include "mailstore_impl.h"
#include "mem.h"

#define IX_MAGIC "SURELIDX"
#define IX_VERSION 2
#define IX_HEADER_SIZE 40

uint32_t ms_crc32(const void *data, size_t len)
{
	static uint32_t table[256];
	const unsigned char *p = data;
	uint32_t crc = 0xffffffffu;

	if (table[1] == 0) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	}
	for (size_t i = 0; i < len; i++)
		crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return crc ^ 0xffffffffu;
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
			unsigned *version_r)
{
	const char *magic = rd_bytes(r, 8);

	*version_r = (unsigned)rd_le(r, 4);
	if (magic == NULL || memcmp(magic, IX_MAGIC, 8) != 0 ||
	    (*version_r != 1 && *version_r != IX_VERSION) || rd_le(r, 4) != 0)
		return -1;
	map->uidvalidity = (uint32_t)rd_le(r, 4);
	map->nextuid = (uint32_t)rd_le(r, 4);
	map->highest_modseq = rd_le(r, 8);
	*count_r = (uint32_t)rd_le(r, 4);
	size_t guid_len = rd_le(r, 2), ext_len = rd_le(r, 2);
	const char *guid = rd_bytes(r, guid_len);
	const char *ext = rd_bytes(r, ext_len);
	if (r->bad || map->uidvalidity == 0 || map->nextuid == 0 ||
	    *count_r > MS_MSGS_MAX || (guid_len != 0 &&
				      guid_len != MS_GUID_LEN) ||
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
	unsigned flags = (unsigned)rd_le(r, 1), pad = (unsigned)rd_le(r, 1);
	size_t base_len = rd_le(r, 2), ext_len = rd_le(r, 2);
	const char *base = rd_bytes(r, base_len), *ext = rd_bytes(r, ext_len);

	if (r->bad || uid == 0 || uid >= map->nextuid ||
	    (map->count > 0 && uid <= map->recs[map->count - 1].uid) ||
	    kw >= (1u << MAILSTORE_KEYWORDS_MAX) ||
	    flags > MAILSTORE_FLAGS_ALL || pad != 0 || base_len == 0 ||
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
		if (r->bad || first == 0 || first > last ||
		    last >= map->nextuid || modseq == 0 ||
		    modseq > map->highest_modseq ||
		    (map->exp_count > 0 &&
		     modseq < map->exp[map->exp_count - 1].modseq))
			return -1;
		ms_exp_add(map, first, last, modseq);
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
	uint32_t count;

	ms_map_clear(map);
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
	if (parse_header(&r, map, &count, &version) < 0) {
		ms_map_clear(map);
		*error_r = ms_error("surel-index: bad header");
		return -1;
	}
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
	if (r.left != 0) {
		ms_map_clear(map);
		*error_r = ms_error("surel-index: trailing bytes");
		return -1;
	}
	return 0;
}

static int put_le(struct buf *out, uint64_t v, size_t n)
{
	unsigned char b[8];

	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	return buf_append(out, b, n);
}

static int put_str(struct buf *out, const char *s, size_t n)
{
	return n == 0 ? 0 : buf_append(out, s, n);
}

static int format_rec(const struct ms_rec *r, struct buf *out)
{
	size_t base_len = strlen(r->base), ext_len = strlen(r->ext);

	if (base_len > 0xffff || ext_len > 0xffff)
		return -1;
	return put_le(out, r->uid, 4) < 0 || put_le(out, r->keywords, 4) < 0 ||
		put_le(out, r->size, 8) < 0 || put_le(out, r->vsize, 8) < 0 ||
		put_le(out, (uint64_t)r->mtime, 8) < 0 ||
		put_le(out, r->modseq, 8) < 0 ||
		put_le(out, (uint64_t)r->savedate, 8) < 0 ||
		put_le(out, r->flags, 1) < 0 ||
		put_le(out, 0, 1) < 0 || put_le(out, base_len, 2) < 0 ||
		put_le(out, ext_len, 2) < 0 ||
		put_str(out, r->base, base_len) < 0 ||
		put_str(out, r->ext, ext_len) < 0 ? -1 : 0;
}

int ms_index_format(const struct ms_map *map, struct buf *out)
{
	size_t guid_len = strlen(map->guid), ext_len = strlen(map->hdr_ext);

	if (map->count > MS_MSGS_MAX || ext_len > 0xffff ||
	    buf_append(out, IX_MAGIC, 8) < 0 ||
	    put_le(out, IX_VERSION, 4) < 0 || put_le(out, 0, 4) < 0 ||
	    put_le(out, map->uidvalidity, 4) < 0 ||
	    put_le(out, ms_map_next_uid(map), 4) < 0 ||
	    put_le(out, map->highest_modseq, 8) < 0 ||
	    put_le(out, map->count, 4) < 0 || put_le(out, guid_len, 2) < 0 ||
	    put_le(out, ext_len, 2) < 0 ||
	    put_str(out, map->guid, guid_len) < 0 ||
	    put_str(out, map->hdr_ext, ext_len) < 0)
		return -1;
	for (size_t i = 0; i < map->count; i++)
		if (format_rec(&map->recs[i], out) < 0)
			return -1;
	if (map->exp_count > MS_EXP_MAX || put_le(out, map->exp_count, 4) < 0)
		return -1;
	for (size_t i = 0; i < map->exp_count; i++) {
		const struct ms_exp *e = &map->exp[i];
		if (put_le(out, e->first, 4) < 0 || put_le(out, e->last, 4) < 0 ||
		    put_le(out, e->modseq, 8) < 0)
			return -1;
	}
	return put_le(out, ms_crc32(out->data, out->len), 4);
}

int ms_index_read(const char *path, struct ms_map *map, struct ms_stamp *st)
{
	char *data;
	size_t len;
	const char *error;

	ms_map_clear(map);
	if (ms_read_file(path, MS_FILE_MAX, &data, &len, st, &error) <= 0)
		return 0;
	int ret = ms_index_parse((const unsigned char *)data, len, map,
				 &error);
	free(data);
	return ret < 0 ? 0 : 1;
}

int ms_index_write(const struct mailstore *box, const struct ms_map *map,
		   struct ms_stamp *st_r, const char **error_r)
{
	char tmp[4096];
	struct buf out;
	int fd = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", box->index_path) >=
	    (int)sizeof(tmp)) {
		*error_r = ms_error("%s: path too long", box->index_path);
		return -1;
	}
	buf_init(&out, MS_FILE_MAX);
	if (ms_index_format(map, &out) < 0) {
		*error_r = ms_error("%s: index too large", box->index_path);
		goto fail;
	}
	/* Only the holder of the uidlist lock writes this temporary file. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		  ms_file_mode(box));
	if (fd < 0 || fs_write_all(fd, out.data, out.len) < 0 ||
	    fdatasync(fd) < 0 || rename(tmp, box->index_path) < 0) {
		*error_r = ms_error("write %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			unlink(tmp);
		goto fail;
	}
	struct stat st;
	if (fstat(fd, &st) == 0) {
		st_r->exists = true;
		st_r->dev = st.st_dev;
		st_r->ino = st.st_ino;
		st_r->size = st.st_size;
		st_r->mtime = st.st_mtim;
	}
	close(fd);
	buf_deinit(&out);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	buf_deinit(&out);
	return -1;
}
