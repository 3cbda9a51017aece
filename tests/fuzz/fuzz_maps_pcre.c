// fuzz-sources: lib/maps.c lib/maps_texthash.c lib/maps_inline.c lib/maps_hash.c lib/maps_pcre.c lib/maps_cidr.c lib/maps_rules.c
/* fuzz_maps_pcre: the pcre: table parser and a lookup (fuzz_maps_table.h:
 * "KEY\nTABLE", TABLE opened as pcre:FILE). */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include "fuzz_maps_table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_maps_table("pcre", data, size);
	return 0;
}
