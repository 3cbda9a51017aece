"""Who may send as whom: smtpd_sender_login_maps with
reject_sender_login_mismatch in smtpd_sender_restrictions. A user logged
in on the submission port may use the addresses the table gives them
(one address, or a whole @domain) and no other; nobody may use an owned
address without logging in; an address nobody owns stays free for
unauthenticated clients. The refusal comes at RCPT, with Postfix's 553
5.7.1 replies."""

import smtplib
import unittest

from instance import Instance, free_port, password_of

ALICE = "alice@example.test"
BOB = "bob@example.test"
USERS = {ALICE: "example.test/alice/", BOB: "example.test/bob/"}


class SenderLogin(unittest.TestCase):
    inst = None

    @classmethod
    def setUpClass(cls):
        inst = Instance(
            users=USERS, access=True,
            smtpd_sender_restrictions="reject_sender_login_mismatch",
            smtpd_sender_login_maps="inline:{ %s=%s, %s=%s, "
                                    "@example.org=%s }" % (
                                        ALICE, ALICE, BOB, BOB, ALICE))
        inst.submission_port = free_port()
        inst.master_cf_text += (
            "127.0.0.1:%d inet n - n - 10 smtpd "
            "-o smtpd_tls_security_level=encrypt "
            "-o smtpd_sasl_auth_enable=yes\n" % inst.submission_port)
        inst.write_config()
        cls.inst = inst.start_or_cleanup()

    @classmethod
    def tearDownClass(cls):
        if cls.inst is not None:
            cls.inst.cleanup_or_fail()

    def rcpt_reply(self, sender, login=None):
        """The reply to RCPT TO:<bob> after MAIL FROM:<sender>, logged in
        as login on the submission port, or on port 25 without login."""
        if login is None:
            s = smtplib.SMTP("127.0.0.1", self.inst.port, timeout=30)
            s.ehlo("client.example")
        else:
            s = smtplib.SMTP("127.0.0.1", self.inst.submission_port,
                             timeout=30)
            s.ehlo("client.example")
            s.starttls(context=self.inst.ssl_context())
            s.ehlo("client.example")
            s.login(login, password_of(login))
        try:
            code, text = s.mail(sender)
            self.assertEqual(code, 250, text)
            return s.rcpt(BOB)
        finally:
            s.close()

    def test_own_address(self):
        self.assertEqual(self.rcpt_reply(ALICE, ALICE)[0], 250)

    def test_owned_domain(self):
        self.assertEqual(self.rcpt_reply("anyone@example.org", ALICE)[0],
                         250)

    def test_someone_elses_address(self):
        code, text = self.rcpt_reply(BOB, ALICE)
        self.assertEqual(code, 553, text)
        self.assertEqual(text, ("5.7.1 <%s>: Sender address rejected: not "
                                "owned by user %s" % (BOB, ALICE)).encode())
        self.assertTrue(self.inst.wait_log(
            r"NOQUEUE: reject: RCPT from .*: 553 5\.7\.1 <%s>: Sender "
            r"address rejected: not owned by user" % BOB, 10))

    def test_unlisted_address_logged_in(self):
        code, text = self.rcpt_reply("stranger@elsewhere.test", ALICE)
        self.assertEqual(code, 553, text)

    def test_owned_address_without_login(self):
        code, text = self.rcpt_reply(ALICE)
        self.assertEqual(code, 553, text)
        self.assertEqual(text, ("5.7.1 <%s>: Sender address rejected: not "
                                "logged in" % ALICE).encode())

    def test_unowned_address_without_login(self):
        self.assertEqual(self.rcpt_reply("stranger@elsewhere.test")[0], 250)

    def test_null_sender_not_checked(self):
        self.assertEqual(self.rcpt_reply("")[0], 250)


if __name__ == "__main__":
    unittest.main()
