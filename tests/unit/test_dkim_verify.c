#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dkim.h"
#include "unit.h"

/* libopendkim's leak of Ed25519 signing keys (the signer makes the
 * test's messages) is suppressed by lib/dkim_sign.c for every program
 * that signs. */

/* What the look-up answers: the record, none, or a temporary failure;
 * the names it was asked for are counted. */
static char published[4096];
static enum dkim_lookup_status lookup_answer;
static char asked[300];
static int lookups;

static enum dkim_lookup_status lookup(void *context, const char *name,
				      char *txt, size_t txt_size)
{
	UNIT_CHECK(context == &lookups);
	lookups++;
	snprintf(asked, sizeof(asked), "%s", name);
	if (lookup_answer == DKIM_LOOKUP_FOUND)
		snprintf(txt, txt_size, "%s", published);
	return lookup_answer;
}

static const char *MESSAGE =
	"From: Alice <alice@example.test>\n"
	"To: bob@example.org\n"
	"Subject: a signed\n"
	"  folded subject\n"
	"Date: Sun, 22 Nov 2026 10:00:00 +0000\n"
	"\n"
	"Hello Bob,\n"
	"\n"
	"trailing spaces   \n";

static struct dkim_signer *signer;
static struct dkim_verifier *verifier;

/* A key of type in key_r (file removed again), its record published. */
static void make_key(enum dkim_key_type type, const char *selector,
		     struct dkim_key *key_r)
{
	struct buf pem, txt;
	const char *error;
	char path[] = "/tmp/test_dkim_verify_XXXXXX";
	int fd = mkstemp(path);

	buf_init(&pem, DKIM_KEY_FILE_MAX);
	buf_init(&txt, 4096);
	UNIT_CHECK(fd >= 0);
	UNIT_CHECK(dkim_key_generate(type, 1024, &pem, &txt, &error) == 0);
	UNIT_CHECK(write(fd, pem.data, pem.len) == (ssize_t)pem.len);
	close(fd);
	UNIT_CHECK(dkim_key_load(path, "example.test", selector, key_r,
				 &error) == 0);
	unlink(path);
	snprintf(published, sizeof(published), "%s", txt.data);
	buf_deinit(&pem);
	buf_deinit(&txt);
}

/* signature + message into out. */
static void sign(const struct dkim_key *key, const char *message,
		 struct buf *out)
{
	const char *error;

	buf_init(out, 1 << 16);
	UNIT_CHECK(dkim_sign_message(signer, key, "t", message,
				     strlen(message), out, &error) == 0);
	UNIT_CHECK(buf_append_str(out, message) == 0);
}

/* Verifies message fed in pieces of step octets; returns the count. */
static size_t verify(const char *message, size_t step,
		     struct dkim_verify_sig sigs[DKIM_VERIFY_SIGS_MAX])
{
	struct dkim_verifying *v;
	const char *error;
	size_t len = strlen(message), count = 99;

	UNIT_CHECK(dkim_verifying_begin(verifier, "t", &v, &error) == 0);
	for (size_t i = 0; i < len; i += step) {
		size_t n = len - i < step ? len - i : step;
		int ret = dkim_verifying_feed(v, message + i, n, &error);
		if (ret < 0)
			fprintf(stderr, "feed: %s\n", error);
		UNIT_CHECK(ret == 0);
	}
	UNIT_CHECK(dkim_verifying_end(&v, sigs, &count, &error) == 0);
	UNIT_CHECK(v == NULL);
	return count;
}

static void check_one(const char *message, enum dkim_verify_result want,
		      const char *reason)
{
	struct dkim_verify_sig sigs[DKIM_VERIFY_SIGS_MAX];
	static const size_t steps[] = { 1, 7, 100000 };

	for (size_t i = 0; i < 3; i++) {
		UNIT_CHECK(verify(message, steps[i], sigs) == 1);
		UNIT_STREQ(dkim_verify_result_name(sigs[0].result),
			   dkim_verify_result_name(want));
		UNIT_STREQ(sigs[0].reason, reason);
		UNIT_STREQ(sigs[0].domain, "example.test");
	}
}

static void test_type(enum dkim_key_type type)
{
	struct dkim_key key;
	struct buf m;

	make_key(type, "sel", &key);
	sign(&key, MESSAGE, &m);
	lookup_answer = DKIM_LOOKUP_FOUND;
	check_one(m.data, DKIM_VERIFY_PASS, "");
	UNIT_STREQ(asked, "sel._domainkey.example.test");

	struct dkim_verify_sig sigs[DKIM_VERIFY_SIGS_MAX];
	UNIT_CHECK(verify(m.data, 4096, sigs) == 1);
	UNIT_STREQ(sigs[0].selector, "sel");
	const char *b = strstr(strstr(m.data, "bh="), "b=") - 1;
	UNIT_CHECK(b != NULL && strlen(sigs[0].b) == 8 &&
		   strncmp(b + 3, sigs[0].b, 8) == 0);

	/* The body changed: the body hash. */
	char *t = strstr(m.data, "Hello Bob");
	t[0] = 'J';
	check_one(m.data, DKIM_VERIFY_FAIL, "body hash did not verify");
	t[0] = 'H';
	/* A signed header field changed: the signature. */
	t = strstr(m.data, "Subject: a signed");
	t[9] = 'A';
	check_one(m.data, DKIM_VERIFY_FAIL, "signature did not verify");
	t[9] = 'a';
	check_one(m.data, DKIM_VERIFY_PASS, "");

	/* The key record: missing, failing, malformed, revoked. */
	lookup_answer = DKIM_LOOKUP_NOTFOUND;
	check_one(m.data, DKIM_VERIFY_PERMERROR, "no key");
	lookup_answer = DKIM_LOOKUP_TEMPFAIL;
	check_one(m.data, DKIM_VERIFY_TEMPERROR, "key look-up failed");
	lookup_answer = DKIM_LOOKUP_FOUND;
	char saved[4096];
	snprintf(saved, sizeof(saved), "%s", published);
	snprintf(published, sizeof(published), "v=DKIM1; p=%%%%notbase64");
	verify(m.data, 4096, sigs);
	UNIT_CHECK(sigs[0].result == DKIM_VERIFY_PERMERROR);
	snprintf(published, sizeof(published), "v=DKIM1; k=%s; p=",
		 type == DKIM_KEY_RSA ? "rsa" : "ed25519");
	check_one(m.data, DKIM_VERIFY_PERMERROR, "key revoked");
	snprintf(published, sizeof(published), "%s", saved);
	buf_deinit(&m);
	dkim_key_deinit(&key);
}

/* Two signatures, one good and one with a different key published. */
static void test_several(void)
{
	struct dkim_key k1, k2;
	struct buf m1, m2;
	struct dkim_verify_sig sigs[DKIM_VERIFY_SIGS_MAX];

	make_key(DKIM_KEY_RSA, "one", &k1);
	make_key(DKIM_KEY_ED25519, "two", &k2);
	sign(&k1, MESSAGE, &m1);
	sign(&k2, m1.data, &m2);
	lookup_answer = DKIM_LOOKUP_FOUND;
	/* Only the Ed25519 record is published (for both selectors). */
	UNIT_CHECK(verify(m2.data, 13, sigs) == 2);
	UNIT_STREQ(sigs[0].selector, "two");
	UNIT_CHECK(sigs[0].result == DKIM_VERIFY_PASS);
	UNIT_STREQ(sigs[1].selector, "one");
	UNIT_CHECK(sigs[1].result != DKIM_VERIFY_PASS);

	/* Seven signatures: five reported, five keys looked up at most. */
	struct buf many;
	buf_init(&many, 1 << 20);
	for (int i = 0; i < 7; i++)
		UNIT_CHECK(buf_append_str(&many, "DKIM-Signature: v=1; a=rsa-"
					  "sha256; d=example.test; s=x; "
					  "h=from; bh=AAAA; b=AAAA\n") == 0);
	UNIT_CHECK(buf_append_str(&many, MESSAGE) == 0);
	lookups = 0;
	UNIT_CHECK(verify(many.data, 4096, sigs) == DKIM_VERIFY_SIGS_MAX);
	UNIT_CHECK(lookups <= DKIM_VERIFY_SIGS_MAX);
	for (int i = 0; i < DKIM_VERIFY_SIGS_MAX; i++)
		UNIT_CHECK(sigs[i].result != DKIM_VERIFY_PASS);
	buf_deinit(&many);
	buf_deinit(&m1);
	buf_deinit(&m2);
	dkim_key_deinit(&k1);
	dkim_key_deinit(&k2);
}

static void test_malformed(void)
{
	struct dkim_verify_sig sigs[DKIM_VERIFY_SIGS_MAX];
	struct buf m;

	/* Unsigned: nothing to report. */
	UNIT_CHECK(verify(MESSAGE, 5, sigs) == 0);
	UNIT_CHECK(verify("", 5, sigs) == 0);
	/* No d=, an unknown algorithm, rsa-sha1 (RFC 8301). */
	buf_init(&m, 1 << 16);
	UNIT_CHECK(buf_append_str(&m, "DKIM-Signature: v=1; a=rsa-sha256; "
				  "s=x; h=from; bh=AAAA; b=AAAA\n") == 0);
	UNIT_CHECK(buf_append_str(&m, MESSAGE) == 0);
	UNIT_CHECK(verify(m.data, 4096, sigs) == 1);
	UNIT_CHECK(sigs[0].result == DKIM_VERIFY_PERMERROR);
	buf_reset(&m);
	UNIT_CHECK(buf_append_str(&m, "DKIM-Signature: v=1; a=rsa-md5; "
				  "d=example.test; s=x; h=from; bh=AAAA; "
				  "b=AAAA\n") == 0);
	UNIT_CHECK(buf_append_str(&m, MESSAGE) == 0);
	UNIT_CHECK(verify(m.data, 4096, sigs) == 1);
	UNIT_CHECK(sigs[0].result == DKIM_VERIFY_PERMERROR);
	buf_reset(&m);
	lookups = 0;
	UNIT_CHECK(buf_append_str(&m, "DKIM-Signature: v=1; a=rsa-sha1; "
				  "d=example.test; s=x; h=from; bh=AAAA; "
				  "b=AAAAAAAAAAAA\n") == 0);
	UNIT_CHECK(buf_append_str(&m, MESSAGE) == 0);
	UNIT_CHECK(verify(m.data, 4096, sigs) == 1);
	UNIT_CHECK(sigs[0].result == DKIM_VERIFY_PERMERROR);
	UNIT_STREQ(sigs[0].reason, "rsa-sha1 not accepted");
	UNIT_STREQ(sigs[0].b, "AAAAAAAA");
	UNIT_CHECK(lookups == 0);
	buf_deinit(&m);
}

/* A header section past the bound is refused, not buffered. */
static void test_header_bound(void)
{
	struct dkim_verifying *v;
	const char *error;
	char line[1001];

	memset(line, 'a', sizeof(line) - 1);
	memcpy(line, "X-A: ", 5);
	line[sizeof(line) - 2] = '\n';
	line[sizeof(line) - 1] = '\0';
	UNIT_CHECK(dkim_verifying_begin(verifier, "t", &v, &error) == 0);
	int ret = 0;
	for (int i = 0; i < 2000 && ret == 0; i++)
		ret = dkim_verifying_feed(v, line, strlen(line), &error);
	UNIT_CHECK(ret == -1 && strstr(error, "header section") != NULL);
	dkim_verifying_abort(&v);
	UNIT_CHECK(v == NULL);
}

int main(void)
{
	const char *error;

	UNIT_CHECK(dkim_signer_new(&signer, &error) == 0);
	UNIT_CHECK(dkim_verifier_new(lookup, &lookups, &verifier, &error) == 0);
	test_type(DKIM_KEY_RSA);
	test_type(DKIM_KEY_ED25519);
	test_several();
	test_malformed();
	test_header_bound();
	dkim_verifier_free(&verifier);
	dkim_signer_free(&signer);
	UNIT_CHECK(verifier == NULL);
	return unit_done();
}
