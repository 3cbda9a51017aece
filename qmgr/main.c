/* qmgr: the queue manager. One process and one event loop: it takes the
 * queue ids smtpd announces on public/qmgr, moves each file from
 * incoming/ to active/, has its recipients delivered over a pool of
 * connections to private/local, and removes or defers the file. This file
 * is the loop: configuration, the wakeup clients, timers and signals. */
#include "config.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include "conf.h"
#include "fsutil.h"
#include "log.h"
#include "mem.h"
#include "qmgr.h"
#include "service.h"
#include "timeutil.h"
#include "deliver_proto.h"

#define QMGR_TICK_MS 1000
#define QMGR_INCOMING_SCAN_MS 5000	/* the safety net for lost wakeups */
#define QMGR_STOP_GRACE_MS 2000		/* answers awaited after SIGTERM */
#define QMGR_CLIENT_LINE 128
#define QMGR_CLIENTS_MAX 1024		/* smtpds hold one each */
#define QMGR_CLIENT_READS 16		/* reads per client per event */
#define QMGR_CLIENT_TIMEOUT_MS 10000
#define QMGR_ACCEPT_BATCH 64
#define QMGR_FD_RESERVE 64		/* log, dirs, listener, epoll... */

struct qmgr_state qmgr;

/* A connection on public/qmgr. smtpd keeps one open for its whole life
 * and writes a line per message, so a burst costs no connect() and cannot
 * overflow the listen backlog; one-shot clients (master's wakeup) write a
 * line and close. A client silent for QMGR_CLIENT_TIMEOUT_MS is closed:
 * smtpd reconnects on its next message. */
struct wakeup_client {
	int fd;
	char line[QMGR_CLIENT_LINE];
	size_t len;
	uint64_t deadline_ms;
	struct wakeup_client *next;
};

static struct wakeup_client *clients;
static size_t client_count;
static int listen_fd = -1;
static uint64_t stop_deadline_ms;

/* ---- wakeup commands ---- */

static void cmd_incoming(const char *arg) { qmgr_message_wakeup(arg); }

static void cmd_wakeup(const char *arg)
{
	(void)arg;
	qmgr_scan_incoming();
}

static const struct {
	const char *name;	/* with its trailing space if it takes an arg */
	void (*fn)(const char *arg);
} wakeup_cmds[] = {
	{ "incoming ", cmd_incoming },
	{ "wakeup", cmd_wakeup },
};

static void wakeup_line(char *line)
{
	for (size_t i = 0; i < sizeof(wakeup_cmds) / sizeof(wakeup_cmds[0]);
	     i++) {
		const char *name = wakeup_cmds[i].name;
		size_t len = strlen(name);
		bool has_arg = name[len - 1] == ' ';

		if (strncmp(line, name, len) == 0 &&
		    (has_arg || line[len] == '\0')) {
			wakeup_cmds[i].fn(line + len);
			return;
		}
	}
	char esc[4 * QMGR_CLIENT_LINE];
	log_warn("unknown wakeup request \"%s\"",
		 log_escape(esc, sizeof(esc), line, QMGR_CLIENT_LINE));
}

/* Handles the complete lines in c; true when c is finished with. */
static bool client_lines(struct wakeup_client *c)
{
	size_t start = 0;
	bool any = false;

	for (size_t i = 0; i < c->len; i++) {
		if (c->line[i] != '\n')
			continue;
		c->line[i] = '\0';
		wakeup_line(c->line + start);
		start = i + 1;
		any = true;
	}
	memmove(c->line, c->line + start, c->len - start);
	c->len -= start;
	if (c->len == sizeof(c->line)) {
		log_warn("wakeup request too long");
		return true;
	}
	if (any)
		c->deadline_ms = time_mono_ms() + QMGR_CLIENT_TIMEOUT_MS;
	return false;
}

/* Reads what c sent, a bounded number of times so that one busy client
 * cannot hold the loop; true when c is finished with (closed or bad). A
 * partial line left at EOF is dropped: its writer saw the send fail. */
static bool client_read(struct wakeup_client *c)
{
	for (int i = 0; i < QMGR_CLIENT_READS; i++) {
		ssize_t n = recv(c->fd, c->line + c->len,
				 sizeof(c->line) - c->len, MSG_DONTWAIT);
		if (n < 0)
			return errno != EAGAIN && errno != EWOULDBLOCK &&
			       errno != EINTR;
		if (n == 0)
			return true;
		c->len += (size_t)n;
		if (client_lines(c))
			return true;
	}
	return false;
}

static void client_free(struct wakeup_client *c)
{
	struct wakeup_client **pp = &clients;

	while (*pp != NULL && *pp != c)
		pp = &(*pp)->next;
	if (*pp == c) {
		*pp = c->next;
		client_count--;
		event_fd_clear(qmgr.loop, c->fd);
	}
	close(c->fd);
	free(c);
}

static void client_event(int fd, unsigned events, void *ctx)
{
	if (client_read(ctx))
		client_free(ctx);
}

static void client_new(int fd)
{
	struct wakeup_client *c = xcalloc(1, sizeof(*c));

	c->fd = fd;
	c->deadline_ms = time_mono_ms() + QMGR_CLIENT_TIMEOUT_MS;
	/* A one-shot client wrote its line before we even woke: usually done
	 * here, without an epoll registration. */
	if (client_read(c) || client_count >= QMGR_CLIENTS_MAX ||
	    event_fd_set(qmgr.loop, fd, EVENT_READ, client_event, c) < 0) {
		client_free(c);
		return;
	}
	c->next = clients;
	clients = c;
	client_count++;
}

static void on_accept(int fd, unsigned events, void *ctx)
{
	for (int i = 0; i < QMGR_ACCEPT_BATCH; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		client_new(cfd);
	}
}

static void clients_expire(uint64_t now)
{
	struct wakeup_client *c = clients, *next;

	for (; c != NULL; c = next) {
		next = c->next;
		if (now >= c->deadline_ms)
			client_free(c);
	}
}

/* ---- timers and signals ---- */

static void on_tick(void *ctx)
{
	uint64_t now = time_mono_ms();

	clients_expire(now);
	if (qmgr.stopping) {
		if (qmgr.outstanding == 0 || now >= stop_deadline_ms) {
			event_loop_stop(qmgr.loop);
			return;
		}
	} else {
		qmgr_deliver_tick();
		qmgr_super_tick();
	}
	event_timer_add(qmgr.loop, QMGR_TICK_MS, on_tick, NULL);
}

static void on_incoming_scan(void *ctx)
{
	if (qmgr.stopping)
		return;
	qmgr_scan_incoming();
	event_timer_add(qmgr.loop, QMGR_INCOMING_SCAN_MS, on_incoming_scan,
			NULL);
}

static void on_queue_run(void *ctx)
{
	if (qmgr.stopping)
		return;
	/* A file that could not leave active/ (a failed fsync or rename) is
	 * not in memory any more. Recovering active/ is only safe when no
	 * message is in memory: then every file there is such an orphan. */
	if (qmgr.active_orphans && qmgr.active_count == 0) {
		qmgr.active_orphans = false;
		qmgr_scan_recover_active();
	}
	qmgr_scan_deferred();
	event_timer_add(qmgr.loop, qmgr.run_delay_s * 1000, on_queue_run,
			NULL);
}

/* Files in active/ stay there and are recovered at the next start; the
 * answers already on their way are still taken, for a little while. */
static void on_stop(int signo, void *ctx)
{
	if (qmgr.stopping)
		return;
	log_info("stopping on signal %d, %zu deliveries in flight", signo,
		 qmgr.outstanding);
	qmgr.stopping = true;
	event_fd_clear(qmgr.loop, listen_fd);
	stop_deadline_ms = time_mono_ms() + QMGR_STOP_GRACE_MS;
	if (qmgr.outstanding == 0)
		event_loop_stop(qmgr.loop);
}

/* ---- start ---- */

/* Every active message holds its file open: the active limit may not
 * exceed what the descriptor limit allows. */
static size_t fd_budget(void)
{
	struct rlimit rl;
	size_t reserve = QMGR_FD_RESERVE + qmgr.pool_size[QMGR_LOCAL] +
			 qmgr.pool_size[QMGR_SMTP] + QMGR_CLIENTS_MAX;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 16;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1 << 24)
		rl.rlim_cur = 1 << 24;
	return rl.rlim_cur > reserve + 16 ? (size_t)rl.rlim_cur - reserve : 16;
}

/* Routing's tables, opened while the files can still be reached (before
 * a chroot). relayhost and default_transport are checked here so that a
 * typo stops qmgr at start instead of deferring every remote recipient. */
static void qmgr_pre_jail(void)
{
	char **words = conf_list("virtual_mailbox_domains");
	const char *error;

	if (local_domains_open(words, &qmgr.domains, &error) < 0)
		fatal("virtual_mailbox_domains: %s", error);
	free(words);
	words = conf_list("mynetworks");
	if (netmatch_parse(words, &qmgr.mynetworks, &error) < 0)
		fatal("mynetworks: %s", error);
	free(words);
	qmgr_route_init();
}

/* A limit from main.cf within [1, max]. */
static size_t conf_limit(const char *name, size_t max)
{
	uint64_t v = conf_int(name);

	return v == 0 ? 1 : v > max ? max : (size_t)v;
}

static void qmgr_configure(void)
{
	qmgr.min_backoff_s = conf_time("minimal_backoff_time");
	qmgr.max_backoff_s = conf_time("maximal_backoff_time");
	if (qmgr.max_backoff_s < qmgr.min_backoff_s)
		qmgr.max_backoff_s = qmgr.min_backoff_s;
	qmgr.max_lifetime_s = conf_time("maximal_queue_lifetime");
	qmgr_notice_configure();
	qmgr_hops_configure();
	qmgr.run_delay_s = conf_time("queue_run_delay");
	if (qmgr.run_delay_s == 0)
		qmgr.run_delay_s = 1;
	qmgr.ipc_timeout_ms = conf_time("ipc_timeout") * 1000;
	if (qmgr.ipc_timeout_ms == 0)
		qmgr.ipc_timeout_ms = 1000;
	/* local is one destination: its limit is its pool. smtp's pool is
	 * what master lets the service run (maxproc "-"), shared by all
	 * destinations within their limits. */
	qmgr.dest_limit[QMGR_LOCAL] =
		conf_limit("local_destination_concurrency_limit", 1000);
	qmgr.pool_size[QMGR_LOCAL] = qmgr.dest_limit[QMGR_LOCAL];
	qmgr.rcpt_limit[QMGR_LOCAL] = 1;	/* version 1 */
	qmgr.pool_size[QMGR_SMTP] = conf_limit("default_process_limit", 1000);
	qmgr.dest_limit[QMGR_SMTP] =
		conf_limit("smtp_destination_concurrency_limit", 1000);
	qmgr.rcpt_limit[QMGR_SMTP] = conf_limit(
		"smtp_destination_recipient_limit", DELIVER_RCPT_MAX);
	qmgr.initial_window = conf_limit("initial_destination_concurrency",
					 1000);
	qmgr.active_limit = conf_int("qmgr_message_active_limit");
	if (qmgr.active_limit == 0)
		qmgr.active_limit = 1;
	size_t budget = fd_budget();
	if (qmgr.active_limit > budget) {
		log_warn("qmgr_message_active_limit %zu lowered to %zu: "
			 "open file limit", qmgr.active_limit, budget);
		qmgr.active_limit = budget;
	}
}

static void qmgr_loop(int fd)
{
	listen_fd = fd;
	qmgr.loop = event_loop_new();
	qmgr_configure();
	qmgr_deliver_init();
	service_loop_stop_on(qmgr.loop, on_stop, NULL);
	if (fs_set_nonblock(listen_fd) < 0 ||
	    event_fd_set(qmgr.loop, listen_fd, EVENT_READ, on_accept, NULL) < 0)
		fatal("cannot watch the wakeup socket: %s", strerror(errno));
	qmgr_super_init();

	/* A crash left these mid-delivery: deliver again what is pending. */
	qmgr_scan_recover_active();
	qmgr_scan_incoming();
	qmgr_scan_deferred();
	event_timer_add(qmgr.loop, QMGR_TICK_MS, on_tick, NULL);
	event_timer_add(qmgr.loop, QMGR_INCOMING_SCAN_MS, on_incoming_scan,
			NULL);
	event_timer_add(qmgr.loop, qmgr.run_delay_s * 1000, on_queue_run, NULL);
	event_loop_run(qmgr.loop);

	qmgr_super_shutdown();
	qmgr_deliver_shutdown();
	qmgr_message_free_all();
	qmgr_dest_free_all();
	while (clients != NULL)
		client_free(clients);
	event_loop_free(&qmgr.loop);
	local_domains_free(&qmgr.domains);
	netmatch_free(&qmgr.mynetworks);
	qmgr_route_deinit();
}

int main(int argc, char **argv)
{
	static const struct service_def def = {
		.name = "qmgr",
		.pre_jail = qmgr_pre_jail,
		.loop = qmgr_loop,
	};

	service_main(argc, argv, &def);
}
