/* maps: lists of lookup tables "type:name", the reopen-on-change check,
 * Postfix's address lookup order, and the in-memory table that texthash:
 * and inline: share. The table types live in maps_texthash.c,
 * maps_hash.c and maps_inline.c. */
#include "config.h"
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fsutil.h"
#include "maps.h"
#include "maps_impl.h"
#include "mem.h"
#include "str.h"
#include "timeutil.h"

/* How often a table's file is stat()ed for changes. */
#define MAPS_CHECK_INTERVAL_MS 1000

struct maps {
	char *spec;
	struct maps_table *tables;
	size_t count;
	/* Scratch for lookup_addr keys and the found extension. */
	char key[MAPS_KEY_MAX + 1];
	char ext[MAPS_KEY_MAX + 1];
	char warning[512];	/* maps_take_warning's answer */
};

static const struct maps_type *const maps_types[] = {
	&maps_type_texthash,
	&maps_type_hash,
	&maps_type_btree,
	&maps_type_inline,
	&maps_type_pcre,
	&maps_type_cidr,
};

static char maps_errbuf[1024];

const char *maps_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(maps_errbuf, sizeof(maps_errbuf), fmt, ap);
	va_end(ap);
	return maps_errbuf;
}

void maps_table_warn(struct maps_table *t, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	free(t->warning);
	t->warning = xstrdup(msg);
}

const char *maps_take_warning(struct maps *maps)
{
	for (size_t i = 0; i < maps->count; i++) {
		struct maps_table *t = &maps->tables[i];

		if (t->warning == NULL)
			continue;
		snprintf(maps->warning, sizeof(maps->warning), "%s:%s: %s",
			 t->type->name, t->name, t->warning);
		free(t->warning);
		t->warning = NULL;
		return maps->warning;
	}
	return NULL;
}

void maps_fold(char *s, unsigned flags)
{
	if ((flags & MAPS_FLAG_KEEP_CASE) == 0)
		str_lower(s);
}

char *maps_next_element(char **s, const char **error_r)
{
	char *p = *s, *start;
	int depth = 0;

	p += strspn(p, ", \t\r\n");
	if (*p == '\0') {
		*s = p;
		return NULL;
	}
	start = p;
	for (; *p != '\0'; p++) {
		if (*p == '{') {
			depth++;
		} else if (*p == '}') {
			if (--depth < 0)
				break;
		} else if (depth == 0 && strchr(", \t\r\n", *p) != NULL) {
			break;
		}
	}
	if (depth != 0) {
		*error_r = maps_error("unbalanced braces in \"%.100s\"", start);
		return NULL;
	}
	if (*p != '\0')
		*p++ = '\0';
	*s = p;
	return start;
}

/* ---- the in-memory table ---- */

struct maps_mem_entry {
	char *key;	/* key and value in one allocation */
	char *value;
};

struct maps_mem {
	struct maps_mem_entry *slots;
	size_t cap;	/* power of two */
	size_t used;
};

static size_t maps_mem_hash(const char *key)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 29));
}

struct maps_mem *maps_mem_new(void)
{
	struct maps_mem *m = xcalloc(1, sizeof(*m));

	m->cap = 16;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	return m;
}

void maps_mem_free(struct maps_mem **mp)
{
	struct maps_mem *m = *mp;

	if (m == NULL)
		return;
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	xfree(mp);
}

static struct maps_mem_entry *maps_mem_find(const struct maps_mem *m,
					    const char *key)
{
	size_t i = maps_mem_hash(key) & (m->cap - 1);

	/* Load stays under one half: an empty slot is always found. */
	while (m->slots[i].key != NULL && strcmp(m->slots[i].key, key) != 0)
		i = (i + 1) & (m->cap - 1);
	return &m->slots[i];
}

static void maps_mem_grow(struct maps_mem *m)
{
	struct maps_mem old = *m;

	m->cap = old.cap * 2;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	for (size_t i = 0; i < old.cap; i++) {
		if (old.slots[i].key != NULL)
			*maps_mem_find(m, old.slots[i].key) = old.slots[i];
	}
	free(old.slots);
}

static void maps_mem_set(struct maps_mem_entry *e, const char *key,
			 const char *value)
{
	size_t klen = strlen(key), vlen = strlen(value);
	char *p = xmalloc(klen + vlen + 2);

	memcpy(p, key, klen + 1);
	memcpy(p + klen + 1, value, vlen + 1);
	free(e->key);
	e->key = p;
	e->value = p + klen + 1;
}

int maps_mem_put(struct maps_mem *m, const char *key, const char *value,
		 bool replace)
{
	struct maps_mem_entry *e = maps_mem_find(m, key);

	if (e->key != NULL) {
		if (replace)
			maps_mem_set(e, key, value);
		return 0;
	}
	if ((m->used + 1) * 2 > m->cap) {
		maps_mem_grow(m);
		e = maps_mem_find(m, key);
	}
	maps_mem_set(e, key, value);
	m->used++;
	return 1;
}

const char *maps_mem_get(const struct maps_mem *m, const char *key)
{
	const struct maps_mem_entry *e = maps_mem_find(m, key);

	return e->key != NULL ? e->value : NULL;
}

int maps_mem_table_lookup(struct maps_table *t, const char *key,
			  const char **value_r, const char **error_r)
{
	const char *value = maps_mem_get(t->impl, key);

	if (value == NULL)
		return 0;
	*value_r = value;
	return 1;
}

void maps_mem_table_close(struct maps_table *t)
{
	struct maps_mem *mem = t->impl;

	maps_mem_free(&mem);
	t->impl = NULL;
}

/* Reads a whole regular file of at most max bytes. The caller frees
 * *data_r. 0 or -1 (errno set, or EFBIG when too large). */
int maps_read_file(const char *path, size_t max, char **data_r,
			  size_t *len_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if ((uint64_t)st.st_size > max) {
		errno = EFBIG;
		goto fail;
	}
	size_t size = (size_t)st.st_size;
	char *data = xmalloc(size + 1);
	ssize_t n = fs_pread_all(fd, data, size, 0);
	if (n < 0) {
		free(data);
		goto fail;
	}
	/* A file that shrank while read is read as it is now; one that grew
	 * is seen whole at the next change check. */
	data[n] = '\0';
	close(fd);
	*data_r = data;
	*len_r = (size_t)n;
	return 0;
fail:;
	int saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* ---- lists of tables ---- */

/* Records what the table was read from: stat()ed again later to notice a
 * rebuilt or edited file. */
static void maps_table_note(struct maps_table *t)
{
	struct stat st;

	t->checked_ms = time_mono_ms();
	if (t->watch_path == NULL || stat(t->watch_path, &st) < 0)
		return;
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	t->size = st.st_size;
	t->mtime = st.st_mtim;
}

static int maps_table_open(struct maps_table *t, char *elem, unsigned flags,
			   const char **error_r)
{
	char *colon = strchr(elem, ':');

	if (colon == NULL || colon == elem || colon[1] == '\0') {
		*error_r = maps_error("bad table \"%.100s\": need type:name",
				      elem);
		return -1;
	}
	*colon = '\0';
	for (size_t i = 0; i < sizeof(maps_types) / sizeof(maps_types[0]);
	     i++) {
		if (strcmp(maps_types[i]->name, elem) == 0)
			t->type = maps_types[i];
	}
	if (t->type == NULL) {
		*error_r = maps_error("unsupported table type \"%.40s\"", elem);
		return -1;
	}
	t->name = xstrdup(colon + 1);
	t->flags = flags;
	if (t->type->watch_suffix != NULL) {
		size_t nlen = strlen(t->name);
		size_t slen = strlen(t->type->watch_suffix);
		t->watch_path = xmalloc(nlen + slen + 1);
		memcpy(t->watch_path, t->name, nlen);
		memcpy(t->watch_path + nlen, t->type->watch_suffix, slen + 1);
	}
	/* Note the file before reading it: a change during the read is
	 * then seen by the next check. */
	maps_table_note(t);
	return t->type->open(t, error_r);
}

static void maps_table_deinit(struct maps_table *t)
{
	if (t->type != NULL && t->impl != NULL)
		t->type->close(t);
	free(t->name);
	free(t->watch_path);
	free(t->error);
	free(t->warning);
}

int maps_open(const char *spec, unsigned flags, struct maps **maps_r,
	      const char **error_r)
{
	struct maps *maps = xcalloc(1, sizeof(*maps));
	char *copy = xstrdup(spec), *p = copy, *elem;
	const char *err = NULL;

	maps->spec = xstrdup(spec);
	while ((elem = maps_next_element(&p, &err)) != NULL) {
		if (maps->count == MAPS_LIST_MAX) {
			err = maps_error("more than %d tables", MAPS_LIST_MAX);
			break;
		}
		maps->tables = xreallocarray(maps->tables, maps->count + 1,
					     sizeof(*maps->tables));
		struct maps_table *t = &maps->tables[maps->count++];
		memset(t, 0, sizeof(*t));
		if (maps_table_open(t, elem, flags, &err) < 0)
			break;
	}
	free(copy);
	if (err != NULL) {
		maps_free(&maps);
		*error_r = err;
		return -1;
	}
	*maps_r = maps;
	return 0;
}

void maps_free(struct maps **mapsp)
{
	struct maps *maps = *mapsp;

	if (maps == NULL)
		return;
	for (size_t i = 0; i < maps->count; i++)
		maps_table_deinit(&maps->tables[i]);
	free(maps->tables);
	free(maps->spec);
	xfree(mapsp);
}

const char *maps_spec(const struct maps *maps) { return maps->spec; }

static bool maps_table_changed(const struct maps_table *t)
{
	struct stat st;

	if (stat(t->watch_path, &st) < 0)
		return true;	/* the reopen reports why */
	return st.st_dev != t->dev || st.st_ino != t->ino ||
	       st.st_size != t->size ||
	       st.st_mtim.tv_sec != t->mtime.tv_sec ||
	       st.st_mtim.tv_nsec != t->mtime.tv_nsec;
}

/* Reopens a table whose file changed, at most once a second. A table that
 * cannot be reopened fails every lookup (temporary failure) until it can:
 * answering from stale data after an operator's change would be wrong in
 * a way nobody notices. */
static int maps_table_refresh(struct maps_table *t, const char **error_r)
{
	uint64_t now = time_mono_ms();
	const char *err;

	if (t->watch_path == NULL ||
	    now - t->checked_ms < MAPS_CHECK_INTERVAL_MS)
		goto out;
	t->checked_ms = now;
	if (t->error == NULL && !maps_table_changed(t))
		return 0;
	if (t->impl != NULL)
		t->type->close(t);
	/* Note the file before reading it: a change during the read is
	 * then seen by the next check. */
	maps_table_note(t);
	free(t->error);
	t->error = NULL;
	if (t->type->open(t, &err) < 0)
		t->error = xstrdup(err);
out:
	if (t->error != NULL) {
		*error_r = maps_error("%s:%.200s: table unavailable: %s",
				      t->type->name, t->name, t->error);
		return -1;
	}
	return 0;
}

/* Looks a key up in each table: raw (as the caller gave it) in the
 * tables that want it so, folded in the others. Either may be NULL: the
 * tables that want that form are skipped (a folded key that is too long
 * for any table; no raw key for the derived forms of an address, which
 * pattern tables never see, as Postfix). */
static int maps_lookup_forms(struct maps *maps, const char *raw,
			     const char *folded, const char **value_r,
			     const char **error_r)
{
	for (size_t i = 0; i < maps->count; i++) {
		struct maps_table *t = &maps->tables[i];
		const char *key = t->type->raw_key ? raw : folded;

		if (key == NULL)
			continue;
		if (maps_table_refresh(t, error_r) < 0)
			return -1;
		int ret = t->type->lookup(t, key, value_r, error_r);
		if (ret != 0)
			return ret;
	}
	return 0;
}

/* Copies and folds key into maps->key; NULL when it is too long. */
static const char *maps_folded(struct maps *maps, const char *key,
			       size_t len)
{
	if (len > MAPS_KEY_MAX)
		return NULL;	/* no table can hold such a key */
	memcpy(maps->key, key, len);
	maps->key[len] = '\0';
	/* Every table of a list is opened with the same flags. */
	if (maps->count > 0)
		maps_fold(maps->key, maps->tables[0].flags);
	return maps->key;
}

int maps_lookup(struct maps *maps, const char *key, const char **value_r,
		const char **error_r)
{
	const char *folded = maps_folded(maps, key, strlen(key));

	return maps_lookup_forms(maps, key, folded, value_r, error_r);
}

/* Length of the local part before its extension, as Postfix's split_addr:
 * 0 when the address must not be split. */
static size_t maps_split_len(const char *local, size_t local_len,
			     const char *delimiter)
{
	static const char *const no_split[] = { "postmaster",
						"mailer-daemon" };

	for (size_t i = 0; i < 2; i++) {
		if (strlen(no_split[i]) == local_len &&
		    strncasecmp(local, no_split[i], local_len) == 0)
			return 0;
	}
	/* Traditional list names are not user-extension pairs. */
	if (strchr(delimiter, '-') != NULL &&
	    ((local_len > 6 && strncasecmp(local, "owner-", 6) == 0) ||
	     (local_len > 8 &&
	      strncasecmp(local + local_len - 8, "-request", 8) == 0)))
		return 0;
	size_t n = 0;
	while (n < local_len && strchr(delimiter, local[n]) == NULL)
		n++;
	return n == local_len ? 0 : n;
}

int maps_lookup_addr_ext(struct maps *maps, const char *address,
			 const char *delimiter, const char **value_r,
			 const char **ext_r, const char **error_r)
{
	size_t len = strlen(address);
	const char *at = strrchr(address, '@');
	size_t local_len = at != NULL ? (size_t)(at - address) : len;
	int ret;

	if (ext_r != NULL)
		*ext_r = NULL;
	if ((ret = maps_lookup(maps, address, value_r, error_r)) != 0)
		return ret;
	if (len > MAPS_KEY_MAX)
		return 0;
	size_t n = delimiter == NULL || *delimiter == '\0' ? 0 :
		maps_split_len(address, local_len, delimiter);
	if (n > 0) {
		/* user@domain: the local part without its extension. */
		memcpy(maps->ext, address + n, local_len - n);
		maps->ext[local_len - n] = '\0';
		memcpy(maps->key, address, n);
		memcpy(maps->key + n, address + local_len, len - local_len + 1);
		if (maps->count > 0)
			maps_fold(maps->key, maps->tables[0].flags);
		ret = maps_lookup_forms(maps, NULL, maps->key, value_r,
					error_r);
		if (ret != 0) {
			if (ret > 0 && ext_r != NULL)
				*ext_r = maps->ext;
			return ret;
		}
	}
	if (at == NULL)
		return 0;
	return maps_lookup_forms(maps, NULL,
				 maps_folded(maps, at, strlen(at)), value_r,
				 error_r);
}

int maps_lookup_addr(struct maps *maps, const char *address,
		     const char *delimiter, const char **value_r,
		     const char **error_r)
{
	return maps_lookup_addr_ext(maps, address, delimiter, value_r, NULL,
				    error_r);
}
