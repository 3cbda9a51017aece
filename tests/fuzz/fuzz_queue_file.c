// fuzz-sources: lib/queue_file.c lib/queue_status.c lib/queue_id.c
/* libFuzzer target for the queue file reader (queue_file_parse): the
 * input is a whole file image; what parses must be self-consistent.
 * Build by hand (from the top of the tree, with a configured build dir for config.h):
 *   clang -g -fsanitize=fuzzer,address,undefined -I lib -I BUILD \
 *     -include config.h tests/fuzz/fuzz_queue_file.c lib/queue_file.c \
 *     lib/queue_id.c lib/mem.c lib/buf.c lib/str.c lib/log.c lib/fsutil.c \
 *     lib/timeutil.c -o fuzz_queue_file
 *   ./fuzz_queue_file tests/fuzz/corpus/queue_file */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "queue_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct queue_envelope env;
	off_t off;
	uint64_t content_size;
	const char *error;

	if (queue_file_parse((const char *)data, size, &env, &off,
			     &content_size, &error) < 0) {
		ASSERT(error != NULL && env.rcpts == NULL);
		return 0;
	}
	ASSERT(env.rcpt_count >= 1 && env.rcpt_count <= QUEUE_RCPT_MAX);
	ASSERT(env.attr_count <= QUEUE_ATTR_MAX);
	/* the late attributes (A lines) between the content and "E\n" */
	uint64_t end = (uint64_t)off + content_size;
	while (end + 2 <= size && memcmp(data + end, "A\t", 2) == 0) {
		const uint8_t *nl = memchr(data + end, '\n', size - end);
		ASSERT(nl != NULL && nl - (data + end) < QUEUE_LINE_MAX);
		end = (uint64_t)(nl - data) + 1;
	}
	end += 2;
	ASSERT(end <= size && memcmp(data + end - 2, "E\n", 2) == 0);
	/* the status records end at an LF; only a torn one follows */
	ASSERT((uint64_t)env.status_end >= end &&
	       (uint64_t)env.status_end <= size);
	ASSERT(env.status_end == (off_t)end ||
	       data[env.status_end - 1] == '\n');
	ASSERT(memchr(data + env.status_end, '\n',
		      size - (size_t)env.status_end) == NULL);
	ASSERT(env.status_count <= QUEUE_STATUS_MAX);
	(void)strlen(env.sender);
	for (size_t i = 0; i < env.attr_count; i++)
		for (size_t j = i + 1; j < env.attr_count; j++)
			ASSERT(strcmp(env.attrs[i].name, env.attrs[j].name));
	for (size_t i = 0; i < env.rcpt_count; i++) {
		const struct queue_rcpt *r = &env.rcpts[i];
		ASSERT(r->address[0] != '\0' && strchr(r->address, '\t') == NULL);
		ASSERT(r->status_offset > 0 && (size_t)r->status_offset < size);
		ASSERT(data[r->status_offset] == (r->done ? 'D' : 'P'));
		ASSERT(r->failed == NULL || r->failed->status[0] == '4' ||
		       r->failed->status[0] == '5');
		ASSERT(r->delayed == NULL || r->delayed->status[0] == '4');
		ASSERT(r->success == NULL || r->success->status[0] == '2');
	}
	queue_envelope_free(&env);
	return 0;
}
