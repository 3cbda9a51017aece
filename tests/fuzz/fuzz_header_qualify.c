// fuzz-sources: lib/header_qualify.c lib/header_rcpt.c lib/addr.c
/* libFuzzer target for lib/header_qualify: any octets as a header
 * section. The only change allowed is "@qq.invalid" written after
 * addresses: with every "@qq.invalid" taken out, input and output are
 * the same octets. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "header_qualify.h"
#include "log.h"

#define DOMAIN "qq.invalid"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* s[0..len) without any "@qq.invalid", into out; its length. */
static size_t strip(const char *s, size_t len, char *out)
{
	static const char mark[] = "@" DOMAIN;
	size_t n = 0, m = sizeof(mark) - 1;

	for (size_t i = 0; i < len;) {
		if (i + m <= len && memcmp(s + i, mark, m) == 0) {
			i += m;
			continue;
		}
		out[n++] = s[i++];
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out;

	if (size > 16384)
		return 0;
	buf_init(&out, 1 << 20);
	ASSERT(header_qualify(&out, (const char *)data, size, DOMAIN) == 0);
	ASSERT(out.len >= size);
	char *a = malloc(size + 1), *b = malloc(out.len + 1);
	size_t na = strip((const char *)data, size, a);
	size_t nb = strip(out.data, out.len, b);
	ASSERT(na == nb && memcmp(a, b, na) == 0);
	free(a);
	free(b);
	buf_deinit(&out);
	return 0;
}
