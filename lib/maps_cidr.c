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
#include "maps.h"
#include "maps_impl.h"
#include "mem.h"

#define MAPS_CIDR_FILE_MAX (16 * 1024 * 1024)
#define MAPS_CIDR_RULES_MAX 1000000
/* Longest "[address]/len" text. */
#define MAPS_CIDR_PATTERN_MAX 128

struct maps_cidr_rule {
	struct maps_rule head;	/* first: the rule list's part */
	int family;		/* AF_INET or AF_INET6 */
	unsigned prefix;	/* bits */
	unsigned char net[16];
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
static int maps_cidr_pattern(char **p, struct maps_rule *head,
			     unsigned line, const char **error_r)
{
	struct maps_cidr_rule *r = (struct maps_cidr_rule *)head;
	char *s = *p, text[MAPS_CIDR_PATTERN_MAX];

	if (*s == '!') {
		head->negate = true;
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

static const struct maps_rules_syntax maps_cidr_syntax = {
	.rule_size = sizeof(struct maps_cidr_rule),
	.rules_max = MAPS_CIDR_RULES_MAX,
	.keyword_ends_at_nonalnum = false,
	.result_too_long = "result too long",
	.pattern = maps_cidr_pattern,
};

static void maps_cidr_free(struct maps_rules *m)
{
	maps_rules_deinit(m);
	free(m);
}

static int maps_cidr_open(struct maps_table *t, const char **error_r)
{
	struct maps_rules *m = xcalloc(1, sizeof(*m));

	m->syntax = &maps_cidr_syntax;
	if (maps_rules_load(m, t, MAPS_CIDR_FILE_MAX, error_r) < 0) {
		maps_cidr_free(m);
		return -1;
	}
	t->impl = m;
	return 0;
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

struct maps_cidr_key {
	int family;
	unsigned char addr[16];
};

static int maps_cidr_test(void *ctx, const struct maps_rule *head)
{
	const struct maps_cidr_key *k = ctx;
	const struct maps_cidr_rule *r = (const struct maps_cidr_rule *)head;

	/* The other family: neither the rule nor its negation. */
	if (r->family != k->family)
		return -1;
	return maps_cidr_in(r, k->addr) ? 1 : 0;
}

static int maps_cidr_lookup(struct maps_table *t, const char *key,
			    const char **value_r, const char **error_r)
{
	struct maps_cidr_key k;

	if (strlen(key) >= INET6_ADDRSTRLEN ||
	    maps_cidr_addr(key, &k.family, k.addr) < 0)
		return 0;
	const struct maps_rule *r = maps_rules_first(t->impl, maps_cidr_test,
						     &k);
	if (r == NULL)
		return 0;
	*value_r = r->result;
	return 1;
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
