/* imapd_cmd: the one table of IMAP commands (name, the states it is
 * valid in, how it treats untagged EXPUNGE, its handler) and the
 * dispatch: the "UID" prefix, unknown commands, and commands given in
 * the wrong state. The handlers live in one file per area (imapd.h). */
#include "config.h"
#include <string.h>
#include <strings.h>
#include "imapd.h"
#include "imapd_notify.h"

#define AUTHED (IMAPD_STATE_AUTH | IMAPD_STATE_SELECTED)
#define SEL IMAPD_STATE_SELECTED
#define SEQUID (IMAPD_CMD_SEQ | IMAPD_CMD_UID)

/* Sorted by name for the binary search below. */
static const struct imapd_cmd_def imapd_cmds[] = {
	{ "APPEND", AUTHED, 0, imapd_cmd_append },
	{ "AUTHENTICATE", IMAPD_STATE_NOT_AUTH, 0, imapd_cmd_authenticate },
	{ "CAPABILITY", IMAPD_STATE_ANY, 0, imapd_cmd_capability },
	{ "CHECK", SEL, 0, imapd_cmd_check },
	{ "CLOSE", SEL, 0, imapd_cmd_close },
	{ "COMPRESS", AUTHED, 0, imapd_cmd_compress },
	{ "COPY", SEL, SEQUID, imapd_cmd_copy },
	{ "CREATE", AUTHED, 0, imapd_cmd_create },
	{ "DELETE", AUTHED, 0, imapd_cmd_delete },
	{ "ENABLE", AUTHED, 0, imapd_cmd_enable },
	{ "EXAMINE", AUTHED, 0, imapd_cmd_examine },
	/* EXPUNGE itself reports expunges; UID EXPUNGE is UIDPLUS's. */
	{ "EXPUNGE", SEL, IMAPD_CMD_UID, imapd_cmd_expunge },
	{ "FETCH", SEL, SEQUID, imapd_cmd_fetch },
	{ "GETMETADATA", AUTHED, 0, imapd_cmd_getmetadata },
	{ "GETQUOTA", AUTHED, 0, imapd_cmd_getquota },
	{ "GETQUOTAROOT", AUTHED, 0, imapd_cmd_getquotaroot },
	{ "ID", IMAPD_STATE_ANY, 0, imapd_cmd_id },
	/* IDLE reports changes itself while it runs. */
	{ "IDLE", AUTHED, IMAPD_CMD_NOSYNC, imapd_cmd_idle },
	{ "LIST", AUTHED, 0, imapd_cmd_list },
	{ "LOGIN", IMAPD_STATE_NOT_AUTH, 0, imapd_cmd_login },
	{ "LOGOUT", IMAPD_STATE_ANY, IMAPD_CMD_NOSYNC, imapd_cmd_logout },
	{ "LSUB", AUTHED, 0, imapd_cmd_lsub },
	{ "MOVE", SEL, SEQUID, imapd_cmd_move },
	{ "NAMESPACE", AUTHED, 0, imapd_cmd_namespace },
	{ "NOOP", IMAPD_STATE_ANY, 0, imapd_cmd_noop },
	{ "NOTIFY", AUTHED, 0, imapd_cmd_notify },
	{ "RENAME", AUTHED, 0, imapd_cmd_rename },
	{ "REPLACE", SEL, IMAPD_CMD_UID, imapd_cmd_replace },
	{ "SEARCH", SEL, SEQUID, imapd_cmd_search },
	{ "SELECT", AUTHED, 0, imapd_cmd_select },
	{ "SETMETADATA", AUTHED, 0, imapd_cmd_setmetadata },
	{ "SETQUOTA", AUTHED, 0, imapd_cmd_setquota },
	{ "SORT", SEL, SEQUID, imapd_cmd_sort },
	{ "STARTTLS", IMAPD_STATE_NOT_AUTH, 0, imapd_cmd_starttls },
	{ "STATUS", AUTHED, 0, imapd_cmd_status },
	{ "STORE", SEL, SEQUID, imapd_cmd_store },
	{ "SUBSCRIBE", AUTHED, 0, imapd_cmd_subscribe },
	{ "THREAD", SEL, SEQUID, imapd_cmd_thread },
	{ "UNSELECT", SEL, 0, imapd_cmd_unselect },
	{ "UNSUBSCRIBE", AUTHED, 0, imapd_cmd_unsubscribe },
};

static int def_cmp(const void *key, const void *elem)
{
	const struct imapd_cmd_def *def = elem;

	return strcasecmp(key, def->name);
}

static const struct imapd_cmd_def *find(const char *name)
{
	size_t lo = 0, hi = sizeof(imapd_cmds) / sizeof(imapd_cmds[0]);

	/* bsearch() would do, but this keeps the comparison in one place
	 * and needs no cast away from const. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = def_cmp(name, &imapd_cmds[mid]);
		if (c == 0)
			return &imapd_cmds[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Why a known command cannot run now, in the words a client shows
 * (Dovecot's where it has them). */
static const char *state_error(const struct imapd_session *s,
			       const struct imapd_cmd_def *def)
{
	if (s->state == IMAPD_STATE_NOT_AUTH)
		return "Command not valid in this state: log in first.";
	if ((def->states & IMAPD_STATE_NOT_AUTH) != 0)
		return "Command not valid in this state: already logged in.";
	return "No mailbox selected.";
}

/* "UID name ...": the command after the prefix, which must be one that
 * takes it. NULL after the BAD reply. */
static const struct imapd_cmd_def *uid_command(struct imapd_session *s,
					       const struct imap_arg **args)
{
	const char *name;
	const struct imapd_cmd_def *def;

	if (*args == NULL || (*args)->type != IMAP_ARG_ATOM ||
	    !imap_arg_get_atom(*args, &name)) {
		imapd_bad(s, "Missing command name after UID.");
		return NULL;
	}
	def = find(name);
	if (def == NULL || (def->flags & IMAPD_CMD_UID) == 0) {
		imapd_bad(s, "Error in IMAP command UID %.64s: Unknown "
			     "command.", name);
		return NULL;
	}
	*args = (*args)->next;
	s->cmd_uid = true;
	return def;
}

void imapd_cmd_dispatch(struct imapd_session *s,
			const struct imap_command *cmd)
{
	const struct imap_arg *args = cmd->args;
	const struct imapd_cmd_def *def;

	s->cmd_uid = false;
	s->cmd_flags = 0;
	if (strcmp(cmd->name, "UID") == 0) {
		def = uid_command(s, &args);
		if (def == NULL)
			return;
	} else {
		def = find(cmd->name);
		if (def == NULL) {
			imapd_bad(s, "Error in IMAP command %.64s: Unknown "
				     "command.", cmd->name);
			return;
		}
	}
	s->cmd_name = def->name;
	if ((def->states & s->state) == 0) {
		imapd_bad(s, "%s", state_error(s, def));
		return;
	}
	s->cmd_flags = def->flags;
	def->fn(s, args);
}
