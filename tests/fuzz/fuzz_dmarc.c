// fuzz-sources: lib/dmarc.c lib/dmarc_from.c lib/addr.c
/* libFuzzer target for lib/dmarc: the input is a header section, then a
 * NUL, then the TXT records at _dmarc of the From: domain (and of its
 * organizational domain), separated by 0x01. The From: parser must return
 * a lower-case valid domain or an error; the evaluation of whatever the
 * records hold must end in a result, with a policy only for fail and a
 * disposition never stricter than the policy. Needs the public suffix
 * list (Debian's publicsuffix). */
#include "config.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "dmarc.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *records;
static size_t records_len;

static enum dmarc_lookup_status lookup(void *context, const char *name,
				       struct dmarc_txt *txt)
{
	const char *p = records, *end = records + records_len;

	(void)context;
	(void)name;
	if (records_len == 0)
		return DMARC_LOOKUP_NOTFOUND;
	while (p <= end) {
		const char *sep = memchr(p, 1, (size_t)(end - p));
		const char *e = sep != NULL ? sep : end;
		dmarc_txt_add(txt, p, (size_t)(e - p));
		p = e + 1;
	}
	return DMARC_LOOKUP_FOUND;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dmarc_checker *checker;
	char domain[DMARC_DOMAIN_MAX + 1];
	const char *error, *headers = (const char *)data;
	const uint8_t *nul = memchr(data, 0, size);
	size_t hlen = nul != NULL ? (size_t)(nul - data) : size;

	if (checker == NULL &&
	    dmarc_checker_new("/usr/share/publicsuffix/public_suffix_list.dat",
			      lookup, NULL, &checker, &error) < 0) {
		fprintf(stderr, "%s\n", error);
		abort();
	}
	records = nul != NULL ? (const char *)nul + 1 : "";
	records_len = nul != NULL ? size - hlen - 1 : 0;
	int ret = dmarc_from_domain(headers, hlen, domain, &error);
	size_t n = strlen(domain);
	ASSERT(n <= DMARC_DOMAIN_MAX);
	if (ret == 0) {
		ASSERT(n > 0 && addr_check_domain(domain, n, 0, &error) == 0);
		for (size_t i = 0; i < n; i++)
			ASSERT(domain[i] < 'A' || domain[i] > 'Z');
	} else {
		ASSERT(error != NULL);
	}
	struct dmarc_input in = { .from_domain = ret == 0 ? domain : "x.test",
				  .client_addr = "192.0.2.1",
				  .spf = DMARC_AUTH_PASS,
				  .spf_domain = "mail.x.test",
				  .sample = (unsigned)(size % 100) };
	struct dmarc_verdict v;
	if (dmarc_evaluate(checker, &in, &v, &error) < 0)
		return 0;
	ASSERT(v.result <= DMARC_RESULT_PERMERROR);
	ASSERT((v.result == DMARC_RESULT_FAIL) ==
	       (v.policy != DMARC_POLICY_UNSET));
	ASSERT(v.disposition <= v.policy);
	ASSERT(v.pct >= 0 && v.pct <= 100);
	ASSERT(memchr(v.reason, '\0', sizeof(v.reason)) != NULL);
	return 0;
}
