/* master_queue: creates and repairs the queue directory layout (owners,
 * modes) and knows where the master lock lives; see master_queue.h. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "conf.h"
#include "fsutil.h"
#include "str.h"
#include "master_queue.h"

#define MASTER_QUEUE_PATH_MAX 4096

/* OWNER_DROP: mail_owner's, in setgid_group (the group sureldrop runs
 * as), so that users reach maildrop/ and public/ through sureldrop. */
enum queue_dir_owner { OWNER_MAIL, OWNER_ROOT, OWNER_DROP };

struct queue_dir_spec {
	const char *name;
	mode_t mode;
	enum queue_dir_owner owner;
};

/* Mail is mail_owner's alone (0700). pid/ is root's so that mail_owner
 * cannot plant a pid that `surel stop` (run by root) would signal.
 * public/ is searchable by setgid_group (sureldrop); its sockets are
 * 0666 and the directory is the gate. */
static const struct queue_dir_spec queue_dirs[] = {
	{ "incoming", 0700, OWNER_MAIL },
	{ "active", 0700, OWNER_MAIL },
	{ "deferred", 0700, OWNER_MAIL },
	{ "hold", 0700, OWNER_MAIL },
	{ "corrupt", 0700, OWNER_MAIL },
	{ "pid", 0755, OWNER_ROOT },
	{ "private", 0700, OWNER_MAIL },
	{ "public", 0710, OWNER_DROP },
	/* Postfix's maildrop: the group may create files (sticky: only
	 * their owner and mail_owner remove them) but not list them. */
	{ "maildrop", 01730, OWNER_DROP },
};

static char queue_error[MASTER_QUEUE_PATH_MAX + 256];

static int queue_fail(const char **error_r, const char *what,
		      const char *path)
{
	snprintf(queue_error, sizeof(queue_error), "%s %s: %s", what, path,
		 strerror(errno));
	*error_r = queue_error;
	return -1;
}

int master_queue_owner(struct master_queue_owner *owner_r,
		       const char **error_r)
{
	const char *name = conf_str("mail_owner");
	struct passwd *pw;

	owner_r->root = geteuid() == 0;
	if (!owner_r->root) {
		owner_r->uid = geteuid();
		owner_r->gid = owner_r->drop_gid = getegid();
		return 0;
	}
	errno = 0;
	pw = getpwnam(name);
	if (pw == NULL) {
		snprintf(queue_error, sizeof(queue_error),
			 "mail_owner %s: no such user (create it, e.g. "
			 "useradd --system --no-create-home %s)", name, name);
		*error_r = queue_error;
		return -1;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		snprintf(queue_error, sizeof(queue_error),
			 "mail_owner %s must not have uid or gid 0", name);
		*error_r = queue_error;
		return -1;
	}
	owner_r->uid = pw->pw_uid;
	owner_r->gid = pw->pw_gid;
	/* Without the group only mail_owner's group may submit: local
	 * submission is then closed to users, not open to all. */
	struct group *gr = getgrnam(conf_str("setgid_group"));
	owner_r->drop_gid = gr != NULL && gr->gr_gid != 0 ? gr->gr_gid
							  : pw->pw_gid;
	return 0;
}

static void queue_note(master_queue_note_fn *note, const char *what,
		       const char *path)
{
	char msg[MASTER_QUEUE_PATH_MAX + 128];

	if (note == NULL)
		return;
	snprintf(msg, sizeof(msg), "%s %s", what, path);
	note(msg);
}

/* Makes path a directory with this mode and owner. Opened with
 * O_NOFOLLOW and fixed through the fd: root must never chown or chmod
 * what a symlink planted by mail_owner points to. */
static int queue_dir_fix(const char *path, mode_t mode, uid_t uid, gid_t gid,
			 bool chown_ok, bool follow,
			 master_queue_note_fn *note, const char **error_r)
{
	struct stat st;
	bool created = mkdir(path, mode) == 0;

	if (created)
		queue_note(note, "created", path);
	else if (errno != EEXIST)
		return queue_fail(error_r, "cannot create", path);
	if (created)
		note = NULL;	/* fixing what we just made is no news */
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
		      (follow ? 0 : O_NOFOLLOW));
	if (fd < 0)
		return queue_fail(error_r, "cannot open directory", path);
	if (fstat(fd, &st) < 0) {
		close(fd);
		return queue_fail(error_r, "cannot stat", path);
	}
	if (chown_ok && (st.st_uid != uid || st.st_gid != gid)) {
		if (fchown(fd, uid, gid) < 0) {
			close(fd);
			return queue_fail(error_r, "cannot chown", path);
		}
		queue_note(note, "fixed owner of", path);
	} else if (!chown_ok && st.st_uid != uid) {
		close(fd);
		errno = EPERM;
		return queue_fail(error_r, "not owned by the user running "
				  "surel:", path);
	}
	if ((st.st_mode & 07777) != mode) {
		if (fchmod(fd, mode) < 0) {
			close(fd);
			return queue_fail(error_r, "cannot chmod", path);
		}
		queue_note(note, "fixed mode of", path);
	}
	close(fd);
	return 0;
}

static int queue_path(char *out, const char *dir, const char *a,
		      const char *b, const char **error_r)
{
	int n = snprintf(out, MASTER_QUEUE_PATH_MAX, "%s/%s%s%s", dir, a,
			 b[0] != '\0' ? "/" : "", b);
	if (n < 0 || n >= MASTER_QUEUE_PATH_MAX) {
		errno = ENAMETOOLONG;
		return queue_fail(error_r, "path too long:", dir);
	}
	return 0;
}

static int queue_setup_dirs(const char *queue_dir,
			    const struct master_queue_owner *o,
			    master_queue_note_fn *note, const char **error_r)
{
	char path[MASTER_QUEUE_PATH_MAX];
	uid_t root_uid = o->root ? 0 : o->uid;
	gid_t root_gid = o->root ? 0 : o->gid;

	for (size_t i = 0; i < sizeof(queue_dirs) / sizeof(queue_dirs[0]);
	     i++) {
		const struct queue_dir_spec *d = &queue_dirs[i];
		bool mail = d->owner != OWNER_ROOT;
		gid_t gid = d->owner == OWNER_DROP ? o->drop_gid
			  : mail		   ? o->gid
						   : root_gid;
		if (queue_path(path, queue_dir, d->name, "", error_r) < 0 ||
		    queue_dir_fix(path, d->mode, mail ? o->uid : root_uid,
				  gid, o->root, false, note, error_r) < 0)
			return -1;
	}
	/* deferred/ is hashed by the id's last time digit (queue_id_hash). */
	for (int h = 0; h < 16; h++) {
		char sub[2] = { "0123456789ABCDEF"[h], '\0' };
		if (queue_path(path, queue_dir, "deferred", sub, error_r) < 0 ||
		    queue_dir_fix(path, 0700, o->uid, o->gid, o->root, false,
				  note, error_r) < 0)
			return -1;
	}
	return 0;
}

/* The directories above path, searchable by all (mail_owner must get
 * through them). */
static int queue_mkdir_parent(const char *path, const char **error_r)
{
	char parent[MASTER_QUEUE_PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t len = slash != NULL ? (size_t)(slash - path) : 0;

	if (len == 0)
		return 0;
	if (len >= sizeof(parent)) {
		errno = ENAMETOOLONG;
		return queue_fail(error_r, "path too long:", path);
	}
	memcpy(parent, path, len);
	parent[len] = '\0';
	if (fs_mkdir_p(parent, 0755) < 0)
		return queue_fail(error_r, "cannot create", parent);
	return 0;
}

int master_queue_setup(const char *queue_dir, const char *data_dir,
		       const struct master_queue_owner *o,
		       master_queue_note_fn *note, const char **error_r)
{
	if (queue_dir[0] != '/' || data_dir[0] != '/') {
		errno = EINVAL;
		return queue_fail(error_r, "not an absolute path:",
				  queue_dir[0] != '/' ? queue_dir : data_dir);
	}
	if (queue_mkdir_parent(queue_dir, error_r) < 0)
		return -1;
	/* The top is root's (like Postfix): mail_owner may not rename the
	 * directories master relies on. It may be a symlink to a volume. */
	if (queue_dir_fix(queue_dir, 0755, o->root ? 0 : o->uid,
			  o->root ? 0 : o->gid, o->root, true, note,
			  error_r) < 0)
		return -1;
	if (queue_setup_dirs(queue_dir, o, note, error_r) < 0)
		return -1;
	if (queue_mkdir_parent(data_dir, error_r) < 0)
		return -1;
	return queue_dir_fix(data_dir, 0700, o->uid, o->gid, o->root, true,
			     note, error_r);
}

int master_queue_pid_path(char *out, size_t outsize, const char *queue_dir)
{
	int n = snprintf(out, outsize, "%s/pid/master.pid", queue_dir);

	return n < 0 || (size_t)n >= outsize ? -1 : 0;
}

int master_queue_running(const char *queue_dir, long *pid_r,
			 const char **error_r)
{
	char path[MASTER_QUEUE_PATH_MAX], text[32];
	uint64_t pid = 0;

	*pid_r = 0;
	if (master_queue_pid_path(path, sizeof(path), queue_dir) < 0) {
		errno = ENAMETOOLONG;
		return queue_fail(error_r, "path too long:", queue_dir);
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return queue_fail(error_r, "cannot open", path);
	}
	/* master holds LOCK_EX for its whole life. */
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		close(fd);
		return 0;
	}
	if (errno != EWOULDBLOCK) {
		close(fd);
		return queue_fail(error_r, "cannot lock", path);
	}
	ssize_t n = fs_pread_all(fd, text, sizeof(text) - 1, 0);
	close(fd);
	if (n > 0) {
		text[n] = '\0';
		if (str_to_u64(str_trim(text), &pid) == 0 && pid <= INT32_MAX)
			*pid_r = (long)pid;
	}
	return 1;
}
