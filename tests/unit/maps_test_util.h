/* maps_test_util.h: the harness shared by the unit tests of the file
 * table types (test_maps_pcre, test_maps_cidr): one table file in a
 * temporary directory, rewritten atomically per case, opened by its
 * spec ("TYPE:PATH"), with checks of a lookup, of an open error ("PATH,
 * line N: ..."), and of the reopen after the file changes. One test
 * program includes it once (it keeps the file's names in statics). */
#ifndef SUREL_MAPS_TEST_UTIL_H
#define SUREL_MAPS_TEST_UTIL_H
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "maps.h"
#include "mem.h"
#include "unit.h"

static char maps_test_dir[64];
static char maps_test_path[600], maps_test_spec[620];

/* Makes /tmp/test_maps_TYPE.XXXXXX with the table file t.TYPE in it:
 * 0, or -1. */
static inline int maps_test_setup(const char *type)
{
	snprintf(maps_test_dir, sizeof(maps_test_dir),
		 "/tmp/test_maps_%s.XXXXXX", type);
	if (mkdtemp(maps_test_dir) == NULL)
		return -1;
	snprintf(maps_test_path, sizeof(maps_test_path), "%s/t.%s",
		 maps_test_dir, type);
	snprintf(maps_test_spec, sizeof(maps_test_spec), "%s:%s", type,
		 maps_test_path);
	return 0;
}

static inline void maps_test_cleanup(void)
{
	unit_rmtree(maps_test_dir);
}

/* Replaces the table file by rename, as an operator's editor would. */
static inline void maps_test_write(const char *text)
{
	char tmp[620];
	size_t len = strlen(text);

	snprintf(tmp, sizeof(tmp), "%s.new", maps_test_path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		abort();
	close(fd);
	if (rename(tmp, maps_test_path) < 0)
		abort();
}

/* Opens text as the table and looks key up: the value (caller frees)
 * or NULL; *ret_r is the lookup's return, -9 when the open failed. */
static inline char *maps_test_lookup(const char *text, const char *key,
				     int *ret_r)
{
	struct maps *m;
	const char *value, *error;
	char *out = NULL;

	maps_test_write(text);
	*ret_r = -9;
	if (maps_open(maps_test_spec, 0, &m, &error) < 0)
		return NULL;
	*ret_r = maps_lookup(m, key, &value, &error);
	if (*ret_r == 1)
		out = xstrdup(value);
	maps_free(&m);
	return out;
}

/* key in the table text gives want (NULL: not found). */
static inline void maps_test_check(const char *text, const char *key,
				   const char *want)
{
	int ret;
	char *v = maps_test_lookup(text, key, &ret);

	if (want == NULL) {
		UNIT_CHECK(ret == 0);
		if (ret != 0)
			fprintf(stderr, "  table %s key %s: %d\n", text, key,
				ret);
	} else {
		UNIT_CHECK(ret == 1);
		UNIT_STREQ(v, want);
	}
	free(v);
}

/* The open fails and the error names the file and the line. */
static inline void maps_test_check_error(const char *text, unsigned line,
					 const char *what)
{
	struct maps *m = NULL;
	const char *error = NULL;
	char want[700];

	maps_test_write(text);
	UNIT_CHECK(maps_open(maps_test_spec, 0, &m, &error) == -1);
	snprintf(want, sizeof(want), "%s, line %u: ", maps_test_path, line);
	UNIT_CHECK(error != NULL && strstr(error, want) != NULL &&
		   strstr(error, what) != NULL);
	if (error == NULL || strstr(error, what) == NULL)
		fprintf(stderr, "  table \"%s\": %s\n", text,
			error ? error : "(opened)");
	maps_free(&m);
}

/* An open table follows its file: texts[0] and texts[1] give key the
 * values "one" and "two"; texts[2] has an error on line 1, which fails
 * lookups until it is fixed; texts[3] gives "four". */
static inline void maps_test_reopen(const char *key,
				    const char *const texts[4])
{
	static const char *const want[4] = { "one", "two", NULL, "four" };
	struct maps *m;
	const char *value, *error;

	maps_test_write(texts[0]);
	UNIT_CHECK(maps_open(maps_test_spec, 0, &m, &error) == 0);
	for (int i = 0; i < 4; i++) {
		if (i > 0) {
			maps_test_write(texts[i]);
			usleep(1100 * 1000);
		}
		int ret = maps_lookup(m, key, &value, &error);
		if (want[i] == NULL) {
			UNIT_CHECK(ret == -1);
			UNIT_CHECK(strstr(error, "line 1") != NULL);
		} else {
			UNIT_CHECK(ret == 1);
			UNIT_STREQ(value, want[i]);
		}
	}
	maps_free(&m);
}
#endif
