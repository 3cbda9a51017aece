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
#include "mem.h"

#define NONE UINT32_MAX

struct node {
	uint32_t msg;			/* index into msgs; NONE: dummy */
	uint32_t parent, first, last, prev, next;
	const char *id;			/* into the caller's field, or NULL */
	size_t id_len;
	bool dead;			/* pruned or merged away */
	int64_t date;			/* step 6 key */
	uint32_t seq;
};

struct thr {
	const struct imap_thread_msg *msgs;
	size_t count;
	struct node *nodes;
	size_t n, cap;
	uint32_t *hash;			/* node index or NONE */
	size_t hmask;
};

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

static uint32_t node_new(struct thr *t, const char *id, size_t id_len)
{
	struct node *nd = &t->nodes[t->n];

	if (t->n >= t->cap)
		abort();	/* the caller counted every ID */
	memset(nd, 0, sizeof(*nd));
	nd->msg = nd->parent = nd->first = nd->last = NONE;
	nd->prev = nd->next = NONE;
	nd->id = id;
	nd->id_len = id_len;
	return (uint32_t)t->n++;
}

/* The container of an ID: 1 found, 0 not (*slot_r: where it goes). */
static int id_find(struct thr *t, const char *id, size_t len, size_t *slot_r)
{
	size_t i = (size_t)id_hash(id, len) & t->hmask;

	for (;; i = (i + 1) & t->hmask) {
		uint32_t k = t->hash[i];

		if (k == NONE) {
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

static uint32_t id_container(struct thr *t, const char *id, size_t len)
{
	size_t slot;

	if (id_find(t, id, len, &slot))
		return t->hash[slot];
	return t->hash[slot] = node_new(t, id, len);
}

static void unlink_node(struct thr *t, uint32_t c)
{
	struct node *nd = &t->nodes[c];

	if (nd->parent == NONE)
		return;
	if (nd->prev != NONE)
		t->nodes[nd->prev].next = nd->next;
	else
		t->nodes[nd->parent].first = nd->next;
	if (nd->next != NONE)
		t->nodes[nd->next].prev = nd->prev;
	else
		t->nodes[nd->parent].last = nd->prev;
	nd->parent = nd->prev = nd->next = NONE;
}

/* Appends c (without a parent) to p's children. */
static void link_node(struct thr *t, uint32_t p, uint32_t c)
{
	struct node *pn = &t->nodes[p], *cn = &t->nodes[c];

	cn->parent = p;
	cn->prev = pn->last;
	cn->next = NONE;
	if (pn->last != NONE)
		t->nodes[pn->last].next = c;
	else
		pn->first = c;
	pn->last = c;
}

/* The pre-order successor of x within the subtree of top, or NONE. */
static uint32_t pre_next(const struct thr *t, uint32_t x, uint32_t top)
{
	if (t->nodes[x].first != NONE)
		return t->nodes[x].first;
	while (x != top) {
		if (t->nodes[x].next != NONE)
			return t->nodes[x].next;
		x = t->nodes[x].parent;
	}
	return NONE;
}

/* Whether making c (which has no parent) a child of p closes a loop: p
 * is c or below c. The walk up from p and the walk over c's subtree go
 * step by step together; the first to finish answers, so the cost is
 * that of the shorter one. */
static bool would_loop(const struct thr *t, uint32_t p, uint32_t c)
{
	uint32_t up = p, down = c;

	for (;;) {
		if (up == c || down == p)
			return true;
		if (up == NONE || down == NONE)
			return false;
		up = t->nodes[up].parent;
		down = pre_next(t, down, c);
	}
}

/* ---- REFERENCES, step 1 ---- */

/* The last reference container of message m after linking its
 * References chain (step 1.A), or NONE. own: its own ID, skipped. */
static uint32_t link_references(struct thr *t, const struct imap_thread_msg *m,
				const char *own, size_t own_len)
{
	const char *v = m->references, *id;
	size_t len = m->references_len, pos = 0, id_len;
	uint32_t prev = NONE;
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
			if (prev != NONE && c != prev &&
			    t->nodes[c].parent == NONE && !would_loop(t, prev, c))
				link_node(t, prev, c);
			prev = c;
			if (pass == 1)
				break;
		}
	}
	return prev;
}

/* Steps 1.A and 1.B for message i. */
static void add_message(struct thr *t, uint32_t i)
{
	const struct imap_thread_msg *m = &t->msgs[i];
	const char *own = NULL;
	size_t own_len = 0, pos = 0, slot;
	uint32_t c, parent;

	if (imap_thread_next_id(m->message_id, m->message_id_len, &pos, &own,
				&own_len) &&
	    id_find(t, own, own_len, &slot) &&
	    t->nodes[t->hash[slot]].msg != NONE)
		own = NULL;	/* a duplicate: the first owner keeps it */
	parent = link_references(t, m, own, own_len);
	c = own != NULL ? id_container(t, own, own_len) : node_new(t, NULL, 0);
	t->nodes[c].msg = i;
	if (t->nodes[c].parent == parent)
		return;
	unlink_node(t, c);
	if (parent != NONE && !would_loop(t, parent, c))
		link_node(t, parent, c);
}

/* ---- step 4: pruning ---- */

static uint32_t leftmost_leaf(const struct thr *t, uint32_t x)
{
	while (t->nodes[x].first != NONE)
		x = t->nodes[x].first;
	return x;
}

/* Replaces dummy x in its parent's children by its own children. */
static void splice_children(struct thr *t, uint32_t x)
{
	struct node *xn = &t->nodes[x];
	uint32_t p = xn->parent;

	for (uint32_t k = xn->first; k != NONE; k = t->nodes[k].next)
		t->nodes[k].parent = p;
	if (xn->first != NONE) {
		t->nodes[xn->first].prev = xn->prev;
		t->nodes[xn->last].next = xn->next;
		if (xn->prev != NONE)
			t->nodes[xn->prev].next = xn->first;
		else
			t->nodes[p].first = xn->first;
		if (xn->next != NONE)
			t->nodes[xn->next].prev = xn->last;
		else
			t->nodes[p].last = xn->last;
		xn->first = xn->last = NONE;
		xn->parent = xn->prev = xn->next = NONE;
	} else {
		unlink_node(t, x);
	}
	xn->dead = true;
}

/* Prunes the tree under root in post-order (children before parents,
 * so a dummy's children are final when it is looked at). */
static void prune_tree(struct thr *t, uint32_t root)
{
	uint32_t x = leftmost_leaf(t, root);

	while (x != root) {
		struct node *xn = &t->nodes[x];
		uint32_t succ = xn->next != NONE ? leftmost_leaf(t, xn->next) :
						   xn->parent;

		if (xn->msg == NONE)
			splice_children(t, x);
		x = succ;
	}
	if (t->nodes[root].msg != NONE)
		return;
	if (t->nodes[root].first == NONE) {
		t->nodes[root].dead = true;
	} else if (t->nodes[root].first == t->nodes[root].last) {
		uint32_t only = t->nodes[root].first;

		unlink_node(t, only);
		t->nodes[root].dead = true;
	}
}

/* Live containers without a parent, in index order, into roots; their
 * number. */
static size_t collect_roots(const struct thr *t, uint32_t *roots)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n; i++)
		if (!t->nodes[i].dead && t->nodes[i].parent == NONE)
			roots[n++] = (uint32_t)i;
	return n;
}

/* ---- step 5: subjects ---- */

/* The message whose subject stands for container x (a dummy's first
 * real descendant), or NONE. */
static uint32_t subject_msg(const struct thr *t, uint32_t x)
{
	while (x != NONE && t->nodes[x].msg == NONE)
		x = t->nodes[x].first;
	return x == NONE ? NONE : t->nodes[x].msg;
}

struct subj_table {
	uint32_t *slots;	/* container, NONE: free */
	size_t mask;
};

/* The slot for subject s in the table (found or free). */
static size_t subj_slot(const struct thr *t, const struct subj_table *st,
			const char *s, size_t len)
{
	size_t i = (size_t)id_hash(s, len) & st->mask;

	for (;; i = (i + 1) & st->mask) {
		uint32_t k = st->slots[i], m;

		if (k == NONE)
			return i;
		m = subject_msg(t, k);
		if (t->msgs[m].subject_len == len &&
		    memcmp(t->msgs[m].subject, s, len) == 0)
			return i;
	}
}

static bool is_dummy(const struct thr *t, uint32_t x)
{
	return t->nodes[x].msg == NONE;
}

/* Step 5.B: whether x should replace the table's entry e. */
static bool subj_prefer(const struct thr *t, uint32_t e, uint32_t x)
{
	if (!is_dummy(t, e) && is_dummy(t, x))
		return true;
	return t->msgs[subject_msg(t, e)].reply &&
	       !t->msgs[subject_msg(t, x)].reply;
}

/* Step 5.C: merges root x into the table's entry e; returns the
 * container that now holds both. */
static uint32_t subj_merge(struct thr *t, uint32_t e, uint32_t x)
{
	uint32_t d;

	if (is_dummy(t, e) && is_dummy(t, x)) {
		while (t->nodes[x].first != NONE) {
			uint32_t k = t->nodes[x].first;

			unlink_node(t, k);
			link_node(t, e, k);
		}
		t->nodes[x].dead = true;
		return e;
	}
	if (is_dummy(t, e)) {
		link_node(t, e, x);
		return e;
	}
	if (is_dummy(t, x)) {
		link_node(t, x, e);
		return x;
	}
	if (!t->msgs[t->nodes[e].msg].reply && t->msgs[t->nodes[x].msg].reply) {
		link_node(t, e, x);
		return e;
	}
	d = node_new(t, NULL, 0);
	link_node(t, d, e);
	link_node(t, d, x);
	return d;
}

static void gather_subjects(struct thr *t, uint32_t *roots, size_t nroots)
{
	struct subj_table st;
	size_t size = 16;

	while (size < nroots * 2)
		size *= 2;
	st.slots = xmalloc(size * sizeof(*st.slots));
	st.mask = size - 1;
	for (size_t i = 0; i < size; i++)
		st.slots[i] = NONE;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < nroots; i++) {
			uint32_t x = roots[i], m = subject_msg(t, x);
			size_t slot;

			if (m == NONE || t->msgs[m].subject_len == 0 ||
			    t->nodes[x].dead || t->nodes[x].parent != NONE)
				continue;
			slot = subj_slot(t, &st, t->msgs[m].subject,
					 t->msgs[m].subject_len);
			if (st.slots[slot] == NONE ||
			    (pass == 0 && subj_prefer(t, st.slots[slot], x)))
				st.slots[slot] = x;
			else if (pass == 1 && st.slots[slot] != x)
				st.slots[slot] = subj_merge(t, st.slots[slot],
							    x);
		}
	}
	free(st.slots);
}

/* ---- step 6: dates ---- */

static int node_cmp(const void *pa, const void *pb, void *arg)
{
	const struct thr *t = arg;
	const struct node *a = &t->nodes[*(const uint32_t *)pa];
	const struct node *b = &t->nodes[*(const uint32_t *)pb];

	if (a->date != b->date)
		return a->date < b->date ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Sorts x's children (their keys are set) and sets x's key. */
static void sort_children(struct thr *t, uint32_t x, uint32_t *tmp)
{
	struct node *xn = &t->nodes[x];
	size_t n = 0;

	for (uint32_t k = xn->first; k != NONE; k = t->nodes[k].next)
		tmp[n++] = k;
	if (n > 1) {
		qsort_r(tmp, n, sizeof(*tmp), node_cmp, t);
		xn->first = xn->last = NONE;
		for (size_t i = 0; i < n; i++) {
			t->nodes[tmp[i]].parent = NONE;
			link_node(t, x, tmp[i]);
		}
	}
	if (xn->msg != NONE) {
		xn->date = t->msgs[xn->msg].date;
		xn->seq = xn->msg;
	} else if (xn->first != NONE) {
		xn->date = t->nodes[xn->first].date;
		xn->seq = t->nodes[xn->first].seq;
	}
}

static void sort_tree(struct thr *t, uint32_t root, uint32_t *tmp)
{
	uint32_t x = leftmost_leaf(t, root);

	for (;;) {
		uint32_t succ = x == root ? NONE :
				t->nodes[x].next != NONE ?
				leftmost_leaf(t, t->nodes[x].next) :
				t->nodes[x].parent;

		sort_children(t, x, tmp);
		if (succ == NONE)
			break;
		x = succ;
	}
}

/* ---- output ---- */

/* Writes one thread: "(" members ")", where members are a message's
 * number followed, for one child, by " " and the child's members, and
 * for several by " " and "(" members ")" for each; a dummy writes only
 * its children. The stack holds the containers still to open and the
 * closing parentheses owed (CLOSE). */
#define CLOSE (NONE - 1)

static int write_thread(const struct thr *t, uint32_t root, uint32_t *stack,
			struct buf *out)
{
	size_t sp = 0;

	stack[sp++] = root;
	while (sp > 0) {
		uint32_t x = stack[--sp];

		if (x == CLOSE) {
			if (buf_append_char(out, ')') < 0)
				return -1;
			continue;
		}
		if (buf_append_char(out, '(') < 0)
			return -1;
		stack[sp++] = CLOSE;
		for (;;) {
			const struct node *xn = &t->nodes[x];
			bool real = xn->msg != NONE;

			if (real && buf_printf(out, "%u", t->msgs[xn->msg].id) < 0)
				return -1;
			if (xn->first == NONE)
				break;
			if (real && buf_append_char(out, ' ') < 0)
				return -1;
			if (xn->first == xn->last) {
				x = xn->first;
				continue;
			}
			for (uint32_t k = xn->last; k != NONE;
			     k = t->nodes[k].prev)
				stack[sp++] = k;
			break;
		}
	}
	return 0;
}

static int write_all(struct thr *t, struct buf *out)
{
	uint32_t *roots = xmalloc((t->n + 1) * sizeof(*roots));
	uint32_t *tmp = xmalloc((2 * t->n + 2) * sizeof(*tmp));
	size_t n = collect_roots(t, roots);
	int r = 0;

	for (size_t i = 0; i < n; i++)
		sort_tree(t, roots[i], tmp);
	if (n > 1)
		qsort_r(roots, n, sizeof(*roots), node_cmp, t);
	for (size_t i = 0; i < n && r == 0; i++)
		r = write_thread(t, roots[i], tmp, out);
	free(tmp);
	free(roots);
	return r;
}

/* ---- the algorithms ---- */

static void thr_init(struct thr *t, const struct imap_thread_msg *msgs,
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
		t->hash[i] = NONE;
}

static void thr_deinit(struct thr *t)
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
	struct thr t;
	size_t ids = 0, nroots;
	uint32_t *roots;
	int r;

	for (size_t i = 0; i < count; i++)
		ids += 1 + count_ids(msgs[i].references, msgs[i].references_len) +
		       (msgs[i].in_reply_to != NULL ? 1 : 0);
	thr_init(&t, msgs, count, ids);
	for (size_t i = 0; i < count; i++)
		add_message(&t, (uint32_t)i);
	free(t.hash);	/* step 3 */
	t.hash = NULL;
	roots = xmalloc((t.n + 1) * sizeof(*roots));
	nroots = collect_roots(&t, roots);
	for (size_t i = 0; i < nroots; i++)
		prune_tree(&t, roots[i]);
	nroots = collect_roots(&t, roots);
	gather_subjects(&t, roots, nroots);
	free(roots);
	r = write_all(&t, out);
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
	uint32_t root = NONE;
	struct thr t;
	int r;

	thr_init(&t, msgs, count, 0);
	for (size_t i = 0; i < count; i++)
		order[i] = (uint32_t)i;
	qsort_r(order, count, sizeof(*order), subject_cmp, (void *)msgs);
	for (size_t i = 0; i < count; i++) {
		uint32_t c = node_new(&t, NULL, 0);
		const struct imap_thread_msg *m = &msgs[order[i]];

		t.nodes[c].msg = order[i];
		if (root != NONE &&
		    m->subject_len == msgs[t.nodes[root].msg].subject_len &&
		    memcmp(m->subject, msgs[t.nodes[root].msg].subject,
			   m->subject_len) == 0)
			link_node(&t, root, c);
		else
			root = c;
	}
	free(order);
	r = write_all(&t, out);
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
