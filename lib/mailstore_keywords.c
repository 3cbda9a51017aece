/* mailstore_keywords: dovecot-keywords, the names of the keyword letters
 * a..z of the ":2," info: "<index> <name>" per line. Written as Dovecot
 * does, under the uidlist lock: dovecot-keywords.lock (O_EXCL) gets the
 * new content and is renamed over the file, and the mtime always grows
 * (Dovecot notices changes by the mtime's seconds alone). */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "fsutil.h"
#include "mailstore_impl.h"
#include "mem.h"

bool ms_keyword_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > MS_KEYWORD_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] <= ' ' ||
		    (unsigned char)name[i] == 0x7f)
			return false;
	return true;
}

/* "<index> <name>" with index 0..25 (the name may hold spaces: the rest
 * of the line, as Dovecot reads it); anything else is skipped. */
static void parse_line(const char *p, const char *end,
		       char *names[MAILSTORE_KEYWORDS_MAX])
{
	unsigned idx = 0;
	const char *start = p;

	while (p < end && *p >= '0' && *p <= '9' && p - start < 3)
		idx = idx * 10 + (unsigned)(*p++ - '0');
	if (p == start || p >= end || *p != ' ' ||
	    idx >= MAILSTORE_KEYWORDS_MAX)
		return;
	p++;
	size_t len = (size_t)(end - p);
	if (len == 0 || len > MS_KEYWORD_NAME_MAX)
		return;
	/* No IMAP client can make such a keyword: damage. */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] < ' ' || (unsigned char)p[i] == 0x7f)
			return;
	free(names[idx]);
	names[idx] = xstrndup(p, len);
}

void ms_keywords_parse(const char *data, size_t len,
		       char *names[MAILSTORE_KEYWORDS_MAX])
{
	const char *p = data, *end = data + len;

	for (unsigned i = 0; i < MAILSTORE_KEYWORDS_MAX; i++)
		names[i] = NULL;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *lend = nl != NULL ? nl : end;
		if (lend > p && lend[-1] == '\r')
			parse_line(p, lend - 1, names);
		else
			parse_line(p, lend, names);
		p = nl != NULL ? nl + 1 : end;
	}
}

void ms_keywords_free(char *names[MAILSTORE_KEYWORDS_MAX])
{
	for (unsigned i = 0; i < MAILSTORE_KEYWORDS_MAX; i++)
		xfree(&names[i]);
}

int ms_keywords_format(char *const names[MAILSTORE_KEYWORDS_MAX],
		       struct buf *out)
{
	for (unsigned i = 0; i < MAILSTORE_KEYWORDS_MAX; i++)
		if (names[i] != NULL &&
		    buf_printf(out, "%u %s\n", i, names[i]) < 0)
			return -1;
	return 0;
}

int ms_keywords_refresh(struct mailstore *box, const char **error_r)
{
	struct ms_stamp st;
	char *data;
	size_t len;

	if (ms_stamp_get(box->keywords_path, &st) < 0) {
		*error_r = ms_error("stat %s: %s", box->keywords_path,
				    strerror(errno));
		return -1;
	}
	if (ms_stamp_eq(&st, &box->kw_stamp))
		return 0;
	int ret = ms_read_file(box->keywords_path, MS_KEYWORDS_FILE_MAX, &data,
			       &len, &st, error_r);
	if (ret < 0 && st.exists)
		return -1;
	ms_keywords_free(box->keywords);
	if (ret > 0) {
		ms_keywords_parse(data, len, box->keywords);
		free(data);
	}
	box->kw_stamp = st;
	return 0;
}

/* The mtime must grow on every write, even within one second. */
static int bump_mtime(struct mailstore *box, int fd)
{
	struct stat st;
	time_t prev = box->kw_stamp.exists ? box->kw_stamp.mtime.tv_sec : 0;

	if (box->kw_mtime_written > prev)
		prev = box->kw_mtime_written;
	if (fstat(fd, &st) < 0)
		return -1;
	if (st.st_mtime > prev) {
		box->kw_mtime_written = st.st_mtime;
		return 0;
	}
	struct timespec ts[2] = { st.st_atim, { .tv_sec = prev + 1 } };
	box->kw_mtime_written = prev + 1;
	return futimens(fd, ts);
}

int ms_keywords_write(struct mailstore *box, const char **error_r)
{
	struct ms_lock lk = { .fd = -1 };
	struct buf out;

	buf_init(&out, MS_KEYWORDS_FILE_MAX);
	if (ms_keywords_format(box->keywords, &out) < 0) {
		buf_deinit(&out);
		*error_r = ms_error("%s: too large", box->keywords_path);
		return -1;
	}
	/* The uidlist lock is ours, so a keywords lock left behind can only
	 * be a crashed writer's: Dovecot removes it the same way. */
	char lock_path[4200];
	snprintf(lock_path, sizeof(lock_path), "%s.lock", box->keywords_path);
	unlink(lock_path);
	if (ms_lock_take(&lk, box->keywords_path, ms_file_mode(box), 0,
			 error_r) <= 0) {
		buf_deinit(&out);
		return -1;
	}
	if (fs_write_all(lk.fd, out.data, out.len) < 0 ||
	    bump_mtime(box, lk.fd) < 0) {
		*error_r = ms_error("write %s: %s", lock_path, strerror(errno));
		ms_lock_release(&lk);
		buf_deinit(&out);
		return -1;
	}
	buf_deinit(&out);
	if (ms_lock_replace(&lk, box->keywords_path, error_r) < 0)
		return -1;
	/* Read back on the next refresh: only the stamp says it is ours. */
	struct ms_stamp st;
	if (ms_stamp_get(box->keywords_path, &st) == 0)
		box->kw_stamp = st;
	return 0;
}

static int keyword_find(const struct mailstore *box, const char *name)
{
	for (unsigned i = 0; i < MAILSTORE_KEYWORDS_MAX; i++)
		if (box->keywords[i] != NULL &&
		    strcasecmp(box->keywords[i], name) == 0)
			return (int)i;
	return -1;
}

/* Adds name under the uidlist lock, after reading the file again: another
 * process may have added keywords meanwhile. */
static int keyword_add(struct mailstore *box, const char *name,
		       unsigned *idx_r, const char **error_r)
{
	struct ms_lock lk;
	struct stat st;
	mode_t mode = stat(box->uidlist_path, &st) == 0 ?
		(st.st_mode & 0666) | 0600 : ms_file_mode(box);
	int ret = 0, i;

	if (ms_lock_take(&lk, box->uidlist_path, mode, ms_lock_wait_ms(),
			 error_r) <= 0)
		return -1;
	memset(&box->kw_stamp, 0, sizeof(box->kw_stamp));
	if (ms_keywords_refresh(box, error_r) < 0) {
		ret = -1;
	} else if ((i = keyword_find(box, name)) >= 0) {
		*idx_r = (unsigned)i;
		ret = 1;
	} else {
		for (i = 0; i < MAILSTORE_KEYWORDS_MAX; i++)
			if (box->keywords[i] == NULL)
				break;
		if (i < MAILSTORE_KEYWORDS_MAX) {
			box->keywords[i] = xstrdup(name);
			ret = ms_keywords_write(box, error_r) < 0 ? -1 : 1;
			*idx_r = (unsigned)i;
			if (ret < 0)
				xfree(&box->keywords[i]);
		}
	}
	ms_lock_release(&lk);
	return ret;
}

int mailstore_keyword_index(struct mailstore *box, const char *name,
			    bool create, unsigned *idx_r, const char **error_r)
{
	int i;

	ms_flags_settle(box);
	if (ms_keywords_refresh(box, error_r) < 0)
		return -1;
	if ((i = keyword_find(box, name)) >= 0) {
		*idx_r = (unsigned)i;
		return 1;
	}
	if (!create)
		return 0;
	if (!ms_keyword_name_valid(name)) {
		*error_r = ms_error("invalid keyword name");
		return -1;
	}
	return keyword_add(box, name, idx_r, error_r);
}
