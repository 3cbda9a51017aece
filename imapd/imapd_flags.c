/* imapd_flags: IMAP flags in and out. The five system flags map to the
 * letters of a Maildir file name; keywords are this folder's
 * dovecot-keywords (at most 26, the letters a..z). Output order is
 * Dovecot's: \Answered \Flagged \Deleted \Seen \Draft \Recent, then the
 * keywords in index order. */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "buf.h"
#include "str.h"
#include "imapd.h"

/* A FETCH response of one message never gets near this: 26 keywords
 * of at most 250 octets each. */
#define FLAGS_REPLY_MAX (64 * 1024)
/* What dovecot-keywords holds (lib/mailstore: MS_KEYWORD_NAME_MAX). */
#define KEYWORD_LEN_MAX 250

struct flag_name {
	const char *name;
	unsigned flag;
};

/* In output order. */
static const struct flag_name system_flags[] = {
	{ "\\Answered", MAILSTORE_FLAG_ANSWERED },
	{ "\\Flagged", MAILSTORE_FLAG_FLAGGED },
	{ "\\Deleted", MAILSTORE_FLAG_DELETED },
	{ "\\Seen", MAILSTORE_FLAG_SEEN },
	{ "\\Draft", MAILSTORE_FLAG_DRAFT },
};
#define SYSTEM_FLAG_COUNT (sizeof(system_flags) / sizeof(system_flags[0]))

/* The system flags as a list's start, without the closing parenthesis. */
static int write_system_flags(struct buf *out, unsigned flags)
{
	bool first = true;

	for (size_t i = 0; i < SYSTEM_FLAG_COUNT; i++) {
		if ((flags & system_flags[i].flag) == 0)
			continue;
		if ((!first && buf_append_char(out, ' ') < 0) ||
		    buf_append_str(out, system_flags[i].name) < 0)
			return -1;
		first = false;
	}
	return 0;
}

/* Appends " name" (or "name" at a list's start) for each keyword bit. */
static int write_keywords(struct buf *out, const struct mailstore *box,
			  uint32_t keywords, bool first)
{
	for (unsigned i = 0; i < MAILSTORE_KEYWORDS_MAX; i++) {
		const char *name;
		if ((keywords & (UINT32_C(1) << i)) == 0 ||
		    (name = mailstore_keyword_name(box, i)) == NULL)
			continue;
		if ((!first && buf_append_char(out, ' ') < 0) ||
		    buf_append_str(out, name) < 0)
			return -1;
		first = false;
	}
	return 0;
}

int imapd_flags_write(struct imapd_session *s, size_t idx, bool recent,
		      struct buf *out)
{
	const struct mailstore_msg *m = mailstore_msg(s->sel->box, idx);
	size_t start;

	if (buf_append_char(out, '(') < 0)
		return -1;
	start = out->len;
	if (write_system_flags(out, m->flags) < 0)
		return -1;
	if (recent && buf_append_str(out, out->len > start ? " \\Recent" :
				     "\\Recent") < 0)
		return -1;
	if (write_keywords(out, s->sel->box, m->keywords,
			   out->len == start) < 0)
		return -1;
	return buf_append_char(out, ')');
}

uint32_t imapd_flags_defined(const struct mailstore *box)
{
	uint32_t mask = 0;

	for (unsigned i = 0; i < MAILSTORE_KEYWORDS_MAX; i++)
		if (mailstore_keyword_name(box, i) != NULL)
			mask |= UINT32_C(1) << i;
	return mask;
}

void imapd_flags_announce(struct imapd_session *s)
{
	struct imapd_selected *sel = s->sel;
	uint32_t defined = imapd_flags_defined(sel->box);
	struct buf b;

	buf_init(&b, FLAGS_REPLY_MAX * 2);
	if (buf_append_str(&b, "FLAGS (") < 0 ||
	    write_system_flags(&b, MAILSTORE_FLAGS_ALL) < 0 ||
	    write_keywords(&b, sel->box, defined, false) < 0 ||
	    buf_append_char(&b, ')') < 0) {
		buf_deinit(&b);
		return;
	}
	imapd_untagged(s, "%s", buf_cstr(&b));
	buf_reset(&b);
	if (sel->readonly) {
		imapd_untagged(s, "OK [PERMANENTFLAGS ()] Read-only mailbox.");
	} else if (buf_append_str(&b, "OK [PERMANENTFLAGS (") == 0 &&
		   write_system_flags(&b, MAILSTORE_FLAGS_ALL) == 0 &&
		   write_keywords(&b, sel->box, defined, false) == 0 &&
		   /* "\*": new keywords can still be made. */
		   buf_append_str(&b, defined == (UINT32_C(1) <<
						  MAILSTORE_KEYWORDS_MAX) - 1
				  ? ")] Flags permitted." :
				  " \\*)] Flags permitted.") == 0) {
		imapd_untagged(s, "%s", buf_cstr(&b));
	}
	buf_deinit(&b);
	sel->keywords_told = defined;
}

void imapd_flags_fetch_reply(struct imapd_session *s, uint32_t msn,
			     size_t idx, bool uid, bool flags)
{
	const struct mailstore_msg *m = mailstore_msg(s->sel->box, idx);
	bool rev2 = (s->enabled & IMAPD_ENABLED_REV2) != 0;
	struct buf b;
	int ret = 0;

	if ((s->enabled & (IMAPD_ENABLED_QRESYNC | IMAPD_ENABLED_REV2)) != 0)
		uid = true;	/* RFC 7162 3.2.4; RFC 9051 7.5.2 */
	buf_init(&b, FLAGS_REPLY_MAX);
	if (uid)
		ret = buf_printf(&b, "UID %u", m->uid);
	if (ret == 0 && (s->enabled & IMAPD_ENABLED_CONDSTORE) != 0)
		ret = buf_printf(&b, "%sMODSEQ (%llu)", b.len > 0 ? " " : "",
				 (unsigned long long)m->modseq);
	if (ret == 0 && flags) {
		bool recent = !rev2 && s->sel->msgs[msn - 1].recent;
		ret = buf_append_str(&b, b.len > 0 ? " FLAGS " : "FLAGS ");
		if (ret == 0)
			ret = imapd_flags_write(s, idx, recent, &b);
	}
	if (ret == 0 && b.len > 0)
		imapd_untagged(s, "%u FETCH (%s)", msn, buf_cstr(&b));
	buf_deinit(&b);
	imapd_view_told(s, msn);
}

/* RFC 9051 flag-keyword = atom: ATOM-CHARs only (the parser's atoms
 * may also hold list wildcards and "]"). */
static bool keyword_valid(const char *name)
{
	if (*name == '\0')
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0';
	     p++)
		if (*p <= 0x20 || *p >= 0x7f || strchr("(){%*\"\\]", *p))
			return false;
	return true;
}

/* One flag atom into *flags / *keywords. */
static int parse_one(struct mailstore *box, const char *name, bool create,
		     unsigned *flags, uint32_t *keywords, bool *bad_r,
		     const char **error_r)
{
	unsigned idx;

	*bad_r = true;
	if (name[0] == '\\') {
		for (size_t i = 0; i < SYSTEM_FLAG_COUNT; i++) {
			if (str_eq_ci(name, system_flags[i].name)) {
				*flags |= system_flags[i].flag;
				return 0;
			}
		}
		/* \Recent included: the server's alone (RFC 3501 2.3.2). */
		*error_r = str_eq_ci(name, "\\Recent") ?
			"Invalid system flag \\Recent" :
			"Invalid system flag";
		return -1;
	}
	*bad_r = false;
	if (!keyword_valid(name)) {
		*error_r = "[CANNOT] Invalid characters in keyword";
		return -1;
	}
	if (strlen(name) > KEYWORD_LEN_MAX) {
		*error_r = "[CANNOT] Keyword too long";
		return -1;
	}
	int ret = mailstore_keyword_index(box, name, create, &idx, error_r);
	if (ret < 0)
		return -1;
	if (ret == 0 && create) {
		*error_r = "[LIMIT] Too many keywords in this mailbox "
			   "(26 at most)";
		return -1;
	}
	if (ret > 0)
		*keywords |= UINT32_C(1) << idx;
	return 0;
}

int imapd_flags_parse(struct mailstore *box, const struct imap_arg *arg,
		      bool create, unsigned *flags_r, uint32_t *keywords_r,
		      bool *bad_r, const char **error_r)
{
	const struct imap_arg *a;
	const char *name;

	*flags_r = 0;
	*keywords_r = 0;
	*bad_r = true;
	if (arg == NULL) {
		*error_r = "Missing flags";
		return -1;
	}
	/* "(\\Seen \\Deleted)", or "\\Seen \\Deleted" (RFC 3501 STORE). */
	if (arg->type == IMAP_ARG_LIST) {
		a = arg->list;
	} else if (imap_arg_get_atom(arg, &name)) {
		a = arg;	/* NUMBER and NIL are atoms too */
	} else {
		*error_r = "Flags list contains non-atoms";
		return -1;
	}
	for (; a != NULL; a = a->next) {
		if (!imap_arg_get_atom(a, &name)) {
			*error_r = "Flags list contains non-atoms";
			return -1;
		}
		if (parse_one(box, name, create, flags_r, keywords_r, bad_r,
			      error_r) < 0)
			return -1;
	}
	return 0;
}
