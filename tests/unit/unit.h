/* unit: the tiny harness of the C unit tests. Each test program calls
 * UNIT_CHECK for every assertion and ends with unit_done(), which prints
 * "N passed, N failed" (one check = one test) and returns the exit code. */
#ifndef SUREL_UNIT_H
#define SUREL_UNIT_H
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"

static int unit_passed, unit_failed;

#define UNIT_CHECK(cond) \
	do { \
		if (cond) { \
			unit_passed++; \
		} else { \
			unit_failed++; \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, \
				__LINE__, #cond); \
		} \
	} while (0)
/* Each argument is evaluated once. */
#define UNIT_STREQ(a, b) \
	do { \
		const char *unit_a_ = (a), *unit_b_ = (b); \
		if (unit_a_ != NULL && unit_b_ != NULL && \
		    strcmp(unit_a_, unit_b_) == 0) { \
			unit_passed++; \
		} else { \
			unit_failed++; \
			fprintf(stderr, "FAIL %s:%d: %s == %s (\"%s\" vs \"%s\")\n", \
				__FILE__, __LINE__, #a, #b, \
				unit_a_ ? unit_a_ : "(null)", \
				unit_b_ ? unit_b_ : "(null)"); \
		} \
	} while (0)

static inline int unit_rm_entry(const char *path, const struct stat *st,
				int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Removes a test's temporary directory tree; never follows links. */
static inline void unit_rmtree(const char *path)
{
	nftw(path, unit_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Appends to a transcript buffer (the tests' buffers are far larger than
 * anything they write: overflowing one is a broken test, so it aborts). */
static inline void unit_put(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline void unit_put(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (buf_vprintf(b, fmt, ap) < 0)
		abort();
	va_end(ap);
}

static inline int unit_done(void)
{
	printf("%d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed == 0 ? 0 : 1;
}

#endif
