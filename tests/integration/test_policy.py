"""smtpd's restriction lists over a real instance: access tables
(texthash: and inline:) with their actions, the reject_non_fqdn_* and
HELO checks, relay control against percent hacks, quoted local parts and
source routes, a DNSBL served by dnsmasq, and the refusal to start as an
open relay.

The test client connects from 127.0.0.1 (127.0.0.2, .3 for the client
checks), outside BASE_MAIN_CF's mynetworks (192.0.2.0/24). Every reject
is checked for its exact Postfix reply and for the "NOQUEUE: reject:"
log line. Loopback only; every wait is bounded."""

import os
import smtplib
import unittest

from instance import Instance, new_marker, wait_until
from smtp_peer import Dnsmasq
from test_relay import RelayCase

ACCESS = """\
spam.example     REJECT no spam here
later.example    451 4.7.2 try tomorrow
perm.example     553 5.7.3 never
ok@vip.example   OK
vip.example      REJECT vip domain closed
drop.example     DISCARD junk
tag.example      PREPEND X-Policy-Tag: tagged by the access table
"""


class Policy(RelayCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = Dnsmasq()
        cls.set_up_instance(cls.make_instance)

    @classmethod
    def make_instance(cls):
        inst = Instance(
            dns_resolver="127.0.0.1:%d" % cls.dns.port,
            smtpd_client_restrictions=(
                "check_client_access inline:{ { 127.0.0.3 = 550 5.7.1 "
                "go away } }, reject_rbl_client zen.test"),
            smtpd_helo_restrictions=(
                "reject_invalid_helo_hostname, "
                "reject_non_fqdn_helo_hostname"),
            smtpd_relay_restrictions=(
                "reject_non_fqdn_recipient, permit_mynetworks, "
                "reject_unauth_destination"))
        access = os.path.join(inst.etc, "access")
        inst.main_cf["smtpd_sender_restrictions"] = (
            "reject_non_fqdn_sender, check_sender_access texthash:%s, "
            "check_sender_access inline:{ bad@inline.example=REJECT }"
            % access)
        inst.write_config()
        with open(access, "w") as f:
            f.write(ACCESS)
        return inst.start_or_cleanup()

    def smtp(self, source="127.0.0.1", helo="client.example.net"):
        s = smtplib.SMTP("127.0.0.1", self.inst.port, timeout=15,
                         source_address=(source, 0))
        s.ehlo(helo)
        return s

    def rcpt_reply(self, sender, rcpt="alice@example.test", **kw):
        with self.smtp(**kw) as s:
            code, text = s.mail(sender)
            self.assertEqual(code, 250, text)
            code, text = s.rcpt(rcpt)
            s.rset()
        return code, text.decode()

    def assert_refused(self, reply, code, text, rcpt="alice@example.test"):
        self.assertEqual(reply, (code, text))
        self.assertTrue(self.inst.wait_log(
            r"NOQUEUE: reject: RCPT from \S+: %d %s;.* to=<%s>" % (
                code, text.replace("[", r"\[").replace("]", r"\]")
                .replace(".", r"\."), rcpt.replace(".", r"\.")), 10),
            self.inst.log()[-2000:])

    def send(self, sender, marker, rcpt="alice@example.test"):
        with self.smtp() as s:
            s.sendmail(sender, [rcpt], "From: %s\r\nSubject: %s\r\n\r\n%s\r\n"
                       % (sender, marker, marker))

    # -- access tables

    def test_sender_access_reject_text(self):
        self.assert_refused(self.rcpt_reply("x@spam.example"), 554,
                            "5.7.1 <x@spam.example>: Sender address "
                            "rejected: no spam here")
        # A parent domain matches its subdomains.
        self.assert_refused(self.rcpt_reply("x@a.spam.example"), 554,
                            "5.7.1 <x@a.spam.example>: Sender address "
                            "rejected: no spam here")

    def test_sender_access_codes(self):
        self.assert_refused(self.rcpt_reply("x@later.example"), 451,
                            "4.7.2 <x@later.example>: Sender address "
                            "rejected: try tomorrow")
        self.assert_refused(self.rcpt_reply("x@perm.example"), 553,
                            "5.7.3 <x@perm.example>: Sender address "
                            "rejected: never")

    def test_sender_access_ok_before_domain(self):
        self.assertEqual(self.rcpt_reply("ok@vip.example")[0], 250)
        self.assert_refused(self.rcpt_reply("no@vip.example"), 554,
                            "5.7.1 <no@vip.example>: Sender address "
                            "rejected: vip domain closed")

    def test_sender_access_inline(self):
        self.assert_refused(self.rcpt_reply("bad@inline.example"), 554,
                            "5.7.1 <bad@inline.example>: Sender address "
                            "rejected: Access denied")
        self.assertEqual(self.rcpt_reply("good@inline.example")[0], 250)

    def test_discard(self):
        marker = new_marker("discard")
        self.send("x@drop.example", marker)
        self.assertTrue(self.inst.wait_log(
            r"\w+: discard: message from \S+\[127\.0\.0\.1\]", 10))
        keep = new_marker("kept")
        self.send("x@fine.example", keep)
        self.inst.find_message("alice@example.test", keep)
        self.assertEqual(self.inst.count_marker(marker), 0)

    def test_prepend(self):
        marker = new_marker("prepend")
        self.send("x@tag.example", marker)
        data = self.inst.find_message("alice@example.test", marker)
        self.assertIn(b"\nX-Policy-Tag: tagged by the access table\n",
                      b"\n" + data)
        # Above our Received: header, once.
        self.assertLess(data.index(b"X-Policy-Tag:"),
                        data.index(b"Received: from client.example.net"))
        self.assertEqual(data.count(b"X-Policy-Tag:"), 1)

    # -- client

    def test_client_access(self):
        self.assert_refused(self.rcpt_reply("x@fine.example",
                                            source="127.0.0.3"), 550,
                            "5.7.1 <unknown[127.0.0.3]>: Client host "
                            "rejected: go away")

    def test_rbl_client(self):
        self.assert_refused(self.rcpt_reply("x@fine.example",
                                            source="127.0.0.2"), 554,
                            "5.7.1 Service unavailable; Client host "
                            "[127.0.0.2] blocked using zen.test")
        # 127.0.0.1 is not listed (1.0.0.127.zen.test: NXDOMAIN).
        self.assertEqual(self.rcpt_reply("x@fine.example")[0], 250)

    # -- HELO, fully-qualified names

    def test_non_fqdn(self):
        self.assert_refused(self.rcpt_reply("alice@localhost"), 504,
                            "5.5.2 <alice@localhost>: Sender address "
                            "rejected: need fully-qualified address")
        self.assert_refused(self.rcpt_reply("x@fine.example",
                                            rcpt="bob@localhost"), 504,
                            "5.5.2 <bob@localhost>: Recipient address "
                            "rejected: need fully-qualified address",
                            rcpt="bob@localhost")
        self.assert_refused(self.rcpt_reply("x@fine.example",
                                            helo="localhost"), 504,
                            "5.5.2 <localhost>: Helo command rejected: "
                            "need fully-qualified hostname")

    def test_invalid_helo(self):
        self.assert_refused(self.rcpt_reply("x@fine.example",
                                            helo="1.2.3.4"), 501,
                            "5.5.2 <1.2.3.4>: Helo command rejected: "
                            "Invalid name")
        self.assertEqual(self.rcpt_reply("x@fine.example",
                                         helo="[127.0.0.1]")[0], 250)

    # -- relay control

    def test_relay_attempts_refused(self):
        for rcpt in ("someone@remote.test",
                     "someone%remote.test@example.test",
                     "remote.test!someone@example.test",
                     '"someone@remote.test"@example.test'):
            with self.subTest(rcpt=rcpt):
                self.assert_refused(
                    self.rcpt_reply("x@fine.example", rcpt=rcpt), 554,
                    "5.7.1 <%s>: Relay access denied" % rcpt, rcpt=rcpt)

    def test_source_route(self):
        # The route is dropped (RFC 5321 C): what is left decides.
        with self.smtp() as s:
            self.assertEqual(s.mail("x@fine.example")[0], 250)
            code, text = s.docmd("RCPT TO:<@a.test,@b.test:u@remote.test>")
            self.assertEqual((code, text.decode()),
                             (554, "5.7.1 <u@remote.test>: Relay access "
                                   "denied"))
            code, text = s.docmd("RCPT TO:<@a.test:alice@example.test>")
            self.assertEqual(code, 250, text)
            s.rset()


class OpenRelay(unittest.TestCase):
    def test_refused_then_overridden(self):
        inst = Instance(smtpd_relay_restrictions="permit_mynetworks, permit")
        try:
            inst.start(wait=False)
            for _ in range(3):
                try:
                    with smtplib.SMTP("127.0.0.1", inst.port, timeout=5) as s:
                        s.noop()
                except (OSError, smtplib.SMTPException):
                    pass
                if inst.wait_log(r"fatal: open relay:", 3):
                    break
            self.assertTrue(inst.wait_log(
                r"smtpd\S*: fatal: open relay: smtpd_relay_restrictions "
                r"and smtpd_recipient_restrictions let any client send "
                r"mail anywhere", 10), inst.log()[-2000:])
        finally:
            inst.cleanup_or_fail()
        inst = Instance(smtpd_relay_restrictions="permit_mynetworks, permit",
                        smtpd_allow_open_relay="yes")
        try:
            inst.start()
            with smtplib.SMTP("127.0.0.1", inst.port, timeout=15) as s:
                s.ehlo("client.example.net")
                s.mail("x@fine.example")
                self.assertEqual(s.rcpt("someone@remote.test")[0], 250)
                s.rset()
            self.assertNotIn("open relay", inst.log())
        finally:
            inst.cleanup_or_fail()


if __name__ == "__main__":
    unittest.main()
