"""Holdout: record which rows the aliased versions trained on, for versions registered before that record.

It also records the sha256 of each aliased version's model file (model_file.py) where the version
has none, after the file passed every other check: the gate and drift load no model without it.

The gate compares a champion with a candidate only on holdout rows the champion never trained on,
and learns which rows those are from the record `register` now keeps with every version (rows.py,
registry.TRAINING_ROWS). `holdout migrate` adds the record to each aliased version that lacks it:
the version's training file is the one whose hash its tag `dvc.data/prepared/train.csv` holds,
read from DVC's cache, else through DVC from the version's commit (the cache, then the remote).
A file that cannot be found, or whose hash differs, stops the command with one line; nothing is
guessed. Exit codes: 0 done, 2 a bad setting, 4 the registry or the file could not be read.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import fail
from .gate import holdout_identity
from .model_file import MODEL_SHA256, model_path, read_model, sha256
from .params import ParamsError, load_params, section
from .registry import TRAINING_COUNT, TRAINING_IDENTITY, TRAINING_ROWS, RegistryError, connect, redact
from .rows import fingerprints, to_bytes

TRAIN = "data/prepared/train.csv"
CACHE = Path(".dvc/cache/files/md5")


def training_file(tags: dict[str, str], version: str) -> bytes:
    """The bytes of the training file a version was registered with, checked against its recorded hash."""
    expected = tags.get(f"dvc.{TRAIN}")
    if not expected:
        raise RegistryError(f"v{version} has no tag dvc.{TRAIN}: which rows it trained on cannot be known")
    cached = CACHE / expected[:2] / expected[2:]
    if cached.is_file():
        data = cached.read_bytes()
    else:
        commit = tags.get("git_commit", "")
        import dvc.api
        from dvc.exceptions import DvcException

        try:
            data = dvc.api.read(TRAIN, rev=commit or None, mode="rb")
        except (DvcException, OSError, ValueError) as error:
            raise RegistryError(
                f"v{version}'s training rows ({TRAIN} at commit {commit[:12] or 'unknown'}) cannot be read: "
                f"{' '.join(str(error).split())[:300]}; fetch them first (`make pull` at that commit, or `dvc pull`)"
            ) from None
    if hashlib.md5(data).hexdigest() != expected:
        raise RegistryError(f"v{version}'s training file does not have the hash its tag records ({expected})")
    return data


def migrate(params: dict) -> list[str]:
    """Record the training rows of every aliased version that has no record; return one line per version."""
    registry, key = connect(section(params, "register")), section(params, "data").get("key")
    lines = []
    for alias, version in sorted(registry.aliases().items()):
        found = registry.version(version)
        tags = dict(getattr(found, "tags", None) or {})
        if MODEL_SHA256 not in tags:
            lines.append(record_model_hash(registry, alias, version))
        if TRAINING_IDENTITY in tags:
            lines.append(f"holdout: v{version} (@{alias}) already records its {tags.get(TRAINING_COUNT)} training rows")
            continue
        rows = pd.read_csv(io.BytesIO(training_file(tags, version)))
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / Path(TRAINING_ROWS).name
            path.write_bytes(to_bytes(fingerprints(rows, key or ())))
            artifacts = str(Path(TRAINING_ROWS).parent)
            registry.call("recording the rows", registry.client.log_artifact, found.run_id, str(path), artifacts)
        for name, value in ((TRAINING_COUNT, str(len(rows))), (TRAINING_IDENTITY, holdout_identity(key, rows))):
            registry.call("tagging", registry.client.set_model_version_tag, registry.name, version, name, value)
        lines.append(f"holdout: v{version} (@{alias}) now records its {len(rows)} training rows")
    if not lines:
        lines.append(f"holdout: {redact(registry.uri)} holds no aliased version of {registry.name!r}; nothing to do")
    return lines


def record_model_hash(registry: Any, alias: str, version: str) -> str:
    """Tag a version registered before model hashes with its model file's sha256, once the file passes the other checks.

    The file must still be skops with only allowed types (model_file.read_model), so what is
    recorded is a model this project can read; from then on, any change to it is refused.
    """
    uri = f"models:/{registry.name}/{version}"
    with tempfile.TemporaryDirectory() as folder:
        local = registry.download(uri, folder)
        digest = sha256(model_path(local, uri))
        read_model(local, digest, f"registry {redact(registry.uri)}: {uri}")
    registry.call("tagging", registry.client.set_model_version_tag, registry.name, version, MODEL_SHA256, digest)
    return f"holdout: v{version} (@{alias}) now records its model file's sha256 ({digest[:12]}…)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="holdout", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["migrate"])
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    try:
        lines = migrate(load_params(args.params))
    except RegistryError as error:
        return fail(error)
    except (ParamsError, OSError, ValueError) as error:
        return fail(error, 2)
    print("\n".join(lines))
    return 0
