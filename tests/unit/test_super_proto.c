#include "config.h"
#include <string.h>
#include "super_proto.h"
#include "unit.h"

static int parse_req(const char *line, struct super_request *req)
{
	const char *error;

	return super_proto_parse_request(line, strlen(line), req, &error);
}

static void test_request(void)
{
	struct super_request req;
	char out[SUPER_LINE_MAX];

	UNIT_CHECK(parse_req("hold 6740A3B2F0A1B2C3F1E", &req) == 0);
	UNIT_CHECK(req.op == SUPER_HOLD && !req.all);
	UNIT_STREQ(req.id, "6740A3B2F0A1B2C3F1E");
	UNIT_CHECK(super_proto_format_request(&req, out) == 25);
	UNIT_STREQ(out, "hold 6740A3B2F0A1B2C3F1E\n");
	UNIT_CHECK(parse_req("release ALL", &req) == 0);
	UNIT_CHECK(req.op == SUPER_RELEASE && req.all);
	super_proto_format_request(&req, out);
	UNIT_STREQ(out, "release ALL\n");

	/* refused: unknown ops, no target, bad ids, ALL only in upper case */
	UNIT_CHECK(parse_req("delete ALL", &req) < 0);
	UNIT_CHECK(parse_req("hold", &req) < 0);
	UNIT_CHECK(parse_req("hold ", &req) < 0);
	UNIT_CHECK(parse_req("hold all", &req) < 0);
	UNIT_CHECK(parse_req("hold ../../etc/passwd", &req) < 0);
	UNIT_CHECK(parse_req("hold 6740A3B2F0A1B2C3/F1E", &req) < 0);
	UNIT_CHECK(parse_req("hold 6740A3B2F0..B2C3F1E", &req) < 0);
	UNIT_CHECK(parse_req("hold 6740a3b2f0a1b2c3f1e", &req) < 0);
	UNIT_CHECK(parse_req("hold 6740A3B2F0A1B2C3F1E6740A3B2F0A1B2C3F1E",
			     &req) < 0);
	UNIT_CHECK(parse_req("hold 6740A3B2F0A1B2C3F1E ", &req) < 0);
	UNIT_CHECK(parse_req("hold  6740A3B2F0A1B2C3F1E", &req) < 0);
	const char nul[] = "hold 6740A3B2F0\0A1B2C3F1E";
	const char *error;
	UNIT_CHECK(super_proto_parse_request(nul, sizeof(nul) - 1, &req,
					     &error) < 0);
	UNIT_CHECK(super_proto_op_name(SUPER_OPS) == NULL);
}

static int parse_rep(const char *line, struct super_reply *rep)
{
	const char *error;

	return super_proto_parse_reply(line, strlen(line), rep, &error);
}

static void test_reply(void)
{
	struct super_reply rep = { .status = SUPER_OK, .count = 42 };
	char out[SUPER_LINE_MAX];

	super_proto_format_reply(&rep, out);
	UNIT_STREQ(out, "ok 42\n");
	UNIT_CHECK(parse_rep("ok 42", &rep) == 0 && rep.status == SUPER_OK &&
		   rep.count == 42);
	UNIT_CHECK(parse_rep("none", &rep) == 0 && rep.status == SUPER_NONE);
	UNIT_CHECK(parse_rep("error qmgr is stopping", &rep) == 0 &&
		   rep.status == SUPER_ERROR);
	UNIT_STREQ(rep.text, "qmgr is stopping");
	UNIT_CHECK(parse_rep("ok", &rep) < 0);
	UNIT_CHECK(parse_rep("ok -1", &rep) < 0);
	UNIT_CHECK(parse_rep("ok 12345678901234567890", &rep) < 0);
	UNIT_CHECK(parse_rep("nonesuch", &rep) < 0);

	/* an error text with control characters and too long for a line */
	struct super_reply err = { .status = SUPER_ERROR };
	memset(err.text, 'x', sizeof(err.text) - 1);
	err.text[0] = '\n';
	size_t n = super_proto_format_reply(&err, out);
	UNIT_CHECK(n == SUPER_LINE_MAX - 1 && out[n - 1] == '\n');
	UNIT_CHECK(memchr(out, '\n', n - 1) == NULL && out[6] == '?');
	UNIT_CHECK(super_proto_parse_reply(out, n - 1, &rep, &(const char *){
		NULL}) == 0 && rep.status == SUPER_ERROR);
}

int main(void)
{
	test_request();
	test_reply();
	return unit_done();
}
