/* maps_impl: what the table types (maps_texthash.c, maps_hash.c,
 * maps_inline.c, maps_pcre.c, maps_cidr.c; the rule lists of the last two
 * in maps_rules.c) share with the list logic in maps.c. Private to
 * lib/maps*: nothing outside those files includes it. */
#ifndef SUREL_MAPS_IMPL_H
#define SUREL_MAPS_IMPL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include "buf.h"
#include "maps.h"

/* The largest texthash source read into memory: beyond it, use hash:. */
#define MAPS_TEXT_FILE_MAX (64 * 1024 * 1024)
/* Longest logical line of a text table (key, white space, value). */
#define MAPS_TEXT_LINE_MAX (MAPS_KEY_MAX + MAPS_VALUE_MAX + 4096)
/* Most tables in one list. */
#define MAPS_LIST_MAX 64

struct maps_table;

struct maps_type {
	const char *name;	/* "texthash" */
	/* For a type read from a file: appended to the name gives the file
	 * whose changes trigger a reopen (t->watch_path). NULL: no file. */
	const char *watch_suffix;
	/* Opens (or reopens) t->name; fills t->impl. */
	int (*open)(struct maps_table *t, const char **error_r);
	/* Pattern types (pcre:, cidr:) set it: they get the key exactly as
	 * the caller gave it, of any length, never case-folded (a regex
	 * has its own i flag; an address has no case). */
	bool raw_key;
	/* key is already folded as the flags ask and at most MAPS_KEY_MAX
	 * bytes (unless raw_key). Returns 1 with *value_r (valid until the next lookup on t),
	 * 0, or -1 with *error_r. */
	int (*lookup)(struct maps_table *t, const char *key,
		      const char **value_r, const char **error_r);
	/* Releases t->impl; t->impl is NULL afterwards. */
	void (*close)(struct maps_table *t);
};

struct maps_table {
	const struct maps_type *type;
	char *name;		/* the part after "type:" */
	unsigned flags;
	void *impl;
	/* Reopen on change: NULL for tables without a file. */
	char *watch_path;
	uint64_t checked_ms;	/* last stat (monotonic) */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	char *error;		/* set while a reopen fails: lookups fail */
	/* A lookup's problem that is not a failure (a regex match limit
	 * hit: no match, as Postfix), kept for maps_take_warning. */
	char *warning;
};

extern const struct maps_type maps_type_texthash;
extern const struct maps_type maps_type_hash;
extern const struct maps_type maps_type_btree;
extern const struct maps_type maps_type_inline;
extern const struct maps_type maps_type_pcre;
extern const struct maps_type maps_type_cidr;

/* Formats an error into the shared buffer (valid until the next call of
 * any maps function) and returns it. */
const char *maps_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* An in-memory string table (texthash:, inline:): open addressing,
 * keys and values copied. */
struct maps_mem;
struct maps_mem *maps_mem_new(void);
void maps_mem_free(struct maps_mem **m);
/* Adds key -> value. With replace false an existing key is kept (returns
 * 0); otherwise the value is replaced (returns 0). Returns 1 when added. */
int maps_mem_put(struct maps_mem *m, const char *key, const char *value,
		 bool replace);
const char *maps_mem_get(const struct maps_mem *m, const char *key);
/* The lookup and close of a table whose impl is a struct maps_mem. */
int maps_mem_table_lookup(struct maps_table *t, const char *key,
			  const char **value_r, const char **error_r);
void maps_mem_table_close(struct maps_table *t);

/* Reads a whole regular file of at most max bytes into *data_r
 * (NUL-terminated, caller frees). 0, or -1 with errno (EINVAL: not a
 * regular file, EFBIG: larger than max). */
int maps_read_file(const char *path, size_t max, char **data_r,
		   size_t *len_r);

/* Replaces t's pending warning (formatted). */
void maps_table_warn(struct maps_table *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

bool maps_is_space(char c);
/* The logical lines of a table source (Postfix's format, as
 * maps_texthash_parse: comments and blank lines skipped, continuation
 * lines joined with their white space, NUL bytes and lines over
 * MAPS_TEXT_LINE_MAX refused). fn gets each logical line (writable,
 * valid during the call) and the number of its first line; it returns 0
 * or -1 with *error_r ("line N: ..."), which stops the parse. */
typedef int maps_line_fn(void *ctx, char *line, unsigned lineno,
			 const char **error_r);
int maps_lines_parse(const char *data, size_t len, maps_line_fn *fn,
		     void *ctx, const char **error_r);
/* Reads the file t->name (at most max bytes) and parses its lines; an
 * error is "FILE, line N: ..." or "open FILE: ...". 0 or -1. */
int maps_load_lines(const struct maps_table *t, size_t max, maps_line_fn *fn,
		    void *ctx, const char **error_r);

/* Lower-cases in place unless flags say MAPS_FLAG_KEEP_CASE. */
void maps_fold(char *s, unsigned flags);

/* Splits off the next element of a comma/space separated list where
 * braces group ("inline:{ a=b, c=d }, hash:/x"), like Postfix's
 * mystrtokq. Returns NULL at the end, or the element (NUL-terminated in
 * place); *s advances. *error_r on unbalanced braces (returns NULL). */
char *maps_next_element(char **s, const char **error_r);

/* The rule lists of the pattern types (pcre:, cidr:; maps_rules.c):
 * "[!]pattern result" rules and "if [!]pattern" ... "endif" blocks, as
 * Postfix's pcre_table(5) and cidr_table(5) share them; the first rule
 * that applies gives its result. A type's rule struct starts with a
 * struct maps_rule; the type parses only its patterns. */
#define MAPS_RULES_NEST_MAX 64

enum maps_rule_op { MAPS_RULE, MAPS_RULE_IF, MAPS_RULE_ENDIF };

struct maps_rule {
	enum maps_rule_op op;
	bool negate;
	char *result;		/* RULE only */
	size_t skip_to;		/* IF only: the index after its ENDIF */
	unsigned line;
};

struct maps_rules_syntax {
	size_t rule_size;	/* sizeof the type's rule struct */
	size_t rules_max;	/* more rules fail the open */
	/* pcre: "if"/"endif" end at any non-alphanumeric ("if/x/"); cidr:
	 * only at white space or the end of the line. */
	bool keyword_ends_at_nonalnum;
	/* The message (after "line N: ") for a result over MAPS_VALUE_MAX. */
	const char *result_too_long;
	/* Parses "[!]pattern" at *p into r (negate included); *p moves past
	 * it and the white space after it. 0, or -1 with "line N: ...". */
	int (*pattern)(char **p, struct maps_rule *r, unsigned line,
		       const char **error_r);
	/* NULL, or checks a RULE's result once set: 0 or -1 as pattern. */
	int (*check_result)(const struct maps_rule *r, unsigned line,
			    const char **error_r);
	/* NULL, or releases what pattern allocated (r may be half made). */
	void (*free_rule)(struct maps_rule *r);
};

struct maps_rules {
	const struct maps_rules_syntax *syntax;
	unsigned char *rules;	/* count rules of syntax->rule_size bytes */
	size_t count;
	/* Parse time: the IF rules still open. */
	size_t open_ifs[MAPS_RULES_NEST_MAX];
	size_t depth;
};

/* Reads and parses the file t->name (at most file_max bytes) into rs,
 * which is zeroed with its syntax set. 0, or -1 with "FILE, line N: ..."
 * or the read error; either way release rs with maps_rules_deinit. */
int maps_rules_load(struct maps_rules *rs, const struct maps_table *t,
		    size_t file_max, const char **error_r);
void maps_rules_deinit(struct maps_rules *rs);
struct maps_rule *maps_rules_at(const struct maps_rules *rs, size_t i);
/* Whether rule r's pattern matches: 1, 0, or -1 when neither r nor its
 * negation may apply (cidr: the other address family; pcre: a failed
 * match). */
typedef int maps_rule_test_fn(void *ctx, const struct maps_rule *r);
/* Walks the rules (an IF whose test does not apply skips its block) and
 * returns the first RULE that applies, or NULL. */
const struct maps_rule *maps_rules_first(const struct maps_rules *rs,
					 maps_rule_test_fn *test, void *ctx);

#endif
