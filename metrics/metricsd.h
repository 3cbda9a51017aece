/* metrics: the service that publishes the instance's counters over HTTP
 * (surel-metrics(8)). One event-driven process per master.cf entry: it
 * reads the counter region master shares with every daemon
 * (lib/metrics.h), counts the queue directories, and answers GET /metrics
 * with Prometheus or OpenMetrics text (lib/metrics_text.h). It writes
 * nothing and changes nothing. */
#ifndef SUREL_METRICSD_H
#define SUREL_METRICSD_H
#include "event.h"
#include "metrics_text.h"

#define METRICSD_CONN_MAX 64		/* clients at once */
#define METRICSD_CONN_TIMEOUT_MS 10000	/* to send a request and read the
					 * answer */
#define METRICSD_LINGER_MS 2000		/* reading what follows the request
					 * after the answer, before close */
#define METRICSD_BODY_MAX (8u << 20)
#define METRICSD_QUEUE_CACHE_MS 1000	/* a burst of scrapes walks the
					 * queue once */

/* metrics_conn.c: the HTTP side. */
void metricsd_conn_start(struct event_loop *loop, int listen_fd);
void metricsd_conn_close_all(void);

/* metrics_queue.c: the queue's sizes, walked at most once per
 * METRICSD_QUEUE_CACHE_MS. */
const struct metrics_queues *metricsd_queue_get(void);

#endif
