// fuzz-sources: lib/full_name.c lib/mime_decode.c lib/base64.c
/* libFuzzer target for lib/full_name: any octets as a GECOS field (the
 * first octet picks a one-letter login) and as a full name. The GECOS
 * name has no comma and no leading or trailing space; the phrase is
 * printable ASCII lines of at most 76 octets (a folded encoded word),
 * and an encoded phrase decodes back to the name with its bad octets as
 * '?'. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "full_name.h"
#include "log.h"
#include "mime_decode.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_phrase(const char *name)
{
	struct buf b;

	buf_init(&b, 64 * 1024);
	ASSERT(full_name_phrase(&b, name) == 0);
	size_t line = 0;
	for (size_t i = 0; i < b.len; i++) {
		unsigned char c = (unsigned char)b.data[i];
		if (c == '\n') {
			ASSERT(i + 1 < b.len && b.data[i + 1] == ' ');
			line = 0;
			continue;
		}
		ASSERT(c >= ' ' && c < 0x7f);
		line++;
	}
	/* printable ASCII goes as a phrase; anything else is encoded */
	bool encoded = false;
	for (const char *p = name; *p != '\0'; p++)
		encoded |= (unsigned char)*p < ' ' || (unsigned char)*p >= 0x7f;
	if (encoded) {
		ASSERT(strncmp(b.data, "=?utf-8?q?", 10) == 0);
		ASSERT(line <= 76);
		struct buf d;
		const char *error;
		buf_init(&d, 64 * 1024);
		for (size_t i = 0; i < b.len; i++)
			if (b.data[i] == '\n')
				b.data[i] = ' ';
		ASSERT(mime_decode_header(b.data, b.len, &d, &error) == 0);
		/* the decoded name is the input with bad octets as '?' */
		size_t len = strlen(name), j = 0;
		for (size_t i = 0; i < len;) {
			uint32_t cp;
			size_t n = utf8_decode((const unsigned char *)name + i,
					       len - i, &cp);
			if (n == 0 || cp < ' ' || cp == 0x7f) {
				ASSERT(j < d.len && d.data[j] == '?');
				i += n == 0 ? 1 : n;
				j++;
			} else {
				ASSERT(j + n <= d.len &&
				       memcmp(d.data + j, name + i, n) == 0);
				i += n;
				j += n;
			}
		}
		ASSERT(j == d.len);
		buf_deinit(&d);
	}
	buf_deinit(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > 4096)
		return 0;
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';		/* a C string: cut at the first NUL */
	/* a login is a user name: a letter here */
	char login[2] = { (char)('a' + data[0] % 26), 0 };
	char out[FULL_NAME_MAX + 1];
	if (full_name_from_gecos(s + 1, login, out, sizeof(out)) == 0) {
		size_t n = strlen(out);
		ASSERT(n > 0 && strchr(out, ',') == NULL && out[0] != ' ' &&
		       out[n - 1] != ' ');
	}
	check_phrase(s);
	free(s);
	return 0;
}
