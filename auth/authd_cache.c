/* authd_cache: remembers successful logins for auth_cache_ttl so that a
 * client polling every minute (or the POP3 benchmark's thousands of
 * logins a second) does not pay for a slow hash each time. What is kept
 * is HMAC-SHA256(user NUL stored-hash NUL password) under a key drawn at
 * start: neither the password nor anything that could be checked against
 * a guess without that key, which never leaves this process's memory.
 * The stored hash is part of the digest, so a changed password misses
 * even in a table whose reload authd does not see (hash:). */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "authd.h"
#include "log.h"
#include "mem.h"

#define CACHE_KEY_SIZE 32
#define CACHE_DIGEST_SIZE 32
#define C_EXPIRES 0		/* values[0]: expiry, monotonic ms */

struct authd_cache {
	struct authd_lru *lru;
	uint64_t ttl_ms;
	unsigned char key[CACHE_KEY_SIZE];
};

struct authd_cache *authd_cache_new(uint64_t ttl_ms, size_t max_entries)
{
	struct authd_cache *c = xcalloc(1, sizeof(*c));

	if (getrandom(c->key, sizeof(c->key), 0) != (ssize_t)sizeof(c->key))
		fatal("getrandom: %s", strerror(errno));
	c->lru = authd_lru_new(max_entries);
	c->ttl_ms = ttl_ms;
	return c;
}

void authd_cache_free(struct authd_cache **cp)
{
	struct authd_cache *c = *cp;

	if (c == NULL)
		return;
	authd_lru_free(&c->lru);
	explicit_bzero(c->key, sizeof(c->key));
	xfree(cp);
}

void authd_cache_clear(struct authd_cache *c)
{
	authd_lru_clear(c->lru);
}

/* The digest of the triple; -1 if it cannot be made (never cached). */
static int cache_digest(const struct authd_cache *c, const char *user,
			const char *stored, const char *password,
			unsigned char out[CACHE_DIGEST_SIZE])
{
	size_t ulen = strlen(user), slen = strlen(stored);
	size_t plen = strlen(password), len = ulen + slen + plen + 2;
	unsigned char *data = xmalloc(len);
	unsigned int out_len = 0;
	int ret = 0;

	memcpy(data, user, ulen + 1);
	memcpy(data + ulen + 1, stored, slen + 1);
	memcpy(data + ulen + slen + 2, password, plen);
	if (HMAC(EVP_sha256(), c->key, sizeof(c->key), data, len, out,
		 &out_len) == NULL || out_len != CACHE_DIGEST_SIZE)
		ret = -1;
	explicit_bzero(data, len);
	free(data);
	return ret;
}

bool authd_cache_hit(struct authd_cache *c, const char *user,
		     const char *stored, const char *password, uint64_t now_ms)
{
	unsigned char d[CACHE_DIGEST_SIZE];
	uint64_t *v;
	bool hit = false;

	if (c->ttl_ms == 0 || authd_lru_count(c->lru) == 0 ||
	    cache_digest(c, user, stored, password, d) < 0)
		return false;
	v = authd_lru_get(c->lru, d, sizeof(d));
	if (v != NULL && now_ms < v[C_EXPIRES])
		hit = true;
	else if (v != NULL)
		authd_lru_delete(c->lru, d, sizeof(d));
	explicit_bzero(d, sizeof(d));
	return hit;
}

void authd_cache_add(struct authd_cache *c, const char *user,
		     const char *stored, const char *password, uint64_t now_ms)
{
	unsigned char d[CACHE_DIGEST_SIZE];

	if (c->ttl_ms == 0 || cache_digest(c, user, stored, password, d) < 0)
		return;
	authd_lru_put(c->lru, d, sizeof(d))[C_EXPIRES] = now_ms + c->ttl_ms;
	explicit_bzero(d, sizeof(d));
}
