"""Explain a Decision: a markdown report (per-candidate table, reasons, pass matrix) and an optional PNG chart."""

from __future__ import annotations

from pathlib import Path

from patchjury.records import CandidateEvidence, Decision
from patchjury.selection.behaviour import Behaviour
from patchjury.selection.config import SelectionConfig
from patchjury.selection.evidence import BehaviourEvidence, Evidence, ExecutionEvidence, RegressionEvidence
from patchjury.selection.pass_matrix import PassMatrix
from patchjury.selection.regression import RegressionReport


def _num(x: float | int | None, digits: int = 3) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float) and not x.is_integer():
        return f"{x:.{digits}f}"
    return str(int(x))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _row(e: CandidateEvidence, winner: str | None, method: str, rule_col: bool) -> str:
    total = e.scores.get("repro_total")
    repro = "n/a" if e.repro_pass is None else f"{e.repro_pass}/{_num(total)}"
    reg_total = e.scores.get("regression_total")
    reg = _num(e.regression_failures) + (f" of {_num(reg_total)}" if reg_total is not None else "")
    name = f"**{e.candidate_id}** (winner)" if e.candidate_id == winner else e.candidate_id
    cluster = "-" if e.cluster < 0 else f"{e.cluster} (x{e.cluster_size})"
    rule = f" {_num(e.scores.get(method))} |" if rule_col else ""
    return (
        f"| {name} | {cluster} | {_num(e.votes)} | {repro} | {reg} | {_num(e.verifier_score)} |{rule} "
        f"{_cell(e.dropped or '')} |"
    )


def _evidence(
    matrix: PassMatrix | None, regression: RegressionReport | None, behaviour: Behaviour | None
) -> list[Evidence]:
    out: list[Evidence] = []
    if matrix is not None:
        out.append(ExecutionEvidence(matrix, SelectionConfig()))  # only its section is read here
    if behaviour is not None:
        out.append(BehaviourEvidence(behaviour))
    if regression is not None:
        out.append(RegressionEvidence(regression))
    return out


def render_markdown(
    decision: Decision,
    matrix: PassMatrix | None = None,
    regression: RegressionReport | None = None,
    behaviour: Behaviour | None = None,
) -> str:
    """Markdown explanation of one decision; the pass matrix, what the tests printed (behaviour) and regression
    details when given."""
    lines = [f"# {decision.instance_id}: jury decision ({decision.method})", ""]
    lines.append(
        f"Winner: **{decision.winner}**" if decision.winner else "Winner: none (no candidate survived)"
    )
    lines += ["", "## Why", ""]
    lines += [f"- {_cell(r)}" for r in decision.reasons] or ["- (no reasons recorded)"]
    rule_col = any(decision.method in e.scores for e in decision.evidence)
    head = (
        "| candidate | cluster (size) | votes | reproducing tests passed | regression failures | verifier |"
    )
    head += f" {decision.method} score |" * rule_col + " dropped |"
    lines += ["", "## Candidates", "", head, "|---" * head.count(" |") + "|"]
    lines += [_row(e, decision.winner, decision.method, rule_col) for e in decision.evidence]
    others = sorted(
        {k for e in decision.evidence for k in e.scores}
        - {"repro_total", "regression_total", decision.method}
    )
    if others:
        lines += [
            "",
            "Other scores: "
            + "; ".join(
                f"{e.candidate_id}: " + ", ".join(f"{k}={_num(e.scores[k])}" for k in others if k in e.scores)
                for e in decision.evidence
                if any(k in e.scores for k in others)
            ),
        ]
    for evidence in _evidence(matrix, regression, behaviour):
        section = evidence.section()
        if section:
            lines += ["", *section]
    return "\n".join(lines) + "\n"


def render_chart(decision: Decision, path: Path) -> str | None:
    """Bar chart of verifier score, execution votes and rule score per candidate, saved as PNG.

    Returns None on success, or a note saying why no chart was drawn (matplotlib missing, nothing to plot).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "chart skipped: matplotlib is missing (a patchjury dependency: pip install matplotlib)"
    ev = decision.evidence
    if not ev:
        return "chart skipped: no candidates"
    series = {
        "verifier score": [e.verifier_score or 0.0 for e in ev],
        "votes (share of max)": _share([e.votes for e in ev]),
        f"{decision.method} score (share of max)": _share([e.scores.get(decision.method) for e in ev]),
    }
    series = {k: v for k, v in series.items() if any(v)}
    fig, ax = plt.subplots(figsize=(max(5.0, 0.6 * len(ev) + 2), 3.5))
    width = 0.8 / max(1, len(series))
    for i, (label, vals) in enumerate(series.items()):
        ax.bar([j + i * width for j in range(len(ev))], vals, width, label=label)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(ev))])
    ax.set_xticklabels(
        [
            f"{e.candidate_id}{'*' if e.candidate_id == decision.winner else ''}"
            + (" (dropped)" if e.dropped else "")
            for e in ev
        ],
        rotation=30,
        ha="right",
    )
    ax.set_ylim(0, 1.05)
    ax.set_title(f"{decision.instance_id}: {decision.method} picks {decision.winner} (*)")
    if series:
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


def _share(vals: list[float | None]) -> list[float]:
    top = max((v for v in vals if v is not None), default=0.0)
    return [(v or 0.0) / top if top else 0.0 for v in vals]
