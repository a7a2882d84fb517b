"""Register: provenance, the refusal rules, and the aliases a registration moves."""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from conftest import write_card

from {{ cookiecutter.package_name }}.loop import gate, metrics, register, train

TARGET = "target value"
# MLflow's advice about integer columns in the signature of the synthetic table is not a test result.
pytestmark = pytest.mark.filterwarnings("ignore:Hint. Inferred schema contains integer column:UserWarning")


def test_flatten_uses_dotted_keys() -> None:
    nested = {"train": {"model": "linear", "linear": {"alpha": 1.0}, "random_forest": {"max_depth": None}}, "a": 1}
    assert register.flatten(nested) == {
        "train.model": "linear",
        "train.linear.alpha": 1.0,
        "train.random_forest.max_depth": None,
        "a": 1,
    }
    assert register.flatten({}) == {}


def test_data_hashes_keep_data_and_model_files() -> None:
    lock = {
        "schema": "2.0",
        "stages": {
            "ingest": {
                "deps": [
                    {"path": "data/raw/data.csv", "hash": "md5", "md5": "raw", "size": 10},
                    {"path": "src/package/ingest.py", "md5": "code"},
                ],
                "params": {"params.yaml": {"ingest": {"seed": 42}}},
                "outs": [{"path": "data/prepared/train.csv", "md5": "train"}],
            },
            "train": {"deps": None, "outs": [{"path": "models/model.joblib", "md5": "model"}]},
            "validate": {"outs": [{"path": "reports/validation/docs", "md5": "docs.dir"}]},
            "gate": {"outs": [{"path": "data/no-hash.csv"}]},
        },
    }
    assert register.data_hashes(lock) == {
        "dvc.data/raw/data.csv": "raw",
        "dvc.data/prepared/train.csv": "train",
        "dvc.models/model.joblib": "model",
    }
    assert register.data_hashes({}) == {}


def test_git_provenance_outside_a_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert register.git_provenance() == {"git_commit": "unknown", "git_dirty": "False"}


def test_git_provenance_names_the_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@localhost"]
    subprocess.run([*git, "init", "--quiet"], check=True)
    Path("file.txt").write_text("one\n", encoding="utf-8")
    subprocess.run([*git, "add", "file.txt"], check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", "first"], check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    assert register.git_provenance() == {"git_commit": head, "git_dirty": "False"}
    Path("file.txt").write_text("two\n", encoding="utf-8")
    assert register.git_provenance()["git_dirty"] == "True"


def test_check_decision_refuses_a_failed_gate(tmp_path: Path) -> None:
    with pytest.raises(register.RegisterError, match="the gate failed"):
        register.check_decision({"passed": False}, str(tmp_path / "model.joblib"))


def test_check_decision_refuses_another_model(tmp_path: Path) -> None:
    model = tmp_path / "model.joblib"
    model.write_bytes(b"retrained since the gate")
    with pytest.raises(register.RegisterError, match="is not the model the gate judged; run `dvc repro` first"):
        register.check_decision({"passed": True, "model_md5": "0" * 32}, str(model))
    register.check_decision({"passed": True, "model_md5": gate.file_md5(model)}, str(model))


@pytest.fixture
def candidate(project, task_data: pd.DataFrame, data_settings: dict) -> Callable[..., list[str]]:
    """Save a fitted candidate, its metrics and a gate decision; return the arguments of `register`."""
    import joblib

    project.use_synthetic(task_data.tail(60), "data/prepared/holdout.csv")
    project.use_synthetic(task_data.head(90), "data/prepared/train.csv")
    project.params["gate"]["baseline_margin"] = 0.0  # the decisions below give the candidate 0.5
    project.save_params()
    lock = {"stages": {"train": {"outs": [{"path": "models/model.joblib", "md5": "lockedmd5"}]}}}
    Path("dvc.lock").write_text(yaml.safe_dump(lock), encoding="utf-8")

    def save(variant: int = 0, passed: bool = True, champion: dict | None = None) -> list[str]:
        """Each variant is fitted on a different number of rows, so it is a different model file."""
        Path("models").mkdir(exist_ok=True)
        fitted = train.fit(task_data.head(90 + variant), data_settings, project.params["train"])
        joblib.dump(fitted, "models/model.joblib")
        metric = project.params["gate"]["metric"]
        Path("metrics.json").write_text(json.dumps({metric: 0.5, "holdout_rows": 60}), encoding="utf-8")
        decision = {"passed": passed, "metric": metric, "candidate": 0.5, "champion": champion}
        decision["model_md5"] = gate.file_md5("models/model.joblib")
        Path("gate.json").write_text(json.dumps(decision), encoding="utf-8")
        card = write_card(project.params)
        return [
            *card,
            "--model",
            "models/model.joblib",
            "--holdout",
            "data/prepared/holdout.csv",
            "--train",
            "data/prepared/train.csv",
            "--gate",
            "gate.json",
            "--metrics",
            "metrics.json",
        ]

    return save


def test_main_registers_with_provenance_and_aliases(
    client: Any,
    aliases: Callable,
    candidate: Callable[..., list[str]],
    project,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_OUTPUT", str(project.root / "github-output"))
    assert register.main(candidate()) == 0
    assert (project.root / "github-output").read_text(encoding="utf-8") == "version=1\n"  # train.yml's announce job
    name = project.params["register"]["model_name"]
    assert aliases(name) == {"challenger": "1", "champion": "1"}
    tags = client.get_model_version(name, "1").tags
    assert tags["model_md5"] == gate.file_md5("models/model.joblib")
    assert tags["dvc.models/model.joblib"] == "lockedmd5"
    assert tags["gate"] == "passed"
    assert json.loads(tags["params"]) == project.params
    assert {"git_commit", "git_dirty"} <= set(tags)
    assert capsys.readouterr().out.endswith(f"register: '{name}' version 1: aliases challenger, champion\n")


def test_registering_the_same_model_again_adds_no_version(
    client: Any, aliases: Callable, candidate: Callable[..., list[str]], project, capsys: pytest.CaptureFixture[str]
) -> None:
    name = project.params["register"]["model_name"]
    assert register.main(candidate(variant=1)) == 0
    # Each decision names the champion it was gated against, so register does not gate again.
    assert register.main(candidate(variant=2, champion={"version": "1", "value": 0.5})) == 0
    assert register.main(candidate(variant=2, champion={"version": "2", "value": 0.5})) == 0
    assert "this model is already version 2" in capsys.readouterr().out
    assert len(client.search_model_versions(f"name = '{name}'")) == 2
    assert aliases(name) == {"challenger": "2", "champion": "2", "previous-champion": "1"}


def test_main_refuses_a_failed_gate(
    client: Any, candidate: Callable[..., list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert register.main(candidate(passed=False)) == 1
    assert capsys.readouterr().err == "error: the gate failed (see reports/gate.json); nothing registered\n"
    assert client.search_registered_models() == []


def test_main_refuses_a_model_changed_after_the_gate(
    client: Any, candidate: Callable[..., list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    args = candidate()
    Path("models/model.joblib").write_bytes(b"something else")
    assert register.main(args) == 1
    assert "is not the model the gate judged" in capsys.readouterr().err
    assert client.search_registered_models() == []


def test_main_gates_again_when_the_champion_moved(
    client: Any,
    register_model: Callable[[Any], str],
    candidate: Callable[..., list[str]],
    project,
    task_data: pd.DataFrame,
    data_settings: dict,
    capsys: pytest.CaptureFixture[str],
) -> None:
    name, metric = project.params["register"]["model_name"], project.params["gate"]["metric"]
    args = candidate()  # gated against no champion, with a score of 0.5
    seen = task_data.head(100)  # never the holdout rows (the tail)
    champion = register_model(train.fit(seen, data_settings, project.params["train"]), name, trained_on=seen)
    client.set_registered_model_alias(name, "champion", champion)
    higher = metrics.METRICS[metric].higher_is_better
    low = metrics.METRICS[metric].low
    project.params["gate"].update(threshold=(low if math.isfinite(low) else -1e9) if higher else 1e9, tolerance=0.0)
    project.save_params()
    champion_value = gate.score_champion(
        project.params["register"], data_settings["task"], metric, pd.read_csv("data/prepared/holdout.csv"), TARGET
    )["value"]
    worse = champion_value - 1 if higher else champion_value + 1
    decision = json.loads(Path("gate.json").read_text(encoding="utf-8"))
    Path("gate.json").write_text(json.dumps({**decision, "candidate": worse}), encoding="utf-8")
    assert register.main(args) == 1
    captured = capsys.readouterr()
    assert f"champion moved from vNone to v{champion} since the gate ran; gating again" in captured.out
    assert captured.err.endswith("error: the candidate fails the gate against the new champion; nothing registered\n")
    assert len(client.search_model_versions(f"name = '{name}'")) == 1


def test_main_logs_the_model_card_with_the_version(
    client: Any, candidate: Callable[..., list[str]], project, capsys: pytest.CaptureFixture[str]
) -> None:
    args = candidate()
    Path(".cookiecutter.json").write_text(json.dumps({"project_name": "Churn <b>", "description": "@team"}))
    assert register.main([*args, *write_card(project.params)]) == 0
    name = project.params["register"]["model_name"]
    run_id = client.get_model_version(name, "1").run_id
    assert sorted(entry.path for entry in client.list_artifacts(run_id, "card")) == [
        "card/model-card.json",
        "card/model-card.md",
    ]
    folder = Path(client.download_artifacts(run_id, "card", str(project.root / "downloaded")))
    text = (folder / "model-card.md").read_text(encoding="utf-8")
    assert text.startswith(f"# Model card: {name} version 1\n")
    assert "Churn &lt;b&gt;: @&#8203;team" in text and "## Known limits" in text
    document = json.loads((folder / "model-card.json").read_text(encoding="utf-8"))
    assert document["model"]["version"] == "1" and document["model_md5"] == gate.file_md5("models/model.joblib")
    assert document["gate"]["passed"] is True and document["gate"]["allow_leakage"] is False


def test_main_refuses_the_card_of_another_model(
    client: Any, candidate: Callable[..., list[str]], project, capsys: pytest.CaptureFixture[str]
) -> None:
    args = candidate()
    assert register.main([*args, *write_card(project.params, model_md5="0" * 32)]) == 1
    assert capsys.readouterr().err == (
        "error: reports/card.json is the card of another model, not this one's; run `dvc repro`; nothing registered\n"
    )
    assert client.search_registered_models() == []


def test_main_without_a_card_registers_nothing(
    client: Any, candidate: Callable[..., list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert register.main([*candidate(), "--card", "absent.json"]) == 1
    assert capsys.readouterr().err == (
        "error: absent.json is missing: the evaluate stage writes it (run `make repro`); nothing registered\n"
    )
    assert client.search_registered_models() == []
