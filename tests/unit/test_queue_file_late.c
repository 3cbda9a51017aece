/* Unit tests of the queue file's late attributes (queue_writer_late_attr
 * and the reader's merge): written after the content, read back with the
 * envelope's, bounded and refused as the format says. */
#include "config.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "buf.h"
#include "queue_file.h"
#include "queue_writer.h"
#include "unit.h"

static char qdir[] = "/tmp/test_queue_file_late.XXXXXX";

#define HEAD "SUREL-QUEUE 1\nT\t1700000000000000\nS\ts@x\nA\tk\tv\n" \
	     "R\tP\t-\t-\t-\tu@x\n"
#define CLEN(n) "C\t000000000000000000" #n "\n"

static void expect(const char *data, size_t len, const char *want)
{
	struct queue_envelope env;
	off_t off;
	uint64_t size;
	const char *error = NULL;
	int ret = queue_file_parse(data, len, &env, &off, &size, &error);

	if (want == NULL) {
		UNIT_CHECK(ret == 0);
		if (ret == 0)
			queue_envelope_free(&env);
	} else {
		UNIT_CHECK(ret == -1);
		UNIT_STREQ(error != NULL ? error : "(none)", want);
	}
}

#define expects(s, want) expect(s, strlen(s), want)

static void test_parse(void)
{
	const char *f = HEAD CLEN(03) "abcA\tdkim\t1\nA\tdmarc\tpass\nE\n"
		"F\t0\t5.1.1\tsmtp\t-\t-\tno\n";
	struct queue_envelope env;
	off_t off;
	uint64_t size;
	const char *error;

	UNIT_CHECK(queue_file_parse(f, strlen(f), &env, &off, &size,
				    &error) == 0);
	UNIT_CHECK(size == 3 && env.attr_count == 3);
	UNIT_STREQ(queue_envelope_attr(&env, "k"), "v");
	UNIT_STREQ(queue_envelope_attr(&env, "dkim"), "1");
	UNIT_STREQ(queue_envelope_attr(&env, "dmarc"), "pass");
	/* the status records after E are still read, and appended there */
	UNIT_CHECK(env.rcpts[0].failed != NULL && env.status_count == 1);
	UNIT_CHECK(env.status_end == (off_t)strlen(f));
	queue_envelope_free(&env);
	/* the content may end without LF: the length says where it ends */
	expects(HEAD CLEN(03) "abcE\n", NULL);
	expects(HEAD CLEN(03) "abcA\tx\ty\nE\n", NULL);
	/* an empty value is a value */
	expects(HEAD CLEN(00) "A\tx\t\nE\n", NULL);
	expects(HEAD CLEN(03) "abcA\tk\tw\nE\n", "duplicate attribute");
	expects(HEAD CLEN(03) "abcA\tx\ty\nA\tx\tz\nE\n",
		"duplicate attribute");
	expects(HEAD CLEN(03) "abcA\tX\ty\nE\n", "bad attribute line");
	expects(HEAD CLEN(03) "abcA\tx\ty\tz\nE\n", "bad attribute line");
	expects(HEAD CLEN(03) "abcA\tx\ty\n", "missing end marker");
	expects(HEAD CLEN(03) "abcA\tx\ty", "missing end marker");
	expects(HEAD CLEN(03) "abcB\tx\ty\nE\n", "missing end marker");
	expects(HEAD CLEN(03) "abcA\tx\ty\rz\nE\n",
		"control character in late attribute");
	expect(HEAD CLEN(03) "abcA\tx\ty\0z\nE\n",
	       strlen(HEAD CLEN(03) "abcA\tx\ty") + 5,
	       "control character in late attribute");
}

/* QUEUE_ATTR_MAX in all, envelope and late; a line of QUEUE_LINE_MAX. */
static void test_bounds(void)
{
	struct buf b;

	for (size_t extra = 0; extra <= 1; extra++) {
		buf_init(&b, 1024 * 1024);
		UNIT_CHECK(buf_append_str(&b, HEAD CLEN(00)) == 0);
		/* HEAD has one attribute */
		int bad = 0;
		for (size_t i = 0; i + 1 < QUEUE_ATTR_MAX + extra; i++)
			bad |= buf_printf(&b, "A\tl%zu\tv\n", i);
		UNIT_CHECK(bad == 0);
		UNIT_CHECK(buf_append_str(&b, "E\n") == 0);
		expect(b.data, b.len, extra ? "too many attributes" : NULL);
		buf_deinit(&b);
	}
	for (int extra = 0; extra <= 1; extra++) {
		buf_init(&b, 1024 * 1024);
		UNIT_CHECK(buf_append_str(&b, HEAD CLEN(00) "A\tx\t") == 0);
		int bad = 0;
		for (size_t i = 0; i + 5 < QUEUE_LINE_MAX + (size_t)extra; i++)
			bad |= buf_append_char(&b, 'v');
		UNIT_CHECK(bad == 0);
		UNIT_CHECK(buf_append_str(&b, "\nE\n") == 0);
		expect(b.data, b.len, extra ? "missing end marker" : NULL);
		buf_deinit(&b);
	}
}

static void test_writer(void)
{
	struct queue_envelope env;
	struct queue_writer *w;
	const char *error;
	char path[512], big[QUEUE_LINE_MAX + 1];

	memset(&env, 0, sizeof(env));
	env.sender = strdup("s@x");
	queue_envelope_add_attr(&env, "client_address", "192.0.2.1");
	queue_envelope_add_rcpt(&env, "u@x", NULL, NULL, NULL);
	UNIT_CHECK(queue_writer_open(qdir, &w, &error) == 0);
	UNIT_CHECK(queue_writer_envelope(w, &env, &error) == 0);
	UNIT_CHECK(queue_writer_content(w, "Subject: x\n\nbody\n", 17,
					&error) == 0);
	UNIT_CHECK(queue_writer_late_attr(w, "dkim", "1", &error) == 0);
	/* refused, and nothing written */
	UNIT_CHECK(queue_writer_late_attr(w, "dkim", "2", &error) == -1);
	UNIT_CHECK(queue_writer_late_attr(w, "client_address", "x",
					  &error) == -1);
	UNIT_CHECK(queue_writer_late_attr(w, "Bad", "x", &error) == -1);
	UNIT_CHECK(queue_writer_late_attr(w, "t", "a\tb", &error) == -1);
	UNIT_CHECK(queue_writer_late_attr(w, "t", "a\nb", &error) == -1);
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	UNIT_CHECK(queue_writer_late_attr(w, "t", big, &error) == -1);
	UNIT_CHECK(queue_writer_late_attr(w, "dmarc", "fail", &error) == 0);
	/* no content after the late attributes */
	UNIT_CHECK(queue_writer_content(w, "x", 1, &error) == -1);
	snprintf(path, sizeof(path), "%s/incoming/%s", qdir,
		 queue_writer_id(w));
	UNIT_CHECK(queue_writer_commit(&w, &error) == 0);
	struct queue_envelope back;
	off_t off;
	uint64_t size;
	int fd = open(path, O_RDONLY);
	UNIT_CHECK(fd >= 0);
	UNIT_CHECK(queue_file_read(fd, &back, &off, &size, &error) == 0);
	UNIT_CHECK(size == 17 && back.attr_count == 3);
	UNIT_STREQ(queue_envelope_attr(&back, "dkim"), "1");
	UNIT_STREQ(queue_envelope_attr(&back, "dmarc"), "fail");
	queue_envelope_free(&back);
	close(fd);
	unlink(path);

	/* again, committed this time */
	UNIT_CHECK(queue_writer_open(qdir, &w, &error) == 0);
	UNIT_CHECK(queue_writer_envelope(w, &env, &error) == 0);
	UNIT_CHECK(queue_writer_content(w, "Subject: x\n\nbody\n", 17,
					&error) == 0);
	UNIT_CHECK(queue_writer_late_attr(w, "dkim", "1", &error) == 0);
	UNIT_CHECK(queue_writer_late_attr(w, "dkim_1", "pass example.test "
					  "sel abcdefgh -", &error) == 0);
	snprintf(path, sizeof(path), "%s/incoming/%s", qdir,
		 queue_writer_id(w));
	UNIT_CHECK(queue_writer_commit(&w, &error) == 0);
	fd = open(path, O_RDONLY);
	UNIT_CHECK(fd >= 0);
	UNIT_CHECK(queue_file_read(fd, &back, &off, &size, &error) == 0);
	UNIT_CHECK(size == 17 && back.attr_count == 3);
	UNIT_STREQ(queue_envelope_attr(&back, "dkim_1"),
		   "pass example.test sel abcdefgh -");
	UNIT_CHECK(back.status_end == lseek(fd, 0, SEEK_END));
	queue_envelope_free(&back);
	close(fd);
	unlink(path);
	queue_envelope_free(&env);
}

int main(void)
{
	char dir[128];

	if (mkdtemp(qdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/incoming", qdir);
	if (mkdir(dir, 0700) < 0) {
		perror("mkdir");
		return 1;
	}
	test_parse();
	test_bounds();
	test_writer();
	rmdir(dir);
	rmdir(qdir);
	return unit_done();
}
