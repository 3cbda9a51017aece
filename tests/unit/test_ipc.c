/* Unit tests of lib/ipc and lib/deliver_proto: encoding, the incremental
 * reader fed whole and one byte at a time, its limits, the exact attribute
 * set checks, the delivery agent's hello and the delivery request/answer
 * round trips. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "buf.h"
#include "deliver_proto.h"
#include "ipc.h"
#include "unit.h"

/* Feeds text to a new reader (whole or byte by byte); returns the
 * reader's last result and the message in msg. */
static int feed(const char *text, size_t len, bool bytewise, size_t max_line,
		size_t max_attrs, struct ipc_msg *msg, const char **error_r)
{
	struct ipc_reader *r = ipc_reader_new(max_line, max_attrs);
	size_t used = 0, off = 0;
	int ret = 0;

	memset(msg, 0, sizeof(*msg));
	while (off < len && ret == 0) {
		size_t n = bytewise ? 1 : len - off;
		ret = ipc_reader_feed(r, text + off, n, &used, msg, error_r);
		if (ret >= 0)
			off += used;
	}
	ipc_reader_free(&r);
	UNIT_CHECK(r == NULL);
	return ret;
}

static void test_encode_decode(void)
{
	struct ipc_attr attrs[] = { { "a", "1" }, { "b_2", "x=y z" },
				    { "c", "" } };
	struct buf b;
	struct ipc_msg msg;
	const char *error;

	buf_init(&b, 1024);
	UNIT_CHECK(ipc_encode(&b, attrs, 3) == 0);
	UNIT_STREQ(buf_cstr(&b), "a=1\nb_2=x=y z\nc=\n\n");
	for (int bytewise = 0; bytewise <= 1; bytewise++) {
		UNIT_CHECK(feed(b.data, b.len, bytewise, 100, 10, &msg,
				&error) == 1);
		UNIT_CHECK(msg.count == 3);
		UNIT_STREQ(ipc_msg_get(&msg, "b_2"), "x=y z");
		UNIT_STREQ(ipc_msg_get(&msg, "c"), "");
		UNIT_CHECK(ipc_msg_get(&msg, "d") == NULL);
		ipc_msg_clear(&msg);
	}
	/* the encoder refuses what the decoder would refuse */
	struct ipc_attr bad[][1] = { { { "A", "1" } }, { { "", "1" } },
				     { { "a-b", "1" } }, { { "a", "x\ny" } },
				     { { "a", "x\ry" } } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		UNIT_CHECK(ipc_encode(&b, bad[i], 1) == -1);
	}
	UNIT_STREQ(buf_cstr(&b), "a=1\nb_2=x=y z\nc=\n\n");	/* unchanged */
	struct buf small;
	buf_init(&small, 5);
	UNIT_CHECK(ipc_encode(&small, attrs, 1) == 0);	/* "a=1\n\n" */
	UNIT_CHECK(ipc_encode(&small, attrs, 1) == -1);
	UNIT_CHECK(small.len == 5);
	buf_deinit(&small);
	buf_deinit(&b);
}

/* Two messages in one feed: the reader stops after the first. */
static void test_pipelined(void)
{
	const char *text = "a=1\n\nb=2\nc=3\n\nd=";
	struct ipc_reader *r = ipc_reader_new(100, 10);
	struct ipc_msg msg;
	size_t used, len = strlen(text);
	const char *error;

	UNIT_CHECK(ipc_reader_feed(r, text, len, &used, &msg, &error) == 1);
	UNIT_CHECK(used == 5 && msg.count == 1);
	ipc_msg_clear(&msg);
	UNIT_CHECK(ipc_reader_feed(r, text + 5, len - 5, &used, &msg,
				   &error) == 1);
	UNIT_CHECK(used == 9 && msg.count == 2);
	UNIT_STREQ(ipc_msg_get(&msg, "c"), "3");
	ipc_msg_clear(&msg);
	UNIT_CHECK(ipc_reader_feed(r, text + 14, len - 14, &used, &msg,
				   &error) == 0);
	UNIT_CHECK(used == 2);
	/* an empty message is a message */
	UNIT_CHECK(ipc_reader_feed(r, "1\n\n\n", 4, &used, &msg, &error) == 1);
	UNIT_CHECK(used == 3 && msg.count == 1);
	ipc_msg_clear(&msg);
	UNIT_CHECK(ipc_reader_feed(r, "\n", 1, &used, &msg, &error) == 1);
	UNIT_CHECK(msg.count == 0);
	ipc_msg_clear(&msg);
	ipc_reader_free(&r);
	ipc_reader_free(&r);
}

static void test_limits(void)
{
	struct ipc_msg msg;
	const char *error = NULL;
	char line[64];

	/* max_line counts the bytes of "name=value" without the LF */
	for (int extra = -1; extra <= 1; extra++) {
		size_t n = 20 + (size_t)(long)extra;
		memset(line, 'v', sizeof(line));
		memcpy(line, "a=", 2);
		line[n] = '\n';
		line[n + 1] = '\n';
		for (int bytewise = 0; bytewise <= 1; bytewise++) {
			int ret = feed(line, n + 2, bytewise, 20, 10, &msg,
				       &error);
			UNIT_CHECK(ret == (extra <= 0 ? 1 : -1));
			if (ret == 1)
				ipc_msg_clear(&msg);
			else
				UNIT_STREQ(error, "line too long");
		}
	}
	const char *attrs[] = { "a=1\nb=2\n\n", "a=1\nb=2\nc=3\n\n",
				"a=1\nb=2\nc=3\nd=4\n\n" };
	for (int i = 0; i < 3; i++) {
		for (int bytewise = 0; bytewise <= 1; bytewise++) {
			int ret = feed(attrs[i], strlen(attrs[i]), bytewise,
				       20, 3, &msg, &error);
			UNIT_CHECK(ret == (i < 2 ? 1 : -1));
			if (ret == 1)
				ipc_msg_clear(&msg);
			else
				UNIT_STREQ(error, "too many attributes");
		}
	}
	struct {
		const char *text;
		size_t len;
		const char *error;
	} bad[] = {
		{ "noequals\n\n", 10, "bad attribute line" },
		{ "=v\n\n", 4, "bad attribute line" },
		{ "Ab=v\n\n", 6, "bad attribute line" },
		{ "a=v\r\n\r\n", 7, "NUL or CR in message" },
		{ "a=v\0w\n\n", 7, "NUL or CR in message" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		for (int bytewise = 0; bytewise <= 1; bytewise++) {
			UNIT_CHECK(feed(bad[i].text, bad[i].len, bytewise, 20,
					3, &msg, &error) == -1);
			UNIT_STREQ(error, bad[i].error);
		}
	/* a broken stream stays broken */
	struct ipc_reader *r = ipc_reader_new(20, 3);
	size_t used;
	UNIT_CHECK(ipc_reader_feed(r, "x\n", 2, &used, &msg, &error) == -1);
	UNIT_CHECK(ipc_reader_feed(r, "a=1\n\n", 5, &used, &msg, &error) ==
		   -1);
	ipc_reader_free(&r);
}

static void test_exact(void)
{
	static const char *const names[] = { "a", "b" };
	const char *v[2];
	struct ipc_msg msg;
	const char *error;
	struct {
		const char *text;
		int want;
	} cases[] = {
		{ "a=1\nb=2\n\n", 0 },
		{ "b=2\na=1\n\n", 0 },
		{ "a=1\n\n", -1 },		/* short */
		{ "a=1\nb=2\nc=3\n\n", -1 },	/* extra */
		{ "a=1\na=2\n\n", -1 },		/* duplicate */
		{ "a=1\nc=2\n\n", -1 },		/* unknown */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CHECK(feed(cases[i].text, strlen(cases[i].text), false,
				100, 10, &msg, &error) == 1);
		UNIT_CHECK(ipc_msg_get_exact(&msg, names, v, 2) ==
			   cases[i].want);
		if (cases[i].want == 0)
			UNIT_CHECK(strcmp(v[0], "1") == 0 &&
				   strcmp(v[1], "2") == 0);
		ipc_msg_clear(&msg);
	}
}

static int decode_request(const char *text, struct ipc_msg *msg,
			  struct deliver_request *req, const char **error_r)
{
	UNIT_CHECK(feed(text, strlen(text), false, 4096, 20, msg, error_r) ==
		   1);
	return deliver_request_decode(msg, req, error_r);
}

#define REQ_TAIL "offset=100\nsize=2000\nsender=s@x\nrecipient=r@y\n" \
	"orig_recipient=\narrival=1\nactive=2\n\n"

static void test_deliver_proto(void)
{
	struct deliver_request req = {
		.queue_id = "6740A3B2F0A1B2C3F1E", .queue_file =
			"active/6740A3B2F0A1B2C3F1E", .offset = 123,
		.size = 4567, .sender = "", .recipient = "u@example.test",
		.orig_recipient = "alias@example.test",
		.arrival_us = 1700000000123456ULL, .active_us = 1700000001ULL,
	}, back;
	struct buf b;
	struct ipc_msg msg;
	const char *error = NULL;

	buf_init(&b, 4096);
	UNIT_CHECK(deliver_request_encode(&b, &req) == 0);
	for (int bytewise = 0; bytewise <= 1; bytewise++) {
		UNIT_CHECK(feed(b.data, b.len, bytewise, 4096, 20, &msg,
				&error) == 1);
		UNIT_CHECK(deliver_request_decode(&msg, &back, &error) == 0);
		UNIT_STREQ(back.queue_id, req.queue_id);
		UNIT_STREQ(back.queue_file, req.queue_file);
		UNIT_STREQ(back.sender, "");
		UNIT_STREQ(back.recipient, req.recipient);
		UNIT_STREQ(back.orig_recipient, req.orig_recipient);
		UNIT_CHECK(back.offset == 123 && back.size == 4567 &&
			   back.arrival_us == req.arrival_us &&
			   back.active_us == req.active_us);
		ipc_msg_clear(&msg);
	}
	static const char *const bad[] = {
		"queue_id=6740A3B2F0A1B2C3F1E\n"
		"queue_file=active/6740A3B2F0A1B2C3F1F\n" REQ_TAIL,
		"queue_id=6740A3B2F0A1B2C3F1E\n"
		"queue_file=deferred/6740A3B2F0A1B2C3F1E\n" REQ_TAIL,
		"queue_id=../../etc/passwd\nqueue_file=active/../../etc/passwd\n"
		REQ_TAIL,
		"queue_id=6740A3B2F0A1B2C3F1E\n" REQ_TAIL,
		"queue_id=6740A3B2F0A1B2C3F1E\n"
		"queue_file=active/6740A3B2F0A1B2C3F1E\nextra=1\n" REQ_TAIL,
		"queue_id=6740A3B2F0A1B2C3F1E\n"
		"queue_file=active/6740A3B2F0A1B2C3F1E\n"
		"offset=-1\nsize=2000\nsender=s@x\nrecipient=r@y\n"
		"orig_recipient=\narrival=1\nactive=2\n\n",
		"queue_id=6740A3B2F0A1B2C3F1E\n"
		"queue_file=active/6740A3B2F0A1B2C3F1E\n"
		"offset=18446744073709551615\nsize=2\nsender=s@x\n"
		"recipient=r@y\norig_recipient=\narrival=1\nactive=2\n\n",
		"queue_id=6740A3B2F0A1B2C3F1E\n"
		"queue_file=active/6740A3B2F0A1B2C3F1E\n"
		"offset=1\nsize=2\nsender=s@x\n"
		"recipient=\norig_recipient=\narrival=1\nactive=2\n\n",
		"queue_id=6740A3B2F0A1B2C3F1E\n"
		"queue_file=active/6740A3B2F0A1B2C3F1E\n"
		"offset=1\nsize=2\nsender=s@x\n"
		"recipient=r@y\norig_recipient=\narrival=1x\nactive=2\n\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		UNIT_CHECK(decode_request(bad[i], &msg, &back, &error) == -1);
		ipc_msg_clear(&msg);
	}

	struct deliver_answer ans = { .status = DELIVER_TEMPFAIL,
				      .dsn = "4.2.2",
				      .reason = "mailbox full" }, aback;
	buf_reset(&b);
	UNIT_CHECK(deliver_answer_encode(&b, &ans) == 0);
	UNIT_CHECK(feed(b.data, b.len, true, 4096, 20, &msg, &error) == 1);
	UNIT_CHECK(deliver_answer_decode(&msg, &aback, &error) == 0);
	UNIT_CHECK(aback.status == DELIVER_TEMPFAIL);
	UNIT_STREQ(aback.dsn, "4.2.2");
	UNIT_STREQ(aback.reason, "mailbox full");
	ipc_msg_clear(&msg);
	static const struct {
		const char *text;
		int want;
	} answers[] = {
		{ "status=0\ndsn=2.0.0\nreason=delivered to maildir\n\n", 0 },
		{ "status=5\ndsn=5.1.1\nreason=unknown\n\n", 0 },
		{ "status=5\ndsn=5.123.123\nreason=\n\n", 0 },
		{ "status=0\ndsn=4.0.0\nreason=x\n\n", -1 },
		{ "status=4\ndsn=5.0.0\nreason=x\n\n", -1 },
		{ "status=2\ndsn=2.0.0\nreason=x\n\n", -1 },
		{ "status=4\ndsn=4.1234.1\nreason=x\n\n", -1 },
		{ "status=4\ndsn=4.1.\nreason=x\n\n", -1 },
		{ "status=4\ndsn=4.1.1x\nreason=x\n\n", -1 },
		{ "status=4\ndsn=4.1.1\n\n", -1 },
		{ "status=4\ndsn=4.1.1\nreason=x\nreason=y\n\n", -1 },
	};
	for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		UNIT_CHECK(feed(answers[i].text, strlen(answers[i].text),
				false, 4096, 20, &msg, &error) == 1);
		UNIT_CHECK(deliver_answer_decode(&msg, &aback, &error) ==
			   answers[i].want);
		ipc_msg_clear(&msg);
	}
	buf_deinit(&b);
}

/* The hello: exactly protocol=deliver and version=1, in either order. */
static void test_deliver_hello(void)
{
	struct buf b;
	struct ipc_msg msg;
	const char *error = NULL;

	buf_init(&b, 256);
	UNIT_CHECK(deliver_hello_encode(&b) == 0);
	UNIT_STREQ(buf_cstr(&b), "protocol=deliver\nversion=1\n\n");
	for (int bytewise = 0; bytewise <= 1; bytewise++) {
		UNIT_CHECK(feed(b.data, b.len, bytewise, 100, 10, &msg,
				&error) == 1);
		UNIT_CHECK(deliver_hello_decode(&msg, &error) == 0);
		ipc_msg_clear(&msg);
	}
	buf_deinit(&b);
	buf_init(&b, 10);	/* too small: refused, not truncated */
	UNIT_CHECK(deliver_hello_encode(&b) == -1);
	UNIT_CHECK(b.len == 0);
	buf_deinit(&b);

	static const struct {
		const char *text;
		int want;
	} cases[] = {
		{ "version=1\nprotocol=deliver\n\n", 0 },
		{ "protocol=deliver\n\n", -1 },		/* short */
		{ "version=1\n\n", -1 },
		{ "protocol=deliver\nversion=1\nagent=local\n\n", -1 },
		{ "protocol=deliver\nprotocol=deliver\nversion=1\n\n", -1 },
		{ "protocol=smtp\nversion=1\n\n", -1 },
		{ "protocol=Deliver\nversion=1\n\n", -1 },
		{ "protocol=deliver \nversion=1\n\n", -1 },
		{ "protocol=deliver\nversion=2\n\n", -1 },
		{ "protocol=deliver\nversion=01\n\n", -1 },
		{ "protocol=deliver\nversion=\n\n", -1 },
		/* a request or an answer is not a hello */
		{ "status=0\ndsn=2.0.0\nreason=x\n\n", -1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CHECK(feed(cases[i].text, strlen(cases[i].text), false,
				100, 10, &msg, &error) == 1);
		UNIT_CHECK(deliver_hello_decode(&msg, &error) ==
			   cases[i].want);
		ipc_msg_clear(&msg);
	}

	/* What local writes is what qmgr's reader decodes, and a request
	 * written after it stays buffered for the next read. */
	int sv[2];
	struct ipc_reader *r = ipc_reader_new(100, 10);
	struct ipc_attr next[] = { { "n", "1" } };
	UNIT_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	UNIT_CHECK(deliver_hello_write(sv[0], 1000, &error) == 0);
	UNIT_CHECK(ipc_write_msg(sv[0], next, 1, 1000, &error) == 0);
	UNIT_CHECK(ipc_read_msg(sv[1], r, &msg, 1000, &error) == 0);
	UNIT_CHECK(deliver_hello_decode(&msg, &error) == 0);
	ipc_msg_clear(&msg);
	UNIT_CHECK(ipc_read_msg(sv[1], r, &msg, 1000, &error) == 0);
	UNIT_STREQ(ipc_msg_get(&msg, "n"), "1");
	ipc_msg_clear(&msg);
	/* qmgr gave up on the connection before the agent took it */
	close(sv[1]);
	UNIT_CHECK(deliver_hello_write(sv[0], 1000, &error) == -1);
	close(sv[0]);
	ipc_reader_free(&r);
}

/* The blocking helpers over a socket pair, with two messages written
 * back to back: the second stays buffered in the reader. */
static void test_blocking(void)
{
	int sv[2];
	struct ipc_attr a1[] = { { "n", "1" } }, a2[] = { { "n", "2" } };
	struct ipc_reader *r = ipc_reader_new(100, 10);
	struct ipc_msg msg;
	const char *error;

	UNIT_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	UNIT_CHECK(ipc_write_msg(sv[0], a1, 1, 1000, &error) == 0);
	UNIT_CHECK(ipc_write_msg(sv[0], a2, 1, 1000, &error) == 0);
	UNIT_CHECK(ipc_read_msg(sv[1], r, &msg, 1000, &error) == 0);
	UNIT_STREQ(ipc_msg_get(&msg, "n"), "1");
	ipc_msg_clear(&msg);
	UNIT_CHECK(ipc_read_msg(sv[1], r, &msg, 1000, &error) == 0);
	UNIT_STREQ(ipc_msg_get(&msg, "n"), "2");
	ipc_msg_clear(&msg);
	UNIT_CHECK(ipc_read_msg(sv[1], r, &msg, 50, &error) == -1);
	UNIT_STREQ(error, "timeout");
	close(sv[0]);
	UNIT_CHECK(ipc_read_msg(sv[1], r, &msg, 1000, &error) == -1);
	UNIT_STREQ(error, "connection closed");
	close(sv[1]);
	ipc_reader_free(&r);
}

int main(void)
{
	test_encode_decode();
	test_pipelined();
	test_limits();
	test_exact();
	test_deliver_proto();
	test_deliver_hello();
	test_blocking();
	return unit_done();
}
