/* Unit tests of lib/imap_seqset: valid and invalid sets, the range count
 * limit (limit-1, limit, limit+1), "*" resolution with and without
 * messages, normalisation, membership and totals. */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "imap_seqset.h"
#include "unit.h"

#define RANGES_MAX_TEST 8

/* "lo-hi,lo-hi" with * as "*", or "$". */
static void dump(const struct imap_seqset *set, struct buf *out)
{
	buf_reset(out);
	if (set->saved)
		unit_put(out, "%s", "$");
	for (size_t i = 0; i < set->count; i++) {
		uint32_t v[2] = { set->ranges[i].lo, set->ranges[i].hi };

		if (i > 0)
			unit_put(out, "%c", ',');
		for (int k = 0; k < 2; k++) {
			if (k == 1)
				unit_put(out, "%c", '-');
			if (v[k] == IMAP_SEQ_STAR)
				unit_put(out, "%c", '*');
			else
				unit_put(out, "%u", v[k]);
		}
	}
}

static const struct {
	const char *in;
	const char *parsed;	/* NULL: invalid */
	const char *resolved;	/* with * = 10 */
	const char *resolved0;	/* with * = 0 */
	uint64_t total;		/* with * = 10 */
} cases[] = {
	{ "1", "1-1", "1-1", "1-1", 1 },
	{ "1:4294967295", "1-4294967295", "1-4294967295", "1-4294967295",
	  4294967295ull },
	{ "4294967295", "4294967295-4294967295", "4294967295-4294967295",
	  "4294967295-4294967295", 1 },
	{ "*", "*-*", "10-10", "", 1 },
	{ "*:*", "*-*", "10-10", "", 1 },
	{ "1:*", "1-*", "1-10", "", 10 },
	{ "*:3", "*-3", "3-10", "", 8 },
	{ "20:*", "20-*", "10-20", "", 11 },
	{ "1,3:5,7", "1-1,3-5,7-7", "1-1,3-5,7-7", "1-1,3-5,7-7", 5 },
	{ "7,5:3,1", "7-7,5-3,1-1", "1-1,3-5,7-7", "1-1,3-5,7-7", 5 },
	{ "1,2,3,4", "1-1,2-2,3-3,4-4", "1-4", "1-4", 4 },
	{ "5:9,1:6,2", "5-9,1-6,2-2", "1-9", "1-9", 9 },
	{ "4294967295,1:4294967294", "4294967295-4294967295,1-4294967294",
	  "1-4294967295", "1-4294967295", 4294967295ull },
	{ "1,*", "1-1,*-*", "1-1,10-10", "1-1", 2 },
	{ "$", "$", NULL, NULL, 0 },
	{ "0", NULL, NULL, NULL, 0 },
	{ "0:5", NULL, NULL, NULL, 0 },
	{ "1:0", NULL, NULL, NULL, 0 },
	{ "01", NULL, NULL, NULL, 0 },
	{ "4294967296", NULL, NULL, NULL, 0 },
	{ "99999999999999999999999", NULL, NULL, NULL, 0 },
	{ "", NULL, NULL, NULL, 0 },
	{ ",", NULL, NULL, NULL, 0 },
	{ "1,", NULL, NULL, NULL, 0 },
	{ ",1", NULL, NULL, NULL, 0 },
	{ "1::2", NULL, NULL, NULL, 0 },
	{ "1:", NULL, NULL, NULL, 0 },
	{ ":1", NULL, NULL, NULL, 0 },
	{ "1:2:3", NULL, NULL, NULL, 0 },
	{ "**", NULL, NULL, NULL, 0 },
	{ "$,1", NULL, NULL, NULL, 0 },
	{ "1,$", NULL, NULL, NULL, 0 },
	{ "$$", NULL, NULL, NULL, 0 },
	{ " 1", NULL, NULL, NULL, 0 },
	{ "1 ", NULL, NULL, NULL, 0 },
	{ "-1", NULL, NULL, NULL, 0 },
	{ "+1", NULL, NULL, NULL, 0 },
	{ "1.5", NULL, NULL, NULL, 0 },
};

static void test_cases(void)
{
	struct buf out;

	buf_init(&out, 4096);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct imap_seqset set, res;
		const char *error = NULL;
		int r = imap_seqset_parse(cases[i].in, strlen(cases[i].in),
					  RANGES_MAX_TEST, &set, &error);

		if (cases[i].parsed == NULL) {
			UNIT_CHECK(r == -1 && error != NULL && set.count == 0 &&
				   set.ranges == NULL);
			if (r == 0)
				fprintf(stderr, "accepted: \"%s\"\n",
					cases[i].in);
			continue;
		}
		UNIT_CHECK(r == 0);
		dump(&set, &out);
		UNIT_STREQ(buf_cstr(&out), cases[i].parsed);
		if (cases[i].resolved == NULL) {
			UNIT_CHECK(imap_seqset_resolve(&set, 10, &res) == -1);
			imap_seqset_deinit(&set);
			continue;
		}
		UNIT_CHECK(imap_seqset_resolve(&set, 10, &res) == 0);
		dump(&res, &out);
		UNIT_STREQ(buf_cstr(&out), cases[i].resolved);
		UNIT_CHECK(imap_seqset_total(&res) == cases[i].total);
		imap_seqset_deinit(&res);
		UNIT_CHECK(imap_seqset_resolve(&set, 0, &res) == 0);
		dump(&res, &out);
		UNIT_STREQ(buf_cstr(&out), cases[i].resolved0);
		imap_seqset_deinit(&res);
		imap_seqset_deinit(&set);
	}
	buf_deinit(&out);
}

static void test_ranges_max(void)
{
	char in[256];

	for (size_t n = RANGES_MAX_TEST - 1; n <= RANGES_MAX_TEST + 1; n++) {
		struct imap_seqset set;
		const char *error;
		size_t len = 0;

		for (size_t i = 0; i < n; i++)
			len += (size_t)snprintf(in + len, sizeof(in) - len,
						"%s%zu", i > 0 ? "," : "",
						2 * i + 1);
		int r = imap_seqset_parse(in, len, RANGES_MAX_TEST, &set,
					  &error);
		UNIT_CHECK(r == (n <= RANGES_MAX_TEST ? 0 : -1));
		if (r == 0)
			UNIT_CHECK(set.count == n);
		else
			UNIT_STREQ(error, "Too many sequence ranges");
		imap_seqset_deinit(&set);
	}
	/* A huge comma list stops at the limit, not at the end. */
	static char big[600000];
	size_t len = 0;
	while (len + 8 < sizeof(big))
		len += (size_t)snprintf(big + len, sizeof(big) - len, "%s1",
					len > 0 ? "," : "");
	struct imap_seqset set;
	const char *error;
	UNIT_CHECK(imap_seqset_parse(big, len, 1000, &set, &error) == -1);
	UNIT_CHECK(imap_seqset_parse(big, len, 1000000, &set, &error) == 0);
	struct imap_seqset res;
	UNIT_CHECK(imap_seqset_resolve(&set, 5, &res) == 0 && res.count == 1);
	imap_seqset_deinit(&res);
	imap_seqset_deinit(&set);
}

static void test_contains(void)
{
	const char *in = "2:4,10,*,20:15";
	struct imap_seqset set, res;
	const char *error;

	UNIT_CHECK(imap_seqset_parse(in, strlen(in), 10, &set, &error) == 0);
	UNIT_CHECK(imap_seqset_resolve(&set, 100, &res) == 0 &&
		   res.count == 4);
	static const uint32_t yes[] = { 2, 3, 4, 10, 15, 20, 100 };
	static const uint32_t no[] = { 0, 1, 5, 9, 11, 14, 21, 99, 101,
				       4294967295u };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		UNIT_CHECK(imap_seqset_contains(&res, yes[i]));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		UNIT_CHECK(!imap_seqset_contains(&res, no[i]));
	UNIT_CHECK(imap_seqset_total(&res) == 3 + 1 + 6 + 1);
	imap_seqset_deinit(&res);
	UNIT_CHECK(res.ranges == NULL && res.count == 0);
	imap_seqset_deinit(&set);
	/* The length bounds the input: no NUL needed. */
	UNIT_CHECK(imap_seqset_parse("12:3x", 4, 10, &set, &error) == 0 &&
		   set.count == 1 && set.ranges[0].lo == 12 &&
		   set.ranges[0].hi == 3);
	imap_seqset_deinit(&set);
}

int main(void)
{
	test_cases();
	test_ranges_max();
	test_contains();
	return unit_done();
}
