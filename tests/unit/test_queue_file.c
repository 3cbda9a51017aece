/* Unit tests of lib/queue_writer, lib/queue_file and lib/queue_id: write,
 * commit, read back, every kind of corruption the reader must name, and
 * mark_done. */
#include "config.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "buf.h"
#include "fsutil.h"
#include "queue_file.h"
#include "queue_id.h"
#include "queue_writer.h"
#include "unit.h"

static char qdir[] = "/tmp/test_queue_file.XXXXXX";

static void path_of(char *out, size_t size, const char *id)
{
	snprintf(out, size, "%s/incoming/%s", qdir, id);
}

static void make_env(struct queue_envelope *env, size_t nrcpt)
{
	char addr[64];

	memset(env, 0, sizeof(*env));
	env->sender = strdup("sender@example.org");
	queue_envelope_add_attr(env, "client_address", "192.0.2.1");
	queue_envelope_add_attr(env, "helo_name", "client.example.org");
	for (size_t i = 0; i < nrcpt; i++) {
		snprintf(addr, sizeof(addr), "user%zu@example.test", i);
		queue_envelope_add_rcpt(env, addr, i == 0 ? "alias@example.test"
							  : NULL,
					i == 1 ? "rfc822;x@example.test" : NULL,
					i == 0 ? "SUCCESS,DELAY" : NULL);
	}
}

/* Writes a message; returns 0 and its id in id_r. */
static int write_msg(const char *content, size_t len, size_t nrcpt,
		     char id_r[QUEUE_ID_MAX])
{
	struct queue_envelope env;
	struct queue_writer *w;
	const char *error;
	int ret = -1;

	make_env(&env, nrcpt);
	if (queue_writer_open(qdir, &w, &error) < 0)
		goto out;
	snprintf(id_r, QUEUE_ID_MAX, "%s", queue_writer_id(w));
	if (queue_writer_envelope(w, &env, &error) < 0) {
		queue_writer_abort(&w);
		goto out;
	}
	/* in uneven pieces, to cross the writer's buffer boundary */
	for (size_t off = 0; off < len;) {
		size_t n = len - off < 7777 ? len - off : 7777;
		if (off == 0 && len > 100000)
			n = 70000;	/* bigger than the write buffer */
		if (queue_writer_content(w, content + off, n, &error) < 0) {
			queue_writer_abort(&w);
			goto out;
		}
		off += n;
	}
	UNIT_CHECK(queue_writer_size(w) == len);
	ret = queue_writer_commit(&w, &error);
	UNIT_CHECK(w == NULL);
out:
	queue_envelope_free(&env);
	return ret;
}

static char *read_file(const char *path, size_t *len_r)
{
	struct buf b;
	char chunk[4096];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	buf_init(&b, 64 * 1024 * 1024);
	while (fd >= 0 && (n = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_append(&b, chunk, (size_t)n) < 0)
			break;
	if (fd >= 0)
		close(fd);
	*len_r = b.len;
	return b.data;
}

static void test_ids(void)
{
	char a[QUEUE_ID_MAX], b[QUEUE_ID_MAX];
	uint64_t ta, tb;

	queue_id_new(a, &ta);
	queue_id_new(b, &tb);
	UNIT_CHECK(queue_id_valid(a));
	UNIT_CHECK(strcmp(a, b) < 0);
	UNIT_CHECK(tb > ta);
	UNIT_CHECK(queue_id_hash(a) == a[14]);
	UNIT_CHECK(!queue_id_valid(""));
	UNIT_CHECK(!queue_id_valid("0123456789ABCDE"));	/* no pid */
	UNIT_CHECK(queue_id_valid("0123456789ABCDE1"));
	UNIT_CHECK(queue_id_valid("0123456789ABCDE12345678"));
	UNIT_CHECK(!queue_id_valid("0123456789ABCDE123456789"));
	UNIT_CHECK(!queue_id_valid("0123456789abcde1"));
	UNIT_CHECK(!queue_id_valid("../../etc/passwd"));
}

static void test_round_trip(size_t content_len, size_t nrcpt)
{
	char id[QUEUE_ID_MAX], path[512];
	char *content = malloc(content_len + 1);
	struct queue_envelope env;
	off_t off;
	uint64_t size;
	const char *error = NULL;
	struct stat st;

	for (size_t i = 0; i < content_len; i++)
		content[i] = i % 80 == 79 ? '\n' : (char)('a' + i % 26);
	UNIT_CHECK(write_msg(content, content_len, nrcpt, id) == 0);
	path_of(path, sizeof(path), id);
	UNIT_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700);
	int fd = open(path, O_RDWR);
	UNIT_CHECK(fd >= 0);
	UNIT_CHECK(queue_file_read(fd, &env, &off, &size, &error) == 0);
	UNIT_CHECK(size == content_len);
	UNIT_STREQ(env.sender, "sender@example.org");
	UNIT_CHECK(env.rcpt_count == nrcpt);
	UNIT_STREQ(queue_envelope_attr(&env, "helo_name"),
		   "client.example.org");
	UNIT_CHECK(queue_envelope_attr(&env, "nope") == NULL);
	UNIT_STREQ(env.rcpts[0].orig_rcpt, "alias@example.test");
	UNIT_STREQ(env.rcpts[0].notify, "SUCCESS,DELAY");
	UNIT_CHECK(env.rcpts[0].orcpt == NULL && !env.rcpts[0].done);
	if (nrcpt > 1) {
		UNIT_STREQ(env.rcpts[1].orcpt, "rfc822;x@example.test");
		UNIT_CHECK(env.rcpts[1].orig_rcpt == NULL);
	}
	char *back = malloc(content_len + 1);
	UNIT_CHECK(fs_pread_all(fd, back, content_len, off) ==
		   (ssize_t)content_len);
	UNIT_CHECK(memcmp(back, content, content_len) == 0);
	/* mark_done persists, and only touches the status byte */
	UNIT_CHECK(queue_file_mark_done(fd, &env.rcpts[nrcpt - 1]) == 0);
	queue_envelope_free(&env);
	UNIT_CHECK(queue_file_read(fd, &env, &off, &size, &error) == 0);
	UNIT_CHECK(env.rcpt_count == nrcpt && env.rcpts[nrcpt - 1].done);
	UNIT_CHECK(nrcpt == 1 || !env.rcpts[0].done);
	queue_envelope_free(&env);
	queue_envelope_free(&env);	/* accepts a freed one */
	close(fd);
	unlink(path);
	free(back);
	free(content);
}

static void test_writer_refuses(void)
{
	static const char *const bad[] = { "a\tb", "a\rb", "a\nb" };
	struct queue_writer *w;
	const char *error;

	for (size_t i = 0; i < 3; i++) {
		struct queue_envelope env;
		make_env(&env, 2);
		free(env.sender);
		env.sender = strdup(bad[i]);
		UNIT_CHECK(queue_writer_open(qdir, &w, &error) == 0);
		UNIT_CHECK(queue_writer_envelope(w, &env, &error) == -1);
		UNIT_CHECK(queue_writer_commit(&w, &error) == -1);
		UNIT_CHECK(w == NULL);
		queue_envelope_free(&env);
	}
	struct queue_envelope env;
	make_env(&env, 1);
	queue_envelope_add_attr(&env, "Bad-Name", "x");
	UNIT_CHECK(queue_writer_open(qdir, &w, &error) == 0);
	UNIT_CHECK(queue_writer_content(w, "x", 1, &error) == -1);
	UNIT_CHECK(queue_writer_envelope(w, &env, &error) == -1);
	queue_writer_abort(&w);
	queue_writer_abort(&w);
	queue_envelope_free(&env);
	/* a line of QUEUE_LINE_MAX bytes, LF included, is the limit */
	for (int extra = -1; extra <= 1; extra++) {
		char addr[QUEUE_LINE_MAX + 8];
		size_t fixed = strlen("R\tP\t-\t-\t-\t\n");
		size_t n = QUEUE_LINE_MAX - fixed + (size_t)(long)extra;
		memset(addr, 'a', n);
		addr[n] = '\0';
		memset(&env, 0, sizeof(env));
		env.sender = strdup("");
		queue_envelope_add_rcpt(&env, addr, NULL, NULL, NULL);
		UNIT_CHECK(queue_writer_open(qdir, &w, &error) == 0);
		int ret = queue_writer_envelope(w, &env, &error);
		UNIT_CHECK(ret == (extra <= 0 ? 0 : -1));
		if (ret == 0) {
			UNIT_CHECK(queue_writer_commit(&w, &error) == 0);
		} else {
			queue_writer_abort(&w);
		}
		queue_envelope_free(&env);
	}
	/* no recipients */
	memset(&env, 0, sizeof(env));
	env.sender = strdup("");
	UNIT_CHECK(queue_writer_open(qdir, &w, &error) == 0);
	UNIT_CHECK(queue_writer_envelope(w, &env, &error) == -1);
	queue_writer_abort(&w);
	queue_envelope_free(&env);
}

/* Parses text (a whole file image) and checks the error. */
static void expect(const char *text, size_t len, const char *want_error)
{
	struct queue_envelope env;
	off_t off;
	uint64_t size;
	const char *error = NULL;
	int ret = queue_file_parse(text, len, &env, &off, &size, &error);

	if (want_error == NULL) {
		UNIT_CHECK(ret == 0);
		if (ret < 0)
			fprintf(stderr, "  unexpected error: %s\n", error);
		queue_envelope_free(&env);
		return;
	}
	UNIT_CHECK(ret == -1);
	UNIT_CHECK(env.rcpts == NULL && env.sender == NULL);
	if (ret < 0 && strcmp(error, want_error) != 0) {
		UNIT_CHECK(0);
		fprintf(stderr, "  got '%s' want '%s'\n", error, want_error);
	}
}

#define HEAD "SUREL-QUEUE 1\nT\t1700000000000000\nS\ts@x\n"
#define RCPT "R\tP\t-\t-\t-\tu@x\n"
#define CLEN(n) "C\t000000000000000000" #n "\n"

static void expects(const char *text, const char *want_error)
{
	expect(text, strlen(text), want_error);
}

static void test_corruption(void)
{
	const char *good = HEAD "A\tk\tv\n" RCPT CLEN(03) "abcE\n";
	size_t good_len = strlen(good);

	expects(good, NULL);
	/* truncated anywhere */
	for (size_t cut = 0; cut < good_len; cut++) {
		struct queue_envelope env;
		off_t off;
		uint64_t size;
		const char *error;
		UNIT_CHECK(queue_file_parse(good, cut, &env, &off, &size,
					    &error) == -1);
	}
	expects("SUREL-QUEUE 2\n", "bad magic");
	expects("MZ\x90", "bad magic");
	/* after the end marker: status records (queue_status.c); a last
	 * one without its LF is a torn append, ignored */
	expects(HEAD RCPT CLEN(03) "abcE\n" "x", NULL);
	expects(HEAD RCPT CLEN(03) "abcE\n" "x\n", "bad status record");
	expects(HEAD RCPT CLEN(04) "abcE\n", "queue file truncated");
	expects(HEAD RCPT CLEN(02) "abcE\n", "missing end marker");
	expects(HEAD RCPT CLEN(03) "abcX\n", "missing end marker");
	expects(HEAD RCPT "C\t3\nabcE\n", "bad content length line");
	expects(HEAD RCPT "C\t18446744073709551615\nabcE\n",
		"bad content length");
	expects(HEAD RCPT, "truncated envelope");
	expects(HEAD CLEN(00) "E\n", "no recipients");
	expects(HEAD "X\tfoo\n", "unexpected envelope line");
	expects(HEAD "R\tX\t-\t-\t-\tu@x\n" CLEN(00) "E\n",
		"bad recipient status byte");
	expects(HEAD "R\tPD\t-\t-\t-\tu@x\n" CLEN(00) "E\n",
		"bad recipient status byte");
	expects(HEAD "R\tP\t-\t-\t-\tu@x\tv\n" CLEN(00) "E\n",
		"bad recipient line");
	expects(HEAD "R\tP\t-\t-\t-\n" CLEN(00) "E\n", "bad recipient line");
	expects(HEAD "R\tP\tSOMETIMES\t-\t-\tu@x\n" CLEN(00) "E\n",
		"bad recipient field");
	expects(HEAD "R\tP\t-\t-\t-\t\n" CLEN(00) "E\n",
		"bad recipient field");
	expects(HEAD "A\tk\tv\tw\n" RCPT CLEN(00) "E\n", "bad attribute line");
	expects(HEAD "A\tK\tv\n" RCPT CLEN(00) "E\n", "bad attribute line");
	expects(HEAD "A\tk\tv\nA\tk\tw\n" RCPT CLEN(00) "E\n",
		"duplicate attribute");
	expects("SUREL-QUEUE 1\nT\tx\n", "bad arrival time line");
	expects("SUREL-QUEUE 1\nT\t1\nS\ta\tb\n", "bad sender line");
	expects("SUREL-QUEUE 1\nT\t1\nS\ta\rb\n", "control character in envelope");
	expect("SUREL-QUEUE 1\nT\t1\nS\ta\0b\n", 25,
	       "control character in envelope");
	expects("SUREL-QUEUE 1\nT\t1\nX\ta\n", "bad sender line");
}

/* Builds HEAD + n attribute or recipient lines + the tail, and checks
 * the error. */
static void expect_many(bool rcpts, size_t n, const char *want)
{
	struct buf b;

	buf_init(&b, 64 * 1024 * 1024);
	UNIT_CHECK(buf_append_str(&b, HEAD) == 0);
	for (size_t i = 0; i < n; i++)
		if ((rcpts ? buf_printf(&b, "R\tD\t-\t-\t-\tu%zu@x\n", i)
			   : buf_printf(&b, "A\ta%zu\tv\n", i)) < 0)
			UNIT_CHECK(0);
	if (!rcpts && buf_append_str(&b, RCPT) < 0)
		UNIT_CHECK(0);
	UNIT_CHECK(buf_append_str(&b, CLEN(00) "E\n") == 0);
	expect(b.data, b.len, want);
	buf_deinit(&b);
}

static void test_limits(void)
{
	/* envelope line length: QUEUE_LINE_MAX bytes including the LF */
	for (int extra = -1; extra <= 1; extra++) {
		struct buf b;
		size_t n = QUEUE_LINE_MAX - strlen("R\tP\t-\t-\t-\t\n") +
			   (size_t)(long)extra;
		buf_init(&b, 1 << 20);
		UNIT_CHECK(buf_append_str(&b, HEAD "R\tP\t-\t-\t-\t") == 0);
		for (size_t i = 0; i < n; i++)
			if (buf_append_char(&b, 'a') < 0)
				UNIT_CHECK(0);
		UNIT_CHECK(buf_append_str(&b, "\n" CLEN(00) "E\n") == 0);
		expect(b.data, b.len,
		       extra <= 0 ? NULL : "envelope line too long");
		buf_deinit(&b);
	}
	expect_many(false, QUEUE_ATTR_MAX - 1, NULL);
	expect_many(false, QUEUE_ATTR_MAX, NULL);
	expect_many(false, QUEUE_ATTR_MAX + 1, "too many attributes");
	expect_many(true, QUEUE_RCPT_MAX, NULL);
	expect_many(true, QUEUE_RCPT_MAX + 1, "too many recipients");
}

/* The reader on a file: the same errors, and a file bigger than its
 * first read so the end marker is read separately. */
static void test_read_fd(void)
{
	char id[QUEUE_ID_MAX], path[512];
	size_t len, clen = 300000;
	char *content = calloc(1, clen);
	struct queue_envelope env;
	off_t off;
	uint64_t size;
	const char *error = NULL;

	memset(content, 'x', clen);
	UNIT_CHECK(write_msg(content, clen, 3, id) == 0);
	path_of(path, sizeof(path), id);
	char *image = read_file(path, &len);
	UNIT_CHECK(queue_file_parse(image, len, &env, &off, &size, &error) ==
		   0);
	queue_envelope_free(&env);
	/* corrupt the end marker on disk */
	int fd = open(path, O_RDWR);
	UNIT_CHECK(pwrite(fd, "X", 1, (off_t)len - 2) == 1);
	UNIT_CHECK(queue_file_read(fd, &env, &off, &size, &error) == -1);
	UNIT_STREQ(error, "missing end marker");
	UNIT_CHECK(ftruncate(fd, (off_t)len - 1) == 0);
	UNIT_CHECK(queue_file_read(fd, &env, &off, &size, &error) == -1);
	UNIT_STREQ(error, "queue file truncated");
	UNIT_CHECK(ftruncate(fd, 100) == 0);
	UNIT_CHECK(queue_file_read(fd, &env, &off, &size, &error) == -1);
	UNIT_STREQ(error, "truncated envelope");
	UNIT_CHECK(ftruncate(fd, 5) == 0);
	UNIT_CHECK(queue_file_read(fd, &env, &off, &size, &error) == -1);
	UNIT_STREQ(error, "truncated envelope");
	UNIT_CHECK(pwrite(fd, "X", 1, 0) == 1);
	UNIT_CHECK(queue_file_read(fd, &env, &off, &size, &error) == -1);
	UNIT_STREQ(error, "bad magic");
	UNIT_CHECK(ftruncate(fd, 0) == 0);
	UNIT_CHECK(queue_file_read(fd, &env, &off, &size, &error) == -1);
	UNIT_STREQ(error, "truncated envelope");
	struct queue_rcpt r = { .status_offset = 0 };
	UNIT_CHECK(queue_file_mark_done(fd, &r) == -1);
	close(fd);
	unlink(path);
	free(image);
	free(content);
}

/* Removes the test queue: whatever is left in incoming/, then the dirs. */
static void cleanup(void)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/incoming", qdir);
	DIR *d = opendir(path);
	struct dirent *de;
	int left = 0;
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		left++;
		unlinkat(dirfd(d), de->d_name, 0);
	}
	if (d != NULL)
		closedir(d);
	/* every test removed its files or had them removed by the writer,
	 * except the three committed line-length tests */
	UNIT_CHECK(left == 2);
	rmdir(path);
	rmdir(qdir);
}

/* An attribute decided after the envelope: its place is a "pad" filler
 * until filled (in the buffer for small content, by pwrite when the
 * envelope is on disk already). */
static void test_late_attr(size_t content_len, bool fill)
{
	struct queue_envelope env = { .sender = strdup("s@example.org") };
	struct queue_writer *w;
	char id[QUEUE_ID_MAX], path[512];
	const char *error;
	char *content = calloc(1, content_len + 1);
	off_t off;
	uint64_t size;

	memset(content, 'x', content_len);
	queue_envelope_add_attr(&env, "helo_name", "h");
	queue_envelope_add_rcpt(&env, "r@example.test", NULL, NULL, NULL);
	UNIT_CHECK(queue_writer_open(qdir, &w, &error) == 0);
	queue_writer_reserve_attr(w, "hold", "yes");
	UNIT_CHECK(queue_writer_envelope(w, &env, &error) == 0);
	UNIT_CHECK(queue_writer_content(w, content, content_len, &error) == 0);
	if (fill)
		UNIT_CHECK(queue_writer_fill_attr(w, &error) == 0);
	snprintf(id, sizeof(id), "%s", queue_writer_id(w));
	UNIT_CHECK(queue_writer_commit(&w, &error) == 0);
	queue_envelope_free(&env);
	path_of(path, sizeof(path), id);
	int fd = open(path, O_RDONLY);
	UNIT_CHECK(fd >= 0);
	UNIT_CHECK(queue_file_read(fd, &env, &off, &size, &error) == 0);
	UNIT_CHECK(size == content_len);
	UNIT_STREQ(queue_envelope_attr(&env, "helo_name"), "h");
	if (fill) {
		UNIT_STREQ(queue_envelope_attr(&env, "hold"), "yes");
		UNIT_CHECK(queue_envelope_attr(&env, "pad") == NULL);
	} else {
		UNIT_CHECK(queue_envelope_attr(&env, "hold") == NULL);
		UNIT_STREQ(queue_envelope_attr(&env, "pad"), "----");
	}
	queue_envelope_free(&env);
	close(fd);
	unlink(path);
	free(content);
}

int main(void)
{
	char cmd[128];

	if (mkdtemp(qdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(cmd, sizeof(cmd), "%s/incoming", qdir);
	if (mkdir(cmd, 0700) < 0) {
		perror("mkdir");
		return 1;
	}
	test_ids();
	test_round_trip(0, 1);
	test_round_trip(1000, 2);
	test_round_trip(200000, 5);
	test_round_trip(65536 - 300, 3);
	test_writer_refuses();
	test_corruption();
	test_limits();
	test_read_fd();
	test_late_attr(10, true);
	test_late_attr(10, false);
	test_late_attr(300000, true);
	cleanup();
	return unit_done();
}
