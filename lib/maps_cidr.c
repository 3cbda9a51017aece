/* maps_cidr: the cidr: table type, Postfix's cidr_table(5). Rules are
 * "network/prefix result" or "address result" (IPv4 or IPv6, optionally
 * in [] as "[addr]/len" or "[addr/len]"), "!pattern result", and
 * "if pattern" / "if !pattern" ... "endif" blocks; the first rule that
 * applies gives its result. A key that is not an IP address, and a rule
 * of the other address family, never match (not even negated), as
 * Postfix. Where Postfix warns and skips a rule (host bits set beyond
 * the prefix, a bad address or length, unbalanced if/endif) the open
 * fails naming the line. */
#include "config.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "maps.h"
#include "maps_impl.h"
#include "mem.h"

#define MAPS_CIDR_FILE_MAX (16 * 1024 * 1024)
#define MAPS_CIDR_RULES_MAX 1000000
#define MAPS_CIDR_NEST_MAX 64
/* Longest "[address]/len" text. */
#define MAPS_CIDR_PATTERN_MAX 128

enum maps_cidr_op { MAPS_CIDR_RULE, MAPS_CIDR_IF, MAPS_CIDR_ENDIF };

struct maps_cidr_rule {
	enum maps_cidr_op op;
	bool negate;
	int family;		/* AF_INET or AF_INET6 */
	unsigned prefix;	/* bits */
	unsigned char net[16];
	char *result;		/* RULE only */
	size_t skip_to;		/* IF only: the index after its ENDIF */
	unsigned line;
};

struct maps_cidr {
	struct maps_cidr_rule *rules;
	size_t count;
	size_t open_ifs[MAPS_CIDR_NEST_MAX];
	size_t depth;
};

/* Parses an address into family and bytes: 0 or -1. An IPv4 address
 * with a leading zero (octal to some parsers) is refused by inet_pton. */
static int maps_cidr_addr(const char *s, int *family_r, unsigned char *net)
{
	*family_r = strchr(s, ':') != NULL ? AF_INET6 : AF_INET;
	return inet_pton(*family_r, s, net) == 1 ? 0 : -1;
}

/* True when every bit of net beyond prefix is zero. */
static bool maps_cidr_host_bits_clear(const unsigned char *net,
				      unsigned prefix, unsigned bits)
{
	for (unsigned b = prefix; b < bits; b++) {
		if (net[b / 8] & (0x80 >> (b % 8)))
			return false;
	}
	return true;
}

/* Removes the [] of "[addr]/len" or "[addr/len]" into out. */
static int maps_cidr_unbracket(const char *pat, char *out, size_t size)
{
	size_t len = strlen(pat);

	if (len >= size)
		return -1;
	if (pat[0] != '[') {
		memcpy(out, pat, len + 1);
		return 0;
	}
	const char *close = strchr(pat, ']');
	if (close == NULL || (close[1] != '\0' && close[1] != '/'))
		return -1;
	memcpy(out, pat + 1, (size_t)(close - pat - 1));
	strcpy(out + (close - pat - 1), close + 1);
	return 0;
}

static int maps_cidr_prefix(const char *s, unsigned bits, unsigned *prefix_r)
{
	size_t n = strspn(s, "0123456789");

	if (n == 0 || n > 3 || s[n] != '\0')
		return -1;
	*prefix_r = (unsigned)atoi(s);
	return *prefix_r <= bits ? 0 : -1;
}

/* Parses the pattern "[!]network[/prefix]" at *p into r; *p moves past
 * it and the white space after it. */
static int maps_cidr_pattern(char **p, struct maps_cidr_rule *r,
			     unsigned line, const char **error_r)
{
	char *s = *p, text[MAPS_CIDR_PATTERN_MAX];

	if (*s == '!') {
		r->negate = true;
		for (s++; maps_is_space(*s); s++)
			;
	}
	char *pat = s;
	while (*s != '\0' && !maps_is_space(*s))
		s++;
	if (*s != '\0')
		*s++ = '\0';
	while (maps_is_space(*s))
		s++;
	*p = s;
	if (maps_cidr_unbracket(pat, text, sizeof(text)) < 0) {
		*error_r = maps_error("line %u: bad address pattern \"%.64s\"",
				      line, pat);
		return -1;
	}
	char *slash = strchr(text, '/');
	if (slash != NULL)
		*slash = '\0';
	if (maps_cidr_addr(text, &r->family, r->net) < 0) {
		*error_r = maps_error("line %u: bad network address \"%.64s\"",
				      line, text);
		return -1;
	}
	unsigned bits = r->family == AF_INET ? 32 : 128;
	r->prefix = bits;
	if (slash != NULL && maps_cidr_prefix(slash + 1, bits,
					      &r->prefix) < 0) {
		*error_r = maps_error("line %u: bad prefix length \"/%.8s\" "
				      "(0 to %u)", line, slash + 1, bits);
		return -1;
	}
	if (!maps_cidr_host_bits_clear(r->net, r->prefix, bits)) {
		*error_r = maps_error("line %u: \"%.64s/%u\" has bits set "
				      "beyond the prefix length", line, text,
				      r->prefix);
		return -1;
	}
	return 0;
}

static struct maps_cidr_rule *maps_cidr_add(struct maps_cidr *m,
					    enum maps_cidr_op op,
					    unsigned line,
					    const char **error_r)
{
	if (m->count == MAPS_CIDR_RULES_MAX) {
		*error_r = maps_error("line %u: more than %d rules", line,
				      MAPS_CIDR_RULES_MAX);
		return NULL;
	}
	m->rules = xreallocarray(m->rules, m->count + 1, sizeof(*m->rules));
	struct maps_cidr_rule *r = &m->rules[m->count++];
	memset(r, 0, sizeof(*r));
	r->op = op;
	r->line = line;
	return r;
}

/* "if" or "endif" as a word at the start of the line: its length or 0. */
static size_t maps_cidr_keyword(const char *line, const char *word)
{
	size_t n = strlen(word);

	if (strncasecmp(line, word, n) != 0 ||
	    (line[n] != '\0' && !maps_is_space(line[n])))
		return 0;
	return n;
}

static int maps_cidr_block(struct maps_cidr *m, bool is_if, char *rest,
			   unsigned line, const char **error_r)
{
	while (maps_is_space(*rest))
		rest++;
	if (!is_if) {
		if (*rest != '\0' || m->depth == 0) {
			*error_r = maps_error(*rest != '\0' ?
					      "line %u: text after endif" :
					      "line %u: endif without if",
					      line);
			return -1;
		}
		if (maps_cidr_add(m, MAPS_CIDR_ENDIF, line, error_r) == NULL)
			return -1;
		m->rules[m->open_ifs[--m->depth]].skip_to = m->count;
		return 0;
	}
	if (m->depth == MAPS_CIDR_NEST_MAX) {
		*error_r = maps_error("line %u: if nested deeper than %d",
				      line, MAPS_CIDR_NEST_MAX);
		return -1;
	}
	struct maps_cidr_rule *r = maps_cidr_add(m, MAPS_CIDR_IF, line,
						 error_r);
	if (r == NULL || maps_cidr_pattern(&rest, r, line, error_r) < 0)
		return -1;
	if (*rest != '\0') {
		*error_r = maps_error("line %u: text after the if pattern",
				      line);
		return -1;
	}
	m->open_ifs[m->depth++] = m->count - 1;
	return 0;
}

static int maps_cidr_line(void *ctx, char *line, unsigned lineno,
			  const char **error_r)
{
	struct maps_cidr *m = ctx;
	size_t n;

	if ((n = maps_cidr_keyword(line, "endif")) > 0)
		return maps_cidr_block(m, false, line + n, lineno, error_r);
	if ((n = maps_cidr_keyword(line, "if")) > 0)
		return maps_cidr_block(m, true, line + n, lineno, error_r);
	struct maps_cidr_rule *r = maps_cidr_add(m, MAPS_CIDR_RULE, lineno,
						 error_r);
	if (r == NULL || maps_cidr_pattern(&line, r, lineno, error_r) < 0)
		return -1;
	size_t len = strlen(line);
	while (len > 0 && maps_is_space(line[len - 1]))
		line[--len] = '\0';
	if (len == 0 || len > MAPS_VALUE_MAX) {
		*error_r = maps_error(len == 0 ? "line %u: no result after "
				      "the pattern" : "line %u: result too "
				      "long", lineno);
		return -1;
	}
	r->result = xstrdup(line);
	return 0;
}

static void maps_cidr_free(struct maps_cidr *m)
{
	for (size_t i = 0; i < m->count; i++)
		free(m->rules[i].result);
	free(m->rules);
	free(m);
}

static int maps_cidr_open(struct maps_table *t, const char **error_r)
{
	struct maps_cidr *m = xcalloc(1, sizeof(*m));

	if (maps_load_lines(t, MAPS_CIDR_FILE_MAX, maps_cidr_line, m,
			    error_r) < 0)
		goto fail;
	if (m->depth > 0) {
		*error_r = maps_error("%s, line %u: if without endif", t->name,
				      m->rules[m->open_ifs[m->depth - 1]].line);
		goto fail;
	}
	t->impl = m;
	return 0;
fail:
	maps_cidr_free(m);
	return -1;
}

static bool maps_cidr_in(const struct maps_cidr_rule *r,
			 const unsigned char *addr)
{
	unsigned whole = r->prefix / 8, rest = r->prefix % 8;

	if (memcmp(r->net, addr, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (addr[whole] & mask) == r->net[whole];
}

static int maps_cidr_lookup(struct maps_table *t, const char *key,
			    const char **value_r, const char **error_r)
{
	const struct maps_cidr *m = t->impl;
	unsigned char addr[16];
	int family;
	size_t i = 0;

	if (strlen(key) >= INET6_ADDRSTRLEN ||
	    maps_cidr_addr(key, &family, addr) < 0)
		return 0;
	while (i < m->count) {
		const struct maps_cidr_rule *r = &m->rules[i];

		if (r->op == MAPS_CIDR_ENDIF) {
			i++;
			continue;
		}
		/* The other family: neither the rule nor its negation. */
		bool applies = r->family == family &&
			       maps_cidr_in(r, addr) != r->negate;
		if (r->op == MAPS_CIDR_IF) {
			i = applies ? i + 1 : r->skip_to;
			continue;
		}
		if (applies) {
			*value_r = r->result;
			return 1;
		}
		i++;
	}
	return 0;
}

static void maps_cidr_close(struct maps_table *t)
{
	maps_cidr_free(t->impl);
	t->impl = NULL;
}

const struct maps_type maps_type_cidr = {
	.name = "cidr",
	.watch_suffix = "",
	.raw_key = true,
	.open = maps_cidr_open,
	.lookup = maps_cidr_lookup,
	.close = maps_cidr_close,
};
