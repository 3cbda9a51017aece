/* imapd_list: LIST (RFC 3501 6.3.8, RFC 9051 6.3.9) with LIST-EXTENDED
 * (RFC 5258: selection options SUBSCRIBED, REMOTE, RECURSIVEMATCH and
 * SPECIAL-USE of RFC 6154; return options SUBSCRIBED, CHILDREN,
 * SPECIAL-USE and STATUS of RFC 5819; several patterns), and LSUB.
 *
 * One pass builds the user's tree: INBOX, every folder that has an IMAP
 * name, the subscribed names when asked for, and the missing parents of
 * all of them (Maildir++ lets ".a.b" exist without ".a"), sorted with
 * INBOX first. Each node then knows whether it exists, is subscribed,
 * has children and has subscribed descendants; the output walks the
 * tree once and matches every pattern (lib/imap_mailbox's matcher).
 *
 * Attributes, as Dovecot 2.3 shows them: \HasChildren/\HasNoChildren
 * always (RFC 5258 allows them without CHILDREN); a missing parent is
 * "\Noselect \HasChildren" in a plain LIST and "\NonExistent" (which
 * implies \Noselect) once LIST-EXTENDED syntax is used; special-use
 * attributes always. LSUB marks a name that is not subscribed but has
 * subscribed descendants the pattern hides with \Noselect (RFC 3501). */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "imap_mailbox.h"
#include "imap_subscriptions.h"
#include "imapd.h"
#include "imapd_mbox.h"
#include "log.h"
#include "mem.h"

/* Selection options. */
#define SEL_SUBSCRIBED	0x01
#define SEL_REMOTE	0x02
#define SEL_RECURSIVE	0x04
#define SEL_SPECIAL	0x08
/* Return options. */
#define RET_SUBSCRIBED	0x01
#define RET_CHILDREN	0x02
#define RET_SPECIAL	0x04
#define RET_STATUS	0x08

/* Patterns in one LIST command. */
#define LIST_PATTERNS_MAX 100

struct list_node {
	char *name;		/* UTF-8 IMAP name */
	char *folder;		/* NULL for a name without a folder */
	bool exists;
	bool subscribed;
	bool has_children;	/* an existing folder below it */
	bool hidden_sub;	/* a subscribed descendant no pattern matches */
};

struct list_ctx {
	struct imapd_session *s;
	bool lsub, extended;
	unsigned sel, ret, status_items;
	char *patterns[LIST_PATTERNS_MAX];	/* UTF-8, reference prefixed */
	size_t npatterns;
	struct list_node *nodes;
	size_t count, alloc;
};

static const struct {
	const char *name;
	unsigned flag;
} sel_opts[] = {
	{ "SUBSCRIBED", SEL_SUBSCRIBED },
	{ "REMOTE", SEL_REMOTE },
	{ "RECURSIVEMATCH", SEL_RECURSIVE },
	{ "SPECIAL-USE", SEL_SPECIAL },
}, ret_opts[] = {
	{ "SUBSCRIBED", RET_SUBSCRIBED },
	{ "CHILDREN", RET_CHILDREN },
	{ "SPECIAL-USE", RET_SPECIAL },
	{ "STATUS", RET_STATUS },
};

static int node_cmp(const void *a, const void *b)
{
	const struct list_node *x = a, *y = b;
	bool xi = strcmp(x->name, "INBOX") == 0;
	bool yi = strcmp(y->name, "INBOX") == 0;

	if (xi || yi)
		return (int)yi - (int)xi;
	return strcmp(x->name, y->name);
}

static struct list_node *node_find(struct list_ctx *ctx, const char *name)
{
	struct list_node key = { .name = (char *)name };

	return bsearch(&key, ctx->nodes, ctx->count, sizeof(*ctx->nodes),
		       node_cmp);
}

static struct list_node *node_add(struct list_ctx *ctx, const char *name,
				  const char *folder)
{
	struct list_node *n;

	if (ctx->count == ctx->alloc) {
		ctx->alloc = ctx->alloc == 0 ? 64 : ctx->alloc * 2;
		ctx->nodes = xreallocarray(ctx->nodes, ctx->alloc,
					   sizeof(*ctx->nodes));
	}
	n = &ctx->nodes[ctx->count++];
	memset(n, 0, sizeof(*n));
	n->name = xstrdup(name);
	n->folder = folder != NULL ? xstrdup(folder) : NULL;
	return n;
}

/* Sorts and merges nodes of one name (a folder that is subscribed too). */
static void nodes_normalize(struct list_ctx *ctx)
{
	size_t out = 0;

	qsort(ctx->nodes, ctx->count, sizeof(*ctx->nodes), node_cmp);
	for (size_t i = 0; i < ctx->count; i++) {
		struct list_node *n = &ctx->nodes[i];
		if (out > 0 && strcmp(ctx->nodes[out - 1].name, n->name) == 0) {
			struct list_node *keep = &ctx->nodes[out - 1];
			keep->exists |= n->exists;
			keep->subscribed |= n->subscribed;
			if (keep->folder == NULL) {
				keep->folder = n->folder;
				n->folder = NULL;
			}
			free(n->name);
			free(n->folder);
			continue;
		}
		ctx->nodes[out++] = *n;
	}
	ctx->count = out;
}

static void nodes_free(struct list_ctx *ctx)
{
	for (size_t i = 0; i < ctx->count; i++) {
		free(ctx->nodes[i].name);
		free(ctx->nodes[i].folder);
	}
	xfree(&ctx->nodes);
	ctx->count = ctx->alloc = 0;
	for (size_t i = 0; i < ctx->npatterns; i++)
		free(ctx->patterns[i]);
	ctx->npatterns = 0;
}

static int add_folders(struct list_ctx *ctx)
{
	char **folders;
	size_t n;
	const char *error;
	struct buf name;

	node_add(ctx, "INBOX", "INBOX")->exists = true;
	if (mailstore_folder_list(ctx->s->maildir, &folders, &n, &error) < 0) {
		log_warn("user=%s: LIST: %s", ctx->s->user, error);
		return -1;
	}
	buf_init(&name, IMAPD_MAILBOX_NAME_MAX * 2);
	for (size_t i = 0; i < n; i++) {
		buf_reset(&name);
		/* Folders without an IMAP name are not shown. */
		if (imapd_name_from_folder(ctx->s, folders[i], &name) == 0)
			node_add(ctx, name.data, folders[i])->exists = true;
	}
	buf_deinit(&name);
	mailstore_folder_list_free(&folders, n);
	return 0;
}

static int add_subscriptions(struct list_ctx *ctx)
{
	char **folders;
	size_t n;
	const char *error;
	struct buf name;

	if (imapd_subscriptions_read(ctx->s, &folders, &n, &error) < 0) {
		log_warn("user=%s: subscriptions: %s", ctx->s->user, error);
		return -1;
	}
	buf_init(&name, IMAPD_MAILBOX_NAME_MAX * 2);
	for (size_t i = 0; i < n; i++) {
		buf_reset(&name);
		if (imapd_name_from_folder(ctx->s, folders[i], &name) == 0)
			node_add(ctx, name.data, folders[i])->subscribed = true;
	}
	buf_deinit(&name);
	imap_subscriptions_free(&folders, n);
	return 0;
}

static bool pattern_match(const struct list_ctx *ctx, const char *name)
{
	for (size_t i = 0; i < ctx->npatterns; i++)
		if (imap_mailbox_match(ctx->patterns[i],
				       strlen(ctx->patterns[i]), name,
				       strlen(name),
				       ctx->s->p->separator) == 1)
			return true;
	return false;
}

/* Adds the missing parents of every node, then marks what each node has
 * below it. */
static void add_parents(struct list_ctx *ctx)
{
	char sep = ctx->s->p->separator;
	size_t n = ctx->count;

	for (size_t i = 0; i < n; i++) {
		char *name = xstrdup(ctx->nodes[i].name);
		for (char *p = strrchr(name, sep); p != NULL;
		     p = strrchr(name, sep)) {
			*p = '\0';
			node_add(ctx, name, NULL);
		}
		free(name);
	}
	nodes_normalize(ctx);
	for (size_t i = 0; i < ctx->count; i++) {
		const struct list_node *child = &ctx->nodes[i];
		bool hidden = child->subscribed && !pattern_match(ctx,
								  child->name);
		char *name = xstrdup(child->name);
		for (char *p = strrchr(name, sep); p != NULL;
		     p = strrchr(name, sep)) {
			*p = '\0';
			struct list_node *parent = node_find(ctx, name);
			parent->has_children |= ctx->nodes[i].exists;
			parent->hidden_sub |= hidden;
		}
		free(name);
	}
}

/* Whether a node is in the reply, and with CHILDINFO. */
static bool node_selected(const struct list_ctx *ctx,
			  const struct list_node *n, bool *childinfo_r)
{
	const char *special = imapd_special_use_of(ctx->s, n->name);
	bool sel;

	*childinfo_r = false;
	if (ctx->lsub)
		return n->subscribed || n->hidden_sub;
	if ((ctx->sel & SEL_SUBSCRIBED) != 0)
		sel = n->subscribed &&
		      ((ctx->sel & SEL_SPECIAL) == 0 || special != NULL);
	else if ((ctx->sel & SEL_SPECIAL) != 0)
		sel = n->exists && special != NULL;
	else
		sel = n->exists || n->has_children;
	*childinfo_r = (ctx->sel & SEL_RECURSIVE) != 0 &&
		       (ctx->sel & SEL_SUBSCRIBED) != 0 && n->hidden_sub;
	return sel || *childinfo_r;
}

static int node_attrs(const struct list_ctx *ctx, const struct list_node *n,
		      struct buf *out)
{
	const char *special = imapd_special_use_of(ctx->s, n->name);
	const char *sp = "";
	int r = 0;

#define ATTR(cond, text) \
	if (r == 0 && (cond)) { \
		r = buf_printf(out, "%s%s", sp, text); \
		sp = " "; \
	}
	if (ctx->lsub) {
		ATTR(!n->subscribed, "\\Noselect")
		ATTR(n->subscribed && n->exists && special != NULL, special)
		return r;
	}
	ATTR(!n->exists && !ctx->extended, "\\Noselect")
	ATTR(!n->exists && ctx->extended, "\\NonExistent")
	ATTR(n->has_children, "\\HasChildren")
	ATTR(n->exists && !n->has_children, "\\HasNoChildren")
	ATTR(n->subscribed && ((ctx->sel & SEL_SUBSCRIBED) != 0 ||
			       (ctx->ret & RET_SUBSCRIBED) != 0),
	     "\\Subscribed")
	ATTR(n->exists && special != NULL, special)
#undef ATTR
	return r;
}

static int node_line(const struct list_ctx *ctx, const struct list_node *n,
		     bool childinfo, struct buf *out)
{
	int r = buf_printf(out, "* %s (", ctx->lsub ? "LSUB" : "LIST");

	if (r == 0)
		r = node_attrs(ctx, n, out);
	if (r == 0)
		r = buf_printf(out, ") \"%c\" ", ctx->s->p->separator);
	if (r == 0)
		r = imapd_name_write(ctx->s, out, n->name);
	if (r == 0 && childinfo)
		r = buf_append_str(out, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
	if (r == 0)
		r = buf_append_str(out, "\r\n");
	return r;
}

static void list_send(struct list_ctx *ctx)
{
	struct buf out;
	char path[4096];
	const char *error;

	buf_init(&out, IMAPD_MAILBOX_NAME_MAX * 4 + 256);
	for (size_t i = 0; i < ctx->count; i++) {
		const struct list_node *n = &ctx->nodes[i];
		bool childinfo;

		if (!pattern_match(ctx, n->name) ||
		    !node_selected(ctx, n, &childinfo))
			continue;
		buf_reset(&out);
		if (node_line(ctx, n, childinfo, &out) < 0)
			continue;
		imapd_write(ctx->s, out.data, out.len);
		if ((ctx->ret & RET_STATUS) == 0 || !n->exists ||
		    mailstore_folder_path(ctx->s->maildir, n->folder, path,
					  sizeof(path), &error) < 0)
			continue;
		/* A folder deleted meanwhile gets no STATUS (RFC 5819). */
		if (imapd_status_send(ctx->s, n->name, n->folder, path,
				      ctx->status_items, &error) < 0 &&
		    error != NULL)
			log_warn("user=%s: LIST-STATUS %s: %s", ctx->s->user,
				 n->folder, error);
	}
	buf_deinit(&out);
}

static unsigned opt_flag(const char *name, bool selection)
{
	size_t n = selection ? sizeof(sel_opts) / sizeof(sel_opts[0]) :
		sizeof(ret_opts) / sizeof(ret_opts[0]);

	for (size_t i = 0; i < n; i++) {
		if (selection && strcasecmp(name, sel_opts[i].name) == 0)
			return sel_opts[i].flag;
		if (!selection && strcasecmp(name, ret_opts[i].name) == 0)
			return ret_opts[i].flag;
	}
	return 0;
}

/* Selection or return options: 0, or -1 after a BAD reply (RFC 5258 3:
 * an option the server does not know is BAD). */
static int parse_opts(struct list_ctx *ctx, const struct imap_arg *list,
		      bool selection)
{
	for (const struct imap_arg *a = list->list; a != NULL; a = a->next) {
		const char *name, *error;
		unsigned flag = 0;

		if (a->type == IMAP_ARG_ATOM && imap_arg_get_atom(a, &name))
			flag = opt_flag(name, selection);
		if (flag == 0) {
			imapd_bad(ctx->s, "Unknown LIST %s option.",
				  selection ? "selection" : "return");
			return -1;
		}
		if (selection) {
			ctx->sel |= flag;
			continue;
		}
		ctx->ret |= flag;
		if (flag == RET_STATUS) {
			a = a->next;
			if (imapd_status_items(a, &ctx->status_items,
					       &error) < 0) {
				imapd_bad(ctx->s, "%s", error);
				return -1;
			}
		}
	}
	return 0;
}

/* RFC 3501 6.3.8: an empty pattern asks for the delimiter and the root
 * of the reference ("a.b" -> "a."; "" -> ""). */
static void send_root(struct list_ctx *ctx, const char *ref)
{
	const char *sep = strchr(ref, ctx->s->p->separator);
	char *root = xstrndup(ref, sep != NULL ? (size_t)(sep - ref) + 1 : 0);
	struct buf out;

	buf_init(&out, IMAPD_MAILBOX_NAME_MAX * 4 + 64);
	if (buf_printf(&out, "* LIST (\\Noselect) \"%c\" ",
		       ctx->s->p->separator) == 0 &&
	    imapd_name_write(ctx->s, &out, root) == 0 &&
	    buf_append_str(&out, "\r\n") == 0)
		imapd_write(ctx->s, out.data, out.len);
	buf_deinit(&out);
	free(root);
}

/* One pattern: the reference prefixed (both decoded); an empty one
 * answers with the root at once. Patterns that are not valid in the
 * client's form match nothing. */
static void add_pattern(struct list_ctx *ctx, const char *ref, size_t rlen,
			const char *pat, size_t plen)
{
	struct buf b;
	const char *error;

	buf_init(&b, IMAP_MAILBOX_PATTERN_MAX);
	if (imapd_name_decode(ctx->s, ref, rlen, &b, &error) < 0)
		goto out;
	if (plen == 0) {
		if (!ctx->lsub)
			send_root(ctx, b.data);
		goto out;
	}
	if (imapd_name_decode(ctx->s, pat, plen, &b, &error) < 0 ||
	    ctx->npatterns == LIST_PATTERNS_MAX)
		goto out;
	ctx->patterns[ctx->npatterns++] = xstrdup(b.data);
out:
	buf_deinit(&b);
}

/* The patterns (one, or a list with LIST-EXTENDED). 0, or -1 after BAD. */
static int parse_patterns(struct list_ctx *ctx, const struct imap_arg *ref,
			  const struct imap_arg *pat)
{
	const char *rs, *ps;
	size_t rlen, plen;

	if (!imap_arg_get_astring(ref, &rs, &rlen))
		goto bad;
	if (pat->type != IMAP_ARG_LIST) {
		if (!imap_arg_get_astring(pat, &ps, &plen))
			goto bad;
		add_pattern(ctx, rs, rlen, ps, plen);
		return 0;
	}
	if (ctx->lsub || pat->list_count == 0 ||
	    pat->list_count > LIST_PATTERNS_MAX)
		goto bad;
	ctx->extended = true;
	for (const struct imap_arg *a = pat->list; a != NULL; a = a->next) {
		if (!imap_arg_get_astring(a, &ps, &plen))
			goto bad;
		add_pattern(ctx, rs, rlen, ps, plen);
	}
	return 0;
bad:
	imapd_bad(ctx->s, "Invalid %s arguments.", ctx->lsub ? "LSUB" : "LIST");
	return -1;
}

/* The arguments of LIST: [selection] reference pattern(s) [RETURN (...)].
 * 0, or -1 after a BAD reply. */
static int parse_list(struct list_ctx *ctx, const struct imap_arg *a)
{
	const struct imap_arg *ref, *pat, *rest;
	const char *word;

	if (a != NULL && a->type == IMAP_ARG_LIST) {
		ctx->extended = true;
		if (parse_opts(ctx, a, true) < 0)
			return -1;
		a = a->next;
	}
	ref = a;
	pat = ref != NULL ? ref->next : NULL;
	rest = pat != NULL ? pat->next : NULL;
	if (pat == NULL || (rest != NULL &&
	    (rest->type != IMAP_ARG_ATOM || !imap_arg_get_atom(rest, &word) ||
	     strcasecmp(word, "RETURN") != 0 || rest->next == NULL ||
	     rest->next->type != IMAP_ARG_LIST || rest->next->next != NULL))) {
		imapd_bad(ctx->s, "Invalid LIST arguments.");
		return -1;
	}
	if (rest != NULL) {
		ctx->extended = true;
		if (parse_opts(ctx, rest->next, false) < 0)
			return -1;
	}
	if ((ctx->sel & SEL_RECURSIVE) != 0 &&
	    (ctx->sel & (SEL_SUBSCRIBED | SEL_SPECIAL)) == 0) {
		imapd_bad(ctx->s, "RECURSIVEMATCH must not be the only "
			  "selection option.");
		return -1;
	}
	return parse_patterns(ctx, ref, pat);
}

static void list_run(struct list_ctx *ctx)
{
	bool subs = ctx->lsub || (ctx->sel & SEL_SUBSCRIBED) != 0 ||
		    (ctx->ret & RET_SUBSCRIBED) != 0;

	if (ctx->npatterns > 0 &&
	    (add_folders(ctx) < 0 || (subs && add_subscriptions(ctx) < 0))) {
		imapd_no(ctx->s, "[SERVERBUG] Internal error, see the server "
			 "log.");
		nodes_free(ctx);
		return;
	}
	if (ctx->npatterns > 0) {
		add_parents(ctx);
		list_send(ctx);
	}
	nodes_free(ctx);
	imapd_ok(ctx->s, "%s completed.", ctx->lsub ? "Lsub" : "List");
}

void imapd_cmd_list(struct imapd_session *s, const struct imap_arg *args)
{
	struct list_ctx ctx = { .s = s };

	if (parse_list(&ctx, args) < 0) {
		nodes_free(&ctx);
		return;
	}
	list_run(&ctx);
}

void imapd_cmd_lsub(struct imapd_session *s, const struct imap_arg *args)
{
	struct list_ctx ctx = { .s = s, .lsub = true };

	if (args == NULL || args->next == NULL || args->next->next != NULL) {
		imapd_bad(s, "LSUB needs a reference and a pattern.");
		return;
	}
	if (parse_patterns(&ctx, args, args->next) < 0) {
		nodes_free(&ctx);
		return;
	}
	list_run(&ctx);
}
