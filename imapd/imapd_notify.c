/* imapd_notify: the NOTIFY command (RFC 5465 3.1, 8) and the hooks by
 * which the session loop and IDLE let it speak between commands.
 *
 *   notify     = "NOTIFY" SP ("SET" [SP "STATUS"] 1*(SP group) / "NONE")
 *   group      = "(" filter SP events ")"
 *   filter     = "SELECTED" / "SELECTED-DELAYED" / "INBOXES" / "PERSONAL"
 *                / "SUBSCRIBED" / ("SUBTREE" / "MAILBOXES") SP mailboxes
 *   mailboxes  = mailbox / "(" mailbox *(SP mailbox) ")"
 *   events     = "(" event *(SP event) ")" / "NONE"
 *   event      = "MessageNew" [SP "(" fetch-att *(SP fetch-att) ")"] /
 *                atom
 * The rules of sections 5 and 6.1 give BAD: MessageNew and
 * MessageExpunge only together, FlagChange and AnnotationChange only
 * with them, one SELECTED group at most and only message events in it,
 * fetch-atts only there. An event we do not offer gives NO [BADEVENT
 * (what we offer)]. A NOTIFY that fails leaves the one before in force.
 *
 * NOTIFY changes what is sent between commands; what the end of a
 * command reports of the selected mailbox stays as RFC 3501 wants it (as
 * in Dovecot). Fetch-atts never set \Seen: the client did not ask for
 * the message, the server pushed it. */
#include "config.h"
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "imapd_mbox.h"
#include "imapd_notify.h"
#include "mem.h"
#include "service.h"
#include "timeutil.h"

/* Event groups in one NOTIFY, and mailbox names in all of them. */
#define NOTIFY_GROUPS_MAX 100
#define NOTIFY_NAMES_MAX IMAPD_NOTIFY_MAILBOXES_MAX

static const struct {
	const char *name;
	unsigned bit;
} event_names[] = {
	{ "MessageNew", NOTIFY_EV_MESSAGE_NEW },
	{ "MessageExpunge", NOTIFY_EV_MESSAGE_EXPUNGE },
	{ "FlagChange", NOTIFY_EV_FLAG_CHANGE },
	{ "AnnotationChange", NOTIFY_EV_ANNOTATION_CHANGE },
	{ "MailboxName", NOTIFY_EV_MAILBOX_NAME },
	{ "SubscriptionChange", NOTIFY_EV_SUBSCRIPTION_CHANGE },
	{ "MailboxMetadataChange", NOTIFY_EV_MAILBOX_METADATA },
	{ "ServerMetadataChange", NOTIFY_EV_SERVER_METADATA },
};
#define EVENT_NAME_COUNT (sizeof(event_names) / sizeof(event_names[0]))

static const struct {
	const char *name;
	enum notify_filter filter;
	bool names;		/* takes mailbox names */
} filter_names[] = {
	{ "INBOXES", NOTIFY_FILTER_INBOXES, false },
	{ "PERSONAL", NOTIFY_FILTER_PERSONAL, false },
	{ "SUBSCRIBED", NOTIFY_FILTER_SUBSCRIBED, false },
	{ "SUBTREE", NOTIFY_FILTER_SUBTREE, true },
	{ "MAILBOXES", NOTIFY_FILTER_MAILBOXES, true },
};
#define FILTER_NAME_COUNT (sizeof(filter_names) / sizeof(filter_names[0]))

static bool group_matches(const struct imapd_session *s,
			  const struct notify_group *g, const char *name,
			  bool subscribed)
{
	char sep = s->p->separator;

	switch (g->filter) {
	case NOTIFY_FILTER_INBOXES:
		/* Mail is delivered to INBOX only. */
		return strcmp(name, "INBOX") == 0;
	case NOTIFY_FILTER_PERSONAL:
		return true;
	case NOTIFY_FILTER_SUBSCRIBED:
		return subscribed;
	case NOTIFY_FILTER_SUBTREE:
		for (size_t i = 0; i < g->count; i++) {
			size_t len = strlen(g->names[i]);
			if (strncmp(name, g->names[i], len) == 0 &&
			    (name[len] == '\0' || name[len] == sep))
				return true;
		}
		return false;
	case NOTIFY_FILTER_MAILBOXES:
	default:
		for (size_t i = 0; i < g->count; i++)
			if (strcmp(name, g->names[i]) == 0)
				return true;
		return false;
	}
}

/* The events of the groups that match, in order, up to one that says
 * NONE for the mailbox (RFC 5465 3.1: "(personal (...)) (subtree Lists
 * NONE)" is meant to leave Lists out only if NONE comes first). */
unsigned notify_events_of(const struct imapd_session *s,
			  const struct imapd_notify *n, const char *name,
			  bool subscribed)
{
	unsigned ev = 0;

	for (size_t i = 0; i < n->ngroups; i++) {
		const struct notify_group *g = &n->groups[i];
		if (!group_matches(s, g, name, subscribed))
			continue;
		if (g->events == 0)
			break;
		ev |= g->events;
	}
	return ev;
}

/* A NOTIFY SET being parsed. */
struct notify_parse {
	struct imapd_session *s;
	struct imapd_notify *n;
	bool status;		/* the STATUS indicator */
	unsigned used;		/* every event named */
	size_t names;		/* mailbox names so far */
	const char *bad;	/* the BAD text, once something is wrong */
	bool overflow;		/* too many groups or names: NO */
};

static void notify_state_free(struct imapd_notify **np)
{
	struct imapd_notify *n = *np;

	if (n == NULL)
		return;
	notify_watch_stop(n);
	for (size_t i = 0; i < n->ngroups; i++) {
		for (size_t j = 0; j < n->groups[i].count; j++)
			free(n->groups[i].names[j]);
		free(n->groups[i].names);
	}
	free(n->groups);
	if (n->fetch_set)
		imap_fetch_items_deinit(&n->fetch);
	free(n->sel_folder);
	free(n);
	*np = NULL;
}

void imapd_notify_free(struct imapd_session *s)
{
	struct imapd_notify *n = s->notify;

	notify_state_free(&n);
	s->notify = NULL;
}

static struct imapd_notify *notify_state_new(void)
{
	struct imapd_notify *n = xcalloc(1, sizeof(*n));

	n->ep = n->in = n->timer = -1;
	n->wd_root = -1;
	n->sel_fd = -1;
	return n;
}

static unsigned event_bit(const char *atom)
{
	for (size_t i = 0; i < EVENT_NAME_COUNT; i++)
		if (strcasecmp(atom, event_names[i].name) == 0)
			return event_names[i].bit;
	return NOTIFY_EV_UNKNOWN;
}

/* MessageNew's fetch-att list (SELECTED groups only). The parser of
 * FETCH items wants the list alone, so it gets a copy of it without
 * what follows it in the event list. */
static void parse_fetch_atts(struct notify_parse *p,
			     const struct imap_arg *list, bool selected)
{
	struct imap_arg alone = *list;
	const char *error;

	if (!selected) {
		p->bad = "MessageNew fetch-atts are only for SELECTED.";
		return;
	}
	if (p->n->fetch_set) {
		p->bad = "MessageNew fetch-atts given twice.";
		return;
	}
	alone.next = NULL;
	if (list->list_count == 0 ||
	    imap_fetch_items_parse(&alone, IMAP_FETCH_ITEMS_MAX,
				   IMAPD_FIELDS_MAX, &p->n->fetch,
				   &error) < 0) {
		p->bad = "Invalid MessageNew fetch-att list.";
		return;
	}
	p->n->fetch_set = true;
}

/* The rules of RFC 5465 5 for the events of one group. */
static const char *events_check(unsigned ev)
{
	bool news = (ev & NOTIFY_EV_MESSAGE_NEW) != 0;
	bool expunges = (ev & NOTIFY_EV_MESSAGE_EXPUNGE) != 0;

	if (news != expunges)
		return "MessageNew and MessageExpunge must be given together.";
	if ((ev & (NOTIFY_EV_FLAG_CHANGE | NOTIFY_EV_ANNOTATION_CHANGE)) != 0 &&
	    !news)
		return "FlagChange and AnnotationChange need MessageNew and "
		       "MessageExpunge.";
	return NULL;
}

/* events = "(" event *(SP event) ")" / "NONE": the bits, 0 for NONE. */
static unsigned parse_events(struct notify_parse *p, const struct imap_arg *a,
			     bool selected)
{
	const char *atom;
	unsigned ev = 0;

	if (a != NULL && a->type == IMAP_ARG_ATOM &&
	    imap_arg_get_atom(a, &atom) && strcasecmp(atom, "NONE") == 0)
		return 0;
	if (a == NULL || a->type != IMAP_ARG_LIST || a->list_count == 0) {
		p->bad = "Invalid NOTIFY event list.";
		return 0;
	}
	for (const struct imap_arg *e = a->list; e != NULL && p->bad == NULL;
	     e = e->next) {
		if (e->type != IMAP_ARG_ATOM || !imap_arg_get_atom(e, &atom)) {
			p->bad = "Invalid NOTIFY event.";
			break;
		}
		unsigned bit = event_bit(atom);
		ev |= bit;
		if (bit == NOTIFY_EV_MESSAGE_NEW && e->next != NULL &&
		    e->next->type == IMAP_ARG_LIST) {
			e = e->next;
			parse_fetch_atts(p, e, selected);
		}
	}
	if (p->bad == NULL)
		p->bad = events_check(ev);
	if (p->bad == NULL && selected &&
	    (ev & ~(NOTIFY_EV_MESSAGE | NOTIFY_EV_UNKNOWN)) != 0)
		p->bad = "SELECTED takes only message events.";
	p->used |= ev;
	return ev;
}

/* A client's mailbox name as the UTF-8 name the matching compares
 * ("inbox" in any case is INBOX). 0, or -1 with p->bad. */
static int parse_name(struct notify_parse *p, const struct imap_arg *a,
		      struct notify_group *g)
{
	const char *str, *error;
	size_t len;
	struct buf name;

	if (!imap_arg_get_astring(a, &str, &len) ||
	    len > IMAPD_MAILBOX_NAME_MAX) {
		p->bad = "Invalid mailbox name.";
		return -1;
	}
	if (++p->names > NOTIFY_NAMES_MAX) {
		p->overflow = true;
		return -1;
	}
	buf_init(&name, IMAPD_MAILBOX_NAME_MAX * 2);
	if (imapd_name_decode(p->s, str, len, &name, &error) < 0) {
		p->bad = "Invalid mailbox name.";
		buf_deinit(&name);
		return -1;
	}
	if (name.len >= 5 && strncasecmp(name.data, "INBOX", 5) == 0 &&
	    (name.len == 5 || name.data[5] == p->s->p->separator))
		memcpy(name.data, "INBOX", 5);
	g->names = xreallocarray(g->names, g->count + 1, sizeof(*g->names));
	g->names[g->count++] = xstrdup(name.data);
	buf_deinit(&name);
	return 0;
}

/* one-or-more-mailbox after SUBTREE or MAILBOXES. */
static void parse_names(struct notify_parse *p, const struct imap_arg *a,
			struct notify_group *g)
{
	if (a == NULL) {
		p->bad = "Missing mailbox names.";
		return;
	}
	if (a->type != IMAP_ARG_LIST) {
		(void)parse_name(p, a, g);
		return;
	}
	if (a->list_count == 0) {
		p->bad = "Empty mailbox list.";
		return;
	}
	for (const struct imap_arg *m = a->list; m != NULL; m = m->next)
		if (parse_name(p, m, g) < 0)
			return;
}

/* SELECTED or SELECTED-DELAYED (group->next: the events). */
static void parse_selected(struct notify_parse *p, const struct imap_arg *ev,
			   bool delayed)
{
	if (p->n->sel_set) {
		p->bad = "Only one SELECTED or SELECTED-DELAYED group.";
		return;
	}
	p->n->sel_set = true;
	p->n->sel_delayed = delayed;
	p->n->sel_events = parse_events(p, ev, true);
	if (p->bad == NULL && ev->next != NULL)
		p->bad = "Invalid NOTIFY event group.";
}

static void parse_group(struct notify_parse *p, const struct imap_arg *list)
{
	const struct imap_arg *a = list->list;
	const char *atom;
	size_t f;

	if (a == NULL || a->type != IMAP_ARG_ATOM ||
	    !imap_arg_get_atom(a, &atom) || a->next == NULL) {
		p->bad = "Invalid NOTIFY event group.";
		return;
	}
	if (strcasecmp(atom, "SELECTED") == 0 ||
	    strcasecmp(atom, "SELECTED-DELAYED") == 0) {
		parse_selected(p, a->next, strcasecmp(atom, "SELECTED") != 0);
		return;
	}
	for (f = 0; f < FILTER_NAME_COUNT; f++)
		if (strcasecmp(atom, filter_names[f].name) == 0)
			break;
	if (f == FILTER_NAME_COUNT) {
		p->bad = "Unknown NOTIFY mailbox filter.";
		return;
	}
	if (p->n->ngroups == NOTIFY_GROUPS_MAX) {
		p->overflow = true;
		return;
	}
	struct imapd_notify *n = p->n;
	n->groups = xreallocarray(n->groups, n->ngroups + 1,
				  sizeof(*n->groups));
	struct notify_group *g = &n->groups[n->ngroups++];
	memset(g, 0, sizeof(*g));
	g->filter = filter_names[f].filter;
	a = a->next;
	if (filter_names[f].names) {
		parse_names(p, a, g);
		a = a->next;
	}
	if (p->bad != NULL || p->overflow)
		return;
	g->events = parse_events(p, a, false);
	if (p->bad == NULL && (a == NULL || a->next != NULL))
		p->bad = "Invalid NOTIFY event group.";
}

/* "SET [STATUS] group...": 0, or -1 after the BAD or NO reply. */
static int parse_set(struct notify_parse *p, const struct imap_arg *a)
{
	const char *atom;

	if (a != NULL && a->type == IMAP_ARG_ATOM &&
	    imap_arg_get_atom(a, &atom) && strcasecmp(atom, "STATUS") == 0) {
		p->status = true;
		a = a->next;
	}
	if (a == NULL)
		p->bad = "NOTIFY SET needs event groups.";
	for (; a != NULL && p->bad == NULL && !p->overflow; a = a->next) {
		if (a->type != IMAP_ARG_LIST) {
			p->bad = "Invalid NOTIFY event group.";
			break;
		}
		parse_group(p, a);
	}
	if (p->bad != NULL) {
		imapd_bad(p->s, "%s", p->bad);
		return -1;
	}
	if (p->overflow) {
		imapd_no(p->s, "[NOTIFICATIONOVERFLOW] Too many mailboxes or "
			 "event groups.");
		return -1;
	}
	return 0;
}

/* NO [BADEVENT (the events we offer)] when any other was asked for. */
static bool badevent(struct notify_parse *p)
{
	char list[256] = "";
	size_t len = 0;

	if ((p->used & ~NOTIFY_EV_SUPPORTED) == 0)
		return false;
	for (size_t i = 0; i < EVENT_NAME_COUNT; i++) {
		if ((event_names[i].bit & NOTIFY_EV_SUPPORTED) == 0)
			continue;
		size_t l = strlen(event_names[i].name);
		if (len + l + 2 > sizeof(list))
			break;
		if (len > 0)
			list[len++] = ' ';
		memcpy(list + len, event_names[i].name, l + 1);
		len += l;
	}
	imapd_no(p->s, "[BADEVENT (%s)] Unsupported NOTIFY events.", list);
	return true;
}

static void cmd_notify_set(struct imapd_session *s, const struct imap_arg *a)
{
	struct notify_parse p = { .s = s, .n = notify_state_new() };
	const char *error;

	if (parse_set(&p, a) < 0 || badevent(&p)) {
		notify_state_free(&p.n);
		return;
	}
	if (notify_watch_start(s, p.n, &error) < 0) {
		imapd_no(s, "%s", error);
		notify_state_free(&p.n);
		return;
	}
	imapd_notify_free(s);
	s->notify = p.n;
	notify_watch_selected(s, p.n);
	if (p.status)
		notify_watch_status_all(s, p.n);
	/* Section 3.1: NOTIFY SET is also a NOOP, which imapd_ok does. */
	imapd_ok(s, "NOTIFY completed.");
}

void imapd_cmd_notify(struct imapd_session *s, const struct imap_arg *args)
{
	const char *atom;

	if (args == NULL || args->type != IMAP_ARG_ATOM ||
	    !imap_arg_get_atom(args, &atom)) {
		imapd_bad(s, "NOTIFY needs SET or NONE.");
		return;
	}
	if (strcasecmp(atom, "SET") == 0) {
		cmd_notify_set(s, args->next);
	} else if (strcasecmp(atom, "NONE") == 0 && args->next == NULL) {
		imapd_notify_free(s);
		imapd_ok(s, "NOTIFY completed.");
	} else {
		imapd_bad(s, "NOTIFY needs SET or NONE.");
	}
}

int imapd_notify_fd(struct imapd_session *s)
{
	struct imapd_notify *n = s->notify;

	if (n == NULL)
		return -1;
	notify_watch_selected(s, n);
	return n->ep;
}

void imapd_notify_run(struct imapd_session *s)
{
	struct imapd_notify *n = s->notify;

	if (n == NULL)
		return;
	notify_watch_process(s, n, true);
	if (n->overflow)
		imapd_notify_free(s);
	(void)imapd_flush(s);
}

/* Milliseconds to the deadline, at most INT_MAX. */
static int wait_ms(uint64_t deadline)
{
	uint64_t now = time_mono_ms();

	if (now >= deadline)
		return 0;
	return deadline - now > INT_MAX ? INT_MAX : (int)(deadline - now);
}

int imapd_notify_wait(struct imapd_session *s)
{
	uint64_t deadline = time_mono_ms() + (uint64_t)s->p->timeout_ms;

	while (s->notify != NULL && !s->closing) {
		struct imapd_notify *n = s->notify;
		/* TLS and COMPRESS may hold input the fd does not show. */
		if (stream_poll_input(s->stream, 0) != 0)
			return 0;
		if (service_stopping()) {
			imapd_bye(s, "server shutting down",
				  "Server shutting down.");
			return -1;
		}
		notify_watch_selected(s, n);
		int ms = wait_ms(deadline);
		if (ms == 0) {
			/* The autologout is the reader's to do. */
			stream_set_timeout(s->stream, 1);
			return 0;
		}
		struct pollfd pfd[2] = {
			{ .fd = stream_fd(s->stream), .events = POLLIN },
			{ .fd = n->ep, .events = POLLIN },
		};
		int ret = poll(pfd, 2, ms);
		if (ret < 0 && errno != EINTR)
			return 0;
		if (ret > 0 && pfd[0].revents != 0)
			return 0;
		if (ret > 0 && pfd[1].revents != 0) {
			notify_watch_process(s, n, !n->sel_delayed);
			if (n->overflow)
				imapd_notify_free(s);
			if (imapd_flush(s) < 0)
				return -1;
		}
	}
	return s->closing ? -1 : 0;
}
