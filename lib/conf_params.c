/* conf_params: the one table of every main.cf parameter, with its type,
 * default and the paragraph of surel.conf(5) that documents it. Keep it one
 * array sorted by name (conf_param_find uses bsearch; a unit test checks). */
#include "config.h"
#include <stddef.h>
#include "conf.h"

/* A NULL default means "computed when main.cf is loaded" (lib/conf.c);
 * the doc then says how. */
const struct conf_param conf_params[] = {
	{ "config_directory", CONF_STR, NULL,
	  "The directory that holds main.cf and master.cf. Every program "
	  "takes it from its -c option, else from the SUREL_CONFIG_DIR "
	  "environment variable, else from the directory chosen when surel "
	  "was built (sysconfdir/surel). Default: the directory main.cf was "
	  "read from; setting it in main.cf does not change where main.cf "
	  "is read." },
	{ "daemon_directory", CONF_STR, NULL,
	  "The directory with the daemon programs (master, smtpd, qmgr, "
	  "local) that master starts. Default: the directory chosen when "
	  "surel was built (pkglibexecdir)." },
	{ "data_directory", CONF_STR, "/var/lib/surel",
	  "The directory for data that surel writes and keeps: caches and "
	  "state that are not mail." },
	{ "default_destination_concurrency_limit", CONF_INT, "20",
	  "The default number of parallel deliveries qmgr makes to one "
	  "destination; the per-transport limits default to it." },
	{ "default_process_limit", CONF_INT, "100",
	  "The default number of processes of one service that master runs "
	  "at the same time, used where master.cf says \"-\" in the maxproc "
	  "column." },
	{ "disable_vrfy_command", CONF_BOOL, "yes",
	  "When yes, smtpd refuses VRFY with 502 5.5.1 and reveals nothing "
	  "about its users; when no, it answers 252 2.0.0 without saying "
	  "whether the user exists." },
	{ "header_size_limit", CONF_SIZE, "102400",
	  "The most bytes one message header may have, its continuation "
	  "lines included." },
	{ "ipc_timeout", CONF_TIME, "3600s",
	  "The longest time a daemon waits for one read or write on an "
	  "internal connection before it gives up on it." },
	{ "line_length_limit", CONF_INT, "2048",
	  "The longest SMTP command or message line smtpd accepts, in bytes "
	  "including CRLF." },
	{ "local_destination_concurrency_limit", CONF_INT,
	  "$default_destination_concurrency_limit",
	  "The number of parallel connections qmgr keeps open to the local "
	  "delivery service." },
	{ "mail_name", CONF_STR, "surel",
	  "The name of the mail system, as shown in the SMTP greeting and in "
	  "Received: headers." },
	{ "mail_owner", CONF_STR, "surel",
	  "The user that every daemon runs as when master is started as "
	  "root; it owns the queue. Ignored when master runs as an ordinary "
	  "user: everything then runs as that user." },
	{ "mail_version", CONF_STR, NULL,
	  "The version of surel. Default: the version of the running "
	  "programs." },
	{ "maillog_file", CONF_STR, "",
	  "When not empty, the file that every program appends its log lines "
	  "to, in syslog's format, instead of sending them to syslog." },
	{ "max_idle", CONF_TIME, "100s",
	  "How long a pre-forked daemon waits for a new client before it "
	  "exits." },
	{ "max_use", CONF_INT, "100",
	  "How many clients a pre-forked daemon serves before it exits and "
	  "master starts a fresh one." },
	{ "maximal_backoff_time", CONF_TIME, "4000s",
	  "The longest time qmgr waits before it tries again to deliver a "
	  "deferred message." },
	{ "maximal_queue_lifetime", CONF_TIME, "5d",
	  "How long a message may stay in the queue before qmgr gives up on "
	  "its remaining recipients." },
	{ "message_size_limit", CONF_SIZE, "10240000",
	  "The largest message smtpd accepts, in bytes, envelope excluded; "
	  "a larger message is refused with 552." },
	{ "minimal_backoff_time", CONF_TIME, "300s",
	  "The shortest time qmgr waits before it tries again to deliver a "
	  "deferred message; the wait doubles with each attempt up to "
	  "maximal_backoff_time." },
	{ "mydomain", CONF_STR, NULL,
	  "The internet domain of this mail system. Default: myhostname "
	  "without its first label, or \"localdomain\" when myhostname has "
	  "no dot." },
	{ "myhostname", CONF_STR, NULL,
	  "The internet host name of this mail system, used in the SMTP "
	  "greeting, in Received: headers and in log lines. Default: the "
	  "system's host name as gethostname(2) returns it (unlike Postfix, "
	  "nothing is appended when it has no dot)." },
	{ "myorigin", CONF_STR, "$myhostname",
	  "The domain that locally posted mail appears to come from." },
	{ "qmgr_message_active_limit", CONF_INT, "20000",
	  "The most messages qmgr keeps in the active queue at once; more "
	  "wait in incoming." },
	{ "queue_directory", CONF_STR, "/var/spool/surel",
	  "The directory of the mail queue: incoming, active, deferred, hold, "
	  "corrupt, and the pid, private and public directories. master "
	  "creates what is missing." },
	{ "queue_run_delay", CONF_TIME, "300s",
	  "How often qmgr looks for deferred messages whose time to retry has "
	  "come." },
	{ "recipient_delimiter", CONF_STR, "",
	  "The characters that separate a user name from an address "
	  "extension (user+ext@domain); empty means no extensions." },
	{ "service_throttle_time", CONF_TIME, "60s",
	  "How long master waits before it starts a service again after a "
	  "process of it failed at once." },
	{ "smtpd_banner", CONF_STR, "$myhostname ESMTP $mail_name",
	  "The text after \"220\" in the SMTP greeting. RFC 5321 wants it "
	  "to start with the host name, as the default does." },
	{ "smtpd_data_timeout", CONF_TIME, "300s",
	  "The longest smtpd waits for one read of message content during "
	  "DATA or BDAT." },
	{ "smtpd_error_sleep_time", CONF_TIME, "1s",
	  "How long smtpd pauses before it answers an error once the client "
	  "has made smtpd_soft_error_limit errors." },
	{ "smtpd_forbid_bare_newline", CONF_STR, "normal",
	  "What smtpd does with a line that ends in a bare LF (no CR) in a "
	  "command or in message content: \"normal\" rejects it and "
	  "disconnects (this stops SMTP smuggling), \"no\" accepts it." },
	{ "smtpd_hard_error_limit", CONF_INT, "20",
	  "After this many errors in one session smtpd disconnects the "
	  "client." },
	{ "smtpd_pregreet_wait", CONF_TIME, "0s",
	  "How long smtpd waits before it sends the greeting, watching for "
	  "clients that talk first; such clients are rejected. 0 disables "
	  "the wait (a command sent before the greeting is still rejected)." },
	{ "smtpd_recipient_limit", CONF_INT, "1000",
	  "The most recipients smtpd accepts for one message; further RCPT "
	  "commands get 452." },
	{ "smtpd_soft_error_limit", CONF_INT, "10",
	  "After this many errors in one session smtpd pauses "
	  "smtpd_error_sleep_time before each error reply." },
	{ "smtpd_timeout", CONF_TIME, "300s",
	  "The longest smtpd waits for a client command, or for a client to "
	  "take a reply, before it disconnects." },
	{ "smtputf8_enable", CONF_BOOL, "yes",
	  "When yes, smtpd announces SMTPUTF8 and accepts UTF-8 addresses "
	  "from clients that ask for it." },
	{ "virtual_alias_maps", CONF_LIST, "",
	  "Lookup tables (type:name) that map an address to one or more "
	  "other addresses; smtpd expands them when it accepts a recipient." },
	{ "virtual_mailbox_base", CONF_STR, "",
	  "The directory that the paths in virtual_mailbox_maps are relative "
	  "to." },
	{ "virtual_mailbox_domains", CONF_LIST, "",
	  "The domains this system accepts mail for and delivers into "
	  "mailboxes; mail for any other domain is refused (relay denied)." },
	{ "virtual_mailbox_maps", CONF_LIST, "",
	  "Lookup tables (type:name) that map a recipient address to its "
	  "mailbox, a path under virtual_mailbox_base; a path that ends in "
	  "\"/\" is a Maildir. smtpd rejects recipients that are not found." },
	{ NULL, CONF_STR, NULL, NULL },
};
