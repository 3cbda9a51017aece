/* maps_pcre: the pcre: table type, Postfix's pcre_table(5) with PCRE2.
 * Rules are "/regex/flags result", "!/regex/flags result", "if /regex/"
 * and "if !/regex/" ... "endif" blocks; the first rule that applies
 * gives the result, with $N, ${N} and $(N) replaced by captures and $$
 * by a dollar. Where Postfix warns and skips a rule (bad regex, unknown
 * flag, bad $ syntax, unbalanced if/endif, extra text) the open fails
 * naming the line: a table that silently means less than its text is
 * worse than one that refuses to load. The key is matched as given
 * (bytes, no UTF mode: any input is matched, never refused). */
#include "config.h"
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "maps.h"
#include "maps_impl.h"
#include "mem.h"

/* The largest pcre: file, the most rules. */
#define MAPS_PCRE_FILE_MAX (16 * 1024 * 1024)
#define MAPS_PCRE_RULES_MAX 100000
/* A number macro as a string literal ("65536"). */
#define MAPS_PCRE_STR_(x) #x
#define MAPS_PCRE_STR(x) MAPS_PCRE_STR_(x)
/* Backtracking bounds: a pathological regex on a hostile key stops
 * within milliseconds instead of holding a daemon. */
#define MAPS_PCRE_MATCH_LIMIT 1000000
#define MAPS_PCRE_DEPTH_LIMIT 100000
#define MAPS_PCRE_HEAP_LIMIT_KIB 16384

struct maps_pcre_rule {
	struct maps_rule head;	/* first; its result is the template */
	pcre2_code *re;		/* NULL for ENDIF */
};

struct maps_pcre {
	struct maps_rules rules;
	uint32_t max_captures;
	/* Lookup time. */
	pcre2_match_context *mctx;
	pcre2_match_data *md;
	struct buf result;
};

struct maps_pcre_flag {
	char c;
	uint32_t option;	/* 0: accepted and ignored */
};

/* Each flag toggles its option; i and s are on by default (Postfix's
 * defaults: case-insensitive, '.' matches a newline). X (PCRE's EXTRA)
 * does not exist in PCRE2: Postfix ignores it, and so do we. */
static const struct maps_pcre_flag maps_pcre_flags[] = {
	{ 'i', PCRE2_CASELESS },  { 'm', PCRE2_MULTILINE },
	{ 's', PCRE2_DOTALL },    { 'x', PCRE2_EXTENDED },
	{ 'A', PCRE2_ANCHORED },  { 'E', PCRE2_DOLLAR_ENDONLY },
	{ 'U', PCRE2_UNGREEDY },  { 'X', 0 },
};

/* Parses "[!]/regex/flags" at *p, compiles it into r; *p moves past the
 * flags. */
static int maps_pcre_pattern(char **p, struct maps_rule *head,
			     unsigned line, const char **error_r)
{
	struct maps_pcre_rule *r = (struct maps_pcre_rule *)head;
	char *s = *p, delim;
	uint32_t options = PCRE2_CASELESS | PCRE2_DOTALL;

	if (*s == '!') {
		head->negate = true;
		s++;
	}
	delim = *s;
	if (delim == '\0' || isalnum((unsigned char)delim) ||
	    maps_is_space(delim)) {
		*error_r = maps_error("line %u: expected /regex/ or !/regex/",
				      line);
		return -1;
	}
	char *start = ++s;
	/* A backslash escapes the delimiter; it stays in the regex, where
	 * a backslash before a non-alphanumeric is that character. */
	while (*s != '\0' && *s != delim)
		s += s[0] == '\\' && s[1] != '\0' ? 2 : 1;
	if (*s == '\0') {
		*error_r = maps_error("line %u: no closing regex delimiter "
				      "\"%c\"", line, delim);
		return -1;
	}
	size_t len = (size_t)(s - start);
	for (s++; *s != '\0' && !maps_is_space(*s); s++) {
		size_t i = 0, n = sizeof(maps_pcre_flags) /
				  sizeof(maps_pcre_flags[0]);
		while (i < n && maps_pcre_flags[i].c != *s)
			i++;
		if (i == n) {
			*error_r = maps_error("line %u: unknown regex flag "
					      "\"%c\"", line, *s);
			return -1;
		}
		options ^= maps_pcre_flags[i].option;
	}
	int code;
	PCRE2_SIZE offset;
	r->re = pcre2_compile((PCRE2_SPTR)start, len, options, &code,
			      &offset, NULL);
	if (r->re == NULL) {
		PCRE2_UCHAR msg[256];

		if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
			strcpy((char *)msg, "unknown error");
		*error_r = maps_error("line %u: error in regex at offset %zu: "
				      "%s", line, (size_t)offset, msg);
		return -1;
	}
	while (maps_is_space(*s))
		s++;
	*p = s;
	return 0;
}

/* The capture index of a "$..." reference at s (after the '$'), and its
 * length in *len_r; -1 when the syntax is bad. "$$" is index 0 ("$0"
 * is refused by the range check: Postfix has no whole-match reference). */
static long maps_pcre_ref(const char *s, size_t *len_r)
{
	char close = s[0] == '{' ? '}' : s[0] == '(' ? ')' : '\0';
	const char *d = close != '\0' ? s + 1 : s;
	long n = 0;
	size_t digits = 0;

	if (s[0] == '$') {
		*len_r = 1;
		return 0;
	}
	while (isdigit((unsigned char)d[digits]) && digits < 6)
		n = n * 10 + (d[digits++] - '0');
	if (digits == 0 || isdigit((unsigned char)d[digits]) ||
	    (close != '\0' && d[digits] != close))
		return -1;
	*len_r = (size_t)(d - s) + digits + (close != '\0');
	/* Out of every range: a regex has at most 65535 captures. */
	return n == 0 ? 1000000 : n;
}

/* Checks every $ of a rule's result against its captures. */
static int maps_pcre_check_result(const struct maps_rule *head,
				  unsigned line, const char **error_r)
{
	const struct maps_pcre_rule *r = (const struct maps_pcre_rule *)head;
	uint32_t captures = 0;

	(void)pcre2_pattern_info(r->re, PCRE2_INFO_CAPTURECOUNT, &captures);
	for (const char *s = strchr(head->result, '$'); s != NULL;
	     s = strchr(s, '$')) {
		size_t len;
		long n = maps_pcre_ref(s + 1, &len);

		if (n < 0) {
			*error_r = maps_error("line %u: bad $ syntax in the "
					      "result (use $N, ${N}, $(N) or "
					      "$$)", line);
			return -1;
		}
		if (n > 0 && head->negate) {
			*error_r = maps_error("line %u: %.*s in the result of "
					      "a negated pattern", line,
					      (int)(1 + len), s);
			return -1;
		}
		if (n > (long)captures) {
			*error_r = maps_error("line %u: %.*s: the regex has %u "
					      "capture groups", line,
					      (int)(1 + len), s, captures);
			return -1;
		}
		s += 1 + len;
	}
	return 0;
}

static void maps_pcre_free_rule(struct maps_rule *head)
{
	pcre2_code_free(((struct maps_pcre_rule *)head)->re);
}

static const struct maps_rules_syntax maps_pcre_syntax = {
	.rule_size = sizeof(struct maps_pcre_rule),
	.rules_max = MAPS_PCRE_RULES_MAX,
	.keyword_ends_at_nonalnum = true,
	.result_too_long = "result longer than "
			   MAPS_PCRE_STR(MAPS_VALUE_MAX) " bytes",
	.pattern = maps_pcre_pattern,
	.check_result = maps_pcre_check_result,
	.free_rule = maps_pcre_free_rule,
};

static void maps_pcre_free(struct maps_pcre *m)
{
	maps_rules_deinit(&m->rules);
	pcre2_match_data_free(m->md);
	pcre2_match_context_free(m->mctx);
	buf_deinit(&m->result);
	free(m);
}

/* What lookups need: the match limits and room for every capture. */
static int maps_pcre_prepare(struct maps_pcre *m, const char **error_r)
{
	for (size_t i = 0; i < m->rules.count; i++) {
		const struct maps_pcre_rule *r = (const struct maps_pcre_rule *)
			maps_rules_at(&m->rules, i);
		uint32_t c = 0;

		if (r->re != NULL)
			(void)pcre2_pattern_info(r->re,
						 PCRE2_INFO_CAPTURECOUNT, &c);
		if (c > m->max_captures)
			m->max_captures = c;
	}
	m->mctx = pcre2_match_context_create(NULL);
	m->md = pcre2_match_data_create(m->max_captures + 1, NULL);
	if (m->mctx == NULL || m->md == NULL) {
		*error_r = maps_error("out of memory");
		return -1;
	}
	pcre2_set_match_limit(m->mctx, MAPS_PCRE_MATCH_LIMIT);
	pcre2_set_depth_limit(m->mctx, MAPS_PCRE_DEPTH_LIMIT);
	pcre2_set_heap_limit(m->mctx, MAPS_PCRE_HEAP_LIMIT_KIB);
	return 0;
}

static int maps_pcre_open(struct maps_table *t, const char **error_r)
{
	struct maps_pcre *m = xcalloc(1, sizeof(*m));

	buf_init(&m->result, MAPS_VALUE_MAX);
	m->rules.syntax = &maps_pcre_syntax;
	if (maps_rules_load(&m->rules, t, MAPS_PCRE_FILE_MAX, error_r) < 0 ||
	    maps_pcre_prepare(m, error_r) < 0)
		goto fail;
	t->impl = m;
	return 0;
fail:
	maps_pcre_free(m);
	return -1;
}

/* Expands a rule's result with the captures of its match. */
static int maps_pcre_expand(struct maps_pcre *m, const char *tmpl,
			    const char *key, const char **error_r)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(m->md);
	int ret = 0;

	buf_reset(&m->result);
	while (*tmpl != '\0' && ret == 0) {
		size_t plain = strcspn(tmpl, "$"), len;

		ret = buf_append(&m->result, tmpl, plain);
		tmpl += plain;
		if (*tmpl == '\0' || ret < 0)
			break;
		/* Checked at open: a valid reference within range. */
		long n = maps_pcre_ref(tmpl + 1, &len);
		tmpl += 1 + len;
		if (n == 0)
			ret = buf_append_char(&m->result, '$');
		else if (ov[2 * n] != PCRE2_UNSET)
			ret = buf_append(&m->result, key + ov[2 * n],
					 ov[2 * n + 1] - ov[2 * n]);
	}
	if (ret < 0) {
		*error_r = maps_error("result longer than %d bytes",
				      MAPS_VALUE_MAX);
		return -1;
	}
	return 0;
}

struct maps_pcre_key {
	struct maps_table *t;
	const char *key;
	size_t len;
};

/* 1 matched, 0 not; a limit hit is no match with a warning, as
 * Postfix: the table answers, and the operator learns why. -1 then: a
 * failed match makes neither the rule nor its negation apply. */
static int maps_pcre_match(void *ctx, const struct maps_rule *head)
{
	const struct maps_pcre_key *k = ctx;
	const struct maps_pcre_rule *r = (const struct maps_pcre_rule *)head;
	struct maps_pcre *m = k->t->impl;
	int rc = pcre2_match(r->re, (PCRE2_SPTR)k->key, k->len, 0, 0, m->md,
			     m->mctx);

	if (rc >= 0)
		return 1;
	if (rc != PCRE2_ERROR_NOMATCH) {
		PCRE2_UCHAR msg[256];

		if (pcre2_get_error_message(rc, msg, sizeof(msg)) < 0)
			strcpy((char *)msg, "unknown error");
		maps_table_warn(k->t, "line %u: matching failed (%s): taken "
				"as no match", head->line, msg);
		return -1;
	}
	return 0;
}

static int maps_pcre_lookup(struct maps_table *t, const char *key,
			    const char **value_r, const char **error_r)
{
	struct maps_pcre *m = t->impl;
	struct maps_pcre_key k = { t, key, strlen(key) };
	const struct maps_rule *r = maps_rules_first(&m->rules,
						     maps_pcre_match, &k);

	if (r == NULL)
		return 0;
	if (maps_pcre_expand(m, r->result, key, error_r) < 0)
		return -1;
	/* An empty result is not found, as Postfix. */
	if (m->result.len == 0)
		return 0;
	*value_r = m->result.data;
	return 1;
}

static void maps_pcre_close(struct maps_table *t)
{
	maps_pcre_free(t->impl);
	t->impl = NULL;
}

const struct maps_type maps_type_pcre = {
	.name = "pcre",
	.watch_suffix = "",
	.raw_key = true,
	.open = maps_pcre_open,
	.lookup = maps_pcre_lookup,
	.close = maps_pcre_close,
};
