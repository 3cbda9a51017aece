/* event: the epoll loop with one-shot timers (a min-heap) and signals read
 * from a signalfd, so that every callback runs from the loop, never from an
 * asynchronous handler; see event.h. */
#include "config.h"
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include "event.h"
#include "log.h"
#include "mem.h"
#include "timeutil.h"

#define EVENT_BATCH 64		/* epoll events handled per wait */
#define EVENT_SIGNAL_MAX 65	/* signal numbers 1..64 */

struct event_watch {
	event_fd_fn *fn;
	void *ctx;
	unsigned events;	/* 0: not watched */
	uint32_t gen;		/* tells a stale epoll event from a new watch */
};

struct event_timer {
	uint64_t when_ms;
	uint64_t id;		/* ids grow: equal deadlines run in order */
	event_timer_fn *fn;
	void *ctx;
};

struct event_loop {
	int epfd;
	bool stopped;

	struct event_watch *watches;	/* indexed by fd */
	size_t nwatches;
	uint32_t next_gen;

	struct event_timer *heap;	/* min-heap on (when_ms, id) */
	size_t ntimers, timers_cap;
	uint64_t next_timer_id;

	int sigfd;			/* -1 until the first signal */
	sigset_t sigmask;		/* the signals we blocked */
	sigset_t old_mask;		/* restored by event_loop_free */
	event_signal_fn *sig_fn[EVENT_SIGNAL_MAX];
	void *sig_ctx[EVENT_SIGNAL_MAX];
};

/* The signalfd shares the epoll set with ordinary fds; this fd-table slot
 * is never used by callers because the fd is ours. */
static void event_signal_read(int fd, unsigned events, void *ctx);

struct event_loop *event_loop_new(void)
{
	struct event_loop *loop = xcalloc(1, sizeof(*loop));

	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		fatal("epoll_create1: %s", strerror(errno));
	loop->sigfd = -1;
	loop->next_timer_id = 1;
	loop->next_gen = 1;
	sigemptyset(&loop->sigmask);
	return loop;
}

void event_loop_free(struct event_loop **loopp)
{
	struct event_loop *loop = *loopp;

	if (loop == NULL)
		return;
	if (loop->sigfd >= 0) {
		close(loop->sigfd);
		sigprocmask(SIG_SETMASK, &loop->old_mask, NULL);
	}
	close(loop->epfd);
	free(loop->watches);
	free(loop->heap);
	free(loop);
	*loopp = NULL;
}

static uint32_t event_epoll_flags(unsigned events)
{
	uint32_t ev = 0;

	if (events & EVENT_READ)
		ev |= EPOLLIN | EPOLLRDHUP;
	if (events & EVENT_WRITE)
		ev |= EPOLLOUT;
	return ev;
}

int event_fd_set(struct event_loop *loop, int fd, unsigned events,
		 event_fd_fn *fn, void *ctx)
{
	if (fd < 0 || fn == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (events == 0) {
		event_fd_clear(loop, fd);
		return 0;
	}
	if ((size_t)fd >= loop->nwatches) {
		size_t n = loop->nwatches == 0 ? 64 : loop->nwatches;
		while (n <= (size_t)fd)
			n *= 2;
		loop->watches = xreallocarray(loop->watches, n,
					      sizeof(*loop->watches));
		memset(loop->watches + loop->nwatches, 0,
		       (n - loop->nwatches) * sizeof(*loop->watches));
		loop->nwatches = n;
	}
	struct event_watch *w = &loop->watches[fd];
	bool known = w->events != 0;
	struct epoll_event ev = { .events = event_epoll_flags(events) };

	if (!known)
		w->gen = loop->next_gen++;
	ev.data.u64 = (uint64_t)(unsigned)fd | ((uint64_t)w->gen << 32);
	int ret = epoll_ctl(loop->epfd, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
			    fd, &ev);
	/* The caller closed and reused the fd without clearing the watch:
	 * epoll forgot it. It is a new file: a new generation. */
	if (ret < 0 && known && errno == ENOENT) {
		w->gen = loop->next_gen++;
		ev.data.u64 = (uint64_t)(unsigned)fd |
			      ((uint64_t)w->gen << 32);
		ret = epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev);
	} else if (ret < 0 && !known && errno == EEXIST) {
		ret = epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev);
	}
	if (ret < 0) {
		w->events = 0;
		return -1;
	}
	w->fn = fn;
	w->ctx = ctx;
	w->events = events;
	return 0;
}

void event_fd_clear(struct event_loop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->nwatches ||
	    loop->watches[fd].events == 0)
		return;
	/* ENOENT / EBADF: the fd was closed first; nothing left to undo. */
	(void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	loop->watches[fd].events = 0;
	loop->watches[fd].fn = NULL;
	loop->watches[fd].ctx = NULL;
}

/* --- timers: a binary min-heap ordered by (when_ms, id) --- */

static bool timer_before(const struct event_timer *a,
			 const struct event_timer *b)
{
	return a->when_ms < b->when_ms ||
	       (a->when_ms == b->when_ms && a->id < b->id);
}

static void timer_swap(struct event_loop *loop, size_t i, size_t j)
{
	struct event_timer t = loop->heap[i];

	loop->heap[i] = loop->heap[j];
	loop->heap[j] = t;
}

static void timer_sift_up(struct event_loop *loop, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!timer_before(&loop->heap[i], &loop->heap[parent]))
			break;
		timer_swap(loop, i, parent);
		i = parent;
	}
}

static void timer_sift_down(struct event_loop *loop, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, min = i;
		if (l < loop->ntimers &&
		    timer_before(&loop->heap[l], &loop->heap[min]))
			min = l;
		if (r < loop->ntimers &&
		    timer_before(&loop->heap[r], &loop->heap[min]))
			min = r;
		if (min == i)
			break;
		timer_swap(loop, i, min);
		i = min;
	}
}

static void timer_remove_at(struct event_loop *loop, size_t i)
{
	loop->ntimers--;
	if (i == loop->ntimers)
		return;
	loop->heap[i] = loop->heap[loop->ntimers];
	timer_sift_down(loop, i);
	timer_sift_up(loop, i);
}

uint64_t event_timer_add(struct event_loop *loop, uint64_t delay_ms,
			 event_timer_fn *fn, void *ctx)
{
	ASSERT(fn != NULL);
	if (loop->ntimers == loop->timers_cap) {
		loop->timers_cap = loop->timers_cap == 0 ? 16 :
			loop->timers_cap * 2;
		loop->heap = xreallocarray(loop->heap, loop->timers_cap,
					   sizeof(*loop->heap));
	}
	uint64_t now = time_mono_ms();
	struct event_timer *t = &loop->heap[loop->ntimers];

	/* A huge delay saturates instead of wrapping into the past. */
	if (__builtin_add_overflow(now, delay_ms, &t->when_ms))
		t->when_ms = UINT64_MAX;
	uint64_t id = loop->next_timer_id++;
	t->id = id;
	t->fn = fn;
	t->ctx = ctx;
	loop->ntimers++;
	timer_sift_up(loop, loop->ntimers - 1);	/* t is stale from here */
	return id;
}

void event_timer_cancel(struct event_loop *loop, uint64_t id)
{
	/* Linear: daemons hold tens of timers, not thousands. */
	for (size_t i = 0; i < loop->ntimers; i++) {
		if (loop->heap[i].id == id) {
			timer_remove_at(loop, i);
			return;
		}
	}
}

/* Runs the timers that are due. Only those that existed when the pass
 * began: a callback that re-arms itself with delay 0 cannot starve the
 * file descriptors. */
static void event_timers_run(struct event_loop *loop)
{
	uint64_t now = time_mono_ms();
	uint64_t last_id = loop->next_timer_id;

	while (loop->ntimers > 0 && !loop->stopped) {
		struct event_timer t = loop->heap[0];
		if (t.when_ms > now || t.id >= last_id)
			break;
		timer_remove_at(loop, 0);
		t.fn(t.ctx);
	}
}

/* Milliseconds until the first timer, or -1 (wait forever). */
static int event_wait_timeout(struct event_loop *loop)
{
	if (loop->ntimers == 0)
		return -1;
	uint64_t now = time_mono_ms();
	uint64_t when = loop->heap[0].when_ms;
	if (when <= now)
		return 0;
	uint64_t ms = when - now;
	return ms > 60 * 60 * 1000 ? 60 * 60 * 1000 : (int)ms;
}

/* --- signals through signalfd --- */

int event_signal_set(struct event_loop *loop, int signo, event_signal_fn *fn,
		     void *ctx)
{
	if (signo <= 0 || signo >= EVENT_SIGNAL_MAX || fn == NULL) {
		errno = EINVAL;
		return -1;
	}
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, signo);
	sigset_t old;
	if (sigprocmask(SIG_BLOCK, &one, &old) < 0)
		return -1;
	if (loop->sigfd < 0)
		loop->old_mask = old;
	sigaddset(&loop->sigmask, signo);
	int fd = signalfd(loop->sigfd, &loop->sigmask,
			  SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (loop->sigfd < 0) {
		loop->sigfd = fd;
		if (event_fd_set(loop, fd, EVENT_READ, event_signal_read,
				 loop) < 0)
			return -1;
	}
	loop->sig_fn[signo] = fn;
	loop->sig_ctx[signo] = ctx;
	return 0;
}

static void event_signal_read(int fd, unsigned events, void *ctx)
{
	struct event_loop *loop = ctx;
	struct signalfd_siginfo si;

	/* Bounded: a signal storm cannot keep us here forever. */
	for (int i = 0; i < 64 && !loop->stopped; i++) {
		ssize_t n = read(fd, &si, sizeof(si));
		if (n != (ssize_t)sizeof(si))
			break;
		int signo = (int)si.ssi_signo;
		if (signo > 0 && signo < EVENT_SIGNAL_MAX &&
		    loop->sig_fn[signo] != NULL)
			loop->sig_fn[signo](signo, loop->sig_ctx[signo]);
	}
}

/* --- the loop --- */

static void event_dispatch(struct event_loop *loop,
			   const struct epoll_event *ev)
{
	int fd = (int)(uint32_t)ev->data.u64;
	uint32_t gen = (uint32_t)(ev->data.u64 >> 32);

	/* An earlier callback of this batch may have cleared or replaced the
	 * watch: its stale event must not reach the new owner. */
	if ((size_t)fd >= loop->nwatches)
		return;
	struct event_watch *w = &loop->watches[fd];
	if (w->events == 0 || w->gen != gen)
		return;
	unsigned events = 0;
	if (ev->events & (EPOLLIN | EPOLLRDHUP))
		events |= EVENT_READ;
	if (ev->events & EPOLLOUT)
		events |= EVENT_WRITE;
	/* Errors and hang-ups: let the callback find out by reading or
	 * writing, whichever it waits for. */
	if (ev->events & (EPOLLERR | EPOLLHUP))
		events |= w->events;
	events &= w->events;
	if (events != 0)
		w->fn(fd, events, w->ctx);
}

void event_loop_run(struct event_loop *loop)
{
	struct epoll_event evs[EVENT_BATCH];

	loop->stopped = false;
	while (!loop->stopped) {
		int n = epoll_wait(loop->epfd, evs, EVENT_BATCH,
				   event_wait_timeout(loop));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fatal("epoll_wait: %s", strerror(errno));
		}
		for (int i = 0; i < n && !loop->stopped; i++)
			event_dispatch(loop, &evs[i]);
		if (!loop->stopped)
			event_timers_run(loop);
	}
}

void event_loop_stop(struct event_loop *loop)
{
	loop->stopped = true;
}
