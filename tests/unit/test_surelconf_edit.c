#include "config.h"
/* surelconf_edit_text: main.cf edited in memory as surelconf -e does. */
#include <string.h>
#include "buf.h"
#include "../../cli/surelconf_edit.h"
#include "unit.h"

/* Applies assignment to text; the result, or "ERROR: message". */
static const char *edit(const char *text, const char *assignment)
{
	static struct buf b;
	static char out[4096];
	char arg[256];
	const char *error;

	buf_init(&b, 1024);
	snprintf(arg, sizeof(arg), "%s", assignment);
	UNIT_CHECK(buf_append_str(&b, text) == 0);
	if (surelconf_edit_text(&b, arg, &error) < 0)
		snprintf(out, sizeof(out), "ERROR: %s", error);
	else
		snprintf(out, sizeof(out), "%s", b.data);
	buf_deinit(&b);
	return out;
}

static void test_replace(void)
{
	UNIT_STREQ(edit("# c\na = 1\nb = 2\n", "a=3"), "# c\na = 3\nb = 2\n");
	UNIT_STREQ(edit("a=1\n", " a  =  x y  "), "a = x y\n");
	/* The continuation lines go with it; a comment ends them. */
	UNIT_STREQ(edit("a = 1,\n  2,\n\t3\n  # note\nb = 4\n", "a=5"),
		   "a = 5\n  # note\nb = 4\n");
	UNIT_STREQ(edit("a = 1\n\nb = 2\n", "a=5"), "a = 5\n\nb = 2\n");
	/* The last setting is the one in effect. */
	UNIT_STREQ(edit("a = 1\nb = 2\na = 3\n", "a=4"), "a = 1\nb = 2\na = 4\n");
	/* Not a prefix match, not a commented-out or indented line. */
	UNIT_STREQ(edit("ab = 1\n#a = 2\n a = 3\n", "a=4"),
		   "ab = 1\n#a = 2\n a = 3\na = 4\n");
	/* No newline at the end of the setting replaced. */
	UNIT_STREQ(edit("b = 1\na = 2", "a=3"), "b = 1\na = 3\n");
	UNIT_STREQ(edit("", "a="), "a = \n");
}

static void test_append(void)
{
	UNIT_STREQ(edit("b = 1\n", "a=2"), "b = 1\na = 2\n");
	UNIT_STREQ(edit("b = 1", "a=2"), "b = 1\na = 2\n");
	UNIT_STREQ(edit("", "smtpd_timeout=1m"), "smtpd_timeout = 1m\n");
}

static void test_refused(void)
{
	UNIT_STREQ(edit("a = 1\n", "a"), "ERROR: a: not name=value");
	UNIT_STREQ(edit("a = 1\n", "=1"), "ERROR: '': not a parameter name");
	UNIT_STREQ(edit("a = 1\n", "a b=1"),
		   "ERROR: 'a b': not a parameter name");
	UNIT_STREQ(edit("a = 1\n", "a=1\n2"),
		   "ERROR: a: the value must be one line");
	UNIT_CHECK(strncmp(edit("", "smtpd_timeout=soon"),
			   "ERROR: smtpd_timeout: ", 22) == 0);
	UNIT_CHECK(strncmp(edit("", "message_size_limit=-1"),
			   "ERROR: message_size_limit: ", 27) == 0);
	/* The result is bounded by the buffer's max (1024 here). */
	char big[300];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	char text[1024];
	snprintf(text, sizeof(text), "a = %s\nb = %s\nc = %s\n", big, big,
		 big);
	char arg[320];
	snprintf(arg, sizeof(arg), "d=%s", big);
	UNIT_CHECK(strstr(edit(text, arg), "would pass 1024 bytes") != NULL);
}

int main(void)
{
	test_replace();
	test_append();
	test_refused();
	return unit_done();
}
