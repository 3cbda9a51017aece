"""imap_util: what the IMAP integration tests (test_imap_*.py) share.

- ImapConn, a raw IMAP connection (bytes in, whole responses out, literal
  data inlined), with its two faces: ImapRaw, explicit tags and reply
  lines as they come (the session tests: pipelining, bad input,
  COMPRESS), and ImapClient, one command at a time with its own tags,
  giving (untagged responses, tagged reply).
- ImapCase, a test class with a mailbox per test on an instance of its
  own, and clients logged in to it (raw or imaplib).
- Maildir helpers: folders and message files put in place as a program
  other than imapd would (a delivery agent, a MUA), owned by the
  instance's user; FETCH reply helpers.

Every read is bounded by the socket timeout and every loop by a count.
Python 3 standard library only."""

import imaplib
import os
import re
import shutil
import socket
import time
import zlib

import dovecot
from instance import (IS_ROOT, LineConn, MailboxPerTestCase, password_of,
                      read_file)

TIMEOUT = 15
# How long an update may take to reach an idle client (NOTIFY, IDLE).
PROMPT = 3.0
# A literal at the end of a response line: {n} (literal8: ~{n}).
LITERAL_END = re.compile(rb"\{(\d+)\}\r\n$")


# ------------------------------------------------------------ connection

class ImapConn(LineConn):
    """A raw IMAP connection. response() is one server response with the
    literal data it announces inlined: bytes (binary=True) or text
    (UTF-8, undecodable octets kept as surrogate escapes). After
    compress() both directions go through raw deflate (RFC 4978).
    greeting: the first line, read at once unless greeting=False."""

    def __init__(self, port, timeout=TIMEOUT, context=None, greeting=True,
                 binary=False):
        super().__init__(port, timeout, context=context)
        self.timeout = timeout
        self.binary = binary
        self.deflate = self.inflate = None
        self.seq = 0
        self.greeting = self.line() if greeting else None

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        if self.deflate is not None:
            data = (self.deflate.compress(data)
                    + self.deflate.flush(zlib.Z_SYNC_FLUSH))
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed by server")
        if self.inflate is not None:
            chunk = self.inflate.decompress(chunk)
        self.buf += chunk

    def compress(self):
        self.deflate = zlib.compressobj(wbits=-15)
        self.inflate = zlib.decompressobj(wbits=-15)

    def text(self, data):
        """data (bytes) as responses come: bytes or text."""
        return data if self.binary else data.decode("utf-8",
                                                    "surrogateescape")

    def response(self):
        """One response without its final CRLF, literals inlined."""
        out = b""
        for _ in range(100000):
            line = self.raw_line()
            m = LITERAL_END.search(line)
            if m is None:
                return self.text(out + line.rstrip(b"\r\n"))
            n = int(m.group(1))
            while len(self.buf) < n:
                self._fill()
            out += line + self.buf[:n]
            self.buf = self.buf[n:]
        raise ValueError("endless response")

    def send_cmd(self, line):
        """Sends line (str or bytes; CRLF added) under a new tag; the
        tag."""
        self.seq += 1
        tag = "t%d" % self.seq
        if isinstance(line, str):
            line = line.encode("utf-8")
        self.send(tag.encode() + b" " + line + b"\r\n")
        return tag

    def until_tagged(self, tag):
        """(untagged responses, tagged response), whole, as response()
        gives them."""
        start = self.text(tag.encode() + b" ")
        untagged = []
        for _ in range(1000000):
            r = self.response()
            if r.startswith(start):
                return untagged, r
            untagged.append(r)
        raise ValueError("no tagged response for %s" % tag)

    def command(self, line):
        """send_cmd() and until_tagged(): whole responses."""
        return self.until_tagged(self.send_cmd(line))

    def line_or_eof(self):
        """One line, or None when the server closed the connection."""
        try:
            return self.line()
        except (EOFError, ConnectionResetError, BrokenPipeError):
            return None


class ImapRaw(ImapConn):
    """Explicit tags and reply lines as they come (no literal handling),
    for pipelining and bad input: cmd("a", "NOOP") -> ["a OK ..."]."""

    def cmd(self, tag, text):
        """Sends "tag text" and returns every line up to and including
        the tagged reply."""
        self.send("%s %s\r\n" % (tag, text))
        return self.until(tag)

    def until(self, tag):
        lines = []
        for _ in range(100000):
            line = self.line()
            lines.append(line)
            if line.startswith(tag + " "):
                return lines
        raise ValueError("no tagged reply for %s" % tag)

    def login(self, user, password=None, tag="L1"):
        return self.cmd(tag, "LOGIN %s %s" % (
            user, password if password is not None else password_of(user)))


def strip_star(r):
    """An untagged response without its "* "."""
    star = b"* " if isinstance(r, bytes) else "* "
    return r[2:] if r.startswith(star) else r


class ImapClient(ImapConn):
    """One command at a time: cmd(line) -> (untagged responses without
    "* ", tagged reply without its tag, as text). wait() reads what the
    server sends on its own."""

    def wait_tagged(self, tag):
        untagged, tagged = self.until_tagged(tag)
        if isinstance(tagged, bytes):
            tagged = tagged.decode("utf-8", "surrogateescape")
        return [strip_star(u) for u in untagged], tagged[len(tag) + 1:]

    def cmd(self, line):
        return self.wait_tagged(self.send_cmd(line))

    def ok(self, line):
        """cmd() that must end in OK; the untagged responses."""
        untagged, tagged = self.cmd(line)
        if not tagged.startswith("OK"):
            raise AssertionError("%s -> %s %r" % (line, tagged, untagged))
        return untagged

    def login(self, addr):
        self.ok('LOGIN "%s" "%s"' % (addr, password_of(addr)))
        return self

    def wait(self, count=1, timeout=PROMPT):
        """The next count unsolicited responses (without "* "), each
        within timeout, or fewer when the server stays silent."""
        out = []
        deadline = time.monotonic() + timeout
        try:
            for _ in range(count):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.sock.settimeout(left)
                try:
                    r = self.response()
                except socket.timeout:
                    break
                out.append(strip_star(r))
        finally:
            self.sock.settimeout(self.timeout)
        return out


def literal_plus(data):
    """data (str or bytes) as a non-synchronising literal (LITERAL+)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return b"{%d+}\r\n" % len(data) + data


def close_imaplib(m):
    """Logs out and closes an imaplib connection, whatever its state."""
    try:
        m.logout()
    except (imaplib.IMAP4.error, OSError, EOFError):
        pass
    try:
        m.shutdown()
    except OSError:
        pass


def imaplib_client(case, inst, user=None, tls=False, timeout=TIMEOUT):
    """An imaplib connection to inst (IMAPS when tls), logged in as user
    when given (which must be OK), closed at the end of the test."""
    m = inst.imaps(timeout=timeout) if tls else inst.imap(timeout=timeout)
    case.addCleanup(close_imaplib, m)
    if user is not None:
        case.assertEqual(m.login(user, password_of(user))[0], "OK")
    return m


# ------------------------------------------------------------ test case

class ImapCase(MailboxPerTestCase):
    """A class of tests sharing one instance, with a mailbox per test
    (self.addr) and plaintext LOGIN on loopback (CONFIG)."""

    CONFIG = {"disable_plaintext_auth": "no"}

    def client(self, select=None, addr=None, login=True, port=None, **kw):
        """An ImapClient (kw: its options) to port (default: the
        instance's IMAP port), logged in as addr (default: the test's),
        select (a command such as "SELECT INBOX") done; closed at the end
        of the test."""
        c = ImapClient(port or self.inst.imap_port, **kw)
        self.addCleanup(c.close)
        if login:
            c.login(addr or self.addr)
        if select:
            c.ok(select)
        return c

    def imap(self, login=True, tls=False, timeout=TIMEOUT):
        """An imaplib client, logged in as the test's user if login."""
        return imaplib_client(self, self.inst, self.addr if login else None,
                              tls, timeout)

    def start_dovecot(self, maildir, name):
        """A private Dovecot serving maildir to the test's user, its files
        in the instance's directory name/; stopped at the end of the
        test."""
        d = dovecot.Dovecot(self.inst.owner, {
            self.addr: (None, password_of(self.addr), maildir)},
            directory=os.path.join(self.inst.dir, name))
        self.addCleanup(d.stop)
        return d.start()

    def inbox(self):
        """The test's Maildir, made if need be."""
        return make_folder(self.inst, self.inst.maildir(self.addr))

    def folder(self, name):
        """The test's Maildir++ folder name, made if need be."""
        return make_folder(self.inst, self.inst.maildir(self.addr), name)

    def fill(self, n, folder=None, **kw):
        """n messages (put_message, kw its options) in folder (default:
        INBOX); their paths."""
        folder = folder or self.inbox()
        return [put_message(self.inst, folder, subject="m%d" % i, **kw)
                for i in range(n)]

    def noop_until(self, c, pred, timeout=10):
        """NOOPs until pred(untagged responses so far) holds; those
        responses. Fails after timeout seconds."""
        seen = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen += c.ok("NOOP")
            if pred(seen):
                return seen
            time.sleep(0.05)
        self.fail("not seen in %ss: %r" % (timeout, seen))


# ------------------------------------------------------------ Maildir

def chown_tree(path, owner):
    """As root: path and everything below it to owner (a pwd entry)."""
    if not IS_ROOT:
        return
    for dirpath, dirs, files in os.walk(path):
        os.chown(dirpath, owner.pw_uid, owner.pw_gid)
        for n in files:
            try:
                os.chown(os.path.join(dirpath, n), owner.pw_uid,
                         owner.pw_gid)
            except FileNotFoundError:
                pass    # a lock file imapd just removed


def make_folder(inst, maildir, name=None):
    """The Maildir (name None) or its Maildir++ folder .name, as a
    program other than imapd would make it."""
    path = maildir if name is None else os.path.join(maildir, "." + name)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)
    if name is not None:
        open(os.path.join(path, "maildirfolder"), "a").close()
    chown_tree(os.path.dirname(maildir.rstrip("/")), inst.owner)
    return path


_seq = [0]


def new_base():
    """A Maildir base name; the names sort in the order made."""
    _seq[0] += 1
    return "1700000000.M%06dP%d.test" % (_seq[0], os.getpid())


def put_file(inst, folder, data, flags="", new=False, base=None):
    """data (bytes, LF line ends) as a message file in folder's cur/
    (":2,flags") or new/, named base (default: new_base(), so that UIDs
    follow the order of calls). Returns the path."""
    base = base or new_base()
    name = base if new else base + ":2," + flags
    path = os.path.join(folder, "new" if new else "cur", name)
    with open(path, "wb") as f:
        f.write(data)
    if IS_ROOT:
        os.chown(path, inst.owner.pw_uid, inst.owner.pw_gid)
    return path


def put_message(inst, folder, subject="test", body="Hello.", flags="",
                new=False):
    """A small message file (put_file); the path."""
    base = new_base()
    data = ("From: <sender@example.test>\nTo: <rcpt@example.test>\n"
            "Subject: %s\nMessage-ID: <%s@test>\n\n%s\n" % (
                subject, base, body)).encode()
    return put_file(inst, folder, data, flags, new, base)


def files_of(folder):
    """{base name: flags} of the messages in folder (new/: None)."""
    out = {}
    for sub in ("new", "cur"):
        for n in os.listdir(os.path.join(folder, sub)):
            base, _, info = n.partition(":2,")
            out[base] = None if sub == "new" else info
    return out


def uidvalidity_of(folder):
    head = read_file(os.path.join(folder, "dovecot-uidlist")).split(b"\n")[0]
    return int([f for f in head.split() if f.startswith(b"V")][0][1:])


def crlf_len(data):
    """The size of data (bytes) with CRLF line ends, as RFC822.SIZE
    counts it."""
    return len(data) + data.count(b"\n") - data.count(b"\r\n")


def copy_maildir(inst, maildir, copy):
    """A copy of maildir at copy (files and times) without surel's own
    files (surel-cache...), owned by inst's user: for a private Dovecot
    to serve the same messages."""
    os.makedirs(os.path.dirname(copy), exist_ok=True)
    shutil.copytree(maildir, copy, copy_function=shutil.copy2)
    for name in os.listdir(copy):
        if name.startswith("surel-"):
            os.remove(os.path.join(copy, name))
    chown_tree(os.path.dirname(copy), inst.owner)


# ------------------------------------------------------------ replies

def fetch_lines(untagged):
    """{msn: text inside the parentheses} of FETCH responses (text; a
    literal's data inlined, CRLFs and all)."""
    out = {}
    for u in untagged:
        m = re.match(r"(\d+) FETCH \((.*)\)$", u, re.S)
        if m:
            out[int(m.group(1))] = m.group(2)
    return out
