"""Deployment files: docker-compose.yml, the Dockerfiles, deploy/nginx.conf and the Helm values.

No Docker engine runs here. Debian's docker-compose validates and resolves the compose
file (`docker-compose config`), the Dockerfiles are checked as text, and deploy/nginx.conf
runs in Debian's nginx in front of the servers the containers would run (scripts/run.sh
actions, and scripts/run.sh rasa twice as the two replicas), with only the container host
names and paths swapped for loopback ones. `make deploy-tools` installs both programs.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
import websockets
import yaml

from tests.conftest import ServedBot, start_run_sh, stop_bot
from tests.support import OUTPUT, ROOT, RestClient, free_port, load_yaml, post_json, wait_for_http

COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILES = {"rasa": ROOT / "docker" / "Dockerfile.rasa", "actions": ROOT / "docker" / "Dockerfile.actions"}
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
HELM_VALUES = ROOT / "deploy" / "helm" / "values.yml"
HEALTHCHECK = ROOT / "docker" / "healthcheck.py"
PYTHON = ROOT / ".venv" / "bin" / "python"

SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|(^|_)KEY$", re.IGNORECASE)
ENV_REFERENCE = re.compile(r"^\$\{[A-Z][A-Z0-9_]*(:?[-?][^}]*)?\}$")
PINNED_TAG = re.compile(r":v?\d+(\.\d+)+[\w.-]*$")


def tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if path is None:
        pytest.fail(f"{name} is not installed: run `make deploy-tools` (it installs Debian's package)")
    return path


# --- docker-compose.yml ------------------------------------------------------------------------

TEST_DB_PASSWORD = "test-db-password-" + secrets.token_hex(8)
TEST_ORIGINS = "https://www.example.org"
TEST_GRAFANA_PASSWORD = "test-grafana-password-" + secrets.token_hex(8)
REQUIRED_SETTINGS = {"POSTGRES_PASSWORD": TEST_DB_PASSWORD, "ALLOWED_ORIGINS": TEST_ORIGINS,
                     "GRAFANA_ADMIN_PASSWORD": TEST_GRAFANA_PASSWORD}


def compose_config(**env: str) -> subprocess.CompletedProcess:
    """``docker-compose config`` with .env.example and only the given variables set."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    clean_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(OUTPUT), **env}
    return subprocess.run(
        [tool("docker-compose"), "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE_FILE), "config"],
        cwd=ROOT, env=clean_env, capture_output=True, text=True, timeout=120,
    )


@pytest.fixture(scope="module")
def compose() -> Dict[str, Any]:
    result = compose_config(**REQUIRED_SETTINGS)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


@pytest.mark.service
def test_compose_has_the_whole_stack(compose: Dict[str, Any]) -> None:
    assert set(compose["services"]) == {"postgres", "redis", "rasa", "actions", "nginx", "prometheus", "grafana"}


@pytest.mark.service
def test_compose_runs_two_rasa_replicas(compose: Dict[str, Any]) -> None:
    rasa = compose["services"]["rasa"]
    assert rasa["deploy"]["replicas"] == 2
    assert "container_name" not in rasa and "ports" not in rasa  # both would stop a second replica


@pytest.mark.service
def test_compose_builds_the_project_images(compose: Dict[str, Any]) -> None:
    for service, dockerfile in (("rasa", DOCKERFILES["rasa"]), ("actions", DOCKERFILES["actions"])):
        build = compose["services"][service]["build"]
        assert (Path(build["context"]) / build["dockerfile"]).resolve() == dockerfile.resolve()


@pytest.mark.service
def test_compose_pins_every_other_image(compose: Dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if "build" not in service:
            assert PINNED_TAG.search(service["image"]), (name, service["image"])


@pytest.mark.service
def test_compose_wires_the_rasa_environment(compose: Dict[str, Any]) -> None:
    env = compose["services"]["rasa"]["environment"]
    assert env["DB_URL"] == f"postgresql://rasa:{TEST_DB_PASSWORD}@postgres:5432/rasa"
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert env["ACTION_ENDPOINT_URL"] == "http://actions:5055/webhook"
    assert env["DATA_DIR"] and env["CRISIS_REGION"] == "US" and env["PRIVACY_MODE"] == "redact"
    assert env["ALLOWED_ORIGINS"] == TEST_ORIGINS
    assert env["ENABLE_API"] == "false"
    assert {"TELEGRAM_TOKEN", "TELEGRAM_WEBHOOK_URL", "TELEGRAM_SECRET_TOKEN", "RASA_AUTH_TOKEN"} <= set(env)
    postgres = compose["services"]["postgres"]["environment"]
    assert postgres["POSTGRES_PASSWORD"] == TEST_DB_PASSWORD and postgres["POSTGRES_USER"] == "rasa"


@pytest.mark.service
def test_compose_action_endpoint_matches_the_actions_image(compose: Dict[str, Any]) -> None:
    actions_env = dockerfile_env(parse_dockerfile(DOCKERFILES["actions"]))
    assert compose["services"]["rasa"]["environment"]["ACTION_ENDPOINT_URL"].endswith(
        f":{actions_env['ACTIONS_PORT']}/webhook"
    )


@pytest.mark.service
def test_compose_publishes_only_nginx_and_grafana_on_loopback(compose: Dict[str, Any]) -> None:
    published = {name: service.get("ports", []) for name, service in compose["services"].items()}
    assert sorted(name for name, ports in published.items() if ports) == ["grafana", "nginx"]
    assert published["nginx"] == ["127.0.0.1:8080:8080/tcp"]
    assert published["grafana"] == ["127.0.0.1:3000:3000/tcp"]
    assert any(str(NGINX_CONF) in volume and volume.endswith(":/etc/nginx/nginx.conf:ro")
               for volume in compose["services"]["nginx"]["volumes"])


@pytest.mark.service
def test_compose_keeps_the_stores_off_the_public_network(compose: Dict[str, Any]) -> None:
    assert compose["networks"]["backend"]["internal"] is True
    for name in ("postgres", "redis", "actions"):
        assert set(compose["services"][name]["networks"]) == {"backend"}, name
    assert set(compose["services"]["nginx"]["networks"]) == {"frontend"}


@pytest.mark.service
def test_compose_waits_for_healthy_dependencies(compose: Dict[str, Any]) -> None:
    depends = compose["services"]["rasa"]["depends_on"]
    assert {name: d["condition"] for name, d in depends.items()} == {
        "postgres": "service_healthy", "redis": "service_healthy", "actions": "service_healthy",
    }


@pytest.mark.service
@pytest.mark.parametrize("missing", sorted(REQUIRED_SETTINGS))
def test_compose_refuses_to_start_without_required_settings(missing: str) -> None:
    env = dict(REQUIRED_SETTINGS)
    del env[missing]
    result = compose_config(**env)
    assert result.returncode != 0
    assert missing in result.stderr


# --- No secret is written in a committed file -----------------------------------------------


@pytest.mark.unit
def test_compose_takes_every_secret_from_the_environment() -> None:
    raw = load_yaml(COMPOSE_FILE)
    for name, service in raw["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(key):
                assert ENV_REFERENCE.match(str(value)), (name, key, value)
            if "@" in str(value):  # credentials inside a URL
                assert re.search(r"://[^:@]*:\$\{[A-Z_]+[^}]*\}@", str(value)), (name, key)


@pytest.mark.unit
def test_env_example_has_no_secret_values() -> None:
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            if SECRET_NAME.search(key):
                assert value == "", f".env.example must leave {key} empty"


@pytest.mark.unit
def test_env_example_names_every_variable_the_compose_file_reads() -> None:
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", COMPOSE_FILE.read_text(encoding="utf-8")))
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(encoding="utf-8"), re.MULTILINE))
    assert used == documented


@pytest.mark.unit
def test_git_ignores_env_but_not_env_example() -> None:
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT).returncode
    example = subprocess.run(["git", "check-ignore", "-q", ".env.example"], cwd=ROOT).returncode
    assert (ignored, example) == (0, 1)


@pytest.mark.unit
@pytest.mark.parametrize("path", [COMPOSE_FILE, ENV_EXAMPLE, NGINX_CONF, HELM_VALUES, *DOCKERFILES.values()],
                         ids=lambda p: p.name)
def test_no_random_looking_strings(path: Path) -> None:
    """Tokens and passwords look random; nothing in these files should."""
    for word in re.findall(r"[A-Za-z0-9+/_-]{24,}", path.read_text(encoding="utf-8")):
        has_digit, has_letter = any(c.isdigit() for c in word), any(c.isalpha() for c in word)
        assert not (has_digit and has_letter), f"{path.name}: {word!r} looks like a secret"


@pytest.mark.unit
def test_helm_values_keep_secrets_in_kubernetes_secrets() -> None:
    values = load_yaml(HELM_VALUES)
    assert values["applicationSettings"]["token"] == ""
    assert values["global"]["postgresql"]["postgresqlPassword"] == ""
    assert values["global"]["postgresql"]["existingSecret"]
    assert values["global"]["redis"]["password"] == "" and values["redis"]["auth"]["password"] == ""
    assert values["redis"]["auth"]["existingSecret"] == values["redis"]["existingSecret"]
    for env in values["extraEnv"] + values["rasa-action-server"]["extraEnv"]:
        if SECRET_NAME.search(env["name"]):
            assert "value" not in env and env["valueFrom"]["secretKeyRef"]["name"], env["name"]


# --- Dockerfiles --------------------------------------------------------------------------------


@dataclass
class Instruction:
    keyword: str
    argument: str


def parse_dockerfile(path: Path) -> List[Instruction]:
    """The instructions, with continuation lines joined and comments dropped."""
    instructions: List[Instruction] = []
    pending = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        keyword, _, argument = pending.strip().partition(" ")
        instructions.append(Instruction(keyword.upper(), " ".join(argument.split())))
        pending = ""
    return instructions


def final_stage(instructions: List[Instruction]) -> List[Instruction]:
    last_from = max(i for i, instruction in enumerate(instructions) if instruction.keyword == "FROM")
    return instructions[last_from:]


def dockerfile_env(instructions: List[Instruction]) -> Dict[str, str]:
    """ENV values of the final stage (``KEY=value`` pairs)."""
    env: Dict[str, str] = {}
    for instruction in final_stage(instructions):
        if instruction.keyword == "ENV":
            env.update(pair.split("=", 1) for pair in instruction.argument.split())
    return env


@pytest.fixture(scope="module", params=sorted(DOCKERFILES))
def dockerfile(request: pytest.FixtureRequest) -> Tuple[str, List[Instruction]]:
    return request.param, parse_dockerfile(DOCKERFILES[request.param])


@pytest.mark.unit
def test_dockerfile_base_images_are_pinned(dockerfile: Tuple[str, List[Instruction]]) -> None:
    _, instructions = dockerfile
    stages: List[str] = []
    for instruction in instructions:
        if instruction.keyword != "FROM":
            continue
        image, *alias = instruction.argument.split(" AS ")
        if image in stages:
            continue
        assert PINNED_TAG.search(image) and "latest" not in image, image
        if image.startswith("python:"):
            assert re.fullmatch(r"python:3\.10\.\d+-slim-bookworm", image), image
        stages.extend(a.strip() for a in alias)
    assert re.fullmatch(r"python:3\.10\.\d+-slim-bookworm", final_stage(instructions)[0].argument)


@pytest.mark.unit
def test_dockerfile_runs_as_a_non_root_user(dockerfile: Tuple[str, List[Instruction]]) -> None:
    _, instructions = dockerfile
    users = [i.argument for i in final_stage(instructions) if i.keyword == "USER"]
    assert users, "the final stage must set USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), users[-1]


@pytest.mark.unit
def test_dockerfile_installs_like_the_makefile(dockerfile: Tuple[str, List[Instruction]]) -> None:
    _, instructions = dockerfile
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    pip_pin = re.search(r'"(pip==[\d.]+)"', makefile).group(1)
    install = " ".join(i.argument for i in instructions if i.keyword == "RUN" and "pip install" in i.argument)
    assert f'"{pip_pin}"' in install
    assert "-r requirements.in -c requirements.lock" in makefile
    assert "-r requirements.in -c requirements.lock" in install


@pytest.mark.unit
def test_dockerfile_listens_on_all_interfaces_only_inside(dockerfile: Tuple[str, List[Instruction]]) -> None:
    _, instructions = dockerfile
    assert dockerfile_env(instructions)["HOST"] == "0.0.0.0"
    assert 'HOST=${HOST:-127.0.0.1}' in (ROOT / "scripts" / "run.sh").read_text(encoding="utf-8")


@pytest.mark.unit
def test_dockerfile_starts_one_server_with_a_healthcheck(dockerfile: Tuple[str, List[Instruction]]) -> None:
    server, instructions = dockerfile
    stage = final_stage(instructions)
    by_keyword = {i.keyword: i.argument for i in stage}
    assert json.loads(by_keyword["ENTRYPOINT"]) == ["/app/scripts/run.sh"]
    assert json.loads(by_keyword["CMD"]) == [server]
    healthcheck = by_keyword["HEALTHCHECK"]
    assert json.loads(healthcheck[healthcheck.index("CMD") + 3:]) == [
        "/app/.venv/bin/python", "/app/docker/healthcheck.py", server,
    ]


@pytest.mark.unit
def test_dockerfile_copies_files_that_exist(dockerfile: Tuple[str, List[Instruction]]) -> None:
    _, instructions = dockerfile
    for instruction in instructions:
        if instruction.keyword == "COPY" and not instruction.argument.startswith("--from"):
            *sources, _ = instruction.argument.split()
            for source in sources:
                assert (ROOT / source).exists(), source


@pytest.mark.unit
def test_dockerfile_model_stage_trains_what_make_train_trains() -> None:
    instructions = parse_dockerfile(DOCKERFILES["rasa"])
    train = [i.argument for i in instructions if i.keyword == "RUN" and "rasa train" in i.argument]
    assert train and "--fixed-model-name therapy-bot" in train[0]
    risk = [i.argument for i in instructions if i.keyword == "RUN" and "training.risk_model" in i.argument]
    assert risk and "--out models/risk-model" in risk[0], "the image needs the crisis risk model too"
    assert "COPY --from=model /app/models models" in [f"COPY {i.argument}" for i in instructions]


@pytest.mark.unit
def test_runtime_images_hold_the_assistant_only(dockerfile: Tuple[str, List[Instruction]]) -> None:
    _, instructions = dockerfile
    copied = {source.rstrip("/") for i in final_stage(instructions) if i.keyword == "COPY"
              for source in i.argument.split()[:-1] if not source.startswith("--from")}
    assert not copied & {"evaluation", "training", "bench", "docgen", "tests", "tests/crisis", "."}, copied


@pytest.mark.unit
def test_scripts_holds_shell_entry_points_only() -> None:
    assert {path.suffix for path in (ROOT / "scripts").iterdir() if path.is_file()} == {".sh"}


@pytest.mark.unit
def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".env", ".venv", "models", ".git", "**/node_modules"} <= set(ignored)
    assert "tests" in ignored and "!tests/crisis" in ignored, "only the crisis corpus of tests/ is built from"


# --- Helm values ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def helm() -> Dict[str, Any]:
    return load_yaml(HELM_VALUES)


@pytest.mark.unit
def test_helm_runs_two_replicas_with_both_stores(helm: Dict[str, Any]) -> None:
    endpoints = helm["applicationSettings"]["endpoints"]
    assert helm["replicaCount"] == 2
    assert endpoints["trackerStore"]["enabled"] is True and endpoints["lockStore"]["enabled"] is True
    assert helm["redis"]["install"] is True and helm["postgresql"]["install"] is True


@pytest.mark.unit
@pytest.mark.parametrize("chart_key,endpoints_key", [("trackerStore", "tracker_store"), ("lockStore", "lock_store")])
def test_helm_stores_are_those_of_endpoints_yml(helm: Dict[str, Any], chart_key: str, endpoints_key: str) -> None:
    """The chart replaces endpoints.yml, so it must name the same stores, and only their type."""
    store = helm["applicationSettings"]["endpoints"][chart_key]
    assert store["type"] == load_yaml(ROOT / "endpoints.yml")[endpoints_key]["type"]
    module_name, class_name = store["type"].rsplit(".", 1)
    assert hasattr(__import__(module_name, fromlist=[class_name]), class_name)
    assert all(value is None for key, value in store.items() if key not in ("enabled", "type"))


@pytest.mark.unit
def test_helm_uses_the_images_entry_point(helm: Dict[str, Any]) -> None:
    assert helm["command"] == ["/app/scripts/run.sh"] and helm["args"] == ["rasa"]
    actions = helm["rasa-action-server"]
    assert actions["install"] is True
    assert actions["command"] == ["/app/scripts/run.sh"] and actions["args"] == ["actions"]
    for image in (helm["image"], actions["image"]):
        assert re.fullmatch(r"\d+\.\d+\.\d+", image["tag"])
    assert helm["applicationSettings"]["initialModel"] == "" and helm["applicationSettings"]["enableAPI"] is False


@pytest.mark.unit
def test_helm_channels_match_credentials_yml(helm: Dict[str, Any]) -> None:
    channels = helm["applicationSettings"]["credentials"]["additionalChannelCredentials"]
    assert channels == load_yaml(ROOT / "credentials.yml")


@pytest.mark.unit
def test_helm_runs_as_the_images_non_root_user(helm: Dict[str, Any]) -> None:
    users = {[i.argument for i in parse_dockerfile(path) if i.keyword == "USER"][-1] for path in DOCKERFILES.values()}
    assert len(users) == 1, users
    uid, gid = (int(part) for part in users.pop().split(":"))
    for pod in (helm, helm["rasa-action-server"]):
        assert pod["podSecurityContext"]["runAsNonRoot"] is True
        assert (pod["podSecurityContext"]["runAsUser"], pod["podSecurityContext"]["runAsGroup"]) == (uid, gid)
        assert pod["securityContext"]["allowPrivilegeEscalation"] is False
        assert pod["securityContext"]["capabilities"]["drop"] == ["ALL"]


@pytest.mark.unit
def test_helm_ingress_routes_only_the_channels_and_is_sticky(helm: Dict[str, Any]) -> None:
    ingress = helm["ingress"]
    paths = [ingress["path"]] + [extra["path"] for extra in ingress["extraPaths"]]
    assert sorted(paths) == ["/socket.io/", "/webhooks/", "/widget/"]
    assert ingress["annotations"]["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert {extra["backend"]["service"]["name"] for extra in ingress["extraPaths"]} == {helm["fullnameOverride"]}


# --- deploy/nginx.conf in front of the servers the containers run --------------------------------


def render_nginx_conf(prefix: Path, listen_port: int, rasa_ports: List[int]) -> Path:
    """deploy/nginx.conf with loopback upstreams, port and paths; everything else unchanged."""
    text = NGINX_CONF.read_text(encoding="utf-8")
    replacements = {
        "server rasa:5005;": "\n        ".join(f"server 127.0.0.1:{port};" for port in rasa_ports),
        "listen 8080;": f"listen 127.0.0.1:{listen_port};",
    }
    for old, new in replacements.items():
        assert text.count(old) == 1, f"deploy/nginx.conf no longer has exactly one {old!r}"
        text = text.replace(old, new)
    text = text.replace("/tmp/", f"{prefix}/")
    prefix.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(text, encoding="utf-8")
    return conf


def nginx_prefix(name: str) -> Path:
    """A fresh folder under tests/output (readable by nginx's unprivileged workers)."""
    prefix = OUTPUT / name
    shutil.rmtree(prefix, ignore_errors=True)
    prefix.mkdir(parents=True)
    return prefix


def start_nginx(prefix: Path, conf: Path, listen_port: int) -> subprocess.Popen:
    log = open(prefix / "nginx.log", "wb")
    process = subprocess.Popen(
        [tool("nginx"), "-p", str(prefix), "-e", "stderr", "-c", str(conf), "-g", "daemon off;"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    return process


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    """Waits until something accepts connections on ``port``, failing early if ``process`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listened on port {port} within {timeout} s")


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.service
def test_nginx_accepts_the_configuration() -> None:
    prefix = nginx_prefix("nginx-syntax")
    conf = render_nginx_conf(prefix, free_port(), [free_port(), free_port()])
    result = subprocess.run([tool("nginx"), "-t", "-p", str(prefix), "-e", "stderr", "-c", str(conf)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


@pytest.mark.service
def test_nginx_answers_json_when_no_replica_is_up() -> None:
    prefix = nginx_prefix("nginx-down")
    port = free_port()
    conf = render_nginx_conf(prefix, port, [free_port()])
    process = start_nginx(prefix, conf, port)
    try:
        wait_for_port(port, process)
        status, reply = post_json(f"http://127.0.0.1:{port}/webhooks/rest/webhook", {"sender": "a", "message": "hi"})
        assert status == 503
        assert "not available" in reply["error"] and "emergency" in reply["error"]
    finally:
        stop_process(process)


API_TOKEN = secrets.token_hex(32)


@dataclass
class Stack:
    """The action server, two Rasa replicas (API on, with a token) and nginx in front."""

    actions: ServedBot
    replicas: List[ServedBot]
    nginx: subprocess.Popen
    nginx_url: str
    nginx_log: Path


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    actions_port = free_port()
    base_env = {**os.environ, "CRISIS_REGION": "US", "ACTIONS_PORT": str(actions_port),
                "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{actions_port}/webhook"}
    for name in ("ALLOWED_ORIGINS", "DB_URL", "DB_HOST", "REDIS_URL", "REDIS_HOST", "PRIVACY_MODE", "ENABLE_API",
                 "RASA_AUTH_TOKEN", "HOST"):
        base_env.pop(name, None)
    started: List[subprocess.Popen] = []
    try:
        actions = ServedBot(start_run_sh("stack-actions.log", base_env, "actions"), 0, actions_port)
        started.append(actions.process)
        replicas = []
        for index in (1, 2):
            rasa_port = free_port()
            data_dir = OUTPUT / f"stack-replica-{index}"
            shutil.rmtree(data_dir, ignore_errors=True)
            env = {**base_env, "RASA_PORT": str(rasa_port), "DATA_DIR": str(data_dir),
                   "ENABLE_API": "true", "RASA_AUTH_TOKEN": API_TOKEN}
            replica = ServedBot(start_run_sh(f"stack-rasa-{index}.log", env, "rasa"), rasa_port, actions_port)
            started.append(replica.process)
            replicas.append(replica)
        wait_for_http(f"{actions.actions_url}/health", timeout=180, process=actions.process)
        for replica in replicas:
            wait_for_http(f"{replica.base_url}/webhooks/rest/", timeout=300, process=replica.process)
        prefix = nginx_prefix("nginx-stack")
        nginx_port = free_port()
        conf = render_nginx_conf(prefix, nginx_port, [int(r.base_url.rsplit(":", 1)[1]) for r in replicas])
        nginx = start_nginx(prefix, conf, nginx_port)
        started.append(nginx)
        nginx_url = f"http://127.0.0.1:{nginx_port}"
        wait_for_http(f"{nginx_url}/webhooks/rest/", timeout=60, process=nginx)
        yield Stack(actions, replicas, nginx, nginx_url, prefix / "nginx.log")
    finally:
        for process in reversed(started):
            if process is not None and process.args[0] == "scripts/run.sh":
                stop_bot(ServedBot(process, 0, 0))
            else:
                stop_process(process)


@pytest.mark.service
def test_rest_through_nginx(stack: Stack) -> None:
    reply = RestClient(stack.nginx_url, f"ng-{uuid.uuid4().hex[:10]}").say("how long is a session?")
    assert reply[0]["custom"]["topic"] == "session_length"


def fetch(url: str) -> Tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.service
@pytest.mark.parametrize("path", ["/widget/config.json", "/widget/widget.js", "/webhooks/socketio/"])
def test_widget_and_channel_routes_reach_rasa(stack: Stack, path: str) -> None:
    # Whatever Rasa answers on these paths, nginx passes on unchanged.
    assert fetch(stack.nginx_url + path) == fetch(stack.replicas[0].base_url + path)


@pytest.mark.service
@pytest.mark.parametrize("path", ["/conversations/x/tracker", "/status", "/model", "/domain", "/version", "/"])
def test_nginx_never_routes_the_api(stack: Stack, path: str) -> None:
    # The replicas serve the API (this token opens it directly); nginx must not route it.
    with urllib.request.urlopen(f"{stack.replicas[0].base_url}/status?token={API_TOKEN}", timeout=30) as direct:
        assert direct.status == 200
    try:
        urllib.request.urlopen(f"{stack.nginx_url}{path}?token={API_TOKEN}", timeout=30)
        pytest.fail(f"nginx routed {path}")
    except urllib.error.HTTPError as error:
        assert error.code == 404
        assert json.loads(error.read()) == {"error": "Not found."}


async def socketio_conversation(url: str, text: str) -> List[Dict[str, Any]]:
    """Opens a websocket through nginx and says ``text``; returns the bot's messages."""
    session_id = uuid.uuid4().hex
    messages: List[Dict[str, Any]] = []
    async with websockets.connect(url, open_timeout=60) as socket:
        assert (await asyncio.wait_for(socket.recv(), 60)).startswith("0{")  # engine.io open
        await socket.send("40")
        assert (await asyncio.wait_for(socket.recv(), 60)).startswith("40")  # socket.io connected
        await socket.send("42" + json.dumps(["session_request", {"session_id": session_id}]))
        await socket.send("42" + json.dumps(["user_uttered", {"message": text, "session_id": session_id}]))
        while not any("988" in m.get("text", "") for m in messages):
            packet = await asyncio.wait_for(socket.recv(), 120)
            if packet == "2":
                await socket.send("3")  # answer engine.io's ping
            elif packet.startswith("42"):
                event, *payload = json.loads(packet[2:])
                if event == "bot_uttered":
                    messages.append(payload[0])
    return messages


@pytest.mark.service
def test_socketio_websocket_upgrade_through_nginx(stack: Stack) -> None:
    url = stack.nginx_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    messages = asyncio.run(socketio_conversation(url, "hello"))
    assert any("988" in m.get("text", "") for m in messages)


@pytest.mark.service
def test_socketio_polling_session_stays_on_one_replica(stack: Stack) -> None:
    """Without sticky sessions every other request would reach the replica that has no such session."""
    base = f"{stack.nginx_url}/socket.io/?EIO=4&transport=polling"
    with urllib.request.urlopen(base, timeout=30) as response:
        opening = response.read().decode()
    assert opening.startswith("0{")
    sid = json.loads(opening[1:])["sid"]
    for packet in ["40"] + ["42" + json.dumps(["session_request", {"session_id": f"s{i}"}]) for i in range(6)]:
        request = urllib.request.Request(f"{base}&sid={sid}", data=packet.encode(), method="POST",
                                         headers={"Content-Type": "text/plain;charset=UTF-8"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200 and response.read().lower() == b"ok"


@pytest.mark.service
def test_nginx_log_keeps_no_message_text_or_query(stack: Stack) -> None:
    words = f"private words {uuid.uuid4().hex}"
    RestClient(stack.nginx_url, f"ng-{uuid.uuid4().hex[:10]}").say(words)
    try:
        urllib.request.urlopen(f"{stack.nginx_url}/status?token={API_TOKEN}", timeout=30)
    except urllib.error.HTTPError:
        pass
    log = stack.nginx_log.read_text(encoding="utf-8")
    access = [line for line in log.splitlines() if "upstream=" in line]
    assert any('"POST /webhooks/rest/webhook" 200' in line for line in access)
    assert words not in log and API_TOKEN not in log
    assert not any("127.0.0.1" in line.split("upstream=")[0] for line in access), "client addresses are logged"


def run_healthcheck(server: str, port: str) -> subprocess.CompletedProcess:
    """docker/healthcheck.py as the HEALTHCHECK runs it, with the server's port variable set."""
    env = {**os.environ, "RASA_PORT": port, "ACTIONS_PORT": port}
    return subprocess.run([str(PYTHON), str(HEALTHCHECK), server], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.service
@pytest.mark.parametrize("server", ["rasa", "actions"])
def test_container_healthcheck_passes_on_a_running_server(stack: Stack, server: str) -> None:
    url = stack.replicas[0].base_url if server == "rasa" else stack.actions.actions_url
    result = run_healthcheck(server, url.rsplit(":", 1)[1])
    assert result.returncode == 0, result.stderr


@pytest.mark.unit
@pytest.mark.parametrize("server", ["rasa", "actions"])
def test_container_healthcheck_fails_when_nothing_answers(server: str) -> None:
    result = run_healthcheck(server, str(free_port()))
    assert result.returncode == 1 and "unhealthy" in result.stderr


@pytest.mark.unit
def test_container_healthcheck_rejects_an_unknown_server() -> None:
    result = subprocess.run([str(PYTHON), str(HEALTHCHECK), "postgres"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "usage" in result.stderr
