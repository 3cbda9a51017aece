#include "config.h"
/* Unit tests for lib/base64: the RFC 4648 vectors both ways, output
 * sizes at limit-1/limit/limit+1, every non-canonical form the strict
 * decoder must refuse, and round trips of every byte value. */
#include <stdio.h>
#include <string.h>
#include "base64.h"
#include "unit.h"

static const struct {
	const char *raw, *b64;
} rfc_vectors[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

static void test_rfc_vectors(void)
{
	for (size_t i = 0; i < sizeof(rfc_vectors) / sizeof(rfc_vectors[0]);
	     i++) {
		const char *raw = rfc_vectors[i].raw, *b64 = rfc_vectors[i].b64;
		char enc[32], dec[32];
		const char *error = NULL;
		ssize_t n;

		UNIT_CHECK(base64_encoded_len(strlen(raw)) == strlen(b64));
		n = base64_encode(raw, strlen(raw), enc, sizeof(enc));
		UNIT_CHECK(n == (ssize_t)strlen(b64));
		UNIT_STREQ(enc, b64);
		n = base64_decode(b64, strlen(b64), dec, sizeof(dec), &error);
		UNIT_CHECK(n == (ssize_t)strlen(raw));
		UNIT_CHECK(n >= 0 && memcmp(dec, raw, (size_t)n) == 0);
	}
}

/* The encoder needs len + 1 (NUL); the decoder exactly the bytes. */
static void test_sizes(void)
{
	char out[16];
	const char *error;

	memset(out, 'x', sizeof(out));
	UNIT_CHECK(base64_encode("foobar", 6, out, 8) == -1);
	UNIT_STREQ(out, "");
	UNIT_CHECK(base64_encode("foobar", 6, out, 9) == 8);
	UNIT_STREQ(out, "Zm9vYmFy");
	UNIT_CHECK(base64_encode("foobar", 6, out, 10) == 8);
	UNIT_CHECK(base64_encode("", 0, out, 1) == 0);
	UNIT_STREQ(out, "");
	UNIT_CHECK(base64_encode("", 0, out, 0) == -1);

	UNIT_CHECK(base64_decode("Zm9vYmFy", 8, out, 5, &error) == -1);
	UNIT_STREQ(error, "base64 output buffer too small");
	UNIT_CHECK(base64_decode("Zm9vYmFy", 8, out, 6, &error) == 6);
	UNIT_CHECK(base64_decode("Zm9vYmFy", 8, out, 7, &error) == 6);
	UNIT_CHECK(base64_decode("Zm9vYmE=", 8, out, 4, &error) == -1);
	UNIT_CHECK(base64_decode("Zm9vYmE=", 8, out, 5, &error) == 5);
	UNIT_CHECK(base64_decoded_max(8) == 6);
	UNIT_CHECK(base64_decoded_max(7) == 3);
	UNIT_CHECK(base64_decoded_max(0) == 0);
}

static void test_refused(void)
{
	static const char *const bad[] = {
		"Zg=",		/* not a multiple of 4 */
		"Zg",
		"Z",
		"Zm9vY",
		"Z===",		/* too much padding */
		"====",
		"=Zg=",
		"Z=g=",		/* padding in the middle */
		"Zg==Zg==",	/* padding before the end */
		"Zm9=Zm9v",
		"Zh==",		/* non-zero bits under the padding */
		"Zm9=",
		"Zm8/Zm9=",
		"Zm 9",		/* white space */
		"Zm9v\n",
		"Zm9v\r\nZm9v",
		" Zm9",
		"Zm-v",		/* the URL-safe alphabet is another one */
		"Zm_v",
		"Zm9\x80",
		"Zm9.",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char out[16];
		const char *error = NULL;

		UNIT_CHECK(base64_decode(bad[i], strlen(bad[i]), out,
					 sizeof(out), &error) == -1);
		UNIT_CHECK(error != NULL);
	}
	/* a NUL inside the given length is not base64 either */
	char out[8];
	const char *error;
	UNIT_CHECK(base64_decode("Zm\0v", 4, out, sizeof(out), &error) == -1);
	UNIT_STREQ(error, "invalid base64 character");
}

/* Every byte value, at every offset within a group, both ways. */
static void test_round_trip(void)
{
	unsigned char raw[300], dec[300];
	char enc[404];
	const char *error;
	int ok = 1;

	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(i * 7 + 3);
	for (size_t len = 0; len <= sizeof(raw); len++) {
		ssize_t e = base64_encode(raw, len, enc, sizeof(enc));
		ssize_t d = base64_decode(enc, (size_t)e, dec, sizeof(dec),
					  &error);
		if (e != (ssize_t)base64_encoded_len(len) ||
		    d != (ssize_t)len || memcmp(raw, dec, len) != 0)
			ok = 0;
	}
	UNIT_CHECK(ok);
	/* NULs and high bytes survive */
	UNIT_CHECK(base64_encode("\0\xff\0", 3, enc, sizeof(enc)) == 4);
	UNIT_STREQ(enc, "AP8A");
	UNIT_CHECK(base64_decode("AP8A", 4, dec, sizeof(dec), &error) == 3);
	UNIT_CHECK(dec[0] == 0 && dec[1] == 0xff && dec[2] == 0);
	UNIT_CHECK(base64_decode("+/+/", 4, dec, sizeof(dec), &error) == 3);
	UNIT_CHECK(dec[0] == 0xfb && dec[1] == 0xff && dec[2] == 0xbf);
}

int main(void)
{
	test_rfc_vectors();
	test_sizes();
	test_refused();
	test_round_trip();
	return unit_done();
}
