/* pickup_file: one maildrop file into the queue; see pickup.h. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "addr.h"
#include "fsutil.h"
#include "header_qualify.h"
#include "log.h"
#include "mem.h"
#include "queue_file.h"
#include "queue_writer.h"
#include "pickup.h"

#define PICKUP_STALE_S 3600	/* an unfinished file older than this */
#define PICKUP_BLOCK (64 * 1024)

/* One message on its way: where the content goes. */
struct pickup_msg {
	struct queue_writer *w;
	struct content_check *cc;
	const char *error;
	char *from, *to;	/* qualified sender, first recipient (log) */
};

static int write_out(void *ctx, const char *data, size_t len)
{
	struct pickup_msg *m = ctx;

	return queue_writer_content(m->w, data, len, &m->error);
}

/* An action as Postfix's cleanup logs one for local mail, under its
 * name: "ID: hold: header TEXT from local; from=<s> to=<r>: TEXT"
 * (pflogsumm counts holds and discards by those lines). */
static void event(void *ctx, const struct content_check_event *ev)
{
	struct pickup_msg *m = ctx;
	char line[801], text[1025];
	char from[ADDR_PATH_MAX * 4 + 1], to[ADDR_PATH_MAX * 4 + 1];

	log_escape(line, sizeof(line), ev->line,
		   ev->line_len < 200 ? ev->line_len : 200);
	log_escape(text, sizeof(text), ev->text != NULL ? ev->text : "", 256);
	log_escape(from, sizeof(from), m->from, ADDR_PATH_MAX);
	log_escape(to, sizeof(to), m->to, ADDR_PATH_MAX);
	if (ev->kind == CONTENT_CHECK_ACTION)
		log_info_as("cleanup", "%s: %s: %s %s from local; from=<%s> "
			    "to=<%s>%s%s", queue_writer_id(m->w), ev->action,
			    ev->context, line, from, to,
			    *text != '\0' ? ": " : "", text);
	else
		log_warn("%s: content check %s: %s", queue_writer_id(m->w),
			 ev->map != NULL ? ev->map : "", text);
}

static int sink(struct pickup_msg *m, const char *data, size_t len)
{
	m->error = "queue file write error";
	return m->cc != NULL ? content_check_feed(m->cc, data, len)
			     : write_out(m, data, len);
}

/* How much the completion of unqualified header addresses may add. */
#define PICKUP_QUALIFY_ROOM 65536

/* An address without "@" gets "@$myorigin" (Postfix's
 * append_at_myorigin); the null sender stays null. */
static char *qualify(const char *address)
{
	char *out;

	if (*address == '\0' || strchr(address, '@') != NULL)
		return xstrdup(address);
	size_t n = strlen(address) + strlen(pickup_config.myorigin) + 2;
	out = xmalloc(n);
	snprintf(out, n, "%s@%s", address, pickup_config.myorigin);
	return out;
}

/* Nothing from a user is trusted: the envelope as a whole. */
static const char *envelope_problem(const struct queue_envelope *env,
				    uint64_t size)
{
	if (env->rcpt_count == 0)
		return "no recipients";
	if (env->status_count > 0 || env->hold_mark != 0)
		return "status records in a maildrop file";
	if (pickup_config.size_max > 0 && size > pickup_config.size_max)
		return "message file too big";
	const char *fields[] = { env->sender,
				 queue_envelope_attr(env, "full_name") };
	for (size_t i = 0; i < 2; i++)
		for (const char *s = fields[i]; s != NULL && *s != '\0'; s++)
			if ((unsigned char)*s < ' ' || *s == 127)
				return "control character in the envelope";
	if (strlen(env->sender) > ADDR_PATH_MAX)
		return "sender too long";
	for (size_t i = 0; i < env->rcpt_count; i++) {
		const char *r = env->rcpts[i].address;
		if (*r == '\0' || strlen(r) > ADDR_PATH_MAX)
			return "bad recipient";
		for (; *r != '\0'; r++)
			if ((unsigned char)*r < ' ' || *r == 127)
				return "control character in a recipient";
	}
	return NULL;
}

static int write_envelope(struct pickup_msg *m,
			  const struct queue_envelope *in, uid_t uid)
{
	struct queue_envelope env = { 0 };
	char uidtext[32];
	int ret;

	env.sender = xstrdup(m->from);
	snprintf(uidtext, sizeof(uidtext), "%lu", (unsigned long)uid);
	queue_envelope_add_attr(&env, "uid", uidtext);
	queue_envelope_add_attr(&env, "protocol", "local");
	/* sendmail -bv: the one attribute besides full_name taken from
	 * the user's file, and only as this exact value. */
	const char *verify = queue_envelope_attr(in, "verify");
	if (verify != NULL && strcmp(verify, "yes") == 0)
		queue_envelope_add_attr(&env, "verify", "yes");
	ret = 0;
	for (size_t i = 0; i < in->rcpt_count && ret == 0; i++) {
		char *r = qualify(in->rcpts[i].address);
		ret = pickup_alias_add(&env, r, &m->error);
		free(r);
	}
	if (ret == 0)
		ret = queue_writer_envelope(m->w, &env, &m->error);
	queue_envelope_free(&env);
	return ret;
}

/* Headers (ours, theirs, the missing ones) and the body. */
static int write_content(struct pickup_msg *m, int fd, off_t off,
			 uint64_t size, const struct queue_envelope *env,
			 uid_t uid)
{
	size_t hlen = size < pickup_config.header_max
		? (size_t)size : pickup_config.header_max;
	char *data = xmalloc(hlen > PICKUP_BLOCK ? hlen : PICKUP_BLOCK);
	struct pickup_header h;
	struct buf b;
	time_t now = time(NULL);
	int ret = fs_pread_all(fd, data, hlen, off) == (ssize_t)hlen ? 0 : -1;

	buf_init(&b, hlen + PICKUP_QUALIFY_ROOM + 16384);
	if (ret == 0 && memchr(data, '\0', hlen) != NULL)
		ret = -2;
	if (ret == 0) {
		pickup_header_scan(data, hlen, &h);
		ret = pickup_header_received(&b, queue_writer_id(m->w), uid,
					     now);
	}
	if (ret == 0) {
		/* Completions past PICKUP_QUALIFY_ROOM: the header as it was
		 * written rather than no message. */
		struct buf q;
		buf_init(&q, h.end + PICKUP_QUALIFY_ROOM);
		if (header_qualify(&q, data, h.end,
				   pickup_config.myorigin) < 0) {
			buf_reset(&q);
			ret = buf_append(&q, data, h.end);
		}
		if (ret == 0)
			ret = buf_append(&b, q.data, q.len);
		buf_deinit(&q);
	}
	if (ret == 0)
		ret = pickup_header_missing(&b, &h, queue_writer_id(m->w),
					    m->from,
					    queue_envelope_attr(env,
								"full_name"),
					    now);
	if (ret == 0)
		ret = buf_append_char(&b, '\n');
	if (ret == 0)
		ret = sink(m, b.data, b.len);
	for (uint64_t pos = ret == 0 ? h.body : size; ret == 0 && pos < size;) {
		size_t n = size - pos < PICKUP_BLOCK ? (size_t)(size - pos)
						     : PICKUP_BLOCK;
		if (fs_pread_all(fd, data, n, off + (off_t)pos) != (ssize_t)n)
			ret = -1;
		else if (memchr(data, '\0', n) != NULL)
			ret = -2;
		else
			ret = sink(m, data, n);
		pos += n;
	}
	buf_deinit(&b);
	free(data);
	return ret;
}

/* One-shot: pickup writes a message now and then, not a stream. */
static void wake_qmgr(const char *id)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char msg[QUEUE_ID_MAX + 16];
	int n = snprintf(msg, sizeof(msg), "incoming %s\n", id);

	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/public/qmgr",
		     pickup_config.queue_dir) >= (int)sizeof(sun.sun_path))
		return;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		(void)!send(fd, msg, (size_t)n, MSG_NOSIGNAL);
	close(fd);
}

/* The checks' verdict: 0 keep (a REJECT is kept, marked for qmgr to
 * bounce), 1 drop (DISCARD, logged), -1 temporary. */
static int verdict(struct pickup_msg *m)
{
	const char *error;

	if (m->cc == NULL)
		return 0;
	const struct content_check_verdict *v = content_check_verdict(m->cc);
	if (content_check_finish(m->cc) < 0 ||
	    v->final == CONTENT_CHECK_TEMPFAIL)
		return -1;
	if (v->final == CONTENT_CHECK_DISCARD)
		return 1;
	if (v->final == CONTENT_CHECK_REJECT) {
		/* "550 5.7.1 text": qmgr returns the message to its sender
		 * with the text (Postfix's cleanup bounces pickup's mail). */
		const char *text = v->reply;
		for (int skip = 0; skip < 2 && strchr(text, ' ') != NULL;
		     skip++)
			text = strchr(text, ' ') + 1;
		if (queue_writer_late_attr(m->w, "reject", text, &error) < 0) {
			m->error = error;
			return -1;
		}
		return 0;
	}
	if (v->hold &&
	    queue_writer_late_attr(m->w, "hold", "yes", &error) < 0) {
		m->error = error;
		return -1;
	}
	return 0;
}

/* Queues the checked file. 0 done (maildrop file removed), -1 retry. */
static int queue_it(int dir_fd, const char *name, int fd, uid_t uid,
		    const struct queue_envelope *env, off_t off,
		    uint64_t size)
{
	struct pickup_msg m = { .error = "queue file write error" };
	int ret;

	m.from = qualify(env->sender);
	m.to = qualify(env->rcpts[0].address);	/* envelope_problem: >= 1 */

	if (queue_writer_open(pickup_config.queue_dir, &m.w, &m.error) < 0) {
		log_warn("maildrop/%s: %s", name, m.error);
		free(m.from);
		free(m.to);
		return -1;
	}
	if (pickup_config.checks)
		m.cc = content_check_new(&pickup_config.check, write_out,
					 event, &m);
	ret = write_envelope(&m, env, uid);
	if (ret == 0)
		ret = write_content(&m, fd, off, size, env, uid);
	if (ret == 0)
		ret = verdict(&m);
	char id[QUEUE_ID_MAX];
	snprintf(id, sizeof(id), "%s", queue_writer_id(m.w));
	content_check_free(&m.cc);
	free(m.from);
	free(m.to);
	if (ret == 0 && queue_writer_commit(&m.w, &m.error) < 0)
		ret = -1;
	if (ret != 0)
		queue_writer_abort(&m.w);
	if (ret < 0 && ret != -2) {
		log_warn("%s: maildrop/%s: %s", id, name, m.error);
		return -1;
	}
	if (ret == -2)
		log_warn("maildrop/%s: uid=%lu: message contains a NUL "
			 "character: removed", name, (unsigned long)uid);
	else {
		/* Discarded too: Postfix's pickup says uid and from for
		 * every message it takes (cleanup's line says discard). */
		char from[ADDR_PATH_MAX * 4 + 1];
		log_escape(from, sizeof(from), env->sender, ADDR_PATH_MAX);
		log_info("%s: uid=%lu from=<%s>", id, (unsigned long)uid,
			 from);
	}
	if (ret == 0)
		wake_qmgr(id);
	/* After the commit: a crash before this unlink queues it twice. */
	if (unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT)
		log_warn("remove maildrop/%s: %s", name, strerror(errno));
	return 0;
}

static void drop(int dir_fd, const char *name, uid_t uid, const char *why)
{
	log_warn("maildrop/%s: uid=%lu: %s: removed", name,
		 (unsigned long)uid, why);
	if (unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT)
		log_warn("remove maildrop/%s: %s", name, strerror(errno));
}

int pickup_file(int dir_fd, const char *name)
{
	struct queue_envelope env = { 0 };
	struct stat st;
	const char *error;
	off_t off;
	uint64_t size;
	int ret = 0;

	int fd = openat(dir_fd, name,
			O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;	/* drop() may change errno */
		if (err == ENOENT)
			return 0;
		if (err == ELOOP)
			drop(dir_fd, name, 0, "a symbolic link");
		else
			log_warn("open maildrop/%s: %s", name, strerror(err));
		return err == ELOOP ? 0 : -1;
	}
	if (fstat(fd, &st) < 0) {
		log_warn("fstat maildrop/%s: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
		drop(dir_fd, name, st.st_uid, "not a regular file with one "
		     "link");
	} else if ((st.st_mode & S_IXUSR) == 0) {
		/* Being written, or left by a sureldrop that died: its lock
		 * says which. */
		if (time(NULL) - st.st_mtime > PICKUP_STALE_S &&
		    flock(fd, LOCK_EX | LOCK_NB) == 0)
			drop(dir_fd, name, st.st_uid, "unfinished and stale");
	} else if (queue_file_read(fd, &env, &off, &size, &error) < 0) {
		drop(dir_fd, name, st.st_uid, error);
	} else if ((error = envelope_problem(&env, size)) != NULL) {
		drop(dir_fd, name, st.st_uid, error);
	} else {
		ret = queue_it(dir_fd, name, fd, st.st_uid, &env, off, size);
	}
	queue_envelope_free(&env);
	close(fd);
	return ret;
}
