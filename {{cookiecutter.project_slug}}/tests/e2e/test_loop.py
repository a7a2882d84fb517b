"""The whole loop on a sample of the project's data, in a throwaway folder and registry.

profile -> ingest -> validate -> train -> evaluate -> gate -> register, run with the commands
and paths of dvc.yaml; then a worse candidate is stopped by the gate and by register, a second
good one becomes champion, and rollback and promote move the aliases.
"""

from __future__ import annotations

import copy
import json
import math
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }}.loop import cli, gate, metrics

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    # MLflow's advice about integer columns in the model signature is not a test result.
    pytest.mark.filterwarnings("ignore:Hint. Inferred schema contains integer column:UserWarning"),
]

PROJECT_ROOT = Path(__file__).parents[2]
# Enough rows that the holdout (a fifth) can show a real model beats the trivial baseline beyond
# chance, which the gate demands on any data; 200 rows left 40 holdout rows, too few on hard data.
SAMPLE_ROWS = 1000
REGISTER = [  # as in the Makefile's `register` target
    "register",
    *("--model", "models/model.joblib", "--train", "data/prepared/train.csv", "--holdout", "data/prepared/holdout.csv"),
    *("--gate", "reports/gate.json", "--metrics", "reports/metrics.json"),
]


def stage_commands() -> dict[str, list[str]]:
    """The command of each dvc.yaml stage, without `python -m <package>`."""
    stages = yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    return {name: shlex.split(stage["cmd"])[3:] for name, stage in stages.items()}


def run_stages(*names: str) -> int:
    """Run stages in order like `dvc repro`: stop at the first that fails, return its exit code."""
    commands = stage_commands()
    for name in names:
        code = cli.main(commands[name])
        if code != 0:
            return code
    return 0


def read_json(path: str) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def retuned(model: str, options: dict[str, Any]) -> dict[str, Any]:
    """The same estimator with one setting changed, so the second candidate is a different model file."""
    if model == "random_forest":
        return {**options, "n_estimators": options.get("n_estimators", 100) + 10}
    if model == "gradient_boosting":
        return {**options, "max_iter": options.get("max_iter", 100) + 10}
    return {**options, "alpha": float(options.get("alpha", 1.0)) * 2}


def lenient(metric: str) -> float:
    """A threshold every model reaches: the sample is too small to hold the project's quality bar."""
    bounds = metrics.METRICS[metric]
    if bounds.higher_is_better:
        return bounds.low if math.isfinite(bounds.low) else -1e9
    return 1e9


def git_commit_all() -> str:
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@localhost"]
    subprocess.run([*git, "init", "--quiet"], check=True)
    subprocess.run([*git, "add", "params.yaml"], check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", "sample project"], check=True)
    return subprocess.run(["git", "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()


def first_candidate_becomes_champion(client: Any, aliases: Callable, params: dict[str, Any], head: str) -> None:
    """The suite of the sample (`make suite`), then `dvc repro`, then `make register`."""
    name = params["register"]["model_name"]
    assert cli.main(["profile", "--data", "data/raw/data.csv", "--suite", "expectations/suite.json"]) == 0
    assert run_stages("ingest", "validate", "train", "evaluate", "gate") == 0
    assert read_json("reports/validation/summary.json")["success"] is True
    assert set(metrics.names_for(params["data"]["task"])) < set(read_json("reports/metrics.json"))
    plots = list(Path("reports/plots").glob("*.png"))
    assert len(plots) >= 2 and all(path.stat().st_size > 0 for path in plots)
    decision = read_json("reports/gate.json")
    assert (decision["passed"], decision["champion"]) == (True, None)
    assert cli.main(REGISTER) == 0

    assert [str(version.version) for version in client.search_model_versions(f"name = '{name}'")] == ["1"]
    assert aliases(name) == {"challenger": "1", "champion": "1"}
    tags = client.get_model_version(name, "1").tags
    assert tags["git_commit"] == head
    assert tags["model_md5"] == gate.file_md5("models/model.joblib")
    assert json.loads(tags["params"]) == params


def worse_candidate_is_stopped(client: Any, aliases: Callable, params: dict[str, Any], capsys: Any) -> None:
    """The same model trained on shuffled labels fails the gate against champion v1, and register refuses it."""
    name, target = params["register"]["model_name"], params["data"]["target"]
    training = pd.read_csv("data/prepared/train.csv")
    training[target] = np.random.default_rng(0).permutation(training[target].to_numpy())
    training.to_csv("data/prepared/train.csv", index=False)
    capsys.readouterr()
    assert run_stages("train", "evaluate", "gate") == 1
    decision = read_json("reports/gate.json")
    assert decision["passed"] is False
    assert decision["champion"]["version"] == "1"
    assert f"is worse than champion v1 ({decision['champion']['value']:.4f})" in decision["reasons"][-1]
    no_skill = decision["reasons"][-2]  # shuffled labels: no better than the class shares either
    assert "does not beat the baseline" in no_skill or "but not beyond chance" in no_skill
    assert capsys.readouterr().err.startswith("gate: FAILED\n")
    assert cli.main(REGISTER) == 1
    assert capsys.readouterr().err == "error: the gate failed (see reports/gate.json); nothing registered\n"
    assert aliases(name) == {"challenger": "1", "champion": "1"}
    assert len(client.search_model_versions(f"name = '{name}'")) == 1


def second_candidate_becomes_champion(aliases: Callable, project: Any) -> None:
    """A retuned model on the real labels. The comparison is lenient: on 40 holdout rows two good
    models can differ by more than the tolerance, and this part is about the aliases."""
    params = project.params
    model = params["train"]["model"]
    params["train"][model] = retuned(model, params["train"].get(model) or {})
    metric = metrics.METRICS[params["gate"]["metric"]]
    best = metric.high if metric.higher_is_better else metric.low
    params["gate"]["tolerance"] = 0.99 * abs(best - params["gate"]["threshold"])  # as lenient as params.yaml allows
    project.save_params()
    assert run_stages("ingest", "train", "evaluate", "gate") == 0
    assert read_json("reports/gate.json")["champion"]["version"] == "1"
    assert cli.main(REGISTER) == 0
    assert aliases(params["register"]["model_name"]) == {"challenger": "2", "champion": "2", "previous-champion": "1"}


def rollback_and_promote_move_champion(aliases: Callable, name: str, capsys: Any) -> None:
    """Rollback swaps champion and previous-champion; promote points champion at any version."""
    assert cli.main(["rollback"]) == 0
    assert aliases(name) == {"challenger": "2", "champion": "1", "previous-champion": "2"}
    assert cli.main(["rollback"]) == 0
    assert aliases(name) == {"challenger": "2", "champion": "2", "previous-champion": "1"}
    assert cli.main(["promote", "--version", "1"]) == 0
    assert aliases(name) == {"challenger": "2", "champion": "1", "previous-champion": "2"}
    capsys.readouterr()
    assert cli.main(["promote", "--version", "99"]) == 1
    assert capsys.readouterr().err == f"error: model '{name}' has no version 99\n"
    assert aliases(name)["champion"] == "1"


def test_loop(
    project,
    client: Any,
    aliases: Callable[..., dict[str, str]],
    raw_data: pd.DataFrame,
    project_params: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    params = project.params
    params["train"] = copy.deepcopy(project_params["train"])  # the project's real model settings
    params["gate"]["threshold"] = lenient(params["gate"]["metric"])
    project.save_params()
    project.write_csv(raw_data.sample(min(SAMPLE_ROWS, len(raw_data)), random_state=0), "data/raw/data.csv")
    head = git_commit_all()

    first_candidate_becomes_champion(client, aliases, params, head)
    worse_candidate_is_stopped(client, aliases, params, capsys)
    second_candidate_becomes_champion(aliases, project)
    rollback_and_promote_move_champion(aliases, params["register"]["model_name"], capsys)
