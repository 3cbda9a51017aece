"""Quota: Maildir++ maildirsize kept by local delivery. A mailbox fills
up and the next message waits in the queue with 4.2.2 and a reason a
sender can read; it is delivered once space is freed (files deleted and
maildirsize removed, or a negative change line as pop3d appends);
virtual_overquota_bounce makes it a 5.2.2 failure; a per-user quota map
overrides the default; without a quota nothing is created."""

import os
import re
import time
import unittest

from instance import Instance, make_message, new_marker, wait_until

QUOTA = 3000
BIG = 5000   # a message body larger than QUOTA

USERS = {
    "fill@example.test": "example.test/fill/",
    "resume@example.test": "example.test/resume/",
    "neg@example.test": "example.test/neg/",
    "big@example.test": "example.test/big/",
    "free@example.test": "example.test/free/",
    "bad@example.test": "example.test/bad/",
    "alice@example.test": "example.test/alice/",
    "bob@example.test": "example.test/bob/",
}
QUOTA_MAP = {
    "big@example.test": "100k",
    "free@example.test": "0",
    "bad@example.test": "lots",
}

REASON = (r"mailbox full: user is over quota \(used (\d+) of (\d+) bytes, "
          r"this message has (\d+)\)")


def start_instance(quota_map=None, **main_cf):
    inst = Instance(users=USERS, aliases={}, **main_cf)
    try:
        if quota_map is not None:
            path = os.path.join(inst.etc, "vquota")
            with open(path, "w") as f:
                for k, v in quota_map.items():
                    f.write("%s %s\n" % (k, v))
            inst.set_main_cf(virtual_mailbox_quota_maps="texthash:" + path)
        inst.start()
    except Exception:
        inst.cleanup()
        raise
    return inst


def stop_instance(inst):
    inst.cleanup_or_fail()


def size_of(path):
    """(S=, W=) from a delivered file's name."""
    m = re.search(r",S=(\d+),W=(\d+)(?::|$)", os.path.basename(path))
    assert m, "no ,S=..,W=.. in %s" % path
    return int(m.group(1)), int(m.group(2))


def body_of(nbytes):
    line = "padding padding padding padding padding padding padding\r\n"
    return line * (nbytes // len(line) + 1)


class QuotaCase(unittest.TestCase):
    """Helpers over self.inst."""

    def send(self, addr, body=None):
        m = new_marker("q")
        msg = make_message("sender@remote.example", [addr], m, body=body)
        code, text, qid = self.inst.send(addr, body=msg)
        self.assertEqual(code, 250, text)
        self.assertIsNotNone(qid, text)
        return qid

    def outcome(self, qid, addr, since=0, timeout=30):
        """(dsn, status, reason) of local's line for qid and addr."""
        rx = (re.escape(qid) + r": to=<" + re.escape(addr) +
              r">, relay=local, .*dsn=(\S+), status=(\w+) \((.*)\)$")
        m = self.inst.wait_log(rx, timeout, since)
        self.assertTrue(m, "no delivery line for %s\n%s" % (
            qid, self.inst.diagnostics()))
        return m.group(1), m.group(2), m.group(3)

    def quota_file(self, addr):
        return os.path.join(self.inst.maildir(addr), "maildirsize")

    def read_quota(self, addr):
        with open(self.quota_file(addr)) as f:
            return f.read()

    def in_deferred(self, qid):
        return any(os.path.basename(p) == qid
                   for p in self.inst.queue_files("deferred"))

    def fill_until_deferred(self, addr, limit=QUOTA):
        """Sends messages to addr one at a time until one is deferred;
        returns (qid, delivered paths, the log's used, message size)."""
        for _ in range(20):
            qid = self.send(addr)
            dsn, status, reason = self.outcome(qid, addr)
            if status == "sent":
                continue
            self.assertEqual((dsn, status), ("4.2.2", "deferred"), reason)
            m = re.fullmatch(REASON, reason)
            self.assertTrue(m, reason)
            used, lim, size = (int(g) for g in m.groups())
            self.assertEqual(lim, limit)
            files = self.inst.messages(addr)
            self.assertGreaterEqual(len(files), 2)
            return qid, files, used, size
        self.fail("never deferred\n" + self.inst.diagnostics())


class Quota(QuotaCase):
    """virtual_mailbox_quota = 3000, and a map for some users."""

    @classmethod
    def setUpClass(cls):
        cls.inst = start_instance(quota_map=QUOTA_MAP,
                                  virtual_mailbox_quota=str(QUOTA))

    @classmethod
    def tearDownClass(cls):
        stop_instance(cls.inst)

    def test_full_mailbox_defers_with_reason(self):
        addr = "fill@example.test"
        qid, files, used, size = self.fill_until_deferred(addr)
        sizes = [size_of(p)[0] for p in files]
        for p, s in zip(files, sizes):
            self.assertEqual(os.path.getsize(p), s)
        # The reason's figures are the Maildir's: what is there, and a
        # message that would pass the limit.
        self.assertEqual(used, sum(sizes))
        self.assertLessEqual(used, QUOTA)
        self.assertGreater(used + size, QUOTA)
        # The refusal counted the Maildir (the figures were a sum of
        # changes): maildirsize is that count, private like the Maildir.
        self.assertEqual(self.read_quota(addr),
                         "%dS\n%d %d\n" % (QUOTA, used, len(files)))
        st = os.stat(self.quota_file(addr))
        self.assertEqual(st.st_mode & 0o777, 0o600)
        self.assertEqual(st.st_uid, self.inst.owner.pw_uid)
        # It waits in the queue and stays there across retries.
        self.assertTrue(wait_until(lambda: self.in_deferred(qid), 10),
                        self.inst.diagnostics())
        rx = re.escape(qid) + r": to=<fill@example\.test>.*dsn=4\.2\.2, status=deferred"
        self.assertTrue(wait_until(
            lambda: len(re.findall(rx, self.inst.log())) >= 2, 30),
            "not retried\n" + self.inst.diagnostics())
        self.assertEqual(len(self.inst.messages(addr)), len(files))
        self.assertTrue(self.in_deferred(qid))

    def test_delivered_after_files_and_maildirsize_removed(self):
        addr = "resume@example.test"
        qid, files, used, size = self.fill_until_deferred(addr)
        for p in files:
            os.unlink(p)
        os.unlink(self.quota_file(addr))
        since = self.inst.log_size()
        dsn, status, reason = self.outcome(qid, addr, since, timeout=40)
        self.assertEqual((dsn, status), ("2.0.0", "sent"), reason)
        [path] = self.inst.messages(addr)
        s = size_of(path)[0]
        self.assertEqual(s, size)
        # Counted afresh (an empty Maildir), then the new message.
        self.assertEqual(self.read_quota(addr),
                         "%dS\n0 0\n%d 1\n" % (QUOTA, s))
        self.assertTrue(wait_until(lambda: not self.in_deferred(qid), 10))

    def test_negative_change_line_frees_space(self):
        # What pop3d does at QUIT after DELE: the files go, and one
        # negative "bytes count" line is appended per message.
        addr = "neg@example.test"
        qid, files, used, size = self.fill_until_deferred(addr)
        before = self.read_quota(addr)
        gone = files[:2]
        freed = [size_of(p)[0] for p in gone]
        for p, s in zip(gone, freed):
            os.unlink(p)
            with open(self.quota_file(addr), "a") as f:
                f.write("-%d -1\n" % s)
        since = self.inst.log_size()
        dsn, status, reason = self.outcome(qid, addr, since, timeout=40)
        self.assertEqual((dsn, status), ("2.0.0", "sent"), reason)
        new = [p for p in self.inst.messages(addr) if p not in files]
        self.assertEqual(len(new), 1)
        # Under the limit on the file's word: no count, one more line.
        self.assertEqual(self.read_quota(addr), before + "".join(
            "-%d -1\n" % s for s in freed) + "%d 1\n" % size_of(new[0])[0])

    def test_map_overrides_default(self):
        # 100k for big: a message over the default fits; its Maildir
        # gets maildirsize with its own limit from the second delivery
        # (the first one creates the Maildir).
        for i in range(2):
            qid = self.send("big@example.test", body_of(BIG))
            dsn, status, reason = self.outcome(qid, "big@example.test")
            self.assertEqual((dsn, status), ("2.0.0", "sent"), reason)
        sizes = [size_of(p)[0] for p in self.inst.messages("big@example.test")]
        self.assertGreater(min(sizes), QUOTA)
        self.assertEqual(self.read_quota("big@example.test"),
                         "102400S\n%d 1\n%d 1\n" % (sizes[0], sizes[1]))
        # 0 for free: no quota at all, and no maildirsize.
        for i in range(2):
            qid = self.send("free@example.test", body_of(BIG))
            dsn, status, reason = self.outcome(qid, "free@example.test")
            self.assertEqual((dsn, status), ("2.0.0", "sent"), reason)
        self.assertFalse(os.path.exists(self.quota_file("free@example.test")))
        # Not a size: a configuration error, deferred, nothing delivered.
        qid = self.send("bad@example.test")
        dsn, status, reason = self.outcome(qid, "bad@example.test")
        self.assertEqual((dsn, status), ("4.3.5", "deferred"), reason)
        self.assertIn("virtual_mailbox_quota_maps", reason)
        self.assertIn('"lots" is not a size', reason)
        self.assertEqual(self.inst.messages("bad@example.test"), [])

    def test_message_larger_than_quota_on_empty_mailbox(self):
        # alice has the default: a first message over it is refused
        # although the Maildir does not even exist yet.
        qid = self.send("alice@example.test", body_of(BIG))
        dsn, status, reason = self.outcome(qid, "alice@example.test")
        self.assertEqual((dsn, status), ("4.2.2", "deferred"), reason)
        m = re.fullmatch(REASON, reason)
        self.assertTrue(m, reason)
        self.assertEqual(int(m.group(1)), 0)
        self.assertGreater(int(m.group(3)), BIG)
        self.assertFalse(os.path.exists(self.inst.maildir("alice@example.test")))


class OverquotaBounce(QuotaCase):
    """virtual_overquota_bounce = yes: over quota fails at once."""

    @classmethod
    def setUpClass(cls):
        cls.inst = start_instance(virtual_mailbox_quota=str(QUOTA),
                                  virtual_overquota_bounce="yes")

    @classmethod
    def tearDownClass(cls):
        stop_instance(cls.inst)

    def test_bounced_with_522(self):
        addr = "fill@example.test"
        qid = self.send(addr, body_of(BIG))
        dsn, status, reason = self.outcome(qid, addr)
        self.assertEqual((dsn, status), ("5.2.2", "bounced"), reason)
        m = re.fullmatch(REASON, reason)
        self.assertTrue(m, reason)
        self.assertEqual(int(m.group(2)), QUOTA)
        # Nothing delivered, nothing kept in the queue but the bounce to
        # the (remote) sender, which waits for an smtp service this
        # instance does not run.
        self.assertTrue(self.inst.wait_log(
            re.escape(qid) + r": sender non-delivery notification: \w+",
            10), self.inst.diagnostics())
        self.assertTrue(wait_until(lambda: not self.in_deferred(qid) and
                                   not os.path.exists(os.path.join(
                                       self.inst.queue, "active", qid)),
                                   10), self.inst.diagnostics())
        self.assertEqual(self.inst.messages(addr), [])
        # A message that fits is delivered as usual.
        qid = self.send(addr)
        self.assertEqual(self.outcome(qid, addr)[:2], ("2.0.0", "sent"))


class NoQuota(QuotaCase):
    """No quota configured (the default)."""

    @classmethod
    def setUpClass(cls):
        cls.inst = start_instance()

    @classmethod
    def tearDownClass(cls):
        stop_instance(cls.inst)

    def test_no_maildirsize_created(self):
        addr = "alice@example.test"
        for i in range(2):
            qid = self.send(addr, body_of(BIG))
            self.assertEqual(self.outcome(qid, addr)[:2], ("2.0.0", "sent"))
        self.assertEqual(len(self.inst.messages(addr)), 2)
        self.assertEqual(sorted(os.listdir(self.inst.maildir(addr))),
                         ["cur", "new", "tmp"])
        # The names carry S= (file size) and W= (each LF as CRLF).
        for p in self.inst.messages(addr):
            with open(p, "rb") as f:
                data = f.read()
            self.assertNotIn(b"\r\n", data)
            self.assertEqual(size_of(p), (len(data), len(data) + data.count(b"\n")))

    def test_existing_maildirsize_kept_without_limit(self):
        # A Maildir that came with a maildirsize (from Dovecot, or a
        # quota removed since): its limit is no longer enforced, line 1
        # says so, and the figures stay current.
        addr = "bob@example.test"
        md = self.inst.maildir(addr)
        for d in (md, md + "new", md + "cur", md + "tmp"):
            os.makedirs(d, mode=0o700, exist_ok=True)
        with open(self.quota_file(addr), "w") as f:
            f.write("1000S\n5 1\n")
        owner = self.inst.owner
        for d in (os.path.dirname(md.rstrip("/")), md, md + "new", md + "cur",
                  md + "tmp", self.quota_file(addr)):
            os.chown(d, owner.pw_uid, owner.pw_gid)
        qid = self.send(addr, body_of(BIG))
        self.assertEqual(self.outcome(qid, addr)[:2], ("2.0.0", "sent"))
        [p] = self.inst.messages(addr)
        self.assertEqual(self.read_quota(addr), "0S\n0 0\n%d 1\n" % size_of(p)[0])


if __name__ == "__main__":
    unittest.main()
