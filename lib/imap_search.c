/* imap_search: SEARCH arguments to a typed key tree (see imap_search.h).
 * A recursive-descent parser over imap_parser's values, driven by a table
 * of key names; the recursion depth is counted and refused at depth_max,
 * so no input can grow the stack beyond it. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "imap_search.h"
#include "mem.h"

enum arg_kind {
	ARG_NONE,
	ARG_STRING,	/* astring */
	ARG_KEYWORD,	/* flag-keyword atom */
	ARG_HEADER,	/* astring astring */
	ARG_DATE,
	ARG_NUMBER,	/* 32-bit */
	ARG_NZNUMBER,	/* 32-bit, > 0 */
	ARG_SEQSET,
	ARG_MODSEQ,
	ARG_NOT,
	ARG_OR
};

static const struct key_def {
	const char *name;
	enum imap_search_key_type type;
	enum arg_kind arg;
} key_defs[] = {
	{ "ALL", IMAP_SEARCH_ALL, ARG_NONE },
	{ "ANSWERED", IMAP_SEARCH_ANSWERED, ARG_NONE },
	{ "DELETED", IMAP_SEARCH_DELETED, ARG_NONE },
	{ "DRAFT", IMAP_SEARCH_DRAFT, ARG_NONE },
	{ "FLAGGED", IMAP_SEARCH_FLAGGED, ARG_NONE },
	{ "NEW", IMAP_SEARCH_NEW, ARG_NONE },
	{ "OLD", IMAP_SEARCH_OLD, ARG_NONE },
	{ "RECENT", IMAP_SEARCH_RECENT, ARG_NONE },
	{ "SEEN", IMAP_SEARCH_SEEN, ARG_NONE },
	{ "UNANSWERED", IMAP_SEARCH_UNANSWERED, ARG_NONE },
	{ "UNDELETED", IMAP_SEARCH_UNDELETED, ARG_NONE },
	{ "UNDRAFT", IMAP_SEARCH_UNDRAFT, ARG_NONE },
	{ "UNFLAGGED", IMAP_SEARCH_UNFLAGGED, ARG_NONE },
	{ "UNSEEN", IMAP_SEARCH_UNSEEN, ARG_NONE },
	{ "SAVEDATESUPPORTED", IMAP_SEARCH_SAVEDATESUPPORTED, ARG_NONE },
	{ "BCC", IMAP_SEARCH_BCC, ARG_STRING },
	{ "BODY", IMAP_SEARCH_BODY, ARG_STRING },
	{ "CC", IMAP_SEARCH_CC, ARG_STRING },
	{ "FROM", IMAP_SEARCH_FROM, ARG_STRING },
	{ "SUBJECT", IMAP_SEARCH_SUBJECT, ARG_STRING },
	{ "TEXT", IMAP_SEARCH_TEXT, ARG_STRING },
	{ "TO", IMAP_SEARCH_TO, ARG_STRING },
	{ "KEYWORD", IMAP_SEARCH_KEYWORD, ARG_KEYWORD },
	{ "UNKEYWORD", IMAP_SEARCH_UNKEYWORD, ARG_KEYWORD },
	{ "HEADER", IMAP_SEARCH_HEADER, ARG_HEADER },
	{ "BEFORE", IMAP_SEARCH_BEFORE, ARG_DATE },
	{ "ON", IMAP_SEARCH_ON, ARG_DATE },
	{ "SINCE", IMAP_SEARCH_SINCE, ARG_DATE },
	{ "SENTBEFORE", IMAP_SEARCH_SENTBEFORE, ARG_DATE },
	{ "SENTON", IMAP_SEARCH_SENTON, ARG_DATE },
	{ "SENTSINCE", IMAP_SEARCH_SENTSINCE, ARG_DATE },
	{ "SAVEDBEFORE", IMAP_SEARCH_SAVEDBEFORE, ARG_DATE },
	{ "SAVEDON", IMAP_SEARCH_SAVEDON, ARG_DATE },
	{ "SAVEDSINCE", IMAP_SEARCH_SAVEDSINCE, ARG_DATE },
	{ "LARGER", IMAP_SEARCH_LARGER, ARG_NUMBER },
	{ "SMALLER", IMAP_SEARCH_SMALLER, ARG_NUMBER },
	{ "OLDER", IMAP_SEARCH_OLDER, ARG_NZNUMBER },
	{ "YOUNGER", IMAP_SEARCH_YOUNGER, ARG_NZNUMBER },
	{ "MODSEQ", IMAP_SEARCH_MODSEQ, ARG_MODSEQ },
	{ "UID", IMAP_SEARCH_UID, ARG_SEQSET },
	{ "NOT", IMAP_SEARCH_NOT, ARG_NOT },
	{ "OR", IMAP_SEARCH_OR, ARG_OR },
};

struct ctx {
	const struct imap_search_limits *limits;
	struct imap_search_program *prog;
	enum imap_search_error code;
	const char *error;
};

static int fail(struct ctx *c, enum imap_search_error code, const char *text)
{
	c->code = code;
	c->error = text;
	return -1;
}

static int syntax(struct ctx *c, const char *text)
{
	return fail(c, IMAP_SEARCH_ERR_SYNTAX, text);
}

/* A new key, chained for freeing; NULL once keys_max is reached. */
static struct imap_search_key *key_new(struct ctx *c,
				       enum imap_search_key_type type)
{
	struct imap_search_key *k;

	if (c->prog->key_count >= c->limits->keys_max) {
		fail(c, IMAP_SEARCH_ERR_TOO_MANY_KEYS, "Too many search keys");
		return NULL;
	}
	k = xcalloc(1, sizeof(*k));
	k->type = type;
	k->alloc_next = c->prog->alloc;
	c->prog->alloc = k;
	c->prog->key_count++;
	return k;
}

static char *copy(const char *s, size_t len)
{
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

static bool is_atom(const struct imap_arg *a)
{
	return a != NULL && (a->type == IMAP_ARG_ATOM ||
			     a->type == IMAP_ARG_NUMBER ||
			     a->type == IMAP_ARG_NIL);
}

/* flag-keyword = atom: no "\", list wildcards, "]" or a section. */
static bool valid_keyword(const struct imap_arg *a)
{
	if (!is_atom(a))
		return false;
	for (size_t i = 0; i < a->len; i++)
		if (strchr("\\*%]() \"{", a->str[i]) != NULL)
			return false;
	return true;
}

static bool valid_field(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		/* RFC 5322 ftext */
		if (ch < 33 || ch > 126 || ch == ':')
			return false;
	}
	return true;
}

static bool leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* date-text = 1*2DIGIT "-" Mon "-" 4DIGIT, atom or quoted. */
static bool parse_date(const struct imap_arg *a, struct imap_search_date *d)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	static const uint8_t mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30,
					 31, 30, 31 };
	const char *s;
	size_t i = 0, n;
	unsigned day = 0, year = 0, mon;

	if (a == NULL || (!is_atom(a) && a->type != IMAP_ARG_STRING))
		return false;
	s = a->str;
	n = a->len;
	while (i < n && i < 2 && s[i] >= '0' && s[i] <= '9')
		day = day * 10 + (unsigned)(s[i++] - '0');
	if (i == 0 || n != i + 9 || s[i] != '-' || s[i + 4] != '-')
		return false;
	for (mon = 0; mon < 12; mon++)
		if (strncasecmp(s + i + 1, months + mon * 3, 3) == 0)
			break;
	if (mon == 12)
		return false;
	for (size_t k = i + 5; k < n; k++) {
		if (s[k] < '0' || s[k] > '9')
			return false;
		year = year * 10 + (unsigned)(s[k] - '0');
	}
	if (day == 0 || day > mdays[mon] ||
	    (mon == 1 && day == 29 && !leap(year)))
		return false;
	d->year = (uint16_t)year;
	d->month = (uint8_t)(mon + 1);
	d->day = (uint8_t)day;
	return true;
}

static bool parse_number(const struct imap_arg *a, uint64_t max,
			 uint64_t *num_r)
{
	if (a == NULL || a->type != IMAP_ARG_NUMBER || a->num > max)
		return false;
	*num_r = a->num;
	return true;
}

static int parse_seqset(struct ctx *c, const struct imap_arg *a,
			struct imap_search_key *k)
{
	const char *error;

	if (!is_atom(a))
		return syntax(c, "Missing sequence set");
	if (imap_seqset_parse(a->str, a->len, c->limits->ranges_max, &k->set,
			      &error) < 0)
		return syntax(c, error);
	return 0;
}

/* MODSEQ [entry-name SP entry-type] mod-sequence-valzer (RFC 7162). */
static int parse_modseq(struct ctx *c, const struct imap_arg **ap,
			struct imap_search_key *k)
{
	static const char *const types[] = { "priv", "shared", "all" };
	const struct imap_arg *a = *ap;

	if (a != NULL && a->type == IMAP_ARG_STRING) {
		const struct imap_arg *t = a->next;
		size_t i;

		if (a->len <= 7 || strncasecmp(a->str, "/flags/", 7) != 0 ||
		    memchr(a->str, '\0', a->len) != NULL)
			return syntax(c, "Invalid MODSEQ entry name");
		if (t == NULL || t->type != IMAP_ARG_ATOM)
			return syntax(c, "Missing MODSEQ entry type");
		for (i = 0; i < 3; i++)
			if (strcasecmp(t->str, types[i]) == 0)
				break;
		if (i == 3)
			return syntax(c, "Invalid MODSEQ entry type");
		k->field = copy(a->str, a->len);
		k->modseq_type = (enum imap_search_modseq_type)(i + 1);
		a = t->next;
	}
	if (!parse_number(a, INT64_MAX, &k->num))
		return syntax(c, "Invalid MODSEQ value");
	*ap = a->next;
	return 0;
}

static int parse_key(struct ctx *c, const struct imap_arg **ap,
		     unsigned depth, struct imap_search_key **key_r);

/* One or more keys up to the end of the list at *ap, as an AND. */
static int parse_group(struct ctx *c, const struct imap_arg *a,
		       unsigned depth, struct imap_search_key **key_r)
{
	struct imap_search_key *g = key_new(c, IMAP_SEARCH_AND), **tail;

	if (g == NULL)
		return -1;
	if (a == NULL)
		return syntax(c, "Missing search key");
	tail = &g->child;
	while (a != NULL) {
		if (parse_key(c, &a, depth, tail) < 0)
			return -1;
		tail = &(*tail)->next;
	}
	*key_r = g;
	return 0;
}

static const struct key_def *key_find(const char *name)
{
	for (size_t i = 0; i < sizeof(key_defs) / sizeof(key_defs[0]); i++)
		if (strcasecmp(name, key_defs[i].name) == 0)
			return &key_defs[i];
	return NULL;
}

/* The argument(s) of a key of def, from *ap on. */
static int parse_key_args(struct ctx *c, const struct key_def *def,
			  const struct imap_arg **ap, unsigned depth,
			  struct imap_search_key *k)
{
	const struct imap_arg *a = *ap, *b;
	const char *s;
	size_t len;

	switch (def->arg) {
	case ARG_NONE:
		return 0;
	case ARG_STRING:
		if (!imap_arg_get_astring(a, &s, &len))
			return syntax(c, "Missing search string");
		k->str = copy(s, len);
		k->len = len;
		break;
	case ARG_KEYWORD:
		if (!valid_keyword(a))
			return syntax(c, "Invalid keyword");
		k->str = copy(a->str, a->len);
		k->len = a->len;
		break;
	case ARG_HEADER:
		if (!imap_arg_get_astring(a, &s, &len) ||
		    !valid_field(s, len))
			return syntax(c, "Invalid header field name");
		b = a->next;
		k->field = copy(s, len);
		if (!imap_arg_get_astring(b, &s, &len))
			return syntax(c, "Missing search string");
		k->str = copy(s, len);
		k->len = len;
		a = b;
		break;
	case ARG_DATE:
		if (!parse_date(a, &k->date))
			return syntax(c, "Invalid date");
		break;
	case ARG_NUMBER:
	case ARG_NZNUMBER:
		if (!parse_number(a, UINT32_MAX, &k->num) ||
		    (def->arg == ARG_NZNUMBER && k->num == 0))
			return syntax(c, "Invalid number");
		break;
	case ARG_SEQSET:
		if (parse_seqset(c, a, k) < 0)
			return -1;
		break;
	case ARG_MODSEQ:
		return parse_modseq(c, ap, k);
	case ARG_NOT:
	case ARG_OR:
		if (a == NULL)
			return syntax(c, "Missing search key");
		if (parse_key(c, ap, depth, &k->child) < 0)
			return -1;
		if (def->arg == ARG_NOT)
			return 0;
		if (*ap == NULL)
			return syntax(c, "Missing search key");
		return parse_key(c, ap, depth, &k->child->next);
	}
	*ap = a->next;
	return 0;
}

/* One key from *ap on, nested depth deep; advances *ap past it. */
static int parse_key(struct ctx *c, const struct imap_arg **ap,
		     unsigned depth, struct imap_search_key **key_r)
{
	const struct imap_arg *a = *ap;
	const struct key_def *def;
	struct imap_search_key *k;

	if (a->type == IMAP_ARG_LIST || a->type == IMAP_ARG_ATOM) {
		/* a group, NOT and OR nest one level deeper */
		def = a->type == IMAP_ARG_ATOM ? key_find(a->str) : NULL;
		if (a->type == IMAP_ARG_LIST || (def != NULL &&
		    (def->arg == ARG_NOT || def->arg == ARG_OR))) {
			if (depth >= c->limits->depth_max)
				return fail(c, IMAP_SEARCH_ERR_TOO_DEEP,
					    "Search keys nested too deep");
			depth++;
			if (depth > c->prog->depth)
				c->prog->depth = depth;
		}
		if (a->type == IMAP_ARG_LIST) {
			*ap = a->next;
			return parse_group(c, a->list, depth, key_r);
		}
	} else {
		def = NULL;
	}
	if (def == NULL) {
		/* a bare sequence set: "1:*", "5", "$" */
		if (!is_atom(a) || !(a->str[0] == '$' || a->str[0] == '*' ||
				     (a->str[0] >= '0' && a->str[0] <= '9')))
			return syntax(c, "Unknown search key");
		if ((k = key_new(c, IMAP_SEARCH_SEQSET)) == NULL ||
		    parse_seqset(c, a, k) < 0)
			return -1;
		*ap = a->next;
		*key_r = k;
		return 0;
	}
	if ((k = key_new(c, def->type)) == NULL)
		return -1;
	*ap = a->next;
	*key_r = k;
	return parse_key_args(c, def, ap, depth, k);
}

/* RETURN (opt ...) of ESEARCH; advances *ap past it. */
static int parse_return(struct ctx *c, const struct imap_arg **ap)
{
	static const char *const names[] = { "MIN", "MAX", "ALL", "COUNT",
					     "SAVE" };
	const struct imap_arg *l = (*ap)->next;

	if (l == NULL || l->type != IMAP_ARG_LIST)
		return syntax(c, "Missing RETURN options");
	c->prog->has_return = true;
	for (const struct imap_arg *o = l->list; o != NULL; o = o->next) {
		size_t i;

		for (i = 0; i < 5; i++)
			if (o->type == IMAP_ARG_ATOM &&
			    strcasecmp(o->str, names[i]) == 0)
				break;
		if (i == 5)
			return syntax(c, "Unknown RETURN option");
		c->prog->return_opts |= 1u << i;
	}
	if (c->prog->return_opts == 0)
		c->prog->return_opts = IMAP_SEARCH_RETURN_ALL;
	*ap = l->next;
	return 0;
}

static int parse_charset(struct ctx *c, const struct imap_arg **ap)
{
	const struct imap_arg *a = (*ap)->next;
	const char *s;
	size_t len;

	if (!imap_arg_get_astring(a, &s, &len))
		return syntax(c, "Missing charset");
	if (strlen(s) != len || (strcasecmp(s, "UTF-8") != 0 &&
				 strcasecmp(s, "US-ASCII") != 0))
		return fail(c, IMAP_SEARCH_ERR_BADCHARSET,
			    "Unsupported charset");
	c->prog->has_charset = true;
	*ap = a->next;
	return 0;
}

static bool is_word(const struct imap_arg *a, const char *word)
{
	return a != NULL && a->type == IMAP_ARG_ATOM &&
	       strcasecmp(a->str, word) == 0;
}

int imap_search_parse(const struct imap_arg *args,
		      const struct imap_search_limits *limits,
		      struct imap_search_program **prog_r,
		      enum imap_search_error *code_r, const char **error_r)
{
	struct ctx c = { .limits = limits };
	int r = 0;

	c.prog = xcalloc(1, sizeof(*c.prog));
	if (is_word(args, "RETURN"))
		r = parse_return(&c, &args);
	if (r == 0 && is_word(args, "CHARSET"))
		r = parse_charset(&c, &args);
	if (r == 0)
		r = parse_group(&c, args, 0, &c.prog->root);
	if (r < 0) {
		imap_search_program_free(&c.prog);
		*prog_r = NULL;
		*code_r = c.code;
		*error_r = c.error;
		return -1;
	}
	*prog_r = c.prog;
	*code_r = IMAP_SEARCH_ERR_NONE;
	*error_r = NULL;
	return 0;
}

void imap_search_program_free(struct imap_search_program **prog)
{
	struct imap_search_key *k, *next;

	if (*prog == NULL)
		return;
	for (k = (*prog)->alloc; k != NULL; k = next) {
		next = k->alloc_next;
		free((char *)k->str);
		free((char *)k->field);
		imap_seqset_deinit(&k->set);
		free(k);
	}
	free(*prog);
	*prog = NULL;
}

const char *imap_search_key_name(enum imap_search_key_type type)
{
	if (type == IMAP_SEARCH_SEQSET)
		return "SEQSET";
	if (type == IMAP_SEARCH_AND)
		return "AND";
	for (size_t i = 0; i < sizeof(key_defs) / sizeof(key_defs[0]); i++)
		if (key_defs[i].type == type)
			return key_defs[i].name;
	return "?";
}
