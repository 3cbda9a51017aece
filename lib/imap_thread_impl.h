/* imap_thread_impl: what lib/imap_thread.c (the algorithms) and
 * lib/imap_thread_tree.c (the tree: links, walks, ordering, output)
 * share. Private to the two. */
#ifndef SUREL_IMAP_THREAD_IMPL_H
#define SUREL_IMAP_THREAD_IMPL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "imap_thread.h"

/* No container (a link that is not there). */
#define THREAD_NONE UINT32_MAX

/* A container (RFC 5256): a message, or a dummy for one only referred
 * to. Links are indexes into thread_ctx.nodes. */
struct thread_node {
	uint32_t msg;		/* index into msgs; THREAD_NONE: a dummy */
	uint32_t parent, first, last, prev, next;
	const char *id;			/* into the caller's field, or NULL */
	size_t id_len;
	bool dead;			/* pruned or merged away */
	int64_t date;			/* step 6 key */
	uint32_t seq;
};

/* One threading run. */
struct thread_ctx {
	const struct imap_thread_msg *msgs;
	size_t count;
	struct thread_node *nodes;
	size_t n, cap;
	uint32_t *hash;			/* node index or THREAD_NONE */
	size_t hmask;
};

/* A new container (the caller counted them: t->cap is never passed). */
uint32_t imap_thread_tree_node_new(struct thread_ctx *t, const char *id,
				   size_t id_len);
/* Takes c out of its parent's children (nothing when it has none). */
void imap_thread_tree_unlink(struct thread_ctx *t, uint32_t c);
/* Appends c (without a parent) to p's children. */
void imap_thread_tree_link(struct thread_ctx *t, uint32_t p, uint32_t c);
/* The pre-order successor of x within the subtree of top, or
 * THREAD_NONE. */
uint32_t imap_thread_tree_pre_next(const struct thread_ctx *t, uint32_t x,
				   uint32_t top);
/* The first container in post-order below x (x when it has no child). */
uint32_t imap_thread_tree_leftmost(const struct thread_ctx *t, uint32_t x);
/* Live containers without a parent, in index order, into roots (room
 * for t->n); their number. */
size_t imap_thread_tree_roots(const struct thread_ctx *t, uint32_t *roots);
/* RFC 5256 step 6 and the reply: sorts every set of siblings and the
 * threads by sent date (a dummy by its first child's), ties by sequence,
 * and appends the thread list. 0 or -1 (out full). */
int imap_thread_tree_write(struct thread_ctx *t, struct buf *out);

#endif
