// fuzz-sources: lib/content_check.c lib/content_check_action.c lib/maps.c lib/maps_texthash.c lib/maps_inline.c lib/maps_hash.c lib/maps_pcre.c lib/maps_cidr.c lib/maps_rules.c lib/mime_header.c lib/mime_param.c lib/mime_struct.c lib/crlf.c
/* fuzz_content_check: the header_checks/body_checks engine over any
 * content. The first 4 octets pick the limits (header_max, line_max,
 * body size limit, depth) and the chunk size; the rest is the message.
 * Two passes: with editing tables anything may come out, but nothing
 * crashes or leaks; with look-only tables (WARN, HOLD, INFO) the output
 * must be the input, octet for octet. */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "buf.h"
#include "content_check.h"
#include "log.h"
#include "maps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char edit_header[] =
	"/^Subject:(.*r)/ REJECT $1\n/^X-I/ IGNORE\n/^X-R: (.*)/ REPLACE X: $1\n"
	"/^X-P/ PREPEND X-New: y\n/^X-S/ STRIP\n/^X-D/ DISCARD\n"
	"/^Content-Type: (.*)/ PREPEND X-CT: $1\n/^F/ FILTER x:y\n"
	"/^B/ BOGUS\n/^P/ PREPEND bad\n/^(a+)+$/ WARN\n";
static const char edit_body[] =
	"/^-/ WARN dash\n/^i/ IGNORE\n/^r(.*)/ REPLACE $1$1\n/^p/ PREPEND p:\n"
	"/^x/ PASS\n/^d/ DISCARD\n/^(q.*)/ REJECT 4.1.1 $1\n";
static const char look[] = "/^h/ HOLD\n/^i/ INFO\n/^(.*)/ WARN $1\n";

static struct maps *edit[CONTENT_CHECK_CLASS_COUNT];
static struct maps *look_only;

static struct maps *table(const char *name, const char *text)
{
	char path[128], spec[140];
	struct maps *m;
	const char *error;

	snprintf(path, sizeof(path), "/tmp/fuzz_content_check.%d.%s",
		 (int)getpid(), name);
	FILE *f = fopen(path, "w");
	ASSERT(f != NULL && fputs(text, f) >= 0 && fclose(f) == 0);
	snprintf(spec, sizeof(spec), "pcre:%s", path);
	if (maps_open(spec, 0, &m, &error) < 0)
		fprintf(stderr, "%s\n", error), abort();
	return m;
}

static int out_fn(void *ctx, const char *data, size_t len)
{
	return buf_append(ctx, data, len) < 0 ? -1 : 0;
}

static void event_fn(void *ctx, const struct content_check_event *ev)
{
	(void)ctx;
	ASSERT(ev->line != NULL && ev->text != NULL && ev->map != NULL);
}

static void run(const struct content_check_config *cfg, const uint8_t *in,
		size_t len, size_t step, struct buf *out)
{
	struct content_check *cc = content_check_new(cfg, out_fn, event_fn,
						     out);
	int ret = 0;

	for (size_t i = 0; i < len && ret == 0; i += step)
		ret = content_check_feed(cc, (const char *)in + i,
					 len - i < step ? len - i : step);
	if (ret == 0)
		ret = content_check_finish(cc);
	ASSERT(ret == 0);
	const struct content_check_verdict *v = content_check_verdict(cc);
	ASSERT(v->final != CONTENT_CHECK_REJECT || v->reply[0] != '\0');
	content_check_free(&cc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (look_only == NULL) {
		edit[CONTENT_CHECK_HEADER] = table("h", edit_header);
		edit[CONTENT_CHECK_MIME_HEADER] = edit[CONTENT_CHECK_HEADER];
		edit[CONTENT_CHECK_NESTED_HEADER] = edit[CONTENT_CHECK_HEADER];
		edit[CONTENT_CHECK_BODY] = table("b", edit_body);
		look_only = table("l", look);
	}
	if (size < 4)
		return 0;
	struct content_check_config cfg = {
		.header_max = 1 + data[0] % 64,
		.line_max = 1 + data[1] % 32,
		.body_size_max = data[2] * 4u,
		.depth_max = 1 + data[3] % 4,
	};
	size_t step = 1 + (data[3] >> 2) % 17;
	struct buf a, b;

	data += 4;
	size -= 4;
	buf_init(&a, 16 * size + 4096);
	buf_init(&b, 16 * size + 4096);
	memcpy(cfg.maps, edit, sizeof(cfg.maps));
	run(&cfg, data, size, step, &a);
	for (int i = 0; i < CONTENT_CHECK_CLASS_COUNT; i++)
		cfg.maps[i] = look_only;
	buf_reset(&a);
	run(&cfg, data, size, step, &a);
	run(&cfg, data, size, size + 1, &b);
	ASSERT(a.len == size && memcmp(a.data, data, size) == 0);
	ASSERT(b.len == size && memcmp(b.data, data, size) == 0);
	buf_deinit(&a);
	buf_deinit(&b);
	return 0;
}
