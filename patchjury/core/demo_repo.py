"""The demo: a small buggy repository and a scripted (deterministic) policy standing in for the LLM.

Four trajectories, four different behaviours (trajectory i follows variant i % 4), so the jury has work:
  0, 1  the right fix (identical patches: one cluster of two) with a thorough reproduction test;
  2     a wrong fix (subtracts the percentage as an amount) whose weak test happens to pass on it;
  3     a half fix (integer division) whose test only checks whole numbers.
Every test runs against every candidate: only the right fix passes all of them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

PRICING = '''"""Prices and discounts for the shop."""


def apply_discount(price, percent):
    """Return `price` reduced by `percent` percent (0 to 100)."""
    return price - price * percent


def total(prices, percent=0):
    """Sum of the discounted prices."""
    return sum(apply_discount(p, percent) for p in prices)
'''

TESTS = """from shop.pricing import apply_discount, total


def test_no_discount():
    assert apply_discount(80, 0) == 80


def test_total_without_discount():
    assert total([1, 2, 3]) == 6
"""

ISSUE = """# apply_discount treats the percentage as a fraction

`apply_discount(200, 10)` should give 180 (10 % off) but returns -1800. `total([19.99], 50)` is negative too.
The `percent` argument is documented as 0 to 100.
"""

_GOOD_FIX = "price - price * percent / 100"
_VARIANTS: dict[int, tuple[str, str, str]] = {
    # index -> (test file, test body, replacement expression)
    0: (
        "repro_discount.py",
        "assert apply_discount(200, 10) == 180\nassert abs(apply_discount(19.99, 50) - 9.995) < 1e-9\n"
        "assert apply_discount(80, 0) == 80",
        _GOOD_FIX,
    ),
    2: ("repro_discount_amount.py", "assert apply_discount(100, 10) == 90", "price - percent"),
    3: ("repro_discount_whole.py", "assert apply_discount(200, 10) == 180", "price - price * percent // 100"),
}
_VARIANTS[1] = _VARIANTS[0]


def _test_source(body: str) -> str:
    lines = "\n".join("    " + ln for ln in body.splitlines())
    return (
        "import sys\n\nfrom shop.pricing import apply_discount\n\ntry:\n"
        f"{lines}\nexcept AssertionError:\n    print('issue reproduced')\n    sys.exit(2)\n"
        "print('issue resolved')\nsys.exit(0)\n"
    )


def script() -> list[dict[str, Any]]:
    """The deterministic model's steps; Jinja picks the variant from the trajectory index."""

    def pick(field: int) -> str:
        parts = [
            f"{{% {'if' if k == 0 else 'elif'} index % 4 == {k} %}}{_VARIANTS[k][field]}" for k in range(4)
        ]
        return "".join(parts) + "{% endif %}"

    test_path = pick(0)
    test_src = (
        "".join(
            f"{{% {'if' if k == 0 else 'elif'} index % 4 == {k} %}}{_test_source(_VARIANTS[k][1])}"
            for k in range(4)
        )
        + "{% endif %}"
    )
    return [
        {
            "content": "Read the issue; look at the pricing module.",
            "tool": "view",
            "args": {"path": "shop/pricing.py"},
        },
        {"content": "Who calls apply_discount?", "tool": "search", "args": {"pattern": "apply_discount"}},
        {
            "content": "Write a reproduction test first.",
            "tool": "write_test",
            "args": {"path": test_path, "content": test_src},
        },
        {
            "content": "It should exit 2 on the original code.",
            "tool": "run_test",
            "args": {"path": test_path},
        },
        {
            "content": "Fix the formula.",
            "tool": "edit",
            "args": {
                "command": "str_replace",
                "path": "shop/pricing.py",
                "old_str": "return price - price * percent\n",
                "new_str": "return " + pick(2) + "\n",
            },
        },
        {"content": "The test should pass now.", "tool": "run_test", "args": {"path": test_path}},
        {"content": "Done.", "tool": "submit", "args": {}},
    ]


def create_demo_repo(root: Path) -> Path:
    """A git repository `root/shop-demo` with the bug committed; returns its path."""
    repo = root / "shop-demo"
    (repo / "shop").mkdir(parents=True)
    (repo / "tests").mkdir()
    (repo / "shop" / "__init__.py").write_text("")
    (repo / "shop" / "pricing.py").write_text(PRICING)
    (repo / "tests" / "test_pricing.py").write_text(TESTS)
    (repo / "README.md").write_text(
        "# shop-demo\n\nA tiny shop library with a discount bug (patchjury demo).\n"
    )
    (repo / ".gitignore").write_text("__pycache__/\n*.pyc\n")
    ident = ["-c", "user.name=patchjury demo", "-c", "user.email=demo@patchjury.invalid"]
    for cmd in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        [*ident, "commit", "-q", "-m", "shop: prices and discounts"],
    ):
        subprocess.run(["git", *cmd], cwd=repo, check=True, capture_output=True)
    return repo
