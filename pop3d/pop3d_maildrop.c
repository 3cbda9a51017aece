/* pop3d_maildrop: the user's Maildir for the length of a session: where
 * it is (authd's mail= or virtual_mailbox_maps, the same look-up local
 * delivery uses), the lock that makes it one session's, the snapshot of
 * its messages taken at login (RFC 1939 numbers them 1..n and they keep
 * their numbers; mail arriving later shows in the next session), and
 * the UPDATE state at QUIT. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fsutil.h"
#include "log.h"
#include "mailbox_path.h"
#include "maildir_quota.h"
#include "mem.h"
#include "str.h"
#include "pop3d.h"

/* The Maildir of s->user into out (authd's mail= or the same look-up
 * as local delivery). 0, or -1 with *error_r. */
static int find_path(struct pop3d_session *s, const char *mail_dir,
		     char *out, size_t outsize, const char **error_r)
{
	return mailbox_path_user(pop3d_tables.mailbox, s->p->mailbox_base,
				 s->p->recipient_delimiter, s->user, mail_dir,
				 out, outsize, error_r);
}

/* Creates the Maildir's directory if needed and takes its lock. 1, 0
 * when another session holds it, -1 with *error_r. */
static int lock_maildrop(struct pop3d_maildrop *d, const char **error_r)
{
	char lock_path[PATH_MAX];
	int n = snprintf(lock_path, sizeof(lock_path), "%s/%s", d->path,
			 POP3D_LOCK_FILE);

	if (n < 0 || (size_t)n >= sizeof(lock_path)) {
		*error_r = "path too long";
		return -1;
	}
	if (fs_mkdir_p(d->path, 0700) < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	d->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			  0600);
	if (d->lock_fd < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB) == 0)
		return 1;
	int saved = errno;
	close(d->lock_fd);
	d->lock_fd = -1;
	if (saved == EWOULDBLOCK)
		return 0;
	*error_r = strerror(saved);
	return -1;
}

/* Numbers the messages 1..n in UID order, with sizes and UIDLs. */
static int snapshot(struct pop3d_session *s, const char **error_r)
{
	struct pop3d_maildrop *d = &s->drop;
	uint32_t uidvalidity = mailstore_uidvalidity(d->box);
	char uidl[POP3D_UIDL_MAX + 1];

	d->count = mailstore_count(d->box);
	d->msgs = xcalloc(d->count > 0 ? d->count : 1, sizeof(*d->msgs));
	for (size_t i = 0; i < d->count; i++) {
		const struct mailstore_msg *m = mailstore_msg(d->box, i);
		struct pop3d_msg *pm = &d->msgs[i];

		pm->uid = m->uid;
		pm->size = m->vsize;
		d->total += m->vsize;
		if (m->pop3_uidl != NULL && pop3d_uidl_valid(m->pop3_uidl)) {
			pm->uidl = xstrdup(m->pop3_uidl);
			continue;
		}
		if (pop3d_uidl_format(s->p->uidl_format, m->uid, uidvalidity,
				      uidl) < 0) {
			*error_r = "pop3d_uidl_format gives no valid id";
			return -1;
		}
		pm->uidl = xstrdup(uidl);
	}
	return 0;
}

int pop3d_maildrop_open(struct pop3d_session *s, const char *mail_dir)
{
	struct pop3d_maildrop *d = &s->drop;
	char path[PATH_MAX], user[AUTH_USER_MAX * 4 + 1];
	const char *error = "";
	int ret;

	log_escape(user, sizeof(user), s->user, AUTH_USER_MAX);
	if (find_path(s, mail_dir, path, sizeof(path), &error) < 0)
		goto fail;
	d->path = xstrdup(path);
	if ((ret = lock_maildrop(d, &error)) < 0)
		goto fail;
	if (ret == 0) {
		log_info("login refused: user=<%s>, rip=%s: mailbox in use by "
			 "another POP3 session", user, s->rip);
		pop3d_maildrop_close(d);
		pop3d_err_nocount(s, "[IN-USE] Mailbox is locked by another "
				  "POP3 session.");
		return -1;
	}
	if (mailstore_open(d->path, MAILSTORE_OPEN_CREATE, &d->box,
			   &error) < 0 || snapshot(s, &error) < 0)
		goto fail;
	s->stats.msgs = d->count;
	s->stats.size = d->total;
	return 0;
fail:
	log_warn("user=<%s>: cannot open the mailbox %s: %s", user,
		 d->path != NULL ? d->path : "", error);
	pop3d_maildrop_close(d);
	pop3d_err_nocount(s, "[SYS/TEMP] Unable to open the mailbox.");
	return -1;
}

struct pop3d_msg *pop3d_maildrop_msg(struct pop3d_session *s, uint32_t msg)
{
	if (msg == 0 || msg > s->drop.count) {
		pop3d_err(s, "There is no such message.");
		return NULL;
	}
	if (s->drop.msgs[msg - 1].deleted) {
		pop3d_err(s, "Message is deleted.");
		return NULL;
	}
	return &s->drop.msgs[msg - 1];
}

int pop3d_maildrop_update(struct pop3d_session *s, const char **error_r)
{
	struct pop3d_maildrop *d = &s->drop;
	uint32_t *uids = xcalloc(d->count > 0 ? d->count : 1, sizeof(*uids));
	uint64_t bytes = 0, count = 0;
	size_t n = 0;
	int ret = 0;

	for (size_t i = 0; i < d->count; i++)
		if (d->msgs[i].deleted)
			uids[n++] = d->msgs[i].uid;
	if (n > 0)
		ret = mailstore_expunge(d->box, uids, n, &bytes, &count,
					error_r);
	free(uids);
	s->stats.del = (unsigned)count;
	/* Only what was really removed is taken off the quota (a missing
	 * maildirsize stays missing: the next count finds the truth). */
	if (count > 0) {
		const char *error;
		if (maildir_quota_update(d->path, -(int64_t)bytes,
					 -(int64_t)count, &error) < 0)
			log_warn("%s/%s: %s", d->path, MAILDIR_QUOTA_FILE,
				 error);
	}
	return ret;
}

void pop3d_maildrop_close(struct pop3d_maildrop *d)
{
	mailstore_close(&d->box);
	for (size_t i = 0; i < d->count; i++)
		free(d->msgs[i].uidl);
	xfree(&d->msgs);
	d->count = 0;
	d->total = 0;
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	d->lock_fd = -1;
	xfree(&d->path);
}
