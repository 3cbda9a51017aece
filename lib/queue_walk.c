/* queue_walk: read-only walks and opens of the queue directories; see
 * queue_walk.h. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "queue_walk.h"

/* queue_dir/queue[/H]: -1 when it does not fit. */
static int dir_path(char *out, size_t size, const char *queue_dir,
		    enum queue_list_queue q, char hash)
{
	int n = hash != 0 ? snprintf(out, size, "%s/%s/%c", queue_dir,
				     queue_list_name(q), hash)
			  : snprintf(out, size, "%s/%s", queue_dir,
				     queue_list_name(q));
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static int walk_dir(const char *path, enum queue_list_queue q,
		    queue_walk_fn *fn, void *ctx, const char **error_r)
{
	DIR *dir = opendir(path);
	struct dirent *de;
	int ret = 0;

	if (dir == NULL) {
		if (errno == ENOENT)
			return 0;
		*error_r = errno == EACCES ? "permission denied"
					   : "cannot open queue directory";
		return -1;
	}
	for (;;) {
		errno = 0;
		de = readdir(dir);
		if (de == NULL)
			break;
		if (!queue_id_valid(de->d_name))
			continue;
		if (fn(ctx, q, de->d_name) < 0) {
			ret = 1;
			break;
		}
	}
	if (de == NULL && errno != 0) {
		*error_r = "cannot read queue directory";
		ret = -1;
	}
	int saved = errno;
	closedir(dir);
	errno = saved;
	return ret;
}

int queue_walk(const char *queue_dir, enum queue_list_queue q,
	       queue_walk_fn *fn, void *ctx, const char **error_r)
{
	static const char hex[] = "0123456789ABCDEF";
	char path[PATH_MAX];

	if (!queue_list_hashed(q)) {
		if (dir_path(path, sizeof(path), queue_dir, q, 0) < 0) {
			*error_r = "queue_directory path too long";
			errno = ENAMETOOLONG;
			return -1;
		}
		return walk_dir(path, q, fn, ctx, error_r);
	}
	for (size_t i = 0; i < 16; i++) {
		if (dir_path(path, sizeof(path), queue_dir, q, hex[i]) < 0) {
			*error_r = "queue_directory path too long";
			errno = ENAMETOOLONG;
			return -1;
		}
		int ret = walk_dir(path, q, fn, ctx, error_r);
		if (ret != 0)
			return ret;
	}
	return 0;
}

int queue_walk_open(const char *queue_dir, enum queue_list_queue q,
		    const char *id, int *fd_r)
{
	char path[PATH_MAX];
	char dir[PATH_MAX];
	struct stat st;

	if (!queue_id_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	if (dir_path(dir, sizeof(dir), queue_dir, q,
		     queue_list_hashed(q) ? queue_id_hash(id) : 0) < 0 ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, id) >=
		    sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* O_NONBLOCK: a FIFO planted in the queue must not hang us. */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	*fd_r = fd;
	return 0;
}

int queue_walk_find(const char *queue_dir, const char *id,
		    enum queue_list_queue *q_r, int *fd_r)
{
	int saved = ENOENT;

	for (int q = 0; q < QUEUE_LIST_COUNT; q++) {
		if (queue_walk_open(queue_dir, (enum queue_list_queue)q, id,
				    fd_r) == 0) {
			*q_r = (enum queue_list_queue)q;
			return 0;
		}
		/* Permission denied somewhere says more than "not found". */
		if (errno != ENOENT)
			saved = errno;
	}
	errno = saved;
	return -1;
}
