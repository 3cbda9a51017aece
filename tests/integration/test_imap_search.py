"""SEARCH, SORT and THREAD over a real instance (RFC 3501 / RFC 9051
6.4.4, ESEARCH RFC 4731, SEARCHRES RFC 5182, CONDSTORE's MODSEQ RFC 7162,
WITHIN RFC 5032, SAVEDATE RFC 8514, SORT and THREAD RFC 5256,
SORT=DISPLAY RFC 5957): every search key, alone and combined, on a
mailbox of messages with known flags, dates, sizes and contents -- RFC
2047 encoded words in headers, bodies in quoted-printable, base64 and
ISO-8859-1, a multipart/alternative with an attachment, an embedded
message -- with CHARSET UTF-8 strings in Greek, Cyrillic and accented
Latin; ESEARCH and "$"; SORT and THREAD replies checked exactly; header
searches that must not open a message file once cached; bad input. The
mailbox is put into the Maildir as another program would (exact dates
and flags), and one message comes by SMTP. A last class runs a battery
of commands against a private Dovecot on a copy of the same Maildir and
compares the replies (skipped without Dovecot). One mailbox per test;
the client is a raw socket that sees every octet."""

import calendar
import os
import re
import time
import unittest

import dovecot
from imap_util import ImapCase, chown_tree, copy_maildir, crlf_len
from imap_util import literal_plus as lit

TIMEOUT = 20
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
          "Oct", "Nov", "Dec")
# Noon UTC of a day: far from midnight in every time zone people use.
DAY = 86400
T0 = calendar.timegm((2023, 11, 14, 12, 0, 0))

# The mailbox: (file name info, INTERNALDATE, octets). Message n is
# sequence number n (files are named in this order). Flags: M1 \Seen,
# M2 \Answered \Flagged, M3 keyword $Label1, M4 \Deleted \Draft, M5 and
# M6 in new/ (\Recent for the first session).
M1 = (b"From: Alice Example <alice@example.test>\n"
      b"To: Bob <bob@example.test>\n"
      b"Cc: carol@example.test\n"
      b"Subject: Meeting tomorrow\n"
      b"Date: Mon, 13 Nov 2023 23:30:00 -0800\n"
      b"Message-ID: <m1@example.test>\n"
      b"\n"
      b"Let us meet at noon.\n")
M2 = (b"From: =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <jorg@example.org>\n"
      b"To: alice@example.test\n"
      b"Subject: =?utf-8?q?Re=3A_Caf=C3=A9_cr=C3=A8me?=\n"
      b"Date: Tue, 14 Nov 2023 10:00:00 +0100\n"
      b"Message-ID: <m2@example.org>\n"
      b"References: <m1@example.test>\n"
      b"In-Reply-To: <m1@example.test>\n"
      b"MIME-Version: 1.0\n"
      b"Content-Type: text/plain; charset=utf-8\n"
      b"Content-Transfer-Encoding: quoted-printable\n"
      b"\n"
      b"un caf=C3=A9 cr=C3=A8me, =CF=83=CE=AF=CF=83=CF=85=CF=86=CE=BF=CF=82 =\n"
      b"et =D0=BF=D1=80=D0=B8=D0=B2=D0=B5=D1=82\n")
M3 = (b"From: dora@example.test\n"
      b"To: Alice <alice@example.test>\n"
      b"Subject: Photos from Munich\n"
      b"Message-ID: <m3@example.test>\n"
      b"MIME-Version: 1.0\n"
      b"Content-Type: multipart/mixed; boundary=\"OUT\"\n"
      b"\n"
      b"--OUT\n"
      b"Content-Type: multipart/alternative; boundary=\"ALT\"\n"
      b"\n"
      b"--ALT\n"
      b"Content-Type: text/plain; charset=utf-8\n"
      b"Content-Transfer-Encoding: base64\n"
      b"\n"
      b"R3LDvMOfZSBhdXMgTcO8bmNoZW4K\n"
      b"--ALT\n"
      b"Content-Type: text/html; charset=iso-8859-1\n"
      b"Content-Transfer-Encoding: quoted-printable\n"
      b"\n"
      b"<p>Gr=FC=DFe aus M=FCnchen, sch=F6n</p>\n"
      b"--ALT--\n"
      b"--OUT\n"
      b"Content-Type: image/jpeg; name=\"photo.jpg\"\n"
      b"Content-Transfer-Encoding: base64\n"
      b"\n"
      b"c2VjcmV0d29yZCBpbiBhbiBpbWFnZQ==\n"
      b"--OUT--\n")
M4 = (b"From: Eve <eve@example.test>\n"
      b"To: list@example.test\n"
      b"Bcc: hidden@example.test\n"
      b"Subject: [list] other things\n"
      b"Date: Wed, 15 Nov 2023 08:00:00 +0000\n"
      b"Message-ID: <m4@example.test>\n"
      b"Content-Type: text/plain; charset=iso-8859-1\n"
      b"Content-Transfer-Encoding: 8bit\n"
      b"\n"
      b"A na\xefve fa\xe7ade.\n")
M5 = (b"From: frank@example.test\n"
      b"To: alice@example.test\n"
      b"Subject: Re: [list] other things\n"
      b"Date: Thu, 16 Nov 2023 09:00:00 +0000\n"
      b"Message-ID: <m5@example.test>\n"
      b"In-Reply-To: <m4@example.test>\n"
      b"MIME-Version: 1.0\n"
      b"Content-Type: multipart/mixed; boundary=\"MM\"\n"
      b"\n"
      b"--MM\n"
      b"Content-Type: text/plain\n"
      b"\n"
      b"See the attached message.\n" + b"padding line\n" * 400 +
      b"--MM\n"
      b"Content-Type: message/rfc822\n"
      b"\n"
      b"From: inner@example.test\n"
      b"Subject: inner subject\n"
      b"\n"
      b"inner body text\n"
      b"--MM--\n")
M6 = (b"From: Alice Example <alice@example.test>\n"
      b"To: team@example.test\n"
      b"Subject: Fwd: Meeting tomorrow\n"
      b"Date: Mon, 20 Nov 2023 12:00:00 +0000\n"
      b"Message-ID: <m6@example.test>\n"
      b"X-Custom: Value42\n"
      b"\n"
      b"Forwarding the meeting.\n")
MAILBOX = [("cur", "S", T0, M1), ("cur", "RF", T0 + DAY, M2),
           ("cur", "a", T0 + 2 * DAY, M3), ("cur", "DT", T0 + 3 * DAY, M4),
           ("new", "", T0 + 4 * DAY, M5), ("new", "", T0 + 5 * DAY, M6)]
KEYWORDS = "0 $Label1\n"


def imap_day(t):
    """The RFC 3501 date of epoch time t in local time."""
    tm = time.localtime(t)
    return "%d-%s-%04d" % (tm.tm_mday, MONTHS[tm.tm_mon - 1], tm.tm_year)


def write_mailbox(maildir, owner):
    """MAILBOX (and its keywords) as files in maildir."""
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(maildir, sub), exist_ok=True)
    with open(os.path.join(maildir, "dovecot-keywords"), "w") as f:
        f.write(KEYWORDS)
    for i, (sub, flags, mtime, data) in enumerate(MAILBOX):
        name = "%d.M%dP1.test" % (1700000000 + i, i)
        if sub == "cur":
            name += ":2," + flags
        path = os.path.join(maildir, sub, name)
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (mtime, mtime))
    chown_tree(os.path.dirname(maildir.rstrip("/")), owner)


class SearchCase(ImapCase):
    """Helpers shared by the test classes. Strings with 8-bit octets go
    in LITERAL+ literals (lit()), which need no round trip."""

    def mailbox(self):
        """The test's mailbox filled with MAILBOX; a selected client."""
        write_mailbox(self.inst.maildir(self.addr), self.inst.owner)
        return self.client()

    def client(self, select="SELECT INBOX", **kw):
        return super().client(select, timeout=TIMEOUT, **kw)

    def search(self, c, criteria, cmd="SEARCH"):
        """The numbers of the one "* SEARCH" (or SORT) reply."""
        data = criteria if isinstance(criteria, bytes) else criteria.encode()
        untagged = c.ok(cmd.encode() + b" " + data)
        word = cmd.split()[1 if cmd.startswith("UID ") else 0]
        found = [u for u in untagged if u == word or
                 u.startswith(word + " ")]
        self.assertEqual(len(found), 1, untagged)
        return [int(x) for x in found[0].split()[1:]]

    def assert_search(self, c, criteria, expected, cmd="SEARCH"):
        self.assertEqual(self.search(c, criteria, cmd), expected, criteria)

    def expunge(self, c, msn):
        """Expunges message msn only (M4 carries \\Deleted: cleared)."""
        c.ok("STORE 1:* -FLAGS.SILENT (\\Deleted)")
        c.ok("STORE %d +FLAGS.SILENT (\\Deleted)" % msn)
        c.ok("EXPUNGE")


class SearchKeysTest(SearchCase):
    """Each key alone, then combined."""

    def test_flags(self):
        c = self.mailbox()
        for key, want in [
                ("ALL", [1, 2, 3, 4, 5, 6]),
                ("SEEN", [1]), ("UNSEEN", [2, 3, 4, 5, 6]),
                ("ANSWERED", [2]), ("UNANSWERED", [1, 3, 4, 5, 6]),
                ("FLAGGED", [2]), ("UNFLAGGED", [1, 3, 4, 5, 6]),
                ("DELETED", [4]), ("UNDELETED", [1, 2, 3, 5, 6]),
                ("DRAFT", [4]), ("UNDRAFT", [1, 2, 3, 5, 6]),
                ("RECENT", [5, 6]), ("NEW", [5, 6]), ("OLD", [1, 2, 3, 4]),
                ("KEYWORD $Label1", [3]), ("KEYWORD $label1", [3]),
                ("UNKEYWORD $Label1", [1, 2, 4, 5, 6]),
                ("KEYWORD NoSuchKeyword", []),
                ("UNKEYWORD NoSuchKeyword", [1, 2, 3, 4, 5, 6])]:
            self.assert_search(c, key, want)
        # NEW is RECENT and UNSEEN: seen, a recent message is not new
        c.ok("STORE 5 +FLAGS (\\Seen)")
        self.assert_search(c, "NEW", [6])
        self.assert_search(c, "RECENT", [5, 6])
        # another session: nothing is recent there
        other = self.client()
        self.assert_search(other, "RECENT", [])
        self.assert_search(other, "OLD", [1, 2, 3, 4, 5, 6])

    def test_internal_dates(self):
        c = self.mailbox()
        # INTERNALDATE is compared in the server's time zone
        self.assert_search(c, "ON %s" % imap_day(T0 + DAY), [2])
        self.assert_search(c, "BEFORE %s" % imap_day(T0 + DAY), [1])
        self.assert_search(c, "SINCE %s" % imap_day(T0 + 4 * DAY), [5, 6])
        self.assert_search(c, 'ON "%s"' % imap_day(T0 + 3 * DAY), [4])
        self.assert_search(c, "BEFORE 1-Jan-1970", [])
        self.assert_search(c, "SINCE 1-Jan-2100", [])
        self.assert_search(c, "SINCE 13-Nov-2023 BEFORE 1-Jan-2100",
                           [1, 2, 3, 4, 5, 6])
        # WITHIN: all are older than a day, none younger
        self.assert_search(c, "OLDER 86400", [1, 2, 3, 4, 5, 6])
        self.assert_search(c, "YOUNGER 86400", [])
        age = int(time.time()) - (T0 + 4 * DAY)
        self.assert_search(c, "YOUNGER %d" % (age + 3600), [5, 6])
        self.assert_search(c, "OLDER %d" % (age + 3600), [1, 2, 3, 4])

    def test_sent_dates(self):
        c = self.mailbox()
        # M1 was sent 13-Nov at 23:30 in its sender's zone (14-Nov in
        # UTC): the sender's calendar day counts. M3 has no Date: as in
        # Dovecot, it counts as sent on 1-Jan-1970.
        self.assert_search(c, "SENTON 13-Nov-2023", [1])
        self.assert_search(c, "SENTON 14-Nov-2023", [2])
        self.assert_search(c, "SENTBEFORE 14-Nov-2023", [1, 3])
        self.assert_search(c, "SENTSINCE 15-Nov-2023", [4, 5, 6])
        self.assert_search(c, "SENTBEFORE 1-Jan-1971", [3])
        self.assert_search(c, "SENTSINCE 1-Jan-1970", [1, 2, 3, 4, 5, 6])
        self.assert_search(c, "SENTON 1-Jan-1970", [3])

    def test_savedate(self):
        c = self.mailbox()
        untagged = c.ok("FETCH 1:* (SAVEDATE)")
        days = {}
        for u in untagged:
            m = re.match(r'(\d+) FETCH \(SAVEDATE "(\d+)-(\w+)-(\d+) ', u)
            if m:
                days[int(m.group(1))] = "%d-%s-%s" % (
                    int(m.group(2)), m.group(3), m.group(4))
        self.assertEqual(sorted(days), [1, 2, 3, 4, 5, 6], untagged)
        day = days[1]
        on = [n for n in sorted(days) if days[n] == day]
        self.assert_search(c, "SAVEDON %s" % day, on)
        self.assert_search(c, "SAVEDATESUPPORTED", [1, 2, 3, 4, 5, 6])
        self.assert_search(c, "SAVEDBEFORE 1-Jan-2000", [])
        self.assert_search(c, "SAVEDSINCE 1-Jan-2000", [1, 2, 3, 4, 5, 6])

    def test_sizes(self):
        c = self.mailbox()
        sizes = [crlf_len(m[3]) for m in MAILBOX]
        untagged = c.ok("FETCH 1:* (RFC822.SIZE)")
        self.assertIn("1 FETCH (RFC822.SIZE %d)" % sizes[0], untagged)
        s5 = sizes[4]
        self.assert_search(c, "LARGER %d" % (s5 - 1), [5])
        self.assert_search(c, "LARGER %d" % s5, [])
        self.assert_search(c, "SMALLER %d" % (s5 + 1), [1, 2, 3, 4, 5, 6])
        self.assert_search(c, "SMALLER %d" % s5, [1, 2, 3, 4, 6])
        s1 = sizes[0]
        self.assert_search(c, "SMALLER %d" % (s1 + 1),
                           [n + 1 for n, s in enumerate(sizes) if s <= s1])
        self.assert_search(c, "LARGER 4294967295", [])
        self.assert_search(c, "SMALLER 0", [])

    def test_headers(self):
        c = self.mailbox()
        for key, want in [
                ('FROM alice', [1, 6]), ('FROM "Alice Example"', [1, 6]),
                ('FROM "alice example <alice@"', [1, 6]),
                ('FROM jorg', [2]), ('FROM m\u00fcller', [2]),
                ('TO alice', [2, 3, 5]), ('TO "Bob <bob"', [1]),
                ('CC carol', [1]), ('BCC hidden', [4]), ('CC hidden', []),
                ('SUBJECT meeting', [1, 6]), ('SUBJECT "RE: caf"', [2]),
                ('SUBJECT "[list]"', [4, 5]),
                ('SUBJECT ""', [1, 2, 3, 4, 5, 6]),
                ('SUBJECT "inner subject"', []),
                ('HEADER X-Custom value42', [6]),
                ('HEADER x-custom ""', [6]),
                ('HEADER X-Missing ""', []),
                ('HEADER Message-ID "m3@"', [3]),
                ('HEADER References "<m1@example.test>"', [2]),
                ('HEADER Content-Type "ALTERNATIVE"', []),
                ('HEADER Content-Type "multipart/mixed"', [3, 5])]:
            if "\u00fc" in key:
                k, arg = key.split(" ", 1)
                data = b"CHARSET UTF-8 " + k.encode() + b" " + lit(arg)
            else:
                data = key
            self.assert_search(c, data, want)

    def test_encoded_words(self):
        c = self.mailbox()
        # The decoded Subject and From, in any case; decomposed accents
        # (i;unicode-casemap): "cafe" is in "Caf\u00e9"
        for arg, key, want in [
                ("Caf\u00e9 cr\u00e8me", "SUBJECT", [2]),
                ("CAF\u00c9", "SUBJECT", [2]), ("cafe", "SUBJECT", [2]),
                ("J\u00d6RG", "FROM", [2]), ("=?utf-8", "SUBJECT", []),
                ("Caf=C3", "SUBJECT", [])]:
            self.assert_search(c, b"CHARSET UTF-8 " + key.encode() + b" " +
                               lit(arg), want)

    def test_body(self):
        c = self.mailbox()
        for arg, want in [
                ("noon", [1]), ("NOON", [1]),
                # quoted-printable UTF-8, with Greek and Cyrillic in any case
                ("caf\u00e9 cr\u00e8me", [2]),
                ("\u03a3\u038a\u03a3\u03a5\u03a6\u039f\u03a3", [2]),
                ("\u041f\u0420\u0418\u0412\u0415\u0422", [2]),
                ("\u03c3\u03af\u03c3\u03c5\u03c6\u03bf\u03c2 et", [2]),
                # base64 UTF-8 and quoted-printable ISO-8859-1 parts
                ("gr\u00fc\u00dfe aus", [3]), ("M\u00dcNCHEN, SCH\u00d6N", [3]),
                # 8-bit ISO-8859-1
                ("na\u00efve fa\u00e7ade", [4]),
                # the text part of a multipart and the embedded message's
                # body; never its header, a MIME header, a boundary or the
                # base64 of an attachment
                ("attached message", [5]), ("inner body", [5]),
                ("inner subject", []), ("Content-Type", []),
                ("--OUT", []), ("secretword", []), ("c2VjcmV0", []),
                ("R3LDvMOf", []), ("=C3=A9", []),
                ("", [1, 2, 3, 4, 5, 6]), ("no such text", [])]:
            self.assert_search(c, b"CHARSET UTF-8 BODY " + lit(arg), want)

    def test_text(self):
        c = self.mailbox()
        for arg, want in [
                ("noon", [1]), ("Meeting tomorrow", [1, 6]),
                # headers, decoded; MIME part headers; embedded headers
                ("Subject: Re: Caf\u00e9", [2]), ("value42", [6]),
                ("image/jpeg", [3]), ("inner subject", [5]),
                ("Content-Type: text/plain", [2, 3, 4, 5]),
                ("m\u00fcller", [2]), ("gr\u00fc\u00dfe", [3]),
                ("secretword", []), ("", [1, 2, 3, 4, 5, 6])]:
            self.assert_search(c, b"CHARSET UTF-8 TEXT " + lit(arg), want)

    def test_sets(self):
        c = self.mailbox()
        self.expunge(c, 2)
        # now: msn 1..5 are UIDs 1, 3, 4, 5, 6
        for key, want in [
                ("1", [1]), ("2:4", [2, 3, 4]), ("4:2", [2, 3, 4]),
                ("*", [5]), ("3:*", [3, 4, 5]), ("1,3,5", [1, 3, 5]),
                ("1:100", [1, 2, 3, 4, 5]), ("100", []),
                ("UID 2", []), ("UID 3", [2]), ("UID 1:3", [1, 2]),
                ("UID *", [5]), ("UID 6:100", [5]), ("UID 100:*", [5]),
                ("UID 7:100", []), ("NOT UID 1,3", [3, 4, 5]),
                ("2:4 UID 4:6", [3, 4])]:
            self.assert_search(c, key, want)
        self.assert_search(c, "2:4", [3, 4, 5], "UID SEARCH")
        self.assert_search(c, "UID 1:4", [1, 3, 4], "UID SEARCH")
        self.assert_search(c, "FLAGGED", [], "UID SEARCH")
        self.assert_search(c, "DRAFT", [4], "UID SEARCH")

    def test_logic(self):
        c = self.mailbox()
        for key, want in [
                ("SEEN FROM alice", [1]), ("(SEEN) (FROM alice)", [1]),
                ("NOT SEEN", [2, 3, 4, 5, 6]), ("NOT NOT SEEN", [1]),
                ("OR SEEN FLAGGED", [1, 2]),
                ("OR SEEN OR FLAGGED DELETED", [1, 2, 4]),
                ("OR (SEEN BODY noon) (BODY naive)", [1]),
                ("NOT (FROM alice SUBJECT meeting)", [2, 3, 4, 5]),
                ("OR BODY \"inner body\" SUBJECT meeting", [1, 5, 6]),
                ("UNSEEN NOT BODY attached", [2, 3, 4, 6]),
                ("((((((SEEN))))))", [1]),
                ("NOT OR SEEN RECENT", [2, 3, 4]),
                ("1:3 NOT 2", [1, 3]), ("OR 1 6 BODY noon", [1]),
                ("ALL ALL NOT ALL", [])]:
            self.assert_search(c, key, want)

    def test_charset(self):
        c = self.mailbox()
        self.assert_search(c, "CHARSET UTF-8 FROM alice", [1, 6])
        self.assert_search(c, "CHARSET us-ascii FROM alice", [1, 6])
        self.assert_search(c, 'CHARSET "utf-8" FROM alice', [1, 6])
        _, tagged = c.cmd("SEARCH CHARSET ISO-8859-1 FROM alice")
        self.assertTrue(tagged.startswith(
            "NO [BADCHARSET (UTF-8 US-ASCII)]"), tagged)
        _, tagged = c.cmd("SORT (DATE) KOI8-R ALL")
        self.assertTrue(tagged.startswith(
            "NO [BADCHARSET (UTF-8 US-ASCII)]"), tagged)
        _, tagged = c.cmd("THREAD REFERENCES X-UNKNOWN ALL")
        self.assertTrue(tagged.startswith(
            "NO [BADCHARSET (UTF-8 US-ASCII)]"), tagged)

    def test_smtp_delivered(self):
        marker = "mk%d" % os.getpid()
        body = ("From: <s@remote.example>\r\nTo: <%s>\r\n"
                "Subject: =?iso-8859-1?q?Gr=FC=DFe?= %s\r\n"
                "MIME-Version: 1.0\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\n"
                "w6l0w6kgJiDQu9C10YLQvg==\r\n" % (self.addr, marker))
        code, text, _ = self.inst.send(self.addr, body=body)
        self.assertEqual(code, 250, text)
        self.inst.wait_for_maildir(self.addr, 1)
        c = self.client()
        self.assert_search(c, b"CHARSET UTF-8 BODY " + lit("\u00c9T\u00c9"), [1])
        self.assert_search(c, b"CHARSET UTF-8 BODY " + lit("\u041b\u0415\u0422\u041e"), [1])
        self.assert_search(c, b"CHARSET UTF-8 SUBJECT " + lit("gr\u00fc\u00dfe " + marker), [1])
        self.assert_search(c, "TEXT %s" % marker, [1])
        self.assert_search(c, "BODY %s" % marker, [])


class SearchReplyTest(SearchCase):
    """ESEARCH, SEARCHRES, MODSEQ, IMAP4rev2."""

    def esearch(self, c, line):
        untagged = c.ok(line)
        found = [u for u in untagged if u.startswith("ESEARCH")]
        self.assertLessEqual(len(found), 1, untagged)
        return found[0] if found else None, c.seq

    def test_esearch(self):
        c = self.mailbox()
        for args, rest in [
                ("RETURN (MIN MAX COUNT ALL) ALL",
                 " MIN 1 MAX 6 ALL 1:6 COUNT 6"),
                ("RETURN () UNSEEN", " ALL 2:6"),
                ("RETURN (ALL) OR SEEN DELETED", " ALL 1,4"),
                ("RETURN (COUNT) FLAGGED", " COUNT 1"),
                ("RETURN (MIN MAX) 2:5", " MIN 2 MAX 5"),
                ("RETURN (MIN MAX ALL COUNT) SUBJECT nothing", " COUNT 0"),
                ("RETURN (MAX) BODY nothing", ""),
                ("RETURN (all) 1,3:4,6", " ALL 1,3:4,6")]:
            line, seq = self.esearch(c, "SEARCH " + args)
            self.assertEqual(line, 'ESEARCH (TAG "t%d")%s' % (seq, rest),
                             args)
        self.expunge(c, 1)
        line, seq = self.esearch(c, "UID SEARCH RETURN (MIN ALL) 2:4")
        self.assertEqual(line, 'ESEARCH (TAG "t%d") UID MIN 3 ALL 3:5' % seq)
        # without RETURN: a plain SEARCH reply
        self.assert_search(c, "1:2", [1, 2])

    def test_searchres(self):
        c = self.mailbox()
        untagged = c.ok("SEARCH RETURN (SAVE) OR SEEN FLAGGED")
        self.assertEqual([u for u in untagged if "SEARCH" in u], [])
        self.assertIn("1 FETCH (UID 1)", c.ok("FETCH $ (UID)"))
        self.assert_search(c, "$", [1, 2])
        self.assert_search(c, "NOT $", [3, 4, 5, 6])
        self.assert_search(c, "UID $", [1, 2])
        # SAVE with MIN only keeps the minimum (RFC 5182 2.4)
        line = [u for u in c.ok("SEARCH RETURN (SAVE MIN) 3:5")
                if u.startswith("ESEARCH")]
        self.assertEqual(line, ['ESEARCH (TAG "t%d") MIN 3' % c.seq])
        self.assert_search(c, "$", [3])
        # a new saved result may use the old one
        c.ok("SEARCH RETURN (SAVE) OR $ 5")
        self.assert_search(c, "$", [3, 5])
        # BAD leaves "$" as it is; NO empties it
        _, tagged = c.cmd("SEARCH RETURN (SAVE) NOSUCHKEY")
        self.assertTrue(tagged.startswith("BAD"), tagged)
        self.assert_search(c, "$", [3, 5])
        _, tagged = c.cmd("SEARCH RETURN (SAVE) CHARSET KOI8-R ALL")
        self.assertTrue(tagged.startswith("NO [BADCHARSET"), tagged)
        self.assert_search(c, "$", [])
        # expunged messages leave "$"; it is UIDs
        c.ok("SEARCH RETURN (SAVE) 2:3")
        self.expunge(c, 1)
        self.assert_search(c, "$", [1, 2])
        self.assert_search(c, "$", [2, 3], "UID SEARCH")
        # SELECT forgets it
        c.ok("SELECT INBOX")
        self.assert_search(c, "$", [])

    def test_modseq(self):
        c = self.mailbox()
        untagged = c.ok("SEARCH MODSEQ 1")
        m = re.match(r"SEARCH 1 2 3 4 5 6 \(MODSEQ (\d+)\)$", untagged[-1])
        self.assertTrue(m, untagged)
        # the first CONDSTORE-enabling command tells HIGHESTMODSEQ first
        self.assertTrue(untagged[0].startswith("OK [HIGHESTMODSEQ "), untagged)
        highest = int(m.group(1))
        c.ok("STORE 3 +FLAGS (\\Seen)")
        untagged = c.ok("FETCH 3 (MODSEQ)")
        m3 = int(re.search(r"MODSEQ \((\d+)\)", " ".join(untagged)).group(1))
        self.assertGreater(m3, highest)
        self.assertEqual(c.ok("SEARCH MODSEQ %d" % m3),
                         ["SEARCH 3 (MODSEQ %d)" % m3])
        self.assertEqual(c.ok("SEARCH MODSEQ %d" % (m3 + 1)), ["SEARCH"])
        self.assertEqual(c.ok('SEARCH MODSEQ "/flags/\\\\Seen" all %d' % m3),
                         ["SEARCH 3 (MODSEQ %d)" % m3])
        line = c.ok("SEARCH RETURN (COUNT) MODSEQ %d" % m3)[0]
        self.assertEqual(line, 'ESEARCH (TAG "t%d") COUNT 1 MODSEQ %d' % (
            c.seq, m3))
        self.assertEqual(c.ok("SORT (SIZE) UTF-8 MODSEQ %d" % m3),
                         ["SORT 3 (MODSEQ %d)" % m3])

    def test_rev2(self):
        write_mailbox(self.inst.maildir(self.addr), self.inst.owner)
        c = self.client(select=None)
        c.ok("ENABLE IMAP4rev2")
        c.ok("SELECT INBOX")
        self.assertEqual(c.ok("SEARCH SEEN"),
                         ['ESEARCH (TAG "t%d") ALL 1' % c.seq])
        self.assertEqual(c.ok("UID SEARCH NOT SEEN"),
                         ['ESEARCH (TAG "t%d") UID ALL 2:6' % c.seq])
        self.assertEqual(c.ok("SEARCH KEYWORD nothing"),
                         ['ESEARCH (TAG "t%d")' % c.seq])
        self.assertEqual(c.ok("SEARCH RETURN (COUNT) ALL"),
                         ['ESEARCH (TAG "t%d") COUNT 6' % c.seq])

    def test_header_cache(self):
        # Once cached, header searches do not open message files: with
        # every file unreadable they still work; a body search cannot.
        c = self.mailbox()
        self.assert_search(c, "FROM alice", [1, 6])
        md = self.inst.maildir(self.addr)
        paths = [os.path.join(md, sub, n) for sub in ("new", "cur")
                 for n in os.listdir(os.path.join(md, sub))]
        for p in paths:
            os.chmod(p, 0)
        try:
            c2 = self.client()
            self.assert_search(c2, "SUBJECT meeting", [1, 6])
            self.assert_search(c2, "SENTON 13-Nov-2023", [1])
            self.assert_search(c2, "HEADER X-Custom 42 TO team", [6])
            self.assert_search(c2, "(SUBJECT meeting)", [1, 6], "SORT (DATE) UTF-8")
            # imapd never runs as root: the files are closed to it too
            _, tagged = c2.cmd("SEARCH BODY noon")
            self.assertTrue(tagged.startswith("NO [SERVERBUG]"), tagged)
        finally:
            for p in paths:
                os.chmod(p, 0o600)
        self.assert_search(c, "BODY noon", [1])

    def test_expunged_meanwhile(self):
        c = self.mailbox()
        md = self.inst.maildir(self.addr)
        for n in os.listdir(os.path.join(md, "cur")):
            if n.startswith("1700000001."):
                os.unlink(os.path.join(md, "cur", n))
        # FETCH may not report EXPUNGE (RFC 3501 7.4.1): its end sees the
        # message gone, which keeps its number but never matches
        c.ok("FETCH 1 (FLAGS)")
        self.assert_search(c, "ALL", [1, 3, 4, 5, 6])
        self.assert_search(c, "NOT FLAGGED", [1, 3, 4, 5, 6])
        c.ok("NOOP")
        self.assert_search(c, "ALL", [1, 2, 3, 4, 5])


class SortThreadTest(SearchCase):

    def test_sort(self):
        c = self.mailbox()
        for crit, want in [
                # M3 has no Date: its INTERNALDATE (16-Nov) counts
                ("(DATE)", [1, 2, 4, 5, 3, 6]),
                ("(REVERSE DATE)", [6, 3, 5, 4, 2, 1]),
                ("(ARRIVAL)", [1, 2, 3, 4, 5, 6]),
                ("(REVERSE ARRIVAL)", [6, 5, 4, 3, 2, 1]),
                ("(SIZE)", None),
                # base subjects: Caf\u00e9 cr\u00e8me, Meeting tomorrow (x2),
                # other things (x2), Photos from Munich; ties by number
                ("(SUBJECT)", [2, 1, 6, 4, 5, 3]),
                ("(REVERSE SUBJECT)", [3, 4, 5, 1, 6, 2]),
                ("(SUBJECT REVERSE DATE)", [2, 6, 1, 5, 4, 3]),
                # first From mailbox: alice, dora, eve, frank, jorg
                ("(FROM)", [1, 6, 3, 4, 5, 2]),
                ("(TO)", [2, 3, 5, 1, 4, 6]),
                # no Cc sorts first
                ("(CC)", [2, 3, 4, 5, 6, 1]),
                ("(DISPLAYFROM)", [1, 6, 3, 4, 5, 2]),
                # "Alice" before "alice@example.test"
                ("(DISPLAYTO)", [3, 2, 5, 1, 4, 6]),
                ("(REVERSE FROM DATE)", [2, 5, 4, 3, 1, 6])]:
            got = self.search(c, "%s UTF-8 ALL" % crit, "SORT")
            if want is None:
                sizes = [crlf_len(m[3]) for m in MAILBOX]
                want = sorted(range(1, 7), key=lambda n: (sizes[n - 1], n))
            self.assertEqual(got, want, crit)
        self.assertEqual(self.search(c, "(DATE) UTF-8 UNSEEN NOT 6", "SORT"),
                         [2, 4, 5, 3])
        self.assertEqual(self.search(c, "(SUBJECT) US-ASCII 7:*", "SORT"), [6])
        self.expunge(c, 1)
        self.assertEqual(self.search(c, "(REVERSE DATE) UTF-8 ALL",
                                     "UID SORT"), [6, 3, 5, 4, 2])
        self.assertEqual(self.search(c, "(DATE) UTF-8 ALL", "SORT"),
                         [1, 3, 4, 2, 5])

    def thread(self, c, line):
        untagged = c.ok(line)
        found = [u for u in untagged if u.startswith("THREAD")]
        self.assertEqual(len(found), 1, untagged)
        return found[0]

    def test_thread(self):
        c = self.mailbox()
        # REFERENCES: M2 answers M1, M5 answers M4; M6 ("Fwd: Meeting
        # tomorrow") joins M1 by subject as a forward; M3 stands alone.
        # Threads by date of their first message.
        self.assertEqual(self.thread(c, "THREAD REFERENCES UTF-8 ALL"),
                         "THREAD (1 (2)(6))(4 5)(3)")
        self.assertEqual(self.thread(c, "THREAD ORDEREDSUBJECT UTF-8 ALL"),
                         "THREAD (1 6)(2)(4 5)(3)")
        self.assertEqual(self.thread(c, "THREAD REFERENCES UTF-8 NOT 1"),
                         "THREAD (2)(4 5)(3)(6)")
        self.assertEqual(self.thread(c, "THREAD references us-ascii 10"),
                         "THREAD")
        self.expunge(c, 1)
        self.assertEqual(self.thread(c, "UID THREAD REFERENCES UTF-8 ALL"),
                         "THREAD (2)(4 5)(3)(6)")
        self.assertEqual(self.thread(c, "UID THREAD ORDEREDSUBJECT UTF-8 ALL"),
                         "THREAD (2)(4 5)(3)(6)")

    def test_bad_input(self):
        c = self.mailbox()
        for i, line in enumerate(["SEARCH", "SEARCH NOSUCHKEY", "SEARCH FROM",
                     "SEARCH 0", "SEARCH 1:", "SEARCH (SEEN",
                     "SEARCH OR SEEN", "SEARCH BEFORE 31-Feb-2023",
                     "SEARCH RETURN (FOO) ALL", "SEARCH RETURN ALL",
                     "SEARCH " + "(" * 40 + "SEEN" + ")" * 40,
                     "SEARCH " + "NOT " * 40 + "SEEN",
                     "SORT", "SORT DATE UTF-8 ALL", "SORT () UTF-8 ALL",
                     "SORT (REVERSE) UTF-8 ALL", "SORT (FOO) UTF-8 ALL",
                     "SORT (DATE)", "SORT (DATE) UTF-8",
                     "SORT (DATE) UTF-8 RETURN (ALL) ALL",
                     "SORT (DATE) UTF-8 CHARSET UTF-8 ALL",
                     "THREAD", "THREAD FOO UTF-8 ALL",
                     "THREAD REFERENCES", "THREAD REFERENCES UTF-8",
                     "THREAD (REFERENCES) UTF-8 ALL"]):
            if i % 10 == 9:
                c = self.client()  # under the BAD budget of a session
            _, tagged = c.cmd(line)
            self.assertTrue(tagged.startswith("BAD"), "%s -> %s" % (line, tagged))
        # still usable
        self.assert_search(c, "SEEN", [1])
        # not selected: refused
        other = self.client(select=None)
        for line in ["SEARCH ALL", "SORT (DATE) UTF-8 ALL",
                     "THREAD REFERENCES UTF-8 ALL"]:
            _, tagged = other.cmd(line)
            self.assertTrue(tagged.startswith(("BAD", "NO")), tagged)


# Commands whose replies surel and Dovecot must give alike (after the
# tag; MODSEQ values differ by design and are not used).
COMPARE = [
    "SEARCH ALL", "SEARCH 100", "SEARCH 1:100", "SEARCH 3:*",
    "SEARCH SUBJECT \"\"", "SEARCH HEADER X-Custom \"\"",
    "SEARCH HEADER Subject \"\"", "SEARCH BODY meet", "SEARCH BODY \"\"",
    "SEARCH SENTON 13-Nov-2023", "SEARCH SENTON 14-Nov-2023",
    "SEARCH SENTBEFORE 1-Jan-2000", "SEARCH SENTSINCE 1-Jan-1970",
    # (Dovecot matches addresses in a form it rewrites them to, with
    # "Alice Example" in quotes; surel in their text as written: a search
    # across the name and the address, "example <alice", differs.)
    "SEARCH FROM jorg", "SEARCH FROM \"Alice Example\"",
    "SEARCH FROM \"<alice@example.test>\"",
    "SEARCH TO alice", "SEARCH BCC hidden", "SEARCH CC carol",
    "SEARCH SUBJECT cafe", "SEARCH SUBJECT \"other things\"",
    "SEARCH BODY \"inner subject\"", "SEARCH TEXT \"inner subject\"",
    "SEARCH BODY \"inner body\"", "SEARCH BODY Content-Type",
    "SEARCH TEXT Content-Type", "SEARCH TEXT text/plain",
    "SEARCH BODY secretword", "SEARCH TEXT image/jpeg",
    "SEARCH BODY \"=C3\"", "SEARCH BODY attached",
    "SEARCH HEADER Content-Type alternative",
    "SEARCH OR SEEN FLAGGED", "SEARCH NOT (FROM alice SUBJECT meeting)",
    "SEARCH UNSEEN NOT BODY attached", "SEARCH KEYWORD $Label1",
    "SEARCH DELETED", "SEARCH DRAFT", "SEARCH ANSWERED",
    "SEARCH RETURN (MIN MAX COUNT ALL) ALL", "SEARCH RETURN () UNSEEN",
    "SEARCH RETURN (MIN) 100", "SEARCH RETURN (COUNT) FLAGGED",
    "UID SEARCH RETURN (MIN ALL) 2:4",
    "THREAD REFERENCES UTF-8 ALL", "THREAD ORDEREDSUBJECT UTF-8 ALL",
    "THREAD REFERENCES UTF-8 NOT 1", "UID THREAD REFERENCES UTF-8 2:6",
    "SORT (SUBJECT) UTF-8 ALL", "SORT (REVERSE SUBJECT) UTF-8 ALL",
    "SORT (DATE) UTF-8 ALL", "SORT (ARRIVAL) UTF-8 ALL",
    "SORT (SIZE) UTF-8 ALL", "SORT (FROM) UTF-8 ALL", "SORT (TO) UTF-8 ALL",
    "SORT (CC) UTF-8 ALL", "SORT (DISPLAYFROM) UTF-8 ALL",
    "SORT (DISPLAYTO) UTF-8 ALL", "SORT (REVERSE FROM DATE) UTF-8 ALL",
    "UID SORT (SUBJECT REVERSE DATE) UTF-8 ALL",
]
COMPARE_UTF8 = [
    ("SEARCH CHARSET UTF-8 BODY ", "\u03a3\u038a\u03a3\u03a5\u03a6\u039f\u03a3"),
    ("SEARCH CHARSET UTF-8 BODY ", "gr\u00fc\u00dfe"),
    ("SEARCH CHARSET UTF-8 BODY ", "GR\u00dcSSE"),
    ("SEARCH CHARSET UTF-8 BODY ", "na\u00efve"),
    ("SEARCH CHARSET UTF-8 BODY ", "naive"),
    ("SEARCH CHARSET UTF-8 BODY ", "CAFE CREME"),
    ("SEARCH CHARSET UTF-8 BODY ", "\u0440\u0438\u0432"),
    ("SEARCH CHARSET UTF-8 SUBJECT ", "CAF\u00c9"),
    ("SEARCH CHARSET UTF-8 FROM ", "m\u00fcller"),
    ("SEARCH CHARSET UTF-8 TEXT ", "m\u00fcnchen"),
]


@unittest.skipIf(dovecot.skip_reason(), dovecot.skip_reason())
class DovecotCompareTest(SearchCase):
    """The same commands against a private Dovecot on a copy of the same
    Maildir: the replies must be the same."""

    def replies(self, port, addr):
        c = self.client(addr=addr, port=port)
        out = []
        lines = [x.encode() for x in COMPARE] + [
            p.encode() + lit(a) for p, a in COMPARE_UTF8]
        for line in lines:
            untagged, tagged = c.cmd(line)
            # the tag and Dovecot's timing text are not compared
            untagged = [re.sub(r'\(TAG "t\d+"\)', "(TAG)", u)
                        for u in untagged if not u.startswith("OK [")]
            out.append((line, untagged, tagged.split(" ")[0]))
        return out

    def test_compare(self):
        md = self.inst.maildir(self.addr)
        write_mailbox(md, self.inst.owner)
        copy = os.path.join(self.inst.dir, "dovecot-mail", "compare")
        copy_maildir(self.inst, md, copy)
        dv = self.start_dovecot(copy, "dovecot")
        ours = self.replies(self.inst.imap_port, self.addr)
        theirs = self.replies(dv.imap_port, self.addr)
        for a, b in zip(ours, theirs):
            self.assertEqual(a, b)


# The same on bench/imap_mailgen.py's realistic mailbox (replies with
# References, encoded words, quoted-printable and base64 text,
# attachments, forwarded messages): threads, sorts and searches of a few
# hundred messages must come out exactly as Dovecot's.
GENERATED = 400
COMPARE_GENERATED = [
    "UID THREAD REFERENCES UTF-8 ALL", "UID THREAD ORDEREDSUBJECT UTF-8 ALL",
    "THREAD REFERENCES UTF-8 NOT SUBJECT needle",
    "UID SORT (SUBJECT) UTF-8 ALL", "UID SORT (FROM) UTF-8 ALL",
    "UID SORT (TO) UTF-8 ALL", "UID SORT (CC) UTF-8 ALL",
    "UID SORT (DATE) UTF-8 ALL", "UID SORT (REVERSE SIZE) UTF-8 ALL",
    "UID SORT (DISPLAYFROM) UTF-8 ALL",
    "UID SORT (DISPLAYTO REVERSE SUBJECT) UTF-8 ALL",
    "UID SEARCH BODY zebracorn", "UID SEARCH TEXT zebracorn",
    "UID SEARCH BODY cafe", "UID SEARCH TEXT resume",
    "UID SEARCH SUBJECT needle", "UID SEARCH TEXT \"quick brown\"",
    "UID SEARCH SENTSINCE 1-Jan-2024", "UID SEARCH BODY \"the lazy\"",
    "UID SEARCH HEADER References \"@\"", "UID SEARCH TEXT attachment",
    "UID SEARCH OR BODY zebracorn SUBJECT needle",
]


@unittest.skipIf(dovecot.skip_reason(), dovecot.skip_reason())
class GeneratedCompareTest(SearchCase):

    def replies(self, port):
        c = self.client(port=port)
        out = []
        for _ in range(2):  # the second time from the caches
            for line in COMPARE_GENERATED:
                untagged, tagged = c.cmd(line)
                out.append((line, untagged, tagged.split(" ")[0]))
        return out

    def test_generated(self):
        import subprocess
        import sys
        md = self.inst.maildir(self.addr)
        gen = os.path.join(os.path.dirname(os.path.dirname(
            os.path.dirname(os.path.abspath(__file__)))), "bench",
            "imap_mailgen.py")
        subprocess.run([sys.executable, gen, md, str(GENERATED), self.addr],
                       check=True, stdout=subprocess.DEVNULL, timeout=120)
        # The generator wrote as this process's user.
        chown_tree(os.path.dirname(md.rstrip("/")), self.inst.owner)
        copy = os.path.join(self.inst.dir, "dovecot-gen", "generated")
        copy_maildir(self.inst, md, copy)
        dv = self.start_dovecot(copy, "dovecot-g")
        ours = self.replies(self.inst.imap_port)
        theirs = self.replies(dv.imap_port)
        self.assertEqual(len(ours), len(theirs))
        for a, b in zip(ours, theirs):
            self.assertEqual(a, b)
        # the searches found something (the comparison is not empty)
        self.assertTrue(re.search(r"^SEARCH \d+ \d+", ours[11][1][0]),
                        ours[11])


if __name__ == "__main__":
    unittest.main()
