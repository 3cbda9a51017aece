// fuzz-sources: lib/dkim_from.c lib/addr.c
/* libFuzzer target for dkim_from_domain: the From: field of a header
 * section as a message brings it (any octets). What it returns must be a
 * lower-case domain the address checker accepts. */
#include "config.h"
#include <stdint.h>
#include <string.h>
#include "addr.h"
#include "dkim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char domain[DKIM_DOMAIN_MAX + 1];
	const char *error;

	if (dkim_from_domain((const char *)data, size, domain) == 0) {
		size_t n = strlen(domain);
		if (n == 0 || n > DKIM_DOMAIN_MAX ||
		    addr_check_domain(domain, n, 0, &error) < 0)
			__builtin_trap();
		for (size_t i = 0; i < n; i++)
			if (domain[i] >= 'A' && domain[i] <= 'Z')
				__builtin_trap();
	}
	return 0;
}
