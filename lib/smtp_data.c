/* smtp_data: the DATA/BDAT content decoder; see smtp_data.h. One switch
 * over the line-level state per octet; header tracking and output sit in
 * small helpers beside it. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "mem.h"
#include "smtp_data.h"

enum state {
	ST_LINE_START,	/* at the start of a line */
	ST_DOT,		/* "." at the start of a line (DATA) */
	ST_DOT_CR,	/* ".\r" at the start of a line (DATA) */
	ST_TEXT,	/* inside a line */
	ST_CR,		/* "\r" inside or at the end of a line */
	ST_END,		/* end of DATA seen */
	ST_ERROR,	/* bare CR or LF seen: nothing more is taken */
};

/* What the current line is, while the header section lasts. */
enum line_kind {
	LK_UNKNOWN,	/* only field-name characters so far */
	LK_HEADER,	/* "name:" or a continuation */
	LK_BODY,
};

#define OUT_SIZE 8192

struct smtp_data {
	enum smtp_data_mode mode;
	struct smtp_data_limits limits;
	smtp_data_output_fn *output;
	void *ctx;

	enum state state;
	bool dot_allowed;	/* this line began after CRLF (DATA mode) */
	bool in_header;
	bool seen_header;	/* at least one header line */
	enum line_kind kind;
	size_t line_len;
	size_t header_size;
	uint64_t size;
	unsigned flags;

	size_t out_len;
	char out[OUT_SIZE];
};

struct smtp_data *smtp_data_new(enum smtp_data_mode mode,
				const struct smtp_data_limits *limits,
				smtp_data_output_fn *output, void *ctx)
{
	struct smtp_data *d = xcalloc(1, sizeof(*d));

	d->mode = mode;
	d->limits = *limits;
	d->output = output;
	d->ctx = ctx;
	d->state = ST_LINE_START;
	d->dot_allowed = mode == SMTP_DATA_MODE_DOT;
	d->in_header = true;
	d->kind = LK_UNKNOWN;
	return d;
}

void smtp_data_free(struct smtp_data **d) { xfree(d); }

unsigned smtp_data_flags(const struct smtp_data *d) { return d->flags; }
uint64_t smtp_data_size(const struct smtp_data *d) { return d->size; }
bool smtp_data_in_header(const struct smtp_data *d) { return d->in_header; }

static void flush(struct smtp_data *d)
{
	if (d->out_len > 0 && (d->flags & SMTP_DATA_REJECT_MASK) == 0 &&
	    d->output(d->ctx, d->out, d->out_len) < 0)
		d->flags |= SMTP_DATA_OUTPUT_FAILED;
	d->out_len = 0;
}

/* Once the message is doomed nothing more is produced: a rejected message
 * costs no disk. */
static void emit(struct smtp_data *d, char c)
{
	if ((d->flags & SMTP_DATA_REJECT_MASK) != 0)
		return;
	if (d->out_len == OUT_SIZE)
		flush(d);
	d->out[d->out_len++] = c;
}

static void count(struct smtp_data *d, uint64_t n)
{
	d->size += n;
	if (d->limits.message_size_max > 0 &&
	    d->size > d->limits.message_size_max) {
		d->flags |= SMTP_DATA_TOO_BIG;
		d->out_len = 0;
	}
}

static bool is_field_name_char(unsigned char c)
{
	return c >= 33 && c <= 126 && c != ':';
}

/* Classifies the line from its first octets (RFC 5322 2.2: field-name
 * ":" or folding white space); anything else starts the body. */
static void header_char(struct smtp_data *d, unsigned char c)
{
	if (d->kind == LK_UNKNOWN) {
		if (d->line_len == 0 && (c == ' ' || c == '\t') &&
		    d->seen_header)
			d->kind = LK_HEADER;
		else if (c == ':' && d->line_len > 0)
			d->kind = LK_HEADER;
		else if (!is_field_name_char(c))
			d->kind = LK_BODY;
		if (d->kind == LK_BODY) {
			d->in_header = false;
			return;
		}
		/* A line without ":" yet may turn out to be the first body
		 * line (a long base64 line with no blank line before it):
		 * it is measured only once it is known to be a header. */
		if (d->kind == LK_UNKNOWN)
			return;
		d->seen_header = true;
		d->header_size += d->line_len;
	}
	if (d->line_len + 1 > d->limits.header_line_max)
		d->flags |= SMTP_DATA_HEADER_LINE;
	if (++d->header_size > d->limits.header_size_max)
		d->flags |= SMTP_DATA_HEADER_SIZE;
	if ((d->flags & SMTP_DATA_REJECT_MASK) != 0)
		d->out_len = 0;
}

/* One octet of content (not CR, not LF). */
static void text_char(struct smtp_data *d, char c)
{
	if (d->in_header)
		header_char(d, (unsigned char)c);
	if (c == '\0') {
		d->flags |= SMTP_DATA_NUL;
		d->out_len = 0;
	}
	d->line_len++;
	count(d, 1);
	emit(d, c);
	d->state = ST_TEXT;
}

static void line_end(struct smtp_data *d, bool bare)
{
	if (d->in_header) {
		/* An empty line ends the header section; so does a line that
		 * never turned out to be a header field. */
		if (d->line_len == 0 || d->kind == LK_UNKNOWN)
			d->in_header = false;
		else if (++d->header_size > d->limits.header_size_max)
			d->flags |= SMTP_DATA_HEADER_SIZE;
	}
	count(d, 2);
	emit(d, '\n');
	d->line_len = 0;
	d->kind = LK_UNKNOWN;
	d->state = ST_LINE_START;
	d->dot_allowed = !bare && d->mode == SMTP_DATA_MODE_DOT;
}

/* A bare LF: fatal unless allowed, and then a line end after which a dot
 * means nothing. */
static int bare_lf(struct smtp_data *d, const char **error_r)
{
	if (!d->limits.allow_bare_lf) {
		d->flags |= SMTP_DATA_BARE_LF;
		d->state = ST_ERROR;
		*error_r = "bare <LF> received";
		return -1;
	}
	line_end(d, true);
	return 0;
}

static int bare_cr(struct smtp_data *d, const char **error_r)
{
	d->flags |= SMTP_DATA_BARE_CR;
	d->state = ST_ERROR;
	*error_r = "bare <CR> received";
	return -1;
}

/* Advances the state machine by one octet. Returns 1 at the end of DATA,
 * 0 to go on, -1 on a fatal error. */
static int step(struct smtp_data *d, char c, const char **error_r)
{
	switch (d->state) {
	case ST_LINE_START:
		if (c == '.' && d->dot_allowed) {
			d->state = ST_DOT;
			return 0;
		}
		/* fall through */
	case ST_TEXT:
		if (c == '\r')
			d->state = ST_CR;
		else if (c == '\n')
			return bare_lf(d, error_r);
		else
			text_char(d, c);
		return 0;
	case ST_DOT:
		/* The dot was stuffing (or a lone dot before CRLF). */
		if (c == '\r') {
			d->state = ST_DOT_CR;
			return 0;
		}
		if (c == '\n')
			return bare_lf(d, error_r);
		text_char(d, c);
		return 0;
	case ST_DOT_CR:
		if (c != '\n')
			return bare_cr(d, error_r);
		flush(d);
		d->state = ST_END;
		return 1;
	case ST_CR:
		if (c != '\n')
			return bare_cr(d, error_r);
		line_end(d, false);
		return 0;
	case ST_END:
		return 1;
	case ST_ERROR:
		break;
	}
	*error_r = "content after an error";
	return -1;
}

/* Length of the run of ordinary octets at p: the fast path for body
 * text, where only CR, LF and NUL mean anything. */
static size_t plain_run(const char *p, size_t len)
{
	size_t n = 0;

	while (n < len && p[n] != '\r' && p[n] != '\n' && p[n] != '\0')
		n++;
	return n;
}

static void text_run(struct smtp_data *d, const char *p, size_t n)
{
	d->line_len += n;
	count(d, n);
	while (n > 0 && (d->flags & SMTP_DATA_REJECT_MASK) == 0) {
		if (d->out_len == OUT_SIZE)
			flush(d);
		size_t room = OUT_SIZE - d->out_len;
		size_t take = n < room ? n : room;
		memcpy(d->out + d->out_len, p, take);
		d->out_len += take;
		p += take;
		n -= take;
	}
}

int smtp_data_feed(struct smtp_data *d, const char *data, size_t len,
		   size_t *used_r, const char **error_r)
{
	size_t i = 0;
	int ret = 0;

	*used_r = 0;
	if (d->state == ST_END)
		return 1;
	while (i < len) {
		if (d->state == ST_TEXT && !d->in_header) {
			size_t n = plain_run(data + i, len - i);
			if (n > 0) {
				text_run(d, data + i, n);
				i += n;
				continue;
			}
		}
		ret = step(d, data[i++], error_r);
		if (ret != 0)
			break;
	}
	if (ret < 0) {
		d->out_len = 0;
		return -1;
	}
	flush(d);
	*used_r = i;
	return ret;
}

int smtp_data_finish(struct smtp_data *d, const char **error_r)
{
	if (d->state == ST_ERROR) {
		*error_r = "content after an error";
		return -1;
	}
	if (d->state == ST_CR || d->state == ST_DOT_CR)
		return bare_cr(d, error_r);
	if (d->state == ST_TEXT || d->state == ST_DOT) {
		/* Unterminated last line: the queue file's content always
		 * ends with a newline. */
		if (d->in_header && d->kind == LK_UNKNOWN)
			d->in_header = false;
		emit(d, '\n');
		d->state = ST_LINE_START;
	}
	flush(d);
	return 0;
}
