/* mailstore_scan: reading new/ and cur/ of a folder into a table of
 * files by base name. A scan is "stable" when no directory changed while
 * it was read: only then may a file missing from it be taken as gone
 * (mutt renames files while we read; a rename seen neither under the old
 * nor the new name must not look like an expunge). */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "mailstore_impl.h"
#include "mem.h"

/* A scan is retried while the directories change under it. */
#define SCAN_TRIES 3
/* Directory mtimes this recent may hide a change made in the same clock
 * tick: such a directory is read again next time. */
#define TRUST_SECS 2

const char *ms_scan_key(const void *ctx, uint32_t idx, size_t *len_r)
{
	const struct ms_scan *sc = ctx;

	*len_r = sc->files[idx].base_len;
	return sc->files[idx].name;
}

void ms_scan_clear(struct ms_scan *sc)
{
	for (size_t i = 0; i < sc->count; i++)
		free(sc->files[i].name);
	free(sc->files);
	sc->files = NULL;
	sc->count = sc->alloc = 0;
	ms_hash_deinit(&sc->hash);
	sc->done = false;
}

static int scan_dir(const char *dir, bool in_new, struct ms_scan *sc,
		    const char **error_r)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL) {
		*error_r = ms_error("opendir %s: %s", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (!ms_name_valid(e->d_name))
			continue;
		if (sc->count >= MS_MSGS_MAX) {
			closedir(d);
			*error_r = ms_error("%s: too many files", dir);
			return -1;
		}
		if (sc->count == sc->alloc) {
			sc->alloc = sc->alloc < 256 ? 256 : sc->alloc * 2;
			sc->files = xreallocarray(sc->files, sc->alloc,
						  sizeof(*sc->files));
		}
		struct ms_file *f = &sc->files[sc->count++];
		f->name = xstrdup(e->d_name);
		f->base_len = (uint16_t)ms_name_base_len(f->name);
		f->in_new = in_new;
		f->moved = false;
	}
	closedir(d);
	return 0;
}

/* One base once: a file seen in new/ and then in cur/ was moved while we
 * read; cur/ wins. */
static void scan_index(struct ms_scan *sc)
{
	size_t out = 0;

	ms_hash_init(&sc->hash, sc->count);
	for (size_t i = 0; i < sc->count; i++) {
		struct ms_file *f = &sc->files[i];
		long j = ms_hash_find(&sc->hash, f->name, f->base_len, ms_scan_key,
				      sc);
		if (j < 0) {
			sc->files[out] = *f;
			ms_hash_insert(&sc->hash, sc->files[out].name,
				       f->base_len, (uint32_t)out);
			out++;
			continue;
		}
		struct ms_file *kept = &sc->files[j];
		if (kept->in_new && !f->in_new) {
			struct ms_file tmp = *kept;
			*kept = *f;
			*f = tmp;
		}
		free(f->name);
	}
	sc->count = out;
}

static int scan_stat(struct mailstore *box, struct ms_stamp *n,
		     struct ms_stamp *c, const char **error_r)
{
	if (ms_stamp_get(box->new_path, n) < 0 ||
	    ms_stamp_get(box->cur_path, c) < 0 || !n->exists || !c->exists) {
		*error_r = ms_error("%s: new/ or cur/ missing or unreadable",
				    box->path);
		return -1;
	}
	return 0;
}

static bool ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
		(a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* new/ first, then cur/: a file moving from new/ to cur/ meanwhile is
 * seen at least in cur/. The scan is stable (it may drop vanished files)
 * when neither directory changed while it was read: same stamps before
 * and after, and mtimes from an earlier clock tick than the start (file
 * times come from the coarse clock: a change in the tick of the last one
 * would not show). */
int ms_scan_dirs(struct mailstore *box, struct ms_scan *sc,
		 const char **error_r)
{
	struct ms_stamp n2, c2;
	struct timespec start;
	time_t now = 0;

	for (int i = 0; i < SCAN_TRIES; i++) {
		if (i > 0)
			nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
		ms_scan_clear(sc);
		clock_gettime(CLOCK_REALTIME_COARSE, &start);
		now = start.tv_sec;
		if (scan_stat(box, &sc->new_st, &sc->cur_st, error_r) < 0 ||
		    scan_dir(box->new_path, true, sc, error_r) < 0 ||
		    scan_dir(box->cur_path, false, sc, error_r) < 0 ||
		    scan_stat(box, &n2, &c2, error_r) < 0) {
			ms_scan_clear(sc);
			return -1;
		}
		sc->stable = ms_stamp_eq(&n2, &sc->new_st) &&
			ms_stamp_eq(&c2, &sc->cur_st) &&
			ts_before(&sc->new_st.mtime, &start) &&
			ts_before(&sc->cur_st.mtime, &start);
		if (sc->stable)
			break;
	}
	sc->trusted = sc->stable &&
		sc->new_st.mtime.tv_sec <= now - TRUST_SECS &&
		sc->cur_st.mtime.tv_sec <= now - TRUST_SECS;
	scan_index(sc);
	return 0;
}

long ms_scan_find(const struct ms_scan *sc, const char *base)
{
	return ms_hash_find(&sc->hash, base, strlen(base), ms_scan_key, sc);
}
