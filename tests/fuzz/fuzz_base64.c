// fuzz-sources: lib/base64.c lib/auth_client.c lib/ipc.c lib/metrics.c
/* libFuzzer target for the strict base64 decoder and the SASL PLAIN
 * decoder built on it. Checks the decoder's promise of one encoding per
 * byte string: whatever it accepts encodes back to exactly the input, and
 * whatever the encoder makes is accepted. A SASL PLAIN result must have
 * no NUL in it and fit its buffers.
 *   tests/run-fuzz BUILD_DIR OUT_DIR; OUT_DIR/fuzz_base64 corpus... */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "auth_client.h"
#include "base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX 8192

static void fuzz_sasl(const uint8_t *data, size_t size)
{
	char in[FUZZ_MAX + 1], user[AUTH_USER_MAX + 1];
	char pw[AUTH_PASSWORD_MAX + 1];
	const char *error;

	memcpy(in, data, size);
	in[size] = '\0';
	if (auth_sasl_plain_decode(in, user, sizeof(user), pw, sizeof(pw),
				   &error) == 0) {
		if (user[0] == '\0' || pw[0] == '\0' ||
		    strlen(user) >= sizeof(user) || strlen(pw) >= sizeof(pw))
			abort();
	} else if (error == NULL || user[0] != '\0' || pw[0] != '\0') {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char dec[FUZZ_MAX];
	char enc[FUZZ_MAX * 2];
	const char *error;
	ssize_t n;

	if (size > FUZZ_MAX)
		return 0;
	n = base64_decode((const char *)data, size, dec, sizeof(dec), &error);
	if (n >= 0) {
		ssize_t e = base64_encode(dec, (size_t)n, enc, sizeof(enc));
		if (e != (ssize_t)size || memcmp(enc, data, size) != 0)
			abort();	/* accepted a non-canonical form */
	}
	/* the raw input, encoded, decodes to itself */
	n = base64_encode(data, size, enc, sizeof(enc));
	if (n < 0 || base64_decode(enc, (size_t)n, dec, sizeof(dec),
				   &error) != (ssize_t)size ||
	    memcmp(dec, data, size) != 0)
		abort();
	fuzz_sasl(data, size);
	return 0;
}
