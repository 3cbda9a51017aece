// fuzz-sources: lib/imap_parser.c lib/imap_arg.c lib/imap_section.c lib/imap_fetch_items.c
/* libFuzzer target for the FETCH item parser (lib/imap_fetch_items, with
 * lib/imap_section under it). The input is a client's byte stream, parsed
 * by imap_parser; the arguments after the first of every command (after
 * "UID" and the sequence set for UID FETCH) are parsed as FETCH items,
 * and the result is checked: the item count within the limit, the simple
 * items once each, every name consistent with its type and section,
 * section fields within the limit, the mask matching the items.
 * Run: tests/run-fuzz, or by hand
 *   ./fuzz_imap_fetch_items -max_total_time=60 CORPUS_COPY/ */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "imap_fetch_items.h"
#include "fuzz_imap_commands.h"
#include "imap_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ITEMS_MAX 20
#define FIELDS_MAX 8

static const struct imap_parser_limits plimits = {
	.line_max = 4000, .literal_max = 300, .command_max = 5000,
	.depth_max = 10, .args_max = 2000 };

static void check_item(const struct imap_fetch_item *it)
{
	const struct imap_section *sec = &it->section;
	size_t len;

	if (it->name == NULL || it->type >= IMAP_FETCH_TYPE_COUNT ||
	    sec->field_count > FIELDS_MAX ||
	    sec->part_count > IMAP_SECTION_PARTS_MAX ||
	    (sec->has_partial && sec->partial_length == 0))
		abort();
	len = strlen(it->name);
	switch (it->type) {
	case IMAP_FETCH_BODY_SECTION:
		if (strncmp(it->name, "BODY[", 5) != 0 ||
		    it->name[len - 1] != ']')
			abort();
		break;
	case IMAP_FETCH_BINARY:
	case IMAP_FETCH_BINARY_SIZE:
		if (strncmp(it->name, "BINARY", 6) != 0 ||
		    it->name[len - 1] != ']' ||
		    (sec->kind != IMAP_SECTION_ALL &&
		     sec->kind != IMAP_SECTION_PART) ||
		    (it->type == IMAP_FETCH_BINARY_SIZE &&
		     (sec->has_partial || it->sets_seen)))
			abort();
		break;
	default:
		if (strchr(it->name, '[') != NULL || sec->has_partial ||
		    sec->part_count != 0 || sec->field_count != 0)
			abort();
	}
}

static void check_command(const struct imap_command *cmd)
{
	const struct imap_arg *args = cmd->args;
	struct imap_fetch_items items;
	const char *error = NULL;
	unsigned mask = 0, simple = 0;
	bool seen = false;

	if (strcmp(cmd->name, "UID") == 0 && args != NULL)
		args = args->next;
	if (args == NULL)
		return;
	if (imap_fetch_items_parse(args->next, ITEMS_MAX, FIELDS_MAX, &items,
				   &error) < 0) {
		if (error == NULL || items.items != NULL || items.count != 0)
			abort();
		return;
	}
	if (items.count == 0 || items.count > ITEMS_MAX + 5)
		abort();
	for (size_t i = 0; i < items.count; i++) {
		const struct imap_fetch_item *it = &items.items[i];

		check_item(it);
		mask |= IMAP_FETCH_BIT(it->type);
		seen |= it->sets_seen;
		if (it->type < IMAP_FETCH_BODY_SECTION) {
			if ((simple & IMAP_FETCH_BIT(it->type)) != 0)
				abort();
			simple |= IMAP_FETCH_BIT(it->type);
		}
	}
	if (mask != items.mask || seen != items.sets_seen ||
	    (items.changedsince > (uint64_t)INT64_MAX))
		abort();
	imap_fetch_items_deinit(&items);
	if (items.items != NULL || items.count != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_imap_commands(data, size, &plimits, check_command);
	return 0;
}
