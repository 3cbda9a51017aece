/* test_mailstore_fast: what makes opening and expunging cheap, and that
 * it changes nothing a client sees: surel-index version 4 (the names and
 * places of the files, an id per file), surel-stamps (what a sync
 * vouches for) and the open from the index alone that it allows, refused
 * whenever anything changed; the first open of a folder filled by
 * delivery, where new/ and cur/ trade places; expunged files waiting in
 * tmp/ until the handle closes; a new UIDVALIDITY always above the ones
 * a Maildir gave before. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "mailstore_impl.h"
#include "mem.h"
#include "test_mailstore.h"

static char dir[] = "/tmp/test_mailstore_fast.XXXXXX";

static struct mailstore *open_flags(const char *p, unsigned flags)
{
	return topen(p, MAILSTORE_OPEN_CREATE | flags);
}

static struct mailstore *open_box(const char *p)
{
	return open_flags(p, 0);
}

/* Opened (claiming \Recent, moving new/ to cur/), then synced once more
 * with its directories settled: that sync can vouch for the index. */
static void vouched(const char *p)
{
	struct mailstore *box;

	tsettle(p);
	box = open_flags(p, MAILSTORE_OPEN_CLAIM_RECENT);
	tsettle(p);
	tsync_ok(box);
	mailstore_close(&box);
}

static bool same_msg(const struct mailstore_msg *a,
		     const struct mailstore_msg *b)
{
	return a->uid == b->uid && strcmp(a->base, b->base) == 0 &&
		strcmp(a->name, b->name) == 0 && a->in_new == b->in_new &&
		a->flags == b->flags && a->keywords == b->keywords &&
		a->size == b->size && a->vsize == b->vsize &&
		a->mtime == b->mtime && a->modseq == b->modseq &&
		a->savedate == b->savedate && a->recent == b->recent &&
		(a->pop3_uidl == NULL ? b->pop3_uidl == NULL :
		 b->pop3_uidl != NULL &&
		 strcmp(a->pop3_uidl, b->pop3_uidl) == 0);
}

/* Two handles list the same, with the same header. */
static bool same_list(struct mailstore *a, struct mailstore *b)
{
	if (mailstore_count(a) != mailstore_count(b) ||
	    mailstore_uidvalidity(a) != mailstore_uidvalidity(b) ||
	    mailstore_uidnext(a) != mailstore_uidnext(b) ||
	    mailstore_highest_modseq(a) != mailstore_highest_modseq(b) ||
	    strcmp(mailstore_guid(a), mailstore_guid(b)) != 0 ||
	    mailstore_recent_count(a) != mailstore_recent_count(b))
		return false;
	for (size_t i = 0; i < mailstore_count(a); i++)
		if (!same_msg(mailstore_msg(a, i), mailstore_msg(b, i)))
			return false;
	return true;
}

/* Version 4 records where each file is and how its name is made; the
 * names come back from the index alone. */
static void test_index_where(void)
{
	static const struct {
		const char *name;
		bool in_new;
		uint8_t where;
	} names[] = {
		{ "1.M1.h", true, MS_WHERE_NEW | MS_WHERE_BARE },
		{ "1.M1.h", false, MS_WHERE_BARE },
		{ "1.M1.h:2,", false, 0 },
		{ "1.M1.h:2,FSab", false, 0 },
		{ "1.M1.h:2,DFPRSTaz", true, MS_WHERE_NEW },
		{ "1.M1.h:2,SF", false, MS_WHERE_ODD },	/* not in order */
		{ "1.M1.h:2,SS", false, MS_WHERE_ODD },	/* twice */
		{ "1.M1.h:2,SX", false, MS_WHERE_ODD },	/* unknown letter */
		{ "1.M1.h:2,S,x", false, MS_WHERE_ODD },	/* a second set */
		{ "1.M1.h:1,abc", false, MS_WHERE_ODD },	/* other info */
	};
	char out[MS_BASE_MAX + 64];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint8_t w = ms_name_where(names[i].name, 6, names[i].in_new);
		UNIT_CHECK(w == names[i].where);
		if ((w & MS_WHERE_ODD) != 0)
			continue;
		struct ms_rec r = { .base = (char *)"1.M1.h", .where = w };
		unsigned flags;
		ms_name_flags(names[i].name, &flags, &r.keywords);
		r.flags = (uint8_t)flags;
		UNIT_CHECK(ms_rec_name(&r, out, sizeof(out)) == 0);
		UNIT_STREQ(out, names[i].name);
	}
	struct ms_rec odd = { .base = (char *)"b", .where = MS_WHERE_ODD };
	UNIT_CHECK(ms_rec_name(&odd, out, sizeof(out)) < 0);

	/* Round trip, id included; a where above 7 is damage. */
	struct ms_map map, back;
	struct buf b;
	const char *error;
	ms_map_init(&map);
	map.uidvalidity = 5;
	map.nextuid = 9;
	map.highest_modseq = 20;
	map.first_recent_uid = 9;
	map.id = 0x1122334455667788ULL;
	ms_map_add(&map, 3, "a", 1, "", 0)->where = MS_WHERE_NEW |
		MS_WHERE_BARE;
	ms_map_add(&map, 4, "b", 1, "P", 1)->where = MS_WHERE_ODD;
	buf_init(&b, 1 << 20);
	UNIT_CHECK(ms_index_format(&map, &b) == 0 && b.data[8] == 5);
	ms_map_init(&back);
	UNIT_CHECK(ms_index_parse((unsigned char *)b.data, b.len, &back,
				  &error) == 0);
	UNIT_CHECK(back.id == map.id && back.count == 2 &&
		   back.recs[0].where == (MS_WHERE_NEW | MS_WHERE_BARE) &&
		   back.recs[1].where == MS_WHERE_ODD);
	/* The CRC of what the map would write is the file's. */
	UNIT_CHECK(back.crc != 0 && ms_index_crc(&back, back.id) == back.crc &&
		   ms_index_crc(&back, back.id + 1) != back.crc);
	map.recs[0].where = 8;
	buf_reset(&b);
	UNIT_CHECK(ms_index_format(&map, &b) == 0);
	UNIT_CHECK(ms_index_parse((unsigned char *)b.data, b.len, &back,
				  &error) < 0);
	buf_deinit(&b);
	ms_map_clear(&back);
	free(back.hdr_ext);
	ms_map_clear(&map);
	free(map.hdr_ext);
}

/* surel-stamps: written back octet for octet; any change is damage. */
static void test_stamps_file(void)
{
	struct ms_stamps st = { .index_id = 42 }, back;
	unsigned char data[MS_STAMPS_SIZE];

	st.ul = (struct ms_stamp){ true, 1, 2, 3, { 4, 5 } };
	st.new_dir = (struct ms_stamp){ true, 6, 7, 8, { 9, 10 } };
	st.cur_dir = (struct ms_stamp){ true, 11, 12, 13, { 14, 999999999 } };
	ms_stamps_format(&st, data);
	UNIT_CHECK(ms_stamps_parse(data, sizeof(data), &back) == 0 &&
		   ms_stamps_eq(&st, &back));
	size_t bad = 0;
	for (size_t i = 0; i < sizeof(data); i++) {
		data[i] ^= 0x01;
		bad += ms_stamps_parse(data, sizeof(data), &back) < 0;
		data[i] ^= 0x01;
	}
	UNIT_CHECK(bad == sizeof(data));
	UNIT_CHECK(ms_stamps_parse(data, sizeof(data) - 1, &back) < 0);
	st.cur_dir.mtime.tv_nsec = 1000000000;	/* not a time */
	ms_stamps_format(&st, data);
	UNIT_CHECK(ms_stamps_parse(data, sizeof(data), &back) < 0);
}

/* A folder nobody changed opens from the index alone, with the very
 * list a full sync makes; the next change is seen by its first sync. */
static void test_open_fast(void)
{
	const char *p = tnew_box(dir, "fast", 6);
	struct mailstore *w, *a, *b;
	const char *error;
	struct mailstore_flag_change ch[2] = {
		{ 0, MAILSTORE_FLAG_SEEN, 0 },
		{ 2, MAILSTORE_FLAG_FLAGGED | MAILSTORE_FLAG_DELETED, 1 },
	};
	unsigned kw;

	/* Flags, a keyword, a POP3 UIDL, a file left in new/. */
	w = open_flags(p, MAILSTORE_OPEN_CLAIM_RECENT);
	UNIT_CHECK(mailstore_keyword_index(w, "$Label1", true, &kw,
					   &error) == 1 && kw == 0);
	UNIT_CHECK(mailstore_set_flags_many(w, ch, 2, &error) == 2);
	mailstore_close(&w);
	twrite(tpath("%s/new/1700000000.M9P1.h", p), "late\n");
	vouched(p);
	UNIT_CHECK(texists(tpath("%s/%s", p, MS_STAMPS_NAME)));

	a = open_box(p);
	UNIT_CHECK(a->ul_header_only && mailstore_count(a) == 7);
	/* The same as a full sync of the same folder. */
	b = open_box(p);
	UNIT_CHECK(ms_sync(b, true, &error) == 0 && !b->ul_header_only);
	UNIT_CHECK(same_list(a, b));
	UNIT_CHECK(strcmp(mailstore_keyword_name(a, 0), "$Label1") == 0);
	/* A message in cur/ keeps its name, flags and keywords. */
	const struct mailstore_msg *m = mailstore_msg(a, 2);
	UNIT_CHECK(m->flags == (MAILSTORE_FLAG_FLAGGED |
				MAILSTORE_FLAG_DELETED) && m->keywords == 1 &&
		   strstr(m->name, ":2,FTa") != NULL && !m->in_new);
	int fd;
	UNIT_CHECK(mailstore_msg_open(a, 2, &fd, &error) == 1);
	close(fd);
	/* Nothing changed: syncs stay cheap, and see a delivery. */
	tsync_ok(a);
	UNIT_CHECK(a->ul_header_only);
	twrite(tpath("%s/new/1700000001.M10P1.h", p), "new\n");
	tsync_ok(a);
	UNIT_CHECK(!a->ul_header_only && mailstore_count(a) == 8 &&
		   mailstore_msg(a, 7)->uid == mailstore_uidnext(a) - 1);
	mailstore_close(&a);
	mailstore_close(&b);

	/* A handle opened so, whose file mutt renames: followed (its old
	 * name stays valid until the next change), then its own rename. */
	vouched(p);
	a = open_box(p);
	UNIT_CHECK(a->ul_header_only);
	const char *old = tkeep(mailstore_msg(a, 0)->name);
	UNIT_CHECK(rename(tpath("%s/cur/%s", p, old),
			  tpath("%s/cur/%s:2,D", p, mailstore_msg(a, 0)->base))
		   == 0);
	UNIT_CHECK(mailstore_msg_open(a, 0, &fd, &error) == 1);
	close(fd);
	UNIT_CHECK(strcmp(mailstore_msg(a, 0)->name, old) != 0);
	UNIT_CHECK(mailstore_msg_set_flags(a, 1, MAILSTORE_FLAG_ANSWERED, 0,
					   &error) == 1);
	tsync_ok(a);
	UNIT_CHECK(mailstore_msg(a, 0)->flags == MAILSTORE_FLAG_DRAFT &&
		   mailstore_msg(a, 1)->flags == MAILSTORE_FLAG_ANSWERED);
	mailstore_close(&a);
}

/* Whatever changed since the stamps, the open is a full sync. */
static void test_fast_refused(void)
{
	const char *p = tnew_box(dir, "refused", 4);
	struct mailstore *a, *b;
	const char *error;

	vouched(p);
	a = open_box(p);
	UNIT_CHECK(a->ul_header_only);
	mailstore_close(&a);

	/* A delivery. */
	twrite(tpath("%s/new/1700000000.M9P1.h", p), "late\n");
	a = open_box(p);
	UNIT_CHECK(!a->ul_header_only && mailstore_count(a) == 5);
	mailstore_close(&a);

	/* A claim to make: the claimer takes the lock; others see it. */
	vouched(p);
	twrite(tpath("%s/new/1700000002.M11P1.h", p), "later\n");
	tsettle(p);
	a = open_box(p);
	tsettle(p);
	tsync_ok(a);
	mailstore_close(&a);
	a = open_box(p);
	UNIT_CHECK(a->ul_header_only && mailstore_recent_count(a) == 1 &&
		   mailstore_msg(a, 5)->recent && !mailstore_msg(a, 4)->recent);
	b = open_flags(p, MAILSTORE_OPEN_CLAIM_RECENT);
	UNIT_CHECK(!b->ul_header_only && mailstore_msg(b, 5)->recent &&
		   mailstore_recent_count(b) == 0);
	mailstore_close(&a);
	mailstore_close(&b);

	/* The index written by another (a STORE). */
	vouched(p);
	a = open_box(p);
	b = open_box(p);
	struct mailstore_flag_change ch = { 1, MAILSTORE_FLAG_SEEN, 0 };
	UNIT_CHECK(mailstore_set_flags_many(b, &ch, 1, &error) == 1);
	mailstore_close(&b);
	b = open_box(p);
	UNIT_CHECK(!b->ul_header_only &&
		   mailstore_msg(b, 1)->flags == MAILSTORE_FLAG_SEEN);
	mailstore_close(&b);
	mailstore_close(&a);

	/* Dovecot appending to the uidlist; damaged stamps. */
	vouched(p);
	FILE *f = fopen(tpath("%s/dovecot-uidlist", p), "a");
	UNIT_CHECK(f != NULL && fputs("77 :gone.M1.h\n", f) >= 0 &&
		   fclose(f) == 0);
	a = open_box(p);
	UNIT_CHECK(!a->ul_header_only && mailstore_uidnext(a) == 78 &&
		   mailstore_count(a) == 6);
	mailstore_close(&a);
	vouched(p);
	twrite(tpath("%s/%s", p, MS_STAMPS_NAME), "SURELSTP damaged");
	a = open_box(p);
	UNIT_CHECK(!a->ul_header_only && mailstore_count(a) == 6);
	mailstore_close(&a);
}

/* The first open of a folder filled by delivery: new/ and cur/ trade
 * places, the files keep their names, UIDs go in Dovecot's order, and
 * the open vouches for its index at once. (300 messages: the lists are
 * made in arenas, which later syncs take over.) */
static void test_exchange(void)
{
	const char *p = tkeep(tpath("%s/xchg", dir));
	struct mailstore *box, *again;
	struct stat before, after;
	const char *error;

	tmaildir(p);
	/* Written in reverse: the UIDs follow the time in the names. */
	for (unsigned i = 300; i >= 1; i--)
		twrite(tpath("%s/new/%u.M%uP1.h,S=2,W=3", p, 1600000000 + i, i),
		       "m\n");
	tsettle(p);
	UNIT_CHECK(stat(tpath("%s/new", p), &before) == 0);
	box = open_flags(p, MAILSTORE_OPEN_CLAIM_RECENT);
	UNIT_CHECK(stat(tpath("%s/cur", p), &after) == 0 &&
		   after.st_ino == before.st_ino);
	UNIT_CHECK(tcount(tpath("%s/new", p)) == 0 &&
		   tcount(tpath("%s/cur", p)) == 300);
	UNIT_CHECK(mailstore_count(box) == 300 &&
		   mailstore_recent_count(box) == 0);
	bool ordered = true;
	for (size_t i = 0; i < mailstore_count(box); i++) {
		const struct mailstore_msg *m = mailstore_msg(box, i);
		ordered &= m->uid == i + 1 && !m->in_new && m->recent &&
			strcmp(m->name, m->base) == 0 &&
			strncmp(m->name, tpath("%u.", 1600000001u + (unsigned)i),
				11) == 0;
	}
	UNIT_CHECK(ordered);
	UNIT_CHECK(texists(tpath("%s/%s", p, MS_STAMPS_NAME)));
	again = open_box(p);
	UNIT_CHECK(again->ul_header_only && mailstore_count(again) == 300);
	struct mailstore *full = open_box(p);
	UNIT_CHECK(ms_sync(full, true, &error) == 0 && same_list(full, again));
	mailstore_close(&full);
	mailstore_close(&again);
	/* A flag change gives the name its ":2,". */
	UNIT_CHECK(mailstore_msg_set_flags(box, 0, MAILSTORE_FLAG_SEEN, 0,
					   &error) == 1);
	UNIT_CHECK(texists(tpath("%s/cur/1600000001.M1P1.h,S=2,W=3:2,S", p)));
	/* Deliveries go on into the new new/. */
	twrite(tpath("%s/new/1700000000.M1P2.h", p), "x\n");
	tsync_ok(box);
	UNIT_CHECK(mailstore_count(box) == 301 &&
		   mailstore_msg(box, 300)->uid == 301);
	/* More syncs, each list in the arena the one before left. */
	for (unsigned i = 0; i < 3; i++) {
		twrite(tpath("%s/new/1700000001.M%uP2.h", p, i), "y\n");
		tsync_ok(box);
	}
	uint32_t uid = mailstore_msg(box, 5)->uid;
	UNIT_CHECK(mailstore_count(box) == 304 &&
		   mailstore_expunge(box, &uid, 1, NULL, NULL, &error) == 0 &&
		   mailstore_count(box) == 303 &&
		   mailstore_msg(box, 0)->flags == MAILSTORE_FLAG_SEEN);
	mailstore_close(&box);

	/* cur/ not empty (a dot file is enough), or few files: each file
	 * is moved and gets ":2,". */
	const char *q = tnew_box(dir, "xchg2", 70);
	twrite(tpath("%s/cur/.keep", q), "");
	box = open_box(q);
	UNIT_CHECK(tcount(tpath("%s/new", q)) == 0 &&
		   texists(tpath("%s/cur/1600000001.M1P1.h,S=2,W=3:2,", q)));
	mailstore_close(&box);
	q = tnew_box(dir, "few", 10);
	box = open_box(q);
	UNIT_CHECK(tcount(tpath("%s/new", q)) == 0 &&
		   texists(tpath("%s/cur/1600000001.M1P1.h,S=2,W=3:2,", q)));
	mailstore_close(&box);
}

static size_t limbo_files(const char *p)
{
	DIR *d = opendir(tpath("%s/tmp", p));
	struct dirent *e;
	size_t n = 0;

	while (d != NULL && (e = readdir(d)) != NULL)
		n += strncmp(e->d_name, MS_LIMBO_PREFIX,
			     strlen(MS_LIMBO_PREFIX)) == 0;
	if (d != NULL)
		closedir(d);
	return n;
}

/* An expunged file leaves the folder at once (for every handle) and is
 * deleted when the handle closes; one left by a crash goes with tmp/'s
 * leftovers. */
static void test_expunge_limbo(void)
{
	const char *p = tnew_box(dir, "limbo", 5);
	struct mailstore *a, *b;
	uint64_t bytes = 0, count = 0;
	const char *error;
	uint32_t uids[2];

	int fd;

	a = open_box(p);
	b = open_box(p);
	uids[0] = mailstore_msg(a, 1)->uid;
	uids[1] = mailstore_msg(a, 3)->uid;
	char *gone = xstrdup(mailstore_msg(a, 1)->base);
	UNIT_CHECK(mailstore_expunge(a, uids, 2, &bytes, &count,
				     &error) == 0 && count == 2 && bytes == 4);
	UNIT_CHECK(mailstore_count(a) == 3 && tuid(a, gone) == 0);
	UNIT_CHECK(tcount(tpath("%s/cur", p)) == 3 && limbo_files(p) == 2);
	/* Gone for another handle at once, before it syncs. */
	UNIT_CHECK(mailstore_msg_open(b, 1, &fd, &error) == 0);
	tsync_ok(b);
	UNIT_CHECK(mailstore_count(b) == 3 && tuid(b, gone) == 0);
	mailstore_close(&b);
	b = open_box(p);
	UNIT_CHECK(mailstore_count(b) == 3 && limbo_files(p) == 2);
	mailstore_close(&a);
	UNIT_CHECK(limbo_files(p) == 0 && tcount(tpath("%s/tmp", p)) == 0);
	free(gone);

	/* Left by a crash: kept while young, then taken by a look at tmp/
	 * (the age limit is 1 s here: a ctime cannot be set back). */
	twrite(tpath("%s/tmp/%s1.9", p, MS_LIMBO_PREFIX), "x");
	ms_tmp_set_limits(1, 0);
	sleep(2);
	mailstore_close(&b);
	b = open_box(p);
	UNIT_CHECK(limbo_files(p) == 0);
	ms_tmp_set_limits(MS_TMP_MAX_AGE, MS_TMP_CHECK_SECS);
	mailstore_close(&b);
}

/* A folder that loses both its uidlist and its index, or is deleted and
 * made again, within one second gets a new UIDVALIDITY, above every
 * value its Maildir gave. */
static void test_uidvalidity(void)
{
	const char *root = tnew_box(dir, "uvroot", 2);
	struct mailstore *box;
	const char *error;
	uint32_t v[4];

	box = open_box(root);
	v[0] = mailstore_uidvalidity(box);
	mailstore_close(&box);
	unlink(tpath("%s/dovecot-uidlist", root));
	unlink(tpath("%s/surel-index", root));
	unlink(tpath("%s/%s", root, MS_STAMPS_NAME));
	box = open_box(root);
	v[1] = mailstore_uidvalidity(box);
	UNIT_CHECK(v[1] > v[0] && mailstore_count(box) == 2);
	mailstore_close(&box);
	/* A Maildir++ folder shares its root's record. */
	UNIT_CHECK(mailstore_folder_create(root, "Sub", &error) == 0);
	box = open_box(tpath("%s/.Sub", root));
	v[2] = mailstore_uidvalidity(box);
	mailstore_close(&box);
	UNIT_CHECK(v[2] > v[1] &&
		   !texists(tpath("%s/.Sub/%s", root, MS_UIDVALIDITY_NAME)));
	UNIT_CHECK(mailstore_folder_delete(root, "Sub", &error) == 0 &&
		   mailstore_folder_create(root, "Sub", &error) == 0);
	box = open_box(tpath("%s/.Sub", root));
	v[3] = mailstore_uidvalidity(box);
	mailstore_close(&box);
	UNIT_CHECK(v[3] > v[2]);
	char *rec = tread(tpath("%s/%s", root, MS_UIDVALIDITY_NAME));
	UNIT_CHECK(rec != NULL && strtoul(rec, NULL, 10) == v[3]);
	free(rec);
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		return 2;
	ms_lock_set_wait_ms(10000);
	test_index_where();
	test_stamps_file();
	test_open_fast();
	test_fast_refused();
	test_exchange();
	test_expunge_limbo();
	test_uidvalidity();
	unit_rmtree(dir);
	return unit_done();
}
