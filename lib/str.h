/* str: bounded string helpers. No strcpy/strcat/sprintf/atoi anywhere:
 * build strings with buf, copy with str_copy, parse numbers here. */
#ifndef SUREL_STR_H
#define SUREL_STR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copies src into dst (size dstsize); returns -1 (dst set to "") if it
 * does not fit, never truncates. */
int str_copy(char *dst, size_t dstsize, const char *src)
	__attribute__((warn_unused_result));
void str_lower(char *s);
bool str_eq_ci(const char *a, const char *b);
/* True if s starts with prefix, ASCII case-insensitively. */
bool str_prefix_ci(const char *s, const char *prefix);
/* Strips leading and trailing white space in place; returns the start. */
char *str_trim(char *s);
/* Parses a whole decimal unsigned number; -1 on junk, sign or overflow. */
int str_to_u64(const char *s, uint64_t *value_r)
	__attribute__((warn_unused_result));
/* Next token of s separated by any of delim (like strsep, skipping empty
 * tokens); NULL at the end. *s is advanced. */
char *str_next_token(char **s, const char *delim);

#endif
