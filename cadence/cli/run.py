"""`cadence run FLOW`: run one flow of prefect.yaml now, as its deployment would, and print what it did.

Where it runs:
- PREFECT_API_URL set (environment or Prefect profile) and the deployment registered there with a runner or
  worker polling it (`cadence serve`, or a worker of its pool): a flow run is created from the deployment and
  waited for. It runs where scheduled runs run, with their environment, under the deployment's concurrency limit
  (two sweeps of one day queue instead of racing).
- PREFECT_API_URL set but nobody serves the deployment (or `--in-process`): the flow runs in this process,
  reported to that API (it shows in its UI), without the deployment's concurrency limit. Creating a run nobody
  picks up would only leave it Scheduled forever.
- PREFECT_API_URL not set: the flow runs in this process on a temporary local API (Prefect starts one) over
  Prefect's own default database, not the $CADENCE_HOME/prefect.db that `cadence demo` records into and
  `cadence server` serves.
- PREFECT_API_URL set but not answering: refused. Running elsewhere would hide the run from the server one
  expects it in.
"""

from __future__ import annotations

import ast
import datetime as dt
import difflib
import inspect
import json
import time
import typing
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from cadence.cli.output import parse_day
from cadence.cli.prefect_ops import _healthy
from tasks.clock import moment_of
from tasks.errors import CadenceError
from tasks.forms import takes_moment
from tasks.settings import get_settings

out = Console(highlight=False, markup=False, emoji=False, soft_wrap=True)
PREFECT_YAML = Path(__file__).resolve().parents[2] / "prefect.yaml"
# A runner or worker polls its deployments every few seconds; a deployment unpolled this long has nobody serving it.
SERVED_WITHIN = dt.timedelta(seconds=90)
FINAL_WAIT_SECONDS = 5


def flow_names(entrypoint: Path, func: str) -> set[str]:
    """The entrypoint function's name and its `@flow(name=...)`, read from the source without importing it."""
    names = {func}
    try:
        tree = ast.parse(entrypoint.read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return names
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == func:
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call):
                    for kw in deco.keywords:
                        if kw.arg == "name" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                            names.add(kw.value.value)
    return names


def resolve(name: str, prefect_yaml: Path = PREFECT_YAML):
    """The deployment spec named `name` (its deployment name, its flow's name or its function's name)."""
    from tasks.deployments import load_specs

    specs = load_specs(prefect_yaml)
    known: dict[str, Any] = {}
    for spec in specs:
        known.setdefault(spec.name, spec)
    for spec in specs:
        for alias in flow_names(spec.entrypoint_path, spec.entrypoint.rsplit(":", 1)[1]):
            known.setdefault(alias, spec)
    if name in known:
        return known[name]
    near = difflib.get_close_matches(name, list(known), n=1, cutoff=0.4)
    hint = f"did you mean {known[near[0]].name}? " if near else ""
    raise CadenceError(f"no flow {name!r} in prefect.yaml: {hint}valid: {', '.join(s.name for s in specs)}")


def _param(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise CadenceError(f"--param takes NAME=VALUE, got {text!r}")
    try:
        return name.strip(), json.loads(raw)
    except ValueError:
        return name.strip(), raw  # a bare word is a string


def _hints(fn: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception:  # noqa: BLE001 - an unresolvable annotation: fall back to the raw strings
        return dict(getattr(fn, "__annotations__", {}))


def build_parameters(flow: Any, deployment: str, as_of: dt.date | None, clients: list[str], notify: bool | None,
                     extra: list[str]) -> dict[str, Any]:
    """The flow's parameters from the options, only those its function accepts; refuses what it does not take."""
    signature = inspect.signature(flow.fn)
    accepted = signature.parameters
    hints = _hints(flow.fn)
    params: dict[str, Any] = {}

    def refuse(option: str) -> CadenceError:
        takes = ", ".join(accepted) or "nothing"
        return CadenceError(f"{deployment} takes no {option} (its parameters: {takes})")

    if as_of is not None:
        if "as_of" not in accepted:
            raise refuse("--as-of")
        if takes_moment(flow.fn):
            # A moment, not a day: now if it is today, else 09:30 agency time on that day (as `cadence demo`).
            params["as_of"] = moment_of(as_of, get_settings().agency_time_zone)
        else:
            params["as_of"] = as_of
    if clients:
        if "clients" in accepted:
            params["clients"] = list(clients)
        elif "client" in accepted:
            if len(clients) != 1:
                raise CadenceError(f"{deployment} takes one --client, got {len(clients)}")
            params["client"] = clients[0]
        elif "request" in accepted and "client" in getattr(hints.get("request"), "model_fields", {}):
            if len(clients) != 1:
                raise CadenceError(f"{deployment} takes one --client, got {len(clients)}")
            params["request"] = {"client": clients[0]}
        else:
            raise refuse("--client")
    if notify is not None:
        if "notify" not in accepted:
            raise refuse("--notify/--no-notify")
        params["notify"] = "yes" if notify else "no"  # the form's choices: auto, yes, no
    for text in extra:
        name, value = _param(text)
        if name not in accepted:
            raise refuse(f"parameter {name!r}")
        if isinstance(value, dict) and isinstance(params.get(name), dict):
            value = {**params[name], **value}  # --client and --param request={...} together
        params[name] = value
    missing = [p.name for p in accepted.values()
               if p.default is inspect.Parameter.empty and p.name not in params
               and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if missing:
        raise CadenceError(f"{deployment} needs {', '.join(missing)}: give --param NAME=VALUE (JSON) for each")
    return params


def summarise(result: Any) -> list[str]:
    """A few `name: value` lines from a flow's return value: scalars as they are, lists counted and totalled."""

    def scalar(v: Any) -> bool:
        return v is None or isinstance(v, (str, int, float, bool, dt.date))

    def short(v: Any) -> str:
        text = v.isoformat() if isinstance(v, dt.date) else str(v)
        return text if len(text) <= 80 else text[:79] + "…"

    def line(value: Any) -> str:
        if scalar(value):
            return short(value)
        if isinstance(value, dict):
            parts = [f"{k} {line(v)}" for k, v in value.items() if scalar(v) or isinstance(v, (list, tuple))]
            return ", ".join(parts) if parts else f"{len(value)} keys"
        if isinstance(value, (list, tuple)):
            if value and all(isinstance(v, dict) for v in value):
                totals: dict[str, float] = {}
                for item in value:
                    for k, v in item.items():
                        if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in ("index", "id"):
                            totals[k] = totals.get(k, 0) + v
                inner = ", ".join(f"{k} {round(v, 2):g}" for k, v in totals.items())
                return f"{len(value)}" + (f" ({inner})" if inner else "")
            if len(value) <= 5 and all(scalar(v) for v in value):
                return "[" + ", ".join(short(v) for v in value) + "]"
            return f"{len(value)}"
        return short(value)

    if isinstance(result, dict):
        return [f"{k}: {line(v)}" for k, v in result.items()]
    return [f"result: {line(result)}"]


def _configured_api() -> str | None:
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    return str(url).rstrip("/") if url else None


def _ui_link(flow_run_id: Any) -> str | None:
    from prefect.settings import get_current_settings

    ui = get_current_settings().ui_url
    return f"{str(ui).rstrip('/')}/runs/flow-run/{flow_run_id}" if ui else None


def _served_deployment(flow_name: str, deployment: str) -> tuple[Any, str]:
    """The deployment on the server and whether someone polls it: (deployment or None, why)."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    async def look() -> Any:
        async with get_client() as client:
            try:
                return await client.read_deployment_by_name(f"{flow_name}/{deployment}")
            except ObjectNotFound:
                return None

    found = asyncio.run(look())
    if found is None:
        return None, f"deployment {flow_name}/{deployment} is not registered there"
    polled = found.last_polled
    if polled is None or dt.datetime.now(dt.timezone.utc) - polled > SERVED_WITHIN:
        return None, (f"nobody serves deployment {flow_name}/{deployment} (no `cadence serve` or worker polled it "
                      f"in the last {int(SERVED_WITHIN.total_seconds())} s)")
    return found, ""


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    from prefect.utilities.collections import visit_collection

    return visit_collection(params, lambda v: v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v,
                            return_data=True)


def run_deployed(name: str, params: dict[str, Any], start_timeout: float) -> tuple[Any, Any, str]:
    """Create a flow run from the deployment and wait for its end: (final state, result or None, note)."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    run = run_deployment(name, parameters=_jsonable(params), timeout=0, as_subflow=False)
    out.print(f"flow run {run.name} ({run.id}) created from deployment {name}; waiting for it")
    link = _ui_link(run.id)
    if link:
        out.print(link)

    async def wait() -> Any:
        started = time.monotonic()
        async with get_client() as client:
            while True:
                current = await client.read_flow_run(run.id)
                state = current.state
                if state is not None and state.is_final():
                    out.print(f"flow run {current.name} ended")  # renamed by its flow_run_name once it started
                    return state
                if state is not None and state.is_scheduled() and time.monotonic() - started > start_timeout:
                    raise CadenceError(f"flow run {run.name} is still {state.name} after {start_timeout:g} s: no "
                                       "runner or worker took it; it stays queued on the server")
                await asyncio.sleep(2)

    state = asyncio.run(wait())
    try:
        result = asyncio.run(state.result(raise_on_failure=False))  # type: ignore[arg-type]
        note = ""
    except Exception:  # noqa: BLE001 - results are kept only where result persistence is on
        result, note = None, "its return value is not kept on the server: the run's logs and artifacts are in the UI"
    return state, result, note


def run_in_process(flow: Any, params: dict[str, Any]) -> tuple[Any, Any]:
    state = flow(**params, return_state=True)
    return state, state.result(raise_on_failure=False)


def run_command(
    flow_name: str = typer.Argument(..., metavar="FLOW", help="a deployment of prefect.yaml, e.g. daily-account-sweep"),
    as_of: str | None = typer.Option(None, "--as-of", help="YYYY-MM-DD: run as on that day (a back-fill); for flows "
                                     "that take a moment, 09:30 agency time that day (now if today)"),
    client: list[str] = typer.Option([], "--client", help="only this client (slug, repeatable where the flow "
                                      "takes several)"),
    notify: bool | None = typer.Option(None, "--notify/--no-notify", help="mail digests and raise crises "
                                       "(flows with a notify parameter; default: the flow's own)"),
    param: list[str] = typer.Option([], "--param", "-p", help="any other flow parameter as NAME=VALUE, the value "
                                    "as JSON (a bare word is a string); repeatable"),
    in_process: bool = typer.Option(False, "--in-process", help="run here even if a deployment is served"),
    start_timeout: float = typer.Option(120, "--start-timeout", min=1, help="seconds a deployment run may stay "
                                        "scheduled before giving up waiting"),
) -> None:
    """Run one flow of prefect.yaml now, as its deployment would, and print its state and summary."""
    spec = resolve(flow_name)
    day = parse_day(as_of, "--as-of")
    # Prefect's import is slow: names and dates are checked first.
    from prefect.settings import PREFECT_API_URL, temporary_settings

    api = _configured_api()  # PREFECT_API_URL from the environment or Prefect's profile
    if api and not _healthy(api):
        raise CadenceError(f"no Prefect server answers at {api}: start it (`cadence server`), or unset "
                           "PREFECT_API_URL to run on a temporary local API")
    from tasks.resources import ready_engine

    ready_engine()  # an empty database is created, an old schema refused, before any run starts
    flow = spec.load_flow()
    params = build_parameters(flow, spec.name, day, client, notify, param)
    shown = ", ".join(f"{k}={v.isoformat() if isinstance(v, dt.date) else v}" for k, v in params.items())
    note = ""
    with temporary_settings({PREFECT_API_URL: api} if api else {}):
        deployment, why = (None, "--in-process") if in_process or not api else _served_deployment(flow.name, spec.name)
        if deployment is not None:
            state, result, note = run_deployed(f"{flow.name}/{spec.name}", params, start_timeout)
        else:
            where = f"in this process against {api}" + (f" ({why})" if why else "") if api else \
                "in this process on a temporary local API (set PREFECT_API_URL to keep its history)"
            out.print(f"running {spec.name}({shown}) {where}")
            state, result = run_in_process(flow, params)
    message = (state.message or "").strip().splitlines()
    out.print(f"state: {state.name}" + (f" ({message[0]})" if message and not state.is_completed() else ""))
    if state.is_completed():
        for line in summarise(result) if result is not None else []:
            out.print(line)
        if note:
            out.print(note)
    else:
        raise typer.Exit(1)
