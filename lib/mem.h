/* mem: allocation that never returns NULL. Out of memory is a broken
 * environment: fatal() with EX_TEMPFAIL so that mail stays queued. */
#ifndef SUREL_MEM_H
#define SUREL_MEM_H
#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
/* xreallocarray checks count * size for overflow. */
void *xreallocarray(void *ptr, size_t count, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);
/* Frees *ptr and sets it to NULL; accepts NULL. */
#define xfree(pp) do { free(*(pp)); *(pp) = NULL; } while (0)

#endif
