/* qmgr_verify: sendmail -bv (see qmgr.h). The message is a question
 * ("what would happen to mail for these recipients?"), so its answers
 * are kept in memory and never written into the queue file: a crash or
 * a report that cannot be queued leaves the file as it came, and the next
 * attempt asks every question again. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "deliver_proto.h"
#include "log.h"
#include "mem.h"
#include "qmgr.h"

/* One recipient's answer, copied out of the agent's message. */
struct qmgr_verify_rcpt {
	bool answered;
	enum deliver_status status;
	char *dsn, *reason, *remote_mta, *diag, *in_reply_to;
};

void qmgr_verify_init(struct qmgr_message *msg)
{
	const char *v = queue_envelope_attr(&msg->env, "verify");

	/* Only pickup writes it, and only as "yes". */
	msg->verify = v != NULL && strcmp(v, "yes") == 0;
}

static char *dup_or_null(const char *s)
{
	return s != NULL && *s != '\0' ? xstrdup(s) : NULL;
}

static void rcpt_clear(struct qmgr_verify_rcpt *r)
{
	free(r->dsn);
	free(r->reason);
	free(r->remote_mta);
	free(r->diag);
	free(r->in_reply_to);
	memset(r, 0, sizeof(*r));
}

void qmgr_verify_record(struct qmgr_message *msg, size_t index,
			const struct deliver_answer *ans)
{
	ASSERT(index < msg->env.rcpt_count);
	if (msg->vrcpts == NULL)
		msg->vrcpts = xcalloc(msg->env.rcpt_count,
				      sizeof(*msg->vrcpts));
	struct qmgr_verify_rcpt *r = &msg->vrcpts[index];
	/* An answer after a lost connection replaces the first one. */
	rcpt_clear(r);
	r->answered = true;
	r->status = ans->status;
	r->dsn = xstrdup(ans->dsn);
	r->reason = xstrdup(ans->reason != NULL ? ans->reason : "");
	r->remote_mta = dup_or_null(ans->remote_mta);
	r->diag = dup_or_null(ans->diag);
	r->in_reply_to = dup_or_null(ans->in_reply_to);
}

void qmgr_verify_free(struct qmgr_message *msg)
{
	if (msg->vrcpts == NULL)
		return;
	for (size_t i = 0; i < msg->env.rcpt_count; i++)
		rcpt_clear(&msg->vrcpts[i]);
	xfree(&msg->vrcpts);
}

static const char *const transport_name[QMGR_TRANSPORTS] = {
	[QMGR_LOCAL] = "local",
	[QMGR_SMTP] = "smtp",
};

/* A recipient as the report names it: the remote server's reply when
 * there was one (quoted as smtp), else the agent's or qmgr's words. */
static void rcpt_fill(const struct qmgr_message *msg, size_t i,
		      struct dsn_rcpt *d)
{
	const struct queue_rcpt *rcpt = &msg->env.rcpts[i];
	const struct qmgr_verify_rcpt *r = &msg->vrcpts[i];
	bool ok = r->status == DELIVER_OK;

	memset(d, 0, sizeof(*d));
	d->address = rcpt->address;
	d->orig_rcpt = rcpt->orig_rcpt;
	d->orcpt = rcpt->orcpt;
	d->action = ok ? DSN_ACTION_DELIVERABLE : DSN_ACTION_UNDELIVERABLE;
	d->status = r->dsn;
	d->remote_mta = r->remote_mta;
	d->in_reply_to = r->in_reply_to;
	d->diag_type = r->diag != NULL ? DSN_DIAG_SMTP : DSN_DIAG_LOCAL;
	d->diag = r->diag != NULL ? r->diag : r->reason;
	d->diag_len = strlen(d->diag);
	if (d->diag_len == 0) {
		d->diag = NULL;
		d->diag_type = DSN_DIAG_NONE;
	}
	d->last_attempt = time(NULL);
	if (ok && msg->route != NULL && msg->route[i] < QMGR_TRANSPORTS)
		d->via = transport_name[msg->route[i]];
}

int qmgr_verify_report(struct qmgr_message *msg)
{
	size_t n = 0;

	if (msg->env.sender[0] == '\0') {
		log_info("%s: address verification for <>: no report",
			 msg->id);
		return 0;
	}
	struct dsn_rcpt *rcpts = xcalloc(msg->env.rcpt_count + 1,
					 sizeof(*rcpts));
	for (size_t i = 0; i < msg->env.rcpt_count; i++) {
		/* Every recipient has been routed and answered: qmgr asks
		 * for the report only when nothing waits or is in flight. */
		if (msg->vrcpts == NULL || !msg->vrcpts[i].answered)
			continue;
		rcpt_fill(msg, i, &rcpts[n++]);
	}
	int ret = n > 0 ? qmgr_notice_send(msg, DSN_KIND_VERIFY, rcpts, n)
			: 0;
	free(rcpts);
	return ret;
}
