/* mailstore_uidlist: the UID map in memory (struct ms_map) and Dovecot's
 * dovecot-uidlist file, read (versions 1 and 3) and written (version 3)
 * exactly as Dovecot 2.3 does, so that either can take over the other's
 * Maildir. Pure functions: no I/O. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "mailstore_impl.h"
#include "mem.h"

void ms_map_init(struct ms_map *map)
{
	memset(map, 0, sizeof(*map));
	map->hdr_ext = xstrdup("");
}

void ms_map_clear(struct ms_map *map)
{
	for (size_t i = 0; i < map->count; i++)
		if (!ms_arena_has(map->arena, map->recs[i].base))
			free(map->recs[i].base);	/* ext too: one block */
	if (!ms_arena_has(map->arena, map->recs))
		free(map->recs);
	free(map->exp);
	free(map->hdr_ext);
	ms_map_pend_clear(map);
	ms_map_init(map);
}

void ms_map_pend_clear(struct ms_map *map)
{
	for (size_t i = 0; i < map->pend_count; i++)
		free(map->pend[i].name);
	free(map->pend);
	map->pend = NULL;
	map->pend_count = 0;
}

/* Room for n records; records in an arena are copied out of it. */
static void map_grow(struct ms_map *map, size_t n)
{
	if (ms_arena_has(map->arena, map->recs)) {
		struct ms_rec *recs = xreallocarray(NULL, n, sizeof(*recs));
		memcpy(recs, map->recs, map->count * sizeof(*recs));
		map->recs = recs;
	} else {
		map->recs = xreallocarray(map->recs, n, sizeof(*map->recs));
	}
	map->alloc = n;
}

void ms_map_reserve(struct ms_map *map, size_t n)
{
	struct ms_rec *recs;

	if (n <= map->alloc)
		return;
	if (map->recs == NULL && n <= SIZE_MAX / sizeof(*recs) &&
	    (recs = ms_arena_alloc(map->arena, n * sizeof(*recs))) != NULL) {
		map->recs = recs;
		map->alloc = n;
		return;
	}
	map_grow(map, n);
}

struct ms_rec *ms_map_add(struct ms_map *map, uint32_t uid, const char *base,
			  size_t base_len, const char *ext, size_t ext_len)
{
	if (map->count == map->alloc)
		map_grow(map, map->alloc < 64 ? 64 : map->alloc * 2);
	struct ms_rec *r = &map->recs[map->count++];
	memset(r, 0, sizeof(*r));
	r->uid = uid;
	/* One allocation for both: a folder has as many records as
	 * messages, and a sync makes a map or two. */
	r->base = ms_arena_alloc(map->arena, base_len + ext_len + 2);
	if (r->base == NULL)
		r->base = xmalloc(base_len + ext_len + 2);
	memcpy(r->base, base, base_len);
	r->base[base_len] = '\0';
	r->ext = r->base + base_len + 1;
	memcpy(r->ext, ext, ext_len);
	r->ext[ext_len] = '\0';
	return r;
}

struct ms_rec *ms_map_find(const struct ms_map *map, uint32_t uid)
{
	size_t lo = 0, hi = map->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (map->recs[mid].uid == uid)
			return &map->recs[mid];
		if (map->recs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

uint32_t ms_map_next_uid(const struct ms_map *map)
{
	uint32_t next = map->nextuid;

	if (map->count > 0 && map->recs[map->count - 1].uid >= next)
		next = map->recs[map->count - 1].uid + 1;
	if (map->max_uid_seen >= next && map->max_uid_seen < UINT32_MAX)
		next = map->max_uid_seen + 1;
	return next == 0 ? 1 : next;
}

int ms_ext_find(const char *ext, char key, const char **value_r,
		size_t *len_r)
{
	const char *p = ext;

	while (*p != '\0') {
		const char *end = strchr(p, ' ');
		size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
		if (n > 0 && *p == key) {
			*value_r = p + 1;
			*len_r = n - 1;
			return 1;
		}
		p += n;
		while (*p == ' ')
			p++;
	}
	return 0;
}

/* A decimal number of [p, end) up to a non-digit: 1..UINT32_MAX-1. */
static const char *parse_u32(const char *p, const char *end, uint32_t *v_r)
{
	uint64_t v = 0;
	const char *start = p;

	while (p < end && *p >= '0' && *p <= '9' && p - start < 11)
		v = v * 10 + (uint64_t)(*p++ - '0');
	if (p == start || v == 0 || v >= UINT32_MAX)
		return NULL;
	*v_r = (uint32_t)v;
	return p;
}

static bool is_hex32(const char *p, size_t len)
{
	if (len != MS_GUID_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (strchr("0123456789abcdefABCDEF", p[i]) == NULL ||
		    p[i] == '\0')
			return false;
	return true;
}

/* "1 <uidvalidity> <nextuid>" (Courier's courierimapuiddb). */
static int parse_header_v1(const char *p, const char *end, struct ms_map *map)
{
	if ((p = parse_u32(p, end, &map->uidvalidity)) == NULL || p >= end ||
	    *p++ != ' ' || (p = parse_u32(p, end, &map->nextuid)) == NULL)
		return -1;
	while (p < end && *p == ' ')
		p++;
	return p == end ? 0 : -1;
}

/* Appends token [p, p+n) to map->hdr_ext (space separated). */
static int add_hdr_ext(struct ms_map *map, const char *p, size_t n)
{
	size_t old = strlen(map->hdr_ext);

	if (old + 1 + n > MS_HDR_EXT_MAX)
		return -1;
	map->hdr_ext = xrealloc(map->hdr_ext, old + n + 2);
	if (old > 0)
		map->hdr_ext[old++] = ' ';
	memcpy(map->hdr_ext + old, p, n);
	map->hdr_ext[old + n] = '\0';
	return 0;
}

/* "3 V<uidvalidity> N<nextuid> G<guid> ...": any order, others kept. */
static int parse_header_v3(const char *p, const char *end, struct ms_map *map)
{
	while (p < end) {
		const char *tok = p;
		while (p < end && *p != ' ')
			p++;
		size_t n = (size_t)(p - tok);
		const char *vend;
		if (*tok == 'V') {
			vend = parse_u32(tok + 1, p, &map->uidvalidity);
			if (vend != p)
				return -1;
		} else if (*tok == 'N') {
			vend = parse_u32(tok + 1, p, &map->nextuid);
			if (vend != p)
				return -1;
		} else if (*tok == 'G') {
			if (!is_hex32(tok + 1, n - 1))
				return -1;
			memcpy(map->guid, tok + 1, MS_GUID_LEN);
			map->guid[MS_GUID_LEN] = '\0';
		} else if (add_hdr_ext(map, tok, n) < 0) {
			return -1;
		}
		while (p < end && *p == ' ')
			p++;
	}
	return 0;
}

static int parse_header(const char *p, const char *end, struct ms_map *map)
{
	if (end - p < 2 || p[1] != ' ' || (p[0] != '1' && p[0] != '3'))
		return -1;
	map->version = (unsigned)(p[0] - '0');
	int ret = map->version == 1 ? parse_header_v1(p + 2, end, map) :
		parse_header_v3(p + 2, end, map);
	if (ret < 0 || map->uidvalidity == 0 || map->nextuid == 0)
		return -1;
	map->header_ok = true;
	return 0;
}

/* One record line [p, end) (without the LF). */
static int parse_record(const char *p, const char *end, struct ms_map *map)
{
	uint32_t uid;
	const char *ext = NULL, *ext_end = NULL, *base;

	if ((p = parse_u32(p, end, &uid)) == NULL || p >= end || *p != ' ')
		return -1;
	if (map->count > 0 && uid <= map->recs[map->count - 1].uid)
		return -1;
	while (p < end && *p == ' ')
		p++;
	if (map->version == 3) {
		/* Extension fields up to the one starting with ':'. */
		while (p < end && *p != ':') {
			if (ext == NULL)
				ext = p;
			while (p < end && *p != ' ')
				p++;
			ext_end = p;
			while (p < end && *p == ' ')
				p++;
		}
		if (p >= end)
			return -1;
		base = p + 1;
	} else {
		base = p;
		const char *colon = memchr(base, ':', (size_t)(end - base));
		if (colon != NULL)
			end = colon;
	}
	size_t base_len = (size_t)(end - base);
	size_t ext_len = ext != NULL ? (size_t)(ext_end - ext) : 0;
	if (base_len == 0 || base_len > MS_BASE_MAX || ext_len > MS_EXT_MAX ||
	    memchr(base, '/', base_len) != NULL ||
	    map->count >= MS_MSGS_MAX)
		return -1;
	ms_map_add(map, uid, base, base_len, ext != NULL ? ext : "", ext_len);
	return 0;
}

static void note_uid(const char *p, const char *end, struct ms_map *map)
{
	uint32_t uid;

	if (parse_u32(p, end, &uid) != NULL && uid > map->max_uid_seen)
		map->max_uid_seen = uid;
}

const char *ms_rec_key(const void *ctx, uint32_t idx, size_t *len_r)
{
	const struct ms_map *map = ctx;

	*len_r = strlen(map->recs[idx].base);
	return map->recs[idx].base;
}

/* A name listed twice keeps its higher UID (Dovecot: a file moved back
 * after an expunge was appended again). */
static void drop_duplicates(struct ms_map *map)
{
	bool *drop = xcalloc(map->count + 1, sizeof(*drop));
	struct ms_hash h;
	size_t out = 0, dups = 0;

	ms_hash_init(&h, map->count);
	for (size_t i = 0; i < map->count; i++) {
		const char *b = map->recs[i].base;
		long old = ms_hash_put(&h, b, strlen(b), (uint32_t)i, ms_rec_key,
				       map);
		if (old >= 0) {
			drop[old] = true;
			dups++;
		}
	}
	ms_hash_deinit(&h);
	for (size_t i = 0; i < map->count && dups > 0; i++) {
		if (drop[i]) {
			if (!ms_arena_has(map->arena, map->recs[i].base))
				free(map->recs[i].base);	/* and ext */
			continue;
		}
		map->recs[out++] = map->recs[i];
	}
	if (dups > 0)
		map->count = out;
	free(drop);
}

/* Bounded, and without the bytes no name or field may hold. */
static bool line_ok(const char *p, const char *end)
{
	size_t n = (size_t)(end - p);

	return n <= MS_LINE_MAX && memchr(p, '\0', n) == NULL &&
		memchr(p, '\r', n) == NULL;
}

static int damaged(const char *data, const char *p, const char *end,
		   struct ms_map *map, const char **error_r, const char *why)
{
	/* Keep looking for UIDs in the rest: none of them may come back. */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *lend = nl != NULL ? nl : end;
		note_uid(p, lend, map);
		p = nl != NULL ? nl + 1 : end;
	}
	drop_duplicates(map);
	*error_r = ms_error("dovecot-uidlist damaged at offset %zu: %s",
			    (size_t)(p - data), why);
	return -1;
}

int ms_uidlist_parse(const char *data, size_t len, struct ms_map *map,
		     const char **error_r)
{
	const char *p = data, *end = data + len;

	ms_map_clear(map);
	if (len == 0)
		return 0;
	const char *nl = memchr(p, '\n', len);
	if (nl == NULL || !line_ok(p, nl) || parse_header(p, nl, map) < 0)
		return damaged(data, nl != NULL ? nl + 1 : end, end, map,
			       error_r, "bad header");
	for (p = nl + 1; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL) {
			/* Being appended right now: not there yet. */
			note_uid(p, end, map);
			break;
		}
		note_uid(p, nl, map);
		if (!line_ok(p, nl) || parse_record(p, nl, map) < 0)
			return damaged(data, p, end, map, error_r,
				       "bad record");
	}
	drop_duplicates(map);
	return 1;
}

void ms_make_guid(char guid[MS_GUID_LEN + 1])
{
	unsigned char raw[MS_GUID_LEN / 2];
	static const char hex[] = "0123456789abcdef";

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		/* Only needs to differ between mailboxes. */
		uint64_t t = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
		for (size_t i = 0; i < sizeof(raw); i++)
			raw[i] = (unsigned char)(t >> ((i % 8) * 8)) ^
				(unsigned char)(i * 37);
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		guid[2 * i] = hex[raw[i] >> 4];
		guid[2 * i + 1] = hex[raw[i] & 15];
	}
	guid[MS_GUID_LEN] = '\0';
}

int ms_uidlist_format(struct ms_map *map, struct buf *out)
{
	if (map->guid[0] == '\0')
		ms_make_guid(map->guid);
	if (buf_printf(out, "3 V%u N%u G%s", map->uidvalidity,
		       ms_map_next_uid(map), map->guid) < 0 ||
	    (map->hdr_ext[0] != '\0' &&
	     buf_printf(out, " %s", map->hdr_ext) < 0) ||
	    buf_append_char(out, '\n') < 0)
		return -1;
	for (size_t i = 0; i < map->count; i++) {
		const struct ms_rec *r = &map->recs[i];
		if (buf_printf(out, "%u", r->uid) < 0 ||
		    (r->ext[0] != '\0' && buf_printf(out, " %s", r->ext) < 0) ||
		    buf_printf(out, " :%s\n", r->base) < 0)
			return -1;
	}
	return 0;
}

/* Union of the maps in priority order: a base keeps the UID of the first
 * map that has it, a UID the first base that has it. */
struct cand {
	uint32_t uid;
	unsigned prio;
	const struct ms_rec *rec;
};

static int cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return x->prio < y->prio ? -1 : x->prio > y->prio;
}

static const char *cand_key(const void *ctx, uint32_t idx, size_t *len_r)
{
	const struct cand *cands = ctx;

	*len_r = strlen(cands[idx].rec->base);
	return cands[idx].rec->base;
}

void ms_map_union(struct ms_map *out, const struct ms_map *const *srcs,
		      size_t n)
{
	size_t total = 0, kept = 0;
	struct ms_hash h;

	for (size_t s = 0; s < n; s++)
		total += srcs[s]->count;
	struct cand *cands = xcalloc(total + 1, sizeof(*cands));
	ms_hash_init(&h, total);
	for (size_t s = 0; s < n; s++) {
		for (size_t i = 0; i < srcs[s]->count; i++) {
			const struct ms_rec *r = &srcs[s]->recs[i];
			if (ms_hash_find(&h, r->base, strlen(r->base), cand_key,
					 cands) >= 0)
				continue;
			cands[kept] = (struct cand){ r->uid, (unsigned)s, r };
			ms_hash_insert(&h, r->base, strlen(r->base),
				       (uint32_t)kept++);
		}
	}
	qsort(cands, kept, sizeof(*cands), cand_cmp);
	for (size_t i = 0; i < kept; i++) {
		if (i > 0 && cands[i].uid == cands[i - 1].uid)
			continue;
		const struct ms_rec *r = cands[i].rec;
		ms_map_add(out, r->uid, r->base, strlen(r->base), r->ext,
			   strlen(r->ext));
	}
	ms_hash_deinit(&h);
	free(cands);
}

void ms_map_copy_header(struct ms_map *to, const struct ms_map *from)
{
	memcpy(to->guid, from->guid, sizeof(to->guid));
	free(to->hdr_ext);
	to->hdr_ext = xstrdup(from->hdr_ext);
}
