#include "config.h"
/* test_anvil_proto: anvil's request and reply lines: round trips, the
 * %XX escapes, every field at its limit and one past it, and lines that
 * must be refused. */
#include <string.h>
#include "anvil_proto.h"
#include "unit.h"

static int parse_str(const char *line, struct anvil_request *req)
{
	const char *error;

	return anvil_proto_request_parse(line, strlen(line), req, &error);
}

static int reply_str(const char *line, struct anvil_reply *r)
{
	const char *error;

	return anvil_proto_reply_parse(line, strlen(line), r, &error);
}

/* Encodes, checks the line, parses it back. */
static void round_trip(enum anvil_event ev, const char *service,
		       const char *ident, const char *want_line)
{
	struct buf b;
	struct anvil_request req;
	const char *error;

	buf_init(&b, ANVIL_LINE_MAX);
	UNIT_CHECK(anvil_proto_request_encode(&b, ev, service, ident,
					      &error) == 0);
	if (want_line != NULL)
		UNIT_STREQ(buf_cstr(&b), want_line);
	UNIT_CHECK(b.len > 0 && b.len <= ANVIL_LINE_MAX &&
		   b.data[b.len - 1] == '\n');
	UNIT_CHECK(anvil_proto_request_parse(b.data, b.len - 1, &req,
					     &error) == 0);
	UNIT_CHECK(req.event == ev);
	UNIT_STREQ(req.service, service);
	UNIT_STREQ(req.ident, ident);
	UNIT_CHECK(req.ident_len == strlen(ident));
	buf_deinit(&b);
}

static void test_requests(void)
{
	char longest[ANVIL_IDENT_MAX + 1];

	round_trip(ANVIL_CONNECT, "smtp", "192.0.2.1",
		   "connect smtp 192.0.2.1\n");
	round_trip(ANVIL_DISCONNECT, "[::1]:2525", "2001:db8::1",
		   "disconnect [::1]:2525 2001:db8::1\n");
	round_trip(ANVIL_USER_MESSAGE, "submission", "al ice%\x01\xc3\xa9",
		   "user-message submission al%20ice%25%01%C3%A9\n");
	for (int ev = 0; ev < ANVIL_EVENT_COUNT; ev++)
		round_trip((enum anvil_event)ev, "s", "x", NULL);
	/* the longest name, every octet escaped: the longest line */
	memset(longest, 0xff, ANVIL_IDENT_MAX);
	longest[ANVIL_IDENT_MAX] = '\0';
	round_trip(ANVIL_USER_MESSAGE,
		   "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss",
		   longest, NULL);
}

static void test_encode_limits(void)
{
	char name[ANVIL_IDENT_MAX + 2];
	char svc[ANVIL_SERVICE_MAX + 2];
	struct buf b;
	const char *error;

	buf_init(&b, ANVIL_LINE_MAX);
	memset(name, 'a', sizeof(name));
	name[ANVIL_IDENT_MAX] = '\0';
	UNIT_CHECK(anvil_proto_request_encode(&b, ANVIL_AUTH, "smtp", name,
					      &error) == 0);
	name[ANVIL_IDENT_MAX] = 'a';
	name[ANVIL_IDENT_MAX + 1] = '\0';
	buf_reset(&b);
	UNIT_CHECK(anvil_proto_request_encode(&b, ANVIL_AUTH, "smtp", name,
					      &error) < 0);
	UNIT_CHECK(anvil_proto_request_encode(&b, ANVIL_AUTH, "smtp", "",
					      &error) < 0);
	memset(svc, 'b', sizeof(svc));
	svc[ANVIL_SERVICE_MAX] = '\0';
	buf_reset(&b);
	UNIT_CHECK(anvil_proto_request_encode(&b, ANVIL_AUTH, svc, "x",
					      &error) == 0);
	svc[ANVIL_SERVICE_MAX] = 'b';
	svc[ANVIL_SERVICE_MAX + 1] = '\0';
	UNIT_CHECK(anvil_proto_request_encode(&b, ANVIL_AUTH, svc, "x",
					      &error) < 0);
	UNIT_CHECK(anvil_proto_request_encode(&b, ANVIL_AUTH, "sm tp", "x",
					      &error) < 0);
	UNIT_CHECK(anvil_proto_request_encode(&b, ANVIL_AUTH, "", "x",
					      &error) < 0);
	UNIT_CHECK(anvil_proto_request_encode(&b, ANVIL_EVENT_COUNT, "s",
					      "x", &error) < 0);
	UNIT_CHECK(anvil_proto_event_name(ANVIL_EVENT_COUNT) == NULL);
	buf_deinit(&b);
	/* a full buffer is an error, not a cut line */
	buf_init(&b, 10);
	UNIT_CHECK(anvil_proto_request_encode(&b, ANVIL_AUTH, "smtp",
					      "192.0.2.1", &error) < 0);
	buf_deinit(&b);
}

static void test_bad_requests(void)
{
	static const char *const bad[] = {
		"", "connect", "connect smtp", "connect smtp ",
		"connect  smtp 1.2.3.4", "Connect smtp 1.2.3.4",
		"connectx smtp 1.2.3.4", "connect smtp 1.2.3.4 x",
		"connect sm/tp 1.2.3.4", "connect smtp 1.2.3.4\r",
		"connect smtp a%", "connect smtp a%4", "connect smtp a%4g",
		"connect smtp a%4a", "connect smtp a%00b", "connect smtp \x7f",
		"connect smtp \x80", "connect smtp a\tb",
	};
	struct anvil_request req;
	char line[ANVIL_LINE_MAX + 8];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = parse_str(bad[i], &req);
		UNIT_CHECK(ret < 0);
		if (ret == 0)
			fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
	}
	/* an embedded NUL is refused too */
	UNIT_CHECK(anvil_proto_request_parse("auth s a\0b", 10, &req,
					     &(const char *){ NULL }) < 0);
	/* name of 255 octets, then 256 (escaped and plain) */
	memcpy(line, "auth s ", 7);
	memset(line + 7, 'x', ANVIL_IDENT_MAX);
	line[7 + ANVIL_IDENT_MAX] = '\0';
	UNIT_CHECK(parse_str(line, &req) == 0 &&
		   req.ident_len == ANVIL_IDENT_MAX);
	line[7 + ANVIL_IDENT_MAX] = 'x';
	line[8 + ANVIL_IDENT_MAX] = '\0';
	UNIT_CHECK(parse_str(line, &req) < 0);
	memcpy(line + 7 + ANVIL_IDENT_MAX - 1, "%41", 4);
	UNIT_CHECK(parse_str(line, &req) == 0 &&
		   req.ident[ANVIL_IDENT_MAX - 1] == 'A');
	memcpy(line + 7 + ANVIL_IDENT_MAX, "%41", 4);
	UNIT_CHECK(parse_str(line, &req) < 0);
}

static void test_replies(void)
{
	struct anvil_reply r = { .ok = true, .count = 7, .rate = 4294967295u };
	struct anvil_reply p;
	struct buf b;
	const char *error;

	buf_init(&b, ANVIL_LINE_MAX);
	UNIT_CHECK(anvil_proto_reply_encode(&b, &r) == 0);
	UNIT_STREQ(buf_cstr(&b), "ok 7 4294967295\n");
	UNIT_CHECK(anvil_proto_reply_parse(b.data, b.len - 1, &p,
					   &error) == 0);
	UNIT_CHECK(p.ok && p.count == 7 && p.rate == 4294967295u);
	buf_reset(&b);
	r.ok = false;
	memcpy(r.error, "table\nfull", 11);
	UNIT_CHECK(anvil_proto_reply_encode(&b, &r) == 0);
	UNIT_STREQ(buf_cstr(&b), "error table?full\n");
	UNIT_CHECK(anvil_proto_reply_parse(b.data, b.len - 1, &p,
					   &error) == 0);
	UNIT_CHECK(!p.ok);
	UNIT_STREQ(p.error, "table?full");
	buf_deinit(&b);

	UNIT_CHECK(reply_str("ok 0 0", &p) == 0 && p.ok && p.count == 0);
	static const char *const bad[] = {
		"", "ok", "ok ", "ok 1", "ok 1 ", "ok 1 2 ", "ok  1 2",
		"ok 1 4294967296", "ok 1 00000000001", "ok -1 2", "ok 1 2x",
		"OK 1 2", "error", "error ", "error \x01", "okay 1 2",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		UNIT_CHECK(reply_str(bad[i], &p) < 0);
	char line[ANVIL_ERROR_MAX + 8];
	memcpy(line, "error ", 6);
	memset(line + 6, 'e', ANVIL_ERROR_MAX);
	line[6 + ANVIL_ERROR_MAX] = '\0';
	UNIT_CHECK(reply_str(line, &p) == 0);
	line[6 + ANVIL_ERROR_MAX] = 'e';
	line[7 + ANVIL_ERROR_MAX] = '\0';
	UNIT_CHECK(reply_str(line, &p) < 0);
}

int main(void)
{
	test_requests();
	test_encode_limits();
	test_bad_requests();
	test_replies();
	return unit_done();
}
