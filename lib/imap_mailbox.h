/* imap_mailbox: IMAP mailbox names for imapd. The modified UTF-7 codec of
 * RFC 3501 5.1.3, the mapping between IMAP names and the Maildir++ folder
 * names of mailstore.h, and LIST pattern matching (RFC 3501 6.3.8).
 *
 * Names inside imapd are UTF-8: a rev1 client's names are decoded from
 * modified UTF-7 on the way in and encoded on the way out; rev2 and
 * UTF8=ACCEPT clients send and get UTF-8 as it is.
 *
 * On disk the layout is Dovecot 2.3's default Maildir++ one (checked with
 * doveadm): levels joined with '.', each name stored in modified UTF-7
 * ("Entwürfe" is ".Entw&APw-rfe", "a&b" is ".a&-b"), and children of INBOX
 * below a first level spelled "INBOX" (IMAP "inbox.x" is ".INBOX.x"). So a
 * store moved from Dovecot keeps its folders.
 *
 * Pure: no I/O, no globals. Output goes to a caller's buf (its maximum
 * bounds the work); on -1 the buf is as it was before the call, and
 * *error_r is a static string. */
#ifndef SUREL_IMAP_MAILBOX_H
#define SUREL_IMAP_MAILBOX_H
#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

/* Longest LIST pattern imap_mailbox_match() takes: its work is at most
 * pattern length x name length steps. */
#define IMAP_MAILBOX_PATTERN_MAX 1024

/* Appends the UTF-8 form of the modified UTF-7 string in[0..len). Strict:
 * only printable ASCII octets; "&-" for '&'; a shift "&...-" holds
 * modified BASE64 ([A-Za-z0-9+,]) of UTF-16 with the fewest characters
 * and zero padding bits, never a printable ASCII character, never a lone
 * or reversed surrogate, and never directly after another shift (the two
 * must be one). Anything else is -1. Encoding the result gives in back. */
int imap_mailbox_mutf7_decode(const char *in, size_t len, struct buf *out,
			      const char **error_r)
	__attribute__((warn_unused_result));
/* Appends the modified UTF-7 form of the UTF-8 string in[0..len): -1 for
 * invalid UTF-8 (truncated or overlong sequences, surrogates, code points
 * above U+10FFFF) or when out is full. NUL and controls are encoded (they
 * are legal in the codec; imap_mailbox_to_folder refuses them). */
int imap_mailbox_mutf7_encode(const char *in, size_t len, struct buf *out,
			      const char **error_r)
	__attribute__((warn_unused_result));
/* Strict UTF-8 as above (NUL allowed: check for it separately). */
bool imap_mailbox_utf8_valid(const char *s, size_t len);

/* Maps the IMAP name name[0..len) (UTF-8, already decoded) with hierarchy
 * delimiter sep ('.' or '/') to the folder name mailstore_folder_path()
 * takes: "INBOX" for INBOX in any case, otherwise the Maildir++ name
 * (levels joined by '.', modified UTF-7, a first level "INBOX" in any case
 * spelled "INBOX"). Refused: empty names and levels (leading, trailing or
 * double delimiter), NUL, controls (C0, DEL, C1), invalid UTF-8, '/' when
 * sep is '.', and '.' when sep is '/' (it would become a level on disk;
 * Dovecot refuses it too unless listescape is used; we never escape), so
 * "." and ".." levels cannot occur; and names whose on-disk form exceeds
 * MAILSTORE_FOLDER_MAX. The wildcards '*' and '%' are accepted here (a
 * store from Dovecot may hold them); CREATE may refuse them itself. */
int imap_mailbox_to_folder(const char *name, size_t len, char sep,
			   struct buf *out, const char **error_r)
	__attribute__((warn_unused_result));
/* The reverse: appends the UTF-8 IMAP name of the folder (as listed by
 * mailstore_folder_list(), or "INBOX"). -1 for a folder no IMAP name
 * maps to (not strict modified UTF-7, a first level "inbox" not spelled
 * "INBOX", a decoded control character, a '/' or a '.' that sep cannot
 * express): LIST skips those. */
int imap_mailbox_from_folder(const char *folder, char sep, struct buf *out,
			     const char **error_r)
	__attribute__((warn_unused_result));

/* LIST matching: 1 when name[0..nlen) matches pattern[0..plen), where '*'
 * matches any octets and '%' any octets except sep; other octets match
 * themselves, except that a first level "INBOX" of the name matches
 * case-insensitively. 0 for no match, -1 when plen exceeds
 * IMAP_MAILBOX_PATTERN_MAX. Iterative (a set of pattern positions walked
 * over the name): O(plen x nlen) time, O(plen) memory, no backtracking. */
int imap_mailbox_match(const char *pattern, size_t plen, const char *name,
		       size_t nlen, char sep);

#endif
