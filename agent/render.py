"""Render a trajectory record for humans with rich (used by `patchjury show`)."""

from __future__ import annotations

import json

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from patchjury.trajectory_record import StepRecord, TrajectoryRecord


def _clip(text: str, limit: int) -> str:
    if limit <= 0 or len(text) <= limit:
        return text
    return (
        text[: limit // 2]
        + f"\n[... {len(text) - limit} characters hidden; --full shows all ...]\n"
        + text[-limit // 2 :]
    )


def _args(raw: str) -> str:
    try:
        return json.dumps(json.loads(raw), indent=1)
    except (json.JSONDecodeError, TypeError):
        return str(raw)


def summary(record: TrajectoryRecord) -> Table:
    totals = record.totals
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("instance", record.instance_id),
        ("trajectory", f"{record.traj_id} (index {record.index})"),
        ("model", f"{record.model}  temperature {record.temperature}"),
        ("status", record.status),
        ("steps", str(totals.steps)),
        ("cost", f"${totals.cost:.4f}"),
        ("tokens", f"{totals.prompt_tokens} prompt + {totals.completion_tokens} completion"),
        ("time", f"{totals.elapsed_s:.1f}s active"),
        ("reproduced", str(record.reproduced)),
        ("tests", ", ".join(t.path for t in record.tests) or "-"),
        ("resumes", str(len(record.resumes))),
    ]
    for key, value in rows:
        table.add_row(key, Text(str(value)))
    return table


def render_record(record: TrajectoryRecord, console: Console, full: bool = False, limit: int = 1500) -> None:
    """Print the header, every message (tool calls and observations), errors and the final patch."""
    limit = 0 if full else limit
    console.print(Panel(summary(record), title="trajectory", border_style="cyan"))
    steps = record.steps
    step_no = 0
    for msg in record.messages:
        role = msg.get("role")
        if role == "system" and not full:
            console.print(
                Panel(Text(_clip(msg["content"], 300)), title="system (--full shows all)", border_style="dim")
            )
            continue
        if role == "assistant":
            step = steps[step_no] if step_no < len(steps) else StepRecord(step=step_no + 1)
            step_no += 1
            parts: list[RenderableType] = []
            if msg.get("content"):
                parts.append(Text(_clip(msg["content"], limit)))
            for call in msg.get("tool_calls") or []:
                fn = call["function"]
                parts.append(Text(f"-> {fn['name']}", style="bold yellow"))
                parts.append(Syntax(_clip(_args(fn["arguments"]), limit), "json", word_wrap=True))
            cost = f"${step.cost:.4f}, {step.query_s:.2f}s model, {step.act_s or 0.0:.2f}s tools"
            console.print(
                Panel(Group(*parts), title=f"step {step_no} (assistant)", subtitle=cost, border_style="green")
            )
        elif role == "tool":
            console.print(
                Panel(
                    Text(_clip(msg["content"], limit)),
                    title=f"observation: {msg.get('name', '')}",
                    border_style="blue",
                )
            )
        else:
            console.print(
                Panel(Text(_clip(msg.get("content") or "", limit)), title=str(role), border_style="magenta")
            )
    if record.error:
        console.print(Panel(Text(record.error), title="error", border_style="red"))
    if record.patch:
        console.print(
            Panel(Syntax(record.patch, "diff", word_wrap=True), title="final patch", border_style="cyan")
        )
    for test in record.tests:
        console.print(Panel(Syntax(test.content, "python"), title=f"reproduction test {test.path}"))
