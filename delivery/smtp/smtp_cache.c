/* smtp_cache: the connection cache of one smtp process: at most one
 * session, kept after a delivery for smtp_connection_cache_time_limit, so
 * that the next request to the same next hop skips DNS, connect, greeting,
 * EHLO and TLS (qmgr sends a connection's requests for one destination
 * one after the other). One session is enough because a process serves
 * one request at a time; the next hop string is the key, as qmgr resolved
 * it. Reuse starts with RSET: a server that has dropped us or refuses it
 * costs only a new connection. */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "smtp.h"
#include "timeutil.h"

static struct {
	struct smtp_session *sess;
	char nexthop[DNS_NAME_TEXT_MAX + 16];
	char relay[sizeof(((struct smtp_delivery *)0)->relay)];
	uint64_t expires_ms;
} cache;

int smtp_cache_wait_ms(void)
{
	uint64_t now = time_mono_ms();

	if (cache.sess == NULL)
		return -1;
	return cache.expires_ms > now ? (int)(cache.expires_ms - now) : 0;
}

void smtp_cache_close(void)
{
	smtp_session_close(&cache.sess, false);
}

struct smtp_session *smtp_cache_take(const char *nexthop, char *relay,
				     size_t relay_size)
{
	struct smtp_session *sess = cache.sess;

	if (sess == NULL)
		return NULL;
	if (strcmp(cache.nexthop, nexthop) != 0 ||
	    time_mono_ms() >= cache.expires_ms) {
		smtp_cache_close();
		return NULL;
	}
	cache.sess = NULL;
	if (smtp_session_rset(sess) < 0) {
		smtp_session_close(&sess, true);
		return NULL;
	}
	snprintf(relay, relay_size, "%s", cache.relay);
	return sess;
}

void smtp_cache_put(struct smtp_session *sess, const char *nexthop,
		    const char *relay, bool reuse)
{
	smtp_cache_close();
	if (!reuse || smtp_config.cache_time_ms == 0 ||
	    snprintf(cache.nexthop, sizeof(cache.nexthop), "%s", nexthop) >=
	    (int)sizeof(cache.nexthop)) {
		smtp_session_close(&sess, false);
		return;
	}
	snprintf(cache.relay, sizeof(cache.relay), "%s", relay);
	cache.expires_ms = time_mono_ms() + smtp_config.cache_time_ms;
	cache.sess = sess;
}
