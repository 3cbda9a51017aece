/* imap_fetch_items: FETCH data items and modifiers; see imap_fetch_items.h.
 * Tables map names to types; the section text after "[" goes to
 * imap_section, and the response name is rebuilt from what it parsed
 * (canonical case), so that a client can match it. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "buf.h"
#include "mem.h"
#include "imap_fetch_items.h"

/* A response name is at most this long: 200 quoted names of a section
 * fit easily in the command line limit they came in. */
#define NAME_MAX_LEN (1024 * 1024)

static const struct {
	const char *name;
	enum imap_fetch_type type;
} simple_items[] = {
	{ "UID", IMAP_FETCH_UID },
	{ "FLAGS", IMAP_FETCH_FLAGS },
	{ "INTERNALDATE", IMAP_FETCH_INTERNALDATE },
	{ "RFC822.SIZE", IMAP_FETCH_RFC822_SIZE },
	{ "ENVELOPE", IMAP_FETCH_ENVELOPE },
	{ "BODY", IMAP_FETCH_BODY },
	{ "BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE },
	{ "MODSEQ", IMAP_FETCH_MODSEQ },
	{ "SAVEDATE", IMAP_FETCH_SAVEDATE },
	{ "EMAILID", IMAP_FETCH_EMAILID },
	{ "THREADID", IMAP_FETCH_THREADID },
	{ "PREVIEW", IMAP_FETCH_PREVIEW },
	{ "RFC822", IMAP_FETCH_RFC822 },
	{ "RFC822.HEADER", IMAP_FETCH_RFC822_HEADER },
	{ "RFC822.TEXT", IMAP_FETCH_RFC822_TEXT },
};

/* Items with a section: the name before "[" and what it becomes. */
static const struct {
	const char *name;
	enum imap_fetch_type type;
	bool peek;
} section_items[] = {
	{ "BODY", IMAP_FETCH_BODY_SECTION, false },
	{ "BODY.PEEK", IMAP_FETCH_BODY_SECTION, true },
	{ "BINARY", IMAP_FETCH_BINARY, false },
	{ "BINARY.PEEK", IMAP_FETCH_BINARY, true },
	{ "BINARY.SIZE", IMAP_FETCH_BINARY_SIZE, true },
};

static const enum imap_fetch_type macro_fast[] = {
	IMAP_FETCH_FLAGS, IMAP_FETCH_INTERNALDATE, IMAP_FETCH_RFC822_SIZE };
static const enum imap_fetch_type macro_all[] = {
	IMAP_FETCH_FLAGS, IMAP_FETCH_INTERNALDATE, IMAP_FETCH_RFC822_SIZE,
	IMAP_FETCH_ENVELOPE };
static const enum imap_fetch_type macro_full[] = {
	IMAP_FETCH_FLAGS, IMAP_FETCH_INTERNALDATE, IMAP_FETCH_RFC822_SIZE,
	IMAP_FETCH_ENVELOPE, IMAP_FETCH_BODY };

static const struct {
	const char *name;
	const enum imap_fetch_type *types;
	size_t count;
} macros[] = {
	{ "FAST", macro_fast, sizeof(macro_fast) / sizeof(macro_fast[0]) },
	{ "ALL", macro_all, sizeof(macro_all) / sizeof(macro_all[0]) },
	{ "FULL", macro_full, sizeof(macro_full) / sizeof(macro_full[0]) },
};

static const char *const kind_names[] = {
	[IMAP_SECTION_ALL] = "",
	[IMAP_SECTION_PART] = "",
	[IMAP_SECTION_HEADER] = "HEADER",
	[IMAP_SECTION_HEADER_FIELDS] = "HEADER.FIELDS",
	[IMAP_SECTION_HEADER_FIELDS_NOT] = "HEADER.FIELDS.NOT",
	[IMAP_SECTION_TEXT] = "TEXT",
	[IMAP_SECTION_MIME] = "MIME",
};

static bool is_atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\]", c) == NULL;
}

/* A field name upper-cased, as an atom when it is one, else quoted.
 * 0 or -1 (b full). */
static int put_field_name(struct buf *b, const char *name)
{
	bool atom = name[0] != '\0';
	int ret = 0;

	for (const char *p = name; *p != '\0'; p++)
		if (!is_atom_char((unsigned char)*p))
			atom = false;
	if (!atom)
		ret |= buf_append_char(b, '"');
	for (const char *p = name; *p != '\0'; p++) {
		char c = *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;

		if (c == '"' || c == '\\')
			ret |= buf_append_char(b, '\\');
		ret |= buf_append_char(b, c);
	}
	if (!atom)
		ret |= buf_append_char(b, '"');
	return ret;
}

/* "PREFIX[1.2.HEADER.FIELDS (A B)]": what the response calls sec, or
 * NULL when it would pass NAME_MAX_LEN (a command line cannot carry such
 * a section; checked all the same). */
static char *section_name(const char *prefix, const struct imap_section *sec)
{
	struct buf b;
	char *name = NULL;
	int ret = 0;

	buf_init(&b, NAME_MAX_LEN);
	ret |= buf_printf(&b, "%s[", prefix);
	for (size_t i = 0; i < sec->part_count; i++)
		ret |= buf_printf(&b, "%s%u", i == 0 ? "" : ".", sec->parts[i]);
	if (kind_names[sec->kind][0] != '\0')
		ret |= buf_printf(&b, "%s%s", sec->part_count > 0 ? "." : "",
				  kind_names[sec->kind]);
	for (size_t i = 0; i < sec->field_count; i++) {
		ret |= buf_append_str(&b, i == 0 ? " (" : " ");
		ret |= put_field_name(&b, sec->fields[i]);
	}
	if (sec->field_count > 0)
		ret |= buf_append_char(&b, ')');
	ret |= buf_append_char(&b, ']');
	if (ret == 0)
		name = xstrdup(buf_cstr(&b));
	buf_deinit(&b);
	return name;
}

static struct imap_fetch_item *add_item(struct imap_fetch_items *r,
					enum imap_fetch_type type)
{
	struct imap_fetch_item *item;

	r->items = xreallocarray(r->items, r->count + 1, sizeof(*r->items));
	item = &r->items[r->count++];
	memset(item, 0, sizeof(*item));
	item->type = type;
	r->mask |= IMAP_FETCH_BIT(type);
	return item;
}

/* RFC822, RFC822.HEADER, RFC822.TEXT: the section they stand for. */
static void rfc822_section(struct imap_fetch_item *item)
{
	if (item->type == IMAP_FETCH_RFC822_HEADER)
		item->section.kind = IMAP_SECTION_HEADER;
	else if (item->type == IMAP_FETCH_RFC822_TEXT)
		item->section.kind = IMAP_SECTION_TEXT;
	item->sets_seen = item->type != IMAP_FETCH_RFC822_HEADER;
}

static void add_simple(struct imap_fetch_items *r, size_t idx)
{
	struct imap_fetch_item *item;
	enum imap_fetch_type type = simple_items[idx].type;

	if ((r->mask & IMAP_FETCH_BIT(type)) != 0)
		return;		/* asked twice: answered once */
	item = add_item(r, type);
	item->name = xstrdup(simple_items[idx].name);
	if (type >= IMAP_FETCH_RFC822 && type <= IMAP_FETCH_RFC822_TEXT)
		rfc822_section(item);
}

/* An atom with "[": BODY[...], BINARY.PEEK[...] and so on. */
static int add_section_item(struct imap_fetch_items *r, const char *atom,
			    size_t len, size_t fields_max,
			    const char **error_r)
{
	const char *open = memchr(atom, '[', len);
	size_t prefix = (size_t)(open - atom);
	struct imap_section sec;
	struct imap_fetch_item *item;
	char *name;
	size_t i;

	for (i = 0; i < sizeof(section_items) / sizeof(section_items[0]); i++)
		if (strlen(section_items[i].name) == prefix &&
		    strncasecmp(atom, section_items[i].name, prefix) == 0)
			break;
	if (i == sizeof(section_items) / sizeof(section_items[0])) {
		*error_r = "Unknown FETCH item";
		return -1;
	}
	if (imap_section_parse(open, len - prefix, fields_max, &sec,
			       error_r) < 0)
		return -1;
	if (section_items[i].type != IMAP_FETCH_BODY_SECTION &&
	    sec.kind != IMAP_SECTION_ALL && sec.kind != IMAP_SECTION_PART) {
		imap_section_deinit(&sec);
		*error_r = "BINARY takes a part number only";
		return -1;
	}
	if (section_items[i].type == IMAP_FETCH_BINARY_SIZE &&
	    sec.has_partial) {
		imap_section_deinit(&sec);
		*error_r = "BINARY.SIZE takes no partial";
		return -1;
	}
	name = section_name(section_items[i].type == IMAP_FETCH_BODY_SECTION ?
			    "BODY" : section_items[i].type ==
			    IMAP_FETCH_BINARY ? "BINARY" : "BINARY.SIZE",
			    &sec);
	if (name == NULL) {
		imap_section_deinit(&sec);
		*error_r = "Section too long";
		return -1;
	}
	item = add_item(r, section_items[i].type);
	item->section = sec;
	item->sets_seen = !section_items[i].peek;
	item->name = name;
	return 0;
}

/* "(LAZY)" after PREVIEW. */
static int parse_preview_mods(struct imap_fetch_items *r,
			      const struct imap_arg *list,
			      const char **error_r)
{
	const char *word;

	if (list->list_count == 0) {
		*error_r = "Empty PREVIEW modifier list";
		return -1;
	}
	for (const struct imap_arg *a = list->list; a != NULL; a = a->next) {
		if (a->type != IMAP_ARG_ATOM || !imap_arg_get_atom(a, &word) ||
		    strcasecmp(word, "LAZY") != 0) {
			*error_r = "Unknown PREVIEW modifier";
			return -1;
		}
		r->preview_lazy = true;
	}
	return 0;
}

/* One att; *next_r is the value after it (after PREVIEW's list). */
static int parse_att(struct imap_fetch_items *r, const struct imap_arg *a,
		     size_t fields_max, const struct imap_arg **next_r,
		     const char **error_r)
{
	*next_r = a->next;
	*error_r = "Unknown FETCH item";
	if (a->type != IMAP_ARG_ATOM)
		return -1;
	if (memchr(a->str, '[', a->len) != NULL)
		return add_section_item(r, a->str, a->len, fields_max,
					error_r);
	for (size_t i = 0; i < sizeof(simple_items) / sizeof(simple_items[0]);
	     i++) {
		if (strcasecmp(a->str, simple_items[i].name) != 0)
			continue;
		add_simple(r, i);
		if (simple_items[i].type == IMAP_FETCH_PREVIEW &&
		    a->next != NULL && a->next->type == IMAP_ARG_LIST &&
		    a->next->list != NULL &&
		    a->next->list->type == IMAP_ARG_ATOM &&
		    strcasecmp(a->next->list->str, "LAZY") == 0) {
			*next_r = a->next->next;
			return parse_preview_mods(r, a->next, error_r);
		}
		return 0;
	}
	return -1;
}

static bool is_macro(struct imap_fetch_items *r, const struct imap_arg *a)
{
	if (a->type != IMAP_ARG_ATOM)
		return false;
	for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++) {
		if (strcasecmp(a->str, macros[i].name) != 0)
			continue;
		for (size_t j = 0; j < macros[i].count; j++)
			for (size_t k = 0; k < sizeof(simple_items) /
				     sizeof(simple_items[0]); k++)
				if (simple_items[k].type == macros[i].types[j])
					add_simple(r, k);
		return true;
	}
	return false;
}

/* items: a macro, one att, or a list of atts. *next_r: what follows. */
static int parse_items(struct imap_fetch_items *r, const struct imap_arg *a,
		       size_t items_max, size_t fields_max,
		       const struct imap_arg **next_r, const char **error_r)
{
	const struct imap_arg *e, *next;

	if (a == NULL) {
		*error_r = "Missing FETCH items";
		return -1;
	}
	if (a->type != IMAP_ARG_LIST) {
		if (is_macro(r, a)) {
			*next_r = a->next;
			return 0;
		}
		return parse_att(r, a, fields_max, next_r, error_r);
	}
	if (a->list_count == 0) {
		*error_r = "Empty FETCH item list";
		return -1;
	}
	*next_r = a->next;
	for (e = a->list; e != NULL; e = next) {
		if (r->count >= items_max) {
			*error_r = "Too many FETCH items";
			return -1;
		}
		if (parse_att(r, e, fields_max, &next, error_r) < 0)
			return -1;
	}
	return 0;
}

static int parse_changedsince(struct imap_fetch_items *r,
			      const struct imap_arg *value,
			      const char **error_r)
{
	if (r->has_changedsince) {
		*error_r = "CHANGEDSINCE given twice";
		return -1;
	}
	if (value == NULL || value->type != IMAP_ARG_NUMBER ||
	    value->num > (uint64_t)INT64_MAX) {
		*error_r = "Invalid CHANGEDSINCE value";
		return -1;
	}
	r->has_changedsince = true;
	r->changedsince = value->num;
	return 0;
}

/* "(" mod *(SP mod) ")" */
static int parse_modifiers(struct imap_fetch_items *r,
			   const struct imap_arg *a, const char **error_r)
{
	const struct imap_arg *m;

	if (a->type != IMAP_ARG_LIST || a->list_count == 0 ||
	    a->next != NULL) {
		*error_r = "Invalid FETCH modifiers";
		return -1;
	}
	for (m = a->list; m != NULL; m = m->next) {
		if (m->type == IMAP_ARG_ATOM &&
		    strcasecmp(m->str, "CHANGEDSINCE") == 0) {
			if (parse_changedsince(r, m->next, error_r) < 0)
				return -1;
			m = m->next;
		} else if (m->type == IMAP_ARG_ATOM &&
			   strcasecmp(m->str, "VANISHED") == 0) {
			if (r->vanished) {
				*error_r = "VANISHED given twice";
				return -1;
			}
			r->vanished = true;
		} else {
			*error_r = "Unknown FETCH modifier";
			return -1;
		}
	}
	return 0;
}

int imap_fetch_items_parse(const struct imap_arg *args, size_t items_max,
			   size_t fields_max, struct imap_fetch_items *items_r,
			   const char **error_r)
{
	const struct imap_arg *rest = NULL;

	memset(items_r, 0, sizeof(*items_r));
	if (parse_items(items_r, args, items_max, fields_max, &rest,
			error_r) < 0 ||
	    (rest != NULL && parse_modifiers(items_r, rest, error_r) < 0)) {
		imap_fetch_items_deinit(items_r);
		return -1;
	}
	for (size_t i = 0; i < items_r->count; i++)
		if (items_r->items[i].sets_seen)
			items_r->sets_seen = true;
	return 0;
}

void imap_fetch_items_deinit(struct imap_fetch_items *items)
{
	for (size_t i = 0; i < items->count; i++) {
		imap_section_deinit(&items->items[i].section);
		free(items->items[i].name);
	}
	free(items->items);
	memset(items, 0, sizeof(*items));
}
