// fuzz-sources: lib/conf.c lib/conf_expand.c lib/conf_file.c lib/conf_params.c lib/master_cf.c
/* libFuzzer target for main.cf (conf_load_buffer, expansion, typed reads)
 * and master.cf (master_cf_parse): both read the same input.
 * Build by hand (from the top of the tree, with a configured build dir for config.h):
 *   clang -g -fsanitize=fuzzer,address,undefined -I lib -I BUILD \
 *     -include config.h tests/fuzz/fuzz_conf.c lib/conf.c \
 *     lib/conf_expand.c lib/conf_file.c lib/conf_params.c lib/master_cf.c \
 *     lib/mem.c lib/buf.c lib/str.c lib/log.c -o fuzz_conf
 *   ./fuzz_conf tests/fuzz/corpus/conf */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "conf.h"
#include "master_cf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ignore(const char *msg)
{
	(void)strlen(msg);
}

static void fuzz_main_cf(const uint8_t *data, size_t size)
{
	const char *error;

	if (conf_load_buffer("fuzz.cf", (const char *)data, size, ignore,
			     &error) < 0) {
		(void)strlen(error);
		return;
	}
	/* Every value was checked at load: reads must not fail. */
	(void)strlen(conf_str("smtpd_banner"));
	(void)strlen(conf_str("mydomain"));
	(void)conf_int("local_destination_concurrency_limit");
	(void)conf_time("maximal_queue_lifetime");
	(void)conf_size("message_size_limit");
	(void)conf_bool("smtputf8_enable");
	(void)strlen(conf_raw("myorigin"));
	char **list = conf_list("virtual_mailbox_domains");
	for (size_t i = 0; list[i] != NULL; i++)
		(void)strlen(list[i]);
	free(list);
	if (conf_set("mail_name", "x$myhostname", &error) < 0)
		(void)strlen(error);
}

static void fuzz_master_cf(const uint8_t *data, size_t size)
{
	struct master_cf *cf;
	const char *error;

	if (master_cf_parse("fuzz.cf", (const char *)data, size, &cf,
			    &error) < 0) {
		(void)strlen(error);
		return;
	}
	for (size_t i = 0; i < cf->count; i++) {
		const struct master_cf_entry *e = &cf->entries[i];
		if (master_cf_find(cf, e->service, e->type) == NULL)
			abort();
		for (size_t j = 0; j < e->arg_count; j++)
			(void)strlen(e->args[j]);
		if (e->args[e->arg_count] != NULL)
			abort();
		for (size_t j = 0; j < e->override_count; j++)
			(void)strlen(e->overrides[j].value);
	}
	master_cf_free(&cf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_main_cf(data, size);
	fuzz_master_cf(data, size);
	return 0;
}
