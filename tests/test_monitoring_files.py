"""Monitoring files: Prometheus config and alert rules, the Grafana dashboard, their wiring.

Grafana is not packaged for Debian and cannot run here, so the dashboard is checked the
other way the issue allows: its JSON must type-check against Grafana's own dashboard
schema (``@grafana/schema``, TypeScript types generated from Grafana's CUE kinds; ``make
grafana-schema``), every query must parse as PromQL (``promtool``, Debian's
``prometheus``; ``make monitoring-tools``), and every metric and label a query or an alert
names must be one the servers export (read from a real scrape of bot/metrics.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict, Iterator, List, Set, Tuple

import pytest
import yaml

from tests.support import OUTPUT, ROOT, load_yaml
from tests.test_deploy_files import REQUIRED_SETTINGS, compose_config, tool

pytestmark = [pytest.mark.metrics, pytest.mark.service]

PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
GRAFANA_DIR = ROOT / "deploy" / "grafana"
DASHBOARD = GRAFANA_DIR / "dashboards" / "therapy-bot.json"
SCHEMA_CHECK = GRAFANA_DIR / "schema-check"
HELM_VALUES = ROOT / "deploy" / "helm" / "values.yml"

#: Grafana's variables, replaced by a duration so promtool can parse the query.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__range": "7d", "$__interval": "1m"}
#: Names PromQL itself provides.
PROMQL_BUILTINS = {"up", "le"}


# --- Prometheus ---------------------------------------------------------------------------------


def test_promtool_accepts_the_config_and_the_rules() -> None:
    result = subprocess.run([tool("promtool"), "check", "config", str(PROMETHEUS_DIR / "prometheus.yml")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 rules found" in result.stdout + result.stderr


def test_each_alert_fires_when_it_should_and_only_then() -> None:
    result = subprocess.run([tool("promtool"), "test", "rules", "alerts.test.yml"], cwd=PROMETHEUS_DIR,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def alerts() -> Dict[str, str]:
    groups = load_yaml(PROMETHEUS_DIR / "alerts.yml")["groups"]
    return {rule["alert"]: rule["expr"] for group in groups for rule in group["rules"]}


def test_the_four_alerts_of_the_issue_exist() -> None:
    assert {"CrisisReplyImpossible", "HighErrorRate", "SlowReplies", "ActionServerDown"} <= set(alerts())


def test_every_alert_is_explained_in_docs() -> None:
    doc = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    for name in alerts():
        assert f"### {name}" in doc, name


# --- the metrics the servers export --------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Set[str]]:
    """Every metric name the servers export (with _bucket/_count/_sum/_total) -> its label names."""
    folder = tmp_path_factory.mktemp("multiproc")
    program = textwrap.dedent("""
        import json, os
        from prometheus_client import CollectorRegistry
        from prometheus_client.multiprocess import MultiProcessCollector
        from bot import metrics
        metrics.start("rasa", "1.0", "model")
        metrics.record_turn("rest", "turn", 0.1, [])
        metrics.record_conversation_started()
        metrics.record_crisis_check(True, 1.0)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=os.environ["PROMETHEUS_MULTIPROC_DIR"])
        names = {}
        for family in registry.collect():
            for sample in family.samples:
                names.setdefault(sample.name, set()).update(sample.labels)
        print(json.dumps({name: sorted(labels) for name, labels in names.items()}))
    """)
    env = {**os.environ, "METRICS_PORT": "9", "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    result = subprocess.run([sys.executable, "-c", program], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return {name: set(labels) for name, labels in json.loads(result.stdout).items()}


def dashboard_queries() -> List[Tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [(panel["title"], target["expr"]) for panel in dashboard["panels"] for target in panel.get("targets", [])]


def as_promql(expr: str) -> str:
    for variable, duration in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, duration)
    return expr


SELECTOR = re.compile(r"\b(therapy_bot_\w+|up)\b(?:\{([^}]*)\})?")
GROUPING = re.compile(r"\b(?:by|without|ignoring|on)\s*\(([^)]*)\)")
MATCHER = re.compile(r"(\w+)\s*(=~|!~|!=|=)\s*\"([^\"]*)\"")


def check_names(expr: str, exported: Dict[str, Set[str]]) -> None:
    """Every metric the query names is exported, and every label it matches or groups by exists."""
    from bot.metrics import label_sets

    allowed_values = label_sets()
    metrics_used = SELECTOR.findall(expr)
    assert metrics_used, expr
    labels_available: Set[str] = {"job", "instance", "le"}
    for name, matchers in metrics_used:
        if name in PROMQL_BUILTINS:
            continue
        assert name in exported, f"{name} is not exported (query: {expr})"
        labels_available |= exported[name]
        for label, _, pattern in MATCHER.findall(matchers):
            assert label in exported[name] | {"job", "instance"}, f"{name} has no label {label}"
            if label in allowed_values:
                for alternative in pattern.split("|"):
                    assert alternative in allowed_values[label], f"{label}={alternative!r} never occurs"
    for grouping in GROUPING.findall(expr):
        for label in filter(None, (part.strip() for part in grouping.split(","))):
            assert label in labels_available, f"grouping by unknown label {label} in {expr}"


@pytest.mark.parametrize("title,expr", dashboard_queries(), ids=[t for t, _ in dashboard_queries()])
def test_dashboard_queries_name_only_exported_metrics_and_labels(
    title: str, expr: str, exported: Dict[str, Set[str]]
) -> None:
    check_names(as_promql(expr), exported)


@pytest.mark.parametrize("name", sorted(alerts()))
def test_alerts_name_only_exported_metrics_and_labels(name: str, exported: Dict[str, Set[str]]) -> None:
    check_names(alerts()[name], exported)


def test_dashboard_queries_parse_as_promql(tmp_path: Path) -> None:
    """promtool parses each query as a recording rule (it has no other PromQL check)."""
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{index}", "expr": as_promql(expr)}
        for index, (_, expr) in enumerate(dashboard_queries())
    ]}]}
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    result = subprocess.run([tool("promtool"), "check", "rules", str(path)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


# --- Grafana --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tsc() -> Path:
    compiler = SCHEMA_CHECK / "node_modules" / ".bin" / "tsc"
    if not compiler.exists():
        pytest.fail("Grafana's schema is not installed: run `make grafana-schema`")
    return compiler


def typecheck_dashboard(tsc: Path, dashboard_json: str, name: str) -> subprocess.CompletedProcess:
    """Type-checks a dashboard's JSON as an object literal of Grafana's ``Dashboard`` type.

    The literal gets TypeScript's excess-property checks, so an unknown or misspelt key
    fails too. ``AsJson`` lets a string enum of the schema take its values, as JSON does.
    """
    folder = OUTPUT / "grafana-schema"
    folder.mkdir(parents=True, exist_ok=True)
    modules = folder / "node_modules"
    if not modules.exists():
        modules.symlink_to(SCHEMA_CHECK / "node_modules")
    source = folder / f"{name}.ts"
    source.write_text(
        'import type { Dashboard } from "@grafana/schema";\n'
        "type AsJson<T> = T extends string ? `${T}` : T extends Array<infer U> ? Array<AsJson<U>>\n"
        "  : T extends object ? { [K in keyof T]: AsJson<T[K]> } : T;\n"
        f"export const dashboard: AsJson<Dashboard> = {dashboard_json};\n",
        encoding="utf-8",
    )
    return subprocess.run(
        [str(tsc), "--noEmit", "--strict", "--module", "esnext", "--moduleResolution", "bundler", "--target", "es2020",
         str(source)], capture_output=True, text=True, timeout=300,
    )


def test_dashboard_matches_grafanas_schema(tsc: Path) -> None:
    result = typecheck_dashboard(tsc, DASHBOARD.read_text(encoding="utf-8"), "dashboard")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_dashboard(tsc: Path) -> None:
    broken = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    broken["panels"][1]["gridPoz"] = broken["panels"][1].pop("gridPos")
    broken["schemaVersion"] = "39"
    result = typecheck_dashboard(tsc, json.dumps(broken, indent=2), "broken")
    assert result.returncode != 0
    assert "'\"gridPoz\"' does not exist" in result.stdout
    assert "Type 'string' is not assignable to type 'number'" in result.stdout


def test_dashboard_has_the_panels_operators_need() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    queries = " ".join(expr for _, expr in dashboard_queries())
    for metric in ("turns_total", "replies_total", "crisis_replies_total", "check_ins_total", "limited_messages_total",
                   "action_failures_total", "store_errors_total", "turn_seconds_bucket", "conversations_started_total",
                   "crisis_check_ok", "therapy_bot_info"):
        assert metric in queries, metric
    datasource = load_yaml(GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml")["datasources"][0]
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]
            assert panel["description"], panel["title"]


# --- docker-compose.yml and Helm ----------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> Dict[str, Any]:
    result = compose_config(**REQUIRED_SETTINGS)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def scrape_ports() -> Dict[str, int]:
    config = load_yaml(PROMETHEUS_DIR / "prometheus.yml")
    return {job["job_name"]: job["dns_sd_configs"][0]["port"] for job in config["scrape_configs"]}


def test_compose_servers_export_metrics_where_prometheus_scrapes(compose: Dict[str, Any]) -> None:
    ports = scrape_ports()
    for service, job in (("rasa", "therapy-bot-rasa"), ("actions", "therapy-bot-actions")):
        env = compose["services"][service]["environment"]
        assert env["METRICS_PORT"] == str(ports[job]) and env["METRICS_HOST"] == "0.0.0.0"
        assert "ports" not in compose["services"][service]
    assert set(compose["services"]["prometheus"]["networks"]) >= {"backend"}
    assert "backend" not in compose["services"]["grafana"]["networks"]


def mounts(service: Dict[str, Any]) -> Dict[str, str]:
    """Container path -> host path of a service's bind mounts (``docker-compose config`` writes ``host:path:mode``)."""
    found = {}
    for volume in service["volumes"]:
        host, target, *_ = volume.split(":")
        if host.startswith("/"):
            found[target] = host
    return found


def test_compose_provisions_the_rules_and_the_dashboard(compose: Dict[str, Any]) -> None:
    prometheus = mounts(compose["services"]["prometheus"])
    assert Path(prometheus["/etc/prometheus"]).resolve() == PROMETHEUS_DIR.resolve()
    assert "--config.file=/etc/prometheus/prometheus.yml" in compose["services"]["prometheus"]["command"]
    grafana = mounts(compose["services"]["grafana"])
    assert Path(grafana["/etc/grafana/provisioning"]).resolve() == (GRAFANA_DIR / "provisioning").resolve()
    provider = load_yaml(GRAFANA_DIR / "provisioning" / "dashboards" / "therapy-bot.yml")["providers"][0]
    assert Path(grafana[provider["options"]["path"]]).resolve() == DASHBOARD.parent.resolve()
    datasource = load_yaml(GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml")["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090"
    env = compose["services"]["grafana"]["environment"]
    assert env["GF_SECURITY_ADMIN_PASSWORD"] == REQUIRED_SETTINGS["GRAFANA_ADMIN_PASSWORD"]
    assert env["GF_ANALYTICS_REPORTING_ENABLED"] == "false" and env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"


@pytest.fixture(scope="module")
def helm() -> Dict[str, Any]:
    return load_yaml(HELM_VALUES)


@pytest.mark.parametrize("pod", ["rasa", "rasa-action-server"])
def test_helm_exposes_the_metrics_port_with_scrape_annotations(helm: Dict[str, Any], pod: str) -> None:
    values = helm if pod == "rasa" else helm[pod]
    env = {item["name"]: item.get("value") for item in values["extraEnv"]}
    annotations = values["podAnnotations"]
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/path"] == "/metrics"
    assert annotations["prometheus.io/port"] == env["METRICS_PORT"] != str(helm["service"]["port"])
    assert env["METRICS_HOST"] == "0.0.0.0"


@pytest.fixture(scope="module", autouse=True)
def _no_leftover_symlink() -> Iterator[None]:
    yield
    link = OUTPUT / "grafana-schema" / "node_modules"
    if link.is_symlink():
        link.unlink()
