"""Nothing is lost on the way out either: while qmgr, smtp and local are
killed with SIGKILL again and again, mail relayed to a peer arrives there
(at least once) and mail the peer refuses comes back to its sender as a
bounce (at least once: a crash may duplicate, never lose).

The peer is a scripted server (smtp_peer.py) that serves connections in
parallel, accepts ok-N@remote.test and refuses nobody-N@remote.test with
550; a third of the messages have one of each (one SMTP transaction,
one recipient bounced). Loopback only; the storm and the drain are bounded in time."""

import random
import os
import re
import threading
import time
import unittest

from instance import wait_until
from smtp_peer import ScriptedPeer
from test_relay import sender_instance

ME = "me@local.test"
MESSAGES = 240
STORM_S = 25            # seconds of sending and killing, at most
DRAIN_S = 90            # then seconds for the queue to drain
MARKER_RX = re.compile(rb"X-Marker: (out-\d+)")


def refuse_nobody(addr):
    if addr.startswith("nobody-"):
        return "550 5.1.1 <%s>: no such user here" % addr
    return "250 2.1.5 Ok"


class OutboundCrash(unittest.TestCase):

    def setUp(self):
        self.peer = ScriptedPeer(rcpt=refuse_nobody, concurrent=True)
        self.addCleanup(self.peer.stop)
        self.inst = sender_instance(self.peer.port,
                                    mynetworks="127.0.0.1/32",
                                    maximal_backoff_time="2s")
        self.addCleanup(self.inst.cleanup_or_fail)

    def storm(self, stop):
        """Kills a random qmgr, smtp or local process every 20-100 ms
        until stop is set; returns the kill count."""
        rng = random.Random(os.environ.get("SUREL_CRASH_SEED",
                                           str(time.time())))
        kills = 0
        while not stop.wait(rng.uniform(0.02, 0.1)):
            pids = self.inst.processes(rng.choice(["qmgr", "smtp", "smtp",
                                                   "local"]))
            if pids:
                try:
                    os.kill(rng.choice(pids), 9)
                    kills += 1
                except ProcessLookupError:
                    pass
        return kills

    def test_relay_and_bounces_survive_kill9(self):
        stop = threading.Event()
        kills = []
        killer = threading.Thread(target=lambda: kills.append(
            self.storm(stop)), daemon=True)
        killer.start()
        sent = {}       # marker -> "ok" or "nobody"
        deadline = time.monotonic() + STORM_S
        try:
            with self.inst.smtp() as s:
                s.ehlo("client.example")
                for i in range(MESSAGES):
                    if time.monotonic() > deadline:
                        break
                    # one refused, one accepted, or both in one message
                    kinds = [["nobody"], ["ok"], ["ok", "nobody"]][i % 3]
                    marker = "out-%05d" % i
                    rcpts = ["%s-%d@remote.test" % (k, i) for k in kinds]
                    body = ("From: <%s>\r\nTo: <%s>\r\n"
                            "Subject: outbound crash %d\r\n"
                            "X-Marker: %s\r\n\r\nmessage %d\r\n"
                            % (ME, rcpts[0], i, marker, i))
                    s.sendmail(ME, rcpts, body)
                    sent[marker] = kinds
                    time.sleep(0.03)    # deliveries overlap the kills
            time.sleep(2)       # a little more killing while it delivers
        finally:
            stop.set()
            killer.join(10)
        self.assertTrue(self.inst.running(), self.inst.diagnostics())
        self.assertGreaterEqual(len(sent), MESSAGES // 2)
        drained = wait_until(self.inst.queue_empty, DRAIN_S, 0.2)
        self.assertTrue(drained, "queue not drained\n" +
                        self.inst.diagnostics())

        arrived = set()
        for sess in list(self.peer.sessions):
            for data in sess.get("messages", []):
                arrived.update(m.decode() for m in MARKER_RX.findall(data))
        bounced = set()
        for path in self.inst.messages(ME):
            with open(path, "rb") as f:
                data = f.read()
            if b"Undelivered Mail Returned to Sender" in data or \
                    b"multipart/report" in data:
                bounced.update(m.decode() for m in MARKER_RX.findall(data))
        lost_out = sorted(m for m, k in sent.items()
                          if "ok" in k and m not in arrived)
        lost_bounce = sorted(m for m, k in sent.items()
                             if "nobody" in k and m not in bounced)
        print("\n    outbound crash: %d sent, %d kills, %d arrived, "
              "%d bounced, lost: %d relayed, %d bounces"
              % (len(sent), kills[0] if kills else -1, len(arrived),
                 len(bounced), len(lost_out), len(lost_bounce)), flush=True)
        self.assertEqual(lost_out, [], self.inst.diagnostics())
        self.assertEqual(lost_bounce, [], self.inst.diagnostics())
        # A refused recipient is never delivered, an accepted one never
        # bounced.
        self.assertFalse(any("ok" not in sent[m] for m in arrived
                             if m in sent))
        self.assertFalse(any("nobody" not in sent[m] for m in bounced
                             if m in sent))


if __name__ == "__main__":
    unittest.main()
