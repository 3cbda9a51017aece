/* unit: the tiny harness of the C unit tests. Each test program calls
 * UNIT_CHECK for every assertion and ends with unit_done(), which prints
 * "N passed, N failed" (one check = one test) and returns the exit code. */
#ifndef SUREL_UNIT_H
#define SUREL_UNIT_H
#include <stdio.h>
#include <string.h>

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
#define UNIT_STREQ(a, b) \
	UNIT_CHECK((a) != NULL && (b) != NULL && strcmp((a), (b)) == 0)

static inline int unit_done(void)
{
	printf("%d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed == 0 ? 0 : 1;
}

#endif
