"""One trajectory as a LangGraph StateGraph: query -> act -> ... -> finish.

State holds counters and references only; messages, observations and patches live in files (the
trajectory record and blob files), so checkpoints stay small. The heavy objects (model, Env, tools,
recorder) come through the graph's runtime context and are never checkpointed.
"""

from __future__ import annotations

import time
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from patchjury.agent.config import AgentConfig
from patchjury.agent.context import TrajContext, TrajState
from patchjury.agent.errors import ModelError
from patchjury.agent.workspace import clip, save_submission, snapshot
from patchjury.envs.errors import EnvError
from patchjury.tools.protocol import Observation

__all__ = ["TrajContext", "TrajState", "build_trajectory_graph", "initial_state"]


def _limit_hit(state: TrajState, cfg: AgentConfig) -> str | None:
    if state["step"] >= cfg.step_limit:
        return "step_limit"
    if cfg.cost_limit and state["cost"] >= cfg.cost_limit:
        return "cost_limit"
    if cfg.token_limit and state["prompt_tokens"] + state["completion_tokens"] >= cfg.token_limit:
        return "token_limit"
    if cfg.time_limit_s and state["elapsed_s"] >= cfg.time_limit_s:
        return "time_limit"
    return None


def query(state: TrajState, runtime: Runtime[TrajContext]) -> dict[str, Any]:
    ctx = runtime.context
    limit = _limit_hit(state, ctx.config)
    if limit:
        return {"status": limit}
    t0 = time.perf_counter()
    try:
        resp = ctx.model.query(ctx.recorder.messages[: state["n_messages"]], ctx.schemas)
    except ModelError as exc:
        return {"status": "model_error", "error": str(exc)}
    dt = time.perf_counter() - t0
    calls = resp["tool_calls"]
    message: dict[str, Any] = {"role": "assistant", "content": resp["content"]}
    if calls:
        message["tool_calls"] = [
            {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
            for c in calls
        ]
    usage = resp["usage"]
    step = state["step"] + 1
    entry = {"step": step, "query_s": round(dt, 4), "cost": resp["cost"], **usage}
    ctx.recorder.add_query(message, entry)  # saved by `act` (one write per step); kept in state meanwhile
    return {
        "step": step,
        "n_messages": state["n_messages"] + 1,
        "cost": state["cost"] + resp["cost"],
        "prompt_tokens": state["prompt_tokens"] + usage["prompt_tokens"],
        "completion_tokens": state["completion_tokens"] + usage["completion_tokens"],
        "elapsed_s": state["elapsed_s"] + dt,
        "pending": calls,
        "last": {"message": message, "step": entry},
    }


FORMAT_ERRORS = frozenset({"unknown_tool", "bad_json", "bad_arguments"})
"""`error_kind`s of tools.registry.run_tool observations that count as malformed calls."""


def act(state: TrajState, runtime: Runtime[TrajContext]) -> dict[str, Any]:
    ctx, cfg = runtime.context, runtime.context.config
    t0 = time.perf_counter()
    msgs: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    update: dict[str, Any] = {}
    bad = 0
    calls = state.get("pending") or []
    remaining = cfg.max_format_errors - state["format_errors"] - 1
    names = ", ".join(ctx.tools)
    if not calls:
        error = "it contains no tool call"
        text = ctx.prompts.render("format_error", error=error, tool_names=names, remaining=remaining)
        msgs.append({"role": "user", "content": text})
        records.append({"call_id": None, "name": None, "text": text, "error": True, "format_error": True})
        bad = 1
    for call in calls:
        if call["name"] == "__malformed__":  # an unparseable text-format block
            o = Observation(text=call["arguments"], error=True, data={"error_kind": "bad_json"})
        else:
            try:
                o = ctx.run_tool(ctx.env, ctx.tools, call["name"], call["arguments"])
            except EnvError as exc:
                update.update(status="env_error", error=f"{type(exc).__name__}: {exc}")
                break
        obs: dict[str, Any] = {"text": clip(o.text, cfg.output_limit), "error": o.error, "data": o.data}
        if o.error and o.data.get("error_kind") in FORMAT_ERRORS:
            bad += 1
            obs["format_error"] = True
            obs["text"] = ctx.prompts.render(
                "format_error", error=o.text, tool_names=names, remaining=remaining
            )
        if o.submitted:
            update.update(status="submitted", submitted=save_submission(ctx.blobs, o.data))
        msgs.append(
            {"role": "tool", "tool_call_id": call["id"], "name": call["name"], "content": obs["text"]}
        )
        records.append({"call_id": call["id"], "name": call["name"], **obs})
    all_bad = bool(records) and bad == len(records)
    update["format_errors"] = state["format_errors"] + 1 if all_bad else 0
    if update["format_errors"] >= cfg.max_format_errors and "status" not in update:
        update["status"] = "format_error"
    if "status" not in update and any(c["name"] not in ctx.read_only for c in calls):
        update["workspace"] = snapshot(ctx.env, ctx.blobs, state["step"], state.get("workspace", ""))
    dt = time.perf_counter() - t0
    ctx.recorder.add_observations(msgs, records, dt)
    update.update(
        n_messages=state["n_messages"] + len(msgs), elapsed_s=state["elapsed_s"] + dt, pending=[], last={}
    )
    ctx.emit("step", {**state, **update}, " ".join(c["name"] for c in calls) or "(no call)")
    return update


def finish(state: TrajState, runtime: Runtime[TrajContext]) -> dict[str, Any]:
    ctx = runtime.context
    update: dict[str, Any] = ctx.finalize(ctx, state)
    ctx.emit("end", {**state, **update}, state.get("error", ""))
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


def initial_state(index: int) -> TrajState:
    return TrajState(
        index=index,
        step=0,
        n_messages=2,
        cost=0.0,
        prompt_tokens=0,
        completion_tokens=0,
        elapsed_s=0.0,
        format_errors=0,
        pending=[],
        last={},
        status="running",
        error="",
        workspace="",
        submitted={},
    )
