/* qmgr_super: surelsuper's requests on private/qmgr-super (the protocol
 * is lib/super_proto.h). qmgr is the only process that moves queue files,
 * so surelsuper asks it instead of renaming files itself: a message being
 * delivered is then never moved from under its delivery agent, and no
 * lock between the two is needed.
 *
 * The socket is qmgr's own (master.cf gives a service one socket, and
 * public/qmgr is for the wakeups of smtpd): created at start in
 * private/, which is mail_owner's with mode 0700, and mode 0600 itself;
 * the peer's uid (SO_PEERCRED) must moreover be root's or qmgr's own.
 * Requests and replies go in lock step, one line each, so a client never
 * makes qmgr buffer more than a line; a request is handled in one go (ALL
 * walks the queue directories) before the loop goes on. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "fsutil.h"
#include "log.h"
#include "mem.h"
#include "qmgr.h"
#include "timeutil.h"

#define SUPER_CLIENTS_MAX 16
#define SUPER_TIMEOUT_MS 60000		/* a silent client is closed */
#define SUPER_BACKLOG 16

struct super_client {
	int fd;
	char line[SUPER_LINE_MAX];
	size_t len;
	uint64_t deadline_ms;
	struct super_client *next;
};

static struct super_client *clients;
static size_t client_count;
static int super_fd = -1;

static void client_free(struct super_client *c)
{
	struct super_client **pp = &clients;

	while (*pp != NULL && *pp != c)
		pp = &(*pp)->next;
	if (*pp == c) {
		*pp = c->next;
		client_count--;
	}
	event_fd_clear(qmgr.loop, c->fd);
	close(c->fd);
	free(c);
}

/* Sends one reply; false if it could not go whole (the client is then
 * dropped: in lock step a reply always fits the socket buffer). */
static bool reply_send(struct super_client *c, const struct super_reply *r)
{
	char out[SUPER_LINE_MAX];
	size_t len = super_proto_format_reply(r, out);

	return send(c->fd, out, len, MSG_DONTWAIT | MSG_NOSIGNAL) ==
	       (ssize_t)len;
}

static void request_run(const char *line, size_t len,
			struct super_reply *r)
{
	struct super_request req;
	const char *error = "failed";
	char esc[4 * SUPER_LINE_MAX];

	if (super_proto_parse_request(line, len, &req, &error) < 0) {
		log_warn("surelsuper request \"%s\": %s",
			 log_escape(esc, sizeof(esc), line, len), error);
		r->status = SUPER_ERROR;
		snprintf(r->text, sizeof(r->text), "%s", error);
		return;
	}
	if (qmgr.stopping) {
		r->status = SUPER_ERROR;
		snprintf(r->text, sizeof(r->text), "qmgr is stopping");
		return;
	}
	const char *target = req.op == SUPER_FLUSH_SITE ? req.site :
			     req.all ? NULL : req.id;
	int ret = qmgr_hold_request(req.op, target, &r->count, &error);
	r->status = ret > 0 ? SUPER_OK : ret == 0 ? SUPER_NONE : SUPER_ERROR;
	if (ret < 0)
		snprintf(r->text, sizeof(r->text), "%s", error);
}

/* Handles what c sent; true when c is finished with. */
static bool client_read(struct super_client *c)
{
	ssize_t n = recv(c->fd, c->line + c->len, sizeof(c->line) - c->len,
			 MSG_DONTWAIT);

	if (n < 0)
		return errno != EAGAIN && errno != EWOULDBLOCK &&
		       errno != EINTR;
	if (n == 0)
		return true;
	c->len += (size_t)n;
	char *nl = memchr(c->line, '\n', c->len);
	if (nl == NULL) {
		if (c->len < sizeof(c->line))
			return false;
		log_warn("surelsuper request too long");
		return true;
	}
	/* Lock step: a client that sends past its request breaks it. */
	size_t len = (size_t)(nl - c->line);
	if (len + 1 != c->len) {
		log_warn("surelsuper sent a request before its reply");
		return true;
	}
	struct super_reply r = { .status = SUPER_ERROR };
	request_run(c->line, len, &r);
	c->len = 0;
	c->deadline_ms = time_mono_ms() + SUPER_TIMEOUT_MS;
	return !reply_send(c, &r);
}

static void client_event(int fd, unsigned events, void *ctx)
{
	(void)fd;
	(void)events;
	if (client_read(ctx))
		client_free(ctx);
}

/* Root, or the user qmgr runs as (mail_owner; in an instance run by an
 * ordinary user, that user). */
static bool peer_allowed(int fd, uid_t *uid_r)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	*uid_r = cred.uid;
	return cred.uid == 0 || cred.uid == geteuid();
}

static void client_new(int fd)
{
	uid_t uid = (uid_t)-1;

	if (!peer_allowed(fd, &uid)) {
		struct super_reply r = { .status = SUPER_ERROR };
		log_warn("surelsuper request from uid %ld refused",
			 (long)uid);
		snprintf(r.text, sizeof(r.text), "permission denied");
		char out[SUPER_LINE_MAX];
		size_t len = super_proto_format_reply(&r, out);
		(void)!send(fd, out, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		close(fd);
		return;
	}
	if (client_count >= SUPER_CLIENTS_MAX) {
		close(fd);
		return;
	}
	struct super_client *c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->deadline_ms = time_mono_ms() + SUPER_TIMEOUT_MS;
	if (event_fd_set(qmgr.loop, fd, EVENT_READ, client_event, c) < 0) {
		close(fd);
		free(c);
		return;
	}
	c->next = clients;
	clients = c;
	client_count++;
}

static void on_accept(int fd, unsigned events, void *ctx)
{
	(void)events;
	(void)ctx;
	for (int i = 0; i < SUPER_BACKLOG; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("accept %s: %s", SUPER_SOCKET,
					 strerror(errno));
			return;
		}
		client_new(cfd);
	}
}

/* A socket left by an earlier qmgr is replaced: only one qmgr runs
 * (master.cf maxproc 1), and one stopping after a reload keeps only its
 * descriptor. Without the socket surelsuper cannot reach qmgr, but mail
 * flows: a failure is logged, not fatal. */
void qmgr_super_init(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", SUPER_SOCKET);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || (unlink(SUPER_SOCKET) < 0 && errno != ENOENT) ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(SUPER_SOCKET, 0600) < 0 || listen(fd, SUPER_BACKLOG) < 0 ||
	    event_fd_set(qmgr.loop, fd, EVENT_READ, on_accept, NULL) < 0) {
		log_error("cannot listen on %s: %s (surelsuper cannot reach "
			  "qmgr)", SUPER_SOCKET, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	super_fd = fd;
}

void qmgr_super_tick(void)
{
	uint64_t now = time_mono_ms();
	struct super_client *c = clients, *next;

	for (; c != NULL; c = next) {
		next = c->next;
		if (now >= c->deadline_ms)
			client_free(c);
	}
}

/* The socket file stays: a new qmgr may have replaced it already. */
void qmgr_super_shutdown(void)
{
	while (clients != NULL)
		client_free(clients);
	if (super_fd >= 0) {
		event_fd_clear(qmgr.loop, super_fd);
		close(super_fd);
		super_fd = -1;
	}
}
