"""The offline plan: the real program under strict mocks, rendered deterministically.

No Pulumi CLI and no cloud account are needed. Every secret value becomes "[secret]".
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import json
import logging
import weakref
from collections.abc import Callable
from typing import Any

import pulumi
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime import rpc
from pulumi.runtime import settings as settings_module
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.settings import SETTINGS
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from baseline import PROJECT
from baseline.config import Resolved
from baseline.errors import PlanError
from baseline.mocks import RecordingMonitor, StrictMocks

SECRET = "[secret]"


def _redact(value: Any) -> Any:
    if rpc.is_rpc_secret(value):
        return SECRET
    if isinstance(value, dict):
        return {k: _redact(v) for k, v in sorted(value.items()) if not k.startswith("__")}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    if isinstance(value, pulumi.output.Unknown):
        return "[unknown]"
    return value


async def _plain(value: Any) -> Any:
    """Stack outputs with secrets replaced, awaited leaf by leaf."""
    if isinstance(value, pulumi.Output):
        if await value.is_secret():
            return SECRET
        return await _plain(await value.future())
    if isinstance(value, dict):
        return {k: await _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [await _plain(v) for v in value]
    return value


def execute(program: Callable[[], Any], stack: str, mocks: StrictMocks) -> tuple[RecordingMonitor, Any]:
    """Run ``program`` under ``mocks``; return the monitor's records and the awaited outputs.

    A registration the mocks refuse becomes a PlanError naming the resource and the reason.
    """
    monitor = RecordingMonitor(mocks)
    # A fresh root Stack per run: set_mocks keeps an existing one, which would parent this
    # run's resources under the previous stack when one process renders several plans.
    settings_module.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()
    holder: dict[str, Any] = {}
    # After a refusal, sibling registrations fail too and asyncio would log each unretrieved
    # future with a traceback; the PlanError below is the one message the user needs.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)

    async def run() -> None:
        holder["outputs"] = await _plain(program())

    # The SDK captures a Python stack trace per registration so a real engine can point
    # diagnostics at source lines; the mock engine discards it, and it costs about a third of
    # the per-resource time (measured with benchmarks/plan_benchmark.py). Skipped for the run.
    capture = getattr(sdk_resource, "_get_stack_trace", None)
    if capture is not None:
        sdk_resource._get_stack_trace = source_pb2.StackTrace
    try:
        _sync_await(run_pulumi_func(run))
    except Exception:
        if monitor.refusals:
            raise PlanError(f"the cloud would refuse {monitor.refusals[0]}") from None
        raise
    finally:
        if capture is not None:
            sdk_resource._get_stack_trace = capture
    if monitor.refusals:
        raise PlanError(f"the cloud would refuse {monitor.refusals[0]}")
    return monitor, holder["outputs"]


class _RecordingPolicy(asyncio.DefaultEventLoopPolicy):
    """The default policy, remembering each loop it makes (the SDK's threads make theirs here:
    ``asyncio.get_event_loop()`` and ``asyncio.new_event_loop()`` both come to ``new_event_loop``)."""

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        loop = super().new_event_loop()
        _LOOPS.add(loop)
        return loop


_LOOPS: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
# A policy another library set (an embedding program's) stays; close_event_loops then scans.
_RECORDING = type(asyncio.get_event_loop_policy()) is asyncio.DefaultEventLoopPolicy
if _RECORDING:
    asyncio.set_event_loop_policy(_RecordingPolicy())


def close_event_loops() -> None:
    """Close every event loop the SDK opened; call only when the process is about to exit.

    The mock monitor gives each executor thread its own loop and never closes it; left to the
    garbage collector at interpreter exit, a loop can outlive its self-pipe and print an
    "Exception ignored" traceback on stderr. (Worker threads are reused across renders, so the
    loops must stay open while the process renders more plans.) The loops come from the recording
    policy: scanning every object for them took ~40 ms of each plan.
    """
    loops = (
        list(_LOOPS)
        if _RECORDING
        else [o for o in gc.get_objects() if isinstance(o, asyncio.AbstractEventLoop)]
    )
    for loop in loops:
        if not loop.is_running() and not loop.is_closed():
            loop.close()


# Every process that renders closes the loops at exit itself, not only `python -m baseline`: a
# caller of baseline.cli.main() in its own interpreter (a script, a test's probe) otherwise exits
# with the loops to the collector, and now and then with that traceback after its output. atexit
# runs before interpreter teardown; __main__ still closes them before gc.freeze(), whose frozen
# objects gc.get_objects() no longer lists.
atexit.register(close_event_loops)


# Rendered plans by (stack, the resolved configuration's repr): the program reads nothing but the
# resolved configuration (the pipeline's environments are resolved into it), so one process that
# renders the same configuration again (diff's base and head, sweep's name check, the graph over
# shared accounts, a test session) gets the same plan back without running the program again.
_RENDERED: dict[tuple[str, str], str] = {}


def render(resolved: Resolved, stack: str, *, reuse: bool = True) -> dict[str, Any]:
    """Run the program under strict mocks and return the plan document (a fresh copy each call;
    ``reuse=False`` runs the program even when this process rendered the same configuration)."""
    key = (stack, repr(resolved))
    if not reuse or key not in _RENDERED:
        _RENDERED[key] = json.dumps(_render(resolved, stack))
    # Every call gets the plan as JSON reads it (lists, not tuples), the first one too.
    return json.loads(_RENDERED[key])


def _render(resolved: Resolved, stack: str) -> dict[str, Any]:
    from baseline.program import build

    settings = resolved.settings
    mocks = StrictMocks(
        alicloud_account=settings.alicloud.account_id if settings.alicloud else "1234567890123456",
        aws_account=settings.aws.account_id if settings.aws else "123456789012",
    )
    monitor, outputs = execute(lambda: build(resolved), stack, mocks)
    return _document(monitor, stack, outputs)


def _document(monitor: RecordingMonitor, stack: str, outputs: dict[str, Any]) -> dict[str, Any]:
    by_urn = {r["urn"]: r for r in monitor.registrations}

    def path(record: dict[str, Any]) -> tuple[str, ...]:
        parent = by_urn.get(record["parent"] or "")
        return (*(path(parent) if parent else ()), record["name"])

    def name_of(urn: str | None) -> str | None:
        record = by_urn.get(urn or "")
        return record["name"] if record else None

    resources = []
    for record in sorted(monitor.registrations, key=path):
        provider_urn = (record["provider"] or "").rsplit("::", 1)[0] if record["provider"] else None
        resources.append(
            {
                "type": record["type"],
                "name": record["name"],
                "parent": name_of(record["parent"]),
                "provider": name_of(provider_urn),
                "protect": record["protect"],
                "depends_on": sorted(filter(None, (name_of(u) for u in record["depends_on"]))),
                "inputs": _redact(record["inputs"]),
            }
        )
    return {"stack": stack, "project": PROJECT, "resources": resources, "outputs": outputs}


def to_json(plan: dict[str, Any]) -> str:
    return json.dumps(plan, indent=2, sort_keys=False) + "\n"


def to_table(plan: dict[str, Any]) -> str:
    """A readable summary: one line per resource, indented under its parent."""
    depth: dict[str, int] = {}
    rows = [("TYPE", "NAME", "PROTECT", "DETAIL")]
    for resource in plan["resources"]:
        level = depth.get(resource["parent"] or "", -1) + 1
        depth[resource["name"]] = level
        inputs = resource["inputs"]
        detail = next(
            (
                f"{k}={inputs[k]}"
                for k in ("name", "roleName", "policyName", "secretParameterName", "userName", "region")
                if isinstance(inputs.get(k), str)
            ),
            "",
        )
        rows.append(
            ("  " * level + resource["type"], resource["name"], "yes" if resource["protect"] else "", detail)
        )
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}".rstrip() for r in rows]
    lines.append("")
    lines.append(f"stack {plan['stack']}: {len(plan['resources'])} resources")
    return "\n".join(lines) + "\n"
