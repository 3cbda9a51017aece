/* Unit tests of lib/deliver_proto's version 2 (deliver_proto2.c): the
 * hello, the request with many recipients and its answer; round trips
 * whole and one byte at a time, every attribute's checks, the numbering
 * rules (from 0, no gap, no leading zero, no repeat), the recipient limit
 * at limit and limit + 1; the optional trace flag (sendmail -bv) in both
 * versions. Version 1 is otherwise tested in test_ipc.c. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "deliver_proto.h"
#include "ipc.h"
#include "unit.h"

#define QID "6740A3B2F0A1B2C3F1E"

static int feed(const char *text, size_t len, bool bytewise,
		struct ipc_msg *msg)
{
	struct ipc_reader *r = ipc_reader_new(4096,
					      DELIVER_REQUEST2_ATTRS_MAX + 8);
	size_t used = 0, off = 0;
	const char *error;
	int ret = 0;

	memset(msg, 0, sizeof(*msg));
	while (off < len && ret == 0) {
		size_t n = bytewise ? 1 : len - off;
		ret = ipc_reader_feed(r, text + off, n, &used, msg, &error);
		if (ret >= 0)
			off += used;
	}
	ipc_reader_free(&r);
	return ret;
}

/* A good request of two recipients as attribute lines. */
static const struct ipc_attr good[] = {
	{ "queue_id", QID }, { "queue_file", "active/" QID },
	{ "offset", "120" }, { "size", "3000" }, { "sender", "s@x.test" },
	{ "arrival", "1700000000000000" }, { "active", "1700000001000000" },
	{ "ret", "HDRS" }, { "envid", "ab+2Bc" }, { "smtputf8", "0" },
	{ "body", "8bitmime" }, { "nexthop", "[mx.example.test]:2525" },
	{ "sign", "1" },
	{ "rcpt_0", "a@example.test" }, { "orcpt_0", "rfc822;a+40example.test" },
	{ "notify_0", "SUCCESS,DELAY" },
	{ "rcpt_1", "b@example.test" }, { "orcpt_1", "" }, { "notify_1", "" },
};
#define GOOD_COUNT (sizeof(good) / sizeof(good[0]))

/* The good request with attribute name set to value (NULL: dropped),
 * plus one more attribute add_name=add_value when add_name is set;
 * decoded. Returns the decoder's result. */
static int try_request(const char *name, const char *value,
		       const char *add_name, const char *add_value)
{
	struct ipc_attr attrs[GOOD_COUNT + 1];
	struct deliver_request2 req;
	struct ipc_msg msg;
	struct buf b;
	const char *error;
	size_t n = 0;

	for (size_t i = 0; i < GOOD_COUNT; i++) {
		attrs[n] = good[i];
		if (name != NULL && strcmp(good[i].name, name) == 0) {
			if (value == NULL)
				continue;
			attrs[n].value = value;
		}
		n++;
	}
	if (add_name != NULL) {
		attrs[n].name = add_name;
		attrs[n++].value = add_value;
	}
	buf_init(&b, 1 << 16);
	UNIT_CHECK(ipc_encode(&b, attrs, n) == 0);
	UNIT_CHECK(feed(b.data, b.len, false, &msg) == 1);
	int ret = deliver_request2_decode(&msg, &req, &error);
	if (ret == 0)
		UNIT_CHECK(req.rcpt_count == 2);
	deliver_request2_deinit(&req);
	UNIT_CHECK(req.rcpts == NULL);
	ipc_msg_clear(&msg);
	buf_deinit(&b);
	return ret;
}

static void test_request_roundtrip(void)
{
	struct deliver_rcpt rcpts[3] = {
		{ "a@example.test", "rfc822;a@example.test", "NEVER" },
		{ "\xce\xb4@example.test", "", "" },
		{ "c@example.test", "", "FAILURE" },
	};
	struct deliver_request2 req = {
		.queue_id = QID, .queue_file = "active/" QID, .offset = 7,
		.size = 99, .sender = "", .arrival_us = 1, .active_us = 2,
		.ret = "FULL", .envid = "", .smtputf8 = true,
		.body_8bit = false, .nexthop = "example.test:2525",
		.rcpts = rcpts, .rcpt_count = 3,
	}, back;
	struct ipc_msg msg;
	struct buf b;
	const char *error;

	buf_init(&b, 1 << 16);
	UNIT_CHECK(deliver_request2_encode(&b, &req) == 0);
	for (int bytewise = 0; bytewise <= 1; bytewise++) {
		UNIT_CHECK(feed(b.data, b.len, bytewise, &msg) == 1);
		UNIT_CHECK(deliver_request2_decode(&msg, &back, &error) == 0);
		UNIT_STREQ(back.queue_id, QID);
		UNIT_STREQ(back.sender, "");
		UNIT_STREQ(back.ret, "FULL");
		UNIT_STREQ(back.envid, "");
		UNIT_STREQ(back.nexthop, "example.test:2525");
		UNIT_CHECK(back.offset == 7 && back.size == 99 &&
			   back.arrival_us == 1 && back.active_us == 2);
		UNIT_CHECK(back.smtputf8 && !back.body_8bit);
		UNIT_CHECK(back.rcpt_count == 3);
		for (size_t i = 0; i < 3 && back.rcpt_count == 3; i++) {
			UNIT_STREQ(back.rcpts[i].address, rcpts[i].address);
			UNIT_STREQ(back.rcpts[i].orcpt, rcpts[i].orcpt);
			UNIT_STREQ(back.rcpts[i].notify, rcpts[i].notify);
		}
		deliver_request2_deinit(&back);
		ipc_msg_clear(&msg);
	}
	/* No recipient: nothing to encode. */
	req.rcpt_count = 0;
	UNIT_CHECK(deliver_request2_encode(&b, &req) == -1);
	buf_deinit(&b);
}

static void test_request_bad(void)
{
	static const struct {
		const char *name, *value, *add_name, *add_value;
		int want;
	} cases[] = {
		{ NULL, NULL, NULL, NULL, 0 },
		{ "queue_file", "active/6740A3B2F0A1B2C3F1F", NULL, NULL, -1 },
		{ "queue_file", "deferred/" QID, NULL, NULL, -1 },
		{ "offset", "-1", NULL, NULL, -1 },
		{ "size", "18446744073709551615", NULL, NULL, -1 },
		{ "arrival", "1x", NULL, NULL, -1 },
		{ "ret", "", NULL, NULL, 0 },
		{ "ret", "FULL", NULL, NULL, 0 },
		{ "ret", "full", NULL, NULL, -1 },
		{ "ret", "NONE", NULL, NULL, -1 },
		{ "envid", "", NULL, NULL, 0 },
		{ "envid", "a=b", NULL, NULL, -1 },
		{ "envid", "a+4", NULL, NULL, -1 },
		{ "envid", "a+4g", NULL, NULL, -1 },
		{ "envid", "a b", NULL, NULL, -1 },
		{ "envid", "\xc3\xa9", NULL, NULL, -1 },
		{ "smtputf8", "1", NULL, NULL, 0 },
		{ "smtputf8", "2", NULL, NULL, -1 },
		{ "body", "7bit", NULL, NULL, 0 },
		{ "body", "8bit", NULL, NULL, -1 },
		{ "nexthop", "", NULL, NULL, -1 },
		{ "nexthop", "example.test", NULL, NULL, 0 },
		{ "nexthop", "example.test:2525", NULL, NULL, 0 },
		{ "nexthop", "[127.0.0.1]:25", NULL, NULL, 0 },
		{ "nexthop", "[mx.example.test", NULL, NULL, -1 },
		{ "nexthop", "example.test:0", NULL, NULL, -1 },
		{ "nexthop", "a b", NULL, NULL, -1 },
		{ "sign", "0", NULL, NULL, 0 },
		{ "sign", "", NULL, NULL, -1 },
		{ "sign", "yes", NULL, NULL, -1 },
		{ "sign", NULL, NULL, NULL, -1 },
		{ "rcpt_1", "", NULL, NULL, -1 },
		{ "orcpt_0", "rfc822", NULL, NULL, -1 },
		{ "orcpt_0", ";a@b", NULL, NULL, -1 },
		{ "orcpt_0", "rfc822;a=b", NULL, NULL, -1 },
		{ "notify_0", "NEVER", NULL, NULL, 0 },
		{ "notify_0", "FAILURE", NULL, NULL, 0 },
		{ "notify_0", "NEVER,SUCCESS", NULL, NULL, -1 },
		{ "notify_0", "SUCCESS,SUCCESS", NULL, NULL, -1 },
		{ "notify_0", "success", NULL, NULL, -1 },
		{ "notify_0", "SUCCESS,", NULL, NULL, -1 },
		/* The set: missing, extra, repeated, renumbered. */
		{ "sender", NULL, NULL, NULL, -1 },
		{ "rcpt_1", NULL, NULL, NULL, -1 },
		{ NULL, NULL, "extra", "1", -1 },
		{ NULL, NULL, "sender", "t@x.test", -1 },
		{ NULL, NULL, "rcpt_1", "c@x.test", -1 },
		{ "rcpt_1", NULL, "rcpt_01", "c@x.test", -1 },
		{ "rcpt_1", NULL, "rcpt_2", "c@x.test", -1 },
		{ "rcpt_1", NULL, "rcpt_", "c@x.test", -1 },
		{ "rcpt_1", NULL, "rcpt_1x", "c@x.test", -1 },
		{ "notify_1", NULL, "notify_0", "NEVER", -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = try_request(cases[i].name, cases[i].value,
				      cases[i].add_name, cases[i].add_value);
		if (got != cases[i].want)
			fprintf(stderr, "case %zu (%s=%s +%s) gave %d\n", i,
				cases[i].name ? cases[i].name : "-",
				cases[i].value ? cases[i].value : "-",
				cases[i].add_name ? cases[i].add_name : "-",
				got);
		UNIT_CHECK(got == cases[i].want);
	}
	/* An envid of 100 octets passes, 101 does not. */
	char envid[DELIVER_ENVID_MAX + 2];
	memset(envid, 'e', sizeof(envid) - 2);
	envid[sizeof(envid) - 2] = '\0';
	UNIT_CHECK(try_request("envid", envid, NULL, NULL) == 0);
	envid[sizeof(envid) - 2] = 'e';
	envid[sizeof(envid) - 1] = '\0';
	UNIT_CHECK(try_request("envid", envid, NULL, NULL) == -1);
}

/* DELIVER_RCPT_MAX recipients decode; one more is refused by the encoder
 * and, written by hand, by the decoder. */
static void test_request_limit(void)
{
	struct deliver_rcpt *rcpts = calloc(DELIVER_RCPT_MAX + 1,
					    sizeof(*rcpts));
	struct deliver_request2 req = {
		.queue_id = QID, .queue_file = "active/" QID, .sender = "",
		.ret = "", .envid = "", .nexthop = "example.test",
		.rcpts = rcpts, .rcpt_count = DELIVER_RCPT_MAX,
	}, back;
	struct ipc_msg msg;
	struct buf b;
	const char *error;

	for (size_t i = 0; i <= DELIVER_RCPT_MAX; i++)
		rcpts[i] = (struct deliver_rcpt){ "r@example.test", "", "" };
	buf_init(&b, 1 << 20);
	UNIT_CHECK(deliver_request2_encode(&b, &req) == 0);
	UNIT_CHECK(feed(b.data, b.len, false, &msg) == 1);
	UNIT_CHECK(deliver_request2_decode(&msg, &back, &error) == 0);
	UNIT_CHECK(back.rcpt_count == DELIVER_RCPT_MAX);
	deliver_request2_deinit(&back);
	ipc_msg_clear(&msg);
	req.rcpt_count = DELIVER_RCPT_MAX + 1;
	UNIT_CHECK(deliver_request2_encode(&b, &req) == -1);
	/* By hand: the good text plus one more recipient. */
	b.len = 0;
	req.rcpt_count = DELIVER_RCPT_MAX;
	UNIT_CHECK(deliver_request2_encode(&b, &req) == 0);
	b.len--;	/* the final empty line */
	UNIT_CHECK(buf_printf(&b, "rcpt_%d=x@y\norcpt_%d=\nnotify_%d=\n\n",
			      DELIVER_RCPT_MAX, DELIVER_RCPT_MAX,
			      DELIVER_RCPT_MAX) == 0);
	UNIT_CHECK(feed(b.data, b.len, false, &msg) == 1);
	UNIT_CHECK(deliver_request2_decode(&msg, &back, &error) == -1);
	deliver_request2_deinit(&back);
	ipc_msg_clear(&msg);
	buf_deinit(&b);
	free(rcpts);
}

static int try_answer(const char *text, size_t count, bool *dead_r)
{
	struct deliver_answer ans[4];
	struct ipc_msg msg;
	const char *error;

	UNIT_CHECK(feed(text, strlen(text), false, &msg) == 1);
	int ret = deliver_answer2_decode(&msg, count, ans, dead_r, &error);
	ipc_msg_clear(&msg);
	return ret;
}

/* Encodes two answers into *b (the caller frees it and *msg), reads
 * them back into back[2]. */
static void answer_round_trip(const struct deliver_answer ans[2], bool dead,
			      struct deliver_answer back[2], bool *dead_r,
			      struct ipc_msg *msg, struct buf *b)
{
	const char *error;

	buf_init(b, 4096);
	UNIT_CHECK(deliver_answer2_encode(b, ans, 2, dead) == 0);
	UNIT_CHECK(feed(b->data, b->len, true, msg) == 1);
	UNIT_CHECK(deliver_answer2_decode(msg, 2, back, dead_r, &error) == 0);
}

static void test_answer(void)
{
	struct deliver_answer ans[2] = {
		{ .status = DELIVER_OK, .dsn = "2.0.0",
		  .reason = "250 2.0.0 Ok: queued as X" },
		{ .status = DELIVER_PERMFAIL, .dsn = "5.1.1",
		  .reason = "host h said: 550 no" },
	}, back[2];
	struct ipc_msg msg;
	struct buf b;
	const char *error;
	bool dead = false;

	answer_round_trip(ans, true, back, &dead, &msg, &b);
	UNIT_CHECK(dead);
	UNIT_CHECK(back[0].status == DELIVER_OK &&
		   back[1].status == DELIVER_PERMFAIL);
	UNIT_STREQ(back[0].reason, ans[0].reason);
	UNIT_STREQ(back[1].dsn, "5.1.1");
	/* The count must be the request's. */
	UNIT_CHECK(deliver_answer2_decode(&msg, 1, back, &dead, &error) == -1);
	UNIT_CHECK(deliver_answer2_decode(&msg, 3, back, &dead, &error) == -1);
	ipc_msg_clear(&msg);
	UNIT_CHECK(deliver_answer2_encode(&b, ans, 0, false) == -1);
	buf_deinit(&b);

	static const struct {
		const char *text;
		size_t count;
		int want;
	} cases[] = {
		{ "status_0=4\ndsn_0=4.4.1\nreason_0=x\nsite=ok\n\n", 1, 0 },
		{ "site=dead\nreason_0=x\ndsn_0=4.4.1\nstatus_0=4\n\n", 1, 0 },
		{ "status_0=4\ndsn_0=4.4.1\nreason_0=x\n\n", 1, -1 },
		{ "status_0=4\ndsn_0=4.4.1\nreason_0=x\nsite=maybe\n\n", 1,
		  -1 },
		{ "status_0=4\ndsn_0=5.4.1\nreason_0=x\nsite=ok\n\n", 1, -1 },
		{ "status_0=0\ndsn_0=2.0.0\nreason_0=x\nsite=ok\n\n", 1, 0 },
		{ "status_0=3\ndsn_0=2.0.0\nreason_0=x\nsite=ok\n\n", 1, -1 },
		{ "status_1=4\ndsn_1=4.4.1\nreason_1=x\nsite=ok\n\n", 1, -1 },
		{ "status_0=4\ndsn_0=4.4.1\nreason_0=x\nsite=ok\nsite=ok\n\n",
		  1, -1 },
		{ "status_0=4\ndsn_0=4.4.1\nreason_0=x\nstatus_1=0\n"
		  "dsn_1=2.0.0\nreason_1=\nsite=ok\n\n", 2, 0 },
		{ "status_0=4\ndsn_0=4.4.1\nreason_0=x\nstatus_0=0\n"
		  "dsn_1=2.0.0\nreason_1=\nsite=ok\n\n", 2, -1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		UNIT_CHECK(try_answer(cases[i].text, cases[i].count, &dead) ==
			   cases[i].want);
}

#define A5 "status_0=5\ndsn_0=5.1.1\nreason_0=x\nsite=ok\n"
#define A0 "status_0=0\ndsn_0=2.0.0\nreason_0=x\nsite=ok\n"

/* The optional DSN attributes: round trip, and each one's checks. */
static void test_answer_extra(void)
{
	struct deliver_answer ans[2] = {
		{ DELIVER_PERMFAIL, "5.1.1", "host h said: 550 no",
		  "mx.example", "550-5.1.1 no 550 5.1.1 such user",
		  "RCPT TO", false },
		{ DELIVER_OK, "2.0.0", "250 ok", "mx.example", NULL, NULL,
		  true },
	}, back[2];
	struct ipc_msg msg;
	struct buf b;
	bool dead = false;

	answer_round_trip(ans, false, back, &dead, &msg, &b);
	UNIT_STREQ(back[0].remote_mta, "mx.example");
	UNIT_STREQ(back[0].diag, ans[0].diag);
	UNIT_STREQ(back[0].in_reply_to, "RCPT TO");
	UNIT_CHECK(!back[0].dsn_passed && back[1].dsn_passed);
	UNIT_CHECK(back[1].diag == NULL && back[1].in_reply_to == NULL);
	ipc_msg_clear(&msg);
	buf_deinit(&b);

	char longer[1200];
	static const struct {
		const char *text;
		int want;
	} cases[] = {
		{ A5 "mta_0=mx.example\ndiag_0=550 no\ncmd_0=RCPT TO\n\n", 0 },
		{ A0 "pass_0=1\n\n", 0 },
		{ A5 "pass_0=1\n\n", -1 },		/* pass only with 0 */
		{ A0 "pass_0=yes\n\n", -1 },
		{ A5 "mta_0=mx example\n\n", -1 },	/* a space */
		{ A5 "mta_0=\n\n", -1 },
		{ A5 "diag_0=\n\n", -1 },
		{ A5 "cmd_0=\n\n", -1 },
		{ A5 "cmd_0=RCPT\tTO\n\n", -1 },
		{ A5 "mta_1=mx\n\n", -1 },		/* no recipient 1 */
		{ A5 "mta_0=a\nmta_0=b\n\n", -1 },
		{ A5 "mta_0=a\ndiag_0=b\ncmd_0=c\npass_0=1\nx_0=1\n\n", -1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		UNIT_CHECK(try_answer(cases[i].text, 1, &dead) ==
			   cases[i].want);
	/* diag bounded by DELIVER_DIAG_MAX */
	int n = snprintf(longer, sizeof(longer), A5 "diag_0=");
	memset(longer + n, 'd', DELIVER_DIAG_MAX + 1);
	memcpy(longer + n + DELIVER_DIAG_MAX + 1, "\n\n", 3);
	UNIT_CHECK(try_answer(longer, 1, &dead) == -1);
	longer[n + DELIVER_DIAG_MAX] = '\n';
	longer[n + DELIVER_DIAG_MAX + 1] = '\n';
	longer[n + DELIVER_DIAG_MAX + 2] = '\0';
	UNIT_CHECK(try_answer(longer, 1, &dead) == 0);
}

/* trace: absent in an ordinary request (the text is what it always
 * was), "1" when set, anything else or a repeat refused. */
static void test_request_trace(void)
{
	struct deliver_rcpt rcpts[1] = { { "a@example.test", "", "" } };
	struct deliver_request2 req = {
		.queue_id = QID, .queue_file = "active/" QID, .size = 9,
		.sender = "s@x.test", .ret = "", .envid = "",
		.nexthop = "example.test", .rcpts = rcpts, .rcpt_count = 1,
	}, back;
	struct ipc_msg msg;
	struct buf b;
	const char *error;

	buf_init(&b, 1 << 16);
	UNIT_CHECK(deliver_request2_encode(&b, &req) == 0);
	UNIT_CHECK(strstr(buf_cstr(&b), "trace") == NULL);
	UNIT_CHECK(feed(b.data, b.len, false, &msg) == 1);
	UNIT_CHECK(deliver_request2_decode(&msg, &back, &error) == 0);
	UNIT_CHECK(!back.trace);
	deliver_request2_deinit(&back);
	ipc_msg_clear(&msg);
	buf_reset(&b);
	req.trace = true;
	UNIT_CHECK(deliver_request2_encode(&b, &req) == 0);
	UNIT_CHECK(strstr(buf_cstr(&b), "\ntrace=1\n") != NULL);
	for (int bytewise = 0; bytewise <= 1; bytewise++) {
		UNIT_CHECK(feed(b.data, b.len, bytewise, &msg) == 1);
		UNIT_CHECK(deliver_request2_decode(&msg, &back, &error) == 0);
		UNIT_CHECK(back.trace && back.rcpt_count == 1);
		deliver_request2_deinit(&back);
		ipc_msg_clear(&msg);
	}
	buf_deinit(&b);
	UNIT_CHECK(try_request(NULL, NULL, "trace", "1") == 0);
	UNIT_CHECK(try_request(NULL, NULL, "trace", "0") == -1);
	UNIT_CHECK(try_request(NULL, NULL, "trace", "") == -1);
	UNIT_CHECK(try_request(NULL, NULL, "trace", "yes") == -1);
	/* Trace in place of a required attribute does not stand in for it. */
	UNIT_CHECK(try_request("sign", NULL, "trace", "1") == -1);
}

/* Version 1: the same rules, and a version 1 decoder of an older agent
 * would see one attribute too many: the count decides. */
static void test_request1_trace(void)
{
	struct deliver_request req = {
		.queue_id = QID, .queue_file = "active/" QID, .size = 9,
		.sender = "s@x.test", .recipient = "u@example.test",
		.orig_recipient = "", .trace = true,
	}, back;
	struct ipc_msg msg;
	struct buf b;
	const char *error;

	buf_init(&b, 1 << 16);
	UNIT_CHECK(deliver_request_encode(&b, &req) == 0);
	UNIT_CHECK(strstr(buf_cstr(&b), "\ntrace=1\n") != NULL);
	UNIT_CHECK(feed(b.data, b.len, true, &msg) == 1);
	UNIT_CHECK(deliver_request_decode(&msg, &back, &error) == 0);
	UNIT_CHECK(back.trace);
	UNIT_STREQ(back.recipient, "u@example.test");
	ipc_msg_clear(&msg);
	req.trace = false;
	buf_reset(&b);
	UNIT_CHECK(deliver_request_encode(&b, &req) == 0);
	UNIT_CHECK(strstr(buf_cstr(&b), "trace") == NULL);
	UNIT_CHECK(feed(b.data, b.len, false, &msg) == 1);
	UNIT_CHECK(deliver_request_decode(&msg, &back, &error) == 0);
	UNIT_CHECK(!back.trace);
	ipc_msg_clear(&msg);
	/* trace=0, and another tenth attribute in its place: refused. */
	const char *bad[] = { "trace=0\n\n", "extra=1\n\n", "trace=\n\n" };
	for (size_t i = 0; i < 3; i++) {
		b.len--;	/* the final empty line */
		size_t keep = b.len;
		UNIT_CHECK(buf_printf(&b, "%s", bad[i]) == 0);
		UNIT_CHECK(feed(b.data, b.len, false, &msg) == 1);
		UNIT_CHECK(deliver_request_decode(&msg, &back, &error) == -1);
		ipc_msg_clear(&msg);
		b.len = keep;
		UNIT_CHECK(buf_append_char(&b, '\n') == 0);
	}
	buf_deinit(&b);
}

static void test_hello2(void)
{
	struct ipc_msg msg;
	struct buf b;
	const char *error;

	buf_init(&b, 256);
	UNIT_CHECK(deliver_hello2_encode(&b) == 0);
	UNIT_STREQ(buf_cstr(&b), "protocol=deliver\nversion=2\n\n");
	UNIT_CHECK(feed(b.data, b.len, true, &msg) == 1);
	UNIT_CHECK(deliver_hello2_decode(&msg, &error) == 0);
	/* A version 1 peer must not take a version 2 agent, and back. */
	UNIT_CHECK(deliver_hello_decode(&msg, &error) == -1);
	ipc_msg_clear(&msg);
	buf_reset(&b);
	UNIT_CHECK(deliver_hello_encode(&b) == 0);
	UNIT_CHECK(feed(b.data, b.len, false, &msg) == 1);
	UNIT_CHECK(deliver_hello2_decode(&msg, &error) == -1);
	ipc_msg_clear(&msg);
	buf_deinit(&b);
}

int main(void)
{
	test_request_roundtrip();
	test_request_bad();
	test_request_limit();
	test_request_trace();
	test_request1_trace();
	test_answer();
	test_answer_extra();
	test_hello2();
	return unit_done();
}
