"""A trajectory as one self-contained HTML page (no server, no scripts from elsewhere): the steps with the model's
text, its tool calls and their observations, what each step sent (context), the final patch coloured, the tests.

    write_trajectory_html(record, Path("t000.html"))   # `patchjury show --html` and the run report write these
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from patchjury.trajectory_record import StepRecord, TrajectoryRecord

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}table.meta td{padding:.1em .8em .1em 0}
pre{background:#f6f8fa;padding:.7em 1em;overflow:auto;font-size:.82em;white-space:pre-wrap;word-break:break-word}
.step{border:1px solid #ddd;border-radius:6px;margin:1em 0;padding:.2em 1em .6em}
.step>h3{font-size:1em;margin:.6em 0}.meta-line{color:#666;font-size:.85em}
.call{color:#8a5a00;font-weight:600}.obs-error{border-left:4px solid #c62828}.fmt{color:#c62828}
details>summary{cursor:pointer;color:#0550ae}
"""
DIFF_CSS = """
.diff .add{color:#1a7f37;background:#e6ffec}.diff .del{color:#cf222e;background:#ffebe9}
.diff .hunk{color:#6f42c1}.diff .file{font-weight:600}
"""


def diff_html(patch: str) -> str:
    """A unified diff as <pre> with added, removed, hunk and file lines coloured."""
    out = []
    for line in patch.splitlines():
        cls = ""
        if line.startswith(("+++", "---", "diff --git", "index ", "new file", "deleted file")):
            cls = "file"
        elif line.startswith("+"):
            cls = "add"
        elif line.startswith("-"):
            cls = "del"
        elif line.startswith("@@"):
            cls = "hunk"
        text = html.escape(line) or " "
        out.append(f'<span class="{cls}">{text}</span>' if cls else text)
    return '<pre class="diff">' + "\n".join(out) + "</pre>"


def _args(raw: str) -> str:
    try:
        return json.dumps(json.loads(raw), indent=1)
    except (json.JSONDecodeError, TypeError):
        return str(raw)


def _text(text: str, open_: bool, limit: int = 2_000) -> str:
    if len(text) <= limit:
        return f"<pre>{html.escape(text)}</pre>"
    state = " open" if open_ else ""
    return (
        f"<details{state}><summary>{len(text):,} characters</summary><pre>{html.escape(text)}</pre></details>"
    )


def _step(n: int, message: dict, step: StepRecord | None) -> str:
    parts = [f'<div class="step" id="step-{n}"><h3>Step {n}</h3>']
    if step is not None:
        bits = [
            f"${step.cost:.4f}",
            f"{step.query_s:.2f} s model",
            f"{step.act_s or 0:.2f} s tools",
            f"{step.prompt_tokens:,} prompt tokens ({step.cached_tokens:,} cached)",
            f"{step.completion_tokens:,} out",
        ]
        if step.context is not None:
            c = step.context
            sent = f"sent {c.tokens:,} of {c.window:,} tokens"
            if c.level:
                sent += f", older observations elided (level {c.level})"
            if c.retries:
                sent += f", after {c.retries} refusal(s)"
            bits.append(sent)
        parts.append(f'<div class="meta-line">{html.escape(" · ".join(bits))}</div>')
    if message.get("reasoning_content"):
        parts.append(
            "<details><summary>reasoning</summary>"
            + _text(str(message["reasoning_content"]), True)
            + "</details>"
        )
    if message.get("content"):
        parts.append(_text(str(message["content"]), True))
    for call in message.get("tool_calls") or []:
        fn = call.get("function", {})
        parts.append(f'<div class="call">→ {html.escape(str(fn.get("name")))}</div>')
        parts.append(_text(_args(fn.get("arguments", "")), False))
    for obs in step.observations if step is not None else []:
        cls = ' class="obs-error"' if obs.error else ""
        label = "format error" if obs.format_error else f"observation of {obs.name or 'the response'}"
        label_html = f'<span class="fmt">{label}</span>' if obs.format_error else html.escape(label)
        parts.append(f"<div{cls}><div class='meta-line'>{label_html}</div>{_text(obs.text, False)}</div>")
    parts.append("</div>")
    return "".join(parts)


def render_trajectory_html(record: TrajectoryRecord, back: str | None = None) -> str:
    """The whole page; `back` links to the run report."""
    title = f"{record.instance_id} {record.traj_id}: {record.status}"
    t = record.totals
    rows = [
        ("model", f"{record.model} (temperature {record.temperature})"),
        ("status", record.status + (f": {record.error.splitlines()[0][:200]}" if record.error else "")),
        ("steps", str(t.steps)),
        ("cost", f"${t.cost:.4f}"),
        (
            "tokens",
            f"{t.prompt_tokens:,} prompt ({t.cached_share:.0%} cached) + {t.completion_tokens:,} completion",
        ),
        ("time", f"{t.elapsed_s:.1f} s active"),
        ("reproduced", str(record.reproduced)),
    ]
    head = "".join(f"<tr><td><b>{k}</b></td><td>{html.escape(v)}</td></tr>" for k, v in rows)
    body = [f"<h1>{html.escape(title)}</h1>"]
    if back:
        body.append(f'<p><a href="{html.escape(back)}">← run report</a></p>')
    body.append(f'<table class="meta">{head}</table>')
    if record.patch.strip():
        body.append('<p><a href="#patch">final patch</a></p>')
    issue = next((m for m in record.messages if m.get("role") == "user"), None)
    system = next((m for m in record.messages if m.get("role") == "system"), None)
    if system is not None:
        body.append("<h2>System prompt</h2>" + _text(str(system.get("content") or ""), False, 0))
    if issue is not None:
        body.append("<h2>Task</h2>" + _text(str(issue.get("content") or ""), True, 6_000))
    body.append("<h2>Steps</h2>")
    n = 0
    for message in record.messages:
        if message.get("role") == "assistant":
            step = record.steps[n] if n < len(record.steps) else None
            n += 1
            body.append(_step(n, message, step))
    if record.patch.strip():
        body.append('<h2 id="patch">Final patch</h2>' + diff_html(record.patch))
    for test in record.tests:
        body.append(
            f"<h2>Reproduction test {html.escape(test.path)}</h2><pre>{html.escape(test.content)}</pre>"
        )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{CSS}{DIFF_CSS}</style></head><body>{''.join(body)}</body></html>\n"
    )


def write_trajectory_html(record: TrajectoryRecord, path: Path, back: str | None = None) -> Path:
    path.write_text(render_trajectory_html(record, back))
    return path
