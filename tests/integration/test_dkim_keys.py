"""sureldkim: the key pair an operator generates, the DNS record it
prints, and a signature made with it, checked by an independent
implementation: Python's dkim module (Debian's python3-dkim), which is
given the printed record as the DNS answer. RSA and Ed25519; a changed
message fails; the record printed again from the key file is the same."""

import os
import re
import subprocess
import tempfile
import unittest

from instance import BIN_DIR

try:
    import dkim
except ImportError:     # dev/deps installs python3-dkim
    dkim = None

SUREL_DKIM = os.path.join(BIN_DIR, "sureldkim")
MESSAGE = (b"From: Alice <alice@example.test>\r\n"
           b"To: bob@example.org\r\n"
           b"Subject: signed by surel\r\n"
           b"Date: Sun, 22 Nov 2026 10:00:00 +0000\r\n"
           b"Message-ID: <dkim-test@example.test>\r\n"
           b"\r\n"
           b"Hello Bob,\r\n"
           b".a dot line\r\n"
           b"trailing space \r\n")


def record_of(zone_line):
    """The TXT value of a zone line: its quoted strings joined."""
    return "".join(re.findall(r'"([^"]*)"', zone_line)).encode()


@unittest.skipIf(dkim is None, "python3-dkim is not installed")
class SurelDkim(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="surel-dkim-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", self.dir]))

    def run_tool(self, *args, stdin=None):
        return subprocess.run([SUREL_DKIM] + list(args), input=stdin,
                              capture_output=True, timeout=60)

    def keygen(self, kind):
        key = os.path.join(self.dir, kind + ".pem")
        r = self.run_tool("keygen", "-t", kind, "-d", "example.test",
                          "-s", "sel1", "-o", key)
        self.assertEqual(r.returncode, 0, r.stderr)
        line = r.stdout.decode()
        self.assertTrue(line.startswith(
            "sel1._domainkey.example.test. IN TXT ( "), line)
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
        # Not over an existing key.
        again = self.run_tool("keygen", "-t", kind, "-d", "example.test",
                              "-s", "sel1", "-o", key)
        self.assertEqual(again.returncode, 2)
        # The record printed again from the key file is the same.
        txt = self.run_tool("txt", "-d", "example.test", "-s", "sel1", key)
        self.assertEqual(txt.stdout.decode(), line)
        return key, record_of(line)

    def check(self, kind, algo):
        key, record = self.keygen(kind)
        self.assertIn(b"k=" + kind.encode(), record)
        r = self.run_tool("sign", "-d", "example.test", "-s", "sel1", key,
                          stdin=MESSAGE)
        self.assertEqual(r.returncode, 0, r.stderr)
        sig = r.stdout.replace(b"\n", b"\r\n")
        self.assertIn(b"a=" + algo.encode(), sig)

        def dns(name, timeout=5):
            self.assertEqual(name, b"sel1._domainkey.example.test.")
            return record
        self.assertTrue(dkim.verify(sig + MESSAGE, dnsfunc=dns))
        changed = MESSAGE.replace(b"Hello", b"Howdy")
        self.assertFalse(dkim.verify(sig + changed, dnsfunc=dns))
        forged = b"From: mallory@example.test\r\n" + sig + MESSAGE
        self.assertFalse(dkim.verify(forged, dnsfunc=dns),
                         "a From: added on top must break the signature")

    def test_rsa(self):
        self.check("rsa", "rsa-sha256")

    def test_ed25519(self):
        self.check("ed25519", "ed25519-sha256")

    def test_bad_input(self):
        key, _ = self.keygen("rsa")
        r = self.run_tool("sign", "-d", "example.test", "-s", "sel1", key,
                          stdin=b"To: b@example.org\r\n\r\nno from\r\n")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"no From:", r.stderr)
        r = self.run_tool("sign", "-d", "example.test", "-s", "bad sel",
                          key, stdin=MESSAGE)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"bad selector", r.stderr)
        notkey = os.path.join(self.dir, "notkey")
        with open(notkey, "w") as f:
            f.write("hello\n")
        r = self.run_tool("txt", "-d", "example.test", "-s", "s", notkey)
        self.assertEqual(r.returncode, 2)
        r = self.run_tool("keygen", "-t", "rsa", "-b", "512", "-d",
                          "example.test", "-s", "s", "-o",
                          os.path.join(self.dir, "small"))
        self.assertEqual(r.returncode, 2)
        self.assertEqual(self.run_tool("frobnicate").returncode, 1)


if __name__ == "__main__":
    unittest.main()
