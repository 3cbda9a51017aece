/* test_mailstore_modseq: what CONDSTORE and QRESYNC need from the store,
 * with two handles on one folder standing for two imapd processes:
 * flag changes get MODSEQs that never collide whichever handle makes
 * them (and changes made by others, seen by a sync, get new ones above
 * everything given out), every expunge moves HIGHESTMODSEQ and is
 * reported by mailstore_expunged_since to both, never fewer UIDs than
 * were expunged; save dates and the folder GUID. Then several
 * processes storing, saving and expunging at once, with a mutt-like one
 * renaming files: no MODSEQ is ever given twice. */
#include "config.h"
#include <errno.h>
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

static char dir[] = "/tmp/test_mailstore_modseq.XXXXXX";

static struct mailstore *open_box(const char *p)
{
	return topen(p, MAILSTORE_OPEN_CREATE);
}

static long set_one(struct mailstore *box, size_t idx, unsigned flags)
{
	struct mailstore_flag_change ch = { idx, flags, 0 };
	const char *error = "";
	long ret = mailstore_set_flags_many(box, &ch, 1, &error);

	if (ret < 0)
		fprintf(stderr, "set flags: %s\n", error);
	return ret;
}

static uint64_t modseq_of(struct mailstore *box, size_t idx)
{
	return mailstore_msg(box, idx)->modseq;
}

static void test_two_handles_flags(void)
{
	const char *p = tnew_box(dir, "flags", 5);
	struct mailstore *a = open_box(p), *b = open_box(p);
	const char *error = "";

	uint64_t h0 = mailstore_highest_modseq(a);
	UNIT_CHECK(h0 == mailstore_highest_modseq(b));
	struct mailstore_flag_change two[2] = {
		{ 0, MAILSTORE_FLAG_SEEN, 0 }, { 1, MAILSTORE_FLAG_FLAGGED, 1 }
	};
	UNIT_CHECK(mailstore_set_flags_many(a, two, 2, &error) == 2);
	uint64_t a0 = modseq_of(a, 0), a1 = modseq_of(a, 1);
	UNIT_CHECK(a0 == h0 + 1 && a1 == h0 + 2 &&
		   mailstore_highest_modseq(a) == a1);
	/* b has not synced: it still reads the counter under the lock. */
	UNIT_CHECK(set_one(b, 2, MAILSTORE_FLAG_SEEN) == 1);
	uint64_t b2 = modseq_of(b, 2);
	UNIT_CHECK(b2 == a1 + 1 && mailstore_highest_modseq(b) == b2);
	UNIT_CHECK(set_one(a, 3, MAILSTORE_FLAG_DELETED) == 1);
	uint64_t a3 = modseq_of(a, 3);
	UNIT_CHECK(a3 == b2 + 1);
	/* After a sync both see every change with the MODSEQ it got. */
	tsync_ok(a);
	tsync_ok(b);
	for (size_t i = 0; i < 5; i++)
		UNIT_CHECK(modseq_of(a, i) == modseq_of(b, i) &&
			   mailstore_msg(a, i)->flags ==
			   mailstore_msg(b, i)->flags);
	UNIT_CHECK(modseq_of(b, 0) == a0 && modseq_of(b, 1) == a1 &&
		   modseq_of(a, 2) == b2 && mailstore_msg(b, 1)->keywords == 1);
	UNIT_CHECK(mailstore_highest_modseq(a) == a3 &&
		   mailstore_highest_modseq(b) == a3);
	/* mutt flags message 5: the first sync gives that a MODSEQ above
	 * all, the other handle takes the same one. */
	const struct mailstore_msg *m = mailstore_msg(b, 4);
	rename(tpath("%s/cur/%s", p, m->name),
	       tpath("%s/cur/%s:2,F", p, m->base));
	tsync_ok(b);
	uint64_t m4 = modseq_of(b, 4);
	UNIT_CHECK(m4 == a3 + 1 &&
		   mailstore_msg(b, 4)->flags == MAILSTORE_FLAG_FLAGGED);
	tsync_ok(a);
	UNIT_CHECK(modseq_of(a, 4) == m4 && mailstore_highest_modseq(a) == m4);
	/* No change, no MODSEQ. */
	UNIT_CHECK(set_one(a, 0, MAILSTORE_FLAG_SEEN) == 0 &&
		   modseq_of(a, 0) == a0);
	/* A file gone: skipped, the others done. */
	unlink(tpath("%s/cur/%s", p, mailstore_msg(a, 1)->name));
	struct mailstore_flag_change ch[2] = {
		{ 1, 0, 0 }, { 2, MAILSTORE_FLAG_ANSWERED, 0 }
	};
	UNIT_CHECK(mailstore_set_flags_many(a, ch, 2, &error) == 1);
	UNIT_CHECK(modseq_of(a, 2) > m4);
	UNIT_CHECK(mailstore_msg_set_flags(a, 1, MAILSTORE_FLAG_SEEN, 0,
					   &error) == 0);
	/* Out of range: an error, nothing changed. */
	ch[0].idx = 77;
	UNIT_CHECK(mailstore_set_flags_many(a, ch, 2, &error) < 0);
	mailstore_close(&a);
	mailstore_close(&b);
}

/* The UIDs expunged after since, as the handle reports them. */
static char *expunged(struct mailstore *box, uint64_t since)
{
	uint32_t *uids;
	size_t n;
	const char *error;
	static char text[256];
	size_t o = 0;

	text[0] = '\0';
	if (mailstore_expunged_since(box, since, &uids, &n, &error) < 0)
		return strcpy(text, "error");
	for (size_t i = 0; i < n && o < sizeof(text) - 16; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%s%u",
				      i > 0 ? "," : "", uids[i]);
	free(uids);
	return text;
}

static void test_expunged_since(void)
{
	const char *p = tnew_box(dir, "exp", 8);
	struct mailstore *a = open_box(p), *b = open_box(p);
	const char *error = "";

	/* The store was found without an index: nothing is known of
	 * before, and nothing is missing. */
	UNIT_STREQ(expunged(a, 0), "");
	uint64_t h0 = mailstore_highest_modseq(a);
	uint32_t gone[2] = { 2, 3 };
	UNIT_CHECK(mailstore_expunge(b, gone, 2, NULL, NULL, &error) == 0);
	uint64_t h1 = mailstore_highest_modseq(b);
	UNIT_CHECK(h1 > h0);
	UNIT_STREQ(expunged(b, h0), "2,3");
	UNIT_STREQ(expunged(b, h1), "");
	/* The other handle learns it at its sync, with the same MODSEQ. */
	UNIT_STREQ(expunged(a, h0), "");
	tsync_ok(a);
	UNIT_CHECK(mailstore_highest_modseq(a) == h1 &&
		   mailstore_count(a) == 6);
	UNIT_STREQ(expunged(a, h0), "2,3");
	UNIT_STREQ(expunged(a, h0 - 1), "2,3");
	/* mutt deletes a file: the first sync records it. */
	UNIT_CHECK(mailstore_msg(a, 2)->uid == 5);
	unlink(tpath("%s/cur/%s", p, mailstore_msg(a, 2)->name));
	tsettle(p);
	tsync_ok(a);
	uint64_t h2 = mailstore_highest_modseq(a);
	UNIT_CHECK(h2 > h1 && mailstore_count(a) == 5);
	UNIT_STREQ(expunged(a, h1), "5");
	tsync_ok(b);
	UNIT_CHECK(mailstore_highest_modseq(b) == h2);
	UNIT_STREQ(expunged(b, h1), "5");
	UNIT_STREQ(expunged(b, h0), "2,3,5");
	/* 1 and 7 with 4 and 6 still there between them. */
	gone[0] = 1;
	gone[1] = 7;
	UNIT_CHECK(mailstore_expunge(a, gone, 2, NULL, NULL, &error) == 0);
	uint64_t h3 = mailstore_highest_modseq(a);
	UNIT_STREQ(expunged(a, h2), "1,7");
	UNIT_STREQ(expunged(a, 0), "1,2,3,5,7");
	struct mailstore_uid_range *r;
	size_t n;
	UNIT_CHECK(mailstore_expunged_since_ranges(a, 0, &r, &n, &error) == 0);
	UNIT_CHECK(n == 3 && r[0].first == 1 && r[0].last == 3 &&
		   r[1].first == 5 && r[1].last == 5 && r[2].first == 7 &&
		   r[2].last == 7);
	free(r);
	/* A flag change moves HIGHESTMODSEQ but expunges nothing. */
	UNIT_CHECK(set_one(a, 0, MAILSTORE_FLAG_SEEN) == 1);
	UNIT_STREQ(expunged(a, h3), "");
	tsync_ok(b);
	UNIT_STREQ(expunged(b, h2), "1,7");
	mailstore_close(&a);
	mailstore_close(&b);
	/* The index lost: every UID below UIDNEXT that is not there is
	 * reported for any MODSEQ before the rebuild (more than needed,
	 * never fewer). */
	unlink(tpath("%s/surel-index", p));
	a = open_box(p);
	uint64_t h4 = mailstore_highest_modseq(a);
	UNIT_STREQ(expunged(a, 0), "1,2,3,5,7");
	UNIT_STREQ(expunged(a, h4 - 1), "1,2,3,5,7");
	UNIT_STREQ(expunged(a, h4), "");
	mailstore_close(&a);
}

static void test_savedate_recent_guid(void)
{
	const char *p = tnew_box(dir, "dates", 2);
	time_t now = time(NULL);

	tpast(tpath("%s/new/1600000001.M1P1.h,S=2,W=3", p), 100000);
	struct mailstore *a = open_box(p);
	const struct mailstore_msg *m = mailstore_msg(a, 0);
	/* The UID was given now; the mtime is the INTERNALDATE. */
	UNIT_CHECK(m->savedate >= now && m->savedate <= time(NULL) + 1 &&
		   m->mtime <= now - 99999);
	struct mailstore *b = open_box(p);
	UNIT_CHECK(mailstore_msg(b, 0)->savedate == m->savedate);
	twrite(tpath("%s/new/1600000009.M9P1.h", p), "n\n");
	tsync_ok(b);
	tsync_ok(a);
	UNIT_CHECK(mailstore_count(a) == 3 && mailstore_count(b) == 3);
	UNIT_CHECK(mailstore_msg(a, 2)->savedate ==
		   mailstore_msg(b, 2)->savedate);
	/* The GUID: 32 hex digits, the uidlist's, the same for both. */
	const char *guid = mailstore_guid(a);
	UNIT_CHECK(strlen(guid) == 32 && strspn(guid, "0123456789abcdef") == 32);
	UNIT_STREQ(mailstore_guid(b), guid);
	char *ul = tread(tpath("%s/dovecot-uidlist", p));
	UNIT_CHECK(ul != NULL && strstr(ul, guid) != NULL);
	free(ul);
	mailstore_close(&a);
	mailstore_close(&b);
	/* The index rebuilt: the save date is the mtime. */
	unlink(tpath("%s/surel-index", p));
	a = open_box(p);
	m = mailstore_msg(a, 0);
	UNIT_CHECK(m->savedate == m->mtime && !m->recent);
	mailstore_close(&a);
}

/* STORE on all of 10,000 messages: one lock, the renames, one index
 * write; every message a MODSEQ of its own. */
static void test_store_all(void)
{
	const char *p = tkeep(tpath("%s/big", dir));
	enum { N = 10000 };

	tmaildir(p);
	for (unsigned i = 0; i < N; i++)
		twrite(tpath("%s/cur/%u.M%uP1.h,S=2,W=3:2,", p,
			     1600000000 + i, i), "m\n");
	struct mailstore *box = open_box(p);
	UNIT_CHECK(mailstore_count(box) == N);
	struct mailstore_flag_change *ch = xcalloc(N, sizeof(*ch));
	for (size_t i = 0; i < N; i++)
		ch[i] = (struct mailstore_flag_change){
			i, MAILSTORE_FLAG_SEEN, 0 };
	uint64_t h0 = mailstore_highest_modseq(box);
	struct stat after;
	struct ms_map map0;
	ms_map_init(&map0);
	(void)ms_index_read(tpath("%s/surel-index", p), &map0,
			    &(struct ms_stamp){ 0 });
	uint64_t id0 = map0.id;
	ms_map_clear(&map0);
	free(map0.hdr_ext);
	struct timespec t0, t1;
	const char *error = "";
	clock_gettime(CLOCK_MONOTONIC, &t0);
	long ret = mailstore_set_flags_many(box, ch, N, &error);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) +
		(double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("STORE +FLAGS \\Seen on %d messages: %.3f s\n", N, secs);
	UNIT_CHECK(ret == N && secs < 30);
	UNIT_CHECK(mailstore_highest_modseq(box) == h0 + N);
	bool ok = true;
	for (size_t i = 0; i < N; i++)
		ok &= modseq_of(box, i) == h0 + 1 + i &&
			mailstore_msg(box, i)->flags == MAILSTORE_FLAG_SEEN;
	UNIT_CHECK(ok);
	/* Written (new files replaced the old one: the change with its
	 * renames pending, then without the marker; the second may get
	 * the first's freed inode back, so the id tells). */
	UNIT_CHECK(stat(tpath("%s/surel-index", p), &after) == 0);
	struct ms_map map;
	ms_map_init(&map);
	UNIT_CHECK(ms_index_read(tpath("%s/surel-index", p), &map,
				 &(struct ms_stamp){ 0 }) == 1 &&
		   map.id != id0 && map.pend_count == 0 &&
		   map.highest_modseq == h0 + N &&
		   map.recs[N - 1].modseq == h0 + N);
	ms_map_clear(&map);
	free(map.hdr_ext);
	free(ch);
	mailstore_close(&box);
	unit_rmtree(p);
}

/* ---- several processes at once ---- */

#define WORKERS 3
#define RUN_SECS 3

static char conc_box[512];

static void worker_round(struct mailstore *box, FILE *log, unsigned *seed)
{
	const char *error = "";
	size_t n = mailstore_count(box);
	struct mailstore_flag_change ch[8];
	size_t k = 0;

	for (; k < 8 && n > 0; k++)
		ch[k] = (struct mailstore_flag_change){
			(size_t)rand_r(seed) % n,
			(unsigned)rand_r(seed) & MAILSTORE_FLAGS_ALL, 0 };
	uint64_t before = mailstore_highest_modseq(box);
	uint64_t *old = xcalloc(n + 1, sizeof(*old));
	for (size_t i = 0; i < n; i++)
		old[i] = modseq_of(box, i);
	if (mailstore_set_flags_many(box, ch, k, &error) < 0) {
		fprintf(stderr, "store: %s\n", error);
		exit(1);
	}
	/* Each MODSEQ this process gave: above what it knew before. */
	for (size_t i = 0; i < n; i++)
		if (modseq_of(box, i) != old[i]) {
			fprintf(log, "M %llu\n",
				(unsigned long long)modseq_of(box, i));
			if (modseq_of(box, i) <= before)
				exit(4);
		}
	free(old);
	if (n > 0 && rand_r(seed) % 4 == 0) {
		uint32_t uid = mailstore_msg(box, (size_t)rand_r(seed) % n)->uid;
		if (mailstore_expunge(box, &uid, 1, NULL, NULL, &error) < 0)
			exit(1);
		fprintf(log, "X %u\n", uid);
	}
	if (rand_r(seed) % 3 == 0) {
		struct mailstore_new_msg msg = { "new\r\n", 5, 0, 0, 0 };
		uint32_t uid;
		if (mailstore_save(box, &msg, 1, &uid, NULL, &error) < 0)
			exit(1);
	}
	if (mailstore_sync(box, &error) < 0)
		exit(1);
}

static void worker(int w)
{
	FILE *log = fopen(tpath("%s/log.%d", dir, w), "w");
	unsigned seed = (unsigned)getpid();
	time_t end = time(NULL) + RUN_SECS;
	struct mailstore *box;
	const char *error;

	if (log == NULL || mailstore_open(conc_box, 0, &box, &error) < 0)
		_exit(1);
	while (time(NULL) < end)
		worker_round(box, log, &seed);
	mailstore_close(&box);
	fclose(log);
	_exit(0);
}

/* Flags changed by renaming, as mutt does, without any lock. */
static void mutt(void)
{
	unsigned seed = (unsigned)getpid();
	time_t end = time(NULL) + RUN_SECS;

	while (time(NULL) < end) {
		DIR *d = opendir(tpath("%s/cur", conc_box));
		struct dirent *e;
		while (d != NULL && (e = readdir(d)) != NULL) {
			char *info = strrchr(e->d_name, ':');
			if (e->d_name[0] == '.' || info == NULL ||
			    rand_r(&seed) % 8 != 0)
				continue;
			char from[1024], to[1024];
			snprintf(from, sizeof(from), "%s/cur/%s", conc_box,
				 e->d_name);
			snprintf(to, sizeof(to), "%s/cur/%.*s:2,%s", conc_box,
				 (int)(info - e->d_name), e->d_name,
				 strchr(info, 'F') != NULL ? "" : "F");
			rename(from, to);
		}
		if (d != NULL)
			closedir(d);
		usleep(20000);
	}
	_exit(0);
}

/* True if uid is among the UIDs reported expunged since MODSEQ 0. */
static bool expunged_has(struct mailstore *box, uint32_t uid)
{
	struct mailstore_uid_range *r;
	size_t n;
	const char *error;
	bool found = false;

	if (mailstore_expunged_since_ranges(box, 0, &r, &n, &error) < 0)
		return false;
	for (size_t i = 0; i < n; i++)
		found |= r[i].first <= uid && uid <= r[i].last;
	free(r);
	return found;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void test_concurrency(void)
{
	const char *p = tnew_box(dir, "conc", 30);
	pid_t pids[WORKERS + 1];
	int status;

	snprintf(conc_box, sizeof(conc_box), "%s", p);
	struct mailstore *box = open_box(p);
	mailstore_close(&box);
	for (int i = 0; i <= WORKERS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			if (i == WORKERS)
				mutt();
			worker(i);
		}
	}
	bool ok = true;
	for (int i = 0; i <= WORKERS; i++)
		ok &= waitpid(pids[i], &status, 0) == pids[i] &&
			WIFEXITED(status) && WEXITSTATUS(status) == 0;
	UNIT_CHECK(ok);
	/* Every MODSEQ given for a flag change, by whichever process, is
	 * its own; expunges have their own MODSEQs too. */
	uint64_t *ms = NULL;
	size_t n = 0, alloc = 0;
	box = open_box(p);
	for (int w = 0; w < WORKERS; w++) {
		FILE *log = fopen(tpath("%s/log.%d", dir, w), "r");
		char type;
		unsigned long long v;
		while (log != NULL && fscanf(log, " %c %llu", &type, &v) == 2) {
			if (type == 'X') {
				/* Never under-reported. */
				UNIT_CHECK(expunged_has(box, (uint32_t)v));
				continue;
			}
			if (n == alloc) {
				alloc = alloc == 0 ? 256 : alloc * 2;
				ms = xreallocarray(ms, alloc, sizeof(*ms));
			}
			ms[n++] = v;
		}
		if (log != NULL)
			fclose(log);
	}
	qsort(ms, n, sizeof(*ms), u64_cmp);
	size_t dups = 0;
	for (size_t i = 1; i < n; i++)
		dups += ms[i] == ms[i - 1];
	printf("concurrency: %zu flag MODSEQs, %zu duplicates, highest %llu\n",
	       n, dups, (unsigned long long)mailstore_highest_modseq(box));
	UNIT_CHECK(n > 0 && dups == 0);
	UNIT_CHECK(n == 0 || ms[n - 1] <= mailstore_highest_modseq(box));
	struct ms_map map;
	ms_map_init(&map);
	UNIT_CHECK(ms_index_read(tpath("%s/surel-index", p), &map,
				 &(struct ms_stamp){ 0 }) == 1);
	size_t clash = 0;
	for (size_t i = 0; i < map.exp_count; i++)
		clash += bsearch(&map.exp[i].modseq, ms, n, sizeof(*ms),
				 u64_cmp) != NULL;
	UNIT_CHECK(map.exp_count > 0 && clash == 0);
	ms_map_clear(&map);
	free(map.hdr_ext);
	free(ms);
	mailstore_close(&box);
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		return 2;
	ms_lock_set_wait_ms(10000);
	test_two_handles_flags();
	test_expunged_since();
	test_savedate_recent_guid();
	test_store_all();
	test_concurrency();
	unit_rmtree(dir);
	return unit_done();
}
