"""Read a registered model without running any code it carries.

A registered model comes back from a server or from branch `mlflow-registry`, which anyone who can
push a branch may change. MLflow loads whatever its MLmodel file names: a pickle, or skops with
the trusted types the file itself lists; both can run code. So the project reads models only here:

- the MLmodel file must name MLflow's skops format and a file beside it;
- that file must have the sha256 `register` recorded in the version's tag `model_sha256`
  (a file changed or cut short after registration is refused);
- every type in it outside skops' defaults must be one of allowed_types(): ALLOWED_TYPES, the types
  a model this project trains holds (tests/unit/test_model_file.py trains every kind to keep the
  list whole), the scikit-learn estimators and transformers the project's features.py defines, and
  its estimators.TRUSTED_TYPES;
- skops then builds the model from those types only. Nothing is unpickled.

A refusal is a RegistryError (exit 4) in one line.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from .errors import RegistryError

MODEL_SHA256 = "model_sha256"  # the version tag holding the sha256 of the model file
MLMODEL = "MLmodel"
MAX_MODEL_BYTES = 1 << 30  # 1 GiB: larger than any model this project trains on tabular data
ALLOWED_TYPES = (
    "numpy.dtype",
    "numpy.ravel",  # FunctionTransformer(np.ravel) in front of TF-IDF
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
)


def allowed_types() -> set[str]:
    """The types a registered model may hold besides skops' defaults: this project's code says, never the file."""
    import inspect

    from sklearn.base import BaseEstimator

    from .. import estimators, features

    own = {  # the estimators and transformers features.py defines, not any other class of it
        f"{value.__module__}.{value.__qualname__}"
        for value in vars(features).values()
        if inspect.isclass(value) and value.__module__ == features.__name__ and issubclass(value, BaseEstimator)
    }
    return {*ALLOWED_TYPES, *own, *estimators.TRUSTED_TYPES}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_path(folder: Path, where: str) -> Path:
    """Return the model file an MLflow model folder names, refusing any format but skops."""
    import yaml

    try:
        description = yaml.safe_load((folder / MLMODEL).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise RegistryError(f"{where}: cannot read its {MLMODEL} file: {error}") from None
    flavors = description.get("flavors") if isinstance(description, dict) else None
    flavor = flavors.get("sklearn") if isinstance(flavors, dict) else None
    if not isinstance(flavor, dict):
        raise RegistryError(f"{where}: {MLMODEL} has no scikit-learn flavor; only this project's models are loaded")
    stored = flavor.get("serialization_format")
    if stored != "skops":
        raise RegistryError(
            f"{where}: the model is stored as {str(stored)[:40]!r}; only 'skops' is loaded (a pickle can run any "
            "code); register it again from this project"
        )
    name = str(flavor.get("pickled_model", ""))
    if not name or Path(name).name != name or name in (".", ".."):
        raise RegistryError(f"{where}: {MLMODEL} names the model file {name[:80]!r}; expected a file beside it")
    path = folder / name
    if not path.is_file() or path.is_symlink():
        raise RegistryError(f"{where}: the model file {name!r} is missing")
    if path.stat().st_size > MAX_MODEL_BYTES:
        raise RegistryError(f"{where}: the model file {name!r} is larger than {MAX_MODEL_BYTES >> 20} MiB; refused")
    return path


def read_model(folder: Path, expected_sha256: str | None, where: str) -> Any:
    """Load the scikit-learn model of an MLflow model folder, or raise RegistryError saying why not."""
    from skops.io import get_untrusted_types, load

    path = model_path(folder, where)
    if not expected_sha256:
        raise RegistryError(
            f"{where}: no tag {MODEL_SHA256}, so its model file cannot be checked; "
            "run `make holdout-migrate` to record it, or register the model again"
        )
    found = sha256(path)
    if found != expected_sha256:
        raise RegistryError(
            f"{where}: the model file's sha256 is {found[:16]}…, registered as {str(expected_sha256)[:16]}…; "
            "it changed after registration"
        )
    try:
        present = get_untrusted_types(file=path)
        foreign = sorted(set(present) - allowed_types())
        if foreign:
            shown = ", ".join(name[:80] for name in foreign[:5])
            raise RegistryError(f"{where}: the model file holds types this project never saves ({shown}); refused")
        return load(path, trusted=list(present))
    except RegistryError:
        raise
    except Exception as error:  # a damaged archive: skops raises many kinds
        raise RegistryError(f"{where}: the model file cannot be read: {type(error).__name__}: {error}") from None


def logged_model_tags(registry: Any, model_uri: str, example: Any) -> dict[str, str]:
    """Return {MODEL_SHA256: digest} of a model just logged, once it reads back (read_model) and predicts `example`."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        local = registry.download(model_uri, folder)
        digest = sha256(model_path(local, model_uri))
        model = read_model(local, digest, model_uri)  # a model this project cannot read back is not registered
    try:
        model.predict(example)
    except Exception as error:
        raise RegistryError(f"{model_uri}: the model read back cannot predict its input example: {error}") from None
    return {MODEL_SHA256: digest}
