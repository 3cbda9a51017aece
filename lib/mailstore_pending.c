/* mailstore_pending: completing a flag change whose writer died between
 * its index write and its renames.
 *
 * A flag change (mailstore_flags.c) writes surel-index with the new flags
 * and MODSEQs and a list of the changed messages' file names of before
 * the change (the "renames pending" marker), fsync()ed, before it renames
 * a file: from then on the index is the truth for that change, and imapd
 * tells its client OK. If the writer dies before it rewrote the index
 * without the marker, the next holder of the uidlist lock (the writer
 * held it from the index write on, so a holder that sees the marker knows
 * the writer is gone) does the renames instead:
 *   - a file still under its name of before gets the index's flags (the
 *     name is made from the recorded flags, keywords and place, or is
 *     recorded whole when it could not be made: unknown letters);
 *   - a file under another name (renamed already: by the writer before
 *     it died, or to something else by mutt or Dovecot meanwhile) keeps
 *     it: a rename by someone else is a change of its own, which the
 *     sync then finds and gives a MODSEQ of its own;
 *   - a file that is gone stays gone (an expunge).
 * No MODSEQ is given here: the files come to agree with the index, whose
 * MODSEQs they then keep. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mailstore_impl.h"

int ms_pend_old_name(const struct ms_pend *p, const struct ms_rec *rec,
		     char *out, size_t outsize)
{
	if (p->name != NULL) {
		size_t len = strlen(p->name);
		/* The base is the message's identity: a name of another
		 * base is not this message's. */
		if (len >= outsize || ms_name_base_len(p->name) !=
		    strlen(rec->base) ||
		    strncmp(p->name, rec->base, strlen(rec->base)) != 0)
			return -1;
		memcpy(out, p->name, len + 1);
		return 0;
	}
	struct ms_rec old = *rec;
	old.flags = p->flags;
	old.keywords = p->keywords;
	old.where = p->where;
	return ms_rec_name(&old, out, outsize);
}

/* Renames p's file from its old name to one with rec's flags. */
static bool complete_one(int dfd, const struct ms_pend *p,
			 const struct ms_rec *rec)
{
	char old[MS_BASE_MAX + 1], name[MS_BASE_MAX + 1];

	if (dfd < 0 || ms_pend_old_name(p, rec, old, sizeof(old)) < 0 ||
	    ms_name_set_flags(old, rec->flags, rec->keywords, name,
			      sizeof(name)) < 0 ||
	    strcmp(old, name) == 0)
		return false;
	/* ENOENT: renamed by someone, or gone; either way not ours. */
	return renameat(dfd, old, dfd, name) == 0;
}

size_t ms_pending_complete(struct mailstore *box, struct ms_map *map)
{
	int cur_fd = open(box->cur_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int new_fd = -1;
	size_t done = 0, done_new = 0;

	for (size_t i = 0; i < map->pend_count; i++) {
		const struct ms_pend *p = &map->pend[i];
		const struct ms_rec *rec = ms_map_find(map, p->uid);
		bool in_new = (p->where & MS_WHERE_NEW) != 0;
		if (rec == NULL)
			continue;	/* expunged since */
		if (in_new && new_fd < 0)
			new_fd = open(box->new_path,
				      O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (complete_one(in_new ? new_fd : cur_fd, p, rec)) {
			done++;
			done_new += in_new;
		}
	}
	/* The renames must be durable before the marker goes: the index
	 * without it says the files carry its flags. */
	if (done > done_new && cur_fd >= 0)
		(void)fsync(cur_fd);
	if (done_new > 0)
		(void)fsync(new_fd);
	if (cur_fd >= 0)
		close(cur_fd);
	if (new_fd >= 0)
		close(new_fd);
	ms_map_pend_clear(map);
	return done;
}

/* A sync that finds the marker (see ms_sync_pending in mailstore_impl.h). */
int ms_sync_pending(struct ms_sync *c, const char **error_r)
{
	struct ms_map *latest = c->cache2_loaded ? &c->cache2 : &c->box->ix;

	if (latest->pend_count == 0 || c->lock_failed)
		return 0;
	if (c->lock.fd < 0) {
		int ret = ms_lock_uidlist(c->box, &c->lock, ms_lock_wait_ms(),
					  error_r);
		if (ret > 0)
			return 1;
		if (ret == 0)
			return -1;
		c->lock_failed = true;
		return 0;
	}
	(void)ms_pending_complete(c->box, latest);
	c->pend_done = true;
	c->dirs_changed = true;
	/* The names of the scan, if any, are those of before. */
	ms_build_discard(c);
	c->scan.done = false;
	return 0;
}
