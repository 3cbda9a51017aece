#include "config.h"
/* passwd_file: parses Dovecot's passwd-file format into a sorted table and
 * verifies/makes crypt(3) password hashes (libxcrypt) in constant time. */
#include <crypt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include "addr.h"
#include "buf.h"
#include "log.h"
#include "mem.h"
#include "str.h"
#include "passwd_file.h"

#define PF_FIELDS 7		/* before the extra fields */
#define PF_ERROR_MAX 256

struct passwd_file {
	struct passwd_file_entry *entries;	/* sorted by user, ci */
	size_t count;
	char *text;		/* owned copy; entries point into it */
	size_t text_len;
};

static struct buf pf_error;

static int pf_fail(const char **error_r, unsigned int line, const char *fmt,
		   ...) __attribute__((format(printf, 3, 4)));

static int pf_fail(const char **error_r, unsigned int line, const char *fmt,
		   ...)
{
	static const char fallback[] = "passwd-file error";
	struct buf what;
	va_list ap;
	int ret;

	buf_init(&what, PF_ERROR_MAX);
	va_start(ap, fmt);
	ret = buf_vprintf(&what, fmt, ap);
	va_end(ap);
	if (ret < 0)
		*error_r = buf_error_set(&pf_error, PF_ERROR_MAX, "%s", fallback);
	else if (line > 0)
		*error_r = buf_error_set(&pf_error, PF_ERROR_MAX, fallback,
					 "line %u: %s", line, buf_cstr(&what));
	else
		*error_r = buf_error_set(&pf_error, PF_ERROR_MAX, fallback,
					 "%s", buf_cstr(&what));
	buf_deinit(&what);
	return -1;
}

bool passwd_user_valid(const char *user)
{
	size_t i, len = strlen(user);

	if (len == 0 || len > PASSWD_USER_MAX)
		return false;
	if (strcmp(user, ".") == 0 || strcmp(user, "..") == 0)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)user[i];

		if (c < 0x21 || c == 0x7f || c == '/')
			return false;
	}
	/* Internationalised addresses (RFC 6531) are users too, as in
	 * Dovecot; the octets must be UTF-8 so that nothing odd reaches a
	 * log or a path. */
	return addr_utf8_valid(user, len);
}

/* Splits line (NUL-terminated, writable) at the first PF_FIELDS ':'; the
 * rest, colons included, is the extra field. Missing fields are "". */
static void pf_split(char *line, char *fields[PF_FIELDS + 1])
{
	static char empty[] = "";
	char *p = line;
	int i;

	for (i = 0; i <= PF_FIELDS; i++) {
		char *colon;

		fields[i] = p != NULL ? p : empty;
		if (p == NULL || i == PF_FIELDS)
			continue;
		colon = strchr(p, ':');
		if (colon != NULL)
			*colon++ = '\0';
		p = colon;
	}
}

static int pf_id(const char *s, uint32_t *id_r, bool *has_r)
{
	uint64_t v;

	*has_r = false;
	*id_r = 0;
	if (*s == '\0')
		return 0;
	if (str_to_u64(s, &v) < 0 || v > UINT32_MAX - 1)
		return -1;
	*id_r = (uint32_t)v;
	*has_r = true;
	return 0;
}

static bool pf_blank(const char *s)
{
	return s[strspn(s, " \t")] == '\0';
}

static int pf_line(struct passwd_file *pf, size_t *alloc, char *line,
		   unsigned int lineno, const char **error_r)
{
	struct passwd_file_entry *e;
	char *f[PF_FIELDS + 1];

	if (line[0] == '#' || pf_blank(line))
		return 0;
	pf_split(line, f);
	if (!passwd_user_valid(f[0]))
		return pf_fail(error_r, lineno, "invalid user name");
	if (pf->count >= PASSWD_FILE_MAX_USERS)
		return pf_fail(error_r, lineno, "too many users (max %u)",
			       PASSWD_FILE_MAX_USERS);
	if (pf->count == *alloc) {
		*alloc = *alloc == 0 ? 16 : *alloc * 2;
		pf->entries = xreallocarray(pf->entries, *alloc,
					    sizeof(*pf->entries));
	}
	e = &pf->entries[pf->count];
	memset(e, 0, sizeof(*e));
	e->user = f[0];
	e->password = f[1];
	if (pf_id(f[2], &e->uid, &e->has_uid) < 0)
		return pf_fail(error_r, lineno, "invalid uid");
	if (pf_id(f[3], &e->gid, &e->has_gid) < 0)
		return pf_fail(error_r, lineno, "invalid gid");
	e->gecos = f[4];
	e->home = f[5];
	e->shell = f[6];
	e->extra = f[7];
	pf->count++;
	return 0;
}

static int pf_cmp(const void *a, const void *b)
{
	const struct passwd_file_entry *x = a, *y = b;

	return strcasecmp(x->user, y->user);
}

/* Cuts pf->text into lines and parses each. */
static int pf_lines(struct passwd_file *pf, size_t len, const char **error_r)
{
	size_t alloc = 0, pos = 0;
	unsigned int lineno = 0;

	while (pos < len) {
		char *line = pf->text + pos;
		char *nl = memchr(line, '\n', len - pos);
		size_t llen = nl != NULL ? (size_t)(nl - line) : len - pos;

		lineno++;
		pos += llen + (nl != NULL ? 1 : 0);
		if (llen > 0 && line[llen - 1] == '\r')
			llen--;
		if (llen > PASSWD_FILE_MAX_LINE)
			return pf_fail(error_r, lineno,
				       "line too long (max %u bytes)",
				       PASSWD_FILE_MAX_LINE);
		if (memchr(line, '\0', llen) != NULL)
			return pf_fail(error_r, lineno, "NUL byte");
		line[llen] = '\0';
		if (pf_line(pf, &alloc, line, lineno, error_r) < 0)
			return -1;
	}
	return 0;
}

int passwd_file_parse(const char *data, size_t len, struct passwd_file **pf_r,
		      const char **error_r)
{
	struct passwd_file *pf;
	size_t i;

	*pf_r = NULL;
	if (len > PASSWD_FILE_MAX_SIZE)
		return pf_fail(error_r, 0, "file too big (max %u bytes)",
			       PASSWD_FILE_MAX_SIZE);
	pf = xcalloc(1, sizeof(*pf));
	pf->text = xmalloc(len + 1);
	if (len > 0)
		memcpy(pf->text, data, len);
	pf->text[len] = '\0';
	pf->text_len = len;
	if (pf_lines(pf, len, error_r) < 0) {
		passwd_file_free(&pf);
		return -1;
	}
	if (pf->count > 1)
		qsort(pf->entries, pf->count, sizeof(*pf->entries), pf_cmp);
	for (i = 1; i < pf->count; i++) {
		if (pf_cmp(&pf->entries[i - 1], &pf->entries[i]) == 0) {
			/* the user name is validated printable ASCII */
			pf_fail(error_r, 0, "duplicate user %.64s",
				pf->entries[i].user);
			passwd_file_free(&pf);
			return -1;
		}
	}
	*pf_r = pf;
	return 0;
}

void passwd_file_free(struct passwd_file **pfp)
{
	struct passwd_file *pf = *pfp;

	if (pf == NULL)
		return;
	*pfp = NULL;
	/* the text holds password hashes (or PLAIN passwords) */
	explicit_bzero(pf->text, pf->text_len);
	free(pf->text);
	free(pf->entries);
	free(pf);
}

size_t passwd_file_count(const struct passwd_file *pf)
{
	return pf->count;
}

int passwd_file_lookup(const struct passwd_file *pf, const char *user,
		       const struct passwd_file_entry **entry_r)
{
	struct passwd_file_entry key = { .user = user };
	const struct passwd_file_entry *e;

	*entry_r = NULL;
	if (!passwd_user_valid(user) || pf->count == 0)
		return 0;
	e = bsearch(&key, pf->entries, pf->count, sizeof(*pf->entries),
		    pf_cmp);
	if (e == NULL)
		return 0;
	*entry_r = e;
	return 1;
}

/* ---- password schemes ---- */

struct pw_scheme {
	const char *name;
	const char *const *prefixes;	/* accepted hash starts; NULL: plain */
	const char *gen_prefix;		/* for passwd_hash; NULL: not made */
};

static const char *const pw_sha512[] = { "$6$", NULL };
static const char *const pw_sha256[] = { "$5$", NULL };
static const char *const pw_blf[] = { "$2y$", "$2b$", "$2a$", NULL };
/* modern crypt(3) methods only: DES and MD5 strings are refused */
static const char *const pw_crypt[] = {
	"$y$", "$gy$", "$7$", "$6$", "$5$", "$2y$", "$2b$", "$2a$", NULL
};

static const struct pw_scheme pw_schemes[] = {
	{ "SHA512-CRYPT", pw_sha512, "$6$" },
	{ "SHA256-CRYPT", pw_sha256, "$5$" },
	{ "BLF-CRYPT", pw_blf, "$2y$" },
	{ "CRYPT", pw_crypt, "$y$" },
	{ "PLAIN", NULL, NULL },
	{ "CLEAR", NULL, NULL },
};

#define PW_SCHEME_NAME_MAX 32

static const struct pw_scheme *pw_scheme_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(pw_schemes) / sizeof(pw_schemes[0]); i++) {
		if (strlen(pw_schemes[i].name) == len &&
		    strncasecmp(pw_schemes[i].name, name, len) == 0)
			return &pw_schemes[i];
	}
	return NULL;
}

/* Splits "{NAME}hash" (or a bare crypt string) into scheme and hash. */
static int pw_parse(const char *stored, const struct pw_scheme **scheme_r,
		    const char **hash_r, const char **error_r)
{
	const char *end;

	if (stored[0] != '{') {
		*scheme_r = pw_scheme_find("CRYPT", 5);
		*hash_r = stored;
		return 0;
	}
	end = memchr(stored + 1, '}', strnlen(stored + 1, PW_SCHEME_NAME_MAX));
	if (end == NULL) {
		*error_r = "malformed password scheme";
		return -1;
	}
	*scheme_r = pw_scheme_find(stored + 1, (size_t)(end - stored - 1));
	if (*scheme_r == NULL) {
		*error_r = "unknown password scheme";
		return -1;
	}
	*hash_r = end + 1;
	return 0;
}

static bool pw_prefix_ok(const struct pw_scheme *s, const char *hash)
{
	size_t i;

	for (i = 0; s->prefixes[i] != NULL; i++) {
		if (strncmp(hash, s->prefixes[i], strlen(s->prefixes[i])) == 0)
			return true;
	}
	return false;
}

/* Digests both sides so the comparison time does not depend on where
 * (or whether, by length) they differ. */
static int pw_plain_eq(const char *a, const char *b, const char **error_r)
{
	unsigned char da[EVP_MAX_MD_SIZE], db[EVP_MAX_MD_SIZE];
	unsigned int la = 0, lb = 0;
	int ret;

	if (EVP_Digest(a, strlen(a), da, &la, EVP_sha256(), NULL) != 1 ||
	    EVP_Digest(b, strlen(b), db, &lb, EVP_sha256(), NULL) != 1 ||
	    la != lb) {
		*error_r = "SHA-256 failed";
		return -1;
	}
	ret = CRYPTO_memcmp(da, db, la) == 0 ? 1 : 0;
	explicit_bzero(da, sizeof(da));
	explicit_bzero(db, sizeof(db));
	return ret;
}

/* Runs crypt_r(password, setting) into out; -1 if crypt refuses it. */
static int pw_crypt_run(const char *password, const char *setting,
			char *out, size_t outsize)
{
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	const char *res;
	int ret = -1;

	res = crypt_r(password, setting, cd);
	/* libxcrypt signals failure with NULL or a string starting '*' */
	if (res != NULL && res[0] != '*' && str_copy(out, outsize, res) == 0)
		ret = 0;
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ret;
}

int passwd_verify(const char *stored, const char *password, bool allow_plain,
		  const char **error_r)
{
	const struct pw_scheme *s;
	const char *hash;
	char out[CRYPT_OUTPUT_SIZE];
	size_t hlen;
	int ret;

	if (pw_parse(stored, &s, &hash, error_r) < 0)
		return -1;
	if (s->prefixes == NULL && !allow_plain) {
		*error_r = "PLAIN passwords are not allowed";
		return -1;
	}
	if (strnlen(password, PASSWD_PASSWORD_MAX + 1) > PASSWD_PASSWORD_MAX)
		return 0;
	if (s->prefixes == NULL)
		return pw_plain_eq(hash, password, error_r);
	hlen = strlen(hash);
	if (!pw_prefix_ok(s, hash) || hlen >= CRYPT_OUTPUT_SIZE) {
		*error_r = "malformed password hash";
		return -1;
	}
	if (pw_crypt_run(password, hash, out, sizeof(out)) < 0) {
		*error_r = "malformed password hash";
		explicit_bzero(out, sizeof(out));
		return -1;
	}
	/* crypt's output length depends only on the setting, never on the
	 * password: a different length means a truncated or damaged hash */
	if (strlen(out) != hlen) {
		*error_r = "malformed password hash";
		explicit_bzero(out, sizeof(out));
		return -1;
	}
	ret = CRYPTO_memcmp(out, hash, hlen) == 0 ? 1 : 0;
	explicit_bzero(out, sizeof(out));
	return ret;
}

int passwd_hash(const char *scheme, const char *password, char *out,
		size_t outsize, const char **error_r)
{
	const struct pw_scheme *s;
	char salt[CRYPT_GENSALT_OUTPUT_SIZE], hashed[CRYPT_OUTPUT_SIZE];
	struct buf b;
	int ret = -1;

	if (scheme == NULL || *scheme == '\0')
		scheme = "SHA512-CRYPT";
	s = pw_scheme_find(scheme, strlen(scheme));
	if (s == NULL || s->gen_prefix == NULL) {
		*error_r = s == NULL ? "unknown password scheme" :
			"refusing to store a PLAIN password";
		return -1;
	}
	if (strlen(password) > PASSWD_PASSWORD_MAX) {
		*error_r = "password too long";
		return -1;
	}
	/* rbytes NULL: libxcrypt takes the salt from the OS random source */
	if (crypt_gensalt_rn(s->gen_prefix, 0, NULL, 0, salt,
			     sizeof(salt)) == NULL) {
		*error_r = "crypt_gensalt failed";
		return -1;
	}
	if (pw_crypt_run(password, salt, hashed, sizeof(hashed)) < 0) {
		*error_r = "crypt failed";
		return -1;
	}
	buf_init(&b, PASSWD_HASH_MAX);
	if (buf_printf(&b, "{%s}%s", s->name, hashed) == 0 &&
	    str_copy(out, outsize, buf_cstr(&b)) == 0)
		ret = 0;
	else
		*error_r = "output buffer too small";
	buf_deinit(&b);
	explicit_bzero(hashed, sizeof(hashed));
	return ret;
}
