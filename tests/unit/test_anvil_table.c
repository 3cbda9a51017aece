#include "config.h"
/* test_anvil_table: anvil's counters with an injected clock: connection
 * counts, fixed rate windows, keys kept apart, bounded size with idle
 * keys evicted first, expiry, and the statistics. */
#include <string.h>
#include "../../anvil/anvil.h"
#include "unit.h"

#define UNIT_MS 60000

static struct anvil_request req_of(enum anvil_event ev, const char *service,
				   const char *ident)
{
	struct anvil_request r;

	memset(&r, 0, sizeof(r));
	r.event = ev;
	strcpy(r.service, service);
	r.ident_len = strlen(ident);
	memcpy(r.ident, ident, r.ident_len + 1);
	return r;
}

/* One event; returns the reply (ok false when refused). */
static struct anvil_reply ev(struct anvil_table *t, enum anvil_event e,
			     const char *service, const char *ident,
			     uint64_t now)
{
	struct anvil_request r = req_of(e, service, ident);
	struct anvil_reply reply;
	const char *error;

	if (anvil_table_event(t, &r, now, &reply, &error) < 0)
		reply.ok = false;
	return reply;
}

static void test_count(void)
{
	struct anvil_table *t = anvil_table_new(UNIT_MS, 100);
	struct anvil_reply r;

	for (uint32_t i = 1; i <= 3; i++) {
		r = ev(t, ANVIL_CONNECT, "smtp", "192.0.2.1", 1000);
		UNIT_CHECK(r.ok && r.count == i && r.rate == i);
	}
	r = ev(t, ANVIL_DISCONNECT, "smtp", "192.0.2.1", 1000);
	UNIT_CHECK(r.ok && r.count == 2 && r.rate == 0);
	/* another service, another address: their own counts */
	r = ev(t, ANVIL_CONNECT, "submission", "192.0.2.1", 1000);
	UNIT_CHECK(r.count == 1);
	r = ev(t, ANVIL_CONNECT, "smtp", "192.0.2.2", 1000);
	UNIT_CHECK(r.count == 1);
	/* the connection rate is per window, the count is not */
	r = ev(t, ANVIL_CONNECT, "smtp", "192.0.2.1", 1000 + UNIT_MS);
	UNIT_CHECK(r.count == 3 && r.rate == 1);
	for (int i = 0; i < 5; i++)
		(void)ev(t, ANVIL_DISCONNECT, "smtp", "192.0.2.1", 2000);
	r = ev(t, ANVIL_DISCONNECT, "smtp", "192.0.2.1", 2000);
	UNIT_CHECK(r.ok && r.count == 0);
	/* a disconnect of an unknown key creates nothing */
	size_t size = anvil_table_size(t);
	r = ev(t, ANVIL_DISCONNECT, "smtp", "198.51.100.9", 2000);
	UNIT_CHECK(r.ok && r.count == 0 && anvil_table_size(t) == size);
	anvil_table_free(&t);
	UNIT_CHECK(t == NULL);
	anvil_table_free(&t);
}

static void test_windows(void)
{
	struct anvil_table *t = anvil_table_new(UNIT_MS, 100);
	struct anvil_reply r;

	/* the window opens at the first event: 1000 .. 60999 */
	for (uint32_t i = 1; i <= 4; i++) {
		r = ev(t, ANVIL_MESSAGE, "smtp", "192.0.2.1", 999 + i);
		UNIT_CHECK(r.rate == i);
	}
	r = ev(t, ANVIL_RCPT, "smtp", "192.0.2.1", 1000 + UNIT_MS - 1);
	UNIT_CHECK(r.rate == 1);
	r = ev(t, ANVIL_MESSAGE, "smtp", "192.0.2.1", 1000 + UNIT_MS - 1);
	UNIT_CHECK(r.rate == 5);
	/* limit: the next event at exactly one unit opens a new window */
	r = ev(t, ANVIL_MESSAGE, "smtp", "192.0.2.1", 1000 + UNIT_MS);
	UNIT_CHECK(r.rate == 1);
	r = ev(t, ANVIL_RCPT, "smtp", "192.0.2.1", 1000 + UNIT_MS + 1);
	UNIT_CHECK(r.rate == 1);
	/* users and addresses never share a key, even with one name */
	r = ev(t, ANVIL_USER_MESSAGE, "smtp", "192.0.2.1", 1000 + UNIT_MS);
	UNIT_CHECK(r.rate == 1 && r.count == 0);
	r = ev(t, ANVIL_USER_MESSAGE, "smtp", "192.0.2.1", 1000 + UNIT_MS);
	UNIT_CHECK(r.rate == 2);
	r = ev(t, ANVIL_AUTH, "smtp", "192.0.2.1", 1000 + UNIT_MS);
	UNIT_CHECK(r.rate == 1);
	UNIT_CHECK(anvil_table_size(t) == 2);
	anvil_table_free(&t);
}

static void test_bounded(void)
{
	struct anvil_table *t = anvil_table_new(UNIT_MS, 3);
	struct anvil_reply r;

	/* two connected keys and one idle */
	(void)ev(t, ANVIL_CONNECT, "smtp", "10.0.0.1", 1);
	(void)ev(t, ANVIL_CONNECT, "smtp", "10.0.0.2", 2);
	(void)ev(t, ANVIL_MESSAGE, "smtp", "10.0.0.3", 3);
	UNIT_CHECK(anvil_table_size(t) == 3);
	/* a new key replaces the idle one, not the oldest */
	r = ev(t, ANVIL_MESSAGE, "smtp", "10.0.0.4", 4);
	UNIT_CHECK(r.ok && r.rate == 1 && anvil_table_size(t) == 3);
	r = ev(t, ANVIL_CONNECT, "smtp", "10.0.0.1", 5);
	UNIT_CHECK(r.count == 2);
	r = ev(t, ANVIL_MESSAGE, "smtp", "10.0.0.3", 6);
	UNIT_CHECK(r.ok && r.rate == 1);	/* forgotten: starts again */
	/* 10.0.0.4 went for 10.0.0.3; now all three are connected */
	(void)ev(t, ANVIL_CONNECT, "smtp", "10.0.0.3", 7);
	r = ev(t, ANVIL_CONNECT, "smtp", "10.0.0.9", 8);
	UNIT_CHECK(!r.ok);
	UNIT_CHECK(anvil_table_size(t) == 3);
	/* the counts survived */
	r = ev(t, ANVIL_CONNECT, "smtp", "10.0.0.1", 9);
	UNIT_CHECK(r.ok && r.count == 3);
	anvil_table_free(&t);
}

static void test_expire(void)
{
	struct anvil_table *t = anvil_table_new(UNIT_MS, 100);
	struct anvil_reply r;

	(void)ev(t, ANVIL_CONNECT, "smtp", "10.0.0.1", 0);
	(void)ev(t, ANVIL_MESSAGE, "smtp", "10.0.0.2", 0);
	(void)ev(t, ANVIL_MESSAGE, "smtp", "10.0.0.3", 30000);
	UNIT_CHECK(anvil_table_expire(t, UNIT_MS - 1) == 0);
	UNIT_CHECK(anvil_table_expire(t, UNIT_MS) == 1);
	UNIT_CHECK(anvil_table_size(t) == 2);
	/* the connected key stays, however old */
	UNIT_CHECK(anvil_table_expire(t, 10 * UNIT_MS) == 1);
	UNIT_CHECK(anvil_table_size(t) == 1);
	r = ev(t, ANVIL_DISCONNECT, "smtp", "10.0.0.1", 10 * UNIT_MS);
	UNIT_CHECK(r.count == 0);
	UNIT_CHECK(anvil_table_expire(t, 20 * UNIT_MS) == 1);
	UNIT_CHECK(anvil_table_size(t) == 0);
	anvil_table_free(&t);
}

static void test_stats(void)
{
	struct anvil_table *t = anvil_table_new(UNIT_MS, 100);
	const struct anvil_stats *st = anvil_table_stats(t);

	(void)ev(t, ANVIL_CONNECT, "smtp", "10.0.0.1", 5);
	(void)ev(t, ANVIL_CONNECT, "smtp", "10.0.0.2", 6);
	(void)ev(t, ANVIL_CONNECT, "smtp", "10.0.0.2", 7);
	(void)ev(t, ANVIL_USER_MESSAGE, "submission", "a@b", 8);
	UNIT_CHECK(st->rate[ANVIL_CONNECT].value == 2);
	UNIT_CHECK(st->rate[ANVIL_CONNECT].at_ms == 7);
	UNIT_STREQ(st->rate[ANVIL_CONNECT].key, "smtp:10.0.0.2");
	UNIT_CHECK(st->count.value == 2);
	UNIT_STREQ(st->rate[ANVIL_USER_MESSAGE].key, "submission:a@b");
	UNIT_CHECK(st->rate[ANVIL_MESSAGE].value == 0);
	UNIT_CHECK(st->max_size == 3 && st->max_size_at_ms == 8);
	anvil_table_stats_reset(t);
	UNIT_CHECK(st->count.value == 0 && st->max_size == 0);
	anvil_table_free(&t);
}

/* Many keys through a small table: the size never passes the limit. */
static void test_churn(void)
{
	struct anvil_table *t = anvil_table_new(UNIT_MS, 50);
	char name[32];
	bool bounded = true;

	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "10.%d.%d.1", i / 256, i % 256);
		(void)ev(t, i % 7 == 0 ? ANVIL_CONNECT : ANVIL_RCPT, "smtp",
			 name, (uint64_t)i);
		if (anvil_table_size(t) > 50)
			bounded = false;
	}
	UNIT_CHECK(bounded);
	UNIT_CHECK(anvil_table_size(t) == 50);
	anvil_table_free(&t);
}

int main(void)
{
	test_count();
	test_windows();
	test_bounded();
	test_expire();
	test_stats();
	test_churn();
	return unit_done();
}
