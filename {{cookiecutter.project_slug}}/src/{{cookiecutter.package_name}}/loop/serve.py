"""Serve: the champion (or a version, or the pipeline's model) behind MLflow's scoring server on 127.0.0.1.

MLflow would load whatever a downloaded model folder's MLmodel file names. So the model is first
read the way every command reads it (model_file.py: skops, the registered sha256, the allowed
types), then saved again by this process into a fresh MLflow folder (`export`), and only that
folder is served or handed to Spark or `mlflow models build-docker`. The registered signature is
kept, so the server accepts what the registered model accepts: missing values in any column.

`--export FOLDER` writes the folder and stops (README: a container image with MLflow's own command).
Exit codes: 0 stopped by Ctrl-C or written, 2 a bad setting or version, 4 the registry could not answer.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from .chosen import Chosen, choose
from .data import DataError
from .errors import fail
from .params import ParamsError, load_params
from .register import ALLOW_LOADING
from .registry import RegistryError

DEFAULT_PORT = 5001  # 5000 is MLflow's own UI


def registered_description(folder: Path | None) -> tuple[Any, Any]:
    """The signature and input example a registered model was logged with (JSON beside its MLmodel), or Nones."""
    if folder is None:
        return None, None
    from mlflow.models import Model

    try:
        logged = Model.load(str(folder))
        return logged.signature, logged.load_input_example(str(folder))
    except Exception as error:  # MLflow raises its own kinds for a damaged MLmodel or example file
        raise RegistryError(f"{folder}: the registered signature or input example cannot be read: {error}") from None


def export(chosen: Chosen, destination: Path) -> Path:
    """Save the verified model as a new MLflow folder at `destination` (replaced if it exists)."""
    import logging

    import mlflow.sklearn
    from skops.io import dumps, get_untrusted_types

    from .register import serving_check_allowed, serving_requirements

    logging.getLogger("mlflow.utils.environment").setLevel(logging.ERROR)
    signature, example = registered_description(chosen.folder)
    if destination.exists():
        if not (destination / "MLmodel").is_file():
            raise DataError(f"{destination} exists and is not a model folder; give a new or empty path")
        shutil.rmtree(destination)
    with serving_check_allowed():
        mlflow.sklearn.save_model(
            chosen.model,
            str(destination),
            serialization_format="skops",
            skops_trusted_types=get_untrusted_types(data=dumps(chosen.model)),
            signature=signature,
            input_example=example,  # MLflow writes serving_input_example.json: a request body to send
            # The package travels in the folder (code/): its features.py transformers are part of the
            # model, so an image built from the folder (`mlflow models build-docker`) needs nothing else.
            code_paths=[str(Path(__file__).resolve().parents[1])],
            pip_requirements=serving_requirements(chosen.model),
        )
    return destination


def port_is_free(port: int) -> None:
    """Exit 2 with one line when something already listens on the port (before a model is read)."""
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            sys.exit(fail(f"port {port} on 127.0.0.1 is in use; give another one (make serve PORT=5002)", 2))


def stop(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def serve(folder: Path, port: int) -> int:
    """Run `mlflow models serve` on the folder, in this environment, until it stops; return its exit code."""
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", str(folder), "--env-manager", "local",
               "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    print(f"serve: http://127.0.0.1:{port}/invocations (Ctrl-C stops it)", flush=True)
    # MLflow starts uvicorn by name: this environment's scripts come first, however serve was started.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    # The folder is the one `export` just wrote from the verified model: MLflow may load it.
    # A session of its own: MLflow runs uvicorn as a grandchild, and stopping serve stops them all.
    process = subprocess.Popen(command, env={**os.environ, "PATH": path, ALLOW_LOADING: "true"}, start_new_session=True)
    signal.signal(signal.SIGTERM, stop)
    try:
        code = process.wait()
    except KeyboardInterrupt:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        return 0
    if code:
        print(f"error: MLflow's scoring server stopped with exit code {code} (its messages are above)", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="serve", description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--version", help="a registered version (default: the champion)")
    which.add_argument("--model", help="a model file of the pipeline, e.g. models/model.joblib")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port on 127.0.0.1 (default {DEFAULT_PORT})")
    parser.add_argument("--export", metavar="FOLDER", help="write the verified MLflow model folder here and stop")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    if args.version is not None and not (args.version.isdigit() and int(args.version) > 0):
        parser.error(f"--version must be a positive integer such as 3, not {args.version!r}")
    if not 0 < args.port < 65536:
        parser.error(f"--port must be between 1 and 65535, not {args.port}")
    if not args.export:
        port_is_free(args.port)
    try:
        with tempfile.TemporaryDirectory(prefix="serve-") as scratch:
            chosen = choose(load_params(args.params), args.version, args.model, keep=Path(scratch) / "registered")
            folder = export(chosen, Path(args.export) if args.export else Path(scratch) / "model")
            which = f"v{chosen.about['version']}" if chosen.about["source"] == "registry" else chosen.about["path"]
            if args.export:
                print(f"serve: {which} written to {folder} (`mlflow models build-docker -m {folder}` builds an image)")
                return 0
            print(f"serve: {which} read and checked; starting MLflow's scoring server")
            return serve(folder, args.port)
    except RegistryError as error:
        return fail(error)
    except (DataError, ParamsError, OSError) as error:
        return fail(error, 2)
