"""deploy/kubernetes/: every manifest is valid against the Kubernetes API's own schemas
(kubernetes-validate ships them for each release: no cluster, no download), for the oldest
release the manifests claim and the newest the validator knows. The ServiceMonitors are the
Prometheus Operator's custom resources, which those schemas do not know: their shape is checked
here against a minimal schema of the fields riskmon relies on.

Then what a user would notice on a cluster: a RISKMON_* variable that is no setting or has a bad
value, workers sharing one membership id, probes on the wrong path or port, a budget or a
network policy that selects no worker or lets anyone reach the API, a Service whose link
variables would shadow a setting, a Secret template that would run with its placeholders, and a
kustomization that forgets a manifest or would overwrite the real keys."""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from api.routes import worker_routes
from cli.main import parser
from streams.settings import Settings, unknown_variables
from tests.support.routes import stub_deps

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "deploy" / "kubernetes"
KUSTOMIZATION = K8S / "kustomization.yaml"
SECRET_TEMPLATE = K8S / "secret.example.yaml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
PREFIX = "RISKMON_"
NAMESPACE = "riskmon"

#: The oldest Kubernetes release the manifests are checked against (and so claim to support),
#: then the newest kubernetes-validate knows (its default).
K8S_VERSIONS = ("1.30.0", None)
#: API groups of custom resources, whose schemas the validator does not have.
CRD_GROUPS = ("monitoring.coreos.com/",)

#: What the user's real Secret holds (secret.example.yaml says how to make it).
REAL_KEYS = {"RISKMON_TOKEN_KEY": "4" * 64, "RISKMON_AUDIT_KEY": "5" * 64}

#: The fields of a ServiceMonitor (monitoring.coreos.com/v1) that riskmon's use: enough to catch
#: a misspelt or misplaced one, since the Operator would ignore it without a word.
SERVICE_MONITOR = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": {
            "type": "object",
            "required": ["name", "namespace"],
            "properties": {
                "labels": {"type": "object", "additionalProperties": {"type": "string"}}
            },
        },
        "spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "additionalProperties": False,
            "properties": {
                "jobLabel": {"type": "string"},
                "namespaceSelector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "any": {"type": "boolean"},
                        "matchNames": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "selector": {
                    "type": "object",
                    "required": ["matchLabels"],
                    "properties": {
                        "matchLabels": {
                            "type": "object",
                            "minProperties": 1,
                            "additionalProperties": {"type": "string"},
                        }
                    },
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["port", "path"],
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string", "minLength": 1},
                            "path": {"type": "string", "pattern": "^/"},
                            "scheme": {"enum": ["http", "https"]},
                            "interval": {"type": "string", "pattern": r"^\d+(ms|s|m|h)$"},
                            "relabelings": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "properties": {
                                        "action": {"type": "string"},
                                        "sourceLabels": {
                                            "type": "array",
                                            "items": {"type": "string"},
                                        },
                                        "targetLabel": {"type": "string"},
                                        "replacement": {"type": "string"},
                                        "regex": {"type": "string"},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def tool(name: str) -> str:
    """A command-line tool of the test dependencies, from this interpreter's venv."""
    path = Path(sys.executable).parent / name
    if not path.is_file():
        pytest.fail(f"{name} is not installed beside {sys.executable}: pip install -e '.[test]'")
    return str(path)


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p != KUSTOMIZATION)


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def is_custom(doc: Mapping[str, Any]) -> bool:
    return str(doc["apiVersion"]).startswith(CRD_GROUPS)


def resources() -> list[dict[str, Any]]:
    """What `kubectl apply -k` creates: every document of the kustomization's files."""
    listed = yaml.safe_load(KUSTOMIZATION.read_text(encoding="utf-8"))["resources"]
    return [d for name in listed for d in documents(K8S / name)]


def one(kind: str, name: str | None = None) -> dict[str, Any]:
    found = [d for d in resources() if d["kind"] == kind and name in (None, d["metadata"]["name"])]
    assert len(found) == 1, f"{kind} {name or ''}: {len(found)} found"
    return found[0]


def pod_template(workload: Mapping[str, Any]) -> dict[str, Any]:
    template: dict[str, Any] = workload["spec"]["template"]
    return template


def container(workload: Mapping[str, Any]) -> dict[str, Any]:
    (only,) = pod_template(workload)["spec"]["containers"]
    c: dict[str, Any] = only
    return c


def workers() -> dict[str, Any]:
    return one("StatefulSet")


def console() -> dict[str, Any]:
    return one("Deployment", "console")


def selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def environment(
    workload: Mapping[str, Any], pod_name: str, keys: Mapping[str, str]
) -> dict[str, str]:
    """The container's RISKMON_* environment as Kubernetes builds it: envFrom in order (a later
    source wins), then env (which wins over all), with ``keys`` as the Secret's data."""
    c = container(workload)
    env: dict[str, str] = {}
    for source in c.get("envFrom", []):
        if "configMapRef" in source:
            env.update(one("ConfigMap", source["configMapRef"]["name"])["data"])
        else:
            assert source["secretRef"]["name"] == secret_template()["metadata"]["name"]
            env.update(keys)
    for var in c.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        else:
            assert var["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}, var
            env[var["name"]] = pod_name
    return env


def secret_template() -> dict[str, Any]:
    (doc,) = documents(SECRET_TEMPLATE)
    return doc


def settings_of(env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """riskmon's Settings from ``env`` alone, as the process in the pod reads them."""
    for var in list(os.environ):
        if var.startswith(PREFIX):
            monkeypatch.delenv(var)
    values = {k.removeprefix(PREFIX).lower(): v for k, v in env.items() if k.startswith(PREFIX)}
    return Settings(**values)  # type: ignore[arg-type]


def port_number(workload: Mapping[str, Any], port: int | str) -> int:
    """A probe's or policy's port, by number or by the container's name for it."""
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container(workload)["ports"] if p["name"] == port]
    return int(number)


# --- the schemas --------------------------------------------------------------------------------


def kubernetes_validate(paths: list[Path], version: str | None) -> subprocess.CompletedProcess[str]:
    args = [tool("kubernetes-validate"), "--strict"]
    if version:
        args += ["--kubernetes-version", version]
    return subprocess.run(
        [*args, *map(str, paths)], capture_output=True, text=True, timeout=120, check=False
    )


def core_files() -> list[Path]:
    return [p for p in manifest_files() if not any(is_custom(d) for d in documents(p))]


@pytest.mark.parametrize("version", K8S_VERSIONS, ids=lambda v: v or "newest")
def test_manifests_pass_the_kubernetes_schemas(version: str | None) -> None:
    files = core_files()
    proc = kubernetes_validate(files, version)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    # Each resource was checked against a schema, none passed over for want of one.
    assert out.count("passed for resource") == sum(len(documents(p)) for p in files), out
    assert "Couldn't find schema" not in out, out


def test_only_custom_resources_are_left_to_the_shape_check() -> None:
    skipped = [p.name for p in manifest_files() if p not in core_files()]
    assert skipped == ["servicemonitor.yaml"]
    assert all(is_custom(d) for d in documents(K8S / "servicemonitor.yaml"))


def test_the_schema_check_rejects_a_misspelt_field(tmp_path: Path) -> None:
    text = (K8S / "workers.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "workers.yaml"
    broken.write_text(text.replace("readinessProbe:", "readinesProbe:", 1))
    assert broken.read_text() != text
    proc = kubernetes_validate([broken], None)
    assert proc.returncode != 0
    assert "'readinesProbe' was unexpected" in proc.stdout + proc.stderr


def service_monitors() -> list[dict[str, Any]]:
    return [d for d in resources() if d["kind"] == "ServiceMonitor"]


def test_service_monitors_have_the_shape_the_operator_reads() -> None:
    assert len(service_monitors()) == 2
    for doc in service_monitors():
        jsonschema.validate(doc, SERVICE_MONITOR)


def test_the_shape_check_rejects_a_misplaced_field() -> None:
    doc = copy.deepcopy(service_monitors()[0])
    doc["spec"]["path"] = doc["spec"]["endpoints"][0].pop("path")  # one level too high
    with pytest.raises(jsonschema.ValidationError, match="path"):
        jsonschema.validate(doc, SERVICE_MONITOR)


def test_service_monitors_scrape_workers_and_console_under_the_rules_job_names() -> None:
    services = [d for d in resources() if d["kind"] == "Service"]
    jobs = {}
    for monitor in service_monitors():
        selector = monitor["spec"]["selector"]["matchLabels"]
        (service,) = [s for s in services if selects(selector, s["metadata"]["labels"])]
        assert monitor["spec"]["namespaceSelector"]["matchNames"] == [NAMESPACE]
        for endpoint in monitor["spec"]["endpoints"]:
            assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
            (job,) = [
                r["replacement"] for r in endpoint["relabelings"] if r["targetLabel"] == "job"
            ]
            jobs[service["metadata"]["name"]] = job
    # The job names deploy/prometheus/riskmon-rules.yml and the dashboards select.
    shipped = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text("utf-8"))
    assert jobs == {"workers": "riskmon", "console": "riskmon-console"}
    assert set(jobs.values()) == {job["job_name"] for job in shipped["scrape_configs"]}


# --- the kustomization and the Secret -----------------------------------------------------------


def test_kustomization_lists_every_manifest_but_the_secret_template() -> None:
    config = yaml.safe_load(KUSTOMIZATION.read_text(encoding="utf-8"))
    listed = config["resources"]
    assert len(listed) == len(set(listed))
    # Applying the kustomization must never overwrite the real keys with the placeholders.
    assert SECRET_TEMPLATE.name not in listed
    assert set(listed) == {p.name for p in manifest_files()} - {SECRET_TEMPLATE.name}
    assert config["namespace"] == NAMESPACE
    assert all(d["metadata"].get("namespace", NAMESPACE) == NAMESPACE for d in resources())


def test_the_unedited_secret_template_stops_riskmon(monkeypatch: pytest.MonkeyPatch) -> None:
    placeholders = secret_template()["stringData"]
    assert set(placeholders) == set(REAL_KEYS)
    env = environment(workers(), "riskmon-0", placeholders)
    with pytest.raises(ValueError, match="token_key") as failed:
        settings_of(env, monkeypatch)
    assert "audit_key" in str(failed.value)


# --- riskmon's settings -------------------------------------------------------------------------


@pytest.mark.parametrize("workload", ["workers", "console"])
def test_every_riskmon_variable_is_a_setting_and_its_value_is_valid(
    workload: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pods = {"workers": (workers(), "riskmon-0"), "console": (console(), "console-abc12")}
    manifest, pod = pods[workload]
    env = environment(manifest, pod, REAL_KEYS)
    assert unknown_variables(env) == []
    s = settings_of(env, monkeypatch)
    assert s.kafka_bootstrap and s.redis_url, "else riskmon starts an embedded broker and Redis"
    assert s.redis_url.startswith("redis+cluster://")
    assert s.web_host == "0.0.0.0", "unreachable from outside the pod"
    assert s.local_token is False, "a service must not mint its own admin token"
    args = parser().parse_args(container(manifest)["args"])
    assert args.command == {"workers": "run", "console": "console"}[workload]


def test_every_riskmon_variable_the_files_name_is_a_setting() -> None:
    # Comments included: a setting they tell the user to change must exist.
    known = {PREFIX + name.upper() for name in Settings.model_fields}
    for path in sorted(K8S.iterdir()):
        named = set(re.findall(r"RISKMON_[A-Z0-9_]+", path.read_text(encoding="utf-8")))
        assert named <= known, f"{path.name} names no setting {sorted(named - known)}"


def test_workers_take_their_instance_id_from_their_pod_name() -> None:
    sts = workers()
    assert sts["spec"]["replicas"] >= 2
    ids = {
        environment(sts, f"{sts['metadata']['name']}-{i}", REAL_KEYS)["RISKMON_INSTANCE_ID"]
        for i in range(sts["spec"]["replicas"])
    }
    assert len(ids) == sts["spec"]["replicas"], ids
    # Set anywhere shared, it would give every pod the same id.
    shared = [*one("ConfigMap")["data"], *secret_template()["stringData"]]
    assert "RISKMON_INSTANCE_ID" not in shared
    service = one("Service", sts["spec"]["serviceName"])
    assert service["spec"]["clusterIP"] == "None"


# --- probes, resources, disruption --------------------------------------------------------------


def probe(c: Mapping[str, Any], kind: str) -> tuple[str, int | str]:
    get = c[kind]["httpGet"]
    return get["path"], get["port"]


def test_worker_probes_ask_healthz_and_readyz_on_the_api_port() -> None:
    sts, c = workers(), container(workers())
    web = int(one("ConfigMap")["data"]["RISKMON_WEB_PORT"])
    for kind, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        got, port = probe(c, kind)
        assert got == path, kind
        assert port_number(sts, port) == web, kind
    assert probe(c, "startupProbe")[0] == "/healthz"
    # The kubelet sends no token: both must be public routes of the API.
    public = {r.path for r in worker_routes(stub_deps()) if r.role is None}
    assert {"/healthz", "/readyz"} <= public


def test_console_probes_ask_healthz_on_the_console_port() -> None:
    deploy, c = console(), container(console())
    port = {v["name"]: v.get("value") for v in c["env"]}["RISKMON_CONSOLE_PORT"]
    for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
        path, named = probe(c, kind)
        assert path == "/healthz" and port_number(deploy, named) == int(str(port)), kind


def test_workers_request_what_was_measured() -> None:
    resources_ = container(workers())["resources"]
    assert resources_["requests"] == {"cpu": "500m", "memory": "300Mi"}
    # No CPU limit: a catch-up after downtime may use a whole core.
    assert set(resources_["limits"]) == {"memory"}


def test_disruption_budget_keeps_all_but_one_worker() -> None:
    pdb = one("PodDisruptionBudget")
    labels = pod_template(workers())["metadata"]["labels"]
    assert selects(pdb["spec"]["selector"]["matchLabels"], labels)
    assert pdb["spec"]["maxUnavailable"] == 1


# --- who may reach the API ----------------------------------------------------------------------


def open_ingress(policy: Mapping[str, Any]) -> Iterator[str]:
    """Each way ``policy`` lets in anyone but the console's pods and Prometheus's, or admits
    them on another port than the workers' API, or fails to cover the workers."""
    spec = policy["spec"]
    if not selects(
        spec["podSelector"].get("matchLabels", {}), pod_template(workers())["metadata"]["labels"]
    ):
        yield "does not select the workers"
    if "Ingress" not in spec.get("policyTypes", []):
        yield "restricts no ingress"
    console_labels = pod_template(console())["metadata"]["labels"]
    web = int(one("ConfigMap")["data"]["RISKMON_WEB_PORT"])
    for rule in spec.get("ingress", []):
        if not rule.get("from"):
            yield "a rule without from: admits everyone"
        ports = [port_number(workers(), p["port"]) for p in rule.get("ports", [])]
        if ports != [web]:
            yield f"admits ports {ports or 'all'}, not only the API's {web}"
        for peer in rule.get("from", []):
            pods = peer.get("podSelector", {}).get("matchLabels", {})
            namespaces = peer.get("namespaceSelector", {}).get("matchLabels", {})
            if "ipBlock" in peer:
                yield f"admits addresses {peer['ipBlock']}"
            elif not namespaces and selects(pods, console_labels):
                continue  # the console, in this namespace
            elif namespaces and pods.get("app.kubernetes.io/name") == "prometheus":
                continue  # Prometheus, in its namespace
            else:
                yield f"admits {peer}"


def test_network_policy_opens_the_api_only_to_the_console_and_prometheus() -> None:
    policy = one("NetworkPolicy")
    assert list(open_ingress(policy)) == []
    peers = policy["spec"]["ingress"][0]["from"]
    assert len(peers) == 2


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda r: r.pop("from"), "admits everyone"),
        (lambda r: r["from"].append({"podSelector": {}}), "admits {'podSelector': {}}"),
        (lambda r: r["from"][1].pop("podSelector"), "admits {'namespaceSelector'"),
        (lambda r: r.pop("ports"), "admits ports all"),
        (lambda r: r["from"].append({"ipBlock": {"cidr": "0.0.0.0/0"}}), "admits addresses"),
    ],
)
def test_the_policy_check_bites(change: Any, problem: str) -> None:
    policy = copy.deepcopy(one("NetworkPolicy"))
    change(policy["spec"]["ingress"][0])
    assert any(problem in p for p in open_ingress(policy)), list(open_ingress(policy))


# --- the pods -----------------------------------------------------------------------------------


def service_link_prefix(service_name: str) -> str:
    """How Kubernetes names a Service's link variables (NAME_SERVICE_HOST, NAME_PORT...)."""
    return service_name.upper().replace("-", "_") + "_"


def test_no_service_link_can_shadow_a_setting() -> None:
    for workload in (workers(), console()):
        assert pod_template(workload)["spec"]["enableServiceLinks"] is False
    for service in (d for d in resources() if d["kind"] == "Service"):
        assert not service_link_prefix(service["metadata"]["name"]).startswith(PREFIX), service


def test_pods_run_as_the_images_user_on_a_read_only_root() -> None:
    lines = DOCKERFILE.read_text(encoding="utf-8").splitlines()
    user = [line.split()[1] for line in lines if line.startswith("USER ")][-1]
    uid = int(user.split(":")[0])
    for workload in (workers(), console()):
        pod = pod_template(workload)["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == uid
        c = container(workload)
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
        # What riskmon writes (the run file, Faust's data) goes to its home: writable.
        assert "/var/lib/riskmon" in {m["mountPath"] for m in c["volumeMounts"]}
        assert "HOME=/var/lib/riskmon" in DOCKERFILE.read_text(encoding="utf-8")
