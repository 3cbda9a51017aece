"""Submission with SMTP AUTH (RFC 4954): smtpd's AUTH PLAIN and LOGIN
through authd on a submission port (STARTTLS required before AUTH) and a
submissions port (implicit TLS), AUTH refused where it is not enabled,
the exchange's errors (bad base64, cancel, an over-long response), the
MAIL AUTH= parameter, relaying for authenticated clients, the queue
file's sasl_* attributes and the Received: header's ESMTPSA.

Remote mail goes to a ScriptedPeer as relayhost; it answers 451 to
later@remote.test so that such a message stays in the queue, where its
envelope can be read. Loopback only; every wait is bounded."""

import base64
import os
import re
import smtplib
import subprocess
import unittest

from instance import (DAEMON_DIR, Instance, Raw, b64_plain, free_port,
                      new_marker, parse, password_of, wait_until)
from smtp_peer import ScriptedPeer
from test_relay import RelayCase

ALICE = "alice@example.test"
BOB = "bob@example.test"
USERS = {ALICE: "example.test/alice/", BOB: "example.test/bob/"}


def b64(text):
    return base64.b64encode(text.encode()).decode()


def message(sender, rcpt, marker):
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: submission\r\n"
            "X-Marker: %s\r\n\r\nmarker %s\r\n" % (sender, rcpt, marker,
                                                   marker))


class Submission(RelayCase):
    @classmethod
    def setUpClass(cls):
        cls.peer = ScriptedPeer(rcpt=lambda a: (
            "451 4.3.0 try again later" if a.startswith("later@")
            else "250 2.1.5 Ok"))
        cls.set_up_instance(cls.make_instance)

    @classmethod
    def make_instance(cls):
        agent = os.path.join(DAEMON_DIR, "smtp")
        if not os.access(agent, os.X_OK):
            raise AssertionError("%s is not installed" % agent)
        inst = Instance(users=USERS, access=True,
                        aliases={"defer@example.test": "later@remote.test"},
                        relayhost="[127.0.0.1]:%d" % cls.peer.port,
                        smtp_tls_security_level="none",
                        smtp_connect_timeout="2s")
        inst.submission_port = free_port()
        inst.submissions_port = free_port()
        inst.master_cf_text += (
            "127.0.0.1:%d inet n - n - 10 smtpd "
            "-o smtpd_tls_security_level=encrypt "
            "-o smtpd_sasl_auth_enable=yes\n"
            "127.0.0.1:%d inet n - n - 10 smtpd "
            "-o smtpd_tls_wrappermode=yes -o smtpd_sasl_auth_enable=yes\n"
            "smtp unix - - n - - smtp\n" % (inst.submission_port,
                                           inst.submissions_port))
        inst.write_config()
        return inst.start_or_cleanup()

    # -- helpers

    def submission(self):
        """smtplib on the submission port, after STARTTLS and EHLO."""
        s = smtplib.SMTP("127.0.0.1", self.inst.submission_port, timeout=30)
        s.ehlo("client.example")
        s.starttls(context=self.inst.ssl_context())
        s.ehlo("client.example")
        return s

    def raw_tls(self):
        """A raw connection on the submission port after STARTTLS and
        EHLO (its EHLO reply in .ehlo)."""
        r = Raw(self.inst.submission_port, timeout=30)
        r.cmd("EHLO client.example")
        code, text = r.cmd("STARTTLS")
        self.assertEqual(code, 220, text)
        r.starttls(self.inst.ssl_context())
        r.ehlo = r.cmd("EHLO client.example")
        return r

    def queued_envelope(self, marker):
        """The A records of the queue file holding marker (deferred)."""
        def find():
            for sub in ("incoming", "active", "deferred"):
                for p in self.inst.queue_files(sub):
                    try:
                        with open(p, "rb") as f:
                            data = f.read()
                    except OSError:
                        continue
                    if marker.encode() in data:
                        return data
            return None
        data = wait_until(find, 20)
        self.assertIsNotNone(data, "no queue file\n" +
                             self.inst.diagnostics())
        attrs = {}
        for line in data.split(b"\n"):
            if line.startswith(b"A\t"):
                _, name, value = line.decode().split("\t", 2)
                attrs[name] = value
        return attrs

    # -- success

    def test_login_relay_remote(self):
        m = new_marker()
        with self.submission() as s:
            self.assertEqual(s.esmtp_features.get("auth", "").strip(),
                             "PLAIN LOGIN")
            code, text = s.login(ALICE, password_of(ALICE))
            self.assertEqual(code, 235, text)
            self.assertEqual(text, b"2.7.0 Authentication successful")
            s.sendmail(ALICE, ["someone@remote.test"],
                       message(ALICE, "someone@remote.test", m))
        sess = self.session_with(m, 30)
        msg = parse(sess["data"])
        self.assertRegex(msg["Received"], r"with ESMTPSA id ")
        self.log_of(r"client=unknown\[127\.0\.0\.1\], sasl_method=PLAIN, "
                    r"sasl_username=alice@example\.test")

    def test_login_local_user(self):
        m = new_marker()
        with self.submission() as s:
            s.login(BOB, password_of(BOB))
            s.sendmail(BOB, [ALICE], message(BOB, ALICE, m))
        data = self.inst.find_message(ALICE, m)
        self.assertTrue(data, self.inst.diagnostics())
        msg = parse(data)
        self.assertRegex(msg["Received"], r"with ESMTPSA id ")

    def test_envelope_attributes(self):
        m = new_marker()
        with self.submission() as s:
            s.login(ALICE, password_of(ALICE))
            code, _ = s.mail(ALICE, ["AUTH=<bob+2Bx@example.test>"])
            self.assertEqual(code, 250)
            self.assertEqual(s.rcpt("later@remote.test")[0], 250)
            self.assertEqual(s.data(message(ALICE, "later@remote.test",
                                            m))[0], 250)
        attrs = self.queued_envelope(m)
        self.assertEqual(attrs.get("sasl_username"), ALICE, attrs)
        self.assertEqual(attrs.get("sasl_method"), "PLAIN", attrs)
        self.assertEqual(attrs.get("sasl_sender"), "<bob+2Bx@example.test>",
                         attrs)
        self.assertEqual(attrs.get("protocol"), "ESMTPSA", attrs)

    def test_swaks(self):
        for mech, port, tls in (
                ("PLAIN", self.inst.submission_port, "--tls"),
                ("LOGIN", self.inst.submission_port, "--tls"),
                ("LOGIN", self.inst.submissions_port, "--tls-on-connect")):
            m = new_marker()
            p = subprocess.run(
                ["swaks", "--server", "127.0.0.1:%d" % port, tls,
                 "--auth", mech, "--auth-user", BOB,
                 "--auth-password", password_of(BOB),
                 "--from", BOB, "--to", ALICE, "--helo", "client.example",
                 "--header", "X-Marker: " + m, "--body", "marker " + m],
                capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertIn("235 2.7.0 Authentication successful", p.stdout)
            self.assertTrue(self.inst.find_message(ALICE, m),
                            self.inst.diagnostics())
            self.log_of(r"sasl_method=%s, sasl_username=bob@example\.test"
                        % mech)

    def test_login_initial_response(self):
        r = self.raw_tls()
        try:
            code, text = r.cmd("AUTH LOGIN " + b64(ALICE))
            self.assertEqual((code, text), (334, "334 UGFzc3dvcmQ6"))
            code, text = r.cmd(b64(password_of(ALICE)))
            self.assertEqual(code, 235, text)
            self.assertEqual(r.cmd("AUTH PLAIN " + b64_plain(
                ALICE, password_of(ALICE))),
                (503, "503 5.5.1 Error: already authenticated"))
            self.assertNotIn("AUTH", r.cmd("EHLO client.example")[1])
        finally:
            r.close()

    # -- refusals

    def test_auth_needs_starttls(self):
        r = Raw(self.inst.submission_port, timeout=30)
        try:
            code, text = r.cmd("EHLO client.example")
            self.assertIn("STARTTLS", text)
            self.assertNotIn("AUTH", text)
            self.assertEqual(
                r.cmd("AUTH PLAIN " + b64_plain(ALICE, password_of(ALICE))),
                (530, "530 5.7.0 Must issue a STARTTLS command first"))
        finally:
            r.close()
        self.assertIn("AUTH PLAIN LOGIN", self.raw_tls().ehlo[1])

    def test_not_enabled_on_port_25(self):
        r = self.inst.raw()
        try:
            code, text = r.cmd("EHLO client.example")
            self.assertNotIn("AUTH", text)
            self.assertEqual(
                r.cmd("AUTH PLAIN " + b64_plain(ALICE, password_of(ALICE))),
                (503, "503 5.5.1 Error: authentication not enabled"))
        finally:
            r.close()

    def test_wrong_password(self):
        r = self.raw_tls()
        try:
            code, text = r.cmd("AUTH PLAIN " + b64_plain(ALICE, "nope"))
            self.assertEqual(code, 535, text)
            self.assertTrue(text.startswith("535 5.7.8 "), text)
            code, text = r.cmd("AUTH LOGIN")
            self.assertEqual((code, text), (334, "334 VXNlcm5hbWU6"))
            self.assertEqual(r.cmd(b64(ALICE))[0], 334)
            self.assertEqual(r.cmd(b64("nope"))[0], 535)
            # Not authenticated: no relaying.
            self.assertEqual(r.cmd("MAIL FROM:<%s>" % ALICE)[0], 250)
            code, text = r.cmd("RCPT TO:<someone@remote.test>")
            self.assertEqual(code, 554, text)
        finally:
            r.close()
        self.log_of(r"warning: unknown\[127\.0\.0\.1\]: SASL LOGIN "
                    r"authentication failed: ")

    def test_bad_base64(self):
        r = self.raw_tls()
        try:
            self.assertEqual(r.cmd("AUTH PLAIN not*base64"), (
                501, "501 5.5.2 Invalid base64 data in initial response"))
            self.assertEqual(r.cmd("AUTH PLAIN")[0], 334)
            self.assertEqual(r.cmd("YWJj="), (
                501, "501 5.5.2 Invalid base64 data in continued response"))
            self.assertEqual(r.cmd("NOOP")[0], 250)
        finally:
            r.close()

    def test_empty_response(self):
        r = self.raw_tls()
        try:
            self.assertEqual(r.cmd("AUTH PLAIN =")[0], 535)
            self.assertEqual(r.cmd("AUTH PLAIN"), (334, "334 "))
            self.assertEqual(r.cmd("")[0], 535)
            self.assertEqual(r.cmd("AUTH LOGIN")[0], 334)
            self.assertEqual(r.cmd("")[0], 334)
            self.assertEqual(r.cmd("")[0], 535)
        finally:
            r.close()

    def test_huge_response(self):
        r = self.raw_tls()
        try:
            self.assertEqual(r.cmd("AUTH PLAIN")[0], 334)
            code, text = r.cmd("QUFB" * 25600)	# 100 KB
            self.assertEqual(code, 500, text)
            self.assertIn("5.5.6", text)
            code, text = r.cmd("AUTH PLAIN " + "QUFB" * 25600)
            self.assertEqual(code, 500, text)
            self.assertEqual(r.cmd("NOOP")[0], 250)
            code, text = r.cmd("AUTH PLAIN " + b64_plain(
                ALICE, password_of(ALICE)))
            self.assertEqual(code, 235, text)
        finally:
            r.close()

    def test_cancel(self):
        r = self.raw_tls()
        try:
            self.assertEqual(r.cmd("AUTH LOGIN")[0], 334)
            self.assertEqual(r.cmd("*"),
                             (501, "501 5.7.0 Authentication aborted"))
            self.assertEqual(r.cmd("AUTH"),
                             (501, "501 5.5.4 Syntax: AUTH mechanism"))
            self.assertEqual(r.cmd("AUTH PLAIN a b"),
                             (501, "501 5.5.4 Syntax: AUTH mechanism"))
            self.assertEqual(r.cmd("AUTH FOO"), (
                504, "504 5.5.4 Unsupported authentication mechanism"))
            self.assertEqual(r.cmd("MAIL FROM:<%s>" % ALICE)[0], 250)
            self.assertEqual(r.cmd("AUTH PLAIN " + b64_plain(
                ALICE, password_of(ALICE))), (
                503, "503 5.5.1 Error: MAIL transaction in progress"))
        finally:
            r.close()

    def test_forged_auth_param_ignored(self):
        """Port 25, not authenticated: AUTH= is accepted and ignored, and
        a remote domain is refused."""
        m = new_marker()
        with self.inst.smtp() as s:
            s.ehlo("client.example")
            self.assertEqual(s.mail("x@remote.test",
                                    ["AUTH=<forged@x>"])[0], 250)
            code, text = s.rcpt("someone@remote.test")
            self.assertEqual(code, 554, text)
            self.assertIn(b"Relay access denied", text)
            self.assertEqual(s.rcpt("defer@example.test")[0], 250)
            self.assertEqual(s.data(message("x@remote.test",
                                            "defer@example.test", m))[0],
                             250)
        attrs = self.queued_envelope(m)
        self.assertNotIn("sasl_sender", attrs)
        self.assertNotIn("sasl_username", attrs)
        self.assertEqual(attrs.get("protocol"), "ESMTP", attrs)

    def test_null_auth_param(self):
        """AUTH=<> (RFC 4954 5: the submitter's identity is unknown) from
        an authenticated client and from an unauthenticated one on port
        25: accepted, and no sasl_sender is recorded either way."""
        m = new_marker()
        with self.submission() as s:
            s.login(ALICE, password_of(ALICE))
            self.assertEqual(s.mail(ALICE, ["AUTH=<>"])[0], 250)
            self.assertEqual(s.rcpt("later@remote.test")[0], 250)
            self.assertEqual(s.data(message(ALICE, "later@remote.test",
                                            m))[0], 250)
        attrs = self.queued_envelope(m)
        self.assertEqual(attrs.get("sasl_username"), ALICE, attrs)
        self.assertNotIn("sasl_sender", attrs)
        m = new_marker()
        with self.inst.smtp() as s:
            s.ehlo("client.example")
            self.assertEqual(s.mail("x@remote.test", ["AUTH=<>"])[0], 250)
            self.assertEqual(s.rcpt("someone@remote.test")[0], 554)
            self.assertEqual(s.rcpt("defer@example.test")[0], 250)
            self.assertEqual(s.data(message("x@remote.test",
                                            "defer@example.test", m))[0],
                             250)
        attrs = self.queued_envelope(m)
        self.assertNotIn("sasl_sender", attrs)
        self.assertNotIn("sasl_username", attrs)


if __name__ == "__main__":
    unittest.main()
