/* imap_thread: RFC 5256 threading (see imap_thread.h). Containers live in
 * one array and point at each other by index (parent, first and last
 * child, both siblings); message IDs are found through an open-addressing
 * hash table of those indexes. Every walk over a tree is iterative: the
 * pre- and post-order successors are computed from the links. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "imap_thread.h"
#include "imap_thread_impl.h"
#include "mem.h"

/* ---- message IDs ---- */

/* Skips a comment starting at value[*pos] == '(' (nested, with quoted
 * pairs). */
static void skip_comment(const char *v, size_t len, size_t *pos)
{
	size_t depth = 0;

	for (; *pos < len; (*pos)++) {
		if (v[*pos] == '\\') {
			(*pos)++;
		} else if (v[*pos] == '(') {
			depth++;
		} else if (v[*pos] == ')' && --depth == 0) {
			(*pos)++;
			return;
		}
	}
}

int imap_thread_next_id(const char *value, size_t len, size_t *pos,
			const char **id_r, size_t *len_r)
{
	while (value != NULL && *pos < len) {
		size_t start, i;
		bool at = false, bad = false;

		if (value[*pos] == '(') {
			skip_comment(value, len, pos);
			continue;
		}
		if (value[(*pos)++] != '<')
			continue;
		start = *pos;
		for (i = start; i < len && value[i] != '>'; i++) {
			char c = value[i];

			if (c == '@')
				at = true;
			else if (c == '<' || c == ' ' || c == '\t' ||
				 c == '\r' || c == '\n' || c == '\0')
				bad = true;
			if (c == '<')
				break;
		}
		if (i >= len || value[i] != '>')
			continue;	/* rescan from after the '<' */
		*pos = i + 1;
		if (bad || !at || i == start)
			continue;
		*id_r = value + start;
		*len_r = i - start;
		return 1;
	}
	return 0;
}

/* ---- containers ---- */

static uint64_t id_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return h;
}

/* The container of an ID: 1 found, 0 not (*slot_r: where it goes). */
static int id_find(struct thread_ctx *t, const char *id, size_t len,
		   size_t *slot_r)
{
	size_t i = (size_t)id_hash(id, len) & t->hmask;

	for (;; i = (i + 1) & t->hmask) {
		uint32_t k = t->hash[i];

		if (k == THREAD_NONE) {
			*slot_r = i;
			return 0;
		}
		if (t->nodes[k].id_len == len &&
		    memcmp(t->nodes[k].id, id, len) == 0) {
			*slot_r = i;
			return 1;
		}
	}
}

static uint32_t id_container(struct thread_ctx *t, const char *id, size_t len)
{
	size_t slot;

	if (id_find(t, id, len, &slot))
		return t->hash[slot];
	return t->hash[slot] = imap_thread_tree_node_new(t, id, len);
}

/* Whether making c (which has no parent) a child of p closes a loop: p
 * is c or below c. The walk up from p and the walk over c's subtree go
 * step by step together; the first to finish answers, so the cost is
 * that of the shorter one. */
static bool would_loop(const struct thread_ctx *t, uint32_t p, uint32_t c)
{
	uint32_t up = p, down = c;

	for (;;) {
		if (up == c || down == p)
			return true;
		if (up == THREAD_NONE || down == THREAD_NONE)
			return false;
		up = t->nodes[up].parent;
		down = imap_thread_tree_pre_next(t, down, c);
	}
}

/* ---- REFERENCES, step 1 ---- */

/* The last reference container of message m after linking its
 * References chain (step 1.A), or THREAD_NONE. own: its own ID, skipped. */
static uint32_t link_references(struct thread_ctx *t,
				const struct imap_thread_msg *m,
				const char *own, size_t own_len)
{
	const char *v = m->references, *id;
	size_t len = m->references_len, pos = 0, id_len;
	uint32_t prev = THREAD_NONE;
	bool any = false;

	for (int pass = 0; pass < 2 && !any; pass++) {
		if (pass == 1) {	/* no References: In-Reply-To's first */
			v = m->in_reply_to;
			len = m->in_reply_to_len;
			pos = 0;
		}
		while (imap_thread_next_id(v, len, &pos, &id, &id_len)) {
			uint32_t c;

			if (own != NULL && id_len == own_len &&
			    memcmp(id, own, own_len) == 0)
				continue;
			any = true;
			c = id_container(t, id, id_len);
			if (prev != THREAD_NONE && c != prev &&
			    t->nodes[c].parent == THREAD_NONE &&
			    !would_loop(t, prev, c))
				imap_thread_tree_link(t, prev, c);
			prev = c;
			if (pass == 1)
				break;
		}
	}
	return prev;
}

/* Steps 1.A and 1.B for message i. */
static void add_message(struct thread_ctx *t, uint32_t i)
{
	const struct imap_thread_msg *m = &t->msgs[i];
	const char *own = NULL;
	size_t own_len = 0, pos = 0, slot;
	uint32_t c, parent;

	if (imap_thread_next_id(m->message_id, m->message_id_len, &pos, &own,
				&own_len) &&
	    id_find(t, own, own_len, &slot) &&
	    t->nodes[t->hash[slot]].msg != THREAD_NONE)
		own = NULL;	/* a duplicate: the first owner keeps it */
	parent = link_references(t, m, own, own_len);
	c = own != NULL ? id_container(t, own, own_len) :
			  imap_thread_tree_node_new(t, NULL, 0);
	t->nodes[c].msg = i;
	if (t->nodes[c].parent == parent)
		return;
	imap_thread_tree_unlink(t, c);
	if (parent != THREAD_NONE && !would_loop(t, parent, c))
		imap_thread_tree_link(t, parent, c);
}

/* ---- step 4: pruning ---- */

/* Replaces dummy x in its parent's children by its own children. */
static void splice_children(struct thread_ctx *t, uint32_t x)
{
	struct thread_node *xn = &t->nodes[x];
	uint32_t p = xn->parent;

	for (uint32_t k = xn->first; k != THREAD_NONE; k = t->nodes[k].next)
		t->nodes[k].parent = p;
	if (xn->first != THREAD_NONE) {
		t->nodes[xn->first].prev = xn->prev;
		t->nodes[xn->last].next = xn->next;
		if (xn->prev != THREAD_NONE)
			t->nodes[xn->prev].next = xn->first;
		else
			t->nodes[p].first = xn->first;
		if (xn->next != THREAD_NONE)
			t->nodes[xn->next].prev = xn->last;
		else
			t->nodes[p].last = xn->last;
		xn->first = xn->last = THREAD_NONE;
		xn->parent = xn->prev = xn->next = THREAD_NONE;
	} else {
		imap_thread_tree_unlink(t, x);
	}
	xn->dead = true;
}

/* Prunes the tree under root in post-order (children before parents,
 * so a dummy's children are final when it is looked at). */
static void prune_tree(struct thread_ctx *t, uint32_t root)
{
	uint32_t x = imap_thread_tree_leftmost(t, root);

	while (x != root) {
		struct thread_node *xn = &t->nodes[x];
		uint32_t succ = xn->next != THREAD_NONE ?
			imap_thread_tree_leftmost(t, xn->next) : xn->parent;

		if (xn->msg == THREAD_NONE)
			splice_children(t, x);
		x = succ;
	}
	if (t->nodes[root].msg != THREAD_NONE)
		return;
	if (t->nodes[root].first == THREAD_NONE) {
		t->nodes[root].dead = true;
	} else if (t->nodes[root].first == t->nodes[root].last) {
		uint32_t only = t->nodes[root].first;

		imap_thread_tree_unlink(t, only);
		t->nodes[root].dead = true;
	}
}

/* ---- step 5: subjects ---- */

/* The message whose subject stands for container x (a dummy's first
 * real descendant), or THREAD_NONE. */
static uint32_t subject_msg(const struct thread_ctx *t, uint32_t x)
{
	while (x != THREAD_NONE && t->nodes[x].msg == THREAD_NONE)
		x = t->nodes[x].first;
	return x == THREAD_NONE ? THREAD_NONE : t->nodes[x].msg;
}

struct subj_table {
	uint32_t *slots;	/* container, THREAD_NONE: free */
	size_t mask;
};

/* The slot for subject s in the table (found or free). */
static size_t subj_slot(const struct thread_ctx *t, const struct subj_table *st,
			const char *s, size_t len)
{
	size_t i = (size_t)id_hash(s, len) & st->mask;

	for (;; i = (i + 1) & st->mask) {
		uint32_t k = st->slots[i], m;

		if (k == THREAD_NONE)
			return i;
		m = subject_msg(t, k);
		if (t->msgs[m].subject_len == len &&
		    memcmp(t->msgs[m].subject, s, len) == 0)
			return i;
	}
}

static bool is_dummy(const struct thread_ctx *t, uint32_t x)
{
	return t->nodes[x].msg == THREAD_NONE;
}

/* Step 5.B: whether x should replace the table's entry e. */
static bool subj_prefer(const struct thread_ctx *t, uint32_t e, uint32_t x)
{
	if (!is_dummy(t, e) && is_dummy(t, x))
		return true;
	return t->msgs[subject_msg(t, e)].reply &&
	       !t->msgs[subject_msg(t, x)].reply;
}

/* Step 5.C: merges root x into the table's entry e; returns the
 * container that now holds both. */
static uint32_t subj_merge(struct thread_ctx *t, uint32_t e, uint32_t x)
{
	uint32_t d;

	if (is_dummy(t, e) && is_dummy(t, x)) {
		while (t->nodes[x].first != THREAD_NONE) {
			uint32_t k = t->nodes[x].first;

			imap_thread_tree_unlink(t, k);
			imap_thread_tree_link(t, e, k);
		}
		t->nodes[x].dead = true;
		return e;
	}
	if (is_dummy(t, e)) {
		imap_thread_tree_link(t, e, x);
		return e;
	}
	if (is_dummy(t, x)) {
		imap_thread_tree_link(t, x, e);
		return x;
	}
	if (!t->msgs[t->nodes[e].msg].reply && t->msgs[t->nodes[x].msg].reply) {
		imap_thread_tree_link(t, e, x);
		return e;
	}
	d = imap_thread_tree_node_new(t, NULL, 0);
	imap_thread_tree_link(t, d, e);
	imap_thread_tree_link(t, d, x);
	return d;
}

static void gather_subjects(struct thread_ctx *t, uint32_t *roots,
			    size_t nroots)
{
	struct subj_table st;
	size_t size = 16;

	while (size < nroots * 2)
		size *= 2;
	st.slots = xmalloc(size * sizeof(*st.slots));
	st.mask = size - 1;
	for (size_t i = 0; i < size; i++)
		st.slots[i] = THREAD_NONE;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < nroots; i++) {
			uint32_t x = roots[i], m = subject_msg(t, x);
			size_t slot;

			if (m == THREAD_NONE || t->msgs[m].subject_len == 0 ||
			    t->nodes[x].dead ||
			    t->nodes[x].parent != THREAD_NONE)
				continue;
			slot = subj_slot(t, &st, t->msgs[m].subject,
					 t->msgs[m].subject_len);
			if (st.slots[slot] == THREAD_NONE ||
			    (pass == 0 && subj_prefer(t, st.slots[slot], x)))
				st.slots[slot] = x;
			else if (pass == 1 && st.slots[slot] != x)
				st.slots[slot] = subj_merge(t, st.slots[slot],
							    x);
		}
	}
	free(st.slots);
}

/* ---- the algorithms ---- */

static void thr_init(struct thread_ctx *t, const struct imap_thread_msg *msgs,
		     size_t count, size_t ids)
{
	size_t hsize = 16;

	t->msgs = msgs;
	t->count = count;
	/* messages, IDs, and one dummy per merge of step 5 */
	t->cap = 2 * count + ids + 1;
	t->nodes = xreallocarray(NULL, t->cap, sizeof(*t->nodes));
	t->n = 0;
	while (hsize < (ids + count) * 2)
		hsize *= 2;
	t->hash = xreallocarray(NULL, hsize, sizeof(*t->hash));
	t->hmask = hsize - 1;
	for (size_t i = 0; i < hsize; i++)
		t->hash[i] = THREAD_NONE;
}

static void thr_deinit(struct thread_ctx *t)
{
	free(t->nodes);
	free(t->hash);
}

static size_t count_ids(const char *v, size_t len)
{
	size_t pos = 0, n = 0, id_len;
	const char *id;

	while (imap_thread_next_id(v, len, &pos, &id, &id_len))
		n++;
	return n;
}

static int thread_references(const struct imap_thread_msg *msgs,
			     size_t count, struct buf *out)
{
	struct thread_ctx t;
	size_t ids = 0, nroots;
	uint32_t *roots;
	int r;

	for (size_t i = 0; i < count; i++)
		ids += 1 +
		       count_ids(msgs[i].references, msgs[i].references_len) +
		       (msgs[i].in_reply_to != NULL ? 1 : 0);
	thr_init(&t, msgs, count, ids);
	for (size_t i = 0; i < count; i++)
		add_message(&t, (uint32_t)i);
	free(t.hash);	/* step 3 */
	t.hash = NULL;
	roots = xmalloc((t.n + 1) * sizeof(*roots));
	nroots = imap_thread_tree_roots(&t, roots);
	for (size_t i = 0; i < nroots; i++)
		prune_tree(&t, roots[i]);
	nroots = imap_thread_tree_roots(&t, roots);
	gather_subjects(&t, roots, nroots);
	free(roots);
	r = imap_thread_tree_write(&t, out);
	thr_deinit(&t);
	return r;
}

static int subject_cmp(const void *pa, const void *pb, void *arg)
{
	const struct imap_thread_msg *msgs = arg;
	const struct imap_thread_msg *a = &msgs[*(const uint32_t *)pa];
	const struct imap_thread_msg *b = &msgs[*(const uint32_t *)pb];
	size_t n = a->subject_len < b->subject_len ? a->subject_len :
						     b->subject_len;
	int r = n > 0 ? memcmp(a->subject, b->subject, n) : 0;

	if (r != 0)
		return r;
	if (a->subject_len != b->subject_len)
		return a->subject_len < b->subject_len ? -1 : 1;
	if (a->date != b->date)
		return a->date < b->date ? -1 : 1;
	return *(const uint32_t *)pa < *(const uint32_t *)pb ? -1 : 1;
}

static int thread_orderedsubject(const struct imap_thread_msg *msgs,
				 size_t count, struct buf *out)
{
	uint32_t *order = xreallocarray(NULL, count + 1, sizeof(*order));
	uint32_t root = THREAD_NONE;
	struct thread_ctx t;
	int r;

	thr_init(&t, msgs, count, 0);
	for (size_t i = 0; i < count; i++)
		order[i] = (uint32_t)i;
	qsort_r(order, count, sizeof(*order), subject_cmp, (void *)msgs);
	for (size_t i = 0; i < count; i++) {
		uint32_t c = imap_thread_tree_node_new(&t, NULL, 0);
		const struct imap_thread_msg *m = &msgs[order[i]];

		t.nodes[c].msg = order[i];
		if (root != THREAD_NONE &&
		    m->subject_len == msgs[t.nodes[root].msg].subject_len &&
		    memcmp(m->subject, msgs[t.nodes[root].msg].subject,
			   m->subject_len) == 0)
			imap_thread_tree_link(&t, root, c);
		else
			root = c;
	}
	free(order);
	r = imap_thread_tree_write(&t, out);
	thr_deinit(&t);
	return r;
}

int imap_thread_alg_parse(const char *name, enum imap_thread_alg *alg_r)
{
	if (strcasecmp(name, "REFERENCES") == 0) {
		*alg_r = IMAP_THREAD_REFERENCES;
		return 1;
	}
	if (strcasecmp(name, "ORDEREDSUBJECT") == 0) {
		*alg_r = IMAP_THREAD_ORDEREDSUBJECT;
		return 1;
	}
	return 0;
}

int imap_thread_write(enum imap_thread_alg alg,
		      const struct imap_thread_msg *msgs, size_t count,
		      struct buf *out)
{
	if (count == 0)
		return 0;
	if (alg == IMAP_THREAD_REFERENCES)
		return thread_references(msgs, count, out);
	return thread_orderedsubject(msgs, count, out);
}
