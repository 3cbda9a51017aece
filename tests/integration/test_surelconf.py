"""surelconf: -e edits main.cf in place (comments, blank lines, order and
continuation lines kept; the setting in effect replaced; new names
appended; a bad value or a $name loop leaves the file untouched), -n, -d,
-h, name ..., -M."""

import os
import shutil
import subprocess
import tempfile
import unittest

from instance import BIN_DIR

MAIN_CF = """\
# a comment that must stay
myhostname = mx.example.test

# the limit, commented
message_size_limit = 1000
smtpd_relay_restrictions = permit_mynetworks,
    reject_unauth_destination
# last line, no newline after the next one
smtpd_timeout = 60s"""

MASTER_CF = """\
# comment
smtp inet n - n - - smtpd
submission inet n - n - 5 smtpd
  -o smtpd_sasl_auth_enable=yes
qmgr unix n - n 300 1 qmgr
"""


class SurelconfTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="surel-conf-")
        self.main = os.path.join(self.dir, "main.cf")
        with open(self.main, "w") as f:
            f.write(MAIN_CF)
        with open(os.path.join(self.dir, "master.cf"), "w") as f:
            f.write(MASTER_CF)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def conf(self, *args):
        return subprocess.run([os.path.join(BIN_DIR, "surelconf"), "-c", self.dir, *args],
                              capture_output=True, text=True, timeout=30)

    def read(self):
        with open(self.main) as f:
            return f.read()

    def test_edit_keeps_comments(self):
        os.chmod(self.main, 0o640)
        p = self.conf("-e", "message_size_limit = 2048",
                      "smtpd_relay_restrictions=reject_unauth_destination",
                      "smtpd_timeout=5m", "mydomain=example.test")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.read(), """\
# a comment that must stay
myhostname = mx.example.test

# the limit, commented
message_size_limit = 2048
smtpd_relay_restrictions = reject_unauth_destination
# last line, no newline after the next one
smtpd_timeout = 5m
mydomain = example.test
""")
        self.assertEqual(os.stat(self.main).st_mode & 0o777, 0o640)
        self.assertEqual(self.conf("-h", "message_size_limit").stdout, "2048\n")
        # No temporary file is left next to main.cf.
        self.assertEqual(sorted(os.listdir(self.dir)), ["main.cf", "master.cf"])

    def test_edit_replaces_the_setting_in_effect(self):
        with open(self.main, "a") as f:
            f.write("\nmessage_size_limit = 3000\n")
        self.assertEqual(self.conf("-e", "message_size_limit=4000").returncode, 0)
        text = self.read()
        self.assertIn("message_size_limit = 1000\n", text)
        self.assertTrue(text.endswith("message_size_limit = 4000\n"), text)
        self.assertEqual(self.conf("-h", "message_size_limit").stdout, "4000\n")

    def test_edit_refuses_bad_input(self):
        before = self.read()
        for args, what in ((["smtpd_timeout=later"], "bad time value"),
                           (["no equals sign"], "not name=value"),
                           (["bad name=1"], "not a parameter name"),
                           (["myhostname=$mydomain", "mydomain=$myhostname"], "not changed"),
                           ([], "name=value")):
            p = self.conf("-e", *args)
            self.assertEqual(p.returncode, 1, args)
            self.assertIn(what, p.stderr, args)
            self.assertEqual(self.read(), before, args)

    def test_edit_missing_main_cf(self):
        os.unlink(self.main)
        p = self.conf("-e", "myhostname=x")
        self.assertEqual(p.returncode, 1)
        self.assertIn("main.cf", p.stderr)
        self.assertFalse(os.path.exists(self.main))

    def test_n(self):
        p = self.conf("-n")
        self.assertEqual(p.stdout.splitlines(), [
            "message_size_limit = 1000",
            "myhostname = mx.example.test",
            "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination",
            "smtpd_timeout = 60s"])

    def test_d(self):
        lines = self.conf("-d").stdout.splitlines()
        self.assertIn("smtpd_timeout = 300s", lines)
        self.assertNotIn("smtpd_timeout = 60s", lines)
        self.assertGreater(len(lines), 100)
        self.assertEqual(len(lines), len(self.conf().stdout.splitlines()))

    def test_names_and_h(self):
        p = self.conf("smtpd_timeout", "myhostname")
        self.assertEqual(p.stdout, "smtpd_timeout = 60s\nmyhostname = mx.example.test\n")
        p = self.conf("-h", "smtpd_timeout", "myhostname")
        self.assertEqual(p.stdout, "60s\nmx.example.test\n")
        p = self.conf("no_such_name")
        self.assertEqual(p.returncode, 1)
        self.assertIn("unknown parameter", p.stderr)

    def test_M(self):
        lines = self.conf("-M").stdout.splitlines()
        self.assertEqual(len(lines), 3)
        self.assertEqual(lines[1].split(), ["submission", "inet", "n", "y", "n", "0",
                                            "5", "smtpd", "-o", "smtpd_sasl_auth_enable=yes"])
        self.assertEqual(self.conf("-M", "qmgr/unix").stdout.split()[0], "qmgr")
        self.assertEqual(self.conf("-M", "nothere").returncode, 1)

    def test_usage(self):
        self.assertEqual(self.conf("-e", "-n", "a=b").returncode, 2)
        self.assertEqual(self.conf("-d", "-n").returncode, 2)


if __name__ == "__main__":
    unittest.main()
