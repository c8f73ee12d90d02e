"""Checks of the deployment files that no schema expresses (run by `make deploy-check`).

The schemas say a file is well-formed; these say the pieces fit together and stay safe: the webhook path is the
same everywhere, only the proxy is published, images run as non-root with a health check, every Deployment has
probes, limits and a locked-down container, the Secret template holds placeholders only, and the Dockerfiles'
HEALTHCHECK commands really pass against a healthy server and fail against an unhealthy one.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
KUBE = ROOT / "deploy" / "kubernetes"
PUBLISHED_SERVICE = "proxy"


def load_all(path: Path) -> list[dict[str, Any]]:
    """Every document of a YAML file (Kubernetes files hold several)."""
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def kube_objects() -> list[dict[str, Any]]:
    return [doc for path in sorted(KUBE.glob("*.yaml")) if path.name != "kustomization.yaml" for doc in load_all(path)]


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def webhook_paths() -> dict[str, str]:
    """Where the webhook path is written down, and what it says there."""
    objects = kube_objects()
    config = find(objects, "ConfigMap", "bot-config")[0]["data"]
    ingress = find(objects, "Ingress")[0]
    locations = (ROOT / "deploy" / "nginx" / "locations.conf").read_text(encoding="utf-8")
    blocks = re.split(r"^location ", locations, flags=re.M)[1:]
    proxied = [block.split()[1] for block in blocks if block.startswith("= ") and "proxy_pass $bot" in block]
    paths = {
        "ConfigMap WEBHOOK_PATH": config["WEBHOOK_PATH"],
        "ConfigMap WEBHOOK_URL": "/" + config["WEBHOOK_URL"].split("://", 1)[1].split("/", 1)[1],
        "Ingress": ingress["spec"]["rules"][0]["http"]["paths"][0]["path"],
        "nginx locations.conf": proxied[0] if len(proxied) == 1 else f"{len(proxied)} proxied locations",
    }
    example = re.search(r"^WEBHOOK_PATH=(.*)$", (ROOT / ".env.example").read_text(encoding="utf-8"), flags=re.M)
    if example and example.group(1).strip():
        paths[".env.example WEBHOOK_PATH"] = example.group(1).strip()
    return paths


def check_webhook_path() -> list[str]:
    paths = webhook_paths()
    return [] if len(set(paths.values())) == 1 else [f"the webhook path differs: {paths}"]


def check_compose() -> list[str]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services: dict[str, dict[str, Any]] = compose["services"]
    problems = [
        f"compose: {name} publishes ports"
        for name, s in services.items()
        if s.get("ports") and name != PUBLISHED_SERVICE
    ]
    problems += [
        f"compose: {name} has no env_file .env"
        for name in ("bot", "migrate")
        if services[name].get("env_file") != ".env"
    ]
    bot_deps = services["bot"].get("depends_on", {})
    if bot_deps.get("migrate", {}).get("condition") != "service_completed_successfully":
        problems.append("compose: bot does not wait for the migration to complete")
    if bot_deps.get("rasa", {}).get("condition") != "service_healthy":
        problems.append("compose: bot does not wait for rasa to be healthy")
    if services["migrate"].get("depends_on", {}).get("postgres", {}).get("condition") != "service_healthy":
        problems.append("compose: migrate does not wait for postgres to be healthy")
    if "pg_isready" not in json.dumps(services["postgres"].get("healthcheck", {})):
        problems.append("compose: postgres has no pg_isready health check")
    if services["rasa"].get("deploy", {}).get("replicas") != 2:
        problems.append("compose: rasa does not run two replicas")
    if "replicas" not in services["bot"].get("deploy", {}):
        problems.append("compose: bot has no deploy.replicas")
    return problems


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", path.read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def check_dockerfile(path: Path) -> list[str]:
    instructions = dockerfile_instructions(path)
    kinds = [kind for kind, _ in instructions]
    name = path.relative_to(ROOT)
    problems = [f"{name}: no {kind}" for kind in ("USER", "HEALTHCHECK", "EXPOSE", "CMD") if kind not in kinds]
    users = [args for kind, args in instructions if kind == "USER"]
    if users and users[-1].split(":")[0] in ("root", "0"):
        problems.append(f"{name}: the last USER is root")
    if "USER" in kinds and "CMD" in kinds and kinds.index("CMD") < len(kinds) - 1 - kinds[::-1].index("USER"):
        problems.append(f"{name}: CMD comes before the last USER")
    for kind, args in instructions:
        if kind in ("CMD", "HEALTHCHECK") and "[" in args and not healthcheck_command(args):
            problems.append(f"{name}: {kind} is not valid JSON exec form")
    return problems


def check_dockerignore() -> list[str]:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    needed = [".env", ".git", ".venv*", "models", "data", "run", "results", "tests", "deploy"]
    return [f".dockerignore: {entry} is not excluded" for entry in needed if entry not in ignored]


def check_kube() -> list[str]:
    objects = kube_objects()
    problems: list[str] = []
    for deployment in find(objects, "Deployment"):
        name = deployment["metadata"]["name"]
        problems += check_pod(f"Deployment {name}", deployment["spec"]["template"]["spec"], probes=True)
        for kind in ("Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"):
            if not find(objects, kind, name):
                problems.append(f"Deployment {name} has no {kind}")
    for job in find(objects, "Job"):
        problems += check_pod(f"Job {job['metadata']['name']}", job["spec"]["template"]["spec"], probes=False)
    bot_probes = find(objects, "Deployment", "bot")[0]["spec"]["template"]["spec"]["containers"][0]
    if (
        bot_probes["readinessProbe"]["httpGet"]["path"] != "/readyz"
        or bot_probes["livenessProbe"]["httpGet"]["path"] != "/healthz"
    ):
        problems.append("Deployment bot: readiness must ask /readyz and liveness /healthz")
    for secret in find(objects, "Secret"):
        real = [key for key, value in secret.get("stringData", {}).items() if "REPLACE" not in value]
        problems += [f"Secret {secret['metadata']['name']}: {key} is not a placeholder" for key in real]
        problems += [
            f"Secret {secret['metadata']['name']}: use stringData placeholders, not data"
            for _ in secret.get("data", {})
        ]
    return problems


def check_pod(what: str, pod: dict[str, Any], probes: bool) -> list[str]:
    problems = (
        [] if pod.get("securityContext", {}).get("runAsNonRoot") is True else [f"{what}: runAsNonRoot is not set"]
    )
    for container in pod["containers"]:
        context = container.get("securityContext", {})
        if context.get("readOnlyRootFilesystem") is not True or context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{what}: container {container['name']} is not locked down")
        if not {"requests", "limits"} <= set(container.get("resources", {})):
            problems.append(f"{what}: container {container['name']} has no requests and limits")
        if probes and not {"readinessProbe", "livenessProbe"} <= set(container):
            problems.append(f"{what}: container {container['name']} has no readiness and liveness probes")
    return problems


def healthcheck_command(args: str) -> list[str]:
    """The exec-form command of a HEALTHCHECK (options before CMD dropped), or [] if it is not exec form."""
    exec_form = args[args.index("[") :] if "[" in args else ""
    try:
        command = json.loads(exec_form)
    except json.JSONDecodeError:
        return []
    return [str(part) for part in command] if isinstance(command, list) else []


@contextmanager
def health_server(status: int) -> Iterator[int]:
    """A loopback HTTP server that answers every GET with `status`; yields its port."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"Hello from the check\n")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def run_healthcheck(dockerfile: Path, status: int) -> int:
    """Run the image's HEALTHCHECK command here against a server answering `status`; its exit code."""
    args = next(args for kind, args in dockerfile_instructions(dockerfile) if kind == "HEALTHCHECK")
    command = healthcheck_command(args)
    with health_server(status) as port:
        # The bot's command reads its port from WEBHOOK_LISTEN; Rasa's names 5005, which is replaced here.
        command = [sys.executable if part == "python" else part.replace(":5005", f":{port}") for part in command]
        env = {**os.environ, "WEBHOOK_LISTEN": f"127.0.0.1:{port}"}
        return subprocess.run(command, env=env, capture_output=True, timeout=20, check=False).returncode


def check_healthchecks() -> list[str]:
    problems = []
    for dockerfile in (ROOT / "bot" / "Dockerfile", ROOT / "nlu" / "Dockerfile"):
        name = dockerfile.relative_to(ROOT)
        if run_healthcheck(dockerfile, 200) != 0:
            problems.append(f"{name}: HEALTHCHECK fails against a healthy server")
        if run_healthcheck(dockerfile, 503) == 0:
            problems.append(f"{name}: HEALTHCHECK passes against a server answering 503")
    return problems


def main() -> int:
    checks = {
        "webhook path agrees everywhere": check_webhook_path,
        "compose: only the proxy published, start order, replicas": check_compose,
        "Dockerfiles: non-root USER, HEALTHCHECK, EXPOSE, exec-form CMD": lambda: [
            problem
            for path in (ROOT / "bot" / "Dockerfile", ROOT / "nlu" / "Dockerfile")
            for problem in check_dockerfile(path)
        ],
        ".dockerignore excludes secrets and what no image needs": check_dockerignore,
        "Kubernetes: probes, limits, non-root, read-only root, Service/PDB/HPA each, placeholder Secret": check_kube,
        "HEALTHCHECK commands run here: pass on 200, fail on 503": check_healthchecks,
    }
    failed = 0
    for title, check in checks.items():
        problems = check()
        print(f"{'ok  ' if not problems else 'FAIL'} {title}")
        for problem in problems:
            print(f"     {problem}")
        failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
