"""surel check: clean on a sound instance; each planted problem (unknown
parameter, bad value, wrong queue directory mode, expired certificate,
key that does not match, missing or stale .db table, open relay) is one
"surel: warning: ..." or "surel: fatal: ..." line naming the main.cf line
(the master.cf service's line for a table or certificate given by a -o
override), and the exit status is 1."""

import os
import subprocess
import tempfile
import unittest

from instance import BIN_DIR, Instance, test_certificate


def run_check(inst):
    p = subprocess.run([os.path.join(BIN_DIR, "surel"), "-c", inst.etc, "check"],
                       capture_output=True, text=True, timeout=60,
                       env=inst.env())
    problems = [l for l in p.stderr.splitlines()
                if l.startswith(("surel: warning:", "surel: fatal:"))]
    return p.returncode, problems, p.stderr


def line_of(inst, name):
    """The main.cf line (1-based) that sets name."""
    with open(os.path.join(inst.etc, "main.cf"), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.split("=")[0].strip() == name:
                return n
    raise AssertionError("%s not in main.cf" % name)


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, timeout=60,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class CheckTest(unittest.TestCase):

    def setUp(self):
        self.inst = Instance(access=True)
        # As on a fresh install: surel check creates the queue and data
        # directories (Instance made them for master, with other modes).
        for d in (self.inst.queue, self.inst.data):
            os.rmdir(d)
        self.tmp = tempfile.mkdtemp(prefix="surel-check-")
        os.chmod(self.tmp, 0o755)

    def tearDown(self):
        subprocess.run(["rm", "-rf", self.tmp], timeout=30)
        self.inst.cleanup_or_fail()

    def assert_clean(self):
        rc, problems, err = run_check(self.inst)
        self.assertEqual(problems, [], err)
        self.assertEqual(rc, 0, err)

    def assert_problem(self, name, *words):
        """Exactly one problem, on name's main.cf line, with words in it."""
        rc, problems, err = run_check(self.inst)
        self.assertEqual(rc, 1, err)
        where = "%s/main.cf, line %d: " % (self.inst.etc, line_of(self.inst, name))
        self.assertEqual(len(problems), 1, err)
        self.assertIn(where, problems[0])
        for w in words:
            self.assertIn(w, problems[0])
        return problems[0]

    def test_clean(self):
        self.assert_clean()
        # A second run finds the queue as the first left it.
        self.assert_clean()

    def test_unknown_parameter(self):
        self.inst.set_main_cf(no_such_parameter="1")
        self.assert_problem("no_such_parameter", "unknown parameter")

    def test_bad_value(self):
        self.inst.set_main_cf(smtpd_timeout="soon")
        msg = self.assert_problem("smtpd_timeout", "fatal:", "soon")
        self.assertIn("smtpd_timeout", msg)

    def test_queue_directory_mode(self):
        self.assert_clean()
        incoming = os.path.join(self.inst.queue, "incoming")
        os.chmod(incoming, 0o755)
        rc, problems, err = run_check(self.inst)
        self.assertEqual(rc, 1, err)
        self.assertEqual(problems, ["surel: warning: fixed mode of " + incoming], err)
        self.assertEqual(os.stat(incoming).st_mode & 0o7777, 0o700)
        self.assert_clean()

    def test_data_directory_mode(self):
        self.assert_clean()
        os.chmod(self.inst.data, 0o777)
        rc, problems, err = run_check(self.inst)
        self.assertEqual(rc, 1, err)
        self.assertEqual(problems, ["surel: warning: fixed mode of " + self.inst.data], err)

    def test_expired_certificate(self):
        cert, key = test_certificate()
        old = os.path.join(self.tmp, "old.pem")
        openssl("x509", "-in", cert, "-signkey", key, "-days", "-1", "-out", old)
        self.inst.set_main_cf(smtpd_tls_cert_file=old)
        self.assert_problem("smtpd_tls_cert_file", old, "expired")

    def test_unreadable_certificate(self):
        missing = os.path.join(self.tmp, "nothere.pem")
        self.inst.set_main_cf(smtpd_tls_cert_file=missing)
        self.assert_problem("smtpd_tls_cert_file", missing, "No such file")

    def test_key_mismatch(self):
        other = os.path.join(self.tmp, "other.key")
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-out", other)
        os.chmod(other, 0o644)
        self.inst.set_main_cf(smtpd_tls_key_file=other)
        self.assert_problem("smtpd_tls_key_file", other, "does not match")

    def _hash_table(self):
        src = os.path.join(self.inst.etc, "virtual")
        self.inst.set_main_cf(virtual_alias_maps="hash:" + src)
        return src

    def test_missing_db(self):
        src = self._hash_table()
        self.assert_problem("virtual_alias_maps", src + ".db", "surelmap")

    def test_stale_db(self):
        src = self._hash_table()
        subprocess.run([os.path.join(BIN_DIR, "surelmap"), "hash:" + src],
                       check=True, timeout=60)
        self.assert_clean()
        st = os.stat(src + ".db")
        os.utime(src, (st.st_atime + 10, st.st_mtime + 10))
        self.assert_problem("virtual_alias_maps", "older than", src)

    def test_missing_table_file(self):
        missing = os.path.join(self.tmp, "nothere")
        self.inst.set_main_cf(virtual_mailbox_maps="texthash:" + missing)
        self.assert_problem("virtual_mailbox_maps", missing)

    def test_missing_access_table(self):
        missing = os.path.join(self.tmp, "access")
        self.inst.set_main_cf(smtpd_client_restrictions="check_client_access texthash:" + missing)
        self.assert_problem("smtpd_client_restrictions", missing)

    def test_open_relay(self):
        self.inst.set_main_cf(smtpd_relay_restrictions="permit")
        self.assert_problem("smtpd_relay_restrictions", "open relay")
        # Meant: no problem.
        self.inst.set_main_cf(smtpd_allow_open_relay="yes")
        self.assert_clean()

    def test_open_relay_in_master_cf(self):
        """A master.cf -o override makes one smtpd service open."""
        with open(os.path.join(self.inst.etc, "master.cf"), "a") as f:
            f.write("127.0.0.1:1 inet n - n - - smtpd\n"
                    "  -o smtpd_relay_restrictions=permit\n")
        rc, problems, err = run_check(self.inst)
        self.assertEqual(rc, 1, err)
        self.assertEqual(len(problems), 1, err)
        self.assertIn("service 127.0.0.1:1", problems[0])
        self.assertIn("open relay", problems[0])

    def test_master_cf_parameter_address(self):
        """A "$name" service address: an unknown parameter is a problem
        (master would not start); the shipped $metrics_listen, empty, is
        fine."""
        with open(os.path.join(self.inst.etc, "master.cf"), "a") as f:
            f.write("$metrics_listen inet n - n - 1 metrics\n")
        self.assert_clean()
        with open(os.path.join(self.inst.etc, "master.cf"), "a") as f:
            f.write("$metrics_listne inet n - n - 1 metrics\n")
        rc, problems, err = run_check(self.inst)
        self.assertEqual(rc, 1, err)
        self.assertEqual(len(problems), 1, err)
        self.assertIn("unknown parameter $metrics_listne", problems[0])

    def add_service(self, *overrides):
        """Appends an smtpd service with overrides to master.cf; returns
        the label its problems carry ("DIR/master.cf, line N: service
        S: -o ")."""
        path = os.path.join(self.inst.etc, "master.cf")
        with open(path) as f:
            line = len(f.read().splitlines()) + 1
        with open(path, "a") as f:
            f.write("127.0.0.1:1 inet n - n - - smtpd\n")
            for o in overrides:
                f.write("  -o %s\n" % o)
        return "%s/master.cf, line %d: service 127.0.0.1:1: -o " % (
            self.inst.etc, line)

    def assert_service_problem(self, label, name, *words):
        rc, problems, err = run_check(self.inst)
        self.assertEqual(rc, 1, err)
        self.assertEqual(len(problems), 1, err)
        self.assertIn(label + name + ": ", problems[0])
        for w in words:
            self.assertIn(w, problems[0])

    def test_override_missing_table(self):
        """A table given only by a master.cf -o override is checked, and
        the message names the service's line."""
        missing = os.path.join(self.tmp, "hc.pcre")
        label = self.add_service("header_checks=pcre:" + missing)
        self.assert_service_problem(label, "header_checks", missing,
                                    "No such file")
        with open(missing, "w") as f:
            f.write("/^X-Test:/ WARN x\n")
        self.assert_clean()

    def test_override_stale_db(self):
        src = os.path.join(self.tmp, "access")
        with open(src, "w") as f:
            f.write("192.0.2.1 REJECT\n")
        label = self.add_service("smtpd_client_restrictions=hash:" + src)
        self.assert_service_problem(label, "smtpd_client_restrictions",
                                    src + ".db", "surelmap")
        subprocess.run([os.path.join(BIN_DIR, "surelmap"), "hash:" + src],
                       check=True, timeout=60)
        self.assert_clean()
        st = os.stat(src + ".db")
        os.utime(src, (st.st_atime + 10, st.st_mtime + 10))
        self.assert_service_problem(label, "smtpd_client_restrictions",
                                    "older than")

    def test_override_expired_certificate(self):
        cert, key = test_certificate()
        old = os.path.join(self.tmp, "old.pem")
        openssl("x509", "-in", cert, "-signkey", key, "-days", "-1",
                "-out", old)
        label = self.add_service("smtpd_tls_cert_file=" + old)
        self.assert_service_problem(label, "smtpd_tls_cert_file", old,
                                    "expired")

    def test_override_key_mismatch(self):
        other = os.path.join(self.tmp, "other.key")
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-out", other)
        os.chmod(other, 0o644)
        label = self.add_service("smtpd_tls_key_file=" + other)
        self.assert_service_problem(label, "smtpd_tls_key_file", other,
                                    "does not match")

    def test_override_sound_is_clean(self):
        """Overrides that name good files add no problem (and main.cf's
        own are not reported twice)."""
        cert, key = test_certificate()
        rules = os.path.join(self.tmp, "hc.pcre")
        with open(rules, "w") as f:
            f.write("/^X-Test:/ WARN x\n")
        self.add_service("smtpd_tls_cert_file=" + cert,
                         "smtpd_tls_key_file=" + key,
                         "header_checks=pcre:" + rules)
        self.assert_clean()


if __name__ == "__main__":
    unittest.main()
