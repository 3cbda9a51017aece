/* Unit tests of the queue file's status records (lib/queue_status.c):
 * parsing (every record kind, the latest record wins, B and W, a torn
 * last record, every malformation), and the append on a real file read
 * back with queue_file_read (sanitised and cut fields, a torn record
 * overwritten, refusals). */
#include "config.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "queue_file.h"
#include "unit.h"

#define HEAD "SUREL-QUEUE 1\nT\t1700000000000000\nS\ts@x\n" \
	"R\tP\t-\t-\t-\ta@x\nR\tD\tSUCCESS\t-\t-\tb@x\n" \
	"C\t00000000000000000011\nSubject: x\nE\n"

static int parse(const char *tail, struct queue_envelope *env,
		 const char **error_r)
{
	char data[8192];
	off_t off;
	uint64_t size;

	snprintf(data, sizeof(data), "%s%s", HEAD, tail);
	return queue_file_parse(data, strlen(data), env, &off, &size, error_r);
}

static void test_parse(void)
{
	struct queue_envelope env;
	const char *error = NULL;

	UNIT_CHECK(parse("", &env, &error) == 0);
	UNIT_CHECK(env.status_count == 0 && env.rcpts[0].failed == NULL);
	UNIT_CHECK(env.status_end == (off_t)strlen(HEAD));
	queue_envelope_free(&env);

	UNIT_CHECK(parse("L\t0\t4.4.1\tsmtp\tmx.example\tRCPT TO\tfirst\n"
			 "F\t1\t5.1.1\tsmtp\tmx.example\tRCPT TO\t550 no\n"
			 "L\t0\t4.2.0\t-\t-\t-\tsecond\n"
			 "B\nY\t1\t2.0.0\t-\t-\t-\t-\nW\n", &env, &error) == 0);
	UNIT_CHECK(env.status_count == 6 && env.warning_sent);
	UNIT_STREQ(env.rcpts[0].delayed->status, "4.2.0");
	UNIT_STREQ(env.rcpts[0].delayed->diag, "second");
	UNIT_STREQ(env.rcpts[0].delayed->diag_type, "");
	UNIT_STREQ(env.rcpts[0].delayed->remote_mta, "");
	UNIT_STREQ(env.rcpts[1].failed->diag, "550 no");
	UNIT_STREQ(env.rcpts[1].failed->in_reply_to, "RCPT TO");
	UNIT_STREQ(env.rcpts[1].failed->remote_mta, "mx.example");
	UNIT_STREQ(env.rcpts[1].failed->diag_type, "smtp");
	UNIT_CHECK(env.rcpts[1].failed->notified);
	UNIT_CHECK(env.rcpts[1].success->kind == QUEUE_STATUS_RELAYED);
	UNIT_CHECK(!env.rcpts[1].success->notified);
	queue_envelope_free(&env);

	/* a torn last record (no LF) is ignored; the end is before it */
	UNIT_CHECK(parse("F\t0\t5.0.0\t-\t-\t-\tx\nF\t1\t5.0", &env,
			 &error) == 0);
	UNIT_CHECK(env.status_count == 1 && env.rcpts[1].failed == NULL);
	UNIT_CHECK(env.status_end == (off_t)(strlen(HEAD) + 18));
	queue_envelope_free(&env);
}

static void test_corrupt(void)
{
	static const char *const bad[] = {
		"F\t2\t5.0.0\t-\t-\t-\tx\n",	/* index past the recipients */
		"F\t01\t5.0.0\t-\t-\t-\tx\n",	/* leading zero */
		"F\t-1\t5.0.0\t-\t-\t-\tx\n",
		"F\t0\t2.0.0\t-\t-\t-\tx\n",	/* class does not fit */
		"L\t0\t5.0.0\t-\t-\t-\tx\n",
		"D\t0\t4.0.0\t-\t-\t-\tx\n",
		"F\t0\t5.0\t-\t-\t-\tx\n",
		"F\t0\t5.0.1234\t-\t-\t-\tx\n",
		"F\t0\t5.0.0\tbogus\t-\t-\tx\n",
		"F\t0\t5.0.0\t-\t-\t-\n",	/* a field missing */
		"F\t0\t5.0.0\t-\t-\t-\tx\ty\n",	/* one too many */
		"Q\t0\t5.0.0\t-\t-\t-\tx\n",
		"B\tx\n", "\n", "W \n",
		"F\t0\t5.0.0\t-\t-\t-\tx\r\n",
	};
	struct queue_envelope env;
	const char *error;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error = NULL;
		UNIT_CHECK(parse(bad[i], &env, &error) < 0 && error != NULL);
		UNIT_CHECK(env.rcpts == NULL);
	}
	/* a diag over QUEUE_DIAG_MAX */
	char tail[2048];
	int n = snprintf(tail, sizeof(tail), "F\t0\t5.0.0\t-\t-\t-\t");
	memset(tail + n, 'd', QUEUE_DIAG_MAX + 1);
	memcpy(tail + n + QUEUE_DIAG_MAX + 1, "\n", 2);
	UNIT_CHECK(parse(tail, &env, &error) < 0);
}

static int read_back(int fd, struct queue_envelope *env)
{
	off_t off;
	uint64_t size;
	const char *error;

	return queue_file_read(fd, env, &off, &size, &error);
}

static void test_append(void)
{
	char path[] = "/tmp/test_queue_status.XXXXXX";
	int fd = mkstemp(path);
	struct queue_envelope env;
	const char *error = NULL;
	char diag[QUEUE_DIAG_MAX + 100];

	UNIT_CHECK(fd >= 0 && write(fd, HEAD, strlen(HEAD)) ==
				      (ssize_t)strlen(HEAD));
	UNIT_CHECK(read_back(fd, &env) == 0);
	memset(diag, 'x', sizeof(diag) - 1);
	diag[sizeof(diag) - 1] = '\0';
	diag[3] = '\t';
	diag[5] = '\n';
	struct queue_status_new st = {
		.kind = QUEUE_STATUS_FAILED, .status = "5.1.1",
		.diag_type = "smtp", .remote_mta = "mx.example",
		.in_reply_to = "RCPT TO", .diag = diag,
	};
	UNIT_CHECK(queue_file_append_status(fd, &env, 0, &st, &error) == 0);
	UNIT_CHECK(strlen(env.rcpts[0].failed->diag) == QUEUE_DIAG_MAX);
	struct queue_status_new ok = { .kind = QUEUE_STATUS_DELIVERED,
				   .status = "2.0.0" };
	UNIT_CHECK(queue_file_append_status(fd, &env, 1, &ok, &error) == 0);
	UNIT_CHECK(queue_file_append_mark(fd, &env, 'B', &error) == 0);
	UNIT_CHECK(env.rcpts[0].failed->notified);
	/* refused: bad index, kind, status, mark */
	UNIT_CHECK(queue_file_append_status(fd, &env, 2, &ok, &error) < 0);
	struct queue_status_new bad = { .kind = QUEUE_STATUS_DELAYED,
				    .status = "5.0.0" };
	UNIT_CHECK(queue_file_append_status(fd, &env, 0, &bad, &error) < 0);
	UNIT_CHECK(queue_file_append_mark(fd, &env, 'X', &error) < 0);
	off_t end = env.status_end;
	queue_envelope_free(&env);

	/* a torn record after them: ignored, then overwritten */
	UNIT_CHECK(pwrite(fd, "L\t0\t4.0.0\t-\t-\t-\tlong torn text", 29, end)
		   == 29);
	UNIT_CHECK(read_back(fd, &env) == 0);
	UNIT_CHECK(env.status_count == 3 && env.status_end == end);
	UNIT_STREQ(env.rcpts[0].failed->status, "5.1.1");
	UNIT_CHECK(env.rcpts[0].failed->diag[3] == ' ' &&
		   env.rcpts[0].failed->diag[5] == ' ');
	UNIT_CHECK(env.rcpts[1].success->notified);
	UNIT_CHECK(queue_file_append_mark(fd, &env, 'W', &error) == 0);
	queue_envelope_free(&env);
	UNIT_CHECK(read_back(fd, &env) == 0);
	UNIT_CHECK(env.warning_sent && env.status_count == 4);
	UNIT_CHECK(env.hold_mark == 0);
	/* H: released from hold, read back as such */
	UNIT_CHECK(queue_file_append_mark(fd, &env, 'O', &error) == 0);
	UNIT_CHECK(env.hold_mark == 'O');
	queue_envelope_free(&env);
	UNIT_CHECK(read_back(fd, &env) == 0);
	UNIT_CHECK(env.hold_mark == 'O' && env.status_count == 5);
	/* H after O: the last one wins */
	UNIT_CHECK(queue_file_append_mark(fd, &env, 'H', &error) == 0);
	UNIT_CHECK(env.hold_mark == 'H');
	queue_envelope_free(&env);
	UNIT_CHECK(read_back(fd, &env) == 0);
	UNIT_CHECK(env.hold_mark == 'H' && env.warning_sent &&
		   env.status_count == 6);
	queue_envelope_free(&env);
	close(fd);
	unlink(path);
}

int main(void)
{
	test_parse();
	test_corrupt();
	test_append();
	return unit_done();
}
