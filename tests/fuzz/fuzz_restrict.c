// fuzz-sources: lib/restrict.c lib/restrict_check.c lib/restrict_access.c lib/restrict_login.c lib/restrict_dns.c lib/restrict_template.c
/* libFuzzer target for lib/restrict: the list parser and the access(5)
 * value parser. Input: lines. Line 1: a restriction list; line 2: an
 * access table value (every table look-up answers it); lines 3-6: client
 * address, HELO, sender, recipient (missing: NULL). The list is parsed
 * for every stage and evaluated, alone and as the whole request
 * (restrict_eval_all, every stage holding it); DNSBL TXT records and
 * the client's PTR name are the table value, and so is the DNSBL reply
 * template of a zone with a 't' in its name. Checked: a REJECT reply starts with
 * '5', a DEFER reply with '4', no reply holds a control character, and
 * DUNNO/PERMIT of a list leave no reply but "OK"/"DISCARD"/"".
 * Run: tests/run-fuzz, or by hand
 *   ./fuzz_restrict -max_total_time=60 tests/fuzz/corpus/restrict */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "restrict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *table_value;
static int table_dummy;

static void *fz_open(void *ctx, const char *spec, const char **error_r)
{
	(void)ctx;
	if (strncmp(spec, "bad:", 4) == 0) {
		*error_r = "bad table";
		return NULL;
	}
	return &table_dummy;
}

static void fz_close(void *ctx, void *table)
{
	(void)ctx;
	(void)table;
}

static int fz_lookup(void *cb, void *table, const char *key,
		     const char **value_r)
{
	(void)cb;
	(void)table;
	if (strcmp(key, "fail") == 0)
		return -1;
	*value_r = table_value;
	return 1;
}

static bool fz_mynetworks(void *cb, const char *addr)
{
	(void)cb;
	return strncmp(addr, "10.", 3) == 0;
}

static int fz_local(void *cb, const char *domain)
{
	(void)cb;
	return strcmp(domain, "ours.test") == 0 ? 1 : domain[0] == 'x' ? -1 : 0;
}

static enum restrict_dns fz_domain(void *cb, const char *domain)
{
	(void)cb;
	return (enum restrict_dns)(strlen(domain) % 4);
}

static enum restrict_dns fz_a(void *cb, const char *name, char (*addrs)[16],
			      size_t max, size_t *count_r)
{
	(void)cb;
	*count_r = 0;
	if (strlen(name) % 3 == 0 && max > 0) {
		memcpy(addrs[0], "127.0.0.2", 10);
		*count_r = 1;
		return RESTRICT_DNS_FOUND;
	}
	return (enum restrict_dns)(strlen(name) % 4);
}

/* The TXT record: the table value, control characters and all. */
static enum restrict_dns fz_txt(void *cb, const char *name, char *text,
				size_t size)
{
	(void)cb;
	if (strlen(name) % 5 == 0)
		return RESTRICT_DNS_TEMPFAIL;
	strncpy(text, table_value, size - 1);
	text[size - 1] = '\0';
	return RESTRICT_DNS_FOUND;
}

static enum restrict_dns fz_hostname(void *cb, bool verified,
				     const char **name_r)
{
	(void)cb;
	*name_r = NULL;
	if (table_value[0] == '\0')
		return RESTRICT_DNS_NOTFOUND;
	if (verified && strlen(table_value) % 2 == 0)
		return (enum restrict_dns)(strlen(table_value) % 4 | 1);
	*name_r = table_value;
	return RESTRICT_DNS_FOUND;
}

/* The DNSBL reply template: the table value, for zones with a 't'. */
static const char *fz_rbl_reply(void *cb, const char *zone)
{
	(void)cb;
	return strchr(zone, 't') != NULL ? table_value : NULL;
}

static void check(const struct restrict_result *r)
{
	for (const char *p = r->reply; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20)
			abort();
	if (r->verdict == RESTRICT_REJECT && r->reply[0] != '5')
		abort();
	if (r->verdict == RESTRICT_DEFER && r->reply[0] != '4')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct restrict_tables tables = { fz_open, fz_close,
						       NULL };
	char *copy = malloc(size + 1), *lines[6] = { NULL }, *p = copy;
	struct restrict_result r;

	memcpy(copy, data, size);
	copy[size] = '\0';
	for (int i = 0; i < 6 && p != NULL; i++) {
		lines[i] = p;
		p = strchr(p, '\n');
		if (p != NULL)
			*p++ = '\0';
	}
	table_value = lines[1] != NULL ? lines[1] : "";
	struct restrict_ctx ctx = {
		.client_addr = lines[2], .client_name = "unknown",
		.helo = lines[3], .sender = lines[4], .recipient = lines[5],
		.recipient_delimiter = "+-",
		.in_mynetworks = fz_mynetworks, .domain_is_local = fz_local,
		.table_lookup = fz_lookup, .dns_domain = fz_domain,
		.dns_a = fz_a, .dns_txt = fz_txt,
		.client_hostname = fz_hostname, .rbl_reply = fz_rbl_reply,
	};
	for (int stage = 0; stage < RESTRICT_STAGE_COUNT; stage++) {
		struct restrict_list *list = NULL;
		const char *error;
		if (restrict_parse("p", stage, lines[0], &tables, &list,
				   &error) == 0) {
			restrict_eval(list, &ctx, &r);
			check(&r);
			const struct restrict_list *all[RESTRICT_STAGE_COUNT];
			for (int i = 0; i < RESTRICT_STAGE_COUNT; i++)
				all[i] = list;
			restrict_eval_all(all, &ctx, &r);
			check(&r);
			(void)restrict_open_relay(all);
			restrict_list_free(&list);
		} else if (error == NULL || list != NULL) {
			abort();
		}
		restrict_access_value(table_value, stage, &ctx, &r);
		check(&r);
	}
	free(copy);
	return 0;
}
