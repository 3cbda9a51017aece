/* dkim: DKIM (RFC 6376) signing of outgoing mail with libopendkim, and
 * the key pairs to sign with (RSA-SHA256, RFC 8463 Ed25519-SHA256).
 *
 * Signatures are relaxed/relaxed over Postfix-and-OpenDKIM's usual header
 * list (DKIM_SIGN_HEADERS), with From: over-signed (listed once more than
 * it occurs, so that a From: added later breaks the signature). The
 * message is given as the queue stores it: LF line endings, no
 * dot-stuffing; it is fed to the signer with CRLF.
 *
 * Keys are PEM files (PKCS#8 private keys as openssl genpkey writes
 * them); the public half is published as a TXT record at
 * selector._domainkey.domain, which dkim_key_txt_record() prints. */
#ifndef SUREL_DKIM_H
#define SUREL_DKIM_H
#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

#define DKIM_SELECTOR_MAX 63
#define DKIM_DOMAIN_MAX 253
#define DKIM_KEY_FILE_MAX 16384		/* a PEM private key, at most */
#define DKIM_RSA_BITS_MIN 1024		/* RFC 8301: 1024 at least */
#define DKIM_RSA_BITS_MAX 4096
#define DKIM_SIGNATURE_MAX 8192		/* the DKIM-Signature field */

/* The header fields signed when present (RFC 6376 5.4.1's advice). */
#define DKIM_SIGN_HEADERS                                                   \
	"from", "reply-to", "subject", "date", "to", "cc", "resent-date",    \
		"resent-from", "resent-to", "resent-cc", "in-reply-to",      \
		"references", "list-id", "list-help", "list-unsubscribe",    \
		"list-subscribe", "list-post", "list-owner", "list-archive", \
		"mime-version", "content-type", "content-transfer-encoding", \
		"message-id"

enum dkim_key_type { DKIM_KEY_RSA = 0, DKIM_KEY_ED25519 };

struct dkim_key {
	enum dkim_key_type type;
	char domain[DKIM_DOMAIN_MAX + 1];	/* d= */
	char selector[DKIM_SELECTOR_MAX + 1];	/* s= */
	struct buf pem;				/* the private key */
};

/* A new key pair: RSA of bits (DKIM_RSA_BITS_MIN..MAX; 0: 2048) or
 * Ed25519 (bits ignored). The private key (PKCS#8 PEM) is appended to
 * pem_out, the TXT record's value ("v=DKIM1; k=rsa; p=...") to txt_out.
 * Returns 0, or -1 with *error_r (static or valid until the next call). */
int dkim_key_generate(enum dkim_key_type type, unsigned bits,
		      struct buf *pem_out, struct buf *txt_out,
		      const char **error_r) __attribute__((warn_unused_result));

/* Reads a PEM private key file for domain and selector (checked: a
 * selector of letters, digits, '-', '_' and '.' labels; an A-label
 * domain), finds its type, and fills key (release with dkim_key_deinit).
 * Only its size (DKIM_KEY_FILE_MAX) and content are checked here; who may
 * read it is the operator's business (mode 0600, owned by mail_owner). */
int dkim_key_load(const char *path, const char *domain, const char *selector,
		  struct dkim_key *key_r, const char **error_r)
	__attribute__((warn_unused_result));
void dkim_key_deinit(struct dkim_key *key);

/* The TXT record's value for the public half of a PEM private key
 * ("v=DKIM1; k=ed25519; p=<base64>"), appended to out. */
int dkim_key_txt_record(const char *pem, size_t pem_len, struct buf *out,
			const char **error_r)
	__attribute__((warn_unused_result));

/* The zone file line to publish: "selector._domainkey.domain. IN TXT
 * ( "..." "..." )", the value cut into strings of at most 255 octets.
 * 0, or -1 when out is too small. */
int dkim_key_zone_line(const char *domain, const char *selector,
		       const char *txt, struct buf *out)
	__attribute__((warn_unused_result));

struct dkim_signer;
/* One per process (it holds libopendkim's library handle). */
int dkim_signer_new(struct dkim_signer **signer_r, const char **error_r)
	__attribute__((warn_unused_result));
void dkim_signer_free(struct dkim_signer **signer);

/* Signs message (len octets, LF line endings: a header section, an empty
 * line, the body; a message without a body is signed with an empty one)
 * and appends the whole "DKIM-Signature: ..." field, folded with LF and
 * a tab, ending in LF, to out. id names the message in errors. A message
 * without a From: field is refused (RFC 6376 5.4: it must be signed). */
int dkim_sign_message(struct dkim_signer *signer,
		      const struct dkim_key *key, const char *id,
		      const char *message, size_t len, struct buf *out,
		      const char **error_r)
	__attribute__((warn_unused_result));

/* The same fed in pieces of any size (the header section, at most
 * DKIM_HEADER_SECTION_MAX octets, is gathered first). end appends the
 * field to out and frees *signing either way; abort only frees. */
#define DKIM_HEADER_SECTION_MAX (1024 * 1024)
struct dkim_signing;
int dkim_signing_begin(struct dkim_signer *signer, const struct dkim_key *key,
		       const char *id, struct dkim_signing **signing_r,
		       const char **error_r)
	__attribute__((warn_unused_result));
int dkim_signing_feed(struct dkim_signing *signing, const char *data,
		      size_t len, const char **error_r)
	__attribute__((warn_unused_result));
int dkim_signing_end(struct dkim_signing **signing, struct buf *out,
		     const char **error_r) __attribute__((warn_unused_result));
void dkim_signing_abort(struct dkim_signing **signing);

/* The domain of the (first) address of the message's From: field, lower
 * case, into domain_r: what the signing table is looked up by, and what
 * DMARC aligns d= with. headers: the header section (len octets, LF
 * line ends; more may follow). 0, or -1 when there is no From: field or
 * no valid domain in it. */
int dkim_from_domain(const char *headers, size_t len,
		     char domain_r[DKIM_DOMAIN_MAX + 1])
	__attribute__((warn_unused_result));

#endif
