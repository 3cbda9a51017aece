/* mime_preview: the preview text of a message (IMAP PREVIEW, RFC 8970):
 * a short plain-text excerpt that a client shows under the subject.
 *
 * The text comes from the first text/plain part that is not an
 * attachment, with quoted lines (those starting with ">") left out; when
 * there is none, from the first such text/html part with its markup
 * removed (tags, comments, <script> and <style> contents; the common
 * character references decoded). It is decoded (transfer encoding,
 * charset: lib/mime_body), white space and control characters become
 * single spaces, leading and trailing ones are dropped, and it is cut at
 * MIME_PREVIEW_CHARS characters (never inside a UTF-8 sequence). A
 * message with no such part, or only white space in it, has an empty
 * preview. Only the first MIME_PREVIEW_INPUT_MAX octets of the part are
 * looked at, so the work is bounded whatever the message. Pure (iconv
 * apart). */
#ifndef SUREL_MIME_PREVIEW_H
#define SUREL_MIME_PREVIEW_H
#include <stddef.h>
#include "buf.h"
#include "mime.h"

#define MIME_PREVIEW_CHARS 200
#define MIME_PREVIEW_INPUT_MAX (256 * 1024)

/* Appends the preview of the message data[0..len), parsed as msg, to
 * out (UTF-8, at most MIME_PREVIEW_CHARS characters, no line ends).
 * 0, or -1 when out's maximum would be passed (out may then hold part of
 * it). */
int mime_preview(const char *data, size_t len, const struct mime_message *msg,
		 struct buf *out) __attribute__((warn_unused_result));

#endif
