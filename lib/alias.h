/* alias: virtual_alias_maps expansion, done once when a message is queued
 * (as Postfix's cleanup does) so that every final recipient has its own
 * durable status in the queue file. A value is a comma/space separated list
 * of addresses; expansion recurses with a depth limit (alias_max_depth) and
 * a result limit, drops duplicates, and keeps an address that maps to
 * itself. */
#ifndef SUREL_ALIAS_H
#define SUREL_ALIAS_H
#include <stddef.h>
#include "maps.h"

#define ALIAS_MAX_DEPTH 20
#define ALIAS_MAX_RESULTS 1000

struct alias_list {
	char **addrs;
	size_t count;
};

/* Expands address through maps (NULL maps: the address itself). Returns 1
 * (expanded or not, list filled: the address itself when there is no
 * alias), -1 temporary failure, or -2 when a limit (depth, count) is
 * exceeded (*error_r static). */
int alias_expand(struct maps *maps, const char *address, const char *delimiter,
		 struct alias_list *list_r, const char **error_r)
	__attribute__((warn_unused_result));
void alias_list_free(struct alias_list *list);

#endif
