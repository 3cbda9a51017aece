/* str: bounded string helpers; see str.h. */
#include "config.h"
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include "str.h"

int str_copy(char *dst, size_t dstsize, const char *src)
{
	size_t len = strlen(src);

	if (len >= dstsize) {
		if (dstsize > 0)
			dst[0] = '\0';
		return -1;
	}
	memcpy(dst, src, len + 1);
	return 0;
}

void str_lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

bool str_eq_ci(const char *a, const char *b) { return strcasecmp(a, b) == 0; }

bool str_prefix_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

char *str_trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
	return s;
}

int str_to_u64(const char *s, uint64_t *value_r)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*s - '0'), &v))
			return -1;
	}
	*value_r = v;
	return 0;
}

char *str_next_token(char **s, const char *delim)
{
	char *p = *s, *start;

	if (p == NULL)
		return NULL;
	p += strspn(p, delim);
	if (*p == '\0') {
		*s = p;
		return NULL;
	}
	start = p;
	p += strcspn(p, delim);
	if (*p != '\0')
		*p++ = '\0';
	*s = p;
	return start;
}
