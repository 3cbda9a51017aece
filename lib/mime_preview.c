/* mime_preview: the preview text of a message (see mime_preview.h). The
 * part is found by walking the tree in document order (iteratively, by
 * the parent links), decoded by mime_body_text, and the text goes through
 * one sink that collapses white space and counts characters; HTML goes
 * through a small tag skipper first. Quoted lines and markup are left
 * out as Dovecot's snippets do: they tell the reader nothing new. */
#include "config.h"
#include <string.h>
#include <strings.h>
#include "mime_body.h"
#include "mime_preview.h"
#include "utf8.h"

/* Decoded text of a part: the input is at most MIME_PREVIEW_INPUT_MAX
 * octets, which decoding and charset conversion may grow; past this the
 * rest is not looked at. */
#define DECODED_MAX (4 * MIME_PREVIEW_INPUT_MAX + 64)
/* Longest character reference looked for ("&#x10FFFF;"). */
#define ENTITY_MAX 10

struct sink {
	struct buf *out;
	size_t chars;
	bool space;		/* white space seen since the last char */
	bool failed;		/* out is full */
};

static bool sink_full(const struct sink *k)
{
	return k->failed || k->chars >= MIME_PREVIEW_CHARS;
}

/* One character (s[0..n), a UTF-8 sequence); white space and controls
 * collapse into one space between characters. */
static void sink_char(struct sink *k, const char *s, size_t n)
{
	unsigned char c = (unsigned char)s[0];

	if (sink_full(k))
		return;
	if (c <= 0x20 || c == 0x7f || (n == 2 && c == 0xc2 &&
				       (unsigned char)s[1] == 0xa0)) {
		k->space = true;	/* U+00A0 too */
		return;
	}
	if (k->space && k->chars > 0) {
		/* A space needs a character after it, or it would trail. */
		if (k->chars + 2 > MIME_PREVIEW_CHARS) {
			k->chars = MIME_PREVIEW_CHARS;
			return;
		}
		if (buf_append_char(k->out, ' ') < 0) {
			k->failed = true;
			return;
		}
		k->chars++;
	}
	k->space = false;
	if (buf_append(k->out, s, n) < 0)
		k->failed = true;
	else
		k->chars++;
}

/* Length of the UTF-8 sequence at s[0..left) (the text is valid UTF-8;
 * anything else is taken an octet at a time). */
static size_t seq_len(const char *s, size_t left)
{
	unsigned char c = (unsigned char)s[0];
	size_t n = c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;

	return n > left ? 1 : n;
}

/* Plain text: lines starting with ">" are quotes, left out. */
static void preview_plain(const char *s, size_t len, struct sink *k)
{
	bool line_start = true;

	for (size_t i = 0; i < len && !sink_full(k);) {
		if (line_start && s[i] == '>') {
			const char *nl = memchr(s + i, '\n', len - i);
			i = nl == NULL ? len : (size_t)(nl - s) + 1;
			k->space = true;
			continue;
		}
		size_t n = seq_len(s + i, len - i);
		line_start = s[i] == '\n';
		sink_char(k, s + i, n);
		i += n;
	}
}

/* Appends code point cp as UTF-8 to the sink; invalid ones are dropped. */
static void sink_code_point(struct sink *k, unsigned long cp)
{
	char u[4];
	size_t n;

	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return;
	n = utf8_encode((uint32_t)cp, u);
	sink_char(k, u, n);
}

/* A character reference at s[0..len) (s[0] is '&'): its length when it
 * was decoded into the sink, or 0 (the '&' is then text). */
static size_t html_entity(const char *s, size_t len, struct sink *k)
{
	static const struct { const char *name; unsigned long cp; } names[] = {
		{ "amp", '&' }, { "lt", '<' }, { "gt", '>' },
		{ "quot", '"' }, { "apos", '\'' }, { "nbsp", ' ' },
	};
	const char *semi = memchr(s, ';', len < ENTITY_MAX ? len : ENTITY_MAX);

	if (semi == NULL || semi == s + 1)
		return 0;
	size_t n = (size_t)(semi - s) - 1;
	const char *name = s + 1;
	if (name[0] == '#') {
		bool hex = n > 1 && (name[1] == 'x' || name[1] == 'X');
		unsigned long cp = 0;
		size_t i = hex ? 2 : 1;
		if (i >= n)
			return 0;
		for (; i < n; i++) {
			const char *digits = "0123456789abcdef";
			const char *d = strchr(digits, name[i] | 0x20);
			if (name[i] == '\0' || d == NULL ||
			    (size_t)(d - digits) >= (hex ? 16u : 10u))
				return 0;
			cp = cp * (hex ? 16 : 10) + (unsigned long)(d - digits);
		}
		sink_code_point(k, cp);
		return n + 2;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(names[i].name) == n &&
		    strncasecmp(name, names[i].name, n) == 0) {
			sink_code_point(k, names[i].cp);
			return n + 2;
		}
	}
	return 0;
}

/* Where the first "needle" (ASCII, case-insensitively) starts in
 * s[from..len), or len. */
static size_t find_ci(const char *s, size_t len, size_t from,
		      const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = from; i + n <= len; i++) {
		if (strncasecmp(s + i, needle, n) == 0)
			return i;
	}
	return len;
}

/* Elements whose content is not text a reader sees. */
static const char *const hidden_elems[] = { "script", "style", "head",
					    "title" };
/* Elements inside a run of text: no space for them. */
static const char *const inline_elems[] = {
	"a", "b", "i", "u", "s", "em", "strong", "span", "font", "small",
	"big", "sub", "sup", "code", "tt", "strike", "abbr", "mark" };

static bool elem_in(const char *name, size_t n, const char *const *list,
		    size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (strlen(list[i]) == n && strncasecmp(name, list[i], n) == 0)
			return true;
	}
	return false;
}

/* The markup at s[i] ('<'): returns the index after it (after the
 * element's end for hidden elements). */
static size_t html_skip_markup(const char *s, size_t len, size_t i,
			       struct sink *k)
{
	if (len - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
		size_t end = find_ci(s, len, i + 4, "-->");
		return end == len ? len : end + 3;
	}
	size_t name = i + 1 + (i + 1 < len && s[i + 1] == '/');
	size_t n = 0;
	while (name + n < len && ((s[name + n] | 0x20) >= 'a' &&
				  (s[name + n] | 0x20) <= 'z'))
		n++;
	if (n == 0 && !(i + 1 < len && (s[i + 1] == '!' || s[i + 1] == '?' ||
					 s[i + 1] == '/'))) {
		sink_char(k, "<", 1);	/* a "<" in text */
		return i + 1;
	}
	const char *gt = memchr(s + name, '>', len - name);
	size_t after = gt == NULL ? len : (size_t)(gt - s) + 1;
	if (!elem_in(s + name, n, inline_elems,
		     sizeof(inline_elems) / sizeof(inline_elems[0])))
		k->space = true;
	if (s[i + 1] != '/' &&
	    elem_in(s + name, n, hidden_elems,
		    sizeof(hidden_elems) / sizeof(hidden_elems[0]))) {
		char close[16] = "</";
		memcpy(close + 2, s + name, n);	/* n <= 6 */
		close[n + 2] = '\0';
		size_t end = find_ci(s, len, after, close);
		gt = end == len ? NULL : memchr(s + end, '>', len - end);
		after = gt == NULL ? len : (size_t)(gt - s) + 1;
	}
	return after;
}

static void preview_html(const char *s, size_t len, struct sink *k)
{
	for (size_t i = 0; i < len && !sink_full(k);) {
		if (s[i] == '<') {
			i = html_skip_markup(s, len, i, k);
			continue;
		}
		if (s[i] == '&') {
			size_t n = html_entity(s + i, len - i, k);
			if (n > 0) {
				i += n;
				continue;
			}
		}
		size_t n = seq_len(s + i, len - i);
		sink_char(k, s + i, n);
		i += n;
	}
}

static bool is_attachment(const struct mime_part *p)
{
	return p->disposition != NULL &&
	       strcmp(p->disposition, "attachment") == 0;
}

/* The first text/subtype part in document order, outside attachments. */
static const struct mime_part *find_text(const struct mime_message *msg,
					 const char *subtype)
{
	const struct mime_part *p = msg->root;

	while (p != NULL) {
		bool inside = !is_attachment(p);

		if (inside && p->children == NULL &&
		    mime_part_is(p, "text", subtype))
			return p;
		p = mime_part_next(p, inside);
	}
	return NULL;
}

int mime_preview(const char *data, size_t len, const struct mime_message *msg,
		 struct buf *out)
{
	const struct mime_part *part = find_text(msg, "plain");
	bool html = false;
	struct sink k = { .out = out };
	struct buf text;

	if (part == NULL) {
		part = find_text(msg, "html");
		html = true;
	}
	if (part == NULL)
		return 0;
	/* The first MIME_PREVIEW_INPUT_MAX octets only: a copy of the part
	 * with a shorter body. */
	struct mime_part head = *part;
	if (head.body_len > MIME_PREVIEW_INPUT_MAX)
		head.body_len = MIME_PREVIEW_INPUT_MAX;
	buf_init(&text, DECODED_MAX);
	/* Full: what was decoded is used (far more than a preview). */
	if (mime_body_text(data, len, &head, &text) < 0 && text.len == 0) {
		buf_deinit(&text);
		return 0;
	}
	if (html)
		preview_html(text.data, text.len, &k);
	else
		preview_plain(text.data, text.len, &k);
	buf_deinit(&text);
	return k.failed ? -1 : 0;
}
