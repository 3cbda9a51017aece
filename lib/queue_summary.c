/* queue_summary: surelqueue -S, counts and oldest age per queue and the
 * deferred queue's top destinations; see queue_list.h. Memory is bounded
 * by QUEUE_SUMMARY_DOMAINS_MAX distinct domains, whatever the queue's
 * size. */
#include "config.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "mem.h"
#include "queue_list.h"
#include "str.h"

#define SUMMARY_BUCKETS 16384	/* power of two */
#define SUMMARY_OTHER "(other domains)"

struct summary_domain {
	struct summary_domain *next;
	uint64_t count;
	char name[];
};

struct queue_summary {
	uint64_t count[QUEUE_LIST_COUNT];
	uint64_t oldest_us[QUEUE_LIST_COUNT];	/* 0: none */
	struct summary_domain *buckets[SUMMARY_BUCKETS];
	size_t domains;
	uint64_t other;		/* recipients past the domain limit */
};

struct queue_summary *queue_summary_new(void)
{
	return xcalloc(1, sizeof(struct queue_summary));
}

void queue_summary_free(struct queue_summary **sp)
{
	struct queue_summary *s = *sp;

	if (s == NULL)
		return;
	for (size_t i = 0; i < SUMMARY_BUCKETS; i++) {
		struct summary_domain *d = s->buckets[i], *next;
		for (; d != NULL; d = next) {
			next = d->next;
			free(d);
		}
	}
	free(s);
	*sp = NULL;
}

/* FNV-1a: the input is the operator's own queue, not an attacker's
 * choice of collisions worth a keyed hash. */
static size_t domain_hash(const char *s, size_t len)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return (size_t)(h & (SUMMARY_BUCKETS - 1));
}

static void count_domain(struct queue_summary *s, const char *address)
{
	char lower[QUEUE_LINE_MAX];

	/* Cut to the buffer: a domain that long is counted by its start. */
	snprintf(lower, sizeof(lower), "%s", addr_domain(address));
	str_lower(lower);
	size_t len = strlen(lower);
	size_t h = domain_hash(lower, len);
	for (struct summary_domain *d = s->buckets[h]; d != NULL; d = d->next)
		if (strcmp(d->name, lower) == 0) {
			d->count++;
			return;
		}
	if (s->domains >= QUEUE_SUMMARY_DOMAINS_MAX) {
		s->other++;
		return;
	}
	struct summary_domain *d = xmalloc(sizeof(*d) + len + 1);
	memcpy(d->name, lower, len + 1);
	d->count = 1;
	d->next = s->buckets[h];
	s->buckets[h] = d;
	s->domains++;
}

void queue_summary_add(struct queue_summary *s, enum queue_list_queue q,
		       uint64_t arrival_us, const struct queue_envelope *env)
{
	s->count[q]++;
	if (s->oldest_us[q] == 0 || arrival_us < s->oldest_us[q])
		s->oldest_us[q] = arrival_us;
	if (env == NULL || q != QUEUE_LIST_DEFERRED)
		return;
	for (size_t i = 0; i < env->rcpt_count; i++)
		if (!env->rcpts[i].done)
			count_domain(s, env->rcpts[i].address);
}

void queue_summary_age(char *out, size_t size, uint64_t age_s)
{
	static const struct {
		uint64_t secs;
		char unit;
	} units[] = { { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' } };

	for (size_t i = 0; i + 1 < sizeof(units) / sizeof(units[0]); i++)
		if (age_s >= units[i].secs) {
			snprintf(out, size, "%" PRIu64 "%c%" PRIu64 "%c",
				 age_s / units[i].secs, units[i].unit,
				 age_s % units[i].secs / units[i + 1].secs,
				 units[i + 1].unit);
			return;
		}
	snprintf(out, size, "%" PRIu64 "s", age_s);
}

/* Most first, then by name: a stable order for equal counts. */
static int top_cmp(const void *a, const void *b)
{
	const struct summary_domain *x = *(const struct summary_domain *const *)a;
	const struct summary_domain *y = *(const struct summary_domain *const *)b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Keeps the QUEUE_SUMMARY_TOP best in top[] (sorted), one pass. */
static size_t summary_top(const struct queue_summary *s,
			  const struct summary_domain **top)
{
	size_t n = 0;

	for (size_t i = 0; i < SUMMARY_BUCKETS; i++)
		for (const struct summary_domain *d = s->buckets[i]; d != NULL;
		     d = d->next) {
			if (n == QUEUE_SUMMARY_TOP &&
			    top_cmp(&d, &top[n - 1]) >= 0)
				continue;
			size_t j = n < QUEUE_SUMMARY_TOP ? n++ : n - 1;
			for (; j > 0 && top_cmp(&d, &top[j - 1]) < 0; j--)
				top[j] = top[j - 1];
			top[j] = d;
		}
	return n;
}

int queue_summary_format(const struct queue_summary *s, uint64_t now_us,
			 struct buf *b)
{
	const struct summary_domain *top[QUEUE_SUMMARY_TOP];
	char age[32];

	if (buf_append_str(b, "queue      messages  oldest\n") < 0)
		return -1;
	for (int q = 0; q < QUEUE_LIST_COUNT; q++) {
		uint64_t o = s->oldest_us[q];
		if (s->count[q] == 0)
			snprintf(age, sizeof(age), "-");
		else
			queue_summary_age(age, sizeof(age),
					  o < now_us ? (now_us - o) / 1000000 : 0);
		if (buf_printf(b, "%-10s %8" PRIu64 "  %s\n",
			       queue_list_name((enum queue_list_queue)q),
			       s->count[q], age) < 0)
			return -1;
	}
	size_t n = summary_top(s, top);
	if (n == 0 && s->other == 0)
		return 0;
	if (buf_append_str(b, "\nTop deferred destinations:\n") < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (buf_printf(b, "%8" PRIu64 "  %s\n", top[i]->count,
			       top[i]->name[0] != '\0' ? top[i]->name
						       : "(no domain)") < 0)
			return -1;
	if (s->other > 0 &&
	    buf_printf(b, "%8" PRIu64 "  %s\n", s->other, SUMMARY_OTHER) < 0)
		return -1;
	return 0;
}
