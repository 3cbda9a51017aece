// fuzz-sources: lib/http_request.c
/* libFuzzer target for lib/http_request: any octets as what a scraper
 * sent so far. The parser must answer the same for the same octets, never
 * read past them, and whatever it accepts must have a path that starts
 * with '/' and holds no control character or '?'. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "http_request.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy, so ASan sees any read past the end. */
	char *copy = malloc(size > 0 ? size : 1);
	struct http_request req, again;
	int status = 0, status2 = 0;

	memcpy(copy, data, size);
	int ret = http_request_parse(copy, size, &req, &status);
	ASSERT(ret >= -1 && ret <= 1);
	if (ret == 0)
		ASSERT(size < HTTP_HEAD_MAX);
	if (ret < 0)
		ASSERT(status == 400 || status == 414 || status == 431 ||
		       status == 505);
	if (ret == 1) {
		ASSERT(req.path[0] == '/');
		for (const char *p = req.path; *p != '\0'; p++)
			ASSERT((unsigned char)*p > ' ' && *p != 0x7f &&
			       *p != '?');
		ASSERT(req.method[0] != '\0');
		ASSERT(req.head_only == (strcmp(req.method, "HEAD") == 0));
		/* The same octets, the same answer. */
		ASSERT(http_request_parse(copy, size, &again, &status2) == 1);
		ASSERT(strcmp(again.path, req.path) == 0 &&
		       again.openmetrics == req.openmetrics);
	}
	free(copy);
	return 0;
}
