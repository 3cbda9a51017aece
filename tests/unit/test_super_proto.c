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
	UNIT_CHECK(parse_req("purge ALL", &req) < 0);
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

/* issue 7's operations and their targets */
static void test_ops(void)
{
	struct super_request req;
	char out[SUPER_LINE_MAX];

	UNIT_CHECK(parse_req("delete ALL", &req) == 0);
	UNIT_CHECK(req.op == SUPER_DELETE && req.all);
	UNIT_CHECK(parse_req("requeue 6740A3B2F0A1B2C3F1E", &req) == 0);
	UNIT_CHECK(req.op == SUPER_REQUEUE && !req.all);
	UNIT_STREQ(req.id, "6740A3B2F0A1B2C3F1E");
	UNIT_CHECK(parse_req("flush ALL", &req) == 0 && req.op == SUPER_FLUSH);
	UNIT_CHECK(parse_req("flush 6740A3B2F0A1B2C3F1E", &req) == 0);
	UNIT_CHECK(parse_req("repair ALL", &req) == 0 &&
		   req.op == SUPER_REPAIR && req.all);
	UNIT_CHECK(parse_req("repair 6740A3B2F0A1B2C3F1E", &req) < 0);
	UNIT_CHECK(parse_req("delete ../x", &req) < 0);
	UNIT_CHECK(parse_req("requeue 6740A3B2F0A1B2C3F1E6740A3B2F0A1B2C3F1E",
			     &req) < 0);

	UNIT_CHECK(parse_req("flush-site Example.COM", &req) == 0);
	UNIT_CHECK(req.op == SUPER_FLUSH_SITE && !req.all);
	UNIT_STREQ(req.site, "Example.COM");
	super_proto_format_request(&req, out);
	UNIT_STREQ(out, "flush-site Example.COM\n");
	UNIT_CHECK(parse_req("flush-site [192.0.2.1]", &req) == 0);
	UNIT_CHECK(parse_req("flush-site [IPv6:2001:db8::1]", &req) == 0);
	UNIT_CHECK(parse_req("flush-site ALL", &req) == 0 && !req.all);
	UNIT_STREQ(req.site, "ALL");	/* a site named ALL, not all sites */
	static const char *const bad_sites[] = {
		"flush-site ", "flush-site ..", "flush-site a..b",
		"flush-site .a", "flush-site a.", "flush-site a/b",
		"flush-site ../../etc", "flush-site a b", "flush-site []",
		"flush-site [1.2.3.4", "flush-site [1.2.3.4]x",
		"flush-site [IPv6:]", "flush-site [g::1]", "flush-site a@b",
		"flush-site [1..2.3.4]", "flush-site [1.2.3]",
		"flush-site [2001:db8::1]", "flush-site [IPv6:1.2.3.4]",
		"flush-site"
	};
	for (size_t i = 0; i < sizeof(bad_sites) / sizeof(bad_sites[0]); i++)
		UNIT_CHECK(parse_req(bad_sites[i], &req) < 0);
	/* 253 octets is a domain; 254 is not; a 64-octet label is not */
	char line[400];
	strcpy(line, "flush-site ");
	for (size_t i = 0; i < 253; i++)
		line[11 + i] = i % 50 == 49 ? '.' : 'a';
	line[11 + 253] = '\0';
	UNIT_CHECK(parse_req(line, &req) == 0);
	size_t n = super_proto_format_request(&req, out);
	UNIT_CHECK(n == strlen(line) + 1 && memcmp(out, line, n - 1) == 0);
	strcat(line, "a");
	UNIT_CHECK(parse_req(line, &req) < 0);
	memset(line + 11, 'a', 64);
	line[11 + 64] = '\0';
	UNIT_CHECK(parse_req(line, &req) < 0);
	line[11 + 63] = '\0';
	UNIT_CHECK(parse_req(line, &req) == 0);
	UNIT_CHECK(super_proto_site_valid("mx-1.example_2.org"));
	UNIT_CHECK(!super_proto_site_valid(""));
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
	test_ops();
	test_reply();
	return unit_done();
}
