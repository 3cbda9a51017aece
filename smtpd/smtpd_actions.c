/* smtpd_actions: the access(5) actions that change the envelope
 * (REDIRECT, BCC, FILTER) and content_filter, applied once when the
 * envelope is written at DATA/BDAT, after every RCPT: the restriction
 * lists run again for each RCPT, and the last action of each kind wins
 * (access(5)). The new addresses go through virtual_alias_maps as a
 * RCPT's do (Postfix's cleanup expands them the same way); a target
 * that is not a clean address, or whose expansion fails, is logged and
 * left out: the recipients it would have replaced stay. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "alias.h"
#include "conf.h"
#include "log.h"
#include "mem.h"
#include "smtpd.h"

/* The final addresses of target (virtual_alias_maps), each a clean
 * mailbox. 0 with *list_r, or -1 (logged). */
static int expand(struct smtpd_session *s, const char *what,
		  const char *target, const char *id,
		  struct alias_list *list_r)
{
	const char *error = NULL;
	struct addr a;
	int ret = alias_expand(smtpd_tables.alias, target,
			       s->p->recipient_delimiter, list_r, &error);

	for (size_t i = 0; ret == 1 && i < list_r->count; i++)
		if (addr_parse_mailbox(list_r->addrs[i],
				       strlen(list_r->addrs[i]), ADDR_FLAG_UTF8,
				       &a, &error) < 0)
			ret = -1;
	if (ret == 1 && s->txn.env.rcpt_count + list_r->count >
				QUEUE_RCPT_MAX) {
		error = "too many recipients";
		ret = -1;
	}
	if (ret == 1)
		return 0;
	log_warn("%s: %s %s not applied: %s", id, what, target,
		 error != NULL ? error : "virtual_alias_maps lookup failed");
	alias_list_free(list_r);
	return -1;
}

static bool has_rcpt(const struct queue_envelope *env, const char *address)
{
	for (size_t i = 0; i < env->rcpt_count; i++)
		if (strcmp(env->rcpts[i].address, address) == 0)
			return true;
	return false;
}

/* REDIRECT: every recipient is replaced. The sender was told 250 for
 * each; the DSN options (ORCPT, NOTIFY) described recipients that no
 * longer exist, so the new ones have none. */
static void redirect(struct smtpd_session *s, const char *id)
{
	struct smtpd_txn *t = &s->txn;
	struct queue_envelope *env = &t->env;
	struct alias_list list;

	if (expand(s, "REDIRECT", t->redirect, id, &list) < 0)
		return;
	for (size_t i = 0; i < env->rcpt_count; i++) {
		struct queue_rcpt *r = &env->rcpts[i];
		log_info("%s: redirect: to=<%s> -> <%s>", id, r->address,
			 t->redirect);
		free(r->address);
		free(r->orig_rcpt);
		free(r->orcpt);
		free(r->notify);
	}
	env->rcpt_count = 0;
	for (size_t i = 0; i < list.count; i++)
		if (!has_rcpt(env, list.addrs[i]))
			queue_envelope_add_rcpt(env, list.addrs[i],
						strcmp(list.addrs[i],
						       t->redirect) != 0
							? t->redirect : NULL,
						NULL, NULL);
	alias_list_free(&list);
}

/* BCC: more recipients unless they are ones already. NOTIFY=NEVER: the
 * sender is not told of a copy it did not ask for (as always_bcc). */
static void bcc(struct smtpd_session *s, const char *id)
{
	struct smtpd_txn *t = &s->txn;
	struct alias_list list;

	if (expand(s, "BCC", t->bcc, id, &list) < 0)
		return;
	for (size_t i = 0; i < list.count; i++) {
		if (has_rcpt(&t->env, list.addrs[i]))
			continue;
		log_info("%s: bcc: to=<%s>", id, list.addrs[i]);
		queue_envelope_add_rcpt(&t->env, list.addrs[i],
					strcmp(list.addrs[i], t->bcc) != 0
						? t->bcc : NULL,
					NULL, "NEVER");
	}
	alias_list_free(&list);
}

void smtpd_actions_envelope(struct smtpd_session *s, const char *queue_id)
{
	struct smtpd_txn *t = &s->txn;
	const char *filter = conf_str("content_filter");

	/* A discarded message is never delivered: nothing to change. */
	if (t->discard)
		return;
	if (t->redirect != NULL)
		redirect(s, queue_id);
	if (t->bcc != NULL)
		bcc(s, queue_id);
	/* FILTER overrides content_filter; REDIRECT overrides FILTER. */
	if (t->filter != NULL && t->redirect == NULL)
		filter = t->filter;
	if (*filter != '\0') {
		log_info("%s: filter: %s", queue_id, filter);
		queue_envelope_add_attr(&t->env, "filter", filter);
	}
}
