"""qmgr's routing and per-destination scheduling of outbound mail:
transport_maps (smtp:[host]:port, parent domains, the empty transport
that keeps the default, error:, retry:, discard:), relayhost for what the
table does not name, a message's recipients grouped per next hop up to
smtp_destination_recipient_limit, the agent connection (and so the SMTP
connection) reused for the same destination, the concurrency limit per
destination, fairness between a slow and a fast destination, and a dead
destination backed off as a whole, also with 10,000 messages queued for
it.

Peers are the scripted servers of smtp_peer.py on 127.0.0.1; no DNS.
Every wait is bounded; what a test starts it stops."""

import os
import re
import shutil
import tempfile
import time
import unittest

from instance import IS_ROOT, free_port, new_marker, proc_rss_kb, wait_until
from smtp_peer import ScriptedPeer, new_qid
from test_relay import SENDER, RelayCase, sender_instance


def messages_with(peer, marker):
    """(session index, transaction text) of each transaction the peer
    received whose content holds marker."""
    out = []
    for i, sess in enumerate(list(peer.sessions)):
        raw = sess["raw"].decode("utf-8", "replace")
        for txn in raw.split("MAIL FROM:")[1:]:
            if marker in txn:
                out.append((i, txn))
    return out


def rcpts_of(txn):
    return re.findall(r"RCPT TO:<([^>]*)>", txn)


def qmgr_cpu_s(inst):
    """User + system CPU seconds of inst's qmgr process."""
    pids = inst.processes("qmgr")
    if not pids:
        return None
    with open("/proc/%d/stat" % pids[0]) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class TwoPeers(RelayCase):
    """Two scripted peers: self.peer (relayhost) and self.other. The
    class's TRANSPORT lines are the transport_maps table, with %(peer)d
    and %(other)d for their ports."""

    PEER = {}
    OTHER = {}
    TRANSPORT = []
    MAIN_CF = {}
    other = None
    tmp = None

    @classmethod
    def setUpClass(cls):
        cls.peer = ScriptedPeer(**cls.PEER)
        cls.other = ScriptedPeer(**cls.OTHER)
        # Outside the instance (it does not exist yet), readable by the
        # daemons' user.
        cls.tmp = tempfile.mkdtemp(prefix="surel-transport-")
        os.chmod(cls.tmp, 0o755)
        path = os.path.join(cls.tmp, "transport")
        ports = {"peer": cls.peer.port, "other": cls.other.port}
        with open(path, "w") as f:
            f.write("".join(line % ports + "\n" for line in cls.TRANSPORT))
        try:
            cls.inst = sender_instance(cls.peer.port,
                                       mynetworks="127.0.0.1/32",
                                       transport_maps="texthash:" + path,
                                       **cls.MAIN_CF)
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.other.stop()
            shutil.rmtree(cls.tmp, ignore_errors=True)


class Routing(TwoPeers):
    """transport_maps sends a.test to the other peer, b.test and the
    subdomains of sub.test to the relayhost peer; relayhost takes the
    rest."""

    MAIN_CF = {"smtp_destination_recipient_limit": "3"}
    TRANSPORT = [
        "a.test smtp:[127.0.0.1]:%(other)d",
        "b.test smtp:[127.0.0.1]:%(peer)d",
        ".sub.test smtp:[127.0.0.1]:%(peer)d",
        "user@keep.test :[127.0.0.1]:%(other)d",
        "err.test error:5.1.2 no such domain here",
        "retry.test retry:4.2.0 come back later",
        "drop.test discard:dropped by policy",
    ]

    def send(self, rcpts):
        m = new_marker()
        code, text, qid = self.inst.send(rcpts, marker=m, sender=SENDER)
        self.assertEqual(code, 250, text)
        return m, qid

    def removed(self, qid):
        """The message left the queue (the retry: test keeps one of its
        own queued, so the queue as a whole is not empty)."""
        self.log_of(r"surel/qmgr\[\d+\]: %s: removed" % qid)

    def wait_txns(self, peer, marker, count):
        got = wait_until(lambda: len(messages_with(peer, marker)) >= count
                         and messages_with(peer, marker), 20)
        self.assertTrue(got, "peer got %d of %d transactions\n%s" % (
            len(messages_with(peer, marker)), count,
            self.inst.diagnostics()))
        return got

    def test_recipients_grouped_per_next_hop(self):
        m, qid = self.send(["x1@a.test", "x2@a.test", "x3@a.test",
                            "y1@b.test", "y2@b.test"])
        self.removed(qid)
        a = self.wait_txns(self.other, m, 1)
        b = self.wait_txns(self.peer, m, 1)
        self.assertEqual([rcpts_of(t) for _, t in a],
                         [["x1@a.test", "x2@a.test", "x3@a.test"]])
        self.assertEqual([rcpts_of(t) for _, t in b],
                         [["y1@b.test", "y2@b.test"]])
        for r in ("x1@a.test", "x3@a.test", "y2@b.test"):
            self.log_of(r"%s: to=<%s>, relay=127\.0\.0\.1.*status=sent"
                        % (qid, re.escape(r)))

    def test_recipient_limit_splits_transactions(self):
        rcpts = ["r%d@a.test" % i for i in range(5)]
        m, qid = self.send(rcpts)
        self.removed(qid)
        txns = self.wait_txns(self.other, m, 2)
        got = sorted((rcpts_of(t) for _, t in txns), key=len, reverse=True)
        self.assertEqual([len(r) for r in got], [3, 2])
        self.assertEqual(sorted(sum(got, [])), sorted(rcpts))

    def test_parent_domain_keep_and_relayhost(self):
        m, qid = self.send(["u@deep.sub.test", "user@keep.test",
                            "u@other.test"])
        self.removed(qid)
        b = self.wait_txns(self.peer, m, 1)
        self.assertEqual(sorted(sum((rcpts_of(t) for _, t in b), [])),
                         ["u@deep.sub.test", "u@other.test"])
        a = self.wait_txns(self.other, m, 1)
        self.assertEqual([rcpts_of(t) for _, t in a], [["user@keep.test"]])

    def test_error_retry_discard_answered_by_qmgr(self):
        m, qid = self.send(["u@err.test", "u@retry.test", "u@drop.test"])
        self.log_of(r"surel/qmgr\[\d+\]: %s: to=<u@err\.test>, relay=none, "
                    r".*dsn=5\.1\.2, status=bounced \(no such domain here\)"
                    % qid)
        self.log_of(r"surel/qmgr\[\d+\]: %s: to=<u@retry\.test>, "
                    r"relay=none, .*dsn=4\.2\.0, status=deferred \(come "
                    r"back later\)" % qid)
        self.log_of(r"surel/qmgr\[\d+\]: %s: to=<u@drop\.test>, relay=none,"
                    r" .*dsn=2\.0\.0, status=sent \(dropped by policy\)"
                    % qid)
        self.assertEqual(messages_with(self.peer, m), [])
        self.assertEqual(messages_with(self.other, m), [])
        # Only the retry: recipient stays queued.
        self.log_of(r"surel/qmgr\[\d+\]: %s: from=<%s>, size=\d+, nrcpt=3 "
                    r"\(queue active\)" % (qid, re.escape(SENDER)))

    def test_next_message_reuses_the_connection(self):
        """Messages one after another to one destination: the agent
        connection that served it last is preferred, and its smtp process
        still holds the SMTP connection (RSET, not a new session)."""
        markers = []
        for _ in range(4):
            m, _ = self.send(["seq@a.test"])
            self.wait_txns(self.other, m, 1)
            markers.append(m)
        sessions = {messages_with(self.other, m)[0][0] for m in markers}
        self.assertEqual(len(sessions), 1, sessions)


class Concurrency(RelayCase):
    """A slow peer (0.4 s before each 250 to the dot) that serves
    connections in parallel, and a destination limit of 3."""

    @classmethod
    def setUpClass(cls):
        cls.peer = ScriptedPeer(concurrent=True, dot_delay=0.4)
        try:
            cls.inst = sender_instance(
                cls.peer.port, mynetworks="127.0.0.1/32",
                smtp_destination_concurrency_limit="3")
        except Exception:
            cls.peer.stop()
            raise

    def test_limit_holds_and_is_used(self):
        markers = []
        for _ in range(15):
            m = new_marker()
            code, text, _ = self.inst.send("c@slow.test", marker=m,
                                           sender=SENDER)
            self.assertEqual(code, 250, text)
            markers.append(m)
        self.queue_empty()
        for m in markers:
            self.assertEqual(len(messages_with(self.peer, m)), 1, m)
        self.assertLessEqual(self.peer.max_active, 3)
        self.assertGreaterEqual(self.peer.max_active, 2,
                                "deliveries never overlapped")


class Fairness(TwoPeers):
    """A slow destination (the relayhost peer) with many messages does not
    hold up a fast one: it takes at most its concurrency limit of agent
    connections."""

    PEER = {"concurrent": True, "dot_delay": 1.0}
    OTHER = {"concurrent": True}
    MAIN_CF = {"smtp_destination_concurrency_limit": "2"}
    TRANSPORT = ["fast.test smtp:[127.0.0.1]:%(other)d"]

    def test_fast_destination_not_starved(self):
        slow = new_marker()
        with self.inst.smtp() as s:
            s.ehlo("client.example")
            for i in range(12):
                s.sendmail(SENDER, ["s%d@slow.test" % i],
                           "Subject: slow\n\n%s\n" % slow)
        t0 = time.monotonic()
        fast = new_marker()
        for i in range(3):
            code, text, _ = self.inst.send("f%d@fast.test" % i,
                                           marker=fast, sender=SENDER)
            self.assertEqual(code, 250, text)
        got = wait_until(lambda: len(messages_with(self.other, fast)) == 3,
                         20)
        fast_s = time.monotonic() - t0
        self.assertTrue(got, self.inst.diagnostics())
        # 12 slow messages at 2 at a time take 6 s at least; the fast
        # ones do not wait behind them (the margin is for a slow,
        # sanitized agent's start).
        self.assertLess(fast_s, 4.0)
        self.assertLess(len(messages_with(self.peer, slow)), 12)
        self.queue_empty()
        self.assertEqual(len(messages_with(self.peer, slow)), 12)
        self.assertLessEqual(self.peer.max_active, 2)


def write_queue_file(inst, sender, rcpt, body, attrs=(), qid=None):
    """A complete queue file (lib/queue_file.h's format) in incoming/, as
    smtpd leaves one: body (str or bytes; CRLF made LF) and envelope
    attributes [(name, value)]."""
    content = body if isinstance(body, bytes) else body.encode()
    content = content.replace(b"\r\n", b"\n")
    data = b"".join(
        [b"SUREL-QUEUE 1\n", b"T\t%d\n" % (time.time_ns() // 1000),
         b"S\t" + sender.encode() + b"\n"]
        + [b"A\t%s\t%s\n" % (k.encode(), v.encode()) for k, v in attrs]
        + [b"R\tP\t-\t-\t-\t" + rcpt.encode() + b"\n",
           b"C\t%020d\n" % len(content), content, b"E\n"])
    path = os.path.join(inst.queue, "incoming", qid or new_qid())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700)
    try:
        os.write(fd, data)
        os.fchmod(fd, 0o700)
        if IS_ROOT:
            os.fchown(fd, inst.owner.pw_uid, inst.owner.pw_gid)
    finally:
        os.close(fd)


class DeadDestination(RelayCase):
    """relayhost is a port nobody listens on."""

    @classmethod
    def setUpClass(cls):
        cls.dead_port = free_port()
        cls.inst = sender_instance(cls.dead_port, mynetworks="127.0.0.1/32",
                                   minimal_backoff_time="900s",
                                   maximal_backoff_time="1800s",
                                   queue_run_delay="900s")

    def deferred_count(self):
        return len(self.inst.queue_files("deferred"))

    def test_a_dead_destination_is_backed_off_as_a_whole(self):
        for _ in range(20):
            code, text, _ = self.inst.send("d@dead.test", marker=new_marker(),
                                           sender=SENDER)
            self.assertEqual(code, 250, text)
        self.assertTrue(wait_until(lambda: self.deferred_count() >= 20, 30),
                        self.inst.diagnostics())
        log = self.inst.log()
        self.assertEqual(len(re.findall(r"\[127\.0\.0\.1\]:%d: destination down"
                                        % self.dead_port, log)), 1, log)
        self.assertGreaterEqual(len(re.findall(
            r"to=<d@dead\.test>, relay=none, .*status=deferred \(delivery "
            r"temporarily suspended: ", log)), 1, log)
        # At most the initial window of requests reached the agent.
        self.assertLessEqual(len(re.findall(r"surel/smtp\[\d+\]: \w+: "
                                            r"to=<d@dead\.test>", log)), 5)

        # 10,000 more (written straight into incoming/, as smtpd would
        # leave them): deferred at once without a connection attempt;
        # then qmgr sits idle and its memory stays bounded.
        before = len(re.findall(r"surel/smtp\[\d+\]: \w+: to=<d@dead",
                                self.inst.log()))
        for _ in range(10000):
            write_queue_file(self.inst, SENDER, "d@dead.test",
                             "Subject: bulk\n\nbulk\n")
        with self.inst.smtp() as s:     # a wakeup: the scan of incoming/
            s.ehlo("client.example")
            s.sendmail(SENDER, ["d@dead.test"], "Subject: x\n\nx\n")
        self.assertTrue(wait_until(lambda: self.deferred_count() >= 10021,
                                   120), "deferred: %d\n%s" % (
                                       self.deferred_count(),
                                       self.inst.diagnostics()))
        after = len(re.findall(r"surel/smtp\[\d+\]: \w+: to=<d@dead",
                               self.inst.log()))
        self.assertEqual(after, before, "the agent was asked again")
        time.sleep(0.5)
        cpu0 = qmgr_cpu_s(self.inst)
        time.sleep(3)
        cpu1 = qmgr_cpu_s(self.inst)
        self.assertLess(cpu1 - cpu0, 0.3, "qmgr busy while idle")
        rss = proc_rss_kb(self.inst.processes("qmgr")[0])
        limit = 200000 if os.environ.get("SUREL_TEST_SANITIZED") else 60000
        self.assertLess(rss, limit, "qmgr RSS %d KiB" % rss)


class Revival(RelayCase):
    """A dead destination that comes back gets its deferred mail once its
    back-off (minimal_backoff_time, 1 s here) is over."""

    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        cls.inst = sender_instance(cls.port, mynetworks="127.0.0.1/32")

    def test_back_after_the_backoff(self):
        markers = [new_marker() for _ in range(6)]
        for m in markers:
            code, text, _ = self.inst.send("r@back.test", marker=m,
                                           sender=SENDER)
            self.assertEqual(code, 250, text)
        self.log_of(r"\[127\.0\.0\.1\]:%d: destination down for 1 s"
                    % self.port)
        # tearDownClass stops it
        type(self).peer = ScriptedPeer(port=self.port, concurrent=True)
        self.queue_empty()
        for m in markers:
            self.assertEqual(len(messages_with(self.peer, m)), 1, m)


if __name__ == "__main__":
    unittest.main()
