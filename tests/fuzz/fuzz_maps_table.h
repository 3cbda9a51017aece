/* fuzz_maps_table.h: the body shared by the fuzz targets of the file
 * table types (fuzz_maps_pcre, fuzz_maps_cidr). The input is
 * "KEY\nTABLE": TABLE is written to a file and opened as TYPE:FILE; when
 * it opens, KEY is looked up. An open either succeeds or fails with
 * "FILE, line N: ..." or a read error; a lookup answers 0 or 1 (never
 * -1 on a table that opened: a bad rule is refused at open), or -1 for
 * a result that expands past the value limit. */
#ifndef SUREL_FUZZ_MAPS_TABLE_H
#define SUREL_FUZZ_MAPS_TABLE_H
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "maps.h"
#include "mem.h"

/* Writes the table to /tmp/fuzz_maps_TYPE.PID (made once) into path. */
static inline void fuzz_maps_table_write(const char *type, char *path,
					 size_t path_size,
					 const uint8_t *data, size_t size)
{
	if (path[0] == '\0')
		snprintf(path, path_size, "/tmp/fuzz_maps_%s.%d", type,
			 (int)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ASSERT(fd >= 0);
	ASSERT(write(fd, data, size) == (ssize_t)size);
	close(fd);
}

static inline void fuzz_maps_table(const char *type, const uint8_t *data,
				   size_t size)
{
	static char path[64];
	const uint8_t *nl = memchr(data, '\n', size);
	size_t klen = nl != NULL ? (size_t)(nl - data) : size;
	char spec[80], *key;
	struct maps *m;
	const char *value, *error;

	key = xmalloc(klen + 1);
	memcpy(key, data, klen);
	key[klen] = '\0';
	fuzz_maps_table_write(type, path, sizeof(path),
			      nl != NULL ? nl + 1 : data + size,
			      nl != NULL ? size - klen - 1 : 0);
	snprintf(spec, sizeof(spec), "%s:%s", type, path);
	if (maps_open(spec, 0, &m, &error) < 0) {
		ASSERT(strstr(error, path) != NULL);
		free(key);
		return;
	}
	int ret = maps_lookup(m, key, &value, &error);
	ASSERT(ret == 0 || ret == 1 || (ret == -1 && strstr(error, "longer")));
	if (ret == 1)
		ASSERT(*value != '\0' && strlen(value) <= MAPS_VALUE_MAX);
	(void)maps_take_warning(m);
	maps_free(&m);
	free(key);
}
#endif
