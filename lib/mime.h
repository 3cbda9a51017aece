/* mime: a pure, bounded parser of an RFC 5322 message held in memory (a
 * Maildir file: LF line ends; CRLF is accepted too, and a line end is
 * always "LF" or "CR LF"). Two layers:
 *   - header fields (mime_header.c): iterate the fields of a header block
 *     with their offsets, unfold values, look a field up by name;
 *   - structure (mime_struct.c): the tree of MIME parts (RFC 2045, 2046)
 *     with, per part, the offsets of its header and body, the body's line
 *     count and size with CRLF line ends, and the fields BODYSTRUCTURE
 *     needs, and IMAP part numbers.
 * No I/O, no globals, no logging, no recursion: the tree is built with a
 * work list and every limit is fixed at creation.
 *
 * Ownership. mime_parse() returns a tree owned by the caller and freed
 * with mime_message_free(). Every string in it is a NUL-terminated copy
 * owned by the tree; positions in the message are offsets (never
 * pointers), so the tree does not keep the caller's buffer and can be
 * serialised into an index cache as it is. The header iterator, by
 * contrast, returns pointers into the caller's buffer.
 *
 * Sizes are in octets of the buffer as given (with LF line ends in a
 * Maildir file); each body's size as an IMAP client sees it (CRLF line
 * ends, for BODYSTRUCTURE) is len + body_bare_lfs.
 *
 * Malformed input never fails the parse; it gets a defined result:
 *   - a header line that is neither "name:" nor a continuation (no colon,
 *     an empty or space-holding name, a continuation before any field) is
 *     skipped as a field but stays in the header block;
 *   - a header with no empty line is all header; the body is empty at its
 *     end;
 *   - NUL and 8-bit octets are kept as they are; in copied strings a NUL
 *     becomes a space (so that every copy is a C string);
 *   - an invalid Content-Type gives the default (text/plain;
 *     charset=us-ascii, or message/rfc822 inside multipart/digest);
 *   - a multipart without a boundary parameter, or with no boundary line,
 *     has no children (MIME_PART_BROKEN); a missing closing boundary ends
 *     the last part at the end of the parent's body;
 *   - past a limit the parse goes on with what fits and sets a flag in
 *     mime_message.flags (never a truncated string: an over-long parameter
 *     is dropped whole). A part at depth_max, or when parts_max parts
 *     exist, is an opaque leaf (MIME_PART_OPAQUE): its children are not
 *     looked for.
 * Work is O(depth_max * message size) at worst.
 *
 * Not done here (left to the caller): RFC 2047 encoded words, RFC 2231
 * parameter continuations and charsets (parameters are as written:
 * "filename*0" stays a name of its own), decoding of base64 and
 * quoted-printable bodies, address lists for ENVELOPE. */
#ifndef SUREL_MIME_H
#define SUREL_MIME_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- header fields ---- */

struct mime_field {
	const char *name;	/* into the caller's buffer; not NUL-ended */
	size_t name_len;	/* without trailing white space */
	const char *value;	/* raw, folded, from after ":" and leading WSP */
	size_t value_len;	/* up to the last line end, which is excluded */
	size_t offset;		/* of the field from the iterator's start */
	size_t len;		/* of the field, its last line end included */
};

struct mime_header_iter {
	const char *data;
	size_t len;
	size_t pos;
};

/* Iterates over the fields in data[0..len) (a header block; an empty line
 * ends it, and iteration stops there). */
void mime_header_iter_init(struct mime_header_iter *it, const char *data,
			   size_t len);
/* Returns 1 with *field_r set, or 0 at the end. Malformed lines are
 * skipped (see above). */
int mime_header_next(struct mime_header_iter *it, struct mime_field *field_r);

/* Length of the header block at the start of data[0..len): up to and
 * including the empty line that ends it, or len if there is none. The
 * body starts there. */
size_t mime_header_block_len(const char *data, size_t len);

/* Unfolds value[0..len) into out (size outsize, NUL-terminated): line
 * ends are removed (RFC 5322 2.2.3), a NUL becomes a space, trailing white
 * space is removed. Returns the length, or -1 (out set to "") when out is
 * too small; outsize >= len + 1 is always enough. */
long mime_header_unfold(const char *value, size_t len, char *out,
			size_t outsize) __attribute__((warn_unused_result));

/* Finds the first field called name (case-insensitive) in the header
 * block data[0..len). Returns 1 with *field_r set, 0 if there is none. */
int mime_header_find(const char *data, size_t len, const char *name,
		     struct mime_field *field_r);

/* ---- structure ---- */

/* Fixed at creation; all must be > 0. */
struct mime_limits {
	size_t header_size_max;	/* octets of a header block that are parsed */
	size_t fields_max;	/* fields of a header block that are parsed */
	unsigned depth_max;	/* levels below the message (root is 0) */
	size_t parts_max;	/* parts in the tree, the root included */
	size_t params_max;	/* parameters per field */
	size_t param_len_max;	/* octets of a parameter name or value */
};

/* mime_message.flags: what a limit or the input made the parser skip. */
#define MIME_TRUNC_HEADER 0x01	/* a header block over header_size_max */
#define MIME_TRUNC_FIELDS 0x02	/* more than fields_max fields */
#define MIME_TRUNC_DEPTH 0x04	/* a container at depth_max */
#define MIME_TRUNC_PARTS 0x08	/* parts_max reached */
#define MIME_TRUNC_PARAMS 0x10	/* parameters dropped (count or length) */

/* mime_part.flags */
#define MIME_PART_OPAQUE 0x01	/* a container not looked into (limits) */
#define MIME_PART_BROKEN 0x02	/* multipart without boundary or parts */

struct mime_param {
	char *name;	/* lower-case */
	char *value;	/* unquoted */
};

struct mime_part {
	size_t header_offset, header_len;	/* header_len: with the empty line */
	size_t body_offset, body_len;
	size_t body_lines;	/* LFs, plus one for an unterminated last line */
	size_t body_bare_lfs;	/* LFs no CR precedes (the body's first
				 * octet counts as after no CR): with CRLF
				 * line ends the body is body_len +
				 * body_bare_lfs octets */
	unsigned depth;		/* 0: the message */
	unsigned flags;
	char *type, *subtype;	/* lower-case; never NULL */
	struct mime_param *params;
	size_t param_count;
	char *encoding;		/* lower-case; "7bit" by default */
	char *id, *description, *md5, *language, *location; /* or NULL */
	char *disposition;	/* lower-case, or NULL */
	struct mime_param *disp_params;
	size_t disp_param_count;
	/* multipart: its parts; message/rfc822 and message/global: one
	 * child, the embedded message (its header and body). */
	struct mime_part *parent, *children, *next;
	size_t child_count;
};

struct mime_message {
	struct mime_part *root;	/* the whole message */
	size_t part_count;
	unsigned flags;		/* MIME_TRUNC_* */
	struct mime_part **parts;	/* private: every part, for freeing */
};

/* Parses data[0..len). Never fails (see above); never returns NULL. */
struct mime_message *mime_parse(const char *data, size_t len,
				const struct mime_limits *limits);
void mime_message_free(struct mime_message **msg);

/* Value of a parameter (name case-insensitive), or NULL. */
const char *mime_param_get(const struct mime_param *params, size_t count,
			   const char *name);
bool mime_part_is(const struct mime_part *part, const char *type,
		  const char *subtype);
/* True for message/rfc822 and message/global with an embedded message. */
bool mime_part_is_message(const struct mime_part *part);

/* Whether line[0..n) (its line end, if any, included) is a boundary line
 * of boundary b[0..blen) (RFC 2046 5.1.1): 0 no; 1 "--b"; 2 the closing
 * "--b--". After "--b" only white space may follow (so that boundary "b"
 * does not match "--bb"). */
int mime_boundary_line(const char *line, size_t n, const char *b,
		       size_t blen);

/* The part after part in document order (pre-order, as the parts stand
 * in the message): its first child when descend is true and it has one,
 * else the next sibling of part or of its nearest ancestor that has one;
 * NULL after the last. descend false skips part's subtree. */
const struct mime_part *mime_part_next(const struct mime_part *part,
				       bool descend);

/* The part named by an IMAP part number (RFC 3501 6.4.5): nums[0..count),
 * each >= 1, count >= 1. A non-multipart message has one part, 1, itself;
 * inside a message/rfc822 part N, N.1... are the embedded message's parts
 * the same way. Returns NULL if there is no such part (or it lies below
 * an opaque part). For BODY[n.MIME] use the returned part's header; for
 * BODY[n.HEADER]/[n.TEXT] of a message/rfc822 part, its child's. */
const struct mime_part *mime_part_find(const struct mime_message *msg,
				       const uint32_t *nums, size_t count);

#endif
