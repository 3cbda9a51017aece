/* hopcount: the Received: / Delivered-To: count of a header section; see
 * hopcount.h. */
#include "config.h"
#include <string.h>
#include <strings.h>
#include "hopcount.h"

static const char *const hop_fields[] = { "Received", "Delivered-To" };

/* Whether the line line[0..n) starts a field that counts. */
static int is_hop(const char *line, size_t n)
{
	for (size_t f = 0; f < sizeof(hop_fields) / sizeof(hop_fields[0]);
	     f++) {
		size_t flen = strlen(hop_fields[f]), i = flen;
		if (n <= flen || strncasecmp(line, hop_fields[f], flen) != 0)
			continue;
		while (i < n && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i < n && line[i] == ':')
			return 1;
	}
	return 0;
}

size_t hopcount_count(const char *data, size_t len)
{
	size_t count = 0, pos = 0;

	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - (data + pos)) : len - pos;
		const char *line = data + pos;
		if (n == 0 || (n == 1 && line[0] == '\r'))
			break;	/* the end of the header section */
		count += (size_t)is_hop(line, n);
		pos += n + 1;
	}
	return count;
}
