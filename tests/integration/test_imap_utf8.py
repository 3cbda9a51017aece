"""Internationalised mail end to end (RFC 6531 on the way in, RFC 6855 on
the way out): a message with UTF-8 addresses and raw UTF-8 headers comes
in by SMTP with SMTPUTF8 to a user whose own address is UTF-8; that user
logs in to IMAP under that address, ENABLEs UTF8=ACCEPT and sees the
envelope in quoted UTF-8 strings, finds the message by SEARCH on UTF-8
strings without a CHARSET, APPENDs with the UTF8 data item to a folder
whose name is UTF-8, and a client that did not ENABLE it sees the same
folder under its modified UTF-7 name and the headers in literals."""

import smtplib

from imap_util import ImapCase
from instance import new_marker, password_of

UTF8_USER = "\u03b4\u03bf\u03ba\u03b9\u03bc\u03ae@example.test"
SENDER = "j\u00f6ran@s\u00e4nder.example"
SUBJECT = "Gr\u00fc\u00dfe aus M\u00fcnchen"
FOLDER = "Entw\u00fcrfe"
FOLDER_MUTF7 = "Entw&APw-rfe"


class Utf8EndToEnd(ImapCase):
    INSTANCE_ARGS = dict(ImapCase.INSTANCE_ARGS, users={
        UTF8_USER: "example.test/utf8/"})

    @property
    def addr(self):
        return UTF8_USER

    def send_utf8(self, marker):
        msg = ("From: J\u00f6ran <%s>\r\nTo: <%s>\r\nSubject: %s %s\r\n"
               "Message-ID: <%s@s\u00e4nder.example>\r\n"
               "MIME-Version: 1.0\r\n"
               "Content-Type: text/plain; charset=utf-8\r\n"
               "Content-Transfer-Encoding: 8bit\r\n\r\n"
               "H\u00e4user am Flu\u00df\r\n"
               % (SENDER, UTF8_USER, SUBJECT, marker, marker)).encode()
        with smtplib.SMTP("127.0.0.1", self.inst.port, timeout=30) as s:
            s.ehlo("client.example")
            self.assertTrue(s.has_extn("smtputf8"))
            refused = s.sendmail(SENDER, [UTF8_USER], msg,
                                 mail_options=["SMTPUTF8", "BODY=8BITMIME"])
        self.assertEqual(refused, {})
        self.inst.find_message(UTF8_USER, marker)
        return msg

    def utf8_client(self):
        """Logged in under the UTF-8 address (a quoted string of UTF-8,
        which UTF8=ACCEPT lets a client send, RFC 6855 5), UTF8=ACCEPT
        enabled, INBOX selected."""
        c = self.client(login=False)
        c.ok('LOGIN "%s" "%s"' % (UTF8_USER, password_of(UTF8_USER)))
        self.assertEqual(c.ok("ENABLE UTF8=ACCEPT"), ["ENABLED UTF8=ACCEPT"])
        c.ok("SELECT INBOX")
        return c

    def test_smtputf8_message_read_over_imap(self):
        marker = new_marker("u8")
        sent = self.send_utf8(marker)
        c = self.utf8_client()
        untagged = c.ok("FETCH 1 (ENVELOPE BODY.PEEK[])")
        text = "\n".join(untagged)
        # Quoted UTF-8, not literals and not encoded words.
        self.assertIn('"%s %s"' % (SUBJECT, marker), text)
        self.assertIn('(("J\u00f6ran" NIL "j\u00f6ran" "s\u00e4nder.example"))',
                      text)
        self.assertIn('((NIL NIL "\u03b4\u03bf\u03ba\u03b9\u03bc\u03ae" '
                      '"example.test"))', text)
        # The message as it was sent, after the headers surel added.
        body = sent.decode()
        self.assertIn(body, text)
        # SEARCH on UTF-8 strings, no CHARSET (RFC 6855 3).
        self.assertEqual(c.ok('UID SEARCH SUBJECT "M\u00fcnchen"'),
                         ["SEARCH 1"])
        self.assertEqual(c.ok('UID SEARCH FROM "j\u00f6ran"'), ["SEARCH 1"])
        self.assertEqual(c.ok('UID SEARCH BODY "Flu\u00df"'), ["SEARCH 1"])
        self.assertEqual(c.ok('UID SEARCH BODY "Fluss"'), ["SEARCH"])
        # A rev1 client that did not enable it gets the header as a
        # literal (8-bit octets never go in its quoted strings).
        plain = self.client(login=False, binary=True)
        plain.ok('LOGIN {%d+}\r\n%s "%s"' % (
            len(UTF8_USER.encode()), UTF8_USER, password_of(UTF8_USER)))
        plain.ok("EXAMINE INBOX")
        env = b"\n".join(plain.ok("FETCH 1 (ENVELOPE)"))
        subject = ("%s %s" % (SUBJECT, marker)).encode()
        self.assertIn(b"{%d}\r\n%s" % (len(subject), subject), env)

    def test_append_utf8_to_utf8_folder(self):
        c = self.utf8_client()
        c.ok('CREATE "%s"' % FOLDER)
        msg = ("From: J\u00f6ran <%s>\r\nSubject: %s\r\n\r\nEntwurf\r\n"
               % (SENDER, SUBJECT)).encode()
        c.send(b"a1 APPEND \"" + FOLDER.encode() + b"\" (\\Draft) UTF8 (~{%d+}"
               b"\r\n" % len(msg) + msg + b")\r\n")
        untagged, tagged = c.wait_tagged("a1")
        self.assertTrue(tagged.startswith("OK [APPENDUID "), tagged)
        listed = c.ok('LIST "" "%s"' % FOLDER)
        self.assertEqual(len(listed), 1)
        self.assertTrue(listed[0].endswith('"%s"' % FOLDER), listed)
        c.ok('SELECT "%s"' % FOLDER)
        self.assertEqual(c.ok('UID SEARCH SUBJECT "Gr\u00fc\u00dfe"'),
                         ["SEARCH 1"])
        got = "\n".join(c.ok("FETCH 1 (FLAGS BODY.PEEK[])"))
        self.assertIn("\\Draft", got)
        self.assertIn(msg.decode(), got)
        # The same folder for a client that speaks modified UTF-7.
        old = self.client(login=False)
        old.ok('LOGIN {%d+}\r\n%s "%s"' % (
            len(UTF8_USER.encode()), UTF8_USER, password_of(UTF8_USER)))
        listed = old.ok('LIST "" "Entw*"')
        self.assertEqual(len(listed), 1)
        self.assertTrue(listed[0].strip('"').endswith(FOLDER_MUTF7), listed)
        self.assertEqual(old.ok("STATUS %s (MESSAGES)" % FOLDER_MUTF7),
                         ['STATUS "%s" (MESSAGES 1)' % FOLDER_MUTF7])
        # Without ENABLE, the UTF8 data item is refused.
        old.send(b"a2 APPEND INBOX UTF8 (~{%d+}\r\n" % len(msg) + msg
                 + b")\r\n")
        _, tagged = old.wait_tagged("a2")
        self.assertTrue(tagged.startswith(("BAD", "NO")), tagged)
