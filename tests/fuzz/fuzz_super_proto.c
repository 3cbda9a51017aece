// fuzz-sources: lib/super_proto.c lib/queue_id.c
/* libFuzzer target for lib/super_proto: any octets as a request line and
 * as a reply line. A parsed request formats back to a line that parses
 * to the same request; a formatted reply is one line that parses back. */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "log.h"
#include "super_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_request(const char *s, size_t size)
{
	struct super_request req, again;
	char out[SUPER_LINE_MAX];
	const char *error;

	if (super_proto_parse_request(s, size, &req, &error) < 0)
		return;
	size_t len = super_proto_format_request(&req, out);
	ASSERT(len > 0 && len < SUPER_LINE_MAX && out[len - 1] == '\n');
	ASSERT(len - 1 == size && memcmp(out, s, size) == 0);
	ASSERT(super_proto_parse_request(out, len - 1, &again, &error) == 0);
	ASSERT(again.op == req.op && again.all == req.all &&
	       strcmp(again.id, req.id) == 0 &&
	       strcmp(again.site, req.site) == 0);
	ASSERT(req.all || strchr(req.id, '/') == NULL);
	/* a site never names a path */
	ASSERT(strchr(req.site, '/') == NULL && strstr(req.site, "..") == NULL);
	ASSERT(req.op != SUPER_FLUSH_SITE || super_proto_site_valid(req.site));
}

static void check_reply(const char *s, size_t size)
{
	struct super_reply rep, again;
	char out[SUPER_LINE_MAX];
	const char *error;

	if (super_proto_parse_reply(s, size, &rep, &error) < 0)
		return;
	size_t len = super_proto_format_reply(&rep, out);
	ASSERT(len > 0 && len < SUPER_LINE_MAX && out[len - 1] == '\n');
	ASSERT(memchr(out, '\n', len - 1) == NULL);
	ASSERT(super_proto_parse_reply(out, len - 1, &again, &error) == 0);
	ASSERT(again.status == rep.status && again.count == rep.count);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_request((const char *)data, size);
	check_reply((const char *)data, size);
	return 0;
}
