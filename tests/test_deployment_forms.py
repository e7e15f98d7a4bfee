"""Every deployment's form as Prefect's UI renders it: titled, described fields, defaults, selects, no None types."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from prefect.utilities.callables import parameter_schema, parameter_schema_from_entrypoint
from prefect.utilities.schema_tools import validate

from tasks.deployments import load_specs
from tasks.forms import day_or_today, local_stamp, moment_or_now, nearest

SPECS = {spec.name: spec for spec in load_specs()}


def schema_of(name: str) -> dict[str, Any]:
    return parameter_schema(SPECS[name].load_flow()).model_dump_for_openapi()


def fields(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every property of the form, nested models' ones included, as (path, property)."""
    found = [(name, prop) for name, prop in schema["properties"].items()]
    for model, definition in schema.get("definitions", {}).items():
        found += [(f"{model}.{name}", prop) for name, prop in definition.get("properties", {}).items()]
    return found


def null_typed(prop: Any) -> bool:
    if isinstance(prop, dict):
        return prop.get("type") == "null" or any(null_typed(v) for v in prop.values())
    if isinstance(prop, list):
        return any(null_typed(v) for v in prop)
    return False


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_field_has_a_title_a_description_and_no_none_type(name):
    schema = schema_of(name)
    assert schema["properties"], f"{name} has a form"
    for path, prop in fields(schema):
        leaf = path.rsplit(".", 1)[-1]
        assert prop.get("title") and prop["title"] != leaf, f"{name}: {path} shows its raw name"
        assert prop["title"][0].isupper(), f"{name}: {path} title {prop['title']!r}"
        assert len(prop.get("description") or "") >= 15, f"{name}: {path} has no description"
        assert not null_typed(prop), f"{name}: {path} offers a None type: {prop}"
        assert "anyOf" not in prop, f"{name}: {path} makes the form ask for a type first: {prop}"
        assert prop.get("default", "") is not None, f"{name}: {path} defaults to None"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_prefect_deploy_reads_the_same_form_from_the_source(name):
    spec = SPECS[name]
    from_source = parameter_schema_from_entrypoint(f"{spec.root / spec.entrypoint}").model_dump_for_openapi()
    assert from_source == schema_of(name)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_an_untouched_form_passes_the_servers_check_and_the_flows(name):
    """What the UI submits when a person fills only the required fields: each field's default as it shows it."""
    schema, flow = schema_of(name), SPECS[name].load_flow()
    required = {"incident_id": 3, "by": "am@agency.example", "request": {"client": "demo-control"},
                "decision": {"message_id": 4, "by": "am@agency.example"}}
    submitted = {key: prop["default"] for key, prop in schema["properties"].items() if "default" in prop}
    submitted.update({key: value for key, value in required.items() if key in schema.get("required", [])})
    assert set(schema.get("required", [])) <= set(submitted)
    validate(submitted, schema, raise_on_error=True)  # as the server does before it creates the run
    flow.validate_parameters(submitted)


def test_choices_are_selects_with_a_default():
    action = schema_of("incident-action")["properties"]
    assert action["stage"]["enum"] == ["next", "facts", "solution", "prevention", "closed"]
    assert action["stage"]["default"] == "next" and action["action"]["default"] == "acknowledge"
    sweep = schema_of("daily-account-sweep")["properties"]
    assert sweep["notify"]["enum"] == ["auto", "yes", "no"] and sweep["notify"]["default"] == "auto"
    review = schema_of("client-review")
    assert review["definitions"]["ReviewRequest"]["properties"]["detail"]["enum"] == ["summary", "campaign"]
    assert review["properties"]["dispatch"]["default"] is False, "a review is not mailed unless asked"


def test_a_bad_day_is_refused_by_the_server_before_a_run_exists():
    schema = schema_of("daily-account-sweep")
    for good in ("today", "2026-11-25"):
        validate({"as_of": good}, schema, raise_on_error=True)
    with pytest.raises(Exception, match="does not match"):
        validate({"as_of": "yesterday"}, schema, raise_on_error=True)
    watch = schema_of("service-watch")
    for good in ("now", "2026-11-28 07:45", "2026-11-28T07:45:00+08:00", "2026-11-28T07:45:12.5+08:00"):
        validate({"as_of": good}, watch, raise_on_error=True)


def test_form_values_mean_what_they_say():
    today = dt.date(2026, 11, 28)
    assert [day_or_today(v, today) for v in (None, "today", "", "2026-11-25", dt.date(2026, 1, 2))] == [
        today, today, today, dt.date(2026, 11, 25), dt.date(2026, 1, 2)]
    now = dt.datetime(2026, 11, 27, 23, 45, tzinfo=dt.timezone.utc)
    assert moment_or_now("now", now, "Asia/Shanghai") == now
    # A time typed without an offset is the agency's wall clock.
    assert moment_or_now("2026-11-28 07:45", now, "Asia/Shanghai") == now
    assert local_stamp(now, "Asia/Shanghai") == "2026-11-28T07:45+08"
    assert local_stamp(now, "Asia/Kolkata") == "2026-11-28T05:15+05:30"
    assert local_stamp(now, "America/New_York") == "2026-11-27T18:45-05"


def test_nearest_slugs_come_first():
    known = ["acme-shop", "acme-store", "qingquan-shangmao", "demo-control", "beta-foods"]
    assert nearest("acme-shp", known)[0] == "acme-shop"
    assert "qingquan-shangmao" in nearest("qingquan", known)
    assert nearest("zzzz", known) == []


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_description_says_in_which_time_zone_its_times_are(name):
    spec = SPECS[name]
    zones = {s.schedule.timezone for s in spec.schedules} or {"Asia/Shanghai"}
    assert all(f"{zone} time" in spec.description or f"({zone})" in spec.description for zone in zones), (
        f"{name}: the Deployments page shows 'At 07:30 AM every day' with no zone: the description must say it")
