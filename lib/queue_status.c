/* queue_status: the status records qmgr appends to a queue file after its
 * end marker (the results a notice needs: failed, delayed, delivered or
 * relayed recipients, and the marks "notices sent" and "warning sent"):
 * their strict reader and the append. See queue_file.h for the format. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "mem.h"
#include "queue_file.h"
#include "queue_impl.h"
#include "str.h"

#define STATUS_FIELDS 7
/* A record's longest line: the fields' bounds, the index, the TABs. */
#define STATUS_LINE_MAX (QUEUE_DIAG_MAX + QUEUE_MTA_MAX + QUEUE_CMD_MAX + 64)

void queue_status_free(struct queue_status **stp)
{
	struct queue_status *st = *stp;

	if (st == NULL)
		return;
	free(st->status);
	free(st->diag_type);
	free(st->remote_mta);
	free(st->in_reply_to);
	free(st->diag);
	xfree(stp);
}

/* "c.s.d": class c, subject and detail of 1..3 digits (RFC 3463). */
static bool status_ok(const char *s, char kind)
{
	char want = kind == QUEUE_STATUS_FAILED ? 0 :
		    kind == QUEUE_STATUS_DELAYED ? '4' : '2';
	size_t n;

	if ((want != 0 && s[0] != want) ||
	    (want == 0 && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return false;
	s += 2;
	for (int part = 0; part < 2; part++) {
		n = strspn(s, "0123456789");
		if (n < 1 || n > 3 || s[n] != (part == 0 ? '.' : '\0'))
			return false;
		s += n + 1;
	}
	return true;
}

static bool kind_ok(char k)
{
	return k == QUEUE_STATUS_FAILED || k == QUEUE_STATUS_DELAYED ||
	       k == QUEUE_STATUS_DELIVERED || k == QUEUE_STATUS_RELAYED;
}

static bool diag_type_ok(const char *s)
{
	return s[0] == '\0' || strcmp(s, "smtp") == 0 ||
	       strcmp(s, "x-surel") == 0;
}

/* Which of the recipient's slots a kind of record fills. */
static struct queue_status **slot_of(struct queue_rcpt *r, char kind)
{
	return kind == QUEUE_STATUS_FAILED ? &r->failed :
	       kind == QUEUE_STATUS_DELAYED ? &r->delayed : &r->success;
}

static char *undash_dup(const char *s)
{
	return xstrdup(strcmp(s, "-") == 0 ? "" : s);
}

/* One record line (NUL-terminated copy, no LF). */
static int parse_record(struct queue_envelope *env, char *line,
			const char **error_r)
{
	char *f[STATUS_FIELDS], *p = line;
	uint64_t idx;
	size_t n = 0;

	for (;;) {
		f[n++] = p;
		p = strchr(p, '\t');
		if (p == NULL || n == STATUS_FIELDS)
			break;
		*p++ = '\0';
	}
	if (n != STATUS_FIELDS || p != NULL || strlen(f[0]) != 1 ||
	    !kind_ok(f[0][0]) || (f[1][0] == '0' && f[1][1] != '\0') ||
	    str_to_u64(f[1], &idx) < 0 || idx >= env->rcpt_count ||
	    !status_ok(f[2], f[0][0]) ||
	    !diag_type_ok(strcmp(f[3], "-") == 0 ? "" : f[3]) ||
	    strlen(f[4]) > QUEUE_MTA_MAX || strlen(f[5]) > QUEUE_CMD_MAX ||
	    strlen(f[6]) > QUEUE_DIAG_MAX) {
		*error_r = "bad status record";
		return -1;
	}
	struct queue_status **slot = slot_of(&env->rcpts[idx], f[0][0]);
	queue_status_free(slot);
	struct queue_status *st = xcalloc(1, sizeof(*st));
	st->kind = (enum queue_status_kind)f[0][0];
	st->status = xstrdup(f[2]);
	st->diag_type = undash_dup(f[3]);
	st->remote_mta = undash_dup(f[4]);
	st->in_reply_to = undash_dup(f[5]);
	st->diag = undash_dup(f[6]);
	*slot = st;
	return 0;
}

static void mark_notified(struct queue_envelope *env)
{
	for (size_t i = 0; i < env->rcpt_count; i++) {
		if (env->rcpts[i].failed != NULL)
			env->rcpts[i].failed->notified = true;
		if (env->rcpts[i].success != NULL)
			env->rcpts[i].success->notified = true;
	}
}

int queue_file_parse_status(struct queue_envelope *env, const char *data,
			    size_t len, off_t base, const char **error_r)
{
	char line[STATUS_LINE_MAX + 1];
	size_t pos = 0;

	env->status_count = 0;
	env->warning_sent = false;
	env->hold_mark = 0;
	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		if (nl == NULL)
			break;	/* torn by a crash mid-append: ignored */
		size_t n = (size_t)(nl - (data + pos));
		if (n > STATUS_LINE_MAX || memchr(data + pos, '\0', n) ||
		    memchr(data + pos, '\r', n) ||
		    env->status_count >= QUEUE_STATUS_MAX) {
			*error_r = n > STATUS_LINE_MAX ? "status record too long"
				   : env->status_count >= QUEUE_STATUS_MAX
				   ? "too many status records"
				   : "control character in status record";
			return -1;
		}
		memcpy(line, data + pos, n);
		line[n] = '\0';
		if (strcmp(line, "B") == 0)
			mark_notified(env);
		else if (strcmp(line, "W") == 0)
			env->warning_sent = true;
		else if (strcmp(line, "H") == 0 || strcmp(line, "O") == 0)
			env->hold_mark = line[0];
		else if (parse_record(env, line, error_r) < 0)
			return -1;
		env->status_count++;
		pos += n + 1;
	}
	env->status_end = base + (off_t)pos;
	return 0;
}

/* The line being built by an append: bounded by the fields' limits. */
struct line {
	char data[STATUS_LINE_MAX + 2];
	size_t len;
};

static void put_char(struct line *l, char c)
{
	ASSERT(l->len < sizeof(l->data));
	l->data[l->len++] = c;
}

/* A field as stored: no TAB/CR/LF (spaces instead), at most max octets,
 * "-" for empty. */
static void put_field(struct line *l, const char *s, size_t max)
{
	size_t n = s == NULL ? 0 : strlen(s);

	put_char(l, '\t');
	if (n == 0) {
		put_char(l, '-');
		return;
	}
	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++)
		put_char(l, s[i] == '\t' || s[i] == '\r' || s[i] == '\n' ? ' '
									 : s[i]);
}

static int append_line(int fd, struct queue_envelope *env,
		       const struct line *l, const char **error_r)
{
	if (env->status_end <= 0 || env->status_count >= QUEUE_STATUS_MAX) {
		*error_r = env->status_end <= 0 ? "queue file end unknown"
						: "too many status records";
		errno = EINVAL;
		return -1;
	}
	/* One write at the end of the last complete record: a torn record
	 * left by a crash is overwritten, and what remains of it has no LF,
	 * so the reader ignores it. */
	ssize_t n = pwrite(fd, l->data, l->len, env->status_end);
	if (n != (ssize_t)l->len) {
		if (n >= 0)
			errno = EIO;
		*error_r = "cannot append status record";
		return -1;
	}
	env->status_end += (off_t)n;
	env->status_count++;
	return 0;
}

int queue_file_append_status(int fd, struct queue_envelope *env,
			     size_t index, const struct queue_status_new *st,
			     const char **error_r)
{
	char num[24];
	const char *type = st->diag_type != NULL ? st->diag_type : "";
	struct line l = { .len = 0 };

	if (index >= env->rcpt_count || !kind_ok((char)st->kind) ||
	    st->status == NULL || !status_ok(st->status, (char)st->kind) ||
	    !diag_type_ok(type)) {
		*error_r = "bad status record";
		errno = EINVAL;
		return -1;
	}
	put_char(&l, (char)st->kind);
	snprintf(num, sizeof(num), "%zu", index);
	put_field(&l, num, sizeof(num));
	put_field(&l, st->status, 16);
	put_field(&l, type, 16);
	put_field(&l, st->remote_mta, QUEUE_MTA_MAX);
	put_field(&l, st->in_reply_to, QUEUE_CMD_MAX);
	put_field(&l, st->diag, QUEUE_DIAG_MAX);
	put_char(&l, '\n');
	if (append_line(fd, env, &l, error_r) < 0)
		return -1;
	/* The recipient's record in memory is what the reader would make
	 * of the line. */
	l.data[l.len - 1] = '\0';
	const char *perr;
	if (parse_record(env, l.data, &perr) < 0)
		panic("queue_status: own record rejected: %s", perr);
	return 0;
}

int queue_file_append_mark(int fd, struct queue_envelope *env, char mark,
			   const char **error_r)
{
	struct line l = { .data = { mark, '\n' }, .len = 2 };

	if (mark != 'B' && mark != 'W' && mark != 'H' && mark != 'O') {
		*error_r = "bad status mark";
		errno = EINVAL;
		return -1;
	}
	if (append_line(fd, env, &l, error_r) < 0)
		return -1;
	if (mark == 'B')
		mark_notified(env);
	else if (mark == 'W')
		env->warning_sent = true;
	else
		env->hold_mark = mark;
	return 0;
}
