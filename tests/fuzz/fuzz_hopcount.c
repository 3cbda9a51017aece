// fuzz-sources: lib/hopcount.c
/* libFuzzer target for lib/hopcount: any octets; the count never passes
 * the number of lines, and a prefix ending at a line end never counts
 * more than the whole. */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "hopcount.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	size_t lines = 1, n = hopcount_count(s, size);

	for (size_t i = 0; i < size; i++)
		lines += s[i] == '\n';
	ASSERT(n <= lines);
	const char *nl = memchr(s, '\n', size);
	if (nl != NULL)
		ASSERT(hopcount_count(s, (size_t)(nl - s) + 1) <= n);
	return 0;
}
