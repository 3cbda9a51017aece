/* mailstore_cache_write: the writing half of lib/mailstore_cache (see
 * mailstore_cache.c for the format and mailstore_cache.h for the
 * contract): values collected in memory, appended under the file's OFD
 * lock, and the rewrite (temp file + rename) of a file that is damaged,
 * torn, of another UIDVALIDITY, mostly dead or too big. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "buf.h"
#include "fsutil.h"
#include "mailstore_cache_impl.h"
#include "mem.h"

void ms_cache_put(struct ms_cache *c, uint32_t uid, const char *base,
		  enum ms_cache_field field, const char *data, size_t len)
{
	size_t blen = strlen(base), start = c->pending.len;
	unsigned char hdr[REC_HDR_SIZE];

	if (uid == 0 || (unsigned)field >= MS_CACHE_FIELD_COUNT ||
	    blen == 0 || blen > CACHE_BASE_MAX || len > MS_CACHE_VALUE_MAX ||
	    c->path[0] == '\0' || (c->fd >= 0 && !c->writable))
		return;
	ms_cache_put_le32(hdr, 0);
	ms_cache_put_le32(hdr + 4, (uint32_t)len);
	ms_cache_put_le32(hdr + 8, uid);
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
	ms_cache_put_le32(r, ms_cache_crc32c(r + 4,
					     c->pending.len - start - 4));
	if (c->pending.len >= CACHE_FLUSH_AT)
		ms_cache_write(c, false);
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
		const struct cache_entry *e =
			ms_cache_entry_find(c, uids[first - 1]);
		size_t size = 0;
		for (int f = 0; f < MS_CACHE_FIELD_COUNT; f++) {
			if (e->off[f] != 0)
				size += ms_cache_size_at(c, e->off[f]);
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
	ms_cache_put_le32(hdr + 8, CACHE_VERSION);
	ms_cache_put_le32(hdr + 12, c->uidvalidity);
	ms_cache_put_le32(hdr + 16, 0);
	ms_cache_put_le32(hdr + 20, ms_cache_crc32c(hdr, 20));
	uint32_t *uids = live_uids(c, CACHE_FILE_MAX / 2, &n);
	/* Written in chunks of about 1 MiB; a record is at most that. */
	buf_init(&out, 2 * MS_CACHE_VALUE_MAX + 4096);
	if (buf_append(&out, hdr, sizeof(hdr)) < 0)
		ret = -1;
	for (size_t i = 0; i < n && ret == 0; i++) {
		const struct cache_entry *e = ms_cache_entry_find(c, uids[i]);
		for (int f = 0; f < MS_CACHE_FIELD_COUNT && ret == 0; f++) {
			if (e->off[f] == 0)
				continue;
			const unsigned char *r =
				ms_cache_record_at(c, e->off[f]);
			size_t size = ms_cache_record_size(r);
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
	(void)ms_cache_scan((const unsigned char *)c->pending.data,
			    c->pending.len, 0, c->map_len + 1,
			    ms_cache_index_record, c, &end);
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
	(void)ms_cache_load(c);
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
void ms_cache_write(struct ms_cache *c, bool may_rewrite)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		if (c->fd < 0) {
			/* Loading or creating the file moves nothing a get
			 * returned when nothing was mapped: so a first FETCH
			 * of a mailbox writes as it goes, as later ones do. */
			if (c->pending.len == 0 ||
			    (!may_rewrite && (c->map != NULL ||
					      c->create_failed)))
				return;
			if (ms_cache_load(c) == 0) {
				/* Creates it; if someone else just did, the
				 * next round appends to theirs. */
				if (cache_rewrite(c, false))
					return;
			}
			if (c->fd < 0) {
				c->create_failed = !may_rewrite;
				break;
			}
		}
		if (!c->writable || cache_lock(c->fd, F_WRLCK) < 0)
			break;
		if (!ms_cache_current(c)) {
			(void)cache_lock(c->fd, F_UNLCK);
			if (!may_rewrite)
				return;
			(void)ms_cache_load(c);
			continue;
		}
		if (may_rewrite)
			ms_cache_catch_up(c);	/* same inode: only maps more */
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
	c->create_failed = false;
	if (c->path[0] != '\0')
		ms_cache_write(c, true);
}

void ms_cache_retain(struct ms_cache *c, const uint32_t *uids, size_t count)
{
	struct cache_entry *old = c->slots;
	size_t old_mask = c->mask, old_used = c->used;
	uint64_t old_live = c->live;
	const struct cache_entry *e;

	c->slots = NULL;
	ms_cache_index_init(c, count);
	for (size_t i = 0; i < count && old != NULL; i++) {
		struct ms_cache probe = { .slots = old, .mask = old_mask };
		e = ms_cache_entry_find(&probe, uids[i]);
		if (e == NULL)
			continue;
		struct cache_entry *ne = ms_cache_entry_add(c, uids[i]);
		if (ne == NULL)
			break;
		*ne = *e;
	}
	free(old);
	/* Every message kept (the usual case): the live octets are as they
	 * were; else they are summed again (a look at each record). */
	if (c->used == old_used) {
		c->live = old_live;
	} else {
		for (size_t i = 0; c->slots != NULL && i <= c->mask; i++)
			for (int f = 0; f < MS_CACHE_FIELD_COUNT; f++)
				if (c->slots[i].uid != 0 &&
				    c->slots[i].off[f] != 0)
					c->live += ms_cache_size_at(
						c, c->slots[i].off[f]);
	}
	if (c->fd >= 0 && c->writable && cache_needs_rewrite(c))
		ms_cache_write(c, true);
}

