/* master_spawn: the processes of each service. Forks them with the
 * listener on fd 3 and a status pipe on fd 4, counts busy and idle ones
 * from what they write there, reaps them, and restarts a failing service
 * only after a growing back-off. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "conf.h"
#include "event.h"
#include "fsutil.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "timeutil.h"
#include "service.h"
#include "master.h"

#define MASTER_ARGV_MAX 256
#define MASTER_REAP_MAX 1000	/* waitpid calls per SIGCHLD */

static void master_child_count(struct master_child *child, int sign)
{
	struct master_service *svc = child->svc;

	if (svc == NULL || child->state == MASTER_CHILD_RETIRED)
		return;
	if (sign > 0) {
		svc->nchildren++;
		svc->nidle += child->state == MASTER_CHILD_IDLE;
	} else {
		ASSERT(svc->nchildren > 0);
		svc->nchildren--;
		if (child->state == MASTER_CHILD_IDLE) {
			ASSERT(svc->nidle > 0);
			svc->nidle--;
		}
	}
	metrics_slot_processes(master.metrics, svc->metrics_slot,
			       svc->nchildren, svc->nchildren - svc->nidle);
}

static void master_child_set_state(struct master_child *child,
				   enum master_child_state state)
{
	master_child_count(child, -1);
	child->state = state;
	master_child_count(child, +1);
}

static void master_child_close_status(struct master_child *child)
{
	if (child->status_fd < 0)
		return;
	event_fd_clear(master.loop, child->status_fd);
	close(child->status_fd);
	child->status_fd = -1;
}

/* --- the child side of fork: never returns --- */

static void master_child_exec(struct master_service *svc, int status_w)
{
	char *argv[MASTER_ARGV_MAX];
	size_t n = 0;
	sigset_t none;
	char pid[32];

	/* Blocked signals and ignored ones survive exec: hand the daemon a
	 * clean slate. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	/* Move both fds out of the way first, so that dup2 onto 3 and 4
	 * cannot clobber one of them. dup2 clears close-on-exec. */
	int lfd = fcntl(svc->listen_fd, F_DUPFD_CLOEXEC, 10);
	int sfd = fcntl(status_w, F_DUPFD_CLOEXEC, 10);
	int mfd = master.metrics_fd >= 0 && svc->metrics_slot >= 0 ?
		  fcntl(master.metrics_fd, F_DUPFD_CLOEXEC, 10) : -1;
	if (lfd < 0 || sfd < 0 || dup2(lfd, SERVICE_LISTEN_FD) < 0 ||
	    dup2(sfd, SERVICE_STATUS_FD) < 0 ||
	    (mfd >= 0 && dup2(mfd, METRICS_FD) < 0)) {
		log_init("master", conf_str("maillog_file"));
		log_error("%s: cannot set up descriptors: %s", svc->path,
			  strerror(errno));
		_exit(127);
	}
	snprintf(pid, sizeof(pid), "%ld", (long)getppid());
	setenv("SUREL_MASTER_PID", pid, 1);
	if (mfd >= 0) {
		char slot[16];
		snprintf(slot, sizeof(slot), "%d", svc->metrics_slot);
		setenv(METRICS_SLOT_ENV, slot, 1);
	}

	argv[n++] = svc->path;
	argv[n++] = (char *)"-c";
	argv[n++] = (char *)master.config_dir;
	argv[n++] = (char *)"-n";
	argv[n++] = svc->name;
	argv[n++] = (char *)"-t";
	argv[n++] = svc->type;
	if (svc->chroot)
		argv[n++] = (char *)"-j";
	if (!svc->unpriv)
		argv[n++] = (char *)"-p";
	for (size_t i = 0; svc->args[i] != NULL && n < MASTER_ARGV_MAX - 1;
	     i++)
		argv[n++] = svc->args[i];
	argv[n] = NULL;
	execv(svc->path, argv);
	int saved = errno;
	/* The log file may have been on fd 3 or 4: open it again. */
	log_init("master", conf_str("maillog_file"));
	log_error("cannot execute %s: %s", svc->path, strerror(saved));
	_exit(127);
}

/* --- status pipe --- */

static void master_status_read(int fd, unsigned events, void *ctx)
{
	struct master_child *child = ctx;
	struct master_service *svc = child->svc;
	char buf[64];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* The child is on its way out (max_use, max_idle, crash):
		 * it takes no more clients, so stop counting it. */
		master_child_close_status(child);
		master_child_set_state(child, MASTER_CHILD_RETIRED);
	} else {
		for (ssize_t i = 0; i < n; i++) {
			if (child->state == MASTER_CHILD_RETIRED)
				break;
			if (buf[i] == SERVICE_STATUS_BUSY) {
				master_child_set_state(child,
						       MASTER_CHILD_BUSY);
				/* It got a client: the program works. */
				if (svc != NULL)
					svc->throttle_ms = 0;
			} else if (buf[i] == SERVICE_STATUS_IDLE) {
				master_child_set_state(child,
						       MASTER_CHILD_IDLE);
			}
		}
	}
	if (svc != NULL)
		master_service_update(svc);
}

void master_spawn(struct master_service *svc)
{
	int fds[2];

	/* On failure, throttle: the listener stays readable, and retrying
	 * at once would spin. */
	if (pipe2(fds, O_CLOEXEC) < 0) {
		log_warn("%s: pipe: %s", svc->path, strerror(errno));
		master_throttle(svc);
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		log_warn("%s: fork: %s", svc->path, strerror(errno));
		close(fds[0]);
		close(fds[1]);
		master_throttle(svc);
		return;
	}
	if (pid == 0)
		master_child_exec(svc, fds[1]);
	close(fds[1]);
	if (fs_set_nonblock(fds[0]) < 0)
		log_warn("status pipe: %s", strerror(errno));

	struct master_child *child = xcalloc(1, sizeof(*child));
	child->pid = pid;
	child->start_ms = time_mono_ms();
	child->status_fd = fds[0];
	child->svc = svc;
	/* A new process counts as idle: it will accept the client that made
	 * us start it, so one readable listener starts one process. */
	child->state = MASTER_CHILD_IDLE;
	master_child_count(child, +1);
	child->next = master.children;
	master.children = child;
	if (event_fd_set(master.loop, fds[0], EVENT_READ, master_status_read,
			 child) < 0)
		fatal("event_fd_set: %s", strerror(errno));
	master_service_update(svc);
}

/* --- retiring (reload, removed service) --- */

static void master_retire_timeout(void *ctx)
{
	struct master_child *child = ctx;

	child->retire_timer = 0;
	child->termed = true;
	kill(child->pid, SIGTERM);
}

void master_child_retire(struct master_child *child)
{
	if (child->state == MASTER_CHILD_RETIRED && child->status_fd < 0)
		return;
	bool was_idle = child->state == MASTER_CHILD_IDLE;

	master_child_set_state(child, MASTER_CHILD_RETIRED);
	/* A pre-forked daemon sees its status pipe close: when idle at once,
	 * when busy after its client. An event daemon (always-on: qmgr) does
	 * not watch the pipe: it gets SIGTERM now, and its successor starts
	 * once it is gone, so two never run at once. A still idle one gets
	 * SIGTERM a little later. */
	master_child_close_status(child);
	if (child->svc != NULL && child->svc->always_on) {
		child->termed = true;
		kill(child->pid, SIGTERM);
	} else if (was_idle && child->retire_timer == 0) {
		child->retire_timer = event_timer_add(master.loop,
			MASTER_RETIRE_WAIT_MS, master_retire_timeout, child);
	}
}

void master_children_retire_all(void)
{
	for (struct master_child *c = master.children; c != NULL; c = c->next)
		master_child_retire(c);
}

void master_child_move(struct master_child *child,
		       struct master_service *svc)
{
	master_child_count(child, -1);
	child->svc = svc;
	master_child_count(child, +1);
}

unsigned master_children_alive(const struct master_service *svc)
{
	unsigned n = 0;

	for (struct master_child *c = master.children; c != NULL; c = c->next)
		n += c->svc == svc;
	return n;
}

/* --- throttling --- */

void master_throttle(struct master_service *svc)
{
	uint64_t max_ms = conf_time("service_throttle_time") * 1000;

	if (svc->throttled)
		return;
	if (max_ms < MASTER_THROTTLE_MIN_MS)
		max_ms = MASTER_THROTTLE_MIN_MS;
	uint64_t ms = svc->throttle_ms;
	if (ms < MASTER_THROTTLE_MIN_MS)
		ms = MASTER_THROTTLE_MIN_MS;
	if (ms > max_ms)
		ms = max_ms;
	svc->throttled = true;
	svc->throttle_timer = event_timer_add(master.loop, ms,
					      master_service_unthrottle, svc);
	/* Doubles while failures follow each other; a child that gets a
	 * client or exits cleanly resets it. */
	svc->throttle_ms = ms * 2;
	if (ms > MASTER_THROTTLE_MIN_MS)
		log_warn("%s: service %s failing -- throttling for %llus",
			 svc->path, svc->name, (unsigned long long)ms / 1000);
	master_service_update(svc);
}

/* --- reaping --- */

static struct master_child *master_child_unlink(pid_t pid)
{
	for (struct master_child **p = &master.children; *p != NULL;
	     p = &(*p)->next) {
		if ((*p)->pid == pid) {
			struct master_child *c = *p;
			*p = c->next;
			return c;
		}
	}
	return NULL;
}

static void master_child_exited(struct master_child *child, int status)
{
	struct master_service *svc = child->svc;
	const char *path = svc != NULL ? svc->path : "process";
	uint64_t start_ms = child->start_ms;
	bool bad = false;

	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		/* Our own SIGTERM or SIGKILL is no failure. */
		bad = !child->termed ||
		      (sig != SIGTERM && sig != SIGKILL);
		if (bad)
			log_warn("process %s pid %ld killed by signal %d",
				 path, (long)child->pid, sig);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		bad = true;
		log_warn("process %s pid %ld exit status %d", path,
			 (long)child->pid, WEXITSTATUS(status));
	}
	master_child_close_status(child);
	master_child_set_state(child, MASTER_CHILD_RETIRED);
	if (child->retire_timer != 0)
		event_timer_cancel(master.loop, child->retire_timer);
	free(child);
	if (svc == NULL || master.stopping)
		return;
	/* One that ran a while before it died was working: only a series
	 * of failures at start-up grows the back-off. An event daemon (qmgr)
	 * never reports a client, so its lifetime is all we have. */
	if (bad && time_mono_ms() - start_ms >= MASTER_THROTTLE_MIN_MS)
		svc->throttle_ms = 0;
	if (bad)
		master_throttle(svc);
	else if (WIFEXITED(status))
		svc->throttle_ms = 0;
	master_service_update(svc);
}

void master_reap(void)
{
	for (int i = 0; i < MASTER_REAP_MAX; i++) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			break;
		struct master_child *child = master_child_unlink(pid);
		if (child != NULL)
			master_child_exited(child, status);
	}
}

void master_children_signal(int signo)
{
	for (struct master_child *c = master.children; c != NULL;
	     c = c->next) {
		c->termed = true;
		kill(c->pid, signo);
	}
}

unsigned master_children_count(void)
{
	unsigned n = 0;

	for (struct master_child *c = master.children; c != NULL; c = c->next)
		n++;
	return n;
}
