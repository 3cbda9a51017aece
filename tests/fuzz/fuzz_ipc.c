// fuzz-sources: lib/ipc.c lib/deliver_proto.c lib/queue_id.c
/* libFuzzer target for the ipc reader (fed in pieces whose sizes come
 * from the input) and the deliver_proto decoders (hello, request, answer)
 * on what it yields.
 * Build by hand (from the top of the tree, with a configured build dir for config.h):
 *   clang -g -fsanitize=fuzzer,address,undefined -I lib -I BUILD \
 *     -include config.h tests/fuzz/fuzz_ipc.c lib/ipc.c lib/deliver_proto.c \
 *     lib/queue_id.c lib/mem.c lib/buf.c lib/str.c lib/log.c lib/fsutil.c \
 *     lib/timeutil.c -o fuzz_ipc
 *   ./fuzz_ipc tests/fuzz/corpus/ipc */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "deliver_proto.h"
#include "ipc.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A decoded request must encode again and decode to the same. */
static void check_request(const struct ipc_msg *msg)
{
	struct deliver_request req, back;
	struct ipc_reader *r;
	struct ipc_msg msg2;
	struct buf b;
	const char *error;
	size_t used;

	if (deliver_request_decode(msg, &req, &error) < 0)
		return;
	buf_init(&b, 1 << 20);
	ASSERT(deliver_request_encode(&b, &req) == 0);
	r = ipc_reader_new(1 << 16, 16);
	ASSERT(ipc_reader_feed(r, b.data, b.len, &used, &msg2, &error) == 1);
	ASSERT(used == b.len);
	ASSERT(deliver_request_decode(&msg2, &back, &error) == 0);
	ASSERT(strcmp(back.recipient, req.recipient) == 0 &&
	       back.offset == req.offset && back.size == req.size &&
	       back.trace == req.trace);
	ipc_msg_clear(&msg2);
	ipc_reader_free(&r);
	buf_deinit(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_reader *r;
	struct ipc_msg msg;
	struct deliver_answer ans;
	const char *error;
	size_t used;
	/* The first byte picks the piece size: byte-at-a-time and more. */
	size_t piece = size > 0 ? (size_t)data[0] % 17 + 1 : 1;

	if (size == 0)
		return 0;
	data++;
	size--;
	r = ipc_reader_new(256, 12);
	for (size_t off = 0; off < size;) {
		size_t n = size - off < piece ? size - off : piece;
		int ret = ipc_reader_feed(r, (const char *)data + off, n,
					  &used, &msg, &error);
		if (ret < 0)
			break;
		ASSERT(used <= n);
		off += used;
		if (ret == 1) {
			ASSERT(msg.count <= 12);
			check_request(&msg);
			(void)deliver_hello_decode(&msg, &error);
			if (deliver_answer_decode(&msg, &ans, &error) == 0)
				ASSERT(ans.status == DELIVER_OK ||
				       ans.status == DELIVER_TEMPFAIL ||
				       ans.status == DELIVER_PERMFAIL);
			ipc_msg_clear(&msg);
		} else {
			ASSERT(used == n);
		}
	}
	ipc_reader_free(&r);
	return 0;
}
