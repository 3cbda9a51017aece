/* imapd_idle: IDLE (RFC 2177). The session waits on the client and on the
 * selected mailbox's inotify watch (imapd_view_watch_fd) together, so a
 * delivery is reported the moment its file lands; without a watch the
 * store is looked at every IDLE_POLL_MS. "* OK Still here" keeps NAT
 * boxes from dropping a quiet connection, and a client silent for
 * imapd_timeout is logged out as anywhere else. */
#include "config.h"
#include <errno.h>
#include <poll.h>
#include <string.h>
#include "service.h"
#include "str.h"
#include "timeutil.h"
#include "imapd.h"
#include "imapd_notify.h"

/* How often the store is looked at when there is no inotify watch. */
#define IDLE_POLL_MS 1000

struct idle_timers {
	uint64_t logout;	/* autologout deadline */
	uint64_t notify;	/* next "Still here" */
	uint64_t store;		/* next look at the store (no watch) */
};

/* The client's line during IDLE: "DONE" ends it (RFC 2177), anything
 * else is a protocol error that ends it too. */
static void idle_line(struct imapd_session *s)
{
	const char *line;
	size_t len;
	int ret = imapd_read_line(s, 64, s->p->timeout_ms, &line, &len);

	if (ret < 0)
		return;		/* gone: the session ends */
	if (ret > 0 && len == 4 && str_prefix_ci(line, "DONE"))
		imapd_ok(s, "Idle completed.");
	else
		imapd_bad(s, "Expected DONE.");
}

/* Reports what changed in the selected mailbox, at once. */
static void idle_report(struct imapd_session *s)
{
	imapd_view_sync(s, true);
	(void)imapd_flush(s);
}

/* Milliseconds to the earliest timer. */
static int idle_wait_ms(const struct idle_timers *t, bool poll_store)
{
	uint64_t now = time_mono_ms(), next = t->logout;

	if (t->notify < next)
		next = t->notify;
	if (poll_store && t->store < next)
		next = t->store;
	return next <= now ? 0 : next - now > INT32_MAX ? INT32_MAX
						       : (int)(next - now);
}

/* The timers that ran out. false when the session is over. */
static bool idle_timers_run(struct imapd_session *s, struct idle_timers *t,
			    bool poll_store)
{
	uint64_t now = time_mono_ms();

	if (now >= t->logout) {
		imapd_bye(s, "inactivity", "Disconnected for inactivity.");
		return false;
	}
	if (poll_store && now >= t->store) {
		idle_report(s);
		t->store = now + IDLE_POLL_MS;
	}
	if (now >= t->notify) {
		imapd_untagged(s, "OK Still here");
		if (imapd_flush(s) < 0)
			return false;
		t->notify = now + (uint64_t)s->p->idle_notify_ms;
	}
	return !s->closing;
}

/* Input that has arrived: 1 when a line may be read, 0 when none is
 * there (a TLS record not yet whole), -1 when the client is gone. */
static int idle_input(struct imapd_session *s)
{
	int ret = stream_poll_input(s->stream, 0);

	if (ret >= 0)
		return ret;
	s->end_reason = ret == STREAM_EOF ? "connection closed in IDLE"
					  : "connection lost in IDLE";
	s->closing = true;
	return -1;
}

static void idle_loop(struct imapd_session *s)
{
	uint64_t now = time_mono_ms();
	struct idle_timers t = {
		.logout = now + (uint64_t)s->p->timeout_ms,
		.notify = now + (uint64_t)s->p->idle_notify_ms,
		.store = now + IDLE_POLL_MS,
	};

	while (!service_stopping()) {
		/* TLS and COMPRESS may hold input the fd does not show. */
		int in = idle_input(s);
		if (in != 0) {
			if (in > 0)
				idle_line(s);
			return;
		}
		int watch = imapd_view_watch_fd(s);
		bool poll_store = watch < 0 && s->sel != NULL;
		/* poll() skips the fds that are -1. */
		struct pollfd pfd[3] = {
			{ .fd = stream_fd(s->stream), .events = POLLIN },
			{ .fd = watch, .events = POLLIN },
			{ .fd = imapd_notify_fd(s), .events = POLLIN },
		};
		int n = poll(pfd, 3, idle_wait_ms(&t, poll_store));
		if (n < 0 && errno != EINTR) {
			s->end_reason = "poll failed in IDLE";
			s->closing = true;
			return;
		}
		if (n > 0 && watch >= 0 && pfd[1].revents != 0) {
			imapd_view_watch_drain(s);
			idle_report(s);
		}
		if (n > 0 && pfd[2].revents != 0)
			imapd_notify_run(s);
		if (!idle_timers_run(s, &t, poll_store))
			return;
	}
	imapd_bye(s, "server shutting down", "Server shutting down.");
}

void imapd_cmd_idle(struct imapd_session *s, const struct imap_arg *args)
{
	if (args != NULL) {
		imapd_bad(s, "Unexpected arguments.");
		return;
	}
	/* What is pending is told before the wait begins. */
	imapd_view_sync(s, true);
	imapd_write_str(s, "+ idling\r\n");
	if (imapd_flush(s) < 0)
		return;
	idle_loop(s);
}
