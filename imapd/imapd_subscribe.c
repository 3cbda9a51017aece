/* imapd_subscribe: SUBSCRIBE and UNSUBSCRIBE over Dovecot's
 * "subscriptions" file in the Maildir root (lib/imap_subscriptions), and
 * the locked whole-file rewrite that file and the METADATA files share.
 *
 * As Dovecot does: SUBSCRIBE of a mailbox that does not exist is refused
 * (RFC 3501 6.3.6 lets the server choose), UNSUBSCRIBE of a name that is
 * not subscribed succeeds, and DELETE and RENAME leave subscriptions
 * alone (RFC 3501: a server must not remove a subscription on its own). */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "fsutil.h"
#include "imap_subscriptions.h"
#include "imapd.h"
#include "imapd_mbox.h"
#include "log.h"
#include "mem.h"
#include "timeutil.h"

/* Dovecot's rule for its subscriptions lock: untouched this long means
 * its holder died. */
#define LOCK_STALE_SECS 30
/* How long a writer waits for another one. */
#define LOCK_WAIT_MS 5000
#define LOCK_RETRY_US 10000

static const char *file_error(const char *what, const char *path)
{
	static struct buf err;

	return buf_error_set(&err, 1024, "file error", "%s %s: %s", what,
			     path, strerror(errno));
}

int imapd_file_read(const char *path, size_t max, char **data_r,
		    size_t *len_r, const char **error_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;

	*data_r = NULL;
	*len_r = 0;
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = file_error("open", path);
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > max) {
		*error_r = S_ISREG(st.st_mode) ? "file too large" :
			"not a regular file";
		close(fd);
		return -1;
	}
	char *data = xmalloc((size_t)st.st_size + 1);
	ssize_t n = fs_pread_all(fd, data, (size_t)st.st_size, 0);
	close(fd);
	if (n < 0) {
		*error_r = file_error("read", path);
		free(data);
		return -1;
	}
	data[n] = '\0';
	*data_r = data;
	*len_r = (size_t)n;
	return 1;
}

/* Removes a lock nobody has touched for LOCK_STALE_SECS. */
static void lock_break_stale(const char *lock_path)
{
	struct stat st;

	if (lstat(lock_path, &st) == 0 &&
	    time(NULL) - st.st_mtime > LOCK_STALE_SECS)
		(void)unlink(lock_path);
}

int imapd_file_lock(struct imapd_locked_file *f, const char *path,
		    const char **error_r)
{
	uint64_t deadline = time_mono_ms() + LOCK_WAIT_MS;
	size_t n = strlen(path);

	f->path = xstrdup(path);
	f->lock_path = xmalloc(n + 6);
	memcpy(f->lock_path, path, n);
	memcpy(f->lock_path + n, ".lock", 6);
	for (;;) {
		f->fd = open(f->lock_path, O_WRONLY | O_CREAT | O_EXCL |
			     O_CLOEXEC | O_NOFOLLOW, 0600);
		if (f->fd >= 0)
			return 0;
		if (errno != EEXIST) {
			*error_r = file_error("create", f->lock_path);
			break;
		}
		lock_break_stale(f->lock_path);
		if (time_mono_ms() >= deadline) {
			*error_r = "timed out waiting for a lock";
			break;
		}
		usleep(LOCK_RETRY_US);
	}
	xfree(&f->path);
	xfree(&f->lock_path);
	return -1;
}

int imapd_file_commit(struct imapd_locked_file *f, const void *data,
		      size_t len, const char **error_r)
{
	int ret = 0;

	if (fs_write_all(f->fd, data, len) < 0 || fsync(f->fd) < 0) {
		*error_r = file_error("write", f->lock_path);
		ret = -1;
	}
	if (close(f->fd) < 0 && ret == 0) {
		*error_r = file_error("close", f->lock_path);
		ret = -1;
	}
	f->fd = -1;
	if (ret == 0 && rename(f->lock_path, f->path) < 0) {
		*error_r = file_error("rename", f->lock_path);
		ret = -1;
	}
	if (ret == 0 && fs_fsync_parent(f->path) < 0) {
		*error_r = file_error("fsync directory of", f->path);
		ret = -1;
	}
	if (ret < 0)
		(void)unlink(f->lock_path);
	xfree(&f->path);
	xfree(&f->lock_path);
	return ret;
}

void imapd_file_unlock(struct imapd_locked_file *f)
{
	if (f->lock_path == NULL)
		return;
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	(void)unlink(f->lock_path);
	xfree(&f->path);
	xfree(&f->lock_path);
}

static char *subs_path(const struct imapd_session *s)
{
	size_t n = strlen(s->maildir);
	char *p = xmalloc(n + sizeof("/" IMAP_SUBSCRIPTIONS_FILE));

	memcpy(p, s->maildir, n);
	memcpy(p + n, "/" IMAP_SUBSCRIPTIONS_FILE,
	       sizeof("/" IMAP_SUBSCRIPTIONS_FILE));
	return p;
}

int imapd_subscriptions_read(struct imapd_session *s, char ***folders_r,
			     size_t *count_r, const char **error_r)
{
	char *path = subs_path(s), *data;
	size_t len;
	int ret = imapd_file_read(path, IMAP_SUBSCRIPTIONS_SIZE_MAX, &data,
				  &len, error_r);

	free(path);
	if (ret < 0)
		return -1;
	ret = imap_subscriptions_parse(data != NULL ? data : "", len,
				       folders_r, count_r, error_r);
	free(data);
	return ret;
}

int imapd_subscriptions_change(struct imapd_session *s, const char *folder,
			       bool subscribe, const char **error_r)
{
	struct imapd_locked_file f = { .fd = -1 };
	char *path = subs_path(s), *data = NULL;
	const char *error = NULL;
	size_t len;
	bool changed = false;
	struct buf out;
	int ret;

	buf_init(&out, IMAP_SUBSCRIPTIONS_SIZE_MAX + 4096);
	ret = imapd_file_lock(&f, path, &error);
	if (ret == 0)
		ret = imapd_file_read(path, IMAP_SUBSCRIPTIONS_SIZE_MAX, &data,
				      &len, &error) < 0 ? -1 : 0;
	if (ret == 0 && imap_subscriptions_update(data != NULL ? data : "",
						  len, folder, subscribe, &out,
						  &changed, error_r) < 0) {
		/* The limits: the client's doing, no server trouble. */
		*error_r = "[LIMIT] Too many subscriptions.";
		ret = -2;
	}
	if (ret == 0 && changed)
		ret = imapd_file_commit(&f, out.data, out.len, &error);
	if (ret == -1) {
		log_warn("user=%s: subscriptions: %s", s->user, error);
		*error_r = "[SERVERBUG] Internal error, see the server log.";
	}
	imapd_file_unlock(&f);
	buf_deinit(&out);
	free(data);
	free(path);
	return ret < 0 ? -1 : 0;
}

static void subscribe_cmd(struct imapd_session *s, const struct imap_arg *args,
			  bool subscribe)
{
	char *name, *folder, *path;
	const char *error;

	if (args == NULL || args->next != NULL) {
		imapd_bad(s, "%s needs one mailbox name.", s->cmd_name);
		return;
	}
	if (imapd_name_resolve(s, args, &name, &folder, &path, &error) < 0) {
		imapd_no(s, "[CANNOT] %s", error);
		return;
	}
	if (subscribe && strcmp(folder, "INBOX") != 0 &&
	    !imapd_folder_exists(path)) {
		imapd_no(s, "[NONEXISTENT] Mailbox doesn't exist.");
	} else if (imapd_subscriptions_change(s, folder, subscribe,
					      &error) < 0) {
		imapd_no(s, "%s", error);
	} else {
		imapd_ok(s, "%s completed.", subscribe ? "Subscribe" :
			 "Unsubscribe");
	}
	free(name);
	free(folder);
	free(path);
}

void imapd_cmd_subscribe(struct imapd_session *s, const struct imap_arg *args)
{
	subscribe_cmd(s, args, true);
}

void imapd_cmd_unsubscribe(struct imapd_session *s,
			   const struct imap_arg *args)
{
	subscribe_cmd(s, args, false);
}
