/* test_maildir_quota: the maildirsize parser (good, bad, padded,
 * negative, huge and overflowing numbers, the size limit, every prefix of
 * a file), the over-quota test, and on a temporary Maildir: when a file
 * is trusted and when the Maildir is counted again, what is counted, the
 * file a count writes, and appended changes. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include "maildir_quota.h"
#include "mem.h"
#include "unit.h"

static char dir[] = "/tmp/test_maildir_quota.XXXXXX";
static char root[600], qfile[700];

/* ------------------------------------------------------------ parser */

struct parse_case {
	const char *data;
	int ret;
	uint64_t lbytes, lcount;
	int64_t ubytes, ucount;
};

static const struct parse_case parse_cases[] = {
	{ "1000S\n10 1\n", 0, 1000, 0, 10, 1 },
	{ "1000S,5C\n10 1\n20 2\n", 0, 1000, 5, 30, 3 },
	{ "5C,1000S\n10 1\n", 0, 1000, 5, 10, 1 },
	{ "7C\n1 1\n", 0, 0, 7, 1, 1 },
	{ "0S\n0 0\n", 0, 0, 0, 0, 0 },
	{ "\n3 1\n", 0, 0, 0, 3, 1 },		/* empty limit line */
	{ "1000S\n", 0, 1000, 0, 0, 0 },	/* no change line yet */
	/* Courier pads with blanks. */
	{ "1000S\n         123            4\n", 0, 1000, 0, 123, 4 },
	{ "1000S\n5\t1 \n", 0, 1000, 0, 5, 1 },
	{ "1000S\n100 2\n-50 -1\n+7 +1\n", 0, 1000, 0, 57, 2 },
	/* A negative step is fine, a negative total is damage. */
	{ "1000S\n-5 -1\n10 2\n", 0, 1000, 0, 5, 1 },
	{ "1000S\n10 1\n-11 -1\n", -1, 0, 0, 0, 0 },
	{ "1000S\n10 1\n-10 -2\n", -1, 0, 0, 0, 0 },
	/* Largest numbers, and one past them. */
	{ "9223372036854775807S,9223372036854775807C\n"
	  "9223372036854775807 9223372036854775807\n", 0,
	  9223372036854775807ull, 9223372036854775807ull,
	  9223372036854775807ll, 9223372036854775807ll },
	{ "9223372036854775808S\n0 0\n", -1, 0, 0, 0, 0 },
	{ "1S\n9223372036854775808 1\n", -1, 0, 0, 0, 0 },
	{ "1S\n1 -9223372036854775808\n", -1, 0, 0, 0, 0 },
	{ "1S\n00000000000000000001 1\n", -1, 0, 0, 0, 0 },
	{ "1S\n0000000000000000001 1\n", 0, 1, 0, 1, 1 },
	{ "1S\n99999999999999999999999 1\n", -1, 0, 0, 0, 0 },
	/* Sums that overflow. */
	{ "1S\n9223372036854775807 1\n1 1\n", -1, 0, 0, 0, 0 },
	{ "1S\n1 9223372036854775807\n1 1\n", -1, 0, 0, 0, 0 },
	{ "1S\n-9223372036854775807 0\n-9223372036854775807 0\n", -1, 0, 0, 0,
	  0 },
	/* Damaged limit lines. */
	{ "1000X\n1 1\n", -1, 0, 0, 0, 0 },
	{ "1000S,\n1 1\n", -1, 0, 0, 0, 0 },
	{ ",1000S\n1 1\n", -1, 0, 0, 0, 0 },
	{ "1000S,1000S\n1 1\n", -1, 0, 0, 0, 0 },
	{ "1C,2C\n1 1\n", -1, 0, 0, 0, 0 },
	{ "S\n1 1\n", -1, 0, 0, 0, 0 },
	{ "-5S\n1 1\n", -1, 0, 0, 0, 0 },
	{ " 1000S\n1 1\n", -1, 0, 0, 0, 0 },
	{ "1000S \n1 1\n", -1, 0, 0, 0, 0 },
	{ "1000s\n1 1\n", -1, 0, 0, 0, 0 },
	{ "1000S\r\n1 1\n", -1, 0, 0, 0, 0 },
	/* Damaged change lines. */
	{ "1000S\n\n", -1, 0, 0, 0, 0 },
	{ "1000S\n1\n", -1, 0, 0, 0, 0 },
	{ "1000S\n1 \n", -1, 0, 0, 0, 0 },
	{ "1000S\n1 2 3\n", -1, 0, 0, 0, 0 },
	{ "1000S\na b\n", -1, 0, 0, 0, 0 },
	{ "1000S\n1 2x\n", -1, 0, 0, 0, 0 },
	{ "1000S\n1,2\n", -1, 0, 0, 0, 0 },
	{ "1000S\n- 1 2\n", -1, 0, 0, 0, 0 },
	{ "1000S\n1 --2\n", -1, 0, 0, 0, 0 },
	{ "1000S\n1 2\r\n", -1, 0, 0, 0, 0 },
	/* The file as a whole. */
	{ "", -1, 0, 0, 0, 0 },
	{ "1000S", -1, 0, 0, 0, 0 },
	{ "1000S\n1 1", -1, 0, 0, 0, 0 },
};

static void test_parse_table(void)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(*parse_cases);
	     i++) {
		const struct parse_case *c = &parse_cases[i];
		struct maildir_quota_limit lim = { 99, 99 };
		struct maildir_quota_usage use = { 99, 99 };
		const char *error = NULL;
		int ret = maildir_quota_parse(c->data, strlen(c->data), &lim,
					      &use, &error);
		if (ret != c->ret)
			fprintf(stderr, "case %zu: %s\n", i, c->data);
		UNIT_CHECK(ret == c->ret);
		if (ret < 0) {
			UNIT_CHECK(error != NULL && *error != '\0');
			continue;
		}
		UNIT_CHECK(lim.bytes == c->lbytes && lim.count == c->lcount);
		UNIT_CHECK(use.bytes == c->ubytes && use.count == c->ucount);
	}
}

static void test_parse_nul_and_size(void)
{
	struct maildir_quota_limit lim;
	struct maildir_quota_usage use;
	const char *error;
	static const char nul[] = "1000S\n1\0 1\n";

	UNIT_CHECK(maildir_quota_parse(nul, sizeof(nul) - 1, &lim, &use,
				       &error) < 0);
	/* A file of exactly MAILDIR_QUOTA_MAX_SIZE bytes is read, one more
	 * byte is too large: limit - 1, limit, limit + 1. */
	char *big = xmalloc(MAILDIR_QUOTA_MAX_SIZE + 2);
	for (size_t extra = 0; extra < 3; extra++) {
		size_t len = MAILDIR_QUOTA_MAX_SIZE - 1 + extra;
		size_t o = (size_t)snprintf(big, 16, "1000S\n");
		/* "1 1\n" lines, then blanks padding the last line. */
		while (o + 8 <= len) {
			memcpy(big + o, "1 1\n", 4);
			o += 4;
		}
		memset(big + o, ' ', len - o - 4);
		memcpy(big + len - 4, "1 1\n", 4);
		int ret = maildir_quota_parse(big, len, &lim, &use, &error);
		UNIT_CHECK(extra < 2 ? ret == 0 : ret < 0);
		UNIT_CHECK(ret < 0 || (use.bytes > 1000 &&
				       use.bytes == use.count));
	}
	free(big);
}

/* Every prefix of a file: one that ends after a line parses with the
 * lines so far, any other is incomplete. */
static void test_parse_prefixes(void)
{
	static const char data[] = "2000S,10C\n  100    1\n-40 -1\n55 2\n";
	static const int64_t bytes_after[] = { 0, 100, 60, 115 };
	static const int64_t count_after[] = { 0, 1, 0, 2 };
	size_t lines = 0;
	bool all_ok = true;

	for (size_t len = 0; len <= strlen(data); len++) {
		struct maildir_quota_limit lim;
		struct maildir_quota_usage use;
		const char *error;
		int ret = maildir_quota_parse(data, len, &lim, &use, &error);
		bool complete = len > 0 && data[len - 1] == '\n';
		if (!complete) {
			all_ok &= ret < 0;
			continue;
		}
		all_ok &= ret == 0 && lim.bytes == 2000 && lim.count == 10 &&
			use.bytes == bytes_after[lines] &&
			use.count == count_after[lines];
		lines++;
	}
	UNIT_CHECK(all_ok);
	UNIT_CHECK(lines == 4);
}

static void test_exceeded(void)
{
	struct maildir_quota_limit none = { 0, 0 }, lim = { 1000, 10 };
	struct maildir_quota_usage u = { 900, 5 };

	UNIT_CHECK(!maildir_quota_exceeded(&none, &u, UINT64_MAX, UINT64_MAX));
	UNIT_CHECK(!maildir_quota_exceeded(&lim, &u, 99, 1));
	UNIT_CHECK(!maildir_quota_exceeded(&lim, &u, 100, 1));	/* = limit */
	UNIT_CHECK(maildir_quota_exceeded(&lim, &u, 101, 1));
	UNIT_CHECK(!maildir_quota_exceeded(&lim, &u, 0, 5));
	UNIT_CHECK(maildir_quota_exceeded(&lim, &u, 0, 6));
	/* Already over: even an empty message is refused. */
	struct maildir_quota_usage over = { 1001, 1 };
	UNIT_CHECK(maildir_quota_exceeded(&lim, &over, 0, 0));
	/* Counted only in bytes. */
	struct maildir_quota_limit bytes_only = { 1000, 0 };
	struct maildir_quota_usage many = { 0, INT64_MAX };
	UNIT_CHECK(!maildir_quota_exceeded(&bytes_only, &many, 1000, 1));
	/* Negative usage counts as none; sums do not wrap around. */
	struct maildir_quota_usage neg = { -500, -1 };
	UNIT_CHECK(!maildir_quota_exceeded(&lim, &neg, 1000, 10));
	UNIT_CHECK(maildir_quota_exceeded(&lim, &neg, 1001, 1));
	struct maildir_quota_limit huge = { UINT64_MAX, 0 };
	struct maildir_quota_usage max = { INT64_MAX, 0 };
	UNIT_CHECK(maildir_quota_exceeded(&huge, &max, UINT64_MAX, 0));
	UNIT_CHECK(!maildir_quota_exceeded(&huge, &max, 1, 0));
}

/* ----------------------------------------------------------- on disk */

static void put(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, data, len) != (ssize_t)len || close(fd) < 0)
		abort();
}

static void put_in(const char *sub, const char *name, size_t size)
{
	char path[900];
	char *data = xmalloc(size + 1);

	memset(data, 'x', size);
	snprintf(path, sizeof(path), "%s/%s/%s", root, sub, name);
	put(path, data, size);
	free(data);
}

static char *read_text(const char *path)
{
	static char buf[8192];
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static void mk(const char *sub)
{
	char path[900];

	snprintf(path, sizeof(path), "%s/%s", root, sub);
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		abort();
}

/* Sets maildirsize's mtime back by secs. */
static void age(int secs)
{
	struct timeval tv[2];

	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= secs;
	tv[1] = tv[0];
	if (utimes(qfile, tv) < 0)
		abort();
}

/* A Maildir with known content: INBOX new/ cur/, two folders, and what
 * must not be counted. Sizes: 100 (S=, not the real size) + 50 (stat) +
 * 7 (S= with flags) + 20 (folder, stat) + 3 (folder, S=) = 180 in 5. */
static void make_maildir(void)
{
	char path[900], target[900];

	if (mkdir(root, 0700) < 0)
		abort();
	mk("new");
	mk("cur");
	mk("tmp");
	mk(".Sent");
	mk(".Sent/new");
	mk(".Sent/cur");
	mk(".Trash");
	mk(".Trash/cur");
	put_in("new", "1.M1P1.host,S=100", 10);
	put_in("new", "2.M1P1.host", 50);
	put_in("cur", "3.M1P1.host,S=7,W=8:2,S", 1);
	put_in(".Sent/cur", "4.M1P1.host:2,S", 20);
	put_in(".Trash/cur", "5.M1P1.host,S=3:2,ST", 1);
	/* Not messages: dot files, a bad S= falls back to stat() (so 4
	 * bytes), files outside new/ cur/, tmp/, a subdirectory. */
	put_in("new", ".hidden,S=1000", 1);
	put_in("tmp", "6.M1P1.host,S=1000", 1);
	put_in(".Sent", "dovecot-uidlist,S=1000", 1);
	mk("cur/subdir");
	put_in("cur", "7.M1P1.host,S=12x", 4);
	/* A folder that is a link (to a folder full of mail) and a file
	 * named like a folder: neither is counted. */
	snprintf(path, sizeof(path), "%s/.Link", root);
	snprintf(target, sizeof(target), "%s/.Sent", root);
	if (symlink(target, path) < 0)
		abort();
	put_in(".", ".Notafolder", 1);
}

#define TOTAL_BYTES 184
#define TOTAL_COUNT 6

static void test_recount(void)
{
	struct maildir_quota_limit lim = { 1000, 0 }, got;
	struct maildir_quota_usage use;
	const char *error;
	struct stat st;
	char want[128];

	/* Missing, with a limit: counted and written, mode of the Maildir. */
	UNIT_CHECK(maildir_quota_get(root, &lim, &use, &got, &error) == 0);
	UNIT_CHECK(use.bytes == TOTAL_BYTES && use.count == TOTAL_COUNT);
	UNIT_CHECK(got.bytes == 1000 && got.count == 0);
	snprintf(want, sizeof(want), "1000S\n%d %d\n", TOTAL_BYTES,
		 TOTAL_COUNT);
	UNIT_STREQ(read_text(qfile), want);
	UNIT_CHECK(stat(qfile, &st) == 0 && (st.st_mode & 0777) == 0600);
	char tmpdir[800];
	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", root);

	/* A file that matches is trusted (its figures are not the truth). */
	put(qfile, "1000S\n5 1\n", 10);
	UNIT_CHECK(maildir_quota_get(root, &lim, &use, NULL, &error) == 0);
	UNIT_CHECK(use.bytes == 5 && use.count == 1);
	UNIT_STREQ(read_text(qfile), "1000S\n5 1\n");

	/* NULL keeps the file's limit and reports it. */
	put(qfile, "2000S,3C\n5 1\n", 13);
	UNIT_CHECK(maildir_quota_get(root, NULL, &use, &got, &error) == 0);
	UNIT_CHECK(got.bytes == 2000 && got.count == 3 && use.bytes == 5);

	/* Another limit: counted again, line 1 rewritten. */
	struct maildir_quota_limit both = { 5000, 50 };
	UNIT_CHECK(maildir_quota_get(root, &both, &use, NULL, &error) == 0);
	UNIT_CHECK(use.bytes == TOTAL_BYTES);
	snprintf(want, sizeof(want), "5000S,50C\n%d %d\n", TOTAL_BYTES,
		 TOTAL_COUNT);
	UNIT_STREQ(read_text(qfile), want);
	struct maildir_quota_limit count_only = { 0, 9 }, none = { 0, 0 };
	UNIT_CHECK(maildir_quota_get(root, &count_only, &use, NULL,
				     &error) == 0);
	snprintf(want, sizeof(want), "9C\n%d %d\n", TOTAL_BYTES, TOTAL_COUNT);
	UNIT_STREQ(read_text(qfile), want);
	UNIT_CHECK(maildir_quota_get(root, &none, &use, NULL, &error) == 0);
	snprintf(want, sizeof(want), "0S\n%d %d\n", TOTAL_BYTES, TOTAL_COUNT);
	UNIT_STREQ(read_text(qfile), want);

	/* Damaged: counted again; NULL keeps line 1's limit. */
	put(qfile, "3000S\n5 x\n", 10);
	UNIT_CHECK(maildir_quota_get(root, NULL, &use, &got, &error) == 0);
	UNIT_CHECK(use.bytes == TOTAL_BYTES && got.bytes == 3000);
	snprintf(want, sizeof(want), "3000S\n%d %d\n", TOTAL_BYTES,
		 TOTAL_COUNT);
	UNIT_STREQ(read_text(qfile), want);
	/* Only a limit line: counted. */
	put(qfile, "3000S\n", 6);
	UNIT_CHECK(maildir_quota_get(root, NULL, &use, &got, &error) == 0);
	UNIT_CHECK(use.bytes == TOTAL_BYTES && got.bytes == 3000);
	/* Over MAILDIR_QUOTA_MAX_SIZE: counted. */
	char *big = xmalloc(MAILDIR_QUOTA_MAX_SIZE + 64);
	size_t o = (size_t)snprintf(big, 16, "3000S\n");
	while (o <= MAILDIR_QUOTA_MAX_SIZE) {
		memcpy(big + o, "1 0\n", 4);
		o += 4;
	}
	put(qfile, big, o);
	free(big);
	UNIT_CHECK(maildir_quota_get(root, NULL, &use, &got, &error) == 0);
	UNIT_CHECK(use.bytes == TOTAL_BYTES && got.bytes == 3000);
	UNIT_STREQ(read_text(qfile), want);
	/* A link in its place: replaced, not followed. */
	char other[800];
	snprintf(other, sizeof(other), "%s/elsewhere", dir);
	put(other, "1S\n1 1\n", 7);
	UNIT_CHECK(unlink(qfile) == 0 && symlink(other, qfile) == 0);
	UNIT_CHECK(maildir_quota_get(root, &lim, &use, NULL, &error) == 0);
	UNIT_CHECK(use.bytes == TOTAL_BYTES);
	UNIT_CHECK(lstat(qfile, &st) == 0 && S_ISREG(st.st_mode));
	UNIT_STREQ(read_text(other), "1S\n1 1\n");
}

/* Figures over the limit are believed only from a fresh count. */
static void test_over_quota_recount(void)
{
	struct maildir_quota_limit lim = { 1000, 0 };
	struct maildir_quota_usage use;
	const char *error;

	/* One line, fresh: believed. */
	put(qfile, "1000S\n5000 1\n", 13);
	UNIT_CHECK(maildir_quota_get(root, &lim, &use, NULL, &error) == 0);
	UNIT_CHECK(use.bytes == 5000);
	/* One line, but 16 minutes old: counted. */
	age(16 * 60);
	UNIT_CHECK(maildir_quota_get(root, &lim, &use, NULL, &error) == 0);
	UNIT_CHECK(use.bytes == TOTAL_BYTES);
	/* Two lines: counted. */
	put(qfile, "1000S\n4000 1\n1000 1\n", 21);
	UNIT_CHECK(maildir_quota_get(root, &lim, &use, NULL, &error) == 0);
	UNIT_CHECK(use.bytes == TOTAL_BYTES);
	/* Under the limit with many lines: believed (no count needed). */
	put(qfile, "1000S\n400 1\n100 1\n", 18);
	UNIT_CHECK(maildir_quota_get(root, &lim, &use, NULL, &error) == 0);
	UNIT_CHECK(use.bytes == 500 && use.count == 2);

	/* check: the message fits on the file's word. */
	UNIT_CHECK(maildir_quota_check(root, &lim, 500, 1, &use, &error) == 1);
	UNIT_CHECK(use.bytes == 500);
	/* Does not fit on the file's word, but that is a sum of changes:
	 * counted (184 + 800 fits). */
	UNIT_CHECK(maildir_quota_check(root, &lim, 800, 1, &use, &error) == 1);
	UNIT_CHECK(use.bytes == TOTAL_BYTES);
	/* A fresh count: refused without counting again. */
	put(qfile, "1000S\n900 1\n", 12);
	UNIT_CHECK(maildir_quota_check(root, &lim, 101, 1, &use, &error) == 0);
	UNIT_CHECK(use.bytes == 900);
	UNIT_CHECK(maildir_quota_check(root, &lim, 100, 1, &use, &error) == 1);
	/* Counted and still too big: refused. */
	age(3600);
	UNIT_CHECK(maildir_quota_check(root, &lim, 1000 - TOTAL_BYTES + 1, 1,
				       &use, &error) == 0);
	UNIT_CHECK(use.bytes == TOTAL_BYTES);
	/* A count limit. */
	struct maildir_quota_limit cnt = { 0, TOTAL_COUNT + 1 };
	UNIT_CHECK(maildir_quota_check(root, &cnt, 1 << 30, 1, &use,
				       &error) == 1);
	UNIT_CHECK(maildir_quota_check(root, &cnt, 1, 2, &use, &error) == 0);
}

static void test_update(void)
{
	struct maildir_quota_limit lim = { 1000, 0 };
	struct maildir_quota_usage use;
	const char *error;
	char want[128];

	put(qfile, "1000S\n10 1\n", 11);
	UNIT_CHECK(maildir_quota_update(root, 300, 1, &error) == 0);
	UNIT_CHECK(maildir_quota_update(root, -10, -1, &error) == 0);
	UNIT_CHECK(maildir_quota_update(root, 0, 0, &error) == 0);
	UNIT_STREQ(read_text(qfile), "1000S\n10 1\n300 1\n-10 -1\n");
	UNIT_CHECK(maildir_quota_get(root, &lim, &use, NULL, &error) == 0);
	UNIT_CHECK(use.bytes == 300 && use.count == 1);
	/* Missing: stays missing; the next get counts. */
	UNIT_CHECK(unlink(qfile) == 0);
	UNIT_CHECK(maildir_quota_update(root, 300, 1, &error) == 0);
	UNIT_CHECK(access(qfile, F_OK) < 0 && errno == ENOENT);
	/* NULL limit and no file: counted, nothing created. */
	UNIT_CHECK(maildir_quota_get(root, NULL, &use, NULL, &error) == 0);
	UNIT_CHECK(use.bytes == TOTAL_BYTES && use.count == TOTAL_COUNT);
	UNIT_CHECK(access(qfile, F_OK) < 0);
	UNIT_CHECK(maildir_quota_get(root, &lim, &use, NULL, &error) == 0);
	snprintf(want, sizeof(want), "1000S\n%d %d\n", TOTAL_BYTES,
		 TOTAL_COUNT);
	UNIT_STREQ(read_text(qfile), want);
	/* Not a regular file: an error, not a hang. */
	UNIT_CHECK(unlink(qfile) == 0 && mkfifo(qfile, 0600) == 0);
	error = NULL;
	UNIT_CHECK(maildir_quota_update(root, 1, 1, &error) < 0);
	UNIT_CHECK(error != NULL);
	UNIT_CHECK(maildir_quota_get(root, &lim, &use, NULL, &error) < 0);
	UNIT_CHECK(unlink(qfile) == 0);
}

/* No Maildir yet: no usage, no error, nothing created. */
static void test_no_maildir(void)
{
	struct maildir_quota_limit lim = { 1000, 0 };
	struct maildir_quota_usage use = { 1, 1 };
	const char *error;
	char missing[800], file[850];

	snprintf(missing, sizeof(missing), "%s/nothing/here", dir);
	UNIT_CHECK(maildir_quota_get(missing, &lim, &use, NULL, &error) == 0);
	UNIT_CHECK(use.bytes == 0 && use.count == 0);
	UNIT_CHECK(maildir_quota_check(missing, &lim, 1000, 1, &use,
				       &error) == 1);
	UNIT_CHECK(maildir_quota_check(missing, &lim, 1001, 1, &use,
				       &error) == 0);
	UNIT_CHECK(maildir_quota_update(missing, 5, 1, &error) == 0);
	snprintf(file, sizeof(file), "%s/nothing", dir);
	UNIT_CHECK(access(file, F_OK) < 0);
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		return 2;
	snprintf(root, sizeof(root), "%s/Maildir", dir);
	snprintf(qfile, sizeof(qfile), "%s/%s", root, MAILDIR_QUOTA_FILE);
	test_parse_table();
	test_parse_nul_and_size();
	test_parse_prefixes();
	test_exceeded();
	make_maildir();
	test_recount();
	test_over_quota_recount();
	test_update();
	test_no_maildir();
	unit_rmtree(dir);
	return unit_done();
}
