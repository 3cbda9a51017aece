/* conf_file: the configuration directory, reading one of its files and
 * splitting it into logical lines; main.cf and master.cf share the syntax
 * (as Postfix's readlline() serves both). */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "buf.h"
#include "conf_file.h"
#include "log.h"

#ifndef SUREL_SYSCONFDIR
#define SUREL_SYSCONFDIR "/etc/surel"
#endif

#define CONF_FILE_WHITE " \t\r\f\v"

static struct buf conf_file_error;

const char *conf_file_dir(const char *dir)
{
	if (dir == NULL || *dir == '\0')
		dir = getenv("SUREL_CONFIG_DIR");
	if (dir == NULL || *dir == '\0')
		dir = SUREL_SYSCONFDIR;
	return dir;
}

/* "WHERE: reason" into the message buffer *error_r points to. */
static __attribute__((format(printf, 3, 4)))
int conf_file_fail(const char **error_r, const char *where,
		   const char *fmt, ...)
{
	static const char fallback[] = "configuration error (message too long)";
	struct buf what;
	va_list ap;
	int ret;

	buf_init(&what, 8192);
	va_start(ap, fmt);
	ret = buf_vprintf(&what, fmt, ap);
	va_end(ap);
	*error_r = ret < 0 ? buf_error_set(&conf_file_error, 8192, "%s", fallback)
		: buf_error_set(&conf_file_error, 8192, fallback, "%s: %s",
				where, buf_cstr(&what));
	buf_deinit(&what);
	return -1;
}

static int conf_file_read_fd(int fd, const char *path, struct buf *data,
			     const char **error_r)
{
	struct stat st;
	char chunk[65536];
	ssize_t n;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return conf_file_fail(error_r, path, "not a regular file");
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return conf_file_fail(error_r, path, "read: %s",
					      strerror(errno));
		if (buf_append(data, chunk, (size_t)n) < 0)
			return conf_file_fail(error_r, path, "file too large "
					      "(more than %zu bytes)",
					      data->max);
	}
	return 0;
}

int conf_file_read(const char *config_dir, const char *name, struct buf *path,
		   struct buf *data, const char **error_r)
{
	size_t dlen = strlen(config_dir);
	int fd, ret;

	if (dlen == 0)
		return conf_file_fail(error_r, name, "empty configuration "
				      "directory name");
	if (buf_printf(path, "%s%s%s", config_dir,
		       config_dir[dlen - 1] == '/' ? "" : "/", name) < 0)
		return conf_file_fail(error_r, name, "configuration "
				      "directory name too long");
	fd = open(buf_cstr(path), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return conf_file_fail(error_r, buf_cstr(path),
				      "cannot open: %s", strerror(errno));
	ret = conf_file_read_fd(fd, buf_cstr(path), data, error_r);
	close(fd);
	return ret;
}

/* --- logical lines ------------------------------------------------------ */

void conf_file_lines_init(struct conf_file_lines *l, const char *data,
			  size_t len, size_t line_max, const char *item)
{
	memset(l, 0, sizeof(*l));
	l->data = data;
	l->len = len;
	l->item = item;
	buf_init(&l->logical, line_max);
}

void conf_file_lines_deinit(struct conf_file_lines *l)
{
	buf_deinit(&l->logical);
}

/* Sets the message (about lineno; 0: the whole file) and returns -1. */
static __attribute__((format(printf, 5, 6)))
int conf_file_lines_fail(struct conf_file_lines *l, unsigned lineno,
			 unsigned *lineno_r, const char **error_r,
			 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->error, sizeof(l->error), fmt, ap);
	va_end(ap);
	*lineno_r = lineno;
	*error_r = l->error;
	return -1;
}

int conf_file_lines_next(struct conf_file_lines *l, char **line_r,
			 unsigned *lineno_r, const char **error_r)
{
	unsigned start = 0;

	if (!l->checked) {
		l->checked = true;
		if (memchr(l->data, '\0', l->len) != NULL)
			return conf_file_lines_fail(l, 0, lineno_r, error_r,
						    "NUL byte in file");
	}
	buf_reset(&l->logical);
	while (l->pos < l->len) {
		const char *p = l->data + l->pos;
		const char *nl = memchr(p, '\n', l->len - l->pos);
		size_t n = nl != NULL ? (size_t)(nl - p) : l->len - l->pos;
		size_t skip = 0;

		while (skip < n && strchr(CONF_FILE_WHITE, p[skip]) != NULL)
			skip++;
		bool blank = skip == n || p[skip] == '#';
		/* The next logical line starts here: it is the next call's. */
		if (!blank && skip == 0 && start > 0)
			break;
		l->pos += n + (nl != NULL);
		l->lineno++;
		if (blank)
			continue;
		if (skip == 0)
			start = l->lineno;
		else if (start == 0)
			return conf_file_lines_fail(l, l->lineno, lineno_r,
						    error_r, "continuation line "
						    "without a %s before it",
						    l->item);
		else if (buf_append_char(&l->logical, ' ') < 0)
			goto too_long;
		if (buf_append(&l->logical, p + skip, n - skip) < 0)
			goto too_long;
	}
	if (start == 0)
		return 0;
	*line_r = l->logical.data;
	*lineno_r = start;
	return 1;
too_long:
	return conf_file_lines_fail(l, start, lineno_r, error_r, "line too "
				    "long (more than %zu bytes)",
				    l->logical.max);
}
