"""A pcre: table with a bad regex (issue 6's "bad input" list): named
with file and line when smtpd starts, and, when a running smtpd finds
the table rewritten with a bad regex, a temporary failure with that
error in the log, never a crash. Loopback only; every wait is bounded."""

import os
import smtplib
import time
import unittest

from instance import Instance, wait_until


GOOD = "/^spam\\.test$/ REJECT regex says no\n"
BAD = "/^spam\\.test$/ REJECT regex says no\n/(unclosed/ OK\n"


class PcreBadRegex(unittest.TestCase):
    def make(self, text):
        inst = Instance()
        path = os.path.join(inst.etc, "helo.pcre")
        with open(path, "w") as f:
            f.write(text)
        inst.main_cf["smtpd_helo_restrictions"] = (
            "check_helo_access pcre:" + path)
        inst.write_config()
        return inst, path

    def rcpt(self, inst, helo):
        with smtplib.SMTP("127.0.0.1", inst.port, timeout=15) as s:
            s.ehlo(helo)
            self.assertEqual(s.mail("x@fine.test")[0], 250)
            code, text = s.rcpt("alice@example.test")
            s.rset()
        return code, text.decode()

    def rcpt_becomes(self, inst, helo, code):
        """The reply to RCPT after helo, once it has the code: smtpd
        checks a table for changes at most once a second, and a process
        may have opened it just before the change. Bounded: 10 s."""
        replies = []

        def ask():
            replies.append(self.rcpt(inst, helo))
            return replies[-1][0] == code
        wait_until(ask, 10, 0.3)
        return replies[-1]

    def test_refused_at_start_with_file_and_line(self):
        inst, path = self.make(BAD)
        try:
            inst.start(wait=False)
            for _ in range(3):
                try:
                    with smtplib.SMTP("127.0.0.1", inst.port,
                                      timeout=5) as s:
                        s.noop()
                except (OSError, smtplib.SMTPException):
                    pass
                if inst.wait_log(r"fatal: ", 3):
                    break
            self.assertTrue(inst.wait_log(
                r"smtpd\S*: fatal: smtpd_helo_restrictions: "
                r"check_helo_access pcre:%s: %s, line 2: "
                % (path, path), 10), inst.log()[-2000:])
            self.assertNotRegex(inst.log(), r"panic|signal|Sanitizer")
        finally:
            inst.cleanup_or_fail()

    def test_rewritten_bad_at_run_time(self):
        inst, path = self.make(GOOD)
        try:
            inst.start()
            self.assertEqual(self.rcpt(inst, "spam.test"),
                             (554, "5.7.1 <spam.test>: Helo command "
                                   "rejected: regex says no"))
            # A new file (new mtime and inode), with a bad rule in it.
            time.sleep(1.1)
            tmp = path + ".new"
            with open(tmp, "w") as f:
                f.write(BAD)
            os.rename(tmp, path)
            self.assertEqual(self.rcpt_becomes(inst, "spam.test", 451),
                             (451, "4.3.0 <spam.test>: Temporary lookup "
                                   "failure"))
            self.assertTrue(inst.wait_log(r"warning: .*line 2", 10),
                            inst.log()[-2000:])
            # Fixed again: answers again, no restart.
            time.sleep(1.1)
            with open(tmp, "w") as f:
                f.write(GOOD)
            os.rename(tmp, path)
            self.assertEqual(self.rcpt_becomes(inst, "spam.test", 554)[0],
                             554)
            self.assertEqual(self.rcpt(inst, "fine.test")[0], 250)
            self.assertNotRegex(inst.log(), r"panic|signal|Sanitizer")
        finally:
            inst.cleanup_or_fail()


if __name__ == "__main__":
    unittest.main()
