/* test_mailstore_crash: what each crash point leaves behind, and that
 * the next open makes sense of it without reusing a UID (see the table
 * in doc/mailstore.md), files a dead writer left in tmp/ deleted once
 * old (at most once an hour per folder); then several processes syncing one folder while
 * a mutt-like process adds, renames and deletes files, one of them
 * killed while it may hold the lock: afterwards every file has exactly
 * one UID, no UID ever named two files, and no file ever had two UIDs. */
#include "config.h"
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "mailstore_impl.h"
#include "mem.h"
#include "test_mailstore.h"

static char dir[] = "/tmp/test_mailstore_crash.XXXXXX";

#define OLD_UV 1600000000u

/* Four messages with UIDs 1, 2, 3, 5 (4 was expunged), P on one. */
static const char uidlist[] =
	"3 V1600000000 N6 G0123456789abcdef0123456789abcdef\n"
	"1 :1500000001.M1P1.h,S=2,W=3\n"
	"2 Pold-uidl :1500000002.M1P1.h,S=2,W=3\n"
	"3 :1500000003.M1P1.h,S=2,W=3\n"
	"5 :1500000005.M1P1.h,S=2,W=3\n";

static const char *make_box(const char *name)
{
	const char *p = tkeep(tpath("%s/%s", dir, name));
	struct mailstore *box;
	const char *error;

	tmaildir(p);
	twrite(tpath("%s/dovecot-uidlist", p), uidlist);
	for (int i = 1; i <= 5; i++)
		if (i != 4)
			twrite(tpath("%s/cur/150000000%d.M1P1.h,S=2,W=3:2,S", p,
				     i), "x\n");
	/* One open writes surel-index. */
	if (mailstore_open(p, 0, &box, &error) < 0) {
		fprintf(stderr, "open %s: %s\n", p, error);
		exit(2);
	}
	mailstore_close(&box);
	if (!texists(tpath("%s/surel-index", p)))
		exit(2);
	return p;
}

/* The UIDs are those of the fixture. */
static bool same_uids(struct mailstore *box)
{
	return mailstore_count(box) == 4 &&
		tuid(box, "1500000001.M1P1.h,S=2,W=3") == 1 &&
		tuid(box, "1500000002.M1P1.h,S=2,W=3") == 2 &&
		tuid(box, "1500000003.M1P1.h,S=2,W=3") == 3 &&
		tuid(box, "1500000005.M1P1.h,S=2,W=3") == 5;
}

static struct mailstore *open_ok(const char *p)
{
	struct mailstore *box = NULL;
	const char *error = "";

	if (mailstore_open(p, 0, &box, &error) < 0)
		fprintf(stderr, "open %s: %s\n", p, error);
	UNIT_CHECK(box != NULL);
	if (box == NULL)
		exit(1);
	return box;
}

/* A writer died holding the lock, half-way through the new uidlist. */
static void test_stale_lock(void)
{
	const char *p = make_box("stale");
	const char *lock = tpath("%s/dovecot-uidlist.lock", p);

	twrite(lock, "3 V1600000000 N7 G0123456789abcdef0123456789abcdef\n"
	       "1 :150000");
	tpast(lock, 3 * 60);
	tpast(tpath("%s/dovecot-uidlist", p), 3 * 60);
	twrite(tpath("%s/new/1500000009.M1P1.h", p), "new\n");
	struct mailstore *box = open_ok(p);
	UNIT_CHECK(mailstore_count(box) == 5 &&
		   tuid(box, "1500000002.M1P1.h,S=2,W=3") == 2 &&
		   tuid(box, "1500000009.M1P1.h") == 6);
	UNIT_CHECK(!texists(tpath("%s/dovecot-uidlist.lock", p)));
	mailstore_close(&box);
}

/* A surel process killed with the lock: no pid in it, but its flock()
 * died with it; taken over as soon as the lock is 2 s old. */
static void test_dead_holder(void)
{
	const char *p = make_box("dead");
	const char *lock = tkeep(tpath("%s/dovecot-uidlist.lock", p));
	struct ms_lock lk;
	const char *error;

	pid_t pid = fork();
	if (pid == 0) {
		if (ms_lock_take(&lk, tpath("%s/dovecot-uidlist", p), 0600, 0,
				 &error) != 1 ||
		    write(lk.fd, "3 V1600000000 N6", 16) != 16)
			_exit(1);
		_exit(0);	/* "killed": lock left, content half written */
	}
	int status;
	UNIT_CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		   WEXITSTATUS(status) == 0);
	UNIT_CHECK(texists(lock));
	tpast(lock, 3);
	twrite(tpath("%s/new/1500000009.M1P1.h", p), "new\n");
	ms_lock_set_wait_ms(5000);
	time_t start = time(NULL);
	struct mailstore *box = open_ok(p);
	UNIT_CHECK(time(NULL) - start <= 2);
	UNIT_CHECK(tuid(box, "1500000009.M1P1.h") == 6);
	mailstore_close(&box);
	/* While the holder lives, its lock stands. The child says when it
	 * holds the lock (its flock() included): the lock file alone appears
	 * before the flock, and a lock seen then looks dead. */
	int pipefd[2], ready[2];
	UNIT_CHECK(pipe(pipefd) == 0 && pipe(ready) == 0);
	pid = fork();
	if (pid == 0) {
		char c;
		close(pipefd[1]);
		close(ready[0]);
		if (ms_lock_take(&lk, tpath("%s/dovecot-uidlist", p), 0600, 0,
				 &error) != 1 || write(ready[1], "L", 1) != 1)
			_exit(1);
		if (read(pipefd[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(pipefd[0]);
	close(ready[1]);
	struct pollfd pfd = { .fd = ready[0], .events = POLLIN };
	char held = 0;
	UNIT_CHECK(poll(&pfd, 1, 5000) == 1 && read(ready[0], &held, 1) == 1 &&
		   held == 'L');
	close(ready[0]);
	UNIT_CHECK(texists(lock));
	tpast(lock, 10);
	twrite(tpath("%s/new/1500000010.M1P1.h", p), "new\n");
	ms_lock_set_wait_ms(300);
	UNIT_CHECK(mailstore_open(p, 0, &box, &error) < 0);
	ms_lock_set_wait_ms(MS_LOCK_WAIT_MS_DEFAULT);
	close(pipefd[1]);
	waitpid(pid, &status, 0);
	unlink(lock);
}

static void test_damaged_index(void)
{
	const char *p = make_box("index");
	const char *ix = tkeep(tpath("%s/surel-index", p));
	char *good = tread(ix);

	twrite(ix, "garbage, not an index at all\n");
	struct mailstore *box = open_ok(p);
	UNIT_CHECK(same_uids(box) && mailstore_uidvalidity(box) == OLD_UV);
	mailstore_close(&box);
	/* Rebuilt: valid again. */
	char *data = tread(ix);
	struct ms_map map;
	const char *error;
	ms_map_init(&map);
	UNIT_CHECK(data != NULL && strncmp(data, "SURELIDX", 8) == 0);
	free(data);
	struct stat st;
	UNIT_CHECK(stat(ix, &st) == 0);
	data = tread(ix);
	UNIT_CHECK(ms_index_parse((unsigned char *)data, (size_t)st.st_size,
				  &map, &error) == 0 && map.count == 4);
	free(data);
	ms_map_clear(&map);
	free(map.hdr_ext);
	/* Cut short (a crash before the rename cannot do that, a disk can). */
	truncate(ix, 30);
	box = open_ok(p);
	UNIT_CHECK(same_uids(box));
	mailstore_close(&box);
	free(good);
}

/* dovecot-uidlist cut in the middle of a record: with the index, the
 * lost records come back with their UIDs. */
static void test_truncated_uidlist(void)
{
	const char *p = make_box("trunc");
	const char *ul = tkeep(tpath("%s/dovecot-uidlist", p));

	truncate(ul, (off_t)(strstr(uidlist, "3 :15") - uidlist + 6));
	struct mailstore *box = open_ok(p);
	UNIT_CHECK(same_uids(box) && mailstore_uidvalidity(box) == OLD_UV);
	UNIT_CHECK(mailstore_uidnext(box) == 6);
	mailstore_close(&box);
	char *text = tread(ul);
	UNIT_STREQ(text, uidlist);
	free(text);
}

/* The same without an index: the UIDs of the lost records cannot be
 * known, the files get new ones, above anything recorded. */
static void test_truncated_uidlist_no_index(void)
{
	const char *p = make_box("trunc2");
	const char *ul = tkeep(tpath("%s/dovecot-uidlist", p));

	truncate(ul, (off_t)(strstr(uidlist, "3 :15") - uidlist + 6));
	unlink(tpath("%s/surel-index", p));
	struct mailstore *box = open_ok(p);
	UNIT_CHECK(mailstore_uidvalidity(box) == OLD_UV);
	UNIT_CHECK(tuid(box, "1500000001.M1P1.h,S=2,W=3") == 1 &&
		   tuid(box, "1500000002.M1P1.h,S=2,W=3") == 2);
	UNIT_CHECK(tuid(box, "1500000003.M1P1.h,S=2,W=3") >= 6 &&
		   tuid(box, "1500000005.M1P1.h,S=2,W=3") >= 6);
	mailstore_close(&box);
}

/* Garbage in the middle: restored from the index. */
static void test_garbage_uidlist(void)
{
	const char *p = make_box("garbage");
	const char *ul = tkeep(tpath("%s/dovecot-uidlist", p));

	twrite(ul, "3 V1600000000 N6 G0123456789abcdef0123456789abcdef\n"
	       "1 :1500000001.M1P1.h,S=2,W=3\n#%$garbage\n9\n");
	struct mailstore *box = open_ok(p);
	UNIT_CHECK(same_uids(box) && mailstore_uidvalidity(box) == OLD_UV);
	/* 9 was seen in the damaged part: never given out. */
	UNIT_CHECK(mailstore_uidnext(box) == 10);
	const struct mailstore_msg *m = tfind(box, "1500000002.M1P1.h,S=2,W=3");
	UNIT_CHECK(m != NULL && m->pop3_uidl != NULL &&
		   strcmp(m->pop3_uidl, "old-uidl") == 0);
	mailstore_close(&box);
	/* And without the index: UIDVALIDITY changes, upwards. */
	twrite(ul, "3 V1600000000 N6 G0123456789abcdef0123456789abcdef\n"
	       "1 :1500000001.M1P1.h,S=2,W=3\n#%$garbage\n9\n");
	unlink(tpath("%s/surel-index", p));
	box = open_ok(p);
	UNIT_CHECK(mailstore_uidvalidity(box) > OLD_UV);
	UNIT_CHECK(mailstore_count(box) == 4);
	for (size_t i = 0; i < mailstore_count(box); i++)
		UNIT_CHECK(mailstore_msg(box, i)->uid >= 10);
	mailstore_close(&box);
}

/* dovecot-uidlist deleted (an operator, a broken backup): the index has
 * all of it, extensions included: byte for byte the same file. */
static void test_missing_uidlist(void)
{
	const char *p = make_box("missing");
	const char *ul = tkeep(tpath("%s/dovecot-uidlist", p));

	unlink(ul);
	struct mailstore *box = open_ok(p);
	UNIT_CHECK(same_uids(box) && mailstore_uidvalidity(box) == OLD_UV);
	mailstore_close(&box);
	char *text = tread(ul);
	UNIT_STREQ(text, uidlist);
	free(text);
}

static void test_both_missing(void)
{
	const char *p = make_box("both");

	/* A process that has the folder open still knows the map. */
	struct mailstore *box = open_ok(p);
	unlink(tpath("%s/dovecot-uidlist", p));
	unlink(tpath("%s/surel-index", p));
	const char *error;
	UNIT_CHECK(mailstore_sync(box, &error) == 0);
	UNIT_CHECK(same_uids(box) && mailstore_uidvalidity(box) == OLD_UV);
	mailstore_close(&box);
	/* Nobody does: UIDVALIDITY changes, upwards. */
	unlink(tpath("%s/dovecot-uidlist", p));
	unlink(tpath("%s/surel-index", p));
	box = open_ok(p);
	UNIT_CHECK(mailstore_uidvalidity(box) > OLD_UV);
	UNIT_CHECK(mailstore_count(box) == 4 && mailstore_uidnext(box) == 5);
	mailstore_close(&box);
}

/* A crash after surel-index was written and before the uidlist was
 * renamed into place: the index is ahead of the uidlist. */
static void test_index_ahead(void)
{
	const char *p = make_box("ahead");
	const char *ul = tkeep(tpath("%s/dovecot-uidlist", p));

	twrite(tpath("%s/new/1500000007.M1P1.h", p), "a\n");
	twrite(tpath("%s/new/1500000008.M1P1.h", p), "b\n");
	struct mailstore *box = open_ok(p);
	UNIT_CHECK(tuid(box, "1500000007.M1P1.h") == 6 &&
		   tuid(box, "1500000008.M1P1.h") == 7);
	mailstore_close(&box);
	twrite(ul, uidlist);	/* the rename that did not happen */
	unlink(tpath("%s/cur/1500000008.M1P1.h:2,", p));
	twrite(tpath("%s/new/1500000009.M1P1.h", p), "c\n");
	box = open_ok(p);
	UNIT_CHECK(tuid(box, "1500000007.M1P1.h") == 6);
	/* 7 went to a file that is gone: not given again. */
	UNIT_CHECK(tuid(box, "1500000009.M1P1.h") == 8);
	mailstore_close(&box);
}

/* The concurrency test: children sync, flag and expunge in loops and log
 * every (UID, name) they see; a mutt-like child adds, renames and
 * deletes files; one syncer is killed. */
#define SYNCERS 4
#define RUN_SECS 3

static char conc_box[512];

static void log_box(FILE *log, struct mailstore *box)
{
	for (size_t i = 0; i < mailstore_count(box); i++) {
		const struct mailstore_msg *m = mailstore_msg(box, i);
		fprintf(log, "%u %s\n", m->uid, m->base);
	}
}

static void syncer_round(FILE *log, unsigned *seed)
{
	struct mailstore *box;
	const char *error;

	if (mailstore_open(conc_box, 0, &box, &error) < 0) {
		fprintf(stderr, "syncer %ld: %s\n", (long)getpid(), error);
		exit(1);
	}
	for (int i = 0; i < 5; i++) {
		if (mailstore_sync(box, &error) < 0) {
			fprintf(stderr, "syncer: %s\n", error);
			exit(1);
		}
		log_box(log, box);
		size_t n = mailstore_count(box);
		if (n == 0)
			continue;
		size_t k = (size_t)rand_r(seed) % n;
		if (mailstore_msg_set_flags(box, k, (unsigned)rand_r(seed) &
					    MAILSTORE_FLAGS_ALL, 0,
					    &error) < 0) {
			fprintf(stderr, "flags: %s\n", error);
			exit(1);
		}
		if (rand_r(seed) % 8 == 0) {
			uint32_t uid = mailstore_msg(box, k)->uid;
			if (mailstore_expunge(box, &uid, 1, NULL, NULL,
					      &error) < 0) {
				fprintf(stderr, "expunge: %s\n", error);
				exit(1);
			}
		}
	}
	mailstore_close(&box);
}

static void syncer(int n)
{
	FILE *log = fopen(tpath("%s/log.%d", dir, n), "w");
	unsigned seed = (unsigned)getpid();
	time_t end = time(NULL) + RUN_SECS;

	while (time(NULL) < end)
		syncer_round(log, &seed);
	fclose(log);
	_exit(0);
}

/* Like mutt and procmail: deliver through tmp/, change flags by
 * renaming, delete files, never take a lock. */
static void mutt(void)
{
	unsigned seed = (unsigned)getpid(), counter = 0;
	time_t end = time(NULL) + RUN_SECS;

	while (time(NULL) < end) {
		const char *tmp = tkeep(tpath("%s/tmp/m%u", conc_box, counter));
		twrite(tmp, "Subject: m\n\nbody\n");
		rename(tmp, tpath("%s/new/%ld.M%uP%ld.mutt", conc_box,
				  (long)time(NULL), counter++,
				  (long)getpid()));
		DIR *d = opendir(tpath("%s/cur", conc_box));
		struct dirent *e;
		while (d != NULL && (e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.' || rand_r(&seed) % 4 != 0)
				continue;
			char from[1024];
			snprintf(from, sizeof(from), "%s/cur/%s", conc_box,
				 e->d_name);
			if (rand_r(&seed) % 10 == 0) {
				unlink(from);
				continue;
			}
			char to[1100];
			snprintf(to, sizeof(to), "%s", from);
			char *info = strrchr(to, ':');
			if (info != NULL)
				snprintf(info, sizeof(to) - (size_t)(info - to),
					 ":2,%s", strchr(info, 'F') != NULL ?
					 "" : "F");
			rename(from, to);
		}
		if (d != NULL)
			closedir(d);
		usleep(2000);
	}
	_exit(0);
}

struct seen {
	uint32_t uid;
	char *base;
};

static int by_base(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;
	int c = strcmp(x->base, y->base);

	return c != 0 ? c : (x->uid < y->uid ? -1 : x->uid > y->uid);
}

static int by_uid(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;

	return x->uid != y->uid ? (x->uid < y->uid ? -1 : 1) :
		strcmp(x->base, y->base);
}

static void add_seen(struct seen **s, size_t *n, size_t *alloc, uint32_t uid,
		     const char *base)
{
	if (*n == *alloc) {
		*alloc = *alloc ? *alloc * 2 : 1024;
		*s = xreallocarray(*s, *alloc, sizeof(**s));
	}
	(*s)[*n].uid = uid;
	(*s)[(*n)++].base = xstrdup(base);
}

/* No name ever had two UIDs, no UID ever named two files. */
static void check_logs(struct mailstore *final)
{
	struct seen *s = NULL;
	size_t n = 0, alloc = 0, bad = 0;
	char line[600];

	for (int i = 0; i < SYNCERS; i++) {
		FILE *f = fopen(tpath("%s/log.%d", dir, i), "r");
		unsigned uid;
		char base[512];
		while (f != NULL && fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "%u %511s", &uid, base) == 2)
				add_seen(&s, &n, &alloc, uid, base);
		if (f != NULL)
			fclose(f);
	}
	for (size_t i = 0; i < mailstore_count(final); i++)
		add_seen(&s, &n, &alloc, mailstore_msg(final, i)->uid,
			 mailstore_msg(final, i)->base);
	UNIT_CHECK(n > 1000);
	if (getenv("TEST_VERBOSE") != NULL)
		fprintf(stderr, "%zu observations, %zu messages at the end\n",
			n, mailstore_count(final));
	qsort(s, n, sizeof(*s), by_base);
	for (size_t i = 1; i < n; i++)
		bad += strcmp(s[i].base, s[i - 1].base) == 0 &&
			s[i].uid != s[i - 1].uid;
	UNIT_CHECK(bad == 0);
	qsort(s, n, sizeof(*s), by_uid);
	for (size_t i = 1; i < n; i++)
		bad += s[i].uid == s[i - 1].uid &&
			strcmp(s[i].base, s[i - 1].base) != 0;
	UNIT_CHECK(bad == 0);
	for (size_t i = 0; i < n; i++)
		free(s[i].base);
	free(s);
}

/* The uidlist on disk: UIDs ascending, each name once. */
static void check_uidlist(void)
{
	char *text = tread(tpath("%s/dovecot-uidlist", conc_box));
	struct ms_map map;
	const char *error;
	size_t lines = 0;

	ms_map_init(&map);
	UNIT_CHECK(text != NULL && ms_uidlist_parse(text, strlen(text), &map,
						     &error) == 1);
	for (const char *p = text; p != NULL && *p != '\0';
	     p = strchr(p, '\n') + 1)
		lines++;
	/* The parser drops duplicate names: the same count means none. */
	UNIT_CHECK(lines == map.count + 1);
	free(text);
	ms_map_clear(&map);
	free(map.hdr_ext);
}

static void test_concurrency(void)
{
	pid_t pids[SYNCERS + 2];
	struct mailstore *box;
	const char *error;
	int status, failed = 0;

	snprintf(conc_box, sizeof(conc_box), "%s/conc", dir);
	UNIT_CHECK(mailstore_open(conc_box, MAILSTORE_OPEN_CREATE, &box,
				  &error) == 0);
	mailstore_close(&box);
	for (int i = 0; i < 20; i++)
		twrite(tpath("%s/new/1500000%03d.M1P1.init", conc_box, i),
		       "x\n");
	for (int i = 0; i < SYNCERS + 1; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			if (i == SYNCERS)
				mutt();
			syncer(i);
		}
	}
	/* One more syncer, killed at a random moment (maybe with the lock). */
	pids[SYNCERS + 1] = fork();
	if (pids[SYNCERS + 1] == 0) {
		FILE *log = fopen(tpath("%s/log.killed", dir), "w");
		unsigned seed = (unsigned)getpid();
		for (;;)
			syncer_round(log, &seed);
	}
	usleep(700000);
	kill(pids[SYNCERS + 1], SIGKILL);
	for (int i = 0; i < SYNCERS + 2; i++) {
		UNIT_CHECK(waitpid(pids[i], &status, 0) == pids[i]);
		failed += i <= SYNCERS &&
			(!WIFEXITED(status) || WEXITSTATUS(status) != 0);
	}
	UNIT_CHECK(failed == 0);
	UNIT_CHECK(mailstore_open(conc_box, 0, &box, &error) == 0);
	/* Every file has a UID, and new/ is empty. */
	UNIT_CHECK(mailstore_count(box) == tcount(tpath("%s/cur", conc_box)));
	UNIT_CHECK(tcount(tpath("%s/new", conc_box)) == 0);
	UNIT_CHECK(!texists(tpath("%s/dovecot-uidlist.lock", conc_box)));
	check_logs(box);
	mailstore_close(&box);
	check_uidlist();
}

/* Makes tmp/ look unvisited for two hours (its atime is the stamp of
 * the last look). */
static void tmp_unvisited(const char *p)
{
	struct timespec ts[2] = { { time(NULL) - 7200, 0 }, { 0, UTIME_OMIT } };

	utimensat(AT_FDCWD, tpath("%s/tmp", p), ts, 0);
}

/* Files left in tmp/ by a writer that died: deleted by a sync once
 * neither their data nor their inode changed for the age limit (36 hours;
 * 1 second here, since a ctime cannot be set back), at most once an hour
 * per folder (tmp/'s atime) and per handle; directories stay. */
static void test_tmp_leftovers(void)
{
	const char *p = tkeep(tpath("%s/tmpclean", dir));
	const char *error = "";
	struct mailstore *h1, *h2, *h3;
	struct stat st;

	tmaildir(p);
	twrite(tpath("%s/tmp/left.M1P1.h", p), "partial");
	mkdir(tpath("%s/tmp/dir", p), 0700);
	/* 40 hours old by its mtime, but linked just now (a copy): kept. */
	tpast(tpath("%s/tmp/left.M1P1.h", p), 40 * 3600);
	tmp_unvisited(p);
	h1 = open_ok(p);
	UNIT_CHECK(texists(tpath("%s/tmp/left.M1P1.h", p)));
	UNIT_CHECK(stat(tpath("%s/tmp", p), &st) == 0 &&
		   st.st_atime >= time(NULL) - 5);
	ms_tmp_set_limits(1, 3600);
	sleep(2);
	twrite(tpath("%s/tmp/young.M2P1.h", p), "being written");
	/* Looked at within the hour: by this handle, by the folder's
	 * stamp. */
	UNIT_CHECK(mailstore_sync(h1, &error) == 0);
	h2 = open_ok(p);
	tmp_unvisited(p);
	UNIT_CHECK(mailstore_sync(h1, &error) == 0);
	UNIT_CHECK(texists(tpath("%s/tmp/left.M1P1.h", p)));
	/* A look: the old file goes, the young one and the directory stay. */
	h3 = open_ok(p);
	UNIT_CHECK(!texists(tpath("%s/tmp/left.M1P1.h", p)));
	UNIT_CHECK(texists(tpath("%s/tmp/young.M2P1.h", p)) &&
		   texists(tpath("%s/tmp/dir", p)));
	UNIT_CHECK(mailstore_count(h3) == 0);
	ms_tmp_set_limits(MS_TMP_MAX_AGE, MS_TMP_CHECK_SECS);
	mailstore_close(&h1);
	mailstore_close(&h2);
	mailstore_close(&h3);
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		return 2;
	test_tmp_leftovers();
	test_stale_lock();
	test_dead_holder();
	test_damaged_index();
	test_truncated_uidlist();
	test_truncated_uidlist_no_index();
	test_garbage_uidlist();
	test_missing_uidlist();
	test_both_missing();
	test_index_ahead();
	test_concurrency();
	unit_rmtree(dir);
	return unit_done();
}
