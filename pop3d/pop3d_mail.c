/* pop3d_mail: the TRANSACTION commands that only look at the snapshot
 * taken at login: STAT, LIST, UIDL, and DELE and RSET, which mark and
 * unmark (nothing changes on disk before QUIT). */
#include "config.h"
#include "pop3d.h"

/* Messages not marked deleted, and their octets. */
static void totals(const struct pop3d_maildrop *d, size_t *count_r,
		   uint64_t *size_r)
{
	*count_r = 0;
	*size_r = 0;
	for (size_t i = 0; i < d->count; i++) {
		if (d->msgs[i].deleted)
			continue;
		(*count_r)++;
		*size_r += d->msgs[i].size;
	}
}

enum pop3d_result pop3d_cmd_stat(struct pop3d_session *s,
				 const struct pop3_cmd *cmd)
{
	size_t count;
	uint64_t size;

	totals(&s->drop, &count, &size);
	pop3d_reply(s, "+OK %zu %llu", count, (unsigned long long)size);
	return POP3D_OK;
}

enum pop3d_result pop3d_cmd_list(struct pop3d_session *s,
				 const struct pop3_cmd *cmd)
{
	const struct pop3d_maildrop *d = &s->drop;
	size_t count;
	uint64_t size;

	if (cmd->has_msg) {
		const struct pop3d_msg *m = pop3d_maildrop_msg(s, cmd->msg);
		if (m == NULL)
			return POP3D_FAIL;
		pop3d_reply(s, "+OK %u %llu", cmd->msg,
			    (unsigned long long)m->size);
		return POP3D_OK;
	}
	totals(d, &count, &size);
	pop3d_reply(s, "+OK %zu messages (%llu octets)", count,
		    (unsigned long long)size);
	for (size_t i = 0; i < d->count; i++)
		if (!d->msgs[i].deleted)
			pop3d_reply(s, "%zu %llu", i + 1,
				    (unsigned long long)d->msgs[i].size);
	pop3d_reply(s, ".");
	return POP3D_OK;
}

enum pop3d_result pop3d_cmd_uidl(struct pop3d_session *s,
				 const struct pop3_cmd *cmd)
{
	const struct pop3d_maildrop *d = &s->drop;

	if (cmd->has_msg) {
		const struct pop3d_msg *m = pop3d_maildrop_msg(s, cmd->msg);
		if (m == NULL)
			return POP3D_FAIL;
		pop3d_reply(s, "+OK %u %s", cmd->msg, m->uidl);
		return POP3D_OK;
	}
	pop3d_reply(s, "+OK");
	for (size_t i = 0; i < d->count; i++)
		if (!d->msgs[i].deleted)
			pop3d_reply(s, "%zu %s", i + 1, d->msgs[i].uidl);
	pop3d_reply(s, ".");
	return POP3D_OK;
}

enum pop3d_result pop3d_cmd_dele(struct pop3d_session *s,
				 const struct pop3_cmd *cmd)
{
	struct pop3d_msg *m = pop3d_maildrop_msg(s, cmd->msg);

	if (m == NULL)
		return POP3D_FAIL;
	m->deleted = true;
	pop3d_reply(s, "+OK Marked to be deleted.");
	return POP3D_OK;
}

enum pop3d_result pop3d_cmd_rset(struct pop3d_session *s,
				 const struct pop3_cmd *cmd)
{
	struct pop3d_maildrop *d = &s->drop;

	for (size_t i = 0; i < d->count; i++)
		d->msgs[i].deleted = false;
	pop3d_reply(s, "+OK");
	return POP3D_OK;
}
