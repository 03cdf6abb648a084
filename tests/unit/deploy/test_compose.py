"""deploy/compose/ and the image it builds (deploy/Dockerfile): the Compose file is valid against
the Compose Specification (check-jsonschema ships the schema: nothing is downloaded), and what a
user would trip over when running it elsewhere is caught here, since this machine cannot pull
images to start it: a mounted file that is not in the repository, a RISKMON_* variable that is
no setting or has a bad value, two workers with one membership id, a key written into the file,
brokers or Redis nodes that riskmon does not point at, Prometheus scraping the wrong targets, a
Prometheus config that does not load with the rules mounted beside it, and a build context
that leaves a package out of the image."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from cli.main import parser
from streams.settings import Settings, unknown_variables
from tests.support.promtool import promtool

ROOT = Path(__file__).resolve().parents[3]
COMPOSE_DIR = ROOT / "deploy" / "compose"
COMPOSE = COMPOSE_DIR / "compose.yaml"
PROMETHEUS_YML = COMPOSE_DIR / "prometheus.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = ROOT / "deploy" / "Dockerfile.dockerignore"
PROVIDER = ROOT / "deploy" / "grafana" / "provisioning" / "riskmon-dashboards.yml"

#: What the user puts in deploy/compose/.env (deploy/README.md): stand-ins of the right shape.
USER_ENV = {
    "RISKMON_TOKEN_KEY": "0" * 64,
    "RISKMON_AUDIT_KEY": "1" * 64,
    "REDIS_PASSWORD": "2" * 48,
    "GRAFANA_ADMIN_PASSWORD": "3" * 24,
}
#: Values that must come from that file, never from compose.yaml itself.
SECRETS = frozenset(USER_ENV)
PREFIX = "RISKMON_"


def tool(name: str) -> str:
    """A command-line tool of the test dependencies, from this interpreter's venv."""
    path = Path(sys.executable).parent / name
    if not path.is_file():
        pytest.fail(f"{name} is not installed beside {sys.executable}: pip install -e '.[test]'")
    return str(path)


def check_compose_spec(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def load(path: Path | None = None) -> dict[str, Any]:
    text = (path or COMPOSE).read_text(encoding="utf-8")
    doc: dict[str, Any] = yaml.safe_load(text)  # with the << keys merged, as Compose does
    return doc


# --- interpolation, as Compose does it with the user's .env ------------------------------------

_VAR = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolations(text: str) -> Iterator[tuple[str, str | None]]:
    """(variable, operator) of every ``${...}`` in ``text`` (``$$`` is a literal dollar)."""
    for m in _VAR.finditer(text):
        if m["name"]:
            yield m["name"], m["op"]


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """``value`` with ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}`` replaced from
    ``env`` and ``$$`` made ``$``; a required variable missing raises, as ``docker compose up``
    stops."""

    def one(m: re.Match[str]) -> str:
        if not m["name"]:
            return "$"
        got, op = env.get(m["name"]), m["op"]
        if (op == ":?" and not got) or (op == "?" and got is None):
            raise KeyError(f"required variable {m['name']} is missing a value: {m['arg']}")
        if (op == ":-" and not got) or (op == "-" and got is None):
            return str(m["arg"])
        return got or ""

    if isinstance(value, str):
        return _VAR.sub(one, value)
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    return value


def services(doc: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = (doc or load())["services"]
    return found


def riskmon_services(doc: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """The services that run the riskmon image (the workers and the console)."""
    return {n: s for n, s in services(doc).items() if "build" in s}


def workers(doc: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in riskmon_services(doc).items() if s["command"][0] == "run"}


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    """The service's environment as the container sees it, with the user's .env applied."""
    env = service.get("environment", {})
    assert isinstance(env, dict), "environment as a mapping, so that anchors can merge it"
    return {k: str(interpolate(v, USER_ENV)) for k, v in env.items()}


def settings_of(env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """riskmon's Settings from ``env`` alone, as the process in the container reads them."""
    for var in list(os.environ):
        if var.startswith("RISKMON_"):
            monkeypatch.delenv(var)
    values = {k.removeprefix(PREFIX).lower(): v for k, v in env.items() if k.startswith(PREFIX)}
    return Settings(**values)  # type: ignore[arg-type]


# --- the specification --------------------------------------------------------------------------


def test_compose_file_passes_the_compose_specification() -> None:
    proc = check_compose_spec(COMPOSE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok -- validation done" in proc.stdout


def test_the_specification_check_rejects_a_misspelt_key(tmp_path: Path) -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    broken = tmp_path / "compose.yaml"
    broken.write_text(text.replace("    hostname: kafka-2\n", "    hostnme: kafka-2\n", 1))
    assert broken.read_text() != text
    proc = check_compose_spec(broken)
    assert proc.returncode != 0
    assert "hostnme" in proc.stdout + proc.stderr


def test_compose_file_names_only_services_that_exist() -> None:
    # The specification does not check names: depends_on a service that is not there fails
    # only at `docker compose up`.
    names = set(services())
    for name, service in services().items():
        unknown = set(service.get("depends_on", {})) - names
        assert not unknown, f"{name} depends on {unknown}, which are no services"


# --- files --------------------------------------------------------------------------------------


def mounted_files(doc: Mapping[str, Any], base: Path) -> dict[str, Path]:
    """What the file takes from the disk, by where it is named: every config file, every bind
    mount, each build context and Dockerfile; relative paths as Compose resolves them."""
    found = {f"configs.{n}": base / c["file"] for n, c in doc.get("configs", {}).items()}
    for name, service in doc["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume["source"]
            if source.startswith((".", "/")):
                found[f"services.{name}.volumes"] = base / source
        if "build" in service:
            context = base / service["build"]["context"]
            found[f"services.{name}.build.context"] = context
            found[f"services.{name}.build.dockerfile"] = context / service["build"]["dockerfile"]
    return found


def missing_files(doc: Mapping[str, Any], base: Path) -> list[str]:
    return [
        f"{where}: {path} is not in the repository"
        for where, path in sorted(mounted_files(doc, base).items())
        if not path.exists() or not path.resolve().is_relative_to(ROOT)
    ]


def test_every_file_compose_mounts_is_in_the_repository() -> None:
    doc = load()
    assert missing_files(doc, COMPOSE_DIR) == []
    # The monitoring files are deploy/'s own, mounted, not copies.
    used = {p.resolve() for p in mounted_files(doc, COMPOSE_DIR).values()}
    for shared in ("prometheus/riskmon-rules.yml", "alertmanager/alertmanager.yml"):
        assert (ROOT / "deploy" / shared).resolve() in used


def test_a_mount_of_a_missing_file_is_reported() -> None:
    doc = load()
    doc["configs"]["prometheus"]["file"] = "./gone.yml"
    assert missing_files(doc, COMPOSE_DIR) == [
        f"configs.prometheus: {COMPOSE_DIR / 'gone.yml'} is not in the repository"
    ]


# --- riskmon's settings -------------------------------------------------------------------------


def test_every_riskmon_variable_is_a_setting_and_its_value_is_valid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert set(riskmon_services()) == {"riskmon-1", "riskmon-2", "console"}
    for name, service in riskmon_services().items():
        env = environment(service)
        assert unknown_variables(env) == [], name
        s = settings_of(env, monkeypatch)
        # Without these two riskmon would start an embedded broker and Redis in the container.
        assert s.kafka_bootstrap and s.redis_url, name
        assert s.web_host == "0.0.0.0", f"{name}: unreachable from outside its container"
        assert s.local_token is False, f"{name}: a service must not mint its own admin token"
        assert s.token_key is not None and s.audit_key is not None, name


def test_every_riskmon_variable_the_files_name_is_a_setting() -> None:
    # Comments included: a setting they tell the user to change must exist.
    known = {PREFIX + name.upper() for name in Settings.model_fields}
    for path in [*sorted(COMPOSE_DIR.iterdir()), DOCKERFILE]:
        named = set(re.findall(r"RISKMON_[A-Z0-9_]+", path.read_text(encoding="utf-8")))
        assert named <= known, f"{path.name} names no setting {sorted(named - known)}"


def test_riskmon_commands_are_commands_of_riskmon() -> None:
    for name, service in riskmon_services().items():
        args = parser().parse_args(service["command"])
        assert args.command in ("run", "console"), name


def test_two_workers_with_distinct_static_membership_ids() -> None:
    ids = {name: environment(s).get("RISKMON_INSTANCE_ID") for name, s in workers().items()}
    assert len(ids) == 2, ids
    assert all(ids.values()), f"a worker without RISKMON_INSTANCE_ID: {ids}"
    assert len(set(ids.values())) == len(ids), f"workers sharing a membership id: {ids}"


def test_keys_and_passwords_come_from_the_users_env_file_and_are_required() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    used: dict[str, set[str | None]] = {}
    for var, op in interpolations(text):
        used.setdefault(var, set()).add(op)
    assert set(used) >= SECRETS, f"not taken from .env: {SECRETS - set(used)}"
    for name in SECRETS:
        assert used[name] == {":?"}, f"${{{name}}} must be required (:?): `up` stops without it"
    for service in services().values():
        for var, value in service.get("environment", {}).items():
            if var in SECRETS:
                assert str(value).startswith(f"${{{var}:?"), f"{var} is written into the file"
    # And nothing is interpolated silently empty: every variable is required or has a default.
    assert all(ops <= {":?", ":-"} for ops in used.values()), used


def test_a_worker_without_its_key_stops_and_names_it() -> None:
    partial = {k: v for k, v in USER_ENV.items() if k != "RISKMON_TOKEN_KEY"}
    with pytest.raises(KeyError, match=r"RISKMON_TOKEN_KEY .*deploy/README\.md"):
        interpolate(services()["riskmon-1"]["environment"], partial)


# --- Kafka and Redis ----------------------------------------------------------------------------


def test_kafka_is_three_kraft_brokers_that_riskmon_bootstraps_from() -> None:
    brokers = {n: s for n, s in services().items() if s["image"].startswith("apache/kafka:")}
    assert len(brokers) == 3
    envs = {n: s["environment"] for n, s in brokers.items()}
    ids = {n: int(e["KAFKA_NODE_ID"]) for n, e in envs.items()}
    assert len(set(ids.values())) == 3
    voters = {f"{i}@{n}:9093" for n, i in ids.items()}
    advertised = set()
    for name, env in envs.items():
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller", name
        assert set(env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")) == voters, name
        assert s_hostname(brokers[name]) == name
        advertised.add(env["KAFKA_ADVERTISED_LISTENERS"].removeprefix("PLAINTEXT://"))
    assert len({e["CLUSTER_ID"] for e in envs.values()}) == 1
    for name, service in riskmon_services().items():
        env = environment(service)
        assert set(env["RISKMON_KAFKA_BOOTSTRAP"].split(",")) == advertised, name
        # Topics on every broker, and a write acknowledged by fewer than all of them.
        rf = int(env["RISKMON_REPLICATION_FACTOR"])
        assert rf <= len(brokers), name
        assert all(int(e["KAFKA_MIN_INSYNC_REPLICAS"]) < rf for e in envs.values()), name


def s_hostname(service: Mapping[str, Any]) -> str:
    return str(service.get("hostname", ""))


def test_redis_cluster_of_six_nodes_that_riskmon_points_at() -> None:
    nodes = {
        n: s
        for n, s in services().items()
        if s["image"].startswith("redis:") and n != "redis-cluster-create"
    }
    assert len(nodes) == 6
    # Each node announces its own service name (its hostname) to clients.
    assert all(s_hostname(s) == n for n, s in nodes.items())
    script = "\n".join(services()["redis-cluster-create"]["command"])
    loop = re.search(r"for n in ([\d ]+); do", script)
    assert loop, script
    assert {f"redis-{n}" for n in loop[1].split()} == set(nodes)
    assert "--cluster-replicas 1" in script  # three masters, a replica each
    for name, service in riskmon_services().items():
        url = environment(service)["RISKMON_REDIS_URL"]
        assert url.startswith("redis+cluster://"), name
        hosts = url.split("@", 1)[-1].rstrip("/").split(",")
        assert hosts and {h.rsplit(":", 1)[0] for h in hosts} <= set(nodes), name
        assert all(h.endswith(":6379") for h in hosts), name


def test_workers_start_after_the_cluster_is_created_and_kafka_answers() -> None:
    for name, service in workers().items():
        deps = service["depends_on"]
        assert deps["redis-cluster-create"]["condition"] == "service_completed_successfully"
        kafka = [n for n in deps if n.startswith("kafka-")]
        assert len(kafka) == 3, name
        assert all(deps[n]["condition"] == "service_healthy" for n in kafka), name


# --- monitoring ---------------------------------------------------------------------------------


def scrape_targets() -> dict[str, set[str]]:
    cfg = yaml.safe_load(PROMETHEUS_YML.read_text(encoding="utf-8"))
    return {
        job["job_name"]: {t for sc in job["static_configs"] for t in sc["targets"]}
        for job in cfg["scrape_configs"]
    }


def test_prometheus_scrapes_every_worker_and_the_console() -> None:
    targets = scrape_targets()
    web = {n: environment(s)["RISKMON_WEB_PORT"] for n, s in workers().items()}
    assert targets["riskmon"] == {f"{n}:{port}" for n, port in web.items()}
    console = environment(services()["console"])
    assert targets["riskmon-console"] == {f"console:{console['RISKMON_CONSOLE_PORT']}"}
    # The same job names as deploy/prometheus/prometheus.yml: the rules and dashboards use them.
    shipped = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text("utf-8"))
    assert set(targets) == {job["job_name"] for job in shipped["scrape_configs"]}
    cfg = yaml.safe_load(PROMETHEUS_YML.read_text(encoding="utf-8"))
    managers = cfg["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert managers == ["alertmanager:9093"] and "alertmanager" in services()
    assert console["RISKMON_ALERTMANAGER_URL"] == "http://alertmanager:9093"


def stage(service: Mapping[str, Any], doc: Mapping[str, Any], root: Path) -> None:
    """Copy each file ``service`` mounts to where the container sees it, under ``root``."""
    for ref in service.get("configs", []):
        target = root / ref["target"].lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(COMPOSE_DIR / doc["configs"][ref["source"]]["file"], target)


def test_prometheus_config_loads_its_rules_where_compose_mounts_them(tmp_path: Path) -> None:
    doc = load()
    stage(doc["services"]["prometheus"], doc, tmp_path)
    config = tmp_path / "etc" / "prometheus" / "prometheus.yml"
    assert f"--config.file=/{config.relative_to(tmp_path)}" in services()["prometheus"]["command"]
    proc = subprocess.run(
        [promtool(), "check", "config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 1 rule files found" in proc.stdout


def test_grafana_gets_both_dashboards_where_its_provider_reads_them() -> None:
    doc = load()
    grafana = doc["services"]["grafana"]
    provider = yaml.safe_load(PROVIDER.read_text(encoding="utf-8"))
    folder = provider["providers"][0]["options"]["path"]
    mounted = {
        Path(doc["configs"][ref["source"]]["file"]).name: ref["target"]
        for ref in grafana["configs"]
    }
    for dashboard in sorted((ROOT / "deploy" / "grafana").glob("*.json")):
        assert mounted.get(dashboard.name) == f"{folder}/{dashboard.name}", dashboard.name
    assert mounted["riskmon-dashboards.yml"].startswith("/etc/grafana/provisioning/dashboards/")
    sources = yaml.safe_load((COMPOSE_DIR / "grafana-datasources.yml").read_text("utf-8"))
    (source,) = sources["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"


def test_every_image_is_pinned() -> None:
    for name, service in services().items():
        image = service["image"]
        tag = image.rsplit(":", 1)[1] if ":" in image else ""
        assert tag and tag != "latest", f"{name}: {image} is not pinned to a release"


# --- the image ----------------------------------------------------------------------------------


def test_image_runs_riskmon_as_a_numeric_user_that_is_not_root() -> None:
    lines = DOCKERFILE.read_text(encoding="utf-8").splitlines()
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users, "the image would run as root"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"USER {users[-1]}: Kubernetes runAsNonRoot needs a uid"
    assert any(re.match(r"RUN pip install /tmp/riskmon-src\b", line) for line in lines)
    assert 'ENTRYPOINT ["/usr/bin/tini", "--", "riskmon"]' in lines


def test_build_context_lets_every_package_into_the_image() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {
        p for p in config["tool"]["setuptools"]["packages"]["find"]["include"] if "." not in p
    }
    rules = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*", "an allow-list: everything else (keys, venvs, .git) stays out"
    allowed = {r.removeprefix("!").rstrip("/") for r in rules if r.startswith("!")}
    needed = packages | {"pyproject.toml", "README.md"}
    assert needed <= allowed, f"left out of the image: {sorted(needed - allowed)}"
    assert allowed - needed == set(), f"sent to the builder for nothing: {allowed - needed}"
    for service in riskmon_services().values():
        assert (COMPOSE_DIR / service["build"]["context"]).resolve() == ROOT
