"""A hash: table rebuilt with surelmap while smtpd reads it: every answer
is the old table's or the new one's (surelmap replaces the file by rename,
never in place, so a reader never sees half a table: no 451 for a table
that cannot be read), and a running smtpd answers from the new one within
the check interval, without a restart or a new process.

One SMTP session asks MAIL/RCPT/RSET in a loop (bounded in count and
time) while another thread rebuilds the table forty times, each with a
new version number in its REJECT text. Loopback only."""

import os
import re
import smtplib
import subprocess
import threading
import time
import unittest

from instance import BIN_DIR, IS_ROOT, Instance

REBUILDS = 40
REPLY = re.compile(r"5\.7\.1 <x@flip\.example>: Sender address rejected: "
                   r"version (\d+)$")


class LiveTable(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # One session asks many times, each a reject: no tarpit, no
        # "too many errors" disconnect.
        inst = Instance(smtpd_hard_error_limit="100000",
                        smtpd_soft_error_limit="100000",
                        smtpd_error_sleep_time="0s")
        cls.src = os.path.join(inst.etc, "senders")
        inst.main_cf["smtpd_sender_restrictions"] = (
            "check_sender_access hash:%s" % cls.src)
        inst.write_config()
        cls.build(0)
        cls.inst = inst.start_or_cleanup()

    @classmethod
    def tearDownClass(cls):
        cls.inst.cleanup_or_fail()

    @classmethod
    def build(cls, version):
        """Writes the source and rebuilds the table as an operator does."""
        with open(cls.src, "w") as f:
            f.write("flip.example REJECT version %d\n" % version)
        subprocess.run([os.path.join(BIN_DIR, "surelmap"), "hash:" + cls.src],
                       check=True, timeout=30, capture_output=True)
        if IS_ROOT:
            os.chmod(cls.src + ".db", 0o644)

    def ask(self, s):
        code, text = s.mail("x@flip.example")
        self.assertEqual(code, 250, text)
        code, text = s.rcpt("alice@example.test")
        s.rset()
        m = REPLY.match(text.decode())
        self.assertEqual(code, 554, text)
        self.assertIsNotNone(m, text)
        return int(m.group(1))

    def test_rebuilt_while_read(self):
        errors = []

        def rebuild():
            try:
                for v in range(1, REBUILDS + 1):
                    self.build(v)
                    time.sleep(0.05)
            except Exception as e:	# reported by the main thread
                errors.append(e)

        seen = []
        with smtplib.SMTP("127.0.0.1", self.inst.port, timeout=15) as s:
            s.ehlo("client.example.net")
            seen.append(self.ask(s))
            builder = threading.Thread(target=rebuild)
            builder.start()
            deadline = time.monotonic() + 60
            while builder.is_alive() and time.monotonic() < deadline \
                    and len(seen) < 5000:
                seen.append(self.ask(s))
            builder.join(60)
            self.assertFalse(builder.is_alive(), "rebuilds did not finish")
            self.assertEqual(errors, [])
            # The same session (the same smtpd process) sees the last
            # table within the check interval (once a second).
            deadline = time.monotonic() + 5
            while seen[-1] != REBUILDS and time.monotonic() < deadline:
                time.sleep(0.2)
                seen.append(self.ask(s))
        self.assertEqual(seen[-1], REBUILDS, seen[-20:])
        # Versions only move forward: never an older table after a newer.
        self.assertEqual(seen, sorted(seen), seen)
        self.assertGreater(len(seen), 10)
        self.assertNotRegex(self.inst.log(), r"senders.*(corrupt|cannot|error)")


if __name__ == "__main__":
    unittest.main()
