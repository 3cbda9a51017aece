// fuzz-sources: lib/maps.c lib/maps_texthash.c lib/maps_inline.c lib/maps_hash.c lib/maps_pcre.c lib/maps_cidr.c lib/maps_rules.c
/* fuzz_maps_cidr: the cidr: table parser and a lookup. The input is
 * "KEY\nTABLE": TABLE is written to a file and opened as cidr:FILE; when
 * it opens, KEY is looked up. An open either succeeds or fails with
 * "FILE, line N: ..." or a read error; a lookup answers 0 or 1 (never
 * -1 on a table that opened: a bad rule is refused at open). */
#include "config.h"
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "maps.h"
#include "mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void write_table(const uint8_t *data, size_t size)
{
	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/tmp/fuzz_maps_cidr.%d", (int)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ASSERT(fd >= 0);
	ASSERT(write(fd, data, size) == (ssize_t)size);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t klen = nl != NULL ? (size_t)(nl - data) : size;
	char spec[80], *key;
	struct maps *m;
	const char *value, *error;

	key = xmalloc(klen + 1);
	memcpy(key, data, klen);
	key[klen] = '\0';
	write_table(nl != NULL ? nl + 1 : data + size,
		    nl != NULL ? size - klen - 1 : 0);
	snprintf(spec, sizeof(spec), "cidr:%s", path);
	if (maps_open(spec, 0, &m, &error) < 0) {
		ASSERT(strstr(error, path) != NULL);
		free(key);
		return 0;
	}
	int ret = maps_lookup(m, key, &value, &error);
	ASSERT(ret == 0 || ret == 1 || (ret == -1 && strstr(error, "longer")));
	if (ret == 1)
		ASSERT(*value != '\0' && strlen(value) <= MAPS_VALUE_MAX);
	(void)maps_take_warning(m);
	maps_free(&m);
	free(key);
	return 0;
}
