"""DMARC in smtpd (smtpd_dmarc_policy) over real instances, with dnsmasq
serving the _dmarc, DKIM key and SPF records and Python's dkim module
(python3-dkim) signing the test messages: pass through an aligned DKIM
signature (relaxed: a subdomain's d=) and through aligned SPF, fail with
p=none (tagged), fail with p=reject refused with 550 5.7.1 under
"reject" (nothing in the Maildir, Postfix's reject log line) and
delivered with dmarc=fail under "tag", strict alignment (adkim=s), the
subdomain policy sp=, and the bad input: invalid DMARC records, several
or missing From: fields, a broken body hash, a malformed key. Loopback
only; every wait is bounded."""

import os
import re
import smtplib
import tempfile
import unittest

from instance import Instance, new_marker
from smtp_peer import Dnsmasq
from test_authres import authres_fields, keygen

try:
    import dkim
except ImportError:     # dev/deps installs python3-dkim
    dkim = None

ME = "mx.example.test"
ALICE = "alice@example.test"
HUGE = "v=DMARC1; p=reject; rua=mailto:" + "a" * 3000 + "@huge.test"

RECORDS = [
    ("_dmarc.dmarc.test", "v=DMARC1; p=reject; sp=none"),
    ("_dmarc.none.test", "v=DMARC1; p=none"),
    ("_dmarc.strict.test", "v=DMARC1; p=reject; adkim=s"),
    ("_dmarc.two.test", "v=DMARC1; p=none"),
    ("_dmarc.two.test", "v=DMARC1; p=reject"),
    ("_dmarc.notfirst.test", "p=reject; v=DMARC1"),
    ("_dmarc.garbage.test", "%%%garbage;;=;"),
    ("_dmarc.badp.test", "v=DMARC1; p=bogus"),
    ("_dmarc.huge.test", HUGE),
    ("_dmarc.badkey.test", "v=DMARC1; p=reject"),
    # SPF for the envelope senders of the SPF case, and none elsewhere
    ("spf.dmarc.test", "v=spf1 ip4:127.0.0.1 -all"),
]


def txt_option(name, value):
    """dnsmasq's --txt-record: strings of at most 255 octets, comma
    separated (the values hold no comma)."""
    parts = [value[i:i + 255] for i in range(0, len(value), 255)]
    return "--txt-record=%s,%s" % (name, ",".join(parts))


def message(marker, from_="Sender <user@dmarc.test>", extra=""):
    head = "From: %s\r\n" % from_ if from_ is not None else ""
    return ("%sTo: <%s>\r\nSubject: dmarc %s\r\nMessage-ID: <%s@x.test>\r\n"
            "%s\r\nHello, this is %s.\r\n" % (head, ALICE, marker, marker,
                                              extra, marker)).encode()


def ours(data):
    fields = [f for f in authres_fields(data) if f.lower().startswith(ME)]
    assert len(fields) == 1, data
    return fields[0]


@unittest.skipIf(dkim is None, "python3-dkim is not installed")
class DmarcCase(unittest.TestCase):
    policy = "tag"

    @classmethod
    def setUpClass(cls):
        cls.keydir = tempfile.mkdtemp(prefix="surel-dmarc-")
        cls.rsa, txt = keygen(cls.keydir, "rsa", "rsa1")
        keys = ["--txt-record=rsa1._domainkey.%s,%s" % (d, txt)
                for d in ("dmarc.test", "mail.dmarc.test", "none.test",
                          "strict.test", "mail.strict.test", "two.test",
                          "other.test")]
        keys.append("--txt-record=rsa1._domainkey.badkey.test,"
                    "v=DKIM1; k=rsa; p=!!not*base64")
        cls.dns = Dnsmasq(extra=keys + [txt_option(n, v)
                                        for n, v in RECORDS])
        cls.inst = Instance(dns_resolver="127.0.0.1:%d" % cls.dns.port,
                            smtpd_spf_policy="tag",
                            smtpd_dmarc_policy=cls.policy)
        try:
            cls.inst.start()
        except Exception:
            cls.inst.cleanup()
            cls.dns.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.dns.stop()
        cls.inst.cleanup_or_fail()
        for f in os.listdir(cls.keydir):
            os.unlink(os.path.join(cls.keydir, f))
        os.rmdir(cls.keydir)

    def sign(self, msg, domain):
        return dkim.sign(msg, b"rsa1", domain.encode(), self.rsa) + msg

    def send(self, msg, sender="bounce@nospf.test"):
        """(code, text) of the end of DATA."""
        with smtplib.SMTP("127.0.0.1", self.inst.port, timeout=60) as s:
            s.ehlo("client.example")
            self.assertEqual(s.mail(sender)[0], 250)
            self.assertEqual(s.rcpt(ALICE)[0], 250)
            return s.data(msg)

    def delivered(self, msg, sender="bounce@nospf.test"):
        """The delivered message's Authentication-Results field."""
        m = re.search(rb"dmarc (\S+)", msg).group(1)
        code, text = self.send(msg, sender)
        self.assertEqual(code, 250, text)
        return ours(self.inst.find_message(ALICE, m))


class Tag(DmarcCase):
    """smtpd_dmarc_policy = tag (the default)."""

    def test_pass_via_aligned_dkim(self):
        m = new_marker()
        # relaxed: d= a subdomain of the From: domain
        ar = self.delivered(self.sign(message(m), "mail.dmarc.test"))
        self.assertIn("dkim=pass header.d=mail.dmarc.test", ar)
        self.assertIn("dmarc=pass header.from=dmarc.test", ar)

    def test_pass_via_aligned_spf(self):
        m = new_marker()
        ar = self.delivered(message(m), sender="b@spf.dmarc.test")
        self.assertIn("spf=pass smtp.mailfrom=spf.dmarc.test", ar)
        self.assertIn("dkim=none", ar)
        self.assertIn("dmarc=pass header.from=dmarc.test", ar)

    def test_unaligned_pass_is_fail_p_none(self):
        m = new_marker()
        ar = self.delivered(self.sign(message(m, "u@none.test"),
                                      "other.test"))
        self.assertIn("dkim=pass header.d=other.test", ar)
        self.assertIn("dmarc=fail (p=none dis=none) header.from=none.test",
                      ar)

    def test_p_reject_is_only_tagged(self):
        m = new_marker()
        ar = self.delivered(message(m))
        self.assertIn("dmarc=fail (p=reject dis=none) "
                      "header.from=dmarc.test", ar)
        self.assertTrue(self.inst.wait_log(
            r": dmarc: fail \(p=reject dis=none\) header\.from=dmarc\.test",
            10))

    def test_strict_alignment(self):
        m = new_marker()
        ar = self.delivered(self.sign(message(m, "u@strict.test"),
                                      "mail.strict.test"))
        self.assertIn("dkim=pass header.d=mail.strict.test", ar)
        self.assertIn("dmarc=fail (p=reject dis=none)", ar)
        m = new_marker()
        ar = self.delivered(self.sign(message(m, "u@strict.test"),
                                      "strict.test"))
        self.assertIn("dmarc=pass header.from=strict.test", ar)

    def test_invalid_records(self):
        for domain, want in (
                ("two.test", "dmarc=permerror (several DMARC records)"),
                ("notfirst.test", "dmarc=none (no DMARC record)"),
                ("garbage.test", "dmarc=none (no DMARC record)"),
                ("badp.test", "dmarc=permerror (bad DMARC record"),
                ("huge.test", "dmarc=permerror (DMARC record too long)"),
                ("nodmarc.test", "dmarc=none (no DMARC record)")):
            m = new_marker()
            ar = self.delivered(message(m, "u@" + domain))
            self.assertIn(want, ar)
            self.assertIn("header.from=" + domain, ar)

    def test_broken_body_hash(self):
        m = new_marker()
        msg = self.sign(message(m), "dmarc.test").replace(b"Hello, this",
                                                           b"Hello; that")
        ar = self.delivered(msg)
        self.assertIn("dkim=fail (body hash did not verify) "
                      "header.d=dmarc.test", ar)
        self.assertIn("dmarc=fail (p=reject dis=none)", ar)

    def test_malformed_key(self):
        m = new_marker()
        ar = self.delivered(self.sign(message(m, "u@badkey.test"),
                                      "badkey.test"))
        self.assertRegex(ar, r"dkim=permerror \([^)]*\) header\.d=badkey")
        self.assertIn("dmarc=fail (p=reject dis=none)", ar)


class Reject(DmarcCase):
    """smtpd_dmarc_policy = reject."""
    policy = "reject"

    def test_p_reject_fail_refused(self):
        m = new_marker()
        code, text = self.send(message(m))
        self.assertEqual(code, 550)
        self.assertEqual(text, b"5.7.1 Error: rejected by DMARC policy "
                         b"for dmarc.test")
        self.assertTrue(self.inst.wait_log(
            r": reject: END-OF-MESSAGE from \S+\[127\.0\.0\.1\]: 550 5\.7\.1 "
            r"Error: rejected by DMARC policy for dmarc\.test; "
            r"from=<bounce@nospf\.test> to=<alice@example\.test>", 10))
        # A message sent after it is delivered; the refused one is not.
        m2 = new_marker()
        self.delivered(self.sign(message(m2), "dmarc.test"))
        self.assertEqual(self.inst.count_marker(m), 0)

    def test_bdat_in_chunks(self):
        # The content is verified across chunks; the reject comes at LAST.
        for signed, want in ((False, 550), (True, 250)):
            m = new_marker()
            msg = message(m)
            if signed:
                msg = self.sign(msg, "dmarc.test")
            with self.inst.raw() as r:
                self.assertEqual(r.cmd("EHLO client.example")[0], 250)
                self.assertEqual(r.cmd("MAIL FROM:<b@nospf.test>")[0], 250)
                self.assertEqual(r.cmd("RCPT TO:<%s>" % ALICE)[0], 250)
                half = len(msg) // 2
                r.send(b"BDAT %d\r\n" % half + msg[:half])
                self.assertEqual(r.reply()[0], 250)
                r.send(b"BDAT %d LAST\r\n" % (len(msg) - half) +
                       msg[half:])
                code, text = r.reply()
                self.assertEqual(code, want, text)
            if signed:
                self.assertIn("dmarc=pass",
                              ours(self.inst.find_message(ALICE, m)))

    def test_pass_accepted(self):
        m = new_marker()
        ar = self.delivered(self.sign(message(m), "dmarc.test"))
        self.assertIn("dmarc=pass", ar)

    def test_subdomain_policy(self):
        # sub.dmarc.test has no record: the organizational domain's sp=none
        m = new_marker()
        ar = self.delivered(message(m, "u@sub.dmarc.test"))
        self.assertIn("dmarc=fail (p=none dis=none) "
                      "header.from=sub.dmarc.test", ar)

    def test_from_field_problems_never_refused(self):
        cases = (
            (message(new_marker(), from_=None), "dmarc=none (no From domain)"),
            (message(new_marker(), extra="From: <x@dmarc.test>\r\n"),
             "dmarc=permerror (several From: fields)"),
            (message(new_marker(), from_="a@dmarc.test, b@other.test"),
             "dmarc=permerror (From: mailboxes of several domains)"),
        )
        for msg, want in cases:
            self.assertIn(want, self.delivered(msg))
        # several mailboxes of one domain: evaluated (and refused here)
        m = new_marker()
        code, _ = self.send(message(m, "a@dmarc.test, b@DMARC.test"))
        self.assertEqual(code, 550)

    def test_authenticated_and_mynetworks_not_checked(self):
        inst = Instance(dns_resolver="127.0.0.1:%d" % self.dns.port,
                        smtpd_dmarc_policy="reject",
                        mynetworks="127.0.0.0/8")
        try:
            inst.start()
            m = new_marker()
            with smtplib.SMTP("127.0.0.1", inst.port, timeout=60) as s:
                s.ehlo("client.example")
                s.sendmail("b@nospf.test", [ALICE], message(m))
            data = inst.find_message(ALICE, m)
            self.assertNotIn("dmarc=", ours(data))
            self.assertNotIn("dkim=", ours(data))
        finally:
            inst.cleanup_or_fail()


if __name__ == "__main__":
    unittest.main()
