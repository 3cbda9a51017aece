/* content_check_action: one look-up of a header or body line in its
 * tables and the action the table gives, as header_checks(5) defines
 * them. The action word is case-insensitive; the rest of the result,
 * after white space, is its text. */
#include "config.h"
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include "content_check_impl.h"
#include "maps.h"
#include "str.h"

enum op {
	OP_NONE,	/* DUNNO, OK */
	OP_LOG,		/* WARN, INFO */
	OP_REJECT,
	OP_DISCARD,
	OP_HOLD,
	OP_PASS,
	OP_IGNORE,	/* silent */
	OP_STRIP,	/* logged */
	OP_PREPEND,
	OP_REPLACE,
	OP_UNSUPPORTED,
};

struct action {
	const char *name;
	const char *log;	/* Postfix's log word, or NULL: not logged */
	enum op op;
};

static const struct action actions[] = {
	{ "BCC", NULL, OP_UNSUPPORTED },
	{ "DISCARD", "discard", OP_DISCARD },
	{ "DUNNO", NULL, OP_NONE },
	{ "FILTER", NULL, OP_UNSUPPORTED },
	{ "HOLD", "hold", OP_HOLD },
	{ "IGNORE", NULL, OP_IGNORE },
	{ "INFO", "info", OP_LOG },
	{ "OK", NULL, OP_NONE },
	{ "PASS", "pass", OP_PASS },
	{ "PREPEND", "prepend", OP_PREPEND },
	{ "REDIRECT", NULL, OP_UNSUPPORTED },
	{ "REJECT", "reject", OP_REJECT },
	{ "REPLACE", "replace", OP_REPLACE },
	{ "STRIP", "strip", OP_STRIP },
	{ "WARN", "warning", OP_LOG },
};

static const struct action *action_find(const char *word, size_t len)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strlen(actions[i].name) == len &&
		    strncasecmp(actions[i].name, word, len) == 0)
			return &actions[i];
	return NULL;
}

static void report(struct content_check *cc, enum content_check_kind kind,
		   enum content_check_class class, const char *map,
		   const char *action, const char *line, size_t len,
		   const char *text)
{
	struct content_check_event ev = {
		.kind = kind,
		.class = class,
		.context = class == CONTENT_CHECK_BODY ? "body" : "header",
		.map = map,
		.action = action,
		.line = line,
		.line_len = len,
		.text = text,
	};

	cc->event(cc->ctx, &ev);
}

/* "4.7.1 " or "5.7.1" at the start of text: an RFC 3463 status that
 * a REJECT text may carry (else 5.7.1 goes first, as Postfix). */
static bool has_status(const char *s)
{
	if (s[0] != '4' && s[0] != '5')
		return false;
	s++;
	for (int part = 0; part < 2; part++) {
		size_t n = 0;
		if (*s++ != '.')
			return false;
		while (n < 3 && isdigit((unsigned char)*s)) {
			s++;
			n++;
		}
		if (n == 0)
			return false;
	}
	return *s == '\0' || *s == ' ';
}

/* The SMTP reply for REJECT text (text may hold message content through
 * $n substitutions: only printable ASCII reaches the client). */
static void reject_reply(struct content_check *cc, const char *text)
{
	char *r = cc->verdict.reply;
	const char *status = has_status(text) ? "" : "5.7.1 ";
	int n;

	if (*text == '\0')
		text = "message content rejected";
	n = snprintf(r, CONTENT_CHECK_REPLY_MAX, "%s %s%s",
		     *text == '4' && *status == '\0' ? "450" : "550", status,
		     text);
	if (n < 0)
		r[0] = '\0';
	for (char *p = r; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
}

/* "Name:" with a valid field name (RFC 5322 2.2), white space allowed
 * before the colon as in obsolete syntax. */
static bool is_header_text(const char *s)
{
	size_t n = 0;

	while (s[n] > 0x20 && s[n] < 0x7f && s[n] != ':')
		n++;
	if (n == 0)
		return false;
	while (s[n] == ' ' || s[n] == '\t')
		n++;
	return s[n] == ':';
}

/* PREPEND, REPLACE: the text goes into the content as one line. */
static enum content_check_effect
edit_text(struct content_check *cc, const struct action *a,
	  enum content_check_class class, const char *map, const char *line,
	  size_t len, const char *text, char *text_r)
{
	if (*text == '\0' ||
	    (class != CONTENT_CHECK_BODY && !is_header_text(text))) {
		report(cc, CONTENT_CHECK_BAD_ACTION, class, map, a->name, line,
		       len, *text == '\0' ? "action without text"
					  : "text is not a header "
					    "(need \"name: value\")");
		return CONTENT_CHECK_KEEP;
	}
	if (str_copy(text_r, CONTENT_CHECK_TEXT_MAX, text) < 0) {
		report(cc, CONTENT_CHECK_BAD_ACTION, class, map, a->name, line,
		       len, "text too long");
		return CONTENT_CHECK_KEEP;
	}
	for (char *p = text_r; *p != '\0'; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	report(cc, CONTENT_CHECK_ACTION, class, map, a->log, line, len, text);
	return a->op == OP_PREPEND ? CONTENT_CHECK_PREPEND
				   : CONTENT_CHECK_REPLACE;
}

/* The first REJECT or DISCARD decides the message and ends inspection. */
static void decide(struct content_check *cc, enum content_check_final f)
{
	if (cc->verdict.final == CONTENT_CHECK_ACCEPT)
		cc->verdict.final = f;
	cc->stopped = true;
}

static enum content_check_effect
act(struct content_check *cc, const struct action *a,
    enum content_check_class class, const char *map, const char *line,
    size_t len, const char *text, char *text_r)
{
	switch (a->op) {
	case OP_NONE:
		return CONTENT_CHECK_KEEP;
	case OP_UNSUPPORTED:
		report(cc, CONTENT_CHECK_UNSUPPORTED, class, map, a->name,
		       line, len, text);
		return CONTENT_CHECK_KEEP;
	case OP_REJECT:
		reject_reply(cc, text);
		decide(cc, CONTENT_CHECK_REJECT);
		/* The log shows the reason as the client gets it. */
		report(cc, CONTENT_CHECK_ACTION, class, map, a->log, line, len,
		       cc->verdict.reply + 4);
		return CONTENT_CHECK_KEEP;
	case OP_DISCARD:
		decide(cc, CONTENT_CHECK_DISCARD);
		break;
	case OP_HOLD:
		cc->verdict.hold = true;
		break;
	case OP_PASS:
		cc->stopped = true;
		break;
	case OP_IGNORE:
		return CONTENT_CHECK_DROP;
	case OP_PREPEND:
	case OP_REPLACE:
		return edit_text(cc, a, class, map, line, len, text, text_r);
	case OP_LOG:
	case OP_STRIP:
		break;
	}
	report(cc, CONTENT_CHECK_ACTION, class, map, a->log, line, len, text);
	return a->op == OP_STRIP ? CONTENT_CHECK_DROP : CONTENT_CHECK_KEEP;
}

enum content_check_effect content_check_apply(struct content_check *cc,
					      enum content_check_class class,
					      const char *text, size_t len,
					      char *text_r)
{
	struct maps *maps = cc->cfg.maps[class];
	const char *value, *error, *warning;
	int ret;

	/* Empty lines never match (header_checks(5)). */
	if (cc->stopped || maps == NULL || len == 0)
		return CONTENT_CHECK_KEEP;
	ret = maps_lookup(maps, text, &value, &error);
	if ((warning = maps_take_warning(maps)) != NULL)
		report(cc, CONTENT_CHECK_MAP_WARNING, class, maps_spec(maps),
		       NULL, text, len, warning);
	if (ret < 0) {
		decide(cc, CONTENT_CHECK_TEMPFAIL);
		report(cc, CONTENT_CHECK_MAP_ERROR, class, maps_spec(maps),
		       NULL, text, len, error);
		return CONTENT_CHECK_KEEP;
	}
	if (ret == 0)
		return CONTENT_CHECK_KEEP;

	size_t n = strcspn(value, " \t");
	const char *rest = value + n;
	while (*rest == ' ' || *rest == '\t')
		rest++;
	const struct action *a = action_find(value, n);
	if (a == NULL) {
		report(cc, CONTENT_CHECK_BAD_ACTION, class, maps_spec(maps),
		       NULL, text, len, value);
		return CONTENT_CHECK_KEEP;
	}
	return act(cc, a, class, maps_spec(maps), text, len, rest, text_r);
}
