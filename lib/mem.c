/* mem: checked allocation wrappers; see mem.h. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "mem.h"
#include "log.h"

static void *checked(void *p, size_t size)
{
	if (p == NULL && size != 0)
		fatal("out of memory allocating %zu bytes", size);
	return p;
}

void *xmalloc(size_t size) { return checked(malloc(size ? size : 1), size); }

void *xcalloc(size_t count, size_t size)
{
	return checked(calloc(count ? count : 1, size ? size : 1), count * size);
}

void *xrealloc(void *ptr, size_t size)
{
	return checked(realloc(ptr, size ? size : 1), size);
}

void *xreallocarray(void *ptr, size_t count, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(count, size, &total))
		fatal("allocation size overflow (%zu * %zu)", count, size);
	return xrealloc(ptr, total);
}

char *xstrdup(const char *s) { return xmemdup(s, strlen(s) + 1); }

char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void *xmemdup(const void *p, size_t n)
{
	void *q = xmalloc(n);

	if (n > 0)
		memcpy(q, p, n);
	return q;
}
