"""One trajectory as a LangGraph StateGraph: query -> act -> ... -> finish.

The state is a cursor into the trajectory record plus what the graph needs to carry on; messages, observations,
counters (steps, cost, tokens, time) and patches live in files (the record and blob files), so checkpoints stay
small and there is one source of truth. The heavy objects (model, Env, toolset, recorder) come through the
graph's runtime context and are never checkpointed.
"""

from __future__ import annotations

import time
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from patchjury.agent.config import AgentConfig
from patchjury.agent.context import TrajContext, TrajState
from patchjury.agent.errors import ContextExhaustedError, Interrupted, ModelError
from patchjury.agent.events import abridge
from patchjury.agent.finalize import finalize
from patchjury.agent.trajectory import Cursor, Pending
from patchjury.agent.workspace import save_submission, snapshot
from patchjury.envs.errors import EnvError
from patchjury.tools.protocol import Observation
from patchjury.trajectory_record import ObservationRecord, StepRecord, Totals

__all__ = ["TrajContext", "TrajState", "build_trajectory_graph", "initial_state"]

MALFORMED = "__malformed__"
"""Name of the call a text-format model produces for an unparseable block (agent.models.textformat)."""


def _limit_hit(totals: Totals, cfg: AgentConfig) -> str | None:
    if totals.steps >= cfg.step_limit:
        return "step_limit"
    if cfg.cost_limit and totals.cost >= cfg.cost_limit:
        return "cost_limit"
    if cfg.token_limit and totals.tokens >= cfg.token_limit:
        return "token_limit"
    if cfg.time_limit_s and totals.elapsed_s >= cfg.time_limit_s:
        return "time_limit"
    return None


def query(state: TrajState, runtime: Runtime[TrajContext]) -> dict[str, Any]:
    ctx = runtime.context
    recorder = ctx.recorder
    if ctx.stop is not None and ctx.stop.is_set():  # a step boundary: the last checkpoint is the resume point
        raise Interrupted(f"stopped before step {recorder.totals.steps + 1}")
    limit = _limit_hit(recorder.totals, ctx.config)
    if limit:
        return {"status": limit}
    t0 = time.perf_counter()
    try:
        resp, sent, summaries = ctx.history.ask(recorder.messages, ctx.toolset.schemas, recorder.record.steps)
    except ContextExhaustedError as exc:
        return {"status": "context_exhausted", "error": str(exc)}
    except ModelError as exc:
        return {"status": "model_error", "error": str(exc)}
    dt = time.perf_counter() - t0
    message = resp.message()
    usage, cost = resp.usage.model_copy(), resp.cost
    for extra in summaries:  # summary calls of the history policy count with this step
        usage.add(extra.usage)
        cost += extra.cost
    step = StepRecord(
        step=recorder.totals.steps + 1, query_s=round(dt, 4), cost=cost, context=sent, **usage.model_dump()
    )
    recorder.add_query(message, step)  # saved by `act` (one write per step); kept in state meanwhile
    calls = [c.model_dump() for c in resp.tool_calls]
    pending: Pending = {"message": message, "step": step.model_dump(mode="json"), "calls": calls}
    return {"cursor": recorder.cursor(), "pending": pending}


def act(state: TrajState, runtime: Runtime[TrajContext]) -> dict[str, Any]:
    ctx, cfg = runtime.context, runtime.context.config
    t0 = time.perf_counter()
    msgs: list[dict[str, Any]] = []
    records: list[ObservationRecord] = []
    update: dict[str, Any] = {}
    pending = state.get("pending")
    calls = pending["calls"] if pending else []
    remaining = cfg.max_format_errors - state["format_errors"] - 1
    names = ", ".join(ctx.toolset.names)
    if not calls:
        text = ctx.prompts.render(
            "format_error", error="it contains no tool call", tool_names=names, remaining=remaining
        )
        msgs.append({"role": "user", "content": text})
        records.append(ObservationRecord(text=text, error=True, format_error=True))
    for call in calls:
        if call["name"] == MALFORMED:
            o = Observation(text=call["arguments"], error=True, data={"error_kind": "bad_json"})
        else:
            try:
                o = ctx.toolset.run(ctx.env, call["name"], call["arguments"])
            except EnvError as exc:
                update.update(status="env_error", error=f"{type(exc).__name__}: {exc}")
                break
        text = o.text
        if o.malformed:
            text = ctx.prompts.render("format_error", error=o.text, tool_names=names, remaining=remaining)
        if o.submitted:
            update.update(status="submitted", submitted=save_submission(ctx.blobs, o.data))
        msgs.append({"role": "tool", "tool_call_id": call["id"], "name": call["name"], "content": text})
        records.append(
            ObservationRecord(
                call_id=call["id"],
                name=call["name"],
                text=text,
                error=o.error,
                format_error=o.malformed,
                data=o.data,
            )
        )
    all_bad = bool(records) and all(r.format_error for r in records)
    update["format_errors"] = state["format_errors"] + 1 if all_bad else 0
    if update["format_errors"] >= cfg.max_format_errors and "status" not in update:
        update["status"] = "format_error"
    if "status" not in update and ctx.toolset.changes_files(c["name"] for c in calls):
        update["workspace"] = snapshot(
            ctx.env, ctx.toolset, ctx.blobs, ctx.recorder.totals.steps, state.get("workspace", "")
        )
    ctx.recorder.add_observations(msgs, records, time.perf_counter() - t0)
    update.update(cursor=ctx.recorder.cursor(), pending=None)
    ctx.emit(
        "step",
        update.get("status", "running"),
        " ".join(c["name"] for c in calls) or "(no call)",
        thought=abridge(str(pending["message"].get("content") or "") if pending else ""),
        calls=[f"{c['name']} {abridge(c['arguments'], 200)}" for c in calls],
        observations=[abridge(r.text) for r in records],
    )
    return update


def finish(state: TrajState, runtime: Runtime[TrajContext]) -> dict[str, Any]:
    ctx = runtime.context
    update = finalize(ctx, state)
    ctx.emit("end", update["status"], state.get("error", ""))
    return update


def _after_query(state: TrajState) -> str:
    return "finish" if state.get("status", "running") != "running" else "act"


def build_trajectory_graph(checkpointer: Any = None) -> Any:
    """The compiled trajectory graph (one per run; each trajectory is a thread of it)."""
    graph = StateGraph(TrajState, context_schema=TrajContext)
    graph.add_node("query", query)
    graph.add_node("act", act)
    graph.add_node("finish", finish)
    graph.add_edge(START, "query")
    graph.add_conditional_edges("query", _after_query, ["act", "finish"])
    graph.add_conditional_edges(
        "act", lambda s: "query" if _after_query(s) == "act" else "finish", ["query", "finish"]
    )
    graph.add_edge("finish", END)
    return graph.compile(checkpointer=checkpointer)


def initial_state(index: int, cursor: Cursor) -> TrajState:
    return TrajState(
        index=index,
        cursor=cursor,
        pending=None,
        format_errors=0,
        status="running",
        error="",
        workspace="",
        submitted={},
    )
