// fuzz-sources: lib/tls_policy.c
/* libFuzzer target for the smtp_tls_policy_maps value parser
 * (lib/tls_policy). The input is one table value (cut at the first NUL,
 * as a map lookup returns a C string); a successful parse is checked
 * against the header's promises: a known level, supported only for the
 * levels lib/tls_client handles, lists within their bounds and made of
 * non-empty lower-case words, single values non-empty. Run:
 * tests/run-fuzz, or by hand
 *   ./fuzz_tls_policy -max_total_time=60 tests/fuzz/corpus/tls_policy */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mem.h"
#include "tls_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_list(char *const *list, size_t count)
{
	if (count > TLS_POLICY_NAMES_MAX || (count > 0) != (list != NULL))
		abort();
	for (size_t i = 0; i < count; i++) {
		size_t len = strlen(list[i]);
		if (len == 0 || len > TLS_POLICY_VALUE_MAX)
			abort();
	}
}

static void check_lower(char *const *list, size_t count)
{
	for (size_t i = 0; i < count; i++)
		for (const char *p = list[i]; *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'Z')
				abort();
}

static void check(const struct tls_policy *p)
{
	if (p->level < TLS_POLICY_NONE || p->level > TLS_POLICY_SECURE ||
	    p->supported != tls_policy_level_supported(p->level))
		abort();
	check_list(p->match, p->match_count);
	check_lower(p->match, p->match_count);
	check_list(p->tafile, p->tafile_count);
	if (p->level == TLS_POLICY_NONE &&
	    (p->protocols != NULL || p->ciphers != NULL ||
	     p->exclude != NULL || p->connection_reuse != -1))
		abort();
	if (p->match_count > 0 && p->level != TLS_POLICY_FINGERPRINT &&
	    p->level != TLS_POLICY_VERIFY && p->level != TLS_POLICY_SECURE)
		abort();
	if ((p->protocols != NULL && *p->protocols == '\0') ||
	    (p->exclude != NULL && *p->exclude == '\0') ||
	    p->connection_reuse < -1 || p->connection_reuse > 1)
		abort();
	for (size_t i = 0; i < p->tafile_count; i++)
		if (p->tafile[i][0] != '/')
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *value = xstrndup((const char *)data, size);
	struct tls_policy p;
	const char *error = NULL;

	if (tls_policy_parse(value, &p, &error) == 0) {
		check(&p);
		/* The level's name parses back to the level. */
		enum tls_policy_level l;
		if (tls_policy_level_parse(tls_policy_level_name(p.level),
					   &l) < 0 || l != p.level)
			abort();
	} else if (error == NULL || *error == '\0' || p.match != NULL ||
		   p.protocols != NULL) {
		abort();
	}
	tls_policy_deinit(&p);
	free(value);
	return 0;
}
