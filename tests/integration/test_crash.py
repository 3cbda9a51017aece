"""Crash consistency: while clients send 2,000 messages, a killer kill -9s
random smtpd, qmgr and local processes at random moments, and once the
master with all its children (the instance is then restarted on the same
directories). Every message that got a 250 must end up in its Maildir:
lost must be 0. Duplicates are allowed (a crash may deliver twice) and
reported. Bounded to about three minutes."""

import collections
import os
import random
import re
import smtplib
import threading
import time

from instance import OwnInstanceCase, wait_until, queue_id_of

MESSAGES = int(os.environ.get("SUREL_CRASH_MESSAGES", "2000"))
SENDERS = 4
SEND_DEADLINE = 150     # seconds for all messages to be accepted
DRAIN_DEADLINE = 90     # then seconds for the queue to drain
RCPTS = ["alice@example.test", "bob@example.test", "carol@example.test",
         "dave@example.org"]
MARKER_RX = re.compile(rb"^X-Marker: (crash-\S+)$", re.M)


class Crash(OwnInstanceCase):

    def test_kill9_storm_loses_nothing(self):
        inst = self.new_instance(smtpd_maxproc=20, maximal_backoff_time="2s")
        rng = random.Random(os.environ.get("SUREL_CRASH_SEED", str(time.time())))
        t0 = time.monotonic()
        deadline = t0 + SEND_DEADLINE
        accepted = {}            # marker -> recipient, once a 250 was seen
        qids = {}                # marker -> queue id from the 250
        lock = threading.Lock()
        stats = collections.Counter()
        done = threading.Event()

        def sender(tid):
            s = None
            for i in range(tid, MESSAGES, SENDERS):
                marker = "crash-%05d" % i
                rcpt = RCPTS[i % len(RCPTS)]
                msg = ("From: <load@remote.example>\r\nTo: <%s>\r\n"
                       "Subject: crash test %d\r\nMessage-ID: <%s@remote.example>\r\n"
                       "X-Marker: %s\r\n\r\nmessage %d of the crash test\r\n"
                       % (rcpt, i, marker, marker, i))
                while time.monotonic() < deadline:
                    try:
                        if s is None:
                            s = smtplib.SMTP("127.0.0.1", inst.port, timeout=10)
                            s.ehlo("load.example")
                        code, _ = s.mail("load@remote.example")
                        if code == 250:
                            code, _ = s.rcpt(rcpt)
                        if code == 250:
                            code, text = s.data(msg)
                        if code == 250:
                            with lock:
                                accepted[marker] = rcpt
                                qids[marker] = queue_id_of(text.decode("utf-8", "replace"))
                            break
                        stats["refused %d" % code] += 1
                        s.rset()
                    except (smtplib.SMTPException, OSError):
                        stats["connection lost"] += 1
                        try:
                            s.close()
                        except Exception:
                            pass
                        s = None
                        time.sleep(rng.uniform(0.02, 0.2))
            if s is not None:
                try:
                    s.quit()
                except (smtplib.SMTPException, OSError):
                    pass

        def killer():
            crashed = False
            while not done.is_set() and time.monotonic() < deadline:
                done.wait(rng.uniform(0.02, 0.15))
                if done.is_set():
                    break
                if not crashed and len(accepted) >= MESSAGES // 2:
                    crashed = True
                    inst.crash()
                    stats["kill master+children"] += 1
                    time.sleep(0.3)
                    try:
                        inst.start(timeout=60)
                    except AssertionError as e:
                        stats["restart failed"] += 1
                        print(e)
                        return
                    continue
                name = rng.choice(["smtpd", "smtpd", "qmgr", "local", "local"])
                pids = inst.processes(name)
                if pids:
                    try:
                        os.kill(rng.choice(pids), 9)
                        stats["kill " + name] += 1
                    except ProcessLookupError:
                        pass

        threads = [threading.Thread(target=sender, args=(t,), daemon=True)
                   for t in range(SENDERS)]
        kt = threading.Thread(target=killer, daemon=True)
        for t in threads:
            t.start()
        kt.start()
        for t in threads:
            t.join(max(1, deadline - time.monotonic() + 15))
        done.set()
        kt.join(70)
        t_sent = time.monotonic() - t0
        self.assertTrue(inst.running(), "instance not running after the storm\n" + inst.diagnostics())

        drained = wait_until(inst.queue_empty, DRAIN_DEADLINE, 0.2)
        t_drained = time.monotonic() - t0

        delivered = collections.Counter()
        where = {}
        for rcpt in RCPTS:
            for path in inst.messages(rcpt):
                with open(path, "rb") as f:
                    m = MARKER_RX.search(f.read(4096))
                if m:
                    marker = m.group(1).decode()
                    delivered[marker] += 1
                    where[marker] = rcpt
        lost = sorted(m for m in accepted if m not in delivered)
        misdelivered = sorted(m for m in accepted if m in where and where[m] != accepted[m])
        duplicates = sum(n - 1 for n in delivered.values() if n > 1)
        print("\n    crash: %d sent, %d accepted (250), %d delivered once or more, "
              "%d duplicates, %d lost; %s; sent in %.0fs, drained at %.0fs%s"
              % (MESSAGES, len(accepted), len(delivered), duplicates, len(lost),
                 ", ".join("%s: %d" % kv for kv in sorted(stats.items())),
                 t_sent, t_drained, "" if drained else " (NOT drained)"), flush=True)
        if lost:
            log = inst.log_lines()
            for m in lost[:5]:
                qid = qids.get(m)
                print("    lost %s (queue id %s, to %s); its log lines:" % (m, qid, accepted[m]))
                for line in log:
                    if qid and qid in line:
                        print("      " + line)
                if qid:
                    for sub in ("incoming", "active", "deferred", "corrupt", "hold"):
                        for p in inst.queue_files(sub):
                            if qid in p:
                                print("      still queued: " + p)
        self.assertEqual(lost, [], "lost %d accepted messages, e.g. %s (queue %s)"
                         % (len(lost), lost[:10], "drained" if drained else "NOT drained"))
        self.assertEqual(misdelivered, [])
        self.assertTrue(drained, "queue not drained in %ss: incoming %d, active %d, deferred %d\n%s"
                        % (DRAIN_DEADLINE, len(inst.queue_files("incoming")),
                           len(inst.queue_files("active")), len(inst.queue_files("deferred")),
                           inst.diagnostics()))
        self.assertEqual(stats["kill master+children"], 1, "the master was not crashed once")
        self.assertEqual(len(accepted), MESSAGES,
                         "only %d of %d messages accepted before the deadline"
                         % (len(accepted), MESSAGES))
