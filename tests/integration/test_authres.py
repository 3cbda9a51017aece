"""Authentication-Results at local delivery (RFC 8601), from the verdicts
smtpd recorded in the queue file: messages signed by an independent
signer (Python's dkim module, Debian's python3-dkim) with keys from
sureldkim keygen, their records served by dnsmasq, are verified by smtpd
as they arrive and reach the Maildir with one Authentication-Results
field naming myhostname: dkim=pass for an intact message (RSA and
Ed25519), fail for a tampered one, permerror when the key record is
missing, temperror when the look-up fails, none when unsigned; the SPF,
DKIM and DMARC results are the ones the queue file records (local
verifies nothing itself: a queue file without DKIM verdicts gets no dkim
entry);
fields from outside that claim our name are removed, others' kept; and
local_authentication_results = no leaves the message as queued."""

import base64
import os
import re
import subprocess
import tempfile
import unittest

from instance import BIN_DIR, Instance, new_marker, parse, wait_until
from smtp_peer import Dnsmasq
from test_schedule import write_queue_file

try:
    import dkim
except ImportError:     # dev/deps installs python3-dkim
    dkim = None

ME = "mx.example.test"          # the instances' myhostname
DOMAIN = "signed.test"


def keygen(directory, kind, selector):
    """A key from sureldkim: (PEM bytes, TXT record)."""
    path = os.path.join(directory, selector + ".pem")
    r = subprocess.run([os.path.join(BIN_DIR, "sureldkim"), "keygen",
                        "-t", kind, "-b", "1024", "-d", DOMAIN,
                        "-s", selector, "-o", path],
                       capture_output=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(r.stderr.decode())
    with open(path, "rb") as f:
        pem = f.read()
    return pem, "".join(re.findall(r'"([^"]*)"', r.stdout.decode()))


def ed25519_seed(pem):
    """python3-dkim wants an Ed25519 key as its base64 32-octet seed: the
    end of the PKCS#8 structure."""
    der = base64.b64decode(b"".join(
        l for l in pem.splitlines() if not l.startswith(b"-----")))
    return base64.b64encode(der[-32:])


def message(marker, extra=""):
    return ("From: Sender <sender@%s>\r\nTo: <alice@example.test>\r\n"
            "Subject: authres %s\r\nMessage-ID: <%s@signed.test>\r\n"
            "X-Marker: %s\r\n%s\r\nHello, this is %s.\r\n" % (
                DOMAIN, marker, marker, marker, extra, marker)).encode()


def authres_fields(data):
    """The Authentication-Results fields of a delivered message, unfolded,
    in order."""
    head = data.split(b"\n\n", 1)[0].decode()
    return [re.sub(r"\n[ \t]+", " ", f).split(":", 1)[1].strip()
            for f in re.findall(r"(?im)^Authentication-Results[ \t]*:"
                                r".*(?:\n[ \t].*)*", head)]


@unittest.skipIf(dkim is None, "python3-dkim is not installed")
class AuthenticationResults(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.keydir = tempfile.mkdtemp(prefix="surel-authres-")
        cls.rsa, rsa_txt = keygen(cls.keydir, "rsa", "rsa1")
        cls.ed, ed_txt = keygen(cls.keydir, "ed25519", "ed1")
        cls.dns = Dnsmasq(extra=[
            "--txt-record=rsa1._domainkey.%s,%s" % (DOMAIN, rsa_txt),
            "--txt-record=ed1._domainkey.%s,%s" % (DOMAIN, ed_txt)])
        cls.inst = Instance(dns_resolver="127.0.0.1:%d" % cls.dns.port)
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

    def sign(self, msg, selector=b"rsa1", domain=DOMAIN.encode()):
        if selector == b"ed1":
            sig = dkim.sign(msg, selector, domain, ed25519_seed(self.ed),
                            signature_algorithm=b"ed25519-sha256")
        else:
            sig = dkim.sign(msg, selector, domain, self.rsa)
        return sig + msg

    def deliver(self, msg, marker, rcpts=("alice@example.test",)):
        with self.inst.smtp() as s:
            s.ehlo("client.example")
            s.sendmail("sender@" + DOMAIN, list(rcpts), msg)
        return [self.inst.find_message(r, marker) for r in rcpts]

    def only_ours(self, data):
        fields = [f for f in authres_fields(data)
                  if f.lower().startswith(ME)]
        self.assertEqual(len(fields), 1, data)
        return fields[0]

    def test_rsa_signature_passes_for_every_recipient(self):
        m = new_marker()
        msg = self.sign(message(m))
        b = re.search(rb"\bb=([^;]*)", msg.split(b"\r\n\r\n")[0].replace(
            b"\r\n", b"").replace(b" ", b"").replace(b"\t", b"")).group(1)
        for data in self.deliver(msg, m, ("alice@example.test",
                                          "bob@example.test")):
            ar = self.only_ours(data)
            # '/' is no token character: a quoted-string then.
            b8 = b[:8].decode()
            if "/" in b8:
                b8 = '"%s"' % b8
            self.assertIn("dkim=pass header.d=signed.test header.s=rsa1 "
                          "header.b=" + b8, ar)
            # At the top: after the delivery's Return-Path and
            # Delivered-To, before the message's own fields.
            lines = data.split(b"\n")
            self.assertTrue(lines[0].startswith(b"Return-Path:"))
            self.assertTrue(lines[1].startswith(b"Delivered-To:"))
            self.assertTrue(lines[2].startswith(
                b"Authentication-Results: " + ME.encode() + b";"), data)

    def test_ed25519_signature_passes(self):
        m = new_marker()
        data, = self.deliver(self.sign(message(m), selector=b"ed1"), m)
        self.assertIn("dkim=pass header.d=signed.test header.s=ed1",
                      self.only_ours(data))

    def test_tampered_body_fails(self):
        m = new_marker()
        msg = self.sign(message(m)).replace(b"Hello, this", b"Hello; that")
        data, = self.deliver(msg, m)
        self.assertRegex(self.only_ours(data),
                         r"dkim=fail \(body hash did not verify\) "
                         r"header\.d=signed\.test header\.s=rsa1")

    def test_tampered_header_fails(self):
        m = new_marker()
        msg = self.sign(message(m)).replace(b"Subject: authres",
                                            b"Subject: AUTHRES")
        data, = self.deliver(msg, m)
        self.assertIn("dkim=fail (signature did not verify)",
                      self.only_ours(data))

    def test_missing_key_record_is_permerror(self):
        # RFC 6376 6.1.2: no key record is a PERMFAIL.
        m = new_marker()
        data, = self.deliver(self.sign(message(m), selector=b"gone"), m)
        self.assertIn("dkim=permerror (no key) header.d=signed.test "
                      "header.s=gone", self.only_ours(data))

    def test_failed_key_lookup_is_temperror(self):
        # dnsmasq knows no server outside .test: the look-up fails.
        m = new_marker()
        data, = self.deliver(self.sign(message(m),
                                       domain=b"elsewhere.example"), m)
        self.assertIn("dkim=temperror (key look-up failed) "
                      "header.d=elsewhere.example", self.only_ours(data))

    def test_unsigned_is_none_and_two_signatures_two_results(self):
        m = new_marker()
        data, = self.deliver(message(m), m)
        self.assertRegex(self.only_ours(data), r"\bdkim=none\b")
        m = new_marker()
        twice = self.sign(self.sign(message(m)), selector=b"ed1")
        data, = self.deliver(twice, m)
        ar = self.only_ours(data)
        self.assertRegex(ar, r"dkim=pass header\.d=signed\.test "
                             r"header\.s=ed1 .*; dkim=pass "
                             r"header\.d=signed\.test header\.s=rsa1")

    def test_forged_fields_are_removed_others_kept(self):
        m = new_marker()
        forged = ("Authentication-Results: mx.example.test; dkim=pass\r\n"
                  "authentication-results : (c) MX.Example.Test 1;\r\n"
                  "\tspf=pass smtp.mailfrom=x.test\r\n"
                  "Authentication-Results: other.example; spf=fail\r\n")
        # Added in transit, after the signing (python3-dkim would not
        # parse the space before the colon).
        msg = forged.encode() + self.sign(message(m))
        data, = self.deliver(msg, m)
        fields = authres_fields(data)
        self.assertEqual(len(fields), 2, data)
        self.assertEqual(fields[1], "other.example; spf=fail")
        # What is ours is what we wrote: the signature covers no
        # Authentication-Results field, so it still passes.
        self.assertIn("dkim=pass", fields[0])
        self.assertNotIn(b"x.test", data)
        self.assertNotIn(b"MX.Example.Test", data)

    def test_spf_from_the_envelope(self):
        cases = [
            ([("spf", "pass"), ("spf_domain", "remote.example"),
              ("dkim", "2"), ("dkim_1", "pass remote.example sel abcdefgh -"),
              ("dkim_2", "fail remote.example - - body hash did not verify"),
              ("dmarc", "pass"), ("dmarc_from", "remote.example")],
             "spf=pass smtp.mailfrom=remote.example; dkim=pass "
             "header.d=remote.example header.s=sel header.b=abcdefgh; "
             "dkim=fail (body hash did not verify) header.d=remote.example; "
             "dmarc=pass header.from=remote.example"),
            ([("spf", "softfail"), ("spf_domain", "helo.example"),
              ("spf_helo", "1")], "spf=softfail smtp.helo=helo.example"),
            ([("spf", "temperror"), ("spf_domain", "remote.example")],
             "spf=temperror smtp.mailfrom=remote.example"),
        ]
        markers = []
        for attrs, _ in cases:
            m = new_marker()
            markers.append(m)
            write_queue_file(self.inst, "s@remote.example",
                             "carol@example.test", message(m), attrs)
        with self.inst.smtp() as s:     # a wakeup: the scan of incoming/
            s.ehlo("client.example")
            s.sendmail("s@remote.example", ["dave@example.org"],
                       "Subject: x\n\nx\n")
        for m, (_, want) in zip(markers, cases):
            data = self.inst.find_message("carol@example.test", m)
            ar = self.only_ours(data)
            self.assertIn(want, ar)
            # Not verified by local: the verdicts are the envelope's.
            if "dkim=" not in want:
                self.assertNotIn("dkim=", ar)
                self.assertNotIn("dmarc=", ar)


class Disabled(unittest.TestCase):
    """local_authentication_results = no: the message as queued, forged
    field and all."""

    def test_no_field_added_none_removed(self):
        inst = Instance(local_authentication_results="no")
        try:
            inst.start()
            m = new_marker()
            with inst.smtp() as s:
                s.ehlo("client.example")
                s.sendmail("s@remote.example", ["alice@example.test"],
                           b"Authentication-Results: mx.example.test; "
                           b"dkim=pass\r\n" + message(m))
            data = inst.find_message("alice@example.test", m)
            self.assertEqual(authres_fields(data),
                             ["mx.example.test; dkim=pass"])
            self.assertEqual(parse(data)["X-Marker"], m)
        finally:
            inst.cleanup_or_fail()


if __name__ == "__main__":
    unittest.main()
