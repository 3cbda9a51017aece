/* smtp_data: the decoder of message content received with DATA or BDAT,
 * an explicit state machine fed arbitrary chunks of octets (one at a time
 * works). It turns CRLF into LF for the queue file, removes dot-stuffing
 * (DATA), finds the end of DATA, tracks headers against their limits and
 * counts the message size. Decoded octets go to a callback in runs, so the
 * caller streams them to disk and never holds the message.
 *
 * SMTP smuggling: in DATA mode the end is "CRLF . CRLF" and nothing else;
 * the leading CRLF may be the one that ended the DATA command (the decoder
 * starts at the beginning of a line). A bare LF (not after CR) or a bare
 * CR (not before LF) anywhere is a fatal error (-1) unless the decoder was
 * made with allow_bare_lf (smtpd_forbid_bare_newline = no), in which case
 * a bare LF ends a line of content but never starts one where a dot could
 * end the message. The caller answers the error and disconnects: the
 * octets after it are never interpreted. A bare CR is always an error.
 *
 * BDAT mode: content is raw (no dots, no end marker); the caller feeds each
 * chunk's octets and calls smtp_data_finish() after the LAST chunk. A CRLF
 * may be split across chunks. Content that does not end in CRLF gets a
 * final LF.
 *
 * Limits do not stop the decoding: past message_size_max, or with a header
 * line or header section over its limit, the decoder stops producing
 * output, keeps consuming to the end, and reports the flag; the caller
 * rejects the message then (552) without having stored it. */
#ifndef SUREL_SMTP_DATA_H
#define SUREL_SMTP_DATA_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum smtp_data_mode { SMTP_DATA_MODE_DOT, SMTP_DATA_MODE_BDAT };

struct smtp_data_limits {
	uint64_t message_size_max;	/* 0: no limit */
	size_t header_line_max;		/* longest header line, CRLF excluded */
	size_t header_size_max;		/* whole header section */
	bool allow_bare_lf;
};

/* Reject flags: the message must not be accepted. */
#define SMTP_DATA_TOO_BIG 0x01		/* over message_size_max */
#define SMTP_DATA_HEADER_LINE 0x02	/* a header line over its limit */
#define SMTP_DATA_HEADER_SIZE 0x04	/* the header section over its limit */
#define SMTP_DATA_NUL 0x08		/* a NUL octet in the content */
#define SMTP_DATA_OUTPUT_FAILED 0x10	/* the callback returned -1 */
#define SMTP_DATA_REJECT_MASK 0x1f
/* Fatal errors (feed returned -1). */
#define SMTP_DATA_BARE_LF 0x100
#define SMTP_DATA_BARE_CR 0x200

/* Receives decoded content (LF line endings). Returns 0, or -1 to stop
 * output for good (the decoder sets SMTP_DATA_OUTPUT_FAILED and goes on
 * consuming). */
typedef int smtp_data_output_fn(void *ctx, const char *data, size_t len);

struct smtp_data;

struct smtp_data *smtp_data_new(enum smtp_data_mode mode,
				const struct smtp_data_limits *limits,
				smtp_data_output_fn *output, void *ctx);
void smtp_data_free(struct smtp_data **d);

/* Feeds len octets. Returns:
 *   1  end of DATA seen: *used_r octets were taken, the rest belongs to
 *      the next command (pipelining);
 *   0  all octets taken, more needed (always 0 in BDAT mode);
 *  -1  a bare LF or bare CR (flags say which; *error_r static); nothing
 *      more may be fed.
 * Output is flushed to the callback before returning. */
int smtp_data_feed(struct smtp_data *d, const char *data, size_t len,
		   size_t *used_r, const char **error_r)
	__attribute__((warn_unused_result));
/* BDAT: after the LAST chunk. Adds the final LF when the content did not
 * end with CRLF. Returns 0, or -1 when the content ends in a bare CR. */
int smtp_data_finish(struct smtp_data *d, const char **error_r)
	__attribute__((warn_unused_result));

/* SMTP_DATA_* flags collected so far. */
unsigned smtp_data_flags(const struct smtp_data *d);
/* The message size as RFC 1870 counts it: content octets with CRLF line
 * ends, after dot-unstuffing. Keeps counting past the limit. */
uint64_t smtp_data_size(const struct smtp_data *d);
/* True while the decoder is still in the header section. */
bool smtp_data_in_header(const struct smtp_data *d);

#endif
