"""POP3 (pop3d) over a real instance: logins with USER/PASS and AUTH
PLAIN over plain TCP (loopback, disable_plaintext_auth = no), STLS and
POP3S; STAT/LIST/RETR/TOP/UIDL against mail delivered through SMTP; DELE
applied only at QUIT; one session per maildrop; the bad input of the
issue. Each test has a mailbox of its own, named after it."""

import os
import poplib
import re
import socket
import struct
import time
import unittest

from instance import (IS_ROOT, LineConn, MailboxPerTestCase, OwnInstanceCase,
                      b64_plain, make_message, new_marker, password_of,
                      read_file)

DOMAIN = "example.test"
PLAINTEXT_REFUSED = ("-ERR [AUTH] Plaintext authentication disallowed on "
                     "non-secure connections")


class PopRaw(LineConn):
    """A raw POP3 connection for what poplib cannot send: pipelining,
    bad lines, AUTH, STLS at will. Every read is bounded by timeout."""

    def __init__(self, port, timeout=15, context=None, host="127.0.0.1"):
        super().__init__(port, timeout, context=context, host=host)
        self.greeting = self.line()

    def cmd(self, line):
        self.send((line.encode("utf-8") if isinstance(line, str) else line)
                  + b"\r\n")
        return self.line()

    def multi(self):
        """The lines of a multi-line reply after its status line, dot
        stuffing removed."""
        out = []
        for _ in range(1000000):
            line = self.line()
            if line == ".":
                return out
            out.append(line[1:] if line.startswith("..") else line)
        raise ValueError("no end of multi-line reply")

    def login(self, user, password=None):
        r = self.cmd("USER " + user)
        if not r.startswith("+OK"):
            return r
        return self.cmd("PASS " + (password or password_of(user)))


class Pop3Case(MailboxPerTestCase):
    """Helpers shared by the test classes."""

    def raw(self, tls=False):
        if tls:
            return PopRaw(self.inst.pop3s_port,
                          context=self.inst.ssl_context())
        return PopRaw(self.inst.pop3_port)

    def deliver(self, n=1, addr=None, body=None):
        """Sends n messages to addr through SMTP and waits until the
        Maildir has them; returns their markers."""
        addr = addr or self.addr
        return self.inst.deliver(
            addr, n, prefix="pop", body=None if body is None else (
                lambda m: make_message("sender@remote.example", [addr], m,
                                       body=body)))

    def uidlist(self, addr=None):
        """(UIDVALIDITY, {base name: UID}) from the Maildir's
        dovecot-uidlist."""
        path = os.path.join(self.inst.maildir(addr or self.addr),
                            "dovecot-uidlist")
        lines = read_file(path).decode("utf-8").splitlines()
        header = lines[0].split()
        self.assertEqual(header[0], "3", "dovecot-uidlist version")
        v = int([f for f in header if f.startswith("V")][0][1:])
        uids = {}
        for line in lines[1:]:
            head, _, base = line.partition(" :")
            uids[base] = int(head.split()[0])
        return v, uids

    def files_by_uid(self, addr=None):
        """[(uid, path)] of the messages in UID order."""
        _, uids = self.uidlist(addr)
        out = []
        for p in self.inst.messages(addr or self.addr):
            base = os.path.basename(p).split(":2,")[0]
            self.assertIn(base, uids, "file without UID: %s" % p)
            out.append((uids[base], p))
        return sorted(out)

    def pop(self, addr=None):
        """A poplib session logged in as addr."""
        addr = addr or self.addr
        p = self.inst.pop3()
        self.addCleanup(self.close_pop, p)
        p.user(addr)
        p.pass_(password_of(addr))
        return p

    @staticmethod
    def close_pop(p):
        try:
            p.close()
        except OSError:
            pass

    def wait_log(self, regex, since=0, timeout=20):
        m = self.inst.wait_log(regex, timeout=timeout, since=since)
        self.assertTrue(m, "no log line %r\n%s" % (regex,
                                                   self.inst.diagnostics()))
        return m


def crlf_of(data):
    """A Maildir file (LF line ends) as POP3 sends it."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class PlainLoopback(Pop3Case):
    """disable_plaintext_auth = no: passwords over plain TCP from
    loopback."""

    CONFIG = {"disable_plaintext_auth": "no"}

    def test_capa(self):
        with self.raw() as r:
            self.assertTrue(r.greeting.startswith("+OK "), r.greeting)
            self.assertNotRegex(r.greeting, r"<.*@.*>",
                                "APOP timestamp in the greeting")
            self.assertTrue(r.cmd("CAPA").startswith("+OK"))
            caps = r.multi()
            for c in ("TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE",
                      "PIPELINING", "USER", "SASL PLAIN", "STLS",
                      "IMPLEMENTATION surel"):
                self.assertIn(c, caps)
            for c in caps:
                self.assertNotRegex(c, r"^(LOGIN-DELAY|EXPIRE|APOP)")
            self.assertTrue(r.cmd("APOP %s %s" % (self.addr, "a" * 32))
                            .startswith("-ERR"))

    def test_read(self):
        body = ("first body line\r\n.a line with a leading dot\r\n"
                "..two dots\r\n.\r\nlast line")
        markers = self.deliver(3, body=body)
        p = self.pop()
        # UIDs are given when a session first looks.
        files = self.files_by_uid()
        v, _ = self.uidlist()
        count, total = p.stat()
        self.assertEqual(count, 3)
        datas = [crlf_of(read_file(path)) for _, path in files]
        self.assertEqual(total, sum(len(d) for d in datas))
        _, listing, _ = p.list()
        sizes = {int(a): int(b) for a, b in (x.split() for x in listing)}
        self.assertEqual(sizes, {i + 1: len(d) for i, d in enumerate(datas)})
        seen = set()
        for i, data in enumerate(datas):
            resp, lines, octets = p.retr(i + 1)
            self.assertTrue(resp.startswith(b"+OK"))
            got = b"".join(l + b"\r\n" for l in lines)
            self.assertEqual(got, data)
            self.assertEqual(octets, sizes[i + 1])
            seen |= {m for m in markers if m.encode() in got}
            self.assertEqual(p.list(i + 1), b"+OK %d %d" % (i + 1, len(data)))
        self.assertEqual(seen, set(markers))
        # TOP: the header, the blank line, n body lines.
        head, _, rest = datas[0].partition(b"\r\n\r\n")
        head_lines = head.split(b"\r\n")
        self.assertEqual(p.top(1, 0)[1], head_lines + [b""])
        self.assertEqual(p.top(1, 2)[1],
                         head_lines + [b""] + rest.split(b"\r\n")[:2])
        self.assertEqual(p.top(2, 4294967296)[1], datas[1][:-2].split(b"\r\n"))
        # UIDL: Dovecot's %08Xu%08Xv from the UID map on disk.
        _, uidls, _ = p.uidl()
        want = [b"%d %08x%08x" % (i + 1, uid, v)
                for i, (uid, _) in enumerate(files)]
        self.assertEqual(uidls, want)
        self.assertEqual(p.uidl(2), b"+OK " + want[1])
        self.assertEqual(p.quit(), b"+OK Logging out.")
        # Reading changes nothing on disk (flags included).
        self.assertEqual([p for _, p in self.files_by_uid()],
                         [p for _, p in files])
        self.wait_log(r"logout: user=<%s>, .*top=3/\d+, retr=3/%d, "
                      r"del=0/3, size=%d" % (re.escape(self.addr), total,
                                             total))

    def put_files(self, datas):
        """Writes datas as messages into the Maildir's new/, in this UID
        order, as another program (Dovecot, a migration) would leave
        them."""
        md = self.inst.maildir(self.addr)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md, sub), exist_ok=True)
        paths = []
        for i, data in enumerate(datas):
            path = os.path.join(md, "new", "%d.M%dP1.raw.example" %
                                (1700000000 + i, i))
            with open(path, "wb") as f:
                f.write(data)
            os.utime(path, (1700000000 + i, 1700000000 + i))
            paths.append(path)
        if IS_ROOT:
            own = (self.inst.owner.pw_uid, self.inst.owner.pw_gid)
            d = md.rstrip("/")
            while d != self.inst.mail:
                os.chown(d, *own)
                d = os.path.dirname(d)
            for root, dirs, files in os.walk(md):
                for n in dirs + files:
                    os.chown(os.path.join(root, n), *own)

    def test_raw_files(self):
        """What RETR sends for files no SMTP delivery would write: CRLF
        already there (also split across pop3d's 16 KiB read chunks), a
        NUL, a bare CR, a dot line at the end of a chunk, a last line
        without LF or ending in a CR. Every wire line ends in CRLF,
        dot-stuffing is undone by the client, and LIST gives the octets
        RETR sends (a missing final line end excepted: as Dovecot, the
        CRLF that ends the last line is not counted)."""
        chunk = 16384
        head_g, head_h = b"Subject: g\r\n\r\n", b"Subject: h\n\n"
        cases = [
            # (file, what the client gets, octets LIST leaves out)
            (b"Subject: a\n\nno final lf",
             b"Subject: a\r\n\r\nno final lf\r\n", 2),
            (b"Subject: b\r\n\r\ncrlf line\r\n.\r\n..x\r\n",
             b"Subject: b\r\n\r\ncrlf line\r\n.\r\n..x\r\n", 0),
            (b"Subject: c\n\nnul\x00byte\n.\n",
             b"Subject: c\r\n\r\nnul\x00byte\r\n.\r\n", 0),
            (b"Subject: d\n\nends in cr\r",
             b"Subject: d\r\n\r\nends in cr\r\n", 1),
            (b"Subject: e\n\n.", b"Subject: e\r\n\r\n.\r\n", 2),
            (b"Subject: f\n\nbare\rcr\n", b"Subject: f\r\n\r\nbare\rcr\r\n", 0),
            # CR the last octet of the first read, its LF the first of
            # the next.
            (head_g + b"x" * (chunk - 1 - len(head_g)) + b"\r\n.dot\r\n",
             head_g + b"x" * (chunk - 1 - len(head_g)) + b"\r\n.dot\r\n", 0),
            # A dot that starts the second read.
            (head_h + b"y" * (chunk - 1 - len(head_h)) + b"\n.z\n",
             head_h.replace(b"\n", b"\r\n") + b"y" * (chunk - 1 - len(head_h))
             + b"\r\n.z\r\n", 0),
        ]
        self.put_files([c[0] for c in cases])
        with self.raw() as r:
            self.assertEqual(r.login(self.addr), "+OK Logged in.")
            self.assertTrue(r.cmd("LIST").startswith("+OK"))
            sizes = [int(l.split()[1]) for l in r.multi()]
            self.assertEqual(sizes, [len(want) - short
                                     for _, want, short in cases])
            self.assertEqual(r.cmd("STAT"), "+OK %d %d" % (len(cases),
                                                           sum(sizes)))
            for i, (_, want, _) in enumerate(cases):
                self.assertEqual(r.cmd("RETR %d" % (i + 1)),
                                 "+OK %d octets" % sizes[i])
                got = b""
                for _ in range(100000):
                    line = r.raw_line()
                    self.assertTrue(line.endswith(b"\r\n"), line)
                    if not line.startswith(b"bare"):
                        self.assertNotIn(b"\r", line[:-2], line)
                    if line == b".\r\n":
                        break
                    if line.startswith(b"."):
                        # Stuffed: the client drops the first dot.
                        self.assertTrue(line.startswith(b".."), line)
                        line = line[1:]
                    got += line
                self.assertEqual(got, want, "message %d" % (i + 1))
            # TOP 0 of a CRLF file: the header and the blank line.
            self.assertEqual(r.cmd("TOP 2 0"), "+OK")
            self.assertEqual(r.multi(), ["Subject: b", ""])
            self.assertEqual(r.cmd("TOP 2 1"), "+OK")
            self.assertEqual(r.multi(), ["Subject: b", "", "crlf line"])
            self.assertEqual(r.cmd("QUIT"), "+OK Logging out.")

    def test_uidl_stable(self):
        self.deliver(3)
        p = self.pop()
        first = p.uidl()[1]
        p.quit()
        self.deliver(1)
        p = self.pop()
        second = p.uidl()[1]
        p.quit()
        self.assertEqual(second[:3], first)
        self.assertEqual(len(second), 4)
        self.assertEqual(len(set(u.split()[1] for u in second)), 4)

    def test_dele_quit(self):
        self.deliver(3)
        p = self.pop()
        files = self.files_by_uid()
        uidls = p.uidl()[1]
        self.assertTrue(p.dele(2).startswith(b"+OK"))
        self.assertEqual(p.stat()[0], 2)
        # Not before QUIT.
        self.assertTrue(os.path.exists(files[1][1]))
        self.assertEqual(p.quit(), b"+OK Logging out.")
        self.assertFalse(os.path.exists(files[1][1]))
        self.assertEqual(len(self.inst.messages(self.addr)), 2)
        p = self.pop()
        self.assertEqual([u.split()[1] for u in p.uidl()[1]],
                         [uidls[0].split()[1], uidls[2].split()[1]])
        p.quit()
        self.wait_log(r"logout: user=<%s>, .*del=1/3" % re.escape(self.addr))

    def test_dele_rset(self):
        self.deliver(2)
        p = self.pop()
        p.dele(1)
        p.dele(2)
        self.assertEqual(p.stat()[0], 0)
        self.assertTrue(p.rset().startswith(b"+OK"))
        self.assertEqual(p.stat()[0], 2)
        p.quit()
        self.assertEqual(len(self.inst.messages(self.addr)), 2)

    def test_dele_then_drop(self):
        self.deliver(2)
        since = self.inst.log_size()
        with self.raw() as r:
            self.assertTrue(r.login(self.addr).startswith("+OK"))
            self.assertTrue(r.cmd("DELE 1").startswith("+OK"))
            self.assertTrue(r.cmd("DELE 2").startswith("+OK"))
        self.wait_log(r"disconnected: connection lost in TRANSACTION "
                      r"state.*user=<%s>" % re.escape(self.addr), since)
        self.assertEqual(len(self.inst.messages(self.addr)), 2)

    def test_deleted_message(self):
        self.deliver(2)
        with self.raw() as r:
            self.assertTrue(r.login(self.addr).startswith("+OK"))
            self.assertTrue(r.cmd("DELE 1").startswith("+OK"))
            for c in ("RETR 1", "TOP 1 0", "LIST 1", "UIDL 1", "DELE 1"):
                self.assertEqual(r.cmd(c), "-ERR Message is deleted.", c)
            self.assertTrue(r.cmd("LIST").startswith("+OK 1 messages"))
            self.assertEqual([l.split()[0] for l in r.multi()], ["2"])
            self.assertTrue(r.cmd("UIDL").startswith("+OK"))
            self.assertEqual([l.split()[0] for l in r.multi()], ["2"])
            self.assertTrue(r.cmd("RSET").startswith("+OK"))
            self.assertTrue(r.cmd("RETR 1").startswith("+OK"))

    def test_in_use(self):
        self.deliver(1)
        p = self.pop()
        with self.raw() as r:
            self.assertTrue(r.cmd("USER " + self.addr).startswith("+OK"))
            reply = r.cmd("PASS " + password_of(self.addr))
            self.assertTrue(reply.startswith("-ERR [IN-USE]"), reply)
            p.quit()
            # Free again as soon as the first session has said goodbye.
            self.assertEqual(r.login(self.addr), "+OK Logged in.")
            self.assertEqual(r.cmd("STAT"), "+OK 1 %d" % len(
                crlf_of(read_file(self.inst.messages(self.addr)[0]))))

    def test_delivery_during_session(self):
        self.deliver(2)
        p = self.pop()
        self.assertEqual(p.stat()[0], 2)
        self.deliver(1)
        # The session keeps the list it started with.
        self.assertEqual(p.stat()[0], 2)
        self.assertEqual(len(p.list()[1]), 2)
        with self.assertRaises(poplib.error_proto):
            p.retr(3)
        p.dele(1)
        self.assertEqual(p.quit(), b"+OK Logging out.")
        self.assertEqual(len(self.inst.messages(self.addr)), 2)
        p = self.pop()
        self.assertEqual(p.stat()[0], 2)
        p.quit()

    def test_auth_plain(self):
        self.deliver(1)
        since = self.inst.log_size()
        with self.raw() as r:
            r.send("AUTH\r\n")
            self.assertTrue(r.line().startswith("+OK"))
            self.assertEqual(r.multi(), ["PLAIN"])
            reply = r.cmd("AUTH PLAIN " + b64_plain(self.addr,
                                                    password_of(self.addr)))
            self.assertTrue(reply.startswith("+OK"), reply)
            self.assertTrue(r.cmd("STAT").startswith("+OK 1 "))
            self.assertEqual(r.cmd("QUIT"), "+OK Logging out.")
        self.wait_log(r"login: user=<%s>, method=PLAIN, rip=127\.0\.0\.1, "
                      r"lip=127\.0\.0\.1, tls=none" % re.escape(self.addr),
                      since)

    def test_auth_plain_continuation(self):
        self.deliver(1)
        with self.raw() as r:
            self.assertEqual(r.cmd("AUTH PLAIN"), "+ ")
            self.assertEqual(r.cmd("*"), "-ERR Authentication cancelled.")
            self.assertEqual(r.cmd("AUTH PLAIN"), "+ ")
            reply = r.cmd(b64_plain(self.addr, "wrong"))
            self.assertTrue(reply.startswith("-ERR [AUTH]"), reply)
            self.assertEqual(r.cmd("AUTH PLAIN"), "+ ")
            reply = r.cmd(b64_plain(self.addr, password_of(self.addr),
                                    authzid=self.addr))
            self.assertTrue(reply.startswith("+OK"), reply)
            self.assertTrue(r.cmd("STAT").startswith("+OK 1 "))

    def test_wrong_password(self):
        since = self.inst.log_size()
        with self.raw() as r:
            self.assertEqual(r.login(self.addr, "wrong"),
                             "-ERR [AUTH] Authentication failed.")
            self.assertEqual(r.cmd("PASS " + password_of(self.addr)),
                             "-ERR No username given.")
            self.assertEqual(r.login("nobody@" + DOMAIN, "x"),
                             "-ERR [AUTH] Authentication failed.")
            # The third failure ends the session.
            self.assertEqual(r.cmd("AUTH PLAIN " + b64_plain(self.addr, "no")),
                             "-ERR [AUTH] Authentication failed.")
            self.assertTrue(r.closed(10))
        self.wait_log(r"auth failure: service=pop3, user=<%s>"
                      % re.escape(self.addr), since)

    def test_before_login(self):
        with self.raw() as r:
            for c in ("STAT", "LIST", "LIST 1", "RETR 1", "DELE 1",
                      "TOP 1 1", "UIDL", "NOOP", "RSET", "PASS x"):
                self.assertTrue(r.cmd(c).startswith("-ERR"), c)
            self.assertTrue(r.cmd("CAPA").startswith("+OK"))
            r.multi()
            self.assertEqual(r.cmd("QUIT"), "+OK Logging out.")
            self.assertTrue(r.closed(10))

    def test_long_lines(self):
        with self.raw() as r:
            self.assertTrue(r.cmd("CAPA " + "x" * 300).startswith("-ERR"))
            self.assertTrue(r.cmd("USER " + "a" * 100000).startswith("-ERR"))
            # The session goes on, and the tail of the line was not taken
            # as a command.
            self.assertTrue(r.cmd("CAPA").startswith("+OK"))
            r.multi()
            self.assertTrue(r.login(self.addr).startswith("+OK"))
            self.assertTrue(r.cmd("NOOP " + "y" * 20000).startswith("-ERR"))
            self.assertEqual(r.cmd("NOOP"), "+OK")

    def test_message_numbers(self):
        self.deliver(2)
        bad = ("RETR 0", "RETR -1", "RETR 3", "RETR 99999999",
               "RETR 4294967297", "RETR abc", "RETR", "RETR 1 2",
               "RETR +1", "RETR 1x", "DELE 0", "DELE -1", "DELE 3",
               "DELE abc", "TOP 0 1", "TOP -1 1", "TOP 3 1",
               "TOP 1 -1", "TOP 1 abc", "TOP 1", "LIST 0",
               "LIST 3", "UIDL -1", "UIDL 3")
        # Two sessions: each stays within the error budget.
        for part in (bad[:12], bad[12:]):
            with self.raw() as r:
                self.assertTrue(r.login(self.addr).startswith("+OK"))
                for c in part:
                    self.assertTrue(r.cmd(c).startswith("-ERR"), c)
                self.assertEqual(r.cmd("QUIT"), "+OK Logging out.")
        with self.raw() as r:
            self.assertTrue(r.login(self.addr).startswith("+OK"))
            # None of that deleted or changed anything.
            self.assertEqual(r.cmd("STAT").split()[:2], ["+OK", "2"])
            self.assertTrue(r.cmd("TOP 1 99999999999999999999").startswith("+OK"))
            self.assertEqual(b"\r\n".join(l.encode() for l in r.multi())
                             + b"\r\n",
                             crlf_of(read_file(self.files_by_uid()[0][1])))
            self.assertEqual(r.cmd("QUIT"), "+OK Logging out.")
        self.assertEqual(len(self.inst.messages(self.addr)), 2)

    def test_error_budget(self):
        with self.raw() as r:
            replies = [r.cmd("BOGUS %d" % i) for i in range(19)]
            self.assertTrue(all(x.startswith("-ERR") for x in replies))
            self.assertTrue(r.cmd("CAPA").startswith("+OK"))
            r.multi()
            r.send("BOGUS\r\n")
            self.assertTrue(r.line().startswith("-ERR"))
            self.assertEqual(r.line(), "-ERR Too many bad commands.")
            self.assertTrue(r.closed(10))

    def test_pipelining(self):
        self.deliver(2)
        with self.raw() as r:
            r.send("USER %s\r\nPASS %s\r\nSTAT\r\nUIDL 1\r\nRETR 2\r\n"
                   "LIST\r\nNOOP\r\nQUIT\r\n" % (self.addr,
                                                  password_of(self.addr)))
            self.assertTrue(r.line().startswith("+OK"))
            self.assertEqual(r.line(), "+OK Logged in.")
            self.assertTrue(r.line().startswith("+OK 2 "))
            self.assertTrue(r.line().startswith("+OK 1 "))
            self.assertTrue(r.line().startswith("+OK "))
            self.assertIn("X-Marker", "\n".join(r.multi()))
            self.assertTrue(r.line().startswith("+OK 2 messages"))
            self.assertEqual(len(r.multi()), 2)
            self.assertEqual(r.line(), "+OK")
            self.assertEqual(r.line(), "+OK Logging out.")
            self.assertTrue(r.closed(10))

    def test_vanish_mid_retr(self):
        body = "\r\n".join("line %06d %s" % (i, "z" * 60) for i in range(12000))
        self.deliver(1, body=body)
        self.deliver(1)
        since = self.inst.log_size()
        r = self.raw()
        self.assertTrue(r.login(self.addr).startswith("+OK"))
        # After login: the session has moved new/ to cur/.
        files = self.inst.messages(self.addr)
        self.assertTrue(r.cmd("DELE 2").startswith("+OK"))
        self.assertTrue(r.cmd("RETR 1").startswith("+OK"))
        r.raw_line()
        # A reset, as a client that crashes or loses its network.
        r.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                          struct.pack("ii", 1, 0))
        r.close()
        self.wait_log(r"disconnected: .* in TRANSACTION state.*user=<%s>"
                      % re.escape(self.addr), since)
        self.assertEqual(self.inst.messages(self.addr), files)

    def test_deleted_behind_back(self):
        self.deliver(3)
        with self.raw() as r:
            self.assertTrue(r.login(self.addr).startswith("+OK"))
            files = self.files_by_uid()
            os.unlink(files[1][1])
            self.assertEqual(r.cmd("RETR 2"), "-ERR [SYS/TEMP] Message was "
                             "deleted by another session.")
            self.assertTrue(r.cmd("RETR 1").startswith("+OK"))
            r.multi()
            self.assertTrue(r.cmd("DELE 2").startswith("+OK"))
            self.assertTrue(r.cmd("DELE 3").startswith("+OK"))
            self.assertEqual(r.cmd("QUIT"), "+OK Logging out.")
        self.assertEqual(self.inst.messages(self.addr), [files[0][1]])
        self.wait_log(r"logout: user=<%s>, .*del=1/3" % re.escape(self.addr))

    def test_bad_user_names(self):
        since = self.inst.log_size()
        with self.raw() as r:
            for name in ("../../etc/passwd", "a/b@" + DOMAIN,
                         "..@" + DOMAIN, "x@example..test"):
                self.assertTrue(r.cmd("USER " + name).startswith("-ERR"),
                                name)
                self.assertEqual(r.cmd("PASS pw"), "-ERR No username given.")
            self.assertTrue(r.cmd(b"USER a\0b@" + DOMAIN.encode())
                            .startswith("-ERR"))
            self.assertEqual(r.cmd("PASS pw"), "-ERR No username given.")
            self.assertTrue(r.cmd("AUTH PLAIN " + b64_plain("../x@" + DOMAIN, "pw"))
                            .startswith("-ERR [AUTH]"))
            self.assertTrue(r.cmd("AUTH PLAIN " + b64_plain("a/b@" + DOMAIN, "pw"))
                            .startswith("-ERR [AUTH]"))
        time.sleep(0.5)
        log = self.inst.log()[since:]
        self.assertNotIn("auth failure", log, "a bad name reached authd")

    def test_quota(self):
        self.deliver(2)
        md = self.inst.maildir(self.addr)
        size_path = os.path.join(md, "maildirsize")
        p = self.pop()
        sizes = [os.path.getsize(path) for _, path in self.files_by_uid()]
        with open(size_path, "w") as f:
            f.write("100000000S\n%d 2\n" % sum(sizes))
        if IS_ROOT:
            os.chown(size_path, self.inst.owner.pw_uid, self.inst.owner.pw_gid)
        p.dele(1)
        p.quit()
        lines = read_file(size_path).decode().splitlines()
        self.assertEqual(lines[-1].split(), ["-%d" % sizes[0], "-1"])
        self.assertEqual(sum(int(l.split()[0]) for l in lines[1:]), sizes[1])
        self.assertEqual(sum(int(l.split()[1]) for l in lines[1:]), 1)

    def test_uidl_kept_from_dovecot(self):
        """A Maildir coming from Dovecot: its UIDVALIDITY and UIDs stay,
        and a POP3 UIDL Dovecot stored (P extension) wins."""
        self.deliver(3)
        names = sorted(os.path.basename(p) for p in
                       self.inst.messages(self.addr))
        path = os.path.join(self.inst.maildir(self.addr), "dovecot-uidlist")
        with open(path, "w") as f:
            f.write("3 V1234567 N20\n5 Plegacy-id-5 :%s\n7 :%s\n"
                    "9 Pother.id :%s\n" % tuple(names))
        if IS_ROOT:
            os.chown(path, self.inst.owner.pw_uid, self.inst.owner.pw_gid)
        p = self.pop()
        self.assertEqual(p.uidl()[1], [
            b"1 legacy-id-5", b"2 %08x%08x" % (7, 1234567), b"3 other.id"])
        p.quit()

    def test_no_quota_file(self):
        self.deliver(2)
        p = self.pop()
        p.dele(1)
        p.quit()
        self.assertEqual(len(self.inst.messages(self.addr)), 1)
        self.assertFalse(os.path.exists(os.path.join(
            self.inst.maildir(self.addr), "maildirsize")))

    def test_stls_after_user(self):
        self.deliver(1)
        with self.raw() as r:
            self.assertEqual(r.cmd("USER " + self.addr), "+OK")
            self.assertTrue(r.cmd("STLS").startswith("+OK"))
            r.starttls(self.inst.ssl_context())
            # The USER from before TLS does not count.
            self.assertEqual(r.cmd("PASS " + password_of(self.addr)),
                             "-ERR No username given.")
            self.assertEqual(r.login(self.addr), "+OK Logged in.")


class Secure(Pop3Case):
    """The default disable_plaintext_auth = yes: passwords only over
    TLS, STLS or POP3S."""

    def test_plaintext_refused(self):
        since = self.inst.log_size()
        with self.raw() as r:
            self.assertTrue(r.cmd("CAPA").startswith("+OK"))
            caps = r.multi()
            self.assertIn("STLS", caps)
            self.assertNotIn("USER", caps)
            self.assertFalse([c for c in caps if c.startswith("SASL")])
            self.assertEqual(r.cmd("USER " + self.addr), PLAINTEXT_REFUSED + ".")
            self.assertEqual(r.cmd("AUTH PLAIN " + b64_plain(
                self.addr, password_of(self.addr))), PLAINTEXT_REFUSED + ".")
        time.sleep(0.3)
        self.assertNotIn("auth failure", self.inst.log()[since:])

    def test_stls_login(self):
        self.deliver(1)
        since = self.inst.log_size()
        p = self.inst.pop3()
        self.addCleanup(self.close_pop, p)
        p.stls(self.inst.ssl_context())
        caps = p.capa()
        self.assertIn("USER", caps)
        self.assertIn("SASL", caps)
        self.assertNotIn("STLS", caps)
        p.user(self.addr)
        p.pass_(password_of(self.addr))
        self.assertEqual(p.stat()[0], 1)
        p.quit()
        self.wait_log(r"login: user=<%s>, method=USER, rip=127\.0\.0\.1, "
                      r"lip=127\.0\.0\.1, tls=TLSv1\.[23]"
                      % re.escape(self.addr), since)

    def test_pop3s(self):
        self.deliver(2)
        p = self.inst.pop3s()
        self.addCleanup(self.close_pop, p)
        self.assertNotIn("STLS", p.capa())
        p.user(self.addr)
        p.pass_(password_of(self.addr))
        self.assertEqual(p.stat()[0], 2)
        resp, lines, octets = p.retr(2)
        self.assertEqual(b"".join(l + b"\r\n" for l in lines),
                         crlf_of(read_file(self.files_by_uid()[1][1])))
        p.quit()

    def test_stls_twice(self):
        with self.raw() as r:
            self.assertTrue(r.cmd("STLS").startswith("+OK"))
            r.starttls(self.inst.ssl_context())
            self.assertEqual(r.cmd("STLS"), "-ERR TLS is already active.")
            # Never delivered to: the Maildir is made at login.
            self.assertEqual(r.login(self.addr), "+OK Logged in.")
            self.assertEqual(r.cmd("STAT"), "+OK 0 0")
        with self.raw(tls=True) as r:
            self.assertEqual(r.cmd("STLS"), "-ERR TLS is already active.")

    def test_pipelined_after_stls(self):
        self.deliver(1)
        since = self.inst.log_size()
        with self.raw() as r:
            r.send("STLS\r\nUSER %s\r\nCAPA\r\nQUIT\r\n" % self.addr)
            self.assertTrue(r.line().startswith("+OK"))
            r.starttls(self.inst.ssl_context())
            # USER, CAPA and QUIT were dropped: PASS finds no user, and
            # the session is still open.
            self.assertEqual(r.cmd("PASS " + password_of(self.addr)),
                             "-ERR No username given.")
            self.assertTrue(r.login(self.addr).startswith("+OK"))
            self.assertTrue(r.cmd("STAT").startswith("+OK 1 "))
        self.wait_log(r"STLS: dropped \d+ octets", since)


class OwnInstances(OwnInstanceCase):
    """Settings that need an instance of their own: pop3d_timeout, authd
    out of reach, pop3d_uidl_format."""

    USERS = {"bob@example.test": "example.test/bob/"}

    def test_inactivity_and_no_authd(self):
        inst = self.new_instance(start=False, access=True,
                                 users=self.USERS, aliases={},
                                 pop3d_timeout="2s",
                                 disable_plaintext_auth="no")
        inst.master_cf_text = inst.master_cf_text.replace(
            "auth unix - - n - 1 authd\n", "")
        inst.write_config()
        inst.start()
        with PopRaw(inst.pop3_port) as r:
            reply = r.login("bob@example.test")
            self.assertTrue(reply.startswith("-ERR [SYS/TEMP]"), reply)
        t0 = time.monotonic()
        with PopRaw(inst.pop3_port) as r:
            self.assertEqual(r.line(), "-ERR Disconnected for inactivity.")
            self.assertTrue(r.closed(5))
        self.assertLess(time.monotonic() - t0, 10)
        self.assertTrue(inst.wait_log(r"disconnected: inactivity in "
                                      r"AUTHORIZATION state", 10))


    def test_ipv6_loopback(self):
        """::1 is loopback: with disable_plaintext_auth = no a password
        may come from it without TLS, as from 127.0.0.1."""
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as t:
                t.bind(("::1", 0))
        except OSError:
            self.skipTest("no IPv6 loopback")
        inst = self.new_instance(start=False, access=True,
                                 users=self.USERS, aliases={},
                                 disable_plaintext_auth="no")
        line = "127.0.0.1:%d inet n - n - 20 pop3d\n" % inst.pop3_port
        self.assertIn(line, inst.master_cf_text)
        inst.master_cf_text = inst.master_cf_text.replace(
            line, "[::1]:%d inet n - n - 20 pop3d\n" % inst.pop3_port)
        inst.write_config()
        inst.start()
        addr = "bob@example.test"
        r = None
        for _ in range(100):
            try:
                r = PopRaw(inst.pop3_port, host="::1")
                break
            except ConnectionRefusedError:
                time.sleep(0.1)
        self.assertIsNotNone(r, "nothing listens on [::1]")
        with r:
            self.assertTrue(r.cmd("CAPA").startswith("+OK"))
            self.assertIn("USER", r.multi())
            self.assertEqual(r.login(addr), "+OK Logged in.")
            self.assertEqual(r.cmd("QUIT"), "+OK Logging out.")
        self.assertTrue(inst.wait_log(r"login: user=<bob@example\.test>, "
                                      r"method=USER, rip=::1, lip=::1, "
                                      r"tls=none", 10), inst.diagnostics())

    def test_uidl_format(self):
        inst = self.new_instance(access=True, users=self.USERS, aliases={},
                                 disable_plaintext_auth="no",
                                 pop3d_uidl_format="%u.%v")
        addr = "bob@example.test"
        code, text, _ = inst.send(addr, marker=new_marker("fmt"))
        self.assertEqual(code, 250, text)
        inst.wait_for_maildir(addr, 1)
        with PopRaw(inst.pop3_port) as r:
            self.assertTrue(r.login(addr).startswith("+OK"))
            self.assertTrue(r.cmd("UIDL").startswith("+OK"))
            lines = r.multi()
        path = os.path.join(inst.maildir(addr), "dovecot-uidlist")
        v = re.search(r" V(\d+)", read_file(path).decode()).group(1)
        self.assertEqual(lines, ["1 1.%s" % v])

    def test_bad_uidl_format(self):
        inst = self.new_instance(access=True, users=self.USERS, aliases={},
                                 pop3d_uidl_format="%v")
        try:
            with PopRaw(inst.pop3_port, timeout=3) as r:
                self.fail("greeted: %s" % r.greeting)
        except (OSError, EOFError):
            pass
        self.assertTrue(inst.wait_log(r"fatal: pop3d_uidl_format = %v: "
                                      r"does not contain %u", 10),
                        inst.diagnostics())


if __name__ == "__main__":
    unittest.main()
