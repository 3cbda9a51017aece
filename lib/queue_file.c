/* queue_file: the in-memory envelope and the strict reader (qmgr) of the
 * on-disk queue file; see queue_file.h for the format and queue_writer.c
 * for the writer. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fsutil.h"
#include "log.h"
#include "mem.h"
#include "queue_file.h"
#include "queue_impl.h"
#include "str.h"

#define QUEUE_READ_FIRST (8 * 1024)

/* ---- envelope in memory ---- */

void queue_envelope_free(struct queue_envelope *env)
{
	for (size_t i = 0; i < env->attr_count; i++) {
		free(env->attrs[i].name);
		free(env->attrs[i].value);
	}
	for (size_t i = 0; i < env->rcpt_count; i++) {
		struct queue_rcpt *r = &env->rcpts[i];
		free(r->address);
		free(r->orig_rcpt);
		free(r->orcpt);
		free(r->notify);
		queue_status_free(&r->failed);
		queue_status_free(&r->delayed);
		queue_status_free(&r->success);
	}
	free(env->attrs);
	free(env->rcpts);
	free(env->sender);
	memset(env, 0, sizeof(*env));
}

const char *queue_envelope_attr(const struct queue_envelope *env,
				const char *name)
{
	for (size_t i = 0; i < env->attr_count; i++)
		if (strcmp(env->attrs[i].name, name) == 0)
			return env->attrs[i].value;
	return NULL;
}

/* Arrays grow to the next power of two: the capacity is implied by the
 * count, so the public structs need no capacity field. */
static void *grow_pow2(void *array, size_t count, size_t size)
{
	if ((count & (count - 1)) != 0)
		return array;
	return xreallocarray(array, count == 0 ? 1 : count * 2, size);
}

static char *dup_or_null(const char *s)
{
	return s == NULL || *s == '\0' ? NULL : xstrdup(s);
}

void queue_envelope_add_attr(struct queue_envelope *env, const char *name,
			     const char *value)
{
	env->attrs = grow_pow2(env->attrs, env->attr_count,
			       sizeof(*env->attrs));
	env->attrs[env->attr_count].name = xstrdup(name);
	env->attrs[env->attr_count].value = xstrdup(value);
	env->attr_count++;
}

void queue_envelope_add_rcpt(struct queue_envelope *env, const char *address,
			     const char *orig_rcpt, const char *orcpt,
			     const char *notify)
{
	env->rcpts = grow_pow2(env->rcpts, env->rcpt_count,
			       sizeof(*env->rcpts));
	struct queue_rcpt *r = &env->rcpts[env->rcpt_count++];

	memset(r, 0, sizeof(*r));
	r->address = xstrdup(address);
	r->orig_rcpt = dup_or_null(orig_rcpt);
	r->orcpt = dup_or_null(orcpt);
	r->notify = dup_or_null(notify);
}

/* ---- field syntax, shared with the writer (queue_impl.h) ---- */

bool queue_file_attr_name_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '_'))
			return false;
	return true;
}

/* "SUCCESS,FAILURE,DELAY" or "NEVER": words from the DSN NOTIFY set. */
bool queue_file_notify_ok(const char *s)
{
	static const char *const words[] = { "SUCCESS", "FAILURE", "DELAY",
					     "NEVER" };

	for (;;) {
		size_t len = strcspn(s, ",");
		bool known = false;

		for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (strlen(words[i]) == len &&
			    memcmp(words[i], s, len) == 0)
				known = true;
		if (!known)
			return false;
		if (s[len] == '\0')
			return true;
		s += len + 1;
	}
}

/* ---- reader ---- */

enum qf_state { QF_MAGIC, QF_TIME, QF_SENDER, QF_ATTRS, QF_RCPTS, QF_DONE };

struct qf_parser {
	enum qf_state state;
	size_t pos;		/* start of the next line */
	struct queue_envelope *env;
	uint64_t content_size;
};

#define QF_FIELDS_MAX 6

/* Splits line (NUL-terminated copy) at TABs into exactly want fields. */
static bool split_fields(char *line, char **fields, size_t want)
{
	size_t n = 0;

	for (char *p = line;; p++) {
		if (n == want)
			return false;
		fields[n++] = p;
		p = strchr(p, '\t');
		if (p == NULL)
			break;
		*p = '\0';
	}
	return n == want;
}

static int parse_digits(const char *s, size_t min, size_t max, uint64_t *v_r)
{
	size_t len = strlen(s);

	if (len < min || len > max || str_to_u64(s, v_r) < 0)
		return -1;
	return 0;
}

static int parse_attr(struct qf_parser *p, char *line, const char **error_r)
{
	char *f[3];

	if (!split_fields(line, f, 3) || !queue_file_attr_name_ok(f[1])) {
		*error_r = "bad attribute line";
		return -1;
	}
	if (p->env->attr_count >= QUEUE_ATTR_MAX) {
		*error_r = "too many attributes";
		return -1;
	}
	if (queue_envelope_attr(p->env, f[1]) != NULL) {
		*error_r = "duplicate attribute";
		return -1;
	}
	queue_envelope_add_attr(p->env, f[1], f[2]);
	return 0;
}

static const char *undash(const char *s)
{
	return strcmp(s, "-") == 0 ? NULL : s;
}

static int parse_rcpt(struct qf_parser *p, char *line, size_t line_start,
		      const char **error_r)
{
	char *f[6];

	if (!split_fields(line, f, 6)) {
		*error_r = "bad recipient line";
		return -1;
	}
	if (strlen(f[1]) != 1 ||
	    (f[1][0] != QUEUE_RCPT_PENDING && f[1][0] != QUEUE_RCPT_DONE)) {
		*error_r = "bad recipient status byte";
		return -1;
	}
	if ((strcmp(f[2], "-") != 0 && !queue_file_notify_ok(f[2])) ||
	    f[3][0] == '\0' || f[4][0] == '\0' || f[5][0] == '\0') {
		*error_r = "bad recipient field";
		return -1;
	}
	if (p->env->rcpt_count >= QUEUE_RCPT_MAX) {
		*error_r = "too many recipients";
		return -1;
	}
	queue_envelope_add_rcpt(p->env, f[5], undash(f[4]), undash(f[3]),
				undash(f[2]));
	struct queue_rcpt *r = &p->env->rcpts[p->env->rcpt_count - 1];
	r->done = f[1][0] == QUEUE_RCPT_DONE;
	r->status_offset = (off_t)(line_start + 2);
	return 0;
}

static int parse_line(struct qf_parser *p, char *line, size_t line_start,
		      const char **error_r)
{
	char *f[2];
	uint64_t v;

	switch (p->state) {
	case QF_MAGIC:
		/* checked by the caller before any line is split */
		p->state = QF_TIME;
		return 0;
	case QF_TIME:
		if (strncmp(line, "T\t", 2) != 0 ||
		    parse_digits(line + 2, 1, 20, &p->env->arrival_us) < 0) {
			*error_r = "bad arrival time line";
			return -1;
		}
		p->state = QF_SENDER;
		return 0;
	case QF_SENDER:
		if (!split_fields(line, f, 2) || strcmp(f[0], "S") != 0) {
			*error_r = "bad sender line";
			return -1;
		}
		p->env->sender = xstrdup(f[1]);
		p->state = QF_ATTRS;
		return 0;
	case QF_ATTRS:
		if (strncmp(line, "A\t", 2) == 0)
			return parse_attr(p, line, error_r);
		p->state = QF_RCPTS;
		if (strncmp(line, "R\t", 2) != 0) {
			*error_r = strncmp(line, "C\t", 2) == 0
					   ? "no recipients"
					   : "unexpected envelope line";
			return -1;
		}
		return parse_rcpt(p, line, line_start, error_r);
	case QF_RCPTS:
		if (strncmp(line, "R\t", 2) == 0)
			return parse_rcpt(p, line, line_start, error_r);
		if (strncmp(line, "C\t", 2) != 0 ||
		    parse_digits(line + 2, QUEUE_LEN_DIGITS, QUEUE_LEN_DIGITS,
				 &v) < 0) {
			*error_r = "bad content length line";
			return -1;
		}
		p->content_size = v;
		p->state = QF_DONE;
		return 0;
	case QF_DONE:
		break;
	}
	panic("queue_file: parse state %d", (int)p->state);
}

/* Consumes the complete envelope lines in data[p->pos..len). Returns 1 at
 * the content, 0 if more data is needed, -1 on an error. */
static int parse_envelope(struct qf_parser *p, const char *data, size_t len,
			  const char **error_r)
{
	char line[QUEUE_LINE_MAX];
	size_t magic_len = strlen(QUEUE_FILE_MAGIC);

	if (p->state == QF_MAGIC && len > 0 &&
	    memcmp(data, QUEUE_FILE_MAGIC, len < magic_len ? len : magic_len)) {
		*error_r = "bad magic";
		return -1;
	}
	while (p->state != QF_DONE) {
		size_t avail = len - p->pos;
		size_t scan = avail < QUEUE_LINE_MAX ? avail : QUEUE_LINE_MAX;
		const char *nl = memchr(data + p->pos, '\n', scan);

		if (nl == NULL) {
			if (avail >= QUEUE_LINE_MAX) {
				*error_r = "envelope line too long";
				return -1;
			}
			return 0;
		}
		size_t line_len = (size_t)(nl - (data + p->pos));
		if (memchr(data + p->pos, '\0', line_len) != NULL ||
		    memchr(data + p->pos, '\r', line_len) != NULL) {
			*error_r = "control character in envelope";
			return -1;
		}
		memcpy(line, data + p->pos, line_len);
		line[line_len] = '\0';
		size_t start = p->pos;
		p->pos += line_len + 1;
		if (parse_line(p, line, start, error_r) < 0)
			return -1;
	}
	return 1;
}

/* What follows the envelope: content_size bytes, the late attributes,
 * "E\n", then the status records. *content_end_r is where the content
 * ends; what follows it is bounded here. */
#define QUEUE_LATE_BYTES_MAX ((uint64_t)QUEUE_ATTR_MAX * QUEUE_LINE_MAX)
static int check_tail(const struct qf_parser *p, uint64_t file_size,
		      uint64_t *content_end_r, const char **error_r)
{
	uint64_t end;

	if (__builtin_add_overflow((uint64_t)p->pos, p->content_size, &end) ||
	    end > UINT64_MAX - 2) {
		*error_r = "bad content length";
		return -1;
	}
	if (end + 2 > file_size) {
		*error_r = "queue file truncated";
		return -1;
	}
	if (file_size - end > QUEUE_STATUS_BYTES_MAX + QUEUE_LATE_BYTES_MAX + 2) {
		*error_r = "too many status records";
		return -1;
	}
	*content_end_r = end;
	return 0;
}

/* The late attribute lines at data[0..len) (what follows the content),
 * up to and with "E\n"; *used_r is the octets they take. */
static int parse_late_attrs(struct qf_parser *p, const char *data, size_t len,
			    size_t *used_r, const char **error_r)
{
	char line[QUEUE_LINE_MAX];
	size_t pos = 0;

	for (size_t n = 0;; n++) {
		if (len - pos >= 2 && memcmp(data + pos, "E\n", 2) == 0) {
			*used_r = pos + 2;
			return 0;
		}
		size_t avail = len - pos;
		size_t scan = avail < QUEUE_LINE_MAX ? avail : QUEUE_LINE_MAX;
		const char *nl = memchr(data + pos, '\n', scan);
		if (n >= QUEUE_ATTR_MAX || nl == NULL || avail < 2 ||
		    memcmp(data + pos, "A\t", 2) != 0) {
			*error_r = "missing end marker";
			return -1;
		}
		size_t line_len = (size_t)(nl - (data + pos));
		if (memchr(data + pos, '\0', line_len) != NULL ||
		    memchr(data + pos, '\r', line_len) != NULL) {
			*error_r = "control character in late attribute";
			return -1;
		}
		memcpy(line, data + pos, line_len);
		line[line_len] = '\0';
		if (parse_attr(p, line, error_r) < 0)
			return -1;
		pos += line_len + 1;
	}
}

/* Everything after the content: data[0..len) at file offset base. */
static int parse_after_content(struct qf_parser *p, const char *data,
			       size_t len, off_t base, const char **error_r)
{
	size_t used;

	if (parse_late_attrs(p, data, len, &used, error_r) < 0)
		return -1;
	return queue_file_parse_status(p->env, data + used, len - used,
				       base + (off_t)used, error_r);
}

int queue_file_parse(const char *data, size_t len,
		     struct queue_envelope *env_r, off_t *content_offset_r,
		     uint64_t *content_size_r, const char **error_r)
{
	struct qf_parser p = { .state = QF_MAGIC, .pos = 0, .env = env_r };
	uint64_t end;
	int ret;

	memset(env_r, 0, sizeof(*env_r));
	ret = parse_envelope(&p, data, len, error_r);
	if (ret == 0)
		*error_r = "truncated envelope";
	if (ret <= 0 || check_tail(&p, len, &end, error_r) < 0)
		goto fail;
	if (parse_after_content(&p, data + end, len - (size_t)end, (off_t)end,
				error_r) < 0)
		goto fail;
	*content_offset_r = (off_t)p.pos;
	*content_size_r = p.content_size;
	return 0;
fail:
	queue_envelope_free(env_r);
	return -1;
}

/* Reads the envelope into a growing buffer: the first read usually holds
 * the whole file of a small message, and never more than 8 KiB of a big
 * one (the content is the delivery agent's business). */
static int read_envelope(int fd, uint64_t size, struct qf_parser *p,
			 char **data_r, size_t *len_r, const char **error_r)
{
	size_t cap = size < QUEUE_READ_FIRST ? (size_t)size : QUEUE_READ_FIRST;
	char *data = xmalloc(cap + 1);
	size_t len = 0;
	int ret = 0;

	while (ret == 0) {
		if (len == cap) {
			if (cap >= size) {
				*error_r = "truncated envelope";
				ret = -1;
				break;
			}
			cap = size - cap < cap ? (size_t)size : cap * 2;
			data = xrealloc(data, cap + 1);
		}
		ssize_t n = fs_pread_all(fd, data + len, cap - len, (off_t)len);
		if (n <= 0) {
			*error_r = n < 0 ? "queue file read error"
					 : "queue file truncated";
			ret = -1;
			break;
		}
		len += (size_t)n;
		ret = parse_envelope(p, data, len, error_r);
	}
	*data_r = data;
	*len_r = len;
	return ret < 0 ? -1 : 0;
}

/* Reads what follows the content (bounded by check_tail) and parses it. */
static int read_tail(int fd, struct qf_parser *p, uint64_t end, uint64_t size,
		     const char **error_r)
{
	size_t len = (size_t)(size - end);
	char *data = xmalloc(len + 1);
	int ret = -1;

	if (len > 0 && fs_pread_all(fd, data, len, (off_t)end) != (ssize_t)len)
		*error_r = "queue file read error";
	else
		ret = parse_after_content(p, data, len, (off_t)end, error_r);
	free(data);
	return ret;
}

int queue_file_read(int fd, struct queue_envelope *env_r,
		    off_t *content_offset_r, uint64_t *content_size_r,
		    const char **error_r)
{
	struct qf_parser p = { .state = QF_MAGIC, .pos = 0, .env = env_r };
	struct stat st;
	char *data = NULL;
	uint64_t end;
	size_t len;

	memset(env_r, 0, sizeof(*env_r));
	if (fstat(fd, &st) < 0) {
		*error_r = "cannot stat queue file";
		return -1;
	}
	uint64_t size = (uint64_t)st.st_size;
	if (read_envelope(fd, size, &p, &data, &len, error_r) < 0 ||
	    check_tail(&p, size, &end, error_r) < 0 ||
	    read_tail(fd, &p, end, size, error_r) < 0)
		goto fail;
	free(data);
	*content_offset_r = (off_t)p.pos;
	*content_size_r = p.content_size;
	return 0;
fail:
	free(data);
	queue_envelope_free(env_r);
	return -1;
}

int queue_file_mark_done(int fd, struct queue_rcpt *rcpt)
{
	char c = QUEUE_RCPT_DONE;

	if (rcpt->status_offset <= 0) {
		errno = EINVAL;
		return -1;
	}
	if (pwrite(fd, &c, 1, rcpt->status_offset) != 1)
		return -1;
	rcpt->done = true;
	return 0;
}
