/* Unit tests of lib/imap_fetch_items: every item and macro, sections with
 * their response names, partials, PREVIEW (LAZY), the modifiers
 * CHANGEDSINCE and VANISHED, duplicates, the item count limit (limit-1,
 * limit, limit+1), the field name limit, and invalid forms. Commands are
 * lexed by imap_parser first, as imapd does, whole and one byte at a
 * time. */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "imap_fetch_items.h"
#include "imap_parser.h"
#include "unit.h"

#define ITEMS_MAX_TEST 5
#define FIELDS_MAX_TEST 3

static const struct imap_parser_limits plimits = {
	.line_max = 1 << 20, .literal_max = 1 << 20,
	.command_max = 1 << 21, .depth_max = 8, .args_max = 100000 };

/* "NAME!" per item (! when it sets \Seen), then "<o.l>" for a partial,
 * then " lazy", " cs=N", " vanished". */
static void dump(const struct imap_fetch_items *r, struct buf *out)
{
	for (size_t i = 0; i < r->count; i++) {
		const struct imap_fetch_item *it = &r->items[i];

		unit_put(out, "%s%s%s", i == 0 ? "" : " ", it->name,
			 it->sets_seen ? "!" : "");
		if (it->section.has_partial)
			unit_put(out, "<%u.%u>", it->section.partial_offset,
				 it->section.partial_length);
	}
	if (r->preview_lazy)
		unit_put(out, " lazy");
	if (r->has_changedsince)
		unit_put(out, " cs=%llu", (unsigned long long)r->changedsince);
	if (r->vanished)
		unit_put(out, " vanished");
}

/* Lexes "t FETCH 1 <args>" and parses the items; the dump or "BAD: ...". */
static void run_with(const char *args, bool bytewise, struct buf *out)
{
	struct imap_parser *p = imap_parser_new(&plimits);
	struct buf line;
	const struct imap_command *cmd = NULL;
	const char *error = NULL;
	struct imap_fetch_items items;
	size_t used, pos = 0;
	int ret = IMAP_PARSER_MORE;

	buf_init(&line, 1 << 21);
	unit_put(&line, "t FETCH 1 %s\r\n", args);
	buf_reset(out);
	while (pos < line.len && ret == IMAP_PARSER_MORE) {
		size_t n = bytewise ? 1 : line.len - pos;

		ret = imap_parser_feed(p, line.data + pos, n, &used, &cmd,
				       &error);
		pos += used;
	}
	if (ret != IMAP_PARSER_COMMAND) {
		unit_put(out, "PARSER: %s", error ? error : "?");
	} else if (imap_fetch_items_parse(cmd->args->next, ITEMS_MAX_TEST,
					  FIELDS_MAX_TEST, &items,
					  &error) < 0) {
		UNIT_CHECK(items.count == 0 && items.items == NULL);
		unit_put(out, "BAD: %s", error);
	} else {
		dump(&items, out);
		imap_fetch_items_deinit(&items);
		UNIT_CHECK(items.items == NULL && items.count == 0);
	}
	buf_deinit(&line);
	imap_parser_free(&p);
}

static const struct {
	const char *in, *out;
} cases[] = {
	{ "FLAGS", "FLAGS" },
	{ "uid", "UID" },
	{ "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)",
	  "UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE" },
	{ "(BODY BODYSTRUCTURE MODSEQ SAVEDATE)",
	  "BODY BODYSTRUCTURE MODSEQ SAVEDATE" },
	{ "(EMAILID THREADID PREVIEW)", "EMAILID THREADID PREVIEW" },
	{ "(RFC822 RFC822.HEADER RFC822.TEXT)",
	  "RFC822! RFC822.HEADER RFC822.TEXT!" },
	{ "ALL", "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE" },
	{ "fast", "FLAGS INTERNALDATE RFC822.SIZE" },
	{ "FULL", "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY" },
	{ "(ALL)", "BAD: Unknown FETCH item" },
	{ "(FLAGS FAST)", "BAD: Unknown FETCH item" },
	{ "()", "BAD: Empty FETCH item list" },
	{ "(FLAGS FLAGS UID flags)", "FLAGS UID" },
	{ "BODY[]", "BODY[]!" },
	{ "body.peek[]", "BODY[]" },
	{ "BODY[]<0.100>", "BODY[]!<0.100>" },
	{ "BODY.PEEK[]<4294967295.4294967295>",
	  "BODY[]<4294967295.4294967295>" },
	{ "BODY.PEEK[]<4294967296.1>", "BAD: Invalid partial" },
	{ "BODY.PEEK[]<0.0>", "BAD: Invalid partial" },
	{ "BODY.PEEK[header]", "BODY[HEADER]" },
	{ "BODY.PEEK[1.2.mime]", "BODY[1.2.MIME]" },
	{ "BODY.PEEK[3.text]<1.2>", "BODY[3.TEXT]<1.2>" },
	{ "BODY.PEEK[2.HEADER]", "BODY[2.HEADER]" },
	{ "BODY.PEEK[HEADER.FIELDS (from \"To\" x-a)]",
	  "BODY[HEADER.FIELDS (FROM TO X-A)]" },
	{ "BODY.PEEK[1.HEADER.FIELDS.NOT (Received)]",
	  "BODY[1.HEADER.FIELDS.NOT (RECEIVED)]" },
	{ "BODY.PEEK[HEADER.FIELDS (\"a%b\" \"c*d\" \"e\")]",
	  "BODY[HEADER.FIELDS (\"A%B\" \"C*D\" E)]" },
	{ "BODY.PEEK[HEADER.FIELDS (\"a b\")]",
	  "BAD: Invalid header field name" },
	{ "BODY.PEEK[HEADER.FIELDS (a b c)]", "BODY[HEADER.FIELDS (A B C)]" },
	{ "BODY.PEEK[HEADER.FIELDS (a b c d)]",
	  "BAD: Too many header fields" },
	{ "BODY.PEEK[HEADER.FIELDS ()]", "BAD: Invalid header field name" },
	{ "BODY.PEEK[1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20."
	  "21.22.23.24.25.26.27.28.29.30.31.32]",
	  "BODY[1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22."
	  "23.24.25.26.27.28.29.30.31.32]" },
	{ "BODY.PEEK[1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20."
	  "21.22.23.24.25.26.27.28.29.30.31.32.33]",
	  "BAD: Section part too deep" },
	{ "BODY.PEEK[0]", "BAD: Invalid section part" },
	{ "BODY.PEEK[MIME]", "BAD: Invalid section" },
	{ "BODY.PEEK", "BAD: Unknown FETCH item" },
	{ "BODY.PEK[]", "BAD: Unknown FETCH item" },
	{ "BODY<0.1>", "BAD: Unknown FETCH item" },
	{ "BINARY[1]", "BINARY[1]!" },
	{ "BINARY.PEEK[1.2]<5.10>", "BINARY[1.2]<5.10>" },
	{ "BINARY.PEEK[]", "BINARY[]" },
	{ "BINARY.SIZE[2]", "BINARY.SIZE[2]" },
	{ "BINARY.SIZE[]", "BINARY.SIZE[]" },
	{ "BINARY.PEEK[HEADER]", "BAD: BINARY takes a part number only" },
	{ "BINARY[1.MIME]", "BAD: BINARY takes a part number only" },
	{ "BINARY.SIZE[1]<0.1>", "BAD: BINARY.SIZE takes no partial" },
	{ "BINARY", "BAD: Unknown FETCH item" },
	{ "BINARY.SIZE", "BAD: Unknown FETCH item" },
	{ "(BODY[] BODY.PEEK[] BINARY[1])", "BODY[]! BODY[] BINARY[1]!" },
	{ "PREVIEW (LAZY)", "PREVIEW lazy" },
	{ "(UID PREVIEW (lazy) FLAGS)", "UID PREVIEW FLAGS lazy" },
	{ "(PREVIEW (LAZY LAZY))", "PREVIEW lazy" },
	{ "(PREVIEW (LAZY FOO))", "BAD: Unknown PREVIEW modifier" },
	{ "(PREVIEW (FOO))", "BAD: Unknown FETCH item" },
	{ "PREVIEW (FOO)", "BAD: Unknown FETCH modifier" },
	{ "PREVIEW (LAZY) (CHANGEDSINCE 5)", "PREVIEW lazy cs=5" },
	{ "FLAGS (CHANGEDSINCE 12345)", "FLAGS cs=12345" },
	{ "FLAGS (CHANGEDSINCE 0)", "FLAGS cs=0" },
	{ "FLAGS (changedsince 9223372036854775807 vanished)",
	  "FLAGS cs=9223372036854775807 vanished" },
	{ "FLAGS (CHANGEDSINCE 9223372036854775808)",
	  "BAD: Invalid CHANGEDSINCE value" },
	{ "FLAGS (CHANGEDSINCE)", "BAD: Invalid CHANGEDSINCE value" },
	{ "FLAGS (CHANGEDSINCE x)", "BAD: Invalid CHANGEDSINCE value" },
	{ "FLAGS (CHANGEDSINCE 1 CHANGEDSINCE 2)",
	  "BAD: CHANGEDSINCE given twice" },
	{ "FLAGS (VANISHED VANISHED)", "BAD: VANISHED given twice" },
	{ "FLAGS (VANISHED)", "FLAGS vanished" },
	{ "FLAGS ()", "BAD: Invalid FETCH modifiers" },
	{ "FLAGS (FOO 1)", "BAD: Unknown FETCH modifier" },
	{ "FLAGS (CHANGEDSINCE 1) (VANISHED)",
	  "BAD: Invalid FETCH modifiers" },
	{ "FLAGS UID", "BAD: Invalid FETCH modifiers" },
	{ "(FLAGS) UID", "BAD: Invalid FETCH modifiers" },
	{ "FOO", "BAD: Unknown FETCH item" },
	{ "\"FLAGS\"", "BAD: Unknown FETCH item" },
	{ "{5+}\r\nFLAGS", "BAD: Unknown FETCH item" },
	{ "(FLAGS \"UID\")", "BAD: Unknown FETCH item" },
	{ "(FLAGS (UID))", "BAD: Unknown FETCH item" },
	{ "NIL", "BAD: Unknown FETCH item" },
	{ "1", "BAD: Unknown FETCH item" },
	/* the item limit: 5 items */
	{ "(UID FLAGS ENVELOPE BODY[] BODY[1])",
	  "UID FLAGS ENVELOPE BODY[]! BODY[1]!" },
	{ "(UID FLAGS ENVELOPE BODY[] BODY[1] BODY[2])",
	  "BAD: Too many FETCH items" },
	{ "(UID FLAGS ENVELOPE BODY[])", "UID FLAGS ENVELOPE BODY[]!" },
};

static void test_cases(void)
{
	struct buf out;

	buf_init(&out, 1 << 20);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int bytewise = 0; bytewise < 2; bytewise++) {
			run_with(cases[i].in, bytewise, &out);
			if (strcmp(buf_cstr(&out), cases[i].out) != 0)
				fprintf(stderr, "case %zu %s\n", i,
					cases[i].in);
			UNIT_STREQ(buf_cstr(&out), cases[i].out);
		}
	}
	buf_deinit(&out);
}

/* Items that set \Seen make the whole command set it. */
static void test_sets_seen(void)
{
	static const struct {
		const char *in;
		bool seen;
	} seen_cases[] = {
		{ "(FLAGS BODY.PEEK[] BINARY.PEEK[1] RFC822.HEADER)", false },
		{ "(FLAGS BODY.PEEK[] BINARY.SIZE[1])", false },
		{ "(FLAGS BODY[TEXT])", true },
		{ "RFC822", true },
		{ "RFC822.TEXT", true },
		{ "(BINARY[1])", true },
	};
	struct imap_parser *p = imap_parser_new(&plimits);

	for (size_t i = 0; i < sizeof(seen_cases) / sizeof(seen_cases[0]);
	     i++) {
		const struct imap_command *cmd = NULL;
		const char *error = NULL;
		struct imap_fetch_items items;
		char line[256];
		size_t used;

		snprintf(line, sizeof(line), "t FETCH 1 %s\r\n",
			 seen_cases[i].in);
		UNIT_CHECK(imap_parser_feed(p, line, strlen(line), &used, &cmd,
					    &error) == IMAP_PARSER_COMMAND);
		if (cmd == NULL)
			continue;
		UNIT_CHECK(imap_fetch_items_parse(cmd->args->next, 10, 10,
						  &items, &error) == 0);
		UNIT_CHECK(items.sets_seen == seen_cases[i].seen);
		imap_fetch_items_deinit(&items);
	}
	imap_parser_free(&p);
}

/* The masks and the sections RFC822* stand for. */
static void test_mask_and_sections(void)
{
	struct imap_parser *p = imap_parser_new(&plimits);
	static const char line[] = "t FETCH 1 (RFC822.HEADER RFC822.TEXT "
		"RFC822 UID BINARY.SIZE[3])\r\n";
	const struct imap_command *cmd = NULL;
	const char *error = NULL;
	struct imap_fetch_items items;
	size_t used;

	UNIT_CHECK(imap_parser_feed(p, line, strlen(line), &used, &cmd,
				    &error) == IMAP_PARSER_COMMAND);
	UNIT_CHECK(cmd != NULL && imap_fetch_items_parse(
			   cmd->args->next, 10, 10, &items, &error) == 0);
	if (cmd != NULL && items.count == 5) {
		UNIT_CHECK(items.mask ==
			   (IMAP_FETCH_BIT(IMAP_FETCH_RFC822_HEADER) |
			    IMAP_FETCH_BIT(IMAP_FETCH_RFC822_TEXT) |
			    IMAP_FETCH_BIT(IMAP_FETCH_RFC822) |
			    IMAP_FETCH_BIT(IMAP_FETCH_UID) |
			    IMAP_FETCH_BIT(IMAP_FETCH_BINARY_SIZE)));
		UNIT_CHECK(items.items[0].section.kind == IMAP_SECTION_HEADER);
		UNIT_CHECK(items.items[1].section.kind == IMAP_SECTION_TEXT);
		UNIT_CHECK(items.items[2].section.kind == IMAP_SECTION_ALL);
		UNIT_CHECK(items.items[4].section.part_count == 1 &&
			   items.items[4].section.parts[0] == 3);
		imap_fetch_items_deinit(&items);
	}
	imap_parser_free(&p);
}

/* 200 field names pass with fields_max 200; 201 do not. */
static void test_many_fields(void)
{
	struct imap_parser *p = imap_parser_new(&plimits);
	struct buf line;

	buf_init(&line, 1 << 20);
	for (int n = 199; n <= 201; n++) {
		const struct imap_command *cmd = NULL;
		const char *error = NULL;
		struct imap_fetch_items items;
		size_t used;

		buf_reset(&line);
		unit_put(&line, "t FETCH 1 BODY.PEEK[HEADER.FIELDS (");
		for (int i = 0; i < n; i++)
			unit_put(&line, "%sX-Field-%d", i ? " " : "", i);
		unit_put(&line, ")]\r\n");
		UNIT_CHECK(imap_parser_feed(p, line.data, line.len, &used,
					    &cmd, &error) ==
			   IMAP_PARSER_COMMAND);
		if (cmd == NULL)
			continue;
		UNIT_CHECK((imap_fetch_items_parse(cmd->args->next, 10, 200,
						   &items, &error) == 0) ==
			   (n <= 200));
		if (n <= 200) {
			UNIT_CHECK(items.items[0].section.field_count ==
				   (size_t)n);
			imap_fetch_items_deinit(&items);
		}
	}
	buf_deinit(&line);
	imap_parser_free(&p);
}

int main(void)
{
	test_cases();
	test_sets_seen();
	test_mask_and_sections();
	test_many_fields();
	return unit_done();
}
