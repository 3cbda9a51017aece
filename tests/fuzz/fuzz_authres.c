// fuzz-sources: lib/authres.c
/* libFuzzer target for lib/authres: any octets as a header section, fed
 * to the scan whole and in pieces of a size the first octet picks (the
 * same ranges either way, in order, inside the input, each one a field
 * that authres_field_is_ours accepts); the rest also as one field's
 * value to authres_authserv_id (a found id is never empty and fits). */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "authres.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char OURS[] = "mx.example.org";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t step = (size_t)data[0] % 17 + 1;
	const char *s = (const char *)data + 1;
	size_t len = size - 1;
	struct authres_scan a, b;

	authres_scan_init(&a, OURS);
	authres_scan_feed(&a, s, len);
	authres_scan_end(&a);
	authres_scan_init(&b, OURS);
	for (size_t i = 0; i < len; i += step)
		authres_scan_feed(&b, s + i, len - i < step ? len - i : step);
	authres_scan_end(&b);
	ASSERT(a.count == b.count && a.overflow == b.overflow);
	uint64_t prev_end = 0;
	for (size_t i = 0; i < a.count; i++) {
		ASSERT(a.ranges[i].offset == b.ranges[i].offset &&
		       a.ranges[i].len == b.ranges[i].len);
		ASSERT(a.ranges[i].offset >= prev_end && a.ranges[i].len > 0);
		prev_end = a.ranges[i].offset + a.ranges[i].len;
		ASSERT(prev_end <= len);
		size_t n = a.ranges[i].len < AUTHRES_SCAN_PREFIX ?
			   (size_t)a.ranges[i].len : AUTHRES_SCAN_PREFIX;
		ASSERT(authres_field_is_ours(s + a.ranges[i].offset, n, OURS));
	}
	authres_scan_deinit(&a);
	authres_scan_deinit(&b);

	char id[AUTHRES_DOMAIN_MAX + 2];
	if (authres_authserv_id(s, len, id, sizeof(id)) == 0)
		ASSERT(id[0] != '\0' && strlen(id) < sizeof(id));
	(void)authres_field_is_ours(s, len, OURS);
	return 0;
}
