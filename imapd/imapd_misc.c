/* imapd_misc: the commands that belong to no mailbox: CAPABILITY (what
 * is offered depends on the state and on TLS), NOOP, LOGOUT, ENABLE
 * (RFC 5161), ID (RFC 2971) and NAMESPACE (RFC 2342). */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "log.h"
#include "str.h"
#include "imapd.h"

/* RFC 2971 3.3: the bounds a client must keep; a server may refuse more. */
#define ID_PAIRS_MAX 30
#define ID_FIELD_MAX 30
#define ID_VALUE_MAX 1024

/* Offered after login (the extensions are each file's; this is the one
 * list of them). APPENDLIMIT is added with its value. */
static const char caps_authed[] =
	"IMAP4rev1 IMAP4rev2 SASL-IR ID ENABLE IDLE LITERAL+ NAMESPACE "
	"UIDPLUS MOVE SPECIAL-USE CHILDREN LIST-EXTENDED LIST-STATUS "
	"ESEARCH SEARCHRES SORT SORT=DISPLAY THREAD=REFERENCES "
	"THREAD=ORDEREDSUBJECT CONDSTORE QRESYNC QUOTA QUOTA=RES-STORAGE "
	"QUOTA=RES-MESSAGE";
static const char caps_authed_tail[] =
	"COMPRESS=DEFLATE UTF8=ACCEPT METADATA METADATA-SERVER STATUS=SIZE "
	"PREVIEW SAVEDATE OBJECTID REPLACE MULTIAPPEND BINARY WITHIN "
	"UNSELECT NOTIFY";
/* Before login: what a client needs to decide how to log in. */
static const char caps_login[] =
	"IMAP4rev1 IMAP4rev2 SASL-IR ID ENABLE IDLE LITERAL+";

void imapd_capabilities(const struct imapd_session *s, struct buf *out)
{
	int ret;

	if (s->state != IMAPD_STATE_NOT_AUTH) {
		ret = buf_printf(out, "%s APPENDLIMIT=%llu %s", caps_authed,
				 (unsigned long long)s->p->append_limit,
				 caps_authed_tail);
	} else {
		ret = buf_append_str(out, caps_login);
		if (ret == 0 && s->tls == NULL && imapd_tables.tls != NULL)
			ret = buf_append_str(out, " STARTTLS");
		/* RFC 9051 6.2.3: no password in the clear, so neither
		 * LOGIN nor the only mechanism, PLAIN. */
		if (ret == 0)
			ret = buf_append_str(out, imapd_plaintext_allowed(s)
						   ? " AUTH=PLAIN"
						   : " LOGINDISABLED");
	}
	if (ret < 0)
		buf_reset(out);	/* cannot happen with a buffer of 4k */
}

/* Commands without arguments refuse any. True when there were none. */
static bool no_args(struct imapd_session *s, const struct imap_arg *args)
{
	if (args == NULL)
		return true;
	imapd_bad(s, "Unexpected arguments.");
	return false;
}

void imapd_cmd_capability(struct imapd_session *s,
			  const struct imap_arg *args)
{
	struct buf caps;

	if (!no_args(s, args))
		return;
	buf_init(&caps, 4096);
	imapd_capabilities(s, &caps);
	imapd_untagged(s, "CAPABILITY %s", buf_cstr(&caps));
	buf_deinit(&caps);
	imapd_ok(s, "Capability completed.");
}

void imapd_cmd_noop(struct imapd_session *s, const struct imap_arg *args)
{
	if (no_args(s, args))
		imapd_ok(s, "NOOP completed.");
}

void imapd_cmd_logout(struct imapd_session *s, const struct imap_arg *args)
{
	if (!no_args(s, args))
		return;
	imapd_bye(s, "logout", "Logging out");
	imapd_ok(s, "Logout completed.");
}

static const struct {
	const char *name;
	unsigned own;		/* the bit of this name */
	unsigned bits;		/* what it turns on */
	bool auth_only;		/* RFC 6855 3, RFC 9051 6.3.1: before a
				 * mailbox is selected */
} enable_names[] = {
	{ "CONDSTORE", IMAPD_ENABLED_CONDSTORE, IMAPD_ENABLED_CONDSTORE,
	  false },
	/* RFC 7162 3.2.3: QRESYNC implies CONDSTORE. */
	{ "QRESYNC", IMAPD_ENABLED_QRESYNC,
	  IMAPD_ENABLED_QRESYNC | IMAPD_ENABLED_CONDSTORE, false },
	{ "UTF8=ACCEPT", IMAPD_ENABLED_UTF8, IMAPD_ENABLED_UTF8, true },
	{ "IMAP4rev2", IMAPD_ENABLED_REV2, IMAPD_ENABLED_REV2, true },
};

/* The extension named by atom, or -1 for one we do not have (RFC 5161
 * 3.1: ignored). */
static int enable_find(const struct imapd_session *s, const char *atom)
{
	for (size_t i = 0; i < sizeof(enable_names) / sizeof(enable_names[0]);
	     i++) {
		if (!str_eq_ci(atom, enable_names[i].name))
			continue;
		if (enable_names[i].auth_only &&
		    s->state != IMAPD_STATE_AUTH)
			return -1;
		return (int)i;
	}
	return -1;
}

void imapd_cmd_enable(struct imapd_session *s, const struct imap_arg *args)
{
	const unsigned before = s->enabled;
	unsigned listed = 0;
	char line[128] = "ENABLED";
	size_t len = strlen(line);

	if (args == NULL) {
		imapd_bad(s, "Missing capability names.");
		return;
	}
	for (const struct imap_arg *a = args; a != NULL; a = a->next) {
		const char *atom;
		if (a->type != IMAP_ARG_ATOM || !imap_arg_get_atom(a, &atom)) {
			imapd_bad(s, "Capability names must be atoms.");
			return;
		}
	}
	for (const struct imap_arg *a = args; a != NULL; a = a->next) {
		int i = enable_find(s, a->str);
		if (i < 0)
			continue;
		/* The name as it was enabled, first time only: "ENABLE
		 * QRESYNC CONDSTORE" lists both (RFC 7162 3.2.3). */
		unsigned own = enable_names[i].own;
		s->enabled |= enable_names[i].bits;
		if ((before & own) != 0 || (listed & own) != 0)
			continue;
		listed |= own;
		int n = snprintf(line + len, sizeof(line) - len, " %s",
				 enable_names[i].name);
		if (n > 0 && (size_t)n < sizeof(line) - len)
			len += (size_t)n;
	}
	imapd_untagged(s, "%s", line);
	imapd_ok(s, "Enabled.");
}

/* RFC 2971: NIL, or a list of field/value pairs within the bounds. */
static bool id_valid(const struct imap_arg *args)
{
	const struct imap_arg *a;
	size_t n = 0;

	if (args == NULL || args->next != NULL)
		return false;
	if (args->type == IMAP_ARG_NIL)
		return true;
	if (args->type != IMAP_ARG_LIST || args->list_count % 2 != 0 ||
	    args->list_count / 2 > ID_PAIRS_MAX)
		return false;
	for (a = args->list; a != NULL; a = a->next, n++) {
		const char *str;
		size_t len;
		if (n % 2 == 0) {
			if ((a->type != IMAP_ARG_STRING &&
			     a->type != IMAP_ARG_LITERAL) ||
			    a->len > ID_FIELD_MAX)
				return false;
		} else if (!imap_arg_get_nstring(a, &str, &len) ||
			   len > ID_VALUE_MAX) {
			return false;
		}
	}
	return true;
}

/* One line for the operator: which client this is. */
static void id_log(struct imapd_session *s, const struct imap_arg *args)
{
	char name[128] = "", version[128] = "";

	if (args->type != IMAP_ARG_LIST)
		return;
	for (const struct imap_arg *f = args->list; f != NULL && f->next;
	     f = f->next->next) {
		const struct imap_arg *v = f->next;
		if (v->type == IMAP_ARG_NIL)
			continue;
		if (str_eq_ci(f->str, "name"))
			log_escape(name, sizeof(name), v->str, 30);
		else if (str_eq_ci(f->str, "version"))
			log_escape(version, sizeof(version), v->str, 30);
	}
	log_info("id: rip=%s, name=%s, version=%s", s->rip, name, version);
}

void imapd_cmd_id(struct imapd_session *s, const struct imap_arg *args)
{
	if (!id_valid(args)) {
		imapd_bad(s, "Invalid ID parameters.");
		return;
	}
	id_log(s, args);
	imapd_untagged(s, "ID (\"name\" \"%s\" \"version\" \"%s\")",
		       PACKAGE_NAME, PACKAGE_VERSION);
	imapd_ok(s, "ID completed.");
}

void imapd_cmd_namespace(struct imapd_session *s,
			 const struct imap_arg *args)
{
	if (!no_args(s, args))
		return;
	/* One personal namespace: the user's own folders, no prefix. */
	imapd_untagged(s, "NAMESPACE ((\"\" \"%c\")) NIL NIL",
		       s->p->separator);
	imapd_ok(s, "Namespace completed.");
}
