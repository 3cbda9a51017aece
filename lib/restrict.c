/* restrict: restriction lists, parsed once and evaluated per request
 * (the contract is in restrict.h). The restrictions themselves are in
 * restrict_check.c, access(5) tables in restrict_access.c. */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mem.h"
#include "restrict_impl.h"

#define WORD_MAX 4096		/* one restriction or table spec */
#define BRACE_DEPTH_MAX 8

struct restrict_list {
	enum restrict_stage stage;
	struct restrict_tables tables;
	bool have_tables;
	size_t count;
	struct restrict_entry entries[RESTRICT_LIST_MAX];
};

static char error_buf[WORD_MAX + 256];

static const char *const stage_parameters[RESTRICT_STAGE_COUNT] = {
	[RESTRICT_CLIENT] = "smtpd_client_restrictions",
	[RESTRICT_HELO] = "smtpd_helo_restrictions",
	[RESTRICT_SENDER] = "smtpd_sender_restrictions",
	[RESTRICT_RELAY] = "smtpd_relay_restrictions",
	[RESTRICT_RECIPIENT] = "smtpd_recipient_restrictions",
};

/* A bare "type:name" in a list is the stage's own access table. */
static const char *const stage_access[RESTRICT_STAGE_COUNT] = {
	[RESTRICT_CLIENT] = "check_client_access",
	[RESTRICT_HELO] = "check_helo_access",
	[RESTRICT_SENDER] = "check_sender_access",
	[RESTRICT_RELAY] = "check_recipient_access",
	[RESTRICT_RECIPIENT] = "check_recipient_access",
};

const char *restrict_stage_parameter(enum restrict_stage stage)
{
	return stage < RESTRICT_STAGE_COUNT ? stage_parameters[stage] : "?";
}

enum restrict_subject restrict_stage_subject(enum restrict_stage stage)
{
	static const enum restrict_subject subjects[RESTRICT_STAGE_COUNT] = {
		[RESTRICT_CLIENT] = RESTRICT_SUBJ_CLIENT,
		[RESTRICT_HELO] = RESTRICT_SUBJ_HELO,
		[RESTRICT_SENDER] = RESTRICT_SUBJ_SENDER,
		[RESTRICT_RELAY] = RESTRICT_SUBJ_RECIPIENT,
		[RESTRICT_RECIPIENT] = RESTRICT_SUBJ_RECIPIENT,
	};
	return subjects[stage];
}

const char *restrict_subject_class(enum restrict_subject subject)
{
	static const char *const classes[] = {
		[RESTRICT_SUBJ_CLIENT] = "Client host",
		[RESTRICT_SUBJ_HELO] = "Helo command",
		[RESTRICT_SUBJ_SENDER] = "Sender address",
		[RESTRICT_SUBJ_RECIPIENT] = "Recipient address",
	};
	return classes[subject];
}

const char *restrict_subject_name(const struct restrict_ctx *ctx,
				  enum restrict_subject subject,
				  char *buf, size_t size)
{
	const char *s = NULL;

	switch (subject) {
	case RESTRICT_SUBJ_CLIENT:
		snprintf(buf, size, "%s[%s]",
			 ctx->client_name ? ctx->client_name : "unknown",
			 ctx->client_addr ? ctx->client_addr : "unknown");
		return buf;
	case RESTRICT_SUBJ_HELO:
		s = ctx->helo;
		break;
	case RESTRICT_SUBJ_SENDER:
		s = ctx->sender;
		break;
	case RESTRICT_SUBJ_RECIPIENT:
		s = ctx->recipient;
		break;
	}
	return s != NULL ? s : "";
}

enum restrict_verdict restrict_set(struct restrict_result *r,
				   enum restrict_verdict v, const char *by,
				   const char *fmt, ...)
{
	va_list ap;

	r->verdict = v;
	r->by = by;
	va_start(ap, fmt);
	vsnprintf(r->reply, sizeof(r->reply), fmt, ap);
	va_end(ap);
	restrict_sanitize(r->reply);
	return v;
}

void restrict_sanitize(char *text)
{
	/* Table text, DNS text and client-supplied names end up in a reply
	 * line. */
	for (char *p = text; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

void restrict_defer_if(struct restrict_result *r, bool permit,
		       const char *fmt, ...)
{
	char *slot = permit ? r->defer_if_permit : r->defer_if_reject;
	va_list ap;

	if (slot[0] != '\0')
		return;	/* the first one wins, as Postfix */
	va_start(ap, fmt);
	vsnprintf(slot, RESTRICT_REPLY_MAX, fmt, ap);
	va_end(ap);
	restrict_sanitize(slot);
}

/* ---- parsing ---- */

/* The next word of *s: separated by commas and white space, a "{...}"
 * group (nested at most BRACE_DEPTH_MAX) taken whole. Returns 1 (word in
 * buf), 0 (end), -1 (unbalanced braces or a word too long). */
static int next_word(const char **s, char *buf, size_t size)
{
	const char *p = *s + strspn(*s, ", \t\r\n");
	size_t len = 0;
	int depth = 0;

	if (*p == '\0')
		return 0;
	for (; *p != '\0'; p++) {
		if (depth == 0 && strchr(", \t\r\n", *p) != NULL)
			break;
		if (*p == '{' && ++depth > BRACE_DEPTH_MAX)
			return -1;
		if (*p == '}' && --depth < 0)
			return -1;
		if (len + 1 >= size)
			return -1;
		buf[len++] = *p;
	}
	buf[len] = '\0';
	*s = p;
	return depth == 0 ? 1 : -1;
}

static const struct restrict_def *find_def(const char *name)
{
	for (size_t i = 0; i < restrict_defs_count; i++)
		if (strcmp(restrict_defs[i].name, name) == 0)
			return &restrict_defs[i];
	return NULL;
}

static int fail(const char **error_r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int fail(const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(error_buf, sizeof(error_buf), fmt, ap);
	va_end(ap);
	*error_r = error_buf;
	return -1;
}

/* The argument of e: a table (opened) or a DNSBL zone[=filter]. */
static int set_arg(struct restrict_list *list, struct restrict_entry *e,
		   const char *parameter, const char *arg,
		   const char **error_r)
{
	const char *error;

	e->arg = xstrdup(arg);
	if (e->def->check != restrict_access_check) {
		char *eq = strchr(e->arg, '=');
		if (eq != NULL) {
			*eq = '\0';
			e->filter = eq + 1;
		}
		if (e->arg[0] == '\0' || (eq != NULL && e->filter[0] == '\0'))
			return fail(error_r, "%s: %s: bad DNSBL zone \"%s\"",
				    parameter, e->def->name, arg);
		return 0;
	}
	if (!list->have_tables)
		return fail(error_r, "%s: %s: tables are not available here",
			    parameter, e->def->name);
	if (strchr(arg, ':') == NULL)
		return fail(error_r, "%s: %s: \"%s\" is not a type:name table",
			    parameter, e->def->name, arg);
	e->table = list->tables.open_table(list->tables.ctx, arg, &error);
	if (e->table == NULL)
		return fail(error_r, "%s: %s %s: %s", parameter, e->def->name,
			    arg, error);
	return 0;
}

/* Adds the restriction named word (taking its argument from *s). */
static int parse_entry(struct restrict_list *list, const char *parameter,
		       const char *word, const char **s, const char **error_r)
{
	char arg[WORD_MAX];
	const char *name = word;
	const struct restrict_def *def;

	if (find_def(word) == NULL && strchr(word, ':') != NULL)
		name = stage_access[list->stage];
	def = find_def(name);
	if (def == NULL)
		return fail(error_r, "%s: unknown restriction \"%s\"",
			    parameter, word);
	if (list->count >= RESTRICT_LIST_MAX)
		return fail(error_r, "%s: more than %d restrictions", parameter,
			    RESTRICT_LIST_MAX);
	struct restrict_entry *e = &list->entries[list->count++];
	e->def = def;
	if (name != word)
		return set_arg(list, e, parameter, word, error_r);
	if (!def->has_arg)
		return 0;
	int ret = next_word(s, arg, sizeof(arg));
	if (ret <= 0)
		return fail(error_r, "%s: %s needs an argument%s", parameter,
			    word, ret < 0 ? " (bad braces or too long)" : "");
	return set_arg(list, e, parameter, arg, error_r);
}

int restrict_parse(const char *parameter, enum restrict_stage stage,
		   const char *value, const struct restrict_tables *tables,
		   struct restrict_list **list_r, const char **error_r)
{
	struct restrict_list *list = xcalloc(1, sizeof(*list));
	char word[WORD_MAX];
	const char *s = value;
	int ret;

	list->stage = stage;
	if (tables != NULL) {
		list->tables = *tables;
		list->have_tables = true;
	}
	while ((ret = next_word(&s, word, sizeof(word))) > 0)
		if (parse_entry(list, parameter, word, &s, error_r) < 0)
			break;
	if (ret == 0) {
		*list_r = list;
		return 0;
	}
	if (ret < 0)
		fail(error_r, "%s: unbalanced braces or a word over %d "
			      "characters", parameter, WORD_MAX - 1);
	restrict_list_free(&list);
	return -1;
}

void restrict_list_free(struct restrict_list **listp)
{
	struct restrict_list *list = *listp;

	if (list == NULL)
		return;
	for (size_t i = 0; i < list->count; i++) {
		struct restrict_entry *e = &list->entries[i];
		if (e->table != NULL)
			list->tables.close_table(list->tables.ctx, e->table);
		free(e->arg);
	}
	free(list);
	*listp = NULL;
}

/* ---- evaluation ---- */

/* Forgets a restriction's answer, not the pending defer_if_*. */
static void result_clear(struct restrict_result *r)
{
	r->verdict = RESTRICT_DUNNO;
	r->reply[0] = '\0';
	r->by = NULL;
}

static void eval_list(const struct restrict_list *list,
		      const struct restrict_ctx *ctx,
		      struct restrict_result *result)
{
	result_clear(result);
	if (list == NULL)
		return;
	enum restrict_subject subject = restrict_stage_subject(list->stage);
	for (size_t i = 0; i < list->count; i++) {
		const struct restrict_entry *e = &list->entries[i];
		result_clear(result);
		if (e->def->check(e, ctx, subject, result) != RESTRICT_DUNNO)
			return;
	}
	result_clear(result);
}

void restrict_eval(const struct restrict_list *list,
		   const struct restrict_ctx *ctx,
		   struct restrict_result *result)
{
	memset(result, 0, sizeof(*result));
	eval_list(list, ctx, result);
}

void restrict_eval_all(const struct restrict_list *const lists[],
		       const struct restrict_ctx *ctx,
		       struct restrict_result *result)
{
	memset(result, 0, sizeof(*result));
	for (int i = 0; i < RESTRICT_STAGE_COUNT; i++) {
		eval_list(lists[i], ctx, result);
		if (result->verdict == RESTRICT_DEFER)
			return;
		if (result->verdict != RESTRICT_REJECT)
			continue;
		if (result->defer_if_reject[0] != '\0')
			restrict_set(result, RESTRICT_DEFER, "defer_if_reject",
				     "%s", result->defer_if_reject);
		return;
	}
	if (result->defer_if_permit[0] != '\0')
		restrict_set(result, RESTRICT_DEFER, "defer_if_permit", "%s",
			     result->defer_if_permit);
	else
		result_clear(result);
}

bool restrict_open_relay(const struct restrict_list *const lists[])
{
	for (int stage = 0; stage < RESTRICT_STAGE_COUNT; stage++) {
		const struct restrict_list *list = lists[stage];
		for (size_t i = 0; list != NULL && i < list->count; i++) {
			enum restrict_relay_kind k = list->entries[i].def->relay;
			if (k == RESTRICT_RELAY_STOP)
				return false;
			if (k == RESTRICT_RELAY_PERMIT)
				break;	/* this list is passed */
		}
	}
	return true;
}
