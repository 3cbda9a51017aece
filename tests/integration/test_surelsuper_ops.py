"""qmgr's operations asked over private/qmgr-super: surelsuper -d
(delete), -r (requeue), -s (repair), and the flushes (surel flush,
surelqueue -f, -i ID, -s SITE).

A message in flight is never deleted from under its delivery agent: -d
ALL while a slow peer holds deliveries leaves every file whole or gone,
and qmgr alive. Every wait is bounded; what a test starts it stops."""

import os
import re
import signal
import socket
import subprocess
import tempfile
import shutil
import time

from instance import BIN_DIR, IS_ROOT, free_port, new_marker, wait_until
from smtp_peer import ScriptedPeer, new_qid
from test_relay import SENDER, RelayCase, sender_instance
from test_schedule import messages_with

QUEUES = ("incoming", "active", "deferred", "hold", "corrupt")
SLOW = dict(mynetworks="127.0.0.1/32", minimal_backoff_time="900s",
            maximal_backoff_time="1800s", queue_run_delay="900s")


def real_qid(t_us=None):
    """A queue id as surel makes them: arrival time, then a pid part."""
    t_us = t_us if t_us is not None else time.time_ns() // 1000
    real_qid.n += 1
    return "%010X%05X%X" % (t_us // 10**6, t_us % 10**6, 0xA00 + real_qid.n)


real_qid.n = 0


def queue_file_bytes(qid, rcpt="someone@remote.test"):
    """A complete queue file whose T line is qid's arrival time."""
    t_us = int(qid[:10], 16) * 10**6 + int(qid[10:15], 16)
    content = b"Subject: planted\n\nplanted\n"
    return b"".join([b"SUREL-QUEUE 1\n", b"T\t%d\n" % t_us,
                     b"S\t" + SENDER.encode() + b"\n",
                     b"R\tP\t-\t-\t-\t" + rcpt.encode() + b"\n",
                     b"C\t%020d\n" % len(content), content, b"E\n"])


class OpsCase(RelayCase):
    """What the classes share."""

    def super(self, *args, stdin=None):
        return subprocess.run(
            [os.path.join(BIN_DIR, "surelsuper"), "-c", self.inst.etc]
            + list(args), input=stdin, capture_output=True, text=True,
            timeout=60, env=self.inst.env())

    def ask(self, line):
        """One request on private/qmgr-super; the reply line."""
        path = os.path.join(self.inst.queue, "private", "qmgr-super")
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(20)
            s.connect(path)
            s.sendall(line.encode() + b"\n")
            reply = b""
            while not reply.endswith(b"\n"):
                chunk = s.recv(600)
                if not chunk:
                    break
                reply += chunk
        return reply.decode()

    def where(self, qid):
        return [q for q in QUEUES
                if any(os.path.basename(p) == qid
                       for p in self.inst.queue_files(q))]

    def ids_in(self, queue):
        return {os.path.basename(p) for p in self.inst.queue_files(queue)}

    def send_to(self, rcpt, marker=None):
        code, text, qid = self.inst.send(rcpt, sender=SENDER,
                                         marker=marker or new_marker())
        self.assertEqual(code, 250, text)
        return qid

    def deferred(self, qid):
        self.assertTrue(wait_until(lambda: self.where(qid) == ["deferred"],
                                   20), "%s: %s\n%s" % (
                                       qid, self.where(qid),
                                       self.inst.diagnostics()))

    def qmgr_pid(self):
        pids = self.inst.processes("qmgr")
        self.assertEqual(len(pids), 1)
        return pids[0]

    def plant(self, rel, data, mode=0o700):
        path = os.path.join(self.inst.queue, rel)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            os.write(fd, data)
            os.fchmod(fd, mode)
            if IS_ROOT:
                os.fchown(fd, self.inst.owner.pw_uid, self.inst.owner.pw_gid)
        finally:
            os.close(fd)
        return path


class DeleteRequeue(OpsCase):
    """A dead relayhost, long back-offs: deferred mail stays put."""

    @classmethod
    def setUpClass(cls):
        cls.set_up_instance(lambda: sender_instance(free_port(), **SLOW))

    def test_delete_deferred(self):
        qid = self.send_to("someone@remote.test")
        self.deferred(qid)
        r = self.super("-d", qid)
        self.assertEqual((r.returncode, r.stderr),
                         (0, "surelsuper: Deleted: 1 message\n"))
        self.assertEqual(self.where(qid), [])
        self.log_of(r"surel/qmgr\[\d+\]: %s: removed" % qid)
        self.assertNotIn("%s: sender non-delivery" % qid, self.inst.log())
        r = self.super("-d", qid)
        self.assertEqual(r.returncode, 1)
        self.assertIn("%s: no such queue file" % qid, r.stderr)

    def test_delete_stdin_and_held(self):
        a, b = self.send_to("x@remote.test"), self.send_to("y@remote.test")
        self.deferred(a)
        self.deferred(b)
        self.assertEqual(self.super("-h", b).returncode, 0)
        self.assertTrue(wait_until(lambda: self.where(b) == ["hold"], 10))
        r = self.super("-d", "-", stdin="%s\n%s\n" % (a, b))
        self.assertEqual((r.returncode, r.stderr),
                         (0, "surelsuper: Deleted: 2 messages\n"))
        self.assertEqual(self.where(a) + self.where(b), [])

    def test_requeue_from_hold_and_deferred(self):
        qid = self.send_to("z@remote.test")
        self.deferred(qid)
        self.assertEqual(self.super("-h", qid).returncode, 0)
        self.assertTrue(wait_until(lambda: self.where(qid) == ["hold"], 10))
        attempts = len(re.findall(r"%s: to=<z@remote" % qid, self.inst.log()))
        r = self.super("-r", qid)
        self.assertEqual((r.returncode, r.stderr),
                         (0, "surelsuper: Requeued: 1 message\n"))
        self.log_of(r"%s: requeued" % qid)
        # taken from incoming/ at once, tried, deferred again, not held
        self.assertTrue(wait_until(lambda: len(re.findall(
            r"%s: to=<z@remote" % qid, self.inst.log())) > attempts, 20))
        self.deferred(qid)
        r = self.super("-r", qid)		# from deferred/: tried at once
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(wait_until(lambda: len(re.findall(
            r"%s: to=<z@remote" % qid, self.inst.log())) > attempts + 1, 20))
        self.deferred(qid)
        self.super("-d", qid)

    def test_bad_input(self):
        pid = self.qmgr_pid()
        missing = new_qid()
        for op in ("-d", "-r"):
            for bad, regex in (("../../etc/passwd", "invalid queue id"),
                               ("0123456789ABCDE/12", "invalid queue id"),
                               ("0123456789ABCDE..", "invalid queue id"),
                               ("0123456789ABCDEF" * 4, "invalid queue id"),
                               (missing, "%s: no such queue file" % missing)):
                r = self.super(op, bad)
                self.assertEqual(r.returncode, 1, (op, bad, r.stderr))
                self.assertRegex(r.stderr, regex)
        # the socket: refused, never obeyed
        for line in ("delete ../x", "requeue ALLx", "flush-site ../etc",
                     "flush-site a..b", "flush-site a/b", "repair " + missing,
                     "flush-site " + "a" * 300, "flush", "flush-site",
                     "frobnicate ALL"):
            self.assertTrue(self.ask(line).startswith("error "), line)
        self.assertEqual(self.ask("flush " + missing), "none\n")
        self.assertEqual(self.ask("flush-site nosuch.test"), "ok 0\n")
        self.assertEqual(self.qmgr_pid(), pid)
        for args in (["-d"], ["-r"], ["-s", "x"], ["-x"]):
            self.assertEqual(self.super(*args).returncode, 2, args)


class DeleteAllInFlight(OpsCase):
    """A slow peer: deliveries stay in flight for seconds. -d ALL then
    deletes what waits at once and what is in flight once its answer
    comes: nothing half-deleted, no crash, no notice."""

    @classmethod
    def setUpClass(cls):
        # 451 after 3 s: a message whose answer came before the -d is
        # deferred, still queued, so every one is counted.
        cls.peer = ScriptedPeer(concurrent=True, dot_delay=3,
                                dot="451 4.3.0 try again later")
        cls.set_up_instance(lambda: sender_instance(cls.peer.port, **SLOW))

    def check_whole(self, path):
        """A file in the queue is a whole queue file."""
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return
        self.assertTrue(data.startswith(b"SUREL-QUEUE 1\n") and
                        b"\nE\n" in data, path)

    def test_delete_all_during_deliveries(self):
        pid = self.qmgr_pid()
        markers = [new_marker("inflight") for _ in range(12)]
        ids = [self.send_to("r%d@remote.test" % i, m)
               for i, m in enumerate(markers)]
        self.assertTrue(wait_until(lambda: any(
            m in sess["raw"].decode("utf-8", "replace")
            for m in markers for sess in list(self.peer.sessions)), 20))
        r = self.super("-d", "ALL")
        self.assertEqual(r.returncode, 0, r.stderr)
        n = int(re.match(r"surelsuper: Deleted: (\d+) messages?\n$",
                         r.stderr).group(1))
        self.assertEqual(n, len(ids))
        # in flight: still in active/, whole; the rest gone
        places = {qid: self.where(qid) for qid in ids}
        self.assertTrue(all(p in ([], ["active"]) for p in places.values()),
                        places)
        self.assertTrue(any(p == ["active"] for p in places.values()),
                        "nothing was in flight: %s" % places)
        for q in QUEUES:
            for path in self.inst.queue_files(q):
                self.check_whole(path)
        self.assertTrue(wait_until(lambda: all(
            self.where(qid) == [] for qid in ids), 30), self.inst.diagnostics())
        for qid in ids:
            self.log_of(r"%s: removed" % qid)
        self.assertEqual(self.qmgr_pid(), pid)
        self.assertNotIn("non-delivery notification", self.inst.log())
        # a second ALL: nothing left
        r = self.super("-d", "ALL")
        self.assertEqual((r.returncode, r.stderr), (0, ""))


class Requeue(OpsCase):
    """transport_maps sends remote.test to a dead port; changed to a live
    peer and reloaded, the deferred message waits for its retry time
    (far off) until surelsuper -r puts it through incoming/ again."""

    tmp = None

    @classmethod
    def setUpClass(cls):
        cls.peer = ScriptedPeer(concurrent=True)
        cls.dead = free_port()
        cls.tmp = tempfile.mkdtemp(prefix="surel-ops-")
        os.chmod(cls.tmp, 0o755)
        cls.transport = os.path.join(cls.tmp, "transport")
        with open(cls.transport, "w") as f:
            f.write("remote.test smtp:[127.0.0.1]:%d\n" % cls.dead)
        try:
            cls.set_up_instance(lambda: sender_instance(
                cls.dead, transport_maps="texthash:" + cls.transport, **SLOW))
        except Exception:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_requeue_after_route_change(self):
        marker = new_marker("requeue")
        qid = self.send_to("a@remote.test", marker)
        self.deferred(qid)
        with open(self.transport, "w") as f:
            f.write("remote.test smtp:[127.0.0.1]:%d\n" % self.peer.port)
        old = self.qmgr_pid()
        os.kill(self.inst.proc.pid, signal.SIGHUP)
        self.assertTrue(wait_until(
            lambda: self.inst.processes("qmgr") not in ([], [old]), 30))
        time.sleep(2)		# its retry time is far off: not taken
        self.assertEqual(messages_with(self.peer, marker), [])
        self.assertEqual(self.where(qid), ["deferred"])
        # the new qmgr answers (the socket file alone may be the old one)
        self.assertTrue(wait_until(lambda: "no such queue file" in
                                   self.super("-r", new_qid()).stderr, 10))
        r = self.super("-r", qid)
        self.assertEqual((r.returncode, r.stderr),
                         (0, "surelsuper: Requeued: 1 message\n"))
        self.log_of(r"%s: requeued" % qid)
        self.log_of(r"%s: removed" % qid)
        self.assertEqual(len(messages_with(self.peer, marker)), 1)
        self.assertEqual(self.where(qid), [])


class Flush(OpsCase):
    """The relayhost is dead, then comes back: nothing is retried for
    900 s unless flushed, by site, by id, or all (surel flush)."""

    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        cls.set_up_instance(lambda: sender_instance(cls.port, **SLOW))

    def delivered(self, marker):
        return len(messages_with(self.peer, marker)) == 1

    def test_flush_site_id_all(self):
        marks = {d: new_marker(d) for d in ("a", "b", "c")}
        ids = {d: self.send_to("x@%s.test" % d, m) for d, m in marks.items()}
        for qid in ids.values():
            self.deferred(qid)
        self.log_of(r"destination down")
        # tearDownClass stops it
        type(self).peer = ScriptedPeer(port=self.port, concurrent=True)
        time.sleep(1.5)
        self.assertFalse(any(self.delivered(m) for m in marks.values()))

        r = self.surelqueue("-s", "A.test")	# flush-site
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertTrue(wait_until(lambda: self.delivered(marks["a"]), 20),
                        self.inst.diagnostics())
        self.log_of(r"%s: removed" % ids["a"])
        r = self.surelqueue("-i", ids["c"])	# flush ID
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertTrue(wait_until(lambda: self.delivered(marks["c"]), 20))
        self.log_of(r"%s: removed" % ids["c"])
        self.assertFalse(self.delivered(marks["b"]))
        self.assertEqual(self.where(ids["b"]), ["deferred"])

        r = subprocess.run([os.path.join(BIN_DIR, "surel"), "-c",
                            self.inst.etc, "flush"], capture_output=True,
                           text=True, timeout=60, env=self.inst.env())
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertTrue(wait_until(lambda: self.delivered(marks["b"]), 20))
        self.queue_empty()
        self.assertEqual(self.ask("flush ALL"), "ok 0\n")
        self.assertEqual(self.ask("flush-site b.test"), "ok 0\n")
        self.assertEqual(self.surelqueue("-f").returncode, 0)
        r = self.surelqueue("-i", ids["b"])
        self.assertEqual(r.returncode, 66)	# EX_NOINPUT: gone
        self.assertIn("no such queue file", r.stderr)
        for args in (["-i", "../x"], ["-s", "a/b"], ["-s", "a..b"]):
            self.assertEqual(self.surelqueue(*args).returncode, 64, args)

    def surelqueue(self, *args):
        return subprocess.run(
            [os.path.join(BIN_DIR, "surelqueue"), "-c", self.inst.etc]
            + list(args), capture_output=True, text=True, timeout=60,
            env=self.inst.env())


class Repair(OpsCase):
    """surelsuper -s on a queue with planted damage: by qmgr while it
    runs, by surelsuper itself while it is stopped (active/ included)."""

    @classmethod
    def setUpClass(cls):
        cls.set_up_instance(lambda: sender_instance(free_port(), **SLOW))

    def future(self, path):
        t = time.time() + 3600
        os.utime(path, (t, t))

    def test_repair(self):
        q = self.inst.queue
        misplaced = real_qid()
        wrong_dir = "0" if misplaced[14] != "0" else "1"
        self.future(self.plant("deferred/%s/%s" % (wrong_dir, misplaced),
                               queue_file_bytes(misplaced)))
        named = real_qid()
        self.plant("hold/not-an-id", queue_file_bytes(named))
        other_time = real_qid()
        digit = "E" if other_time[14] == "F" else "F"
        self.plant("hold/" + other_time[:14] + digit + other_time[15:],
                   queue_file_bytes(other_time))
        stale = real_qid()
        old = time.time() - 7200
        os.utime(self.plant("incoming/" + stale, b"SUREL-QUEUE 1\nT\t",
                            0o600), (old, old))
        young = real_qid()
        self.plant("incoming/" + young, b"SUREL-QUEUE 1\n", 0o600)
        garbage = real_qid()
        self.plant("deferred/%s/%s" % (garbage[14], garbage),
                   b"garbage\x00\xff")

        r = self.super("-s")
        self.assertEqual((r.returncode, r.stderr), (
            0, "surelsuper: Repaired: 5 problems (done by qmgr: the details "
            "are in the mail log)\n"))
        self.assertTrue(os.path.exists(
            "%s/deferred/%s/%s" % (q, misplaced[14], misplaced)))
        self.assertEqual(self.where(misplaced), ["deferred"])
        held = self.ids_in("hold")
        self.assertEqual(len(held), 2, held)
        self.assertIn(other_time, held)	# its pid part kept
        self.assertEqual([h for h in held if h.startswith(named[:15])],
                         list(held - {other_time}))
        self.assertFalse(os.path.exists(q + "/incoming/" + stale))
        self.assertTrue(os.path.exists(q + "/incoming/" + young))
        self.assertEqual(self.where(garbage), ["corrupt"])
        log = self.inst.log()
        for what in ("in the wrong deferred/ subdirectory",
                     "its name is not its queue id",
                     "incomplete queue file, its writer gone: removed",
                     "corrupt queue file"):
            self.assertIn("queue repair: ", log)
            self.assertIn(what, log)
        r = self.super("-s")			# nothing left to do
        self.assertEqual((r.returncode, r.stderr), (0, ""))

        # qmgr stopped: surelsuper repairs by itself, active/ included
        self.inst.stop()
        try:
            lost = real_qid()
            self.plant("active/" + lost, b"SUREL-QUEUE 1\nT\tx\n")
            moved = real_qid()
            self.plant("deferred/" + moved, queue_file_bytes(moved))
            r = self.super("-s")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("surelsuper: warning: active/%s: corrupt queue "
                          "file" % lost, r.stderr)
            self.assertIn("moved to corrupt/%s\n" % lost, r.stderr)
            self.assertIn("surelsuper: warning: deferred/%s: in the wrong "
                          "deferred/ subdirectory: moved to deferred/%s/%s\n"
                          % (moved, moved[14], moved), r.stderr)
            self.assertIn("surelsuper: Repaired: 2 problems", r.stderr)
            r = self.super("-d", moved)		# no qmgr to ask
            self.assertEqual(r.returncode, 1)
            self.assertIn("cannot reach qmgr", r.stderr)
        finally:
            self.inst.start()
        self.assertEqual(self.where(lost), ["corrupt"])
        r = self.super("-d", "ALL")
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    import unittest
    unittest.main()
