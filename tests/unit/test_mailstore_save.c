/* test_mailstore_save: saving (IMAP APPEND) and copying (COPY, MOVE)
 * into a folder: files named as delivery names them, with ",S=,W=" and
 * the flags, LF line ends, the INTERNALDATE as mtime, consecutive UIDs
 * under the lock even with deliveries waiting in new/, all or nothing
 * when a step fails, and a process killed between any two steps never
 * loses a message it was told was saved nor gives a UID twice. Copies
 * are hard links (or real copies across file systems) with flags kept
 * and keywords mapped by name. And who new messages are \Recent for:
 * the first handle that claims them (a read-write SELECT), never one
 * that only looks (STATUS, EXAMINE, POP3, a save or copy target). */
#include "config.h"
#include <errno.h>
#include <regex.h>
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

static char dir[] = "/tmp/test_mailstore_save.XXXXXX";

static struct mailstore *open_box(const char *p, unsigned flags)
{
	return topen(p, flags);
}

/* The name of message m must be "<secs>.M<usec>P<pid>Q<n>.<host>,S=<size>,
 * W=<vsize>:2,<flags>" like delivery's. */
static bool delivery_like(const struct mailstore_msg *m, const char *flags)
{
	regex_t re;
	char pattern[256];

	snprintf(pattern, sizeof(pattern),
		 "^[0-9]+\\.M[0-9]+P[0-9]+Q[0-9]+\\.[^,:/]+,S=[0-9]+,"
		 "W=[0-9]+:2,%s$", flags);
	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	bool ok = regexec(&re, m->name, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

static void test_save(void)
{
	const char *p = tkeep(tpath("%s/save", dir));
	struct mailstore *box = open_box(p, MAILSTORE_OPEN_CREATE |
					 MAILSTORE_OPEN_CLAIM_RECENT);
	const char *error = "";
	unsigned kw;
	static const char one[] = "Subject: one\r\n\r\nline\r\nbare\nend\r\n";
	static const char two[] = "Subject: two\r\n\r\ncr\ralone\r\r\n";

	UNIT_CHECK(mailstore_keyword_index(box, "Work", true, &kw,
					   &error) == 1 && kw == 0);
	struct mailstore_new_msg msgs[3] = {
		{ one, strlen(one), MAILSTORE_FLAG_SEEN |
		  MAILSTORE_FLAG_FLAGGED, 1u << kw, 1500000000 },
		{ two, strlen(two), 0, 0, 0 },
		{ "x", 1, MAILSTORE_FLAG_DRAFT, 0, 1600000000 },
	};
	uint32_t uids[3] = { 0 };
	uint64_t bytes = 0;
	time_t before = time(NULL);
	UNIT_CHECK(mailstore_save(box, msgs, 3, uids, &bytes, &error) == 0);
	UNIT_CHECK(uids[0] == 1 && uids[1] == 2 && uids[2] == 3);
	UNIT_CHECK(mailstore_uidnext(box) == 4 && mailstore_count(box) == 3);
	const struct mailstore_msg *m = mailstore_msg(box, 0);
	/* CRLF stored as LF; the W= counts every LF as CRLF. */
	char *data = tread(tpath("%s/cur/%s", p, m->name));
	UNIT_STREQ(data, "Subject: one\n\nline\nbare\nend\n");
	free(data);
	UNIT_CHECK(m->uid == 1 && m->size == 28 && m->vsize == 33 &&
		   m->mtime == 1500000000 && m->keywords == 1 &&
		   m->flags == (MAILSTORE_FLAG_SEEN | MAILSTORE_FLAG_FLAGGED));
	UNIT_CHECK(delivery_like(m, "FSa"));
	UNIT_CHECK(strstr(m->name, ",S=28,W=33:") != NULL);
	UNIT_CHECK(m->savedate >= before && m->savedate <= time(NULL) + 1);
	UNIT_CHECK(m->recent && m->modseq > 0);
	/* A CR alone stays; the CR before CRLF too (it is not part of the
	 * line end). */
	m = mailstore_msg(box, 1);
	data = tread(tpath("%s/cur/%s", p, m->name));
	UNIT_STREQ(data, "Subject: two\n\ncr\ralone\r\n");
	free(data);
	UNIT_CHECK(m->size == 24 && m->vsize == 26 && delivery_like(m, ""));
	UNIT_CHECK(m->mtime >= before && m->mtime <= time(NULL) + 1);
	UNIT_CHECK(file_size(tpath("%s/cur/%s", p, m->name)) == 24);
	m = mailstore_msg(box, 2);
	UNIT_CHECK(m->size == 1 && m->vsize == 1 && m->mtime == 1600000000 &&
		   delivery_like(m, "D"));
	UNIT_CHECK(bytes == 28 + 24 + 1);
	UNIT_CHECK(tcount(tpath("%s/tmp", p)) == 0 &&
		   tcount(tpath("%s/new", p)) == 0);
	/* Nothing to do. */
	UNIT_CHECK(mailstore_save(box, msgs, 0, uids, &bytes, &error) == 0 &&
		   bytes == 0);
	/* Another handle: the same UIDs, sizes and save dates; not recent
	 * there (box claimed them). */
	struct mailstore *other = open_box(p, 0);
	UNIT_CHECK(mailstore_count(other) == 3);
	for (size_t i = 0; i < 3; i++) {
		const struct mailstore_msg *a = mailstore_msg(box, i);
		const struct mailstore_msg *b = mailstore_msg(other, i);
		UNIT_CHECK(a->uid == b->uid && a->size == b->size &&
			   a->vsize == b->vsize && a->mtime == b->mtime &&
			   a->savedate == b->savedate && a->modseq == b->modseq &&
			   !b->recent);
	}
	mailstore_close(&other);
	/* The uidlist names them, in order. */
	char *ul = tread(tpath("%s/dovecot-uidlist", p));
	UNIT_CHECK(ul != NULL && strncmp(ul, "3 V", 3) == 0 &&
		   strstr(ul, " N4 ") != NULL);
	UNIT_CHECK(ul != NULL && strstr(ul, tpath("\n1 :%s\n",
						mailstore_msg(box, 0)->base)));
	free(ul);
	mailstore_close(&box);
}

/* Deliveries waiting in new/ do not come between the UIDs of a batch. */
static void test_save_with_deliveries(void)
{
	const char *p = tkeep(tpath("%s/deliv", dir));
	struct mailstore *box = open_box(p, MAILSTORE_OPEN_CREATE);
	const char *error = "";
	time_t now = time(NULL);

	twrite(tpath("%s/new/%ld.M1P1.h,S=2,W=3", p, (long)now - 5), "a\n");
	twrite(tpath("%s/new/%ld.M2P1.h,S=2,W=3", p, (long)now + 5), "b\n");
	struct mailstore_new_msg msgs[4];
	for (size_t i = 0; i < 4; i++)
		msgs[i] = (struct mailstore_new_msg){ "m\n", 2, 0, 0, 0 };
	uint32_t uids[4];
	UNIT_CHECK(mailstore_save(box, msgs, 4, uids, NULL, &error) == 0);
	UNIT_CHECK(uids[1] == uids[0] + 1 && uids[2] == uids[0] + 2 &&
		   uids[3] == uids[0] + 3);
	UNIT_CHECK(mailstore_count(box) == 6 && mailstore_uidnext(box) == 7);
	/* The delivered ones got the UIDs after the batch, moved from new/
	 * by this handle: recent. */
	UNIT_CHECK(tuid(box, tpath("%ld.M1P1.h,S=2,W=3", (long)now - 5)) ==
		   uids[3] + 1);
	UNIT_CHECK(tfind(box, tpath("%ld.M2P1.h,S=2,W=3",
				    (long)now + 5))->recent);
	mailstore_close(&box);
}

static char fail_box[512];
static const char *block_step;

/* Makes the uidlist impossible to read or replace at block_step. */
static void hook_block_uidlist(const char *step)
{
	if (strcmp(step, block_step) != 0)
		return;
	rename(tpath("%s/dovecot-uidlist", fail_box),
	       tpath("%s/uidlist.saved", fail_box));
	mkdir(tpath("%s/dovecot-uidlist", fail_box), 0700);
	twrite(tpath("%s/dovecot-uidlist/x", fail_box), "x");
}

/* Makes cur/ go away before the renames. */
static void hook_no_cur(const char *step)
{
	if (strcmp(step, "tmp") != 0)
		return;
	rename(tpath("%s/cur", fail_box), tpath("%s/cur.saved", fail_box));
	twrite(tpath("%s/cur", fail_box), "not a directory");
}

static void test_all_or_nothing(void)
{
	const char *p = tkeep(tpath("%s/fail", dir));
	snprintf(fail_box, sizeof(fail_box), "%s", p);
	struct mailstore *box = open_box(p, MAILSTORE_OPEN_CREATE);
	const char *error = "";
	struct mailstore_new_msg msgs[3];
	uint32_t uids[3];

	for (size_t i = 0; i < 3; i++)
		msgs[i] = (struct mailstore_new_msg){ "m\n", 2, 0, 0, 0 };
	UNIT_CHECK(mailstore_save(box, msgs, 1, uids, NULL, &error) == 0 &&
		   uids[0] == 1);
	/* The uidlist cannot be read (files in cur/), then cannot be
	 * written (index written too): the files leave cur/ again. */
	static const char *const steps[] = { "published", "index" };
	for (size_t i = 0; i < 2; i++) {
		block_step = steps[i];
		ms_save_hook = hook_block_uidlist;
		error = NULL;
		UNIT_CHECK(mailstore_save(box, msgs, 3, uids, NULL,
					  &error) < 0);
		ms_save_hook = NULL;
		UNIT_CHECK(error != NULL);
		unlink(tpath("%s/dovecot-uidlist/x", p));
		rmdir(tpath("%s/dovecot-uidlist", p));
		rename(tpath("%s/uidlist.saved", p),
		       tpath("%s/dovecot-uidlist", p));
		UNIT_CHECK(tcount(tpath("%s/cur", p)) == 1 &&
			   tcount(tpath("%s/tmp", p)) == 0);
	}
	/* cur/ is no directory: nothing moved, tmp/ cleaned. */
	ms_save_hook = hook_no_cur;
	UNIT_CHECK(mailstore_save(box, msgs, 3, uids, NULL, &error) < 0);
	ms_save_hook = NULL;
	unlink(tpath("%s/cur", p));
	rename(tpath("%s/cur.saved", p), tpath("%s/cur", p));
	UNIT_CHECK(tcount(tpath("%s/cur", p)) == 1 &&
		   tcount(tpath("%s/tmp", p)) == 0);
	/* The store goes on; UIDs that may have been seen are not reused. */
	UNIT_CHECK(mailstore_sync(box, &error) == 0 &&
		   mailstore_count(box) == 1);
	UNIT_CHECK(mailstore_save(box, msgs, 2, uids, NULL, &error) == 0);
	/* 2..4 went into the index before the uidlist failed. */
	UNIT_CHECK(uids[0] == 5 && uids[1] == 6 && mailstore_count(box) == 3);
	mailstore_close(&box);
	box = open_box(p, 0);
	UNIT_CHECK(mailstore_count(box) == 3 &&
		   tuid(box, mailstore_msg(box, 2)->base) == uids[1]);
	mailstore_close(&box);
}

/* ---- a process killed between two steps of a save ---- */

static const char *kill_step;

static void hook_kill(const char *step)
{
	if (kill_step != NULL && strcmp(step, kill_step) == 0)
		_exit(0);	/* no cleanup, locks left behind: a kill */
}

/* The UIDs of the uidlist are unique, each file of cur/ has one. */
static bool uidlist_sane(const char *p, struct mailstore *box)
{
	char *ul = tread(tpath("%s/dovecot-uidlist", p));
	bool ok = ul != NULL;
	size_t lines = 0;

	for (char *s = ul != NULL ? strchr(ul, '\n') : NULL; s != NULL &&
	     s[1] != '\0'; s = strchr(s + 1, '\n'))
		lines++;
	free(ul);
	for (size_t i = 1; i < mailstore_count(box); i++)
		ok &= mailstore_msg(box, i)->uid > mailstore_msg(box, i - 1)->uid;
	return ok && lines == mailstore_count(box) &&
		tcount(tpath("%s/cur", p)) == mailstore_count(box);
}

static void crash_at(const char *step, bool kept, bool same_uids)
{
	const char *p = tkeep(tpath("%s/crash-%s", dir, step));
	struct mailstore *box = open_box(p, MAILSTORE_OPEN_CREATE);
	const char *error;
	struct mailstore_new_msg msgs[2] = {
		{ "first\n", 6, MAILSTORE_FLAG_SEEN, 0, 0 },
		{ "second\n", 7, 0, 0, 0 },
	};
	uint32_t uids[2];

	UNIT_CHECK(mailstore_save(box, msgs, 1, uids, NULL, &error) == 0);
	uint32_t next = mailstore_uidnext(box);
	mailstore_close(&box);
	pid_t pid = fork();
	if (pid == 0) {
		box = open_box(p, 0);
		kill_step = step;
		ms_save_hook = hook_kill;
		if (mailstore_save(box, msgs, 2, uids, NULL, &error) < 0)
			_exit(1);
		_exit(3);	/* the step was never reached */
	}
	int status;
	UNIT_CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		   WEXITSTATUS(status) == 0);
	/* The dead process's lock (if left) is taken over at once. */
	if (texists(tpath("%s/dovecot-uidlist.lock", p)))
		tpast(tpath("%s/dovecot-uidlist.lock", p), 3);
	box = open_box(p, 0);
	UNIT_CHECK(uidlist_sane(p, box));
	UNIT_CHECK(mailstore_count(box) == (kept ? 3 : 1));
	if (kept) {
		/* Both kept, in order, with the UIDs the crashed process was
		 * giving them (when its index said so) or the next ones. */
		const struct mailstore_msg *a = mailstore_msg(box, 1);
		const struct mailstore_msg *b = mailstore_msg(box, 2);
		UNIT_CHECK(a->uid >= next && b->uid == a->uid + 1);
		if (same_uids)
			UNIT_CHECK(a->uid == next);
		char *data = tread(tpath("%s/cur/%s", p, a->name));
		UNIT_STREQ(data, "first\n");
		free(data);
		UNIT_CHECK(a->flags == MAILSTORE_FLAG_SEEN && b->flags == 0);
	}
	/* The next save gets UIDs nobody had. */
	uint32_t last = mailstore_msg(box, mailstore_count(box) - 1)->uid;
	UNIT_CHECK(mailstore_save(box, msgs, 1, uids, NULL, &error) == 0);
	UNIT_CHECK(uids[0] > last && uids[0] >= next + (kept ? 2 : 0));
	UNIT_CHECK(uidlist_sane(p, box));
	mailstore_close(&box);
}

static void test_crash_points(void)
{
	crash_at("tmp", false, false);
	crash_at("published", true, false);
	crash_at("index", true, true);
	crash_at("uidlist", true, true);
}

/* ---- copies ---- */

static void test_copy(const char *dst_root, bool want_link)
{
	const char *sp = tkeep(tpath("%s/copy-src", dir));
	const char *dp = tkeep(tpath("%s/copy-dst", dst_root));
	struct mailstore *src = open_box(sp, MAILSTORE_OPEN_CREATE);
	struct mailstore *dst = open_box(dp, MAILSTORE_OPEN_CREATE);
	const char *error = "";
	unsigned k;

	/* Keywords: "$Label1" is a in src, b in dst; "Work" only in src. */
	UNIT_CHECK(mailstore_keyword_index(src, "$Label1", true, &k,
					   &error) == 1 && k == 0);
	UNIT_CHECK(mailstore_keyword_index(src, "Work", true, &k, &error) == 1);
	UNIT_CHECK(mailstore_keyword_index(dst, "Other", true, &k, &error) == 1);
	UNIT_CHECK(mailstore_keyword_index(dst, "$label1", true, &k,
					   &error) == 1 && k == 1);
	struct mailstore_new_msg msgs[3] = {
		{ "one\r\n", 5, MAILSTORE_FLAG_SEEN, 3, 1400000000 },
		{ "two\n", 4, MAILSTORE_FLAG_ANSWERED, 0, 1400000001 },
		{ "three\n", 6, 0, 2, 1400000002 },
	};
	uint32_t uids[3];
	uint64_t bytes = 0;
	UNIT_CHECK(mailstore_save(src, msgs, 3, uids, NULL, &error) == 0);
	UNIT_CHECK(mailstore_save(dst, msgs + 1, 1, uids, NULL, &error) == 0);
	/* Message 2 (UID 2) vanishes behind our back. */
	unlink(tpath("%s/cur/%s", sp, mailstore_msg(src, 1)->name));
	size_t idx[3] = { 2, 1, 0 };
	UNIT_CHECK(mailstore_copy(src, idx, 3, dst, uids, &bytes,
				  &error) == 0);
	UNIT_CHECK(uids[0] == 2 && uids[1] == 0 && uids[2] == 3);
	UNIT_CHECK(bytes == 6 + 4 && mailstore_count(dst) == 3);
	const struct mailstore_msg *a = mailstore_msg(dst, 1);
	const struct mailstore_msg *b = mailstore_msg(dst, 2);
	/* three: Work (new in dst, index 2); one: $Label1 (b) and Work. */
	UNIT_STREQ(mailstore_keyword_name(dst, 2), "Work");
	UNIT_CHECK(a->uid == 2 && a->flags == 0 && a->keywords == 4 &&
		   a->mtime == 1400000002 && a->size == 6 && a->recent);
	UNIT_CHECK(b->uid == 3 && b->flags == MAILSTORE_FLAG_SEEN &&
		   b->keywords == (2u | 4u) && b->mtime == 1400000000 &&
		   b->size == 4 && b->vsize == 5);
	UNIT_CHECK(delivery_like(b, "Sbc"));
	char *data = tread(tpath("%s/cur/%s", dp, b->name));
	UNIT_STREQ(data, "one\n");
	free(data);
	struct stat s1, s2;
	UNIT_CHECK(stat(tpath("%s/cur/%s", dp, b->name), &s1) == 0 &&
		   stat(tpath("%s/cur/%s", sp, mailstore_msg(src, 0)->name),
			&s2) == 0);
	UNIT_CHECK((s1.st_ino == s2.st_ino && s1.st_dev == s2.st_dev) ==
		   want_link);
	UNIT_CHECK(s1.st_mtime == 1400000000);
	/* Within one folder (COPY to the selected mailbox). */
	size_t one = 0;
	UNIT_CHECK(mailstore_copy(src, &one, 1, src, uids, NULL, &error) == 0);
	UNIT_CHECK(uids[0] == 4 && mailstore_count(src) == 3);
	const struct mailstore_msg *c = mailstore_msg(src, 2);
	UNIT_CHECK(c->uid == 4 && c->keywords == 3 &&
		   c->flags == MAILSTORE_FLAG_SEEN &&
		   strcmp(c->base, mailstore_msg(src, 0)->base) != 0);
	/* Bad index: an error, nothing copied. */
	size_t bad = 99;
	UNIT_CHECK(mailstore_copy(src, &bad, 1, dst, uids, NULL, &error) < 0);
	UNIT_CHECK(tcount(tpath("%s/tmp", dp)) == 0 &&
		   mailstore_count(dst) == 3);
	mailstore_close(&src);
	mailstore_close(&dst);
	/* What another handle reads. */
	dst = open_box(dp, 0);
	UNIT_CHECK(mailstore_count(dst) == 3 &&
		   mailstore_msg(dst, 2)->keywords == (2u | 4u));
	mailstore_close(&dst);
	unit_rmtree(sp);
	unit_rmtree(dp);
}

/* The messages of box that are recent for it, as "uid,uid". */
static const char *recent_of(struct mailstore *box)
{
	static char out[256];
	size_t len = 0;
	const char *error = "";

	if (mailstore_sync(box, &error) < 0) {
		fprintf(stderr, "sync: %s\n", error);
		return "(sync failed)";
	}
	out[0] = '\0';
	for (size_t i = 0; i < mailstore_count(box) && len < 200; i++)
		if (mailstore_msg(box, i)->recent)
			len += (size_t)snprintf(out + len, sizeof(out) - len,
						"%s%u", len > 0 ? "," : "",
						mailstore_msg(box, i)->uid);
	return out;
}

static size_t status_recent(const char *p)
{
	struct mailstore *box = open_box(p, 0);
	size_t n = mailstore_recent_count(box);

	mailstore_close(&box);
	return n;
}

static void deliver(const char *p, unsigned n)
{
	twrite(tpath("%s/new/%u.M%uP7.h,S=2,W=3", p, 1600000000 + n, n),
	       "m\n");
}

/* Dovecot's \Recent: looking (STATUS, EXAMINE, POP3) never takes it
 * away; the first claimer gets each message, the next one none. */
static void test_recent_claims(void)
{
	const char *p = tkeep(tpath("%s/recent", dir));
	const uint32_t claim = MAILSTORE_OPEN_CLAIM_RECENT;

	tmaildir(p);
	deliver(p, 1);
	deliver(p, 2);
	/* STATUS: both recent, nothing claimed (twice, moving them to
	 * cur/ and giving UIDs the first time). */
	UNIT_CHECK(status_recent(p) == 2 && status_recent(p) == 2);
	UNIT_CHECK(tcount(tpath("%s/new", p)) == 0);
	/* EXAMINE sees them recent and leaves them so. */
	struct mailstore *ex = open_box(p, 0);
	UNIT_STREQ(recent_of(ex), "1,2");
	UNIT_CHECK(status_recent(p) == 2);
	/* The first SELECT claims them; a second gets none. */
	struct mailstore *a = open_box(p, claim);
	UNIT_STREQ(recent_of(a), "1,2");
	UNIT_CHECK(mailstore_recent_count(a) == 0 && status_recent(p) == 0);
	struct mailstore *b = open_box(p, claim);
	UNIT_STREQ(recent_of(b), "");
	/* A delivery goes to the claimer that syncs first; STATUS and a
	 * looker syncing before it take nothing. */
	deliver(p, 3);
	UNIT_CHECK(status_recent(p) == 1);
	UNIT_STREQ(recent_of(ex), "1,2,3");
	UNIT_STREQ(recent_of(b), "3");
	UNIT_STREQ(recent_of(a), "1,2");
	UNIT_CHECK(status_recent(p) == 0);
	deliver(p, 4);
	UNIT_STREQ(recent_of(a), "1,2,4");
	UNIT_STREQ(recent_of(b), "3");
	/* Saved by a handle that only looks (APPEND to a folder that is
	 * not selected): recent for the next claimer; saved by a claimer:
	 * its own. */
	struct mailstore_new_msg msg = { "x\n", 2, 0, 0, 0 };
	uint32_t uid;
	const char *error = "";
	struct mailstore *t = open_box(p, 0);
	UNIT_CHECK(mailstore_save(t, &msg, 1, &uid, NULL, &error) == 0 &&
		   uid == 5 && mailstore_msg(t, 4)->recent);
	mailstore_close(&t);
	UNIT_CHECK(status_recent(p) == 1);
	UNIT_CHECK(mailstore_save(b, &msg, 1, &uid, NULL, &error) == 0 &&
		   uid == 6);
	UNIT_STREQ(recent_of(b), "3,5,6");
	UNIT_STREQ(recent_of(a), "1,2,4");
	UNIT_CHECK(status_recent(p) == 0);
	/* A new claimer after both closed: nothing left. */
	mailstore_close(&a);
	mailstore_close(&b);
	mailstore_close(&ex);
	a = open_box(p, claim);
	UNIT_STREQ(recent_of(a), "");
	mailstore_close(&a);
	/* The index lost: what waits in new/ is recent (from the first
	 * UID found there on), what is in cur/ is not. */
	deliver(p, 7);
	unlink(tpath("%s/surel-index", p));
	UNIT_CHECK(status_recent(p) == 1);
	a = open_box(p, claim);
	UNIT_STREQ(recent_of(a), "7");
	mailstore_close(&a);
	unit_rmtree(p);
}

enum { CLAIMERS = 3, CLAIM_MSGS = 40 };

/* A SELECT-like process: claims for a while, then writes what it got. */
static void claimer(const char *p, int k)
{
	struct mailstore *box = open_box(p, MAILSTORE_OPEN_CLAIM_RECENT);
	const char *error = "";
	FILE *log = fopen(tpath("%s/claimed.%d", dir, k), "w");

	for (int i = 0; i < 150; i++) {
		if (mailstore_sync(box, &error) < 0)
			_exit(1);
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	}
	for (size_t i = 0; i < mailstore_count(box); i++)
		if (mailstore_msg(box, i)->recent)
			fprintf(log, "%u\n", mailstore_msg(box, i)->uid);
	fclose(log);
	mailstore_close(&box);
	_exit(0);
}

/* Claimers, a looker (STATUS) and deliveries at once: each message is
 * recent for exactly one claimer, or left for the next one. */
static void test_recent_concurrency(void)
{
	const char *p = tkeep(tpath("%s/claims", dir));
	pid_t pids[CLAIMERS + 1];
	int status, seen[CLAIM_MSGS + 2] = { 0 };
	unsigned uid;

	tmaildir(p);
	for (int k = 0; k <= CLAIMERS; k++) {
		if ((pids[k] = fork()) == 0 && k < CLAIMERS)
			claimer(p, k);
		if (pids[k] == 0) {
			for (int i = 0; i < 30; i++) {
				if (status_recent(p) > CLAIM_MSGS)
					_exit(1);
				nanosleep(&(struct timespec){ 0, 30000000 },
					  NULL);
			}
			_exit(0);
		}
	}
	for (unsigned i = 1; i <= CLAIM_MSGS; i++) {
		deliver(p, i);
		nanosleep(&(struct timespec){ 0, 25000000 }, NULL);
	}
	for (int k = 0; k <= CLAIMERS; k++)
		UNIT_CHECK(waitpid(pids[k], &status, 0) == pids[k] &&
			   WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* What nobody claimed goes to the next SELECT. */
	struct mailstore *last = open_box(p, MAILSTORE_OPEN_CLAIM_RECENT);
	for (size_t i = 0; i < mailstore_count(last); i++)
		if (mailstore_msg(last, i)->recent &&
		    mailstore_msg(last, i)->uid <= CLAIM_MSGS)
			seen[mailstore_msg(last, i)->uid]++;
	UNIT_CHECK(mailstore_count(last) == CLAIM_MSGS);
	mailstore_close(&last);
	for (int k = 0; k < CLAIMERS; k++) {
		FILE *log = fopen(tpath("%s/claimed.%d", dir, k), "r");
		while (log != NULL && fscanf(log, "%u", &uid) == 1)
			seen[uid <= CLAIM_MSGS ? uid : CLAIM_MSGS + 1]++;
		if (log != NULL)
			fclose(log);
	}
	size_t once = 0;
	for (unsigned i = 1; i <= CLAIM_MSGS; i++)
		once += seen[i] == 1;
	UNIT_CHECK(once == CLAIM_MSGS && seen[CLAIM_MSGS + 1] == 0);
	unit_rmtree(p);
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		return 2;
	ms_lock_set_wait_ms(5000);
	test_recent_claims();
	test_recent_concurrency();
	test_save();
	test_save_with_deliveries();
	test_all_or_nothing();
	test_crash_points();
	test_copy(dir, true);
	/* Another file system: copied, not linked. */
	struct stat a, b;
	char shm[] = "/dev/shm/test_mailstore_save.XXXXXX";
	if (stat(dir, &a) == 0 && stat("/dev/shm", &b) == 0 &&
	    a.st_dev != b.st_dev && mkdtemp(shm) != NULL) {
		test_copy(shm, false);
		unit_rmtree(shm);
	}
	unit_rmtree(dir);
	return unit_done();
}
