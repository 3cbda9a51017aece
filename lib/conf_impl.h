/* conf_impl: what conf.c and conf_expand.c share; private to the conf
 * module (conf.h is its interface). */
#ifndef SUREL_CONF_IMPL_H
#define SUREL_CONF_IMPL_H
#include <stddef.h>
#include "buf.h"

/* The characters of a parameter name. */
#define CONF_NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
	"0123456789_"

/* One complete configuration (conf.c). */
struct conf_gen;

/* The raw value of name[0..len) in g while expanding: explicit, default
 * or computed; NULL when nothing defines it. Marks a name that is not in
 * the table as used (no "unknown parameter" warning). */
const char *conf_gen_raw(struct conf_gen *g, const char *name, size_t len);

/* Appends the expansion of s[0..len) in g to out (see conf.h for the
 * syntax and the bounds). Returns 0, or -1 with *reason_r (static text)
 * when a bound is passed or the syntax is bad; out is then undefined. */
int conf_expand(struct conf_gen *g, const char *s, size_t len,
		struct buf *out, const char **reason_r)
	__attribute__((warn_unused_result));

#endif
