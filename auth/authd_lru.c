/* authd_lru: a bounded hash table with a recency list: chained buckets
 * keyed by SipHash-2-4 under a random key (the keys are client addresses
 * and user names that clients choose), and a doubly linked list from the
 * least to the most recently updated entry, whose head is dropped when
 * the table is full. */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "authd.h"
#include "log.h"
#include "mem.h"
#include "siphash.h"

#define LRU_BUCKETS_MIN 64

struct lru_entry {
	struct lru_entry *chain;	/* next in the bucket */
	struct lru_entry *older, *newer;
	uint64_t hash;
	uint64_t values[2];
	size_t key_len;
	unsigned char key[];
};

struct authd_lru {
	struct lru_entry **buckets;
	size_t nbuckets;		/* a power of two */
	size_t count, max;
	struct lru_entry *oldest, *newest;
	uint64_t k0, k1;		/* the SipHash key */
};

/* ---- the table ---- */

struct authd_lru *authd_lru_new(size_t max)
{
	struct authd_lru *lru = xcalloc(1, sizeof(*lru));
	uint64_t key[2];

	if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key))
		fatal("getrandom: %s", strerror(errno));
	lru->k0 = key[0];
	lru->k1 = key[1];
	lru->max = max > 0 ? max : 1;
	lru->nbuckets = LRU_BUCKETS_MIN;
	lru->buckets = xcalloc(lru->nbuckets, sizeof(*lru->buckets));
	return lru;
}

void authd_lru_clear(struct authd_lru *lru)
{
	struct lru_entry *e = lru->oldest, *next;

	for (; e != NULL; e = next) {
		next = e->newer;
		/* cache keys are digests of passwords */
		explicit_bzero(e->key, e->key_len);
		free(e);
	}
	memset(lru->buckets, 0, lru->nbuckets * sizeof(*lru->buckets));
	lru->oldest = lru->newest = NULL;
	lru->count = 0;
}

void authd_lru_free(struct authd_lru **lrup)
{
	struct authd_lru *lru = *lrup;

	if (lru == NULL)
		return;
	authd_lru_clear(lru);
	free(lru->buckets);
	xfree(lrup);
}

size_t authd_lru_count(const struct authd_lru *lru) { return lru->count; }

/* The link that points at key's entry (or the NULL link ending its
 * bucket). */
static struct lru_entry **lru_find(struct authd_lru *lru, const void *key,
				   size_t len, uint64_t hash)
{
	struct lru_entry **pp = &lru->buckets[hash & (lru->nbuckets - 1)];

	while (*pp != NULL &&
	       ((*pp)->hash != hash || (*pp)->key_len != len ||
		memcmp((*pp)->key, key, len) != 0))
		pp = &(*pp)->chain;
	return pp;
}

static void lru_unlink(struct authd_lru *lru, struct lru_entry *e)
{
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		lru->oldest = e->newer;
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		lru->newest = e->older;
	e->older = e->newer = NULL;
}

static void lru_append(struct authd_lru *lru, struct lru_entry *e)
{
	e->older = lru->newest;
	e->newer = NULL;
	if (lru->newest != NULL)
		lru->newest->newer = e;
	else
		lru->oldest = e;
	lru->newest = e;
}

static void lru_remove(struct authd_lru *lru, struct lru_entry **pp)
{
	struct lru_entry *e = *pp;

	*pp = e->chain;
	lru_unlink(lru, e);
	lru->count--;
	explicit_bzero(e->key, e->key_len);
	free(e);
}

/* Doubles the bucket array while the chains average more than one. */
static void lru_grow(struct authd_lru *lru)
{
	size_t n = lru->nbuckets * 2;
	struct lru_entry **b = xcalloc(n, sizeof(*b));

	for (struct lru_entry *e = lru->oldest; e != NULL; e = e->newer) {
		struct lru_entry **slot = &b[e->hash & (n - 1)];
		e->chain = *slot;
		*slot = e;
	}
	free(lru->buckets);
	lru->buckets = b;
	lru->nbuckets = n;
}

uint64_t *authd_lru_get(struct authd_lru *lru, const void *key, size_t len)
{
	uint64_t hash = siphash24(lru->k0, lru->k1, key, len);
	struct lru_entry *e = *lru_find(lru, key, len, hash);

	return e != NULL ? e->values : NULL;
}

uint64_t *authd_lru_put(struct authd_lru *lru, const void *key, size_t len)
{
	uint64_t hash;
	struct lru_entry **pp, *e;

	ASSERT(len <= AUTHD_LRU_KEY_MAX);
	hash = siphash24(lru->k0, lru->k1, key, len);
	pp = lru_find(lru, key, len, hash);
	if (*pp != NULL) {
		lru_unlink(lru, *pp);
		lru_append(lru, *pp);
		return (*pp)->values;
	}
	if (lru->count >= lru->max) {
		struct lru_entry *old = lru->oldest;
		lru_remove(lru, lru_find(lru, old->key, old->key_len,
					 old->hash));
	}
	if (lru->count >= lru->nbuckets)
		lru_grow(lru);
	e = xcalloc(1, sizeof(*e) + len);
	e->hash = hash;
	e->key_len = len;
	memcpy(e->key, key, len);
	pp = &lru->buckets[hash & (lru->nbuckets - 1)];
	e->chain = *pp;
	*pp = e;
	lru_append(lru, e);
	lru->count++;
	return e->values;
}

void authd_lru_delete(struct authd_lru *lru, const void *key, size_t len)
{
	uint64_t hash = siphash24(lru->k0, lru->k1, key, len);
	struct lru_entry **pp = lru_find(lru, key, len, hash);

	if (*pp != NULL)
		lru_remove(lru, pp);
}
