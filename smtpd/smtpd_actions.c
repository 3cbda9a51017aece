/* smtpd_actions: the access(5) actions that change the envelope
 * (REDIRECT, BCC, FILTER) and content_filter, applied once when the
 * envelope is written at DATA/BDAT, after every RCPT: the restriction
 * lists run again for each RCPT, and the last action of each kind wins
 * (access(5)). The addresses are used as the table gives them: not
 * expanded through virtual_alias_maps (a REDIRECT to an alias of ours
 * is delivered, or bounced, by local as any other recipient). */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "conf.h"
#include "log.h"
#include "mem.h"
#include "smtpd.h"

/* REDIRECT: every recipient is replaced by one. The sender was told
 * 250 for each; the DSN options (ORCPT, NOTIFY) described recipients
 * that no longer exist, so the new one has none. */
static void redirect(struct smtpd_txn *t, const char *id)
{
	struct queue_envelope *env = &t->env;

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
	queue_envelope_add_rcpt(env, t->redirect, NULL, NULL, NULL);
}

/* BCC: one more recipient unless it is one already. NOTIFY=NEVER: the
 * sender is not told of a copy it did not ask for (as always_bcc). */
static void bcc(struct smtpd_txn *t, const char *id)
{
	struct queue_envelope *env = &t->env;

	for (size_t i = 0; i < env->rcpt_count; i++)
		if (strcmp(env->rcpts[i].address, t->bcc) == 0)
			return;
	log_info("%s: bcc: to=<%s>", id, t->bcc);
	queue_envelope_add_rcpt(env, t->bcc, NULL, NULL, "NEVER");
}

void smtpd_actions_envelope(struct smtpd_session *s, const char *queue_id)
{
	struct smtpd_txn *t = &s->txn;
	const char *filter = conf_str("content_filter");

	/* A discarded message is never delivered: nothing to change. */
	if (t->discard)
		return;
	if (t->redirect != NULL)
		redirect(t, queue_id);
	if (t->bcc != NULL)
		bcc(t, queue_id);
	/* FILTER overrides content_filter; REDIRECT overrides FILTER. */
	if (t->filter != NULL && t->redirect == NULL)
		filter = t->filter;
	if (*filter != '\0') {
		log_info("%s: filter: %s", queue_id, filter);
		queue_envelope_add_attr(&t->env, "filter", filter);
	}
}
