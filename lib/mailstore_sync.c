/* mailstore_sync: bringing the message list up to date with new/, cur/
 * and dovecot-uidlist, as Dovecot's maildir sync does:
 *   - new files get UIDs in Dovecot's order (by the time in their name),
 *     vanished files leave the uidlist, files in new/ move to cur/;
 *   - all of that under the uidlist dotlock, after reading the uidlist
 *     again under it, so that several processes never hand out a UID
 *     twice; surel-index is written under the same lock, before the
 *     uidlist, so that its copy of the map is never behind;
 *   - nothing is locked or written when nothing changed, and when the
 *     uidlist and both directories still have the stamps of the last
 *     sync, nothing is even read (a few stat()s).
 * The directories are read by mailstore_scan.c, the list is built by
 * mailstore_build.c; the crash analysis is in doc/mailstore.md. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "fsutil.h"
#include "mailstore_impl.h"
#include "mem.h"

void (*ms_save_hook)(const char *step);

bool ms_sync_gone(const struct ms_sync *c, uint32_t uid)
{
	size_t lo = 0, hi = c->gone_count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->gone[mid] == uid)
			return true;
		if (c->gone[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Reads dovecot-uidlist again if it changed: 1 box->ul is current, 0
 * missing or empty, -1 damaged (what was readable in *damaged), -2 I/O
 * error. */
static int ul_refresh(struct mailstore *box, struct ms_map *damaged,
		      const char **error_r)
{
	struct ms_stamp st;
	struct ms_map map;
	char *data;
	size_t len;

	if (ms_stamp_get(box->uidlist_path, &st) < 0) {
		*error_r = ms_error("stat %s: %s", box->uidlist_path,
				    strerror(errno));
		return -2;
	}
	if (box->ul_loaded && !box->ul_header_only &&
	    ms_stamp_eq(&st, &box->ul_stamp))
		return 1;
	int ret = ms_read_file(box->uidlist_path, MS_FILE_MAX, &data, &len,
			       &st, error_r);
	if (ret <= 0)
		return ret == 0 ? 0 : -2;
	ms_map_init(&map);
	ret = ms_uidlist_parse(data, len, &map, error_r);
	free(data);
	if (ret == 1) {
		ms_map_clear(&box->ul);
		free(box->ul.hdr_ext);
		box->ul = map;
		box->ul_stamp = st;
		box->ul_loaded = true;
		box->ul_header_only = false;
		return 1;
	}
	ms_map_clear(damaged);
	free(damaged->hdr_ext);
	*damaged = map;
	return ret == 0 ? 0 : -1;
}

/* The uidlist is missing or damaged and the lock is ours. Its map comes
 * back from what we know, in this order: the readable part of the
 * damaged file, our own copy in memory, surel-index (as on disk, then as
 * we read it). When none but the damaged file vouches for a UIDVALIDITY,
 * UIDs cannot be trusted and UIDVALIDITY changes (upwards). The next UID
 * never goes below any UID any of them ever recorded. */
static void recover(struct ms_sync *c, struct ms_map *damaged, int state)
{
	struct mailstore *box = c->box;
	const struct ms_map *srcs[4];
	size_t n = 0, same = 0;
	uint32_t next = 1, max_uv = 0;
	struct ms_map out;

	if (state < 0 && damaged->header_ok)
		srcs[n++] = damaged;
	/* A header-only copy has its records in box->ix. */
	if (box->ul_loaded && !box->ul_header_only)
		srcs[n++] = &box->ul;
	if (c->cache2.uidvalidity != 0)
		srcs[n++] = &c->cache2;
	if (box->ix.uidvalidity != 0)
		srcs[n++] = &box->ix;
	if (state < 0 && damaged->max_uid_seen >= next)
		next = damaged->max_uid_seen + 1;
	uint32_t anchor = n > 0 ? srcs[0]->uidvalidity : 0;
	bool complete = false;
	for (size_t i = 0; i < n; i++) {
		uint32_t s = ms_map_next_uid(srcs[i]);
		next = s > next ? s : next;
		max_uv = srcs[i]->uidvalidity > max_uv ?
			srcs[i]->uidvalidity : max_uv;
		if (srcs[i]->uidvalidity == anchor) {
			srcs[same++] = srcs[i];
			complete |= srcs[i] != damaged;
		}
	}
	ms_map_init(&out);
	if (complete) {
		out.uidvalidity = anchor;
		ms_map_union(&out, srcs, same);
		ms_map_copy_header(&out, srcs[0]);
	} else {
		out.uidvalidity = ms_uidvalidity_new(box, max_uv < UINT32_MAX ?
						     max_uv + 1 : max_uv);
		if (n > 0)
			ms_map_copy_header(&out, srcs[0]);
	}
	out.version = 3;
	out.nextuid = next;
	ms_map_clear(&box->ul);
	free(box->ul.hdr_ext);
	box->ul = out;
	box->ul_loaded = true;
	box->ul_header_only = false;
	memset(&box->ul_stamp, 0, sizeof(box->ul_stamp));
	c->ul_changed = true;
}

/* surel-index, read again when someone else wrote it since we last
 * read or wrote it: its MODSEQs, expunge record and cache are newer than
 * ours (ms_sync_latest). One stat() when it did not change. */
static void cache2_load(struct ms_sync *c)
{
	struct mailstore *box = c->box;
	struct ms_stamp st;

	if (ms_stamp_get(box->index_path, &st) < 0 || !st.exists)
		return;
	if (c->cache2_loaded ? ms_stamp_eq(&st, &c->cache2_st) :
	    ms_stamp_eq(&st, &box->ix_stamp) && box->ix.uidvalidity != 0)
		return;
	c->cache2_loaded = ms_index_read(box->index_path, &c->cache2,
					 &st) == 1;
	c->cache2_st = st;
}

/* True if the uidlist must change: new files, vanished ones (when the
 * scan can tell), files to move out of new/, an old format. */
static bool needs_lock(struct ms_sync *c)
{
	const struct ms_map *ul = &c->box->ul;
	const struct ms_scan *sc = &c->scan;
	bool need = ul->version != 3 || ul->guid[0] == '\0' ||
		c->gone_count > 0;
	size_t found = 0;

	for (size_t i = 0; i < ul->count; i++) {
		if (ms_scan_find(sc, ul->recs[i].base) >= 0)
			found++;
		else if (sc->stable)
			need = true;
	}
	for (size_t i = 0; i < sc->count && !need; i++)
		need = sc->files[i].in_new;
	/* Names are unique on both sides: fewer found than scanned means a
	 * file without a UID. */
	return need || found < sc->count;
}

static void ctx_init(struct ms_sync *c, struct mailstore *box)
{
	memset(c, 0, sizeof(*c));
	c->box = box;
	c->lock.fd = -1;
	c->assigned_from = UINT32_MAX;
	ms_map_init(&c->cache2);
}

static void ctx_deinit(struct ms_sync *c)
{
	ms_scan_clear(&c->scan);
	ms_map_clear(&c->cache2);
	free(c->cache2.hdr_ext);
	ms_build_discard(c);
	ms_lock_release(&c->lock);
}

/* The uidlist lock gets the uidlist's mode (Dovecot must read it). */
int ms_lock_uidlist(struct mailstore *box, struct ms_lock *lk,
		    unsigned wait_ms, const char **error_r)
{
	struct stat st;
	mode_t mode = stat(box->uidlist_path, &st) == 0 ?
		(st.st_mode & 0666) | 0600 : ms_file_mode(box);

	return ms_lock_take(lk, box->uidlist_path, mode, wait_ms, error_r);
}

static int take_lock(struct ms_sync *c, unsigned wait_ms,
		     const char **error_r)
{
	return ms_lock_uidlist(c->box, &c->lock, wait_ms, error_r);
}

static int write_uidlist(struct ms_sync *c, const char **error_r)
{
	struct mailstore *box = c->box;
	struct buf out;
	struct stat st;

	buf_init(&out, MS_FILE_MAX);
	if (ms_uidlist_format(&box->ul, &out) < 0) {
		buf_deinit(&out);
		*error_r = ms_error("%s: too large", box->uidlist_path);
		return -1;
	}
	int ret = fs_write_all(c->lock.fd, out.data, out.len);
	buf_deinit(&out);
	if (ret < 0 || fstat(c->lock.fd, &st) < 0) {
		*error_r = ms_error("write %s: %s", c->lock.path,
				    strerror(errno));
		return -1;
	}
	if (ms_lock_replace(&c->lock, box->uidlist_path, error_r) < 0)
		return -1;
	/* The stamp of what we wrote, not of what may replace it now. */
	box->ul_stamp.exists = true;
	box->ul_stamp.dev = st.st_dev;
	box->ul_stamp.ino = st.st_ino;
	box->ul_stamp.size = st.st_size;
	box->ul_stamp.mtime = st.st_mtim;
	if (fs_fsync_dir(box->path) < 0) {
		*error_r = ms_error("fsync %s: %s", box->path, strerror(errno));
		return -1;
	}
	return 0;
}

/* surel-index first (its map must never be behind the uidlist's), then
 * the uidlist, which drops the lock. false when the index stays unsaved. */
static int write_out(struct ms_sync *c, bool *saved_r, const char **error_r)
{
	struct mailstore *box = c->box;
	const char *error;

	*saved_r = true;
	if (c->dirty || c->ul_changed || box->ix_dirty || c->pend_done) {
		if (ms_index_write(box, &c->ix, &c->index_st, &error) < 0)
			*saved_r = false;
		else
			c->index_written = true;
		if (ms_save_hook != NULL)
			ms_save_hook("index");
	}
	if (!c->ul_changed) {
		ms_lock_release(&c->lock);
		return 0;
	}
	if (write_uidlist(c, error_r) < 0) {
		/* Nobody may see UIDs that are not on disk. */
		ms_lock_release(&c->lock);
		box->ul_loaded = false;
		return -1;
	}
	if (ms_save_hook != NULL)
		ms_save_hook("uidlist");
	return 0;
}

/* Whether box->ul (read or written at box->ul_stamp) and c's list say
 * the same: one record with a file per message, the same header. */
static bool ul_matches(const struct ms_sync *c)
{
	const struct mailstore *box = c->box;
	const struct ms_map *ul = &box->ul;

	return box->ul_loaded && !box->ul_header_only &&
		box->ul_stamp.exists && ul->version == 3 &&
		ul->count == c->count && ul->uidvalidity == c->ix.uidvalidity &&
		ms_map_next_uid(ul) == c->ix.nextuid &&
		strcmp(ul->guid, c->ix.guid) == 0 &&
		strcmp(ul->hdr_ext, c->ix.hdr_ext) == 0;
}

/* The new list takes the id and CRC of the index file it will stand for
 * (box->ix_stamp after swap_in): the one written now, or the latest
 * on disk. Then surel-stamps is written when this sync can vouch that
 * the index is the folder's list for as long as the stamps stay: its
 * scan was trusted and is still current, the uidlist agrees, every name
 * can be made from the index, and the index on disk is the list (written
 * now, or the same to the octet). */
static void vouch(struct ms_sync *c)
{
	struct mailstore *box = c->box;
	const struct ms_map *latest = ms_sync_latest(c);
	struct ms_stamps st;

	if (!c->index_written) {
		c->ix.id = latest != NULL ? latest->id : 0;
		c->ix.crc = latest != NULL ? latest->crc : 0;
	}
	if (!c->scan.done || !c->scan.trusted || c->dirs_changed ||
	    c->ix.id == 0 || !ul_matches(c) ||
	    (latest != NULL && latest->pend_count > 0))
		return;
	for (size_t i = 0; i < c->ix.count; i++)
		if ((c->ix.recs[i].where & MS_WHERE_ODD) != 0)
			return;
	if (!c->index_written && ms_index_crc(&c->ix, c->ix.id) != c->ix.crc)
		return;
	st.index_id = c->ix.id;
	st.ul = box->ul_stamp;
	st.new_dir = c->scan.new_st;
	st.cur_dir = c->scan.cur_st;
	if (box->stamps_valid && ms_stamps_eq(&st, &box->stamps))
		return;
	ms_stamps_write(box, &st);
	box->stamps = st;
	box->stamps_valid = true;
}

static void swap_in(struct ms_sync *c, bool saved)
{
	struct mailstore *box = c->box;

	ms_msgs_free(&box->arena, box->msgs, box->count);
	ms_graveyard_clear(box);
	ms_map_clear(&box->ix);
	free(box->ix.hdr_ext);
	/* Nothing points into the old arena any more: kept for the next
	 * sync. The new list's comes along with it. */
	ms_arena_keep(&box->spare, &box->arena);
	box->arena = c->arena;
	memset(&c->arena, 0, sizeof(c->arena));
	box->ix = c->ix;
	box->ix.arena = box->ix.arena != NULL ? &box->arena : NULL;
	box->msgs = c->msgs;
	box->count = c->count;
	c->msgs = NULL;
	c->count = 0;
	ms_map_init(&c->ix);
	/* Our old unsaved cache entries are in the new list only when it
	 * was built from our copy. */
	box->ix_dirty = !saved && (c->dirty || (!c->cache2_loaded &&
						box->ix_dirty));
	/* The stamp of the file that box->ix now is (or is newer than). */
	if (c->index_written)
		box->ix_stamp = c->index_st;
	else if (c->cache2_loaded)
		box->ix_stamp = c->cache2_st;
	box->new_stamp = c->scan.new_st;
	box->cur_stamp = c->scan.cur_st;
	box->dirs_trusted = c->scan.trusted && !c->dirs_changed;
	box->synced = true;
	ms_graveyard_clear(box);
}

/* The directories are read after the uidlist: every record then names
 * a file that existed before the scan began, so a record without a file
 * is a file that is gone (or was renamed meanwhile: the scan then is not
 * stable and drops nothing). Under the lock, a uidlist read again means
 * a scan again. */
static int rescan_if_needed(struct ms_sync *c, int state,
			    const char **error_r)
{
	if (c->scan.done && state == 1 &&
	    ms_stamp_eq(&c->box->ul_stamp, &c->scan.ul_st))
		return 0;
	if (ms_scan_dirs(c, &c->scan, error_r) < 0)
		return -1;
	c->scan.done = true;
	c->scan.ul_st = c->box->ul_stamp;
	return 0;
}

/* One pass over the uidlist; 1 when the lock was just taken and the
 * pass must be made again under it. */
static int sync_pass(struct ms_sync *c, int pass, const char **error_r)
{
	struct mailstore *box = c->box;
	struct ms_map damaged;
	const char *error;

	ms_map_init(&damaged);
	int state = ul_refresh(box, &damaged, error_r);
	if (state > -2)
		cache2_load(c);
	if (state > -2 && state != 1 && c->lock.fd >= 0)
		recover(c, &damaged, state);
	ms_map_clear(&damaged);
	free(damaged.hdr_ext);
	if (state == -2)
		return -1;
	int pend = ms_sync_pending(c, error_r);
	if (pend != 0)
		return pend;
	if (c->lock.fd < 0 && state != 1)
		return take_lock(c, ms_lock_wait_ms(), error_r) > 0 ? 1 : -1;
	if (rescan_if_needed(c, c->lock.fd >= 0 ? state : 1, error_r) < 0)
		return -1;
	if (c->lock.fd < 0 && needs_lock(c))
		return take_lock(c, ms_lock_wait_ms(), error_r) > 0 ? 1 : -1;
	if (c->lock.fd >= 0 && ms_sync_merge(c, error_r) < 0)
		return -1;
	if (ms_build(c, error_r) < 0)
		return -1;
	if (c->lock.fd < 0 && c->need_lock && !c->lock_failed) {
		/* An index being rebuilt only waits for a free lock: a
		 * reader is not stopped by a busy one. */
		bool rebuild = ms_sync_latest(c) == NULL;
		int ret = take_lock(c, rebuild ? 0 : ms_lock_wait_ms(),
				    error_r);
		if (ret > 0) {
			/* The names may be those of before a writer that
			 * held the lock renamed them: read them again. */
			ms_build_discard(c);
			c->scan.done = false;
			return 1;
		}
		if (ret == 0 && !rebuild)
			return -1;
		/* A folder we may read but not lock: MODSEQs of this
		 * process only, as good as it gets. */
		c->lock_failed = true;
	}
	/* Only the cache changed: saved if the lock is free right now. */
	if (c->lock.fd < 0 && (c->dirty || box->ix_dirty) && pass == 0 &&
	    take_lock(c, 0, &error) > 0) {
		ms_build_discard(c);
		return 1;
	}
	return 0;
}

static int sync_run(struct ms_sync *c, const char **error_r)
{
	bool saved = false;
	int ret = 1;

	for (int pass = 0; ret == 1 && pass < 4; pass++)
		ret = sync_pass(c, pass, error_r);
	if (ret != 0) {
		if (ret > 0)
			*error_r = ms_error("%s: sync did not settle",
					    c->box->path);
		return -1;
	}
	if (c->lock.fd >= 0 && write_out(c, &saved, error_r) < 0)
		return -1;
	vouch(c);
	swap_in(c, saved);
	return 0;
}

static bool unchanged(struct mailstore *box)
{
	struct ms_stamp ul, n, cur, ix;

	/* The index too: a flag change writes it before its renames,
	 * which another process's client may have been told of already. */
	return box->synced && box->dirs_trusted && box->ul_loaded &&
		ms_stamp_get(box->index_path, &ix) == 0 &&
		ms_stamp_eq(&ix, &box->ix_stamp) &&
		ms_stamp_get(box->uidlist_path, &ul) == 0 &&
		ms_stamp_eq(&ul, &box->ul_stamp) &&
		ms_stamp_get(box->new_path, &n) == 0 &&
		ms_stamp_eq(&n, &box->new_stamp) &&
		ms_stamp_get(box->cur_path, &cur) == 0 &&
		ms_stamp_eq(&cur, &box->cur_stamp);
}

int ms_sync(struct mailstore *box, bool force, const char **error_r)
{
	struct ms_sync c;

	if (ms_keywords_refresh(box, error_r) < 0)
		return -1;
	ms_tmp_cleanup(box);
	if (!force && unchanged(box))
		return 0;
	ctx_init(&c, box);
	int ret = sync_run(&c, error_r);
	ctx_deinit(&c);
	return ret;
}

int ms_open_fast(struct mailstore *box)
{
	struct ms_stamps st;
	struct ms_stamp ul, n, cur;

	/* A handle that claims \Recent takes the lock to move the first
	 * recent UID: only when there is nothing to claim. */
	/* An index with renames pending is not the folder's list: its
	 * files may still have their old names (the writer died). */
	if (box->ix.id == 0 || box->ix.pend_count > 0 ||
	    ms_stamps_read(box, &st) == 0 ||
	    st.index_id != box->ix.id ||
	    (box->claim_recent &&
	     ms_index_first_recent(&box->ix) < box->ix.nextuid) ||
	    ms_stamp_get(box->uidlist_path, &ul) < 0 ||
	    !ms_stamp_eq(&ul, &st.ul) ||
	    ms_stamp_get(box->new_path, &n) < 0 ||
	    !ms_stamp_eq(&n, &st.new_dir) ||
	    ms_stamp_get(box->cur_path, &cur) < 0 ||
	    !ms_stamp_eq(&cur, &st.cur_dir) ||
	    ms_build_from_index(box) < 0)
		return 0;
	ms_map_clear(&box->ul);
	box->ul.version = 3;
	box->ul.uidvalidity = box->ix.uidvalidity;
	box->ul.nextuid = box->ix.nextuid;
	ms_map_copy_header(&box->ul, &box->ix);
	box->ul_loaded = true;
	box->ul_header_only = true;
	box->ul_stamp = st.ul;
	box->new_stamp = st.new_dir;
	box->cur_stamp = st.cur_dir;
	box->dirs_trusted = true;
	box->synced = true;
	box->ix_dirty = false;
	box->stamps = st;
	box->stamps_valid = true;
	ms_tmp_cleanup(box);
	return 1;
}

int mailstore_sync(struct mailstore *box, const char **error_r)
{
	ms_flags_settle(box);
	ms_limbo_purge(box, false);
	return ms_sync(box, false, error_r);
}

void ms_save_index_if_dirty(struct mailstore *box)
{
	struct ms_sync c;
	struct ms_stamp ul, ix;
	const char *error;

	if (!box->ix_dirty || !box->synced)
		return;
	ctx_init(&c, box);
	/* Our copy is only worth saving if nobody changed either file. */
	if (take_lock(&c, 0, &error) > 0 &&
	    ms_stamp_get(box->uidlist_path, &ul) == 0 &&
	    ms_stamp_eq(&ul, &box->ul_stamp) &&
	    ms_stamp_get(box->index_path, &ix) == 0 &&
	    ms_stamp_eq(&ix, &box->ix_stamp) &&
	    ms_index_write(box, &box->ix, &box->ix_stamp, &error) == 0)
		box->ix_dirty = false;
	ctx_deinit(&c);
}

int ms_sync_expunged(struct mailstore *box, struct ms_lock *lk,
		     const uint32_t *gone, size_t count, const char **error_r)
{
	struct ms_sync c;

	ctx_init(&c, box);
	c.lock = *lk;
	lk->fd = -1;
	c.gone = gone;
	c.gone_count = count;
	int ret = sync_run(&c, error_r);
	ctx_deinit(&c);
	return ret;
}

int ms_sync_saved(struct mailstore *box, struct ms_lock *lk,
		  char *const *bases, size_t count, uint32_t *first_r,
		  const char **error_r)
{
	struct ms_sync c;

	if (ms_keywords_refresh(box, error_r) < 0) {
		ms_lock_release(lk);
		return -1;
	}
	ctx_init(&c, box);
	c.lock = *lk;
	lk->fd = -1;
	c.saves = bases;
	c.save_count = count;
	int ret = sync_run(&c, error_r);
	*first_r = c.save_first;
	ctx_deinit(&c);
	return ret;
}
