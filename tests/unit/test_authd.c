#include "config.h"
/* Unit tests for authd's pure parts, without a daemon or a clock: the
 * bounded LRU table (eviction order, updates, deletes, growth), the
 * throttle's arithmetic (1, 2, 4, 4 with its cap, per address and per
 * user, IPv6 by /48, the reset time, a success), the success cache (ttl, a changed
 * stored hash, clear), and the table fields (sizes with Dovecot's units,
 * mail locations, %variables, errors). */
#include <stdio.h>
#include <string.h>
#include "../../auth/authd.h"
#include "unit.h"

static void test_lru(void)
{
	struct authd_lru *lru = authd_lru_new(3);
	uint64_t *v;

	UNIT_CHECK(authd_lru_get(lru, "a", 1) == NULL);
	authd_lru_put(lru, "a", 1)[0] = 1;
	authd_lru_put(lru, "b", 1)[0] = 2;
	authd_lru_put(lru, "c", 1)[0] = 3;
	UNIT_CHECK(authd_lru_count(lru) == 3);
	/* touching a makes b the oldest */
	v = authd_lru_put(lru, "a", 1);
	UNIT_CHECK(v[0] == 1);
	authd_lru_put(lru, "d", 1)[0] = 4;
	UNIT_CHECK(authd_lru_count(lru) == 3);
	UNIT_CHECK(authd_lru_get(lru, "b", 1) == NULL);
	UNIT_CHECK(authd_lru_get(lru, "a", 1) != NULL);
	UNIT_CHECK(authd_lru_get(lru, "c", 1)[0] == 3);
	/* get does not refresh: c is the oldest now */
	authd_lru_put(lru, "e", 1);
	UNIT_CHECK(authd_lru_get(lru, "c", 1) == NULL);
	authd_lru_delete(lru, "a", 1);
	authd_lru_delete(lru, "zz", 2);
	UNIT_CHECK(authd_lru_count(lru) == 2);
	UNIT_CHECK(authd_lru_get(lru, "a", 1) == NULL);
	/* keys are bytes: a prefix or a NUL makes another key */
	v = authd_lru_put(lru, "a\0b", 3);
	UNIT_CHECK(v[0] == 0 && v[1] == 0);
	UNIT_CHECK(authd_lru_get(lru, "a", 1) == NULL);
	authd_lru_clear(lru);
	UNIT_CHECK(authd_lru_count(lru) == 0);
	authd_lru_free(&lru);
	UNIT_CHECK(lru == NULL);

	/* many keys: the buckets grow, every key stays findable */
	char key[32];
	int ok = 1;
	lru = authd_lru_new(5000);
	for (int i = 0; i < 5000; i++) {
		int n = snprintf(key, sizeof(key), "user%d@example.org", i);
		authd_lru_put(lru, key, (size_t)n)[1] = (uint64_t)i;
	}
	for (int i = 0; i < 5000; i++) {
		int n = snprintf(key, sizeof(key), "user%d@example.org", i);
		v = authd_lru_get(lru, key, (size_t)n);
		if (v == NULL || v[1] != (uint64_t)i)
			ok = 0;
	}
	UNIT_CHECK(ok);
	authd_lru_put(lru, "one more", 8);
	UNIT_CHECK(authd_lru_count(lru) == 5000);
	UNIT_CHECK(authd_lru_get(lru, "user0@example.org", 17) == NULL);
	authd_lru_free(&lru);
}

static void test_throttle(void)
{
	struct authd_throttle *t = authd_throttle_new(1000, 4000, 600000, 100);
	uint64_t now = 1000000;

	/* one address, new users */
	UNIT_CHECK(authd_throttle_fail(t, "192.0.2.1", "u1", now) == 1000);
	UNIT_CHECK(authd_throttle_fail(t, "192.0.2.1", "u2", now) == 2000);
	UNIT_CHECK(authd_throttle_fail(t, "192.0.2.1", "u3", now) == 4000);
	UNIT_CHECK(authd_throttle_fail(t, "192.0.2.1", "u4", now) == 4000);
	/* one user, new addresses; the user's case does not matter */
	UNIT_CHECK(authd_throttle_fail(t, "10.0.0.1", "Bob", now) == 1000);
	UNIT_CHECK(authd_throttle_fail(t, "10.0.0.2", "bob", now) == 2000);
	UNIT_CHECK(authd_throttle_fail(t, "10.0.0.3", "BOB", now) == 4000);
	/* no address: only the user counts */
	UNIT_CHECK(authd_throttle_fail(t, "", "carol", now) == 1000);
	UNIT_CHECK(authd_throttle_fail(t, "", "dave", now) == 1000);
	/* a success forgets the user, not the address */
	authd_throttle_success(t, "10.0.0.3", "bOb");
	UNIT_CHECK(authd_throttle_fail(t, "10.0.0.4", "bob", now) == 1000);
	UNIT_CHECK(authd_throttle_fail(t, "10.0.0.3", "y", now) == 2000);
	UNIT_CHECK(authd_throttle_fail(t, "10.0.0.1", "x", now) == 2000);
	/* quiet for reset time: forgotten; just under: remembered */
	UNIT_CHECK(authd_throttle_fail(t, "192.0.2.1", "u5",
				       now + 599999) == 4000);
	UNIT_CHECK(authd_throttle_fail(t, "192.0.2.1", "u6",
				       now + 599999 + 600000) == 1000);
	authd_throttle_free(&t);

	/* a zero delay stays zero however often; a cap under the delay
	 * is the cap */
	t = authd_throttle_new(0, 0, 600000, 100);
	for (int i = 0; i < 100; i++)
		UNIT_CHECK(authd_throttle_fail(t, "a", "b", 5) == 0);
	authd_throttle_free(&t);
	t = authd_throttle_new(3000, 2000, 600000, 100);
	UNIT_CHECK(authd_throttle_fail(t, "a", "b", 5) == 2000);
	authd_throttle_free(&t);

	/* IPv6 counts by the /48: a client cannot start afresh from each
	 * address of its network; IPv4-mapped and plain IPv4 are one */
	t = authd_throttle_new(1000, 64000, 600000, 100);
	UNIT_CHECK(authd_throttle_fail(t, "2001:db8:1:2::1", "v1", 5) == 1000);
	UNIT_CHECK(authd_throttle_fail(t, "2001:db8:1:3::9", "v2", 5) == 2000);
	UNIT_CHECK(authd_throttle_fail(t, "2001:0db8:0001:ffff:1:2:3:4", "v3",
				       5) == 4000);
	UNIT_CHECK(authd_throttle_fail(t, "2001:db8:2::1", "v4", 5) == 1000);
	UNIT_CHECK(authd_throttle_fail(t, "192.0.2.9", "v5", 5) == 1000);
	UNIT_CHECK(authd_throttle_fail(t, "::ffff:192.0.2.9", "v6", 5) == 2000);
	/* a success in the /48 does not forgive the prefix */
	authd_throttle_success(t, "2001:db8:1:77::1", "nobody");
	UNIT_CHECK(authd_throttle_fail(t, "2001:db8:1::5", "v7", 5) == 8000);
	authd_throttle_free(&t);

	/* bounded: the oldest counters make room */
	t = authd_throttle_new(1000, 64000, 600000, 2);
	UNIT_CHECK(authd_throttle_fail(t, "r1", "a", 5) == 1000);
	UNIT_CHECK(authd_throttle_fail(t, "r1", "a", 5) == 2000);
	UNIT_CHECK(authd_throttle_fail(t, "r2", "b", 5) == 1000);
	UNIT_CHECK(authd_throttle_fail(t, "r3", "c", 5) == 1000);
	UNIT_CHECK(authd_throttle_fail(t, "r1", "a", 5) == 1000);
	authd_throttle_free(&t);
}

static void test_cache(void)
{
	struct authd_cache *c = authd_cache_new(1000, 10);

	UNIT_CHECK(!authd_cache_hit(c, "a", "{X}h", "pw", 0));
	authd_cache_add(c, "a", "{X}h", "pw", 0);
	UNIT_CHECK(authd_cache_hit(c, "a", "{X}h", "pw", 999));
	UNIT_CHECK(!authd_cache_hit(c, "a", "{X}h", "pw2", 10));
	UNIT_CHECK(!authd_cache_hit(c, "b", "{X}h", "pw", 10));
	UNIT_CHECK(!authd_cache_hit(c, "a", "{X}h2", "pw", 10));
	/* the fields are separated: no shifting between them */
	UNIT_CHECK(!authd_cache_hit(c, "a", "{X}hp", "w", 10));
	UNIT_CHECK(!authd_cache_hit(c, "a", "{X}h", "pw", 1000));
	UNIT_CHECK(!authd_cache_hit(c, "a", "{X}h", "pw", 10));
	authd_cache_add(c, "a", "{X}h", "pw", 0);
	authd_cache_clear(c);
	UNIT_CHECK(!authd_cache_hit(c, "a", "{X}h", "pw", 10));
	authd_cache_free(&c);

	c = authd_cache_new(0, 10);	/* off */
	authd_cache_add(c, "a", "{X}h", "pw", 0);
	UNIT_CHECK(!authd_cache_hit(c, "a", "{X}h", "pw", 1));
	authd_cache_free(&c);
}

static void test_sizes(void)
{
	static const struct {
		const char *s;
		int ret;
		uint64_t bytes;
	} cases[] = {
		{ "0", 0, 0 }, { "100", 0, 100 }, { "100B", 0, 100 },
		{ "1k", 0, 1024 }, { "1K", 0, 1024 }, { "2M", 0, 2097152 },
		{ "3G", 0, 3221225472ULL }, { "1T", 0, 1099511627776ULL },
		{ "1m", 0, 1048576 },
		{ "1KB", 0, 1024 }, { "2gb", 0, 2147483648ULL },
		{ "", -1, 0 }, { "k", -1, 0 }, { "1BB", -1, 0 },
		{ "1KBB", -1, 0 }, { "1Kx", -1, 0 },
		{ "1 M", -1, 0 }, { "-1", -1, 0 }, { "+1M", -1, 0 },
		{ "1X", -1, 0 }, { "1.5G", -1, 0 }, { "10%", -1, 0 },
		{ "18446744073709551615", 0, 18446744073709551615ULL },
		{ "18446744073709551616", -1, 0 },
		{ "17179869184G", -1, 0 },	/* 2^34 G overflows */
		{ "16777215T", 0, 16777215ULL << 40 },
		{ "16777216T", -1, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t b = 0;
		int ret = authd_fields_size(cases[i].s, &b);

		UNIT_CHECK(ret == cases[i].ret);
		if (ret == 0)
			UNIT_CHECK(b == cases[i].bytes);
		if (ret != cases[i].ret)
			fprintf(stderr, "size case %zu: %s\n", i, cases[i].s);
	}
}

/* Applies home/extra of a made-up entry for user; 0 or -1. */
static int fields(const char *user, const char *home, const char *extra,
		  struct authd_user *u, const char **error)
{
	struct passwd_file_entry e = {
		.user = user, .password = "", .gecos = "", .home = home,
		.shell = "", .extra = extra,
	};

	memset(u, 0, sizeof(*u));
	if (strlen(user) >= sizeof(u->name))
		return -1;
	memcpy(u->name, user, strlen(user) + 1);
	return authd_fields_apply(&e, u, error);
}

static void test_fields(void)
{
	struct authd_user u;
	const char *error;

	UNIT_CHECK(fields("a@x.org", "", "", &u, &error) == 0);
	UNIT_STREQ(u.home, "");
	UNIT_STREQ(u.mail, "");
	UNIT_CHECK(u.quota == 0);

	UNIT_CHECK(fields("a@x.org", "/home/a", "userdb_mail=maildir:~/Mail "
			  "userdb_quota_rule=*:storage=1G", &u, &error) == 0);
	UNIT_STREQ(u.home, "/home/a");
	UNIT_STREQ(u.mail, "/home/a/Mail");
	UNIT_CHECK(u.quota == 1073741824ULL);

	UNIT_CHECK(fields("ann@x.org", "/srv/%d/%n", "mail=/m/%u/%%:INDEX=/i "
			  "quota_rule=*:bytes=5000 quota_rule2=Trash:storage="
			  "+10M nopassword", &u, &error) == 0);
	UNIT_STREQ(u.home, "/srv/x.org/ann");
	UNIT_STREQ(u.mail, "/m/ann@x.org/%");
	UNIT_CHECK(u.quota == 5000);

	UNIT_CHECK(fields("b", "", "\tmail=maildir:/var/mail/%n\t", &u,
			  &error) == 0);
	UNIT_STREQ(u.mail, "/var/mail/b");
	UNIT_CHECK(fields("b@x", "", "MAIL=mbox:/x quota_rule=Trash:storage=x",
			  &u, &error) == 0);	/* not ours: ignored */
	UNIT_STREQ(u.mail, "");

	static const struct {
		const char *home, *extra, *why;
	} bad[] = {
		{ "relative", "", "path is not absolute" },
		{ "", "mail=mbox:~/mail", "mail location is not maildir:" },
		{ "", "userdb_mail=sdbox:/x", "mail location is not maildir:" },
		{ "", "mail=maildir:~/Maildir", "~ in a path, but no home" },
		{ "", "mail=maildir:Maildir", "path is not absolute" },
		{ "", "mail=/m/%x", "unknown %variable in a path" },
		{ "", "mail=/m/%", "unknown %variable in a path" },
		{ "", "quota_rule=*:storage=lots", "bad quota size" },
		{ "", "userdb_quota_rule=*:storage=", "bad quota size" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error = NULL;
		UNIT_CHECK(fields("a@x.org", bad[i].home, bad[i].extra, &u,
				  &error) == -1);
		UNIT_STREQ(error, bad[i].why);
	}

	/* a path of the reply's size does not fit: refused, not cut */
	char extra[AUTHD_HOME_MAX + 16];
	memcpy(extra, "mail=/", 6);
	memset(extra + 6, 'm', AUTHD_HOME_MAX - 2);
	extra[6 + AUTHD_HOME_MAX - 2] = '\0';	/* path of size-1: fits */
	UNIT_CHECK(fields("a", "", extra, &u, &error) == 0);
	UNIT_CHECK(strlen(u.mail) == AUTHD_HOME_MAX - 1);
	memcpy(extra + 6 + AUTHD_HOME_MAX - 2, "m", 2);
	UNIT_CHECK(fields("a", "", extra, &u, &error) == -1);
	UNIT_STREQ(error, "path too long");
}

int main(void)
{
	test_lru();
	test_throttle();
	test_cache();
	test_sizes();
	test_fields();
	return unit_done();
}
