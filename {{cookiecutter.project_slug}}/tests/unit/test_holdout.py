"""`make holdout-migrate`: versions registered before the records get them, checked, never guessed."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.package_name }}.loop import holdout, model_file, train
from {{ cookiecutter.package_name }}.loop.registry import TRAINING_COUNT, TRAINING_IDENTITY, RegistryError, connect

TARGET = "target value"


@pytest.fixture
def old_champion(project, client: Any, register_model: Callable, make_frame: Callable) -> tuple[str, bytes]:
    """A champion as an older template registered it: no model hash, no record of its rows; its training
    file is in DVC's cache under the hash its tag names. Return (version, that file's bytes)."""
    frame = make_frame("regression", rows=120, seed=1)
    project.params["data"] = {"task": "regression", "target": TARGET}
    project.params["gate"]["metric"] = "r2"
    project.save_params()
    version = register_model(train.fit(frame, project.params["data"], project.params["train"]))
    client.delete_model_version_tag("test-model", version, model_file.MODEL_SHA256)
    client.set_registered_model_alias("test-model", "champion", version)
    data = frame.to_csv(index=False).encode()
    md5 = hashlib.md5(data).hexdigest()
    cached = Path(".dvc/cache/files/md5") / md5[:2] / md5[2:]
    cached.parent.mkdir(parents=True)
    cached.write_bytes(data)
    client.set_model_version_tag("test-model", version, "dvc.data/prepared/train.csv", md5)
    return version, data


def test_migrate_records_the_model_hash_and_the_rows(project, old_champion, client: Any) -> None:
    version, _ = old_champion
    with pytest.raises(RegistryError, match="no tag model_sha256"):
        connect(project.params["register"]).load(version)
    lines = holdout.migrate(project.params)
    assert lines[0].startswith(f"holdout: v{version} (@champion) now records its model file's sha256 (")
    assert lines[1] == f"holdout: v{version} (@champion) now records its 120 training rows"
    tags = client.get_model_version("test-model", version).tags
    assert tags[TRAINING_COUNT] == "120" and TRAINING_IDENTITY in tags
    assert hasattr(connect(project.params["register"]).load(version), "predict")
    assert holdout.migrate(project.params) == [f"holdout: v{version} (@champion) already records its 120 training rows"]


def test_migrate_refuses_a_model_it_could_not_read_and_records_nothing(project, old_champion, client: Any) -> None:
    import pickle
    from urllib.parse import urlparse

    version, _ = old_champion
    folder = Path(urlparse(client.get_model_version_download_uri("test-model", version)).path)
    (folder / "model.skops").write_bytes(pickle.dumps(print))
    assert holdout.main(["migrate"]) == 4
    assert model_file.MODEL_SHA256 not in client.get_model_version("test-model", version).tags
