"""What `patchjury swebench run` leaves: the run totals and the per-instance cost/time summary (summary.md)."""

from __future__ import annotations

from typing import Any

SUM_KEYS = ("cost", "tokens", "container_minutes", "seconds", "image_seconds")


def totals(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Run-level sums and counts over per-instance results."""
    out: dict[str, Any] = {k: round(sum(float(r.get(k) or 0) for r in results), 4) for k in SUM_KEYS}
    out["tokens"] = int(out["tokens"])
    out["instances"] = len(results)
    out["done"] = sum(1 for r in results if r.get("status") == "done")
    out["errors"] = sum(1 for r in results if r.get("status") == "error")
    out["with_patch"] = sum(1 for r in results if (r.get("model_patch") or "").strip())
    out["own_test_pass"] = sum(1 for r in results if r.get("own_test") == "pass")
    graded = [r for r in results if "eval" in r]
    if graded:
        out["resolved"] = sum(1 for r in graded if r["eval"] == "resolved")
        out["graded"] = len(graded)
    return out


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def summary_markdown(summary: dict[str, Any]) -> str:
    """Per-instance and total cost/time table."""
    t = summary["totals"]
    lines = [
        "# patchjury swebench run",
        "",
        f"{t['done']}/{t['instances']} instances done ({t['errors']} errors, {summary.get('skipped_existing', 0)} "
        f"reused from an earlier run); {t['with_patch']} with a patch, {t['own_test_pass']} whose chosen patch "
        "passes its own reproduction test"
        + (f"; **resolved {t['resolved']}/{t['graded']}** graded" if "resolved" in t else "")
        + ".",
        "",
        f"Total: ${t['cost']:.4f}, {t['tokens']:,} tokens, {t['container_minutes']:.1f} container-minutes, "
        f"{t['seconds']:.0f} s of instance time ({summary.get('wall_seconds', 0):.0f} s wall).",
        "",
        "| instance | status | winner | own test | eval | cost ($) | tokens | container-min | image s | total s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summary["instances"]:
        status = r.get("status", "?")
        if status == "error":
            status = f"error ({_cell(r.get('stage', ''))}: {_cell(str(r.get('error', ''))[:80])})"
        lines.append(
            f"| {r['instance_id']} | {status} | {r.get('winner') or '-'} | {r.get('own_test') or '-'} "
            f"| {r.get('eval', '-')} | {float(r.get('cost') or 0):.4f} | {int(r.get('tokens') or 0):,} "
            f"| {float(r.get('container_minutes') or 0):.2f} | {float(r.get('image_seconds') or 0):.0f} "
            f"| {float(r.get('seconds') or 0):.0f} |"
        )
    lines.append(
        f"| **total** | {t['done']} done | | {t['own_test_pass']} pass | {t.get('resolved', '-')} "
        f"| {t['cost']:.4f} | {t['tokens']:,} | {t['container_minutes']:.2f} | {t['image_seconds']:.0f} "
        f"| {t['seconds']:.0f} |"
    )
    return "\n".join(lines) + "\n"
