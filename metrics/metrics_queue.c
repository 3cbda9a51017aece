/* metrics_queue: how many messages each queue directory holds and when the
 * oldest arrived. Only names are read: a queue id carries its arrival
 * time (lib/queue_id.h), so the walk opens no queue file and never
 * disturbs qmgr. */
#include "config.h"
#include <string.h>
#include "log.h"
#include "metricsd.h"
#include "queue_id.h"
#include "queue_walk.h"
#include "timeutil.h"

static struct metrics_queues cache;
static uint64_t cached_at_ms;
static bool cached;

static int count_one(void *ctx, enum queue_list_queue q, const char *id)
{
	struct metrics_queues *m = ctx;
	uint64_t at = queue_id_seconds(id);

	m->q[q].messages++;
	if (at != 0 && (m->q[q].oldest_arrival == 0 ||
			at < m->q[q].oldest_arrival))
		m->q[q].oldest_arrival = at;
	return 0;
}

static void walk_all(struct metrics_queues *m)
{
	const char *error;

	memset(m, 0, sizeof(*m));
	m->known = true;
	for (unsigned q = 0; q < QUEUE_LIST_COUNT; q++)
		if (queue_walk(".", q, count_one, m, &error) < 0) {
			/* A queue we cannot read: no queue series rather
			 * than wrong ones. */
			log_warn("cannot count the %s queue: %s",
				 queue_list_name(q), error);
			m->known = false;
			return;
		}
}

const struct metrics_queues *metricsd_queue_get(void)
{
	uint64_t now = time_mono_ms();

	if (!cached || now - cached_at_ms >= METRICSD_QUEUE_CACHE_MS) {
		walk_all(&cache);
		cached = true;
		cached_at_ms = now;
	}
	return &cache;
}
