/* authd_throttle: counts failed logins per client address and per user
 * so that the fail reply can be held back longer with each failure:
 * guessing gets slow for one address trying many users and for many
 * addresses trying one user. The tables are bounded (AUTHD_TABLE_MAX):
 * an attacker who fills one only pushes out the oldest counters. */
#include "config.h"
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include "authd.h"
#include "mem.h"

/* An IPv6 client commonly holds a /64 or more: counting per address would
 * let it start afresh from each one (and flood the table). Dovecot's
 * auth penalty counts by the /48; so do we. */
#define THROTTLE_IPV6_PREFIX_BYTES 6

/* values[0]: failures, values[1]: time of the last one (monotonic ms) */
#define T_COUNT 0
#define T_LAST 1

struct authd_throttle {
	struct authd_lru *rips, *users;
	uint64_t delay_ms, max_ms, reset_ms;
};

struct authd_throttle *authd_throttle_new(uint64_t delay_ms, uint64_t max_ms,
					  uint64_t reset_ms,
					  size_t max_entries)
{
	struct authd_throttle *t = xcalloc(1, sizeof(*t));

	t->rips = authd_lru_new(max_entries);
	t->users = authd_lru_new(max_entries);
	t->delay_ms = delay_ms;
	t->max_ms = max_ms;
	t->reset_ms = reset_ms;
	return t;
}

void authd_throttle_free(struct authd_throttle **tp)
{
	struct authd_throttle *t = *tp;

	if (t == NULL)
		return;
	authd_lru_free(&t->rips);
	authd_lru_free(&t->users);
	xfree(tp);
}

/* Counts one failure under key; returns the count, earlier failures
 * forgotten when the last one is reset_ms old. */
static uint64_t throttle_count(struct authd_throttle *t, struct authd_lru *lru,
			       const void *key, size_t len, uint64_t now)
{
	uint64_t *v;

	if (len == 0 || len > AUTHD_LRU_KEY_MAX)
		return 0;
	v = authd_lru_put(lru, key, len);
	if (v[T_COUNT] > 0 && now - v[T_LAST] >= t->reset_ms)
		v[T_COUNT] = 0;
	if (v[T_COUNT] < UINT32_MAX)
		v[T_COUNT]++;
	v[T_LAST] = now;
	return v[T_COUNT];
}

/* The lower-cased user, so that Bob and bob share one counter. */
static size_t throttle_user_key(const char *user, char *key, size_t size)
{
	size_t len = strnlen(user, size);

	if (len >= size)
		len = size - 1;
	for (size_t i = 0; i < len; i++) {
		char c = user[i];
		key[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	key[len] = '\0';
	return len;
}

/* The counter of an address: the binary IPv4 address (also for
 * ::ffff:a.b.c.d), the /48 of an IPv6 one, else the text as given (""
 * stays empty: not counted). Binary, so that two spellings of one
 * address share a counter. */
static size_t throttle_rip_key(const char *rip, unsigned char *key,
			       size_t size)
{
	unsigned char a6[sizeof(struct in6_addr)];
	static const unsigned char v4mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};
	size_t len;

	if (inet_pton(AF_INET, rip, key + 1) == 1) {
		key[0] = '4';
		return 1 + 4;
	}
	if (inet_pton(AF_INET6, rip, a6) == 1) {
		if (memcmp(a6, v4mapped, sizeof(v4mapped)) == 0) {
			key[0] = '4';
			memcpy(key + 1, a6 + 12, 4);
			return 1 + 4;
		}
		key[0] = '6';
		memcpy(key + 1, a6, THROTTLE_IPV6_PREFIX_BYTES);
		return 1 + THROTTLE_IPV6_PREFIX_BYTES;
	}
	len = strnlen(rip, size);
	if (len >= size)
		len = size - 1;
	memcpy(key, rip, len);
	return len;
}

uint64_t authd_throttle_fail(struct authd_throttle *t, const char *rip,
			     const char *user, uint64_t now_ms)
{
	char key[AUTHD_LRU_KEY_MAX + 1];
	unsigned char rkey[AUTHD_LRU_KEY_MAX + 1];
	size_t klen = throttle_user_key(user, key, sizeof(key));
	size_t rlen = throttle_rip_key(rip, rkey, sizeof(rkey));
	uint64_t n_rip = throttle_count(t, t->rips, rkey, rlen, now_ms);
	uint64_t n_user = throttle_count(t, t->users, key, klen, now_ms);
	uint64_t n = n_rip > n_user ? n_rip : n_user;
	uint64_t delay = t->delay_ms;

	/* delay * 2^(n-1), doubling only while under the cap */
	for (uint64_t i = 1; i < n && delay > 0 && delay < t->max_ms; i++)
		delay *= 2;
	return delay < t->max_ms ? delay : t->max_ms;
}

void authd_throttle_success(struct authd_throttle *t, const char *rip,
			    const char *user)
{
	char key[AUTHD_LRU_KEY_MAX + 1];
	size_t klen = throttle_user_key(user, key, sizeof(key));

	/* Only the user is forgiven. Forgetting the address too would let
	 * an attacker with one valid account log into it between guesses
	 * at others and keep the address's delay at its first step; the
	 * address's count fades after auth_failure_reset_time, and it
	 * never delays a correct password. */
	(void)rip;
	if (klen > 0)
		authd_lru_delete(t->users, key, klen);
}
