"""The IMAP session (imapd) over a real instance: greeting and
capabilities per state and TLS, LOGIN and AUTHENTICATE PLAIN (SASL-IR,
continuation, cancel, bad base64, wrong passwords), the plaintext policy
(LOGINDISABLED), STARTTLS with pipelined plaintext discarded, IMAPS,
ENABLE, ID, NAMESPACE, COMPRESS=DEFLATE (also over TLS), literals and the
issue's bad input at session level ([TOOBIG] before any data, NUL,
unterminated strings, deep nesting, wrong states, vanishing clients, the
error budget), bounded memory, the autologout and IDLE. Each test logs in
to a mailbox of its own, named after it; raw sockets for what imaplib
cannot send."""

import imaplib
import os
import re
import socket
import struct
import time
import zlib

from imap_util import ImapCase, ImapRaw
from instance import (SANITIZED, LineConn, OwnInstanceCase, RssSampler,
                      b64_plain, new_marker, password_of)

BANNER = "surel ready."
CAPS_LOGIN = "IMAP4rev1 IMAP4rev2 SASL-IR ID ENABLE IDLE LITERAL+"
APPENDLIMIT = 1048576       # message_size_limit of the test instances
CAPS_AUTHED = (
    "IMAP4rev1 IMAP4rev2 SASL-IR ID ENABLE IDLE LITERAL+ NAMESPACE UIDPLUS "
    "MOVE SPECIAL-USE CHILDREN LIST-EXTENDED LIST-STATUS ESEARCH SEARCHRES "
    "SORT SORT=DISPLAY THREAD=REFERENCES THREAD=ORDEREDSUBJECT CONDSTORE QRESYNC QUOTA "
    "QUOTA=RES-STORAGE QUOTA=RES-MESSAGE APPENDLIMIT=%d COMPRESS=DEFLATE "
    "UTF8=ACCEPT METADATA METADATA-SERVER STATUS=SIZE PREVIEW SAVEDATE "
    "OBJECTID REPLACE MULTIAPPEND BINARY WITHIN UNSELECT NOTIFY" % APPENDLIMIT)
PRIVACY = ("NO [PRIVACYREQUIRED] Plaintext authentication disallowed on "
           "non-secure (SSL/TLS) connections.")
AUTH_FAILED = "NO [AUTHENTICATIONFAILED] Authentication failed."
# How much imapd may grow while a client sends megabytes of bad input
# (ASan keeps freed memory in a quarantine of up to 16 MB).
RSS_GROWTH_MAX_KB = (48 if SANITIZED else 16) * 1024

# imaplib refuses commands it does not know.
for _name, _states in (("ID", ("NONAUTH", "AUTH", "SELECTED")),
                       ("ENABLE", ("AUTH", "SELECTED")),
                       ("COMPRESS", ("AUTH", "SELECTED")),
                       ("IDLE", ("AUTH", "SELECTED"))):
    imaplib.Commands.setdefault(_name, _states)


class SessionCase(ImapCase):
    """Helpers shared by the test classes."""

    def raw(self, tls=False, **kw):
        if tls:
            return ImapRaw(self.inst.imaps_port,
                           context=self.inst.ssl_context(), **kw)
        return ImapRaw(self.inst.imap_port, **kw)

    def logged_in(self, tls=False):
        r = self.raw(tls)
        self.addCleanup(r.close)
        reply = r.login(self.addr)
        self.assertTrue(reply[-1].startswith("L1 OK [CAPABILITY "), reply)
        return r

    def imapd_pids(self):
        return self.inst.processes("imapd")


class PlainLoopback(SessionCase):
    """disable_plaintext_auth = no: passwords over loopback in the
    clear, as a local webmail would send them."""

    CONFIG = {"disable_plaintext_auth": "no"}

    def test_greeting_and_capabilities(self):
        with self.raw() as r:
            self.assertEqual(r.greeting, "* OK [CAPABILITY %s STARTTLS "
                             "AUTH=PLAIN] %s" % (CAPS_LOGIN, BANNER))
            self.assertEqual(r.cmd("a", "CAPABILITY"), [
                "* CAPABILITY %s STARTTLS AUTH=PLAIN" % CAPS_LOGIN,
                "a OK Capability completed."])
            self.assertEqual(r.login(self.addr), [
                "L1 OK [CAPABILITY %s] Logged in" % CAPS_AUTHED])
            self.assertEqual(r.cmd("b", "CAPABILITY"), [
                "* CAPABILITY %s" % CAPS_AUTHED, "b OK Capability completed."])
            self.assertEqual(r.cmd("c", "CAPABILITY x"),
                             ["c BAD Unexpected arguments."])

    def test_login_logout(self):
        since = self.inst.log_size()
        m = self.imap(login=False)
        self.assertEqual(m.login(self.addr, password_of(self.addr))[0], "OK")
        # The Maildir of a user who never had mail is made at login.
        md = self.inst.maildir(self.addr)
        for sub in ("cur", "new", "tmp"):
            self.assertTrue(os.path.isdir(os.path.join(md, sub)), sub)
        self.assertEqual(m.noop(), ("OK", [b"NOOP completed."]))
        self.assertEqual(m.logout(), ("BYE", [b"Logging out"]))
        self.assertTrue(self.inst.wait_log(
            r"login: user=<%s>, method=LOGIN, rip=127\.0\.0\.1, "
            r"lip=127\.0\.0\.1, tls=none" % re.escape(self.addr), 10, since))
        self.assertTrue(self.inst.wait_log(
            r"imapd\[\d+\]: logout: user=<%s>, rip=127\.0\.0\.1, "
            r"lip=127\.0\.0\.1, in=\d+, out=\d+, " % re.escape(self.addr),
            10, since))

    def test_logout_raw(self):
        with self.raw() as r:
            self.assertEqual(r.cmd("a", "NOOP"), ["a OK NOOP completed."])
            self.assertEqual(r.cmd("b", "LOGOUT"),
                             ["* BYE Logging out", "b OK Logout completed."])
            self.assertTrue(r.closed(10))

    def test_wrong_password(self):
        since = self.inst.log_size()
        with self.raw() as r:
            self.assertEqual(r.login(self.addr, "wrong", "a"),
                             ["a " + AUTH_FAILED])
            self.assertEqual(r.login("nobody@example.test", "x", "b"),
                             ["b " + AUTH_FAILED])
            # The third failure ends the session.
            self.assertEqual(r.cmd("c", "AUTHENTICATE PLAIN " + b64_plain(
                self.addr, "wrong")), ["c " + AUTH_FAILED])
            self.assertEqual(r.line(),
                             "* BYE Too many authentication failures.")
            self.assertTrue(r.closed(10))
        self.assertTrue(self.inst.wait_log(
            r"login failed: user=<%s>, method=LOGIN" % re.escape(self.addr),
            10, since))
        self.assertTrue(self.inst.wait_log(
            r"disconnected: too many authentication failures in "
            r"NOT-AUTHENTICATED state", 10, since))

    def test_bad_user_names(self):
        with self.raw() as r:
            for i, user in enumerate(['"a/b@example.test"',
                                      '"..@example.test"', '""']):
                self.assertEqual(r.cmd("a%d" % i, "LOGIN %s pw" % user),
                                 ["a%d %s" % (i, AUTH_FAILED)])
                if i == 1:
                    break
        with self.raw() as r:
            self.assertEqual(r.cmd("b", "LOGIN onlyuser"),
                             ["b BAD Invalid arguments: LOGIN user "
                              "password."])
            self.assertEqual(r.cmd("c", "LOGIN (a) b"),
                             ["c BAD Invalid arguments: LOGIN user "
                              "password."])

    def test_authenticate_sasl_ir(self):
        with self.raw() as r:
            reply = r.cmd("a", "AUTHENTICATE PLAIN " + b64_plain(
                self.addr, password_of(self.addr)))
            self.assertEqual(reply, [
                "a OK [CAPABILITY %s] Logged in" % CAPS_AUTHED])
            # An authzid equal to the user is the user.
        with self.raw() as r:
            reply = r.cmd("a", "authenticate plain " + b64_plain(
                self.addr, password_of(self.addr), self.addr))
            self.assertTrue(reply[-1].startswith("a OK [CAPABILITY"), reply)

    def test_authenticate_continuation(self):
        with self.raw() as r:
            r.send("a AUTHENTICATE PLAIN\r\n")
            self.assertEqual(r.line(), "+ ")
            r.send(b64_plain(self.addr, password_of(self.addr)) + "\r\n")
            self.assertTrue(r.until("a")[-1].startswith(
                "a OK [CAPABILITY IMAP4rev1"))
        m = self.imap(login=False)
        typ, data = m.authenticate("PLAIN", lambda _: (
            "\0%s\0%s" % (self.addr, password_of(self.addr))).encode())
        self.assertEqual(typ, "OK")

    def test_authenticate_cancel_and_bad(self):
        with self.raw() as r:
            r.send("a AUTHENTICATE PLAIN\r\n")
            self.assertEqual(r.line(), "+ ")
            r.send("*\r\n")
            self.assertEqual(r.until("a"),
                             ["a BAD Authentication aborted by client."])
            self.assertEqual(r.cmd("b", "AUTHENTICATE PLAIN not!base64"),
                             ["b BAD Invalid base64 data in the SASL "
                              "response."])
            r.send("c AUTHENTICATE PLAIN\r\n")
            self.assertEqual(r.line(), "+ ")
            r.send("abc\r\n")
            self.assertEqual(r.until("c"),
                             ["c BAD Invalid base64 data in the SASL "
                              "response."])
            # "=" is the empty response: no credentials.
            self.assertEqual(r.cmd("d", "AUTHENTICATE PLAIN ="),
                             ["d " + AUTH_FAILED])
            self.assertEqual(r.cmd("e", "AUTHENTICATE CRAM-MD5"),
                             ["e NO Unsupported authentication mechanism."])
            self.assertEqual(r.cmd("f", "AUTHENTICATE"), [
                "f BAD Invalid arguments: AUTHENTICATE mechanism "
                "[initial-response]."])
            # A response line longer than any PLAIN response.
            r.send("g AUTHENTICATE PLAIN\r\n")
            self.assertEqual(r.line(), "+ ")
            r.send("A" * 20000 + "\r\n")
            self.assertEqual(r.until("g"),
                             ["g BAD Authentication response too long."])
            # Still usable, and the failures above were not logins.
            self.assertTrue(r.login(self.addr, tag="h")[-1].startswith(
                "h OK [CAPABILITY"))

    def test_wrong_state(self):
        with self.raw() as r:
            for tag, cmd in (("a", "SELECT INBOX"), ("b", "ENABLE CONDSTORE"),
                             ("c", "NAMESPACE"), ("d", "IDLE"),
                             ("e", "COMPRESS DEFLATE"), ("f", "FETCH 1 FLAGS"),
                             ("g", "UID FETCH 1 FLAGS")):
                self.assertEqual(r.cmd(tag, cmd), [
                    "%s BAD Command not valid in this state: log in first."
                    % tag])
            self.assertEqual(r.cmd("h", "FROB"), [
                "h BAD Error in IMAP command FROB: Unknown command."])
            self.assertEqual(r.cmd("i", "DONE"), [
                "i BAD Error in IMAP command DONE: Unknown command."])
            self.assertEqual(r.login(self.addr, tag="j")[-1][:5], "j OK ")
            self.assertEqual(r.cmd("k", "LOGIN a b"), [
                "k BAD Command not valid in this state: already logged in."])
            self.assertEqual(r.cmd("l", "STARTTLS"), [
                "l BAD Command not valid in this state: already logged in."])
            for tag, cmd in (("m", "FETCH 1 FLAGS"), ("n", "CLOSE"),
                             ("o", "UID STORE 1 +FLAGS (\\Seen)"),
                             ("p", "EXPUNGE")):
                self.assertEqual(r.cmd(tag, cmd),
                                 ["%s BAD No mailbox selected." % tag])
            self.assertEqual(r.cmd("q", "UID FROB 1"), [
                "q BAD Error in IMAP command UID FROB: Unknown command."])
            self.assertEqual(r.cmd("r", "UID SELECT INBOX"), [
                "r BAD Error in IMAP command UID SELECT: Unknown command."])
            self.assertEqual(r.cmd("s", "UID"),
                             ["s BAD Missing command name after UID."])
            self.assertEqual(r.cmd("t", "LOGOUT"),
                             ["* BYE Logging out", "t OK Logout completed."])

    def test_enable(self):
        r = self.logged_in()
        self.assertEqual(r.cmd("a", "ENABLE CONDSTORE"),
                         ["* ENABLED CONDSTORE", "a OK Enabled."])
        self.assertEqual(r.cmd("b", "ENABLE condstore X-UNKNOWN"),
                         ["* ENABLED", "b OK Enabled."])
        self.assertEqual(r.cmd("c", "ENABLE UTF8=ACCEPT IMAP4rev2"),
                         ["* ENABLED UTF8=ACCEPT IMAP4rev2", "c OK Enabled."])
        self.assertEqual(r.cmd("d", "ENABLE"),
                         ["d BAD Missing capability names."])
        self.assertEqual(r.cmd("e", 'ENABLE "QRESYNC"'),
                         ["e BAD Capability names must be atoms."])
        # QRESYNC implies CONDSTORE: both named when both are asked for.
        r2 = self.logged_in()
        self.assertEqual(r2.cmd("a", "ENABLE QRESYNC CONDSTORE"),
                         ["* ENABLED QRESYNC CONDSTORE", "a OK Enabled."])
        self.assertEqual(r2.cmd("b", "ENABLE CONDSTORE"),
                         ["* ENABLED", "b OK Enabled."])

    def test_id(self):
        since = self.inst.log_size()
        ident = '* ID ("name" "surel" "version" "%s")'
        with self.raw() as r:
            reply = r.cmd("a", 'ID ("name" "Thunderbird" "version" NIL)')
            self.assertEqual(len(reply), 2)
            self.assertRegex(reply[0], r'^\* ID \("name" "surel" "version" '
                             r'"[0-9][^"]*"\)$')
            self.assertEqual(reply[1], "a OK ID completed.")
            version = re.search(r'"version" "([^"]*)"', reply[0]).group(1)
            self.assertEqual(r.cmd("b", "ID NIL"),
                             [ident % version, "b OK ID completed."])
            pairs = " ".join('"k%d" "v"' % i for i in range(30))
            self.assertEqual(r.cmd("c", "ID (%s)" % pairs)[-1],
                             "c OK ID completed.")
            for tag, args in (
                    ("d", "(%s \"k30\" \"v\")" % pairs),    # 31 pairs
                    ("e", '("name")'),                      # odd count
                    ("f", '("name" "%s")' % ("v" * 1025)),  # value too long
                    ("g", '("%s" "v")' % ("k" * 31)),       # field too long
                    ("h", '(name "x")'),                    # field an atom
                    ("i", ""), ("j", "NIL NIL")):
                self.assertEqual(r.cmd(tag, ("ID " + args).strip()),
                                 ["%s BAD Invalid ID parameters." % tag])
            # A literal value, NUL included, is taken (and logged escaped).
            r.send('k ID ("name" {3}\r\n')
            self.assertEqual(r.line(), "+ Ready for literal data")
            r.send('a\0b "version" {0}\r\n')
            self.assertEqual(r.line(), "+ Ready for literal data")
            r.send(")\r\n")
            self.assertEqual(r.until("k"), [ident % version,
                                            "k OK ID completed."])
        self.assertTrue(self.inst.wait_log(
            r"id: rip=127\.0\.0\.1, name=Thunderbird, version=$", 10, since))

    def test_namespace(self):
        m = self.imap(login=False)
        m.login(self.addr, password_of(self.addr))
        self.assertEqual(m.namespace(), ("OK", [b'(("" ".")) NIL NIL']))
        r = self.logged_in()
        self.assertEqual(r.cmd("a", "NAMESPACE"), [
            '* NAMESPACE (("" ".")) NIL NIL', "a OK Namespace completed."])

    def test_pipelining(self):
        with self.raw() as r:
            r.send("a CAPABILITY\r\nb LOGIN %s %s\r\nc NOOP\r\nd ID NIL\r\n"
                   "e LOGOUT\r\n" % (self.addr, password_of(self.addr)))
            lines = r.until("e")
            tags = [l.split()[0] for l in lines if not l.startswith("*")]
            self.assertEqual(tags, ["a", "b", "c", "d", "e"])
            self.assertTrue(r.closed(10))

    def test_literals(self):
        user, pw = self.addr, password_of(self.addr)
        with self.raw() as r:
            # Synchronising: "+" before each literal's data.
            r.send("a LOGIN {%d}\r\n" % len(user))
            self.assertEqual(r.line(), "+ Ready for literal data")
            r.send("%s {%d}\r\n" % (user, len(pw)))
            self.assertEqual(r.line(), "+ Ready for literal data")
            r.send(pw + "\r\n")
            self.assertTrue(r.until("a")[-1].startswith("a OK [CAPABILITY"))
        with self.raw() as r:
            # LITERAL+: no "+" at all.
            r.send("a LOGIN {%d+}\r\n%s {%d+}\r\n%s\r\n" % (
                len(user), user, len(pw), pw))
            self.assertTrue(r.line().startswith("a OK [CAPABILITY"))

    def test_literal_toobig(self):
        """RFC 7889: a literal over APPENDLIMIT is refused with [TOOBIG]
        before the client sends any of it; the session goes on."""
        r = self.logged_in()
        for tag, size in (("a", 4294967296), ("b", APPENDLIMIT + 1),
                          ("c", 18446744073709551615),
                          ("d", 99999999999999999999999)):
            r.send("%s APPEND INBOX {%d}\r\n" % (tag, size))
            self.assertEqual(r.line(), "%s NO [TOOBIG] Literal too large"
                             % tag)
        self.assertEqual(r.cmd("e", "NOOP"), ["e OK NOOP completed."])
        # Exactly the limit: go ahead.
        r.send("f APPEND INBOX {%d}\r\n" % APPENDLIMIT)
        self.assertEqual(r.line(), "+ Ready for literal data")
        r.send(b"x" * APPENDLIMIT + b"\r\n")
        self.assertTrue(r.until("f")[-1].startswith("f "))
        # Several messages within the limit each but over it in all
        # (MULTIAPPEND) are [TOOBIG] too.
        half = APPENDLIMIT // 2 + 1
        r.send("g APPEND INBOX {%d+}\r\n%s {%d+}\r\n%s {%d}\r\n" % (
            half, "y" * half, half, "z" * half, half))
        self.assertEqual(r.line(), "g NO [TOOBIG] Command too large")
        self.assertEqual(r.cmd("h", "NOOP"), ["h OK NOOP completed."])
        # Before login too: the parser is the same.
        with self.raw() as r2:
            r2.send("a LOGIN {4294967296}\r\n")
            self.assertEqual(r2.line(), "a NO [TOOBIG] Literal too large")
            self.assertEqual(r2.cmd("b", "NOOP"), ["b OK NOOP completed."])

    def test_nonsync_literal_toobig(self):
        """A {N+} literal over the limit cannot be skipped (its data is
        on the way): [TOOBIG], then the session ends."""
        since = self.inst.log_size()
        r = self.logged_in()
        r.send("a APPEND INBOX {4294967296+}\r\n")
        self.assertEqual(r.line(), "a NO [TOOBIG] Literal too large")
        bye = r.line()
        self.assertTrue(bye.startswith("* BYE "), bye)
        self.assertTrue(r.closed(10))
        self.assertTrue(self.inst.wait_log(
            r"disconnected: protocol error: user=<%s>" % re.escape(self.addr),
            10, since))

    def test_empty_literal_and_nul(self):
        with self.raw() as r:
            # {0}: a legal empty string -- an empty password.
            r.send("a LOGIN %s {0}\r\n" % self.addr)
            self.assertEqual(r.line(), "+ Ready for literal data")
            r.send("\r\n")
            self.assertEqual(r.until("a"), ["a " + AUTH_FAILED])
            # A NUL inside a literal user name never reaches authd.
            r.send(b"b LOGIN {5+}\r\nal\0ce pw\r\n")
            self.assertEqual(r.line(), "b " + AUTH_FAILED)
            # ... nor in a quoted string (the parser refuses it).
            r.send(b'c LOGIN "al\0ce" pw\r\n')
            self.assertEqual(r.line(), "c BAD NUL in quoted string")
            self.assertEqual(r.cmd("d", "NOOP"), ["d OK NOOP completed."])

    def test_syntax_errors(self):
        with self.raw() as r:
            self.assertEqual(r.cmd("a", 'LOGIN "alice pw'),
                             ["a BAD Unterminated quoted string"])
            self.assertEqual(r.cmd("b", "ID " + "(" * 10000 + ")" * 10000),
                             ["b BAD Lists nested too deep"])
            self.assertEqual(r.cmd("c", "NOOP "),
                             ["c BAD Syntax error in arguments"])
            r.send("\r\n")
            self.assertEqual(r.line(), "* BAD Empty command line")
            r.send("d NOOP\n")
            self.assertEqual(r.line(), "d BAD Line ends in LF, not CRLF")
            self.assertEqual(r.cmd("e", "NOOP"), ["e OK NOOP completed."])
            # A line over imapd_max_line_length (64k) is skipped.
            r.send("f ID (" + '"a" "b" ' * 20000 + ")\r\n")
            self.assertEqual(r.line(), "f BAD Command line too long")
            self.assertEqual(r.cmd("g", "NOOP"), ["g OK NOOP completed."])

    def test_error_budget(self):
        since = self.inst.log_size()
        with self.raw() as r:
            for i in range(19):
                reply = r.cmd("a%d" % i, "BOGUS")
                self.assertTrue(reply[-1].startswith("a%d BAD" % i), reply)
            self.assertEqual(r.cmd("b", "NOOP"), ["b OK NOOP completed."])
            r.send("c BOGUS\r\n")
            self.assertTrue(r.line().startswith("c BAD"))
            self.assertEqual(r.line(), "* BYE Too many invalid IMAP commands.")
            self.assertTrue(r.closed(10))
        self.assertTrue(self.inst.wait_log(
            r"disconnected: too many invalid commands in NOT-AUTHENTICATED "
            r"state", 10, since))

    def test_disconnect_mid_literal(self):
        since = self.inst.log_size()
        r = self.logged_in()
        r.send("a APPEND INBOX {1000}\r\n")
        self.assertEqual(r.line(), "+ Ready for literal data")
        r.send("x" * 100)
        r.close()
        self.assertTrue(self.inst.wait_log(
            r"disconnected: connection closed: user=<%s>" %
            re.escape(self.addr), 10, since))
        # A reset in the middle of a literal before login.
        r = self.raw()
        r.send("a LOGIN {1000}\r\n")
        self.assertEqual(r.line(), "+ Ready for literal data")
        r.send("y" * 10)
        r.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                          struct.pack("ii", 1, 0))
        r.close()
        self.assertTrue(self.inst.wait_log(
            r"disconnected: connection (closed|lost) in NOT-AUTHENTICATED "
            r"state", 10, since))
        with self.raw() as r:
            self.assertEqual(r.cmd("b", "NOOP"), ["b OK NOOP completed."])

    def test_memory_bounded(self):
        """Bad input of every kind leaves the server's memory where it
        was: a 64 MB line, deep nesting, refused literals, thousands of
        values, megabyte literals of commands that fail. Far more is sent
        than the allowance."""
        r = self.logged_in()
        self.assertEqual(r.cmd("w", "NOOP"), ["w OK NOOP completed."])
        sent = 0
        with RssSampler(self.imapd_pids) as rss:
            chunk = b'"a" "b" ' * 8192
            r.send(b"a ID (")
            for _ in range(1024):
                r.send(chunk)
            r.send(b")\r\n")
            sent += 1024 * len(chunk)
            self.assertEqual(r.line(), "a BAD Command line too long")
            self.assertEqual(r.cmd("b", "ID " + "(" * 30000),
                             ["b BAD Lists nested too deep"])
            for i in range(50):
                r.send("c%d APPEND INBOX {4294967296}\r\n" % i)
                self.assertEqual(r.line(), "c%d NO [TOOBIG] Literal too "
                                 "large" % i)
            reply = r.cmd("d", "ID (" + " ".join(["NIL"] * 16000) + ")")
            self.assertEqual(reply, ["d BAD Invalid ID parameters."])
            big = b"x" * (APPENDLIMIT - 1)
            for i in range(10):
                r.send(b"e%d FROB {%d+}\r\n" % (i, len(big)) + big + b"\r\n")
                sent += len(big)
                self.assertEqual(r.line(), "e%d BAD Error in IMAP command "
                                 "FROB: Unknown command." % i)
            self.assertEqual(r.cmd("f", "NOOP"), ["f OK NOOP completed."])
        self.assertGreater(sent, RSS_GROWTH_MAX_KB * 1024)
        self.assertLess(rss.growth_kb(), RSS_GROWTH_MAX_KB,
                        "imapd grew %d kB" % rss.growth_kb())

    def test_compress(self):
        r = self.logged_in()
        self.assertEqual(r.cmd("a", "COMPRESS DEFLATE"),
                         ["a OK DEFLATE active."])
        r.compress()
        self.assertEqual(r.cmd("b", "NOOP"), ["b OK NOOP completed."])
        self.assertEqual(r.cmd("c", "COMPRESS DEFLATE"),
                         ["c NO [COMPRESSIONACTIVE] DEFLATE active via "
                          "COMPRESS."])
        big = r.cmd("d", "ID (" + " ".join('"k%d" "%s"' % (i, "v" * 1000)
                                          for i in range(30)) + ")")
        self.assertEqual(big[-1], "d OK ID completed.")
        self.assertEqual(r.cmd("e", "CAPABILITY")[0],
                         "* CAPABILITY " + CAPS_AUTHED)
        self.assertEqual(r.cmd("f", "LOGOUT"),
                         ["* BYE Logging out", "f OK Logout completed."])
        self.assertTrue(r.closed(10))
        r2 = self.logged_in()
        self.assertEqual(r2.cmd("a", "COMPRESS FOO"),
                         ["a BAD Unknown compression mechanism."])
        self.assertEqual(r2.cmd("b", "COMPRESS"),
                         ["b BAD Invalid arguments: COMPRESS DEFLATE."])

    def test_compress_pipelined(self):
        """Data the client compressed right behind the COMPRESS command
        (in the same packet) is read through the decompressor."""
        r = self.logged_in()
        d = zlib.compressobj(wbits=-15)
        r.send(b"a COMPRESS DEFLATE\r\n" + d.compress(b"b NOOP\r\n")
               + d.flush(zlib.Z_SYNC_FLUSH))
        self.assertEqual(r.line(), "a OK DEFLATE active.")
        r.compress()
        r.deflate = d
        # What came behind the OK in the same read is compressed.
        r.buf = r.inflate.decompress(r.buf)
        self.assertEqual(r.line(), "b OK NOOP completed.")
        self.assertEqual(r.cmd("c", "NOOP"), ["c OK NOOP completed."])

    def test_compress_tls(self):
        r = self.logged_in(tls=True)
        self.assertEqual(r.cmd("a", "compress deflate"),
                         ["a OK DEFLATE active."])
        r.compress()
        # Pipelined, through deflate and TLS.
        r.send("b NOOP\r\nc ID NIL\r\nd NOOP\r\n")
        lines = r.until("d")
        self.assertEqual([l for l in lines if not l.startswith("*")],
                         ["b OK NOOP completed.", "c OK ID completed.",
                          "d OK NOOP completed."])
        self.assertEqual(r.cmd("e", "LOGOUT")[-1], "e OK Logout completed.")

    def test_idle(self):
        since = self.inst.log_size()
        r = self.logged_in()
        self.assertEqual(r.cmd("a", "IDLE x"), ["a BAD Unexpected arguments."])
        r.send("b IDLE\r\n")
        self.assertEqual(r.line(), "+ idling")
        r.send("done\r\n")
        self.assertEqual(r.line(), "b OK Idle completed.")
        r.send("c IDLE\r\n")
        self.assertEqual(r.line(), "+ idling")
        r.send("d NOOP\r\n")
        self.assertEqual(r.line(), "c BAD Expected DONE.")
        # The line was IDLE's, not a command: nothing answers "d".
        self.assertEqual(r.cmd("e", "NOOP"), ["e OK NOOP completed."])
        # A client that vanishes in IDLE.
        r.send("f IDLE\r\n")
        self.assertEqual(r.line(), "+ idling")
        r.close()
        self.assertTrue(self.inst.wait_log(
            r"disconnected: connection closed in IDLE: user=<%s>" %
            re.escape(self.addr), 10, since))

    def test_idle_delivery(self):
        """IDLE is woken by a delivery within a second (inotify)."""
        r = self.logged_in()
        reply = r.cmd("a", "SELECT INBOX")
        self.assertTrue(reply[-1].startswith("a OK"), reply)
        self.assertIn("* 0 EXISTS", reply)
        r.send("b IDLE\r\n")
        self.assertEqual(r.line(), "+ idling")
        code, text, _ = self.inst.send(self.addr, marker=new_marker("idle"))
        self.assertEqual(code, 250, text)
        self.inst.wait_for_maildir(self.addr, 1)
        t0 = time.monotonic()
        r.sock.settimeout(5)
        line = r.line()
        self.assertLess(time.monotonic() - t0, 1.0)
        self.assertEqual(line, "* 1 EXISTS")
        r.send("DONE\r\n")
        lines = r.until("b")
        self.assertEqual(lines[-1], "b OK Idle completed.")


class Secure(SessionCase):
    """The default disable_plaintext_auth = yes: passwords only over TLS,
    STARTTLS or IMAPS."""

    CONFIG = {}

    def test_logindisabled(self):
        since = self.inst.log_size()
        with self.raw() as r:
            self.assertEqual(r.greeting, "* OK [CAPABILITY %s STARTTLS "
                             "LOGINDISABLED] %s" % (CAPS_LOGIN, BANNER))
            self.assertEqual(r.login(self.addr, tag="a"), ["a " + PRIVACY])
            self.assertEqual(r.cmd("b", "AUTHENTICATE PLAIN " + b64_plain(
                self.addr, password_of(self.addr))), ["b " + PRIVACY])
            self.assertEqual(r.cmd("c", "AUTHENTICATE PLAIN"),
                             ["c " + PRIVACY])
        time.sleep(0.3)
        self.assertNotIn("login", self.inst.log()[since:])

    def test_starttls(self):
        since = self.inst.log_size()
        m = self.imap(login=False)
        self.assertIn("LOGINDISABLED", m.capabilities)
        m.starttls(self.inst.ssl_context())
        self.assertIn("AUTH=PLAIN", m.capabilities)
        self.assertNotIn("STARTTLS", m.capabilities)
        self.assertNotIn("LOGINDISABLED", m.capabilities)
        self.assertEqual(m.login(self.addr, password_of(self.addr))[0], "OK")
        self.assertTrue(self.inst.wait_log(
            r"login: user=<%s>, method=LOGIN, rip=127\.0\.0\.1, "
            r"lip=127\.0\.0\.1, tls=TLSv1\.[23]" % re.escape(self.addr),
            10, since))

    def test_starttls_pipelined(self):
        """What follows STARTTLS in the same packet is plaintext an
        attacker may have injected: it is dropped, never run."""
        since = self.inst.log_size()
        with self.raw() as r:
            r.send("a STARTTLS\r\nb LOGIN %s %s\r\nc CAPABILITY\r\n" % (
                self.addr, password_of(self.addr)))
            self.assertEqual(r.line(), "a OK Begin TLS negotiation now.")
            r.starttls(self.inst.ssl_context())
            # Not logged in: b never ran; c's reply never comes.
            self.assertEqual(r.cmd("d", "CAPABILITY"), [
                "* CAPABILITY %s AUTH=PLAIN" % CAPS_LOGIN,
                "d OK Capability completed."])
            self.assertTrue(r.login(self.addr, tag="e")[-1].startswith(
                "e OK [CAPABILITY"))
        self.assertTrue(self.inst.wait_log(
            r"discarded \d+ octets pipelined after STARTTLS", 10, since))

    def test_starttls_twice(self):
        with self.raw() as r:
            self.assertEqual(r.cmd("a", "STARTTLS"),
                             ["a OK Begin TLS negotiation now."])
            r.starttls(self.inst.ssl_context())
            self.assertEqual(r.cmd("b", "STARTTLS"),
                             ["b BAD TLS is already active."])
            self.assertEqual(r.cmd("c", "STARTTLS now"),
                             ["c BAD Unexpected arguments."])
        with self.raw(tls=True) as r:
            self.assertEqual(r.cmd("a", "STARTTLS"),
                             ["a BAD TLS is already active."])

    def test_imaps(self):
        m = self.imap(login=False, tls=True)
        self.assertEqual(m.welcome.decode(), "* OK [CAPABILITY %s "
                         "AUTH=PLAIN] %s" % (CAPS_LOGIN, BANNER))
        self.assertEqual(m.login(self.addr, password_of(self.addr))[0], "OK")
        self.assertEqual(m.noop()[0], "OK")

    def test_bad_tls_handshake(self):
        since = self.inst.log_size()
        with LineConn(self.inst.imaps_port) as c:
            c.send(b"a LOGIN x y\r\n" * 10)
            self.assertTrue(c.closed(10))
        self.assertTrue(self.inst.wait_log(
            r"TLS handshake failed: rip=127\.0\.0\.1", 10, since))


class OwnInstances(OwnInstanceCase):
    """Settings that need an instance of their own."""

    USERS = {"bob@example.test": "example.test/bob/"}

    def test_autologout_and_idle_timers(self):
        inst = self.new_instance(access=True, users=self.USERS, aliases={},
                                 imapd_timeout="3s",
                                 imapd_idle_notify_interval="1s",
                                 disable_plaintext_auth="no")
        t0 = time.monotonic()
        with ImapRaw(inst.imap_port) as r:
            self.assertEqual(r.line(), "* BYE Disconnected for inactivity.")
            self.assertTrue(r.closed(5))
        self.assertGreater(time.monotonic() - t0, 2.5)
        self.assertLess(time.monotonic() - t0, 10)
        self.assertTrue(inst.wait_log(r"disconnected: inactivity in "
                                      r"NOT-AUTHENTICATED state", 10))
        # In IDLE: "Still here" every second, logged out after 3 s
        # without a word from the client.
        with ImapRaw(inst.imap_port) as r:
            r.login("bob@example.test")
            r.send("a IDLE\r\n")
            self.assertEqual(r.line(), "+ idling")
            t0 = time.monotonic()
            lines = []
            for _ in range(10):
                line = r.line_or_eof()
                if line is None:
                    break
                lines.append(line)
            self.assertEqual(lines[-1], "* BYE Disconnected for inactivity.")
            self.assertIn(lines[:-1], (["* OK Still here"] * 2,
                                       ["* OK Still here"] * 3))
            self.assertGreater(time.monotonic() - t0, 2.5)
        self.assertTrue(inst.wait_log(
            r"disconnected: inactivity: user=<bob@example\.test>", 10))

    def test_no_authd(self):
        inst = self.new_instance(start=False, access=True, users=self.USERS,
                                 aliases={}, disable_plaintext_auth="no")
        inst.master_cf_text = inst.master_cf_text.replace(
            "auth unix - - n - 1 authd\n", "")
        inst.write_config()
        inst.start()
        with ImapRaw(inst.imap_port) as r:
            self.assertEqual(r.login("bob@example.test", tag="a"), [
                "a NO [UNAVAILABLE] Authentication service not available, "
                "try again later."])

    def test_separator_and_limits(self):
        inst = self.new_instance(access=True, users=self.USERS, aliases={},
                                 disable_plaintext_auth="no",
                                 imapd_hierarchy_separator="/",
                                 imapd_append_limit="2048")
        with ImapRaw(inst.imap_port) as r:
            self.assertIn("APPENDLIMIT=2048 ", r.login("bob@example.test")[-1])
            self.assertEqual(r.cmd("a", "NAMESPACE")[0],
                             '* NAMESPACE (("" "/")) NIL NIL')
            r.send("b APPEND INBOX {2049}\r\n")
            self.assertEqual(r.line(), "b NO [TOOBIG] Literal too large")
        bad = self.new_instance(start=False, access=True, users=self.USERS,
                                aliases={}, imapd_hierarchy_separator="x")
        bad.start()
        with self.assertRaises((OSError, EOFError)):
            with ImapRaw(bad.imap_port, timeout=3) as r:
                self.fail("greeted: %s" % r.greeting)
        self.assertTrue(bad.wait_log(r"fatal: imapd_hierarchy_separator = "
                                     r"x: use \"\.\" or \"/\"", 10))

    def test_no_certificate(self):
        """Without smtpd_tls_cert_file no TLS is offered: no STARTTLS in
        the capabilities, and STARTTLS is an unknown command to it."""
        inst = self.new_instance(start=False, access=True, users=self.USERS,
                                 aliases={}, disable_plaintext_auth="no",
                                 smtpd_tls_cert_file=None,
                                 smtpd_tls_key_file=None)
        lines = [l for l in inst.master_cf_text.splitlines(True)
                 if "wrappermode" not in l]
        inst.master_cf_text = "".join(lines)
        inst.write_config()
        inst.start()
        with ImapRaw(inst.imap_port) as r:
            self.assertEqual(r.greeting, "* OK [CAPABILITY %s AUTH=PLAIN] "
                             "%s" % (CAPS_LOGIN, BANNER))
            self.assertEqual(r.cmd("a", "STARTTLS"),
                             ["a BAD TLS support is not configured."])
            self.assertTrue(r.login("bob@example.test", tag="b")[-1]
                            .startswith("b OK [CAPABILITY"))
