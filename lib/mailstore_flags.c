/* mailstore_flags: flag changes (IMAP STORE), with MODSEQs that every
 * process gives out from one counter, in two steps so that imapd can
 * answer between them.
 *
 * The counter is surel-index's highest MODSEQ. mailstore_set_flags_begin
 * takes the uidlist lock, reads the index again if someone else wrote it
 * since we read it, gives each changed message the next MODSEQ above both
 * copies, and writes the index (fsync()ed) with the new flags and the
 * "renames pending" marker: the names the changed files have now
 * (ms_pend). That write is the change's write-ahead record: once it is
 * on disk the change is durable, and the client may hear OK. The lock
 * stays held. mailstore_set_flags_finish renames the files (one rename
 * per message, most of what a STORE costs), fsync()s the directories,
 * writes the index again without the marker, and drops the lock.
 *
 * Crashes: before the first index write nothing changed. After it, the
 * index says "renames pending" and nobody can hold the lock but us; the
 * next process that holds it (ours died: its flock is gone, so after
 * 2 s) completes the renames from the marker (mailstore_pending.c): files
 * still under their name of before get the index's flags, a file renamed
 * by someone else keeps its name. A reader never lets a file's old name
 * win while the marker is there: it waits for the lock first, exactly as
 * it waits for any writer (mailstore_sync.c). A rename that fails while
 * we are alive leaves the marker on disk, so that the next holder of the
 * lock tries again; if that fails too, the file's flags win and it gets
 * a MODSEQ of its own, as for any change made by someone else. No MODSEQ
 * ever names two changes. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mailstore_impl.h"
#include "mem.h"

/* What a message had before, to put back if the index cannot be
 * written. */
struct flag_undo {
	size_t idx;
	unsigned flags;
	uint32_t keywords;
	uint64_t modseq;
	uint8_t where;
};

/* Where the index says m's file will be once renamed to carry r's
 * flags (the index is written before the renames). */
static uint8_t target_where(const struct mailstore_msg *m,
			    const struct ms_rec *r)
{
	char name[MS_BASE_MAX + 1];

	if (ms_name_set_flags(m->name, r->flags, r->keywords, name,
			      sizeof(name)) < 0)
		return MS_WHERE_ODD;
	return ms_name_where(name, strlen(m->base), m->in_new);
}

static bool needs_change(const struct mailstore_msg *m, unsigned flags,
			 uint32_t keywords)
{
	unsigned name_flags;
	uint32_t name_kw;

	/* An info other than ":2," has no flags: it stays when none are
	 * wanted. */
	ms_name_flags(m->name, &name_flags, &name_kw);
	return m->flags != flags || m->keywords != keywords ||
		name_flags != flags || name_kw != keywords;
}

/* surel-index as on disk, if another process wrote it since we read or
 * wrote it (its records and expunge record are then newer than ours). */
static bool disk_newer(struct mailstore *box, struct ms_map *disk)
{
	struct ms_stamp st;

	if (ms_stamp_get(box->index_path, &st) < 0 || !st.exists ||
	    ms_stamp_eq(&st, &box->ix_stamp))
		return false;
	return ms_index_read(box->index_path, disk, &st) == 1 &&
		disk->uidvalidity == box->ix.uidvalidity;
}

/* Writes the index with the changes: ours when it is the latest, else
 * the newer one from disk (newer) with our changes put in. */
static int write_index(struct mailstore *box, bool newer,
		       struct ms_map *disk, const struct flag_undo *undo,
		       size_t n, const char **error_r)
{
	struct ms_stamp st;
	int ret;

	if (!newer) {
		/* A write that fails leaves the file as it was: ix_dirty
		 * stays as it was too. */
		ret = ms_index_write(box, &box->ix, &box->ix_stamp, error_r);
		if (ret == 0)
			box->ix_dirty = false;
	} else {
		for (size_t k = 0; k < n; k++) {
			const struct ms_rec *ours = &box->ix.recs[undo[k].idx];
			struct ms_rec *r = ms_map_find(disk, ours->uid);
			if (r == NULL || strcmp(r->base, ours->base) != 0)
				continue;
			r->flags = ours->flags;
			r->keywords = ours->keywords;
			r->modseq = ours->modseq;
			r->where = ours->where;
		}
		if (box->ix.highest_modseq > disk->highest_modseq)
			disk->highest_modseq = box->ix.highest_modseq;
		/* Our stamp stays the old one: the next sync reads this. */
		ret = ms_index_write(box, disk, &st, error_r);
	}
	return ret;
}

/* Gives the messages of undo[] their new flags and MODSEQs in memory,
 * above the highest MODSEQ any process gave (the caller holds the lock). */
static void assign_modseqs(struct mailstore *box, uint64_t highest,
			   const struct mailstore_flag_change *changes,
			   const size_t *which, struct flag_undo *undo,
			   size_t n)
{
	if (box->ix.highest_modseq > highest)
		highest = box->ix.highest_modseq;
	for (size_t k = 0; k < n; k++) {
		const struct mailstore_flag_change *ch = &changes[which[k]];
		struct mailstore_msg *m = &box->msgs[ch->idx];
		struct ms_rec *r = &box->ix.recs[ch->idx];
		undo[k] = (struct flag_undo){ ch->idx, m->flags, m->keywords,
					      m->modseq, r->where };
		m->flags = ch->flags & MAILSTORE_FLAGS_ALL;
		m->keywords = ch->keywords &
			((1u << MAILSTORE_KEYWORDS_MAX) - 1);
		r->flags = (uint8_t)m->flags;
		r->keywords = m->keywords;
		r->where = target_where(m, r);
		r->modseq = m->modseq = ++highest;
	}
	box->ix.highest_modseq = highest;
}

static void undo_all(struct mailstore *box, const struct flag_undo *undo,
		     size_t n, uint64_t old_highest)
{
	for (size_t k = n; k-- > 0;) {
		struct mailstore_msg *m = &box->msgs[undo[k].idx];
		struct ms_rec *r = &box->ix.recs[undo[k].idx];
		m->flags = undo[k].flags;
		m->keywords = undo[k].keywords;
		m->modseq = undo[k].modseq;
		r->flags = (uint8_t)m->flags;
		r->keywords = m->keywords;
		r->modseq = m->modseq;
		r->where = undo[k].where;
	}
	box->ix.highest_modseq = old_highest;
}

/* new/ and cur/, opened once per call: each rename then names a file
 * in its directory, with no path to walk (the rename is most of what a
 * STORE on many messages costs). */
struct flag_dirs {
	struct mailstore *box;
	int cur_fd;
	int new_fd;		/* -1 until a message in new/ needs it */
};

static int dir_fd(struct flag_dirs *d, bool in_new)
{
	if (!in_new)
		return d->cur_fd;
	if (d->new_fd < 0)
		d->new_fd = open(d->box->new_path,
				 O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return d->new_fd;
}

/* Renames message m's file to carry flags and keywords, following a
 * rename by someone else. 1 done, 0 the file is gone, -1 error. */
static int rename_msg(struct flag_dirs *d, struct mailstore_msg *m,
		      unsigned flags, uint32_t keywords, const char **error_r)
{
	char name[MS_BASE_MAX + 1];

	for (int tries = 0; tries < 3; tries++) {
		if (ms_name_set_flags(m->name, flags, keywords, name,
				      sizeof(name)) < 0) {
			*error_r = ms_error("%s: name too long with flags",
					    m->name);
			return -1;
		}
		size_t len = strlen(name);
		if (strcmp(name, m->name) == 0)
			return 1;
		int fd = dir_fd(d, m->in_new);
		if (fd >= 0 && renameat(fd, m->name, fd, name) == 0) {
			/* Usually the same block: a letter more or less (a
			 * name in the open's arena is copied out of it). */
			char *owned = ms_arena_has(&d->box->arena, m->name) ?
				xmalloc(len + 1) :
				xrealloc((char *)m->name, len + 1);
			memcpy(owned, name, len + 1);
			m->name = owned;
			return 1;
		}
		if (fd < 0 || errno != ENOENT) {
			*error_r = ms_error("rename %s: %s", m->name,
					    strerror(errno));
			return -1;
		}
		/* Follow sets the flags of the name it finds; ours are put
		 * back by the caller. */
		int ret = ms_msg_follow(d->box, m, error_r);
		if (ret <= 0)
			return ret;
	}
	return 0;
}

/* The renames, after the index is written. How many changed, *gone_r
 * those whose file is gone; -1 on the first error after trying all. */
static long rename_all(struct mailstore *box, const struct flag_undo *undo,
		       size_t n, size_t *gone_r, const char **error_r)
{
	struct flag_dirs d = {
		box, open(box->cur_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), -1
	};
	long changed = 0;
	bool failed = false;

	if (d.cur_fd < 0) {
		/* The files keep their flags: the next sync gives them
		 * MODSEQs of their own (see the top of this file). */
		*error_r = ms_error("open %s: %s", box->cur_path,
				    strerror(errno));
		return -1;
	}
	for (size_t k = 0; k < n; k++) {
		struct mailstore_msg *m = &box->msgs[undo[k].idx];
		unsigned flags = m->flags;
		uint32_t keywords = m->keywords;
		int ret = rename_msg(&d, m, flags, keywords, error_r);
		m->flags = flags;
		m->keywords = keywords;
		if (ret < 0)
			failed = true;
		else if (ret == 0)
			(*gone_r)++;
		else
			changed++;
	}
	/* Flags are mail too: a crash must not bring old ones back. One
	 * fsync per directory, however many files. */
	if (fsync(d.cur_fd) < 0 || (d.new_fd >= 0 && fsync(d.new_fd) < 0)) {
		*error_r = ms_error("fsync %s: %s", box->path, strerror(errno));
		failed = true;
	}
	close(d.cur_fd);
	if (d.new_fd >= 0)
		close(d.new_fd);
	return failed ? -1 : changed;
}

/* A flag change between begin and finish. */
struct ms_flags_pending {
	struct ms_lock lock;
	struct flag_undo *undo;
	size_t n;
	bool newer;		/* the index written is disk, not box->ix */
	struct ms_map disk;
};

static int pend_cmp(const void *a, const void *b)
{
	const struct ms_pend *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* The marker: the names the changed files have now, ascending UIDs. */
static void pend_make(struct mailstore *box, struct ms_map *map,
		      const struct flag_undo *undo, size_t n)
{
	size_t k2 = 0;

	ms_map_pend_clear(map);
	map->pend = xcalloc(n, sizeof(*map->pend));
	for (size_t k = 0; k < n; k++) {
		const struct mailstore_msg *m = &box->msgs[undo[k].idx];
		struct ms_pend *p = &map->pend[k];
		unsigned flags;
		ms_name_flags(m->name, &flags, &p->keywords);
		p->uid = m->uid;
		p->flags = (uint8_t)flags;
		p->where = ms_name_where(m->name, strlen(m->base), m->in_new);
		if ((p->where & MS_WHERE_ODD) != 0)
			p->name = xstrdup(m->name);
	}
	qsort(map->pend, n, sizeof(*map->pend), pend_cmp);
	/* One message listed twice in the changes: one entry. */
	for (size_t k = 0; k < n; k++) {
		if (k2 > 0 && map->pend[k2 - 1].uid == map->pend[k].uid)
			free(map->pend[k].name);
		else
			map->pend[k2++] = map->pend[k];
	}
	map->pend_count = k2;
}

static void pending_free(struct ms_flags_pending **pp)
{
	struct ms_flags_pending *p = *pp;

	if (p == NULL)
		return;
	ms_lock_release(&p->lock);
	ms_map_clear(&p->disk);
	free(p->disk.hdr_ext);
	free(p->undo);
	free(p);
	*pp = NULL;
}

/* The messages of changes[] whose flags change (indexes into changes),
 * or -1 for an invalid idx. */
static long flags_plan(struct mailstore *box,
		       const struct mailstore_flag_change *changes, size_t n,
		       size_t **which_r, const char **error_r)
{
	size_t todo = 0;

	for (size_t k = 0; k < n; k++) {
		if (changes[k].idx >= box->count) {
			*error_r = ms_error("no message %zu", changes[k].idx);
			return -1;
		}
	}
	size_t *which = xcalloc(n + 1, sizeof(*which));
	for (size_t k = 0; k < n; k++)
		if (needs_change(&box->msgs[changes[k].idx],
				 changes[k].flags & MAILSTORE_FLAGS_ALL,
				 changes[k].keywords &
				 ((1u << MAILSTORE_KEYWORDS_MAX) - 1)))
			which[todo++] = k;
	*which_r = which;
	return (long)todo;
}

long mailstore_set_flags_begin(struct mailstore *box,
			       const struct mailstore_flag_change *changes,
			       size_t n, const char **error_r)
{
	size_t *which;

	ms_flags_settle(box);
	long todo = flags_plan(box, changes, n, &which, error_r);
	if (todo <= 0) {
		if (todo == 0)
			free(which);
		return todo;
	}
	struct ms_flags_pending *p = xcalloc(1, sizeof(*p));
	p->lock.fd = -1;
	ms_map_init(&p->disk);
	if (ms_lock_uidlist(box, &p->lock, ms_lock_wait_ms(), error_r) <= 0) {
		free(which);
		pending_free(&p);
		return -1;
	}
	p->n = (size_t)todo;
	p->undo = xcalloc(p->n, sizeof(*p->undo));
	uint64_t old_highest = box->ix.highest_modseq;
	p->newer = disk_newer(box, &p->disk);
	struct ms_map *target = p->newer ? &p->disk : &box->ix;
	/* A writer that died after its index write: its renames first (we
	 * hold the lock, so it is gone), or our marker would replace its
	 * own. Our copy's marker, if any, is older than the file's. */
	if (target->pend_count > 0)
		(void)ms_pending_complete(box, target);
	ms_map_pend_clear(&box->ix);
	assign_modseqs(box, p->newer ? p->disk.highest_modseq : 0, changes,
		       which, p->undo, p->n);
	free(which);
	pend_make(box, target, p->undo, p->n);
	if (write_index(box, p->newer, &p->disk, p->undo, p->n,
			error_r) < 0) {
		undo_all(box, p->undo, p->n, old_highest);
		ms_map_pend_clear(target);
		pending_free(&p);
		return -1;
	}
	box->pending = p;
	return todo;
}

bool mailstore_set_flags_pending(const struct mailstore *box)
{
	return box->pending != NULL;
}

/* The renames, the index without the marker, the lock dropped. How many
 * files were renamed (*gone_r: how many were gone), or -1. */
static long flags_finish(struct mailstore *box, size_t *gone_r,
			 const char **error_r)
{
	struct ms_flags_pending *p = box->pending;
	struct ms_map *target;
	const char *error;

	*gone_r = 0;
	if (p == NULL)
		return 0;
	box->pending = NULL;
	target = p->newer ? &p->disk : &box->ix;
	/* Taken over as stale (we were stopped for minutes): the taker
	 * completed the renames and wrote the index; ours would undo what
	 * others changed since. */
	if (!ms_lock_held(&p->lock)) {
		pending_free(&p);
		*error_r = ms_error("%s: lock taken over before the renames",
				    box->path);
		return -1;
	}
	long ret = rename_all(box, p->undo, p->n, gone_r, error_r);
	if (ret >= 0 && ms_lock_held(&p->lock)) {
		struct ms_stamp st;
		ms_map_pend_clear(target);
		if (ms_index_write(box, target, p->newer ? &st : &box->ix_stamp,
				   &error) < 0) {
			/* The marker stays: the next holder of the lock
			 * finds every file renamed already. */
			*error_r = error;
			ret = -1;
		}
	}
	pending_free(&p);
	return ret;
}

int mailstore_set_flags_finish(struct mailstore *box, const char **error_r)
{
	size_t gone;

	return flags_finish(box, &gone, error_r) < 0 ? -1 : 0;
}

void ms_flags_settle(struct mailstore *box)
{
	size_t gone;
	const char *error;

	(void)flags_finish(box, &gone, &error);
}

long mailstore_set_flags_many(struct mailstore *box,
			      const struct mailstore_flag_change *changes,
			      size_t n, const char **error_r)
{
	size_t gone;

	if (mailstore_set_flags_begin(box, changes, n, error_r) < 0)
		return -1;
	return flags_finish(box, &gone, error_r);
}

int mailstore_msg_set_flags(struct mailstore *box, size_t i, unsigned flags,
			    uint32_t keywords, const char **error_r)
{
	struct mailstore_flag_change ch = { i, flags, keywords };
	size_t gone;

	if (mailstore_set_flags_begin(box, &ch, 1, error_r) < 0 ||
	    flags_finish(box, &gone, error_r) < 0)
		return -1;
	return gone > 0 ? 0 : 1;
}
