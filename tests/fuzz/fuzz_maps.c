// fuzz-sources: lib/maps.c lib/maps_texthash.c lib/maps_inline.c lib/maps_hash.c lib/maps_pcre.c lib/maps_cidr.c lib/maps_rules.c lib/alias.c
/* fuzz_maps: the text table parser (texthash: files, surelmap input) and
 * inline:{...} specs with address lookups and alias expansion over them.
 * The first byte picks the mode: 't' text parser, anything else inline
 * (then "TABLE\nADDRESS": the table goes inside inline:{...}). */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "alias.h"
#include "log.h"
#include "maps.h"
#include "mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	       c == '\f';
}

static int check_entry(void *ctx, char *key, char *value, unsigned line,
		       const char **error_r)
{
	size_t klen = strlen(key), vlen = strlen(value);

	ASSERT(klen > 0 && klen <= MAPS_KEY_MAX);
	ASSERT(vlen > 0 && vlen <= MAPS_VALUE_MAX);
	for (size_t i = 0; i < klen; i++)
		ASSERT(!is_space(key[i]));
	ASSERT(!is_space(value[0]) && !is_space(value[vlen - 1]));
	ASSERT(line > 0);
	(*(size_t *)ctx)++;
	return 0;
}

static void fuzz_inline(const char *text, size_t len)
{
	const char *nl = memchr(text, '\n', len);
	size_t tlen = nl != NULL ? (size_t)(nl - text) : len;
	char *address = nl != NULL ? xstrndup(nl + 1, len - tlen - 1) :
		xstrdup("user+ext@example.test");
	char *spec = xmalloc(tlen + 10);
	struct maps *m;
	struct alias_list list;
	const char *value, *ext, *error;

	memcpy(spec, "inline:{", 8);
	memcpy(spec + 8, text, tlen);
	memcpy(spec + 8 + tlen, "}", 2);
	if (maps_open(spec, 0, &m, &error) == 0) {
		ASSERT(maps_lookup(m, address, &value, &error) >= 0);
		ASSERT(maps_lookup_addr_ext(m, address, "+-", &value, &ext,
					    &error) >= 0);
		if (alias_expand(m, address, "+", &list, &error) == 1) {
			ASSERT(list.count >= 1 &&
			       list.count <= ALIAS_MAX_RESULTS);
			alias_list_free(&list);
		}
		maps_free(&m);
	}
	free(spec);
	free(address);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *error;
	size_t count = 0;

	if (size == 0)
		return 0;
	/* A string copy: NUL-terminated for the inline path, and the parser
	 * must not read past len. */
	char *text = xmemdup(data + 1, size - 1);
	if (data[0] == 't') {
		(void)!maps_texthash_parse(text, size - 1, check_entry, &count,
					   &error);
	} else {
		size_t len = strnlen(text, size - 1);
		fuzz_inline(text, len);
	}
	free(text);
	return 0;
}
