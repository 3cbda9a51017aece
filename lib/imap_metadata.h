/* imap_metadata: IMAP METADATA (RFC 5464) annotations of one mailbox (or
 * of the server) as imapd keeps them: entry names, a sorted in-memory
 * set of entries, and the file they are stored in.
 *
 * Entry names (RFC 5464 3.2): "/private/..." or "/shared/...", levels
 * separated by '/', case-insensitive (kept in lower case, as Dovecot
 * does), valid UTF-8 without NUL or control characters, no '*' or '%',
 * no empty level ("//" or a trailing '/').
 *
 * Values are octet strings (NUL included: a literal8 in IMAP).
 *
 * File format (surel's own; one per mailbox, written whole):
 *   "surel-metadata 1\n", then per entry, in ascending name order,
 *   "<name length> <value length>\n" <name> <value> "\n".
 * Lengths are decimal; the parser accepts nothing else (no duplicate or
 * unsorted names, no invalid name, nothing after the last entry).
 *
 * Pure: no I/O, no globals. *error_r is a static string. */
#ifndef SUREL_IMAP_METADATA_H
#define SUREL_IMAP_METADATA_H
#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

/* Longest entry name (octets). */
#define IMAP_METADATA_ENTRY_MAX 1024
/* Most entries in one set (besides the caller's octet limit). */
#define IMAP_METADATA_COUNT_MAX 10000
/* DEPTH infinity. */
#define IMAP_METADATA_DEPTH_INFINITY (-1)

struct imap_metadata_entry {
	char *name;		/* owned, normalised */
	char *value;		/* owned, value_len octets + a NUL */
	size_t value_len;
};

struct imap_metadata {
	struct imap_metadata_entry *entries;	/* ascending by strcmp */
	size_t count, alloc;
	size_t octets;		/* sum of the names' and values' lengths */
};

void imap_metadata_init(struct imap_metadata *md);
void imap_metadata_deinit(struct imap_metadata *md);

/* Checks the entry name name[0..len) and appends its normalised form
 * (lower case) to out. 0, or -1 with *error_r (the client gets BAD). */
int imap_metadata_entry_check(const char *name, size_t len, struct buf *out,
			      const char **error_r)
	__attribute__((warn_unused_result));
/* True when the normalised name is only a scope ("/private", "/shared"):
 * it can be asked for with DEPTH, not set. */
bool imap_metadata_entry_is_root(const char *name);

/* The index of the entry with this normalised name, or -1. */
long imap_metadata_find(const struct imap_metadata *md, const char *name);
/* Sets (value not NULL: copied) or removes (value NULL) the entry with
 * this normalised name. */
void imap_metadata_set(struct imap_metadata *md, const char *name,
		       const char *value, size_t value_len);
/* Whether entry is name itself or, with depth 1, a child of it, or with
 * IMAP_METADATA_DEPTH_INFINITY, any descendant (both normalised). */
bool imap_metadata_in_scope(const char *name, const char *entry, int depth);
/* The run [*first_r, *end_r) of the entries below name (those starting
 * with name + "/"; contiguous in the sorted set), name itself excluded. */
void imap_metadata_descendants(const struct imap_metadata *md,
				const char *name, size_t *first_r,
				size_t *end_r);

/* Reads a file's data[0..len) into md (which must be empty); len 0 is an
 * empty set. -1 when damaged or beyond the limits (md emptied). */
int imap_metadata_parse(const char *data, size_t len, struct imap_metadata *md,
			const char **error_r)
	__attribute__((warn_unused_result));
/* Appends the file form of md to out; -1 when out is full. */
int imap_metadata_format(const struct imap_metadata *md, struct buf *out)
	__attribute__((warn_unused_result));

#endif
