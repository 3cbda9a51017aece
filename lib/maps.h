/* maps: lookup tables named "type:name", as Postfix's. Types so far:
 *   texthash:/path   "key value" text file read into memory at open
 *   hash:/path       Berkeley DB hash built by surelmap (/path.db)
 *   btree:/path      Berkeley DB btree built by surelmap (/path.db)
 *   inline:{ key=value, { key = value with spaces }, ... }
 *   pcre:/path       Postfix's pcre_table(5): /regex/flags result rules
 *   cidr:/path       Postfix's cidr_table(5): network/prefix result rules
 * Keys are looked up lower-cased (as surelmap stores them) unless the
 * table is opened with MAPS_FLAG_KEEP_CASE; pcre: and cidr: get the key
 * as given, of any length (a regex has its own i flag), and only the
 * whole address in maps_lookup_addr (no derived forms, as Postfix). A list of tables ("a:x, b:y")
 * is searched in order: maps_open accepts such a list.
 *
 * Tables are reopened transparently when their file changes (checked at
 * most once a second), so daemons pick up a rebuilt table without a
 * restart. */
#ifndef SUREL_MAPS_H
#define SUREL_MAPS_H
#include <stdbool.h>

#define MAPS_FLAG_KEEP_CASE 0x1
#define MAPS_KEY_MAX 1024
#define MAPS_VALUE_MAX 65536

struct maps;

/* spec is a comma/space separated list of type:name. An empty spec is a
 * valid empty list (every lookup: not found). Returns 0 or -1 (*error_r,
 * valid until the next call). */
int maps_open(const char *spec, unsigned flags, struct maps **maps_r,
	      const char **error_r) __attribute__((warn_unused_result));
void maps_free(struct maps **maps);
/* Looks key up in each table in order. Returns 1 (found; *value_r valid
 * until the next lookup on these maps), 0 not found, -1 temporary failure
 * (*error_r). */
int maps_lookup(struct maps *maps, const char *key, const char **value_r,
		const char **error_r) __attribute__((warn_unused_result));
/* Postfix's virtual lookup order for an address: user+ext@domain,
 * user@domain, @domain (recipient_delimiter given, may be NULL or "").
 * Same returns as maps_lookup. */
int maps_lookup_addr(struct maps *maps, const char *address,
		     const char *delimiter, const char **value_r,
		     const char **error_r) __attribute__((warn_unused_result));
/* A warning from the last lookups that did not fail them (a pcre: match
 * limit hit, taken as no match, as Postfix), once, for the caller to
 * log: "type:name: text" (valid until the next call), or NULL. */
const char *maps_take_warning(struct maps *maps);
/* The spec as given, for logs. */
const char *maps_spec(const struct maps *maps);

/* As maps_lookup_addr; ext_r (may be NULL) gets the address extension
 * ("+foo", delimiter included) when the match was on user@domain with the
 * extension removed, else NULL (valid like *value_r). alias uses it to
 * propagate unmatched extensions as Postfix does. */
int maps_lookup_addr_ext(struct maps *maps, const char *address,
			 const char *delimiter, const char **value_r,
			 const char **ext_r, const char **error_r)
	__attribute__((warn_unused_result));

/* The text source format (texthash: and the input of surelmap), as
 * Postfix's: "key whitespace value"; lines whose first non-blank is '#'
 * and blank lines are skipped; a line that starts with white space
 * continues the previous one. A key over MAPS_KEY_MAX, a value over
 * MAPS_VALUE_MAX, a key without a value, a NUL byte or a continuation
 * with nothing to continue is an error naming the line. fn gets each
 * entry (key not yet case-folded; both writable, valid during the call)
 * and returns 0, or -1 to stop (its *error_r is passed on). */
typedef int maps_entry_fn(void *ctx, char *key, char *value,
			  unsigned line, const char **error_r);
int maps_texthash_parse(const char *data, size_t len, maps_entry_fn *fn,
			void *ctx, const char **error_r)
	__attribute__((warn_unused_result));

/* Building hash:/btree: tables (surelmap, tests). Keys are lower-cased
 * unless MAPS_FLAG_KEEP_CASE. By default keys and values are stored with
 * their trailing NUL, as Postfix's postmap does on Linux, so that tables
 * built by either program are read by both; MAPS_BUILD_NO_NUL stores them
 * without (postmap -n). Readers try with the NUL, then without. */
#define MAPS_BUILD_NO_NUL 0x100
/* Start from the entries of the existing FILE.db (surelmap -i, -d). */
#define MAPS_BUILD_INCREMENTAL 0x200
/* A duplicate key replaces the stored value (else the first one stays). */
#define MAPS_BUILD_REPLACE 0x400

/* Called for each duplicate key ("FILE, line N: duplicate entry ..."). */
typedef void maps_warn_fn(void *ctx, const char *msg);

/* A new FILE.db is written as FILE.db.tmp (locked against a concurrent
 * builder), then fsync()ed and renamed over FILE.db, and the directory
 * fsync()ed: readers see the old or the new table, never a partial one.
 * spec is "hash:FILE" or "btree:FILE". */
struct maps_hash_writer;
int maps_hash_writer_open(const char *spec, unsigned flags,
			  struct maps_hash_writer **w_r, const char **error_r)
	__attribute__((warn_unused_result));
/* 1 added, 0 key already present (kept, or replaced with
 * MAPS_BUILD_REPLACE), -1 error. */
int maps_hash_writer_put(struct maps_hash_writer *w, const char *key,
			 const char *value, const char **error_r)
	__attribute__((warn_unused_result));
/* 1 deleted, 0 not present, -1 error. */
int maps_hash_writer_delete(struct maps_hash_writer *w, const char *key,
			    const char **error_r)
	__attribute__((warn_unused_result));
/* Makes the new table current; frees *w. On -1 nothing changed. */
int maps_hash_writer_commit(struct maps_hash_writer **w, const char **error_r)
	__attribute__((warn_unused_result));
/* Drops the new table; accepts NULL. */
void maps_hash_writer_abort(struct maps_hash_writer **w);
/* Builds FILE.db from the text file FILE (surelmap type:FILE). warn may
 * be NULL. Returns 0 or -1. */
int maps_hash_build(const char *spec, unsigned flags, maps_warn_fn *warn,
		    void *ctx, const char **error_r)
	__attribute__((warn_unused_result));
/* Calls fn for every entry of FILE.db (trailing NULs removed), in the
 * table's order; fn returns 0 or -1 to stop. 0 or -1. */
typedef int maps_dump_fn(void *ctx, const char *key, const char *value);
int maps_hash_dump(const char *spec, maps_dump_fn *fn, void *ctx,
		   const char **error_r) __attribute__((warn_unused_result));

#endif
