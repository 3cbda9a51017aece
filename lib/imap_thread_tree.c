/* imap_thread_tree: the trees of lib/imap_thread: containers linked by
 * index, walks without recursion (pre- and post-order successors are
 * computed from the links), step 6's ordering by date and the output of
 * the thread list with an explicit stack. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "imap_thread_impl.h"
#include "mem.h"

uint32_t imap_thread_tree_node_new(struct thread_ctx *t, const char *id,
				   size_t id_len)
{
	struct thread_node *nd = &t->nodes[t->n];

	if (t->n >= t->cap)
		abort();	/* the caller counted every ID */
	memset(nd, 0, sizeof(*nd));
	nd->msg = nd->parent = nd->first = nd->last = THREAD_NONE;
	nd->prev = nd->next = THREAD_NONE;
	nd->id = id;
	nd->id_len = id_len;
	return (uint32_t)t->n++;
}

void imap_thread_tree_unlink(struct thread_ctx *t, uint32_t c)
{
	struct thread_node *nd = &t->nodes[c];

	if (nd->parent == THREAD_NONE)
		return;
	if (nd->prev != THREAD_NONE)
		t->nodes[nd->prev].next = nd->next;
	else
		t->nodes[nd->parent].first = nd->next;
	if (nd->next != THREAD_NONE)
		t->nodes[nd->next].prev = nd->prev;
	else
		t->nodes[nd->parent].last = nd->prev;
	nd->parent = nd->prev = nd->next = THREAD_NONE;
}

/* Appends c (without a parent) to p's children. */
void imap_thread_tree_link(struct thread_ctx *t, uint32_t p, uint32_t c)
{
	struct thread_node *pn = &t->nodes[p], *cn = &t->nodes[c];

	cn->parent = p;
	cn->prev = pn->last;
	cn->next = THREAD_NONE;
	if (pn->last != THREAD_NONE)
		t->nodes[pn->last].next = c;
	else
		pn->first = c;
	pn->last = c;
}

/* The pre-order successor of x within the subtree of top, or THREAD_NONE. */
uint32_t imap_thread_tree_pre_next(const struct thread_ctx *t, uint32_t x,
				   uint32_t top)
{
	if (t->nodes[x].first != THREAD_NONE)
		return t->nodes[x].first;
	while (x != top) {
		if (t->nodes[x].next != THREAD_NONE)
			return t->nodes[x].next;
		x = t->nodes[x].parent;
	}
	return THREAD_NONE;
}

uint32_t imap_thread_tree_leftmost(const struct thread_ctx *t, uint32_t x)
{
	while (t->nodes[x].first != THREAD_NONE)
		x = t->nodes[x].first;
	return x;
}

/* Live containers without a parent, in index order, into roots; their
 * number. */
size_t imap_thread_tree_roots(const struct thread_ctx *t, uint32_t *roots)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n; i++)
		if (!t->nodes[i].dead && t->nodes[i].parent == THREAD_NONE)
			roots[n++] = (uint32_t)i;
	return n;
}

/* ---- step 6: dates ---- */

static int node_cmp(const void *pa, const void *pb, void *arg)
{
	const struct thread_ctx *t = arg;
	const struct thread_node *a = &t->nodes[*(const uint32_t *)pa];
	const struct thread_node *b = &t->nodes[*(const uint32_t *)pb];

	if (a->date != b->date)
		return a->date < b->date ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Sorts x's children (their keys are set) and sets x's key. */
static void sort_children(struct thread_ctx *t, uint32_t x, uint32_t *tmp)
{
	struct thread_node *xn = &t->nodes[x];
	size_t n = 0;

	for (uint32_t k = xn->first; k != THREAD_NONE; k = t->nodes[k].next)
		tmp[n++] = k;
	if (n > 1) {
		qsort_r(tmp, n, sizeof(*tmp), node_cmp, t);
		xn->first = xn->last = THREAD_NONE;
		for (size_t i = 0; i < n; i++) {
			t->nodes[tmp[i]].parent = THREAD_NONE;
			imap_thread_tree_link(t, x, tmp[i]);
		}
	}
	if (xn->msg != THREAD_NONE) {
		xn->date = t->msgs[xn->msg].date;
		xn->seq = xn->msg;
	} else if (xn->first != THREAD_NONE) {
		xn->date = t->nodes[xn->first].date;
		xn->seq = t->nodes[xn->first].seq;
	}
}

static void sort_tree(struct thread_ctx *t, uint32_t root, uint32_t *tmp)
{
	uint32_t x = imap_thread_tree_leftmost(t, root);

	for (;;) {
		uint32_t succ = x == root ? THREAD_NONE :
				t->nodes[x].next != THREAD_NONE ?
				imap_thread_tree_leftmost(t, t->nodes[x].next) :
				t->nodes[x].parent;

		sort_children(t, x, tmp);
		if (succ == THREAD_NONE)
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
#define CLOSE (THREAD_NONE - 1)

static int write_thread(const struct thread_ctx *t, uint32_t root,
			uint32_t *stack,
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
			const struct thread_node *xn = &t->nodes[x];
			bool real = xn->msg != THREAD_NONE;

			if (real &&
			    buf_printf(out, "%u", t->msgs[xn->msg].id) < 0)
				return -1;
			if (xn->first == THREAD_NONE)
				break;
			if (real && buf_append_char(out, ' ') < 0)
				return -1;
			if (xn->first == xn->last) {
				x = xn->first;
				continue;
			}
			for (uint32_t k = xn->last; k != THREAD_NONE;
			     k = t->nodes[k].prev)
				stack[sp++] = k;
			break;
		}
	}
	return 0;
}

int imap_thread_tree_write(struct thread_ctx *t, struct buf *out)
{
	uint32_t *roots = xmalloc((t->n + 1) * sizeof(*roots));
	uint32_t *tmp = xmalloc((2 * t->n + 2) * sizeof(*tmp));
	size_t n = imap_thread_tree_roots(t, roots);
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
