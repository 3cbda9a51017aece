/* Unit tests of lib/event: fd callbacks, timer order and cancellation,
 * signals delivered through the loop. */
#include "config.h"
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "event.h"
#include "timeutil.h"
#include "unit.h"

static struct event_loop *loop;

/* A safety net: every test loop stops after this long whatever happens. */
static void guard_fired(void *ctx)
{
	*(int *)ctx = 1;
	event_loop_stop(loop);
}

static uint64_t guard_add(int *fired)
{
	*fired = 0;
	return event_timer_add(loop, 2000, guard_fired, fired);
}

struct pipe_ctx {
	int reads;
	char got[16];
	size_t len;
};

static void pipe_readable(int fd, unsigned events, void *ctx)
{
	struct pipe_ctx *p = ctx;
	char c;

	UNIT_CHECK(events == EVENT_READ);
	if (read(fd, &c, 1) == 1 && p->len < sizeof(p->got) - 1)
		p->got[p->len++] = c;
	if (++p->reads == 3)
		event_loop_stop(loop);
}

static void test_fd(void)
{
	int fds[2], fired;
	struct pipe_ctx p = { 0 };

	UNIT_CHECK(pipe(fds) == 0);
	UNIT_CHECK(write(fds[1], "abc", 3) == 3);
	UNIT_CHECK(event_fd_set(loop, fds[0], EVENT_READ, pipe_readable,
				&p) == 0);
	uint64_t g = guard_add(&fired);
	event_loop_run(loop);
	event_timer_cancel(loop, g);
	UNIT_CHECK(fired == 0);
	UNIT_CHECK(p.reads == 3);
	UNIT_STREQ(p.got, "abc");

	/* Cleared: more data must not call us back. */
	event_fd_clear(loop, fds[0]);
	UNIT_CHECK(write(fds[1], "d", 1) == 1);
	g = guard_add(&fired);
	event_timer_cancel(loop, g);
	event_timer_add(loop, 50, guard_fired, &fired);
	event_loop_run(loop);
	UNIT_CHECK(fired == 1);
	UNIT_CHECK(p.reads == 3);
	close(fds[0]);
	close(fds[1]);
	/* Bad arguments. */
	UNIT_CHECK(event_fd_set(loop, -1, EVENT_READ, pipe_readable, &p) ==
		   -1);
}

static void pipe_writable(int fd, unsigned events, void *ctx)
{
	UNIT_CHECK(events == EVENT_WRITE);
	*(int *)ctx += 1;
	event_fd_clear(loop, fd);
	event_loop_stop(loop);
}

static void test_fd_write(void)
{
	int fds[2], fired, calls = 0;

	UNIT_CHECK(pipe(fds) == 0);
	UNIT_CHECK(event_fd_set(loop, fds[1], EVENT_WRITE, pipe_writable,
				&calls) == 0);
	uint64_t g = guard_add(&fired);
	event_loop_run(loop);
	event_timer_cancel(loop, g);
	UNIT_CHECK(calls == 1);
	UNIT_CHECK(fired == 0);
	close(fds[0]);
	close(fds[1]);
}

static void reuse_readable(int fd, unsigned events, void *ctx)
{
	char c;

	if (read(fd, &c, 1) == 1)
		*(int *)ctx += 1;
	event_loop_stop(loop);
}

/* A watched fd closed without event_fd_clear, its number reused: the new
 * watch must work. */
static void test_fd_reuse(void)
{
	int a[2], b[2], stale = 0, fresh = 0, fired;

	UNIT_CHECK(pipe(a) == 0);
	UNIT_CHECK(event_fd_set(loop, a[0], EVENT_READ, reuse_readable,
				&stale) == 0);
	int num = a[0];
	close(a[0]);
	close(a[1]);
	UNIT_CHECK(pipe(b) == 0);
	UNIT_CHECK(b[0] == num);
	UNIT_CHECK(event_fd_set(loop, b[0], EVENT_READ, reuse_readable,
				&fresh) == 0);
	UNIT_CHECK(write(b[1], "y", 1) == 1);
	uint64_t g = guard_add(&fired);
	event_loop_run(loop);
	event_timer_cancel(loop, g);
	UNIT_CHECK(fresh == 1 && stale == 0 && fired == 0);
	event_fd_clear(loop, b[0]);
	close(b[0]);
	close(b[1]);
}

static char order[16];
static size_t norder;

static void timer_mark(void *ctx)
{
	if (norder < sizeof(order) - 1)
		order[norder++] = *(const char *)ctx;
}

static void timer_stop(void *ctx)
{
	event_loop_stop(loop);
}

static void test_timers(void)
{
	static const char a = 'a', b = 'b', c = 'c', d = 'd', e = 'e';

	norder = 0;
	memset(order, 0, sizeof(order));
	uint64_t start = time_mono_ms();
	event_timer_add(loop, 60, timer_mark, (void *)&c);
	uint64_t idb = event_timer_add(loop, 40, timer_mark, (void *)&b);
	event_timer_add(loop, 20, timer_mark, (void *)&a);
	/* Equal deadlines run in the order they were added. */
	event_timer_add(loop, 80, timer_mark, (void *)&d);
	event_timer_add(loop, 80, timer_mark, (void *)&e);
	uint64_t ide = event_timer_add(loop, 10, timer_mark, (void *)&e);
	UNIT_CHECK(idb > 0 && ide > idb);
	event_timer_add(loop, 100, timer_stop, NULL);
	event_timer_cancel(loop, idb);
	event_timer_cancel(loop, ide);
	event_timer_cancel(loop, 999999);	/* unknown: ignored */
	event_loop_run(loop);
	UNIT_STREQ(order, "acde");
	uint64_t took = time_mono_ms() - start;
	UNIT_CHECK(took >= 100 && took < 1000);
}

static uint64_t last_lo, last_id;
static int heap_runs, heap_bad;

/* The loop reads the clock inside event_timer_add: its deadline for an
 * item lies between lo and hi, the clock read just before and just after
 * the call, plus the delay. */
struct heap_item {
	uint64_t lo, hi;
	uint64_t id;
	bool cancelled;
};

static void heap_fired(void *ctx)
{
	struct heap_item *it = ctx;

	/* Out of order only if the item before had to be due later than this
	 * one could be: a gap between the clock reads (a preempted test on a
	 * loaded machine) widens [lo, hi] instead of faking an error. */
	if (it->cancelled || last_lo > it->hi)
		heap_bad++;
	last_lo = it->lo;
	last_id = it->id;
	heap_runs++;
}

/* Many timers, a third cancelled: the rest run by deadline, once each. */
static void test_timer_heap(void)
{
	enum { N = 300 };
	static struct heap_item items[N];
	int expect = 0;

	srand(7);
	last_lo = last_id = 0;
	heap_runs = heap_bad = 0;
	for (int i = 0; i < N; i++) {
		uint64_t delay = (uint64_t)(rand() % 30) * 4;

		items[i].lo = time_mono_ms() + delay;
		items[i].cancelled = false;
		items[i].id = event_timer_add(loop, delay, heap_fired,
					      &items[i]);
		items[i].hi = time_mono_ms() + delay;
	}
	for (int i = 0; i < N; i += 3) {
		items[i].cancelled = true;
		event_timer_cancel(loop, items[i].id);
	}
	for (int i = 0; i < N; i++)
		expect += !items[i].cancelled;
	event_timer_add(loop, 150, timer_stop, NULL);
	event_loop_run(loop);
	UNIT_CHECK(heap_runs == expect);
	UNIT_CHECK(heap_bad == 0);
}

static int rearms;

/* A timer that re-arms itself with delay 0 must not starve fds. */
static void timer_rearm(void *ctx)
{
	if (++rearms < 1000)
		event_timer_add(loop, 0, timer_rearm, ctx);
}

static void fd_stop(int fd, unsigned events, void *ctx)
{
	*(int *)ctx = rearms;
	event_fd_clear(loop, fd);
	event_loop_stop(loop);
}

static void test_timer_fairness(void)
{
	int fds[2], seen = -1, fired;

	UNIT_CHECK(pipe(fds) == 0);
	UNIT_CHECK(write(fds[1], "x", 1) == 1);
	rearms = 0;
	event_timer_add(loop, 0, timer_rearm, NULL);
	UNIT_CHECK(event_fd_set(loop, fds[0], EVENT_READ, fd_stop, &seen) ==
		   0);
	uint64_t g = guard_add(&fired);
	event_loop_run(loop);
	event_timer_cancel(loop, g);
	UNIT_CHECK(seen >= 0 && seen < 10);
	/* Drain the rest of the re-arming chain. */
	event_timer_add(loop, 20, timer_stop, NULL);
	event_loop_run(loop);
	close(fds[0]);
	close(fds[1]);
}

static void on_signal(int signo, void *ctx)
{
	*(int *)ctx = signo;
	event_loop_stop(loop);
}

static void raise_usr1(void *ctx)
{
	kill(getpid(), SIGUSR1);
}

static void test_signal(void)
{
	int got = 0, fired;

	UNIT_CHECK(event_signal_set(loop, SIGUSR1, on_signal, &got) == 0);
	UNIT_CHECK(event_signal_set(loop, SIGUSR2, on_signal, &got) == 0);
	UNIT_CHECK(event_signal_set(loop, 0, on_signal, &got) == -1);
	/* Raised from a timer, delivered as an ordinary callback. */
	event_timer_add(loop, 10, raise_usr1, NULL);
	uint64_t g = guard_add(&fired);
	event_loop_run(loop);
	event_timer_cancel(loop, g);
	UNIT_CHECK(got == SIGUSR1);
	UNIT_CHECK(fired == 0);

	/* Raised before the loop runs: pending, then read. */
	got = 0;
	kill(getpid(), SIGUSR2);
	g = guard_add(&fired);
	event_loop_run(loop);
	event_timer_cancel(loop, g);
	UNIT_CHECK(got == SIGUSR2);
}

int main(void)
{
	loop = event_loop_new();
	test_fd();
	test_fd_write();
	test_fd_reuse();
	test_timers();
	test_timer_heap();
	test_timer_fairness();
	test_signal();
	event_loop_free(&loop);
	UNIT_CHECK(loop == NULL);
	event_loop_free(&loop);
	return unit_done();
}
