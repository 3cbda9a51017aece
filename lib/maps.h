/* maps: lookup tables named "type:name", as Postfix's. Types so far:
 *   texthash:/path   "key value" text file read into memory at open
 *   hash:/path       Berkeley DB hash built by surelmap (/path.db)
 *   btree:/path      Berkeley DB btree built by surelmap (/path.db)
 *   inline:{ key=value, { key = value with spaces }, ... }
 * Keys are looked up lower-cased (as surelmap stores them) unless the
 * table is opened with MAPS_FLAG_KEEP_CASE. A list of tables ("a:x, b:y")
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
/* The spec as given, for logs. */
const char *maps_spec(const struct maps *maps);

#endif
