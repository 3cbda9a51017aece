"""APPEND (RFC 3501, RFC 9051) over a real instance: flags, dates and
keywords as a client sees them and as they lie on disk; synchronising and
non-synchronising (LITERAL+) literals, literal8 (BINARY) and the UTF8 data
item (UTF8=ACCEPT); MULTIAPPEND (RFC 3502) and its atomicity; REPLACE and
UID REPLACE (RFC 8508); APPENDUID (UIDPLUS) checked against the
dovecot-uidlist; [TRYCREATE], [OVERQUOTA] (an instance with
virtual_mailbox_quota) and [TOOBIG] (an instance with a small
imapd_append_limit); the stored octets exactly (LF line ends); and a
client that disconnects in the middle of a literal. Python's imaplib where
it can say it, raw sockets for the rest. One mailbox per test."""

import datetime
import os
import re
import time

from imap_util import ImapCase, ImapConn
from instance import new_marker, password_of, read_file


def message(marker, body="Hello.", subject="append test"):
    """A small message with CRLF line ends (bytes)."""
    return ("From: <sender@example.test>\r\nTo: <rcpt@example.test>\r\n"
            "Subject: %s %s\r\nMessage-ID: <%s@client.example>\r\n"
            "X-Marker: %s\r\n\r\n%s\r\n" % (
                subject, marker, marker, marker, body)).encode("utf-8")


class AppendBase(ImapCase):
    """Helpers shared by the test classes."""

    def raw(self, login=True):
        """A raw connection for what imaplib cannot send (LITERAL+,
        MULTIAPPEND, literal8, bad input, a disconnect in the middle of
        a literal): command() gives whole responses as bytes."""
        c = ImapConn(self.inst.imap_port, binary=True)
        self.addCleanup(c.close)
        if login:
            _, r = c.command('LOGIN "%s" "%s"' % (self.addr,
                                                  password_of(self.addr)))
            self.assertEqual(r.split()[1], b"OK", r)
        return c

    def folder_dir(self, folder=None):
        base = self.inst.maildir(self.addr)
        return base if folder is None else os.path.join(base, "." + folder)

    def files(self, folder=None, subs=("new", "cur")):
        """Message files of a folder (paths), sorted by name."""
        out = []
        for sub in subs:
            d = os.path.join(self.folder_dir(folder), sub)
            try:
                out += [os.path.join(d, n) for n in sorted(os.listdir(d))]
            except FileNotFoundError:
                pass
        return out

    def uidlist(self, folder=None):
        """(uidvalidity, next uid, {base name: uid}) of dovecot-uidlist."""
        data = read_file(os.path.join(self.folder_dir(folder),
                                      "dovecot-uidlist")).decode()
        lines = data.splitlines()
        head = lines[0].split()
        self.assertEqual(head[0], "3")
        fields = {f[0]: f[1:] for f in head[1:]}
        uids = {}
        for line in lines[1:]:
            h, _, base = line.partition(" :")
            uids[base] = int(h.split()[0])
        return int(fields["V"]), int(fields["N"]), uids

    def uid_of_file(self, path, folder=None):
        _, _, uids = self.uidlist(folder)
        return uids[os.path.basename(path).split(":2,")[0]]

    def assert_appenduid(self, text, folder=None, count=1):
        """The [APPENDUID v uids] of a reply: v is the folder's
        UIDVALIDITY and the UIDs are those the files got. Returns the
        UIDs."""
        if isinstance(text, bytes):
            text = text.decode()
        m = re.search(r"\[APPENDUID (\d+) ([\d:,]+)\]", text)
        self.assertIsNotNone(m, text)
        v, _, uids = self.uidlist(folder)
        self.assertEqual(int(m.group(1)), v)
        got = []
        for part in m.group(2).split(","):
            lo, _, hi = part.partition(":")
            got += list(range(int(lo), int(hi or lo) + 1))
        self.assertEqual(len(got), count, text)
        for u in got:
            self.assertIn(u, uids.values())
        return got


class AppendTest(AppendBase):
    """APPEND over the default instance."""

    def test_flags_and_date(self):
        m = self.imap()
        data = message(new_marker("ap"))
        typ, resp = m.append("INBOX", r"(\Seen \Flagged)",
                             '"17-Jul-1996 02:44:25 -0700"', data)
        self.assertEqual(typ, "OK", resp)
        uid = self.assert_appenduid(resp[0])[0]
        files = self.files()
        self.assertEqual(len(files), 1)
        path = files[0]
        self.assertTrue(path.endswith(":2,FS"), path)
        self.assertIn("/cur/", path)
        self.assertEqual(int(os.stat(path).st_mtime), 837596665)
        self.assertEqual(self.uid_of_file(path), uid)
        m.select("INBOX")
        typ, resp = m.uid("FETCH", str(uid), "(FLAGS INTERNALDATE)")
        self.assertEqual(typ, "OK")
        text = resp[0].decode()
        flags = re.search(r"FLAGS \(([^)]*)\)", text).group(1).split()
        # Appended to a mailbox nobody had selected: \Recent for the
        # SELECT that follows (as in Dovecot).
        self.assertEqual(sorted(flags), ["\\Flagged", "\\Recent",
                                         "\\Seen"])
        idate = re.search(r'INTERNALDATE "([^"]+)"', text).group(1)
        self.assertRegex(idate, r"^\d\d-[A-Z][a-z]{2}-\d{4} "
                                r"\d\d:\d\d:\d\d [+-]\d{4}$")
        when = datetime.datetime.strptime(idate, "%d-%b-%Y %H:%M:%S %z")
        self.assertEqual(int(when.timestamp()), 837596665)

    def test_no_flags_no_date(self):
        m = self.imap()
        before = time.time()
        typ, resp = m.append("INBOX", None, None, message(new_marker("ap")))
        self.assertEqual(typ, "OK", resp)
        path = self.files()[0]
        self.assertTrue(path.endswith(":2,"), path)
        mtime = os.stat(path).st_mtime
        self.assertTrue(before - 2 <= mtime <= time.time() + 2, mtime)

    def test_day_with_space(self):
        c = self.raw()
        data = message(new_marker("ap"))
        _, r = c.command(b'APPEND INBOX " 1-Feb-2020 10:00:00 +0000" {%d+}\r\n'
                     % len(data) + data)
        self.assertTrue(r.split()[1] == b"OK", r)
        self.assertEqual(int(os.stat(self.files()[0]).st_mtime), 1580551200)

    def test_appenduid_exact(self):
        m = self.imap()
        m.select("INBOX")
        uidnext = int(m.response("UIDNEXT")[1][0])
        uidvalidity = int(m.response("UIDVALIDITY")[1][0])
        for i in range(3):
            typ, resp = m.append("INBOX", None, None,
                                 message(new_marker("ap")))
            self.assertEqual(typ, "OK")
            self.assertEqual(resp[-1].decode().split("]")[0],
                             "[APPENDUID %d %d" % (uidvalidity, uidnext + i))
        v, n, uids = self.uidlist()
        self.assertEqual(v, uidvalidity)
        self.assertEqual(sorted(uids.values()),
                         [uidnext, uidnext + 1, uidnext + 2])
        self.assertEqual(n, uidnext + 3)

    def test_keywords(self):
        m = self.imap()
        typ, resp = m.append("INBOX", r"($Label1 Work \Answered)", None,
                             message(new_marker("ap")))
        self.assertEqual(typ, "OK", resp)
        uid = self.assert_appenduid(resp[0])[0]
        kw = read_file(os.path.join(self.folder_dir(),
                                    "dovecot-keywords")).decode()
        names = dict(line.split(" ", 1)[::-1] for line in kw.splitlines())
        self.assertIn("$Label1", names)
        self.assertIn("Work", names)
        letters = "".join(sorted(chr(ord("a") + int(names[k]))
                                 for k in ("$Label1", "Work")))
        path = self.files()[0]
        info = path.rsplit(":2,", 1)[1]
        self.assertEqual(info, "R" + letters)
        m.select("INBOX")
        typ, resp = m.uid("FETCH", str(uid), "FLAGS")
        flags = re.search(rb"FLAGS \(([^)]*)\)", resp[0]).group(1).split()
        self.assertEqual(sorted(flags), sorted([b"$Label1", b"Work",
                                                b"\\Answered",
                                                b"\\Recent"]))
        # The same keyword again (any case) uses the same letter.
        typ, _ = m.append("INBOX", r"(work)", None,
                          message(new_marker("ap")))
        self.assertEqual(typ, "OK")
        kw2 = read_file(os.path.join(self.folder_dir(),
                                     "dovecot-keywords")).decode()
        self.assertEqual(kw2.count("\n"), kw.count("\n"))

    def test_literal_plus(self):
        c = self.raw()
        data = message(new_marker("ap"))
        # One write: no continuation request may come.
        untagged, r = c.command(b"APPEND INBOX (\\Draft) {%d+}\r\n" % len(data)
                            + data)
        self.assertEqual(r.split()[1], b"OK", r)
        self.assertFalse(any(u.startswith(b"+") for u in untagged))
        self.assert_appenduid(r)
        self.assertEqual(len(self.files()), 1)
        self.assertTrue(self.files()[0].endswith(":2,D"))

    def test_sync_literal(self):
        c = self.raw()
        data = message(new_marker("ap"))
        c.send(b"s1 APPEND INBOX {%d}\r\n" % len(data))
        cont = c.response()
        self.assertTrue(cont.startswith(b"+ "), cont)
        c.send(data + b"\r\n")
        _, r = c.until_tagged("s1")
        self.assertEqual(r.split()[1], b"OK", r)
        self.assert_appenduid(r)

    def test_stored_exactly(self):
        m = self.imap()
        body = ("Line one\r\n\r\nUnicode: \u00e9\u00e8 \u2603\r\n"
                "trailing spaces   \r\n.\r\n..dots\r\n")
        data = message(new_marker("ap"), body=body)
        raw = data.replace(b"Unicode", b"8bit \xff\xfe Unicode")
        c = self.raw()
        _, r = c.command(b"APPEND INBOX {%d+}\r\n" % len(raw) + raw)
        self.assertEqual(r.split()[1], b"OK", r)
        uid = self.assert_appenduid(r)[0]
        path = self.files()[0]
        self.assertEqual(read_file(path), raw.replace(b"\r\n", b"\n"))
        # S= is the stored size; RFC822.SIZE and BODY[] the CRLF form.
        self.assertIn(",S=%d" % len(raw.replace(b"\r\n", b"\n")), path)
        m.select("INBOX", readonly=True)
        typ, resp = m.uid("FETCH", str(uid), "(RFC822.SIZE BODY.PEEK[])")
        self.assertEqual(typ, "OK")
        self.assertEqual(resp[0][1], raw)
        self.assertIn(b"RFC822.SIZE %d" % len(raw), resp[0][0])

    def test_empty_message(self):
        c = self.raw()
        _, r = c.command(b"APPEND INBOX {0+}\r\n")
        self.assertEqual(r.split()[1], b"NO", r)
        self.assertEqual(self.files(), [])

    def test_nul_in_literal(self):
        c = self.raw()
        data = message(new_marker("ap"), body="a\0b")
        _, r = c.command(b"APPEND INBOX {%d+}\r\n" % len(data) + data)
        self.assertEqual(r.split()[1], b"NO", r)
        self.assertEqual(self.files(), [])
        # As a literal8 (BINARY) it is taken, octet for octet.
        _, r = c.command(b"APPEND INBOX ~{%d+}\r\n" % len(data) + data)
        self.assertEqual(r.split()[1], b"OK", r)
        self.assertEqual(read_file(self.files()[0]),
                         data.replace(b"\r\n", b"\n"))

    def test_bad_flags(self):
        c = self.raw()
        data = message(new_marker("ap"))
        for flags in (b"(\\Recent)", b"(\\Foo)", b"(\\Seen \"x\")",
                      b"((\\Seen))", b"(\\Seen {1+}\r\nx)"):
            _, r = c.command(b"APPEND INBOX %s {%d+}\r\n" % (flags, len(data))
                         + data)
            self.assertEqual(r.split()[1], b"BAD", (flags, r))
        # A keyword with characters an atom cannot hold ("*", "%", "]"):
        # refused (syntax, or the flags code's NO [CANNOT]).
        for flags in (b"(a*b)", b"(a%b)", b"(a]b)"):
            _, r = c.command(b"APPEND INBOX %s {%d+}\r\n" % (flags, len(data))
                         + data)
            self.assertTrue(r.split()[1] == b"BAD" or
                            r.split()[1:3] == [b"NO", b"[CANNOT]"],
                            (flags, r))
        self.assertEqual(self.files(), [])

    def test_bad_dates(self):
        c = self.raw()
        data = message(new_marker("ap"))
        for date in (b"31-Feb-2024 00:00:00 +0000", b"1-Jan-2024 00:00:00",
                     b"01-Jan-24 00:00:00 +0000", b"01-Jan-2024 24:00:00 +0000",
                     b"Mon, 1 Jan 2024 00:00:00 +0000", b""):
            _, r = c.command(b'APPEND INBOX "%s" {%d+}\r\n' % (date, len(data))
                         + data)
            self.assertEqual(r.split()[1], b"BAD", (date, r))
        self.assertEqual(self.files(), [])

    def test_bad_syntax(self):
        c = self.raw()
        for cmd in (b"APPEND", b"APPEND INBOX", b"APPEND INBOX (\\Seen)",
                    b'APPEND INBOX "01-Jan-2024 00:00:00 +0000"',
                    b"APPEND INBOX text", b'APPEND INBOX (\\Seen) "x" {1+}\r\nx',
                    b"APPEND INBOX {1+}\r\nx extra",
                    b'APPEND INBOX "01-Jan-2024 00:00:00 +0000" (\\Seen) '
                    b'{1+}\r\nx'):
            _, r = c.command(cmd)
            self.assertEqual(r.split()[1], b"BAD", (cmd, r))
        self.assertEqual(self.files(), [])

    def test_trycreate(self):
        m = self.imap()
        typ, resp = m.append("NoSuchFolder", None, None,
                             message(new_marker("ap")))
        self.assertEqual(typ, "NO")
        self.assertTrue(resp[0].startswith(b"[TRYCREATE]"), resp)
        self.assertFalse(os.path.exists(self.folder_dir("NoSuchFolder")))
        # After CREATE the same APPEND works, into the folder.
        self.assertEqual(m.create("NoSuchFolder")[0], "OK")
        typ, resp = m.append("NoSuchFolder", None, None,
                             message(new_marker("ap")))
        self.assertEqual(typ, "OK", resp)
        self.assert_appenduid(resp[0], folder="NoSuchFolder")
        self.assertEqual(len(self.files("NoSuchFolder")), 1)

    def test_mutf7_mailbox(self):
        m = self.imap()
        self.assertEqual(m.create("Entw&APw-rfe")[0], "OK")
        typ, resp = m.append("Entw&APw-rfe", None, None,
                             message(new_marker("ap")))
        self.assertEqual(typ, "OK", resp)
        typ, data = m.select("Entw&APw-rfe")
        self.assertEqual((typ, data[0]), ("OK", b"1"))
        # The folder on disk is Dovecot's: the modified UTF-7 name.
        self.assert_appenduid(resp[0], folder="Entw&APw-rfe")
        self.assertEqual(len(self.files("Entw&APw-rfe")), 1)

    def test_bad_mailbox_names(self):
        m = self.imap()
        for name in ('"a/../b"', '"..x"', '".hidden"', '"&Jjo"'):
            typ, resp = m.append(name, None, None, message(new_marker("ap")))
            self.assertIn(typ, ("NO", "BAD"), (name, resp))
        self.assertEqual(self.files(), [])

    def test_exists_in_selected(self):
        m = self.imap()
        m.select("INBOX")
        other = self.imap()
        typ, _ = other.append("INBOX", None, None, message(new_marker("ap")))
        self.assertEqual(typ, "OK")
        # APPEND from this session to its selected mailbox: EXISTS comes
        # before the tagged OK (for both messages).
        c = self.raw()
        c.command("SELECT INBOX")
        data = message(new_marker("ap"))
        untagged, r = c.command(b"APPEND INBOX {%d+}\r\n" % len(data) + data)
        self.assertEqual(r.split()[1], b"OK", r)
        self.assertIn(b"* 2 EXISTS", untagged)
        # The first session hears of both at its next command.
        typ, _ = m.noop()
        self.assertEqual(m.untagged_responses.get("EXISTS", [b"?"])[-1],
                         b"2")

    def test_multiappend(self):
        c = self.raw()
        a, b, d = (message(new_marker("ma%d" % i)) for i in range(3))
        cmd = (b"APPEND INBOX (\\Seen) {%d+}\r\n%s "
               b"(\\Flagged) \"01-Jan-2020 00:00:00 +0000\" {%d+}\r\n%s "
               b"~{%d+}\r\n%s" % (len(a), a, len(b), b, len(d), d))
        _, r = c.command(cmd)
        self.assertEqual(r.split()[1], b"OK", r)
        uids = self.assert_appenduid(r, count=3)
        self.assertEqual(uids, [uids[0], uids[0] + 1, uids[0] + 2])
        self.assertIn(b"[APPENDUID %s %d:%d]" % (
            r.split(b"APPENDUID ")[1].split()[0], uids[0], uids[2]), r)
        by_uid = {self.uid_of_file(p): p for p in self.files()}
        self.assertTrue(by_uid[uids[0]].endswith(":2,S"))
        self.assertTrue(by_uid[uids[1]].endswith(":2,F"))
        self.assertEqual(int(os.stat(by_uid[uids[1]]).st_mtime), 1577836800)
        self.assertTrue(by_uid[uids[2]].endswith(":2,"))
        for uid, data in zip(uids, (a, b, d)):
            self.assertEqual(read_file(by_uid[uid]),
                             data.replace(b"\r\n", b"\n"))

    def test_multiappend_atomic(self):
        c = self.raw()
        _, n_before, _ = self.uidlist() if os.path.exists(os.path.join(
            self.folder_dir(), "dovecot-uidlist")) else (0, 0, {})
        a = message(new_marker("at"))
        bad_cases = [
            (b"NO", b"{%d+}\r\n%s {0+}\r\n" % (len(a), a)),
            (b"BAD", b"{%d+}\r\n%s (\\Recent) {%d+}\r\n%s" % (
                len(a), a, len(a), a)),
            (b"BAD", b"{%d+}\r\n%s \"99-Jan-2020 00:00:00 +0000\" {%d+}\r\n%s"
             % (len(a), a, len(a), a)),
            (b"BAD", b"{%d+}\r\n%s (\\Seen)" % (len(a), a)),
            (b"NO", b"{%d+}\r\n%s {%d+}\r\nx\0y" % (len(a), a, 3)),
        ]
        for want, rest in bad_cases:
            _, r = c.command(b"APPEND INBOX " + rest)
            self.assertEqual(r.split()[1], want, (rest[-40:], r))
        self.assertEqual(self.files(), [])
        self.assertEqual(self.files(subs=("tmp",)), [])
        # No UID was used up: the next message gets the first one.
        _, r = c.command(b"APPEND INBOX {%d+}\r\n%s" % (len(a), a))
        self.assertEqual(r.split()[1], b"OK", r)
        v, n, uids = self.uidlist()
        self.assertEqual(list(uids.values()), [max(n_before, 1)])

    def test_replace(self):
        c = self.raw()
        old = message(new_marker("old"))
        _, r = c.command(b"APPEND INBOX (\\Draft) {%d+}\r\n%s" % (len(old), old))
        old_uid = self.assert_appenduid(r)[0]
        untagged, r = c.command("SELECT INBOX")
        self.assertIn(b"* 1 EXISTS", untagged)
        new = message(new_marker("new"), body="Edited.")
        untagged, r = c.command(b"UID REPLACE %d INBOX (\\Draft \\Seen) "
                            b"{%d+}\r\n%s" % (old_uid, len(new), new))
        self.assertEqual(r.split()[1], b"OK", r)
        v, _, _ = self.uidlist()
        self.assertEqual(untagged[0], b"* OK [APPENDUID %d %d] Replacement "
                         b"Message ready." % (v, old_uid + 1))
        # The new message and the expunge of the old, in either order
        # (RFC 8508 shows EXISTS first; EXPUNGE first is as valid).
        news = [u for u in untagged[1:] if u.endswith((b" EXISTS",
                                                       b" EXPUNGE"))]
        self.assertIn(news, ([b"* 2 EXISTS", b"* 1 EXPUNGE"],
                             [b"* 1 EXPUNGE", b"* 1 EXISTS"]), untagged)
        files = self.files()
        self.assertEqual(len(files), 1)
        self.assertEqual(read_file(files[0]), new.replace(b"\r\n", b"\n"))
        self.assertTrue(files[0].endswith(":2,DS"))
        self.assertEqual(self.uid_of_file(files[0]), old_uid + 1)

    def test_replace_by_sequence_into_other(self):
        m = self.imap()
        self.assertEqual(m.create("Sent2")[0], "OK")
        m.logout()
        c = self.raw()
        for i in range(2):
            d = message(new_marker("r%d" % i))
            c.command(b"APPEND INBOX {%d+}\r\n%s" % (len(d), d))
        c.command("SELECT INBOX")
        new = message(new_marker("sent"))
        untagged, r = c.command(b"REPLACE 1 Sent2 {%d+}\r\n%s" % (len(new), new))
        self.assertEqual(r.split()[1], b"OK", r)
        self.assertTrue(untagged[0].startswith(b"* OK [APPENDUID "),
                        untagged)
        self.assertIn(b"* 1 EXPUNGE", untagged)
        self.assertNotIn(b"* 3 EXISTS", untagged)
        self.assert_appenduid(untagged[0], folder="Sent2")
        self.assertEqual(len(self.files()), 1)
        sent = self.files("Sent2")
        self.assertEqual(len(sent), 1)
        self.assertEqual(read_file(sent[0]), new.replace(b"\r\n", b"\n"))
        # Sequence number 2 is gone now; a UID that does not exist is NO.
        _, r = c.command(b"REPLACE 2 INBOX {%d+}\r\n%s" % (len(new), new))
        self.assertEqual(r.split()[1], b"BAD", r)
        _, r = c.command(b"UID REPLACE 999 INBOX {%d+}\r\n%s" % (len(new), new))
        self.assertEqual(r.split()[1], b"NO", r)
        self.assertEqual(len(self.files()), 1)
        self.assertEqual(len(self.files("Sent2")), 1)

    def test_replace_errors(self):
        c = self.raw()
        d = message(new_marker("re"))
        c.command(b"APPEND INBOX {%d+}\r\n%s" % (len(d), d))
        # Not selected: REPLACE is a selected-state command.
        _, r = c.command(b"REPLACE 1 INBOX {%d+}\r\n%s" % (len(d), d))
        self.assertEqual(r.split()[1], b"BAD", r)
        c.command("EXAMINE INBOX")
        _, r = c.command(b"REPLACE 1 INBOX {%d+}\r\n%s" % (len(d), d))
        self.assertEqual(r.split()[1], b"NO", r)
        c.command("SELECT INBOX")
        # Missing mailbox: TRYCREATE, and the old message stays.
        _, r = c.command(b"REPLACE 1 Nowhere {%d+}\r\n%s" % (len(d), d))
        self.assertIn(b"NO [TRYCREATE]", r)
        # One message only.
        _, r = c.command(b"REPLACE 1 INBOX {%d+}\r\n%s {%d+}\r\n%s" % (
            len(d), d, len(d), d))
        self.assertEqual(r.split()[1], b"BAD", r)
        self.assertEqual(len(self.files()), 1)

    def test_utf8_item(self):
        c = self.raw()
        data = ("Subject: \u00fcber \u2603\r\nFrom: <j\u00f6@example.test>"
                "\r\n\r\nUTF-8 headers.\r\n").encode("utf-8")
        item = b"APPEND INBOX UTF8 (~{%d+}\r\n%s)" % (len(data), data)
        _, r = c.command(item)
        self.assertEqual(r.split()[1], b"BAD", r)
        _, r = c.command("ENABLE UTF8=ACCEPT")
        self.assertEqual(r.split()[1], b"OK", r)
        _, r = c.command(item)
        self.assertEqual(r.split()[1], b"OK", r)
        self.assertEqual(read_file(self.files()[0]),
                         data.replace(b"\r\n", b"\n"))
        _, r = c.command(b"APPEND INBOX UTF8 ({%d+}\r\n%s)" % (len(data), data))
        self.assertEqual(r.split()[1], b"BAD", r)

    def test_not_authenticated(self):
        c = self.raw(login=False)
        _, r = c.command(b"APPEND INBOX {1+}\r\nx")
        self.assertEqual(r.split()[1], b"BAD", r)
        self.assertEqual(self.files(), [])

    def disconnect_mid_literal(self, nonsync):
        c = self.raw()
        since = self.inst.log_size()
        data = message(new_marker("dc"), body="x" * 5000)
        if nonsync:
            c.send(b"d1 APPEND INBOX {%d+}\r\n" % len(data) + data[:2000])
        else:
            c.send(b"d1 APPEND INBOX {%d}\r\n" % len(data))
            self.assertTrue(c.response().startswith(b"+ "))
            c.send(data[:2000])
        time.sleep(0.2)
        c.close()
        # The session ends (its last log line) and leaves nothing.
        self.assertTrue(self.inst.wait_log(
            r"imapd.*disconnected: .*user=<%s>" % re.escape(self.addr),
            timeout=20, since=since), self.inst.diagnostics())
        self.assertEqual(self.files(), [])
        self.assertEqual(self.files(subs=("tmp",)), [])

    def test_disconnect_mid_literal(self):
        self.disconnect_mid_literal(False)
        self.disconnect_mid_literal(True)


QUOTA = 4000


class QuotaTest(AppendBase):
    """An instance with virtual_mailbox_quota: APPEND over it is
    NO [OVERQUOTA], and maildirsize follows what is stored."""

    CONFIG = {"disable_plaintext_auth": "no",
              "virtual_mailbox_quota": str(QUOTA)}

    def maildirsize(self):
        data = read_file(os.path.join(self.folder_dir(), "maildirsize"))
        lines = data.decode().splitlines()
        total = [0, 0]
        for line in lines[1:]:
            b, n = line.split()
            total[0] += int(b)
            total[1] += int(n)
        return lines[0], total

    def test_overquota(self):
        c = self.raw()
        big = message(new_marker("q"), body="y" * 2500)
        stored = len(big.replace(b"\r\n", b"\n"))
        _, r = c.command(b"APPEND INBOX {%d+}\r\n%s" % (len(big), big))
        self.assertEqual(r.split()[1], b"OK", r)
        limit, total = self.maildirsize()
        self.assertEqual(limit, "%dS" % QUOTA)
        self.assertEqual(total, [stored, 1])
        _, r = c.command(b"APPEND INBOX {%d+}\r\n%s" % (len(big), big))
        self.assertIn(b"NO [OVERQUOTA]", r)
        self.assertEqual(len(self.files()), 1)
        self.assertEqual(self.maildirsize()[1], [stored, 1])
        # A MULTIAPPEND whose parts fit alone but not together: nothing.
        small = message(new_marker("q"), body="z" * 600)
        _, r = c.command(b"APPEND INBOX {%d+}\r\n%s {%d+}\r\n%s" % (
            len(small), small, len(small), small))
        self.assertIn(b"NO [OVERQUOTA]", r)
        self.assertEqual(len(self.files()), 1)
        # One of them fits.
        _, r = c.command(b"APPEND INBOX {%d+}\r\n%s" % (len(small), small))
        self.assertEqual(r.split()[1], b"OK", r)
        self.assertEqual(self.maildirsize()[1],
                         [stored + len(small.replace(b"\r\n", b"\n")), 2])

    def test_replace_within_quota(self):
        c = self.raw()
        draft = message(new_marker("q"), body="y" * 3000)
        _, r = c.command(b"APPEND INBOX (\\Draft) {%d+}\r\n%s" % (
            len(draft), draft))
        self.assertEqual(r.split()[1], b"OK", r)
        c.command("SELECT INBOX")
        # The edited draft fits only because the old one goes.
        edited = message(new_marker("q"), body="w" * 3100)
        _, r = c.command(b"APPEND INBOX {%d+}\r\n%s" % (len(edited), edited))
        self.assertIn(b"NO [OVERQUOTA]", r)
        untagged, r = c.command(b"REPLACE 1 INBOX (\\Draft) {%d+}\r\n%s" % (
            len(edited), edited))
        self.assertEqual(r.split()[1], b"OK", r)
        self.assertIn(b"* 1 EXPUNGE", untagged)
        files = self.files()
        self.assertEqual(len(files), 1)
        self.assertEqual(read_file(files[0]),
                         edited.replace(b"\r\n", b"\n"))
        self.assertEqual(self.maildirsize()[1],
                         [len(edited.replace(b"\r\n", b"\n")), 1])


class TooBigTest(AppendBase):
    """An instance with a small imapd_append_limit: APPENDLIMIT says it,
    a synchronising literal over it is refused with [TOOBIG] before the
    data is sent, and the session goes on."""

    LIMIT = 3000
    CONFIG = {"disable_plaintext_auth": "no",
              "imapd_append_limit": str(LIMIT)}

    def test_toobig(self):
        c = self.raw()
        untagged, r = c.command("CAPABILITY")
        self.assertIn(b" APPENDLIMIT=%d" % self.LIMIT, untagged[0])
        c.send(b"b1 APPEND INBOX {%d}\r\n" % (self.LIMIT + 1))
        r = c.response()
        self.assertTrue(r.startswith(b"b1 NO [TOOBIG]"), r)
        # The session goes on; exactly the limit is fine.
        data = message(new_marker("tb"))
        data += b"x" * (self.LIMIT - len(data) - 2) + b"\r\n"
        self.assertEqual(len(data), self.LIMIT)
        c.send(b"b2 APPEND INBOX {%d}\r\n" % len(data))
        self.assertTrue(c.response().startswith(b"+ "))
        c.send(data + b"\r\n")
        _, r = c.until_tagged("b2")
        self.assertEqual(r.split()[1], b"OK", r)
        self.assertEqual(len(self.files()), 1)
        # Announcements of 4 GiB and beyond: refused before any data.
        for size in (4294967295, 4294967296, 2 ** 63):
            _, r = c.command(b"APPEND INBOX {%d}" % size)
            self.assertTrue(r.startswith(b"t%d NO [TOOBIG]" % c.seq), r)
        _, r = c.command(b"APPEND INBOX {%d}" % 10 ** 30)
        self.assertTrue(r.split()[1] in (b"NO", b"BAD"), r)
        _, r = c.command("NOOP")
        self.assertEqual(r.split()[1], b"OK", r)

    def test_toobig_nonsync(self):
        c = self.raw()
        data = b"x" * (self.LIMIT + 1)
        c.send(b"n1 APPEND INBOX {%d+}\r\n" % len(data) + data + b"\r\n")
        # The data cannot be skipped safely: the session ends.
        lines = []
        try:
            for _ in range(10):
                lines.append(c.response())
        except (EOFError, ConnectionResetError, OSError):
            pass
        self.assertTrue(any(l.startswith(b"* BYE") or b"TOOBIG" in l
                            for l in lines), lines)
        self.assertTrue(c.closed(10))
        self.assertEqual(self.files(), [])

