/* metrics_text: the exposition of the metrics service: a metrics region
 * (metrics.h) and the queue's sizes as Prometheus text (version 0.0.4) or
 * OpenMetrics 1.0 text. The names and their meaning are documented in
 * surel-metrics(8); this file is the only place that spells them.
 *
 * The two formats differ only where they must: OpenMetrics names a
 * counter family without its _total suffix in # TYPE and # HELP and ends
 * with "# EOF". Series of every service in use are always there, except
 * delivery outcomes, which appear with their first count (a service that
 * delivers nothing shows none). Label values are escaped (\\, \", \n). */
#ifndef SUREL_METRICS_TEXT_H
#define SUREL_METRICS_TEXT_H
#include <stdbool.h>
#include <stdint.h>
#include "buf.h"
#include "metrics.h"
#include "queue_list.h"

/* What a walk of the queue directories found. */
struct metrics_queues {
	bool known;			/* false: the walk failed, no series */
	struct {
		uint64_t messages;
		uint64_t oldest_arrival;	/* Unix seconds; 0: empty */
	} q[QUEUE_LIST_COUNT];
};

#define METRICS_TEXT_CONTENT_TYPE_PROM "text/plain; version=0.0.4; " \
	"charset=utf-8"
#define METRICS_TEXT_CONTENT_TYPE_OPENMETRICS "application/openmetrics-" \
	"text; version=1.0.0; charset=utf-8"

/* Appends the whole exposition at time now (Unix seconds) to b: 0, or -1
 * when b's maximum is reached. */
int metrics_text_format(const struct metrics_region *r,
			const struct metrics_queues *queues, uint64_t now,
			bool openmetrics, struct buf *b)
	__attribute__((warn_unused_result));

#endif
