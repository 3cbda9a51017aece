"""The SPF check of smtpd (smtpd_spf_policy) over a real instance whose
dns_resolver is a dnsmasq serving the SPF records of smtp_peer.py:
every result (pass, fail, softfail, neutral, none, permerror from a
chain of 20 includes, temperror from a name server that never answers,
the null sender checked as postmaster@HELO) in the Received-SPF header
of the delivered message, right above smtpd's Received:, with
client-ip, envelope-from, helo, receiver and identity; the envelope
attributes spf, spf_domain and spf_helo in the queue file (an instance
without qmgr keeps its messages in incoming/); reject_fail refuses a fail
at MAIL with 550 5.7.23 and takes the rest; clients in mynetworks and
authenticated clients are not checked.

The test client connects from 127.0.0.1 (outside BASE_MAIN_CF's
mynetworks). Loopback only; every wait is bounded."""

import os
import re
import smtplib
import unittest

from instance import Instance, free_port, new_marker, password_of
from smtp_peer import Dnsmasq
from test_relay import RelayCase

ALICE = "alice@example.test"
HOST = "mx.example.test"


def header_block(message):
    """The header of a delivered message, unfolded, as a list of
    (name, value) in order."""
    head = message.split(b"\n\n", 1)[0].decode("utf-8", "replace")
    fields = []
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and fields:
            fields[-1] = (fields[-1][0], fields[-1][1] + " " + line.strip())
        elif ":" in line:
            name, value = line.split(":", 1)
            fields.append((name, value.strip()))
    return fields


def send(port, sender, helo="client.example.net", marker=None):
    """Sends one message to alice; returns the marker."""
    marker = marker or new_marker()
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
        s.ehlo(helo)
        s.sendmail(sender, [ALICE], "Subject: %s\r\n\r\n%s\r\n" % (
            marker, marker))
    return marker


class SpfTag(RelayCase):
    """smtpd_spf_policy = tag, and AUTH on a submission port."""

    @classmethod
    def setUpClass(cls):
        cls.dns = Dnsmasq()

        def make():
            inst = Instance(access=True,
                            dns_resolver="127.0.0.1:%d" % cls.dns.port,
                            smtpd_spf_policy="tag")
            inst.submission_port = free_port()
            inst.master_cf_text += (
                "127.0.0.1:%d inet n - n - 10 smtpd "
                "-o smtpd_sasl_auth_enable=yes\n" % inst.submission_port)
            inst.write_config()
            return inst.start_or_cleanup()
        cls.set_up_instance(make)

    def received_spf(self, sender, helo="client.example.net"):
        """The Received-SPF value of the message sender sent; asserts it
        is the one such field, right above smtpd's Received:."""
        marker = send(self.inst.port, sender, helo)
        fields = header_block(self.inst.find_message(ALICE, marker))
        names = [n.lower() for n, _ in fields]
        self.assertEqual(names.count("received-spf"), 1, fields)
        i = names.index("received-spf")
        self.assertEqual(names[i + 1], "received", fields)
        self.assertTrue(fields[i + 1][1].startswith("from %s " % helo))
        return fields[i][1]

    def check(self, sender, result, helo="client.example.net",
              identity="mailfrom"):
        value = self.received_spf(sender, helo)
        self.assertTrue(value.startswith(result + " ("), value)
        self.assertIn("client-ip=127.0.0.1;", value)
        self.assertIn('envelope-from="%s";' % sender, value)
        self.assertIn("helo=%s;" % helo, value)
        self.assertIn("receiver=%s;" % HOST, value)
        self.assertTrue(value.endswith("identity=%s" % identity), value)
        return value

    def test_pass(self):
        v = self.check("joe@spf-pass.test", "pass")
        self.assertIn("domain of joe@spf-pass.test designates 127.0.0.1 "
                      "as permitted sender", v)
        self.assertTrue(self.inst.wait_log(
            r"NOQUEUE: spf: pass for <joe@spf-pass\.test> "
            r"\(mailfrom=spf-pass\.test\) from .*\[127\.0\.0\.1\]", 10))

    def test_fail(self):
        v = self.check("joe@spf-fail.test", "fail")
        self.assertIn("does not designate 127.0.0.1", v)
        self.assertTrue(self.inst.wait_log(
            r"spf: fail for <joe@spf-fail\.test> .*: 127\.0\.0\.1 is not "
            r"allowed to send mail for spf-fail\.test", 10))

    def test_fail_explanation(self):
        self.check("joe@spf-exp.test", "fail")
        self.assertTrue(self.inst.wait_log(
            r"spf: fail for <joe@spf-exp\.test> .*: 127\.0\.0\.1 may not "
            r"send for spf-exp\.test", 10))

    def test_softfail(self):
        self.check("joe@spf-soft.test", "softfail")

    def test_neutral(self):
        self.check("joe@spf-neutral.test", "neutral")

    def test_none(self):
        v = self.check("joe@no-record.test", "none")
        self.assertIn("does not designate permitted sender hosts", v)

    def test_permerror_20_includes(self):
        v = self.check("joe@spf-perm.test", "permerror")
        self.assertIn("too many DNS look-ups", v)

    def test_temperror(self):
        self.check("joe@spf-temp.test", "temperror")
        self.assertTrue(self.inst.wait_log(
            r"spf: temperror for <joe@spf-temp\.test> .*spf\.down\.test",
            30))

    def test_null_sender_is_helo(self):
        v = self.check("", "pass", helo="spf-helo.test", identity="helo")
        self.assertIn("domain of spf-helo.test designates 127.0.0.1", v)
        v = self.check("", "none", helo="no-record.test", identity="helo")

    def test_authenticated_not_checked(self):
        marker = new_marker()
        with smtplib.SMTP("127.0.0.1", self.inst.submission_port,
                          timeout=30) as s:
            s.ehlo("client.example.net")
            s.starttls(context=self.inst.ssl_context())
            s.ehlo("client.example.net")
            s.login(ALICE, password_of(ALICE))
            s.sendmail("joe@spf-fail.test", [ALICE],
                       "Subject: %s\r\n\r\n%s\r\n" % (marker, marker))
        fields = header_block(self.inst.find_message(ALICE, marker))
        self.assertNotIn("received-spf", [n.lower() for n, _ in fields])


class SpfRejectFail(RelayCase):
    """smtpd_spf_policy = reject_fail, mynetworks 127.0.0.2, and no qmgr:
    accepted messages stay in incoming/ with their envelope."""

    @classmethod
    def setUpClass(cls):
        cls.dns = Dnsmasq()

        def make():
            port = free_port()
            inst = Instance(
                dns_resolver="127.0.0.1:%d" % cls.dns.port,
                smtpd_spf_policy="reject_fail",
                mynetworks="127.0.0.2/32",
                master_cf="127.0.0.1:%d inet n - n - 10 smtpd\n" % port)
            inst.port = port
            return inst.start_or_cleanup()
        cls.set_up_instance(make)

    def envelope(self, marker):
        """The A attributes of the queue file holding marker."""
        for p in self.inst.queue_files("incoming"):
            with open(p, "rb") as f:
                data = f.read()
            if marker.encode() in data:
                return dict(re.findall(rb"^A\t([^\t\n]*)\t([^\n]*)$",
                                       data, re.M))
        self.fail("no queue file with %s" % marker)

    def test_fail_refused_at_mail(self):
        with smtplib.SMTP("127.0.0.1", self.inst.port, timeout=30) as s:
            s.ehlo("client.example.net")
            code, text = s.mail("joe@spf-fail.test")
            self.assertEqual(code, 550, text)
            self.assertEqual(text, b"5.7.23 <joe@spf-fail.test>: Sender "
                             b"address rejected: SPF fail: 127.0.0.1 is "
                             b"not allowed to send mail for spf-fail.test")
            # The transaction is gone: RCPT needs a new MAIL.
            self.assertEqual(s.rcpt(ALICE)[0], 503)
            self.assertEqual(s.mail("joe@spf-pass.test")[0], 250)
        self.assertTrue(self.inst.wait_log(
            r"NOQUEUE: reject: MAIL from .*: 550 5\.7\.23 "
            r"<joe@spf-fail\.test>", 10))

    def test_other_results_accepted_with_attributes(self):
        for sender, result, domain in (
                ("joe@spf-pass.test", b"pass", b"spf-pass.test"),
                ("joe@spf-soft.test", b"softfail", b"spf-soft.test"),
                ("joe@spf-perm.test", b"permerror", b"spf-perm.test"),
                ("joe@spf-temp.test", b"temperror", b"spf-temp.test")):
            marker = send(self.inst.port, sender)
            env = self.envelope(marker)
            self.assertEqual(env.get(b"spf"), result, sender)
            self.assertEqual(env.get(b"spf_domain"), domain, sender)
            self.assertNotIn(b"spf_helo", env)

    def test_null_sender_attributes(self):
        marker = send(self.inst.port, "", helo="spf-helo.test")
        env = self.envelope(marker)
        self.assertEqual(env.get(b"spf"), b"pass")
        self.assertEqual(env.get(b"spf_domain"), b"spf-helo.test")
        self.assertEqual(env.get(b"spf_helo"), b"1")

    def test_mynetworks_not_checked(self):
        marker = new_marker()
        with smtplib.SMTP("127.0.0.1", self.inst.port, timeout=30,
                          source_address=("127.0.0.2", 0)) as s:
            s.ehlo("client.example.net")
            s.sendmail("joe@spf-fail.test", [ALICE],
                       "Subject: %s\r\n\r\n%s\r\n" % (marker, marker))
        env = self.envelope(marker)
        self.assertNotIn(b"spf", env)
        for p in self.inst.queue_files("incoming"):
            with open(p, "rb") as f:
                data = f.read()
            if marker.encode() in data:
                self.assertNotIn(b"Received-SPF:", data)


if __name__ == "__main__":
    unittest.main()
