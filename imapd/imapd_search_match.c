/* imapd_search_match: a search program (lib/imap_search) compiled for the
 * selected mailbox and run over its messages (see imapd_search.h).
 *
 * Compiling resolves what does not change from message to message once:
 * sequence and UID sets against the view ("*", "$"), keywords to their
 * index, dates to the bounds of the day (INTERNALDATE and SAVEDATE in the
 * server's time zone, as Dovecot does; the sent date in the sender's own,
 * from the Date: field), search strings to folded needles. Each key gets
 * its test function and a cost, and the keys of every AND are ordered by
 * cost, so a message is dropped at its cheapest failing key. Nesting is
 * bounded by the parser (IMAPD_SEARCH_DEPTH_MAX), and so is recursion
 * here. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "imapd_search.h"
#include "mem.h"

enum cost { COST_CHEAP = 0, COST_HEADER, COST_BODY, COST_TEXT, COST_COUNT };

struct matcher;
struct snode;
typedef int snode_fn(struct matcher *mt, const struct snode *n);

struct snode {
	snode_fn *fn;
	enum imap_search_key_type type;
	enum cost cost;
	struct snode *child, *next;
	struct imap_seqset set;		/* SEQSET, UID: resolved */
	bool saved;			/* "$" */
	bool found;			/* KEYWORD: the folder has it */
	unsigned mask;			/* flag keys: MAILSTORE_FLAG_*, or a
					 * keyword bit */
	bool want;			/* flag keys: set (or clear) */
	int64_t t0, t1;			/* dates: the day is [t0, t1) */
	uint64_t num;
	const char *field;		/* header keys: the field */
	struct imap_casemap_needle needle;
	bool has_needle;
	struct snode *alloc_next;
};

struct matcher {
	struct imapd_session *s;
	struct snode *root, *alloc;
	int64_t now;
	bool modseq_used;
	struct imapd_search_text text;
	/* The message being looked at. */
	uint32_t msn;
	const struct mailstore_msg *m;
};

/* ---- tests ---- */

static int t_true(struct matcher *mt, const struct snode *n)
{
	(void)mt;
	(void)n;
	return 1;
}

static int t_flag(struct matcher *mt, const struct snode *n)
{
	return ((mt->m->flags & n->mask) != 0) == n->want;
}

static int t_recent(struct matcher *mt, const struct snode *n)
{
	switch (n->type) {
	case IMAP_SEARCH_RECENT:
		return mt->m->recent;
	case IMAP_SEARCH_OLD:
		return !mt->m->recent;
	default:	/* NEW */
		return mt->m->recent &&
		       (mt->m->flags & MAILSTORE_FLAG_SEEN) == 0;
	}
}

static int t_keyword(struct matcher *mt, const struct snode *n)
{
	bool has = n->found && (mt->m->keywords & n->mask) != 0;

	return has == n->want;
}

/* Whether t lies before, on or since the day [t0, t1). */
static int day_test(enum imap_search_key_type type, int64_t t,
		    const struct snode *n)
{
	switch (type) {
	case IMAP_SEARCH_BEFORE:
	case IMAP_SEARCH_SENTBEFORE:
	case IMAP_SEARCH_SAVEDBEFORE:
		return t < n->t0;
	case IMAP_SEARCH_ON:
	case IMAP_SEARCH_SENTON:
	case IMAP_SEARCH_SAVEDON:
		return t >= n->t0 && t < n->t1;
	default:
		return t >= n->t0;
	}
}

static int t_internal(struct matcher *mt, const struct snode *n)
{
	return day_test(n->type, mt->m->mtime, n);
}

static int t_saved(struct matcher *mt, const struct snode *n)
{
	return day_test(n->type, mt->m->savedate, n);
}

static int t_sent(struct matcher *mt, const struct snode *n)
{
	int64_t t;

	if (imapd_search_text_sent(&mt->text, &t) < 0)
		return -1;
	return day_test(n->type, t, n);
}

static int t_size(struct matcher *mt, const struct snode *n)
{
	if (n->type == IMAP_SEARCH_LARGER)
		return mt->m->vsize > n->num;
	return mt->m->vsize < n->num;
}

static int t_within(struct matcher *mt, const struct snode *n)
{
	int64_t edge = mt->now - (int64_t)n->num;

	if (n->type == IMAP_SEARCH_OLDER)
		return mt->m->mtime <= edge;
	return mt->m->mtime >= edge;
}

static int t_modseq(struct matcher *mt, const struct snode *n)
{
	return mt->m->modseq >= n->num;
}

static bool saved_has(const struct imapd_session *s, uint32_t uid)
{
	size_t lo = 0, hi = s->saved.valid ? s->saved.count : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->saved.uids[mid] == uid)
			return true;
		if (s->saved.uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static int t_set(struct matcher *mt, const struct snode *n)
{
	if (n->saved)
		return saved_has(mt->s, mt->m->uid);
	return imap_seqset_contains(&n->set, n->type == IMAP_SEARCH_UID ?
					     mt->m->uid : mt->msn);
}

static int t_header(struct matcher *mt, const struct snode *n)
{
	return imapd_search_text_header(&mt->text, n->field, &n->needle);
}

static int t_body(struct matcher *mt, const struct snode *n)
{
	return imapd_search_text_body(&mt->text, &n->needle,
				      n->type == IMAP_SEARCH_TEXT);
}

static int eval(struct matcher *mt, const struct snode *n);

static int t_not(struct matcher *mt, const struct snode *n)
{
	int r = eval(mt, n->child);

	return r < 0 ? r : !r;
}

static int t_or(struct matcher *mt, const struct snode *n)
{
	int r = eval(mt, n->child);

	return r != 0 ? r : eval(mt, n->child->next);
}

static int t_and(struct matcher *mt, const struct snode *n)
{
	for (const struct snode *c = n->child; c != NULL; c = c->next) {
		int r = eval(mt, c);

		if (r <= 0)
			return r;
	}
	return 1;
}

static int eval(struct matcher *mt, const struct snode *n)
{
	return n->fn(mt, n);
}

/* ---- compiling ---- */

/* The flag keys: the flag and whether it must be set. */
static const struct {
	enum imap_search_key_type type;
	unsigned flag;
	bool want;
} flag_keys[] = {
	{ IMAP_SEARCH_ANSWERED, MAILSTORE_FLAG_ANSWERED, true },
	{ IMAP_SEARCH_DELETED, MAILSTORE_FLAG_DELETED, true },
	{ IMAP_SEARCH_DRAFT, MAILSTORE_FLAG_DRAFT, true },
	{ IMAP_SEARCH_FLAGGED, MAILSTORE_FLAG_FLAGGED, true },
	{ IMAP_SEARCH_SEEN, MAILSTORE_FLAG_SEEN, true },
	{ IMAP_SEARCH_UNANSWERED, MAILSTORE_FLAG_ANSWERED, false },
	{ IMAP_SEARCH_UNDELETED, MAILSTORE_FLAG_DELETED, false },
	{ IMAP_SEARCH_UNDRAFT, MAILSTORE_FLAG_DRAFT, false },
	{ IMAP_SEARCH_UNFLAGGED, MAILSTORE_FLAG_FLAGGED, false },
	{ IMAP_SEARCH_UNSEEN, MAILSTORE_FLAG_SEEN, false },
};

/* The header field of FROM, TO, ... */
static const struct {
	enum imap_search_key_type type;
	const char *field;
} header_keys[] = {
	{ IMAP_SEARCH_BCC, "Bcc" }, { IMAP_SEARCH_CC, "Cc" },
	{ IMAP_SEARCH_FROM, "From" }, { IMAP_SEARCH_SUBJECT, "Subject" },
	{ IMAP_SEARCH_TO, "To" },
};

/* Sets t0/t1 to the bounds of the day: local for INTERNALDATE and
 * SAVEDATE, UTC for the sender's local time. */
static void day_bounds(struct snode *n, const struct imap_search_date *d,
		       bool local)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = d->year - 1900;
	tm.tm_mon = d->month - 1;
	tm.tm_mday = d->day;
	tm.tm_isdst = -1;
	n->t0 = local ? (int64_t)mktime(&tm) : (int64_t)timegm(&tm);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = d->year - 1900;
	tm.tm_mon = d->month - 1;
	tm.tm_mday = d->day + 1;	/* normalised by mktime */
	tm.tm_isdst = -1;
	n->t1 = local ? (int64_t)mktime(&tm) : (int64_t)timegm(&tm);
}

static void compile_set(struct matcher *mt, struct snode *n,
			const struct imap_search_key *k)
{
	const struct imapd_selected *sel = mt->s->sel;
	uint32_t star;

	n->fn = t_set;
	if (k->set.saved) {
		n->saved = true;
		return;
	}
	if (n->type == IMAP_SEARCH_UID)
		star = sel->count > 0 ? sel->msgs[sel->count - 1].uid : 0;
	else
		star = (uint32_t)sel->count;
	if (imap_seqset_resolve(&k->set, star, &n->set) < 0)
		memset(&n->set, 0, sizeof(n->set));	/* cannot happen */
}

static void compile_keyword(struct matcher *mt, struct snode *n,
			    const struct imap_search_key *k)
{
	const char *error;
	unsigned idx;

	n->fn = t_keyword;
	n->want = n->type == IMAP_SEARCH_KEYWORD;
	n->found = mailstore_keyword_index(mt->s->sel->box, k->str, false,
					   &idx, &error) == 1;
	n->mask = n->found ? 1u << idx : 0;
}

static void compile_needle(struct snode *n, const struct imap_search_key *k,
			   snode_fn *fn, enum cost cost)
{
	n->fn = fn;
	n->cost = cost;
	imap_casemap_needle_init(&n->needle, k->str, k->len);
	n->has_needle = true;
}

/* The leaf keys that take no part of the mailbox. */
static bool compile_simple(struct matcher *mt, struct snode *n,
			   const struct imap_search_key *k)
{
	for (size_t i = 0; i < sizeof(flag_keys) / sizeof(flag_keys[0]); i++)
		if (flag_keys[i].type == k->type) {
			n->fn = t_flag;
			n->mask = flag_keys[i].flag;
			n->want = flag_keys[i].want;
			return true;
		}
	for (size_t i = 0; i < sizeof(header_keys) / sizeof(header_keys[0]);
	     i++)
		if (header_keys[i].type == k->type) {
			n->field = header_keys[i].field;
			compile_needle(n, k, t_header, COST_HEADER);
			return true;
		}
	switch (k->type) {
	case IMAP_SEARCH_ALL:
	case IMAP_SEARCH_SAVEDATESUPPORTED:
		n->fn = t_true;
		return true;
	case IMAP_SEARCH_NEW:
	case IMAP_SEARCH_OLD:
	case IMAP_SEARCH_RECENT:
		n->fn = t_recent;
		return true;
	case IMAP_SEARCH_LARGER:
	case IMAP_SEARCH_SMALLER:
		n->fn = t_size;
		return true;
	case IMAP_SEARCH_OLDER:
	case IMAP_SEARCH_YOUNGER:
		n->fn = t_within;
		return true;
	case IMAP_SEARCH_MODSEQ:
		n->fn = t_modseq;
		mt->modseq_used = true;
		return true;
	default:
		return false;
	}
}

static void compile_leaf(struct matcher *mt, struct snode *n,
			 const struct imap_search_key *k)
{
	if (compile_simple(mt, n, k))
		return;
	switch (k->type) {
	case IMAP_SEARCH_HEADER:
		n->field = k->field;
		compile_needle(n, k, t_header, COST_HEADER);
		break;
	case IMAP_SEARCH_BODY:
		compile_needle(n, k, t_body, COST_BODY);
		break;
	case IMAP_SEARCH_TEXT:
		compile_needle(n, k, t_body, COST_TEXT);
		break;
	case IMAP_SEARCH_KEYWORD:
	case IMAP_SEARCH_UNKEYWORD:
		compile_keyword(mt, n, k);
		break;
	case IMAP_SEARCH_BEFORE:
	case IMAP_SEARCH_ON:
	case IMAP_SEARCH_SINCE:
		n->fn = t_internal;
		day_bounds(n, &k->date, true);
		break;
	case IMAP_SEARCH_SAVEDBEFORE:
	case IMAP_SEARCH_SAVEDON:
	case IMAP_SEARCH_SAVEDSINCE:
		n->fn = t_saved;
		day_bounds(n, &k->date, true);
		break;
	case IMAP_SEARCH_SENTBEFORE:
	case IMAP_SEARCH_SENTON:
	case IMAP_SEARCH_SENTSINCE:
		n->fn = t_sent;
		n->cost = COST_HEADER;
		day_bounds(n, &k->date, false);
		break;
	case IMAP_SEARCH_SEQSET:
	case IMAP_SEARCH_UID:
		compile_set(mt, n, k);
		break;
	default:
		n->fn = t_true;	/* the parser makes no other key */
		break;
	}
}

static struct snode *compile(struct matcher *mt,
			     const struct imap_search_key *k);

/* Compiles k's children and links them cheapest first (stable: keys of
 * one cost stay in the client's order). The node costs what its
 * dearest child costs. */
static void compile_children(struct matcher *mt, struct snode *n,
			     const struct imap_search_key *k)
{
	struct snode *first = NULL, *last = NULL, *c;
	struct snode **list;
	size_t count = 0, i = 0;
	enum cost max = COST_CHEAP;

	for (const struct imap_search_key *ck = k->child; ck != NULL;
	     ck = ck->next)
		count++;
	list = xreallocarray(NULL, count + 1, sizeof(*list));
	for (const struct imap_search_key *ck = k->child; ck != NULL;
	     ck = ck->next) {
		c = compile(mt, ck);
		list[i++] = c;
		if (c->cost > max)
			max = c->cost;
	}
	n->cost = max;
	for (unsigned cost = 0; cost < COST_COUNT; cost++)
		for (i = 0; i < count; i++)
			if (list[i]->cost == cost) {
				if (last == NULL)
					first = list[i];
				else
					last->next = list[i];
				last = list[i];
			}
	if (last != NULL)
		last->next = NULL;
	n->child = first;
	free(list);
}

static struct snode *compile(struct matcher *mt,
			     const struct imap_search_key *k)
{
	struct snode *n = xcalloc(1, sizeof(*n));

	n->type = k->type;
	n->num = k->num;
	n->alloc_next = mt->alloc;
	mt->alloc = n;
	switch (k->type) {
	case IMAP_SEARCH_NOT:
		n->fn = t_not;
		compile_children(mt, n, k);
		break;
	case IMAP_SEARCH_OR:
		n->fn = t_or;
		compile_children(mt, n, k);
		break;
	case IMAP_SEARCH_AND:
		n->fn = t_and;
		compile_children(mt, n, k);
		break;
	default:
		compile_leaf(mt, n, k);
		break;
	}
	return n;
}

static void matcher_free(struct matcher *mt)
{
	struct snode *n = mt->alloc, *next;

	for (; n != NULL; n = next) {
		next = n->alloc_next;
		if (n->has_needle)
			imap_casemap_needle_deinit(&n->needle);
		imap_seqset_deinit(&n->set);
		free(n);
	}
	imapd_search_text_deinit(&mt->text);
}

/* ---- running ---- */

int imapd_search_run(struct imapd_session *s,
		     const struct imap_search_program *prog,
		     struct imapd_search_result *res)
{
	struct imapd_selected *sel = s->sel;
	struct matcher mt;
	int ret = 0;

	memset(&mt, 0, sizeof(mt));
	memset(res, 0, sizeof(*res));
	mt.s = s;
	mt.now = (int64_t)time(NULL);
	imapd_search_text_init(&mt.text, s);
	mt.root = compile(&mt, prog->root);
	res->modseq_used = mt.modseq_used;
	res->msns = xreallocarray(NULL, sel->count + 1, sizeof(*res->msns));
	for (uint32_t msn = 1; msn <= sel->count; msn++) {
		long idx = imapd_view_index(s, msn);
		int r;

		if (idx < 0)
			continue;	/* expunged meanwhile */
		mt.msn = msn;
		mt.m = mailstore_msg(sel->box, (size_t)idx);
		imapd_search_text_reset(&mt.text, msn);
		r = eval(&mt, mt.root);
		if (r < 0 && mt.text.gone < 0)
			ret = -1;
		if (r <= 0)
			continue;
		res->msns[res->count++] = msn;
		if (mt.m->modseq > res->highest_modseq)
			res->highest_modseq = mt.m->modseq;
	}
	matcher_free(&mt);
	if (ret < 0) {
		xfree(&res->msns);
		res->count = 0;
	}
	return ret;
}
