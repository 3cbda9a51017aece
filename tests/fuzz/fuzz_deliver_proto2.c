// fuzz-sources: lib/ipc.c lib/deliver_proto.c lib/deliver_proto2.c lib/queue_id.c lib/transport.c lib/addr.c
/* libFuzzer target for the version 2 deliver_proto decoders (request with
 * many recipients, answer, hello) on what the ipc reader yields. A
 * request that decodes must encode again and decode to the same. */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "deliver_proto.h"
#include "ipc.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_request(const struct ipc_msg *msg)
{
	struct deliver_request2 req, back;
	struct ipc_reader *r;
	struct ipc_msg msg2;
	struct buf b;
	const char *error;
	size_t used;

	if (deliver_request2_decode(msg, &req, &error) < 0) {
		deliver_request2_deinit(&req);
		return;
	}
	buf_init(&b, 1 << 22);
	ASSERT(deliver_request2_encode(&b, &req) == 0);
	r = ipc_reader_new(1 << 16, DELIVER_REQUEST2_ATTRS_MAX);
	ASSERT(ipc_reader_feed(r, b.data, b.len, &used, &msg2, &error) == 1);
	ASSERT(used == b.len);
	ASSERT(deliver_request2_decode(&msg2, &back, &error) == 0);
	ASSERT(back.rcpt_count == req.rcpt_count && back.size == req.size &&
	       back.trace == req.trace);
	for (size_t i = 0; i < req.rcpt_count; i++)
		ASSERT(strcmp(back.rcpts[i].address, req.rcpts[i].address) ==
		       0 && strcmp(back.rcpts[i].notify,
				   req.rcpts[i].notify) == 0);
	deliver_request2_deinit(&back);
	deliver_request2_deinit(&req);
	ipc_msg_clear(&msg2);
	ipc_reader_free(&r);
	buf_deinit(&b);
}

/* What decodes is within the bounds the header promises. */
static void check_answer(const struct deliver_answer *a)
{
	ASSERT(a->dsn[0] == (a->status == DELIVER_OK ? '2'
						      : '0' + (int)a->status));
	ASSERT(a->remote_mta == NULL ||
	       (a->remote_mta[0] != '\0' &&
		strlen(a->remote_mta) <= DELIVER_MTA_MAX &&
		strchr(a->remote_mta, ' ') == NULL));
	ASSERT(a->diag == NULL ||
	       (a->diag[0] != '\0' && strlen(a->diag) <= DELIVER_DIAG_MAX));
	ASSERT(a->in_reply_to == NULL ||
	       (a->in_reply_to[0] != '\0' &&
		strlen(a->in_reply_to) <= DELIVER_CMD_MAX));
	ASSERT(!a->dsn_passed || a->status == DELIVER_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct deliver_answer ans[8];
	struct ipc_reader *r;
	struct ipc_msg msg;
	const char *error;
	size_t used, off = 0;
	bool dead;

	r = ipc_reader_new(1024, 64);
	while (off < size) {
		int ret = ipc_reader_feed(r, (const char *)data + off,
					  size - off, &used, &msg, &error);
		if (ret <= 0)
			break;
		off += used;
		check_request(&msg);
		(void)deliver_hello2_decode(&msg, &error);
		for (size_t n = 1; n <= 8; n++)
			if (deliver_answer2_decode(&msg, n, ans, &dead,
						   &error) == 0)
				for (size_t i = 0; i < n; i++)
					check_answer(&ans[i]);
		ipc_msg_clear(&msg);
	}
	ipc_reader_free(&r);
	return 0;
}
