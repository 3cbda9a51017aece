"""The message cache (lib/mailstore_cache, imapd_msgdata) over a real
instance: once a FETCH has computed them, ENVELOPE, BODYSTRUCTURE, BODY,
header fields and PREVIEW come from the folder's surel-cache without
opening a message file, in this session and in later ones.

How "without opening" is shown: an inotify watch on the folder's cur/
and new/ sees every open(2) of a message file by any process (IN_OPEN).
The first FETCH must open each message once (the positive control: the
watch works, and one parse serves header and structure); a FETCH of the
same items in a new session must open none, while a body section still
opens its file. A second proof from the outside: a message file changed
in place (same name and size, which the Maildir contract forbids)
keeps its cached ENVELOPE and BODYSTRUCTURE while BODY[TEXT] shows the
new octets. Then correctness: a new UIDVALIDITY, a damaged cache file,
expunges and new messages, a header larger than the read-ahead, a
message that is mapped rather than read, and two sessions warming one
mailbox at once."""

import ctypes
import ctypes.util
import os
import struct
import threading
import time
import unittest

from imap_util import ImapCase, fetch_lines, put_file, uidvalidity_of
from instance import read_file

CACHE = "surel-cache"

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
IN_OPEN = 0x20
IN_ISDIR = 0x40000000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000


class OpenWatch:
    """Counts the files opened in a Maildir folder's cur/ and new/."""

    def __init__(self, folder):
        self.fd = _libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        for sub in ("cur", "new"):
            path = os.path.join(folder, sub).encode()
            if _libc.inotify_add_watch(self.fd, path, IN_OPEN) < 0:
                raise OSError(ctypes.get_errno(), "inotify_add_watch")

    def take(self):
        """The names of the files opened since the last call. The events
        of an open are queued before open() returns, so everything the
        server did before its tagged reply is there."""
        names = []
        for _ in range(100000):
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return names
            pos = 0
            while pos + 16 <= len(data):
                _wd, mask, _cookie, n = struct.unpack_from("iIII", data, pos)
                name = data[pos + 16:pos + 16 + n].rstrip(b"\0")
                if name and not mask & IN_ISDIR:
                    names.append(name.decode())
                pos += 16 + n
        raise AssertionError("endless inotify events")

    def close(self):
        os.close(self.fd)


PLAIN = (b"From: Alice <alice@example.test>\nTo: bob@example.test\n"
         b"Subject: plain one\nDate: Tue, 14 Nov 2023 10:00:00 +0000\n"
         b"Message-ID: <plain@test>\n\nHello Bob,\nhow are you?\n")

MIXED = (b"From: carol@example.test\nTo: dave@example.test\n"
         b"Subject: =?utf-8?q?R=C3=A9sum=C3=A9?=\nMIME-Version: 1.0\n"
         b"Content-Type: multipart/mixed; boundary=\"XX\"\n\n"
         b"preamble\n--XX\nContent-Type: text/plain; charset=utf-8\n"
         b"Content-Transfer-Encoding: 8bit\n\nVoil\xc3\xa0 the file.\n"
         b"--XX\nContent-Type: application/pdf; name=\"a.pdf\"\n"
         b"Content-Disposition: attachment; filename*=utf-8''r%C3%A9.pdf\n"
         b"Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--XX--\n")

ALTERNATIVE = (b"From: eve@example.test\nSubject: html\n"
               b"Content-Type: multipart/alternative; boundary=b1\n\n"
               b"--b1\nContent-Type: text/html; charset=us-ascii\n\n"
               b"<html><body><p>Only&nbsp;<b>HTML</b> here</p></body>"
               b"</html>\n--b1--\n")

FORWARD = (b"From: frank@example.test\nSubject: fwd\n"
           b"Content-Type: multipart/mixed; boundary=o\n\n"
           b"--o\nContent-Type: text/plain\n\nSee below.\n"
           b"--o\nContent-Type: message/rfc822\n\n"
           b"From: grace@example.test\nSubject: inner\n"
           b"Content-Type: text/plain\n\ninner body\n--o--\n")

ITEMS = ("(UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY "
         "BODY.PEEK[HEADER.FIELDS (Subject From)] PREVIEW)")


class CacheCase(ImapCase):

    def watch(self, folder):
        w = OpenWatch(folder)
        self.addCleanup(w.close)
        return w

    def put_samples(self, box):
        """PLAIN, MIXED, ALTERNATIVE and FORWARD in box; their paths."""
        return [put_file(self.inst, box, m)
                for m in (PLAIN, MIXED, ALTERNATIVE, FORWARD)]

    def session_fetch(self, items=ITEMS, watch=None, select="SELECT INBOX"):
        """A new session's FETCH 1:* of items: ({msn: text}, opened files
        during the FETCH alone)."""
        c = self.client()
        c.ok(select)
        if watch is not None:
            watch.take()
        got = fetch_lines(c.ok("FETCH 1:* " + items))
        opened = watch.take() if watch is not None else None
        c.ok("LOGOUT")
        return got, opened


class Cache(CacheCase):

    def test_second_session_opens_nothing(self):
        box = self.inbox()
        paths = self.put_samples(box)
        names = sorted(os.path.basename(p) for p in paths)
        w = self.watch(box)
        first, opened = self.session_fetch(watch=w)
        # One open per message: header, structure and preview from one
        # read and one parse.
        self.assertEqual(sorted(opened), names)
        self.assertTrue(os.path.exists(os.path.join(box, CACHE)))
        second, opened = self.session_fetch(watch=w)
        self.assertEqual(opened, [])
        self.assertEqual(second, first)
        # The items exactly, for the simplest message (body sections
        # come last).
        size = len(PLAIN) + PLAIN.count(b"\n")
        alice = '(("Alice" NIL "alice" "example.test"))'
        fields = ("From: Alice <alice@example.test>\r\n"
                  "Subject: plain one\r\n\r\n")
        self.assertEqual(second[1], (
            'UID 1 FLAGS () RFC822.SIZE %d ENVELOPE ("Tue, 14 Nov 2023 '
            '10:00:00 +0000" "plain one" %s %s %s ((NIL NIL "bob" '
            '"example.test")) NIL NIL NIL "<plain@test>") BODYSTRUCTURE '
            '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 26 2 '
            'NIL NIL NIL NIL) BODY ("text" "plain" ("charset" "us-ascii") '
            'NIL NIL "7bit" 26 2) PREVIEW "Hello Bob, how are you?" '
            'BODY[HEADER.FIELDS (SUBJECT FROM)] {%d}\r\n%s') % (
                size, alice, alice, alice, len(fields), fields))
        self.assertIn('PREVIEW "Only HTML here"', second[3])
        self.assertIn('PREVIEW "See below."', second[4])
        self.assertIn('"message" "rfc822" NIL NIL NIL "7bit"', second[4])
        # The benchmark's FETCH, too, opens nothing once cached.
        _, opened = self.session_fetch(
            "(UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE)", watch=w)
        self.assertEqual(opened, [])
        # A body section is read from the file: the watch sees it.
        _, opened = self.session_fetch("BODY.PEEK[TEXT]", watch=w)
        self.assertEqual(sorted(opened), names)

    def test_same_session_second_fetch(self):
        box = self.inbox()
        self.put_samples(box)
        w = self.watch(box)
        c = self.client()
        c.ok("SELECT INBOX")
        w.take()
        first = fetch_lines(c.ok("FETCH 1:* " + ITEMS))
        self.assertEqual(len(w.take()), 4)
        second = fetch_lines(c.ok("FETCH 1:* " + ITEMS))
        self.assertEqual(w.take(), [])
        self.assertEqual(second, first)
        # Asking for BODY alone after BODYSTRUCTURE: cached together.
        fetch_lines(c.ok("UID FETCH 1:* (BODY)"))
        self.assertEqual(w.take(), [])

    def test_cached_values_are_served(self):
        """A file changed in place (same name and size) keeps its cached
        items: they do not come from the file. Body sections do."""
        box = self.inbox()
        path = put_file(self.inst, box, PLAIN)
        before, _ = self.session_fetch("(ENVELOPE BODYSTRUCTURE)")
        changed = PLAIN.replace(b"plain one", b"CHANGED!!").replace(
            b"Hello Bob", b"Bye-bye X")
        self.assertEqual(len(changed), len(PLAIN))
        with open(path, "r+b") as f:
            f.write(changed)
        after, _ = self.session_fetch("(ENVELOPE BODYSTRUCTURE)")
        self.assertEqual(after, before)
        self.assertIn('"plain one"', after[1])
        text, _ = self.session_fetch("BODY.PEEK[TEXT]")
        self.assertIn("Bye-bye X", text[1])

    def test_new_uidvalidity(self):
        box = self.inbox()
        path = put_file(self.inst, box, PLAIN)
        before, _ = self.session_fetch("(ENVELOPE)")
        self.assertIn('"plain one"', before[1])
        uv = uidvalidity_of(box)
        # A new UIDVALIDITY is the time: let it move on.
        time.sleep(1.1)
        # Both UID maps lost: new UIDVALIDITY, and the cache of the old
        # one must not be believed (the content changed meanwhile).
        for name in ("dovecot-uidlist", "surel-index"):
            os.unlink(os.path.join(box, name))
        with open(path, "r+b") as f:
            f.write(PLAIN.replace(b"plain one", b"other one"))
        after, _ = self.session_fetch("(ENVELOPE)")
        self.assertNotEqual(uidvalidity_of(box), uv)
        self.assertIn('"other one"', after[1])
        self.assertEqual(read_file(os.path.join(box, CACHE))[12:16],
                         struct.pack("<I", uidvalidity_of(box)))

    def test_damaged_cache_file(self):
        box = self.inbox()
        self.put_samples(box)
        good, _ = self.session_fetch()
        cache = os.path.join(box, CACHE)
        data = bytearray(read_file(cache))
        # Damage in the middle of the records, then garbage at the end.
        data[len(data) // 2] ^= 0xff
        with open(cache, "wb") as f:
            f.write(bytes(data) + b"\x07" * 33)
        got, _ = self.session_fetch()
        self.assertEqual(got, good)
        # Rewritten whole: a third session opens nothing.
        w = self.watch(box)
        got, opened = self.session_fetch(watch=w)
        self.assertEqual(opened, [])
        self.assertEqual(got, good)
        # Not a cache at all.
        with open(cache, "wb") as f:
            f.write(b"garbage")
        got, _ = self.session_fetch()
        self.assertEqual(got, good)

    def test_expunge_and_new(self):
        box = self.inbox()
        paths = self.put_samples(box)
        self.session_fetch()
        c = self.client()
        c.ok("SELECT INBOX")
        c.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
        c.ok("EXPUNGE")
        c.ok("LOGOUT")
        new = put_file(self.inst, box, PLAIN.replace(
            b"plain one", b"newcomer!"))
        w = self.watch(box)
        got, opened = self.session_fetch("(UID ENVELOPE BODYSTRUCTURE)",
                                         watch=w)
        self.assertEqual(opened, [os.path.basename(new)])
        self.assertEqual(len(got), 4)
        self.assertIn("UID 5 ", got[4])
        self.assertIn('"newcomer!"', got[4])
        self.assertIn('"plain one"', got[1])
        self.assertFalse(os.path.exists(paths[1]))

    def test_big_header(self):
        """A header larger than the read-ahead (256 KiB) comes whole."""
        box = self.inbox()
        received = b"".join(b"Received: from host%05d.example.test by mx;"
                            b" Tue, 14 Nov 2023 10:00:00 +0000\n" % i
                            for i in range(4000))
        data = received + PLAIN
        self.assertGreater(len(received), 256 * 1024)
        put_file(self.inst, box, data)
        header = data[:data.index(b"\n\n") + 2].replace(b"\n", b"\r\n")
        for _ in range(2):
            c = self.client()
            c.ok("SELECT INBOX")
            got = c.ok("FETCH 1 (BODY.PEEK[HEADER])")
            self.assertEqual(got[0], "1 FETCH (BODY[HEADER] {%d}\r\n%s)" % (
                len(header), header.decode()))
            got = c.ok("FETCH 1 (ENVELOPE)")
            self.assertIn('"plain one"', got[0])
            c.close()

    def test_mapped_message(self):
        """A message over 256 KiB is mapped, not read: same results."""
        box = self.inbox()
        body = b"".join(b"line %06d of a long text\n" % i
                        for i in range(20000))
        data = (b"From: h@example.test\nSubject: big\n"
                b"Content-Type: text/plain\n\n" + body)
        put_file(self.inst, box, data)
        first, _ = self.session_fetch("(BODYSTRUCTURE PREVIEW)")
        self.assertEqual(first[1], (
            'BODYSTRUCTURE ("text" "plain" ("charset" "us-ascii") NIL NIL '
            '"7bit" %d 20000 NIL NIL NIL NIL) PREVIEW "%s"') % (
                len(body) + 20000,
                " ".join("line %06d of a long text" % i
                         for i in range(9))[:200].rstrip()))
        second, _ = self.session_fetch("(BODYSTRUCTURE PREVIEW)")
        self.assertEqual(second, first)

    def test_two_sessions_warming(self):
        """Two sessions fill the cache of one mailbox at once: both get
        the same answers, and afterwards everything is cached."""
        box = self.inbox()
        for i in range(60):
            put_file(self.inst, box, PLAIN.replace(
                b"plain one", b"msg %04d!" % i))
        results = [None, None]
        errors = []

        def run(k):
            try:
                results[k] = self.session_fetch()[0]
            except Exception as e:  # reported below
                errors.append(e)
        threads = [threading.Thread(target=run, args=(k,)) for k in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        self.assertEqual(results[0], results[1])
        self.assertEqual(len(results[0]), 60)
        self.assertIn('"msg 0059!"', results[0][60])
        w = self.watch(box)
        got, opened = self.session_fetch(watch=w)
        self.assertEqual(opened, [])
        self.assertEqual(got, results[0])

    def test_examine_and_folder(self):
        """EXAMINE uses and fills the cache too; each folder has its own."""
        root = self.inbox()
        box = self.folder("Archive")
        put_file(self.inst, box, MIXED)
        first, _ = self.session_fetch("(BODYSTRUCTURE)",
                                      select="EXAMINE Archive")
        self.assertTrue(os.path.exists(os.path.join(box, CACHE)))
        self.assertFalse(os.path.exists(os.path.join(root, CACHE)))
        w = self.watch(box)
        second, opened = self.session_fetch("(BODYSTRUCTURE)", watch=w,
                                            select="EXAMINE Archive")
        self.assertEqual(opened, [])
        self.assertEqual(second, first)
        self.assertIn('("attachment" ("filename*" "utf-8\'\'r%C3%A9.pdf"))',
                      first[1])


if __name__ == "__main__":
    unittest.main()
