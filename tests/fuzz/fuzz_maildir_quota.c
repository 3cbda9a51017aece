// fuzz-sources: lib/maildir_quota.c
/* libFuzzer target for the maildirsize parser (lib/maildir_quota): the
 * file comes from disk, where anything may have written it. A success
 * must respect the documented ranges (limits and totals at most
 * INT64_MAX, totals not negative, the file at most
 * MAILDIR_QUOTA_MAX_SIZE bytes and ending in LF), must parse again to
 * the same figures when written back the way maildirsize is written,
 * and the over-quota test must answer for any figures. Run:
 * tests/run-fuzz, or by hand
 *   ./fuzz_maildir_quota -max_total_time=60 tests/fuzz/corpus/maildir_quota */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "maildir_quota.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_roundtrip(const struct maildir_quota_limit *lim,
			    const struct maildir_quota_usage *use)
{
	struct maildir_quota_limit lim2;
	struct maildir_quota_usage use2;
	const char *error;
	char buf[160];

	int n = snprintf(buf, sizeof(buf), "%lluS,%lluC\n%lld %lld\n",
			 (unsigned long long)lim->bytes,
			 (unsigned long long)lim->count,
			 (long long)use->bytes, (long long)use->count);
	if (n < 0 || (size_t)n >= sizeof(buf))
		abort();
	if (maildir_quota_parse(buf, (size_t)n, &lim2, &use2, &error) < 0 ||
	    lim2.bytes != lim->bytes || lim2.count != lim->count ||
	    use2.bytes != use->bytes || use2.count != use->count)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct maildir_quota_limit lim;
	struct maildir_quota_usage use;
	const char *error = NULL;

	if (maildir_quota_parse((const char *)data, size, &lim, &use,
				&error) < 0) {
		if (error == NULL || *error == '\0')
			abort();
		return 0;
	}
	if (size == 0 || size > MAILDIR_QUOTA_MAX_SIZE ||
	    data[size - 1] != '\n' || memchr(data, '\0', size) != NULL)
		abort();
	if (lim.bytes > INT64_MAX || lim.count > INT64_MAX || use.bytes < 0 ||
	    use.count < 0)
		abort();
	check_roundtrip(&lim, &use);
	/* Defined for any figures; no message fits an exhausted limit. */
	(void)maildir_quota_exceeded(&lim, &use, (uint64_t)use.bytes, 1);
	if (lim.bytes != 0 && !maildir_quota_exceeded(&lim, &use,
						       lim.bytes + 1, 0))
		abort();
	return 0;
}
