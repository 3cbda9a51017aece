/* maps_inline: inline:{ key=value, { key = value with spaces }, ... }, a
 * small table written in main.cf itself, with Postfix's syntax. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "maps.h"
#include "maps_impl.h"
#include "mem.h"
#include "str.h"

/* Strips the braces of "{ ... }" (the closing one must end the element)
 * and the white space inside them. */
static int maps_inline_unbrace(char **elem, const char **error_r)
{
	char *s = *elem;
	size_t len = strlen(s);

	if (len < 2 || s[len - 1] != '}') {
		*error_r = maps_error("syntax error after '}' in \"%.100s\"", s);
		return -1;
	}
	s[len - 1] = '\0';
	*elem = str_trim(s + 1);
	return 0;
}

/* "name = value": the name ends at the first '='; both are trimmed. */
static int maps_inline_split(char *elem, char **key_r, char **value_r,
			     const char **error_r)
{
	char *eq = strchr(elem, '=');

	if (eq == NULL) {
		*error_r = maps_error("missing '=' after name in \"%.100s\"",
				      elem);
		return -1;
	}
	*eq = '\0';
	*key_r = str_trim(elem);
	*value_r = str_trim(eq + 1);
	if (**key_r == '\0') {
		*error_r = maps_error("missing name before '='");
		return -1;
	}
	if (strlen(*key_r) > MAPS_KEY_MAX || strlen(*value_r) > MAPS_VALUE_MAX) {
		*error_r = maps_error("name or value too long");
		return -1;
	}
	return 0;
}

static int maps_inline_fill(struct maps_mem *mem, char *p, unsigned flags,
			    const char **error_r)
{
	const char *err = NULL;
	char *elem, *key, *value;
	size_t count = 0;

	while ((elem = maps_next_element(&p, &err)) != NULL) {
		if (elem[0] == '{' && maps_inline_unbrace(&elem, error_r) < 0)
			return -1;
		if (maps_inline_split(elem, &key, &value, error_r) < 0)
			return -1;
		maps_fold(key, flags);
		/* A later entry replaces an earlier one, as in Postfix. */
		(void)maps_mem_put(mem, key, value, true);
		count++;
	}
	if (err != NULL) {
		*error_r = err;
		return -1;
	}
	if (count == 0) {
		*error_r = maps_error("empty table");
		return -1;
	}
	return 0;
}

static int maps_inline_open(struct maps_table *t, const char **error_r)
{
	size_t len = strlen(t->name);
	struct maps_mem *mem;
	const char *err;

	if (len < 2 || t->name[0] != '{' || t->name[len - 1] != '}') {
		*error_r = maps_error("bad syntax: \"inline:%.100s\"; need "
				      "\"inline:{name=value...}\"", t->name);
		return -1;
	}
	char *copy = xstrndup(t->name + 1, len - 2);
	mem = maps_mem_new();
	int ret = maps_inline_fill(mem, copy, t->flags, &err);
	free(copy);
	if (ret < 0) {
		char msg[512];	/* err lives in the buffer maps_error fills */

		snprintf(msg, sizeof(msg), "%s", err);
		*error_r = maps_error("inline:%.100s: %s", t->name, msg);
		maps_mem_free(&mem);
		return -1;
	}
	t->impl = mem;
	return 0;
}

const struct maps_type maps_type_inline = {
	.name = "inline",
	.open = maps_inline_open,
	.lookup = maps_mem_table_lookup,
	.close = maps_mem_table_close,
};
