#!/usr/bin/python3
"""Runs the integration tests (tests/integration/test_*.py, unittest) and
prints one line per test, the failures, and "integration: N passed, N
failed". Usage: run.py [-k SUBSTRING] [MODULE...] (MODULE: test_delivery).

Programs come from $SUREL_PREFIX (see instance.py). Set SUREL_TEST_KEEP=1
to keep the instances' directories for a look afterwards."""

import argparse
import os
import socket
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import instance  # noqa: E402


class Result(unittest.TextTestResult):
    """Prints each test with its time; keeps the counts."""

    def startTest(self, test):
        self._t0 = time.monotonic()
        super().startTest(test)

    def _line(self, test, what):
        dt = time.monotonic() - getattr(self, "_t0", time.monotonic())
        self.stream.write("  %-70s %s (%.1fs)\n" % (test.id().replace("test_", "", 1)[:70], what, dt))
        self.stream.flush()

    passed = 0

    def addSuccess(self, test):
        unittest.TestResult.addSuccess(self, test)
        self.passed += 1
        self._line(test, "ok")

    def addFailure(self, test, err):
        unittest.TestResult.addFailure(self, test, err)
        self._line(test, "FAIL")

    def addError(self, test, err):
        unittest.TestResult.addError(self, test, err)
        self._line(test, "ERROR")

    def addSkip(self, test, reason):
        unittest.TestResult.addSkip(self, test, reason)
        self._line(test, "skipped: " + reason)

    def addExpectedFailure(self, test, err):
        unittest.TestResult.addExpectedFailure(self, test, err)
        self._line(test, "expected failure")

    def addUnexpectedSuccess(self, test):
        unittest.TestResult.addUnexpectedSuccess(self, test)
        self._line(test, "UNEXPECTED SUCCESS")


def filter_suite(suite, pattern):
    out = unittest.TestSuite()
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            out.addTest(filter_suite(t, pattern))
        elif pattern in t.id():
            out.addTest(t)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", default="", help="run only tests whose id contains this")
    ap.add_argument("modules", nargs="*")
    args = ap.parse_args()
    socket.setdefaulttimeout(60)
    loader = unittest.TestLoader()
    if args.modules:
        suite = unittest.TestSuite(loader.loadTestsFromName(m.replace(".py", ""))
                                   for m in args.modules)
    else:
        suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    if args.k:
        suite = filter_suite(suite, args.k)
    print("integration: programs from %s%s, %s" % (
        instance.PREFIX, " (ASan+UBSan)" if instance.SANITIZED else "",
        "as root (daemons drop to %s)" % instance.TEST_USER if instance.IS_ROOT
        else "as an ordinary user"))
    sys.stdout.flush()
    t0 = time.monotonic()
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=0,
                                     resultclass=Result)
    runner.run = _quiet_run(runner)
    result = runner.run(suite)
    for inst in list(instance.Instance.all_instances):
        inst.cleanup()
    for kind, items in (("FAIL", result.failures), ("ERROR", result.errors)):
        for test, tb in items:
            print("=" * 70)
            print("%s: %s" % (kind, test.id()))
            print(tb)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    # An error in a class's tear-down (a sanitizer report) is a failure
    # of its own, besides the tests that passed.
    passed = result.passed
    if result.skipped:
        print("integration: %d skipped" % len(result.skipped))
    print("integration: %.0fs" % (time.monotonic() - t0))
    print("integration: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def _quiet_run(runner):
    """TextTestRunner.run without its own summary: ours is printed
    instead."""
    def run(test):
        result = runner._makeResult()
        unittest.registerResult(result)
        result.failfast = runner.failfast
        result.startTestRun()
        try:
            test(result)
        finally:
            result.stopTestRun()
        return result
    return run


if __name__ == "__main__":
    sys.exit(main())
