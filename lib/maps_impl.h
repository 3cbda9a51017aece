/* maps_impl: what the table types (maps_texthash.c, maps_hash.c,
 * maps_inline.c) share with the list logic in maps.c. Private to lib/maps*:
 * nothing outside those files includes it. */
#ifndef SUREL_MAPS_IMPL_H
#define SUREL_MAPS_IMPL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include "buf.h"
#include "maps.h"

/* The largest texthash source read into memory: beyond it, use hash:. */
#define MAPS_TEXT_FILE_MAX (64 * 1024 * 1024)
/* Longest logical line of a text table (key, white space, value). */
#define MAPS_TEXT_LINE_MAX (MAPS_KEY_MAX + MAPS_VALUE_MAX + 4096)
/* Most tables in one list. */
#define MAPS_LIST_MAX 64

struct maps_table;

struct maps_type {
	const char *name;	/* "texthash" */
	/* For a type read from a file: appended to the name gives the file
	 * whose changes trigger a reopen (t->watch_path). NULL: no file. */
	const char *watch_suffix;
	/* Opens (or reopens) t->name; fills t->impl. */
	int (*open)(struct maps_table *t, const char **error_r);
	/* Pattern types (pcre:, cidr:) set it: they get the key exactly as
	 * the caller gave it, of any length, never case-folded (a regex
	 * has its own i flag; an address has no case). */
	bool raw_key;
	/* key is already folded as the flags ask and at most MAPS_KEY_MAX
	 * bytes (unless raw_key). Returns 1 with *value_r (valid until the next lookup on t),
	 * 0, or -1 with *error_r. */
	int (*lookup)(struct maps_table *t, const char *key,
		      const char **value_r, const char **error_r);
	/* Releases t->impl; t->impl is NULL afterwards. */
	void (*close)(struct maps_table *t);
};

struct maps_table {
	const struct maps_type *type;
	char *name;		/* the part after "type:" */
	unsigned flags;
	void *impl;
	/* Reopen on change: NULL for tables without a file. */
	char *watch_path;
	uint64_t checked_ms;	/* last stat (monotonic) */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	char *error;		/* set while a reopen fails: lookups fail */
	/* A lookup's problem that is not a failure (a regex match limit
	 * hit: no match, as Postfix), kept for maps_take_warning. */
	char *warning;
};

extern const struct maps_type maps_type_texthash;
extern const struct maps_type maps_type_hash;
extern const struct maps_type maps_type_btree;
extern const struct maps_type maps_type_inline;
extern const struct maps_type maps_type_pcre;
extern const struct maps_type maps_type_cidr;

/* Formats an error into the shared buffer (valid until the next call of
 * any maps function) and returns it. */
const char *maps_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* An in-memory string table (texthash:, inline:): open addressing,
 * keys and values copied. */
struct maps_mem;
struct maps_mem *maps_mem_new(void);
void maps_mem_free(struct maps_mem **m);
/* Adds key -> value. With replace false an existing key is kept (returns
 * 0); otherwise the value is replaced (returns 0). Returns 1 when added. */
int maps_mem_put(struct maps_mem *m, const char *key, const char *value,
		 bool replace);
const char *maps_mem_get(const struct maps_mem *m, const char *key);
/* The lookup and close of a table whose impl is a struct maps_mem. */
int maps_mem_table_lookup(struct maps_table *t, const char *key,
			  const char **value_r, const char **error_r);
void maps_mem_table_close(struct maps_table *t);

/* Reads a whole regular file of at most max bytes into *data_r
 * (NUL-terminated, caller frees). 0, or -1 with errno (EINVAL: not a
 * regular file, EFBIG: larger than max). */
int maps_read_file(const char *path, size_t max, char **data_r,
		   size_t *len_r);

/* Replaces t's pending warning (formatted). */
void maps_table_warn(struct maps_table *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

bool maps_is_space(char c);
/* The logical lines of a table source (Postfix's format, as
 * maps_texthash_parse: comments and blank lines skipped, continuation
 * lines joined with their white space, NUL bytes and lines over
 * MAPS_TEXT_LINE_MAX refused). fn gets each logical line (writable,
 * valid during the call) and the number of its first line; it returns 0
 * or -1 with *error_r ("line N: ..."), which stops the parse. */
typedef int maps_line_fn(void *ctx, char *line, unsigned lineno,
			 const char **error_r);
int maps_lines_parse(const char *data, size_t len, maps_line_fn *fn,
		     void *ctx, const char **error_r);
/* Reads the file t->name (at most max bytes) and parses its lines; an
 * error is "FILE, line N: ..." or "open FILE: ...". 0 or -1. */
int maps_load_lines(const struct maps_table *t, size_t max, maps_line_fn *fn,
		    void *ctx, const char **error_r);

/* Lower-cases in place unless flags say MAPS_FLAG_KEEP_CASE. */
void maps_fold(char *s, unsigned flags);

/* Splits off the next element of a comma/space separated list where
 * braces group ("inline:{ a=b, c=d }, hash:/x"), like Postfix's
 * mystrtokq. Returns NULL at the end, or the element (NUL-terminated in
 * place); *s advances. *error_r on unbalanced braces (returns NULL). */
char *maps_next_element(char **s, const char **error_r);

#endif
