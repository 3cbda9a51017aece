/* imap_metadata: METADATA entries, their sorted set and their file (see
 * the header). Sorted by strcmp, the descendants of "/a" (the names that
 * start with "/a/") form one run, so DEPTH needs no scan of the set. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "imap_mailbox.h"
#include "imap_metadata.h"
#include "mem.h"
#include "str.h"

static const char file_header[] = "surel-metadata 1\n";

void imap_metadata_init(struct imap_metadata *md)
{
	memset(md, 0, sizeof(*md));
}

void imap_metadata_deinit(struct imap_metadata *md)
{
	for (size_t i = 0; i < md->count; i++) {
		free(md->entries[i].name);
		free(md->entries[i].value);
	}
	free(md->entries);
	imap_metadata_init(md);
}

/* NULL when every octet of the name may appear in an entry name. */
static const char *entry_chars(const char *name, size_t len)
{
	if (!imap_mailbox_utf8_valid(name, len))
		return "Entry name is not valid UTF-8";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c == 0x7f)
			return "Entry name contains a control character";
		if (c == '*' || c == '%')
			return "Entry name must not contain '*' or '%'";
		if (c == '/' && i + 1 < len && name[i + 1] == '/')
			return "Entry name must not contain \"//\"";
	}
	return NULL;
}

int imap_metadata_entry_check(const char *name, size_t len, struct buf *out,
			      const char **error_r)
{
	const char *error = NULL;
	size_t start = out->len;

	if (len == 0 || len > IMAP_METADATA_ENTRY_MAX)
		error = len == 0 ? "Empty entry name" : "Entry name too long";
	else if (!(len >= 8 && strncasecmp(name, "/private", 8) == 0 &&
		   (len == 8 || name[8] == '/')) &&
		 !(len >= 7 && strncasecmp(name, "/shared", 7) == 0 &&
		   (len == 7 || name[7] == '/')))
		error = "Entry name must begin with /private or /shared";
	else if (name[len - 1] == '/')
		error = "Entry name must not end with '/'";
	else
		error = entry_chars(name, len);
	if (error == NULL && buf_append(out, name, len) < 0)
		error = "Entry name too long";
	if (error != NULL) {
		*error_r = error;
		return -1;
	}
	for (size_t i = start; i < out->len; i++)
		if (out->data[i] >= 'A' && out->data[i] <= 'Z')
			out->data[i] = (char)(out->data[i] - 'A' + 'a');
	return 0;
}

bool imap_metadata_entry_is_root(const char *name)
{
	return strcmp(name, "/private") == 0 || strcmp(name, "/shared") == 0;
}

/* The first index whose name is >= name. */
static size_t lower_bound(const struct imap_metadata *md, const char *name)
{
	size_t lo = 0, hi = md->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(md->entries[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

long imap_metadata_find(const struct imap_metadata *md, const char *name)
{
	size_t i = lower_bound(md, name);

	if (i < md->count && strcmp(md->entries[i].name, name) == 0)
		return (long)i;
	return -1;
}

static void entry_free(struct imap_metadata_entry *e)
{
	free(e->name);
	free(e->value);
}

void imap_metadata_set(struct imap_metadata *md, const char *name,
		       const char *value, size_t value_len)
{
	size_t i = lower_bound(md, name);
	bool exists = i < md->count && strcmp(md->entries[i].name, name) == 0;
	struct imap_metadata_entry *e;

	if (exists) {
		e = &md->entries[i];
		md->octets -= strlen(e->name) + e->value_len;
		if (value == NULL) {
			entry_free(e);
			memmove(e, e + 1, (md->count - i - 1) * sizeof(*e));
			md->count--;
			return;
		}
		free(e->value);
	} else {
		if (value == NULL)
			return;
		if (md->count == md->alloc) {
			md->alloc = md->alloc == 0 ? 8 : md->alloc * 2;
			md->entries = xreallocarray(md->entries, md->alloc,
						    sizeof(*md->entries));
		}
		e = &md->entries[i];
		memmove(e + 1, e, (md->count - i) * sizeof(*e));
		md->count++;
		e->name = xstrdup(name);
	}
	e->value = xmalloc(value_len + 1);
	memcpy(e->value, value, value_len);
	e->value[value_len] = '\0';
	e->value_len = value_len;
	md->octets += strlen(name) + value_len;
}

bool imap_metadata_in_scope(const char *name, const char *entry, int depth)
{
	size_t n = strlen(name);

	if (strcmp(name, entry) == 0)
		return true;
	if (depth == 0 || strncmp(name, entry, n) != 0 || entry[n] != '/')
		return false;
	return depth == IMAP_METADATA_DEPTH_INFINITY ||
	       strchr(entry + n + 1, '/') == NULL;
}

void imap_metadata_descendants(const struct imap_metadata *md,
				const char *name, size_t *first_r,
				size_t *end_r)
{
	size_t n = strlen(name), i;
	char *prefix = xmalloc(n + 2);

	memcpy(prefix, name, n);
	memcpy(prefix + n, "/", 2);
	i = lower_bound(md, prefix);
	*first_r = i;
	while (i < md->count && strncmp(md->entries[i].name, prefix, n + 1) == 0)
		i++;
	*end_r = i;
	free(prefix);
}

/* A decimal number up to the next sep at *pos. */
static int parse_num(const char *data, size_t len, size_t *pos, char sep,
		     uint64_t *value_r)
{
	uint64_t v = 0;
	size_t start = *pos;

	while (*pos < len && data[*pos] >= '0' && data[*pos] <= '9') {
		if (v > (UINT64_MAX - 9) / 10 || *pos - start > 18)
			return -1;
		v = v * 10 + (uint64_t)(data[*pos] - '0');
		(*pos)++;
	}
	if (*pos == start || *pos >= len || data[*pos] != sep ||
	    (data[start] == '0' && *pos - start > 1))
		return -1;
	(*pos)++;
	*value_r = v;
	return 0;
}

static int parse_entry(const char *data, size_t len, size_t *pos,
		       struct imap_metadata *md, struct buf *name)
{
	uint64_t nlen, vlen;
	const char *error;

	if (parse_num(data, len, pos, ' ', &nlen) < 0 ||
	    parse_num(data, len, pos, '\n', &vlen) < 0 ||
	    nlen > IMAP_METADATA_ENTRY_MAX || vlen > len - *pos ||
	    nlen > len - *pos - vlen || len - *pos - vlen - nlen < 1)
		return -1;
	buf_reset(name);
	if (imap_metadata_entry_check(data + *pos, nlen, name, &error) < 0 ||
	    memcmp(name->data, data + *pos, nlen) != 0 ||
	    imap_metadata_entry_is_root(name->data))
		return -1;
	/* Strictly ascending: sorted and without duplicates. */
	if (md->count > 0 &&
	    strcmp(md->entries[md->count - 1].name, name->data) >= 0)
		return -1;
	if (md->count >= IMAP_METADATA_COUNT_MAX)
		return -1;
	imap_metadata_set(md, name->data, data + *pos + nlen, vlen);
	*pos += nlen + vlen;
	if (data[*pos] != '\n')
		return -1;
	(*pos)++;
	return 0;
}

int imap_metadata_parse(const char *data, size_t len, struct imap_metadata *md,
			const char **error_r)
{
	size_t hlen = sizeof(file_header) - 1, pos = hlen;
	struct buf name;
	int ret = 0;

	if (len == 0)
		return 0;
	if (len < hlen || memcmp(data, file_header, hlen) != 0) {
		*error_r = "not a surel-metadata file";
		return -1;
	}
	buf_init(&name, IMAP_METADATA_ENTRY_MAX + 1);
	while (pos < len && ret == 0)
		ret = parse_entry(data, len, &pos, md, &name);
	buf_deinit(&name);
	if (ret < 0) {
		imap_metadata_deinit(md);
		*error_r = "damaged metadata file";
	}
	return ret;
}

int imap_metadata_format(const struct imap_metadata *md, struct buf *out)
{
	size_t start = out->len;
	int r = buf_append_str(out, file_header);

	for (size_t i = 0; i < md->count && r == 0; i++) {
		const struct imap_metadata_entry *e = &md->entries[i];
		size_t nlen = strlen(e->name);
		r = buf_printf(out, "%zu %zu\n", nlen, e->value_len);
		if (r == 0)
			r = buf_append(out, e->name, nlen);
		if (r == 0)
			r = buf_append(out, e->value, e->value_len);
		if (r == 0)
			r = buf_append_char(out, '\n');
	}
	if (r < 0)
		buf_truncate(out, start);
	return r;
}
