// fuzz-sources: lib/passwd_file.c lib/addr.c
/* libFuzzer target for the passwd-file parser: parses the input, looks up
 * its first line's user and a fixed name, and runs passwd_verify on the
 * entry found with cheap candidate passwords (PLAIN allowed).
 * Build by hand (from the top of the tree, with a configured build dir for config.h):
 *   clang -g -fsanitize=fuzzer,address,undefined -I lib -I BUILD \
 *     -include config.h tests/fuzz/fuzz_passwd_file.c lib/passwd_file.c \
 *     lib/mem.c lib/buf.c lib/str.c lib/log.c -lcrypt -lcrypto \
 *     -o fuzz_passwd_file
 *   ./fuzz_passwd_file tests/fuzz/corpus/passwd_file */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "passwd_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Only verifies hashes crypt handles fast; a fuzzer-made bcrypt or
 * yescrypt cost would make every run slow without finding more. */
static void fuzz_verify(const struct passwd_file_entry *e)
{
	const char *error;
	const char *p = e->password;

	if (strstr(p, "$2") != NULL || strstr(p, "$y$") != NULL ||
	    strstr(p, "$gy$") != NULL || strstr(p, "$7$") != NULL ||
	    strstr(p, "rounds=") != NULL)
		return;
	(void)passwd_verify(p, "secret", true, &error);
	(void)passwd_verify(p, "", false, &error);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct passwd_file *pf;
	const struct passwd_file_entry *e;
	const char *error;
	char user[PASSWD_USER_MAX + 1];
	size_t i;

	if (passwd_file_parse((const char *)data, size, &pf, &error) < 0)
		return 0;
	/* the first line's user name, up to ':' */
	for (i = 0; i < size && i < PASSWD_USER_MAX && data[i] != ':' &&
	     data[i] != '\n' && data[i] != '\0'; i++)
		user[i] = (char)data[i];
	user[i] = '\0';
	if (passwd_file_lookup(pf, user, &e) == 1)
		fuzz_verify(e);
	if (passwd_file_lookup(pf, "bob@example.org", &e) == 1)
		fuzz_verify(e);
	(void)passwd_file_count(pf);
	passwd_file_free(&pf);
	return 0;
}
