/* http_request: the scrape's request head (see http_request.h). */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "http_request.h"
#include "str.h"

#define OPENMETRICS_TYPE "application/openmetrics-text"

/* RFC 9110 5.6.2 tchar. */
static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static size_t token_len(const char *s, size_t len)
{
	size_t n = 0;

	while (n < len && s[n] != '\0' && is_tchar((unsigned char)s[n]))
		n++;
	return n;
}

/* The end of the head: the offset just past its empty line, or 0. */
static size_t head_end(const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (data[i] != '\n')
			continue;
		if (i + 1 < len && data[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && data[i + 1] == '\r' && data[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* The next line of data[*pos..end) without its CRLF/LF: its length, with
 * *line pointing at it. */
static size_t next_line(const char *data, size_t end, size_t *pos,
			const char **line)
{
	const char *start = data + *pos;
	const char *nl = memchr(start, '\n', end - *pos);
	size_t n = (size_t)(nl - start);

	*line = start;
	*pos += n + 1;
	if (n > 0 && start[n - 1] == '\r')
		n--;
	return n;
}

static int request_line(const char *s, size_t n, struct http_request *req,
			int *status_r)
{
	size_t m = token_len(s, n);

	*status_r = 400;
	if (m == 0 || m >= sizeof(req->method) || m >= n || s[m] != ' ')
		return -1;
	memcpy(req->method, s, m);
	req->method[m] = '\0';
	req->head_only = strcmp(req->method, "HEAD") == 0;
	s += m + 1;
	n -= m + 1;
	const char *sp = memchr(s, ' ', n);
	if (sp == NULL || sp == s || s[0] != '/')
		return -1;
	size_t tlen = (size_t)(sp - s);
	for (size_t i = 0; i < tlen; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return -1;
	size_t plen = tlen;
	const char *q = memchr(s, '?', tlen);
	if (q != NULL)
		plen = (size_t)(q - s);
	if (plen >= sizeof(req->path)) {
		*status_r = 414;
		return -1;
	}
	memcpy(req->path, s, plen);
	req->path[plen] = '\0';
	s = sp + 1;
	n -= tlen + 1;
	if (n != 8 || memcmp(s, "HTTP/", 5) != 0 || s[6] != '.' ||
	    s[5] < '0' || s[5] > '9' || s[7] < '0' || s[7] > '9')
		return -1;
	if (s[5] != '1') {
		*status_r = 505;
		return -1;
	}
	return 0;
}

/* Does one media range of Accept ("type/sub;p=v;q=0.5") name
 * OpenMetrics with a weight above 0? */
static bool accepts_openmetrics(const char *range, size_t n)
{
	size_t tl = strlen(OPENMETRICS_TYPE);

	while (n > 0 && (*range == ' ' || *range == '\t'))
		range++, n--;
	if (n < tl || strncasecmp(range, OPENMETRICS_TYPE, tl) != 0 ||
	    (n > tl && range[tl] != ';' && range[tl] != ' ' &&
	     range[tl] != '\t'))
		return false;
	/* q=0 (also 0.0, 0.000) refuses it. */
	for (size_t i = tl; i + 2 < n; i++) {
		if (range[i] != ';')
			continue;
		size_t j = i + 1;
		while (j < n && (range[j] == ' ' || range[j] == '\t'))
			j++;
		if (j + 2 <= n && (range[j] == 'q' || range[j] == 'Q') &&
		    range[j + 1] == '=') {
			j += 2;
			bool zero = j < n && range[j] == '0';
			for (j++; zero && j < n && range[j] != ';'; j++)
				zero = range[j] == '.' || range[j] == '0' ||
				       range[j] == ' ';
			return !zero;
		}
	}
	return true;
}

static void accept_header(const char *v, size_t n, struct http_request *req)
{
	while (n > 0) {
		const char *comma = memchr(v, ',', n);
		size_t m = comma != NULL ? (size_t)(comma - v) : n;
		if (accepts_openmetrics(v, m))
			req->openmetrics = true;
		if (comma == NULL)
			break;
		v += m + 1;
		n -= m + 1;
	}
}

static int header_line(const char *s, size_t n, struct http_request *req)
{
	size_t m = token_len(s, n);

	/* No white space before the colon, no folding (RFC 9112 5.1, 5.2). */
	if (m == 0 || m >= n || s[m] != ':')
		return -1;
	for (size_t i = m + 1; i < n; i++)
		if ((unsigned char)s[i] < ' ' && s[i] != '\t')
			return -1;
	if (m == 6 && strncasecmp(s, "Accept", 6) == 0)
		accept_header(s + m + 1, n - m - 1, req);
	return 0;
}

int http_request_parse(const char *data, size_t len, struct http_request *req,
		       int *status_r)
{
	size_t pos = 0, nheaders = 0, end;
	const char *line;

	*status_r = 400;	/* what most errors below are */

	/* RFC 9112 2.2: empty lines before the request line are skipped. */
	while (pos < len && (data[pos] == '\n' ||
			     (data[pos] == '\r' && pos + 1 < len &&
			      data[pos + 1] == '\n')))
		pos += data[pos] == '\r' ? 2 : 1;
	end = len > HTTP_HEAD_MAX ? HTTP_HEAD_MAX : len;
	end = pos < end ? head_end(data + pos, end - pos) : 0;
	if (end == 0) {
		if (len < HTTP_HEAD_MAX)
			return 0;
		*status_r = 431;
		return -1;
	}
	end += pos;
	memset(req, 0, sizeof(*req));
	size_t n = next_line(data, end, &pos, &line);
	if (memchr(line, '\0', n) != NULL ||
	    request_line(line, n, req, status_r) < 0)
		return -1;
	while (pos < end) {
		n = next_line(data, end, &pos, &line);
		if (n == 0)
			break;
		if (++nheaders > HTTP_HEADERS_MAX) {
			*status_r = 431;
			return -1;
		}
		if (memchr(line, '\0', n) != NULL ||
		    header_line(line, n, req) < 0) {
			*status_r = 400;
			return -1;
		}
	}
	return 1;
}
