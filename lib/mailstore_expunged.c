/* mailstore_expunged: expunges. mailstore_expunge takes the files out of
 * the folder (into tmp/, deleted later: see MS_LIMBO_PREFIX), and the
 * index's record of expunges, for QRESYNC (RFC 7162), says which UIDs
 * left the folder after a given MODSEQ, whoever removed them (IMAP,
 * POP3, Dovecot, mutt deleting a file).
 *
 * Every sync that sees UIDs leave the uidlist records them as one range
 * list with a new MODSEQ (so HIGHESTMODSEQ moves). A range may bridge
 * UIDs that still exist: they are left out when the record is read, and
 * if they go later they get a range of their own with a later MODSEQ, so
 * the bridge never makes a reply miss anything. The record is bounded:
 * past MS_EXP_MAX ranges the oldest half become one range with the
 * highest MODSEQ among them, which may name UIDs expunged earlier (RFC
 * 7162 allows that: the client ignores UIDs it does not know) but never
 * leaves one out. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "mailstore_impl.h"
#include "mem.h"

/* A reply of more single UIDs than this is refused (the ranges form has
 * no such limit). */
#define EXP_UIDS_MAX MS_MSGS_MAX

void ms_exp_add(struct ms_map *map, uint32_t first, uint32_t last,
		uint64_t modseq)
{
	struct ms_exp *prev = map->exp_count > 0 ?
		&map->exp[map->exp_count - 1] : NULL;

	if (prev != NULL && prev->modseq == modseq && prev->last < first &&
	    prev->last + 1 == first) {
		prev->last = last;
		return;
	}
	map->exp = xreallocarray(map->exp, map->exp_count + 1,
				 sizeof(*map->exp));
	map->exp[map->exp_count++] = (struct ms_exp){ first, last, modseq };
}

void ms_exp_copy(struct ms_map *to, const struct ms_map *from)
{
	free(to->exp);
	to->exp = NULL;
	to->exp_count = 0;
	if (from->exp_count == 0)
		return;
	to->exp = xreallocarray(NULL, from->exp_count, sizeof(*to->exp));
	memcpy(to->exp, from->exp, from->exp_count * sizeof(*to->exp));
	to->exp_count = from->exp_count;
}

void ms_exp_compact(struct ms_map *map)
{
	if (map->exp_count <= MS_EXP_MAX)
		return;
	size_t k = map->exp_count - MS_EXP_MAX / 2 + 1;
	struct ms_exp merged = map->exp[k - 1];

	for (size_t i = 0; i < k; i++) {
		if (map->exp[i].first < merged.first)
			merged.first = map->exp[i].first;
		if (map->exp[i].last > merged.last)
			merged.last = map->exp[i].last;
	}
	map->exp[0] = merged;
	memmove(map->exp + 1, map->exp + k,
		(map->exp_count - k) * sizeof(*map->exp));
	map->exp_count -= k - 1;
}

size_t ms_exp_record(struct ms_map *ix, const struct ms_map *old,
		     const struct ms_map *ul, uint64_t modseq)
{
	uint32_t first = 0, last = 0;
	size_t j = 0, n = 0, between = 0;

	for (size_t i = 0; i < old->count; i++) {
		uint32_t uid = old->recs[i].uid;
		/* between: UIDs of ul after the last gone one, which a range
		 * may bridge when they are all there is in the gap. */
		while (j < ul->count && ul->recs[j].uid < uid) {
			between += first != 0 && ul->recs[j].uid > last;
			j++;
		}
		if (j < ul->count && ul->recs[j].uid == uid)
			continue;
		n++;
		if (first != 0 && between == (size_t)(uid - last - 1)) {
			last = uid;
		} else {
			if (first != 0 && ix != NULL)
				ms_exp_add(ix, first, last, modseq);
			first = last = uid;
		}
		between = 0;
	}
	if (first != 0 && ix != NULL)
		ms_exp_add(ix, first, last, modseq);
	return n;
}

size_t ms_exp_pending(const struct ms_map *old, const struct ms_map *ul)
{
	return ms_exp_record(NULL, old, ul, 0);
}

static int range_cmp(const void *a, const void *b)
{
	const struct mailstore_uid_range *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

/* The ranges after since, sorted and merged, below uidnext. */
static size_t select_ranges(const struct mailstore *box, uint64_t since,
			    struct mailstore_uid_range *out)
{
	uint32_t top = mailstore_uidnext(box) - 1;
	size_t n = 0, m = 0;

	for (size_t i = 0; i < box->ix.exp_count; i++) {
		const struct ms_exp *e = &box->ix.exp[i];
		if (e->modseq > since && e->first <= top)
			out[n++] = (struct mailstore_uid_range){
				e->first, e->last < top ? e->last : top };
	}
	qsort(out, n, sizeof(*out), range_cmp);
	for (size_t i = 0; i < n; i++) {
		if (m > 0 && out[i].first <= out[m - 1].last + 1ULL) {
			if (out[i].last > out[m - 1].last)
				out[m - 1].last = out[i].last;
			continue;
		}
		out[m++] = out[i];
	}
	return m;
}

/* The first message with a UID >= uid. */
static size_t msg_lower_bound(const struct mailstore *box, uint32_t uid)
{
	size_t lo = 0, hi = box->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (box->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Cuts the listed messages out of the ranges. */
static size_t subtract_msgs(const struct mailstore *box,
			    const struct mailstore_uid_range *in, size_t n,
			    struct mailstore_uid_range *out)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t from = in[i].first;
		size_t k = msg_lower_bound(box, from);
		for (; k < box->count && box->msgs[k].uid <= in[i].last; k++) {
			uint32_t uid = box->msgs[k].uid;
			if (uid > from)
				out[m++] = (struct mailstore_uid_range){
					from, uid - 1 };
			from = uid + 1;
		}
		if (from != 0 && from <= in[i].last)
			out[m++] = (struct mailstore_uid_range){
				from, in[i].last };
	}
	return m;
}

int mailstore_expunged_since_ranges(struct mailstore *box, uint64_t since,
				    struct mailstore_uid_range **ranges_r,
				    size_t *count_r, const char **error_r)
{
	size_t max = box->ix.exp_count + 1;
	struct mailstore_uid_range *sel = xcalloc(max, sizeof(*sel));
	size_t n = select_ranges(box, since, sel);
	/* Each listed message splits at most one range in two. */
	struct mailstore_uid_range *out = xcalloc(n + box->count + 1,
						  sizeof(*out));

	(void)error_r;
	*count_r = subtract_msgs(box, sel, n, out);
	*ranges_r = out;
	free(sel);
	return 0;
}

int mailstore_expunged_since(struct mailstore *box, uint64_t since,
			     uint32_t **uids_r, size_t *count_r,
			     const char **error_r)
{
	struct mailstore_uid_range *r;
	size_t n, total = 0;

	if (mailstore_expunged_since_ranges(box, since, &r, &n, error_r) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		total += (size_t)(r[i].last - r[i].first) + 1;
		if (total > EXP_UIDS_MAX) {
			free(r);
			*error_r = ms_error("%s: too many expunged UIDs to "
					    "list one by one", box->path);
			return -1;
		}
	}
	uint32_t *uids = xcalloc(total + 1, sizeof(*uids));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		for (uint64_t u = r[i].first; u <= r[i].last; u++)
			uids[k++] = (uint32_t)u;
	free(r);
	*uids_r = uids;
	*count_r = k;
	return 0;
}

static int uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The directories of one expunge, opened once: each step names a file
 * in its directory, with no path to walk. */
struct exp_dirs {
	struct mailstore *box;
	int cur_fd;
	int new_fd;		/* -1 until a file in new/ needs it */
	int tmp_fd;		/* -1: files are deleted at once */
	bool cur_used;
	bool new_used;
};

static int exp_dir_fd(struct exp_dirs *d, bool in_new)
{
	if (!in_new) {
		d->cur_used = true;
		return d->cur_fd;
	}
	if (d->new_fd < 0)
		d->new_fd = open(d->box->new_path,
				 O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d->new_used = true;
	return d->new_fd;
}

/* Takes name out of the directory dfd: into tmp/ as lname (its blocks
 * are freed later, by ms_limbo_purge), or deleted where that cannot be
 * done (no tmp/, another file system). 1 moved, 0 deleted, -1 errno. */
static int limbo_take(struct exp_dirs *d, int dfd, const char *name,
		      const char *lname)
{
	if (d->tmp_fd >= 0 && renameat(dfd, name, d->tmp_fd, lname) == 0)
		return 1;
	if (d->tmp_fd >= 0 && errno == ENOENT)
		return -1;
	return unlinkat(dfd, name, 0) == 0 ? 0 : -1;
}

/* Message m leaves the Maildir. 1 done (*limbo_r: its name in tmp/, or
 * NULL when deleted at once), 0 already gone, -1 error. Follows a
 * rename by someone else. */
static int limbo_msg(struct exp_dirs *d, const struct mailstore_msg *m,
		     char **limbo_r, const char **error_r)
{
	struct mailstore *box = d->box;
	char lname[64], *name = NULL;
	bool in_new = m->in_new;

	*limbo_r = NULL;
	snprintf(lname, sizeof(lname), MS_LIMBO_PREFIX "%u.%u",
		 box->ul.uidvalidity, m->uid);
	for (int tries = 0; tries < 3; tries++) {
		int dfd = exp_dir_fd(d, in_new);
		int ret = dfd < 0 ? -1 :
			limbo_take(d, dfd, name != NULL ? name : m->name, lname);
		int saved = errno;
		free(name);
		name = NULL;
		if (ret >= 0) {
			if (ret > 0)
				*limbo_r = xstrdup(lname);
			return 1;
		}
		if (saved != ENOENT) {
			*error_r = ms_error("expunge %s: %s", m->name,
					    strerror(saved));
			return -1;
		}
		if ((ret = ms_find_base(box, m->base, &name, &in_new,
					error_r)) <= 0)
			return ret;
	}
	free(name);
	return 0;
}

static void limbo_add(struct mailstore *box, char *name)
{
	if (box->limbo_count == 0)
		clock_gettime(CLOCK_MONOTONIC_COARSE, &box->limbo_since);
	box->limbo = xreallocarray(box->limbo, box->limbo_count + 1,
				   sizeof(*box->limbo));
	box->limbo[box->limbo_count++] = name;
}

void ms_limbo_purge(struct mailstore *box, bool all)
{
	struct timespec now;

	if (box->limbo_count == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	if (!all && now.tv_sec - box->limbo_since.tv_sec < MS_LIMBO_SECS)
		return;
	char *tmp = ms_path_join(box->path, "tmp");
	int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(tmp);
	for (size_t i = 0; i < box->limbo_count; i++) {
		if (fd >= 0)
			(void)unlinkat(fd, box->limbo[i], 0);
		free(box->limbo[i]);
	}
	if (fd >= 0)
		close(fd);
	xfree(&box->limbo);
	box->limbo_count = 0;
}

/* Makes the departures durable: a file coming back after a crash would
 * get a new UID (a POP3 client would fetch a message it deleted). tmp/
 * is not synced: a move into it that a crash loses leaves the file's
 * blocks to fsck, never the message in the folder. */
static int exp_dirs_close(struct exp_dirs *d, const char **error_r)
{
	int ret = 0;

	if ((d->cur_used && fsync(d->cur_fd) < 0) ||
	    (d->new_used && d->new_fd >= 0 && fsync(d->new_fd) < 0)) {
		*error_r = ms_error("fsync %s: %s", d->box->path,
				    strerror(errno));
		ret = -1;
	}
	if (d->cur_fd >= 0)
		close(d->cur_fd);
	if (d->new_fd >= 0)
		close(d->new_fd);
	if (d->tmp_fd >= 0)
		close(d->tmp_fd);
	return ret;
}

/* Takes the files of uids (found in the list) out of the Maildir into
 * gone (sorted); -1 on the first file that cannot be removed, after
 * which what is gone so far must still leave the uidlist. */
static int expunge_files(struct mailstore *box, const uint32_t *uids,
			 size_t n, uint32_t *gone, size_t *gone_count_r,
			 uint64_t *bytes_r, uint64_t *count_r,
			 const char **error_r)
{
	char *tmp = ms_path_join(box->path, "tmp");
	struct exp_dirs d = {
		box, open(box->cur_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC),
		-1, open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC), false,
		false
	};
	size_t i;
	int ret = 0;

	free(tmp);
	*gone_count_r = 0;
	if (d.cur_fd < 0) {
		*error_r = ms_error("open %s: %s", box->cur_path,
				    strerror(errno));
		ret = -1;
	}
	for (size_t k = 0; k < n && ret >= 0; k++) {
		if (!mailstore_find_uid(box, uids[k], &i))
			continue;
		struct mailstore_msg *m = &box->msgs[i];
		char *limbo;
		if ((ret = limbo_msg(&d, m, &limbo, error_r)) < 0)
			break;
		gone[(*gone_count_r)++] = m->uid;
		if (limbo != NULL)
			limbo_add(box, limbo);
		if (ret > 0) {
			*bytes_r += m->size;
			(*count_r)++;
		}
	}
	qsort(gone, *gone_count_r, sizeof(*gone), uid_cmp);
	if (exp_dirs_close(&d, error_r) < 0)
		return -1;
	return ret < 0 ? -1 : 0;
}

/* Under the lock: a sync in between must not see the uidlist before the
 * files are gone, nor drop them from it before. */
int mailstore_expunge(struct mailstore *box, const uint32_t *uids, size_t n,
		      uint64_t *bytes_r, uint64_t *count_r,
		      const char **error_r)
{
	uint64_t bytes = 0, count = 0;
	struct ms_lock lk = { .fd = -1 };
	uint32_t *gone = xcalloc(n + 1, sizeof(*gone));
	size_t gone_count = 0;
	const char *error = NULL;
	int ret = 0;

	ms_flags_settle(box);
	if (n > 0) {
		if (ms_lock_uidlist(box, &lk, ms_lock_wait_ms(), error_r) <= 0)
			ret = -1;
		else if (expunge_files(box, uids, n, gone, &gone_count, &bytes,
				       &count, &error) < 0)
			ret = -1;
		if (lk.fd >= 0 && ms_sync_expunged(box, &lk, gone, gone_count,
						    error_r) < 0)
			ret = -1;
		else if (error != NULL)
			*error_r = error;
		ms_lock_release(&lk);
	}
	free(gone);
	if (bytes_r != NULL)
		*bytes_r = bytes;
	if (count_r != NULL)
		*count_r = count;
	return ret;
}
