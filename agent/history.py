"""Fit the conversation into the model's context window. The trajectory record keeps every message; only what is
sent to the model is trimmed.

When the next request would exceed `agent.history.trigger` of the window, older observations are replaced by a
one-line stub saying what was elided and how to see it again, keeping the system prompt, the issue and the last
`keep_last` observations in full (fewer when they alone do not fit, or when keeping fewer brings the request under
`target` of the window). The boundary only moves forward, and only when the trigger is crossed again, so between
two moves the prompt prefix is byte-stable (prompt caching keeps working). If even that does not fit, older assistant turns are shortened, then the oldest turns are dropped whole
(a note on the issue says how many). Optionally the model itself summarises the elided steps. A provider that
still answers "context length exceeded" gets a harder condensation (a smaller budget), a bounded number of times;
then the trajectory ends with status `context_exhausted`.

Every message stays valid for strict providers: a stubbed observation keeps its `tool_call_id`, and a dropped turn
goes with all its tool messages.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from patchjury.agent.config import HistoryConfig
from patchjury.agent.errors import ContextExhaustedError, ContextWindowError
from patchjury.agent.protocol import Model, ModelResponse
from patchjury.trajectory_record import ContextRecord, StepRecord

Counter = Callable[[list[dict[str, Any]]], int]
PROTECTED = 2
"""The system prompt and the issue are always sent whole."""
SHORT_TURN = 400
"""Characters of an older assistant text (or of its call arguments) kept when turns are shortened."""


def _observation(m: dict[str, Any], i: int) -> bool:
    return i >= PROTECTED and m.get("role") in ("tool", "user")


def stub(m: dict[str, Any]) -> dict[str, Any]:
    """The one-line stand-in of an elided observation (same role and call id)."""
    text = str(m.get("content") or "")
    if m.get("role") == "tool":
        note = (
            f"[elided to fit the context window: {len(text):,} characters of `{m.get('name', 'tool')}` output; "
            "call it again to see them]"
        )
    else:
        note = f"[elided to fit the context window: a {len(text):,}-character note]"
    return {**m, "content": note}


def _shorten(m: dict[str, Any]) -> dict[str, Any]:
    out = dict(m)
    content = str(m.get("content") or "")
    if len(content) > SHORT_TURN:
        out["content"] = content[:SHORT_TURN] + f" [... {len(content) - SHORT_TURN:,} characters elided]"
    calls = []
    for call in m.get("tool_calls") or []:
        args = call["function"]["arguments"]
        if len(args) > SHORT_TURN:
            args = json.dumps(
                {"elided": f"{len(args):,} characters of arguments, shortened to fit the context"}
            )
        calls.append({**call, "function": {**call["function"], "arguments": args}})
    if calls:
        out["tool_calls"] = calls
    return out


def _turn_starts(messages: list[dict[str, Any]]) -> list[int]:
    return [i for i, m in enumerate(messages) if i >= PROTECTED and m.get("role") == "assistant"]


@dataclass
class View:
    """What is sent for one request."""

    messages: list[dict[str, Any]]
    tokens: int
    elided_before: int = 0
    level: int = 0
    """0 everything whole, 1 older observations stubbed, 2 older turns shortened, 3 oldest turns dropped."""
    dropped: int = 0


def render(
    messages: list[dict[str, Any]], boundary: int, summary: str = "", shorten: bool = False, drop: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """The messages with observations before `boundary` stubbed (older turns shortened with `shorten`, the first
    `drop` turns left out) and the summary added to the issue. Returns (messages, turns dropped)."""
    starts = _turn_starts(messages)
    cut = starts[drop] if 0 < drop < len(starts) else PROTECTED
    drop = drop if cut > PROTECTED else 0
    issue = dict(messages[1]) if len(messages) > 1 else None
    notes = []
    if summary:
        notes.append(f"Summary of the earlier steps (their observations are elided):\n{summary}")
    if drop:
        notes.append(f"[{drop} earlier steps are left out to fit the context window]")
    if issue is not None and notes:
        issue["content"] = str(issue.get("content") or "") + "\n\n" + "\n\n".join(notes)
    out = messages[:1] + ([issue] if issue is not None else [])
    for i in range(cut, len(messages)):
        m = messages[i]
        if i < boundary and _observation(m, i):
            m = stub(m)
        elif i < boundary and shorten and m.get("role") == "assistant":
            m = _shorten(m)
        out.append(m)
    return out, drop


def fit(
    messages: list[dict[str, Any]],
    count: Counter,
    budget: int,
    keep_last: int,
    boundary: int,
    summary: str = "",
    low: int | None = None,
) -> View:
    """The least trimmed view within `budget` tokens that keeps `boundary` (observations before it stay elided).

    When the boundary has to move, it moves far enough for the request to fill at most `low` tokens if it can
    (keeping fewer than `keep_last` observations whole), so the next steps grow without moving it again."""
    if boundary <= PROTECTED and not summary:
        tokens = count(messages)
        if tokens <= budget:
            return View(messages, tokens)
    sent, _ = render(messages, boundary, summary)
    tokens = count(sent)
    if boundary > PROTECTED and tokens <= budget:
        return View(sent, tokens, boundary, 1)
    observations = [i for i, m in enumerate(messages) if _observation(m, i)]
    fitting: View | None = None
    for keep in range(min(keep_last, len(observations)), 0, -1):
        b = max(observations[-keep], boundary)
        sent, _ = render(messages, b, summary)
        tokens = count(sent)
        if tokens <= budget:
            fitting = fitting or View(sent, tokens, b, 1)
            if tokens <= (low or budget):
                return View(sent, tokens, b, 1)
    if fitting is not None:
        return fitting
    last = _turn_starts(messages)[-1:] or [len(messages)]
    b = max(last[0], boundary)  # only the newest turn whole
    sent, _ = render(messages, b, summary, shorten=True)
    tokens = count(sent)
    if tokens <= budget:
        return View(sent, tokens, b, 2)
    n_turns = len(_turn_starts(messages))
    for drop in range(1, n_turns):
        sent, dropped = render(messages, b, summary, shorten=True, drop=drop)
        tokens = count(sent)
        if tokens <= budget:
            return View(sent, tokens, b, 3, dropped)
    return View(sent, tokens, b, 3, max(n_turns - 1, 0))


def summarize(model: Model, elided: list[dict[str, Any]], previous: str, prompt: str) -> ModelResponse:
    """Ask the model for a summary of the elided steps (their calls and abridged observations)."""
    lines = [f"Previous summary:\n{previous}"] if previous else []
    for m in elided:
        if m.get("role") == "assistant":
            calls = ", ".join(
                f"{c['function']['name']}({c['function']['arguments'][:300]})"
                for c in m.get("tool_calls") or []
            )
            lines.append(f"ASSISTANT: {str(m.get('content') or '')[:500]} CALLS: {calls}")
        else:
            lines.append(f"OBSERVATION: {str(m.get('content') or '')[:1500]}")
    request = [{"role": "system", "content": prompt}, {"role": "user", "content": "\n".join(lines)}]
    return model.query(request, None)


def position(steps: list[StepRecord]) -> tuple[int, str]:
    """(elision boundary, current summary) of a trajectory, from what its recorded steps sent."""
    boundary, summary = 0, ""
    for step in steps:
        if step.context is not None:
            boundary = step.context.elided_before
            summary = step.context.summary or summary
    return boundary, summary


def _stable_bytes(sent: list[dict[str, Any]], sizes: list[int], previous: list[dict[str, Any]]) -> int:
    """Leading bytes of `sent` (as JSON) identical to the previous request's."""
    total = 1
    for k, m in enumerate(sent):
        if k >= len(previous) or previous[k] != m:
            a, b = json.dumps(m), json.dumps(previous[k]) if k < len(previous) else ""
            n = 0
            while n < min(len(a), len(b)) and a[n] == b[n]:
                n += 1
            return total + n
        total += sizes[k] + 2
    return total


class History:
    """The context policy of one trajectory (agent.config.HistoryConfig) over its model."""

    def __init__(self, model: Model, config: HistoryConfig, summary_prompt: str) -> None:
        self.model = model
        self.config = config
        self.summary_prompt = summary_prompt
        self.last_sent: list[dict[str, Any]] = []

    def ask(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], steps: list[StepRecord]
    ) -> tuple[ModelResponse, ContextRecord, list[ModelResponse]]:
        """Query the model with the history fitted to its window. Returns the response, what was sent, and the
        responses of summary calls made on the way (their cost counts too). ContextExhaustedError when nothing
        fits, or when the provider keeps refusing the prompt as too long."""
        model, config = self.model, self.config
        window = model.context_window

        def count(msgs: list[dict[str, Any]]) -> int:
            return model.count_tokens(msgs, tools)

        boundary, summary = position(steps)
        written: str | None = None
        summaries: list[ModelResponse] = []
        budget, low = int(window * config.trigger), int(window * config.target)
        for attempt in range(config.retries + 1):
            view = fit(messages, count, budget, config.keep_last, boundary, summary, low)
            if config.summarize and view.elided_before > max(boundary, PROTECTED):
                done = summarize(
                    model,
                    messages[max(boundary, PROTECTED) : view.elided_before],
                    summary,
                    self.summary_prompt,
                )
                summaries.append(done)
                summary = written = done.content.strip() or summary
                view = fit(messages, count, budget, config.keep_last, view.elided_before, summary, low)
            if view.tokens > window:
                raise ContextExhaustedError(
                    f"even the shortest history ({view.tokens:,} tokens: system prompt, issue and the last step) "
                    f"does not fit the context window of {window:,} tokens (model.context_window)"
                )
            try:
                resp = model.query(view.messages, tools)
            except ContextWindowError as exc:
                if attempt == config.retries:
                    raise ContextExhaustedError(
                        f"the provider refused the prompt as too long {attempt + 1} times, the last at "
                        f"{view.tokens:,} counted tokens: {exc}"
                    ) from exc
                budget = int(min(budget, view.tokens) * config.shrink)
                low = min(low, budget)
                boundary = view.elided_before
                continue
            sizes = [len(json.dumps(m)) for m in view.messages]
            record = ContextRecord(
                window=window,
                tokens=view.tokens,
                bytes=sum(sizes) + 2 * len(sizes),
                stable_bytes=_stable_bytes(view.messages, sizes, self.last_sent) if self.last_sent else 0,
                elided_before=view.elided_before,
                level=view.level,
                dropped=view.dropped,
                retries=attempt,
                summary=written,
            )
            self.last_sent = view.messages
            return resp, record, summaries
        raise ContextExhaustedError("no attempt left")  # the loop above returns or raises
