/* imap_section: the section and partial of a FETCH item (RFC 9051
 * section, partial; RFC 3516 section-binary), from the raw atom text that
 * imap_parser keeps, e.g. "[1.2.HEADER.FIELDS (From \"To\")]<0.100>".
 * Pure. The caller splits the item name ("BODY.PEEK", "BINARY", ...) off
 * at the "[" and passes the rest.
 *
 *   text    = "[" [spec] "]" ["<" number "." nz-number ">"]
 *   spec    = msgtext / part ["." (msgtext / "MIME")]
 *   msgtext = "HEADER" / "TEXT" / "HEADER.FIELDS" [".NOT"] SP
 *             "(" name *(SP name) ")"
 *   part    = nz-number *("." nz-number)
 * Keywords in any case; a field name is an atom or a quoted string (no
 * literal: the command lexer keeps sections raw) and must be a valid
 * header field name (printable ASCII except ":"). BINARY takes a part
 * only: the caller checks kind (IMAP_SECTION_ALL or _PART). */
#ifndef SUREL_IMAP_SECTION_H
#define SUREL_IMAP_SECTION_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest part number ("1.2.3...") accepted. */
#define IMAP_SECTION_PARTS_MAX 32

enum imap_section_kind {
	IMAP_SECTION_ALL = 0,	/* "[]" */
	IMAP_SECTION_PART,	/* "[1.2]": the part's body */
	IMAP_SECTION_HEADER,
	IMAP_SECTION_HEADER_FIELDS,
	IMAP_SECTION_HEADER_FIELDS_NOT,
	IMAP_SECTION_TEXT,
	IMAP_SECTION_MIME	/* only after a part */
};

struct imap_section {
	uint32_t parts[IMAP_SECTION_PARTS_MAX];
	size_t part_count;	/* 0: the whole message */
	enum imap_section_kind kind;
	/* HEADER.FIELDS(.NOT): the names as sent (unquoted), in order. The
	 * array and the strings are owned by the section. */
	char **fields;
	size_t field_count;
	bool has_partial;
	uint32_t partial_offset, partial_length;	/* length >= 1 */
};

/* Parses s[0..len) with at most fields_max field names. Returns 0 with
 * *sec_r filled, or -1 with *error_r a static text and *sec_r empty.
 * Free with imap_section_deinit(). */
int imap_section_parse(const char *s, size_t len, size_t fields_max,
		       struct imap_section *sec_r, const char **error_r)
	__attribute__((warn_unused_result));
void imap_section_deinit(struct imap_section *sec);

#endif
