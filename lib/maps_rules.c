/* maps_rules: the rule lists shared by the pattern table types (pcre:,
 * cidr:): keywords, if/endif nesting, the result of a rule, the limits,
 * and the first-match walk at lookup. The types parse their patterns
 * (maps_rules_syntax); everything around a pattern is Postfix's, the
 * same for both. */
#include "config.h"
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "maps.h"
#include "maps_impl.h"
#include "mem.h"

struct maps_rule *maps_rules_at(const struct maps_rules *rs, size_t i)
{
	return (struct maps_rule *)(rs->rules + i * rs->syntax->rule_size);
}

/* "if" or "endif" as a word at the start of the line (any case, as
 * Postfix): the length of the keyword, or 0. */
static size_t maps_rules_keyword(const struct maps_rules *rs,
				 const char *line, const char *word)
{
	size_t n = strlen(word);

	if (strncasecmp(line, word, n) != 0)
		return 0;
	if (rs->syntax->keyword_ends_at_nonalnum)
		return isalnum((unsigned char)line[n]) ? 0 : n;
	return line[n] == '\0' || maps_is_space(line[n]) ? n : 0;
}

static struct maps_rule *maps_rules_add(struct maps_rules *rs,
					enum maps_rule_op op, unsigned line,
					const char **error_r)
{
	size_t size = rs->syntax->rule_size;

	if (rs->count == rs->syntax->rules_max) {
		*error_r = maps_error("line %u: more than %zu rules", line,
				      rs->syntax->rules_max);
		return NULL;
	}
	rs->rules = xreallocarray(rs->rules, rs->count + 1, size);
	struct maps_rule *r = maps_rules_at(rs, rs->count++);
	memset(r, 0, size);
	r->op = op;
	r->line = line;
	return r;
}

static int maps_rules_endif(struct maps_rules *rs, const char *rest,
			    unsigned line, const char **error_r)
{
	if (*rest != '\0') {
		*error_r = maps_error("line %u: text after endif", line);
		return -1;
	}
	if (rs->depth == 0) {
		*error_r = maps_error("line %u: endif without if", line);
		return -1;
	}
	if (maps_rules_add(rs, MAPS_RULE_ENDIF, line, error_r) == NULL)
		return -1;
	maps_rules_at(rs, rs->open_ifs[--rs->depth])->skip_to = rs->count;
	return 0;
}

static int maps_rules_if(struct maps_rules *rs, char *rest, unsigned line,
			 const char **error_r)
{
	if (rs->depth == MAPS_RULES_NEST_MAX) {
		*error_r = maps_error("line %u: if nested deeper than %d",
				      line, MAPS_RULES_NEST_MAX);
		return -1;
	}
	struct maps_rule *r = maps_rules_add(rs, MAPS_RULE_IF, line, error_r);
	if (r == NULL || rs->syntax->pattern(&rest, r, line, error_r) < 0)
		return -1;
	if (*rest != '\0') {
		*error_r = maps_error("line %u: text after the if pattern",
				      line);
		return -1;
	}
	rs->open_ifs[rs->depth++] = rs->count - 1;
	return 0;
}

/* "pattern result": the result runs to the end of the line, trailing
 * white space dropped. */
static int maps_rules_rule(struct maps_rules *rs, char *line,
			   unsigned lineno, const char **error_r)
{
	const struct maps_rules_syntax *syn = rs->syntax;
	struct maps_rule *r = maps_rules_add(rs, MAPS_RULE, lineno, error_r);

	if (r == NULL || syn->pattern(&line, r, lineno, error_r) < 0)
		return -1;
	size_t len = strlen(line);
	while (len > 0 && maps_is_space(line[len - 1]))
		line[--len] = '\0';
	if (len == 0 || len > MAPS_VALUE_MAX) {
		*error_r = maps_error("line %u: %s", lineno, len == 0 ?
				      "no result after the pattern" :
				      syn->result_too_long);
		return -1;
	}
	r->result = xstrdup(line);
	return syn->check_result != NULL ?
	       syn->check_result(r, lineno, error_r) : 0;
}

static int maps_rules_line(void *ctx, char *line, unsigned lineno,
			   const char **error_r)
{
	struct maps_rules *rs = ctx;
	size_t n;

	if ((n = maps_rules_keyword(rs, line, "endif")) > 0 ||
	    (n = maps_rules_keyword(rs, line, "if")) > 0) {
		bool is_if = n == 2;
		char *rest = line + n;

		while (maps_is_space(*rest))
			rest++;
		return is_if ? maps_rules_if(rs, rest, lineno, error_r) :
		       maps_rules_endif(rs, rest, lineno, error_r);
	}
	return maps_rules_rule(rs, line, lineno, error_r);
}

int maps_rules_load(struct maps_rules *rs, const struct maps_table *t,
		    size_t file_max, const char **error_r)
{
	if (maps_load_lines(t, file_max, maps_rules_line, rs, error_r) < 0)
		return -1;
	if (rs->depth > 0) {
		*error_r = maps_error("%s, line %u: if without endif", t->name,
				      maps_rules_at(rs, rs->open_ifs[
					      rs->depth - 1])->line);
		return -1;
	}
	return 0;
}

void maps_rules_deinit(struct maps_rules *rs)
{
	for (size_t i = 0; i < rs->count; i++) {
		struct maps_rule *r = maps_rules_at(rs, i);

		if (rs->syntax->free_rule != NULL)
			rs->syntax->free_rule(r);
		free(r->result);
	}
	free(rs->rules);
	rs->rules = NULL;
	rs->count = 0;
}

const struct maps_rule *maps_rules_first(const struct maps_rules *rs,
					 maps_rule_test_fn *test, void *ctx)
{
	size_t i = 0;

	while (i < rs->count) {
		const struct maps_rule *r = maps_rules_at(rs, i);

		if (r->op == MAPS_RULE_ENDIF) {
			i++;
			continue;
		}
		int matched = test(ctx, r);
		/* -1: neither the rule nor its negation applies. */
		bool applies = matched >= 0 && (matched == 1) != r->negate;
		if (r->op == MAPS_RULE_IF) {
			i = applies ? i + 1 : r->skip_to;
			continue;
		}
		if (applies)
			return r;
		i++;
	}
	return NULL;
}
