/* dkim_key: DKIM key pairs with OpenSSL: generating them, loading a
 * private key file, and the TXT record that publishes the public half
 * (RFC 6376 3.6.1: p= is the base64 of the DER SubjectPublicKeyInfo for
 * RSA; RFC 8463 3: the raw 32-octet public key for Ed25519). */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include "addr.h"
#include "base64.h"
#include "dkim.h"
#include "fsutil.h"
#include "mem.h"

#define DKIM_PUBLIC_DER_MAX 1024	/* an RSA-4096 SubjectPublicKeyInfo */

static char error_text[256];

static int ssl_fail(const char *what, const char **error_r)
{
	unsigned long e = ERR_get_error();
	char detail[160] = "";

	if (e != 0)
		ERR_error_string_n(e, detail, sizeof(detail));
	ERR_clear_error();
	snprintf(error_text, sizeof(error_text), "%s%s%s", what,
		 e != 0 ? ": " : "", detail);
	*error_r = error_text;
	return -1;
}

static EVP_PKEY *key_new(enum dkim_key_type type, unsigned bits,
			 const char **error_r)
{
	int id = type == DKIM_KEY_ED25519 ? EVP_PKEY_ED25519 : EVP_PKEY_RSA;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(id, NULL);
	EVP_PKEY *pkey = NULL;

	if (bits == 0)
		bits = 2048;
	if (type == DKIM_KEY_RSA &&
	    (bits < DKIM_RSA_BITS_MIN || bits > DKIM_RSA_BITS_MAX)) {
		EVP_PKEY_CTX_free(ctx);
		*error_r = "RSA key size must be 1024 to 4096 bits";
		return NULL;
	}
	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0 ||
	    (type == DKIM_KEY_RSA &&
	     EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) <= 0) ||
	    EVP_PKEY_keygen(ctx, &pkey) <= 0)
		(void)ssl_fail("key generation failed", error_r);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

/* The public half as the TXT record's p= wants it. */
static int public_octets(EVP_PKEY *pkey, unsigned char *out, size_t *len_r,
			 const char **error_r)
{
	if (EVP_PKEY_id(pkey) == EVP_PKEY_ED25519) {
		*len_r = DKIM_PUBLIC_DER_MAX;
		if (EVP_PKEY_get_raw_public_key(pkey, out, len_r) <= 0)
			return ssl_fail("cannot read the Ed25519 key", error_r);
		return 0;
	}
	int n = i2d_PUBKEY(pkey, NULL);
	if (n <= 0 || (size_t)n > DKIM_PUBLIC_DER_MAX)
		return ssl_fail("cannot encode the public key", error_r);
	unsigned char *p = out;
	if (i2d_PUBKEY(pkey, &p) != n)
		return ssl_fail("cannot encode the public key", error_r);
	*len_r = (size_t)n;
	return 0;
}

static int txt_of(EVP_PKEY *pkey, struct buf *out, const char **error_r)
{
	unsigned char der[DKIM_PUBLIC_DER_MAX];
	char b64[2 * DKIM_PUBLIC_DER_MAX];
	size_t len;

	if (public_octets(pkey, der, &len, error_r) < 0)
		return -1;
	if (base64_encode(der, len, b64, sizeof(b64)) < 0) {
		*error_r = "public key too long";
		return -1;
	}
	if (buf_printf(out, "v=DKIM1; k=%s; p=%s",
		       EVP_PKEY_id(pkey) == EVP_PKEY_ED25519 ? "ed25519" :
							      "rsa", b64) < 0) {
		*error_r = "TXT record too long";
		return -1;
	}
	return 0;
}

static int pem_of(EVP_PKEY *pkey, struct buf *out, const char **error_r)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int ret = 0;

	if (bio == NULL || PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0,
						    NULL, NULL) <= 0)
		ret = ssl_fail("cannot write the private key", error_r);
	else if ((len = BIO_get_mem_data(bio, &data)) <= 0 ||
		 buf_append(out, data, (size_t)len) < 0) {
		*error_r = "private key too long";
		ret = -1;
	}
	BIO_free(bio);
	return ret;
}

int dkim_key_generate(enum dkim_key_type type, unsigned bits,
		      struct buf *pem_out, struct buf *txt_out,
		      const char **error_r)
{
	EVP_PKEY *pkey = key_new(type, bits, error_r);
	int ret;

	if (pkey == NULL)
		return -1;
	ret = pem_of(pkey, pem_out, error_r) < 0 ||
	      txt_of(pkey, txt_out, error_r) < 0 ? -1 : 0;
	EVP_PKEY_free(pkey);
	return ret;
}

static EVP_PKEY *pem_read(const char *pem, size_t len, const char **error_r)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pkey = bio == NULL ? NULL :
			 PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);

	BIO_free(bio);
	if (pkey == NULL)
		(void)ssl_fail("not a PEM private key", error_r);
	else if (EVP_PKEY_id(pkey) != EVP_PKEY_RSA &&
		 EVP_PKEY_id(pkey) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
		*error_r = "the key is neither RSA nor Ed25519";
	}
	return pkey;
}

int dkim_key_txt_record(const char *pem, size_t pem_len, struct buf *out,
			const char **error_r)
{
	EVP_PKEY *pkey = pem_read(pem, pem_len, error_r);
	int ret;

	if (pkey == NULL)
		return -1;
	ret = txt_of(pkey, out, error_r);
	EVP_PKEY_free(pkey);
	return ret;
}

/* The whole file into out (at most its max). */
static int read_key_file(const char *path, struct buf *out,
			 const char **error_r)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		snprintf(error_text, sizeof(error_text), "open %s: %s", path,
			 strerror(errno));
		*error_r = error_text;
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size <= 0 || (size_t)st.st_size > out->max) {
		close(fd);
		snprintf(error_text, sizeof(error_text), "%s: not a key file "
			 "(a regular file of at most %d octets)", path,
			 DKIM_KEY_FILE_MAX);
		*error_r = error_text;
		return -1;
	}
	char data[DKIM_KEY_FILE_MAX];
	ssize_t n = fs_pread_all(fd, data, (size_t)st.st_size, 0);
	close(fd);
	if (n != st.st_size || buf_append(out, data, (size_t)n) < 0) {
		snprintf(error_text, sizeof(error_text), "read %s: %s", path,
			 n < 0 ? strerror(errno) : "short read");
		*error_r = error_text;
		return -1;
	}
	return 0;
}

/* A selector: dot-separated labels of letters, digits, '-' and '_'
 * (RFC 6376 3.1, as DNS labels are). */
static bool selector_ok(const char *s)
{
	size_t label = 0, len = strlen(s);

	if (len == 0 || len > DKIM_SELECTOR_MAX)
		return false;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return false;
		label++;
	}
	return label > 0;
}

int dkim_key_load(const char *path, const char *domain, const char *selector,
		  struct dkim_key *key_r, const char **error_r)
{
	memset(key_r, 0, sizeof(*key_r));
	if (!selector_ok(selector)) {
		*error_r = "bad selector";
		return -1;
	}
	if (strlen(domain) > DKIM_DOMAIN_MAX ||
	    addr_check_domain(domain, strlen(domain), 0, error_r) < 0 ||
	    domain[0] == '[') {
		*error_r = "bad domain";
		return -1;
	}
	buf_init(&key_r->pem, DKIM_KEY_FILE_MAX);
	if (read_key_file(path, &key_r->pem, error_r) < 0) {
		dkim_key_deinit(key_r);
		return -1;
	}
	EVP_PKEY *pkey = pem_read(key_r->pem.data, key_r->pem.len, error_r);
	if (pkey == NULL) {
		dkim_key_deinit(key_r);
		return -1;
	}
	key_r->type = EVP_PKEY_id(pkey) == EVP_PKEY_ED25519 ? DKIM_KEY_ED25519
							     : DKIM_KEY_RSA;
	EVP_PKEY_free(pkey);
	snprintf(key_r->domain, sizeof(key_r->domain), "%s", domain);
	snprintf(key_r->selector, sizeof(key_r->selector), "%s", selector);
	return 0;
}

void dkim_key_deinit(struct dkim_key *key)
{
	buf_deinit(&key->pem);
}

int dkim_key_zone_line(const char *domain, const char *selector,
		       const char *txt, struct buf *out)
{
	size_t len = strlen(txt);

	if (buf_printf(out, "%s._domainkey.%s. IN TXT (", selector,
		       domain) < 0)
		return -1;
	for (size_t off = 0; off < len; off += 255)
		if (buf_printf(out, " \"%.*s\"",
			       (int)(len - off < 255 ? len - off : 255),
			       txt + off) < 0)
			return -1;
	return buf_printf(out, " )\n");
}
