// fuzz-sources: lib/mailstore.c lib/mailstore_uidlist.c lib/mailstore_keywords.c lib/mailstore_index.c lib/mailstore_lock.c lib/mailstore_sync.c lib/mailstore_pending.c lib/mailstore_merge.c lib/mailstore_scan.c lib/mailstore_build.c lib/mailstore_msg.c lib/mailstore_folder.c lib/mailstore_flags.c lib/mailstore_expunged.c lib/mailstore_save.c lib/maildir.c
/* libFuzzer target for the surel-index reader (lib/mailstore_index).
 * The CRC makes random input fail early, so each input is read twice:
 * as it is, and with its last 4 octets replaced by the right CRC, which
 * lets the fuzzer reach the record checks. A valid index is sane (the
 * records, the expunge record and the first recent UID within their
 * bounds) and written back octet for octet (version 4), or, read as
 * version 1, 2 or 3, written as version 4 that reads back the same. The
 * same input is read as surel-stamps too (what vouches for an index).
 * Run: tests/run-fuzz, or by hand
 *   ./fuzz_mailstore_index -max_total_time=60 tests/fuzz/corpus/mailstore_index */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mailstore_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool maps_equal(const struct ms_map *a, const struct ms_map *b)
{
	if (a->uidvalidity != b->uidvalidity || a->count != b->count ||
	    a->highest_modseq != b->highest_modseq ||
	    a->first_recent_uid != b->first_recent_uid ||
	    a->exp_count != b->exp_count || strcmp(a->guid, b->guid) != 0 ||
	    strcmp(a->hdr_ext, b->hdr_ext) != 0 ||
	    (a->exp_count > 0 &&
	     memcmp(a->exp, b->exp, a->exp_count * sizeof(*a->exp)) != 0))
		return false;
	for (size_t i = 0; i < a->count; i++) {
		const struct ms_rec *x = &a->recs[i], *y = &b->recs[i];
		if (x->uid != y->uid || x->modseq != y->modseq ||
		    x->savedate != y->savedate || x->mtime != y->mtime ||
		    x->size != y->size || x->vsize != y->vsize ||
		    x->flags != y->flags || x->keywords != y->keywords ||
		    x->where != y->where ||
		    strcmp(x->base, y->base) != 0 || strcmp(x->ext, y->ext) != 0)
			return false;
	}
	return true;
}

static void check_exp(const struct ms_map *map)
{
	if (map->exp_count > MS_EXP_MAX)
		abort();
	for (size_t i = 0; i < map->exp_count; i++) {
		const struct ms_exp *e = &map->exp[i];
		if (e->first == 0 || e->first > e->last ||
		    e->last >= map->nextuid || e->modseq == 0 ||
		    e->modseq > map->highest_modseq ||
		    (i > 0 && e->modseq < map->exp[i - 1].modseq))
			abort();
	}
}

/* A version 1, 2 or 3 file comes back as version 4 with the same
 * contents (its names not known). */
static void check_upgrade(const struct ms_map *map, const struct buf *out)
{
	struct ms_map back;
	const char *error;

	ms_map_init(&back);
	if (ms_index_parse((const unsigned char *)out->data, out->len, &back,
			   &error) < 0 || !maps_equal(map, &back))
		abort();
	ms_map_clear(&back);
	free(back.hdr_ext);
}

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
		    r->flags > MAILSTORE_FLAGS_ALL || r->where > 7 ||
		    (data[8] < 4 && r->where != MS_WHERE_ODD) ||
		    r->base[0] == '\0' ||
		    strchr(r->base, ':') != NULL || strchr(r->base, '/'))
			abort();
	}
	check_exp(&map);
	if (map.first_recent_uid == 0 || map.first_recent_uid > map.nextuid)
		abort();
	buf_init(&out, MS_FILE_MAX);
	/* Written always in the current version (5). */
	if (ms_index_format(&map, &out) < 0 || out.data[8] != 5)
		abort();
	if (data[8] != 5)
		check_upgrade(&map, &out);
	else if (out.len != size || memcmp(out.data, data, size) != 0 ||
		 ms_index_crc(&map, map.id) != map.crc)
		abort();
	buf_deinit(&out);
	ms_map_clear(&map);
	free(map.hdr_ext);
}

/* surel-stamps, read by the same open: valid means written back octet
 * for octet. */
static void check_stamps(const unsigned char *data, size_t size)
{
	struct ms_stamps st;
	unsigned char out[MS_STAMPS_SIZE];

	if (ms_stamps_parse(data, size, &st) < 0)
		return;
	ms_stamps_format(&st, out);
	if (st.index_id == 0 || size != MS_STAMPS_SIZE ||
	    memcmp(out, data, size) != 0 || !ms_stamps_eq(&st, &st))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check(data, size);
	check_stamps(data, size);
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
	check_stamps(fixed, size);
	free(fixed);
	return 0;
}
