/* mailstore: opening and closing a folder, its read-only accessors, and
 * the small helpers the other mailstore files share (errors, paths,
 * whole-file reads, stamps, a name hash). See mailstore.h and
 * doc/mailstore.md. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "buf.h"
#include "fsutil.h"
#include "mailstore_impl.h"
#include "mem.h"

#define MS_ERROR_MAX (PATH_MAX + 256)
/* Reads of a file changing under us are retried this often. */
#define MS_READ_RETRIES 5

static struct buf ms_errbuf;

const char *ms_error(const char *fmt, ...)
{
	va_list ap;
	const char *msg;

	va_start(ap, fmt);
	msg = buf_error_vset(&ms_errbuf, MS_ERROR_MAX, "mail store error", fmt,
			     ap);
	va_end(ap);
	return msg;
}

char *ms_path_join(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	char *p = xmalloc(dl + nl + 2);

	memcpy(p, dir, dl);
	p[dl] = '/';
	memcpy(p + dl + 1, name, nl + 1);
	return p;
}

int ms_stamp_get(const char *path, struct ms_stamp *st)
{
	struct stat s;

	memset(st, 0, sizeof(*st));
	if (stat(path, &s) < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	st->exists = true;
	st->dev = s.st_dev;
	st->ino = s.st_ino;
	st->size = s.st_size;
	st->mtime = s.st_mtim;
	return 0;
}

bool ms_stamp_eq(const struct ms_stamp *a, const struct ms_stamp *b)
{
	if (a->exists != b->exists)
		return false;
	return !a->exists || (a->dev == b->dev && a->ino == b->ino &&
			      a->size == b->size &&
			      a->mtime.tv_sec == b->mtime.tv_sec &&
			      a->mtime.tv_nsec == b->mtime.tv_nsec);
}

static void stamp_from_stat(struct ms_stamp *st, const struct stat *s)
{
	st->exists = true;
	st->dev = s->st_dev;
	st->ino = s->st_ino;
	st->size = s->st_size;
	st->mtime = s->st_mtim;
}

/* One attempt: 1 read and unchanged meanwhile, 2 changed (retry). */
static int read_once(int fd, size_t max, char **data_r, size_t *len_r,
		     struct ms_stamp *st_r)
{
	struct stat before, after;

	if (fstat(fd, &before) < 0)
		return -1;
	if (!S_ISREG(before.st_mode) || (uint64_t)before.st_size > max) {
		errno = EFBIG;
		return -1;
	}
	size_t size = (size_t)before.st_size;
	char *data = xmalloc(size + 1);
	ssize_t n = fs_pread_all(fd, data, size, 0);
	if (n < 0 || fstat(fd, &after) < 0) {
		free(data);
		return -1;
	}
	data[n] = '\0';
	if ((size_t)n != size || after.st_size != before.st_size ||
	    after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
	    after.st_mtim.tv_nsec != before.st_mtim.tv_nsec) {
		free(data);
		return 2;
	}
	stamp_from_stat(st_r, &after);
	*data_r = data;
	*len_r = size;
	return 1;
}

int ms_read_file(const char *path, size_t max, char **data_r, size_t *len_r,
		 struct ms_stamp *st_r, const char **error_r)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int ret = 2;

	memset(st_r, 0, sizeof(*st_r));
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		st_r->exists = true;
		*error_r = ms_error("open %s: %s", path, strerror(errno));
		return -1;
	}
	for (int i = 0; i < MS_READ_RETRIES && ret == 2; i++)
		ret = read_once(fd, max, data_r, len_r, st_r);
	int saved = errno;
	close(fd);
	if (ret == 1)
		return 1;
	st_r->exists = true;
	*error_r = ret == 2 ? ms_error("%s keeps changing", path) :
		ms_error("read %s: %s", path, strerror(saved));
	return -1;
}

mode_t ms_file_mode(const struct mailstore *box)
{
	struct stat st;

	if (stat(box->path, &st) < 0)
		return 0600;
	return (st.st_mode & 0666) | 0600;
}

int ms_arena_init(struct ms_arena *a, size_t len)
{
	memset(a, 0, sizeof(*a));
	if (len == 0)
		return -1;
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	a->base = p;
	a->len = len;
	return 0;
}

void *ms_arena_alloc(struct ms_arena *a, size_t n)
{
	size_t at;

	if (a == NULL || a->base == NULL)
		return NULL;
	at = (a->used + 7) & ~(size_t)7;
	if (at > a->len || n > a->len - at)
		return NULL;
	a->used = at + n;
	return a->base + at;
}

bool ms_arena_has(const struct ms_arena *a, const void *p)
{
	const char *c = p;

	return a != NULL && a->base != NULL && c >= a->base &&
		c < a->base + a->len;
}

void ms_arena_free(struct ms_arena *a)
{
	if (a->base != NULL)
		munmap(a->base, a->len);
	memset(a, 0, sizeof(*a));
}

int ms_arena_take(struct ms_arena *to, struct ms_arena *spare, size_t len)
{
	ms_arena_free(to);
	if (spare->base != NULL && spare->len >= len) {
		*to = *spare;
		to->used = 0;
		memset(spare, 0, sizeof(*spare));
		return 0;
	}
	return ms_arena_init(to, len);
}

/* A folder this large keeps no spare: its memory would double. */
#define ARENA_SPARE_MAX ((size_t)32 << 20)

void ms_arena_keep(struct ms_arena *spare, struct ms_arena *a)
{
	if (a->base == NULL)
		return;
	if (a->len <= ARENA_SPARE_MAX &&
	    (spare->base == NULL || spare->len < a->len)) {
		ms_arena_free(spare);
		*spare = *a;
	} else {
		ms_arena_free(a);
	}
	memset(a, 0, sizeof(*a));
}

/* Eight octets a step: a sync hashes every name of the folder a few
 * times (names of 50-60 octets). Only for tables in memory. */
static uint32_t hash_name(const char *s, size_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15u ^ len, w;

	for (; len >= 8; s += 8, len -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdu;
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, s, len);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53u;
	return (uint32_t)(h ^ (h >> 29));
}

void ms_hash_init(struct ms_hash *h, size_t n)
{
	size_t size = 16;

	while (size < n * 2)
		size *= 2;
	h->slots = xcalloc(size, sizeof(*h->slots));
	h->mask = size - 1;
}

void ms_hash_deinit(struct ms_hash *h)
{
	xfree(&h->slots);
	h->mask = 0;
}

/* The slot of key, or the empty slot where it would go. */
static struct ms_hash_slot *hash_slot(const struct ms_hash *h, const char *key,
				      size_t len, ms_hash_key_fn *fn,
				      const void *ctx)
{
	uint32_t hv = hash_name(key, len);

	for (size_t i = hv & h->mask;; i = (i + 1) & h->mask) {
		struct ms_hash_slot *slot = &h->slots[i];
		if (slot->idx1 == 0)
			return slot;
		if (slot->hash != hv)
			continue;
		size_t klen;
		const char *k = fn(ctx, slot->idx1 - 1, &klen);
		if (klen == len && memcmp(k, key, len) == 0)
			return slot;
	}
}

long ms_hash_find(const struct ms_hash *h, const char *key, size_t len,
		  ms_hash_key_fn *fn, const void *ctx)
{
	const struct ms_hash_slot *slot = hash_slot(h, key, len, fn, ctx);

	return slot->idx1 == 0 ? -1 : (long)slot->idx1 - 1;
}

long ms_hash_put(struct ms_hash *h, const char *key, size_t len, uint32_t idx,
		 ms_hash_key_fn *fn, const void *ctx)
{
	struct ms_hash_slot *slot = hash_slot(h, key, len, fn, ctx);
	long old = slot->idx1 == 0 ? -1 : (long)slot->idx1 - 1;

	slot->idx1 = idx + 1;
	slot->hash = hash_name(key, len);
	return old;
}

void ms_hash_insert(struct ms_hash *h, const char *key, size_t len,
		    uint32_t idx)
{
	uint32_t hv = hash_name(key, len);
	size_t i = hv & h->mask;

	while (h->slots[i].idx1 != 0)
		i = (i + 1) & h->mask;
	h->slots[i].idx1 = idx + 1;
	h->slots[i].hash = hv;
}

/* Makes path/sub when missing (with create) or fails. */
static int open_subdir(const char *path, const char *sub, unsigned flags,
		       mode_t mode, const char **error_r)
{
	char *p = ms_path_join(path, sub);
	struct stat st;
	int ret = 0;

	if (stat(p, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			*error_r = ms_error("%s: not a directory", p);
			ret = -1;
		}
	} else if (errno != ENOENT) {
		*error_r = ms_error("%s: %s", p, strerror(errno));
		ret = -1;
	} else if ((flags & MAILSTORE_OPEN_CREATE) == 0) {
		*error_r = ms_error("%s: not a Maildir (no %s/)", path, sub);
		ret = -1;
	} else if (mkdir(p, mode) < 0 && errno != EEXIST) {
		*error_r = ms_error("mkdir %s: %s", p, strerror(errno));
		ret = -1;
	}
	free(p);
	return ret;
}

static int check_dir(const char *path, unsigned flags, const char **error_r)
{
	static const char *const subs[] = { "tmp", "new", "cur" };
	struct stat st;

	if (*path == '\0' || strlen(path) > PATH_MAX - 2 * MS_BASE_MAX) {
		*error_r = ms_error("mail store path too long");
		return -1;
	}
	if (stat(path, &st) < 0) {
		if (errno != ENOENT || (flags & MAILSTORE_OPEN_CREATE) == 0) {
			*error_r = ms_error("%s: %s", path, strerror(errno));
			return -1;
		}
		if (fs_mkdir_p(path, 0700) < 0 || stat(path, &st) < 0) {
			*error_r = ms_error("mkdir %s: %s", path,
					    strerror(errno));
			return -1;
		}
	}
	if (!S_ISDIR(st.st_mode)) {
		*error_r = ms_error("%s: not a directory", path);
		return -1;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (open_subdir(path, subs[i], flags, st.st_mode & 07777,
				error_r) < 0)
			return -1;
	return 0;
}

int mailstore_open(const char *path, unsigned flags, struct mailstore **box_r,
		   const char **error_r)
{
	if (check_dir(path, flags, error_r) < 0)
		return -1;
	struct mailstore *box = xcalloc(1, sizeof(*box));
	box->path = xstrdup(path);
	box->uidlist_path = ms_path_join(path, MS_UIDLIST_NAME);
	box->index_path = ms_path_join(path, MS_INDEX_NAME);
	box->keywords_path = ms_path_join(path, MS_KEYWORDS_NAME);
	box->new_path = ms_path_join(path, "new");
	box->cur_path = ms_path_join(path, "cur");
	box->stamps_path = ms_path_join(path, MS_STAMPS_NAME);
	box->claim_recent = (flags & MAILSTORE_OPEN_CLAIM_RECENT) != 0;
	ms_map_init(&box->ul);
	ms_map_init(&box->ix);
	/* Missing or damaged: rebuilt by the first sync. */
	ms_index_read_box(box);
	if (ms_keywords_refresh(box, error_r) < 0 ||
	    (ms_open_fast(box) == 0 && ms_sync(box, true, error_r) < 0)) {
		box->ix_dirty = false;
		mailstore_close(&box);
		return -1;
	}
	*box_r = box;
	return 0;
}

void mailstore_close(struct mailstore **boxp)
{
	struct mailstore *box = *boxp;

	if (box == NULL)
		return;
	ms_flags_settle(box);
	ms_save_index_if_dirty(box);
	ms_limbo_purge(box, true);
	ms_msgs_free(&box->arena, box->msgs, box->count);
	ms_graveyard_clear(box);
	ms_map_clear(&box->ul);
	free(box->ul.hdr_ext);
	ms_map_clear(&box->ix);
	free(box->ix.hdr_ext);
	ms_arena_free(&box->arena);
	ms_arena_free(&box->spare);
	ms_keywords_free(box->keywords);
	free(box->path);
	free(box->uidlist_path);
	free(box->index_path);
	free(box->keywords_path);
	free(box->new_path);
	free(box->cur_path);
	free(box->stamps_path);
	free(box);
	*boxp = NULL;
}

void ms_msgs_free(const struct ms_arena *arena, struct mailstore_msg *msgs,
		  size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (!ms_arena_has(arena, msgs[i].name))
			free((char *)msgs[i].name);
		if (!ms_arena_has(arena, msgs[i].pop3_uidl))
			free((char *)msgs[i].pop3_uidl);
	}
	if (!ms_arena_has(arena, msgs))
		free(msgs);
}

void ms_graveyard_clear(struct mailstore *box)
{
	for (size_t i = 0; i < box->graveyard_count; i++)
		if (!ms_arena_has(&box->arena, box->graveyard[i]))
			free(box->graveyard[i]);
	xfree(&box->graveyard);
	box->graveyard_count = 0;
}

const char *mailstore_path(const struct mailstore *box)
{
	return box->path;
}

uint32_t mailstore_uidvalidity(const struct mailstore *box)
{
	return box->ul.uidvalidity;
}

uint32_t mailstore_uidnext(const struct mailstore *box)
{
	return ms_map_next_uid(&box->ul);
}

const char *mailstore_guid(const struct mailstore *box)
{
	/* Made by the first sync that could write the uidlist. */
	return box->ul.guid[0] != '\0' ? box->ul.guid : box->ix.guid;
}

uint64_t mailstore_highest_modseq(const struct mailstore *box)
{
	return box->ix.highest_modseq;
}

size_t mailstore_recent_count(const struct mailstore *box)
{
	size_t lo = 0, hi = box->count;

	/* The first message at or above the first recent UID. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (box->msgs[mid].uid < box->ix.first_recent_uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return box->count - lo;
}

size_t mailstore_count(const struct mailstore *box)
{
	return box->count;
}

const struct mailstore_msg *mailstore_msg(const struct mailstore *box,
					  size_t i)
{
	return i < box->count ? &box->msgs[i] : NULL;
}

int mailstore_find_uid(const struct mailstore *box, uint32_t uid, size_t *i_r)
{
	size_t lo = 0, hi = box->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (box->msgs[mid].uid == uid) {
			*i_r = mid;
			return 1;
		}
		if (box->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

const char *mailstore_keyword_name(const struct mailstore *box, unsigned idx)
{
	return idx < MAILSTORE_KEYWORDS_MAX ? box->keywords[idx] : NULL;
}
