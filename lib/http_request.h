/* http_request: the request head of a scrape (RFC 9112), parsed just far
 * enough for the metrics service: the method, the path and whether the
 * client accepts OpenMetrics. Everything else in the head is read past
 * and ignored; the body of a request is never read (the service answers
 * and closes).
 *
 * Bounds: the head is at most HTTP_HEAD_MAX octets and
 * HTTP_HEADERS_MAX header lines; a line ends in CRLF or a bare LF
 * (RFC 9112 2.2 allows a recipient to accept LF). */
#ifndef SUREL_HTTP_REQUEST_H
#define SUREL_HTTP_REQUEST_H
#include <stdbool.h>
#include <stddef.h>

#define HTTP_HEAD_MAX 8192
#define HTTP_HEADERS_MAX 100

struct http_request {
	char method[16];
	char path[256];		/* the target without its query */
	bool head_only;		/* HEAD */
	bool openmetrics;	/* Accept names application/openmetrics-text
				 * with a q above 0 */
};

/* Parses data[0..len), the octets read so far. Returns 1 with *req when
 * the head is complete, 0 when more is needed (len below HTTP_HEAD_MAX),
 * -1 with *status_r: 400 (malformed), 414 (target too long), 431 (head or
 * header count too large), 505 (not HTTP/1.x). An unknown method is not
 * an error here: the caller answers 405. */
int http_request_parse(const char *data, size_t len, struct http_request *req,
		       int *status_r) __attribute__((warn_unused_result));

#endif
