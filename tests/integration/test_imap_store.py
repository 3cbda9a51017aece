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
import socket
import time
import unittest

from imap_util import ImapCase, files_of
from instance import password_of


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

    def test_slow_reader_does_not_hold_the_lock(self):
        """A client that does not read its STORE reply (a long one: many
        keywords on every message) gets the renames done at the first
        write that has to wait: another session's STORE, which needs the
        folder's lock, is answered at once instead of after the lock's
        30 s wait."""
        n = 3000
        self.fill(n)
        inbox = self.inbox()
        # Over 6 MB of FETCH responses: more than the kernel buffers
        # (net.ipv4.tcp_wmem allows a send buffer of 4 MB).
        words = " ".join("keyword%02d_%s" % (i, "p" * 110) for i in range(20))
        a = socket.socket()
        self.addCleanup(a.close)
        a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        a.settimeout(30)
        a.connect(("127.0.0.1", self.inst.imap_port))
        f = a.makefile("rb")
        f.readline()
        a.sendall(('a1 LOGIN "%s" "%s"\r\na2 SELECT INBOX\r\n' % (
            self.addr, password_of(self.addr))).encode())
        while not f.readline().startswith(b"a2 "):
            pass
        a.sendall(("a3 STORE 1:* +FLAGS (\\Flagged %s)\r\n" % words)
                  .encode())
        time.sleep(0.5)     # a reads nothing: the server's writes stall
        b = self.client(select="SELECT INBOX")
        start = time.monotonic()
        b.ok("STORE 1 +FLAGS (\\Seen)")
        self.assertLess(time.monotonic() - start, 10)
        self.wait_files(inbox, "F", n, timeout=10)
        # a's reply is all there once it reads.
        flagged = set()
        for _ in range(n + 100):
            line = f.readline()
            if line.startswith(b"a3 "):
                self.assertTrue(line.startswith(b"a3 OK"), line)
                break
            m = re.match(rb"\* (\d+) FETCH \(.*\\Flagged", line)
            if m:
                flagged.add(int(m.group(1)))
        self.assertEqual(flagged, set(range(1, n + 1)))


if __name__ == "__main__":
    unittest.main()
