/* dkim: DKIM (RFC 6376) signing of outgoing mail and verification of
 * received mail (below: dkim_verify) with libopendkim, and
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

/* ---- dkim_verify: verification of received mail (RFC 6376 6) ----
 *
 * Every DKIM-Signature field of the message is checked, up to
 * DKIM_VERIFY_SIGS_MAX (the first ones in the header; later ones are
 * ignored, unreported: a bound on the key look-ups one message causes).
 * One result per signature, in the order of the fields:
 *   pass       the signature and the body hash verify;
 *   fail       the body hash did not verify, the signature did not, or the
 *              RSA key is shorter than DKIM_RSA_BITS_MIN (RFC 8301);
 *   neutral    the signature has expired or is dated in the future;
 *   temperror  the key look-up failed temporarily;
 *   permerror  a malformed signature, no key record (RFC 6376 6.1.2: no
 *              key is a PERMFAIL), a key record malformed, revoked or for
 *              another algorithm, an algorithm not supported: rsa-sha1 is
 *              one (RFC 8301 3.1: verifiers MUST NOT accept it).
 * The key records (the TXT value at selector._domainkey.domain) come from
 * the caller's look-up function. The message is given in pieces as the
 * queue stores it (LF line endings), as for dkim_signing_*. */
#define DKIM_VERIFY_SIGS_MAX 5
#define DKIM_KEY_RECORD_MAX 4096	/* one key record's TXT value */

enum dkim_verify_result {
	DKIM_VERIFY_PASS = 0,
	DKIM_VERIFY_FAIL,
	DKIM_VERIFY_NEUTRAL,
	DKIM_VERIFY_TEMPERROR,
	DKIM_VERIFY_PERMERROR,
};

struct dkim_verify_sig {
	enum dkim_verify_result result;
	/* Why, in a few words of printable ASCII without parentheses or
	 * backslashes ("body hash did not verify"); "" for pass. */
	char reason[96];
	char domain[DKIM_DOMAIN_MAX + 1];	/* d=, "" when missing */
	char selector[DKIM_SELECTOR_MAX + 1];	/* s=, "" when missing */
	char b[9];		/* the first 8 characters of b= (RFC 6008) */
};

/* The look-up's answers: the record (NUL-terminated in txt, at most
 * txt_size - 1 octets), none (the name or the record does not exist), or a
 * temporary failure. */
enum dkim_lookup_status {
	DKIM_LOOKUP_FOUND = 0,
	DKIM_LOOKUP_NOTFOUND,
	DKIM_LOOKUP_TEMPFAIL,
};
/* name: "selector._domainkey.domain". */
typedef enum dkim_lookup_status dkim_lookup_fn(void *context,
					       const char *name, char *txt,
					       size_t txt_size);

struct dkim_verifier;
/* One per process (libopendkim's library handle); lookup and context
 * serve every verification made with it. */
int dkim_verifier_new(dkim_lookup_fn *lookup, void *context,
		      struct dkim_verifier **verifier_r, const char **error_r)
	__attribute__((warn_unused_result));
void dkim_verifier_free(struct dkim_verifier **verifier);

/* One message fed in pieces of any size. The header section may have at
 * most DKIM_HEADER_SECTION_MAX octets (feed fails past it). end fills
 * sigs (room for DKIM_VERIFY_SIGS_MAX) and *count_r (0: the message has
 * no signature: "dkim=none") and frees *verifying either way; abort only
 * frees. -1 with *error_r: the verification itself failed (memory,
 * libopendkim): the caller reports a temporary error. */
struct dkim_verifying;
int dkim_verifying_begin(struct dkim_verifier *verifier, const char *id,
			 struct dkim_verifying **verifying_r,
			 const char **error_r)
	__attribute__((warn_unused_result));
int dkim_verifying_feed(struct dkim_verifying *verifying, const char *data,
			size_t len, const char **error_r)
	__attribute__((warn_unused_result));
int dkim_verifying_end(struct dkim_verifying **verifying,
		       struct dkim_verify_sig sigs[DKIM_VERIFY_SIGS_MAX],
		       size_t *count_r, const char **error_r)
	__attribute__((warn_unused_result));
void dkim_verifying_abort(struct dkim_verifying **verifying);
/* "pass", "fail", ... (RFC 8601 2.7.1's words). */
const char *dkim_verify_result_name(enum dkim_verify_result result);

#endif
