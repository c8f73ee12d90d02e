"""The deployment check (`make deploy-check`, deploy/check.py) fails on the mistakes a service desk could make."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from bot.config import ROOT

COPIED = ["docker-compose.yml", ".dockerignore", ".env.example", "bot/Dockerfile", "nlu/Dockerfile", "deploy"]


@pytest.fixture
def deploy_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """deploy/check.py pointed at a copy of the deployment files, which a test may then break."""
    for name in COPIED:
        source, target = ROOT / name, tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy(source, target)
    spec = importlib.util.spec_from_file_location("deploy_check", ROOT / "deploy" / "check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "ROOT", tmp_path)
    monkeypatch.setattr(module, "KUBE", tmp_path / "deploy" / "kubernetes")
    return module


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_deployment_files_as_committed_pass(deploy_copy: ModuleType) -> None:
    assert deploy_copy.main() == 0


def test_a_webhook_path_changed_in_one_place_only_is_caught(deploy_copy: ModuleType) -> None:
    edit(deploy_copy.ROOT / "deploy" / "nginx" / "locations.conf", "location = /telegram", "location = /hook")
    assert any("webhook path differs" in problem for problem in deploy_copy.check_webhook_path())


def test_publishing_rasa_on_the_host_is_caught(deploy_copy: ModuleType) -> None:
    edit(deploy_copy.ROOT / "docker-compose.yml", '    expose:\n      - "5005"', '    ports:\n      - "5005:5005"')
    assert deploy_copy.check_compose() == ["compose: rasa publishes ports"]


def test_an_image_running_as_root_is_caught(deploy_copy: ModuleType) -> None:
    edit(deploy_copy.ROOT / "bot" / "Dockerfile", "USER 10001:10001", "USER root")
    assert "bot/Dockerfile: the last USER is root" in deploy_copy.check_dockerfile(
        deploy_copy.ROOT / "bot" / "Dockerfile"
    )


def test_a_real_looking_secret_in_the_template_is_caught(deploy_copy: ModuleType) -> None:
    template = deploy_copy.KUBE / "secret.example.yaml"
    edit(template, '"REPLACE-WITH-BOTFATHER-TOKEN"', '"123456:AAEexample"')
    assert any("TELEGRAM_BOT_TOKEN is not a placeholder" in problem for problem in deploy_copy.check_kube())


def test_the_bot_healthcheck_passes_on_a_healthy_server_and_fails_on_a_sick_one(deploy_copy: ModuleType) -> None:
    dockerfile = deploy_copy.ROOT / "bot" / "Dockerfile"
    assert deploy_copy.run_healthcheck(dockerfile, 200) == 0
    assert deploy_copy.run_healthcheck(dockerfile, 503) != 0
