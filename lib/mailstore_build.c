/* mailstore_build: the message list of one sync, from the uidlist (which
 * files have which UIDs), the scan (where the files are, with which
 * flags) and the cache (surel-index): sizes come from the name, the
 * uidlist's W and S, the cache, or the file itself, read once.
 *
 * MODSEQs are shared by every process: the latest index on disk (or our
 * copy, when nobody wrote it since) says which MODSEQ each message's
 * flags have. A message whose flags differ from it (a rename by mutt,
 * Dovecot or a crashed writer), a new message, and messages no longer
 * listed (expunged) need new MODSEQs, which only the holder of the
 * uidlist lock may give out: such a build asks for the lock (need_lock)
 * and is made again under it, where the index has just been read again,
 * so that no two changes ever share a MODSEQ. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "mailstore_impl.h"
#include "mem.h"

const struct ms_map *ms_sync_latest(const struct ms_sync *c)
{
	uint32_t uv = c->box->ul.uidvalidity;

	if (c->cache2_loaded && c->cache2.uidvalidity == uv)
		return &c->cache2;
	if (uv != 0 && c->box->ix.uidvalidity == uv)
		return &c->box->ix;
	return NULL;
}

/* The record of map for (uid, base), or NULL. */
static const struct ms_rec *map_find(const struct ms_sync *c,
				     const struct ms_map *map,
				     const struct ms_rec *r)
{
	if (map == NULL || map->uidvalidity != c->box->ul.uidvalidity)
		return NULL;
	const struct ms_rec *x = ms_map_find(map, r->uid);
	return x != NULL && strcmp(x->base, r->base) == 0 ? x : NULL;
}

/* The cached record for sizes and dates: the latest index's, else any
 * other copy we have. */
static const struct ms_rec *cache_find(const struct ms_sync *c,
				       const struct ms_map *latest,
				       const struct ms_rec *r)
{
	const struct ms_map *maps[3] = { latest, &c->box->ix, &c->cache2 };

	for (size_t i = 0; i < 3; i++) {
		const struct ms_rec *x = map_find(c, maps[i], r);
		if (x != NULL)
			return x;
	}
	return NULL;
}

static int ext_number(const char *ext, char key, uint64_t *v_r)
{
	const char *v;
	size_t len;
	uint64_t n = 0;

	if (!ms_ext_find(ext, key, &v, &len) || len == 0 || len > 19)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return 0;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	*v_r = n;
	return 1;
}

struct dirfds {
	int new_fd;
	int cur_fd;
};

/* When a message without a cached record got its UID: now if this sync
 * gave it or it is new to us, its mtime if the index is being rebuilt
 * (it may have been there for years). */
static int64_t first_savedate(const struct ms_sync *c,
			      const struct ms_map *latest,
			      const struct ms_rec *rec)
{
	if (rec->uid >= c->assigned_from || latest != NULL)
		return (int64_t)time(NULL);
	return rec->mtime;
}

/* Sizes and dates of rec: from the name, the uidlist, the cache, or the
 * file itself (read once). 1 done, 0 the file is gone, -1 error. */
static int fill_sizes(struct ms_sync *c, struct ms_rec *rec,
		      const struct ms_rec *cache, const char *name,
		      bool in_new, const struct dirfds *dfd)
{
	size_t blen = strlen(rec->base);
	bool have_s = ms_name_size(name, blen, 'S', &rec->size) ||
		ext_number(rec->ext, 'S', &rec->size);
	bool have_w = ms_name_size(name, blen, 'W', &rec->vsize) ||
		ext_number(rec->ext, 'W', &rec->vsize);

	if (cache != NULL) {
		if (!have_s)
			rec->size = cache->size;
		if (!have_w)
			rec->vsize = cache->vsize;
		rec->mtime = cache->mtime;
		rec->savedate = cache->savedate;
		return 1;
	}
	uint64_t size = 0;
	if (ms_file_measure(in_new ? dfd->new_fd : dfd->cur_fd, name, !have_w,
			    &size, &rec->vsize, &rec->mtime) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!have_s)
		rec->size = size;
	rec->savedate = first_savedate(c, ms_sync_latest(c), rec);
	c->dirty = true;
	return 1;
}

/* known: the latest index's record of this message. Unchanged flags keep
 * its MODSEQ; anything else is a change that needs a new one. */
static void set_modseq(struct ms_sync *c, const struct ms_map *latest,
		       struct ms_rec *rec, const struct ms_rec *known)
{
	if (known != NULL && known->flags == rec->flags &&
	    known->keywords == rec->keywords) {
		rec->modseq = known->modseq;
		return;
	}
	/* A store whose index is being rebuilt gives all it finds one
	 * MODSEQ (ms_build chose it). */
	if (latest != NULL)
		c->ix.highest_modseq++;
	rec->modseq = c->ix.highest_modseq;
	c->dirty = true;
	c->need_lock = true;
}

/* A copy of n octets of s (and a NUL) in arena, else allocated alone. */
static char *arena_strndup(struct ms_arena *arena, const char *s, size_t n)
{
	char *p = ms_arena_alloc(arena, n + 1);

	if (p == NULL)
		return xstrndup(s, n);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* f: the message's file in the scan, or -1. */
static void add_msg(struct ms_sync *c, const struct ms_rec *rec,
		    const char *name, bool in_new, long f)
{
	struct mailstore_msg *m = &c->msgs[c->count++];
	const char *p3;
	size_t p3len;

	/* Ascending UIDs: the first one found in new/ is the lowest. */
	if ((in_new || (f >= 0 && c->scan.files[f].moved)) &&
	    rec->uid < c->new_min_uid)
		c->new_min_uid = rec->uid;

	m->uid = rec->uid;
	m->base = rec->base;
	m->name = arena_strndup(&c->arena, name, strlen(name));
	m->in_new = in_new;
	m->flags = rec->flags;
	m->keywords = rec->keywords;
	m->size = rec->size;
	m->vsize = rec->vsize;
	m->mtime = rec->mtime;
	m->modseq = rec->modseq;
	m->savedate = rec->savedate;
	/* Dovecot: an empty P means "the base name". */
	m->pop3_uidl = NULL;
	if (ms_ext_find(rec->ext, 'P', &p3, &p3len))
		m->pop3_uidl = p3len == 0 ?
			arena_strndup(&c->arena, rec->base, strlen(rec->base)) :
			arena_strndup(&c->arena, p3, p3len);
}

/* Where message r is: the scan (*f_r its file there), or (when the scan
 * raced with renames) where it was before. NULL when it is gone. */
static const char *locate(const struct ms_sync *c, const struct ms_rec *r,
			  bool *in_new_r, long *f_r)
{
	long f = *f_r = ms_scan_find(&c->scan, r->base);
	size_t i;

	if (f >= 0) {
		*in_new_r = c->scan.files[f].in_new;
		return c->scan.files[f].name;
	}
	if (c->scan.stable || ms_sync_gone(c, r->uid) ||
	    !mailstore_find_uid(c->box, r->uid, &i) ||
	    strcmp(c->box->msgs[i].base, r->base) != 0)
		return NULL;
	*in_new_r = c->box->msgs[i].in_new;
	return c->box->msgs[i].name;
}

/* A file renamed between the scan and now: its new name, kept in the
 * scan, or NULL. */
static const char *follow(struct ms_sync *c, const char *base, bool *in_new)
{
	long f = ms_scan_find(&c->scan, base);
	const char *error;
	char *name;

	if (f < 0 || ms_find_base(c->box, base, &name, in_new, &error) <= 0)
		return NULL;
	free(c->scan.files[f].name);
	c->scan.files[f].name = name;
	c->scan.files[f].in_new = *in_new;
	return name;
}

static int build_one(struct ms_sync *c, const struct ms_map *latest,
		     const struct ms_rec *r, const struct dirfds *dfd,
		     const char **error_r)
{
	bool in_new;
	long f;
	const char *name = locate(c, r, &in_new, &f);
	unsigned flags;

	if (name == NULL)
		return 0;
	const struct ms_rec *cache = cache_find(c, latest, r);
	struct ms_rec *rec = ms_map_add(&c->ix, r->uid, r->base,
					strlen(r->base), r->ext,
					strlen(r->ext));
	size_t blen = strlen(r->base);
	ms_name_flags(name, &flags, &rec->keywords);
	rec->flags = (uint8_t)flags;
	rec->where = ms_name_where(name, blen, in_new);
	int ret = fill_sizes(c, rec, cache, name, in_new, dfd);
	if (ret == 0 && (name = follow(c, r->base, &in_new)) != NULL) {
		ms_name_flags(name, &flags, &rec->keywords);
		rec->flags = (uint8_t)flags;
		rec->where = ms_name_where(name, blen, in_new);
		ret = fill_sizes(c, rec, cache, name, in_new, dfd);
	}
	if (ret <= 0) {
		/* Gone since the scan (or unreadable): not listed now. */
		c->ix.count--;
		if (!ms_arena_has(&c->arena, rec->base))
			free(rec->base);
		if (ret < 0)
			*error_r = ms_error("%s: %s", name, strerror(errno));
		return ret;
	}
	set_modseq(c, latest, rec, map_find(c, latest, r));
	add_msg(c, rec, name, in_new, f);
	return 0;
}

/* The expunge record: the latest one, plus the messages it listed that
 * are listed no more, at a new MODSEQ. Without an index nothing is known
 * of what went before: every UID so far may have gone, at the MODSEQ of
 * the rebuild. */
static void record_expunges(struct ms_sync *c, const struct ms_map *latest)
{
	if (latest == NULL) {
		if (c->ix.nextuid > 1) {
			ms_exp_add(&c->ix, 1, c->ix.nextuid - 1,
				   c->ix.highest_modseq);
			c->dirty = true;
			c->need_lock = true;
		}
		return;
	}
	ms_exp_copy(&c->ix, latest);
	if (ms_exp_pending(latest, &c->ix) == 0)
		return;
	ms_exp_record(&c->ix, latest, &c->ix, ++c->ix.highest_modseq);
	ms_exp_compact(&c->ix);
	c->dirty = true;
	c->need_lock = true;
}

/* \Recent, as Dovecot has it: the messages from the first recent UID on
 * are recent for whoever claims them; a handle that claims (a read-write
 * SELECT) moves it to UIDNEXT, which only the holder of the lock may do
 * (two SELECTs never both get a message as recent). Without an index
 * the messages from the first one found in new/ on are recent (nobody
 * has looked at them; Dovecot would call everything recent, even what a
 * client of Dovecot moved to cur/ long ago). Once recent in a handle, a
 * message stays so until it closes. */
static void mark_recent(struct ms_sync *c, const struct ms_map *latest)
{
	const struct mailstore *box = c->box;
	uint32_t from = latest != NULL ? latest->first_recent_uid :
		c->new_min_uid;
	size_t j = 0;

	if (from == 0)
		from = 1;
	if (from > c->ix.nextuid)
		from = c->ix.nextuid;
	for (size_t i = 0; i < c->count; i++) {
		struct mailstore_msg *m = &c->msgs[i];
		while (j < box->count && box->msgs[j].uid < m->uid)
			j++;
		m->recent = m->uid >= from ||
			(j < box->count && box->msgs[j].uid == m->uid &&
			 box->msgs[j].recent &&
			 strcmp(box->msgs[j].base, m->base) == 0);
	}
	c->ix.first_recent_uid = from;
	if (box->claim_recent && from < c->ix.nextuid) {
		c->ix.first_recent_uid = c->ix.nextuid;
		c->dirty = true;
		c->need_lock = true;
	}
}

/* The current time in milliseconds: MODSEQs after a lost index start
 * there, above anything given since the last rebuild unless more than
 * 1000 changes a second were made on average since then. */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The header of the new index; the highest MODSEQ is the highest anyone
 * gave. Without an index, all messages get one MODSEQ that is at least
 * the current time (now_ms), so that MODSEQs do not go down after it
 * was lost; a folder that never had a message starts at 1. */
static void build_header(struct ms_sync *c, const struct ms_map *latest)
{
	struct mailstore *box = c->box;
	const struct ms_map *ul = &box->ul;

	ms_map_init(&c->ix);
	c->ix.uidvalidity = ul->uidvalidity;
	c->ix.nextuid = ms_sync_first_new_uid(c);
	ms_map_copy_header(&c->ix, ul);
	c->ix.highest_modseq = box->ix.highest_modseq;
	if (c->cache2_loaded &&
	    c->cache2.highest_modseq > c->ix.highest_modseq)
		c->ix.highest_modseq = c->cache2.highest_modseq;
	if (latest == NULL) {
		uint64_t base = ul->count > 0 || ms_map_next_uid(ul) > 1 ?
			now_ms() : 1;
		c->ix.highest_modseq = c->ix.highest_modseq < base ? base :
			c->ix.highest_modseq + 1;
	}
}

/* From this many messages on, the new list is made in an arena. */
#define BUILD_ARENA_MIN 256

/* An arena for the list of the uidlist's records (ms_arena: a large
 * folder's list is megabytes of fresh memory), sized by them: a record,
 * a message, and for each its strings and name. */
static void build_arena(struct ms_sync *c)
{
	const struct ms_map *ul = &c->box->ul;
	size_t strings = 0;

	ms_arena_keep(&c->box->spare, &c->arena);
	if (ul->count < BUILD_ARENA_MIN)
		return;
	for (size_t i = 0; i < ul->count; i++)
		strings += strlen(ul->recs[i].base) + strlen(ul->recs[i].ext);
	(void)ms_arena_take(&c->arena, &c->box->spare, ul->count *
			    (sizeof(struct ms_rec) +
			     sizeof(struct mailstore_msg) + 96) +
			    3 * strings + 4096);
	c->ix.arena = &c->arena;
}

/* The new list: every message of the uidlist that has a file. */
int ms_build(struct ms_sync *c, const char **error_r)
{
	struct mailstore *box = c->box;
	const struct ms_map *ul = &box->ul;
	const struct ms_map *latest = ms_sync_latest(c);
	struct dirfds dfd = {
		open(box->new_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC),
		open(box->cur_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
	};
	int ret = 0;

	c->need_lock = false;
	c->new_min_uid = UINT32_MAX;
	build_header(c, latest);
	build_arena(c);
	c->msgs = ms_arena_alloc(&c->arena, (ul->count + 1) * sizeof(*c->msgs));
	if (c->msgs == NULL)
		c->msgs = xcalloc(ul->count + 1, sizeof(*c->msgs));
	else	/* a kept arena is not fresh */
		memset(c->msgs, 0, (ul->count + 1) * sizeof(*c->msgs));
	ms_map_reserve(&c->ix, ul->count);
	if (dfd.new_fd < 0 || dfd.cur_fd < 0) {
		*error_r = ms_error("open %s: %s", box->path, strerror(errno));
		ret = -1;
	}
	for (size_t i = 0; i < ul->count && ret == 0; i++)
		ret = build_one(c, latest, &ul->recs[i], &dfd, error_r);
	if (dfd.new_fd >= 0)
		close(dfd.new_fd);
	if (dfd.cur_fd >= 0)
		close(dfd.cur_fd);
	if (ret == 0) {
		record_expunges(c, latest);
		mark_recent(c, latest);
	}
	return ret;
}

void ms_build_discard(struct ms_sync *c)
{
	ms_msgs_free(&c->arena, c->msgs, c->count);
	c->msgs = NULL;
	c->count = 0;
	ms_map_clear(&c->ix);
	free(c->ix.hdr_ext);
	c->ix.hdr_ext = NULL;
	ms_arena_keep(&c->box->spare, &c->arena);
	c->dirty = false;
	c->need_lock = false;
}

/* An unchanged folder opened from surel-index alone (surel-stamps
 * vouches for it): the list the last full sync made, with no uidlist to
 * parse and no directory to read, in the arena the index was read into.
 * What is recent follows the index's first recent UID, as mark_recent
 * has it for a sync that claims nothing (a handle that claims only gets
 * here with nothing to claim). */
int ms_build_from_index(struct mailstore *box)
{
	const struct ms_map *ix = &box->ix;
	size_t n = ix->count + 1;
	struct mailstore_msg *msgs = ms_arena_alloc(&box->arena,
						    n * sizeof(*msgs));
	uint32_t from = ms_index_first_recent(ix);
	char name[MS_BASE_MAX + 64];
	const char *p3;
	size_t p3len;

	if (msgs == NULL)
		msgs = xcalloc(n, sizeof(*msgs));
	else
		memset(msgs, 0, n * sizeof(*msgs));
	for (size_t i = 0; i < ix->count; i++) {
		const struct ms_rec *r = &ix->recs[i];
		struct mailstore_msg *m = &msgs[i];
		if (ms_rec_name(r, name, sizeof(name)) < 0) {
			ms_msgs_free(&box->arena, msgs, i);
			return -1;
		}
		m->uid = r->uid;
		m->base = r->base;
		m->name = arena_strndup(&box->arena, name, strlen(name));
		m->in_new = (r->where & MS_WHERE_NEW) != 0;
		m->flags = r->flags;
		m->keywords = r->keywords;
		m->size = r->size;
		m->vsize = r->vsize;
		m->mtime = r->mtime;
		m->modseq = r->modseq;
		m->savedate = r->savedate;
		m->recent = r->uid >= from;
		if (ms_ext_find(r->ext, 'P', &p3, &p3len))
			m->pop3_uidl = p3len == 0 ?
				arena_strndup(&box->arena, r->base,
					      strlen(r->base)) :
				arena_strndup(&box->arena, p3, p3len);
	}
	ms_msgs_free(&box->arena, box->msgs, box->count);
	box->msgs = msgs;
	box->count = ix->count;
	return 0;
}
