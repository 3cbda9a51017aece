/* metrics: the service's start and loop (see metrics.h). master starts it
 * at the first connection to its listener, which master.cf names
 * "$metrics_listen": off until main.cf gives metrics_listen a value. */
#include "config.h"
#include <errno.h>
#include <string.h>
#include "fsutil.h"
#include "log.h"
#include "metrics.h"
#include "metricsd.h"
#include "service.h"

static struct event_loop *loop;

static void on_stop(int signo, void *ctx)
{
	event_loop_stop(loop);
}

static void metrics_loop(int listen_fd)
{
	if (metrics_region() == NULL)
		log_warn("no metrics region from master: every scrape "
			 "will fail");
	loop = event_loop_new();
	service_loop_stop_on(loop, on_stop, NULL);
	if (fs_set_nonblock(listen_fd) < 0)
		fatal("fcntl O_NONBLOCK: %s", strerror(errno));
	metricsd_conn_start(loop, listen_fd);
	log_info("starting: serving %s", service_name());
	event_loop_run(loop);
	metricsd_conn_close_all();
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
