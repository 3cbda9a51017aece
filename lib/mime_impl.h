/* mime_impl: what the files of lib/mime share; not an interface. */
#ifndef SUREL_MIME_IMPL_H
#define SUREL_MIME_IMPL_H
#include "mime.h"

struct mime_parser {
	const char *data;
	size_t len;
	const struct mime_limits *limits;
	struct mime_message *msg;
	size_t parts_cap;
};

/* s: an unfolded, NUL-terminated field value. An invalid Content-Type
 * leaves the part's type, subtype and parameters as they were. */
void mime_parse_content_type(struct mime_parser *p, struct mime_part *part,
			     const char *s);
void mime_parse_disposition(struct mime_parser *p, struct mime_part *part,
			    const char *s);
void mime_parse_encoding(struct mime_part *part, const char *s);
void mime_params_free(struct mime_param **params, size_t *count);

#endif
