/* mailstore_cache: surel-cache, a folder's cache of what IMAP clients ask
 * for again and again and what is costly to compute: each message's
 * header block, its BODYSTRUCTURE, BODY and ENVELOPE strings, its
 * PREVIEW text.
 * With it, FETCH of headers, envelopes and structures and SEARCH on
 * headers never open message files once cached.
 *
 * One file per folder beside dovecot-uidlist, written by any imapd
 * process: records are only ever appended (O_APPEND, each with its own
 * CRC, collected in memory and written in one write() under an OFD lock
 * on the file, so that concurrent writers interleave whole batches and a
 * torn record at the end is known for one), keyed by UID and by the
 * message's base file name (a record whose base no longer matches is
 * ignored). A file whose header's UIDVALIDITY differs from the folder's is
 * started afresh. When more than half of the file is dead (expunged
 * messages, superseded records), it is damaged or torn, or it passes its
 * size limit (1 GiB: then the newest messages are kept), the next flush
 * rewrites it (temp file + rename, under the lock: the folder's uidlist
 * lock is not needed). A reader holds a copy of the file (at most 64 MiB,
 * in huge pages: cheaper to walk than a mapping); a bigger one is mapped.
 *
 * Only a cache: any damage, any failure means "not cached"; nothing here
 * is needed for correctness. */
#ifndef SUREL_MAILSTORE_CACHE_H
#define SUREL_MAILSTORE_CACHE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MS_CACHE_NAME "surel-cache"
/* Longer values are not cached. */
#define MS_CACHE_VALUE_MAX ((size_t)1 << 20)

enum ms_cache_field {
	MS_CACHE_HEADER = 0,	/* the header block, with its empty line */
	MS_CACHE_BODYSTRUCTURE,	/* FETCH BODYSTRUCTURE's value */
	MS_CACHE_BODY,		/* FETCH BODY's value */
	MS_CACHE_PREVIEW,	/* FETCH PREVIEW's text (UTF-8) */
	MS_CACHE_ENVELOPE,	/* FETCH ENVELOPE's value */
	MS_CACHE_TEXTMAP,	/* where the text lies for SEARCH: a text map
				 * of lib/mime_body */
	MS_CACHE_FIELD_COUNT
};

struct ms_cache;

/* Opens (or prepares to create) dir/surel-cache for a folder with this
 * UIDVALIDITY; reads what is there. Never fails: a missing or damaged file
 * is an empty cache. */
struct ms_cache *ms_cache_open(const char *dir, uint32_t uidvalidity);
/* Writes what is pending (ms_cache_flush); frees. Accepts NULL. */
void ms_cache_close(struct ms_cache **c);
/* True when c is what ms_cache_open(dir, uidvalidity) would open: a
 * cache kept open for later (e.g. by a process that serves session after
 * session) is then taken again after an ms_cache_refresh. */
bool ms_cache_matches(const struct ms_cache *c, const char *dir,
		      uint32_t uidvalidity);
/* True when c is the cache of a folder at or below root (a user's
 * Maildir): what a process may keep while it serves that user. */
bool ms_cache_below(const struct ms_cache *c, const char *root);
/* Notices records other processes appended since and a file replaced
 * by another process (cheap: one stat and one fstat). */
void ms_cache_refresh(struct ms_cache *c);

/* The cached value of field for the message uid with file base name base:
 * 1 with *data_r / *len_r, or 0. The data is not NUL-terminated; it stays
 * valid until the next ms_cache_refresh, ms_cache_flush, ms_cache_retain
 * or ms_cache_close (ms_cache_get and ms_cache_put keep it). Values added
 * by ms_cache_put are seen after the next flush and refresh. */
int ms_cache_get(struct ms_cache *c, uint32_t uid, const char *base,
		 enum ms_cache_field field, const char **data_r,
		 size_t *len_r);
/* Adds a value (values over MS_CACHE_VALUE_MAX are not cached). It is
 * kept in memory and written at the next flush, or earlier when 256 KiB
 * are pending (appended to a file known to be in order; nothing moves).
 * At most 8 MiB wait; more is dropped. Errors are ignored. */
void ms_cache_put(struct ms_cache *c, uint32_t uid, const char *base,
		  enum ms_cache_field field, const char *data, size_t len);
/* Writes the pending values (a command's worth: one write()), first
 * rewriting the file when it needs it (see above). */
void ms_cache_flush(struct ms_cache *c);
/* Tells the cache which UIDs still exist: the others are forgotten, and
 * when that leaves the file mostly dead it is rewritten now. */
void ms_cache_retain(struct ms_cache *c, const uint32_t *uids, size_t count);

/* The pure parser under it, for unit tests and the fuzz target: calls fn
 * for each valid record of data[0..len) in file order (base and data
 * point into data; offset is the record's); returns the length of the
 * valid prefix, header included (the rest is a torn or damaged tail), or
 * -1 when the header is invalid or its UIDVALIDITY is not uidvalidity. */
typedef void ms_cache_record_fn(void *ctx, uint32_t uid, const char *base,
				size_t base_len, enum ms_cache_field field,
				const char *data, size_t len, size_t offset);
long ms_cache_parse(const unsigned char *data, size_t len,
		    uint32_t uidvalidity, ms_cache_record_fn *fn, void *ctx);

#endif
