/* imapd_select: entering and leaving the selected state (SELECT and
 * EXAMINE with their CONDSTORE and QRESYNC parameters, RFC 3501 6.3.1,
 * RFC 9051 6.3.2, RFC 7162 3.1.2 and 3.2.5; CLOSE, UNSELECT) and the
 * commands that act on the mailbox as a whole (CHECK, EXPUNGE, UID
 * EXPUNGE of UIDPLUS). The responses are Dovecot's, so that clients
 * tuned to it see what they expect. */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "log.h"
#include "maildir_quota.h"
#include "mem.h"
#include "str.h"
#include "imapd.h"

/* A reply line naming the mailbox is never longer than this. */
#define NAME_ECHO_MAX 200

/* The SELECT/EXAMINE parameters (RFC 4466 select-params). */
struct select_params {
	bool condstore;
	bool qresync;
	uint32_t uidvalidity;
	uint64_t modseq;
	const struct imap_arg *known_uids;	/* NULL: every UID */
};

/* A sequence set as an atom ("$" is not one here). */
static bool seqset_valid(const struct imap_arg *a)
{
	struct imap_seqset set;
	const char *str, *error;

	if (a == NULL || a->type == IMAP_ARG_NIL || a->type == IMAP_ARG_LIST ||
	    !imap_arg_get_atom(a, &str) ||
	    imap_seqset_parse(str, strlen(str), IMAPD_RANGES_MAX, &set,
			      &error) < 0)
		return false;
	bool ok = !set.saved;
	imap_seqset_deinit(&set);
	return ok;
}

/* "(uidvalidity modseq [known-uids [(known-seqs known-uids)]])". The
 * sequence match data only helps servers that forget expunges; the
 * store's record of them never names fewer UIDs than were expunged,
 * so it is checked and otherwise not needed. */
static int parse_qresync(const struct imap_arg *list, struct select_params *p,
			 const char **error_r)
{
	const struct imap_arg *a = list->type == IMAP_ARG_LIST ? list->list :
		NULL;

	*error_r = "Invalid QRESYNC parameters";
	if (a == NULL || a->type != IMAP_ARG_NUMBER || a->num == 0 ||
	    a->num > UINT32_MAX)
		return -1;
	p->uidvalidity = (uint32_t)a->num;
	a = a->next;
	if (a == NULL || a->type != IMAP_ARG_NUMBER || a->num > INT64_MAX)
		return -1;
	p->modseq = a->num;
	a = a->next;
	if (a != NULL && a->type != IMAP_ARG_LIST) {
		if (!seqset_valid(a))
			return -1;
		p->known_uids = a;
		a = a->next;
	}
	if (a != NULL && a->type == IMAP_ARG_LIST) {
		if (a->list_count != 2 || !seqset_valid(a->list) ||
		    !seqset_valid(a->list->next))
			return -1;
		a = a->next;
	}
	if (a != NULL)
		return -1;
	p->qresync = true;
	return 0;
}

static int parse_params(struct imapd_session *s, const struct imap_arg *args,
			struct select_params *p, const char **error_r)
{
	const char *name;

	memset(p, 0, sizeof(*p));
	if (args == NULL)
		return 0;
	if (args->type != IMAP_ARG_LIST || args->next != NULL) {
		*error_r = "Invalid arguments";
		return -1;
	}
	for (const struct imap_arg *a = args->list; a != NULL; a = a->next) {
		if (!imap_arg_get_atom(a, &name) || a->type != IMAP_ARG_ATOM) {
			*error_r = "Invalid SELECT parameters";
			return -1;
		}
		if (str_eq_ci(name, "CONDSTORE")) {
			p->condstore = true;
		} else if (str_eq_ci(name, "QRESYNC")) {
			if ((s->enabled & IMAPD_ENABLED_QRESYNC) == 0) {
				*error_r = "QRESYNC not enabled";
				return -1;
			}
			if (a->next == NULL ||
			    parse_qresync(a->next, p, error_r) < 0)
				return -1;
			a = a->next;
		} else {
			*error_r = "Unknown SELECT parameter";
			return -1;
		}
	}
	return 0;
}

/* The name for a reply text, when it is plain printable ASCII. */
static const char *name_echo(const char *name)
{
	size_t len = 0;

	for (const unsigned char *p = (const unsigned char *)name; *p != '\0';
	     p++, len++)
		if (*p < 0x20 || *p >= 0x7f || len >= NAME_ECHO_MAX)
			return "(name not shown)";
	return name;
}

/* Opens the named folder as s->sel (view, cache). 1 done, 0 after the
 * NO/BAD reply. */
static int select_open(struct imapd_session *s, const struct imap_arg *arg,
		       bool readonly)
{
	char *name, *folder, *path;
	const char *error;
	struct mailstore *box;
	struct stat st;

	if (imapd_name_resolve(s, arg, &name, &folder, &path, &error) < 0) {
		imapd_no(s, "[CANNOT] %s", error);
		return 0;
	}
	/* INBOX always exists (it is made at first use, as by delivery);
	 * any other folder must have been created. */
	bool inbox = strcmp(folder, "INBOX") == 0;
	/* A read-write SELECT takes \Recent (RFC 3501 2.3.2: later sessions
	 * do not see it); EXAMINE only looks. */
	unsigned flags = (inbox ? MAILSTORE_OPEN_CREATE : 0) |
		(readonly ? 0 : MAILSTORE_OPEN_CLAIM_RECENT);
	if (!inbox && (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))) {
		imapd_no(s, "[NONEXISTENT] Mailbox doesn't exist: %s",
			 name_echo(name));
	} else if (mailstore_open(path, flags, &box, &error) < 0) {
		log_error("user=<%s>: %s: %s", s->user, path, error);
		imapd_no(s, "[SERVERBUG] Internal error occurred. Refer to "
			    "server log for more information.");
	} else {
		struct imapd_selected *sel = xcalloc(1, sizeof(*sel));
		sel->name = name;
		sel->folder = folder;
		sel->path = path;
		sel->readonly = readonly;
		sel->box = box;
		sel->watch_fd = -1;
		s->sel = sel;
		s->state = IMAPD_STATE_SELECTED;
		imapd_view_init(s);
		imapd_msgcache_open(s);
		return 1;
	}
	free(name);
	free(folder);
	free(path);
	return 0;
}

/* RFC 9051 6.3.2: the mailbox's name as the server knows it. */
static void reply_list(struct imapd_session *s)
{
	struct buf b;

	buf_init(&b, IMAPD_MAILBOX_NAME_MAX * 8 + 64);
	if (buf_printf(&b, "LIST () \"%s\" ",
		       s->p->separator == '/' ? "/" : ".") == 0 &&
	    imapd_name_write(s, &b, s->sel->name) == 0)
		imapd_untagged(s, "%s", buf_cstr(&b));
	buf_deinit(&b);
}

/* The number of the first message without \Seen, or 0. */
static uint32_t first_unseen(struct imapd_session *s)
{
	for (size_t i = 0; i < s->sel->count; i++) {
		long idx = imapd_view_index(s, (uint32_t)(i + 1));
		if (idx >= 0 && (mailstore_msg(s->sel->box, (size_t)idx)->flags
				 & MAILSTORE_FLAG_SEEN) == 0)
			return (uint32_t)(i + 1);
	}
	return 0;
}

/* Whether uid is in the known-uids of QRESYNC (resolved), or there
 * were none. */
static bool known(const struct imap_seqset *set, bool have, uint32_t uid)
{
	return !have || imap_seqset_contains(set, uid);
}

/* RFC 7162 3.2.5.1: what changed since the client's MODSEQ. */
static void reply_qresync(struct imapd_session *s,
			  const struct select_params *p)
{
	struct imapd_selected *sel = s->sel;
	struct imap_seqset parsed, set = { NULL, 0, false };
	uint32_t *uids;
	size_t n;
	const char *str, *error;
	bool have = false;

	if (p->uidvalidity != sel->uidvalidity)
		return;	/* the client must start over: tell it nothing */
	if (p->known_uids != NULL &&
	    imap_arg_get_atom(p->known_uids, &str) &&
	    imap_seqset_parse(str, strlen(str), IMAPD_RANGES_MAX, &parsed,
			      &error) == 0) {
		have = imap_seqset_resolve(&parsed, sel->uidnext > 1 ?
					   sel->uidnext - 1 : 1, &set) == 0;
		imap_seqset_deinit(&parsed);
	}
	if (mailstore_expunged_since(sel->box, p->modseq, &uids, &n,
				     &error) < 0) {
		log_warn("user=<%s>: %s: expunges since %llu: %s", s->user,
			 sel->path, (unsigned long long)p->modseq, error);
	} else {
		size_t k = 0, idx;
		/* Only UIDs that are really gone, and that the client has. */
		for (size_t i = 0; i < n; i++)
			if (known(&set, have, uids[i]) &&
			    !mailstore_find_uid(sel->box, uids[i], &idx))
				uids[k++] = uids[i];
		if (k > 0)
			imapd_view_vanished(s, true, uids, k);
		free(uids);
	}
	for (size_t i = 0; i < sel->count; i++) {
		long idx = imapd_view_index(s, (uint32_t)(i + 1));
		if (idx >= 0 &&
		    mailstore_msg(sel->box, (size_t)idx)->modseq > p->modseq &&
		    known(&set, have, sel->msgs[i].uid))
			imapd_flags_fetch_reply(s, (uint32_t)(i + 1),
						(size_t)idx, true, true);
	}
	if (have)
		imap_seqset_deinit(&set);
}

static void select_reply(struct imapd_session *s,
			 const struct select_params *p)
{
	struct imapd_selected *sel = s->sel;
	bool rev2 = (s->enabled & IMAPD_ENABLED_REV2) != 0;

	imapd_flags_announce(s);
	imapd_untagged(s, "%zu EXISTS", sel->count);
	if (!rev2) {
		/* Neither exists in IMAP4rev2. UNSEEN only when there is an
		 * unseen message (RFC 3501 erratum 3032). */
		uint32_t unseen = first_unseen(s);
		imapd_untagged(s, "%u RECENT", sel->recent);
		if (unseen > 0)
			imapd_untagged(s, "OK [UNSEEN %u] First unseen.",
				       unseen);
	} else {
		reply_list(s);
	}
	imapd_untagged(s, "OK [UIDVALIDITY %u] UIDs valid", sel->uidvalidity);
	imapd_untagged(s, "OK [UIDNEXT %u] Predicted next UID", sel->uidnext);
	/* RFC 7162 3.1.2.1: every SELECT of a store that keeps MODSEQs. */
	imapd_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest",
		       (unsigned long long)sel->highest_modseq);
	if (p->qresync)
		reply_qresync(s, p);
	if (sel->readonly)
		imapd_ok(s, "[READ-ONLY] Examine completed.");
	else
		imapd_ok(s, "[READ-WRITE] Select completed.");
}

static void select_run(struct imapd_session *s, const struct imap_arg *args,
		       bool readonly)
{
	struct select_params p;
	const char *error;

	/* Any earlier mailbox is closed first, even when this SELECT
	 * fails (RFC 3501 6.3.1). */
	if (s->sel != NULL) {
		imapd_view_close(s);
		if ((s->enabled & (IMAPD_ENABLED_QRESYNC |
				   IMAPD_ENABLED_REV2)) != 0)
			imapd_untagged(s, "OK [CLOSED] Previous mailbox "
					  "closed.");
	}
	if (args == NULL) {
		imapd_bad(s, "Missing mailbox name.");
		return;
	}
	if (parse_params(s, args->next, &p, &error) < 0) {
		imapd_bad(s, "%s.", error);
		return;
	}
	if (select_open(s, args, readonly) == 0)
		return;
	if (p.condstore)
		s->enabled |= IMAPD_ENABLED_CONDSTORE;
	select_reply(s, &p);
}

void imapd_cmd_select(struct imapd_session *s, const struct imap_arg *args)
{
	select_run(s, args, false);
}

void imapd_cmd_examine(struct imapd_session *s, const struct imap_arg *args)
{
	select_run(s, args, true);
}

int imapd_select_expunge(struct imapd_session *s, const uint32_t *uids,
			 size_t n, const char **error_r)
{
	uint64_t bytes = 0, count = 0;
	const char *error;

	if (n == 0)
		return 0;
	int ret = mailstore_expunge(s->sel->box, uids, n, &bytes, &count,
				    error_r);
	/* Only what was really removed comes off the quota; a missing
	 * maildirsize stays missing (the next count finds the truth). */
	if (count > 0 &&
	    maildir_quota_update(s->maildir, bytes > INT64_MAX ? -INT64_MAX :
				 -(int64_t)bytes, -(int64_t)count, &error) < 0)
		log_warn("user=<%s>: %s/%s: %s", s->user, s->maildir,
			 MAILDIR_QUOTA_FILE, error);
	s->stats.expunged += (unsigned)count;
	return ret;
}

/* The UIDs of the messages with \Deleted, among msns (NULL: all). The
 * store is looked at first: another connection of the same client
 * (Thunderbird uses several) may just have set \Deleted. */
static uint32_t *deleted_uids(struct imapd_session *s, const uint32_t *msns,
			      size_t count, size_t *n_r)
{
	struct imapd_selected *sel = s->sel;
	size_t total = msns != NULL ? count : sel->count, n = 0;
	uint32_t *uids = xcalloc(total + 1, sizeof(*uids));
	const char *error;

	if (mailstore_sync(sel->box, &error) < 0)
		log_warn("user=<%s>: %s: sync: %s", s->user, sel->path, error);

	for (size_t i = 0; i < total; i++) {
		uint32_t msn = msns != NULL ? msns[i] : (uint32_t)(i + 1);
		long idx = imapd_view_index(s, msn);
		if (idx >= 0 && (mailstore_msg(sel->box, (size_t)idx)->flags &
				 MAILSTORE_FLAG_DELETED) != 0)
			uids[n++] = sel->msgs[msn - 1].uid;
	}
	*n_r = n;
	return uids;
}

void imapd_cmd_expunge(struct imapd_session *s, const struct imap_arg *args)
{
	uint32_t *msns = NULL, *uids;
	size_t count = 0, n;
	const char *error;

	if (s->cmd_uid ? args == NULL || args->next != NULL : args != NULL) {
		imapd_bad(s, "Invalid arguments.");
		return;
	}
	if (s->cmd_uid &&
	    imapd_view_resolve(s, args, true, &msns, &count, &error) < 0) {
		imapd_bad(s, "%s.", error);
		return;
	}
	/* A read-only mailbox keeps its messages (Dovecot: OK). */
	if (!s->sel->readonly) {
		uids = deleted_uids(s, msns, count, &n);
		int ret = imapd_select_expunge(s, uids, n, &error);
		free(uids);
		if (ret < 0) {
			free(msns);
			log_error("user=<%s>: %s: expunge: %s", s->user,
				  s->sel->path, error);
			imapd_no(s, "[SERVERBUG] Internal error occurred. "
				    "Refer to server log for more "
				    "information.");
			return;
		}
	}
	free(msns);
	/* The store was synced a moment ago (by the expunge, under the
	 * lock): the view is told, and the tagged reply syncs nothing more
	 * (it would only read the directories again). */
	if (s->sel->readonly) {
		imapd_view_sync(s, true);
	} else {
		imapd_view_report(s, true);
		s->cmd_flags |= IMAPD_CMD_NOSYNC;
	}
	if ((s->enabled & IMAPD_ENABLED_QRESYNC) != 0)
		imapd_ok(s, "[HIGHESTMODSEQ %llu] Expunge completed.",
			 (unsigned long long)s->sel->highest_modseq);
	else
		imapd_ok(s, "Expunge completed.");
}

void imapd_cmd_close(struct imapd_session *s, const struct imap_arg *args)
{
	const char *error;
	size_t n;

	if (args != NULL) {
		imapd_bad(s, "Invalid arguments.");
		return;
	}
	/* Silent: no EXPUNGE responses (RFC 3501 6.4.2). */
	if (!s->sel->readonly) {
		uint32_t *uids = deleted_uids(s, NULL, 0, &n);
		if (imapd_select_expunge(s, uids, n, &error) < 0)
			log_error("user=<%s>: %s: expunge at CLOSE: %s",
				  s->user, s->sel->path, error);
		free(uids);
	}
	imapd_view_close(s);
	imapd_ok(s, "Close completed.");
}

void imapd_cmd_unselect(struct imapd_session *s, const struct imap_arg *args)
{
	if (args != NULL) {
		imapd_bad(s, "Invalid arguments.");
		return;
	}
	imapd_view_close(s);
	imapd_ok(s, "Unselect completed.");
}

/* Everything is on disk before any OK: CHECK only reports changes
 * (the tagged reply syncs the view). */
void imapd_cmd_check(struct imapd_session *s, const struct imap_arg *args)
{
	if (args != NULL) {
		imapd_bad(s, "Invalid arguments.");
		return;
	}
	imapd_ok(s, "Check completed.");
}
