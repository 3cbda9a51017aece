/* mailstore_build: the message list of one sync, from the uidlist (which
 * files have which UIDs), the scan (where the files are, with which
 * flags) and the cache (surel-index): sizes come from the name, the
 * uidlist's W and S, the cache, or the file itself, read once; MODSEQs
 * move on whenever flags change. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "mailstore_impl.h"
#include "mem.h"

/* The cached record of (uid, base): ours, or surel-index's. */
static const struct ms_rec *cache_find(const struct ms_sync *c,
				       const struct ms_rec *r)
{
	const struct mailstore *box = c->box;
	const struct ms_map *maps[2] = { &box->ix, &c->cache2 };

	for (size_t i = 0; i < 2; i++) {
		if (maps[i]->uidvalidity != box->ul.uidvalidity)
			continue;
		const struct ms_rec *x = ms_map_find(maps[i], r->uid);
		if (x != NULL && strcmp(x->base, r->base) == 0)
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

/* Sizes and mtime of rec: from the name, the uidlist, the cache, or the
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
		return 1;
	}
	uint64_t size = 0;
	if (ms_file_measure(in_new ? dfd->new_fd : dfd->cur_fd, name, !have_w,
			    &size, &rec->vsize, &rec->mtime) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!have_s)
		rec->size = size;
	c->dirty = true;
	return 1;
}

static void set_modseq(struct ms_sync *c, struct ms_rec *rec,
		       const struct ms_rec *cache)
{
	if (cache != NULL && cache->flags == rec->flags &&
	    cache->keywords == rec->keywords) {
		rec->modseq = cache->modseq;
		return;
	}
	/* A new message, or one whose flags someone else changed. A store
	 * whose index is being rebuilt gives all it finds one MODSEQ. */
	if (cache != NULL || !c->box->ix_rebuild)
		c->ix.highest_modseq++;
	rec->modseq = c->ix.highest_modseq;
	c->dirty = true;
}

static void add_msg(struct ms_sync *c, const struct ms_rec *rec,
		    const char *name, bool in_new)
{
	struct mailstore_msg *m = &c->msgs[c->count++];
	const char *p3;
	size_t p3len;

	m->uid = rec->uid;
	m->base = rec->base;
	m->name = xstrdup(name);
	m->in_new = in_new;
	m->flags = rec->flags;
	m->keywords = rec->keywords;
	m->size = rec->size;
	m->vsize = rec->vsize;
	m->mtime = rec->mtime;
	m->modseq = rec->modseq;
	/* Dovecot: an empty P means "the base name". */
	m->pop3_uidl = NULL;
	if (ms_ext_find(rec->ext, 'P', &p3, &p3len))
		m->pop3_uidl = p3len == 0 ? xstrdup(rec->base) :
			xstrndup(p3, p3len);
}

/* Where message r is: the scan, or (when the scan raced with renames)
 * where it was before. NULL when it is gone. */
static const char *locate(const struct ms_sync *c, const struct ms_rec *r,
			  bool *in_new_r)
{
	long f = ms_scan_find(&c->scan, r->base);
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

static int build_one(struct ms_sync *c, const struct ms_rec *r,
		     const struct dirfds *dfd, const char **error_r)
{
	bool in_new;
	const char *name = locate(c, r, &in_new);
	unsigned flags;

	if (name == NULL)
		return 0;
	const struct ms_rec *cache = cache_find(c, r);
	struct ms_rec *rec = ms_map_add(&c->ix, r->uid, r->base,
					strlen(r->base), r->ext,
					strlen(r->ext));
	ms_name_flags(name, &flags, &rec->keywords);
	rec->flags = (uint8_t)flags;
	int ret = fill_sizes(c, rec, cache, name, in_new, dfd);
	if (ret == 0 && (name = follow(c, r->base, &in_new)) != NULL) {
		ms_name_flags(name, &flags, &rec->keywords);
		rec->flags = (uint8_t)flags;
		ret = fill_sizes(c, rec, cache, name, in_new, dfd);
	}
	if (ret <= 0) {
		/* Gone since the scan (or unreadable): not listed now. */
		c->ix.count--;
		free(rec->base);
		free(rec->ext);
		if (ret < 0)
			*error_r = ms_error("%s: %s", name, strerror(errno));
		return ret;
	}
	set_modseq(c, rec, cache);
	add_msg(c, rec, name, in_new);
	return 0;
}

/* The new list: every message of the uidlist that has a file. */
int ms_build(struct ms_sync *c, const char **error_r)
{
	struct mailstore *box = c->box;
	const struct ms_map *ul = &box->ul;
	struct dirfds dfd = {
		open(box->new_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC),
		open(box->cur_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
	};
	int ret = 0;

	ms_map_init(&c->ix);
	c->ix.uidvalidity = ul->uidvalidity;
	c->ix.nextuid = ms_sync_first_new_uid(c);
	ms_map_copy_header(&c->ix, ul);
	c->ix.highest_modseq = box->ix.highest_modseq;
	if (c->cache2.highest_modseq > c->ix.highest_modseq)
		c->ix.highest_modseq = c->cache2.highest_modseq;
	if (box->ix_rebuild && c->ix.highest_modseq == 0)
		c->ix.highest_modseq = ul->count > 0 ?
			(uint64_t)time(NULL) : 1;
	c->msgs = xcalloc(ul->count + 1, sizeof(*c->msgs));
	if (dfd.new_fd < 0 || dfd.cur_fd < 0) {
		*error_r = ms_error("open %s: %s", box->path, strerror(errno));
		ret = -1;
	}
	for (size_t i = 0; i < ul->count && ret == 0; i++)
		ret = build_one(c, &ul->recs[i], &dfd, error_r);
	if (dfd.new_fd >= 0)
		close(dfd.new_fd);
	if (dfd.cur_fd >= 0)
		close(dfd.cur_fd);
	return ret;
}

void ms_build_discard(struct ms_sync *c)
{
	ms_msgs_free(c->msgs, c->count);
	c->msgs = NULL;
	c->count = 0;
	ms_map_clear(&c->ix);
	free(c->ix.hdr_ext);
	c->ix.hdr_ext = NULL;
	c->dirty = false;
}
