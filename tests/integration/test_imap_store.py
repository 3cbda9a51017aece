"""STORE answers before the files are renamed (imapd_store.c,
lib/mailstore_flags.c): the tagged OK means the change is durable in
surel-index, the renames run right after the reply. The files carry the
flags shortly after the OK; a second session sees them as soon as the
first has its OK; an imapd killed (SIGKILL) right after the OK of a big
STORE loses no flag: the next session completes the renames from the
index. One mailbox per test."""

import os
import re
import signal
import time
import unittest

from imap_util import ImapCase, files_of


def server_pid(case, c):
    """The imapd serving client c: the one holding the other end of its
    socket (/proc/net/tcp*, then /proc/<pid>/fd)."""
    lport = c.sock.getsockname()[1]
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port == lport:
                inodes.add("socket:[%s]" % fields[9])
    for pid in case.inst.processes("imapd"):
        fd_dir = "/proc/%d/fd" % pid
        try:
            links = {os.readlink(os.path.join(fd_dir, n))
                     for n in os.listdir(fd_dir)}
        except OSError:
            continue
        if links & inodes:
            return pid
    case.fail("no imapd holds the client's connection")


def flagged_msns(untagged):
    return {int(m.group(1)) for m in
            (re.match(r"(\d+) FETCH \(.*\\Flagged", u) for u in untagged)
            if m}


class StoreDeferred(ImapCase):

    def wait_files(self, folder, letter, count, timeout=10):
        """Until count files of folder carry flag letter; fails after
        timeout seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            files = files_of(folder)
            if sum(1 for f in files.values() if f and letter in f) == count:
                return files
            time.sleep(0.02)
        self.fail("files without %s after %ss" % (letter, timeout))

    def test_files_follow_the_ok(self):
        self.fill(300)
        inbox = self.inbox()    # (made once: it chowns the files)
        c = self.client(select="SELECT INBOX")
        untagged = c.ok("STORE 1:* +FLAGS (\\Flagged)")
        self.assertEqual(flagged_msns(untagged), set(range(1, 301)))
        files = self.wait_files(inbox, "F", 300, timeout=5)
        self.assertEqual(len(files), 300)
        # The session goes on as before: its own next command sees the
        # names it gave.
        c.ok("STORE 1 -FLAGS (\\Flagged)")
        self.wait_files(inbox, "F", 299, timeout=5)
        self.assertEqual(flagged_msns(c.ok("FETCH 1:* (FLAGS)")),
                         set(range(2, 301)))

    def test_second_session_sees_at_once(self):
        self.fill(2000)
        a = self.client(select="SELECT INBOX")
        b = self.client(select="SELECT INBOX")
        a.ok("STORE 1:* +FLAGS.SILENT (\\Flagged)")
        # Sent the moment a has its OK: the renames may not be done.
        seen = b.ok("NOOP")
        self.assertEqual(flagged_msns(seen), set(range(1, 2001)))
        self.assertEqual(flagged_msns(b.ok("FETCH 1:* (FLAGS)")),
                         set(range(1, 2001)))

    def test_kill_after_ok_loses_nothing(self):
        n = 3000
        self.fill(n)
        inbox = self.inbox()
        c = self.client(select="SELECT INBOX")
        pid = server_pid(self, c)
        tag = c.send_cmd("STORE 1:* +FLAGS.SILENT (\\Flagged)")
        _, tagged = c.until_tagged(tag)
        # The renames (one per message) are under way or not begun:
        # imapd still holds the folder's lock.
        lock_held = os.path.exists(os.path.join(inbox,
                                                "dovecot-uidlist.lock"))
        os.kill(pid, signal.SIGKILL)
        self.assertTrue(tagged.startswith(tag + " OK"), tagged)
        self.assertTrue(lock_held, "the OK came after the renames")
        # A new session waits for the dead writer's lock (2 s), completes
        # its renames and sees every flag.
        d = self.client(select="SELECT INBOX")
        self.assertEqual(flagged_msns(d.ok("FETCH 1:* (FLAGS)")),
                         set(range(1, n + 1)))
        files = files_of(inbox)
        self.assertEqual(len(files), n)
        self.assertTrue(all(f and "F" in f for f in files.values()))


if __name__ == "__main__":
    unittest.main()
