/* test_imapd_view: the selected mailbox's view (imapd/imapd_view.c) and
 * flag lists (imapd/imapd_flags.c) over a real Maildir and lib/mailstore,
 * with the reply functions replaced by a transcript: what a sync tells
 * after deliveries, expunges and flag changes by "another program", in
 * which order and with which numbers; sequence-set resolution (errors,
 * "*", "$", UID sets); sequence-set output; flag-list parsing. */
#include "config.h"
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../../imapd/imapd.h"
#include "mem.h"
#include "unit.h"

/* ---- stubs of the rest of imapd: a transcript of untagged lines ---- */

static struct buf out;

void imapd_untagged(struct imapd_session *s, const char *fmt, ...)
{
	va_list ap;

	(void)s;
	unit_put(&out, "* ");
	va_start(ap, fmt);
	if (buf_vprintf(&out, fmt, ap) < 0)
		abort();
	va_end(ap);
	unit_put(&out, "\n");
}

void imapd_bye(struct imapd_session *s, const char *reason, const char *text)
{
	(void)reason;
	unit_put(&out, "* BYE %s\n", text);
	s->closing = true;
}

void imapd_msg_release(struct imapd_session *s)
{
	(void)s;
}

void imapd_msgcache_close(struct imapd_session *s)
{
	(void)s;
}

/* ---- a Maildir ---- */

static char root[256];
static unsigned file_seq;

static void put_file(const char *sub, const char *info)
{
	char path[512];
	FILE *f;

	file_seq++;
	snprintf(path, sizeof(path), "%s/%s/17000000%02u.M%uP1.test%s%s", root,
		 sub, file_seq, file_seq, info != NULL ? ":2," : "",
		 info != NULL ? info : "");
	f = fopen(path, "w");
	if (f == NULL || fputs("Subject: x\n\nbody\n", f) < 0 ||
	    fclose(f) != 0)
		abort();
}

/* Renames message number k (1-based, in the order made) to info. */
static void set_file_flags(unsigned k, const char *info)
{
	char dir[512], from[1024], to[1024], prefix[64];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/cur", root);
	snprintf(prefix, sizeof(prefix), "17000000%02u.M%uP1.test", k, k);
	d = opendir(dir);
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
			continue;
		snprintf(from, sizeof(from), "%s/%s", dir, e->d_name);
		snprintf(to, sizeof(to), "%s/%s:2,%s", dir, prefix, info);
		if (rename(from, to) < 0)
			abort();
	}
	if (d != NULL)
		closedir(d);
}

static void remove_file(unsigned k)
{
	char dir[512], path[1024], prefix[64];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/cur", root);
	snprintf(prefix, sizeof(prefix), "17000000%02u.M%uP1.test", k, k);
	d = opendir(dir);
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
	}
	if (d != NULL)
		closedir(d);
}

static void session_open(struct imapd_session *s, unsigned enabled)
{
	const char *error;

	memset(s, 0, sizeof(*s));
	s->enabled = enabled;
	s->state = IMAPD_STATE_SELECTED;
	s->sel = xcalloc(1, sizeof(*s->sel));
	s->sel->path = xstrdup(root);
	s->sel->name = xstrdup("INBOX");
	s->sel->folder = xstrdup("INBOX");
	s->sel->watch_fd = -1;
	if (mailstore_open(root, 0, &s->sel->box, &error) < 0) {
		fprintf(stderr, "open: %s\n", error);
		abort();
	}
	imapd_view_init(s);
	imapd_flags_announce(s);
	buf_reset(&out);
}

/* After the transcript of a sync. */
static const char *sync_text(struct imapd_session *s, bool allow)
{
	buf_reset(&out);
	imapd_view_sync(s, allow);
	return buf_cstr(&out);
}

static void test_sync(void)
{
	struct imapd_session s;

	for (int i = 0; i < 5; i++)
		put_file("cur", "");
	session_open(&s, 0);
	UNIT_CHECK(s.sel->count == 5);
	UNIT_STREQ(sync_text(&s, true), "");

	/* Another program: a flag change, two files gone, one new. */
	set_file_flags(2, "S");
	remove_file(3);
	remove_file(5);
	put_file("new", NULL);
	/* During a FETCH by number: no EXPUNGE; numbers stay. */
	UNIT_STREQ(sync_text(&s, false),
		   "* 2 FETCH (FLAGS (\\Seen))\n* 6 EXISTS\n* 1 RECENT\n");
	UNIT_CHECK(s.sel->count == 6);
	UNIT_CHECK(imapd_view_index(&s, 3) == -1);
	UNIT_CHECK(imapd_view_index(&s, 4) == 2);
	UNIT_STREQ(sync_text(&s, false), "");
	/* Then the EXPUNGEs, highest first; RECENT unchanged: not sent. */
	UNIT_STREQ(sync_text(&s, true), "* 5 EXPUNGE\n* 3 EXPUNGE\n");
	UNIT_CHECK(s.sel->count == 4);
	UNIT_CHECK(s.sel->msgs[3].uid == 6 && s.sel->msgs[3].recent);
	UNIT_STREQ(sync_text(&s, true), "");

	/* QRESYNC and CONDSTORE: VANISHED, FETCH with UID and MODSEQ. */
	s.enabled = IMAPD_ENABLED_CONDSTORE | IMAPD_ENABLED_QRESYNC;
	remove_file(1);
	remove_file(2);
	set_file_flags(4, "F");
	const char *t = sync_text(&s, true);
	UNIT_CHECK(strncmp(t, "* VANISHED 1:2\n* 1 FETCH (UID 4 MODSEQ (", 40)
		   == 0);
	UNIT_CHECK(strstr(t, ") FLAGS (\\Flagged))\n"
			  "* OK [HIGHESTMODSEQ ") != NULL);
	UNIT_CHECK(s.sel->count == 2);

	/* A new keyword defined by someone: FLAGS again. */
	unsigned idx;
	const char *error;
	UNIT_CHECK(mailstore_keyword_index(s.sel->box, "Work", true, &idx,
					   &error) == 1);
	t = sync_text(&s, true);
	UNIT_CHECK(strncmp(t, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen "
			   "\\Draft Work)\n* OK [PERMANENTFLAGS (", 64) == 0);
	imapd_view_close(&s);
	UNIT_CHECK(s.sel == NULL && s.state == IMAPD_STATE_AUTH);
}

static struct imap_arg atom(const char *str)
{
	struct imap_arg a;

	memset(&a, 0, sizeof(a));
	a.type = IMAP_ARG_ATOM;
	a.str = str;
	a.len = strlen(str);
	return a;
}

/* The numbers set resolves to, as text ("ERR" on error). */
static const char *resolve(struct imapd_session *s, const char *set, bool uid)
{
	static char text[256];
	struct imap_arg a = atom(set);
	uint32_t *msns;
	size_t n;
	const char *error;
	struct buf b;

	if (imapd_view_resolve(s, &a, uid, &msns, &n, &error) < 0)
		return "ERR";
	buf_init(&b, 4096);
	if (imapd_view_set_write(&b, msns, n) < 0)
		abort();
	snprintf(text, sizeof(text), "%s", buf_cstr(&b));
	buf_deinit(&b);
	free(msns);
	return text;
}

static void test_resolve(void)
{
	struct imapd_session s;

	/* UIDs 1 2 4 6 7 (3 and 5 gone). */
	for (int i = 0; i < 7; i++)
		put_file("cur", "");
	session_open(&s, 0);
	remove_file(3);
	remove_file(5);
	UNIT_STREQ(sync_text(&s, true), "* 5 EXPUNGE\n* 3 EXPUNGE\n");
	UNIT_CHECK(s.sel->count == 5);
	UNIT_STREQ(resolve(&s, "1:*", false), "1:5");
	UNIT_STREQ(resolve(&s, "*", false), "5");
	UNIT_STREQ(resolve(&s, "5:2,1", false), "1:5");
	UNIT_STREQ(resolve(&s, "6", false), "ERR");
	UNIT_STREQ(resolve(&s, "0", false), "ERR");
	UNIT_STREQ(resolve(&s, "1:4294967295", false), "ERR");
	UNIT_STREQ(resolve(&s, "4294967296", false), "ERR");
	UNIT_STREQ(resolve(&s, "1,,2", false), "ERR");
	UNIT_STREQ(resolve(&s, "", false), "ERR");
	/* UID sets: unknown UIDs ignored; "*" is the highest UID, and
	 * "100:*" means "7:100". */
	UNIT_STREQ(resolve(&s, "3:5", true), "3");
	UNIT_STREQ(resolve(&s, "1:*", true), "1:5");
	UNIT_STREQ(resolve(&s, "100:*", true), "5");
	UNIT_STREQ(resolve(&s, "8:4294967295", true), "");
	UNIT_STREQ(resolve(&s, "0", true), "ERR");
	/* "$": the saved UIDs that are still here. */
	UNIT_STREQ(resolve(&s, "$", false), "");
	uint32_t saved[] = { 2, 3, 6 };
	s.saved.uids = xmemdup(saved, sizeof(saved));
	s.saved.count = 3;
	s.saved.valid = true;
	UNIT_STREQ(resolve(&s, "$", false), "2,4");
	UNIT_STREQ(resolve(&s, "$", true), "2,4");
	imapd_view_close(&s);
	UNIT_CHECK(s.saved.uids == NULL && !s.saved.valid);
}

static void test_empty(void)
{
	struct imapd_session s;

	session_open(&s, 0);
	UNIT_STREQ(resolve(&s, "1:*", false), "ERR");
	UNIT_STREQ(resolve(&s, "*", false), "ERR");
	UNIT_STREQ(resolve(&s, "1:*", true), "");
	UNIT_STREQ(resolve(&s, "*", true), "");
	imapd_view_close(&s);
}

static void test_set_write(void)
{
	uint32_t nums[] = { 1, 2, 3, 5, 7, 8, 4294967295u };
	struct buf b;

	buf_init(&b, 64);
	UNIT_CHECK(imapd_view_set_write(&b, nums, 7) == 0);
	UNIT_STREQ(buf_cstr(&b), "1:3,5,7:8,4294967295");
	buf_reset(&b);
	UNIT_CHECK(imapd_view_set_write(&b, nums, 0) == 0);
	UNIT_STREQ(buf_cstr(&b), "");
	buf_deinit(&b);
	buf_init(&b, 5);
	UNIT_CHECK(imapd_view_set_write(&b, nums, 7) == -1);
	buf_deinit(&b);
}

static int parse_flags(struct mailstore *box, const struct imap_arg *a,
		       unsigned *flags, uint32_t *kw, bool *bad)
{
	const char *error;

	return imapd_flags_parse(box, a, true, flags, kw, bad, &error);
}

static void test_flags_parse(void)
{
	struct imapd_session s;
	struct imap_arg list, a[3];
	unsigned flags;
	uint32_t kw;
	bool bad;

	session_open(&s, 0);
	a[0] = atom("\\SEEN");
	a[1] = atom("\\deleted");
	a[2] = atom("$Label");
	a[0].next = &a[1];
	a[1].next = &a[2];
	memset(&list, 0, sizeof(list));
	list.type = IMAP_ARG_LIST;
	list.list = a;
	list.list_count = 3;
	UNIT_CHECK(parse_flags(s.sel->box, &list, &flags, &kw, &bad) == 0);
	UNIT_CHECK(flags == (MAILSTORE_FLAG_SEEN | MAILSTORE_FLAG_DELETED));
	UNIT_CHECK(kw == 1);
	/* Not in a list: the atoms from here on. */
	UNIT_CHECK(parse_flags(s.sel->box, &a[1], &flags, &kw, &bad) == 0);
	UNIT_CHECK(flags == MAILSTORE_FLAG_DELETED && kw == 1);
	list.list = NULL;
	UNIT_CHECK(parse_flags(s.sel->box, &list, &flags, &kw, &bad) == 0);
	UNIT_CHECK(flags == 0 && kw == 0);
	UNIT_CHECK(parse_flags(s.sel->box, NULL, &flags, &kw, &bad) == -1);
	UNIT_CHECK(bad);
	a[0] = atom("\\Recent");
	a[0].next = NULL;
	UNIT_CHECK(parse_flags(s.sel->box, &a[0], &flags, &kw, &bad) == -1);
	UNIT_CHECK(bad);
	a[0] = atom("\\Other");
	UNIT_CHECK(parse_flags(s.sel->box, &a[0], &flags, &kw, &bad) == -1);
	UNIT_CHECK(bad);
	a[0] = atom("a]b");
	UNIT_CHECK(parse_flags(s.sel->box, &a[0], &flags, &kw, &bad) == -1);
	UNIT_CHECK(!bad);
	a[0].type = IMAP_ARG_STRING;
	a[0].str = "quoted";
	UNIT_CHECK(parse_flags(s.sel->box, &a[0], &flags, &kw, &bad) == -1);
	UNIT_CHECK(bad);
	/* 26 keywords fit, the 27th does not (NO, not BAD). */
	char name[32];
	int ok = 0;
	for (int i = 0; i < 25; i++) {
		snprintf(name, sizeof(name), "k%d", i);
		a[0] = atom(name);
		ok += parse_flags(s.sel->box, &a[0], &flags, &kw, &bad) == 0;
	}
	UNIT_CHECK(ok == 25);
	a[0] = atom("k26");
	UNIT_CHECK(parse_flags(s.sel->box, &a[0], &flags, &kw, &bad) == -1);
	UNIT_CHECK(!bad);
	a[0] = atom("$label");	/* existing, any case */
	UNIT_CHECK(parse_flags(s.sel->box, &a[0], &flags, &kw, &bad) == 0);
	UNIT_CHECK(kw == 1);
	imapd_view_close(&s);
}

static void fresh_maildir(void)
{
	static int n;
	char path[512];

	if (root[0] != '\0')
		unit_rmtree(root);
	snprintf(root, sizeof(root), "/tmp/test_imapd_view.%d.%d",
		 (int)getpid(), n++);
	mkdir(root, 0700);
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", root,
			 i == 0 ? "cur" : i == 1 ? "new" : "tmp");
		mkdir(path, 0700);
	}
	file_seq = 0;
}

int main(void)
{
	buf_init(&out, 1 << 20);
	fresh_maildir();
	test_sync();
	fresh_maildir();
	test_resolve();
	fresh_maildir();
	test_empty();
	test_set_write();
	fresh_maildir();
	test_flags_parse();
	unit_rmtree(root);
	buf_deinit(&out);
	return unit_done();
}
