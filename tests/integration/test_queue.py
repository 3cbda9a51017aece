"""The queue: temporary failures stay queued and are retried, corrupt
files go to corrupt/ without hurting qmgr, and what a crash left in
active/ is delivered at start."""

import os
import socket
import time

from instance import (OwnInstanceCase, IS_ROOT, new_marker, wait_until, free_port,
                      alive)


def fake_queue_id(n):
    """A well-formed queue id (15 hex digits of time, then a pid)."""
    return "%010X%05X%X" % (int(time.time()), (n * 7919) % 1000000, 0xFFF00 + n)


def queue_file(sender, rcpts, content):
    """A queue file as lib/queue_file.h describes it. rcpts: list of
    (address, done)."""
    out = [b"SUREL-QUEUE 1\n",
           b"T\t%d\n" % int(time.time() * 1e6),
           b"S\t" + sender.encode() + b"\n",
           b"A\tclient_address\t127.0.0.1\n"]
    for addr, done in rcpts:
        out.append(b"R\t%s\t-\t-\t-\t%s\n" % (b"D" if done else b"P", addr.encode()))
    out.append(b"C\t%020d\n" % len(content))
    out.append(content)
    out.append(b"E\n")
    return b"".join(out)


class Queue(OwnInstanceCase):

    def place(self, inst, path, data):
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o700)
        if IS_ROOT:
            os.chown(path, inst.owner.pw_uid, inst.owner.pw_gid)

    def wake_qmgr(self, inst, qid):
        """Tells qmgr about a file as smtpd does (best effort)."""
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect(os.path.join(inst.queue, "public", "qmgr"))
            s.sendall(b"incoming %s\n" % qid.encode())
            s.close()
        except OSError:
            pass

    def test_temporary_failure_deferred_then_delivered(self):
        inst = self.new_instance()
        # A file where the Maildir base should be: every mkdir under it
        # fails, for root too (chmod would not stop a root process).
        away = inst.mail + ".away"
        os.rename(inst.mail, away)
        with open(inst.mail, "w") as f:
            f.write("not a directory\n")
        m = new_marker("defer")
        code, text, qid = inst.send("alice@example.test", marker=m)
        self.assertEqual(code, 250, text)
        self.assertTrue(wait_until(lambda: inst.queue_files("deferred"), 20),
                        "message not deferred\n" + inst.diagnostics())
        self.assertTrue(inst.wait_log(r"to=<alice@example\.test>, relay=local, .*"
                                      r"dsn=4\.\d+\.\d+, status=deferred", 10),
                        inst.diagnostics())
        self.assertEqual(inst.queue_files("active"), [])
        # Fixed: the next retry (minimal_backoff_time 1s) delivers it.
        os.remove(inst.mail)
        os.rename(away, inst.mail)
        inst.find_message("alice@example.test", m, timeout=40)
        self.assertTrue(wait_until(inst.queue_empty, 20), inst.diagnostics())
        time.sleep(0.5)
        self.assertEqual(inst.count_marker(m), 1)

    def test_unwritable_base_deferred_then_delivered(self):
        # chmod stops local even in a root-started instance: local runs
        # as the unprivileged mail_owner. dave's Maildir does not exist
        # yet, so delivery has to create it under the base.
        inst = self.new_instance()
        os.chmod(inst.mail, 0o555)
        try:
            m = new_marker("ro")
            code, text, _ = inst.send("dave@example.org", marker=m)
            self.assertEqual(code, 250, text)
            self.assertTrue(inst.wait_log(r"to=<dave@example\.org>, relay=local, .*"
                                          r"dsn=4\.\d+\.\d+, status=deferred", 20),
                            inst.diagnostics())
            self.assertTrue(wait_until(lambda: inst.queue_files("deferred"), 10),
                            inst.diagnostics())
        finally:
            os.chmod(inst.mail, 0o755)
        inst.find_message("dave@example.org", m, timeout=40)
        self.assertTrue(wait_until(inst.queue_empty, 20), inst.diagnostics())

    def test_failed_defer_recovered_without_restart(self):
        """When a message cannot be moved to deferred/ (here: every
        deferred/H is a plain file, so rename fails), it stays in active/,
        and qmgr takes it up again by itself once the fault is gone."""
        inst = self.new_instance()
        qmgr = inst.wait_service("qmgr", 10)
        deferred = os.path.join(inst.queue, "deferred")
        hashes = sorted(os.listdir(deferred))
        self.assertEqual(len(hashes), 16)
        os.chmod(inst.mail, 0o555)
        for h in hashes:
            os.rmdir(os.path.join(deferred, h))
            open(os.path.join(deferred, h), "w").close()
        try:
            m = new_marker("orphan")
            code, text, _ = inst.send("dave@example.org", marker=m)
            self.assertEqual(code, 250, text)
            self.assertTrue(inst.wait_log(r"cannot defer to deferred/", 20),
                            inst.diagnostics())
            self.assertEqual(len(inst.queue_files("active")), 1)
        finally:
            for h in hashes:
                os.unlink(os.path.join(deferred, h))
                os.mkdir(os.path.join(deferred, h), 0o700)
                os.chown(os.path.join(deferred, h), inst.owner.pw_uid,
                         inst.owner.pw_gid)
            os.chmod(inst.mail, 0o755)
        inst.find_message("dave@example.org", m, timeout=40)
        self.assertTrue(wait_until(inst.queue_empty, 20), inst.diagnostics())
        self.assertEqual(inst.processes("qmgr"), [qmgr], "qmgr was restarted")

    def test_corrupt_files_moved_qmgr_survives(self):
        inst = self.new_instance()
        qmgr = inst.wait_service("qmgr", 10)
        self.assertIsNotNone(qmgr)
        good_content = b"Subject: truncated\n\nbody\n"
        bad = {
            fake_queue_id(1): b"this is not a queue file\n\x00\xff\xfe",
            fake_queue_id(2): queue_file("a@remote.example",
                                        [("alice@example.test", False)],
                                        good_content)[:-20],
            fake_queue_id(3): b"SUREL-QUEUE 1\nT\t1\nS\t" + b"x" * 100000 + b"\n",
            fake_queue_id(4): b"",
        }
        for qid, data in bad.items():
            self.place(inst, os.path.join(inst.queue, "incoming", qid), data)
            self.wake_qmgr(inst, qid)
        for qid in bad:
            path = os.path.join(inst.queue, "corrupt", qid)
            self.assertTrue(wait_until(lambda: os.path.exists(path), 30),
                            "%s not moved to corrupt/\n%s" % (qid, inst.diagnostics()))
            self.assertIn(qid, inst.log())
        self.assertTrue(alive(qmgr), "qmgr died on a corrupt file")
        self.assertEqual(inst.processes("qmgr"), [qmgr])
        m = new_marker()
        self.assertEqual(inst.send("bob@example.test", marker=m)[0], 250)
        inst.find_message("bob@example.test", m)
        self.assertEqual(inst.count_marker(b"truncated"), 0)

    def test_active_files_recovered_at_start(self):
        inst = self.new_instance()
        inst.stop()
        m1, m2 = new_marker("active"), new_marker("active")
        ids = [fake_queue_id(11), fake_queue_id(12)]
        self.place(inst, os.path.join(inst.queue, "active", ids[0]),
                   queue_file("a@remote.example", [("alice@example.test", False)],
                              b"Subject: one\nX-Marker: %s\n\nbody\n" % m1.encode()))
        # A crash after bob's delivery was marked done: only carol is due.
        self.place(inst, os.path.join(inst.queue, "active", ids[1]),
                   queue_file("", [("bob@example.test", True), ("carol@example.test", False)],
                              b"Subject: two\nX-Marker: %s\n\nbody\n" % m2.encode()))
        inst.start()
        data = inst.find_message("alice@example.test", m1, timeout=30)
        self.assertTrue(data.startswith(b"Return-Path: <a@remote.example>\n"), data[:100])
        data = inst.find_message("carol@example.test", m2, timeout=30)
        self.assertTrue(data.startswith(b"Return-Path: <>\n"), data[:100])
        self.assertTrue(wait_until(inst.queue_empty, 20), inst.diagnostics())
        self.assertEqual(inst.count_marker(m2), 1)
        self.assertEqual(inst.messages("bob@example.test"), [])

    def test_burst_with_fewer_local_processes_than_concurrency(self):
        """master.cf allows 2 local processes while qmgr may open
        local_destination_concurrency_limit (default 20) connections: 30
        messages recovered from active/ at once must still be delivered
        promptly, not wait on connections no local process accepts."""
        port = free_port()
        inst = self.new_instance(start=False, master_cf=(
            "127.0.0.1:%d inet n - n - 10 smtpd\n"
            "qmgr unix n - n 300 1 qmgr\n"
            "local unix - - n - 2 local\n" % port))
        inst.port = port
        inst.start()
        inst.stop()
        for n in range(30):
            self.place(inst, os.path.join(inst.queue, "active", fake_queue_id(100 + n)),
                       queue_file("b@remote.example", [("bob@example.test", False)],
                                  b"Subject: burst %d\n\nbody\n" % n))
        inst.start()
        inst.wait_for_maildir("bob@example.test", 30, timeout=30)
        self.assertTrue(wait_until(inst.queue_empty, 10), inst.diagnostics())

    def test_slow_writer_file_not_removed_as_stale(self):
        """A 0600 file in incoming/ an hour old is removed only when its
        writer is gone. A client that trickles DATA for over an hour leaves
        the file's mtime old (the content waits in smtpd's buffer); if qmgr
        removed it then, smtpd would commit the unlinked file and answer 250
        for a lost message."""
        inst = self.new_instance()
        old = time.time() - 7200
        # A leftover of a writer that died: still removed.
        dead = os.path.join(inst.queue, "incoming", fake_queue_id(200))
        with open(dead, "wb") as f:
            f.write(b"SUREL-QUEUE 1\n")
        if IS_ROOT:
            os.chown(dead, inst.owner.pw_uid, inst.owner.pw_gid)
        os.chmod(dead, 0o600)
        os.utime(dead, (old, old))
        m = new_marker("slow")
        with inst.raw() as r:
            self.assertEqual(r.cmd("EHLO client.example")[0], 250)
            self.assertEqual(r.cmd("MAIL FROM:<a@remote.example>")[0], 250)
            self.assertEqual(r.cmd("RCPT TO:<alice@example.test>")[0], 250)
            self.assertEqual(r.cmd("DATA")[0], 354)
            r.send("Subject: slow\r\nX-Marker: %s\r\n\r\nbody\r\n" % m)
            mine = wait_until(lambda: [p for p in inst.queue_files("incoming")
                                       if p != dead], 10)
            self.assertTrue(mine, inst.diagnostics())
            for p in mine:
                os.utime(p, (old, old))
            # qmgr looks into incoming/ every 5 s.
            self.assertTrue(wait_until(lambda: not os.path.exists(dead), 15),
                            "stale file not removed\n" + inst.diagnostics())
            time.sleep(6)
            code, text = r.cmd(".")
            self.assertEqual(code, 250, text)
        inst.find_message("alice@example.test", m, timeout=30)
        self.assertEqual(inst.log().count("removed incomplete queue file"), 1,
                         inst.diagnostics())

    def test_max_idle_zero_means_no_idle_limit(self):
        """max_idle = 0 means no idle limit, as in the pre-fork loop: local
        must not take it as "give up on the qmgr connection at once", which
        closed connections right after the hello or an answer, so that
        recipients were deferred ("connection lost") at random."""
        inst = self.new_instance(max_idle="0")
        for n in range(6):
            m = new_marker("idle0")
            code, text, _ = inst.send("alice@example.test", marker=m)
            self.assertEqual(code, 250, text)
            inst.find_message("alice@example.test", m, timeout=20)
            time.sleep(0.3)
        self.assertNotIn("status=deferred", inst.log(), inst.diagnostics())
