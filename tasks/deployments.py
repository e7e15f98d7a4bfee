"""prefect.yaml read once for everyone: entrypoints, schedules, parameters, triggers and limits as Prefect objects."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from prefect.client.schemas.actions import DeploymentScheduleCreate
from prefect.client.schemas.objects import ConcurrencyLimitConfig
from prefect.client.schemas.schedules import CronSchedule
from prefect.events import DeploymentTriggerTypes
from prefect.flows import Flow, load_flow_from_entrypoint
from prefect.utilities.callables import parameter_schema
from prefect.utilities.schema_tools import validate
from pydantic import TypeAdapter

from tasks.errors import CadenceError

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

PREFECT_YAML = Path(__file__).resolve().parent.parent / "prefect.yaml"
_TRIGGERS: TypeAdapter[DeploymentTriggerTypes] = TypeAdapter(DeploymentTriggerTypes)


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment of prefect.yaml, as `prefect deploy` and `cadence serve` both see it."""

    name: str
    entrypoint: str
    description: str
    tags: tuple[str, ...]
    parameters: dict[str, Any]
    schedules: tuple[DeploymentScheduleCreate, ...]
    triggers: tuple[DeploymentTriggerTypes, ...]
    concurrency_limit: ConcurrencyLimitConfig | None
    work_pool: str | None
    root: Path

    @property
    def entrypoint_path(self) -> Path:
        return self.root / self.entrypoint.rsplit(":", 1)[0]

    def load_flow(self) -> Flow[..., Any]:
        """Import the entrypoint's flow; an import error is raised, never replaced by a placeholder."""
        path, func = self.entrypoint.rsplit(":", 1)
        return load_flow_from_entrypoint(f"{self.root / path}:{func}", use_placeholder_flow=False)


def _schedule(deployment: str, raw: dict[str, Any]) -> DeploymentScheduleCreate:
    unknown = set(raw) - {"cron", "timezone", "slug", "active", "parameters", "day_or"}
    if unknown or "cron" not in raw:
        raise CadenceError(f"{deployment}: a Cadence schedule is a cron with timezone and slug, got {sorted(raw)}")
    if not raw.get("timezone") or not raw.get("slug"):
        # Without a time zone a cron runs in UTC and drifts with DST; without a slug it cannot be renamed.
        raise CadenceError(f"{deployment}: schedule {raw['cron']!r} needs both `timezone:` and `slug:`")
    cron = {k: raw[k] for k in ("cron", "timezone", "day_or") if k in raw}
    return DeploymentScheduleCreate(schedule=CronSchedule(**cron), slug=raw["slug"], active=raw.get("active", True),
                                    parameters=raw.get("parameters") or {})


def _concurrency(raw: int | dict[str, Any] | None) -> ConcurrencyLimitConfig | None:
    if raw is None:
        return None
    if isinstance(raw, int):
        return ConcurrencyLimitConfig(limit=raw)
    return ConcurrencyLimitConfig(**raw)


def _spec(raw: dict[str, Any], root: Path) -> DeploymentSpec:
    name = raw.get("name")
    if not name or not raw.get("entrypoint"):
        raise CadenceError(f"prefect.yaml: every deployment needs a name and an entrypoint, got {raw!r:.120}")
    triggers = []
    for i, trigger in enumerate(raw.get("triggers") or [], start=1):
        triggers.append(_TRIGGERS.validate_python({"name": f"{name}__automation_{i}", **trigger}))
    return DeploymentSpec(
        name=name,
        entrypoint=raw["entrypoint"],
        description=" ".join((raw.get("description") or "").split()),
        tags=tuple(raw.get("tags") or ()),
        parameters=dict(raw.get("parameters") or {}),
        schedules=tuple(_schedule(name, s) for s in raw.get("schedules") or ()),
        triggers=tuple(triggers),
        concurrency_limit=_concurrency(raw.get("concurrency_limit")),
        work_pool=(raw.get("work_pool") or {}).get("name"),
        root=root,
    )


def load_specs(path: Path = PREFECT_YAML, names: list[str] | None = None) -> list[DeploymentSpec]:
    """Every deployment in `path` (or the named ones), checked for a time zone and slug on every cron."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    specs = [_spec(raw, path.resolve().parent) for raw in document.get("deployments") or []]
    if names:
        missing = sorted(set(names) - {s.name for s in specs})
        if missing:
            raise CadenceError(f"no deployment named {', '.join(missing)} in {path}; "
                               f"known: {', '.join(s.name for s in specs)}")
        specs = [s for s in specs if s.name in names]
    return specs


def validate_parameters(spec: DeploymentSpec, flow: Flow[..., Any]) -> None:
    """Check the deployment's and each schedule's parameters against the flow, as the server will."""
    schema = parameter_schema(flow).model_dump_for_openapi()
    validate(spec.parameters, schema, raise_on_error=True, ignore_required=not spec.schedules)
    for schedule in spec.schedules:
        merged = {**spec.parameters, **schedule.parameters}
        validate(merged, schema, raise_on_error=True)
        flow.validate_parameters(merged)


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True).stdout.strip()


def code_version(root: Path = PREFECT_YAML.parent) -> str:
    """The commit the code at `root` is at: its short sha, with "-dirty" when a tracked file has changed since;
    "unknown" outside git. Every deployment carries it as its version, so a run traces to the code it ran."""
    try:
        sha = _git(root, "rev-parse", "--short", "HEAD")
        changed = _git(root, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha}-dirty" if changed else sha


def version_step() -> dict[str, str]:
    """`prefect deploy`'s build step (prefect.yaml's `build:`): the code version each deployment's `version:` reads."""
    return {"version": code_version()}


def runner_deployment(spec: DeploymentSpec, flow: Flow[..., Any]) -> RunnerDeployment:
    """The deployment for Prefect's `serve`: same schedules, triggers, parameters, tags, limit and version as
    `prefect deploy` makes; no work pool."""
    return flow.to_deployment(
        name=spec.name,
        version=code_version(spec.root),
        schedules=list(spec.schedules),
        triggers=list(spec.triggers),
        parameters=spec.parameters,
        description=spec.description,
        tags=list(spec.tags),
        concurrency_limit=spec.concurrency_limit,
    )
