/* mailstore_merge: the uidlist's new map, made under the lock by a sync
 * (mailstore_sync.c): vanished files leave it; files the index remembers
 * get their old UIDs back (a uidlist cut short or put back from an old
 * copy); files saved by mailstore_save get the next UIDs in their order;
 * other new files get the next ones in Dovecot's order (the seconds at
 * the start of the name, the microseconds of ".M<usec>", the name); files
 * in new/ move to cur/. No UID is below anything any copy of the map
 * ever gave out. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "mailstore_impl.h"
#include "mem.h"

/* The lowest UID new files may get: nothing any copy of the map ever
 * gave out. */
uint32_t ms_sync_first_new_uid(const struct ms_sync *c)
{
	const struct mailstore *box = c->box;
	uint32_t next = ms_map_next_uid(&box->ul);

	if (box->ix.uidvalidity == box->ul.uidvalidity &&
	    box->ix.nextuid > next)
		next = box->ix.nextuid;
	if (c->cache2.uidvalidity == box->ul.uidvalidity &&
	    c->cache2.nextuid > next)
		next = c->cache2.nextuid;
	return next;
}

struct new_file {
	const struct ms_file *f;
};

static int new_file_cmp(const void *a, const void *b)
{
	const struct ms_file *x = ((const struct new_file *)a)->f;
	const struct ms_file *y = ((const struct new_file *)b)->f;

	return ms_name_sort_cmp(x->name, x->base_len, y->name, y->base_len);
}

static int rec_uid_cmp(const void *a, const void *b)
{
	const struct ms_rec *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* The UID surel-index gave f, or 0. */
static uint32_t remembered_uid(const struct ms_map *const maps[2],
			       const struct ms_hash h[2],
			       const struct ms_file *f)
{
	for (size_t m = 0; m < 2; m++) {
		long j = ms_hash_find(&h[m], f->name, f->base_len, ms_rec_key,
				      maps[m]);
		if (j >= 0)
			return maps[m]->recs[j].uid;
	}
	return 0;
}

/* Files the uidlist lost (cut short, or put back from an old copy) but
 * surel-index remembers get their old UIDs back: a UID is only ever given
 * to one file, so it is still theirs unless the uidlist has it. Returns
 * how many files still need a UID (kept at the front of nf). */
static size_t restore_uids(struct ms_sync *c, struct ms_map *out,
			   struct new_file *nf, size_t n)
{
	const struct ms_map *maps[2] = { &c->box->ix, &c->cache2 };
	struct ms_hash h[2];
	size_t kept = 0, first = out->count;

	for (size_t m = 0; m < 2; m++) {
		ms_hash_init(&h[m], maps[m]->count);
		if (maps[m]->uidvalidity != out->uidvalidity)
			continue;
		for (size_t i = 0; i < maps[m]->count; i++)
			ms_hash_insert(&h[m], maps[m]->recs[i].base,
				       strlen(maps[m]->recs[i].base),
				       (uint32_t)i);
	}
	for (size_t i = 0; i < n; i++) {
		const struct ms_file *f = nf[i].f;
		uint32_t uid = remembered_uid(maps, h, f);
		/* out[0..first) is sorted: a UID held there stays there. */
		struct ms_map head = *out;
		head.count = first;
		if (uid == 0 || ms_map_find(&head, uid) != NULL) {
			nf[kept++] = nf[i];
			continue;
		}
		ms_map_add(out, uid, f->name, f->base_len, "", 0);
	}
	if (out->count > first) {
		qsort(out->recs, out->count, sizeof(*out->recs), rec_uid_cmp);
		c->ul_changed = true;
	}
	for (size_t m = 0; m < 2; m++)
		ms_hash_deinit(&h[m]);
	return kept;
}

/* Gives the files that have no UID yet the next ones, in Dovecot's order. */
static int assign_uids(struct ms_sync *c, struct ms_map *out,
		       const char **error_r)
{
	const struct ms_scan *sc = &c->scan;
	struct new_file *nf = xcalloc(sc->count + 1, sizeof(*nf));
	size_t n = 0;
	struct ms_hash h;

	ms_hash_init(&h, out->count);
	for (size_t i = 0; i < out->count; i++)
		ms_hash_insert(&h, out->recs[i].base,
			       strlen(out->recs[i].base), (uint32_t)i);
	for (size_t i = 0; i < sc->count; i++)
		if (ms_hash_find(&h, sc->files[i].name, sc->files[i].base_len,
				 ms_rec_key, out) < 0)
			nf[n++].f = &sc->files[i];
	ms_hash_deinit(&h);
	n = restore_uids(c, out, nf, n);
	qsort(nf, n, sizeof(*nf), new_file_cmp);
	uint32_t next = ms_sync_first_new_uid(c);
	if (out->count > 0 && out->recs[out->count - 1].uid >= next)
		next = out->recs[out->count - 1].uid + 1;
	if (n > 0 && (uint64_t)next + n >= UINT32_MAX) {
		free(nf);
		*error_r = ms_error("%s: UIDs exhausted", c->box->path);
		return -1;
	}
	if (next < c->assigned_from)
		c->assigned_from = next;
	for (size_t i = 0; i < n; i++)
		ms_map_add(out, next++, nf[i].f->name, nf[i].f->base_len, "",
			   0);
	out->nextuid = next;
	c->ul_changed |= n > 0;
	free(nf);
	return 0;
}

/* From this many files in new/ on, an empty cur/ trades places with
 * new/ (exchange_dirs) instead of each file being moved. */
#define EXCHANGE_MIN 64

/* The first open of a folder filled by delivery: cur/ is empty, new/
 * holds many files. Moving them one by one costs a rename each (10-20
 * us: most of such an open, Dovecot's too); new/ and cur/ trade places
 * instead, in one atomic renameat2(RENAME_EXCHANGE): every file is in
 * cur/ at once, and new/ is the old, empty cur/ (a delivery at that
 * moment lands in one or the other: either is seen). The names get no
 * ":2,": a name without info has no flags, for Dovecot and mutt as for
 * us, and a flag change adds it. Only when both directories have the
 * same owner and mode (deliveries must still write new/). If neither
 * changed meanwhile (the same stamps, traded), the scan's stamps go with
 * their directories and stay trusted. true when done. */
static bool exchange_dirs(struct ms_sync *c, size_t in_new)
{
	struct mailstore *box = c->box;
	struct ms_scan *sc = &c->scan;
	struct stat n, k;
	struct ms_stamp now_new, now_cur;

	if (sc->cur_entries != 0 || in_new < EXCHANGE_MIN)
		return false;
	int fd = open(box->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool ok = fstatat(fd, "new", &n, AT_SYMLINK_NOFOLLOW) == 0 &&
		fstatat(fd, "cur", &k, AT_SYMLINK_NOFOLLOW) == 0 &&
		S_ISDIR(n.st_mode) && S_ISDIR(k.st_mode) &&
		n.st_mode == k.st_mode && n.st_uid == k.st_uid &&
		n.st_gid == k.st_gid && n.st_dev == k.st_dev &&
		n.st_ino == sc->new_st.ino && k.st_ino == sc->cur_st.ino &&
		renameat2(fd, "new", fd, "cur", RENAME_EXCHANGE) == 0;
	close(fd);
	if (!ok)
		return false;
	for (size_t i = 0; i < sc->count; i++) {
		struct ms_file *f = &sc->files[i];
		if (f->in_new) {
			f->in_new = false;
			f->moved = true;
		}
	}
	if (ms_stamp_get(box->new_path, &now_new) == 0 &&
	    ms_stamp_get(box->cur_path, &now_cur) == 0 &&
	    ms_stamp_eq(&now_new, &sc->cur_st) &&
	    ms_stamp_eq(&now_cur, &sc->new_st)) {
		sc->new_st = now_new;
		sc->cur_st = now_cur;
	} else {
		c->dirs_changed = true;
	}
	return true;
}

/* Moves one file from new/ to cur/, adding ":2," to a name without
 * info (Dovecot's rule). */
static void move_one(struct ms_sync *c, int new_fd, int cur_fd,
		     struct ms_file *f)
{
	size_t len = strlen(f->name);
	bool info = strchr(f->name, ':') != NULL;
	char *to_name = xmalloc(len + 4);

	memcpy(to_name, f->name, len + 1);
	if (!info)
		memcpy(to_name + len, ":2,", 4);
	/* ENOENT: someone else moved it already. Other errors (a full
	 * disk, a read-only Maildir) leave it in new/. */
	int ret = renameat(new_fd, f->name, cur_fd, to_name);
	if (ret == 0 || errno == ENOENT) {
		free(f->name);
		f->name = to_name;
		f->in_new = false;
		f->moved = ret == 0;
		c->dirs_changed = true;
	} else {
		free(to_name);
	}
}

/* Moves the files from new/ to cur/. */
static void move_new(struct ms_sync *c)
{
	struct mailstore *box = c->box;
	size_t in_new = 0;

	for (size_t i = 0; i < c->scan.count; i++)
		in_new += c->scan.files[i].in_new;
	if (in_new == 0 || exchange_dirs(c, in_new))
		return;
	int new_fd = open(box->new_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int cur_fd = open(box->cur_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (size_t i = 0; i < c->scan.count && new_fd >= 0 && cur_fd >= 0;
	     i++)
		if (c->scan.files[i].in_new)
			move_one(c, new_fd, cur_fd, &c->scan.files[i]);
	if (new_fd >= 0)
		close(new_fd);
	if (cur_fd >= 0)
		close(cur_fd);
}

/* Files mailstore_save put into cur/: the next UIDs, in their order,
 * before any other new file. */
static int preassign(struct ms_sync *c, struct ms_map *out,
		     const char **error_r)
{
	uint32_t next = ms_sync_first_new_uid(c);

	if (c->save_count == 0)
		return 0;
	if (out->count > 0 && out->recs[out->count - 1].uid >= next)
		next = out->recs[out->count - 1].uid + 1;
	if ((uint64_t)next + c->save_count >= UINT32_MAX) {
		*error_r = ms_error("%s: UIDs exhausted", c->box->path);
		return -1;
	}
	c->save_first = next;
	c->assigned_from = next;
	for (size_t i = 0; i < c->save_count; i++)
		ms_map_add(out, next++, c->saves[i], strlen(c->saves[i]), "",
			   0);
	out->nextuid = next;
	c->ul_changed = true;
	return 0;
}

/* Under the lock: the uidlist loses vanished files and gains new ones. */
int ms_sync_merge(struct ms_sync *c, const char **error_r)
{
	struct mailstore *box = c->box;
	struct ms_map out;

	ms_map_init(&out);
	out.version = 3;
	out.uidvalidity = box->ul.uidvalidity;
	out.nextuid = ms_map_next_uid(&box->ul);
	ms_map_copy_header(&out, &box->ul);
	for (size_t i = 0; i < box->ul.count; i++) {
		const struct ms_rec *r = &box->ul.recs[i];
		if (ms_sync_gone(c, r->uid) ||
		    (c->scan.stable && ms_scan_find(&c->scan, r->base) < 0)) {
			c->ul_changed = true;
			continue;
		}
		ms_map_add(&out, r->uid, r->base, strlen(r->base), r->ext,
			   strlen(r->ext));
	}
	if (preassign(c, &out, error_r) < 0 ||
	    assign_uids(c, &out, error_r) < 0) {
		ms_map_clear(&out);
		free(out.hdr_ext);
		return -1;
	}
	if (box->ul.version != 3 || out.guid[0] == '\0') {
		if (out.guid[0] == '\0')
			ms_make_guid(out.guid);
		c->ul_changed = true;
	}
	ms_map_clear(&box->ul);
	free(box->ul.hdr_ext);
	box->ul = out;
	move_new(c);
	return 0;
}
