#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <opendkim/dkim.h>
#include "dkim.h"
#include "unit.h"

/* The verifier's key look-up answers with the record under test. */
static char published[4096];

static DKIM_CBSTAT key_lookup(DKIM *dkim, DKIM_SIGINFO *sig, u_char *buf,
			      size_t buflen)
{
	(void)dkim;
	(void)sig;
	if (strlen(published) + 1 > buflen)
		return DKIM_CBSTAT_ERROR;
	memcpy(buf, published, strlen(published) + 1);
	return DKIM_CBSTAT_CONTINUE;
}

/* Verifies signature + message (both LF) with libopendkim: 1 pass, 0 a
 * signature that fails, -1 an error. */
static int verify(const char *signature, const char *message)
{
	DKIM_LIB *lib = dkim_init(NULL, NULL);
	DKIM_STAT st;
	struct buf all;
	int ret = -1;

	buf_init(&all, 1 << 20);
	UNIT_CHECK(buf_append_str(&all, signature) == 0);
	UNIT_CHECK(buf_append_str(&all, message) == 0);
	/* CRLF for the verifier, field by field and line by line. */
	struct buf crlf;
	int bad = 0;
	buf_init(&crlf, 2 << 20);
	for (size_t i = 0; i < all.len; i++) {
		if (all.data[i] == '\n')
			bad |= buf_append_char(&crlf, '\r');
		bad |= buf_append_char(&crlf, all.data[i]);
	}
	UNIT_CHECK(bad == 0);
	UNIT_CHECK(dkim_set_key_lookup(lib, key_lookup) == DKIM_STAT_OK);
	DKIM *d = dkim_verify(lib, (const u_char *)"t", NULL, &st);
	if (d != NULL && dkim_chunk(d, (u_char *)crlf.data, crlf.len) ==
	    DKIM_STAT_OK && dkim_chunk(d, NULL, 0) == DKIM_STAT_OK) {
		st = dkim_eom(d, NULL);
		DKIM_SIGINFO *sig = dkim_getsignature(d);
		ret = st == DKIM_STAT_OK && sig != NULL && DKIM_SIG_CHECK(sig);
	}
	dkim_free(d);
	dkim_close(lib);
	buf_deinit(&all);
	buf_deinit(&crlf);
	return ret;
}

static const char *MESSAGE =
	"From: Alice <alice@example.test>\n"
	"To: bob@example.org\n"
	"Subject: a signed\n"
	"  folded subject\n"
	"Date: Sun, 22 Nov 2026 10:00:00 +0000\n"
	"Message-ID: <1@example.test>\n"
	"\n"
	"Hello Bob,\n"
	"\n"
	".a line with a dot\n"
	"trailing spaces   \n"
	"\n\n";

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");
	UNIT_CHECK(f != NULL && fwrite(data, 1, len, f) == len);
	fclose(f);
}

static void check_type(enum dkim_key_type type, unsigned bits,
		       const char *k)
{
	struct buf pem, txt, sig;
	const char *error;
	char path[] = "/tmp/test_dkim_XXXXXX";
	struct dkim_key key;
	struct dkim_signer *signer;

	buf_init(&pem, DKIM_KEY_FILE_MAX);
	buf_init(&txt, 4096);
	UNIT_CHECK(dkim_key_generate(type, bits, &pem, &txt, &error) == 0);
	UNIT_CHECK(strstr(txt.data, k) == txt.data + strlen("v=DKIM1; "));
	UNIT_CHECK(strstr(pem.data, "-----BEGIN PRIVATE KEY-----") ==
		   pem.data);
	int fd = mkstemp(path);
	UNIT_CHECK(fd >= 0);
	close(fd);
	write_file(path, pem.data, pem.len);
	UNIT_CHECK(dkim_key_load(path, "example.test", "sel-1", &key,
				 &error) == 0);
	UNIT_CHECK(key.type == type);
	/* The record from the private key is the one keygen gave. */
	struct buf again;
	buf_init(&again, 4096);
	UNIT_CHECK(dkim_key_txt_record(key.pem.data, key.pem.len, &again,
				       &error) == 0);
	UNIT_STREQ(again.data, txt.data);
	buf_deinit(&again);

	UNIT_CHECK(dkim_signer_new(&signer, &error) == 0);
	buf_init(&sig, DKIM_SIGNATURE_MAX + 64);
	UNIT_CHECK(dkim_sign_message(signer, &key, "t", MESSAGE, strlen(MESSAGE),
			     &sig, &error) == 0);
	UNIT_CHECK(strncmp(sig.data, "DKIM-Signature: v=1;", 20) == 0);
	UNIT_CHECK(strstr(sig.data, "c=relaxed/relaxed") != NULL);
	UNIT_CHECK(strstr(sig.data, "d=example.test") != NULL);
	UNIT_CHECK(strstr(sig.data, "s=sel-1") != NULL);
	UNIT_CHECK(strstr(sig.data, type == DKIM_KEY_RSA ? "a=rsa-sha256" :
			  "a=ed25519-sha256") != NULL);
	/* From over-signed: listed twice for the one From: there is. */
	const char *h = strstr(sig.data, "h=");
	UNIT_CHECK(h != NULL && strcasestr(h, "from") != NULL &&
		   strcasestr(strcasestr(h, "from") + 4, "from") != NULL);
	UNIT_CHECK(sig.data[sig.len - 1] == '\n' &&
		   strchr(sig.data, '\r') == NULL);

	snprintf(published, sizeof(published), "%s", txt.data);
	UNIT_CHECK(verify(sig.data, MESSAGE) == 1);
	/* A changed body or header fails. */
	char *changed = strdup(MESSAGE);
	changed[strlen(changed) - 5] = 'X';
	UNIT_CHECK(verify(sig.data, changed) == 0);
	free(changed);
	changed = strdup(MESSAGE);
	memcpy(strstr(changed, "Alice"), "Mallo", 5);
	UNIT_CHECK(verify(sig.data, changed) == 0);
	free(changed);
	/* The wrong public key fails. */
	struct buf other_pem, other_txt;
	buf_init(&other_pem, DKIM_KEY_FILE_MAX);
	buf_init(&other_txt, 4096);
	UNIT_CHECK(dkim_key_generate(type, bits, &other_pem, &other_txt,
				     &error) == 0);
	snprintf(published, sizeof(published), "%s", other_txt.data);
	UNIT_CHECK(verify(sig.data, MESSAGE) == 0);
	buf_deinit(&other_pem);
	buf_deinit(&other_txt);

	/* Fed a few octets at a time: the same valid signature. */
	struct dkim_signing *g;
	buf_reset(&sig);
	UNIT_CHECK(dkim_signing_begin(signer, &key, "t", &g, &error) == 0);
	int fed = 0;
	for (size_t i = 0, n = strlen(MESSAGE); i < n; i += 3)
		fed |= dkim_signing_feed(g, MESSAGE + i, n - i < 3 ? n - i : 3,
					 &error);
	UNIT_CHECK(fed == 0);
	UNIT_CHECK(dkim_signing_end(&g, &sig, &error) == 0 && g == NULL);
	snprintf(published, sizeof(published), "%s", txt.data);
	UNIT_CHECK(verify(sig.data, MESSAGE) == 1);

	/* No From: nothing to sign. */
	buf_reset(&sig);
	const char *no_from = "To: b@example.org\nSubject: x\n\nbody\n";
	UNIT_CHECK(dkim_sign_message(signer, &key, "t", no_from, strlen(no_from),
			     &sig, &error) == -1);
	UNIT_CHECK(strstr(error, "From") != NULL);
	/* Headers only, no empty line: signed with an empty body. */
	const char *no_body = "From: a@example.test\nSubject: x\n";
	UNIT_CHECK(dkim_sign_message(signer, &key, "t", no_body, strlen(no_body),
			     &sig, &error) == 0);

	dkim_signer_free(&signer);
	dkim_key_deinit(&key);
	unlink(path);
	buf_deinit(&pem);
	buf_deinit(&txt);
	buf_deinit(&sig);
}

static void test_load_errors(void)
{
	struct dkim_key key;
	const char *error;
	char path[] = "/tmp/test_dkim_XXXXXX";
	int fd = mkstemp(path);

	UNIT_CHECK(fd >= 0);
	close(fd);
	write_file(path, "not a key\n", 10);
	UNIT_CHECK(dkim_key_load(path, "example.test", "s", &key, &error) ==
		   -1);
	UNIT_CHECK(strstr(error, "PEM") != NULL);
	UNIT_CHECK(dkim_key_load(path, "example.test", "bad selector", &key,
				 &error) == -1);
	UNIT_STREQ(error, "bad selector");
	UNIT_CHECK(dkim_key_load(path, "example.test", "a..b", &key,
				 &error) == -1);
	UNIT_CHECK(dkim_key_load(path, "exa mple", "s", &key, &error) == -1);
	UNIT_STREQ(error, "bad domain");
	UNIT_CHECK(dkim_key_load("/nonexistent/key", "example.test", "s",
				 &key, &error) == -1);
	UNIT_CHECK(strstr(error, "open") != NULL);
	unlink(path);

	struct buf pem, txt;
	buf_init(&pem, DKIM_KEY_FILE_MAX);
	buf_init(&txt, 4096);
	UNIT_CHECK(dkim_key_generate(DKIM_KEY_RSA, 512, &pem, &txt, &error) ==
		   -1);
	UNIT_CHECK(dkim_key_generate(DKIM_KEY_RSA, 8192, &pem, &txt, &error) ==
		   -1);
	buf_deinit(&pem);
	buf_deinit(&txt);
}

static void test_zone_line(void)
{
	struct buf out;
	char txt[600];

	memset(txt, 'A', sizeof(txt) - 1);
	txt[sizeof(txt) - 1] = '\0';
	buf_init(&out, 4096);
	UNIT_CHECK(dkim_key_zone_line("example.test", "s1", txt, &out) == 0);
	UNIT_CHECK(strncmp(out.data, "s1._domainkey.example.test. IN TXT ( \"",
			   38) == 0);
	/* 599 octets: strings of 255, 255 and 89. */
	const char *p = out.data;
	size_t lens[3], n = 0;
	while ((p = strchr(p, '"')) != NULL && n < 3) {
		const char *q = strchr(p + 1, '"');
		lens[n++] = (size_t)(q - p - 1);
		p = q + 1;
	}
	UNIT_CHECK(n == 3 && lens[0] == 255 && lens[1] == 255 &&
		   lens[2] == 89);
	UNIT_CHECK(strcmp(out.data + out.len - 3, " )\n") == 0);
	buf_deinit(&out);
	buf_init(&out, 100);
	UNIT_CHECK(dkim_key_zone_line("example.test", "s1", txt, &out) == -1);
	buf_deinit(&out);
}

static void test_from_domain(void)
{
	static const struct {
		const char *headers;
		const char *want;	/* NULL: -1 */
	} cases[] = {
		{ "From: Alice <alice@Example.TEST>\nTo: b@x.test\n\n",
		  "example.test" },
		{ "Subject: x\nfrom: bob@sub.example.org (Bob)\n\nbody",
		  "sub.example.org" },
		{ "From: \"a@evil.test\" <a@good.test>\n", "good.test" },
		{ "From: (a@evil.test) a@good.test\n", "good.test" },
		{ "From: x@first.test, y@second.test\n", "first.test" },
		{ "From: Alice\n <alice@folded.test>\n", "folded.test" },
		{ "From: Alice\r\n <alice@crlf.test>\r\n\r\n", "crlf.test" },
		{ "To: b@x.test\n\nFrom: a@body.test\n", NULL },
		{ "From: nobody\n", NULL },
		{ "From: <a@[192.0.2.1]>\n", NULL },
		{ "From: <a@bad domain>\n", NULL },
		{ "From: <a@example.test\n", NULL },
		{ "", NULL },
	};
	char domain[DKIM_DOMAIN_MAX + 1];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = dkim_from_domain(cases[i].headers,
					 strlen(cases[i].headers), domain);
		if (cases[i].want == NULL) {
			UNIT_CHECK(r == -1);
		} else {
			UNIT_CHECK(r == 0);
			if (r == 0)
				UNIT_STREQ(domain, cases[i].want);
		}
	}
}

int main(void)
{
	test_from_domain();
	check_type(DKIM_KEY_RSA, 1024, "k=rsa; p=");
	check_type(DKIM_KEY_ED25519, 0, "k=ed25519; p=");
	test_load_errors();
	test_zone_line();
	return unit_done();
}
