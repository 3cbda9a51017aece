// fuzz-sources: lib/netmatch.c
/* libFuzzer target for lib/netmatch. Input: lines; those before the
 * first empty line are the network list's words, the rest addresses.
 * Checked without a second implementation: a list parses exactly when
 * each of its words does alone; an address is in the list exactly when it
 * is in one of the one-word lists; a word that is a bare address, or
 * "addr/n" (brackets allowed), holds that address.
 * Run: tests/run-fuzz, or by hand
 *   ./fuzz_netmatch -max_total_time=60 tests/fuzz/corpus/netmatch */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "netmatch.h"

#define WORDS_MAX 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The address a word names: "addr", "addr/n", "[addr]/n" -> "addr". */
static void word_addr(const char *w, char *out, size_t outsize)
{
	size_t n = strcspn(w, "/");

	if (n >= 2 && w[0] == '[' && w[n - 1] == ']') {
		w++;
		n -= 2;
	}
	if (n >= outsize)
		n = outsize - 1;
	memcpy(out, w, n);
	out[n] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *words[WORDS_MAX + 1], *addrs[64];
	struct netmatch *nm = NULL, *one[WORDS_MAX];
	size_t nw = 0, na = 0;
	bool in_words = true, all_ok = true;
	const char *error = NULL;

	memcpy(text, data, size);
	text[size] = '\0';
	for (char *line = text, *next; line != NULL; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (in_words && line[0] == '\0')
			in_words = false;
		else if (in_words && nw < WORDS_MAX)
			words[nw++] = line;
		else if (!in_words && na < 64)
			addrs[na++] = line;
	}
	words[nw] = NULL;
	for (size_t i = 0; i < nw; i++) {
		char *w1[2] = { words[i], NULL };
		if (netmatch_parse(w1, &one[i], &error) < 0) {
			if (error == NULL)
				abort();
			one[i] = NULL;
			all_ok = false;
		}
	}
	if ((netmatch_parse(words, &nm, &error) == 0) != all_ok)
		abort();
	for (size_t i = 0; all_ok && i < nw; i++) {
		char a[64];
		word_addr(words[i], a, sizeof(a));
		if (!netmatch_has(one[i], a) || !netmatch_has(nm, a))
			abort();
	}
	for (size_t j = 0; all_ok && j < na; j++) {
		bool any = false;
		for (size_t i = 0; i < nw; i++)
			any = any || netmatch_has(one[i], addrs[j]);
		if (netmatch_has(nm, addrs[j]) != any)
			abort();
	}
	for (size_t i = 0; i < nw; i++)
		netmatch_free(&one[i]);
	netmatch_free(&nm);
	free(text);
	return 0;
}
