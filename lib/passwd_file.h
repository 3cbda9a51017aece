/* passwd_file: Dovecot's passwd-file user table (parse + lookup) and
 * password hashes through crypt(3) (verify + make). Pure library: no I/O,
 * no logging; authd reads the file and hands the bytes over. */
#ifndef SUREL_PASSWD_FILE_H
#define SUREL_PASSWD_FILE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PASSWD_FILE_MAX_SIZE (64u * 1024 * 1024)	/* whole file */
#define PASSWD_FILE_MAX_LINE 4096	/* bytes, without the newline */
#define PASSWD_FILE_MAX_USERS 1000000
#define PASSWD_USER_MAX 255
#define PASSWD_PASSWORD_MAX 1024	/* longer: never matches */
/* Big enough for any hash passwd_hash() makes, with its {SCHEME}. */
#define PASSWD_HASH_MAX 512

/* One line: user:password:uid:gid:gecos:home:shell:extra_fields.
 * Missing fields are "" (never NULL); has_uid/has_gid say whether the
 * numeric field was present and non-empty. extra is the rest of the line
 * after the 7th ':' (Dovecot's space-separated key=value list), raw. */
struct passwd_file_entry {
	const char *user;
	const char *password;	/* "{SCHEME}hash", bare crypt string, or "" */
	uint32_t uid, gid;
	bool has_uid, has_gid;
	const char *gecos, *home, *shell, *extra;
};

struct passwd_file;

/* Parses len bytes of a passwd-file (need not be NUL-terminated). Lines
 * end in \n (a trailing \r is dropped); blank lines and lines starting
 * with '#' are skipped. Errors (-1, *error_r = "line N: why", valid until
 * the next failing call in this process): file over PASSWD_FILE_MAX_SIZE,
 * a line over PASSWD_FILE_MAX_LINE, a NUL byte, an invalid user name (see
 * passwd_user_valid), a non-numeric uid/gid, too many users, and a
 * DUPLICATE user (compared case-insensitively): an ambiguous password
 * table is refused as a whole rather than silently picking one. */
int passwd_file_parse(const char *data, size_t len, struct passwd_file **pf_r,
		      const char **error_r);
void passwd_file_free(struct passwd_file **pf);
size_t passwd_file_count(const struct passwd_file *pf);

/* Looks user up, ASCII case-insensitively over the whole name (what
 * Dovecot does with auth_username_format=%Lu, so "Bob@Example.ORG" finds
 * bob@example.org). Returns 1 and *entry_r (owned by pf), 0 if absent or
 * the name is not valid. O(log n). */
int passwd_file_lookup(const struct passwd_file *pf, const char *user,
		       const struct passwd_file_entry **entry_r);

/* A user name that may reach a path: 1..PASSWD_USER_MAX bytes of valid
 * UTF-8 without white space or control characters (ASCII 0x21-0x7e and
 * non-ASCII characters), no '/', not "." or "..". pop3d/imapd should apply it
 * to what clients send too. */
bool passwd_user_valid(const char *user);

/* Checks password against a stored hash. Schemes ({NAME} is matched
 * case-insensitively; no {NAME} means CRYPT, Dovecot's default):
 * SHA512-CRYPT ($6$), SHA256-CRYPT ($5$), BLF-CRYPT ($2y$ $2b$ $2a$),
 * CRYPT (any of $y$ yescrypt, $gy$, $7$, $6$, $5$, $2?$; old DES/MD5
 * strings are refused as malformed), and PLAIN/CLEAR only if allow_plain.
 * Comparison is constant-time; scratch copies are wiped.
 * Returns 1 match, 0 mismatch (also for a password over
 * PASSWD_PASSWORD_MAX), -1 with *error_r (static) for an unknown scheme,
 * PLAIN not allowed or a malformed hash (wrong prefix for the scheme,
 * or truncated/damaged: crypt output of another length). BLF-CRYPT uses
 * only the first 72 bytes of the password (bcrypt). */
int passwd_verify(const char *stored, const char *password, bool allow_plain,
		  const char **error_r);

/* Makes "{SCHEME}hash" with a fresh random salt for password into out.
 * scheme: NULL or "" = SHA512-CRYPT; SHA256-CRYPT, BLF-CRYPT, CRYPT
 * (yescrypt, written as "{CRYPT}$y$..."). PLAIN is refused. -1 with
 * *error_r (static) on unknown scheme, crypt failure or out too small. */
int passwd_hash(const char *scheme, const char *password, char *out,
		size_t outsize, const char **error_r);

#endif
