// fuzz-sources: lib/queue_file.c lib/queue_status.c lib/queue_id.c lib/json_out.c lib/queue_list.c lib/queue_summary.c lib/addr.c
/* libFuzzer target for the queue listings (queue_list.h) and JSON strings
 * (json_out.h): the input is a queue file image; when it parses, its mailq
 * entry, JSON object and summary are made for every queue. Whatever the
 * input: the JSON is valid UTF-8 with no raw control character, the mailq
 * text has no control character but LF, and the raw input as a JSON
 * string is valid UTF-8 between quotes. */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "json_out.h"
#include "log.h"
#include "queue_file.h"
#include "queue_list.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_json(const struct buf *b)
{
	ASSERT(utf8_valid(b->data, b->len));
	for (size_t i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->data[i];
		ASSERT(c >= 0x20 || (c == '\n' && i + 1 == b->len));
		ASSERT(c != 0x7f);
	}
}

static void check_mailq(const struct buf *b)
{
	for (size_t i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->data[i];
		ASSERT((c >= 0x20 && c != 0x7f) || c == '\n');
	}
}

static void list_all(const struct queue_envelope *env, uint64_t size)
{
	struct queue_summary *s = queue_summary_new();
	struct buf b;

	buf_init(&b, 64 * 1024 * 1024);
	for (int q = 0; q < QUEUE_LIST_COUNT; q++) {
		struct queue_list_entry e = { .queue = (enum queue_list_queue)q,
					      .id = "0123456789ABCDEF0",
					      .size = size, .env = env };
		buf_reset(&b);
		ASSERT(queue_list_mailq(&b, &e) == 0);
		check_mailq(&b);
		buf_reset(&b);
		ASSERT(queue_list_json(&b, &e) == 0);
		check_json(&b);
		queue_summary_add(s, (enum queue_list_queue)q, env->arrival_us,
				  env);
	}
	buf_reset(&b);
	ASSERT(queue_summary_format(s, env->arrival_us, &b) == 0);
	buf_deinit(&b);
	queue_summary_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct queue_envelope env;
	off_t off;
	uint64_t content_size;
	const char *error;
	struct buf b;

	buf_init(&b, 16 * size + 16);
	ASSERT(json_out_string(&b, (const char *)data, size) == 0);
	ASSERT(b.len >= 2 && b.data[0] == '"' && b.data[b.len - 1] == '"');
	check_json(&b);
	buf_deinit(&b);
	if (queue_file_parse((const char *)data, size, &env, &off,
			     &content_size, &error) < 0)
		return 0;
	list_all(&env, content_size);
	queue_envelope_free(&env);
	return 0;
}
