#include "config.h"
#include <string.h>
#include "sendmail_opts.h"
#include "unit.h"

static struct sendmail_opts o;
static const char *error;

/* Parses a NULL-terminated list of words. They are kept here: o points
 * into them after the caller's compound literal is gone. */
static int parse(char **argv)
{
	static char *saved[64];
	int argc = 0;

	while (argv[argc] != NULL && argc < 63) {
		saved[argc] = argv[argc];
		argc++;
	}
	saved[argc] = NULL;
	error = NULL;
	return sendmail_opts_parse(argc, saved, &o, &error);
}

#define P(...) parse((char *[]){ __VA_ARGS__, NULL })

static void test_deliver(void)
{
	UNIT_CHECK(P("sendmail", "-t", "-i", "a@x.test") == 0);
	UNIT_CHECK(o.mode == SENDMAIL_DELIVER && o.extract && o.dot_ok);
	UNIT_CHECK(o.rcpt_count == 1);
	UNIT_STREQ(o.rcpts[0], "a@x.test");
	/* grouped, attached and separate arguments */
	UNIT_CHECK(P("/usr/sbin/sendmail", "-tif", "me@x.test", "-FJoe Doe",
		     "--", "-odd@x.test") == 0);
	UNIT_CHECK(o.extract && o.dot_ok);
	UNIT_STREQ(o.sender, "me@x.test");
	UNIT_STREQ(o.full_name, "Joe Doe");
	UNIT_CHECK(o.rcpt_count == 1);
	UNIT_STREQ(o.rcpts[0], "-odd@x.test");
	UNIT_CHECK(P("sendmail", "-rbounce@x.test", "-oi", "b") == 0);
	UNIT_STREQ(o.sender, "bounce@x.test");
	UNIT_CHECK(o.dot_ok);
	/* ignored as Postfix ignores them */
	UNIT_CHECK(P("sendmail", "-oem", "-odb", "-oQ/x", "-o7", "-U", "-G",
		     "-n", "-h", "5", "-B", "8BITMIME", "-L", "x", "-X", "f",
		     "-c", "-m", "-e", "q", "a") == 0);
	UNIT_CHECK(!o.dot_ok && o.mode == SENDMAIL_DELIVER);
	UNIT_CHECK(P("sendmail", "-N", "never", "-R", "hdrs", "-V", "env1",
		     "-C", "/etc/x", "a") == 0);
	UNIT_STREQ(o.notify, "never");
	UNIT_STREQ(o.ret, "hdrs");
	UNIT_STREQ(o.envid, "env1");
	UNIT_STREQ(o.config_dir, "/etc/x");
	/* a lone "-" is a recipient, as in getopt */
	UNIT_CHECK(P("sendmail", "-") == 0 && o.rcpt_count == 1);
}

static void test_modes(void)
{
	UNIT_CHECK(P("sendmail", "-bp") == 0 && o.mode == SENDMAIL_PRINT);
	UNIT_CHECK(P("/usr/bin/mailq") == 0 && o.mode == SENDMAIL_PRINT);
	UNIT_CHECK(P("newaliases") == 0 && o.mode == SENDMAIL_NEWALIASES);
	/* the names make install links beside sendmail.surel */
	UNIT_CHECK(P("/usr/sbin/mailq.surel") == 0 &&
		   o.mode == SENDMAIL_PRINT);
	UNIT_CHECK(P("newaliases.surel") == 0 &&
		   o.mode == SENDMAIL_NEWALIASES);
	/* only whole names: a prefix or a suffix is sendmail */
	UNIT_CHECK(P("mailq.surelx") == 0 && o.mode == SENDMAIL_DELIVER);
	UNIT_CHECK(P("xmailq") == 0 && o.mode == SENDMAIL_DELIVER);
	UNIT_CHECK(P("sendmail.surel") == 0 && o.mode == SENDMAIL_DELIVER);
	UNIT_CHECK(P("sendmail", "-I") == 0 && o.mode == SENDMAIL_NEWALIASES);
	UNIT_CHECK(P("sendmail", "-bs") == 0 && o.mode == SENDMAIL_SMTP);
	UNIT_CHECK(P("sendmail", "-bv", "a") == 0 && o.mode == SENDMAIL_VERIFY);
	UNIT_CHECK(P("sendmail", "-q") == 0 && o.mode == SENDMAIL_FLUSH &&
		   o.site == NULL);
	UNIT_CHECK(P("sendmail", "-q1h") == 0 && o.mode == SENDMAIL_FLUSH);
	UNIT_CHECK(P("sendmail", "-qRexample.test") == 0);
	UNIT_STREQ(o.site, "example.test");
	UNIT_CHECK(P("sendmail", "-qS", "x") < 0);
}

static void test_errors(void)
{
	UNIT_CHECK(P("sendmail", "-z") < 0);
	UNIT_STREQ(error, "unknown option -- z");
	UNIT_CHECK(P("sendmail", "-f") < 0);
	UNIT_STREQ(error, "option requires an argument -- f");
	UNIT_CHECK(P("sendmail", "-bd") < 0);
	UNIT_CHECK(strstr(error, "surel start") != NULL);
	UNIT_CHECK(P("sendmail", "-bx") < 0);
	UNIT_CHECK(P("sendmail", "-bpx") < 0);
	UNIT_CHECK(P("mailq", "a@x.test") < 0);
	UNIT_CHECK(P("sendmail", "-\001") < 0);
	UNIT_STREQ(error, "unknown option -- ?");
}

int main(void)
{
	test_deliver();
	test_modes();
	test_errors();
	return unit_done();
}
