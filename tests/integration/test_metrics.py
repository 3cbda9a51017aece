"""The metrics service (surel-metrics(8)): after known traffic (SMTP in,
local and relayed deliveries that are sent, deferred and bounced, IMAP
and POP3 logins that fail and succeed, TLS sessions, a held message), a
scrape read with python3-prometheus-client's parsers, both the
Prometheus text one and the OpenMetrics one, carries exactly the counts
the traffic made. Also: the service's HTTP answers to bad requests, slow
clients that cannot stall it, the UNIX socket form of metrics_listen,
counters that survive a reload, and the service staying off while
metrics_listen is empty. Loopback only; every wait is bounded."""

import imaplib
import os
import poplib
import signal
import socket
import ssl
import time
import unittest

from prometheus_client.openmetrics import parser as om_parser
from prometheus_client import parser as prom_parser

from instance import Instance, free_port, password_of, wait_until
from smtp_peer import ScriptedPeer

TIMEOUT = 20
OPENMETRICS = ("application/openmetrics-text;version=1.0.0,"
               "text/plain;version=0.0.4;q=0.5")


def http(address, request, timeout=10):
    """Sends request (bytes) to address ((host, port) or a socket path)
    and returns everything the server sent until it closed."""
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(address)
        s.sendall(request)
        out = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
        return out


def split_response(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def scrape(address, openmetrics=False):
    """(status, headers, samples) where samples maps (name, frozenset of
    label items) to value, parsed by the parser for the format."""
    accept = "Accept: %s\r\n" % OPENMETRICS if openmetrics else ""
    raw = http(address, ("GET /metrics HTTP/1.1\r\nHost: x\r\n%s\r\n" %
                         accept).encode())
    status, headers, body = split_response(raw)
    if status != 200:
        return status, headers, {}
    text = body.decode("utf-8")
    parse = (om_parser if openmetrics else prom_parser) \
        .text_string_to_metric_families
    samples = {}
    for family in parse(text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return status, headers, samples


def select(samples, name, **labels):
    """Sum of the samples of name whose labels include labels."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items()
               if n == name and want <= set(ls))


class MetricsTraffic(unittest.TestCase):
    inst = None
    peer = None

    @classmethod
    def setUpClass(cls):
        # The peer: defers "later" once (452 4.2.2), refuses "nobody"
        # (550 5.1.1), takes everything else.
        tries = {}

        def rcpt(addr):
            tries[addr] = tries.get(addr, 0) + 1
            if "nobody" in addr:
                return "550 5.1.1 no such user"
            if "later" in addr and tries[addr] == 1:
                return "452 4.2.2 mailbox full, try later"
            return "250 2.1.5 Ok"
        cls.peer = ScriptedPeer(rcpt=rcpt)
        try:
            cls.metrics_port = free_port()
            inst = Instance(access=True,
                            mynetworks="127.0.0.0/8",
                            relayhost="[127.0.0.1]:%d" % cls.peer.port,
                            smtp_tls_security_level="none",
                            smtp_connect_timeout="2s",
                            metrics_listen="127.0.0.1:%d" % cls.metrics_port)
            checks = os.path.join(inst.etc, "header_checks")
            with open(checks, "w") as f:
                f.write("/^Subject: hold-me/ HOLD\n")
            inst.set_main_cf(header_checks="pcre:" + checks)
            inst.master_cf_text += (
                "smtp unix - - n - - smtp\n"
                "$metrics_listen inet n - n - 1 metrics\n")
            inst.write_config()
            cls.inst = inst.start_or_cleanup()
        except Exception:
            cls.peer.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.inst is not None:
                cls.inst.cleanup_or_fail()
        finally:
            cls.peer.stop()

    @property
    def address(self):
        return ("127.0.0.1", self.metrics_port)

    def smtp_service(self):
        return "127.0.0.1:%d" % self.inst.port

    def traffic(self):
        """The known traffic. Returns what it should add to each series,
        as {(name, labels...): delta}."""
        inst = self.inst
        for i in range(3):
            inst.send("bob@example.test", marker="local%d" % i)
        for rcpt in ("ok@remote.test", "later@remote.test",
                     "nobody@remote.test"):
            inst.send(rcpt, sender="alice@example.test", marker=rcpt)
        inst.send("carol@example.test", marker="held", subject="hold-me")
        # IMAPS (TLS 1.3): two refused passwords, then the right one, in
        # one session; POP3S (TLS 1.2): the right one. Plaintext logins
        # are refused before authd is asked, so they go over TLS.
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        imap = imaplib.IMAP4_SSL("127.0.0.1", inst.imaps_port,
                                 ssl_context=ctx, timeout=TIMEOUT)
        for _ in range(2):
            with self.assertRaises(imaplib.IMAP4.error):
                imap.login("bob@example.test", "wrong")
        imap.login("bob@example.test", password_of("bob@example.test"))
        imap.logout()
        ctx12 = ssl.create_default_context()
        ctx12.check_hostname = False
        ctx12.verify_mode = ssl.CERT_NONE
        ctx12.maximum_version = ssl.TLSVersion.TLSv1_2
        pop = poplib.POP3_SSL("127.0.0.1", inst.pop3s_port, context=ctx12,
                              timeout=TIMEOUT)
        pop.user("carol@example.test")
        pop.pass_(password_of("carol@example.test"))
        pop.quit()
        smtp = self.smtp_service()
        imap_svc = "127.0.0.1:%d" % inst.imaps_port
        return {
            ("surel_connections_total", ("service", smtp)): 7,
            ("surel_messages_received_total", ("service", smtp)): 7,
            # the bounce of nobody@ goes back to alice
            ("surel_messages_received_total", ("program", "qmgr")): 1,
            ("surel_deliveries_total", ("program", "local"),
             ("status", "sent"), ("dsn", "2.0")): 4,
            ("surel_deliveries_total", ("program", "smtp"),
             ("status", "sent"), ("dsn", "2.0")): 2,
            ("surel_deliveries_total", ("program", "smtp"),
             ("status", "deferred"), ("dsn", "4.2")): 1,
            ("surel_deliveries_total", ("program", "smtp"),
             ("status", "bounced"), ("dsn", "5.1")): 1,
            ("surel_deliveries_total", ("status", "bounced")): 1,
            ("surel_auth_failures_total", ("service", imap_svc)): 2,
            ("surel_auth_successes_total", ("service", imap_svc)): 1,
            ("surel_auth_successes_total", ("program", "pop3d")): 1,
            ("surel_auth_failures_total",): 2,
            ("surel_connections_total", ("service", imap_svc)): 1,
            ("surel_tls_handshakes_total",
             ("service", "127.0.0.1:%d" % inst.imaps_port),
             ("version", "TLSv1.3")): 1,
            ("surel_tls_handshakes_total",
             ("service", "127.0.0.1:%d" % inst.pop3s_port),
             ("version", "TLSv1.2")): 1,
            ("surel_tls_handshakes_total",): 2,
        }

    @staticmethod
    def values(samples, keys):
        return {k: select(samples, k[0], **dict(k[1:])) for k in keys}

    def test_counts_after_traffic(self):
        _, _, before = scrape(self.address)
        self.assertTrue(before, "no samples in the first scrape")
        expected = self.traffic()
        base = self.values(before, expected)
        want = {k: base[k] + d for k, d in expected.items()}
        for openmetrics in (False, True):
            got = {}

            def settled():
                status, _, samples = scrape(self.address, openmetrics)
                got.clear()
                got.update(self.values(samples, expected))
                got["_status"] = status
                got["_samples"] = samples
                # the queue is walked at most once a second: wait for
                # a walk after the held message came
                return all(got[k] == v for k, v in want.items()) and \
                    select(samples, "surel_queue_messages",
                           queue="hold") == 1 and \
                    select(samples, "surel_queue_messages",
                           queue="deferred") == 0
            wait_until(settled, TIMEOUT, 0.2)
            samples = got.pop("_samples")
            self.assertEqual(got.pop("_status"), 200)
            self.assertEqual(got, want, self.inst.diagnostics())
            # The held message is in hold/, the rest delivered.
            self.assertEqual(select(samples, "surel_queue_messages",
                                    queue="hold"), 1)
            self.assertEqual(select(samples, "surel_queue_messages",
                                    queue="deferred"), 0)
            age = select(samples, "surel_queue_oldest_age_seconds",
                         queue="hold")
            self.assertTrue(0 <= age < 600, age)
            self.assertEqual(select(samples,
                                    "surel_queue_oldest_age_seconds",
                                    queue="deferred"), 0)
            self.assertEqual(select(samples, "surel_processes",
                                    program="qmgr"), 1)
            self.assertEqual(select(samples, "surel_processes",
                                    program="metrics"), 1)
            start = select(samples, "surel_start_time_seconds")
            self.assertTrue(time.time() - 600 < start <= time.time(),
                            start)

    def test_content_types(self):
        status, headers, _ = scrape(self.address)
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith(
            "text/plain; version=0.0.4"), headers)
        status, headers, _ = scrape(self.address, openmetrics=True)
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith(
            "application/openmetrics-text; version=1.0.0"), headers)
        raw = http(self.address, b"GET /metrics HTTP/1.1\r\nAccept: "
                   b"application/openmetrics-text\r\n\r\n")
        self.assertTrue(raw.endswith(b"# EOF\n"), raw[-40:])
        # HEAD: the same headers, no body
        raw = http(self.address, b"HEAD /metrics HTTP/1.1\r\n\r\n")
        status, headers, body = split_response(raw)
        self.assertEqual((status, body), (200, b""))
        self.assertGreater(int(headers["content-length"]), 100)

    def test_bad_requests(self):
        cases = [
            (b"GET /other HTTP/1.1\r\n\r\n", 404),
            (b"POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
             405),
            (b"GET /metrics HTTP/2.0\r\n\r\n", 505),
            (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
            (b"GET /metrics HTTP/1.1\r\nBad Header: x\r\n\r\n", 400),
            (b"GET /" + b"a" * 400 + b" HTTP/1.1\r\n\r\n", 414),
            (b"GET /metrics HTTP/1.1\r\n" + b"X: y\r\n" * 101 + b"\r\n",
             431),
            (b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n",
             431),
        ]
        for request, want in cases:
            status, headers, _ = split_response(http(self.address,
                                                     request))
            self.assertEqual(status, want, request[:40])
            self.assertEqual(headers.get("connection"), "close")
            if want == 405:
                self.assertEqual(headers.get("allow"), "GET, HEAD")
        # still serving
        self.assertEqual(scrape(self.address)[0], 200)

    def test_slow_clients_do_not_stall_it(self):
        idle = []
        try:
            for _ in range(20):
                s = socket.create_connection(self.address, timeout=5)
                s.sendall(b"GET /metr")
                idle.append(s)
            t0 = time.monotonic()
            self.assertEqual(scrape(self.address)[0], 200)
            self.assertLess(time.monotonic() - t0, 3)
            # an idle client is dropped after the service's 10 s
            idle[0].settimeout(15)
            t0 = time.monotonic()
            self.assertEqual(idle[0].recv(100), b"")
            self.assertLess(time.monotonic() - t0, 14)
        finally:
            for s in idle:
                s.close()


class MetricsUnixSocket(unittest.TestCase):
    """metrics_listen as a socket path; a reload keeps the counters;
    an empty metrics_listen turns the service off."""

    def setUp(self):
        self.inst = Instance()
        self.sock_path = os.path.join(self.inst.dir, "metrics.sock")
        self.inst.set_main_cf(metrics_listen=self.sock_path)
        self.inst.master_cf_text += "$metrics_listen inet n - n - 1 metrics\n"
        self.inst.write_config()
        self.inst.start_or_cleanup()

    def tearDown(self):
        self.inst.cleanup_or_fail()

    def received(self):
        status, _, samples = scrape(self.sock_path)
        self.assertEqual(status, 200)
        return select(samples, "surel_messages_received_total",
                      service="127.0.0.1:%d" % self.inst.port)

    def test_unix_socket_and_reload(self):
        self.assertTrue(wait_until(lambda: os.path.exists(self.sock_path),
                                   TIMEOUT))
        self.assertEqual(os.stat(self.sock_path).st_mode & 0o777, 0o666)
        self.inst.deliver("alice@example.test", n=2)
        self.assertTrue(wait_until(lambda: self.received() == 2, TIMEOUT))
        old = self.inst.wait_service("metrics", timeout=TIMEOUT)
        os.kill(self.inst.master_pid, signal.SIGHUP)
        self.assertTrue(self.inst.wait_log("reload -- version", TIMEOUT))
        # a new metrics process, the same counts
        self.assertTrue(wait_until(
            lambda: self.received() == 2 and
            self.inst.wait_service("metrics", timeout=1,
                                   exclude=(old,)) is not None, TIMEOUT),
            self.inst.diagnostics())

    def test_empty_listen_is_off(self):
        self.inst.set_main_cf(metrics_listen="")
        os.kill(self.inst.master_pid, signal.SIGHUP)
        self.assertTrue(self.inst.wait_log("reload -- version", TIMEOUT))
        self.assertTrue(wait_until(
            lambda: not self.inst.processes("metrics"), TIMEOUT))
        self.assertFalse(os.path.exists(self.sock_path))
        # and the rest of the instance still works
        self.inst.deliver("alice@example.test")


if __name__ == "__main__":
    unittest.main()
