/* imap_arg: typed getters over parsed IMAP values; see imap_arg.h. */
#include "config.h"
#include "imap_arg.h"

bool imap_arg_get_atom(const struct imap_arg *a, const char **str_r)
{
	if (a == NULL || (a->type != IMAP_ARG_ATOM &&
			  a->type != IMAP_ARG_NUMBER && a->type != IMAP_ARG_NIL))
		return false;
	*str_r = a->str;
	return true;
}

bool imap_arg_get_astring(const struct imap_arg *a, const char **str_r,
			  size_t *len_r)
{
	if (a == NULL || a->type == IMAP_ARG_LIST ||
	    a->type == IMAP_ARG_LITERAL8)
		return false;
	*str_r = a->str;
	*len_r = a->len;
	return true;
}

bool imap_arg_get_nstring(const struct imap_arg *a, const char **str_r,
			  size_t *len_r)
{
	if (a != NULL && a->type == IMAP_ARG_NIL) {
		*str_r = NULL;
		*len_r = 0;
		return true;
	}
	if (a == NULL || (a->type != IMAP_ARG_STRING &&
			  a->type != IMAP_ARG_LITERAL))
		return false;
	*str_r = a->str;
	*len_r = a->len;
	return true;
}
