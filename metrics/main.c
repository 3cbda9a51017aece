/* metrics: the service's start and loop (see metrics.h). master starts it
 * at the first connection to its listener, which master.cf names
 * "$metrics_listen": off until main.cf gives metrics_listen a value. */
#include "config.h"
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include "fsutil.h"
#include "log.h"
#include "metrics.h"
#include "service.h"

static struct event_loop *loop;

static void on_stop(int signo, void *ctx)
{
	event_loop_stop(loop);
}

/* master closed its end of the status pipe (a reload, or it is gone): a
 * new process takes the listener over. */
static void on_status_hangup(int fd, unsigned events, void *ctx)
{
	event_fd_clear(loop, fd);
	event_loop_stop(loop);
}

static void watch_status_pipe(void)
{
	struct stat st;

	if (fstat(SERVICE_STATUS_FD, &st) == 0 && S_ISFIFO(st.st_mode) &&
	    event_fd_set(loop, SERVICE_STATUS_FD, EVENT_READ,
			 on_status_hangup, NULL) < 0)
		log_warn("cannot watch the status pipe: %s", strerror(errno));
}

static void metrics_loop(int listen_fd)
{
	if (metrics_region() == NULL)
		log_warn("no metrics region from master: every scrape "
			 "will fail");
	loop = event_loop_new();
	if (event_signal_set(loop, SIGTERM, on_stop, NULL) < 0 ||
	    event_signal_set(loop, SIGINT, on_stop, NULL) < 0)
		fatal("cannot watch signals: %s", strerror(errno));
	if (fs_set_nonblock(listen_fd) < 0)
		fatal("fcntl O_NONBLOCK: %s", strerror(errno));
	metrics_conn_start(loop, listen_fd);
	watch_status_pipe();
	log_info("starting: serving %s", service_name());
	event_loop_run(loop);
	metrics_conn_close_all();
	event_loop_free(&loop);
}

int main(int argc, char **argv)
{
	static const struct service_def def = {
		.name = "metrics",
		.loop = metrics_loop,
	};

	service_main(argc, argv, &def);
}
