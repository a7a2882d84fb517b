"""Refresh: bring the latest labelled data into data/raw/data.csv from `refresh.source`, validated first.

The source (params.yaml `refresh.source`) is `demo` (a plausible next batch drawn from the data
itself, so the loop runs out of the box), a local path or glob, an http(s):// URL, an object
store URL (s3://, gs://, az://) read with the filesystem package the project's DVC remote installs,
or `dvc`: the file `refresh.dvc.path` of another repository `refresh.dvc.repo` at `refresh.dvc.rev`,
read as `dvc import` reads it (from that repository's DVC remote, or from Git).
`refresh.policy` says what the snapshot becomes: `replace` (the source is the whole data set) or
`append` (every row kept, the source's new rows added; a row whose `refresh.key` (else
`data.key`) a newer source row has replaces it; the newest `refresh.max_rows` kept). The
combined snapshot must have the same columns as the data it replaces and pass the expectation
suite before anything is written; then data/raw/data.csv is replaced in one step and
reports/refresh/ says what changed (rows added and removed, each removed row in removed.csv,
hashes, time range).

Exit codes: 0 refreshed or nothing new (`changed=false` to $GITHUB_OUTPUT), 2 a bad setting, an
unreachable source, a schema change or a snapshot that fails validation (one line; nothing written).
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import io
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pandas as pd

from .data import DataError, read_table
from .errors import fail, output, printable
from .files import replace_bytes
from .markdown import code_span, escape_text
from .params import ParamsError, load_params, section
from .rows import identities
from .strict_json import dumps

RAW = Path("data/raw/data.csv")
SUITE = Path("expectations/suite.json")
OUT = Path("reports/refresh")
REMOVED = "removed.csv"
OBJECT_STORES = {"s3": "s3 (s3fs)", "gs": "gs (gcsfs)", "gcs": "gs (gcsfs)", "az": "azure (adlfs)",
                 "abfs": "azure (adlfs)"}  # fmt: skip
HTTP_TIMEOUT = 60  # seconds a server may stay silent
HTTP_DEADLINE = 600  # seconds a whole download may take, however the server trickles
MAX_BYTES = 2 * 1024**3  # a source this large, read or decompressed, belongs in DVC, not in one CSV


class RefreshError(DataError):
    """The refresh cannot go ahead: the message names the source, setting or check and what is allowed."""


def shown(source: str) -> str:
    """The source without credentials or query string, for messages and reports."""
    parts = urllib.parse.urlsplit(source)
    if not parts.scheme or len(parts.scheme) == 1:  # a path (C: on Windows is not a scheme)
        return source
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urllib.parse.urlunsplit((parts.scheme, host + port, parts.path, "", ""))


def parse(data: bytes, name: str) -> pd.DataFrame:
    suffix = Path(urllib.parse.urlsplit(name).path).suffix.lower()
    try:
        if suffix in {".parquet", ".pq"}:
            return read_parquet(io.BytesIO(data), name)
        return pd.read_csv(io.BytesIO(data))
    except (ValueError, OSError, pd.errors.ParserError) as error:
        raise RefreshError(f"refresh.source {shown(name)}: cannot be read as {suffix[1:] or 'csv'}: {error}") from None


def read_parquet(source: Any, name: str) -> pd.DataFrame:
    """Read Parquet a thousand rows at a time, refusing it once the rows read hold more than MAX_BYTES.

    A small file can expand without bound (one long value repeated, stored once); the size on disk
    says nothing, so the decoded size is counted as it is read.
    """
    import pyarrow
    import pyarrow.parquet

    try:
        found = pyarrow.parquet.ParquetFile(source)
        batches, size = [], 0
        for batch in found.iter_batches(batch_size=1024):
            size += batch.nbytes
            if size > MAX_BYTES:
                raise RefreshError(
                    f"refresh.source {shown(name)}: decompresses to more than {MAX_BYTES / 2**30:g} GiB; "
                    "track data this large with DVC"
                )
            batches.append(batch)
        return pyarrow.Table.from_batches(batches, schema=found.schema_arrow).to_pandas()
    except RefreshError:
        raise
    except Exception as error:  # pyarrow raises its own kinds for a file that is not Parquet
        raise RefreshError(f"refresh.source {shown(name)}: cannot be read as parquet: {error}") from None


class SameSchemeRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to http(s), never from https down to http; say where without secrets."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        old, new = urllib.parse.urlsplit(req.full_url).scheme, urllib.parse.urlsplit(newurl).scheme.lower()
        if new not in ("http", "https") or (old == "https" and new != "https"):
            raise RefreshError(
                f"refresh.source {shown(req.full_url)}: redirected to {shown(newurl)}; only a redirect to "
                f"http(s) is followed, and from https only to https"
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def download(source: str) -> bytes:
    """The body of an http(s) source, at most MAX_BYTES, within HTTP_DEADLINE; credentials in the URL
    go in an Authorization header and never into a message."""
    import base64
    import http.client
    import time

    parts = urllib.parse.urlsplit(source)
    host = parts.hostname or ""
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        raise RefreshError(f"refresh.source {shown(source)}: the port is not a number") from None
    plain = urllib.parse.urlunsplit((parts.scheme, host + port, parts.path, parts.query, ""))
    request = urllib.request.Request(plain)
    if parts.username is not None:
        pair = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
        request.add_header("Authorization", "Basic " + base64.b64encode(pair.encode()).decode())
    opener = urllib.request.build_opener(SameSchemeRedirects())
    deadline = time.monotonic() + HTTP_DEADLINE
    chunks, size = [], 0
    try:
        with opener.open(request, timeout=HTTP_TIMEOUT) as response:
            while True:
                if time.monotonic() > deadline:
                    raise RefreshError(
                        f"refresh.source {shown(source)}: not downloaded within {HTTP_DEADLINE} s; refused"
                    )
                chunk = response.read1(1 << 20)
                if not chunk:
                    break
                size += len(chunk)
                if size > MAX_BYTES:
                    raise RefreshError(
                        f"refresh.source {shown(source)}: larger than 2 GB; track data this large with DVC"
                    )
                chunks.append(chunk)
    except RefreshError:
        raise
    except urllib.error.HTTPError as error:
        if 300 <= error.code < 400:  # urllib refuses a redirect to file:, ftp: and the like itself
            raise RefreshError(
                f"refresh.source {shown(source)}: redirected to {shown(str(error.filename or ''))}; only a "
                "redirect to http(s) is followed, and from https only to https"
            ) from None
        raise RefreshError(f"refresh.source {shown(source)}: cannot be fetched: HTTP {error.code}") from None
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", None) or error
        text = str(reason)
        for secret in filter(None, (parts.username, parts.password, parts.query, parts.netloc)):
            text = text.replace(secret, "***")  # a library's message may quote the URL
        raise RefreshError(
            f"refresh.source {shown(source)}: cannot be fetched: {type(error).__name__}: {text}"
        ) from None
    return b"".join(chunks)


def fetch(source: str, raw: pd.DataFrame, settings: dict[str, Any], params: dict[str, Any]) -> pd.DataFrame:
    """Return the source's rows."""
    scheme = urllib.parse.urlsplit(source).scheme.lower()
    if source == "demo":
        return demo_batch(raw, settings, params)
    if source == "dvc":
        return fetch_dvc(settings)
    if scheme in {"http", "https"}:
        return parse(download(source), source)
    if scheme in OBJECT_STORES:
        return fetch_object(source, scheme)
    if scheme and len(scheme) > 1:
        raise RefreshError(
            f"refresh.source {shown(source)}: unsupported scheme {scheme}://; allowed: demo, dvc, a path or glob, "
            "http(s)://, s3://, gs://, az://"
        )
    paths = sorted(glob.glob(source)) if glob.has_magic(source) else [source]
    if not paths or not all(Path(path).is_file() for path in paths):
        raise RefreshError(f"refresh.source {source}: no such file{' matches' if glob.has_magic(source) else ''}")
    frames = []
    for path in paths:  # a local file gets the limits a download gets
        if Path(path).stat().st_size > MAX_BYTES:
            raise RefreshError(f"refresh.source {path}: larger than 2 GB; track data this large with DVC")
        parquet = Path(path).suffix.lower() in {".parquet", ".pq"}
        frames.append(read_parquet(path, path) if parquet else read_table(path))
    return pd.concat(frames, ignore_index=True)


def fetch_object(source: str, scheme: str) -> pd.DataFrame:
    import fsspec

    try:
        with fsspec.open(source, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except ImportError:
        raise RefreshError(
            f"refresh.source {shown(source)}: {scheme}:// needs the {OBJECT_STORES[scheme]} package, which the "
            f"project installs when its DVC remote is {OBJECT_STORES[scheme].split()[0]}"
        ) from None
    except Exception as error:  # fsspec's backends raise their own errors: refused, not found, no credentials
        reason = " ".join(str(error).split()) or type(error).__name__
        raise RefreshError(f"refresh.source {shown(source)}: cannot be read: {reason}") from None
    return parse(data, source)


def dvc_label(settings: dict[str, Any]) -> str:
    """How a dvc source is named in messages and the report: repository, path and revision."""
    found = settings.get("dvc") or {}
    return f"dvc {shown(str(found.get('repo')))} {found.get('path')}" + (f"@{found['rev']}" if found.get("rev") else "")


def fetch_dvc(settings: dict[str, Any]) -> pd.DataFrame:
    """Read refresh.dvc.path from the repository refresh.dvc.repo, as `dvc import` would."""
    found = settings.get("dvc")
    if not found:
        raise RefreshError(
            "refresh.source dvc needs refresh.dvc: {repo: <Git URL or path>, path: <file>, rev: <optional>}"
        )
    from dvc.api import DVCFileSystem
    from dvc.scm import CloneError, RevError

    label = dvc_label(settings)
    try:
        filesystem = DVCFileSystem(url=found["repo"], rev=found.get("rev") or None)
        commit = filesystem.repo.get_rev()  # the commit the revision resolved to
        with filesystem.open(found["path"], "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except CloneError:
        raise RefreshError(f"refresh.source {label}: the repository cannot be cloned; check refresh.dvc.repo and that "
                           "this job can read it") from None  # fmt: skip
    except RevError:
        raise RefreshError(
            f"refresh.source {label}: no such revision in the repository; check refresh.dvc.rev"
        ) from None
    except FileNotFoundError:
        raise RefreshError(f"refresh.source {label}: no such file in the repository; check refresh.dvc.path") from None
    except Exception as error:  # DVC's own errors: a remote it cannot reach, missing credentials, a broken .dvc file
        reason = " ".join(str(error).split()) or type(error).__name__
        raise RefreshError(f"refresh.source {label}: cannot be read: {reason}") from None
    if len(data) > MAX_BYTES:
        raise RefreshError(f"refresh.source {label}: larger than 2 GB; import data this large with `dvc import`")
    frame = parse(data, found["path"])
    frame.attrs["commit"] = commit  # the source repository's commit that was read, for the report
    return frame


def demo_batch(raw: pd.DataFrame, settings: dict[str, Any], params: dict[str, Any]) -> pd.DataFrame:
    """A next batch for demo projects: rows of the data drawn again, measurements jittered, labels kept.

    The seed is the number of rows already held, so every refresh brings different rows.
    """
    import numpy as np

    from .current import is_measurement

    target = params["data"]["target"]
    rng = np.random.default_rng(len(raw))
    batch = raw.sample(n=settings["demo_rows"], replace=True, random_state=len(raw)).reset_index(drop=True)
    for name in raw.columns:
        if name != target and is_measurement(raw[name]):
            low, high = raw[name].min(), raw[name].max()
            jitter = rng.normal(scale=0.05 * float(raw[name].std()), size=len(batch))
            batch[name] = (batch[name] + jitter).clip(low, high).round(6)
    return batch


def check_schema(raw: pd.DataFrame, new: pd.DataFrame, source: str) -> None:
    missing = [str(c) for c in raw.columns if c not in new.columns]
    added = [str(c) for c in new.columns if c not in raw.columns]
    if missing or added:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + ([f"new {', '.join(added)}"] if added else [])
        raise RefreshError(
            f"refresh.source {shown(source)}: the columns changed ({'; '.join(parts)}); a schema change is a "
            "deliberate pull request: change data/raw/data.csv and run `make suite`"
        )
    if new.empty:
        raise RefreshError(f"refresh.source {shown(source)}: no rows")


def occurrences(ids: list[str]) -> pd.Series:
    """Number each row among the rows of the same identity (0 for the first), so equal rows stay apart."""
    return pd.Series(ids).groupby(ids).cumcount()


def multiset(frame: pd.DataFrame) -> pd.Series:
    """Each row's identity and occurrence: two copies of one row are two members, as in a count."""
    ids = identities(frame)
    return pd.Series(ids).str.cat(occurrences(ids).astype(str), sep="\x1e")


def combine(raw: pd.DataFrame, new: pd.DataFrame, settings: dict[str, Any], key: list[str]) -> pd.DataFrame:
    """The next snapshot under the policy.

    `append` keeps every row the data holds, except a row whose `key` a newer row of the source
    takes over. Without a key, a source row is added unless the data already holds it as many
    times (reading the same batch twice adds nothing; two different rows that happen to be equal
    both stay). The newest `max_rows` are kept when it is set: rows it drops are removed rows.
    """
    new = new[list(raw.columns)]
    if settings["policy"] == "replace":
        return new.reset_index(drop=True)
    for column in key:
        if column not in raw.columns:
            allowed = ", ".join(map(str, raw.columns))
            raise ParamsError(f"params.yaml: refresh.key = {column!r}: not a column; allowed: {allowed}")
    if key:
        # A row with a missing key cell is identified by all its cells: it never takes another's place.
        batch = pd.Series(identities(new, key))
        new = new[~(batch.duplicated(keep="last") & batch.str.startswith("key:")).to_numpy()]  # the newest per key
        unchanged = pd.Series(identities(new)).isin(set(identities(raw))).to_numpy()
        new = new[~unchanged]  # a row the data holds already keeps its place
        keys = {identity for identity in identities(new, key) if identity.startswith("key:")}
        taken_over = pd.Series(identities(raw, key)).isin(keys).to_numpy()
        both = pd.concat([raw[~taken_over], new], ignore_index=True)
    else:
        held = multiset(raw)
        new = new[~multiset(new).isin(set(held)).to_numpy()]
        both = pd.concat([raw, new], ignore_index=True)
    time_column = settings["time_column"]
    if time_column:
        if time_column not in raw.columns:
            raise ParamsError(f"params.yaml: refresh.time_column = {time_column!r}: not a column of {RAW}")
        both = both.iloc[time_order(both[time_column], time_column)]
    if settings["max_rows"]:
        both = both.tail(settings["max_rows"])
    return both.reset_index(drop=True)


def time_order(values: pd.Series, name: str) -> Any:
    """Row positions in time order: numbers as numbers, anything else as ISO-8601 times (kinds.py).

    A cell that is neither stops the refresh with one line: ordered as text, `03/04/2019` would sort
    before `12/31/2018` and a rolling window would drop the newest rows as if they were the oldest.
    """
    import numpy as np

    from .kinds import parse_times

    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return np.argsort(values.to_numpy(dtype=float, na_value=np.nan), kind="stable")
    times = parse_times(values)
    bad = values.notna().to_numpy() & times.isna().to_numpy()
    if bad.any():
        example = str(values[bad].iloc[0])[:60]
        raise RefreshError(
            f"refresh.time_column = {name!r}: {int(bad.sum())} value(s) are not ISO-8601 times or numbers, "
            f"e.g. {example!r}; allowed: 2019-03-23, 2019-03-23 20:21:09, with T, a zone or an offset"
        )
    return np.argsort(times.to_numpy(dtype="datetime64[ns]"), kind="stable")


def class_counts(raw: pd.DataFrame, new: pd.DataFrame, target: str) -> dict[str, Any]:
    """The batch's classes against the data's: a batch missing a class, or bringing a new one, is said."""
    held, brought = raw[target].dropna().astype(str), new[target].dropna().astype(str)
    return {
        "batch": {str(name): int(count) for name, count in brought.value_counts().sort_index().items()},
        "missing_from_batch": sorted(set(held) - set(brought)),
        "new_in_batch": sorted(set(brought) - set(held)),
    }


def removed_rows(raw: pd.DataFrame, snapshot: pd.DataFrame) -> pd.DataFrame:
    """The rows of `raw` that the snapshot no longer holds, counting copies."""
    return raw[~multiset(raw).isin(set(multiset(snapshot))).to_numpy()]


def added_rows(raw: pd.DataFrame, snapshot: pd.DataFrame) -> pd.DataFrame:
    return removed_rows(snapshot, raw)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


def validate_snapshot(frame: pd.DataFrame) -> None:
    """Stop unless the snapshot passes the expectation suite (as the validate stage will check it)."""
    from .validate import failures, load_suite, run_suite

    suite = load_suite(SUITE)
    with tempfile.TemporaryDirectory() as docs:
        results = run_suite(frame, suite, Path(docs))
    failed = failures(results, [str(column) for column in frame.columns])
    if failed:
        first = failed[0]
        raise RefreshError(
            f"the refreshed data fails {len(failed)} expectation(s) of {SUITE}, first: {first['column']}: "
            f"{first['expectation']}: expected {first['expected']}; {first['observed']}; nothing was written"
        )


def summarise(
    raw: pd.DataFrame,
    snapshot: pd.DataFrame,
    source: str,
    settings: dict[str, Any],
    commit: str | None = None,
    classes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    summary = {
        "source": dvc_label(settings) if source == "dvc" else shown(source),
        "policy": settings["policy"],
        "rows_before": len(raw),
        "rows_after": len(snapshot),
        "rows_added": len(added_rows(raw, snapshot)),
        "rows_removed": len(removed_rows(raw, snapshot)),
        "sha256_before": hashlib.sha256(csv_bytes(raw)).hexdigest(),
        "sha256_after": hashlib.sha256(csv_bytes(snapshot)).hexdigest(),
    }
    if commit:
        summary["commit"] = commit
    time_column = settings["time_column"]
    if time_column and len(snapshot):
        ordered = snapshot[time_column].iloc[time_order(snapshot[time_column], time_column)].dropna()
        summary["time_range"] = [str(ordered.iloc[0]), str(ordered.iloc[-1])] if len(ordered) else []
    if classes:
        summary["classes"] = classes
    return summary


def class_warnings(classes: dict[str, Any] | None) -> list[str]:
    """What a reviewer must know about the batch's classes, in words (empty when nothing is odd)."""
    if not classes:
        return []
    lines = []
    if classes["missing_from_batch"]:
        held = ", ".join(f"{name}: {count}" for name, count in classes["batch"].items()) or "no labelled row"
        missing = ", ".join(classes["missing_from_batch"])
        lines.append(f"the new batch has no row of class(es) {missing} (it holds {held})")
    if classes["new_in_batch"]:
        lines.append(f"the new batch brings class(es) the data never had: {', '.join(classes['new_in_batch'])}")
    return lines


def markdown(summary: dict[str, Any]) -> str:
    lines = [
        f"## Data refresh from {code_span(summary['source'])}",
        "",
        f"Policy `{summary['policy']}`: {summary['rows_before']} rows before, {summary['rows_after']} after "
        f"({summary['rows_added']} added, {summary['rows_removed']} removed).",
        "",
        f"- the removed rows, if any, are listed in `{OUT}/{REMOVED}`",
        f"- `{RAW}` sha256 {summary['sha256_before'][:12]} → {summary['sha256_after'][:12]}",
    ]
    if "commit" in summary:
        lines.append(f"- source repository commit {code_span(summary['commit'])}")
    if summary.get("time_range"):
        low, high = summary["time_range"]
        lines.append(f"- time range: {escape_text(low)} to {escape_text(high)}")
    lines += [f"- **{escape_text(line)}**" for line in class_warnings(summary.get("classes"))]
    lines += ["", "Validated against `expectations/suite.json` before it was written; the pipeline, the gate "
              "against the champion and the report run on this pull request as on any other."]  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="refresh", description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--source", help="override refresh.source for this run")
    args = parser.parse_args(argv)
    try:
        params = load_params(args.params)
        settings = params.get("refresh")
        if not settings:
            raise ParamsError("params.yaml: section refresh is missing: add it (see the README, 'New data')")
        source = args.source or settings["source"]
        raw = read_table(RAW)
        new = fetch(source, raw, settings, params)
        check_schema(raw, new, source)
        snapshot = combine(raw, new, settings, settings["key"] or section(params, "data").get("key") or [])
        if csv_bytes(snapshot) == csv_bytes(raw):
            print(f"refresh: {shown(source)} brought nothing new; {RAW} unchanged")
            output("changed", "false")
            return 0
        validate_snapshot(snapshot)
        data = section(params, "data")
        classes = class_counts(raw, new, data["target"]) if data["task"] == "classification" else None
        summary = summarise(raw, snapshot, source, section(params, "refresh"), new.attrs.get("commit"), classes)
    except (DataError, ParamsError) as error:
        output("error", " ".join(str(error).split()))  # refresh.yml tells the drift issue why
        return fail(error, 2)
    replace_bytes(RAW, csv_bytes(snapshot))
    OUT.mkdir(parents=True, exist_ok=True)
    removed_rows(raw, snapshot).to_csv(OUT / REMOVED, index=False)  # every removed row, to review
    (OUT / "summary.json").write_text(dumps(summary, indent=2) + "\n", encoding="utf-8")
    (OUT / "refresh.md").write_text(markdown(summary), encoding="utf-8")
    print(f"refresh: {RAW}: {summary['rows_before']} -> {summary['rows_after']} rows "
          f"({summary['rows_added']} added, {summary['rows_removed']} removed) from {summary['source']}")  # fmt: skip
    for line in class_warnings(summary.get("classes")):
        print(f"refresh: warning: {printable(line)}")
    output("changed", "true")
    return 0
