// fuzz-sources: lib/mailstore.c lib/mailstore_uidlist.c lib/mailstore_keywords.c lib/mailstore_index.c lib/mailstore_lock.c lib/mailstore_sync.c lib/mailstore_pending.c lib/mailstore_merge.c lib/mailstore_scan.c lib/mailstore_build.c lib/mailstore_msg.c lib/mailstore_folder.c lib/mailstore_flags.c lib/mailstore_expunged.c lib/mailstore_save.c lib/maildir.c
/* libFuzzer target for the dovecot-uidlist reader (lib/mailstore_uidlist).
 * Whatever the input, the map read is sane (UIDs ascending, names
 * non-empty, bounded, without '/', the next UID above every UID); a valid
 * file written back and read again gives the same map, and writing that
 * again gives the same bytes. Run: tests/run-fuzz, or by hand
 *   ./fuzz_mailstore_uidlist -max_total_time=60 tests/fuzz/corpus/mailstore_uidlist */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mailstore_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_map(const struct ms_map *map)
{
	for (size_t i = 0; i < map->count; i++) {
		const struct ms_rec *r = &map->recs[i];
		size_t len = strlen(r->base);
		if (r->uid == 0 || (i > 0 && r->uid <= map->recs[i - 1].uid) ||
		    len == 0 || len > MS_BASE_MAX || strchr(r->base, '/') ||
		    strlen(r->ext) > MS_EXT_MAX || strchr(r->ext, '\n') ||
		    ms_map_next_uid(map) <= r->uid)
			abort();
	}
	if (strlen(map->hdr_ext) > MS_HDR_EXT_MAX || map->count > MS_MSGS_MAX)
		abort();
}

static void check_same(const struct ms_map *a, const struct ms_map *b)
{
	if (a->uidvalidity != b->uidvalidity || a->count != b->count ||
	    ms_map_next_uid(a) != ms_map_next_uid(b) ||
	    strcmp(a->hdr_ext, b->hdr_ext) != 0)
		abort();
	for (size_t i = 0; i < a->count; i++)
		if (a->recs[i].uid != b->recs[i].uid ||
		    strcmp(a->recs[i].base, b->recs[i].base) != 0 ||
		    strcmp(a->recs[i].ext, b->recs[i].ext) != 0)
			abort();
}

static void roundtrip(struct ms_map *map)
{
	struct buf out, out2;
	struct ms_map back;
	const char *error;

	buf_init(&out, MS_FILE_MAX);
	buf_init(&out2, MS_FILE_MAX);
	ms_map_init(&back);
	if (ms_uidlist_format(map, &out) < 0 ||
	    ms_uidlist_parse(out.data, out.len, &back, &error) != 1)
		abort();
	check_same(map, &back);
	if (ms_uidlist_format(&back, &out2) < 0 || out.len != out2.len ||
	    memcmp(out.data, out2.data, out.len) != 0)
		abort();
	ms_map_clear(&back);
	free(back.hdr_ext);
	buf_deinit(&out);
	buf_deinit(&out2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ms_map map;
	const char *error = NULL;

	ms_map_init(&map);
	int ret = ms_uidlist_parse((const char *)data, size, &map, &error);
	if (ret < -1 || ret > 1 || (ret < 0 && error == NULL))
		abort();
	check_map(&map);
	if (ret == 1)
		roundtrip(&map);
	ms_map_clear(&map);
	free(map.hdr_ext);
	return 0;
}
