// fuzz-sources: lib/dns_msg.c
/* libFuzzer target for the DNS answer parser (lib/dns_msg.c). The first
 * byte picks the record type asked; the rest is the response as it came
 * from the network. The name asked is the one in the response's question
 * (when it has a readable one) so that the answer section is reached. The
 * parsed answer is checked against the contract: records only of the
 * asked type, names bounded, TXT/TLSA data NUL-terminated. The same bytes
 * are also tried as a query name: encode, decode, compare (round trip).
 * Run: tests/run-fuzz, or by hand
 *   ./fuzz_dns_msg -max_total_time=60 tests/fuzz/corpus/dns_msg */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dns_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint16_t types[] = {
	DNS_TYPE_A, DNS_TYPE_AAAA, DNS_TYPE_MX, DNS_TYPE_CNAME,
	DNS_TYPE_TXT, DNS_TYPE_TLSA, DNS_TYPE_PTR, 99,
};

static void check_answer(const struct dns_answer *a, uint16_t type)
{
	if (a->type != type || a->status > DNS_FAIL ||
	    strlen(a->cname) > DNS_NAME_TEXT_MAX ||
	    (a->status != DNS_OK && a->count != 0) ||
	    (a->status == DNS_OK && a->count == 0))
		abort();
	for (size_t i = 0; i < a->count; i++) {
		const struct dns_rr *rr = &a->rrs[i];

		if (rr->type != type || strcmp(rr->owner, a->cname) != 0)
			abort();
		if (rr->target != NULL && strlen(rr->target) > DNS_NAME_TEXT_MAX)
			abort();
		if (rr->data != NULL && rr->data[rr->data_len] != '\0')
			abort();
	}
}

/* Encodes the bytes as a query name and reads it back. */
static void round_trip(const uint8_t *data, size_t size)
{
	char name[DNS_NAME_MAX + 3], back[DNS_NAME_TEXT_MAX + 1];
	uint8_t query[DNS_QUERY_MAX];
	const char *error;
	size_t pos = DNS_HEADER_LEN;

	if (size >= sizeof(name) || memchr(data, 0, size) != NULL)
		return;
	memcpy(name, data, size);
	name[size] = '\0';
	if (dns_msg_query(query, 7, name, DNS_TYPE_MX, true, &error) == 0)
		return;
	if (dns_msg_name(query, DNS_QUERY_MAX, &pos, back, &error) < 0)
		abort();
	for (size_t i = 0; name[i] != '\0'; i++)
		if (name[i] >= 'A' && name[i] <= 'Z')
			name[i] = (char)(name[i] + 32);
	if (size > 0 && name[size - 1] == '.')
		name[size - 1] = '\0';
	if (strcmp(name, back) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char qname[DNS_NAME_TEXT_MAX + 1] = "example.test";
	struct dns_answer *answer = NULL;
	const char *error = NULL;
	size_t pos = DNS_HEADER_LEN;

	round_trip(data, size);
	if (size < 1)
		return 0;
	uint16_t type = types[data[0] % (sizeof(types) / sizeof(types[0]))];

	data++;
	size--;
	if (dns_msg_name(data, size, &pos, qname, &error) < 0 ||
	    strlen(qname) > DNS_NAME_MAX)
		strcpy(qname, "example.test");
	(void)dns_msg_matches(data, size, qname, type);
	if (dns_msg_parse(data, size, qname, type, &answer, &error) == 0) {
		check_answer(answer, type);
		dns_answer_free(&answer);
	} else if (answer != NULL || error == NULL) {
		abort();
	}
	return 0;
}
