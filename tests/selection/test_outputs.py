"""Normalized outputs: what differs between runs of one behaviour goes, what differs between behaviours stays."""

from __future__ import annotations

from patchjury.selection.outputs import digest, exception_of, excerpt, marker_of, normalize, observe

TRACE = (
    "Traceback (most recent call last):\n"
    '  File "/testbed/reproduce.py", line 12, in <module>\n'
    "    print(f(x))\n"
    '  File "/testbed/sympy/core/basic.py", line {n}, in f\n'
    "    raise ValueError('bad')\n"
    "ValueError: bad\n"
)


def test_run_to_run_noise_is_removed() -> None:
    a = "<Foo object at 0x7f3a2b1c9d80>\nran in 0.53s   \r\nseed=1234\n/tmp/tmpab12cd_x/out.txt\n2024-05-01 12:30:45,123 INFO\n"
    b = "<Foo object at 0x7f11aa22bb40>\nran in 12.1s\nseed=99\n/tmp/tmpzz99yy/out.txt\n2025-01-02 08:00:00 INFO\n\n"
    assert normalize(a) == normalize(b)
    assert digest(normalize(a)) == digest(normalize(b))
    assert normalize(TRACE.format(n=340)) == normalize(TRACE.format(n=351))  # the patch moved the code
    assert "pytest-3" not in normalize("/tmp/pytest-of-root/pytest-3/test_x0/f.py")


def test_real_differences_stay() -> None:
    assert normalize("[x1**3, x2**3]") != normalize("[x1**3, x1*x2**2, x2**3]")
    assert normalize("result: 1:00:00") != normalize("result: 2:00:00")  # a timedelta is content, not a clock
    assert normalize("id=1234") != normalize("id=1235")  # database ids are content
    assert normalize("ValueError: bad") != normalize("TypeError: bad")


def test_exception_marker_and_excerpt() -> None:
    assert exception_of(TRACE.format(n=1)) == "ValueError"
    assert exception_of(
        "ok\nTraceback (most recent call last):\n  x\nsympy.core.sympify.SympifyError: y"
    ) == ("sympy.core.sympify.SympifyError")
    assert exception_of("E   AssertionError: assert 1 == 2\n1 failed in 0.1s") == "AssertionError"
    assert exception_of("all good\nScript completed successfully, no errors.") is None
    assert marker_of("Issue reproduced\n...\nIssue resolved") == "resolved"
    assert marker_of("Other issues") == "other" and marker_of("fine") is None
    long = "a" * 1000 + "END"
    cut = excerpt(long, 100)
    assert len(cut) < 120 and cut.endswith("END") and "[...]" in cut


def test_observed_crash_means_uncaught_exception_signal_or_timeout() -> None:
    assert observe(TRACE.format(n=1), 1, False).crashed
    assert observe("", None, True).crashed
    assert observe("Killed", 137, False).crashed
    assert not observe("Issue reproduced", 2, False).crashed  # a deliberate verdict exit
    assert not observe("printed a traceback and went on\n" + TRACE.format(n=1), 0, False).crashed
    one, two = observe("out\n", 0, False), observe("out", 0, False)
    assert one.same_behaviour(two) and not one.same_behaviour(observe("out", 1, False))
