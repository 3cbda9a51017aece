// fuzz-sources: lib/base64.c lib/auth_client.c lib/ipc.c lib/metrics.c
/* libFuzzer target for the decoded SASL responses smtpd parses: PLAIN
 * (authzid NUL authcid NUL password) and LOGIN (one user name or
 * password). A PLAIN result must be exactly the fields between the two
 * NULs, fit its buffers and hold no NUL; a LOGIN result must equal the
 * input; a refusal leaves empty outputs and an error, and the input is
 * never changed.
 *   tests/run-fuzz BUILD_DIR OUT_DIR; OUT_DIR/fuzz_sasl corpus... */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "auth_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX 10000

static void fuzz_plain(const uint8_t *data, size_t size)
{
	char user[AUTH_USER_MAX + 1], pw[AUTH_PASSWORD_MAX + 1];
	const char *error = NULL;

	if (auth_sasl_plain_parse(data, size, user, sizeof(user), pw,
				  sizeof(pw), &error) == 0) {
		size_t ulen = strlen(user), plen = strlen(pw);
		const uint8_t *nul = memchr(data, '\0', size);
		if (ulen == 0 || plen == 0 || nul == NULL ||
		    (size_t)(nul - data) + 1 + ulen + 1 + plen != size ||
		    memcmp(nul + 1, user, ulen) != 0 ||
		    memcmp(data + size - plen, pw, plen) != 0)
			abort();
	} else if (error == NULL || user[0] != '\0' || pw[0] != '\0') {
		abort();
	}
}

static void fuzz_login(const uint8_t *data, size_t size)
{
	char out[AUTH_USER_MAX + 1];
	const char *error = NULL;

	if (auth_sasl_login_parse(data, size, out, sizeof(out), &error) == 0) {
		if (strlen(out) != size || memcmp(out, data, size) != 0 ||
		    strpbrk(out, "\r\n") != NULL)
			abort();
	} else if (error == NULL || out[0] != '\0') {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t copy[FUZZ_MAX];

	if (size > FUZZ_MAX)
		return 0;
	memcpy(copy, data, size);
	fuzz_plain(copy, size);
	fuzz_login(copy, size);
	if (memcmp(copy, data, size) != 0)
		abort();
	return 0;
}
