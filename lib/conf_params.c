/* conf_params: the one table of every main.cf parameter, with its type,
 * default and the paragraph of surel.conf(5) that documents it. Keep it one
 * array sorted by name (conf_param_find uses bsearch; a unit test checks). */
#include "config.h"
#include <stddef.h>
#include "conf.h"

/* A NULL default means "computed when main.cf is loaded" (lib/conf.c);
 * the doc then says how. */
const struct conf_param conf_params[] = {
	{ "alias_database", CONF_LIST, "",
	  "The tables that newaliases (sendmail.surel -bi) rebuilds with "
	  "surelmap, e.g. hash:/etc/surel/virtual (Postfix's alias_database; "
	  "surel's aliases are virtual_alias_maps). Empty: newaliases has "
	  "nothing to rebuild and says so." },
	{ "anvil_rate_time_unit", CONF_TIME, "60s",
	  "The time unit of every rate limit: anvil counts a client's (or "
	  "a user's) events in fixed windows this long, each opened by the "
	  "first event after the one before ended (see surel-anvil(8))." },
	{ "anvil_status_update_time", CONF_TIME, "600s",
	  "How often anvil logs its \"statistics: max ...\" lines: the "
	  "highest connection count, each highest rate and the most keys "
	  "held since the last report." },
	{ "anvil_table_size_limit", CONF_INT, "100000",
	  "The most keys (service and client address, or service and "
	  "user) anvil counts at once. A new key beyond it replaces the "
	  "least recently used key without connections; memory stays "
	  "bounded whatever clients do." },
	{ "auth_allow_plain_passwords", CONF_BOOL, "no",
	  "When yes, authd accepts passwords stored in clear text "
	  "({PLAIN} or {CLEAR} in a passwd-file). Off by default: a "
	  "stolen table should not give away every password." },
	{ "auth_cache_ttl", CONF_TIME, "3600s",
	  "How long authd remembers a successful password check, so that "
	  "a client that logs in every minute does not pay for a slow "
	  "hash each time. Only a keyed digest of the password is kept, "
	  "in memory; a change of the user table empties the cache. 0 "
	  "turns it off." },
	{ "auth_failure_delay", CONF_TIME, "2s",
	  "How long authd waits before it answers a failed login. The "
	  "wait doubles with each further failure from the same client "
	  "address or for the same user, up to auth_failure_delay_max." },
	{ "auth_failure_delay_max", CONF_TIME, "15s",
	  "The longest wait authd puts before the answer to a failed "
	  "login." },
	{ "auth_failure_reset_time", CONF_TIME, "600s",
	  "How long a client address or a user must go without a failed "
	  "login before authd forgets its earlier failures." },
	{ "auth_owner", CONF_STR, "$mail_owner",
	  "The user that authd runs as when master is started as root. "
	  "Make it a user of its own, the only one that can read the "
	  "password tables, so that a compromised pop3d or imapd cannot "
	  "read them." },
	{ "auth_user_maps", CONF_LIST, "",
	  "The user tables authd checks passwords against, searched in "
	  "order: passwd-file:/path (Dovecot's passwd-file format: "
	  "user@domain:{SCHEME}hash:uid:gid::home::extra) or hash:/path "
	  "and btree:/path (Berkeley DB tables built by surelmap from "
	  "lines \"user@domain {SCHEME}hash\"). Tables are read again "
	  "when they change." },
	{ "body_checks", CONF_STR, "",
	  "Tables (type:name, pcre: as a rule) that smtpd looks every body "
	  "line up in, MIME boundaries included, in pieces of at most "
	  "line_length_limit octets: header_checks(5) actions, see "
	  "surel-header_checks(5). Empty: no body checks." },
	{ "body_checks_size_limit", CONF_SIZE, "51200",
	  "Of each body part (MIME segment) only the lines that start "
	  "within its first this many octets are looked up in "
	  "body_checks." },
	{ "bounce_queue_lifetime", CONF_TIME, "5d",
	  "How long mail from the null sender (a notice) may stay in the "
	  "queue: at its end the mail is dropped, never bounced." },
	{ "bounce_size_limit", CONF_SIZE, "50000",
	  "The largest original message returned whole in a non-delivery "
	  "notice; a larger one is returned as its headers only." },
	{ "config_directory", CONF_STR, NULL,
	  "The directory that holds main.cf and master.cf. Every program "
	  "takes it from its -c option, else from the SUREL_CONFIG_DIR "
	  "environment variable, else from the directory chosen when surel "
	  "was built (sysconfdir/surel). Default: the directory main.cf was "
	  "read from; setting it in main.cf does not change where main.cf "
	  "is read." },
	{ "content_filter", CONF_STR, "",
	  "transport:destination through which every recipient of a "
	  "message smtpd receives is delivered (an external content filter "
	  "that sends the mail back; give its re-injection listener "
	  "\"-o content_filter=\" in master.cf). An access(5) FILTER action "
	  "overrides it for a message. Empty: no filter." },
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
	{ "default_destination_recipient_limit", CONF_INT, "50",
	  "The default number of recipients of one message that qmgr hands "
	  "to a delivery agent in one request for one destination; the "
	  "per-transport limits default to it." },
	{ "default_process_limit", CONF_INT, "100",
	  "The default number of processes of one service that master runs "
	  "at the same time, used where master.cf says \"-\" in the maxproc "
	  "column." },
	{ "default_transport", CONF_STR, "smtp",
	  "How mail for domains that are not ours leaves when "
	  "transport_maps has no entry for it: a transport(5) entry "
	  "(smtp, smtp:[host]:port, error:text, retry:text, discard). A "
	  "next hop given here wins over relayhost." },
	{ "delay_warning_time", CONF_TIME, "0h",
	  "After how long in the queue the sender of a message still "
	  "deferred gets one delay notice (for recipients whose NOTIFY "
	  "allows DELAY). 0 turns it off." },
	{ "disable_plaintext_auth", CONF_BOOL, "yes",
	  "When yes, a password is only accepted over TLS (STARTTLS, "
	  "STLS, or implicit TLS). When no, a password is also accepted "
	  "without TLS from a loopback client (127.0.0.0/8, ::1); a "
	  "remote client always needs TLS." },
	{ "disable_vrfy_command", CONF_BOOL, "yes",
	  "When yes, smtpd refuses VRFY with 502 5.5.1 and reveals nothing "
	  "about its users; when no, it answers 252 2.0.0 without saying "
	  "whether the user exists." },
	{ "dkim_signing_table", CONF_STR, "",
	  "Tables (type:name) of the DKIM keys the SMTP client signs mail "
	  "from our users with (authenticated clients and mynetworks): the "
	  "key is the domain of the From: address (then its parents as "
	  "\".example.com\"), the value one or more \"selector:keyfile\" "
	  "(comma separated; e.g. an RSA and an Ed25519 key). Keys come "
	  "from sureldkim keygen. Empty: no signing." },
	{ "dmarc_public_suffix_list", CONF_STR,
	  "/usr/share/publicsuffix/public_suffix_list.dat",
	  "The public suffix list (Mozilla's format; Debian's publicsuffix "
	  "package) that DMARC finds organizational domains with (RFC 7489 "
	  "3.2): read once when smtpd starts; smtpd does not start "
	  "without it unless smtpd_dmarc_policy is off." },
	{ "dns_resolver", CONF_STR, "",
	  "The DNS server that the SMTP client (smtp) asks for MX and "
	  "address records, smtpd for DNSBLs, SPF records, DKIM keys and "
	  "DMARC records: "
	  "ADDRESS, ADDRESS:PORT, [IPV6] or [IPV6]:PORT, "
	  "numeric only. Empty: the servers of /etc/resolv.conf. Point it at "
	  "a local validating resolver." },
	{ "header_checks", CONF_STR, "",
	  "Tables (type:name, pcre: as a rule) that smtpd looks each "
	  "header of a message up in, one logical header at a time, "
	  "unfolded (its own Received: included): actions as "
	  "surel-header_checks(5) describes (REJECT, DISCARD, HOLD, WARN, "
	  "IGNORE, PREPEND, REPLACE, ...). A bad table stops smtpd at start "
	  "with its file and line." },
	{ "header_size_limit", CONF_SIZE, "102400",
	  "The most bytes one message header may have, its continuation "
	  "lines included." },
	{ "hopcount_limit", CONF_INT, "50",
	  "The most Received: and Delivered-To: header fields a message "
	  "may carry: more fail every recipient with 5.4.6 (a mail "
	  "forwarding loop)." },
	{ "imapd_append_limit", CONF_SIZE, "$message_size_limit",
	  "The largest message an IMAP client may APPEND, in bytes (k, m, "
	  "g suffixes), announced as APPENDLIMIT. A larger literal is "
	  "refused with [TOOBIG] before any of it is read. imapd holds an "
	  "APPEND in memory while it is received, so this also bounds the "
	  "memory of one session." },
	{ "imapd_autocreate_special_use", CONF_BOOL, "yes",
	  "When yes, imapd creates and subscribes the folders of "
	  "imapd_special_use when a user logs in and has none of them, "
	  "so that every client finds Drafts, Sent, Trash, Junk and "
	  "Archive." },
	{ "imapd_banner", CONF_STR, "$mail_name ready.",
	  "The text of imapd's greeting, after \"* OK [CAPABILITY ...]\"." },
	{ "imapd_hierarchy_separator", CONF_STR, ".",
	  "The hierarchy delimiter imapd shows clients: \".\" (as "
	  "Dovecot's Maildir++ layout) or \"/\". On disk folders are "
	  "always Maildir++ (\".Sent\", \".Archive.2024\"), whichever is "
	  "chosen; with \"/\", a \".\" in a name is refused." },
	{ "imapd_idle_notify_interval", CONF_TIME, "120s",
	  "How often imapd sends \"* OK Still here\" to a client in IDLE, "
	  "so that NAT boxes and firewalls keep the connection." },
	{ "imapd_max_line_length", CONF_SIZE, "64k",
	  "The longest command line imapd takes from a client, literals "
	  "excluded; a longer one is answered with BAD and skipped." },
	{ "imapd_metadata_size_limit", CONF_SIZE, "64k",
	  "The most octets of METADATA (RFC 5464) annotations one mailbox "
	  "(or the server entry of one user) may hold; SETMETADATA beyond "
	  "it fails with [METADATA TOOMANY] or [METADATA MAXSIZE]." },
	{ "imapd_special_use", CONF_LIST,
	  "Drafts=\\Drafts, Sent=\\Sent, Trash=\\Trash, Junk=\\Junk, "
	  "Archive=\\Archive",
	  "The special-use folders (RFC 6154) as name=attribute pairs: LIST "
	  "shows the attribute on the folder of that name, and "
	  "imapd_autocreate_special_use makes them." },
	{ "imapd_timeout", CONF_TIME, "1800s",
	  "How long imapd waits for a client command before it logs the "
	  "client out (RFC 3501 asks for at least 30 minutes). IDLE is "
	  "not cut by it; a client in IDLE is logged out after "
	  "imapd_timeout without any sign of life from it." },
	{ "imapd_tls_wrappermode", CONF_BOOL, "no",
	  "When yes, imapd starts TLS at once when a client connects "
	  "(IMAPS, port 993) instead of waiting for STARTTLS." },
	{ "inet_protocols", CONF_LIST, "all",
	  "The address families the SMTP client connects over: all, ipv4, "
	  "ipv6, or \"ipv4, ipv6\". With one family only, the other's "
	  "addresses are not looked up (AAAA or A records)." },
	{ "initial_destination_concurrency", CONF_INT, "5",
	  "How many parallel deliveries qmgr starts with to a destination "
	  "it has not served yet; each answered delivery adds one, up to "
	  "the destination concurrency limit (slow start), and a "
	  "destination that failed as a whole starts again at one." },
	{ "ipc_timeout", CONF_TIME, "3600s",
	  "The longest time a daemon waits for one read or write on an "
	  "internal connection before it gives up on it." },
	{ "line_length_limit", CONF_INT, "2048",
	  "The longest SMTP command or message line smtpd accepts, in bytes "
	  "including CRLF." },
	{ "local_authentication_results", CONF_BOOL, "yes",
	  "When yes, the local delivery agent writes one "
	  "Authentication-Results header field (RFC 8601) naming myhostname "
	  "into each message it delivers, with the SPF, DKIM and DMARC "
	  "results smtpd recorded in the queue file, and removes the "
	  "Authentication-Results fields that claim to come from "
	  "myhostname. No: the message is delivered as queued." },
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
	  "to, in syslog's format (\"Mon dd hh:mm:ss host "
	  "surel/PROGRAM[pid]: text\"), instead of sending them to syslog. "
	  "Either way the lines are Postfix's, so that pflogsumm reads "
	  "them: pflogsumm --syslog-name=surel FILE." },
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
	{ "metrics_listen", CONF_STR, "",
	  "Where the metrics service answers HTTP scrapes (master.cf's "
	  "$metrics_listen line): [host:]port, or an absolute path for a "
	  "UNIX socket; empty turns it off. See surel-metrics(8)." },
	{ "mime_header_checks", CONF_STR, "$header_checks",
	  "Tables for MIME headers (Content-*, MIME-Version) anywhere in "
	  "a message and every header of a multipart part; see "
	  "surel-header_checks(5)." },
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
	{ "mynetworks", CONF_LIST, "127.0.0.0/8 [::1]/128",
	  "The networks of permit_mynetworks: with the default "
	  "smtpd_relay_restrictions a client whose address is in one of "
	  "them may send mail to any domain; others may send only to our "
	  "domains (virtual_mailbox_domains) and get 554 5.7.1 Relay "
	  "access denied for the rest. A list of "
	  "address/prefix-length; an IPv6 address may be bracketed; an "
	  "address without a prefix length is that host alone." },
	{ "myorigin", CONF_STR, "$myhostname",
	  "The domain that locally posted mail appears to come from." },
	{ "nested_header_checks", CONF_STR, "$header_checks",
	  "Tables for the headers of attached messages (message/rfc822, "
	  "message/global), MIME headers excepted; see "
	  "surel-header_checks(5)." },
	{ "parent_domain_matches_subdomains", CONF_LIST, "",
	  "The tables in which a parent domain's bare name matches its "
	  "subdomains (Postfix's compatibility list). When transport_maps "
	  "is not listed, a subdomain is looked up as \".example.com\"." },
	{ "pop3d_banner", CONF_STR, "$mail_name ready.",
	  "The text after \"+OK\" in the POP3 greeting." },
	{ "pop3d_timeout", CONF_TIME, "600s",
	  "The longest pop3d waits for a client command, or for a client "
	  "to take a reply, before it disconnects (RFC 1939 asks for at "
	  "least 10 minutes)." },
	{ "pop3d_tls_wrappermode", CONF_BOOL, "no",
	  "When yes, pop3d starts TLS at once when a client connects "
	  "(POP3S, port 995) instead of waiting for STLS. Set it with -o "
	  "in master.cf for the pop3s service." },
	{ "pop3d_uidl_format", CONF_STR, "%08Xu%08Xv",
	  "The form of the unique ids that pop3d gives to messages: %u is "
	  "the message's IMAP UID, %v the folder's UIDVALIDITY, with "
	  "printf-style width and X (hex) or u (decimal). The default is "
	  "Dovecot's, so that clients moving from Dovecot see the same "
	  "ids; a UIDL kept in dovecot-uidlist from an earlier server "
	  "always wins." },
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
	{ "rbl_reply_maps", CONF_STR, "",
	  "Tables of DNSBL reply templates, keyed by the zone named in "
	  "reject_rbl_client or reject_rhsbl_* (without =d.d.d.d). A value "
	  "is a template as Postfix's default_rbl_reply: $rbl_code, "
	  "$rbl_class, $rbl_what, $rbl_domain, $rbl_reason (the TXT "
	  "record), $client, $client_address, $client_name, $helo_name, "
	  "$sender, $recipient and their _name/_domain parts, ${name?text}, "
	  "${name:text}, $$. The result must start with a 4NN or 5NN code. "
	  "A zone not found gets Postfix's default reply." },
	{ "recipient_delimiter", CONF_STR, "",
	  "The characters that separate a user name from an address "
	  "extension (user+ext@domain); empty means no extensions." },
	{ "relayhost", CONF_STR, "",
	  "The next hop for mail to domains that are not ours, instead of "
	  "the recipient's domain: \"[host]:port\" (no MX look-up), "
	  "\"host\" or \"host:port\" (MX look-up), in transport(5) "
	  "next-hop syntax. Empty: each recipient's domain." },
	{ "service_throttle_time", CONF_TIME, "60s",
	  "How long master waits before it starts a service again after a "
	  "process of it failed at once." },
	{ "setgid_group", CONF_STR, "sureldrop",
	  "The group that sureldrop is installed setgid to, and the group "
	  "of queue_directory/maildrop and queue_directory/public: its "
	  "members (and root and mail_owner) may submit mail with "
	  "sendmail.surel. When it does not exist, only mail_owner's group "
	  "may. See sendmail.surel(1)." },
	{ "smtp_address_preference", CONF_STR, "any",
	  "Which address family the SMTP client tries first among the "
	  "addresses of equal MX preference: any (as they come), ipv4 or "
	  "ipv6." },
	{ "smtp_balance_inet_protocols", CONF_BOOL, "yes",
	  "When smtp_mx_address_limit cuts the list of addresses to try "
	  "and would leave out one family entirely, the last address kept "
	  "makes room for the first of the other family, so that a broken "
	  "IPv6 (or IPv4) route does not make a destination unreachable." },
	{ "smtp_connect_timeout", CONF_TIME, "30s",
	  "How long smtp waits for a TCP connection to a server to be "
	  "established; then it tries the next address." },
	{ "smtp_connection_cache_time_limit", CONF_TIME, "2s",
	  "How long smtp keeps a connection to a server open after a "
	  "delivery, for the next request to the same next hop (which then "
	  "starts with RSET instead of DNS, connect, EHLO and TLS). 0: "
	  "QUIT after each delivery." },
	{ "smtp_data_done_timeout", CONF_TIME, "600s",
	  "How long smtp waits for the server's reply after the end of the "
	  "message (\".\"). A connection lost or timed out here defers "
	  "the recipients: the server may have taken the message, and a "
	  "duplicate is better than a loss." },
	{ "smtp_data_init_timeout", CONF_TIME, "120s",
	  "How long smtp waits for the server's reply to DATA." },
	{ "smtp_data_xfer_timeout", CONF_TIME, "180s",
	  "How long smtp waits for each write of the message content to "
	  "make progress." },
	{ "smtp_destination_concurrency_limit", CONF_INT,
	  "$default_destination_concurrency_limit",
	  "The most parallel deliveries qmgr makes to one smtp destination "
	  "(one next hop: a domain, or relayhost)." },
	{ "smtp_destination_recipient_limit", CONF_INT,
	  "$default_destination_recipient_limit",
	  "The most recipients of one message sent to one smtp destination "
	  "in one SMTP transaction." },
	{ "smtp_helo_timeout", CONF_TIME, "300s",
	  "How long smtp waits for the server's greeting and for its reply "
	  "to EHLO or HELO." },
	{ "smtp_mail_timeout", CONF_TIME, "300s",
	  "How long smtp waits for the server's reply to MAIL FROM." },
	{ "smtp_mx_address_limit", CONF_INT, "5",
	  "The most addresses smtp tries for one delivery, over all MX "
	  "hosts of the next hop. 0: no limit." },
	{ "smtp_quit_timeout", CONF_TIME, "300s",
	  "How long smtp waits for the server's reply to QUIT (the "
	  "delivery is already decided then)." },
	{ "smtp_rcpt_timeout", CONF_TIME, "300s",
	  "How long smtp waits for the server's reply to each RCPT TO." },
	{ "smtp_rset_timeout", CONF_TIME, "20s",
	  "How long smtp waits for the reply to the RSET that starts the "
	  "reuse of a cached connection; a failure there just opens a new "
	  "one." },
	{ "smtp_starttls_timeout", CONF_TIME, "300s",
	  "How long smtp waits for the reply to STARTTLS and for the TLS "
	  "handshake." },
	{ "smtp_tls_CAfile", CONF_STR, "",
	  "A PEM file of certificate authorities that smtp trusts for "
	  "servers' certificates. With neither this nor smtp_tls_CApath, "
	  "OpenSSL's system default (/etc/ssl/certs)." },
	{ "smtp_tls_CApath", CONF_STR, "",
	  "A directory of hashed CA certificates (c_rehash) that smtp "
	  "trusts for servers' certificates." },
	{ "smtp_tls_cert_file", CONF_STR, "",
	  "A PEM client certificate smtp presents when a server asks for "
	  "one. Empty: none." },
	{ "smtp_tls_ciphers", CONF_STR, "medium",
	  "The cipher grade smtp offers at the security level may: "
	  "high or medium (low and export are taken as medium)." },
	{ "smtp_tls_exclude_ciphers", CONF_STR, "",
	  "OpenSSL cipher names or attributes smtp never offers, at every "
	  "level." },
	{ "smtp_tls_key_file", CONF_STR, "$smtp_tls_cert_file",
	  "The PEM private key of smtp_tls_cert_file." },
	{ "smtp_tls_mandatory_ciphers", CONF_STR, "medium",
	  "The cipher grade smtp offers at the levels encrypt and above." },
	{ "smtp_tls_mandatory_exclude_ciphers", CONF_STR, "",
	  "Ciphers smtp also excludes at the levels encrypt and above." },
	{ "smtp_tls_mandatory_protocols", CONF_STR, ">=TLSv1.2",
	  "The TLS protocols smtp accepts at the levels encrypt and above; "
	  "TLS 1.2 is the floor whatever this says." },
	{ "smtp_tls_policy_maps", CONF_LIST, "",
	  "Lookup tables (type:name) of TLS policy per next-hop domain (the "
	  "nexthop without brackets or port): a level word (none, may, "
	  "encrypt, verify, secure; dane, dane-only and fingerprint defer "
	  "the mail: not supported yet) and attributes match=, protocols=, "
	  "ciphers=, exclude=, servername=, as in Postfix. An entry replaces "
	  "smtp_tls_security_level for that destination." },
	{ "smtp_tls_protocols", CONF_STR, ">=TLSv1.2",
	  "The TLS protocols smtp accepts at the level may; TLS 1.2 is the "
	  "floor." },
	{ "smtp_tls_security_level", CONF_STR, "",
	  "The default TLS security level of the SMTP client: empty or none "
	  "(no TLS), may (STARTTLS when offered; a failed handshake retries "
	  "the address without TLS), encrypt (TLS required, certificate not "
	  "checked), verify (the chain must verify and the MX host name "
	  "match), secure (as verify, against the next-hop domain). When the "
	  "level cannot be met the mail is deferred." },
	{ "smtpd_allow_open_relay", CONF_BOOL, "no",
	  "smtpd refuses to start when its restriction lists let a client "
	  "outside mynetworks that has not authenticated send mail to any "
	  "domain: when no list holds reject_unauth_destination, "
	  "defer_unauth_destination, reject or defer before an "
	  "unconditional permit. Set it to yes only if that is really "
	  "what you want (a test setup behind a firewall). Not in "
	  "Postfix, which has a similar check without an override." },
	{ "smtpd_banner", CONF_STR, "$myhostname ESMTP $mail_name",
	  "The text after \"220\" in the SMTP greeting. RFC 5321 wants it "
	  "to start with the host name, as the default does." },
	{ "smtpd_client_auth_rate_limit", CONF_INT, "0",
	  "The most AUTH commands a client may send per "
	  "anvil_rate_time_unit, over all its sessions; beyond it AUTH "
	  "gets \"450 4.7.1 Error: too many AUTH commands from ADDR\". 0: "
	  "no limit." },
	{ "smtpd_client_connection_count_limit", CONF_INT, "50",
	  "The most connections a client (an address) may hold to one "
	  "service at once; one more gets \"421 4.7.0 HOST Error: too many "
	  "connections from ADDR\" and is closed. 0: no limit. Counted by "
	  "anvil (see surel-anvil(8)); clients in "
	  "smtpd_client_event_limit_exceptions are not counted." },
	{ "smtpd_client_connection_rate_limit", CONF_INT, "0",
	  "The most connections a client may open to one service per "
	  "anvil_rate_time_unit; beyond it the connection gets the same "
	  "421 as the count limit. 0: no limit." },
	{ "smtpd_client_event_limit_exceptions", CONF_LIST, "$mynetworks",
	  "Clients (addresses and networks, as in mynetworks) that no "
	  "smtpd_client_*_limit applies to: they are not even counted. "
	  "smtpd_sasl_user_message_rate_limit still applies to their "
	  "users." },
	{ "smtpd_client_message_rate_limit", CONF_INT, "0",
	  "The most MAIL FROM commands a client may send per "
	  "anvil_rate_time_unit, over all its sessions; beyond it MAIL "
	  "gets \"450 4.7.1 Error: too much mail from ADDR\". 0: no "
	  "limit." },
	{ "smtpd_client_new_tls_session_rate_limit", CONF_INT, "0",
	  "The most new TLS sessions (STARTTLS, or the handshake of a TLS "
	  "port) a client may start per anvil_rate_time_unit; beyond it "
	  "STARTTLS gets \"421 4.7.0 HOST Error: too many new TLS sessions "
	  "from ADDR\" and the connection is closed, before any handshake "
	  "(on a TLS port it is closed without a reply). smtpd resumes no "
	  "session, so every handshake counts. 0: no limit." },
	{ "smtpd_client_recipient_rate_limit", CONF_INT, "0",
	  "The most RCPT TO commands a client may send per "
	  "anvil_rate_time_unit, over all its sessions; beyond it RCPT "
	  "gets \"450 4.7.1 Error: too many recipients from ADDR\". 0: no "
	  "limit." },
	{ "smtpd_client_restrictions", CONF_STR, "",
	  "Restrictions on the client's address and name, as Postfix's. "
	  "Like all five lists (client, helo, sender, relay, recipient) "
	  "they are evaluated at RCPT TO, in that order (Postfix's "
	  "smtpd_delay_reject = yes): the first reject or defer answers, a "
	  "permit ends only its own list. See surel-smtpd(8) for the "
	  "restrictions and surel-access(5) for the tables." },
	{ "smtpd_data_timeout", CONF_TIME, "300s",
	  "The longest smtpd waits for one read of message content during "
	  "DATA or BDAT." },
	{ "smtpd_dkim_verify", CONF_BOOL, "yes",
	  "When yes, smtpd verifies the DKIM signatures (RFC 6376) of the "
	  "mail of clients that are not in mynetworks and did not "
	  "authenticate, as the content arrives; the results go into the "
	  "queue file, for DMARC and for local's Authentication-Results "
	  "(dkim=...). No: no verification (DMARC then has SPF only)." },
	{ "smtpd_dmarc_policy", CONF_STR, "tag",
	  "DMARC (RFC 7489) at the end of DATA for the clients SPF checks: "
	  "\"off\", \"tag\" (the verdict goes into local's "
	  "Authentication-Results as dmarc=...) or \"reject\" (tag, and "
	  "refuse with 550 5.7.1 a fail whose domain publishes p=reject, "
	  "or sp=reject for a subdomain, when pct= sampling selects the "
	  "message; a quarantine disposition is only tagged)." },
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
	{ "smtpd_helo_restrictions", CONF_STR, "",
	  "Restrictions on the HELO/EHLO name (see "
	  "smtpd_client_restrictions), e.g. reject_invalid_helo_hostname, "
	  "reject_non_fqdn_helo_hostname, check_helo_access type:table." },
	{ "smtpd_pregreet_wait", CONF_TIME, "0s",
	  "How long smtpd waits before it sends the greeting, watching for "
	  "clients that talk first; such clients are rejected. 0 disables "
	  "the wait (a command sent before the greeting is still rejected)." },
	{ "smtpd_recipient_limit", CONF_INT, "1000",
	  "The most recipients smtpd accepts for one message; further RCPT "
	  "commands get 452." },
	{ "smtpd_recipient_restrictions", CONF_STR, "",
	  "Restrictions on the recipient, evaluated after "
	  "smtpd_relay_restrictions (see smtpd_client_restrictions), e.g. "
	  "reject_non_fqdn_recipient, reject_unknown_recipient_domain, "
	  "check_recipient_access type:table." },
	{ "smtpd_relay_restrictions", CONF_STR,
	  "permit_mynetworks, permit_sasl_authenticated, "
	  "reject_unauth_destination",
	  "Relay control: which clients may send to domains that are not "
	  "ours (virtual_mailbox_domains). The default lets clients in "
	  "mynetworks and authenticated clients send anywhere and answers "
	  "554 5.7.1 Relay access denied to the rest. Postfix's default "
	  "ends in defer_unauth_destination (450); surel keeps the "
	  "permanent reply it always gave, so that a relay attempt is "
	  "refused once and not retried." },
	{ "smtpd_sasl_auth_enable", CONF_BOOL, "no",
	  "When yes, smtpd offers and accepts AUTH (RFC 4954: PLAIN and "
	  "LOGIN, checked by authd). Off by default, so port 25 never "
	  "offers it; master.cf turns it on for submission and "
	  "submissions with -o." },
	{ "smtpd_sasl_user_message_rate_limit", CONF_INT, "0",
	  "The most MAIL FROM commands an authenticated (AUTH) user may "
	  "send through one service per anvil_rate_time_unit, from any "
	  "client address and over all sessions; beyond it MAIL gets "
	  "\"450 4.7.1 Error: too much mail from this user\". It limits "
	  "the damage of a stolen password. 0: no limit. Not a Postfix "
	  "parameter." },
	{ "smtpd_sender_login_maps", CONF_STR, "",
	  "Tables of who may use which sender address: the key is the "
	  "address (or @domain), the value the login names (AUTH user "
	  "names) that own it, comma separated. Used by "
	  "reject_sender_login_mismatch and its variants in "
	  "smtpd_sender_restrictions: an authenticated user may send only "
	  "as addresses they own, nobody may use an owned address without "
	  "logging in." },
	{ "smtpd_sender_restrictions", CONF_STR, "",
	  "Restrictions on the MAIL FROM address (see "
	  "smtpd_client_restrictions), e.g. reject_non_fqdn_sender, "
	  "reject_unknown_sender_domain, check_sender_access type:table." },
	{ "smtpd_soft_error_limit", CONF_INT, "10",
	  "After this many errors in one session smtpd pauses "
	  "smtpd_error_sleep_time before each error reply." },
	{ "smtpd_spf_policy", CONF_STR, "tag",
	  "The SPF check (RFC 7208) of the MAIL FROM address (of "
	  "postmaster@HELO for the null sender) of clients that are not in "
	  "mynetworks and did not authenticate: \"off\", \"tag\" (a "
	  "Received-SPF header and the envelope attributes that "
	  "Authentication-Results is made of) or \"reject_fail\" (tag, "
	  "and refuse a fail at MAIL with 550 5.7.23). DNS look-ups go to "
	  "dns_resolver." },
	{ "smtpd_starttls_timeout", CONF_TIME, "300s",
	  "The longest a TLS handshake may take (STARTTLS, STLS, or "
	  "implicit TLS), in every protocol." },
	{ "smtpd_timeout", CONF_TIME, "300s",
	  "The longest smtpd waits for a client command, or for a client to "
	  "take a reply, before it disconnects." },
	{ "smtpd_tls_auth_only", CONF_BOOL, "yes",
	  "When yes (unlike Postfix, whose default is no), smtpd offers "
	  "and accepts AUTH only over TLS, on every connection, loopback "
	  "included: passwords never travel in plaintext (the same rule as "
	  "disable_plaintext_auth for imapd and pop3d). Before STARTTLS, "
	  "AUTH is not announced and gets 530." },
	{ "smtpd_tls_cert_file", CONF_STR, "",
	  "The PEM file with the server certificate (and the chain after "
	  "it) for every protocol: SMTP, POP3 and IMAP. Empty: no TLS is "
	  "offered." },
	{ "smtpd_tls_cipherlist", CONF_STR,
	  "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:"
	  "!aNULL:!SHA1:!SHA256:!SHA384",
	  "The OpenSSL cipher list for TLS 1.2, for every protocol. The "
	  "default allows only forward-secret AEAD ciphers." },
	{ "smtpd_tls_ciphersuites", CONF_STR,
	  "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:"
	  "TLS_AES_128_GCM_SHA256",
	  "The OpenSSL TLS 1.3 cipher suites, for every protocol." },
	{ "smtpd_tls_key_file", CONF_STR, "$smtpd_tls_cert_file",
	  "The PEM file with the private key of smtpd_tls_cert_file. It "
	  "is read before privileges are dropped, so it may be readable "
	  "by root only." },
	{ "smtpd_tls_protocols", CONF_STR, ">=TLSv1.2",
	  "The TLS versions offered, in Postfix's syntax: \">=TLSv1.2\", "
	  "or exclusions like \"!SSLv3, !TLSv1, !TLSv1.1\". SSLv3, TLS "
	  "1.0 and TLS 1.1 are never offered." },
	{ "smtpd_tls_security_level", CONF_STR, "may",
	  "TLS on the SMTP server: \"none\" (STARTTLS not offered), "
	  "\"may\" (offered when a certificate is configured) or "
	  "\"encrypt\" (required: MAIL is refused with 530 before "
	  "STARTTLS; needs a certificate)." },
	{ "smtpd_tls_wrappermode", CONF_BOOL, "no",
	  "When yes, smtpd starts TLS at once when a client connects "
	  "(SMTPS/submissions, port 465) instead of offering STARTTLS. "
	  "Set it with -o in master.cf." },
	{ "smtputf8_enable", CONF_BOOL, "yes",
	  "When yes, smtpd announces SMTPUTF8 and accepts UTF-8 addresses "
	  "from clients that ask for it." },
	{ "transport_maps", CONF_STR, "",
	  "Tables of where mail for a recipient, domain or parent domain "
	  "goes, in transport(5) format: see surel-transport(5). Looked up "
	  "for every recipient whose domain is not ours, before "
	  "default_transport and relayhost." },
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
	{ "virtual_mailbox_quota", CONF_SIZE, "0",
	  "The default quota of a mailbox in bytes (k, m, g suffixes), "
	  "counted over all its folders and kept in Maildir++ "
	  "maildirsize; 0 means none. A delivery that would exceed it "
	  "fails temporarily (4.2.2) and is retried until the queue "
	  "lifetime ends." },
	{ "virtual_mailbox_quota_maps", CONF_LIST, "",
	  "Lookup tables that give a recipient address its own quota (a "
	  "size like 500m or 2g, or 0 for none), overriding "
	  "virtual_mailbox_quota." },
	{ "virtual_overquota_bounce", CONF_BOOL, "no",
	  "When yes, a delivery to a mailbox over its quota fails "
	  "permanently (5.2.2) at once instead of being retried." },
	{ NULL, CONF_STR, NULL, NULL },
};
