/* anvil_table: the counters of anvil, in a hash table of at most max_keys
 * keys with a least-recently-used list. Keys are client addresses and
 * user names that clients choose, so buckets are picked by SipHash under
 * a random key, the bucket array is fixed at creation (no rehash storms)
 * and eviction only ever looks at keys without connections: a flood of
 * new addresses cannot make anvil forget how many connections a busy
 * client holds. */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "anvil.h"
#include "log.h"
#include "mem.h"
#include "siphash.h"

struct anvil_entry {
	struct anvil_entry *next;		/* in the bucket */
	struct anvil_entry *older, *newer;	/* the LRU list */
	uint64_t hash;
	uint64_t window_ms;			/* the rate window's start */
	uint64_t last_ms;			/* last event */
	uint32_t count;
	uint32_t rate[ANVIL_EVENT_COUNT];
	size_t key_len;
	char key[];				/* kind, "service:ident" */
};

struct anvil_table {
	struct anvil_entry **buckets;
	size_t nbuckets;			/* a power of 2 */
	size_t size, max;
	struct anvil_entry *oldest, *newest;
	uint64_t unit_ms;
	uint64_t k0, k1;
	struct anvil_stats stats;
};

struct anvil_table *anvil_table_new(uint64_t unit_ms, size_t max_keys)
{
	struct anvil_table *t = xcalloc(1, sizeof(*t));
	uint64_t key[2];

	if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key))
		fatal("getrandom: %s", strerror(errno));
	t->k0 = key[0];
	t->k1 = key[1];
	t->max = max_keys > 0 ? max_keys : 1;
	t->unit_ms = unit_ms > 0 ? unit_ms : 1;
	/* About two keys per bucket when full. */
	t->nbuckets = 16;
	while (t->nbuckets < t->max / 2 && t->nbuckets < ((size_t)1 << 24))
		t->nbuckets *= 2;
	t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
	return t;
}

static void lru_unlink(struct anvil_table *t, struct anvil_entry *e)
{
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		t->oldest = e->newer;
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		t->newest = e->older;
	e->older = e->newer = NULL;
}

static void lru_push(struct anvil_table *t, struct anvil_entry *e)
{
	e->older = t->newest;
	e->newer = NULL;
	if (t->newest != NULL)
		t->newest->newer = e;
	else
		t->oldest = e;
	t->newest = e;
}

static void entry_drop(struct anvil_table *t, struct anvil_entry *e)
{
	struct anvil_entry **pp = &t->buckets[e->hash & (t->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	lru_unlink(t, e);
	t->size--;
	free(e);
}

void anvil_table_free(struct anvil_table **tp)
{
	struct anvil_table *t = *tp;

	if (t == NULL)
		return;
	for (struct anvil_entry *e = t->oldest, *next; e != NULL; e = next) {
		next = e->newer;
		free(e);
	}
	free(t->buckets);
	free(t);
	*tp = NULL;
}

/* Writes req's key into key (ANVIL_KEY_MAX + 1 octets); its length. */
static size_t make_key(const struct anvil_request *req, char *key)
{
	size_t slen = strlen(req->service);

	key[0] = req->event == ANVIL_USER_MESSAGE ? 'u' : 'a';
	memcpy(key + 1, req->service, slen);
	key[1 + slen] = ':';
	memcpy(key + 2 + slen, req->ident, req->ident_len);
	key[2 + slen + req->ident_len] = '\0';
	return 2 + slen + req->ident_len;
}

static struct anvil_entry *find(struct anvil_table *t, const char *key,
				size_t len, uint64_t hash)
{
	struct anvil_entry *e = t->buckets[hash & (t->nbuckets - 1)];

	for (; e != NULL; e = e->next)
		if (e->hash == hash && e->key_len == len &&
		    memcmp(e->key, key, len) == 0)
			return e;
	return NULL;
}

/* Makes room for one key: the least recently used key without
 * connections goes. -1 when every key has connections. */
static int make_room(struct anvil_table *t)
{
	struct anvil_entry *e = t->oldest;

	while (e != NULL && e->count > 0)
		e = e->newer;
	if (e == NULL)
		return -1;
	entry_drop(t, e);
	return 0;
}

static struct anvil_entry *add(struct anvil_table *t, const char *key,
			       size_t len, uint64_t hash, uint64_t now_ms)
{
	struct anvil_entry *e;
	size_t slot = hash & (t->nbuckets - 1);

	if (t->size >= t->max && make_room(t) < 0)
		return NULL;
	e = xcalloc(1, sizeof(*e) + len + 1);
	e->hash = hash;
	e->key_len = len;
	memcpy(e->key, key, len + 1);
	e->window_ms = now_ms;
	e->next = t->buckets[slot];
	t->buckets[slot] = e;
	lru_push(t, e);
	if (++t->size > t->stats.max_size) {
		t->stats.max_size = t->size;
		t->stats.max_size_at_ms = now_ms;
	}
	return e;
}

static void stat_note(struct anvil_stat *st, uint32_t value,
		      const struct anvil_entry *e, uint64_t now_ms)
{
	if (value <= st->value)
		return;
	st->value = value;
	st->at_ms = now_ms;
	memcpy(st->key, e->key + 1, e->key_len);	/* NUL included */
}

/* Counts one event of kind ev on e. */
static void count_event(struct anvil_table *t, struct anvil_entry *e,
			enum anvil_event ev, uint64_t now_ms)
{
	if (now_ms - e->window_ms >= t->unit_ms || now_ms < e->window_ms) {
		memset(e->rate, 0, sizeof(e->rate));
		e->window_ms = now_ms;
	}
	if (e->rate[ev] < UINT32_MAX)
		e->rate[ev]++;
	stat_note(&t->stats.rate[ev], e->rate[ev], e, now_ms);
	if (ev == ANVIL_CONNECT) {
		if (e->count < UINT32_MAX)
			e->count++;
		stat_note(&t->stats.count, e->count, e, now_ms);
	}
}

int anvil_table_event(struct anvil_table *t, const struct anvil_request *req,
		      uint64_t now_ms, struct anvil_reply *reply,
		      const char **error_r)
{
	char key[ANVIL_KEY_MAX + 1];
	size_t len = make_key(req, key);
	uint64_t hash = siphash24(t->k0, t->k1, key, len);
	struct anvil_entry *e = find(t, key, len, hash);

	memset(reply, 0, sizeof(*reply));
	reply->ok = true;
	if (req->event == ANVIL_DISCONNECT) {
		if (e != NULL && e->count > 0)
			e->count--;
		reply->count = e != NULL ? e->count : 0;
		return 0;
	}
	if (e == NULL)
		e = add(t, key, len, hash, now_ms);
	if (e == NULL) {
		memset(reply, 0, sizeof(*reply));
		*error_r = "table full of connected clients";
		return -1;
	}
	lru_unlink(t, e);
	lru_push(t, e);
	e->last_ms = now_ms;
	count_event(t, e, req->event, now_ms);
	reply->count = e->count;
	reply->rate = e->rate[req->event];
	return 0;
}

size_t anvil_table_expire(struct anvil_table *t, uint64_t now_ms)
{
	size_t dropped = 0, left = t->size;

	/* Oldest first, so the walk stops at the first fresh key; a key
	 * with connections is alive and goes back to the fresh end. */
	while (left-- > 0 && t->oldest != NULL &&
	       now_ms - t->oldest->last_ms >= t->unit_ms) {
		struct anvil_entry *e = t->oldest;
		if (e->count > 0) {
			e->last_ms = now_ms;
			lru_unlink(t, e);
			lru_push(t, e);
		} else {
			entry_drop(t, e);
			dropped++;
		}
	}
	return dropped;
}

size_t anvil_table_size(const struct anvil_table *t)
{
	return t->size;
}

const struct anvil_stats *anvil_table_stats(const struct anvil_table *t)
{
	return &t->stats;
}

void anvil_table_stats_reset(struct anvil_table *t)
{
	memset(&t->stats, 0, sizeof(t->stats));
}
