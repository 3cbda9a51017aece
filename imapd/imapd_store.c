/* imapd_store: STORE and UID STORE (RFC 3501 6.4.6, RFC 9051 6.4.6) with
 * CONDSTORE's UNCHANGEDSINCE (RFC 7162 3.1.3), and the implicit \Seen
 * of FETCH BODY[...]. All changes of one command go to the store in one
 * call: one lock, one index write, a new MODSEQ per changed message. As
 * in Dovecot, only messages whose flags really change get a new MODSEQ
 * and a FETCH response, and a read-only (EXAMINEd) mailbox ignores the
 * command.
 *
 * STORE answers before the files are renamed: mailstore_set_flags_begin
 * makes the change durable in surel-index (a write-ahead record that any
 * process completes if we die, lib/mailstore_pending.c), the FETCHes and
 * the tagged OK are sent and flushed, and imapd_store_finish, called by
 * the session before it reads the next command, does the renames (one
 * per message: most of what a STORE costs). Other sessions see the new
 * flags in the index at once and wait for the folder's lock until the
 * renames are done. The implicit \Seen of FETCH is made whole before
 * the FETCH answers (mailstore_set_flags_many). */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "mem.h"
#include "str.h"
#include "imapd.h"

static void store_renames(void *ctx);

enum store_op {
	STORE_REPLACE,	/* FLAGS */
	STORE_ADD,	/* +FLAGS */
	STORE_REMOVE	/* -FLAGS */
};

struct store_req {
	enum store_op op;
	bool silent;
	bool conditional;	/* UNCHANGEDSINCE given */
	uint64_t unchangedsince;
	unsigned flags;
	uint32_t keywords;
};

/* "(UNCHANGEDSINCE n)" (RFC 4466 store-modifiers). 0 or -1. */
static int parse_modifiers(const struct imap_arg *list, struct store_req *r)
{
	const char *name;

	if (list->list == NULL)
		return -1;
	for (const struct imap_arg *a = list->list; a != NULL; a = a->next) {
		if (a->type != IMAP_ARG_ATOM || !imap_arg_get_atom(a, &name) ||
		    !str_eq_ci(name, "UNCHANGEDSINCE") || r->conditional ||
		    a->next == NULL || a->next->type != IMAP_ARG_NUMBER ||
		    a->next->num > INT64_MAX)
			return -1;
		a = a->next;
		r->conditional = true;
		r->unchangedsince = a->num;
	}
	return 0;
}

/* "FLAGS", "+FLAGS", "-FLAGS", each with ".SILENT". 0 or -1. */
static int parse_item(const char *item, struct store_req *r)
{
	r->op = STORE_REPLACE;
	if (*item == '+' || *item == '-') {
		r->op = *item == '+' ? STORE_ADD : STORE_REMOVE;
		item++;
	}
	if (str_eq_ci(item, "FLAGS")) {
		r->silent = false;
		return 0;
	}
	if (str_eq_ci(item, "FLAGS.SILENT")) {
		r->silent = true;
		return 0;
	}
	return -1;
}

/* The flags message m gets. */
static void new_flags(const struct store_req *r, const struct mailstore_msg *m,
		      unsigned *flags_r, uint32_t *keywords_r)
{
	*flags_r = m->flags;
	*keywords_r = m->keywords;
	switch (r->op) {
	case STORE_REPLACE:
		/* Maildir's P (passed) has no IMAP flag: FLAGS keeps it. */
		*flags_r = r->flags | (m->flags & MAILSTORE_FLAG_PASSED);
		*keywords_r = r->keywords;
		break;
	case STORE_ADD:
		*flags_r = m->flags | r->flags;
		*keywords_r = m->keywords | r->keywords;
		break;
	case STORE_REMOVE:
		*flags_r = m->flags & ~r->flags;
		*keywords_r = m->keywords & ~r->keywords;
		break;
	}
}

/* What one STORE does to the messages msns[0..n). */
struct store_run {
	struct mailstore_flag_change *changes;
	uint32_t *changed_msns;	/* parallel to changes */
	size_t changed;
	uint32_t *modified;	/* UNCHANGEDSINCE failures: numbers or
				 * UIDs, ascending */
	size_t modified_count;
};

static void store_plan(struct imapd_session *s, const struct store_req *r,
		       const uint32_t *msns, size_t n, struct store_run *run)
{
	struct imapd_selected *sel = s->sel;

	run->changes = xcalloc(n + 1, sizeof(*run->changes));
	run->changed_msns = xcalloc(n + 1, sizeof(*run->changed_msns));
	run->modified = xcalloc(n + 1, sizeof(*run->modified));
	for (size_t i = 0; i < n; i++) {
		long idx = imapd_view_index(s, msns[i]);
		if (idx < 0)
			continue;	/* expunged by another session */
		const struct mailstore_msg *m =
			mailstore_msg(sel->box, (size_t)idx);
		if (r->conditional && m->modseq > r->unchangedsince) {
			run->modified[run->modified_count++] =
				s->cmd_uid ? m->uid : msns[i];
			continue;
		}
		unsigned flags;
		uint32_t keywords;
		new_flags(r, m, &flags, &keywords);
		if (flags == m->flags && keywords == m->keywords)
			continue;
		run->changes[run->changed].idx = (size_t)idx;
		run->changes[run->changed].flags = flags;
		run->changes[run->changed].keywords = keywords;
		run->changed_msns[run->changed++] = msns[i];
	}
}

/* The FETCH responses: FLAGS unless .SILENT; MODSEQ with CONDSTORE
 * even when silent (RFC 7162 3.1.3); UID for UID STORE. */
static void store_report(struct imapd_session *s, const struct store_req *r,
			 const struct store_run *run)
{
	bool condstore = (s->enabled & IMAPD_ENABLED_CONDSTORE) != 0;

	for (size_t i = 0; i < run->changed; i++) {
		const struct mailstore_flag_change *c = &run->changes[i];
		const struct mailstore_msg *m = mailstore_msg(s->sel->box,
							      c->idx);
		/* Not done: the file was gone (expunged meanwhile). */
		if (m->flags != c->flags || m->keywords != c->keywords)
			continue;
		if (!r->silent || condstore)
			imapd_flags_fetch_reply(s, run->changed_msns[i],
						c->idx, s->cmd_uid,
						!r->silent);
		else
			imapd_view_told(s, run->changed_msns[i]);
	}
}

static void store_run_free(struct store_run *run)
{
	free(run->changes);
	free(run->changed_msns);
	free(run->modified);
}

/* Arguments after the sequence set: modifiers, item, flags. 0, or -1
 * after the reply. */
static int store_parse(struct imapd_session *s, const struct imap_arg *a,
		       struct store_req *r)
{
	const char *item, *error;
	bool bad;

	memset(r, 0, sizeof(*r));
	if (a != NULL && a->type == IMAP_ARG_LIST) {
		if (parse_modifiers(a, r) < 0) {
			imapd_bad(s, "Invalid STORE modifiers.");
			return -1;
		}
		a = a->next;
	}
	if (a == NULL || a->type != IMAP_ARG_ATOM ||
	    !imap_arg_get_atom(a, &item) || parse_item(item, r) < 0) {
		imapd_bad(s, "Invalid arguments.");
		return -1;
	}
	/* New keywords are made for FLAGS and +FLAGS only; a read-only
	 * mailbox gets none. */
	if (imapd_flags_parse(s->sel->box, a->next,
			      r->op != STORE_REMOVE && !s->sel->readonly,
			      &r->flags, &r->keywords, &bad, &error) < 0) {
		if (bad)
			imapd_bad(s, "%s.", error);
		else
			imapd_no(s, "%s.", error);
		return -1;
	}
	return 0;
}

/* The tagged reply once the changes are made. */
static void store_done(struct imapd_session *s, const struct store_run *run)
{
	struct buf b;

	if (run->modified_count == 0) {
		imapd_ok(s, "Store completed.");
		return;
	}
	buf_init(&b, run->modified_count * 24 + 64);
	if (imapd_view_set_write(&b, run->modified, run->modified_count) < 0)
		buf_reset(&b);	/* cannot happen: room for every number */
	imapd_ok(s, "[MODIFIED %s] Conditional store failed.", buf_cstr(&b));
	buf_deinit(&b);
}

void imapd_cmd_store(struct imapd_session *s, const struct imap_arg *args)
{
	struct store_req r;
	struct store_run run;
	uint32_t *msns;
	size_t n;
	const char *error;

	if (imapd_view_resolve(s, args, s->cmd_uid, &msns, &n, &error) < 0) {
		imapd_bad(s, "%s.", error);
		return;
	}
	if (store_parse(s, args->next, &r) < 0) {
		free(msns);
		return;
	}
	s->stats.store_count++;
	/* RFC 7162 3.1: a CONDSTORE-enabling command. */
	if (r.conditional)
		s->enabled |= IMAPD_ENABLED_CONDSTORE;
	/* The store is looked at now, not at the reply: while our renames
	 * wait for the reply a sync would do them first. What others
	 * changed is reported with the reply as before, and UNCHANGEDSINCE
	 * compares fresh MODSEQs. */
	if (mailstore_sync(s->sel->box, &error) < 0)
		log_warn("user=<%s>: %s: sync: %s", s->user, s->sel->path,
			 error);
	if (s->sel->readonly) {
		free(msns);
		imapd_ok(s, "Store ignored with read-only mailbox.");
		return;
	}
	/* New keywords: the client hears FLAGS before it sees them in a
	 * FETCH (as from Dovecot). */
	if (imapd_flags_defined(s->sel->box) != s->sel->keywords_told)
		imapd_flags_announce(s);
	memset(&run, 0, sizeof(run));
	store_plan(s, &r, msns, n, &run);
	free(msns);
	if (run.changed > 0 &&
	    mailstore_set_flags_begin(s->sel->box, run.changes, run.changed,
				      &error) < 0) {
		log_error("user=<%s>: %s: store: %s", s->user, s->sel->path,
			  error);
		store_run_free(&run);
		imapd_no(s, "[SERVERBUG] Internal error occurred. Refer to "
			    "server log for more information.");
		return;
	}
	/* The folder's lock is held until the renames: a client too slow
	 * to take the reply as fast as it is written gets them done at the
	 * first write that would wait, not after its last octet. */
	if (run.changed > 0)
		stream_set_stall_hook(s->stream, store_renames, s);
	store_report(s, &r, &run);
	store_done(s, &run);
	store_run_free(&run);
}

/* The renames of the STORE whose reply is going out (or out). */
static void store_renames(void *ctx)
{
	struct imapd_session *s = ctx;
	const char *error;

	if (s->sel == NULL || !mailstore_set_flags_pending(s->sel->box))
		return;
	if (mailstore_set_flags_finish(s->sel->box, &error) < 0)
		log_error("user=<%s>: %s: store: %s", s->user, s->sel->path,
			  error);
}

void imapd_store_finish(struct imapd_session *s)
{
	if (s->sel == NULL || !mailstore_set_flags_pending(s->sel->box))
		return;
	/* A client gone meanwhile changes nothing: the renames are due
	 * anyway (the folder's lock is held until they are done). A flush
	 * that has to wait runs them through the stall hook. */
	(void)imapd_flush(s);
	stream_set_stall_hook(s->stream, NULL, NULL);
	store_renames(s);
}

int imapd_store_add_seen(struct imapd_session *s, const uint32_t *msns,
			 size_t n, const char **error_r)
{
	struct mailstore_flag_change *changes;
	size_t k = 0;

	/* EXAMINE: "no changes to the permanent state" (RFC 3501 6.3.2). */
	if (s->sel == NULL || s->sel->readonly || n == 0)
		return 0;
	changes = xcalloc(n, sizeof(*changes));
	for (size_t i = 0; i < n; i++) {
		long idx = imapd_view_index(s, msns[i]);
		if (idx < 0)
			continue;
		const struct mailstore_msg *m =
			mailstore_msg(s->sel->box, (size_t)idx);
		if ((m->flags & MAILSTORE_FLAG_SEEN) != 0)
			continue;
		changes[k].idx = (size_t)idx;
		changes[k].flags = m->flags | MAILSTORE_FLAG_SEEN;
		changes[k].keywords = m->keywords;
		k++;
	}
	long ret = k > 0 ? mailstore_set_flags_many(s->sel->box, changes, k,
						    error_r) : 0;
	free(changes);
	return ret < 0 ? -1 : 0;
}
