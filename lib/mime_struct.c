/* mime_struct: the tree of MIME parts of lib/mime (see mime.h). Built
 * without recursion: every part is appended to msg->parts when it is
 * found, and one loop over that list parses each part's header and then
 * looks for its children (multipart boundaries, or the message embedded
 * in a message/rfc822 part), appending them in turn. Parents come before
 * their children in the list, so a part's parent is complete when the
 * part is parsed (multipart/digest changes its children's default).
 *
 * Line ends are counted once the tree is complete, children before
 * parents: a leaf's body is counted, a container's is summed from its
 * children and the boundary lines between them, so that each octet of
 * the message is looked at once rather than once per level. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include "crlf.h"
#include "mem.h"
#include "mime_impl.h"

static size_t line_end(const char *data, size_t end, size_t pos)
{
	const char *lf = memchr(data + pos, '\n', end - pos);

	return lf == NULL ? end : (size_t)(lf - data) + 1;
}

bool mime_part_is(const struct mime_part *part, const char *type,
		  const char *subtype)
{
	return strcmp(part->type, type) == 0 &&
		(subtype == NULL || strcmp(part->subtype, subtype) == 0);
}

bool mime_part_is_message(const struct mime_part *part)
{
	return part->children != NULL && strcmp(part->type, "message") == 0 &&
		(strcmp(part->subtype, "rfc822") == 0 ||
		 strcmp(part->subtype, "global") == 0);
}

/* A part spanning data[start..end): its header and body. */
static struct mime_part *part_new(struct mime_parser *p,
				  struct mime_part *parent, size_t start,
				  size_t end)
{
	struct mime_message *msg = p->msg;
	struct mime_part *part = xcalloc(1, sizeof(*part));

	if (msg->part_count == p->parts_cap) {
		p->parts_cap = p->parts_cap == 0 ? 8 : p->parts_cap * 2;
		msg->parts = xreallocarray(msg->parts, p->parts_cap,
					   sizeof(*msg->parts));
	}
	msg->parts[msg->part_count++] = part;
	part->header_offset = start;
	part->header_len = mime_header_block_len(p->data + start, end - start);
	part->body_offset = start + part->header_len;
	part->body_len = end - part->body_offset;
	part->parent = parent;
	part->depth = parent == NULL ? 0 : parent->depth + 1;
	return part;
}

/* Sets a string field once (the first field of a name wins). */
static void set_once(char **field, char *value)
{
	if (*field == NULL)
		*field = value;
	else
		free(value);
}

static void parse_field(struct mime_parser *p, struct mime_part *part,
			const struct mime_field *f, bool *ct_seen)
{
	static const char *const simple[] = { "Content-ID",
		"Content-Description", "Content-MD5", "Content-Language",
		"Content-Location" };
	char **slot[] = { &part->id, &part->description, &part->md5,
			  &part->language, &part->location };
	char name[32], *v;

	if (f->name_len < 8 || f->name_len >= sizeof(name) ||
	    strncasecmp(f->name, "Content-", 8) != 0)
		return;
	memcpy(name, f->name, f->name_len);
	name[f->name_len] = '\0';
	v = xmalloc(f->value_len + 1);
	if (mime_header_unfold(f->value, f->value_len, v,
			       f->value_len + 1) < 0)
		abort();	/* cannot happen: the size is enough */
	if (strcasecmp(name, "Content-Type") == 0 && !*ct_seen) {
		*ct_seen = true;
		mime_parse_content_type(p, part, v);
	} else if (strcasecmp(name, "Content-Transfer-Encoding") == 0) {
		if (strcmp(part->encoding, "7bit") == 0)
			mime_parse_encoding(part, v);
	} else if (strcasecmp(name, "Content-Disposition") == 0) {
		if (part->disposition == NULL)
			mime_parse_disposition(p, part, v);
	} else {
		for (size_t i = 0; i < sizeof(simple) / sizeof(*simple); i++)
			if (strcasecmp(name, simple[i]) == 0) {
				set_once(slot[i], v);
				return;
			}
	}
	free(v);
}

static void parse_header(struct mime_parser *p, struct mime_part *part)
{
	const struct mime_limits *lim = p->limits;
	const struct mime_part *parent = part->parent;
	struct mime_header_iter it;
	struct mime_field f;
	size_t fields = 0;
	bool ct_seen = false;

	if (parent != NULL && mime_part_is(parent, "multipart", "digest")) {
		part->type = xstrdup("message");
		part->subtype = xstrdup("rfc822");
	} else {
		part->type = xstrdup("text");
		part->subtype = xstrdup("plain");
		part->params = xcalloc(1, sizeof(*part->params));
		part->params[0].name = xstrdup("charset");
		part->params[0].value = xstrdup("us-ascii");
		part->param_count = 1;
	}
	part->encoding = xstrdup("7bit");
	mime_header_iter_init(&it, p->data + part->header_offset,
			      part->header_len);
	while (mime_header_next(&it, &f) == 1) {
		if (f.offset + f.len > lim->header_size_max) {
			p->msg->flags |= MIME_TRUNC_HEADER;
			break;
		}
		if (fields++ == lim->fields_max) {
			p->msg->flags |= MIME_TRUNC_FIELDS;
			break;
		}
		parse_field(p, part, &f, &ct_seen);
	}
}

static void add_child(struct mime_parser *p, struct mime_part *parent,
		      struct mime_part **last, size_t start, size_t end)
{
	struct mime_part *child = part_new(p, parent, start, end);

	if (*last == NULL)
		parent->children = child;
	else
		(*last)->next = child;
	*last = child;
	parent->child_count++;
}

int mime_boundary_line(const char *line, size_t n, const char *b,
		       size_t blen)
{
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (n < 2 + blen || line[0] != '-' || line[1] != '-' ||
	    memcmp(line + 2, b, blen) != 0)
		return 0;
	line += 2 + blen;
	n -= 2 + blen;
	if (n >= 2 && line[0] == '-' && line[1] == '-')
		return 2;
	for (size_t i = 0; i < n; i++)
		if (line[i] != ' ' && line[i] != '\t')
			return 0;
	return 1;
}

/* The content before a boundary line ends before the line end that
 * precedes the boundary (RFC 2046 5.1.1: it belongs to the boundary). */
static size_t content_end(const char *data, size_t start, size_t pos)
{
	if (pos > start && data[pos - 1] == '\n')
		pos--;
	if (pos > start && data[pos - 1] == '\r')
		pos--;
	return pos;
}

/* The first i in [pos, end - 2) with "\n--" at i, or end: 16 octets at a
 * time, since a body's lines between boundaries (base64 above all, whose
 * alphabet has no "-") rarely hold the sequence at all. */
static size_t find_lf_dashes(const char *data, size_t pos, size_t end)
{
	size_t i = pos;

#ifdef __SSE2__
	const __m128i lf = _mm_set1_epi8('\n'), dash = _mm_set1_epi8('-');

	for (; end - i >= 18; i += 16) {
		const char *q = data + i;
		__m128i at = _mm_loadu_si128((const __m128i *)q);
		__m128i next = _mm_loadu_si128((const __m128i *)(q + 1));
		__m128i after = _mm_loadu_si128((const __m128i *)(q + 2));
		__m128i m = _mm_and_si128(
			_mm_cmpeq_epi8(at, lf),
			_mm_and_si128(_mm_cmpeq_epi8(next, dash),
				      _mm_cmpeq_epi8(after, dash)));
		unsigned bits = (unsigned)_mm_movemask_epi8(m);

		if (bits != 0)
			return i + (size_t)__builtin_ctz(bits);
	}
#endif
	for (; end - i > 2; i++)
		if (data[i] == '\n' && data[i + 1] == '-' && data[i + 2] == '-')
			return i;
	return end;
}

/* The next line at or after pos (a line start, or first) that starts with
 * "--" and the boundary (needle, nlen octets), or end. */
static size_t next_candidate(const char *data, size_t first, size_t end,
			     size_t pos, const char *needle, size_t nlen)
{
	if (pos >= end)
		return end;
	if (end - pos >= nlen && memcmp(data + pos, needle, nlen) == 0 &&
	    (pos == first || data[pos - 1] == '\n'))
		return pos;
	for (size_t i = pos; end - i > 2;) {
		i = find_lf_dashes(data, i, end);
		if (i >= end)
			break;
		if (end - i - 1 >= nlen &&
		    memcmp(data + i + 1, needle, nlen) == 0)
			return i + 1;
		i++;
	}
	return end;
}

static void split_multipart(struct mime_parser *p, struct mime_part *part)
{
	const char *b = mime_param_get(part->params, part->param_count,
				       "boundary");
	size_t pos = part->body_offset, end = pos + part->body_len;
	size_t start = SIZE_MAX, blen = b == NULL ? 0 : strlen(b);
	struct mime_part *last = NULL;

	if (blen == 0) {
		part->flags |= MIME_PART_BROKEN;
		return;
	}
	char *needle = xmalloc(blen + 3);
	memcpy(needle, "--", 2);
	memcpy(needle + 2, b, blen + 1);
	size_t first = pos;
	pos = next_candidate(p->data, first, end, pos, needle, blen + 2);
	while (pos < end) {
		size_t le = line_end(p->data, end, pos);
		int kind = mime_boundary_line(p->data + pos, le - pos, b, blen);

		if (kind != 0 && start != SIZE_MAX) {
			if (p->msg->part_count >= p->limits->parts_max) {
				p->msg->flags |= MIME_TRUNC_PARTS;
				part->flags |= MIME_PART_OPAQUE;
				free(needle);
				return;
			}
			add_child(p, part, &last, start,
				  content_end(p->data, start, pos));
		}
		if (kind == 2)
			break;	/* the rest is the epilogue */
		if (kind == 1)
			start = le;
		pos = next_candidate(p->data, first, end, le, needle, blen + 2);
	}
	free(needle);
	/* No closing boundary: the last part runs to the end. */
	if (pos >= end && start != SIZE_MAX) {
		if (p->msg->part_count >= p->limits->parts_max) {
			p->msg->flags |= MIME_TRUNC_PARTS;
			part->flags |= MIME_PART_OPAQUE;
		} else {
			add_child(p, part, &last, start, end);
		}
	}
	if (part->child_count == 0 && (part->flags & MIME_PART_OPAQUE) == 0)
		part->flags |= MIME_PART_BROKEN;
}

static void find_children(struct mime_parser *p, struct mime_part *part)
{
	bool multi = strcmp(part->type, "multipart") == 0;
	bool message = mime_part_is(part, "message", "rfc822") ||
		mime_part_is(part, "message", "global");

	if (!multi && !message)
		return;
	if (part->depth >= p->limits->depth_max) {
		p->msg->flags |= MIME_TRUNC_DEPTH;
		part->flags |= MIME_PART_OPAQUE;
		return;
	}
	if (multi) {
		split_multipart(p, part);
	} else if (p->msg->part_count >= p->limits->parts_max) {
		p->msg->flags |= MIME_TRUNC_PARTS;
		part->flags |= MIME_PART_OPAQUE;
	} else {
		struct mime_part *last = NULL;

		add_child(p, part, &last, part->body_offset,
			  part->body_offset + part->body_len);
	}
}

/* Adds the LFs and bare LFs of data[start..end) to *lf and *bare, as part
 * of a body that starts at first: an LF at start that a CR precedes is not
 * bare there, unless start is the body's first octet. */
static void count_range(const char *data, size_t first, size_t start,
			size_t end, uint64_t *lf, uint64_t *bare)
{
	uint64_t l, b;

	if (end <= start)
		return;
	crlf_count(data + start, end - start, &l, &b);
	if (start > first && data[start] == '\n' && data[start - 1] == '\r')
		b--;
	*lf += l;
	*bare += b;
}

/* body_lines and body_bare_lfs of part; its children's are known. */
static void count_part(const char *data, struct mime_part *part)
{
	size_t first = part->body_offset, pos = first;
	size_t end = first + part->body_len;
	uint64_t lf = 0, bare = 0;
	const struct mime_part *c;

	for (c = part->children; c != NULL; c = c->next) {
		size_t c_end = c->body_offset + c->body_len;

		if (c->header_offset < pos || c_end > end)
			break;	/* cannot happen: children lie in order */
		count_range(data, first, pos, c->header_offset, &lf, &bare);
		count_range(data, first, c->header_offset, c->body_offset, &lf,
			    &bare);
		/* The child's body: its own counts, as a range of ours. */
		if (c->body_len > 0) {
			lf += c->body_lines - (data[c_end - 1] != '\n');
			bare += c->body_bare_lfs;
			if (c->body_offset > first &&
			    data[c->body_offset] == '\n' &&
			    data[c->body_offset - 1] == '\r')
				bare--;
		}
		pos = c_end;
	}
	if (c != NULL) {	/* counted directly after all */
		pos = first;
		lf = bare = 0;
	}
	count_range(data, first, pos, end, &lf, &bare);
	part->body_lines = lf + (end > first && data[end - 1] != '\n');
	part->body_bare_lfs = bare;
}

struct mime_message *mime_parse(const char *data, size_t len,
				const struct mime_limits *limits)
{
	struct mime_parser p = { .data = data, .len = len, .limits = limits };

	p.msg = xcalloc(1, sizeof(*p.msg));
	p.msg->root = part_new(&p, NULL, 0, len);
	/* part_count grows as children are found: a work list. */
	for (size_t i = 0; i < p.msg->part_count; i++) {
		parse_header(&p, p.msg->parts[i]);
		find_children(&p, p.msg->parts[i]);
	}
	for (size_t i = p.msg->part_count; i-- > 0;)
		count_part(data, p.msg->parts[i]);
	return p.msg;
}

void mime_message_free(struct mime_message **msgp)
{
	struct mime_message *msg = *msgp;

	if (msg == NULL)
		return;
	for (size_t i = 0; i < msg->part_count; i++) {
		struct mime_part *part = msg->parts[i];

		free(part->type);
		free(part->subtype);
		mime_params_free(&part->params, &part->param_count);
		mime_params_free(&part->disp_params, &part->disp_param_count);
		free(part->encoding);
		free(part->id);
		free(part->description);
		free(part->md5);
		free(part->language);
		free(part->location);
		free(part->disposition);
		free(part);
	}
	free(msg->parts);
	free(msg);
	*msgp = NULL;
}

static const struct mime_part *nth_child(const struct mime_part *part,
					 uint32_t n)
{
	const struct mime_part *c = part->children;

	for (uint32_t i = 1; c != NULL && i < n; i++)
		c = c->next;
	return c;
}

/* Part n of a message (the root or an embedded one). */
static const struct mime_part *message_part(const struct mime_part *m,
					    uint32_t n)
{
	if (strcmp(m->type, "multipart") == 0)
		return nth_child(m, n);
	return n == 1 ? m : NULL;
}

const struct mime_part *mime_part_next(const struct mime_part *part,
				       bool descend)
{
	if (descend && part->children != NULL)
		return part->children;
	/* up through the tree's links: no recursion */
	while (part != NULL && part->next == NULL)
		part = part->parent;
	return part != NULL ? part->next : NULL;
}

const struct mime_part *mime_part_find(const struct mime_message *msg,
				       const uint32_t *nums, size_t count)
{
	const struct mime_part *cur;

	if (count == 0 || nums[0] == 0)
		return NULL;
	cur = message_part(msg->root, nums[0]);
	for (size_t i = 1; cur != NULL && i < count; i++) {
		if (nums[i] == 0)
			return NULL;
		if (strcmp(cur->type, "multipart") == 0)
			cur = nth_child(cur, nums[i]);
		else if (mime_part_is_message(cur))
			cur = message_part(cur->children, nums[i]);
		else
			cur = NULL;
	}
	return cur;
}
