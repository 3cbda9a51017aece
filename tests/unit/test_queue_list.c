#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "queue_list.h"
#include "unit.h"

/* 2026-11-22 18:37:27 UTC, 5 microseconds */
#define ARRIVAL_US (1795372647ULL * 1000000 + 5)

static const char file_text[] =
	"SUREL-QUEUE 1\n"
	"T\t1795372647000005\n"
	"S\ts@x.test\n"
	"R\tP\t-\t-\t-\ta@dead.test\n"
	"R\tD\t-\t-\t-\tdone@dead.test\n"
	"R\tP\t-\t-\t-\tb@DEAD.test\n"
	"R\tP\t-\t-\t-\tc@other.test\n"
	"R\tP\t-\t-\t-\td\x01@new.test\n"
	"C\t00000000000000000008\n"
	"S: x\n\nb\n"
	"E\n"
	"L\t0\t4.4.1\tx-surel\t-\t-\tconnect refused\n"
	"L\t2\t4.4.1\tx-surel\t-\t-\tconnect refused\n"
	"L\t3\t4.7.1\tsmtp\tmx.other.test\tRCPT\t-\n";

static int parse(struct queue_envelope *env)
{
	off_t off;
	uint64_t size;
	const char *error;

	int ret = queue_file_parse(file_text, sizeof(file_text) - 1, env,
				   &off, &size, &error);
	if (ret < 0)
		fprintf(stderr, "parse: %s\n", error);
	return ret;
}

static void test_mailq(void)
{
	struct queue_envelope env;
	struct buf b;

	if (parse(&env) < 0) {
		UNIT_CHECK(!"the test file parses");
		return;
	}
	struct queue_list_entry e = { .queue = QUEUE_LIST_DEFERRED,
				      .id = "06B0353F9592C3720B", .size = 8,
				      .env = &env };
	buf_init(&b, 65536);
	UNIT_CHECK(queue_list_mailq_header(&b) == 0);
	UNIT_CHECK(queue_list_mailq(&b, &e) == 0);
	UNIT_STREQ(buf_cstr(&b),
		   "-Queue ID-  --Size-- ----Arrival Time---- "
		   "-Sender/Recipient-------\n"
		   "06B0353F9592C3720B        8 Sun Nov 22 18:37:27  s@x.test\n"
		   "(connect refused)\n"
		   "                                         a@dead.test\n"
		   "                                         b@DEAD.test\n"
		   "(4.7.1)\n"
		   "                                         c@other.test\n"
		   "                                         d?@new.test\n\n");
	/* marks, a short id padded to 11 columns, the null sender */
	buf_reset(&b);
	free(env.sender);
	env.sender = strdup("");
	e.queue = QUEUE_LIST_ACTIVE;
	e.id = "ABC";
	UNIT_CHECK(queue_list_mailq(&b, &e) == 0);
	/* with a 10-digit id the sender is at column 41 */
	UNIT_STREQ(buf_cstr(&b), "ABC*              8 Sun Nov 22 18:37:27  "
		   "MAILER-DAEMON\n"
		   "(connect refused)\n"
		   "                                         a@dead.test\n"
		   "                                         b@DEAD.test\n"
		   "(4.7.1)\n"
		   "                                         c@other.test\n"
		   "                                         d?@new.test\n\n");
	UNIT_CHECK(strcspn(buf_cstr(&b), "M") == 41);
	buf_reset(&b);
	e.queue = QUEUE_LIST_HOLD;
	UNIT_CHECK(queue_list_mailq(&b, &e) == 0);
	UNIT_CHECK(strncmp(buf_cstr(&b), "ABC!  ", 6) == 0);
	buf_reset(&b);
	UNIT_CHECK(queue_list_mailq_footer(&b, 0, 0) == 0);
	UNIT_STREQ(buf_cstr(&b), "Mail queue is empty\n");
	buf_reset(&b);
	UNIT_CHECK(queue_list_mailq_footer(&b, 1025, 1) == 0);
	UNIT_STREQ(buf_cstr(&b), "-- 2 Kbytes in 1 Request.\n");
	buf_reset(&b);
	UNIT_CHECK(queue_list_mailq_footer(&b, 2048, 3) == 0);
	UNIT_STREQ(buf_cstr(&b), "-- 2 Kbytes in 3 Requests.\n");
	/* a full buffer is an error */
	struct buf small;
	buf_init(&small, 40);
	UNIT_CHECK(queue_list_mailq(&small, &e) < 0);
	buf_deinit(&small);
	buf_deinit(&b);
	queue_envelope_free(&env);
}

static void test_json(void)
{
	struct queue_envelope env;
	struct buf b;

	if (parse(&env) < 0) {
		UNIT_CHECK(!"the test file parses");
		return;
	}
	struct queue_list_entry e = { .queue = QUEUE_LIST_DEFERRED,
				      .id = "06B0353F9592C3720B", .size = 8,
				      .env = &env };
	buf_init(&b, 65536);
	UNIT_CHECK(queue_list_json(&b, &e) == 0);
	UNIT_STREQ(buf_cstr(&b),
		   "{\"queue_name\":\"deferred\",\"queue_id\":"
		   "\"06B0353F9592C3720B\",\"arrival_time\":1795372647,"
		   "\"message_size\":8,\"forced_expire\":false,"
		   "\"sender\":\"s@x.test\",\"recipients\":["
		   "{\"address\":\"a@dead.test\",\"delay_reason\":"
		   "\"connect refused\"},"
		   "{\"address\":\"b@DEAD.test\",\"delay_reason\":"
		   "\"connect refused\"},"
		   "{\"address\":\"c@other.test\",\"delay_reason\":\"4.7.1\"},"
		   "{\"address\":\"d\\u0001@new.test\"}]}\n");
	buf_deinit(&b);
	queue_envelope_free(&env);
}

static void test_summary(void)
{
	struct queue_envelope env;
	struct queue_summary *s = queue_summary_new();
	struct buf b;
	char age[32];

	if (parse(&env) < 0) {
		UNIT_CHECK(!"the test file parses");
		queue_summary_free(&s);
		return;
	}
	queue_summary_add(s, QUEUE_LIST_DEFERRED, ARRIVAL_US, &env);
	queue_summary_add(s, QUEUE_LIST_DEFERRED, ARRIVAL_US - 3600000000ULL,
			  &env);
	/* only the deferred queue's destinations count */
	queue_summary_add(s, QUEUE_LIST_HOLD, ARRIVAL_US, &env);
	queue_summary_add(s, QUEUE_LIST_CORRUPT, ARRIVAL_US, NULL);
	buf_init(&b, 65536);
	UNIT_CHECK(queue_summary_format(s, ARRIVAL_US + 90000000ULL, &b) == 0);
	UNIT_STREQ(buf_cstr(&b),
		   "queue      messages  oldest\n"
		   "maildrop          0  -\n"
		   "incoming          0  -\n"
		   "active            0  -\n"
		   "deferred          2  1h1m\n"
		   "hold              1  1m30s\n"
		   "corrupt           1  1m30s\n"
		   "\nTop deferred destinations:\n"
		   "       4  dead.test\n"
		   "       2  new.test\n"
		   "       2  other.test\n");
	buf_deinit(&b);
	queue_summary_free(&s);
	UNIT_CHECK(s == NULL);

	/* the top ten of many, by count then name */
	s = queue_summary_new();
	char addr[64];
	for (int d = 0; d < 30; d++) {
		struct queue_envelope one = { .arrival_us = ARRIVAL_US };
		snprintf(addr, sizeof(addr), "u@d%02d.test", d);
		for (int n = 0; n <= d % 15; n++)
			queue_envelope_add_rcpt(&one, addr, NULL, NULL, NULL);
		one.sender = strdup("");
		queue_summary_add(s, QUEUE_LIST_DEFERRED, ARRIVAL_US, &one);
		queue_envelope_free(&one);
	}
	buf_init(&b, 65536);
	UNIT_CHECK(queue_summary_format(s, ARRIVAL_US, &b) == 0);
	const char *top = strstr(buf_cstr(&b), "destinations:\n");
	UNIT_CHECK(top != NULL);
	if (top != NULL)
		UNIT_STREQ(top, "destinations:\n"
			   "      15  d14.test\n      15  d29.test\n"
			   "      14  d13.test\n      14  d28.test\n"
			   "      13  d12.test\n      13  d27.test\n"
			   "      12  d11.test\n      12  d26.test\n"
			   "      11  d10.test\n      11  d25.test\n");
	buf_deinit(&b);
	queue_summary_free(&s);
	queue_summary_free(&s);	/* twice: harmless */

	queue_summary_age(age, sizeof(age), 0);
	UNIT_STREQ(age, "0s");
	queue_summary_age(age, sizeof(age), 59);
	UNIT_STREQ(age, "59s");
	queue_summary_age(age, sizeof(age), 60);
	UNIT_STREQ(age, "1m0s");
	queue_summary_age(age, sizeof(age), 3 * 86400 + 7200 + 5);
	UNIT_STREQ(age, "3d2h");
	queue_envelope_free(&env);
}

int main(void)
{
	/* the arrival time is shown in local time */
	setenv("TZ", "UTC", 1);
	tzset();
	test_mailq();
	test_json();
	test_summary();
	return unit_done();
}
