/* qmgr_dest: destinations. A destination is a transport and a next hop
 * (local has one; smtp one per next hop: a domain, "[host]:port", the
 * relayhost). Each holds the jobs waiting for it (a job: one message's
 * recipients for this destination) and decides how many requests may be
 * in flight to it:
 *
 * - a concurrency window that starts at initial_destination_concurrency,
 *   grows by one per answered request up to the transport's limit, and
 *   shrinks by one when every recipient of a request was deferred (smtp
 *   only: local's one destination always has its whole limit);
 * - a dead destination (the agent answered site=dead: no address of it
 *   took a connection) is backed off as a whole: every recipient waiting
 *   for it, and every one that arrives while it is dead, is deferred at
 *   once without a connection attempt; it revives after a back-off that
 *   doubles with each consecutive death (minimal_backoff_time to
 *   maximal_backoff_time) with a window of 1 (slow start).
 *
 * Destinations with waiting recipients are served round-robin per
 * transport, and a destination's jobs round-robin too, so that one big
 * destination takes at most its window of agent connections and one big
 * message does not hold up the others to the same place. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "deliver_proto.h"
#include "log.h"
#include "mem.h"
#include "qmgr.h"
#include "timeutil.h"

#define DEST_HASH_MIN 256

struct qmgr_job {
	struct qmgr_message *msg;
	struct qmgr_dest *dest;
	size_t *rcpts;			/* waiting, in arrival order */
	size_t count, cap;
	struct qmgr_job *dest_prev, *dest_next;	/* the destination's queue */
	struct qmgr_job *msg_next;		/* msg->jobs */
};

struct qmgr_dest {
	enum qmgr_transport transport;
	char *nexthop;
	size_t active;			/* requests in flight */
	size_t window;
	size_t waiting;			/* recipients, all jobs */
	uint64_t dead_until_ms;		/* 0: alive */
	unsigned deaths;		/* in a row, for the back-off */
	char dead_dsn[16];
	char *dead_reason;
	struct qmgr_job *jobs_head, *jobs_tail;
	struct qmgr_dest *ring_prev, *ring_next;	/* waiting > 0 */
	bool in_ring;
	unsigned long visited;		/* qmgr_dest_defer_dead's pass */
	struct qmgr_dest *hash_next;
};

static struct qmgr_dest **hash;
static size_t hash_size, dest_count;
static struct qmgr_dest *ring[QMGR_TRANSPORTS];	/* the next to serve */
/* A recipient was added to a destination marked dead: the next
 * qmgr_dest_defer_dead has work (else it costs nothing per kick). */
static bool dead_added[QMGR_TRANSPORTS];

static size_t hash_of(enum qmgr_transport t, const char *nexthop)
{
	size_t h = 5381 + (size_t)t;

	for (const unsigned char *p = (const unsigned char *)nexthop; *p; p++)
		h = h * 33 + *p;
	return h & (hash_size - 1);
}

static void hash_grow(void)
{
	size_t old_size = hash_size;
	struct qmgr_dest **old = hash;

	hash_size = old_size == 0 ? DEST_HASH_MIN : old_size * 2;
	hash = xcalloc(hash_size, sizeof(*hash));
	for (size_t i = 0; i < old_size; i++) {
		while (old[i] != NULL) {
			struct qmgr_dest *d = old[i];
			size_t h = hash_of(d->transport, d->nexthop);
			old[i] = d->hash_next;
			d->hash_next = hash[h];
			hash[h] = d;
		}
	}
	free(old);
}

struct qmgr_dest *qmgr_dest_get(enum qmgr_transport t, const char *nexthop)
{
	if (hash_size == 0 || dest_count >= hash_size * 2)
		hash_grow();
	size_t h = hash_of(t, nexthop);
	for (struct qmgr_dest *d = hash[h]; d != NULL; d = d->hash_next)
		if (d->transport == t && strcmp(d->nexthop, nexthop) == 0)
			return d;
	struct qmgr_dest *d = xcalloc(1, sizeof(*d));
	d->transport = t;
	d->nexthop = xstrdup(nexthop);
	d->window = qmgr.initial_window < qmgr.dest_limit[t] ?
			    qmgr.initial_window : qmgr.dest_limit[t];
	if (t == QMGR_LOCAL)	/* one destination: nothing to probe */
		d->window = qmgr.dest_limit[t];
	d->hash_next = hash[h];
	hash[h] = d;
	dest_count++;
	return d;
}

const char *qmgr_dest_nexthop(const struct qmgr_dest *dest)
{
	return dest->nexthop;
}

/* ---- the round-robin ring of destinations with waiting recipients ---- */

static void ring_add(struct qmgr_dest *d)
{
	struct qmgr_dest **head = &ring[d->transport];

	if (d->in_ring)
		return;
	d->in_ring = true;
	if (*head == NULL) {
		d->ring_prev = d->ring_next = d;
		*head = d;
		return;
	}
	/* Just before the head: the last to be served. */
	d->ring_next = *head;
	d->ring_prev = (*head)->ring_prev;
	d->ring_prev->ring_next = d;
	(*head)->ring_prev = d;
}

static void ring_remove(struct qmgr_dest *d)
{
	struct qmgr_dest **head = &ring[d->transport];

	if (!d->in_ring)
		return;
	d->in_ring = false;
	if (d->ring_next == d) {
		*head = NULL;
	} else {
		d->ring_prev->ring_next = d->ring_next;
		d->ring_next->ring_prev = d->ring_prev;
		if (*head == d)
			*head = d->ring_next;
	}
	d->ring_prev = d->ring_next = NULL;
}

/* ---- jobs ---- */

static struct qmgr_job *job_find(struct qmgr_message *msg,
				 struct qmgr_dest *dest)
{
	for (struct qmgr_job *j = msg->jobs; j != NULL; j = j->msg_next)
		if (j->dest == dest)
			return j;
	return NULL;
}

static void job_enqueue(struct qmgr_job *j)
{
	struct qmgr_dest *d = j->dest;

	j->dest_next = NULL;
	j->dest_prev = d->jobs_tail;
	if (d->jobs_tail != NULL)
		d->jobs_tail->dest_next = j;
	else
		d->jobs_head = j;
	d->jobs_tail = j;
}

static void job_dequeue(struct qmgr_job *j)
{
	struct qmgr_dest *d = j->dest;

	if (j->dest_prev != NULL)
		j->dest_prev->dest_next = j->dest_next;
	else
		d->jobs_head = j->dest_next;
	if (j->dest_next != NULL)
		j->dest_next->dest_prev = j->dest_prev;
	else
		d->jobs_tail = j->dest_prev;
	j->dest_prev = j->dest_next = NULL;
}

/* Unlinks j from its destination and its message and frees it. */
static void job_free(struct qmgr_job *j)
{
	struct qmgr_job **pp = &j->msg->jobs;

	job_dequeue(j);
	j->dest->waiting -= j->count;
	if (j->dest->waiting == 0)
		ring_remove(j->dest);
	while (*pp != j)
		pp = &(*pp)->msg_next;
	*pp = j->msg_next;
	free(j->rcpts);
	free(j);
}

void qmgr_dest_add(struct qmgr_dest *dest, struct qmgr_message *msg,
		   size_t index)
{
	struct qmgr_job *j = job_find(msg, dest);

	if (j == NULL) {
		j = xcalloc(1, sizeof(*j));
		j->msg = msg;
		j->dest = dest;
		j->msg_next = msg->jobs;
		msg->jobs = j;
		job_enqueue(j);
	}
	if (j->count == j->cap) {
		j->cap = j->cap == 0 ? 4 : j->cap * 2;
		j->rcpts = xreallocarray(j->rcpts, j->cap, sizeof(*j->rcpts));
	}
	j->rcpts[j->count++] = index;
	dest->waiting++;
	ring_add(dest);
	if (dest->dead_until_ms != 0)
		dead_added[dest->transport] = true;
}

void qmgr_dest_forget(struct qmgr_message *msg)
{
	while (msg->jobs != NULL)
		job_free(msg->jobs);
}

bool qmgr_dest_msg_waiting(const struct qmgr_message *msg)
{
	return msg->jobs != NULL;
}

/* ---- dead destinations ---- */

static bool dest_dead(struct qmgr_dest *d, uint64_t now)
{
	if (d->dead_until_ms == 0)
		return false;
	if (now < d->dead_until_ms)
		return true;
	/* Revived: probe it with one connection. */
	d->dead_until_ms = 0;
	d->window = 1;
	return false;
}

/* Defers every recipient waiting for d with its death's reason, as
 * Postfix does: "delivery temporarily suspended: ...". */
static void dest_defer_waiting(struct qmgr_dest *d)
{
	char why[QMGR_REASON_MAX];
	struct deliver_answer ans = {
		.status = DELIVER_TEMPFAIL, .dsn = d->dead_dsn, .reason = why,
	};

	snprintf(why, sizeof(why), "delivery temporarily suspended: %s",
		 d->dead_reason != NULL ? d->dead_reason : "destination down");
	while (d->jobs_head != NULL) {
		struct qmgr_job *j = d->jobs_head;
		struct qmgr_message *msg = j->msg;
		size_t count = j->count, *rcpts = j->rcpts;

		j->rcpts = NULL;
		job_free(j);
		for (size_t i = 0; i < count; i++)
			qmgr_message_result_waiting(msg, rcpts[i], &ans);
		free(rcpts);
		qmgr_message_check(msg);	/* may free msg */
	}
}

static uint64_t dead_backoff_ms(unsigned deaths)
{
	uint64_t s = qmgr.min_backoff_s;

	for (unsigned i = 1; i < deaths && s < qmgr.max_backoff_s; i++)
		s *= 2;
	if (s > qmgr.max_backoff_s)
		s = qmgr.max_backoff_s;
	return (s > 0 ? s : 1) * 1000;
}

void qmgr_dest_done(struct qmgr_dest *d, enum qmgr_feedback fb,
		    const char *dsn, const char *reason)
{
	ASSERT(d->active > 0);
	d->active--;
	/* local's one destination keeps its limit: a full mailbox says
	 * nothing about the next recipient's. */
	if (d->transport == QMGR_LOCAL)
		return;
	switch (fb) {
	case QMGR_FEEDBACK_OK:
		d->deaths = 0;
		if (d->window < qmgr.dest_limit[d->transport])
			d->window++;
		break;
	case QMGR_FEEDBACK_DEFERRED:
		if (d->window > 1)
			d->window--;
		break;
	case QMGR_FEEDBACK_DEAD:
		if (d->dead_until_ms == 0)
			d->deaths++;
		d->dead_until_ms = time_mono_ms() + dead_backoff_ms(d->deaths);
		d->window = 1;
		snprintf(d->dead_dsn, sizeof(d->dead_dsn), "%s", dsn);
		free(d->dead_reason);
		d->dead_reason = xstrdup(reason != NULL ? reason : "");
		log_info("%s: destination down for %llu s: %s", d->nexthop,
			 (unsigned long long)dead_backoff_ms(d->deaths) / 1000,
			 d->dead_reason);
		dest_defer_waiting(d);
		break;
	case QMGR_FEEDBACK_NONE:
		break;
	}
}

void qmgr_dest_revive_all(void)
{
	for (size_t i = 0; i < hash_size; i++)
		for (struct qmgr_dest *d = hash[i]; d != NULL;
		     d = d->hash_next)
			if (d->dead_until_ms != 0)
				d->dead_until_ms = 1;	/* past: revives */
}

/* ---- serving ---- */

bool qmgr_dest_can_take(struct qmgr_dest *d)
{
	return d->waiting > 0 && d->active < d->window &&
	       !dest_dead(d, time_mono_ms());
}

bool qmgr_dest_ready(enum qmgr_transport t)
{
	struct qmgr_dest *d = ring[t];

	if (d == NULL)
		return false;
	do {
		if (qmgr_dest_can_take(d))
			return true;
		d = d->ring_next;
	} while (d != ring[t]);
	return false;
}

struct qmgr_dest *qmgr_dest_next(enum qmgr_transport t)
{
	uint64_t now = time_mono_ms();

	/* Each pass either serves a destination, defers a dead one's
	 * recipients (it leaves the ring) or steps past a full one: bounded
	 * by twice the ring's length. */
	for (size_t n = 2 * dest_count + 1; n > 0 && ring[t] != NULL; n--) {
		struct qmgr_dest *d = ring[t];
		if (dest_dead(d, now)) {
			dest_defer_waiting(d);
			continue;
		}
		ring[t] = d->ring_next;
		if (d->active < d->window)
			return d;
		if (ring[t] == d)
			return NULL;
	}
	return NULL;
}

void qmgr_dest_defer_dead(enum qmgr_transport t)
{
	static unsigned long pass;
	uint64_t now = time_mono_ms();

	if (!dead_added[t])
		return;
	dead_added[t] = false;
	/* Once round the ring: a dead destination's recipients are deferred
	 * (it leaves the ring; deferring may free messages, whose jobs leave
	 * other destinations too, hence the marks rather than a count), a
	 * live one is stepped past. The rotation ends where it began. */
	pass++;
	for (size_t n = 2 * dest_count + 1; n > 0 && ring[t] != NULL; n--) {
		struct qmgr_dest *d = ring[t];
		if (d->visited == pass)
			break;
		if (dest_dead(d, now)) {
			dest_defer_waiting(d);
			continue;
		}
		d->visited = pass;
		ring[t] = d->ring_next;
	}
}

struct qmgr_message *qmgr_dest_take(struct qmgr_dest *d, size_t max,
				    size_t *rcpts, size_t *count_r)
{
	struct qmgr_job *j = d->jobs_head;
	size_t n = j->count < max ? j->count : max;
	struct qmgr_message *msg = j->msg;

	ASSERT(d->waiting > 0 && n > 0);
	memcpy(rcpts, j->rcpts, n * sizeof(*rcpts));
	memmove(j->rcpts, j->rcpts + n, (j->count - n) * sizeof(*rcpts));
	j->count -= n;
	d->waiting -= n;
	d->active++;
	if (j->count == 0) {
		job_free(j);
	} else {
		/* The next request to d serves the next message. */
		job_dequeue(j);
		job_enqueue(j);
	}
	if (d->waiting == 0)
		ring_remove(d);
	*count_r = n;
	return msg;
}

/* ---- housekeeping ---- */

static void dest_free(struct qmgr_dest *d)
{
	struct qmgr_dest **pp = &hash[hash_of(d->transport, d->nexthop)];

	while (*pp != d)
		pp = &(*pp)->hash_next;
	*pp = d->hash_next;
	ring_remove(d);
	qmgr_deliver_dest_gone(d);
	free(d->dead_reason);
	free(d->nexthop);
	free(d);
	dest_count--;
}

void qmgr_dest_tick(void)
{
	uint64_t now = time_mono_ms();

	for (size_t i = 0; i < hash_size; i++) {
		struct qmgr_dest *d = hash[i], *next;
		for (; d != NULL; d = next) {
			next = d->hash_next;
			if (d->waiting == 0 && d->active == 0 &&
			    !dest_dead(d, now))
				dest_free(d);
		}
	}
}

void qmgr_dest_free_all(void)
{
	for (size_t i = 0; i < hash_size; i++)
		while (hash[i] != NULL)
			dest_free(hash[i]);
	xfree(&hash);
	hash_size = 0;
}
