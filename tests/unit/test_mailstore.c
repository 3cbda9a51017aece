/* test_mailstore: the mail store over real Maildirs in a temporary
 * directory: UIDs given in Dovecot's order and kept, a Dovecot store
 * taken over without a byte of its uidlist changing, new/ moved to cur/,
 * flags and keywords in names (with renames by others followed), sizes
 * from names, the uidlist, the cache or the file, expunge, the dotlock
 * (busy, stale, dead holder) and Maildir++ folders. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "mailstore_impl.h"
#include "mem.h"
#include "test_mailstore.h"

static char dir[] = "/tmp/test_mailstore.XXXXXX";

/* A Dovecot 2.3.19 Maildir (doveadm save, flags, keywords, pop3 with
 * pop3_save_uidl, one file delivered by another program). */
static const char dovecot_uidlist[] =
	"3 V1795336696 N4 Gc751b928f8a9026bda31000083ecc375\n"
	"1 P :1795336696.M682701P12762.vm,S=30,W=34\n"
	"2 P :1795336696.M739998P12765.vm,S=37,W=41\n"
	"3 W25 P :1795336800.M1P1.other\n";
static const char dovecot_keywords[] = "0 $Junk\n1 NonJunk\n";

static const char *make_dovecot_box(const char *name)
{
	const char *box = tkeep(tpath("%s/%s", dir, name));

	tmaildir(box);
	twrite(tpath("%s/dovecot-uidlist", box), dovecot_uidlist);
	twrite(tpath("%s/dovecot-keywords", box), dovecot_keywords);
	twrite(tpath("%s/cur/1795336696.M682701P12762.vm,S=30,W=34:2,Sa", box),
	       "From: a@b\nSubject: one\n\nbody1\n");
	twrite(tpath("%s/cur/1795336696.M739998P12765.vm,S=37,W=41:2,FRb",
		     box), "From: a@b\nSubject: two\n\nbody2 longer\n");
	twrite(tpath("%s/cur/1795336800.M1P1.other:2,", box),
	       "From: x\n\nhello\nworld\n");
	return box;
}

static void test_dovecot_takeover(void)
{
	const char *box_path = make_dovecot_box("dovecot");
	struct mailstore *box;
	const char *error;

	UNIT_CHECK(mailstore_open(box_path, 0, &box, &error) == 0);
	UNIT_CHECK(mailstore_uidvalidity(box) == 1795336696);
	UNIT_CHECK(mailstore_uidnext(box) == 4);
	UNIT_CHECK(mailstore_count(box) == 3);
	const struct mailstore_msg *m = mailstore_msg(box, 0);
	UNIT_CHECK(m->uid == 1 && m->flags == MAILSTORE_FLAG_SEEN &&
		   m->keywords == 1 && m->size == 30 && m->vsize == 34 &&
		   !m->in_new);
	UNIT_STREQ(m->base, "1795336696.M682701P12762.vm,S=30,W=34");
	/* Dovecot: an empty P means the base name is the UIDL. */
	UNIT_STREQ(m->pop3_uidl, m->base);
	m = mailstore_msg(box, 1);
	UNIT_CHECK(m->uid == 2 && m->flags == (MAILSTORE_FLAG_FLAGGED |
					       MAILSTORE_FLAG_ANSWERED) &&
		   m->keywords == 2);
	/* No S= or W= in the name: W from the uidlist, size from stat. */
	m = mailstore_msg(box, 2);
	UNIT_CHECK(m->uid == 3 && m->size == 21 && m->vsize == 25);
	UNIT_STREQ(mailstore_keyword_name(box, 0), "$Junk");
	UNIT_STREQ(mailstore_keyword_name(box, 1), "NonJunk");
	UNIT_CHECK(mailstore_keyword_name(box, 2) == NULL);
	UNIT_CHECK(mailstore_keyword_name(box, 26) == NULL);
	size_t i;
	UNIT_CHECK(mailstore_find_uid(box, 2, &i) == 1 && i == 1);
	UNIT_CHECK(mailstore_find_uid(box, 4, &i) == 0);
	mailstore_close(&box);
	UNIT_CHECK(box == NULL);
	/* Nothing changed: the uidlist is Dovecot's, byte for byte. */
	char *after = tread(tpath("%s/dovecot-uidlist", box_path));
	UNIT_STREQ(after, dovecot_uidlist);
	free(after);
	UNIT_CHECK(texists(tpath("%s/surel-index", box_path)));
	UNIT_CHECK(!texists(tpath("%s/dovecot-uidlist.lock", box_path)));
}

/* New files get UIDs in the order of the time in their names (not the
 * directory's), move to cur/ with ":2," and keep their UIDs. */
static void test_new_files(void)
{
	const char *p = tkeep(tpath("%s/new", dir));
	struct mailstore *box;
	const char *error;

	UNIT_CHECK(mailstore_open(p, 0, &box, &error) < 0);
	UNIT_CHECK(mailstore_open(p, MAILSTORE_OPEN_CREATE, &box, &error) ==
		   0);
	UNIT_CHECK(texists(tpath("%s/tmp", p)) && texists(tpath("%s/cur", p)));
	UNIT_CHECK(mailstore_count(box) == 0 && mailstore_uidnext(box) == 1);
	uint32_t uv = mailstore_uidvalidity(box);
	UNIT_CHECK(uv > 1700000000);
	twrite(tpath("%s/new/1700000005.M20P1.h,S=3,W=4", p), "a\nb");
	twrite(tpath("%s/new/1700000005.M100P1.h,S=3,W=4", p), "c\nd");
	twrite(tpath("%s/new/999999999.M1P1.h,S=3,W=4", p), "e\nf");
	twrite(tpath("%s/new/1700000001.M1P1.h:2,S", p), "with info\n");
	UNIT_CHECK(mailstore_sync(box, &error) == 0);
	UNIT_CHECK(mailstore_count(box) == 4);
	UNIT_CHECK(tuid(box, "999999999.M1P1.h,S=3,W=4") == 1);
	UNIT_CHECK(tuid(box, "1700000001.M1P1.h") == 2);
	UNIT_CHECK(tuid(box, "1700000005.M20P1.h,S=3,W=4") == 3);
	UNIT_CHECK(tuid(box, "1700000005.M100P1.h,S=3,W=4") == 4);
	UNIT_CHECK(tcount(tpath("%s/new", p)) == 0);
	UNIT_CHECK(texists(tpath("%s/cur/1700000005.M20P1.h,S=3,W=4:2,", p)));
	UNIT_CHECK(texists(tpath("%s/cur/1700000001.M1P1.h:2,S", p)));
	const struct mailstore_msg *m = tfind(box, "1700000001.M1P1.h");
	UNIT_CHECK(m != NULL && m->flags == MAILSTORE_FLAG_SEEN &&
		   m->size == 10 && m->vsize == 11 && m->pop3_uidl == NULL);
	UNIT_CHECK(mailstore_uidnext(box) == 5);
	char *ul = tread(tpath("%s/dovecot-uidlist", p));
	char want[512];
	snprintf(want, sizeof(want), "1 :999999999.M1P1.h,S=3,W=4\n"
		 "2 :1700000001.M1P1.h\n3 :1700000005.M20P1.h,S=3,W=4\n"
		 "4 :1700000005.M100P1.h,S=3,W=4\n");
	UNIT_CHECK(ul != NULL && strncmp(ul, tpath("3 V%u N5 G", uv),
					 strlen(tpath("3 V%u N5 G", uv))) == 0);
	UNIT_CHECK(ul != NULL && strstr(ul, want) != NULL &&
		   strlen(strchr(ul, '\n') + 1) == strlen(want));
	free(ul);
	mailstore_close(&box);

	/* Again, in another "process": same UIDs; a vanished file leaves
	 * the uidlist, and its UID is not given again. */
	unlink(tpath("%s/cur/1700000005.M100P1.h,S=3,W=4:2,", p));
	twrite(tpath("%s/new/1600000000.M1P1.h,S=1", p), "x");
	UNIT_CHECK(mailstore_open(p, 0, &box, &error) == 0);
	UNIT_CHECK(mailstore_uidvalidity(box) == uv);
	UNIT_CHECK(mailstore_count(box) == 4);
	UNIT_CHECK(tuid(box, "1700000005.M20P1.h,S=3,W=4") == 3);
	UNIT_CHECK(tuid(box, "1600000000.M1P1.h,S=1") == 5);
	ul = tread(tpath("%s/dovecot-uidlist", p));
	UNIT_CHECK(ul != NULL && strstr(ul, " N6 ") != NULL &&
		   strstr(ul, "M100P1") == NULL);
	free(ul);
	mailstore_close(&box);
}

/* Sizes come from the name, else the uidlist, else the cache, else the
 * file read once; the cache is kept in surel-index. */
static void test_sizes(void)
{
	const char *p = tkeep(tpath("%s/sizes", dir));
	struct mailstore *box;
	const char *error;

	tmaildir(p);
	/* 2 bare LFs, one CRLF, one lone CR. */
	twrite(tpath("%s/cur/1700000000.M1P1.h:2,", p), "a\nb\r\nc\rd\n");
	twrite(tpath("%s/cur/1700000001.M1P1.h,S=99:2,", p), "\n");
	UNIT_CHECK(mailstore_open(p, 0, &box, &error) == 0);
	const struct mailstore_msg *m = tfind(box, "1700000000.M1P1.h");
	UNIT_CHECK(m != NULL && m->size == 9 && m->vsize == 11);
	m = tfind(box, "1700000001.M1P1.h,S=99");
	UNIT_CHECK(m != NULL && m->size == 99 && m->vsize == 2);
	mailstore_close(&box);
	/* The cache answers now: the file is not read again. */
	twrite(tpath("%s/cur/1700000000.M1P1.h:2,", p), "");
	UNIT_CHECK(mailstore_open(p, 0, &box, &error) == 0);
	m = tfind(box, "1700000000.M1P1.h");
	UNIT_CHECK(m != NULL && m->size == 9 && m->vsize == 11);
	mailstore_close(&box);
	/* Without the index it is read again. */
	unlink(tpath("%s/surel-index", p));
	UNIT_CHECK(mailstore_open(p, 0, &box, &error) == 0);
	m = tfind(box, "1700000000.M1P1.h");
	UNIT_CHECK(m != NULL && m->size == 0 && m->vsize == 0);
	mailstore_close(&box);
}

static void test_flags(void)
{
	const char *p = make_dovecot_box("flags");
	struct mailstore *box;
	const char *error;
	unsigned idx;

	UNIT_CHECK(mailstore_open(p, 0, &box, &error) == 0);
	uint64_t ms0 = mailstore_highest_modseq(box);
	UNIT_CHECK(mailstore_msg_set_flags(box, 0, MAILSTORE_FLAG_SEEN |
					   MAILSTORE_FLAG_ANSWERED, 1u | 4u,
					   &error) == 1);
	UNIT_CHECK(texists(tpath("%s/cur/1795336696.M682701P12762.vm,"
				 "S=30,W=34:2,RSac", p)));
	const struct mailstore_msg *m = mailstore_msg(box, 0);
	UNIT_CHECK(m->flags == (MAILSTORE_FLAG_SEEN |
				MAILSTORE_FLAG_ANSWERED) &&
		   m->keywords == 5 && m->modseq > ms0 &&
		   mailstore_highest_modseq(box) == m->modseq);
	/* mutt renames a file behind our back: followed. */
	rename(tpath("%s/cur/1795336696.M739998P12765.vm,S=37,W=41:2,FRb", p),
	       tpath("%s/cur/1795336696.M739998P12765.vm,S=37,W=41:2,FRSXb",
		     p));
	UNIT_CHECK(mailstore_msg_set_flags(box, 1, MAILSTORE_FLAG_DELETED, 0,
					   &error) == 1);
	UNIT_CHECK(texists(tpath("%s/cur/1795336696.M739998P12765.vm,"
				 "S=37,W=41:2,TX", p)));
	/* Deleted behind our back: 0, and msg_open says so too. */
	unlink(tpath("%s/cur/1795336800.M1P1.other:2,", p));
	UNIT_CHECK(mailstore_msg_set_flags(box, 2, MAILSTORE_FLAG_SEEN, 0,
					   &error) == 0);
	int fd = -1;
	UNIT_CHECK(mailstore_msg_open(box, 2, &fd, &error) == 0);
	UNIT_CHECK(mailstore_msg_open(box, 9, &fd, &error) == -1);
	/* Keywords: found case-insensitively, created under the lock. */
	UNIT_CHECK(mailstore_keyword_index(box, "nonjunk", false, &idx,
					   &error) == 1 && idx == 1);
	UNIT_CHECK(mailstore_keyword_index(box, "$Forwarded", false, &idx,
					   &error) == 0);
	UNIT_CHECK(mailstore_keyword_index(box, "$Forwarded", true, &idx,
					   &error) == 1 && idx == 2);
	UNIT_CHECK(mailstore_keyword_index(box, "bad name", true, &idx,
					   &error) == -1);
	char *kw = tread(tpath("%s/dovecot-keywords", p));
	UNIT_STREQ(kw, "0 $Junk\n1 NonJunk\n2 $Forwarded\n");
	free(kw);
	UNIT_CHECK(!texists(tpath("%s/dovecot-keywords.lock", p)));
	for (unsigned i = 3; i < MAILSTORE_KEYWORDS_MAX; i++)
		UNIT_CHECK(mailstore_keyword_index(box, tpath("k%u", i), true,
						   &idx, &error) == 1 &&
			   idx == i);
	UNIT_CHECK(mailstore_keyword_index(box, "one-too-many", true, &idx,
					   &error) == 0);
	mailstore_close(&box);

	/* Another process sees the flags, the rename and the keywords. */
	UNIT_CHECK(mailstore_open(p, 0, &box, &error) == 0);
	UNIT_CHECK(mailstore_count(box) == 2);
	m = mailstore_msg(box, 1);
	UNIT_CHECK(m->uid == 2 && m->flags == MAILSTORE_FLAG_DELETED &&
		   m->keywords == 0);
	UNIT_STREQ(mailstore_keyword_name(box, 25), "k25");
	mailstore_close(&box);
}

static void test_msg_open(void)
{
	const char *p = make_dovecot_box("open");
	struct mailstore *box;
	const char *error;
	char data[64];
	int fd = -1;

	UNIT_CHECK(mailstore_open(p, 0, &box, &error) == 0);
	UNIT_CHECK(mailstore_msg_open(box, 2, &fd, &error) == 1);
	ssize_t n = read(fd, data, sizeof(data));
	close(fd);
	UNIT_CHECK(n == 21 && memcmp(data, "From: x\n", 8) == 0);
	/* Renamed by someone else: the file is found again. */
	const char *old_name = mailstore_msg(box, 2)->name;
	rename(tpath("%s/cur/1795336800.M1P1.other:2,", p),
	       tpath("%s/cur/1795336800.M1P1.other:2,ST", p));
	UNIT_CHECK(mailstore_msg_open(box, 2, &fd, &error) == 1);
	close(fd);
	UNIT_STREQ(mailstore_msg(box, 2)->name, "1795336800.M1P1.other:2,ST");
	/* The old name stays readable until the next change. */
	UNIT_STREQ(old_name, "1795336800.M1P1.other:2,");
	/* Gone: 0, no crash; the next sync drops it. */
	unlink(tpath("%s/cur/1795336800.M1P1.other:2,ST", p));
	UNIT_CHECK(mailstore_msg_open(box, 2, &fd, &error) == 0);
	UNIT_CHECK(mailstore_sync(box, &error) == 0);
	UNIT_CHECK(mailstore_count(box) == 2);
	mailstore_close(&box);
}

static void test_expunge(void)
{
	const char *p = make_dovecot_box("expunge");
	struct mailstore *box;
	const char *error;
	uint64_t bytes = 7, count = 7;

	UNIT_CHECK(mailstore_open(p, 0, &box, &error) == 0);
	/* Message 2 renamed by someone: still deleted; 99 is unknown. */
	rename(tpath("%s/cur/1795336696.M739998P12765.vm,S=37,W=41:2,FRb", p),
	       tpath("%s/cur/1795336696.M739998P12765.vm,S=37,W=41:2,S", p));
	uint32_t uids[] = { 2, 99, 1 };
	UNIT_CHECK(mailstore_expunge(box, uids, 3, &bytes, &count, &error) ==
		   0);
	UNIT_CHECK(bytes == 67 && count == 2);
	UNIT_CHECK(mailstore_count(box) == 1 && mailstore_msg(box, 0)->uid == 3);
	UNIT_CHECK(tcount(tpath("%s/cur", p)) == 1);
	char *ul = tread(tpath("%s/dovecot-uidlist", p));
	UNIT_STREQ(ul, "3 V1795336696 N4 Gc751b928f8a9026bda31000083ecc375\n"
		   "3 W25 P :1795336800.M1P1.other\n");
	free(ul);
	UNIT_CHECK(mailstore_expunge(box, uids, 0, NULL, NULL, &error) == 0);
	/* A new message gets 4: no UID comes back. */
	twrite(tpath("%s/new/1795336696.M1P1.vm", p), "x\n");
	UNIT_CHECK(mailstore_sync(box, &error) == 0);
	UNIT_CHECK(tuid(box, "1795336696.M1P1.vm") == 4);
	mailstore_close(&box);
}

/* Nothing changed: a few stat()s, no directory read. */
static void test_fast_path(void)
{
	const char *p = make_dovecot_box("fast");
	const char *cur = tkeep(tpath("%s/cur", p));
	struct mailstore *box;
	const char *error;
	struct stat st;

	tsettle(p);
	UNIT_CHECK(mailstore_open(p, 0, &box, &error) == 0);
	/* A rename that leaves cur/'s stamp as it was: a sync that read
	 * cur/ would see \Seen. */
	UNIT_CHECK(stat(cur, &st) == 0);
	rename(tpath("%s/1795336800.M1P1.other:2,", cur),
	       tpath("%s/1795336800.M1P1.other:2,S", cur));
	struct timespec ts[2] = { st.st_atim, st.st_mtim };
	utimensat(AT_FDCWD, cur, ts, 0);
	UNIT_CHECK(mailstore_sync(box, &error) == 0);
	UNIT_CHECK(mailstore_msg(box, 2)->flags == 0);
	/* Once cur/ changes, it is read. */
	tpast(cur, 0);
	UNIT_CHECK(mailstore_sync(box, &error) == 0);
	UNIT_CHECK(mailstore_msg(box, 2)->flags == MAILSTORE_FLAG_SEEN);
	/* A directory changed within the last seconds is read every time
	 * (a change in the same clock tick would not show). */
	rename(tpath("%s/1795336800.M1P1.other:2,S", cur),
	       tpath("%s/1795336800.M1P1.other:2,", cur));
	UNIT_CHECK(stat(cur, &st) == 0);
	ts[1] = st.st_mtim;
	UNIT_CHECK(mailstore_sync(box, &error) == 0);
	rename(tpath("%s/1795336800.M1P1.other:2,", cur),
	       tpath("%s/1795336800.M1P1.other:2,T", cur));
	utimensat(AT_FDCWD, cur, ts, 0);
	UNIT_CHECK(mailstore_sync(box, &error) == 0);
	UNIT_CHECK(mailstore_msg(box, 2)->flags == MAILSTORE_FLAG_DELETED);
	/* A new file changes new/: seen. */
	twrite(tpath("%s/new/1795336900.M1P1.vm", p), "x\n");
	UNIT_CHECK(mailstore_sync(box, &error) == 0);
	UNIT_CHECK(mailstore_count(box) == 4);
	mailstore_close(&box);
}

/* The lock: a live holder makes writers wait (bounded), a stale one or
 * one naming a dead process is taken over. */
static void test_lock(void)
{
	const char *p = make_dovecot_box("lock");
	const char *lock = tkeep(tpath("%s/dovecot-uidlist.lock", p));
	struct mailstore *box;
	const char *error;
	char content[64];

	twrite(lock, "");
	twrite(tpath("%s/new/1795336900.M1P1.vm", p), "x\n");
	ms_lock_set_wait_ms(300);
	UNIT_CHECK(mailstore_open(p, 0, &box, &error) < 0);
	UNIT_CHECK(strstr(error, "held by another process") != NULL);
	/* Nothing to change: no lock needed to read. */
	unlink(tpath("%s/new/1795336900.M1P1.vm", p));
	UNIT_CHECK(mailstore_open(p, 0, &box, &error) == 0);
	mailstore_close(&box);
	/* Untouched for more than 2 minutes: stale. */
	twrite(tpath("%s/new/1795336900.M1P1.vm", p), "x\n");
	tpast(lock, 3 * 60);
	tpast(tpath("%s/dovecot-uidlist", p), 3 * 60);
	UNIT_CHECK(mailstore_open(p, 0, &box, &error) == 0);
	UNIT_CHECK(tuid(box, "1795336900.M1P1.vm") == 4);
	mailstore_close(&box);
	UNIT_CHECK(!texists(lock));
	/* Dovecot's "pid:host" of a process that is gone: taken over. */
	char host[256] = "";
	gethostname(host, sizeof(host));
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	snprintf(content, sizeof(content), "%ld:%s", (long)pid, host);
	twrite(lock, content);
	tpast(lock, 5);
	twrite(tpath("%s/new/1795336901.M1P1.vm", p), "y\n");
	UNIT_CHECK(mailstore_open(p, 0, &box, &error) == 0);
	UNIT_CHECK(tuid(box, "1795336901.M1P1.vm") == 5);
	mailstore_close(&box);
	/* A live one is respected. */
	snprintf(content, sizeof(content), "%ld:%s", (long)getppid(), host);
	twrite(lock, content);
	tpast(lock, 5);
	twrite(tpath("%s/new/1795336902.M1P1.vm", p), "z\n");
	UNIT_CHECK(mailstore_open(p, 0, &box, &error) < 0);
	unlink(lock);
	ms_lock_set_wait_ms(MS_LOCK_WAIT_MS_DEFAULT);
	/* The uidlist keeps its mode through our writes (Dovecot reads it
	 * as another user in some setups). */
	chmod(tpath("%s/dovecot-uidlist", p), 0640);
	UNIT_CHECK(mailstore_open(p, 0, &box, &error) == 0);
	mailstore_close(&box);
	struct stat st;
	UNIT_CHECK(stat(tpath("%s/dovecot-uidlist", p), &st) == 0 &&
		   (st.st_mode & 0777) == 0640);
	char *ul = tread(tpath("%s/dovecot-uidlist", p));
	UNIT_CHECK(ul != NULL && strstr(ul, "\n6 :1795336902.M1P1.vm\n"));
	free(ul);
}

static void test_folder_names(void)
{
	static const struct {
		const char *name;
		bool valid;
	} cases[] = {
		{ "Sent", true }, { "Archive.2024", true }, { "a b", true },
		{ "Entw&APw-rfe", true }, { "INBOXES", true },
		{ "", false }, { "INBOX", false }, { "inbox", false },
		{ ".Sent", false }, { "Sent.", false }, { "a..b", false },
		{ "..", false }, { "a/b", false }, { "a\tb", false },
		{ "a\x7f", false }, { "a\nb", false },
	};
	char name[MAILSTORE_FOLDER_MAX + 2];
	char out[64];
	const char *error;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		UNIT_CHECK(mailstore_folder_name_valid(cases[i].name) ==
			   cases[i].valid);
	memset(name, 'x', sizeof(name));
	name[MAILSTORE_FOLDER_MAX] = '\0';
	UNIT_CHECK(mailstore_folder_name_valid(name));
	name[MAILSTORE_FOLDER_MAX - 1] = '\0';
	UNIT_CHECK(mailstore_folder_name_valid(name));
	name[MAILSTORE_FOLDER_MAX - 1] = 'x';
	name[MAILSTORE_FOLDER_MAX] = 'x';
	name[MAILSTORE_FOLDER_MAX + 1] = '\0';
	UNIT_CHECK(!mailstore_folder_name_valid(name));
	UNIT_CHECK(mailstore_folder_path("/m", "Sent", out, sizeof(out),
					 &error) == 0);
	UNIT_STREQ(out, "/m/.Sent");
	UNIT_CHECK(mailstore_folder_path("/m", "inbox", out, sizeof(out),
					 &error) == 0);
	UNIT_STREQ(out, "/m");
	UNIT_CHECK(mailstore_folder_path("/m", "../x", out, sizeof(out),
					 &error) < 0);
	UNIT_CHECK(mailstore_folder_path("/m", "Sent", out, 8, &error) < 0);
	UNIT_CHECK(mailstore_folder_path("/m", "Sent", out, 9, &error) == 0);
}

static void test_folders(void)
{
	const char *root = tkeep(tpath("%s/root", dir));
	char **names;
	size_t n;
	const char *error;

	tmaildir(root);
	UNIT_CHECK(mailstore_folder_create(root, "Sent", &error) == 0);
	UNIT_CHECK(mailstore_folder_create(root, "Sent", &error) < 0);
	UNIT_STREQ(error, "exists");
	UNIT_CHECK(mailstore_folder_create(root, "INBOX", &error) < 0);
	UNIT_CHECK(mailstore_folder_create(root, "a..b", &error) < 0);
	UNIT_CHECK(mailstore_folder_create(root, "Archive", &error) == 0);
	UNIT_CHECK(mailstore_folder_create(root, "Archive.2024", &error) == 0);
	UNIT_CHECK(mailstore_folder_create(root, "Archive.2024.Q1", &error) ==
		   0);
	UNIT_CHECK(mailstore_folder_create(root, "Archived", &error) == 0);
	UNIT_CHECK(texists(tpath("%s/.Sent/maildirfolder", root)) &&
		   texists(tpath("%s/.Sent/cur", root)));
	/* Not folders: a file, a dot-dot name. */
	twrite(tpath("%s/.notadir", root), "");
	mkdir(tpath("%s/..odd", root), 0700);
	UNIT_CHECK(mailstore_folder_list(root, &names, &n, &error) == 0);
	UNIT_CHECK(n == 5 && strcmp(names[0], "Archive") == 0 &&
		   strcmp(names[1], "Archive.2024") == 0 &&
		   strcmp(names[3], "Archived") == 0 &&
		   strcmp(names[4], "Sent") == 0);
	mailstore_folder_list_free(&names, n);
	UNIT_CHECK(names == NULL);
	/* Rename takes the children along, not "Archived". */
	UNIT_CHECK(mailstore_folder_rename(root, "Archive", "Old", &error) ==
		   0);
	UNIT_CHECK(texists(tpath("%s/.Old.2024.Q1/cur", root)) &&
		   texists(tpath("%s/.Archived", root)) &&
		   !texists(tpath("%s/.Archive.2024", root)));
	UNIT_CHECK(mailstore_folder_rename(root, "Old", "Sent", &error) < 0);
	UNIT_STREQ(error, "exists");
	UNIT_CHECK(mailstore_folder_rename(root, "Nope", "X", &error) < 0);
	UNIT_STREQ(error, "no such folder");
	UNIT_CHECK(mailstore_folder_rename(root, "Old", "Old.sub", &error) <
		   0);
	UNIT_CHECK(mailstore_folder_rename(root, "Old", "INBOX", &error) < 0);
	/* A child's new name taken: nothing moves. */
	UNIT_CHECK(mailstore_folder_create(root, "New.2024", &error) == 0);
	UNIT_CHECK(mailstore_folder_rename(root, "Old", "New", &error) < 0);
	UNIT_CHECK(texists(tpath("%s/.Old", root)));
	/* Delete: the folder and its mail, not its children. */
	twrite(tpath("%s/.Old/cur/1.M1.h:2,S", root), "x");
	UNIT_CHECK(mailstore_folder_delete(root, "Old", &error) == 0);
	UNIT_CHECK(!texists(tpath("%s/.Old", root)) &&
		   texists(tpath("%s/.Old.2024", root)));
	UNIT_CHECK(mailstore_folder_delete(root, "Old", &error) < 0);
	UNIT_STREQ(error, "no such folder");
	UNIT_CHECK(mailstore_folder_delete(root, "INBOX", &error) < 0);
	/* Nothing left behind in the root but folders. */
	UNIT_CHECK(mailstore_folder_list(root, &names, &n, &error) == 0);
	UNIT_CHECK(n == 5);
	mailstore_folder_list_free(&names, n);
	/* A folder is a mail store of its own. */
	struct mailstore *box;
	UNIT_CHECK(mailstore_open(tpath("%s/.Sent", root), 0, &box, &error) ==
		   0);
	mailstore_close(&box);
}

static void test_open_errors(void)
{
	struct mailstore *box;
	const char *error;
	const char *f = tkeep(tpath("%s/plainfile", dir));

	twrite(f, "x");
	UNIT_CHECK(mailstore_open(f, MAILSTORE_OPEN_CREATE, &box, &error) < 0);
	UNIT_CHECK(strstr(error, "not a directory") != NULL);
	const char *half = tkeep(tpath("%s/half", dir));
	mkdir(half, 0700);
	UNIT_CHECK(mailstore_open(half, 0, &box, &error) < 0);
	UNIT_CHECK(strstr(error, "not a Maildir") != NULL);
	UNIT_CHECK(mailstore_open(half, MAILSTORE_OPEN_CREATE, &box, &error) ==
		   0);
	mailstore_close(&box);
	mailstore_close(&box);
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		return 2;
	test_dovecot_takeover();
	test_new_files();
	test_sizes();
	test_flags();
	test_msg_open();
	test_expunge();
	test_fast_path();
	test_lock();
	test_folder_names();
	test_folders();
	test_open_errors();
	unit_rmtree(dir);
	return unit_done();
}
