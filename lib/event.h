/* event: the epoll loop that event daemons (qmgr, master) run: file
 * descriptor callbacks, one-shot timers, and signals delivered as ordinary
 * callbacks (through signalfd) so handlers never run asynchronously. */
#ifndef SUREL_EVENT_H
#define SUREL_EVENT_H
#include <stdint.h>

#define EVENT_READ 0x1
#define EVENT_WRITE 0x2

struct event_loop;
typedef void event_fd_fn(int fd, unsigned events, void *ctx);
typedef void event_timer_fn(void *ctx);
typedef void event_signal_fn(int signo, void *ctx);

struct event_loop *event_loop_new(void);
void event_loop_free(struct event_loop **loop);
/* Watches fd for events (EVENT_READ|EVENT_WRITE); replaces an earlier
 * watch of the same fd. 0 or -1. */
int event_fd_set(struct event_loop *loop, int fd, unsigned events,
		 event_fd_fn *fn, void *ctx);
void event_fd_clear(struct event_loop *loop, int fd);
/* Calls fn(ctx) once after delay_ms; returns an id > 0 for cancelling. */
uint64_t event_timer_add(struct event_loop *loop, uint64_t delay_ms,
			 event_timer_fn *fn, void *ctx);
void event_timer_cancel(struct event_loop *loop, uint64_t id);
/* Blocks signo and delivers it through the loop. 0 or -1. */
int event_signal_set(struct event_loop *loop, int signo, event_signal_fn *fn,
		     void *ctx);
/* Runs until event_loop_stop(). */
void event_loop_run(struct event_loop *loop);
void event_loop_stop(struct event_loop *loop);

#endif
