/* qmgr_qfile: finding and moving queue files outside memory, for the
 * operator's requests (qmgr_hold.c, qmgr_ops.c). See qmgr.h. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "fsutil.h"
#include "log.h"
#include "qmgr.h"

bool qmgr_qfile_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

bool qmgr_qfile_committed(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       (st.st_mode & S_IXUSR) != 0;
}

bool qmgr_qfile_locate(const char *id, char dir[QMGR_PATH_MAX])
{
	static const char *const dirs[] = {
		QMGR_ACTIVE, QMGR_INCOMING, QMGR_HOLD,
	};
	char path[QMGR_PATH_MAX];

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], id);
		if (qmgr_qfile_exists(path)) {
			snprintf(dir, QMGR_PATH_MAX, "%s", dirs[i]);
			return true;
		}
	}
	snprintf(dir, QMGR_PATH_MAX, QMGR_DEFERRED "/%c", queue_id_hash(id));
	snprintf(path, sizeof(path), "%s/%s", dir, id);
	return qmgr_qfile_exists(path);
}

unsigned long long qmgr_qfile_each(const char *dir, qmgr_qfile_fn *fn)
{
	unsigned long long n = 0;

	if (strcmp(dir, QMGR_DEFERRED) == 0) {
		char sub[QMGR_PATH_MAX];
		for (int h = 0; h < 16; h++) {
			snprintf(sub, sizeof(sub), QMGR_DEFERRED "/%X", h);
			n += qmgr_qfile_each(sub, fn);
		}
		return n;
	}
	DIR *d = opendir(dir);
	struct dirent *de;
	if (d == NULL) {
		log_error("opendir %s: %s", dir, strerror(errno));
		return 0;
	}
	while ((de = readdir(d)) != NULL)
		if (queue_id_valid(de->d_name) && fn(dir, de->d_name) > 0)
			n++;
	closedir(d);
	return n;
}

/* The directory part of a queue path ("deferred/3" of "deferred/3/ID"). */
static void dir_of(char out[QMGR_PATH_MAX], const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t len = slash != NULL ? (size_t)(slash - path) : 0;

	snprintf(out, QMGR_PATH_MAX, "%.*s", (int)len, path);
}

int qmgr_qfile_move_synced(const char *from, const char *to)
{
	char dir[QMGR_PATH_MAX];

	if (rename(from, to) < 0)
		return -1;
	dir_of(dir, to);
	if (fs_fsync_dir(dir) < 0)
		return -1;
	dir_of(dir, from);
	return fs_fsync_dir(dir);
}
