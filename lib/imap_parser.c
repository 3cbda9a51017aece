/* imap_parser: IMAP commands into a tree of typed values; see
 * imap_parser.h. One byte at a time through step() (a switch over the
 * states), except literal data and skipped literals, which are copied or
 * passed over in bulk. Lists are built with an explicit stack of frames,
 * never by recursion, so the nesting limit is a counter. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "log.h"
#include "mem.h"
#include "str.h"
#include "imap_parser.h"

enum state {
	S_TAG = 0,
	S_NAME,
	S_ARG_START,	/* after SP: a value must follow */
	S_LIST_FIRST,	/* after "(": a value or ")" */
	S_AFTER_ARG,	/* SP, ")" or CRLF */
	S_ATOM,
	S_SECTION,	/* inside "[...]" of an atom */
	S_QUOTED,
	S_QUOTED_ESC,
	S_TILDE,	/* "~": literal8 or an atom */
	S_LIT_DIGITS,
	S_LIT_PLUS,
	S_LIT_CR,
	S_LIT_LF,
	S_LIT_PENDING,	/* waiting for accept or refuse */
	S_LIT_DATA,
	S_CR,		/* end of the command line */
	S_SKIP,		/* after an error: up to the end of the command */
	S_SKIP_LITERAL,
	S_FATAL
};

/* What step() did with a byte. */
enum step {
	ST_NEXT,	/* consumed */
	ST_AGAIN,	/* state changed, the same byte again */
	ST_COMMAND,	/* consumed, command complete */
	ST_LITERAL,	/* consumed, synchronising literal announced */
	ST_ERROR	/* p->err set */
};

/* The skipper's view of the end of a skipped line: "{N+}\r\n". */
enum skip_state { SK_NONE = 0, SK_DIGITS, SK_PLUS, SK_CLOSE, SK_CR };

/* Every value is one allocation: the node and its text. */
struct node {
	struct node *all_next;
	struct imap_arg arg;
	char data[];
};

/* Where the next value of a level goes. */
struct frame {
	struct imap_arg **tailp;
	size_t *countp;
};

struct imap_parser {
	struct imap_parser_limits limits;
	enum state state;
	bool finished;		/* command or error returned: clear first */
	struct imap_command cmd;
	struct node *nodes;
	struct frame *stack;	/* depth_max + 1; [0] is the command */
	unsigned depth;
	size_t nargs;
	struct buf tok;		/* the tag, name, atom or quoted so far */
	char *tag, *name;
	size_t line_len;
	uint64_t cmd_len;
	/* The literal being announced or read. */
	uint64_t lit_size, lit_got;
	unsigned lit_digits;
	bool lit_nonsync, lit8;
	struct node *lit_node;
	/* Inside "[...]": parentheses open, and whether a space, parenthesis
	 * or quote made it more than a plain atom. */
	unsigned sec_paren;
	bool sec_special;
	/* Skipping after an error. */
	enum skip_state skip;
	uint64_t skip_size, skip_left;
	unsigned skip_digits;
	enum imap_parser_error err;
	bool fatal;
};

static const struct {
	const char *name, *text;
} errors[IMAP_PARSER_ERR_COUNT] = {
	[IMAP_PARSER_ERR_NONE] = { "NONE", "No error" },
	[IMAP_PARSER_ERR_EMPTY_LINE] = { "EMPTY_LINE", "Empty command line" },
	[IMAP_PARSER_ERR_BAD_TAG] = { "BAD_TAG", "Invalid tag" },
	[IMAP_PARSER_ERR_BAD_COMMAND] = { "BAD_COMMAND",
					  "Missing or invalid command name" },
	[IMAP_PARSER_ERR_BAD_CHAR] = { "BAD_CHAR",
				       "Invalid character in atom" },
	[IMAP_PARSER_ERR_SYNTAX] = { "SYNTAX", "Syntax error in arguments" },
	[IMAP_PARSER_ERR_QUOTED_UNTERMINATED] = {
		"QUOTED_UNTERMINATED", "Unterminated quoted string" },
	[IMAP_PARSER_ERR_QUOTED_ESCAPE] = {
		"QUOTED_ESCAPE", "Invalid escape in quoted string" },
	[IMAP_PARSER_ERR_QUOTED_CHAR] = {
		"QUOTED_CHAR", "NUL in quoted string" },
	[IMAP_PARSER_ERR_LITERAL_SYNTAX] = {
		"LITERAL_SYNTAX", "Invalid literal announcement" },
	[IMAP_PARSER_ERR_LITERAL_TOOBIG] = {
		"LITERAL_TOOBIG", "[TOOBIG] Literal too large" },
	[IMAP_PARSER_ERR_LINE_TOO_LONG] = {
		"LINE_TOO_LONG", "Command line too long" },
	[IMAP_PARSER_ERR_COMMAND_TOO_LONG] = {
		"COMMAND_TOO_LONG", "[TOOBIG] Command too large" },
	[IMAP_PARSER_ERR_TOO_DEEP] = { "TOO_DEEP", "Lists nested too deep" },
	[IMAP_PARSER_ERR_TOO_MANY_ARGS] = {
		"TOO_MANY_ARGS", "Too many arguments" },
	[IMAP_PARSER_ERR_UNBALANCED] = {
		"UNBALANCED", "Unbalanced parentheses" },
	[IMAP_PARSER_ERR_SECTION] = {
		"SECTION", "Unterminated or nested [ in atom" },
	[IMAP_PARSER_ERR_BARE_LF] = { "BARE_LF", "Line ends in LF, not CRLF" },
	[IMAP_PARSER_ERR_BARE_CR] = { "BARE_CR", "CR not followed by LF" },
};

/* ATOM-CHAR of RFC 9051: printable ASCII except atom-specials. */
static bool is_atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\]", c) == NULL;
}

/* A tag is ASTRING-CHARs ("]" too) except "+". */
static bool is_tag_char(unsigned char c)
{
	return (is_atom_char(c) || c == ']') && c != '+';
}

/* Inside an atom value: ASTRING-CHAR plus the list wildcards. */
static bool is_value_char(unsigned char c)
{
	return is_atom_char(c) || c == ']' || c == '*' || c == '%';
}

static void command_clear(struct imap_parser *p)
{
	while (p->nodes != NULL) {
		struct node *n = p->nodes;

		p->nodes = n->all_next;
		free(n);
	}
	xfree(&p->tag);
	xfree(&p->name);
	memset(&p->cmd, 0, sizeof(p->cmd));
	p->stack[0].tailp = &p->cmd.args;
	p->stack[0].countp = &p->cmd.arg_count;
	p->depth = 0;
	p->nargs = 0;
	p->line_len = 0;
	p->cmd_len = 0;
	p->lit_node = NULL;
	buf_reset(&p->tok);
	p->finished = false;
}

struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits)
{
	struct imap_parser *p = xcalloc(1, sizeof(*p));

	ASSERT(limits->line_max > 0 && limits->literal_max > 0 &&
	       limits->command_max > 0 && limits->args_max > 0);
	p->limits = *limits;
	p->stack = xreallocarray(NULL, (size_t)limits->depth_max + 1,
				 sizeof(*p->stack));
	buf_init(&p->tok, limits->line_max);
	command_clear(p);
	return p;
}

void imap_parser_free(struct imap_parser **pp)
{
	struct imap_parser *p = *pp;

	if (p == NULL)
		return;
	command_clear(p);
	buf_deinit(&p->tok);
	free(p->stack);
	xfree(pp);
}

void imap_parser_reset(struct imap_parser *p)
{
	command_clear(p);
	p->state = S_TAG;
	p->skip = SK_NONE;
	p->err = IMAP_PARSER_ERR_NONE;
	p->fatal = false;
}

static enum step fail(struct imap_parser *p, enum imap_parser_error err)
{
	p->err = err;
	/* Once "+" was seen, the client sends the data whatever we say; an
	 * announcement gone wrong leaves its length unknown. */
	p->fatal = p->lit_nonsync &&
		(p->state == S_LIT_PLUS || p->state == S_LIT_CR ||
		 p->state == S_LIT_LF);
	return ST_ERROR;
}

/* Appends a value to the innermost open level. */
static struct node *value_add(struct imap_parser *p, enum imap_arg_type type,
			      const void *data, size_t len)
{
	struct node *n = xmalloc(sizeof(*n) + len + 1);
	struct frame *f = &p->stack[p->depth];

	memset(n, 0, sizeof(*n));
	n->all_next = p->nodes;
	p->nodes = n;
	n->arg.type = type;
	if (len > 0 && data != NULL)
		memcpy(n->data, data, len);
	n->data[len] = '\0';
	n->arg.str = n->data;
	n->arg.len = len;
	*f->tailp = &n->arg;
	f->tailp = &n->arg.next;
	(*f->countp)++;
	return n;
}

static void atom_finish(struct imap_parser *p)
{
	const char *s = buf_cstr(&p->tok);
	size_t len = p->tok.len;
	enum imap_arg_type type = IMAP_ARG_ATOM;
	uint64_t num = 0;

	if (len == 3 && str_eq_ci(s, "NIL"))
		type = IMAP_ARG_NIL;
	else if (strspn(s, "0123456789") == len && str_to_u64(s, &num) == 0)
		type = IMAP_ARG_NUMBER;
	value_add(p, type, s, len)->arg.num = num;
	buf_reset(&p->tok);
	p->state = S_AFTER_ARG;
}

static void quoted_finish(struct imap_parser *p)
{
	value_add(p, IMAP_ARG_STRING, p->tok.data, p->tok.len);
	buf_reset(&p->tok);
	p->state = S_AFTER_ARG;
}

/* The data of an accepted or non-synchronising literal starts. */
static void literal_begin(struct imap_parser *p)
{
	p->lit_node = value_add(p, p->lit8 ? IMAP_ARG_LITERAL8 :
				IMAP_ARG_LITERAL, NULL, (size_t)p->lit_size);
	p->lit_node->arg.nonsync = p->lit_nonsync;
	p->lit_got = 0;
	p->state = p->lit_size == 0 ? S_AFTER_ARG : S_LIT_DATA;
}

static enum step tok_add(struct imap_parser *p, unsigned char c)
{
	/* The token is part of the line, which is bounded: cannot fail. */
	if (buf_append_char(&p->tok, (char)c) < 0)
		return fail(p, IMAP_PARSER_ERR_LINE_TOO_LONG);
	return ST_NEXT;
}

static enum step list_close(struct imap_parser *p)
{
	if (p->depth == 0)
		return fail(p, IMAP_PARSER_ERR_UNBALANCED);
	p->depth--;
	p->state = S_AFTER_ARG;
	return ST_NEXT;
}

static enum step list_open(struct imap_parser *p)
{
	struct node *n;

	if (p->depth >= p->limits.depth_max)
		return fail(p, IMAP_PARSER_ERR_TOO_DEEP);
	n = value_add(p, IMAP_ARG_LIST, NULL, 0);
	p->depth++;
	p->stack[p->depth].tailp = &n->arg.list;
	p->stack[p->depth].countp = &n->arg.list_count;
	p->state = S_LIST_FIRST;
	return ST_NEXT;
}

static enum step value_start(struct imap_parser *p, unsigned char c)
{
	switch (c) {
	case ')':
		/* "( )" and "A )" have a space too many; " )" outside of
		 * any list has a parenthesis too many. */
		if (p->state == S_LIST_FIRST || p->depth == 0)
			return list_close(p);
		return fail(p, IMAP_PARSER_ERR_SYNTAX);
	case ' ':
		return fail(p, IMAP_PARSER_ERR_SYNTAX);
	case '\r':
		return fail(p, p->state == S_LIST_FIRST ?
			    IMAP_PARSER_ERR_UNBALANCED :
			    IMAP_PARSER_ERR_SYNTAX);
	case '\n':
		return fail(p, IMAP_PARSER_ERR_BARE_LF);
	}
	if (c != '(' && c != '"' && c != '{' && c != '~' && c != '\\' &&
	    !is_value_char(c))
		return fail(p, IMAP_PARSER_ERR_BAD_CHAR);
	if (p->nargs >= p->limits.args_max)
		return fail(p, IMAP_PARSER_ERR_TOO_MANY_ARGS);
	p->nargs++;
	switch (c) {
	case '(':
		return list_open(p);
	case '"':
		p->state = S_QUOTED;
		return ST_NEXT;
	case '{':
	case '~':
		p->lit8 = c == '~';
		p->lit_nonsync = false;
		p->lit_size = 0;
		p->lit_digits = 0;
		p->state = c == '~' ? S_TILDE : S_LIT_DIGITS;
		return ST_NEXT;
	case '[':
		p->sec_paren = 0;
		p->sec_special = false;
		p->state = S_SECTION;
		return tok_add(p, c);
	default:
		p->state = S_ATOM;
		return tok_add(p, c);
	}
}

static enum step after_value(struct imap_parser *p, unsigned char c)
{
	switch (c) {
	case ' ':
		p->state = S_ARG_START;
		return ST_NEXT;
	case ')':
		return list_close(p);
	case '\r':
		p->state = S_CR;
		return ST_NEXT;
	case '\n':
		return fail(p, IMAP_PARSER_ERR_BARE_LF);
	default:
		return fail(p, IMAP_PARSER_ERR_SYNTAX);
	}
}

static enum step atom_byte(struct imap_parser *p, unsigned char c)
{
	if (c == ' ' || c == ')' || c == '\r' || c == '\n') {
		atom_finish(p);
		return ST_AGAIN;
	}
	if (c == '[') {
		p->sec_paren = 0;
		p->sec_special = false;
		p->state = S_SECTION;
		return tok_add(p, c);
	}
	if (!is_value_char(c))
		return fail(p, IMAP_PARSER_ERR_BAD_CHAR);
	return tok_add(p, c);
}

/* "[...]" inside an atom: spaces, parentheses and quotes are part of it.
 * Without any of those, an unclosed "[" is just an atom character. */
static enum step section_byte(struct imap_parser *p, unsigned char c)
{
	switch (c) {
	case ']':
		if (p->sec_paren > 0)
			return fail(p, IMAP_PARSER_ERR_SECTION);
		p->state = S_ATOM;
		return tok_add(p, c);
	case '[':
		return fail(p, IMAP_PARSER_ERR_SECTION);
	case '(':
		p->sec_paren++;
		p->sec_special = true;
		return tok_add(p, c);
	case ')':
		if (p->sec_paren > 0) {
			p->sec_paren--;
			return tok_add(p, c);
		}
		/* fall through */
	case '\r':
		if (p->sec_special)
			return fail(p, IMAP_PARSER_ERR_SECTION);
		atom_finish(p);
		return ST_AGAIN;
	case '\n':
		return fail(p, IMAP_PARSER_ERR_BARE_LF);
	case ' ':
	case '"':
		p->sec_special = true;
		return tok_add(p, c);
	}
	if (c < 0x20 || c >= 0x7f)
		return fail(p, IMAP_PARSER_ERR_BAD_CHAR);
	return tok_add(p, c);
}

static enum step quoted_byte(struct imap_parser *p, unsigned char c)
{
	if (c == '\r' || c == '\n')
		return fail(p, IMAP_PARSER_ERR_QUOTED_UNTERMINATED);
	if (p->state == S_QUOTED_ESC) {
		if (c != '"' && c != '\\')
			return fail(p, IMAP_PARSER_ERR_QUOTED_ESCAPE);
		p->state = S_QUOTED;
		return tok_add(p, c);
	}
	if (c == '"') {
		quoted_finish(p);
		return ST_NEXT;
	}
	if (c == '\\') {
		p->state = S_QUOTED_ESC;
		return ST_NEXT;
	}
	if (c == '\0')
		return fail(p, IMAP_PARSER_ERR_QUOTED_CHAR);
	return tok_add(p, c);
}

/* "}": the size is known; every limit is checked before any data. */
static enum step literal_close(struct imap_parser *p)
{
	uint64_t total;

	if (p->lit_digits == 0)
		return fail(p, IMAP_PARSER_ERR_LITERAL_SYNTAX);
	if (p->lit_size > p->limits.literal_max ||
	    p->lit_size > SIZE_MAX - sizeof(struct node) - 1)
		return fail(p, IMAP_PARSER_ERR_LITERAL_TOOBIG);
	/* This "}" and its CRLF, the data, and the CRLF (at least two
	 * octets) that must still follow. */
	if (__builtin_add_overflow(p->cmd_len, 5 + p->lit_size, &total) ||
	    total > p->limits.command_max)
		return fail(p, IMAP_PARSER_ERR_COMMAND_TOO_LONG);
	p->state = S_LIT_CR;
	return ST_NEXT;
}

static enum step literal_byte(struct imap_parser *p, unsigned char c)
{
	switch (p->state) {
	case S_TILDE:
		if (c == '{') {
			buf_reset(&p->tok);
			p->state = S_LIT_DIGITS;
			return ST_NEXT;
		}
		/* "~" was an atom's first character. */
		p->state = S_ATOM;
		if (tok_add(p, '~') == ST_ERROR)
			return ST_ERROR;
		return ST_AGAIN;
	case S_LIT_DIGITS:
		if (c >= '0' && c <= '9') {
			/* Saturates: anything this big is refused at "}". */
			if (p->lit_size > (UINT64_MAX - 9) / 10)
				p->lit_size = UINT64_MAX;
			else
				p->lit_size = p->lit_size * 10 + (c - '0');
			p->lit_digits++;
			return ST_NEXT;
		}
		if (c == '+' && p->lit_digits > 0) {
			p->lit_nonsync = true;
			p->state = S_LIT_PLUS;
			return ST_NEXT;
		}
		if (c == '}')
			return literal_close(p);
		break;
	case S_LIT_PLUS:
		if (c == '}')
			return literal_close(p);
		break;
	case S_LIT_CR:
		if (c == '\r') {
			p->state = S_LIT_LF;
			return ST_NEXT;
		}
		if (c == '\n')
			return fail(p, IMAP_PARSER_ERR_BARE_LF);
		break;
	case S_LIT_LF:
		if (c != '\n')
			return fail(p, IMAP_PARSER_ERR_BARE_CR);
		if (!p->lit_nonsync) {
			p->state = S_LIT_PENDING;
			return ST_LITERAL;
		}
		literal_begin(p);
		return ST_NEXT;
	default:
		break;
	}
	return fail(p, IMAP_PARSER_ERR_LITERAL_SYNTAX);
}

static enum step head_byte(struct imap_parser *p, unsigned char c)
{
	bool tag = p->state == S_TAG;

	if (c == '\n')
		return fail(p, IMAP_PARSER_ERR_BARE_LF);
	if (tag && c == ' ' && p->tok.len > 0) {
		p->tag = xstrdup(buf_cstr(&p->tok));
		buf_reset(&p->tok);
		p->state = S_NAME;
		return ST_NEXT;
	}
	if (!tag && (c == ' ' || c == '\r') && p->tok.len > 0) {
		p->name = xstrdup(buf_cstr(&p->tok));
		for (char *s = p->name; *s != '\0'; s++)
			if (*s >= 'a' && *s <= 'z')
				*s = (char)(*s - 'a' + 'A');
		p->cmd.tag = p->tag;
		p->cmd.name = p->name;
		buf_reset(&p->tok);
		p->state = c == ' ' ? S_ARG_START : S_CR;
		return ST_NEXT;
	}
	if (tag && c == '\r')
		return fail(p, p->tok.len == 0 ? IMAP_PARSER_ERR_EMPTY_LINE :
			    IMAP_PARSER_ERR_BAD_COMMAND);
	if (tag ? !is_tag_char(c) : !is_atom_char(c))
		return fail(p, tag ? IMAP_PARSER_ERR_BAD_TAG :
			    IMAP_PARSER_ERR_BAD_COMMAND);
	return tok_add(p, c);
}

static enum step step(struct imap_parser *p, unsigned char c)
{
	switch (p->state) {
	case S_TAG:
	case S_NAME:
		return head_byte(p, c);
	case S_ARG_START:
	case S_LIST_FIRST:
		return value_start(p, c);
	case S_AFTER_ARG:
		return after_value(p, c);
	case S_ATOM:
		return atom_byte(p, c);
	case S_SECTION:
		return section_byte(p, c);
	case S_QUOTED:
	case S_QUOTED_ESC:
		return quoted_byte(p, c);
	case S_TILDE:
	case S_LIT_DIGITS:
	case S_LIT_PLUS:
	case S_LIT_CR:
	case S_LIT_LF:
		return literal_byte(p, c);
	case S_CR:
		if (c != '\n')
			return fail(p, IMAP_PARSER_ERR_BARE_CR);
		if (p->depth > 0)
			return fail(p, IMAP_PARSER_ERR_UNBALANCED);
		return ST_COMMAND;
	default:
		panic("imap_parser: step in state %d", (int)p->state);
	}
}

/* One skipped byte; -1 when the skip must end the connection. */
static int skip_byte(struct imap_parser *p, unsigned char c)
{
	switch (p->skip) {
	case SK_DIGITS:
		if (c >= '0' && c <= '9') {
			if (p->skip_size > (UINT64_MAX - 9) / 10)
				p->skip_size = UINT64_MAX;
			else
				p->skip_size = p->skip_size * 10 + (c - '0');
			p->skip_digits++;
			return 0;
		}
		p->skip = c == '+' && p->skip_digits > 0 ? SK_PLUS : SK_NONE;
		break;
	case SK_PLUS:
		p->skip = c == '}' ? SK_CLOSE : SK_NONE;
		break;
	case SK_CLOSE:
		p->skip = c == '\r' ? SK_CR : SK_NONE;
		break;
	case SK_CR:
		p->skip = SK_NONE;
		if (c != '\n')
			break;
		if (p->skip_size > p->limits.literal_max) {
			p->err = IMAP_PARSER_ERR_LITERAL_TOOBIG;
			p->fatal = true;
			p->state = S_FATAL;
			return -1;
		}
		if (p->skip_size > 0) {
			p->skip_left = p->skip_size;
			p->state = S_SKIP_LITERAL;
		}
		return 0;
	case SK_NONE:
		break;
	}
	if (p->skip == SK_NONE && c == '{') {
		p->skip = SK_DIGITS;
		p->skip_size = 0;
		p->skip_digits = 0;
	} else if (c == '\n') {
		p->state = S_TAG;
	}
	return 0;
}

static void consume(struct imap_parser *p, unsigned char c)
{
	p->cmd_len++;
	if (c == '\n')
		p->line_len = 0;
	else if (c != '\r')
		p->line_len++;
}

/* Bulk states: literal data and skipped literals. Returns bytes used. */
static size_t bulk(struct imap_parser *p, const unsigned char *data,
		   size_t size)
{
	if (p->state == S_SKIP_LITERAL) {
		size_t n = size < p->skip_left ? size : (size_t)p->skip_left;

		p->skip_left -= n;
		if (p->skip_left == 0)
			p->state = S_SKIP;
		return n;
	}
	size_t n = p->lit_size - p->lit_got < size ?
		(size_t)(p->lit_size - p->lit_got) : size;

	memcpy(p->lit_node->data + p->lit_got, data, n);
	p->lit_got += n;
	p->cmd_len += n;
	if (p->lit_got == p->lit_size)
		p->state = S_AFTER_ARG;
	return n;
}

/* The byte that caused an error is consumed only if it ended the line;
 * otherwise the skipper sees it (it may start a "{N+}"). */
static int feed_error(struct imap_parser *p, unsigned char c, size_t *i,
		      const char **error_r)
{
	if (p->fatal) {
		p->state = S_FATAL;
	} else if (c == '\n') {
		(*i)++;
		p->state = S_TAG;
	} else {
		p->state = S_SKIP;
		p->skip = SK_NONE;
	}
	p->finished = true;
	*error_r = errors[p->err].text;
	return IMAP_PARSER_ERROR;
}

int imap_parser_feed(struct imap_parser *p, const void *data, size_t size,
		     size_t *consumed_r, const struct imap_command **cmd_r,
		     const char **error_r)
{
	const unsigned char *d = data;
	size_t i = 0;

	ASSERT(p->state != S_LIT_PENDING);
	*consumed_r = 0;
	if (p->state == S_FATAL) {
		*error_r = errors[p->err].text;
		return IMAP_PARSER_ERROR;
	}
	if (p->finished)
		command_clear(p);
	while (i < size) {
		if (p->state == S_LIT_DATA || p->state == S_SKIP_LITERAL) {
			i += bulk(p, d + i, size - i);
			continue;
		}
		unsigned char c = d[i];
		if (p->state == S_SKIP) {
			i++;
			if (skip_byte(p, c) < 0) {
				*consumed_r = i;
				*error_r = errors[p->err].text;
				return IMAP_PARSER_ERROR;
			}
			continue;
		}
		enum step r;
		if (c != '\r' && c != '\n' && p->line_len >= p->limits.line_max)
			r = fail(p, IMAP_PARSER_ERR_LINE_TOO_LONG);
		else if (p->cmd_len >= p->limits.command_max)
			r = fail(p, IMAP_PARSER_ERR_COMMAND_TOO_LONG);
		else
			r = step(p, c);
		if (r == ST_AGAIN)
			continue;
		if (r == ST_ERROR) {
			int ret = feed_error(p, c, &i, error_r);
			*consumed_r = i;
			return ret;
		}
		consume(p, c);
		i++;
		if (r == ST_COMMAND) {
			p->cmd.size = p->cmd_len;
			p->state = S_TAG;
			p->finished = true;
			*cmd_r = &p->cmd;
			*consumed_r = i;
			return IMAP_PARSER_COMMAND;
		}
		if (r == ST_LITERAL) {
			*consumed_r = i;
			return IMAP_PARSER_LITERAL;
		}
	}
	*consumed_r = i;
	return IMAP_PARSER_MORE;
}

uint64_t imap_parser_literal_size(const struct imap_parser *p)
{
	return p->lit_size;
}

bool imap_parser_literal_is8(const struct imap_parser *p)
{
	return p->lit8;
}

void imap_parser_literal_accept(struct imap_parser *p)
{
	ASSERT(p->state == S_LIT_PENDING);
	literal_begin(p);
}

/* The client sends no data without "+": the next byte is a new command.
 * The tag stays readable until the next feed. */
void imap_parser_literal_refuse(struct imap_parser *p)
{
	ASSERT(p->state == S_LIT_PENDING);
	p->state = S_TAG;
	p->finished = true;
}

const char *imap_parser_tag(const struct imap_parser *p)
{
	return p->tag;
}

enum imap_parser_error imap_parser_error_code(const struct imap_parser *p)
{
	return p->err;
}

bool imap_parser_error_fatal(const struct imap_parser *p)
{
	return p->fatal;
}

const char *imap_parser_error_name(enum imap_parser_error code)
{
	if ((unsigned)code >= IMAP_PARSER_ERR_COUNT)
		return "UNKNOWN";
	return errors[code].name;
}
