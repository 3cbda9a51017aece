/* alias: recursive virtual_alias_maps expansion with Postfix's semantics
 * (cleanup_map1n): an address that expands to a list including itself is
 * kept and not expanded again; anything else is expanded until it has no
 * alias, or the nesting limit stops a loop. */
#include "config.h"
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "alias.h"
#include "mem.h"
#include "str.h"

/* Longest address taken from an alias value. */
#define ALIAS_ADDR_MAX 1024

struct alias_state {
	struct alias_list list;
	size_t cap;
	char **self;		/* addresses that expanded into themselves */
	size_t self_count, self_cap;
	const char *delimiter;
};

static void alias_push(char ***arr, size_t *count, size_t *cap, char *s)
{
	if (*count == *cap) {
		*cap = *cap == 0 ? 8 : *cap * 2;
		*arr = xreallocarray(*arr, *cap, sizeof(**arr));
	}
	(*arr)[(*count)++] = s;
}

static bool alias_is_self(const struct alias_state *st, const char *addr)
{
	for (size_t i = 0; i < st->self_count; i++) {
		if (strcasecmp(st->self[i], addr) == 0)
			return true;
	}
	return false;
}

/* The next address of a comma/space separated value, honouring quoted
 * local parts ("john doe"@example.com) and <angle brackets>. Returns its
 * length (0 at the end); *p advances. */
static size_t alias_next_token(const char **p, const char **start_r)
{
	const char *s = *p;
	bool quoted = false;

	s += strspn(s, ", \t\r\n");
	*start_r = s;
	for (; *s != '\0'; s++) {
		if (*s == '"')
			quoted = !quoted;
		else if (*s == '\\' && quoted && s[1] != '\0')
			s++;
		else if (!quoted && strchr(", \t\r\n", *s) != NULL)
			break;
	}
	*p = s;
	return (size_t)(s - *start_r);
}

/* Builds one result: "@domain" takes the local part of lhs (Postfix's
 * domain rewriting); an unmatched extension goes before the '@'. */
static char *alias_make(const char *lhs, const char *tok, size_t len,
			const char *ext)
{
	if (len >= 2 && tok[0] == '<' && tok[len - 1] == '>') {
		tok++;
		len -= 2;
	}
	if (len > 0 && tok[0] == '@') {
		const char *at = strrchr(lhs, '@');
		size_t llen = at != NULL ? (size_t)(at - lhs) : strlen(lhs);
		char *s = xmalloc(llen + len + 1);
		memcpy(s, lhs, llen);
		memcpy(s + llen, tok, len);
		s[llen + len] = '\0';
		return s;
	}
	size_t elen = ext != NULL ? strlen(ext) : 0;
	const char *at = memrchr(tok, '@', len);
	size_t pos = at != NULL ? (size_t)(at - tok) : len;
	char *s = xmalloc(len + elen + 1);
	memcpy(s, tok, pos);
	if (elen > 0)
		memcpy(s + pos, ext, elen);
	memcpy(s + pos + elen, tok + pos, len - pos);
	s[len + elen] = '\0';
	return s;
}

/* Replaces list[arg] by the addresses of value (the first in place, the
 * others appended). Returns 1, 0 for an empty value (no alias), -2 on a
 * limit. */
static int alias_replace(struct alias_state *st, size_t arg, const char *value,
			 const char *ext, const char **error_r)
{
	char *lhs = st->list.addrs[arg];
	const char *p = value, *tok;
	size_t len, n = 0;
	int ret = 1;

	while ((len = alias_next_token(&p, &tok)) > 0) {
		if (len > ALIAS_ADDR_MAX) {
			*error_r = "alias value holds an address that is too "
				   "long";
			ret = -2;
			break;
		}
		if (n > 0 && st->list.count >= ALIAS_MAX_RESULTS) {
			*error_r = "alias expansion yields too many addresses";
			ret = -2;
			break;
		}
		char *addr = alias_make(lhs, tok, len, ext);
		if (strcasecmp(addr, lhs) == 0 && !alias_is_self(st, lhs))
			alias_push(&st->self, &st->self_count, &st->self_cap,
				   xstrdup(lhs));
		if (n++ == 0)
			st->list.addrs[arg] = addr;
		else
			alias_push(&st->list.addrs, &st->list.count, &st->cap,
				   addr);
	}
	/* lhs left the list when its first replacement took its place. */
	if (n > 0)
		free(lhs);
	return n == 0 && ret > 0 ? 0 : ret;
}

/* Expands list[arg] until it has no alias or expanded into itself. */
static int alias_expand_one(struct alias_state *st, struct maps *maps,
			    size_t arg, const char **error_r)
{
	const char *value, *ext;
	char *copy;

	for (int depth = 0;; depth++) {
		if (alias_is_self(st, st->list.addrs[arg]))
			return 1;
		if (depth >= ALIAS_MAX_DEPTH) {
			*error_r = "alias nesting too deep (a loop?)";
			return -2;
		}
		int ret = maps_lookup_addr_ext(maps, st->list.addrs[arg],
					       st->delimiter, &value, &ext,
					       error_r);
		if (ret <= 0)
			return ret < 0 ? -1 : 1;
		/* value and ext die at the next lookup: parse a copy now. */
		copy = xstrdup(value);
		char *ext_copy = ext != NULL ? xstrdup(ext) : NULL;
		ret = alias_replace(st, arg, copy, ext_copy, error_r);
		free(copy);
		free(ext_copy);
		if (ret <= 0)
			return ret < 0 ? ret : 1;
	}
}

/* Drops later duplicates (case-insensitively), keeping the order. */
static void alias_dedup(struct alias_list *list)
{
	size_t out = 0;

	for (size_t i = 0; i < list->count; i++) {
		bool dup = false;
		for (size_t j = 0; j < out && !dup; j++)
			dup = strcasecmp(list->addrs[j], list->addrs[i]) == 0;
		if (dup)
			free(list->addrs[i]);
		else
			list->addrs[out++] = list->addrs[i];
	}
	list->count = out;
}

int alias_expand(struct maps *maps, const char *address, const char *delimiter,
		 struct alias_list *list_r, const char **error_r)
{
	struct alias_state st = { .delimiter = delimiter };
	int ret = 1;

	alias_push(&st.list.addrs, &st.list.count, &st.cap, xstrdup(address));
	for (size_t arg = 0; maps != NULL && arg < st.list.count; arg++) {
		if ((ret = alias_expand_one(&st, maps, arg, error_r)) < 0)
			break;
	}
	for (size_t i = 0; i < st.self_count; i++)
		free(st.self[i]);
	free(st.self);
	if (ret < 0) {
		alias_list_free(&st.list);
		return ret;
	}
	alias_dedup(&st.list);
	*list_r = st.list;
	return 1;
}

void alias_list_free(struct alias_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->addrs[i]);
	free(list->addrs);
	list->addrs = NULL;
	list->count = 0;
}
