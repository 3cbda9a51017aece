#include "config.h"
#include <string.h>
#include "http_request.h"
#include "unit.h"

static int parse(const char *s, struct http_request *req, int *status)
{
	*status = 0;
	return http_request_parse(s, strlen(s), req, status);
}

static void test_good(void)
{
	struct http_request req;
	int status;

	UNIT_CHECK(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &req,
			 &status) == 1);
	UNIT_STREQ(req.method, "GET");
	UNIT_STREQ(req.path, "/metrics");
	UNIT_CHECK(!req.head_only && !req.openmetrics);
	/* bare LF, a query, HEAD, leading empty lines */
	UNIT_CHECK(parse("\r\n\nHEAD /metrics?name[]=x HTTP/1.0\n\n", &req,
			 &status) == 1);
	UNIT_STREQ(req.path, "/metrics");
	UNIT_CHECK(req.head_only);
	/* Prometheus' own Accept */
	UNIT_CHECK(parse("GET /metrics HTTP/1.1\r\nAccept: application/"
			 "openmetrics-text;version=1.0.0,application/"
			 "openmetrics-text;version=0.0.1;q=0.75,text/plain;"
			 "version=0.0.4;q=0.5,*/*;q=0.1\r\n\r\n", &req,
			 &status) == 1);
	UNIT_CHECK(req.openmetrics);
	UNIT_CHECK(parse("GET /metrics HTTP/1.1\r\naccept: text/plain, "
			 "APPLICATION/OpenMetrics-Text; q=0.5\r\n\r\n", &req,
			 &status) == 1 && req.openmetrics);
	/* refused with q=0, or only a longer type name */
	UNIT_CHECK(parse("GET /metrics HTTP/1.1\r\nAccept: application/"
			 "openmetrics-text;q=0.000\r\n\r\n", &req, &status) ==
		   1 && !req.openmetrics);
	UNIT_CHECK(parse("GET /metrics HTTP/1.1\r\nAccept: application/"
			 "openmetrics-textual\r\n\r\n", &req, &status) == 1 &&
		   !req.openmetrics);
	/* an unknown method parses: the service answers 405 */
	UNIT_CHECK(parse("DELETE / HTTP/1.1\r\n\r\n", &req, &status) == 1);
	UNIT_STREQ(req.method, "DELETE");
}

static void test_incomplete(void)
{
	struct http_request req;
	int status;

	UNIT_CHECK(parse("", &req, &status) == 0);
	UNIT_CHECK(parse("\r\n", &req, &status) == 0);
	UNIT_CHECK(parse("GET /metrics HTTP/1.1\r\n", &req, &status) == 0);
	UNIT_CHECK(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n\r", &req,
			 &status) == 0);
}

static void test_bad(void)
{
	static const struct { const char *in; int status; } t[] = {
		{ "GET\r\n\r\n", 400 },
		{ "GET  /metrics HTTP/1.1\r\n\r\n", 400 },
		{ "GET metrics HTTP/1.1\r\n\r\n", 400 },
		{ "GET http://h/metrics HTTP/1.1\r\n\r\n", 400 },
		{ "GET /metrics HTTP/1.1 \r\n\r\n", 400 },
		{ "GET /metrics HTTP/11\r\n\r\n", 400 },
		{ "GET /metrics\r\n\r\n", 400 },
		{ "GET /met\x01rics HTTP/1.1\r\n\r\n", 400 },
		{ "GET /metrics HTTP/2.0\r\n\r\n", 505 },
		{ "GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n", 400 },
		{ "GET /metrics HTTP/1.1\r\n folded\r\n\r\n", 400 },
		{ "GET /metrics HTTP/1.1\r\nNo-colon\r\n\r\n", 400 },
		{ "GET /metrics HTTP/1.1\r\nX: a\rb\r\n\r\n", 400 },
		{ "G(T /metrics HTTP/1.1\r\n\r\n", 400 },
	};
	struct http_request req;
	int status;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		UNIT_CHECK(parse(t[i].in, &req, &status) == -1);
		UNIT_CHECK(status == t[i].status);
	}
	/* a NUL inside the request line or a header line */
	static const char nul1[] = "\x16\x03\x01\x02\x00\x01\r\n\r\n";
	status = 0;
	UNIT_CHECK(http_request_parse(nul1, sizeof(nul1) - 1, &req, &status)
		   == -1 && status == 400);
	static const char nul[] = "GET /metrics HTTP/1.1\r\nX: a\0b\r\n\r\n";
	UNIT_CHECK(http_request_parse(nul, sizeof(nul) - 1, &req, &status) ==
		   -1 && status == 400);
}

static void test_limits(void)
{
	static char big[HTTP_HEAD_MAX + 100];
	struct http_request req;
	int status;

	/* a target longer than the path buffer */
	memset(big, 0, sizeof(big));
	strcpy(big, "GET /");
	memset(big + 5, 'a', 300);
	strcat(big, " HTTP/1.1\r\n\r\n");
	UNIT_CHECK(parse(big, &req, &status) == -1 && status == 414);
	/* a head that never ends */
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	UNIT_CHECK(http_request_parse(big, HTTP_HEAD_MAX - 1, &req, &status)
		   == 0);
	UNIT_CHECK(http_request_parse(big, sizeof(big), &req, &status) ==
		   -1 && status == 431);
	/* too many header lines */
	struct buf b;
	buf_init(&b, HTTP_HEAD_MAX);
	unit_put(&b, "GET / HTTP/1.1\r\n");
	for (int i = 0; i <= HTTP_HEADERS_MAX; i++)
		unit_put(&b, "X%d: y\r\n", i);
	unit_put(&b, "\r\n");
	UNIT_CHECK(http_request_parse(b.data, b.len, &req, &status) == -1 &&
		   status == 431);
	buf_deinit(&b);
}

int main(void)
{
	test_good();
	test_incomplete();
	test_bad();
	test_limits();
	return unit_done();
}
