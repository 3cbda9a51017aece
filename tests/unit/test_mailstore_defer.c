/* test_mailstore_defer: a flag change in two steps (mailstore_set_flags_begin
 * and _finish, see lib/mailstore_flags.c). surel-index version 5 carries
 * the "renames pending" marker and the names of before; a process that
 * dies after begin leaves a change that the next process completes (by
 * the full open and by the open from the index alone), keeping the
 * MODSEQs given and the UIDs, and leaving files renamed by someone else
 * as they are; a reader during a pending change waits for it and sees
 * the new flags, also a handle opened before it; finish after a file
 * vanished is fine; close finishes. */
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

static char dir[] = "/tmp/test_mailstore_defer.XXXXXX";

#define N 70	/* enough for new/ and cur/ to be exchanged: bare names */

static struct mailstore *open_box(const char *p)
{
	return topen(p, MAILSTORE_OPEN_CREATE);
}

/* \Flagged added to every message of box. */
static struct mailstore_flag_change *flag_all(struct mailstore *box)
{
	size_t n = mailstore_count(box);
	struct mailstore_flag_change *ch = xcalloc(n + 1, sizeof(*ch));

	for (size_t i = 0; i < n; i++) {
		const struct mailstore_msg *m = mailstore_msg(box, i);
		ch[i] = (struct mailstore_flag_change){
			i, m->flags | MAILSTORE_FLAG_FLAGGED, m->keywords };
	}
	return ch;
}

/* A child flags every message of p; it tells ready_fd (when >= 0) once
 * begin is done, then dies without finish (finish_ms < 0) or finishes
 * after finish_ms. Returns its pid. */
static pid_t child_store(const char *p, int ready_fd, int finish_ms)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	struct mailstore *box = open_box(p);
	struct mailstore_flag_change *ch = flag_all(box);
	const char *error;
	if (mailstore_set_flags_begin(box, ch, mailstore_count(box),
				      &error) != (long)mailstore_count(box))
		_exit(3);
	if (ready_fd >= 0 && write(ready_fd, "x", 1) != 1)
		_exit(4);
	if (finish_ms < 0)
		_exit(0);	/* killed between the two steps */
	usleep((useconds_t)finish_ms * 1000);
	if (mailstore_set_flags_finish(box, &error) < 0)
		_exit(5);
	mailstore_close(&box);
	_exit(0);
}

static bool child_ok(pid_t pid)
{
	int status;

	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		WEXITSTATUS(status) == 0;
}

static void read_index(const char *p, struct ms_map *map)
{
	ms_map_init(map);
	(void)ms_index_read(tpath("%s/%s", p, MS_INDEX_NAME), map,
			    &(struct ms_stamp){ 0 });
}

static void map_free(struct ms_map *map)
{
	ms_map_clear(map);
	free(map->hdr_ext);
}

/* Every file in cur/ named base + suffix for the messages of box whose
 * base is not skip. */
static bool names_are(const char *p, struct mailstore *box,
		      const char *suffix, const char *skip)
{
	bool ok = true;

	for (size_t i = 0; i < mailstore_count(box); i++) {
		const struct mailstore_msg *m = mailstore_msg(box, i);
		if (skip != NULL && strcmp(m->base, skip) == 0)
			continue;
		ok &= texists(tpath("%s/cur/%s%s", p, m->base, suffix));
	}
	return ok;
}

/* ---- the file format ---- */

static void test_format(void)
{
	struct ms_map map, back;
	struct buf b;
	const char *error;

	ms_map_init(&map);
	map.uidvalidity = 1600000000;
	map.nextuid = 5;
	map.highest_modseq = 9;
	ms_map_add(&map, 1, "a", 1, "", 0)->where = MS_WHERE_BARE;
	ms_map_add(&map, 3, "b", 1, "", 0)->where = MS_WHERE_ODD;
	map.pend = xcalloc(2, sizeof(*map.pend));
	map.pend[0] = (struct ms_pend){ 1, 0, 0, MS_WHERE_BARE, NULL };
	map.pend[1] = (struct ms_pend){ 3, 2, MAILSTORE_FLAG_SEEN,
					MS_WHERE_ODD, xstrdup("b:2,SXb") };
	map.pend_count = 2;
	buf_init(&b, 1 << 20);
	UNIT_CHECK(ms_index_format(&map, &b) == 0 && b.data[8] == 5 &&
		   b.data[12] == 1);
	ms_map_init(&back);
	UNIT_CHECK(ms_index_parse((unsigned char *)b.data, b.len, &back,
				  &error) == 0 && back.pend_count == 2 &&
		   back.pend[0].uid == 1 && back.pend[0].name == NULL &&
		   back.pend[1].keywords == 2 &&
		   back.pend[1].flags == MAILSTORE_FLAG_SEEN &&
		   strcmp(back.pend[1].name, "b:2,SXb") == 0);
	/* A reader of version 4 sees a version it does not know; a version
	 * 4 file with the word set, or unknown flags, are damage. */
	struct buf v4;
	buf_init(&v4, 1 << 20);
	UNIT_CHECK(buf_append(&v4, b.data, b.len) == 0);
	v4.data[8] = 4;
	uint32_t crc = ms_crc32(v4.data, v4.len - 4);
	for (size_t i = 0; i < 4; i++)
		v4.data[v4.len - 4 + i] = (char)(crc >> (8 * i));
	UNIT_CHECK(ms_index_parse((unsigned char *)v4.data, v4.len, &back,
				  &error) < 0);
	v4.data[8] = 5;
	v4.data[12] = 3;
	crc = ms_crc32(v4.data, v4.len - 4);
	for (size_t i = 0; i < 4; i++)
		v4.data[v4.len - 4 + i] = (char)(crc >> (8 * i));
	UNIT_CHECK(ms_index_parse((unsigned char *)v4.data, v4.len, &back,
				  &error) < 0);
	/* Without the marker nothing follows the expunge record. */
	ms_map_pend_clear(&map);
	buf_reset(&b);
	UNIT_CHECK(ms_index_format(&map, &b) == 0 && b.data[12] == 0 &&
		   ms_index_parse((unsigned char *)b.data, b.len, &back,
				  &error) == 0 && back.pend_count == 0);
	buf_deinit(&v4);
	buf_deinit(&b);
	map_free(&back);
	map_free(&map);
}

/* ---- a writer killed between begin and finish ---- */

/* The folder after the child died: the index has the new flags and
 * MODSEQs and the marker; one file was renamed by mutt meanwhile (to
 * neither name), one deleted. *ix_r is the index as the child left it. */
static const char *crashed_box(const char *name, struct ms_map *ix_r,
			       char *mutt_base, char *gone_base)
{
	const char *p = tnew_box(dir, name, N);
	struct mailstore *box = open_box(p);

	UNIT_CHECK(mailstore_count(box) == N &&
		   texists(tpath("%s/cur/%s", p, mailstore_msg(box, 2)->base)));
	strcpy(mutt_base, mailstore_msg(box, 2)->base);
	strcpy(gone_base, mailstore_msg(box, 4)->base);
	mailstore_close(&box);
	UNIT_CHECK(child_ok(child_store(p, -1, -1)));
	read_index(p, ix_r);
	UNIT_CHECK(ix_r->pend_count == N && ix_r->count == N);
	/* Nothing renamed: cur/ as before. */
	UNIT_CHECK(texists(tpath("%s/cur/%s", p, mutt_base)));
	rename(tpath("%s/cur/%s", p, mutt_base),
	       tpath("%s/cur/%s:2,R", p, mutt_base));
	unlink(tpath("%s/cur/%s", p, gone_base));
	return p;
}

static void check_recovered(const char *p, struct mailstore *box,
			    const struct ms_map *ix, const char *mutt_base)
{
	bool ok = true;

	UNIT_CHECK(mailstore_count(box) == N - 1);
	for (size_t i = 0; i < mailstore_count(box); i++) {
		const struct mailstore_msg *m = mailstore_msg(box, i);
		const struct ms_rec *r = ms_map_find(ix, m->uid);
		if (r == NULL || strcmp(r->base, m->base) != 0) {
			ok = false;
			continue;
		}
		if (strcmp(m->base, mutt_base) == 0) {
			/* Renamed by someone else: theirs, with a MODSEQ of
			 * its own. */
			UNIT_CHECK(m->flags == MAILSTORE_FLAG_ANSWERED &&
				   m->modseq > ix->highest_modseq);
			continue;
		}
		ok &= m->flags == MAILSTORE_FLAG_FLAGGED &&
			m->modseq == r->modseq;
	}
	UNIT_CHECK(ok);
	UNIT_CHECK(names_are(p, box, ":2,F", mutt_base));
	UNIT_CHECK(texists(tpath("%s/cur/%s:2,R", p, mutt_base)));
	struct ms_map after;
	read_index(p, &after);
	UNIT_CHECK(after.count == N - 1 && after.pend_count == 0);
	map_free(&after);
}

static void test_crash_full_open(void)
{
	char mutt[256], gone[256];
	struct ms_map ix;
	const char *p = crashed_box("crash", &ix, mutt, gone);
	struct mailstore *box = open_box(p);

	UNIT_CHECK(!box->ul_header_only);
	check_recovered(p, box, &ix, mutt);
	mailstore_close(&box);
	/* Opened again: nothing more changes. */
	box = open_box(p);
	check_recovered(p, box, &ix, mutt);
	mailstore_close(&box);
	map_free(&ix);
}

/* The open from the index alone must not skip the completion, even when
 * surel-stamps vouches for the index with the marker and every stamp is
 * still that of now (the crash left cur/'s mtime as it was). */
static void test_crash_fast_open(void)
{
	const char *p = tnew_box(dir, "crashfast", N);
	struct mailstore *box = open_box(p);
	struct ms_map ix;
	struct ms_stamps st;
	unsigned char out[MS_STAMPS_SIZE];

	tsettle(p);
	tsync_ok(box);
	mailstore_close(&box);
	UNIT_CHECK(child_ok(child_store(p, -1, -1)));
	read_index(p, &ix);
	UNIT_CHECK(ix.pend_count == N);
	memset(&st, 0, sizeof(st));
	st.index_id = ix.id;
	UNIT_CHECK(ms_stamp_get(tpath("%s/dovecot-uidlist", p), &st.ul) == 0 &&
		   ms_stamp_get(tpath("%s/new", p), &st.new_dir) == 0 &&
		   ms_stamp_get(tpath("%s/cur", p), &st.cur_dir) == 0);
	ms_stamps_format(&st, out);
	FILE *f = fopen(tpath("%s/%s", p, MS_STAMPS_NAME), "w");
	UNIT_CHECK(f != NULL && fwrite(out, 1, sizeof(out), f) == sizeof(out));
	if (f != NULL)
		fclose(f);
	box = open_box(p);
	UNIT_CHECK(!box->ul_header_only && mailstore_count(box) == N);
	UNIT_CHECK(names_are(p, box, ":2,F", NULL));
	bool ok = true;
	for (size_t i = 0; i < mailstore_count(box); i++)
		ok &= mailstore_msg(box, i)->flags == MAILSTORE_FLAG_FLAGGED &&
			mailstore_msg(box, i)->modseq == ix.recs[i].modseq;
	UNIT_CHECK(ok);
	mailstore_close(&box);
	struct ms_map after;
	read_index(p, &after);
	UNIT_CHECK(after.pend_count == 0);
	map_free(&after);
	map_free(&ix);
}

/* ---- others during a pending change ---- */

/* A handle opened before, and one opened during the change: both wait
 * for the writer's renames and see its flags, never the old ones. */
static void test_concurrent_reader(void)
{
	const char *p = tnew_box(dir, "reader", N);
	struct mailstore *early = open_box(p);
	int fds[2];
	char c;

	tsettle(p);
	tsync_ok(early);
	UNIT_CHECK(pipe(fds) == 0);
	pid_t pid = child_store(p, fds[1], 300);
	UNIT_CHECK(read(fds[0], &c, 1) == 1);
	tsync_ok(early);
	struct mailstore *late = open_box(p);
	bool ok = true;
	for (size_t i = 0; i < N; i++)
		ok &= mailstore_msg(early, i)->flags ==
			MAILSTORE_FLAG_FLAGGED &&
			mailstore_msg(late, i)->flags ==
			MAILSTORE_FLAG_FLAGGED &&
			mailstore_msg(late, i)->modseq ==
			mailstore_msg(early, i)->modseq;
	UNIT_CHECK(ok);
	UNIT_CHECK(names_are(p, late, ":2,F", NULL));
	UNIT_CHECK(child_ok(pid));
	close(fds[0]);
	close(fds[1]);
	mailstore_close(&early);
	mailstore_close(&late);
}

/* finish after a file vanished (another program expunged it); close
 * finishes a change left pending; the file names and the index agree. */
static void test_finish_vanished(void)
{
	const char *p = tnew_box(dir, "vanished", N);
	struct mailstore *box = open_box(p);
	struct mailstore_flag_change *ch = flag_all(box);
	const char *error = "";
	char gone[256];

	strcpy(gone, mailstore_msg(box, 7)->base);
	UNIT_CHECK(mailstore_set_flags_begin(box, ch, N, &error) == N &&
		   mailstore_set_flags_pending(box));
	UNIT_CHECK(unlink(tpath("%s/cur/%s", p, gone)) == 0);
	UNIT_CHECK(mailstore_set_flags_finish(box, &error) == 0 &&
		   !mailstore_set_flags_pending(box));
	UNIT_CHECK(names_are(p, box, ":2,F", gone));
	tsync_ok(box);
	UNIT_CHECK(mailstore_count(box) == N - 1 && tfind(box, gone) == NULL);
	free(ch);
	/* Left pending: close finishes it. */
	ch = flag_all(box);
	ch[0].flags |= MAILSTORE_FLAG_SEEN;
	UNIT_CHECK(mailstore_set_flags_begin(box, ch, 1, &error) == 1);
	char base0[256];
	strcpy(base0, mailstore_msg(box, 0)->base);
	mailstore_close(&box);
	UNIT_CHECK(texists(tpath("%s/cur/%s:2,FS", p, base0)));
	struct ms_map ix;
	read_index(p, &ix);
	UNIT_CHECK(ix.pend_count == 0 && ix.count == N - 1);
	map_free(&ix);
	free(ch);
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		return 2;
	test_format();
	test_crash_full_open();
	test_crash_fast_open();
	test_concurrent_reader();
	test_finish_vanished();
	unit_rmtree(dir);
	return unit_done();
}
