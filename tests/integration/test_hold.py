"""The hold/ queue and surelsuper -h/-H: a HOLD verdict of an access
table puts the message in hold/ (the client gets 250, nothing is
delivered); surelsuper -H releases it and it is delivered at once, not
held again; surelsuper -h holds deferred mail, which is then not retried;
the ALL and "-" (standard input) forms; bad queue ids are errors and
qmgr survives them; qmgr killed during a hold or release round loses no
message (each file is in exactly one queue directory).

The relayhost is a port nobody listens on (a dead destination), with
short back-offs, so deferred mail is retried every second or two.
Every wait is bounded; what a test starts it stops."""

import os
import re
import signal
import socket
import subprocess
import time
import unittest

from instance import BIN_DIR, IS_ROOT, free_port, new_marker, wait_until
from smtp_peer import ScriptedPeer, new_qid
from test_relay import SENDER, RelayCase, sender_instance
from test_schedule import messages_with, write_queue_file

HELD_SENDER = "held@remote.example"
QUEUES = ("incoming", "active", "deferred", "hold", "corrupt")


def proc_gone(pid):
    """pid has exited (gone, or a zombie its parent has not reaped)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


class HoldCase(RelayCase):
    """What both classes use."""


    def super(self, *args, stdin=None, preexec=None):
        return subprocess.run(
            [os.path.join(BIN_DIR, "surelsuper"), "-c", self.inst.etc]
            + list(args), input=stdin, capture_output=True, text=True,
            timeout=60, env=self.inst.env(), preexec_fn=preexec)

    def where(self, qid):
        """The queue directories that hold qid."""
        return [q for q in QUEUES
                if any(os.path.basename(p) == qid
                       for p in self.inst.queue_files(q))]

    def ids_in(self, queue):
        return {os.path.basename(p) for p in self.inst.queue_files(queue)}

    def attempts(self, qid):
        return len(re.findall(r"%s: to=<[^>]*>, relay=" % qid,
                              self.inst.log()))

    def send_remote(self, n=1):
        """n messages to the dead destination, each waited for in
        deferred/; their queue ids."""
        ids = []
        for _ in range(n):
            code, text, qid = self.inst.send("someone@remote.test",
                                             sender=SENDER,
                                             marker=new_marker())
            self.assertEqual(code, 250, text)
            ids.append(qid)
        for qid in ids:
            self.assertTrue(wait_until(lambda: self.attempts(qid) >= 1, 20),
                            self.inst.diagnostics())
        return ids

    def qmgr_pid(self):
        pids = self.inst.processes("qmgr")
        self.assertEqual(len(pids), 1)
        return pids[0]



class Hold(HoldCase):
    """A dead relayhost; HELD_SENDER's mail gets a HOLD verdict."""

    @classmethod
    def setUpClass(cls):
        cls.dead_port = free_port()
        cls.set_up_instance(lambda: sender_instance(
            cls.dead_port, mynetworks="127.0.0.1/32",
            minimal_backoff_time="1s", maximal_backoff_time="1s",
            queue_run_delay="1s",
            smtpd_sender_restrictions=(
                "check_sender_access inline:{ %s=HOLD }" % HELD_SENDER)))

    def test_hold_verdict_then_release(self):
        marker = new_marker("held")
        code, text, qid = self.inst.send("me@local.test", sender=HELD_SENDER,
                                         marker=marker)
        self.assertEqual(code, 250, text)
        self.assertTrue(wait_until(lambda: self.where(qid) == ["hold"], 20),
                        self.where(qid))
        self.inst.wait_log(r"%s: placed on hold" % qid)
        time.sleep(2.5)		# a few queue runs: never taken
        self.assertEqual(self.where(qid), ["hold"])
        self.assertEqual(self.inst.count_marker(marker), 0)
        self.assertNotIn("%s: from=<%s>" % (qid, HELD_SENDER),
                         self.inst.log())
        # -h on it again: nothing to do, not an error
        r = self.super("-h", qid)
        self.assertEqual((r.returncode, r.stderr), (0, ""))

        r = self.super("-H", qid)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "surelsuper: Released from hold: 1 "
                         "message\n")
        self.inst.find_message("me@local.test", marker)
        self.inst.wait_log(r"%s: released from hold" % qid)
        self.inst.wait_log(r"%s: removed" % qid)
        self.assertEqual(self.where(qid), [])
        self.assertEqual(self.inst.count_marker(marker), 1)

    def test_hold_deferred_then_release(self):
        qid, = self.send_remote()
        self.assertTrue(wait_until(lambda: self.attempts(qid) >= 2, 20))
        r = self.super("-h", qid)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "surelsuper: Placed on hold: 1 message\n")
        self.assertTrue(wait_until(lambda: self.where(qid) == ["hold"], 10),
                        self.where(qid))
        before = self.attempts(qid)
        time.sleep(3)		# retries every second otherwise
        self.assertEqual(self.attempts(qid), before)
        self.assertEqual(self.where(qid), ["hold"])

        r = self.super("-H", qid)
        self.assertEqual((r.returncode, r.stderr), (
            0, "surelsuper: Released from hold: 1 message\n"))
        self.assertTrue(wait_until(lambda: self.attempts(qid) > before, 10))
        # still a dead destination: back in deferred/, retried
        self.assertTrue(wait_until(lambda: self.where(qid) == ["deferred"],
                                   10), self.where(qid))
        r = self.super("-H", qid)	# not held: nothing to do
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.super("-h", qid)		# out of the other tests' way

    def test_all_and_stdin(self):
        ids = self.send_remote(3)
        r = self.super("-h", "ALL")
        self.assertEqual(r.returncode, 0, r.stderr)
        n = int(re.match(r"surelsuper: Placed on hold: (\d+) messages?\n$",
                         r.stderr).group(1))
        self.assertGreaterEqual(n, 3)
        self.assertTrue(wait_until(
            lambda: set(ids) <= self.ids_in("hold"), 10))
        self.assertEqual(self.ids_in("deferred") & set(ids), set())
        self.assertFalse(self.ids_in("deferred"))

        r = self.super("-H", "-", stdin="%s\n\n  %s  \n" % (ids[0], ids[1]))
        self.assertEqual((r.returncode, r.stderr), (
            0, "surelsuper: Released from hold: 2 messages\n"))
        self.assertTrue(wait_until(
            lambda: self.where(ids[0]) == ["deferred"] and
            self.where(ids[1]) == ["deferred"], 10))
        self.assertEqual(self.where(ids[2]), ["hold"])

        # -h and -H in one command, in command-line order
        r = self.super("-h", ids[0], "-H", ids[2])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "surelsuper: Placed on hold: 1 message\n"
                         "surelsuper: Released from hold: 1 message\n")
        self.assertTrue(wait_until(lambda: self.where(ids[0]) == ["hold"],
                                   10))
        held = len(self.ids_in("hold"))
        r = self.super("-H", "ALL")
        self.assertEqual((r.returncode, r.stderr), (
            0, "surelsuper: Released from hold: %d message%s\n"
            % (held, "" if held == 1 else "s")))
        self.assertFalse(self.ids_in("hold"))
        self.super("-h", "ALL")

    def test_bad_ids(self):
        pid = self.qmgr_pid()
        missing = new_qid()
        cases = [
            (["-h", "../../etc/passwd"], r'invalid queue id: "\.\./\.\./etc/'
             r'passwd"'),
            (["-H", "0123456789ABCDE/12"], r"invalid queue id"),
            (["-h", "0123456789ABCDE.."], r"invalid queue id"),
            (["-h", "0123456789ABCDEF" * 4], r"invalid queue id"),
            (["-h", "all"], r'invalid queue id: "all"'),
            (["-h", "a\x01b"], r'invalid queue id: "a\\001b"'),
            (["-h", missing], r"%s: no such queue file" % missing),
            (["-H", missing], r"%s: no such queue file" % missing),
        ]
        for args, regex in cases:
            r = self.super(*args)
            self.assertEqual(r.returncode, 1, (args, r.stderr))
            self.assertRegex(r.stderr, regex)
        r = self.super("-h", "-", stdin="ALL\n%s\n%s\n" % ("A" * 5000, "x/y"))
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stderr.splitlines()), 3, r.stderr)
        self.assertIn("line too long", r.stderr)
        for args in (["-x", "1"], ["-h"], [], ["-h", missing, "extra"]):
            self.assertEqual(self.super(*args).returncode, 2, args)

        # the socket itself: bad requests answered, never obeyed
        path = os.path.join(self.inst.queue, "private", "qmgr-super")
        for req in (b"hold ../x\n", b"purge ALL\n", b"hold\n",
                    b"hold " + b"A" * 300 + b"\n", b"\x00\xff\n"):
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(10)
                s.connect(path)
                s.sendall(req)
                try:
                    reply = s.recv(512)
                except ConnectionResetError:	# closed with input unread
                    reply = b""
            self.assertTrue(reply == b"" or reply.startswith(b"error "),
                            (req, reply))
        self.assertEqual(self.qmgr_pid(), pid)

    @unittest.skipUnless(IS_ROOT, "needs root to run as another user")
    def test_other_users_refused(self):
        qid, = self.send_remote()
        r = self.super("-h", qid, preexec=lambda: os.setuid(65534))
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot reach qmgr", r.stderr)
        self.assertNotIn("hold", self.where(qid))

        # qmgr's own check: the socket opened up, another uid is refused
        private = os.path.join(self.inst.queue, "private")
        sock = os.path.join(private, "qmgr-super")
        modes = os.stat(private).st_mode & 0o777, os.stat(sock).st_mode & 0o777
        client = ("import socket\n"
                  "s = socket.socket(socket.AF_UNIX)\n"
                  "s.settimeout(10)\n"
                  "s.connect(%r)\n"
                  # qmgr may refuse and close before the request is
                  # written: the reply is what counts.
                  "try:\n"
                  "    s.sendall(b'hold %s\\n')\n"
                  "except (BrokenPipeError, ConnectionResetError):\n"
                  "    pass\n"
                  "print(s.recv(512).decode())\n" % (sock, qid))
        try:
            os.chmod(private, 0o711)
            os.chmod(sock, 0o666)
            out = subprocess.run(["python3", "-c", client],
                                 capture_output=True, text=True, timeout=30,
                                 preexec_fn=lambda: os.setuid(65534))
        finally:
            os.chmod(private, modes[0])
            os.chmod(sock, modes[1])
        self.assertEqual(out.stdout, "error permission denied\n\n",
                         out.stderr)
        self.assertNotIn("hold", self.where(qid))
        self.inst.wait_log(r"surelsuper request from uid 65534 refused")
        self.super("-h", qid)

    def test_crash_during_rounds_loses_nothing(self):
        ids = set()
        for _ in range(300):
            qid = new_qid()
            write_queue_file(self.inst, SENDER, "someone@remote.test",
                             "Subject: crash\n\ncrash\n", qid=qid)
            ids.add(qid)
        for op in ("-h", "-H", "-h"):
            pid = self.qmgr_pid()
            proc = subprocess.Popen(
                [os.path.join(BIN_DIR, "surelsuper"), "-c", self.inst.etc,
                 op, "ALL"], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, env=self.inst.env())
            time.sleep(0.15)
            # master stopped meanwhile: no new qmgr moves files while the
            # directories are listed one after the other
            os.kill(self.inst.proc.pid, signal.SIGSTOP)
            try:
                os.kill(pid, signal.SIGKILL)
                self.assertTrue(wait_until(lambda: proc_gone(pid), 10))
                found = {}
                for q in QUEUES:
                    for name in self.ids_in(q) & ids:
                        found.setdefault(name, []).append(q)
            finally:
                os.kill(self.inst.proc.pid, signal.SIGCONT)
            proc.wait(timeout=60)
            self.assertEqual(set(found), ids, "lost: %s" % (ids - set(found)))
            self.assertEqual([k for k, v in found.items() if len(v) > 1], [])
            self.assertTrue(wait_until(
                lambda: self.inst.processes("qmgr") not in ([], [pid]), 30),
                self.inst.diagnostics())
            # the new qmgr answers (the socket file alone may be stale)
            self.assertTrue(wait_until(lambda: "no such queue file" in
                                       self.super("-H", new_qid()).stderr,
                                       10))
            self.assertFalse(self.ids_in("corrupt") & ids)
        # and once qmgr is back, everything can be held and released
        time.sleep(1)
        r = self.super("-h", "ALL")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(wait_until(lambda: ids <= self.ids_in("hold"), 30),
                        len(ids - self.ids_in("hold")))


class HoldInFlight(HoldCase):
    """A message is held while its delivery is in flight (the peer waits
    before answering the end of the data): it stays in active/ until the
    answer, then goes to hold/; released, it is delivered."""

    @classmethod
    def setUpClass(cls):
        cls.peer = ScriptedPeer(concurrent=True, dot_delay=2,
                                dot="451 4.3.0 try again later")
        cls.set_up_instance(lambda: sender_instance(
            cls.peer.port, mynetworks="127.0.0.1/32",
            minimal_backoff_time="60s", maximal_backoff_time="60s",
            queue_run_delay="60s"))

    def test_hold_in_flight(self):
        marker = new_marker("flight")
        code, text, qid = self.inst.send("x@remote.test", sender=SENDER,
                                         marker=marker)
        self.assertEqual(code, 250, text)
        self.assertTrue(wait_until(lambda: any(
            marker in sess["raw"].decode("utf-8", "replace")
            for sess in list(self.peer.sessions)), 20))
        r = self.super("-h", qid)
        self.assertEqual((r.returncode, r.stderr), (
            0, "surelsuper: Placed on hold: 1 message\n"))
        # not moved from under the smtp agent
        self.assertEqual(self.where(qid), ["active"])
        self.inst.wait_log(r"%s: to=<x@remote\.test>.*status=deferred" % qid)
        self.assertTrue(wait_until(lambda: self.where(qid) == ["hold"], 10),
                        self.where(qid))
        self.inst.wait_log(r"%s: placed on hold" % qid)

        self.peer.dot = "250 2.0.0 Ok: queued as XYZ"
        r = self.super("-H", qid)
        self.assertEqual((r.returncode, r.stderr), (
            0, "surelsuper: Released from hold: 1 message\n"))
        self.inst.wait_log(r"%s: to=<x@remote\.test>.*status=sent" % qid)
        self.inst.wait_log(r"%s: removed" % qid)
        self.assertEqual(self.where(qid), [])

    def test_hold_in_flight_survives_a_crash(self):
        """qmgr killed after it answered the hold, before the delivery
        answer: the O record makes its successor hold the message."""
        marker = new_marker("crash")
        code, text, qid = self.inst.send("y@remote.test", sender=SENDER,
                                         marker=marker)
        self.assertEqual(code, 250, text)
        self.assertTrue(wait_until(lambda: any(
            marker in sess["raw"].decode("utf-8", "replace")
            for sess in list(self.peer.sessions)), 20))
        pid = self.qmgr_pid()
        r = self.super("-h", qid)
        self.assertEqual((r.returncode, r.stderr), (
            0, "surelsuper: Placed on hold: 1 message\n"))
        os.kill(pid, signal.SIGKILL)
        self.assertEqual(self.where(qid), ["active"])
        self.assertTrue(wait_until(lambda: self.where(qid) == ["hold"], 30),
                        self.where(qid))
        sessions = len(messages_with(self.peer, marker))
        time.sleep(1)
        self.assertEqual(len(messages_with(self.peer, marker)), sessions)
        self.assertEqual(sessions, 1)


if __name__ == "__main__":
    unittest.main()
