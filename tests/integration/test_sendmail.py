"""Local submission: sendmail.surel -> sureldrop -> maildrop/ -> pickup ->
incoming/ -> Maildir, checked as a user would: the message in the
Maildir with the right headers, and sendmail's exit status (sysexits).

Options: recipients on the command line, -t (To/Cc/Bcc, Bcc removed,
Resent-* preferred), -i / -oi against the lone dot, -f, -F, unknown
options Postfix ignores, refused modes. Bad input (ISSUE7): a message
with no headers, only a body, bare LF and CRLF line ends, a NUL byte, a
body over message_size_limit, a caller not in setgid_group (as root: a
user made for it), a forged maildrop file that pickup must remove
without queueing. As root sendmail runs as ordinary users (the setgid
sureldrop); as an ordinary user, as that user (a private instance)."""

import email
import email.policy
import email.utils
import grp
import os
import pwd
import re
import subprocess
import time
import unittest

from instance import (BIN_DIR, IS_ROOT, SANITIZED, SharedInstanceCase,
                      Instance, new_marker, wait_until)

EX_OK, EX_USAGE, EX_DATAERR, EX_UNAVAILABLE, EX_NOPERM = 0, 64, 65, 69, 77
DROP_GROUP = "surel-testdrop"
SUBMIT_USER = "surel-submit"      # in DROP_GROUP
OUTSIDER = "surel-outsider"       # not in it
SUBMIT_GECOS = "& Tester,Room 1,,"


def ensure_group_and_users():
    """As root: the submission group, a member and a non-member."""
    try:
        grp.getgrnam(DROP_GROUP)
    except KeyError:
        subprocess.run(["groupadd", "--system", DROP_GROUP], check=True,
                       timeout=30)
    for user, groups in ((SUBMIT_USER, [DROP_GROUP]), (OUTSIDER, [])):
        try:
            if pwd.getpwnam(user).pw_gecos != SUBMIT_GECOS:
                # made by an older test run: the GECOS these tests expect
                subprocess.run(["usermod", "--comment", SUBMIT_GECOS, user],
                               check=True, timeout=30)
        except KeyError:
            # A GECOS field with "&" (the login, capitalized) and
            # office fields: the default full name is "Surel-submit Tester"
            subprocess.run(["useradd", "--system", "--no-create-home",
                            "--shell", "/usr/sbin/nologin",
                            "--comment", SUBMIT_GECOS]
                           + (["-G", ",".join(groups)] if groups else [])
                           + [user], check=True, timeout=30)


def install_setgid_drop():
    """As root: sureldrop setgid to the group, as make install would."""
    path = os.path.join(BIN_DIR, "sureldrop")
    os.chown(path, 0, grp.getgrnam(DROP_GROUP).gr_gid)
    # LeakSanitizer cannot run in a setgid process: a sanitized build
    # is tested without the bit (members reach maildrop/ through their
    # own group membership either way).
    os.chmod(path, 0o755 if SANITIZED else 0o2755)


def as_user(name):
    pw = pwd.getpwnam(name)

    def drop():
        os.setgroups([g.gr_gid for g in grp.getgrall()
                      if name in g.gr_mem])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    return drop


class SendmailBase(SharedInstanceCase):
    """The instance (with pickup) and the helpers."""

    CONFIG = {"myorigin": "example.test", "setgid_group": DROP_GROUP}

    @classmethod
    def make_shared_instance(cls):
        if IS_ROOT:
            ensure_group_and_users()
            install_setgid_drop()
        inst = Instance(**cls.CONFIG)
        inst.master_cf_text += "pickup unix n - n 60 1 pickup\n"
        inst.write_config()
        if IS_ROOT and SANITIZED:
            # sendmail and sureldrop run as SUBMIT_USER: their sanitizer
            # reports go to the log directory like everyone's.
            os.chmod(inst.logdir, 0o1777)
        return inst

    def user_env(self):
        """The environment for sendmail/sureldrop run as another user."""
        return self.inst.env()

    def sendmail(self, args, data, user=None, name="sendmail.surel",
                 extra_env=None):
        """Runs sendmail as user (root: SUBMIT_USER by default; else
        ourselves). Returns the CompletedProcess (bytes)."""
        if user is None and IS_ROOT:
            user = SUBMIT_USER
        env = self.user_env() if user else self.inst.env()
        env["SUREL_CONFIG_DIR"] = self.inst.etc
        # Only the tests that mean it set NAME (the default full name).
        env.pop("NAME", None)
        env.update(extra_env or {})
        argv0 = os.path.join(BIN_DIR, "sendmail.surel")
        if isinstance(data, str):
            data = data.encode()
        return subprocess.run([name] + list(args), executable=argv0,
                              input=data, capture_output=True, timeout=60,
                              env=env,
                              preexec_fn=as_user(user) if user else None)

    def ok(self, args, data, **kw):
        r = self.sendmail(args, data, **kw)
        self.assertEqual(r.returncode, EX_OK, r.stderr)
        return r

    @staticmethod
    def headers(msg):
        return msg.split(b"\n\n", 1)[0]

    @staticmethod
    def body(msg):
        return msg.split(b"\n\n", 1)[1]

    def expected_uid(self):
        return pwd.getpwnam(SUBMIT_USER).pw_uid if IS_ROOT else os.getuid()

    def expected_name(self):
        """The default full name: the submitter's GECOS name, as Postfix's
        sendmail takes it (first field, "&" = the login capitalized)."""
        login = SUBMIT_USER if IS_ROOT else pwd.getpwuid(os.getuid()).pw_name
        gecos = pwd.getpwnam(login).pw_gecos.split(",")[0]
        return gecos.replace("&", login[:1].upper() + login[1:]).strip()

    def from_of(self, msg):
        """(display name decoded, address) of a delivered message."""
        parsed = email.message_from_bytes(msg, policy=email.policy.default)
        return email.utils.parseaddr(str(parsed["From"]))

    def expected_sender(self):
        return (SUBMIT_USER if IS_ROOT
                else pwd.getpwuid(os.getuid()).pw_name) + "@example.test"


class SendmailCase(SendmailBase):
    # -- recipients and headers

    def test_command_line_recipient_gets_headers_added(self):
        m = new_marker()
        self.ok(["bob@example.test"], "Subject: %s\n\nhello\n" % m)
        msg = self.inst.find_message("bob@example.test", m)
        h = self.headers(msg)
        self.assertRegex(h, rb"\nReceived: by mx\.example\.test \(surel, "
                         rb"from userid %d\)\n\tid [0-9A-Za-z]+; "
                         % self.expected_uid())
        self.assertRegex(h, rb"\nDate: ")
        self.assertRegex(h, rb"\nMessage-Id: <\d{14}\.\w+@mx\.example\.test>")
        self.assertEqual(self.from_of(msg),
                         (self.expected_name(), self.expected_sender()))
        self.assertEqual(self.body(msg), b"hello\n")
        self.assertRegex(self.inst.log(), r"pickup\[\d+\]: \w+: uid=%d "
                         r"from=<" % self.expected_uid())

    def test_unqualified_recipient_gets_myorigin(self):
        m = new_marker()
        self.ok(["carol"], "Subject: %s\n\nx\n" % m)
        self.inst.find_message("carol@example.test", m)

    def test_unqualified_header_addresses_completed(self):
        """As Postfix's cleanup for local mail: an address without a
        domain in an address field gets @myorigin; names, comments and
        other fields stay as written."""
        m = new_marker()
        self.ok(["-t"], "From: \"Cron, the\" <root> (daemon)\n"
                "To: carol, \"Bob B\" <bob>\nCc: team: dave@example.org;\n"
                "X-Note: carol\nSubject: %s\n\nx\n" % m)
        msg = self.inst.find_message("carol@example.test", m)
        h = self.headers(msg)
        self.assertIn(b"\nFrom: \"Cron, the\" <root@example.test> "
                      b"(daemon)\n", h)
        self.assertIn(b"\nTo: carol@example.test, \"Bob B\" "
                      b"<bob@example.test>\n", h)
        self.assertIn(b"\nCc: team: dave@example.org;\n", h)
        self.assertIn(b"\nX-Note: carol\n", h)
        self.inst.find_message("bob@example.test", m)

    def test_t_takes_to_cc_bcc_and_removes_bcc(self):
        m = new_marker()
        self.ok(["-t"], "To: Alice <alice@example.test>\n"
                "Cc: team: bob@example.test;\n"
                "Bcc: (hidden) carol@example.test\n"
                "Subject: %s\n\nbody\n" % m)
        for a in ("alice@example.test", "bob@example.test",
                  "carol@example.test"):
            msg = self.inst.find_message(a, m)
            self.assertNotIn(b"Bcc:", self.headers(msg))
            self.assertIn(b"To: Alice <alice@example.test>", msg)

    def test_alias_is_expanded_as_smtpd_does(self):
        # pickup expands virtual_alias_maps (team: alice, bob, carol).
        m = new_marker()
        self.ok(["team"], "Subject: %s\n\nbody\n" % m)
        for a in ("alice@example.test", "bob@example.test",
                  "carol@example.test"):
            msg = self.inst.find_message(a, m)
            self.assertIn(b"\nDelivered-To: %s\n" % a.encode(), msg)
        self.assertIsNotNone(self.inst.wait_log(
            r"to=<carol@example\.test>, orig_to=<team@example\.test>, "
            r"relay=local"), self.inst.diagnostics())
        time.sleep(0.5)
        self.assertEqual(self.inst.count_marker(m), 3)

    def test_t_prefers_resent_headers(self):
        m = new_marker()
        self.ok(["-t"], "To: alice@example.test\n"
                "Resent-To: dave@example.org\n"
                "Subject: %s\n\nbody\n" % m)
        self.inst.find_message("dave@example.org", m)
        time.sleep(1)
        self.assertEqual(self.inst.count_marker(m), 1)

    def test_f_and_F_set_sender_and_from(self):
        m = new_marker()
        self.ok(["-f", "robot@example.test", "-F", "Cron Daemon",
                 "alice@example.test"], "Subject: %s\n\nx\n" % m)
        msg = self.inst.find_message("alice@example.test", m)
        self.assertIn(b"From: Cron Daemon <robot@example.test>\n", msg)
        self.assertIn(b"Return-Path: <robot@example.test>", msg)

    def test_F_utf8_is_rfc2047_encoded(self):
        """A full name that is not ASCII becomes RFC 2047 encoded words
        in UTF-8 (Postfix's full_name_encoding_charset), decoded by any
        mail reader to the name given."""
        m = new_marker()
        name = "Jos\u00e9 M\u00fcller \u65e5\u672c"
        self.ok(["-F", name, "alice@example.test"], "Subject: %s\n\nx\n" % m)
        msg = self.inst.find_message("alice@example.test", m)
        self.assertIn(b"From: =?utf-8?q?Jos=C3=A9_M=C3=BCller_", msg)
        self.assertTrue(all(b < 0x80 for b in self.headers(msg)))
        self.assertEqual(self.from_of(msg),
                         (name, self.expected_sender()))

    def test_default_full_name_from_NAME_then_gecos(self):
        m = new_marker()
        self.ok(["alice@example.test"], "Subject: %s\n\nx\n" % m,
                extra_env={"NAME": "From The Environment"})
        msg = self.inst.find_message("alice@example.test", m)
        self.assertEqual(self.from_of(msg), ("From The Environment",
                                             self.expected_sender()))
        # -F wins over NAME
        m2 = new_marker()
        self.ok(["-F", "Given", "alice@example.test"],
                "Subject: %s\n\nx\n" % m2, extra_env={"NAME": "Not me"})
        msg = self.inst.find_message("alice@example.test", m2)
        self.assertEqual(self.from_of(msg)[0], "Given")
        # neither: the password file's
        m3 = new_marker()
        self.ok(["alice@example.test"], "Subject: %s\n\nx\n" % m3)
        msg = self.inst.find_message("alice@example.test", m3)
        self.assertEqual(self.from_of(msg)[0], self.expected_name())
        if IS_ROOT:
            self.assertEqual(self.expected_name(), "Surel-submit Tester")

    def test_F_with_specials_is_quoted_and_from_kept(self):
        m = new_marker()
        self.ok(["-F", "Doe, John", "alice@example.test"],
                "Subject: %s\n\nx\n" % m)
        msg = self.inst.find_message("alice@example.test", m)
        self.assertIn(b'From: "Doe, John" <', msg)
        m2 = new_marker()
        self.ok(["-F", "Ignored", "alice@example.test"],
                "From: me@example.test\nSubject: %s\n\nx\n" % m2)
        msg = self.inst.find_message("alice@example.test", m2)
        self.assertEqual(msg.count(b"\nFrom: "), 1)
        self.assertIn(b"\nFrom: me@example.test\n", msg)

    # -- the lone dot

    def test_dot_ends_input_without_i(self):
        m = new_marker()
        self.ok(["alice@example.test"],
                "Subject: %s\n\nbefore\n.\nafter\n" % m)
        msg = self.inst.find_message("alice@example.test", m)
        self.assertTrue(msg.endswith(b"before\n"), msg)

    def test_i_and_oi_keep_the_dot(self):
        for opt in ("-i", "-oi"):
            m = new_marker()
            self.ok([opt, "alice@example.test"],
                    "Subject: %s\n\nbefore\n.\nafter\n" % m)
            msg = self.inst.find_message("alice@example.test", m)
            self.assertTrue(msg.endswith(b"before\n.\nafter\n"), msg)

    def test_ignored_options_as_postfix(self):
        m = new_marker()
        self.ok(["-oem", "-odb", "-oQ/tmp", "-U", "-n", "-h", "5",
                 "alice@example.test"], "Subject: %s\n\nx\n" % m)
        self.inst.find_message("alice@example.test", m)

    def test_bad_usage(self):
        r = self.sendmail(["-z", "a@example.test"], "x\n")
        self.assertEqual(r.returncode, EX_USAGE)
        self.assertIn(b"unknown option -- z", r.stderr)
        r = self.sendmail([], "Subject: x\n\nno recipients\n")
        self.assertEqual(r.returncode, EX_USAGE)
        self.assertIn(b"no recipients", r.stderr)
        r = self.sendmail(["-bd"], "")
        self.assertEqual(r.returncode, EX_USAGE)
        # -bv works (test_sendmail_bv.py), but not without recipients.
        r = self.sendmail(["-bv"], "")
        self.assertEqual(r.returncode, EX_USAGE)

    # -- bad input (ISSUE7)

    def test_no_headers_only_body(self):
        m = new_marker()
        self.ok(["alice@example.test"], "just a body line %s\nmore\n" % m)
        msg = self.inst.find_message("alice@example.test", m)
        self.assertRegex(self.headers(msg), rb"\nDate: ")
        self.assertIn(b"\nFrom: ", self.headers(msg))
        self.assertEqual(self.body(msg), b"just a body line %s\nmore\n"
                         % m.encode())

    def test_empty_message(self):
        self.ok(["carol@example.test"], "")
        before = len(self.inst.messages("carol@example.test"))
        self.ok(["carol@example.test"], "")
        msgs = self.inst.wait_for_maildir("carol@example.test", before + 1)
        self.assertTrue(any(b"\nMessage-Id: " in x for x in msgs))

    def test_bare_lf_and_crlf(self):
        m = new_marker()
        self.ok(["alice@example.test"],
                b"Subject: %s\r\n\r\nline1\r\nline2\nline3\r\n"
                % m.encode())
        msg = self.inst.find_message("alice@example.test", m)
        self.assertTrue(msg.endswith(b"\n\nline1\nline2\nline3\n"), msg)

    def test_mbox_from_line_dropped(self):
        m = new_marker()
        self.ok(["alice@example.test"],
                "From someone Sat Nov 21 10:00:00 2026\nSubject: %s\n\nx\n"
                % m)
        msg = self.inst.find_message("alice@example.test", m)
        self.assertNotIn(b"From someone", msg)

    def test_nul_byte_refused(self):
        m = new_marker()
        r = self.sendmail(["alice@example.test"],
                          b"Subject: %s\n\na\x00b\n" % m.encode())
        self.assertEqual(r.returncode, EX_DATAERR)
        self.assertIn(b"NUL", r.stderr)
        time.sleep(1)
        self.assertEqual(self.inst.count_marker(m), 0)

    def test_too_big_refused(self):
        limit = int(self.inst.main_cf["message_size_limit"])
        m = new_marker()
        data = b"Subject: %s\n\n" % m.encode() + b"y" * 79 + b"\n"
        data += (b"z" * 99 + b"\n") * (limit // 100 + 10)
        r = self.sendmail(["alice@example.test"], data)
        self.assertEqual(r.returncode, EX_DATAERR)
        self.assertIn(b"message_size_limit", r.stderr)
        self.assertEqual(os.listdir(os.path.join(self.inst.queue,
                                                 "maildrop")), [])

    @unittest.skipUnless(IS_ROOT, "needs a second user: run as root")
    def test_user_not_in_group_refused(self):
        m = new_marker()
        r = self.sendmail(["alice@example.test"], "Subject: %s\n\nx\n" % m,
                          user=OUTSIDER)
        self.assertEqual(r.returncode, EX_NOPERM, r.stderr)
        self.assertIn(b"may not submit", r.stderr)

    @unittest.skipUnless(IS_ROOT and not SANITIZED,
                         "needs a second user and a setgid sureldrop")
    def test_setgid_drop_refuses_foreign_config(self):
        other = os.path.join(self.inst.dir, "userconf")
        os.makedirs(other, exist_ok=True)
        with open(os.path.join(self.inst.etc, "main.cf")) as f:
            text = f.read()
        with open(os.path.join(other, "main.cf"), "w") as f:
            f.write(text)
        os.chown(other, pwd.getpwnam(SUBMIT_USER).pw_uid, -1)
        r = subprocess.run([os.path.join(BIN_DIR, "sureldrop"), "-c", other,
                            "-f", "x", "--", "alice@example.test"],
                           input=b"00000000", capture_output=True,
                           timeout=30, env=self.user_env(),
                           preexec_fn=as_user(SUBMIT_USER))
        self.assertEqual(r.returncode, EX_NOPERM, r.stderr)

    def test_truncated_stream_queues_nothing(self):
        """sureldrop without the end of the stream (its sendmail died)
        leaves nothing in maildrop/."""
        m = new_marker()
        env = self.user_env()
        body = b"Subject: %s\n\nx\n" % m.encode()
        r = subprocess.run([os.path.join(BIN_DIR, "sureldrop"), "-c",
                            self.inst.etc, "-f", "x", "--",
                            "alice@example.test"],
                           input=b"%08x" % len(body) + body,
                           capture_output=True, timeout=30, env=env,
                           preexec_fn=as_user(SUBMIT_USER) if IS_ROOT
                           else None)
        self.assertEqual(r.returncode, EX_DATAERR, r.stderr)
        self.assertEqual(os.listdir(os.path.join(self.inst.queue,
                                                 "maildrop")), [])

    def test_forged_maildrop_file_removed(self):
        """A maildrop file that is not a queue file: removed, logged,
        nothing delivered, pickup still works."""
        path = os.path.join(self.inst.queue, "maildrop", "6740A3B2F0A1B2C3F1E")
        with open(path, "wb") as f:
            f.write(b"SUREL-QUEUE 1\nT\tjunk\n")
        os.chmod(path, 0o744)
        m = new_marker()
        self.ok(["alice@example.test"], "Subject: %s\n\nx\n" % m)
        self.inst.find_message("alice@example.test", m)
        self.assertTrue(wait_until(lambda: not os.path.exists(path), 20))
        self.assertRegex(self.inst.log(), r"maildrop/6740A3B2F0A1B2C3F1E: "
                         r"uid=\d+: .*: removed")

    def test_maildrop_modes(self):
        st = os.stat(os.path.join(self.inst.queue, "maildrop"))
        self.assertEqual(st.st_mode & 0o7777, 0o1730)
        if IS_ROOT:
            self.assertEqual(st.st_gid, grp.getgrnam(DROP_GROUP).gr_gid)
            pst = os.stat(os.path.join(self.inst.queue, "public"))
            self.assertEqual(pst.st_gid, grp.getgrnam(DROP_GROUP).gr_gid)

    def test_mailq_name_runs_surelqueue(self):
        """Invoked as mailq it is -bp: it runs surelqueue -p from its own
        directory (an error naming it when that is not installed)."""
        if not os.path.exists(os.path.join(BIN_DIR, "surelqueue")):
            r = self.sendmail([], b"", name="mailq")
            self.assertEqual(r.returncode, EX_UNAVAILABLE)
            self.assertIn(b"surelqueue", r.stderr)
            return
        # The queue is readable by root and mail_owner only
        # (surelqueue(1)): as the instance's owner it lists; a user who
        # merely may submit is told no (EX_NOPERM), unlike Postfix.
        r = self.sendmail([], b"", user=self.inst.owner.pw_name
                          if IS_ROOT else None, name="mailq")
        self.assertEqual(r.returncode, EX_OK, r.stderr)
        self.assertRegex(r.stdout, rb"Mail queue is empty|Requests\.")
        if IS_ROOT:
            r = self.sendmail([], b"", name="mailq")
            self.assertEqual(r.returncode, 77, r.stderr)
            self.assertIn(b"permission denied", r.stderr)

    def test_bs_smtp_on_stdin(self):
        """-bs: an SMTP session on stdin/stdout, two messages (one
        dot-stuffed), a sequence error, a NUL refused, QUIT."""
        m1, m2, m3 = new_marker(), new_marker(), new_marker()
        session = ("EHLO client\r\nRCPT TO:<alice@example.test>\r\n"
                   "MAIL FROM:<robot@example.test>\r\n"
                   "RCPT TO:<alice@example.test>\r\nDATA\r\n"
                   "Subject: %s\r\n\r\n..dot\r\n.\r\n"
                   "MAIL FROM:<>\r\nRCPT TO:<bob@example.test>\r\n"
                   "DATA\r\nSubject: %s\r\n\r\nx\r\n.\r\n"
                   "MAIL FROM:<x@example.test>\r\n"
                   "RCPT TO:<bob@example.test>\r\nDATA\r\n"
                   "Subject: %s\r\n\r\na\0b\r\n.\r\n"
                   "QUIT\r\n" % (m1, m2, m3)).encode()
        r = self.ok(["-bs"], session)
        codes = re.findall(rb"^(\d{3})[ -]", r.stdout, re.M)
        self.assertEqual(codes, [b"220", b"250", b"250", b"250", b"503",
                                 b"250", b"250", b"354", b"250",
                                 b"250", b"250", b"354", b"250",
                                 b"250", b"250", b"354", b"554", b"221"],
                         r.stdout)
        msg = self.inst.find_message("alice@example.test", m1)
        self.assertTrue(msg.endswith(b"\n\n.dot\n"), msg)
        self.assertIn(b"Return-Path: <robot@example.test>", msg)
        self.inst.find_message("bob@example.test", m2)
        time.sleep(1)
        self.assertEqual(self.inst.count_marker(m3), 0)

    def test_newaliases_rebuilds_alias_database(self):
        """newaliases (the name, and -bi) runs surelmap over
        alias_database; empty, it says there is nothing to do."""
        env = self.inst.env()
        env["SUREL_CONFIG_DIR"] = self.inst.etc
        exe = os.path.join(BIN_DIR, "sendmail.surel")
        r = subprocess.run(["newaliases"], executable=exe, env=env,
                           capture_output=True, timeout=60)
        self.assertEqual(r.returncode, EX_OK, r.stderr)
        self.assertIn(b"nothing to rebuild", r.stderr)
        src = os.path.join(self.inst.dir, "aliases")
        with open(src, "w") as f:
            f.write("staff@example.test alice@example.test\n")
        conf = os.path.join(self.inst.dir, "aliasconf")
        os.makedirs(conf, exist_ok=True)
        with open(os.path.join(self.inst.etc, "main.cf")) as f:
            text = f.read()
        with open(os.path.join(conf, "main.cf"), "w") as f:
            f.write(text + "alias_database = hash:%s\n" % src)
        for argv in (["newaliases"], ["sendmail", "-bi"]):
            if os.path.exists(src + ".db"):
                os.unlink(src + ".db")
            r = subprocess.run(argv + ["-C", conf] if argv[0] == "sendmail"
                               else argv, executable=exe,
                               env=dict(env, SUREL_CONFIG_DIR=conf),
                               capture_output=True, timeout=60)
            self.assertEqual(r.returncode, EX_OK, r.stderr)
            self.assertTrue(os.path.exists(src + ".db"), argv)


class SendmailChecksCase(SendmailBase):
    """header_checks and body_checks apply to local mail (pickup), as
    Postfix's cleanup applies them."""

    @classmethod
    def make_shared_instance(cls):
        inst = super().make_shared_instance()
        rules = os.path.join(inst.etc, "header_checks")
        with open(rules, "w") as f:
            f.write("/^Subject: .*hold-me/ HOLD\n"
                    "/^Subject: .*drop-me/ REJECT no thanks\n"
                    "/^Subject: .*lose-me/ DISCARD\n"
                    "/^X-Strip:/ IGNORE\n")
        inst.set_main_cf(header_checks="pcre:" + rules)
        return inst

    def test_checks(self):
        m = new_marker()
        self.ok(["alice@example.test"],
                "Subject: %s\nX-Strip: yes\n\nx\n" % m)
        msg = self.inst.find_message("alice@example.test", m)
        self.assertNotIn(b"X-Strip", msg)
        held = new_marker()
        self.ok(["alice@example.test"], "Subject: hold-me %s\n\nx\n" % held)
        self.assertTrue(wait_until(lambda: self.inst.queue_files("hold"), 20),
                        self.inst.diagnostics())
        # REJECT: nobody waits for a reply, so the sender gets it back
        # (Postfix's cleanup bounces pickup's mail); alice gets nothing.
        dropped = new_marker()
        self.ok(["-f", "bob@example.test", "alice@example.test"],
                "Subject: drop-me %s\n\nx\n" % dropped)
        self.inst.wait_log(r"reject: header Subject: drop-me %s" % dropped)
        bounce = self.inst.find_message("bob@example.test", dropped)
        self.assertIn(b"no thanks", bounce)
        self.assertIn(b"5.7.1", bounce)
        self.assertEqual(self.inst.count_marker(dropped), 1)
        self.assertEqual(self.inst.count_marker(held), 0)
        # DISCARD: dropped, logged.
        gone = new_marker()
        self.ok(["alice@example.test"], "Subject: lose-me %s\n\nx\n" % gone)
        self.inst.wait_log(r"discard: header Subject: lose-me %s" % gone)
        time.sleep(1)
        self.assertEqual(self.inst.count_marker(gone), 0)

    def run_link(self, link, args=(), user=None, conf=None):
        """Runs the symbolic link itself (argv[0] is its path, as a shell
        would run /usr/bin/mailq)."""
        env = self.inst.env()
        env["SUREL_CONFIG_DIR"] = conf or self.inst.etc
        return subprocess.run([link] + list(args), env=env,
                              capture_output=True, timeout=60,
                              preexec_fn=as_user(user) if user else None)

    def test_surel_names_through_links(self):
        """The names make install links beside sendmail.surel, here as
        links in a directory of their own: mailq.surel prints what -bp
        prints (a held message among it), newaliases.surel rebuilds
        alias_database."""
        links = os.path.join(self.inst.dir, "links")
        os.makedirs(links, exist_ok=True)
        os.chmod(links, 0o755)
        for n in ("mailq.surel", "newaliases.surel"):
            if not os.path.lexists(os.path.join(links, n)):
                os.symlink(os.path.join(BIN_DIR, "sendmail.surel"),
                           os.path.join(links, n))
        if os.path.exists(os.path.join(BIN_DIR, "surelqueue")):
            before = set(map(os.path.basename, self.inst.queue_files("hold")))
            self.ok(["alice@example.test"],
                    "Subject: hold-me %s\n\nx\n" % new_marker())

            def held():
                return set(map(os.path.basename,
                               self.inst.queue_files("hold"))) - before
            self.assertTrue(wait_until(held, 20), self.inst.diagnostics())
            qid = held().pop()
            owner = self.inst.owner.pw_name if IS_ROOT else None
            r = self.run_link(os.path.join(links, "mailq.surel"), user=owner)
            self.assertEqual(r.returncode, EX_OK, r.stderr)
            bp = self.sendmail(["-bp"], b"", user=owner)
            self.assertEqual(bp.returncode, EX_OK, bp.stderr)
            self.assertEqual(r.stdout, bp.stdout)
            self.assertRegex(r.stdout, rb"(?m)^%s!" % qid.encode())
        src = os.path.join(self.inst.dir, "aliases2")
        with open(src, "w") as f:
            f.write("staff@example.test alice@example.test\n")
        conf = os.path.join(self.inst.dir, "aliasconf2")
        os.makedirs(conf, exist_ok=True)
        with open(os.path.join(self.inst.etc, "main.cf")) as f:
            text = f.read()
        with open(os.path.join(conf, "main.cf"), "w") as f:
            f.write(text + "alias_database = hash:%s\n" % src)
        r = self.run_link(os.path.join(links, "newaliases.surel"), conf=conf)
        self.assertEqual(r.returncode, EX_OK, r.stderr)
        self.assertTrue(os.path.exists(src + ".db"))
        self.assertNotIn(b"nothing to rebuild", r.stderr)


if __name__ == "__main__":
    unittest.main()
