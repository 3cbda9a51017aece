/* queue_cli: the shared parts of surelqueue and surelcat; see
 * queue_cli.h. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>
#include "conf.h"
#include "conf_file.h"
#include "queue_cli.h"
#include "queue_walk.h"

/* Longest id shown back in an error message: a huge argument is cut. */
#define ID_SHOW_MAX 64

const char *queue_cli_init(const char *prog, const char *config_dir)
{
	const char *error;

	if (conf_load(conf_file_dir(config_dir), NULL, &error) < 0) {
		fprintf(stderr, "%s: fatal: %s\n", prog, error);
		exit(EX_CONFIG);
	}
	return conf_str("queue_directory");
}

const char *queue_cli_printable(const char *s, char *out, size_t size)
{
	size_t n = 0;

	for (; *s != '\0' && n + 5 < size; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= ' ' && c <= '~')
			out[n++] = (char)c;
		else
			n += (size_t)snprintf(out + n, size - n, "\\%03o", c);
	}
	out[n] = '\0';
	return out;
}

void queue_cli_check_id(const char *prog, const char *id)
{
	char esc[4 * ID_SHOW_MAX + 8];
	const char *why = NULL;

	if (id[0] == '\0')
		why = "empty queue id";
	else if (strlen(id) >= QUEUE_ID_MAX)
		why = "queue id too long";
	else if (strchr(id, '/') != NULL || strstr(id, "..") != NULL)
		why = "a queue id is a file name: no \"/\" or \"..\"";
	else if (!queue_id_valid(id))
		why = "not a queue id (upper-case hex digits)";
	if (why == NULL)
		return;
	fprintf(stderr, "%s: invalid queue id \"%s%s\": %s\n", prog,
		queue_cli_printable(id, esc, sizeof(esc)),
		strlen(id) > ID_SHOW_MAX ? "..." : "", why);
	exit(EX_USAGE);
}

static const char *open_error(int err)
{
	switch (err) {
	case EACCES:
	case EPERM:
		return "permission denied";
	case EINVAL:
		return "not a regular file";
	default:
		return "cannot open queue file";
	}
}

int queue_cli_read(const char *queue_dir, enum queue_list_queue q,
		   const char *id, struct queue_cli_file *f,
		   const char **error_r)
{
	struct stat st;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->queue = q;
	if (queue_walk_open(queue_dir, q, id, &f->fd) < 0) {
		/* Moved by qmgr since the readdir: one more look. */
		if (errno == ENOENT &&
		    queue_walk_find(queue_dir, id, &f->queue, &f->fd) < 0 &&
		    errno == ENOENT)
			return 1;
		if (f->fd < 0) {
			*error_r = open_error(errno);
			return -1;
		}
	}
	if (fstat(f->fd, &st) == 0) {
		f->mode = st.st_mode;
		f->mtime_us = (uint64_t)st.st_mtim.tv_sec * 1000000 +
			      (uint64_t)st.st_mtim.tv_nsec / 1000;
	}
	if (queue_file_read(f->fd, &f->env, &f->content_offset,
			    &f->content_size, error_r) < 0) {
		close(f->fd);
		f->fd = -1;
		return -1;
	}
	return 0;
}

void queue_cli_close(struct queue_cli_file *f)
{
	queue_envelope_free(&f->env);
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}
