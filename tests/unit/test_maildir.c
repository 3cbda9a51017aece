/* test_maildir: deliveries into a temporary Maildir: the exact bytes, the
 * name with its S= size and W= virtual size, unique names, and each kind
 * of failure with its status (temporary for a missing base or an
 * unwritable Maildir). */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "maildir.h"
#include "mem.h"
#include "unit.h"

static char dir[] = "/tmp/test_maildir.XXXXXX";
static char base[600], box[700], content_path[600];

static const char prefix[] = "Return-Path: <s@x>\nDelivered-To: r@y\n";

/* A queue-file stand-in: junk, then the content at offset 100. */
static int make_content(const char *content, size_t len)
{
	char junk[100];
	int fd = open(content_path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	memset(junk, '#', sizeof(junk));
	if (fd < 0 || write(fd, junk, sizeof(junk)) != sizeof(junk) ||
	    (len > 0 && write(fd, content, len) != (ssize_t)len) ||
	    write(fd, "E\n", 2) != 2)
		abort();
	return fd;
}

static size_t count_files(const char *maildir, const char *sub)
{
	char path[800];
	size_t n = 0;
	struct dirent *e;

	snprintf(path, sizeof(path), "%s/%s", maildir, sub);
	DIR *d = opendir(path);
	if (d == NULL)
		return (size_t)-1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static char *read_all(const char *path, size_t *len_r)
{
	struct stat st;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	char *data = xmalloc((size_t)st.st_size + 1);
	ssize_t n = read(fd, data, (size_t)st.st_size);
	close(fd);
	*len_r = n < 0 ? 0 : (size_t)n;
	return data;
}

static int deliver(const char *maildir, int fd, size_t len, char **path_r,
		   const char **dsn_r)
{
	struct maildir_delivery d = {
		.base = base,
		.hostname = "mx.example.test",
		.prefix = prefix,
		.prefix_len = strlen(prefix),
		.content_fd = fd,
		.content_offset = 100,
		.content_size = len,
	};
	const char *error;

	*dsn_r = NULL;
	return maildir_deliver(maildir, &d, path_r, dsn_r, &error);
}

/* The LFs of s[0..len) that are not the second half of a CRLF, counted
 * the simplest way (the code under test counts block by block). */
static size_t bare_lf(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += s[i] == '\n' && (i == 0 || s[i - 1] != '\r');
	return n;
}

/* The delivered file holds exactly prefix + content and is named
 * SECONDS.M<usec>P<pid>Q<n>.HOST,S=<size>,W=<size + bare LFs>. */
static void check_delivered(const char *path, const char *content, size_t len)
{
	size_t got_len, want_len = strlen(prefix) + len;
	char *got = read_all(path, &got_len);
	char suffix[96];

	UNIT_CHECK(got != NULL && got_len == want_len &&
		   memcmp(got, prefix, strlen(prefix)) == 0 &&
		   memcmp(got + strlen(prefix), content, len) == 0);
	/* The prefix ends in LF: a CR at the content's start is no CRLF. */
	size_t vsize = want_len + bare_lf(prefix, strlen(prefix)) +
		bare_lf(content, len);
	free(got);
	snprintf(suffix, sizeof(suffix), ".mx.example.test,S=%zu,W=%zu",
		 want_len, vsize);
	UNIT_CHECK(strlen(path) > strlen(suffix) &&
		   strcmp(path + strlen(path) - strlen(suffix), suffix) == 0);
	const char *name = strrchr(path, '/') + 1;
	char pid[32];
	snprintf(pid, sizeof(pid), "P%ldQ", (long)getpid());
	UNIT_CHECK(strspn(name, "0123456789") >= 9 &&
		   strstr(name, ".M") != NULL && strstr(name, pid) != NULL);
	UNIT_CHECK(strstr(path, "/new/") != NULL);
}

static void test_deliver(void)
{
	static const char msg[] = "Subject: hi\n\nbody\n";
	char *path1, *path2;
	const char *dsn;
	struct stat st;

	int fd = make_content(msg, strlen(msg));
	UNIT_CHECK(deliver(box, fd, strlen(msg), &path1, &dsn) == 0);
	check_delivered(path1, msg, strlen(msg));
	UNIT_CHECK(count_files(box, "tmp") == 0);
	UNIT_CHECK(count_files(box, "cur") == 0);
	UNIT_CHECK(stat(box, &st) == 0 && (st.st_mode & 0777) == 0700);
	/* A second delivery gets another name. */
	UNIT_CHECK(deliver(box, fd, strlen(msg), &path2, &dsn) == 0);
	UNIT_CHECK(strcmp(path1, path2) != 0);
	UNIT_CHECK(count_files(box, "new") == 2);
	free(path1);
	free(path2);
	close(fd);

	/* Empty content, and content larger than any copy block. */
	fd = make_content("", 0);
	UNIT_CHECK(deliver(box, fd, 0, &path1, &dsn) == 0);
	check_delivered(path1, "", 0);
	free(path1);
	close(fd);
	size_t big_len = 300 * 1024 + 7;
	char *big = xmalloc(big_len);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (char)('a' + i % 26);
	fd = make_content(big, big_len);
	UNIT_CHECK(deliver(box, fd, big_len, &path1, &dsn) == 0);
	check_delivered(path1, big, big_len);
	free(path1);
	close(fd);
	free(big);
	/* new/ removed by someone: recreated. */
	char newdir[800];
	snprintf(newdir, sizeof(newdir), "%s/new", box);
	fd = make_content(msg, strlen(msg));
	DIR *d = opendir(newdir);
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL) {
		char p[1100];
		snprintf(p, sizeof(p), "%s/%s", newdir, e->d_name);
		if (e->d_name[0] != '.')
			unlink(p);
	}
	if (d != NULL)
		closedir(d);
	UNIT_CHECK(rmdir(newdir) == 0);
	UNIT_CHECK(deliver(box, fd, strlen(msg), NULL, &dsn) == 0);
	UNIT_CHECK(count_files(box, "new") == 1);
	close(fd);
}

/* W= is S plus one per line (LF-only content, as the queue holds it);
 * CRLF lines count once, also when the CR ends one copy block and the LF
 * starts the next. */
static void test_vsize(void)
{
	static const char three[] = "A: b\n\nline\n";
	const char *dsn;
	char *path, want[64];

	int fd = make_content(three, strlen(three));
	UNIT_CHECK(deliver(box, fd, strlen(three), &path, &dsn) == 0);
	check_delivered(path, three, strlen(three));
	/* prefix: 2 lines, content: 3 lines. */
	size_t s = strlen(prefix) + strlen(three);
	snprintf(want, sizeof(want), ",S=%zu,W=%zu", s, s + 5);
	UNIT_CHECK(path != NULL && strstr(path, want) != NULL);
	free(path);
	close(fd);

	static const char mixed[] = "a\r\nb\nc\rd\r\n\n\r";
	fd = make_content(mixed, strlen(mixed));
	UNIT_CHECK(deliver(box, fd, strlen(mixed), &path, &dsn) == 0);
	check_delivered(path, mixed, strlen(mixed));
	s = strlen(prefix) + strlen(mixed);
	snprintf(want, sizeof(want), ",S=%zu,W=%zu", s, s + 2 + 2);
	UNIT_CHECK(path != NULL && strstr(path, want) != NULL);
	free(path);
	close(fd);

	/* CR as the last byte of the first 64 KiB block, LF the first of
	 * the next; and a bare LF at the start of the third. */
	size_t big_len = 2 * 65536 + 10;
	char *big = xmalloc(big_len);
	memset(big, 'x', big_len);
	big[65535] = '\r';
	big[65536] = '\n';
	big[2 * 65536] = '\n';
	big[big_len - 1] = '\n';
	fd = make_content(big, big_len);
	UNIT_CHECK(deliver(box, fd, big_len, &path, &dsn) == 0);
	check_delivered(path, big, big_len);
	s = strlen(prefix) + big_len;
	snprintf(want, sizeof(want), ",S=%zu,W=%zu", s, s + 2 + 2);
	UNIT_CHECK(path != NULL && strstr(path, want) != NULL);
	free(path);
	close(fd);
	free(big);
}

static void test_failures(void)
{
	static const char msg[] = "x\n";
	char other[900], file[700];
	const char *dsn;
	char *path = NULL;
	int fd = make_content(msg, strlen(msg));

	/* Content announced longer than the file: temporary, no leftovers. */
	UNIT_CHECK(deliver(box, fd, 1000, &path, &dsn) < 0);
	UNIT_STREQ(dsn, "4.3.0");
	UNIT_CHECK(count_files(box, "tmp") == 0);

	/* Missing base: temporary, and nothing is created. */
	struct maildir_delivery d = {
		.base = "/nonexistent-surel-base",
		.hostname = "h",
		.content_fd = fd,
		.content_offset = 100,
		.content_size = 2,
	};
	const char *error;
	UNIT_CHECK(maildir_deliver("/nonexistent-surel-base/a/b", &d, NULL,
				   &dsn, &error) < 0);
	UNIT_CHECK(dsn != NULL && dsn[0] == '4');
	UNIT_CHECK(access("/nonexistent-surel-base", F_OK) < 0);

	/* A path through a regular file: a configuration problem. */
	snprintf(file, sizeof(file), "%s/plainfile", base);
	close(open(file, O_WRONLY | O_CREAT, 0600));
	snprintf(other, sizeof(other), "%s/box", file);
	UNIT_CHECK(deliver(other, fd, 2, NULL, &dsn) < 0);
	UNIT_STREQ(dsn, "4.3.5");

	/* Unwritable Maildir: temporary (root ignores the mode). */
	if (geteuid() != 0) {
		char tmp[800];
		snprintf(tmp, sizeof(tmp), "%s/tmp", box);
		UNIT_CHECK(chmod(tmp, 0500) == 0);
		UNIT_CHECK(deliver(box, fd, 2, NULL, &dsn) < 0);
		UNIT_STREQ(dsn, "4.3.0");
		UNIT_CHECK(chmod(tmp, 0700) == 0);
		UNIT_CHECK(chmod(base, 0500) == 0);
		snprintf(other, sizeof(other), "%s/newdomain/user", base);
		UNIT_CHECK(deliver(other, fd, 2, NULL, &dsn) < 0);
		UNIT_STREQ(dsn, "4.3.0");
		UNIT_CHECK(chmod(base, 0700) == 0);
	} else {
		printf("test_maildir: running as root: unwritable-Maildir "
		       "cases skipped\n");
	}

	/* A file size limit: the message can never fit, permanent. */
	struct rlimit old, lim;
	UNIT_CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
	lim = old;
	lim.rlim_cur = 20;
	signal(SIGXFSZ, SIG_IGN);
	UNIT_CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	UNIT_CHECK(deliver(box, fd, 2, NULL, &dsn) < 0);
	UNIT_CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
	UNIT_STREQ(dsn, "5.2.3");
	UNIT_CHECK(count_files(box, "tmp") == 0);
	close(fd);
	free(path);
}

/* Ranges of the content left out: the file, S= and W= without them; bad
 * ranges refused before anything is written. */
static void test_skip(void)
{
	static const char msg[] = "A: 1\nX: drop\n me\nB: 2\nY: x\n\nbody\n";
	static const char want[] = "A: 1\nB: 2\n\nbody\n";
	int fd = make_content(msg, strlen(msg));
	struct maildir_skip skip[] = { { 5, 12 }, { 22, 5 } };
	struct maildir_delivery d = {
		.base = base,
		.hostname = "mx.example.test",
		.prefix = prefix,
		.prefix_len = strlen(prefix),
		.content_fd = fd,
		.content_offset = 100,
		.content_size = strlen(msg),
		.skip = skip,
		.skip_count = 2,
	};
	const char *dsn, *error;
	char *path = NULL;

	UNIT_CHECK(maildir_deliver(box, &d, &path, &dsn, &error) == 0);
	if (path != NULL)
		check_delivered(path, want, strlen(want));
	free(path);
	/* Out of order, overlapping, past the end. */
	size_t before = count_files(box, "new");
	struct maildir_skip bad[][2] = {
		{ { 22, 5 }, { 5, 12 } }, { { 5, 12 }, { 10, 2 } },
		{ { 5, 12 }, { 30, 100 } },
	};
	for (size_t i = 0; i < 3; i++) {
		d.skip = bad[i];
		UNIT_CHECK(maildir_deliver(box, &d, NULL, &dsn, &error) < 0);
		UNIT_STREQ(dsn, "4.3.0");
	}
	UNIT_CHECK(count_files(box, "new") == before);
	UNIT_CHECK(count_files(box, "tmp") == 0);
	close(fd);
}

static void test_escape(void)
{
	char out[64];

	UNIT_CHECK(maildir_escape_host(out, sizeof(out), "a/b:c") == 0);
	UNIT_STREQ(out, "a\\057b\\072c");
	UNIT_CHECK(maildir_escape_host(out, 5, "abcd") == 0);
	UNIT_CHECK(maildir_escape_host(out, 4, "abcd") < 0);
	UNIT_CHECK(maildir_escape_host(out, 5, "a/") < 0);
	UNIT_CHECK(maildir_escape_host(out, 6, "a/") == 0);
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		return 2;
	snprintf(base, sizeof(base), "%s/base", dir);
	snprintf(box, sizeof(box), "%s/example.test/demo", base);
	snprintf(content_path, sizeof(content_path), "%s/content", dir);
	if (mkdir(base, 0700) < 0)
		return 2;
	test_escape();
	test_deliver();
	test_vsize();
	test_failures();
	test_skip();
	unit_rmtree(dir);
	return unit_done();
}
