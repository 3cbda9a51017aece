#include "config.h"
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "queue_repair.h"
#include "unit.h"

static char root[64];
static int qfd = -1;
static unsigned reports_fixed, reports_left;

static void report(void *ctx, bool fixed, const char *from, const char *to,
		   const char *why)
{
	(void)ctx;
	(void)from;
	(void)to;
	UNIT_CHECK(why != NULL && why[0] != '\0');
	if (fixed)
		reports_fixed++;
	else
		reports_left++;
}

/* A complete queue file that arrived at arrival_us, as path (relative to
 * the queue), with mode. */
static void put_file(const char *path, uint64_t arrival_us, mode_t mode)
{
	char data[512];
	const char *content = "Subject: x\n\nx\n";
	int n = snprintf(data, sizeof(data),
			 "SUREL-QUEUE 1\nT\t%llu\nS\ts@example.com\n"
			 "R\tP\t-\t-\t-\tr@example.org\nC\t%020zu\n%sE\n",
			 (unsigned long long)arrival_us, strlen(content),
			 content);
	int fd = openat(qfd, path, O_WRONLY | O_CREAT | O_EXCL, mode);

	UNIT_CHECK(fd >= 0 && write(fd, data, (size_t)n) == n);
	UNIT_CHECK(fchmod(fd, mode) == 0);
	close(fd);
}

static void put_garbage(const char *path)
{
	int fd = openat(qfd, path, O_WRONLY | O_CREAT | O_EXCL, 0700);

	UNIT_CHECK(fd >= 0 && write(fd, "not a queue file\n", 17) == 17);
	close(fd);
}

static bool there(const char *path)
{
	struct stat st;

	return fstatat(qfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void make_queue(void)
{
	snprintf(root, sizeof(root), "/tmp/test_queue_repair.XXXXXX");
	UNIT_CHECK(mkdtemp(root) != NULL);
	qfd = open(root, O_RDONLY | O_DIRECTORY);
	UNIT_CHECK(qfd >= 0);
	/* only some directories: the rest must be created */
	UNIT_CHECK(mkdirat(qfd, "incoming", 0700) == 0);
	UNIT_CHECK(mkdirat(qfd, "deferred", 0700) == 0);
	UNIT_CHECK(mkdirat(qfd, "deferred/3", 0700) == 0);
}

static void test_repair(void)
{
	struct queue_repair_counts n;
	/* 0x6740A3B2F0 s and 0xA1B2C us: id 6740A3B2F0A1B2C + pid part */
	uint64_t t = 0x6740A3B2F0ULL * 1000000 + 0xA1B2C;
	struct timespec old[2] = {
		{ .tv_sec = time(NULL) - 2 * QUEUE_REPAIR_STALE_S },
		{ .tv_sec = time(NULL) - 2 * QUEUE_REPAIR_STALE_S },
	};

	make_queue();
	/* deferred/ hash is the 15th digit: C */
	UNIT_CHECK(mkdirat(qfd, "deferred/C", 0700) == 0);
	put_file("deferred/C/6740A3B2F0A1B2C1F", t, 0700);	/* fine */
	put_file("deferred/3/6740A3B2F0A1B2C2F", t, 0700);	/* misplaced */
	put_file("deferred/6740A3B2F0A1B2C3F", t, 0700);	/* in deferred/ */
	put_file("incoming/junk-name", t, 0700);		/* not an id */
	put_file("incoming/6740A3B2F0A1B2D4F", t, 0700);	/* other time */
	put_garbage("incoming/6740A3B2F0A1B2C5F");		/* corrupt */
	put_file("incoming/6740A3B2F0A1B2C6F", t, 0600);	/* old 0600 */
	UNIT_CHECK(utimensat(qfd, "incoming/6740A3B2F0A1B2C6F", old, 0) == 0);
	put_file("incoming/6740A3B2F0A1B2C7F", t, 0600);	/* young */
	put_file("incoming/6740A3B2F0A1B2C8F", t, 0600);	/* locked */
	UNIT_CHECK(utimensat(qfd, "incoming/6740A3B2F0A1B2C8F", old, 0) == 0);
	int lock = openat(qfd, "incoming/6740A3B2F0A1B2C8F", O_RDONLY);
	UNIT_CHECK(lock >= 0 && flock(lock, LOCK_EX) == 0);
	UNIT_CHECK(symlinkat("/etc/passwd", qfd, "incoming/6740A3B2F0A1B2C9F")
		   == 0);
	UNIT_CHECK(mkdirat(qfd, "incoming/subdir", 0700) == 0);

	unsigned long long fixed = queue_repair_run(qfd, true, report, NULL,
						    &n);
	/* created: active hold corrupt + 14 deferred/H */
	UNIT_CHECK(n.created == 17);
	UNIT_CHECK(n.moved == 2 && n.renamed == 2 && n.corrupt == 2);
	UNIT_CHECK(n.removed == 1 && n.left == 1);
	UNIT_CHECK(fixed == 17 + 2 + 2 + 2 + 1);
	UNIT_CHECK(reports_fixed == fixed && reports_left == 1);
	UNIT_CHECK(there("deferred/C/6740A3B2F0A1B2C1F"));
	UNIT_CHECK(there("deferred/C/6740A3B2F0A1B2C2F"));
	UNIT_CHECK(there("deferred/C/6740A3B2F0A1B2C3F"));
	UNIT_CHECK(!there("deferred/3/6740A3B2F0A1B2C2F"));
	char id[64];
	snprintf(id, sizeof(id), "incoming/6740A3B2F0A1B2C%lX",
		 (unsigned long)getpid());
	UNIT_CHECK(there(id) && !there("incoming/junk-name"));
	UNIT_CHECK(there("incoming/6740A3B2F0A1B2C4F") &&
		   !there("incoming/6740A3B2F0A1B2D4F"));
	UNIT_CHECK(there("corrupt/6740A3B2F0A1B2C5F"));
	UNIT_CHECK(there("corrupt/6740A3B2F0A1B2C9F"));
	UNIT_CHECK(!there("incoming/6740A3B2F0A1B2C6F"));
	UNIT_CHECK(there("incoming/6740A3B2F0A1B2C7F"));
	UNIT_CHECK(there("incoming/6740A3B2F0A1B2C8F"));
	close(lock);

	/* a second run: the writer is gone now (its lock free), so its old
	 * file goes; then nothing but the directory it cannot fix */
	reports_fixed = reports_left = 0;
	UNIT_CHECK(queue_repair_run(qfd, true, report, NULL, &n) == 1);
	UNIT_CHECK(n.removed == 1 && !there("incoming/6740A3B2F0A1B2C8F"));
	UNIT_CHECK(queue_repair_run(qfd, true, report, NULL, &n) == 0);
	UNIT_CHECK(n.left == 1 && reports_left == 2);

	/* a clash in corrupt/ never replaces: ".1" */
	put_garbage("incoming/6740A3B2F0A1B2C5F");
	UNIT_CHECK(queue_repair_run(qfd, true, report, NULL, &n) == 1);
	UNIT_CHECK(there("corrupt/6740A3B2F0A1B2C5F.1"));
	/* a misplaced file whose id is taken where it belongs: left */
	put_file("deferred/3/6740A3B2F0A1B2C1F", t, 0700);
	UNIT_CHECK(queue_repair_run(qfd, true, report, NULL, &n) == 0);
	UNIT_CHECK(n.left == 2 && there("deferred/3/6740A3B2F0A1B2C1F"));

	/* active/ only when asked */
	put_garbage("active/6740A3B2F0A1B2CAF");
	UNIT_CHECK(queue_repair_run(qfd, false, report, NULL, &n) == 0);
	UNIT_CHECK(there("active/6740A3B2F0A1B2CAF"));
	UNIT_CHECK(queue_repair_run(qfd, true, report, NULL, &n) == 1);
	UNIT_CHECK(there("corrupt/6740A3B2F0A1B2CAF"));
	close(qfd);
	unit_rmtree(root);
}

int main(void)
{
	test_repair();
	return unit_done();
}
