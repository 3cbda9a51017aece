"""Two IMAP sessions on one mailbox plus deliveries through SMTP, over a
real instance: both see the same UIDs and EXISTS counts; an expunge by
one session reaches the other as EXPUNGE (or VANISHED with QRESYNC) at a
moment RFC 3501 7.4.1 / RFC 9051 7.5.1 allow -- never during a FETCH,
STORE or SEARCH by sequence number, at the next NOOP instead; flag
changes by one reach the other as FETCH; the MODSEQs the two give never
collide; IDLE hears of a delivery within a second or two (inotify). One
mailbox per test."""

import re
import threading
import time
import unittest

from imap_util import ImapCase, fetch_lines


def uids_of(c):
    """{msn: uid} by UID FETCH."""
    out = {}
    for u in c.ok("UID FETCH 1:* (UID)"):
        # Unsolicited FETCH (FLAGS) of changes by others may come too.
        m = re.match(r"(\d+) FETCH \(.*UID (\d+)", u)
        if m:
            out[int(m.group(1))] = int(m.group(2))
    return out


def exists_of(untagged):
    n = [int(u.split()[0]) for u in untagged if re.match(r"\d+ EXISTS$", u)]
    return n[-1] if n else None


class Concurrency(ImapCase):

    def two_sessions(self, n, select="SELECT INBOX"):
        """n messages in INBOX and two sessions that selected it."""
        self.fill(n)
        a, b = self.client(select=select), self.client(select=select)
        return a, b

    def deliver(self, n):
        self.inst.deliver(self.addr, n, prefix="imap")

    def test_deliveries_both_sessions(self):
        self.fill(1)
        a, b = self.client(), self.client()
        self.assertIn("1 EXISTS", a.ok("SELECT INBOX"))
        self.assertIn("1 EXISTS", b.ok("SELECT INBOX"))
        self.deliver(2)
        ua = self.noop_until(a, lambda s: exists_of(s) == 3)
        ub = self.noop_until(b, lambda s: exists_of(s) == 3)
        # A delivery lands in new/: \\Recent for the session that saw
        # it first (it moved the files to cur/), not for the other.
        self.assertIn("2 RECENT", ua)
        self.assertIn("0 RECENT", ub)
        self.assertEqual(uids_of(a), uids_of(b))
        self.assertEqual(sorted(uids_of(a).values()), [1, 2, 3])
        # And a third session sees the same.
        c = self.client()
        self.assertIn("3 EXISTS", c.ok("SELECT INBOX"))
        self.assertEqual(uids_of(c), uids_of(a))

    def test_expunge_deferred(self):
        a, b = self.two_sessions(4)
        b.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
        self.assertEqual(b.cmd("EXPUNGE"),
                         (["2 EXPUNGE"], "OK Expunge completed."))
        # A, by sequence numbers: no EXPUNGE while FETCH, STORE, SEARCH
        # run; numbers keep their meaning (4 is still the fourth).
        out = {}
        for cmd in ("FETCH 1:4 (FLAGS)", "STORE 4 +FLAGS (\\Seen)",
                    "SEARCH ALL", "STORE 1 +FLAGS (\\Seen)"):
            untagged, tagged = a.cmd(cmd)
            self.assertTrue(tagged.startswith("OK"), (cmd, tagged))
            self.assertFalse([u for u in untagged if "EXPUNGE" in u],
                             (cmd, untagged))
            out[cmd] = untagged
        self.assertEqual(out["STORE 4 +FLAGS (\\Seen)"],
                         ["4 FETCH (FLAGS (\\Seen))"])
        # The next NOOP tells.
        self.assertEqual(a.ok("NOOP"), ["2 EXPUNGE"])
        self.assertEqual(uids_of(a), {1: 1, 2: 3, 3: 4})
        self.assertEqual(uids_of(a), uids_of(b))

    def test_expunge_during_uid_command(self):
        """A UID command may hear of an expunge at once."""
        a, b = self.two_sessions(3)
        b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
        b.ok("EXPUNGE")
        # The FETCH with the number valid when it is sent, then the
        # EXPUNGE.
        self.assertEqual(a.ok("UID STORE 3 +FLAGS (\\Seen)"),
                         ["3 FETCH (UID 3 FLAGS (\\Seen))", "1 EXPUNGE"])
        self.assertEqual(a.ok("UID STORE 3 -FLAGS (\\Seen)"),
                         ["2 FETCH (UID 3 FLAGS ())"])

    def test_expunge_deleted_by_other(self):
        """\\Deleted set by one connection, EXPUNGE on another before it
        heard of it (Thunderbird does this): the message goes."""
        a, b = self.two_sessions(3)
        b.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
        self.assertEqual(a.cmd("EXPUNGE"),
                         (["2 EXPUNGE"], "OK Expunge completed."))
        self.assertEqual(len(self.inst.messages(self.addr)), 2)
        self.assertEqual(b.ok("NOOP"), ["2 EXPUNGE"])
        self.assertEqual(uids_of(a), uids_of(b))

    def test_vanished_qresync(self):
        self.fill(5)
        a, b = self.client(), self.client()
        a.ok("ENABLE QRESYNC")
        a.ok("SELECT INBOX")
        b.ok("SELECT INBOX")
        b.ok("STORE 2:3,5 +FLAGS.SILENT (\\Deleted)")
        b.ok("EXPUNGE")
        untagged = a.ok("NOOP")
        self.assertEqual(untagged[0], "VANISHED 2:3,5")
        self.assertRegex(untagged[1], r"^OK \[HIGHESTMODSEQ \d+\]")

    def test_flags_seen_by_other(self):
        a, b = self.two_sessions(2)
        b.ok("STORE 2 +FLAGS (\\Flagged)")
        self.assertEqual(a.ok("NOOP"), ["2 FETCH (FLAGS (\\Flagged))"])
        self.assertEqual(a.ok("NOOP"), [])
        a.ok("ENABLE CONDSTORE")
        b.ok("STORE 1 +FLAGS (\\Answered)")
        self.assertRegex(" ".join(a.ok("NOOP")),
                         r"^1 FETCH \(MODSEQ \(\d+\) FLAGS \(\\Answered\)\)$")
        a.ok("ENABLE QRESYNC")
        b.ok("STORE 1 -FLAGS (\\Answered)")
        self.assertRegex(" ".join(a.ok("NOOP")),
                         r"^1 FETCH \(UID 1 MODSEQ \(\d+\) FLAGS \(\)\)$")

    def test_expunge_and_delivery(self):
        """An expunge and a delivery at once: EXPUNGE comes first, then
        the EXISTS that counts the new message."""
        a, b = self.two_sessions(3)
        b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
        b.ok("EXPUNGE")
        self.deliver(1)
        seen = self.noop_until(a, lambda s: exists_of(s) is not None)
        self.assertEqual(seen[0], "1 EXPUNGE")
        self.assertEqual(exists_of(seen), 3)
        self.assertEqual(sorted(uids_of(a).values()), [2, 3, 4])

    def test_modseq_no_collision(self):
        """Two sessions storing flags at the same time: every MODSEQ
        given out is given once."""
        a, b = self.two_sessions(20, "SELECT INBOX (CONDSTORE)")
        got = {"a": [], "b": []}
        errors = []

        def run(c, key, msns):
            try:
                for r in range(5):
                    for m in msns:
                        untagged = c.ok("STORE %d %sFLAGS.SILENT (k%d)" % (
                            m, "+" if r % 2 == 0 else "-", r // 2))
                        for u in untagged:
                            mm = re.match(r"%d FETCH \(MODSEQ \((\d+)\)\)$"
                                          % m, u)
                            if mm:
                                got[key].append(int(mm.group(1)))
            except Exception as e:
                errors.append(e)

        ta = threading.Thread(target=run, args=(a, "a", range(1, 11)))
        tb = threading.Thread(target=run, args=(b, "b", range(11, 21)))
        ta.start()
        tb.start()
        ta.join(120)
        tb.join(120)
        self.assertFalse(ta.is_alive() or tb.is_alive(), "stuck")
        self.assertEqual(errors, [])
        self.assertEqual(len(got["a"]), 50)
        self.assertEqual(len(got["b"]), 50)
        both = got["a"] + got["b"]
        self.assertEqual(len(set(both)), len(both), "a MODSEQ given twice")
        # Each session's own are increasing, and each session hears the
        # other's changes with their MODSEQs.
        self.assertEqual(got["a"], sorted(got["a"]))
        self.assertEqual(got["b"], sorted(got["b"]))
        for c in (a, b):
            ms = fetch_lines(c.ok("FETCH 1:* (MODSEQ)"))
            self.assertEqual(len(ms), 20)

    def test_idle_wakes_on_delivery(self):
        self.fill(1)
        a = self.client()
        a.ok("SELECT INBOX")
        tag = a.send_cmd("IDLE")
        self.assertTrue(a.response().startswith("+"))
        self.deliver(1)
        delivered = time.monotonic()
        line = a.response()
        woke = time.monotonic()
        self.assertEqual(line, "* 2 EXISTS")
        self.assertLess(woke - delivered, 1.5,
                        "IDLE heard of it %.2fs after the file was there"
                        % (woke - delivered))
        a.send("DONE\r\n")
        untagged, tagged = a.wait_tagged(tag)
        self.assertTrue(tagged.startswith("OK"), tagged)


if __name__ == "__main__":
    unittest.main()
