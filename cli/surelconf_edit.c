/* surelconf_edit: surelconf -e, main.cf edited in place. See
 * surelconf_edit.h. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "buf.h"
#include "conf.h"
#include "conf_file.h"
#include "fsutil.h"
#include "surelconf_edit.h"

#define EDIT_FILE_MAX (4u << 20)	/* conf's limit on main.cf */
#define EDIT_NAME_MAX 256

static char edit_error[1024];

static int edit_fail(const char **error_r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int edit_fail(const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(edit_error, sizeof(edit_error), fmt, ap);
	va_end(ap);
	*error_r = edit_error;
	return -1;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Splits "name = value" (spaces around both allowed) and checks it. */
static int edit_parse(char *arg, char **name_r, char **value_r,
		      const char **error_r)
{
	const char *error;

	arg += strspn(arg, " \t");
	char *eq = strchr(arg, '=');

	if (eq == NULL)
		return edit_fail(error_r, "%s: not name=value", arg);
	char *end = eq;
	while (end > arg && is_blank(end[-1]))
		end--;
	*end = '\0';
	char *value = eq + 1;
	value += strspn(value, " \t");
	size_t vlen = strlen(value);
	while (vlen > 0 && is_blank(value[vlen - 1]))
		value[--vlen] = '\0';
	size_t nlen = strlen(arg);
	if (nlen == 0 || nlen > EDIT_NAME_MAX ||
	    strspn(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		   "0123456789_") != nlen)
		return edit_fail(error_r, "'%s': not a parameter name", arg);
	if (strpbrk(value, "\r\n") != NULL)
		return edit_fail(error_r, "%s: the value must be one line", arg);
	const struct conf_param *p = conf_param_find(arg);
	if (p != NULL && conf_check_value(p->type, value, &error) < 0)
		return edit_fail(error_r, "%s: %s", arg, error);
	*name_r = arg;
	*value_r = value;
	return 0;
}

/* The end of the physical line at pos (after its '\n'). */
static size_t line_end(const char *d, size_t len, size_t pos)
{
	const char *nl = memchr(d + pos, '\n', len - pos);

	return nl != NULL ? (size_t)(nl - d) + 1 : len;
}

/* Does the line at pos continue a parameter: white space first, then
 * something that is not a comment? */
static bool is_continuation(const char *d, size_t len, size_t pos)
{
	if (pos >= len || !is_blank(d[pos]))
		return false;
	while (pos < len && is_blank(d[pos]))
		pos++;
	return pos < len && d[pos] != '\n' && d[pos] != '\r' && d[pos] != '#';
}

/* Finds the last parameter line for name: [*start_r, *end_r) with its
 * continuation lines. Returns whether found. */
static bool edit_find(const struct buf *b, const char *name, size_t *start_r,
		      size_t *end_r)
{
	size_t nlen = strlen(name), pos = 0;
	bool found = false;

	while (pos < b->len) {
		size_t end = line_end(b->data, b->len, pos);
		const char *l = b->data + pos;
		size_t after = nlen;
		if (end - pos > nlen && strncmp(l, name, nlen) == 0) {
			while (pos + after < end && is_blank(l[after]))
				after++;
		}
		if (end - pos > nlen && strncmp(l, name, nlen) == 0 &&
		    pos + after < end && l[after] == '=') {
			*start_r = pos;
			while (is_continuation(b->data, b->len, end))
				end = line_end(b->data, b->len, end);
			*end_r = end;
			found = true;
		}
		pos = end;
	}
	return found;
}

static int edit_apply(struct buf *b, const char *name, const char *value,
		      const char **error_r)
{
	struct buf out;
	size_t start, end;
	int ret = 0;

	buf_init(&out, b->max);
	if (edit_find(b, name, &start, &end)) {
		ret |= buf_append(&out, b->data, start);
		ret |= buf_printf(&out, "%s = %s\n", name, value);
		ret |= buf_append(&out, b->data + end, b->len - end);
	} else {
		ret |= buf_append(&out, b->data, b->len);
		if (b->len > 0 && b->data[b->len - 1] != '\n')
			ret |= buf_append_char(&out, '\n');
		ret |= buf_printf(&out, "%s = %s\n", name, value);
	}
	if (ret != 0) {
		buf_deinit(&out);
		return edit_fail(error_r, "main.cf would pass %zu bytes",
				 b->max);
	}
	buf_reset(b);
	ret = buf_append(b, out.data, out.len);	/* fits: same max */
	buf_deinit(&out);
	return ret;
}

int surelconf_edit_text(struct buf *text, char *assignment,
			const char **error_r)
{
	char *name = NULL, *value = NULL;

	if (edit_parse(assignment, &name, &value, error_r) < 0)
		return -1;
	return edit_apply(text, name, value, error_r);
}

/* Writes data as path's new contents: temp file, fsync, rename, fsync
 * of the directory. */
static int edit_replace(const char *path, const struct buf *data,
			const char **error_r)
{
	char tmp[PATH_MAX];
	struct stat st;

	if (stat(path, &st) < 0)
		return edit_fail(error_r, "%s: %s", path, strerror(errno));
	int n = snprintf(tmp, sizeof(tmp), "%s.surelconf.%ld", path,
			 (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return edit_fail(error_r, "%s: path too long", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		      st.st_mode & 07777);
	if (fd < 0)
		return edit_fail(error_r, "%s: %s", tmp, strerror(errno));
	/* Same owner, when we may: root edits a file root may not own. */
	if ((geteuid() == 0 && fchown(fd, st.st_uid, st.st_gid) < 0) ||
	    fchmod(fd, st.st_mode & 07777) < 0 ||
	    fs_write_all(fd, data->data, data->len) < 0 || fsync(fd) < 0) {
		int saved = errno;
		close(fd);
		unlink(tmp);
		return edit_fail(error_r, "%s: %s", tmp, strerror(saved));
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		int saved = errno;
		unlink(tmp);
		return edit_fail(error_r, "%s: %s", path, strerror(saved));
	}
	if (fs_fsync_parent(path) < 0)
		return edit_fail(error_r, "%s: fsync of its directory: %s",
				 path, strerror(errno));
	return 0;
}

int surelconf_edit(const char *config_dir, char **assignments, int count,
		   const char **error_r)
{
	struct buf path, data;
	const char *error;
	int ret = -1;

	buf_init(&path, PATH_MAX);
	buf_init(&data, EDIT_FILE_MAX);
	if (count == 0) {
		edit_fail(error_r, "-e needs name=value arguments");
		goto out;
	}
	if (conf_file_read(config_dir, "main.cf", &path, &data, &error) < 0) {
		edit_fail(error_r, "%s", error);
		goto out;
	}
	for (int i = 0; i < count; i++)
		if (surelconf_edit_text(&data, assignments[i], error_r) < 0)
			goto out;
	/* The whole file must load: a $name loop, say, is found here. */
	if (conf_load_buffer(path.data, data.data, data.len, NULL,
			     &error) < 0) {
		edit_fail(error_r, "not changed: %s", error);
		goto out;
	}
	ret = edit_replace(path.data, &data, error_r);
out:
	buf_deinit(&path);
	buf_deinit(&data);
	return ret;
}
