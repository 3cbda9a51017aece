"""surelqueue (-p, -j, -S, the mailq name) and surelcat (-e, -h, -b) on a
running instance: mail deferred to a dead relayhost, one message held by
a HOLD verdict, one in active/ (planted while qmgr is stopped with
SIGSTOP, so qmgr cannot take it), one with UTF-8 addresses in hold/.

The expected facts come from the queue files themselves, read here with
an independent parser of lib/queue_file.h's format; -p is checked field
by field, -j is parsed with json and compared with -p. Corrupt files
(truncated copies) give an error naming what is wrong; bad ids are
refused with sysexits statuses; a user other than root and mail_owner
gets "permission denied". Every wait is bounded; what a test starts it
stops (qmgr is always continued)."""

import json
import os
import re
import signal
import shutil
import subprocess
import tempfile
import time
import unittest

from instance import BIN_DIR, IS_ROOT, free_port, new_marker, wait_until
from smtp_peer import new_qid
from test_relay import SENDER, RelayCase, sender_instance

HELD_SENDER = "held@remote.example"
EX_USAGE, EX_NOINPUT, EX_NOPERM = 64, 66, 77
HEADER = ("-Queue ID-  --Size-- ----Arrival Time---- "
          "-Sender/Recipient-------")


def parse_queue_file(data):
    """(arrival_us, sender, [(address, pending, reason)], content) of a
    queue file; the reason is the last L record's diag (else status)."""
    pos, rcpts = 0, []
    lines = []
    while True:
        nl = data.index(b"\n", pos)
        line = data[pos:nl].decode()
        pos = nl + 1
        if line.startswith("C\t"):
            break
        lines.append(line)
    size = int(line[2:])
    content = data[pos:pos + size]
    rest = data[pos + size:].decode().split("\n")
    arrival = int(lines[1].split("\t")[1])
    sender = lines[2].split("\t", 1)[1]
    for line in lines[3:]:
        f = line.split("\t")
        if f[0] == "R":
            rcpts.append([f[5], f[1] == "P", ""])
    for line in rest[rest.index("E") + 1:]:
        f = line.split("\t")
        if f[0] == "L" and len(f) == 7:
            diag = f[6] if f[6] != "-" else ""
            rcpts[int(f[1])][2] = diag or f[2]
    return arrival, sender, rcpts, content


def mailq_entries(text):
    """{id: (mark, size, date, sender, [(reason, address)])} of -p."""
    lines = text.split("\n")
    entries, i = {}, 1
    while i < len(lines) and lines[i] and not lines[i].startswith("-- "):
        m = re.match(r"^([0-9A-F]+)([*! ]) *(\d+) (.{20}) (.*)$", lines[i])
        assert m, lines[i]
        rcpts, reason, i = [], "", i + 1
        while lines[i]:
            if lines[i].startswith("("):
                reason = lines[i][1:-1]
            else:
                assert lines[i].startswith(" " * 41), lines[i]
                rcpts.append((reason, lines[i][41:]))
            i += 1
        entries[m.group(1)] = (m.group(2), int(m.group(3)), m.group(4),
                               m.group(5), rcpts)
        i += 1
    return entries


class SurelQueue(RelayCase):
    """A dead relayhost, long back-offs (deferred mail stays put), a HOLD
    verdict for HELD_SENDER."""

    @classmethod
    def setUpClass(cls):
        cls.dead_port = free_port()
        cls.set_up_instance(lambda: sender_instance(
            cls.dead_port, mynetworks="127.0.0.1/32",
            minimal_backoff_time="900s", maximal_backoff_time="1800s",
            queue_run_delay="900s",
            smtpd_sender_restrictions=(
                "check_sender_access inline:{ %s=HOLD }" % HELD_SENDER)))
        cls.deferred = []
        for rcpts in (["a@dead.test", "b@dead.test", "c@other.test"],
                      ["d@dead.test"]):
            code, text, qid = cls.inst.send(rcpts, sender=SENDER,
                                            marker=new_marker())
            assert code == 250, text
            cls.deferred.append(qid)
        code, text, cls.held = cls.inst.send(
            "me@local.test", sender=HELD_SENDER, marker=new_marker())
        assert code == 250, text
        ok = wait_until(lambda: all(
            re.search(r"%s: to=<[^>]*>, relay=.*status=deferred" % q,
                      cls.inst.log()) for q in cls.deferred)
            and os.path.exists(cls.path("hold", cls.held))
            and all(os.path.exists(cls.path("deferred", q))
                    for q in cls.deferred), 30)
        assert ok, cls.inst.diagnostics()

    @classmethod
    def path(cls, queue, qid):
        if queue == "deferred":
            return os.path.join(cls.inst.queue, queue, qid[14], qid)
        return os.path.join(cls.inst.queue, queue, qid)

    def run_cmd(self, prog, *args, argv0=None, preexec=None):
        exe = os.path.join(BIN_DIR, prog)
        return subprocess.run(
            [argv0 or exe, "-c", self.inst.etc] + list(args),
            executable=exe, capture_output=True, timeout=60,
            env=self.inst.env(), preexec_fn=preexec)

    def plant(self, queue, data, qid=None, mode=0o700):
        """A file in queue/ owned by mail_owner; its id (removed by
        cleanup)."""
        qid = qid or new_qid()
        p = self.path(queue, qid)
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, mode)
        if IS_ROOT:
            os.chown(p, self.inst.owner.pw_uid, self.inst.owner.pw_gid)
        self.addCleanup(lambda: os.path.exists(p) and os.unlink(p))
        return qid

    def read(self, queue, qid):
        with open(self.path(queue, qid), "rb") as f:
            return f.read()

    def utf8_file(self):
        body = b"Subject: utf8\n\nbody\n"
        return (b"SUREL-QUEUE 1\nT\t%d\nS\t\xc3\xa9ric@d\xc3\xa9j\xc3\xa0.test\n"
                b"A\tsmtputf8\tyes\nR\tP\t-\t-\t-\t\"q\\\"t\"@\xe2\x82\xac.test\n"
                b"C\t%020d\n%sE\n" % (time.time_ns() // 1000, len(body), body))

    def stopped_qmgr(self):
        """qmgr stopped (SIGSTOP) until the test's cleanup continues it."""
        pids = self.inst.processes("qmgr")
        self.assertEqual(len(pids), 1)
        os.kill(pids[0], signal.SIGSTOP)
        self.addCleanup(os.kill, pids[0], signal.SIGCONT)

    def expected(self, queue, qid):
        arrival, sender, rcpts, content = parse_queue_file(
            self.read(queue, qid))
        return arrival, sender, rcpts, content

    # ---------------------------------------------------------- tests

    def test_p_and_j_carry_the_queue_facts(self):
        self.stopped_qmgr()
        # active/ only holds what qmgr has in memory: planted with qmgr
        # stopped, removed before it continues (cleanups run LIFO).
        active = self.plant("active", self.read("deferred", self.deferred[1]))
        utf8 = self.plant("hold", self.utf8_file())
        where = {q: "deferred" for q in self.deferred}
        where.update({self.held: "hold", active: "active", utf8: "hold"})

        r = self.run_cmd("surelqueue", "-p")
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        out = r.stdout.decode()
        self.assertTrue(out.startswith(HEADER + "\n"), out)
        entries = mailq_entries(out)
        self.assertEqual(set(entries), set(where))
        total = 0
        for qid, queue in where.items():
            arrival, sender, rcpts, content = self.expected(queue, qid)
            mark, size, date, shown_sender, shown_rcpts = entries[qid]
            self.assertEqual(mark, {"active": "*", "hold": "!"}.get(queue,
                                                                   " "))
            self.assertEqual(size, len(content))
            self.assertEqual(date, time.strftime(
                "%a %b %e %H:%M:%S ", time.localtime(arrival // 10**6)))
            self.assertEqual(shown_sender, sender or "MAILER-DAEMON")
            self.assertEqual(shown_rcpts, [(reason, addr)
                                           for addr, pending, reason in rcpts
                                           if pending])
            total += size
        # deferred mail has a reason: the dead relay's
        for qid in self.deferred:
            for reason, _ in entries[qid][4]:
                self.assertIn("127.0.0.1", reason)
        self.assertEqual(entries[self.held][4], [("", "me@local.test")])
        self.assertTrue(out.endswith(
            "\n-- %d Kbytes in %d Requests.\n" % ((total + 1023) // 1024,
                                                   len(where))), out)

        r = self.run_cmd("surelqueue", "-j")
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        objs = [json.loads(line) for line in r.stdout.decode().splitlines()]
        self.assertEqual(sorted(o["queue_id"] for o in objs), sorted(where))
        for o in objs:
            qid = o["queue_id"]
            mark, size, date, sender, rcpts = entries[qid]
            arrival = self.expected(where[qid], qid)[0]
            self.assertEqual(o["queue_name"], where[qid])
            self.assertEqual(o["arrival_time"], arrival // 10**6)
            self.assertEqual(o["message_size"], size)
            self.assertIs(o["forced_expire"], False)
            self.assertEqual(o["sender"] or "MAILER-DAEMON",
                             sender if qid != utf8 else "éric@déjà.test")
            self.assertEqual([(x.get("delay_reason", ""), x["address"])
                              for x in o["recipients"]],
                             rcpts if qid != utf8 else [("", '"q\\"t"@€.test')])
        # the UTF-8 one: raw UTF-8 in -p too, escaped quotes in JSON
        self.assertEqual(entries[utf8][3], "éric@déjà.test")
        self.assertIn('"address":"\\"q\\\\\\"t\\"@€.test"', r.stdout.decode())

    def test_mailq_name(self):
        d = tempfile.mkdtemp(prefix="surel-mailq-")
        self.addCleanup(shutil.rmtree, d)
        link = os.path.join(d, "mailq")
        os.symlink(os.path.join(BIN_DIR, "surelqueue"), link)
        r = subprocess.run([link, "-c", self.inst.etc], capture_output=True,
                           timeout=60, env=self.inst.env())
        p = self.run_cmd("surelqueue", "-p")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(set(mailq_entries(r.stdout.decode())),
                         set(mailq_entries(p.stdout.decode())))
        self.assertIn(b"Requests.", r.stdout)

    def test_summary_counts(self):
        self.stopped_qmgr()
        corrupt = self.plant("corrupt", b"SUREL-QUEUE 1\nT\t1\n")
        self.assertTrue(corrupt)
        r = self.run_cmd("surelqueue", "-S")
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        out = r.stdout.decode()
        counts = dict(re.findall(r"^(\w+) +(\d+)  ", out, re.M))
        for q in ("maildrop", "incoming", "active", "deferred", "hold",
                  "corrupt"):
            want = len([p for p in self.inst.queue_files(q)
                        if q != "incoming" or os.stat(p).st_mode & 0o100])
            self.assertEqual(int(counts[q]), want, (q, out))
        self.assertEqual(int(counts["deferred"]), 2)
        self.assertEqual(int(counts["corrupt"]), 1)
        self.assertEqual(int(counts["hold"]), 1)
        self.assertRegex(out, r"(?m)^hold +1  \d+[smhd]")
        self.assertRegex(out, r"(?m)^active +0  -$")
        top = re.findall(r"(?m)^ +(\d+)  (\S+)$", out.split(
            "Top deferred destinations:\n")[1])
        self.assertEqual(top, [("3", "dead.test"), ("1", "other.test")])

    def test_surelcat_flags(self):
        qid = self.deferred[0]
        _, _, _, content = self.expected("deferred", qid)
        header, body = content.split(b"\n\n", 1)
        r = self.run_cmd("surelcat", "-h", qid)
        self.assertEqual((r.returncode, r.stdout), (0, header + b"\n"))
        r = self.run_cmd("surelcat", "-b", qid)
        self.assertEqual((r.returncode, r.stdout), (0, body))
        r = self.run_cmd("surelcat", "-h", "-b", qid)
        self.assertEqual((r.returncode, r.stdout), (0, content))
        r = self.run_cmd("surelcat", "-e", qid)
        out = r.stdout.decode()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(out.startswith(
            "*** ENVELOPE RECORDS deferred/%s ***\n" % qid), out)
        self.assertIn("\nsender: %s\n" % SENDER, out)
        self.assertIn("\nmessage_size: %d\n" % len(content), out)
        for a in ("a@dead.test", "b@dead.test", "c@other.test"):
            self.assertIn("\nrecipient (pending): %s\n" % a, out)
        self.assertIn("  delayed: 4.", out)
        self.assertNotIn("MESSAGE CONTENTS", out)
        r = self.run_cmd("surelcat", qid)
        self.assertEqual(r.returncode, 0, r.stderr)
        marks = re.findall(rb"\*\*\* ([A-Z ]+) deferred/%s \*\*\*\n"
                           % qid.encode(), r.stdout)
        self.assertEqual(marks, [b"ENVELOPE RECORDS", b"MESSAGE CONTENTS",
                                 b"MESSAGE FILE END"])
        self.assertIn(b"CONTENTS deferred/%s ***\n%s*** MESSAGE FILE END"
                      % (qid.encode(), content), r.stdout)
        # the held one is found in hold/
        r = self.run_cmd("surelcat", "-e", self.held)
        self.assertIn(b"ENVELOPE RECORDS hold/%s" % self.held.encode(),
                      r.stdout)

    def test_corrupt_files(self):
        self.stopped_qmgr()
        data = self.read("deferred", self.deferred[0])
        # cut inside the content (a cut in the status records after "E"
        # is a torn last record: ignored, the file is fine)
        cut = data[:data.index(b"\nHello from")]
        bad = {
            "queue file truncated": cut,
            "bad magic": b"NOT A QUEUE FILE\n",
            "truncated envelope": data[:30],
        }
        for why, blob in bad.items():
            qid = self.plant("corrupt", blob)
            r = self.run_cmd("surelcat", qid)
            self.assertEqual(r.returncode, 1, r)
            self.assertEqual(r.stderr.decode(), "surelcat: corrupt/%s: "
                             "corrupt queue file: %s\n" % (qid, why))
            self.assertEqual(r.stdout, b"")
        # a truncated file in deferred/: a warning, the rest is listed
        qid = self.plant("deferred", cut)
        r = self.run_cmd("surelqueue", "-p")
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stderr.decode(), "surelqueue: warning: "
                         "deferred/%s: queue file truncated\n" % qid)
        self.assertEqual(set(mailq_entries(r.stdout.decode())),
                         set(self.deferred) | {self.held})
        r = self.run_cmd("surelqueue", "-j")
        self.assertEqual(r.returncode, 0)
        self.assertEqual(len(r.stdout.decode().splitlines()), 3)
        # being received (incoming/, mode 0600): not listed, not corrupt
        os.unlink(self.path("deferred", qid))
        qid = self.plant("incoming", data[:100], mode=0o600)
        r = self.run_cmd("surelqueue", "-p")
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        self.assertNotIn(qid.encode(), r.stdout)
        r = self.run_cmd("surelcat", qid)
        self.assertEqual(r.returncode, 75)
        self.assertEqual(r.stderr.decode(), "surelcat: incoming/%s: still "
                         "being received, not queued yet\n" % qid)

    def test_bad_ids(self):
        cases = {"": EX_USAGE, "../../etc/passwd": EX_USAGE,
                 "AB/CD": EX_USAGE, "ABCDEF0123456789..": EX_USAGE,
                 "A" * 5000: EX_USAGE, "notanid": EX_USAGE,
                 "0123456789ABCDEF0": EX_NOINPUT}
        for qid, status in cases.items():
            r = self.run_cmd("surelcat", qid)
            self.assertEqual(r.returncode, status, (qid[:40], r.stderr))
            self.assertEqual(r.stdout, b"")
            self.assertRegex(r.stderr.decode(),
                             r"^surelcat: (invalid queue id|"
                             r"0123456789ABCDEF0: no such queue file)")
            self.assertLess(len(r.stderr), 400)
        r = self.run_cmd("surelcat")
        self.assertEqual(r.returncode, EX_USAGE)
        for args in ([], ["-p", "-j"], ["-x"], ["-p", "extra"]):
            r = self.run_cmd("surelqueue", *args)
            self.assertEqual(r.returncode, EX_USAGE, args)
            self.assertIn(b"usage: surelqueue", r.stderr)

    @unittest.skipUnless(IS_ROOT, "needs root to run as another user")
    def test_other_user_is_denied(self):
        def nobody():
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
        r = self.run_cmd("surelqueue", "-p", preexec=nobody)
        self.assertEqual(r.returncode, EX_NOPERM, r.stderr)
        self.assertRegex(r.stderr.decode(), r"^surelqueue: fatal: .*: "
                         r"permission denied \(the queue is readable only "
                         r"by root and mail_owner \S+\)\n$")
        self.assertEqual(r.stdout, b"")
        r = self.run_cmd("surelcat", self.deferred[0], preexec=nobody)
        self.assertEqual(r.returncode, EX_NOPERM, r.stderr)
        self.assertIn(b"permission denied", r.stderr)


if __name__ == "__main__":
    unittest.main()


CHILD_RSS = ("import resource, subprocess, sys\n"
             "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, "
             "check=True)\n"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


class BigQueue(unittest.TestCase):
    """Memory does not grow with the queue: the listing of 20000 deferred
    messages takes no more than that of 200 (plus slack for allocator
    noise). No instance: a main.cf naming a queue directory is enough."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="surel-bigq-")
        self.addCleanup(shutil.rmtree, self.dir)
        os.mkdir(os.path.join(self.dir, "etc"))
        with open(os.path.join(self.dir, "etc", "main.cf"), "w") as f:
            f.write("queue_directory = %s/queue\n" % self.dir)
        for h in "0123456789ABCDEF":
            os.makedirs(os.path.join(self.dir, "queue", "deferred", h))
        self.n = 0

    def add(self, count):
        body = b"Subject: x\n\nbody\n"
        for _ in range(count):
            qid = new_qid()
            data = (b"SUREL-QUEUE 1\nT\t%d\nS\ts@x.test\n"
                    b"R\tP\t-\t-\t-\tu%d@d%d.test\nC\t%020d\n%sE\n"
                    b"L\t0\t4.4.1\tx-surel\t-\t-\tconnect refused\n"
                    % (time.time_ns() // 1000, self.n, self.n % 3000,
                       len(body), body))
            with open(os.path.join(self.dir, "queue", "deferred", qid[14],
                                   qid), "wb") as f:
                f.write(data)
            self.n += 1

    def rss_kb(self, opt):
        # ASan's quarantine keeps freed memory resident: off here, so the
        # sanitized build measures what the program keeps.
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = ":".join(
            filter(None, [env.get("ASAN_OPTIONS"), "quarantine_size_mb=0",
                          "thread_local_quarantine_size_kb=0"]))
        r = subprocess.run(
            ["/usr/bin/python3", "-c", CHILD_RSS,
             os.path.join(BIN_DIR, "surelqueue"), "-c",
             os.path.join(self.dir, "etc"), opt],
            capture_output=True, text=True, timeout=300, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        return int(r.stdout)

    def test_memory_is_flat(self):
        self.add(200)
        small = {o: self.rss_kb(o) for o in ("-p", "-j", "-S")}
        self.add(19800)
        for o in ("-p", "-j", "-S"):
            self.assertLess(self.rss_kb(o), small[o] + 1024, o)
        r = subprocess.run([os.path.join(BIN_DIR, "surelqueue"), "-c",
                            os.path.join(self.dir, "etc"), "-p"],
                           capture_output=True, text=True, timeout=300)
        self.assertTrue(r.stdout.endswith("in 20000 Requests.\n"))
