/* content_check_conf: the content check tables and limits from main.cf,
 * for every program that runs the checks (smtpd for SMTP, pickup for
 * local mail, as Postfix's cleanup serves both). See content_check.h. */
#include "config.h"
#include "buf.h"
#include "conf.h"
#include "content_check.h"
#include "maps.h"

/* Postfix's mime_nesting_limit is 100; 20 levels is beyond real mail. */
#define CHECKS_DEPTH_MAX 20

static const char *const param[CONTENT_CHECK_CLASS_COUNT] = {
	[CONTENT_CHECK_HEADER] = "header_checks",
	[CONTENT_CHECK_MIME_HEADER] = "mime_header_checks",
	[CONTENT_CHECK_NESTED_HEADER] = "nested_header_checks",
	[CONTENT_CHECK_BODY] = "body_checks",
};

const char *content_check_param(enum content_check_class class)
{
	return param[class];
}

int content_check_config_load(struct content_check_config *c, bool *any_r,
			      const char **error_r)
{
	static struct buf err;
	const char *error;

	*any_r = false;
	for (int i = 0; i < CONTENT_CHECK_CLASS_COUNT; i++) {
		const char *spec = conf_str(param[i]);
		if (*spec == '\0')
			continue;
		if (maps_open(spec, 0, &c->maps[i], &error) < 0) {
			*error_r = buf_error_set(&err, 1024, "bad check table",
						 "%s: %s", param[i], error);
			return -1;
		}
		*any_r = true;
	}
	/* A logical header is at most header_size_limit octets (the
	 * decoder refuses more in the message's header; a MIME part's
	 * longer header is judged by that much, as Postfix truncates). */
	c->header_max = conf_size("header_size_limit");
	if (c->header_max < 1024)
		c->header_max = 1024;
	c->line_max = conf_int("line_length_limit");
	if (c->line_max < 512)
		c->line_max = 512;	/* as smtpd_params_load */
	c->body_size_max = conf_size("body_checks_size_limit");
	c->depth_max = CHECKS_DEPTH_MAX;
	return 0;
}
