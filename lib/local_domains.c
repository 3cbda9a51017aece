/* local_domains: see local_domains.h. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "local_domains.h"
#include "maps.h"
#include "mem.h"
#include "str.h"

#define LOCAL_DOMAINS_SPEC_MAX 65536

struct local_domains {
	char **names;		/* NULL-terminated */
	struct maps *maps;	/* the type:table entries, or NULL */
};

int local_domains_open(char *const *words, struct local_domains **ld_r,
		       const char **error_r)
{
	struct local_domains *ld = xcalloc(1, sizeof(*ld));
	struct buf spec;
	size_t count = 0, n = 0;

	while (words[count] != NULL)
		count++;
	ld->names = xcalloc(count + 1, sizeof(char *));
	buf_init(&spec, LOCAL_DOMAINS_SPEC_MAX);
	for (size_t i = 0; i < count; i++) {
		if (strchr(words[i], ':') == NULL) {
			ld->names[n++] = xstrdup(words[i]);
		} else if (buf_printf(&spec, "%s%s", spec.len > 0 ? " " : "",
				      words[i]) < 0) {
			*error_r = "too many tables";
			goto fail;
		}
	}
	if (spec.len > 0 &&
	    maps_open(buf_cstr(&spec), 0, &ld->maps, error_r) < 0)
		goto fail;
	buf_deinit(&spec);
	*ld_r = ld;
	return 0;
fail:
	buf_deinit(&spec);
	local_domains_free(&ld);
	return -1;
}

void local_domains_free(struct local_domains **ldp)
{
	struct local_domains *ld = *ldp;

	if (ld == NULL)
		return;
	for (size_t i = 0; ld->names[i] != NULL; i++)
		free(ld->names[i]);
	free(ld->names);
	maps_free(&ld->maps);
	free(ld);
	*ldp = NULL;
}

int local_domains_match(const struct local_domains *ld, const char *domain,
			const char **error_r)
{
	const char *value;

	for (char **d = ld->names; *d != NULL; d++)
		if (str_eq_ci(*d, domain))
			return 1;
	if (ld->maps == NULL)
		return 0;
	return maps_lookup(ld->maps, domain, &value, error_r);
}

const char *local_domains_first(const struct local_domains *ld)
{
	return ld->names[0];
}
