"""Where `predict` writes: a local file, or an object-store URL (s3://, gs://, az://), whole or not at all.

Chunks go to a hidden file beside a local output (in a temporary folder for a URL). Only when every
chunk scored does that file replace the output, or get uploaded, followed by the sidecar
`<output>.json`; any failure before removes the partial file and leaves the output as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from .predict_input import CSV, PARQUET, PredictError, one_line

SIDECAR = ".json"
OBJECT_STORES = {"s3": "s3fs", "gs": "gcsfs", "gcs": "gcsfs", "az": "adlfs", "abfs": "adlfs"}


class Writer:
    """Write chunks to a hidden file beside the output; `finish` moves it into place, `discard` removes it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        os.close(handle)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(name, 0o666 & ~umask)  # as open() would make it, not mkstemp's owner-only mode
        self.scratch = Path(name)
        self.parquet = path.suffix.lower() in PARQUET
        self.rows, self.columns, self._writer = 0, [], None
        self.sidecar = b""  # set by predict once every chunk is written

    def write(self, frame: pd.DataFrame) -> None:
        if self.parquet:
            import pyarrow

            table = pyarrow.Table.from_pandas(frame, preserve_index=False)
            if self._writer is None:
                import pyarrow.parquet

                self._writer = pyarrow.parquet.ParquetWriter(self.scratch, table.schema)
            elif table.schema != self._writer.schema:
                try:
                    table = table.cast(self._writer.schema)
                except (ValueError, TypeError, pyarrow.ArrowInvalid) as error:
                    raise PredictError(
                        f"the input's columns change type between chunks ({error}); write CSV output, or give "
                        "a larger CHUNK_ROWS"
                    ) from None
            self._writer.write_table(table)
        else:
            frame.to_csv(self.scratch, mode="a" if self.rows or self.columns else "w", header=not self.columns,
                         index=False)  # fmt: skip
        self.columns = self.columns or [str(column) for column in frame.columns]
        self.rows += len(frame)

    def finish(self) -> None:
        if self._writer is not None:
            self._writer.close()
        os.replace(self.scratch, self.path)

    def discard(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self.scratch.unlink(missing_ok=True)


class Destination:
    """The output named on the command line: checked before anything is read."""

    def __init__(self, output: str, source: str) -> None:
        self.output = output
        scheme = urllib.parse.urlsplit(output).scheme.lower()
        self.remote = scheme in OBJECT_STORES
        if scheme and len(scheme) > 1 and not self.remote:
            raise PredictError(
                f"output {shown(output)}: unsupported scheme {scheme}://; allowed: a path, s3://, gs://, az://"
            )
        suffix = Path(urllib.parse.urlsplit(output).path if self.remote else output).suffix.lower()
        if suffix not in CSV + PARQUET:
            raise PredictError(f"output {shown(output)}: unsupported format {suffix!r}; use .csv, .parquet or .pq")
        if not self.remote:
            if Path(source).resolve() == Path(output).resolve():
                raise PredictError(f"output {output} is the input; write the predictions to another file")
            if Path(output).is_dir():
                raise PredictError(f"output {output} is a folder; give a file name ending in .csv or .parquet")
            if Path(f"{output}{SIDECAR}").is_dir():
                raise PredictError(f"{output}{SIDECAR} is a folder; the sidecar is written there: remove it")
        self.suffix = suffix

    def check_not_among(self, inputs: list[Path]) -> None:
        """Refuse an output that is one of the input's files (a glob matching the last run's output)."""
        if not self.remote and any(path.resolve() == Path(self.output).resolve() for path in inputs):
            raise PredictError(f"output {self.output} is one of the input's files; write the predictions elsewhere")

    @contextlib.contextmanager
    def writer(self) -> Iterator[Writer]:
        """A Writer whose file becomes the output (and its `sidecar` bytes the sidecar) if the block succeeds."""
        with tempfile.TemporaryDirectory(prefix="predict-") as scratch:
            local = Path(scratch) / f"predictions{self.suffix}" if self.remote else Path(self.output)
            writer = Writer(local)
            try:
                yield writer
                if self.remote:
                    writer.finish()
                    upload(local, writer.sidecar, self.output)
                else:
                    self.finish_with_sidecar(writer)
            except BaseException:
                writer.discard()
                raise

    def finish_with_sidecar(self, writer: Writer) -> None:
        """Write the sidecar beside the output first, then move both into place: never one without the other."""
        sidecar = Path(f"{self.output}{SIDECAR}")
        scratch = sidecar.with_name(f".{sidecar.name}.{os.getpid()}.partial")
        try:
            scratch.write_bytes(writer.sidecar)
            writer.finish()
            os.replace(scratch, sidecar)
        finally:
            scratch.unlink(missing_ok=True)


def upload(local: Path, sidecar: bytes, url: str) -> None:
    """Put the finished file at `url`, then its sidecar; a refused upload is one line."""
    try:
        import fsspec

        filesystem, path = fsspec.core.url_to_fs(url)
        filesystem.put_file(str(local), path)
        filesystem.pipe_file(f"{path}{SIDECAR}", sidecar)
    except ImportError:
        scheme = urllib.parse.urlsplit(url).scheme.lower()
        raise PredictError(
            f"output {shown(url)}: {scheme}:// needs the {OBJECT_STORES[scheme]} package, which the project installs "
            "when its DVC remote is on that store"
        ) from None
    except Exception as error:  # fsspec's backends raise their own kinds: refused, no bucket, no credentials
        raise PredictError(f"output {shown(url)}: cannot be written: {one_line(error)}") from None


def shown(location: str) -> str:
    """The location without credentials or query string, for messages."""
    parts = urllib.parse.urlsplit(location)
    if not parts.scheme or len(parts.scheme) == 1:
        return location
    return urllib.parse.urlunsplit((parts.scheme, parts.hostname or "", parts.path, "", ""))
