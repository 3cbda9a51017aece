/* imapd_notify_watch: how NOTIFY sees changes. One inotify instance
 * watches new/ and cur/ of every mailbox that has message events
 * (deliveries, APPEND and COPY land there; flag changes rename files in
 * cur/; expunges unlink them) and the Maildir root (".Name" folder
 * directories come, go and are renamed there; the subscriptions file is
 * replaced by rename()). An epoll set joins it with a timerfd (work left
 * for the next round, watches to retry) and the selected mailbox's own
 * watch, so that the session loop and IDLE wait on one fd.
 *
 * A change only marks a mailbox; its STATUS is read from the store
 * (index and directories, no message file) when the round reports, and
 * sent when it differs from the last one in a way the client asked for.
 * Each round does a bounded amount of work, so that a flood of
 * deliveries cannot keep the session from reading its client. */
#include "config.h"
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include "imap_subscriptions.h"
#include "imapd_mbox.h"
#include "imapd_notify.h"
#include "log.h"
#include "mem.h"

/* inotify reads in one round (each takes many events). */
#define READS_PER_ROUND 4
/* STATUS looks in one round. */
#define BOXES_PER_ROUND 32
/* A folder seen before its new/ and cur/ exist is looked at again this
 * often (mkdir of the folder comes first), this many times. */
#define RETRY_MS 100
#define RETRIES_MAX NOTIFY_INCOMPLETE_ROUNDS

#define ROOT_MASK (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
		   IN_ONLYDIR)
#define BOX_MASK (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
		  IN_ONLYDIR)

static const char OVERFLOW_TEXT[] =
	"[NOTIFICATIONOVERFLOW] Too many mailboxes to watch.";

/* INBOX first, then by name: the order of the box list. */
static int folder_cmp(const char *a, const char *b)
{
	bool ai = strcmp(a, "INBOX") == 0, bi = strcmp(b, "INBOX") == 0;

	if (ai || bi)
		return (int)bi - (int)ai;
	return strcmp(a, b);
}

static int str_pcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

bool notify_list_has(char *const *list, size_t n, const char *s)
{
	return n > 0 && bsearch(&s, list, n, sizeof(*list), str_pcmp) != NULL;
}

/* The subscriptions, sorted. 0 or -1 (logged). */
int notify_subs_read(struct imapd_session *s, char ***subs_r, size_t *n_r)
{
	const char *error;

	if (imapd_subscriptions_read(s, subs_r, n_r, &error) < 0) {
		log_warn("user=<%s>: NOTIFY: subscriptions: %s", s->user,
			 error);
		return -1;
	}
	if (*n_r > 1)
		qsort(*subs_r, *n_r, sizeof(**subs_r), str_pcmp);
	return 0;
}

/* The folder list, sorted. 0 or -1 (logged). */
int notify_folders_read(struct imapd_session *s, char ***folders_r,
			size_t *n_r)
{
	const char *error;

	if (mailstore_folder_list(s->maildir, folders_r, n_r, &error) < 0) {
		log_warn("user=<%s>: NOTIFY: folders: %s", s->user, error);
		return -1;
	}
	return 0;
}

/* Watches new/ and cur/ of b. 1 watched, 0 not possible (yet), -1 the
 * watch limit. */
static int box_watch(struct imapd_session *s, struct imapd_notify *n,
		     struct notify_box *b)
{
	char path[PATH_MAX];
	const char *error;
	int *wds[2] = { &b->wd_new, &b->wd_cur };
	static const char *const subs[2] = { "new", "cur" };

	if (mailstore_folder_path(s->maildir, b->folder, path, sizeof(path),
				  &error) < 0)
		return 0;
	for (int i = 0; i < 2; i++) {
		char sub[PATH_MAX + 8];
		if (*wds[i] >= 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, subs[i]);
		*wds[i] = inotify_add_watch(n->in, sub, BOX_MASK);
		if (*wds[i] >= 0)
			continue;
		/* Out of watches (fs.inotify.max_user_watches, shared by
		 * all of the mail owner's processes): overflow. Anything
		 * else is this folder's (half made, gone, unreadable). */
		if (errno == ENOSPC || errno == ENOMEM) {
			log_warn("user=<%s>: NOTIFY: inotify_add_watch %s: %s",
				 s->user, sub, strerror(errno));
			return -1;
		}
		b->retries++;
		return 0;
	}
	return 1;
}

static void box_unwatch(struct imapd_notify *n, struct notify_box *b)
{
	if (b->wd_new >= 0)
		(void)inotify_rm_watch(n->in, b->wd_new);
	if (b->wd_cur >= 0)
		(void)inotify_rm_watch(n->in, b->wd_cur);
	b->wd_new = b->wd_cur = -1;
}

static void boxes_free(struct notify_box *boxes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(boxes[i].folder);
		free(boxes[i].name);
	}
	free(boxes);
}

/* The mailboxes the groups give message events, INBOX first. NULL (and
 * n->overflow) when there are too many. */
static struct notify_box *boxes_wanted(struct imapd_session *s,
				       struct imapd_notify *n, size_t *count_r)
{
	struct notify_box *out = NULL;
	size_t count = 0, alloc = 0;
	struct buf name;

	buf_init(&name, IMAPD_MAILBOX_NAME_MAX * 2);
	for (size_t i = 0; i <= n->nfolders; i++) {
		const char *folder = i == 0 ? "INBOX" : n->folders[i - 1];
		buf_reset(&name);
		if (imapd_name_from_folder(s, folder, &name) < 0)
			continue;
		unsigned ev = notify_events_of(s, n, name.data,
			notify_list_has(n->subs, n->nsubs, folder)) &
			NOTIFY_EV_MESSAGE;
		if (ev == 0)
			continue;
		if (count == IMAPD_NOTIFY_MAILBOXES_MAX) {
			n->overflow = true;
			break;
		}
		if (count == alloc) {
			alloc = alloc == 0 ? 16 : alloc * 2;
			out = xreallocarray(out, alloc, sizeof(*out));
		}
		memset(&out[count], 0, sizeof(*out));
		out[count].folder = xstrdup(folder);
		out[count].name = xstrdup(name.data);
		out[count].events = ev;
		out[count].wd_new = out[count].wd_cur = -1;
		count++;
	}
	buf_deinit(&name);
	if (n->overflow) {
		boxes_free(out, count);
		return NULL;
	}
	*count_r = count;
	return out;
}

/* A mailbox new to the set: watched, and its state read as the base
 * later changes are measured against. */
static void box_begin(struct imapd_session *s, struct imapd_notify *n,
		      struct notify_box *b)
{
	if (box_watch(s, n, b) < 0)
		n->overflow = true;
	notify_status_read(s, b->folder, &b->st);
}

/* Makes the box list what the groups, folders and subscriptions give
 * now. Boxes that stay keep their watches and state; the watches of
 * those that go are dropped before any is added, since a renamed
 * folder's directories are the inodes the old name watched. */
static void boxes_rebuild(struct imapd_session *s, struct imapd_notify *n)
{
	size_t count = 0, i = 0, j = 0;
	struct notify_box *nb = boxes_wanted(s, n, &count);

	if (nb == NULL)
		return;
	for (i = 0, j = 0; i < n->nboxes; i++) {
		while (j < count &&
		       folder_cmp(nb[j].folder, n->boxes[i].folder) < 0)
			j++;
		if (j < count &&
		    folder_cmp(nb[j].folder, n->boxes[i].folder) == 0) {
			struct notify_box *keep = &nb[j];
			keep->wd_new = n->boxes[i].wd_new;
			keep->wd_cur = n->boxes[i].wd_cur;
			keep->retries = n->boxes[i].retries;
			keep->dirty = n->boxes[i].dirty;
			keep->st = n->boxes[i].st;
			n->boxes[i].wd_new = n->boxes[i].wd_cur = -1;
		} else {
			box_unwatch(n, &n->boxes[i]);
		}
	}
	for (j = 0; j < count && !n->overflow; j++)
		if (!nb[j].st.valid && nb[j].wd_new < 0 && nb[j].wd_cur < 0)
			box_begin(s, n, &nb[j]);
	boxes_free(n->boxes, n->nboxes);
	n->boxes = nb;
	n->nboxes = count;
}

int notify_watch_start(struct imapd_session *s, struct imapd_notify *n,
		       const char **error_r)
{
	n->in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	n->ep = epoll_create1(EPOLL_CLOEXEC);
	n->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	struct epoll_event in = { .events = EPOLLIN, .data.fd = n->in };
	struct epoll_event tm = { .events = EPOLLIN, .data.fd = n->timer };
	if (n->in < 0 || n->ep < 0 || n->timer < 0 ||
	    epoll_ctl(n->ep, EPOLL_CTL_ADD, n->in, &in) < 0 ||
	    epoll_ctl(n->ep, EPOLL_CTL_ADD, n->timer, &tm) < 0) {
		log_warn("user=<%s>: NOTIFY: inotify/epoll: %s", s->user,
			 strerror(errno));
		*error_r = "[NOTIFICATIONOVERFLOW] Cannot watch mailboxes now.";
		return -1;
	}
	if (n->ngroups == 0)
		return 0;	/* the selected mailbox only */
	n->wd_root = inotify_add_watch(n->in, s->maildir, ROOT_MASK);
	if (n->wd_root < 0) {
		log_warn("user=<%s>: NOTIFY: inotify_add_watch %s: %s",
			 s->user, s->maildir, strerror(errno));
		*error_r = OVERFLOW_TEXT;
		return -1;
	}
	if (notify_folders_read(s, &n->folders, &n->nfolders) < 0 ||
	    notify_subs_read(s, &n->subs, &n->nsubs) < 0) {
		*error_r = "[SERVERBUG] Internal error, see the server log.";
		return -1;
	}
	boxes_rebuild(s, n);
	if (n->overflow) {
		*error_r = OVERFLOW_TEXT;
		return -1;
	}
	return 0;
}

void notify_watch_stop(struct imapd_notify *n)
{
	if (n->ep >= 0)
		close(n->ep);
	if (n->in >= 0)
		close(n->in);	/* takes every watch with it */
	if (n->timer >= 0)
		close(n->timer);
	n->ep = n->in = n->timer = -1;
	boxes_free(n->boxes, n->nboxes);
	n->boxes = NULL;
	n->nboxes = 0;
	mailstore_folder_list_free(&n->folders, n->nfolders);
	imap_subscriptions_free(&n->subs, n->nsubs);
	n->nfolders = n->nsubs = 0;
	notify_renames_clear(n);
}

static bool is_selected(const struct imapd_session *s, const char *folder)
{
	return s->sel != NULL && strcmp(s->sel->folder, folder) == 0;
}

void notify_watch_status_all(struct imapd_session *s, struct imapd_notify *n)
{
	for (size_t i = 0; i < n->nboxes; i++)
		if (n->boxes[i].st.valid && !is_selected(s, n->boxes[i].folder))
			notify_status_send(s, &n->boxes[i]);
}

void notify_watch_selected(struct imapd_session *s, struct imapd_notify *n)
{
	const char *now = s->sel != NULL ? s->sel->folder : NULL;
	bool same = now != NULL && n->sel_folder != NULL ?
		strcmp(now, n->sel_folder) == 0 : now == n->sel_folder;

	if (!same) {
		/* The one left: what it is now is what the client knows
		 * (the view told it), so no STATUS for that. */
		for (size_t i = 0; n->sel_folder != NULL && i < n->nboxes; i++)
			if (strcmp(n->boxes[i].folder, n->sel_folder) == 0) {
				notify_status_read(s, n->boxes[i].folder,
						   &n->boxes[i].st);
				n->boxes[i].dirty = false;
			}
		free(n->sel_folder);
		n->sel_folder = now != NULL ? xstrdup(now) : NULL;
		n->fetch_last_uid = s->sel != NULL && s->sel->count > 0 ?
			s->sel->msgs[s->sel->count - 1].uid : 0;
	}
	n->sel_fd = -1;
	if (s->sel == NULL || !n->sel_set || n->sel_events == 0)
		return;
	/* Added each time: a new SELECT's watch may have the number of
	 * the old one, whose entry went away when it was closed. */
	int fd = imapd_view_watch_fd(s);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	if (fd >= 0 && (epoll_ctl(n->ep, EPOLL_CTL_ADD, fd, &ev) == 0 ||
			errno == EEXIST))
		n->sel_fd = fd;
}

static struct notify_box *box_of_wd(struct imapd_notify *n, int wd,
				    size_t *hint)
{
	if (*hint < n->nboxes && (n->boxes[*hint].wd_new == wd ||
				  n->boxes[*hint].wd_cur == wd))
		return &n->boxes[*hint];
	for (size_t i = 0; i < n->nboxes; i++)
		if (n->boxes[i].wd_new == wd || n->boxes[i].wd_cur == wd) {
			*hint = i;
			return &n->boxes[i];
		}
	return NULL;
}

static void all_dirty(struct imapd_notify *n)
{
	for (size_t i = 0; i < n->nboxes; i++)
		n->boxes[i].dirty = true;
	n->rescan = n->subs_changed = true;
}

static void root_event(struct imapd_notify *n, const struct inotify_event *ev)
{
	const char *name = ev->len > 0 ? ev->name : "";

	if (strcmp(name, IMAP_SUBSCRIPTIONS_FILE) == 0) {
		n->subs_changed = true;
		return;
	}
	if ((ev->mask & IN_ISDIR) == 0 || name[0] != '.' ||
	    !mailstore_folder_name_valid(name + 1))
		return;
	n->rescan = true;
	if ((ev->mask & (IN_MOVED_FROM | IN_MOVED_TO)) != 0)
		notify_rename_note(n, ev->cookie, name + 1,
				   (ev->mask & IN_MOVED_TO) != 0);
}

static void one_event(struct imapd_notify *n, const struct inotify_event *ev,
		      size_t *hint)
{
	struct notify_box *b;

	if ((ev->mask & IN_Q_OVERFLOW) != 0) {
		all_dirty(n);
		return;
	}
	if (ev->wd == n->wd_root) {
		root_event(n, ev);
		return;
	}
	b = box_of_wd(n, ev->wd, hint);
	if (b == NULL)
		return;
	if ((ev->mask & IN_IGNORED) != 0) {
		/* The directory went (the folder was deleted or renamed):
		 * the root's events say which. */
		if (b->wd_new == ev->wd)
			b->wd_new = -1;
		if (b->wd_cur == ev->wd)
			b->wd_cur = -1;
		n->rescan = true;
	}
	b->dirty = true;
}

static void read_inotify(struct imapd_notify *n)
{
	char events[16384] __attribute__((aligned(8)));
	size_t hint = 0;

	for (int r = 0; r < READS_PER_ROUND; r++) {
		ssize_t len = read(n->in, events, sizeof(events));
		if (len <= 0)
			break;
		for (size_t off = 0;
		     off + sizeof(struct inotify_event) <= (size_t)len;) {
			const struct inotify_event *ev =
				(const void *)(events + off);
			one_event(n, ev, &hint);
			off += sizeof(*ev) + ev->len;
		}
	}
}

/* Boxes whose watch could not be made yet: again; given up after
 * RETRIES_MAX (a directory that never became a folder). True when some
 * wait for the next try. */
static bool boxes_retry(struct imapd_session *s, struct imapd_notify *n)
{
	bool waiting = false;

	for (size_t i = 0; i < n->nboxes && !n->overflow; i++) {
		struct notify_box *b = &n->boxes[i];
		if ((b->wd_new >= 0 && b->wd_cur >= 0) ||
		    b->retries >= RETRIES_MAX)
			continue;
		int ret = box_watch(s, n, b);
		if (ret < 0)
			n->overflow = true;
		else if (ret == 0)
			waiting |= b->retries < RETRIES_MAX;
		else if (b->st.valid)
			b->dirty = true;	/* changes while unwatched */
		else	/* a new folder: what it has now is the base */
			notify_status_read(s, b->folder, &b->st);
	}
	return waiting;
}

/* STATUS for changed boxes, BOXES_PER_ROUND at most. True when some
 * are left. */
static bool boxes_report(struct imapd_session *s, struct imapd_notify *n)
{
	size_t budget = BOXES_PER_ROUND;

	for (size_t i = 0; i < n->nboxes; i++) {
		struct notify_box *b = &n->boxes[i];
		if (!b->dirty)
			continue;
		if (budget == 0)
			return true;
		b->dirty = false;
		/* The selected one is the view's to report. */
		if (is_selected(s, b->folder))
			continue;
		budget--;
		struct notify_status now;
		notify_status_read(s, b->folder, &now);
		bool send = now.valid &&
			    notify_status_wanted(s, &b->st, &now, b->events);
		b->st = now;
		if (send)
			notify_status_send(s, b);
	}
	return false;
}

static void timer_arm(struct imapd_notify *n, int ms)
{
	struct itimerspec it = {
		.it_value = { .tv_sec = ms / 1000,
			      .tv_nsec = (long)(ms % 1000) * 1000000 },
	};

	(void)timerfd_settime(n->timer, 0, &it, NULL);
}

/* What the epoll set has: inotify events read, the timer emptied, the
 * selected mailbox's watch drained. True when the selected mailbox
 * changed. */
static bool take_events(struct imapd_session *s, struct imapd_notify *n)
{
	struct epoll_event evs[4];
	int k = epoll_wait(n->ep, evs, 4, 0);
	bool selected = false;

	for (int i = 0; i < k; i++) {
		if (evs[i].data.fd == n->in) {
			read_inotify(n);
		} else if (evs[i].data.fd == n->timer) {
			uint64_t ticks;
			(void)!read(n->timer, &ticks, sizeof(ticks));
		} else if (evs[i].data.fd == n->sel_fd && n->sel_fd >= 0) {
			imapd_view_watch_drain(s);
			selected = true;
		}
	}
	return selected;
}

/* Whether the store has messages the view lacks, or lacks messages the
 * view still shows (the store just synced). */
static bool view_behind(const struct imapd_selected *sel)
{
	size_t count = mailstore_count(sel->box), live = 0;
	uint32_t last = sel->count > 0 ? sel->msgs[sel->count - 1].uid : 0;

	if (count > 0 && mailstore_msg(sel->box, count - 1)->uid > last)
		return true;
	/* Nothing new: every message of the store is in the view. */
	for (size_t i = 0; i < sel->count; i++)
		if (!sel->msgs[i].expunged)
			live++;
	return count < live;
}

/* The selected mailbox changed on disk. The view reports flag changes
 * together with everything else, so without FlagChange only a new or
 * expunged message is a reason to sync it now; the flags are then told
 * at the end of the next command, as RFC 3501 has it. */
static void selected_changed(struct imapd_session *s, struct imapd_notify *n,
			     bool allow_expunge)
{
	const char *error;

	if ((n->sel_events & NOTIFY_EV_FLAG_CHANGE) == 0) {
		if (mailstore_sync(s->sel->box, &error) < 0) {
			log_warn("user=<%s>: %s: sync: %s", s->user,
				 s->sel->path, error);
			return;
		}
		if (!view_behind(s->sel))
			return;
	}
	imapd_view_sync(s, allow_expunge);
}

void notify_watch_process(struct imapd_session *s, struct imapd_notify *n,
			  bool allow_expunge)
{
	bool rebuild = false, more;

	notify_watch_selected(s, n);
	if (take_events(s, n) && s->sel != NULL)
		selected_changed(s, n, allow_expunge);
	if (n->rescan_later) {
		n->rescan_later = false;
		n->rescan = true;
	}
	/* Folders first: a subscription's LIST says whether it exists. */
	if (n->rescan) {
		notify_folders_update(s, n);
		rebuild = true;
	}
	if (n->subs_changed)
		rebuild |= notify_subs_update(s, n);
	if (rebuild)
		boxes_rebuild(s, n);
	bool waiting = boxes_retry(s, n);
	more = boxes_report(s, n);
	more |= notify_fetch_new(s, n);
	if (n->overflow) {
		imapd_untagged(s, "OK [NOTIFICATIONOVERFLOW] Too many "
			       "mailboxes to watch; NOTIFY is off.");
		return;
	}
	if (more)
		timer_arm(n, 1);
	else if (waiting || n->rescan_later)
		timer_arm(n, RETRY_MS);
}
