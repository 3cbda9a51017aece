// fuzz-sources: lib/mailstore.c lib/mailstore_uidlist.c lib/mailstore_keywords.c lib/mailstore_index.c lib/mailstore_lock.c lib/mailstore_sync.c lib/mailstore_scan.c lib/mailstore_build.c lib/mailstore_msg.c lib/mailstore_folder.c
/* libFuzzer target for the surel-index reader (lib/mailstore_index).
 * The CRC makes random input fail early, so each input is read twice:
 * as it is, and with its last 4 octets replaced by the right CRC, which
 * lets the fuzzer reach the record checks. A valid index is sane and
 * written back octet for octet. Run: tests/run-fuzz, or by hand
 *   ./fuzz_mailstore_index -max_total_time=60 tests/fuzz/corpus/mailstore_index */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mailstore_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const unsigned char *data, size_t size)
{
	struct ms_map map;
	const char *error = NULL;
	struct buf out;

	ms_map_init(&map);
	if (ms_index_parse(data, size, &map, &error) < 0) {
		if (error == NULL || map.count != 0)
			abort();
		free(map.hdr_ext);
		return;
	}
	for (size_t i = 0; i < map.count; i++) {
		const struct ms_rec *r = &map.recs[i];
		if (r->uid == 0 || r->uid >= map.nextuid ||
		    (i > 0 && r->uid <= map.recs[i - 1].uid) ||
		    r->modseq > map.highest_modseq ||
		    r->flags > MAILSTORE_FLAGS_ALL || r->base[0] == '\0' ||
		    strchr(r->base, ':') != NULL || strchr(r->base, '/'))
			abort();
	}
	buf_init(&out, MS_FILE_MAX);
	if (ms_index_format(&map, &out) < 0 || out.len != size ||
	    memcmp(out.data, data, size) != 0)
		abort();
	buf_deinit(&out);
	ms_map_clear(&map);
	free(map.hdr_ext);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check(data, size);
	if (size < 4)
		return 0;
	unsigned char *fixed = malloc(size);
	if (fixed == NULL)
		return 0;
	memcpy(fixed, data, size);
	uint32_t crc = ms_crc32(fixed, size - 4);
	for (int i = 0; i < 4; i++)
		fixed[size - 4 + i] = (unsigned char)(crc >> (8 * i));
	check(fixed, size);
	free(fixed);
	return 0;
}
