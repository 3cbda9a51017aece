/* test_mailstore.h: helpers shared by the mail store's test programs
 * (test_mailstore, test_mailstore_files, test_mailstore_crash): a
 * temporary tree, files written and read whole, Maildirs filled the way
 * delivery, Dovecot and mutt fill them. */
#ifndef SUREL_TEST_MAILSTORE_H
#define SUREL_TEST_MAILSTORE_H
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "mailstore.h"
#include "unit.h"

/* path formatted into a static buffer of its own (8 in rotation). */
static inline const char *tpath(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline const char *tpath(const char *fmt, ...)
{
	static char bufs[8][1024];
	static unsigned n;
	char *b = bufs[n++ % 8];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b, sizeof(bufs[0]), fmt, ap);
	va_end(ap);
	return b;
}

/* A copy of s that outlives tpath's rotation (32 in rotation). */
static inline const char *tkeep(const char *s)
{
	static char pool[32][1024];
	static unsigned n;
	char *b = pool[n++ % 32];

	snprintf(b, sizeof(pool[0]), "%s", s);
	return b;
}

static inline void twrite(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(data, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(2);
	}
}

/* The whole file (caller frees), or NULL when it is missing. */
static inline char *tread(const char *path)
{
	FILE *f = fopen(path, "r");
	char *data = NULL;
	size_t len = 0;

	if (f == NULL)
		return NULL;
	FILE *m = open_memstream(&data, &len);
	int c;
	while ((c = getc(f)) != EOF)
		putc(c, m);
	fclose(m);
	fclose(f);
	return data;
}

static inline void tmaildir(const char *path)
{
	mkdir(path, 0700);
	mkdir(tpath("%s/tmp", path), 0700);
	mkdir(tpath("%s/new", path), 0700);
	mkdir(tpath("%s/cur", path), 0700);
}

/* dir/name as a Maildir with n messages delivered into new/, named in
 * time order (kept in a buffer of its own). */
static inline const char *tnew_box(const char *dir, const char *name,
				   unsigned n)
{
	const char *p = tkeep(tpath("%s/%s", dir, name));

	tmaildir(p);
	for (unsigned i = 1; i <= n; i++)
		twrite(tpath("%s/new/%u.M%uP1.h,S=2,W=3", p, 1600000000 + i, i),
		       "m\n");
	return p;
}

/* The folder at p opened with flags; the test stops (exit 2) when it
 * cannot be: nothing after it would mean anything. */
static inline struct mailstore *topen(const char *p, unsigned flags)
{
	struct mailstore *box = NULL;
	const char *error = "";

	if (mailstore_open(p, flags, &box, &error) < 0) {
		fprintf(stderr, "open %s: %s\n", p, error);
		exit(2);
	}
	return box;
}

static inline void tsync_ok(struct mailstore *box)
{
	const char *error = "";

	if (mailstore_sync(box, &error) < 0) {
		fprintf(stderr, "sync: %s\n", error);
		UNIT_CHECK(false);
	}
}

/* Sets the mtime of path secs into the past. The nanoseconds differ at
 * every call, as a clock's would: a directory changed and set back twice
 * within one second must not get its old stamp again (the store takes
 * equal stamps for "unchanged"). */
static inline void tpast(const char *path, time_t secs)
{
	static long ns;
	struct timespec ts[2];

	ns = ns % 999999999 + 1;
	ts[0] = ts[1] = (struct timespec){ time(NULL) - secs, ns };
	utimensat(AT_FDCWD, path, ts, 0);
}

/* Makes the directories of a Maildir look untouched for a while, so that
 * the next sync may trust their mtimes. */
static inline void tsettle(const char *box)
{
	tpast(tpath("%s/new", box), 10);
	tpast(tpath("%s/cur", box), 10);
}

static inline size_t tcount(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	if (d == NULL)
		return (size_t)-1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static inline bool texists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* The message with base, or NULL. */
static inline const struct mailstore_msg *tfind(struct mailstore *box,
						const char *base)
{
	for (size_t i = 0; i < mailstore_count(box); i++)
		if (strcmp(mailstore_msg(box, i)->base, base) == 0)
			return mailstore_msg(box, i);
	return NULL;
}

static inline uint32_t tuid(struct mailstore *box, const char *base)
{
	const struct mailstore_msg *m = tfind(box, base);

	return m != NULL ? m->uid : 0;
}

#endif
