"""DKIM signing of outgoing mail: mail from our users (here: clients in
mynetworks) that leaves through the smtp agent carries a DKIM-Signature
per dkim_signing_table entry of its From: domain (an RSA and an Ed25519
key), made over the content as sent, so it also holds after an RFC 6152
downgrade; an independent verifier (Python's dkim module, Debian's
python3-dkim) checks them against the records sureldkim printed. Mail
from a client that is not ours is not signed; a signing key that cannot
be read defers the mail. Peers are scripted servers on 127.0.0.1."""

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import unittest

from instance import (BIN_DIR, IS_ROOT, ensure_test_user, new_marker,
                      wait_until)
from smtp_peer import ScriptedPeer
from test_relay import RelayCase, sender_instance
from test_schedule import TwoPeers, messages_with

try:
    import dkim
except ImportError:     # dev/deps installs python3-dkim
    dkim = None

ME = "me@local.test"
NO_8BITMIME = ["PIPELINING", "SIZE 10240000", "ENHANCEDSTATUSCODES"]


def make_keys(directory, owner):
    """Two keys for local.test (RSA "rsa1", Ed25519 "ed1") and the
    records sureldkim printed for them, {selector: record}."""
    records = {}
    for kind, sel in (("rsa", "rsa1"), ("ed25519", "ed1")):
        path = os.path.join(directory, sel + ".pem")
        r = subprocess.run([os.path.join(BIN_DIR, "sureldkim"), "keygen",
                            "-t", kind, "-d", "local.test", "-s", sel,
                            "-o", path], capture_output=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError(r.stderr.decode())
        if IS_ROOT:
            os.chown(path, owner.pw_uid, owner.pw_gid)
        records[sel] = "".join(re.findall(r'"([^"]*)"', r.stdout.decode()))
    return records


def verify_all(data, records):
    """How many of the message's DKIM signatures verify, and how many
    there are."""
    def dns(name, timeout=5):
        m = re.match(rb"([^.]+)\._domainkey\.local\.test\.$", name)
        return records.get(m.group(1).decode(), "").encode() if m else b""
    count = len(re.findall(rb"(?im)^DKIM-Signature:", data))
    good = sum(1 for i in range(count)
               if dkim.DKIM(data).verify(idx=i, dnsfunc=dns))
    return good, count


@unittest.skipIf(dkim is None, "python3-dkim is not installed")
class Signed(TwoPeers):
    """local.test signs with both keys; broken.test's key file is
    missing. The other peer (seven.test) has no 8BITMIME."""

    OTHER = {"ext": NO_8BITMIME}
    TRANSPORT = ["seven.test smtp:[127.0.0.1]:%(other)d"]

    @classmethod
    def setUpClass(cls):
        owner = ensure_test_user() if IS_ROOT else \
            pwd.getpwuid(os.getuid())
        cls.keys = tempfile.mkdtemp(prefix="surel-dkimkeys-")
        os.chmod(cls.keys, 0o755)
        cls.records = make_keys(cls.keys, owner)
        table = os.path.join(cls.keys, "signing")
        with open(table, "w") as f:
            f.write("local.test rsa1:%s, ed1:%s\n" % (
                os.path.join(cls.keys, "rsa1.pem"),
                os.path.join(cls.keys, "ed1.pem")))
            f.write("broken.test s1:%s\n" % os.path.join(cls.keys, "nokey"))
        cls.MAIN_CF = {"dkim_signing_table": "texthash:" + table}
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.keys, ignore_errors=True)

    def received(self, peer, marker):
        got = wait_until(lambda: [d for s in list(peer.sessions)
                                  for d in s.get("messages", [])
                                  if marker.encode() in d], 20)
        self.assertTrue(got, "peer got nothing\n" + self.inst.diagnostics())
        return got[0]

    def test_both_signatures_verify(self):
        m = new_marker()
        code, text, _ = self.inst.send("someone@remote.test", marker=m,
                                       sender=ME)
        self.assertEqual(code, 250, text)
        data = self.received(self.peer, m)
        self.assertEqual(verify_all(data, self.records), (2, 2), data[:600])
        self.assertIn(b"a=rsa-sha256", data)
        self.assertIn(b"a=ed25519-sha256", data)
        self.assertRegex(data, rb"d=local\.test;")

    def test_signed_after_the_8bit_downgrade(self):
        m = new_marker()
        body = ("From: <%s>\r\nTo: <x@seven.test>\r\nSubject: 8bit\r\n"
                "MIME-Version: 1.0\r\nContent-Type: text/plain; "
                "charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                "gr\u00fc\u00dfe %s\r\n" % (ME, m)).encode()
        code, text, _ = self.inst.send("x@seven.test", body=body, sender=ME,
                                       mail_options=["BODY=8BITMIME"])
        self.assertEqual(code, 250, text)
        data = self.received(self.other, m)
        self.assertIn(b"quoted-printable", data)
        self.assertTrue(all(b < 0x80 for b in data))
        self.assertEqual(verify_all(data, self.records), (2, 2))

    def test_unreadable_key_defers(self):
        m = new_marker()
        body = ("From: <x@broken.test>\r\nTo: <y@remote.test>\r\n"
                "Subject: broken %s\r\n\r\nbody\r\n" % m).encode()
        code, text, qid = self.inst.send("y@remote.test", body=body,
                                         sender=ME)
        self.assertEqual(code, 250, text)
        self.log_of(r"%s: to=<y@remote\.test>, .*dsn=4\.3\.0, status="
                    r"deferred \(DKIM signing for broken\.test failed: "
                    % qid)
        self.assertEqual(messages_with(self.peer, m), [])


@unittest.skipIf(dkim is None, "python3-dkim is not installed")
class NotOurs(RelayCase):
    """A client outside mynetworks, unauthenticated, whose mail leaves
    through an alias: not ours to sign."""

    @classmethod
    def setUpClass(cls):
        cls.peer = ScriptedPeer()
        cls.keys = tempfile.mkdtemp(prefix="surel-dkimkeys-")
        os.chmod(cls.keys, 0o755)
        table = os.path.join(cls.keys, "signing")
        with open(table, "w") as f:
            f.write("remote.example s1:/nonexistent\n")
        try:
            cls.inst = sender_instance(
                cls.peer.port, mynetworks="192.0.2.0/24",
                dkim_signing_table="texthash:" + table)
        except Exception:
            cls.peer.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.keys, ignore_errors=True)

    def test_forwarded_mail_unsigned(self):
        m = new_marker()
        # From: a domain with a table entry whose key does not exist:
        # signing would defer it, so its delivery shows nobody tried.
        code, text, _ = self.inst.send("fwd@local.test", marker=m,
                                       sender="x@remote.example")
        self.assertEqual(code, 250, text)
        got = wait_until(lambda: messages_with(self.peer, m), 20)
        self.assertTrue(got, self.inst.diagnostics())
        self.assertNotIn("DKIM-Signature", got[0][1])


if __name__ == "__main__":
    unittest.main()
