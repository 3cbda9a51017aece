/* imapd_view: the selected mailbox as the client knows it. Message
 * sequence number i + 1 is msgs[i]; the store (lib/mailstore) is the
 * truth, and a sync compares the two in one merge pass (both are in
 * ascending UID order) to tell the client what changed: EXPUNGE (or
 * VANISHED), FLAGS when keywords appeared, FETCH for flags changed by
 * others, EXISTS and RECENT for new messages, in the order of RFC 3501
 * 7.4.1 / RFC 9051 7.5.1. While a command that uses sequence numbers
 * runs, expunged messages stay in the view, marked, so that the numbers
 * the client holds keep their meaning. Nothing here opens a message
 * file: a sync of 100,000 messages is a few linear passes. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>
#include "log.h"
#include "mem.h"
#include "imapd.h"

/* A VANISHED line is cut after this many octets of UID set. */
#define VANISHED_LINE_MAX 8000
/* inotify events read by one drain (each read takes many). */
#define WATCH_DRAIN_READS_MAX 1000

void imapd_view_init(struct imapd_session *s)
{
	struct imapd_selected *sel = s->sel;
	size_t n = mailstore_count(sel->box);

	sel->msgs = xcalloc(n > 0 ? n : 1, sizeof(*sel->msgs));
	sel->alloc = n > 0 ? n : 1;
	sel->count = n;
	sel->recent = 0;
	for (size_t i = 0; i < n; i++) {
		const struct mailstore_msg *m = mailstore_msg(sel->box, i);
		sel->msgs[i].uid = m->uid;
		sel->msgs[i].modseq = m->modseq;
		sel->msgs[i].recent = m->recent;
		if (m->recent)
			sel->recent++;
	}
	sel->uidvalidity = mailstore_uidvalidity(sel->box);
	sel->uidnext = mailstore_uidnext(sel->box);
	sel->highest_modseq = mailstore_highest_modseq(sel->box);
}

/* The first store index whose UID is above uid. */
static size_t store_upper_bound(const struct mailstore *box, uint32_t uid)
{
	size_t lo = 0, hi = mailstore_count(box);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (mailstore_msg(box, mid)->uid <= uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The first view index whose UID is at least uid. */
static size_t view_lower_bound(const struct imapd_selected *sel, uint32_t uid)
{
	size_t lo = 0, hi = sel->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sel->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Marks what the store no longer has; returns how many are marked. */
static size_t mark_expunged(struct imapd_selected *sel)
{
	size_t n = mailstore_count(sel->box), j = 0, marked = 0;

	for (size_t i = 0; i < sel->count; i++) {
		struct imapd_view_msg *v = &sel->msgs[i];
		if (v->expunged) {
			marked++;
			continue;
		}
		while (j < n && mailstore_msg(sel->box, j)->uid < v->uid)
			j++;
		if (j < n && mailstore_msg(sel->box, j)->uid == v->uid)
			continue;
		v->expunged = true;
		marked++;
	}
	return marked;
}

void imapd_view_vanished(struct imapd_session *s, bool earlier,
			 const uint32_t *uids, size_t n)
{
	const char *what = earlier ? "VANISHED (EARLIER)" : "VANISHED";
	struct buf b;
	size_t i = 0;

	buf_init(&b, VANISHED_LINE_MAX + 64);
	while (i < n) {
		size_t j = i;
		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		int ret = uids[j] == uids[i] ?
			buf_printf(&b, "%s%u", b.len > 0 ? "," : "", uids[i]) :
			buf_printf(&b, "%s%u:%u", b.len > 0 ? "," : "",
				   uids[i], uids[j]);
		if (ret < 0)
			break;	/* cannot happen: the line is cut below */
		if (b.len >= VANISHED_LINE_MAX) {
			imapd_untagged(s, "%s %s", what, buf_cstr(&b));
			buf_reset(&b);
		}
		i = j + 1;
	}
	if (b.len > 0)
		imapd_untagged(s, "%s %s", what, buf_cstr(&b));
	buf_deinit(&b);
}

/* Tells the client of the marked messages and drops them. EXPUNGE
 * responses go highest number first, so that each number is right at
 * the moment it is sent. */
static void report_expunges(struct imapd_session *s, size_t marked)
{
	struct imapd_selected *sel = s->sel;

	if ((s->enabled & IMAPD_ENABLED_QRESYNC) != 0) {
		uint32_t *uids = xcalloc(marked, sizeof(*uids));
		size_t n = 0;
		for (size_t i = 0; i < sel->count && n < marked; i++)
			if (sel->msgs[i].expunged)
				uids[n++] = sel->msgs[i].uid;
		imapd_view_vanished(s, false, uids, n);
		free(uids);
	} else {
		for (size_t i = sel->count; i-- > 0;)
			if (sel->msgs[i].expunged)
				imapd_untagged(s, "%zu EXPUNGE", i + 1);
	}
	size_t kept = 0;
	for (size_t i = 0; i < sel->count; i++) {
		if (!sel->msgs[i].expunged)
			sel->msgs[kept++] = sel->msgs[i];
		else if (sel->msgs[i].recent && sel->recent > 0)
			sel->recent--;
	}
	sel->count = kept;
}

/* FETCH (FLAGS) for messages whose MODSEQ moved since the client was
 * told (changed by another session, mutt, a sync that rebuilt the
 * index). */
static void report_flag_changes(struct imapd_session *s)
{
	struct imapd_selected *sel = s->sel;
	size_t n = mailstore_count(sel->box), j = 0;

	for (size_t i = 0; i < sel->count; i++) {
		const struct imapd_view_msg *v = &sel->msgs[i];
		if (v->expunged)
			continue;
		while (j < n && mailstore_msg(sel->box, j)->uid < v->uid)
			j++;
		if (j < n && mailstore_msg(sel->box, j)->uid == v->uid &&
		    mailstore_msg(sel->box, j)->modseq != v->modseq)
			imapd_flags_fetch_reply(s, (uint32_t)(i + 1), j, false,
						true);
	}
}

/* New messages (UIDs above the view's last) join the view. */
static void report_new(struct imapd_session *s, uint32_t recent_before)
{
	struct imapd_selected *sel = s->sel;
	uint32_t last = sel->count > 0 ? sel->msgs[sel->count - 1].uid : 0;
	size_t n = mailstore_count(sel->box);
	size_t j = store_upper_bound(sel->box, last);

	bool added = j < n;

	if (added) {
		if (sel->count + (n - j) > sel->alloc) {
			sel->alloc = sel->count + (n - j) + sel->alloc / 2;
			sel->msgs = xreallocarray(sel->msgs, sel->alloc,
						  sizeof(*sel->msgs));
		}
		for (; j < n; j++) {
			const struct mailstore_msg *m =
				mailstore_msg(sel->box, j);
			struct imapd_view_msg *v = &sel->msgs[sel->count++];
			v->uid = m->uid;
			v->modseq = m->modseq;
			v->expunged = false;
			v->recent = m->recent;
			if (m->recent)
				sel->recent++;
		}
		imapd_untagged(s, "%zu EXISTS", sel->count);
	}
	/* IMAP4rev2 has no \Recent; rev1 hears the count with every
	 * EXISTS and whenever an expunge changed it (as Dovecot). */
	if ((s->enabled & IMAPD_ENABLED_REV2) == 0 &&
	    (added || sel->recent != recent_before))
		imapd_untagged(s, "%u RECENT", sel->recent);
}

void imapd_view_sync(struct imapd_session *s, bool allow_expunge)
{
	struct imapd_selected *sel = s->sel;
	const char *error;

	if (s->state != IMAPD_STATE_SELECTED || sel == NULL)
		return;
	/* After a failure the store keeps its earlier list: the client
	 * hears of nothing new, and the next sync tries again. While our
	 * STORE's renames wait for its reply (imapd_store_finish) we hold
	 * the folder's lock: no other writer changed it, and a sync would
	 * do the renames before the reply. */
	if (!mailstore_set_flags_pending(sel->box) &&
	    mailstore_sync(sel->box, &error) < 0)
		log_warn("user=<%s>: %s: sync: %s", s->user, sel->path, error);
	imapd_view_report(s, allow_expunge);
}

void imapd_view_report(struct imapd_session *s, bool allow_expunge)
{
	struct imapd_selected *sel = s->sel;

	if (s->state != IMAPD_STATE_SELECTED || sel == NULL)
		return;
	/* The UID map was lost and remade: no UID the client holds means
	 * anything now. Dovecot ends the session the same way. */
	if (mailstore_uidvalidity(sel->box) != sel->uidvalidity) {
		if (!s->closing)
			imapd_bye(s, "UIDVALIDITY changed",
				  "Mailbox UIDVALIDITY changed");
		return;
	}
	uint32_t recent_before = sel->recent;
	size_t marked = mark_expunged(sel);
	bool vanished = false;
	if (allow_expunge && marked > 0) {
		report_expunges(s, marked);
		vanished = (s->enabled & IMAPD_ENABLED_QRESYNC) != 0;
	}
	if (imapd_flags_defined(sel->box) != sel->keywords_told)
		imapd_flags_announce(s);
	report_flag_changes(s);
	report_new(s, recent_before);
	uint64_t highest = mailstore_highest_modseq(sel->box);
	/* VANISHED carries no MODSEQ: QRESYNC clients learn from this how
	 * far they are in sync (Dovecot puts it in the tagged reply). */
	if (vanished && highest != sel->highest_modseq)
		imapd_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest",
			       (unsigned long long)highest);
	sel->highest_modseq = highest;
}

long imapd_view_index(struct imapd_session *s, uint32_t msn)
{
	struct imapd_selected *sel = s->sel;
	size_t i;

	if (sel == NULL || msn == 0 || msn > sel->count ||
	    sel->msgs[msn - 1].expunged)
		return -1;
	uint32_t uid = sel->msgs[msn - 1].uid;
	/* Usually the store and the view line up one to one. */
	i = msn - 1;
	if (i < mailstore_count(sel->box) &&
	    mailstore_msg(sel->box, i)->uid == uid)
		return (long)i;
	if (mailstore_find_uid(sel->box, uid, &i) == 1)
		return (long)i;
	return -1;
}

void imapd_view_told(struct imapd_session *s, uint32_t msn)
{
	long idx = imapd_view_index(s, msn);

	if (idx >= 0)
		s->sel->msgs[msn - 1].modseq =
			mailstore_msg(s->sel->box, (size_t)idx)->modseq;
}

/* "$": the saved search result (UIDs) as the view's numbers. */
static void resolve_saved(const struct imapd_session *s, uint32_t *msns,
			  size_t *count_r)
{
	const struct imapd_selected *sel = s->sel;
	size_t n = 0;

	for (size_t k = 0; s->saved.valid && k < s->saved.count; k++) {
		size_t i = view_lower_bound(sel, s->saved.uids[k]);
		if (i < sel->count && sel->msgs[i].uid == s->saved.uids[k] &&
		    n < sel->count)
			msns[n++] = (uint32_t)(i + 1);
	}
	*count_r = n;
}

/* A resolved UID set as the view's numbers; UIDs not in the view are
 * ignored (RFC 9051 6.4.9). */
static size_t resolve_uids(const struct imapd_selected *sel,
			   const struct imap_seqset *set, uint32_t *msns)
{
	size_t n = 0;

	for (size_t r = 0; r < set->count; r++) {
		size_t i = view_lower_bound(sel, set->ranges[r].lo);
		for (; i < sel->count && sel->msgs[i].uid <= set->ranges[r].hi;
		     i++)
			msns[n++] = (uint32_t)(i + 1);
	}
	return n;
}

int imapd_view_resolve(struct imapd_session *s, const struct imap_arg *arg,
		       bool uid, uint32_t **msns_r, size_t *count_r,
		       const char **error_r)
{
	const struct imapd_selected *sel = s->sel;
	const char *invalid = uid ? "Invalid uidset" : "Invalid messageset";
	struct imap_seqset set, res;
	const char *str, *perr;

	*msns_r = NULL;
	*count_r = 0;
	if (sel == NULL || arg == NULL || arg->type == IMAP_ARG_NIL ||
	    !imap_arg_get_atom(arg, &str) ||
	    imap_seqset_parse(str, strlen(str), IMAPD_RANGES_MAX, &set,
			      &perr) < 0) {
		*error_r = invalid;
		return -1;
	}
	uint32_t *msns = xcalloc(sel->count + 1, sizeof(*msns));
	if (set.saved) {
		resolve_saved(s, msns, count_r);
		*msns_r = msns;
		return 0;
	}
	uint32_t star = !uid ? (uint32_t)sel->count : sel->count > 0 ?
		sel->msgs[sel->count - 1].uid : 0;
	int ret = imap_seqset_resolve(&set, star, &res);
	imap_seqset_deinit(&set);
	/* A message number beyond the view (any, when it is empty: "*"
	 * names nothing) is an error, as in Dovecot; UIDs are not. */
	if (ret < 0 || (!uid && (sel->count == 0 ||
	     (res.count > 0 && res.ranges[res.count - 1].hi > sel->count)))) {
		if (ret == 0)
			imap_seqset_deinit(&res);
		free(msns);
		*error_r = invalid;
		return -1;
	}
	if (uid) {
		*count_r = resolve_uids(sel, &res, msns);
	} else {
		size_t n = 0;
		for (size_t r = 0; r < res.count; r++)
			for (uint64_t m = res.ranges[r].lo;
			     m <= res.ranges[r].hi; m++)
				msns[n++] = (uint32_t)m;
		*count_r = n;
	}
	imap_seqset_deinit(&res);
	*msns_r = msns;
	return 0;
}

int imapd_view_set_write(struct buf *out, const uint32_t *nums, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && nums[j + 1] == nums[j] + 1)
			j++;
		const char *sep = i > 0 ? "," : "";
		if ((j == i ? buf_printf(out, "%s%u", sep, nums[i]) :
		     buf_printf(out, "%s%u:%u", sep, nums[i], nums[j])) < 0)
			return -1;
		i = j + 1;
	}
	return 0;
}

/* An inotify watch of dir/sub (sub NULL: dir itself). 0 or -1. */
static int watch_add(int fd, const char *dir, const char *sub, uint32_t mask)
{
	char path[4096];
	int n = sub != NULL ?
		snprintf(path, sizeof(path), "%s/%s", dir, sub) :
		snprintf(path, sizeof(path), "%s", dir);

	if (n < 0 || (size_t)n >= sizeof(path))
		return -1;
	return inotify_add_watch(fd, path, mask) < 0 ? -1 : 0;
}

/* Made when IDLE first asks, not at SELECT: inotify instances are few
 * per user (fs.inotify.max_user_instances), and every imapd process
 * runs as the one mail owner. */
int imapd_view_watch_fd(struct imapd_session *s)
{
	struct imapd_selected *sel = s->sel;
	const uint32_t files = IN_MOVED_TO | IN_CREATE | IN_DELETE |
			       IN_MOVED_FROM;

	if (sel == NULL)
		return -1;
	if (sel->watch_fd >= 0)
		return sel->watch_fd;
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0) {
		log_warn("user=<%s>: inotify_init1: %s (IDLE polls)", s->user,
			 strerror(errno));
		return -1;
	}
	/* new/ and cur/ for deliveries, expunges and flag renames; the
	 * folder itself for a dovecot-uidlist replaced by rename(). */
	if (watch_add(fd, sel->path, "new", files) < 0 ||
	    watch_add(fd, sel->path, "cur", files) < 0 ||
	    watch_add(fd, sel->path, NULL, IN_MOVED_TO) < 0) {
		log_warn("user=<%s>: %s: inotify_add_watch: %s (IDLE polls)",
			 s->user, sel->path, strerror(errno));
		close(fd);
		return -1;
	}
	sel->watch_fd = fd;
	return fd;
}

void imapd_view_watch_drain(struct imapd_session *s)
{
	char events[4096] __attribute__((aligned(8)));

	if (s->sel == NULL || s->sel->watch_fd < 0)
		return;
	for (int i = 0; i < WATCH_DRAIN_READS_MAX; i++)
		if (read(s->sel->watch_fd, events, sizeof(events)) <= 0)
			break;
}

void imapd_view_close(struct imapd_session *s)
{
	struct imapd_selected *sel = s->sel;

	if (sel == NULL)
		return;
	imapd_msg_release(s);
	imapd_msgcache_close(s);
	mailstore_close(&sel->box);
	if (sel->watch_fd >= 0)
		close(sel->watch_fd);
	free(sel->msgs);
	free(sel->name);
	free(sel->folder);
	free(sel->path);
	free(sel);
	s->sel = NULL;
	/* "$" belongs to the mailbox it was made in (RFC 5182 2.1). */
	xfree(&s->saved.uids);
	s->saved.count = 0;
	s->saved.valid = false;
	if (s->state == IMAPD_STATE_SELECTED)
		s->state = IMAPD_STATE_AUTH;
}
