"""Read `params.yaml`, the single source of settings, and check it against one declared schema.

`load_params` validates the whole file once, with the pydantic models below (one per section,
unknown keys refused), and reports the first problem in one line: the key, the value and what is
allowed. Commands then read plain dicts with `section(params, name)`.

The `drift` and `current` sections are modelled by `DriftSettings` and `CurrentSettings` at the
end of this module: add new keys of those sections there (and to params.yaml).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError, core_schema

from .metrics import METRICS, names_for

DEFAULT_PATH = Path("params.yaml")
PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


class ParamsError(ValueError):
    """A setting is missing or has a value that is not allowed."""


@dataclass(frozen=True)
class Allowed:
    """Annotate a field with what it allows, in words; any failed check of the field then says that."""

    words: str

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> core_schema.CoreSchema:
        return core_schema.no_info_wrap_validator_function(self.check, handler(source))

    def check(self, value: Any, handler: Any) -> Any:
        try:
            return handler(value)
        except ValidationError:
            raise PydanticCustomError("not_allowed", "must be {allowed}", {"allowed": self.words}) from None


def one_of(*names: str) -> Any:
    """Return a string type that allows only the given names."""
    return Annotated[Literal[names], Allowed(f"one of {', '.join(names)}")]


Count = Annotated[int, Field(ge=1), Allowed("an integer >= 1")]
Seed = Annotated[int, Field(ge=0), Allowed("an integer >= 0")]
Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False), Allowed("a number from 0 to 1")]
Fraction = Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False), Allowed("a number between 0 and 1, exclusive")]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False), Allowed("a number >= 0")]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False), Allowed("a number > 0")]
Number = Annotated[float, Field(allow_inf_nan=False), Allowed("a finite number")]
Flag = Annotated[bool, Allowed("true or false")]
Margin = Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False), Allowed("a number from 0 to below 1")]
Name = Annotated[str, Field(min_length=1), Allowed("a non-empty string")]
# The same rule as the bake: the name goes into MLflow search filters and lock names.
ModelName = Annotated[
    str,
    Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=200),
    Allowed("letters, digits, '.', '_' and '-', starting with a letter or digit"),
]
RetrySeconds = Annotated[float, Field(gt=0, le=600, allow_inf_nan=False), Allowed("a number of seconds > 0 and <= 600")]
Text = Annotated[str | None, Allowed("a string, or empty")]
Task = one_of("classification", "regression")
Metric = one_of(*METRICS)


class Section(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class DataSettings(Section):
    task: Task
    target: Name
    # Columns that identify a row (an id); empty: the whole row. Optional for older projects.
    key: Annotated[list[str] | None, Allowed("a list of column names, or empty")] = None


class IngestSettings(Section):
    holdout_fraction: Fraction
    seed: Seed


class ProfileSettings(Section):
    range_margin: NonNegative
    null_margin: Share
    max_categories: Count
    row_count_margin: Share


class TrainSettings(Section):
    # Besides the keys below, one mapping per model of estimators.py (train.<model>): its keys are
    # checked against the estimator itself when it is built (loop/train.py), not here.
    model_config = ConfigDict(strict=True, extra="allow")

    model: Annotated[str, Field(min_length=1), Allowed("the name of a function in estimators.ESTIMATORS")]
    seed: Seed
    max_categories: Count
    text_max_features: Count
    # Category values on fewer training rows share one column. Optional for older projects.
    min_category_rows: Count = 5

    @model_validator(mode="after")
    def models_are_known(self) -> TrainSettings:
        known = list(your_estimators().ESTIMATORS)
        if self.model not in known:
            raise setting_error("train.model", self.model, f"one of {', '.join(known)} (estimators.ESTIMATORS)")
        for key, value in (self.model_extra or {}).items():
            if key not in known:
                keys = ", ".join(type(self).model_fields)
                allowed = f"a key of train: one of {keys}, or a model of estimators.py ({', '.join(known)})"
                raise setting_error(f"train.{key_path((key,))}", value, allowed)
            if value is not None and not (isinstance(value, dict) and all(isinstance(name, str) for name in value)):
                raise setting_error(f"train.{key_path((key,))}", value, f"a mapping of {key}'s parameters, or empty")
        return self


class TuneSettings(Section):
    trials: Count
    timeout_minutes: Positive
    cv_folds: Annotated[int, Field(ge=2, le=20), Allowed("an integer from 2 to 20")]
    seed: Seed
    space: Annotated[
        dict[str, dict[str, Any] | None],
        Allowed("a mapping of model name to {key: {low: .., high: ..[, log: true]} or {choices: [..]}}"),
    ]


class DvcSource(Section):
    repo: Name  # a Git URL or path, as `dvc import` takes it
    path: Name  # the file inside that repository (tracked by its DVC or by Git)
    rev: Text = None  # a branch, tag or commit; empty: the repository's default branch


class RefreshSettings(Section):
    source: Name
    dvc: DvcSource | None = None  # source `dvc`: a file of another repository
    policy: one_of("replace", "append")
    key: Annotated[list[str] | None, Allowed("a list of column names, or empty")]
    max_rows: Annotated[int, Field(ge=0), Allowed("an integer >= 0 (0 keeps every row)")]
    time_column: Text
    demo_rows: Count


class ScoreSettings(Section):
    source: Name
    output: Name
    chunk_rows: Annotated[int, Field(ge=0), Allowed("an integer >= 0 (0: as many rows as hold 8 million values)")]


class GateSettings(Section):
    metric: Metric
    threshold: Annotated[float | None, Field(allow_inf_nan=False), Allowed("a finite number, or null for none")]
    tolerance: NonNegative
    # Optional for projects made before they existed: the baseline then demands 10% (gate.py).
    baseline_margin: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False), Allowed("a number from 0 to below 1")] = (
        0.1
    )
    allow_schema_change: Flag = False
    allow_leakage: Flag = False
    allow_unproven_champion: Flag = False


class RegisterSettings(Section):
    model_name: ModelName
    tracking_uri: Text
    retry_seconds: RetrySeconds = 30.0


# --- drift and current: add new keys of these two sections here ---------------------------------


class NumericRule(Section):
    method: one_of("wasserstein", "psi")  # the numeric methods of drift/stats.py
    threshold: NonNegative


class CategoricalRule(Section):
    method: one_of("jensenshannon", "psi")  # the categorical methods of drift/stats.py
    threshold: NonNegative


class AlertRule(Section):
    k: Annotated[int, Field(ge=1), Allowed("an integer >= 1")]
    n: Annotated[int, Field(ge=1, le=1000), Allowed("an integer from 1 to 1000")]


class DriftSettings(Section):
    reference: Name
    current: Name
    report_dir: Name
    model: Name
    reference_metrics: Name
    dataset_drift_share: Share
    p_value: Fraction
    categorical_max_values: Seed
    max_categories: Count
    null_change: Share
    unseen_share: Share
    quality_drop: NonNegative
    psi_bins: Annotated[int, Field(ge=2), Allowed("an integer >= 2")]
    numeric: NumericRule
    categorical: CategoricalRule
    # Estimates without labels and the history; defaults for projects made before them.
    holdout: Name = "data/prepared/holdout.csv"
    estimated_drop: NonNegative = 0.05
    alert: AlertRule = AlertRule(k=1, n=1)
    history: Name = "drift-history"


class CurrentSettings(Section):
    source: Name
    rows: Count
    seed: Seed
    shift: Number
    shift_columns: Annotated[list[str] | None, Allowed("a list of column names, or empty")]


# -------------------------------------------------------------------------------------------------


class Params(Section):
    """The whole params.yaml: one section per stage."""

    data: DataSettings
    ingest: IngestSettings
    profile: ProfileSettings
    train: TrainSettings
    # Optional: a project made before tuning existed has no such section (`make tune` asks for it).
    tune: TuneSettings | None = None
    refresh: RefreshSettings | None = None  # optional too: `make refresh` asks for it
    score: ScoreSettings | None = None  # optional too: `make score` asks for it
    gate: GateSettings
    register_: RegisterSettings = Field(alias="register")  # `register` is a name BaseModel already has
    drift: DriftSettings
    current: CurrentSettings

    @model_validator(mode="after")
    def gate_fits_the_task(self) -> Params:
        parts = self.drift.history.replace("\\", "/").split("/")
        if self.drift.history.startswith("/") or ":" in parts[0] or {".", ".."} & set(parts) or "" in parts:
            allowed = "a folder inside the project, such as drift-history (not '.', no '..')"
            raise setting_error("drift.history", self.drift.history, allowed)
        alert = self.drift.alert
        if alert.k > alert.n:
            raise setting_error("drift.alert.k", alert.k, f"at most n ({alert.n}): drift in k of the last n runs")
        metric, task, threshold = self.gate.metric, self.data.task, self.gate.threshold
        if metric not in names_for(task):
            raise setting_error("gate.metric", metric, f"one of {', '.join(names_for(task))} for task {task}")
        if threshold is None:  # the baseline and the champion decide
            return self
        low, high = METRICS[metric].low, METRICS[metric].high
        if not low <= threshold <= high:
            bounds = [f">= {low:g}"] * math.isfinite(low) + [f"<= {high:g}"] * math.isfinite(high)
            raise setting_error("gate.threshold", threshold, f"a number {' and '.join(bounds)} for {metric}")
        # A candidate meets the threshold, and no champion is better than the metric's best value:
        # a tolerance this wide could never find a candidate worse than the champion. (A threshold
        # at the best value leaves no room for any tolerance to matter, so none is refused there.)
        best = high if METRICS[metric].higher_is_better else low
        room = abs(best - threshold)
        if 0 < room <= self.gate.tolerance:
            allowed = f"a number >= 0 and below {room:g} (the distance from gate.threshold to the best {metric})"
            raise setting_error("gate.tolerance", self.gate.tolerance, allowed)
        return self

    @model_validator(mode="after")
    def space_has_a_shape(self) -> Params:
        if self.tune is not None:
            check_space_shape(self.tune.space)
        return self


RANGE_KEYS, CHOICE_KEYS = {"low", "high", "log"}, {"choices"}
SPACE_LIMIT = 1e9  # no hyperparameter here needs more; larger integers overflow the estimators' C types


def check_space_shape(space: dict[str, Any]) -> None:
    """Refuse a search space whose dimensions are not ranges or choices (the keys and values are
    checked against the estimators themselves when tuning starts: loop/tune.py)."""
    for model, dimensions in space.items():
        if dimensions is not None and not isinstance(dimensions, dict):
            raise setting_error(f"tune.space.{key_path((model,))}", dimensions, "a mapping of train.<model>'s keys")
        for key, spec in (dimensions or {}).items():
            dimension_values(f"tune.space.{key_path((model, key))}", spec)


def dimension_values(here: str, spec: Any) -> list[tuple[str, Any]]:
    """Return [(key, value)] to check for one dimension, or raise naming what is wrong with its shape."""
    shape = "{low: <number>, high: <number>} (optionally log: true) or {choices: [<value>, ...]}"
    if not isinstance(spec, dict) or not spec or not (set(spec) <= RANGE_KEYS or set(spec) <= CHOICE_KEYS):
        raise setting_error(here, spec, shape)
    if "choices" in spec:
        choices = spec["choices"]
        if not isinstance(choices, list) or not choices:
            raise setting_error(f"{here}.choices", choices, "a non-empty list of values")
        if len({json.dumps(choice, sort_keys=True) for choice in choices}) < len(choices):
            raise setting_error(f"{here}.choices", choices, "a list without repeated values")
        for choice in choices:
            if isinstance(choice, int | float) and not isinstance(choice, bool) and not abs(choice) <= SPACE_LIMIT:
                raise setting_error(f"{here}.choices", choice, f"numbers from -{SPACE_LIMIT:g} to {SPACE_LIMIT:g}")
        return [(f"{here}.choices", choice) for choice in choices]
    if not {"low", "high"} <= set(spec):
        raise setting_error(here, spec, shape)
    low, high, log = spec["low"], spec["high"], spec.get("log", False)
    for name, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not abs(value) <= SPACE_LIMIT:
            raise setting_error(f"{here}.{name}", value, f"a number from -{SPACE_LIMIT:g} to {SPACE_LIMIT:g}")
    if not low < high:
        raise setting_error(f"{here}.high", high, f"a number above low ({low:g})")
    if not isinstance(log, bool):
        raise setting_error(f"{here}.log", log, "true or false")
    if log and low <= 0:
        raise setting_error(f"{here}.low", low, "a number > 0 when log is true")
    return [(f"{here}.low", low), (f"{here}.high", high)]


def setting_error(key: str, value: Any, allowed: str) -> PydanticCustomError:
    """Return a validation error for a rule that spans keys, naming the key it blames."""
    return PydanticCustomError("setting", "must be {allowed}", {"key": key, "value": value, "allowed": allowed})


def keys_of(model: type[BaseModel]) -> dict[str, Any]:
    """Return {key in params.yaml: field} of a model."""
    return {field.alias or name: field for name, field in model.model_fields.items()}


def model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """Return the model class that holds the keys at `loc` (a path of keys), if there is one."""
    model: Any = Params
    for key in loc:
        field = keys_of(model).get(key) if isinstance(model, type) and issubclass(model, BaseModel) else None
        model = field.annotation if field else None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def allowed_words(loc: tuple[Any, ...]) -> str:
    """Say what the key at `loc` allows: its Allowed words, or the keys of its section."""
    section_model = model_at(loc)
    if section_model is not None:
        return f"a mapping with the keys {', '.join(keys_of(section_model))}"
    parent = model_at(loc[:-1])
    field = keys_of(parent).get(loc[-1]) if parent else None
    words = [item.words for item in (field.metadata if field else []) if isinstance(item, Allowed)]
    return words[0] if words else "a value"


def key_path(loc: tuple[Any, ...]) -> str:
    """Join a path of keys with dots; a key that is not a plain word is quoted, so the line stays one line."""
    return ".".join(part if isinstance(part, str) and PLAIN_KEY.match(part) else json.dumps(part) for part in loc)


def shown(value: Any) -> str:
    """Show a value as YAML would write it, on one short line."""
    text = format(value, "g") if isinstance(value, float) else json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def describe(error: dict[str, Any]) -> str:
    """Turn one pydantic error into `key = value: what is allowed`."""
    loc, kind, ctx = tuple(error["loc"]), error["type"], error.get("ctx") or {}
    key = key_path(loc) or ctx.get("key", "")
    if kind == "setting":
        return f"{ctx['key']} = {shown(ctx['value'])}: must be {ctx['allowed']}"
    if kind == "missing":
        noun = "section" if len(loc) == 1 else "key"
        return f"{noun} {key} is missing: it must be {allowed_words(loc)}"
    if kind == "extra_forbidden":
        parent = model_at(loc[:-1])
        keys = ", ".join(keys_of(parent)) if parent else ""
        return f"{key} = {shown(error['input'])}: unknown key; allowed keys here: {keys}"
    if kind == "invalid_key":
        return f"{key_path(loc[:-1])}: the key {shown(loc[-1])} is not a name: keys must be strings"
    if kind == "not_allowed":
        return f"{key} = {shown(error['input'])}: must be {ctx['allowed']}"
    return f"{key} = {shown(error['input'])}: must be {allowed_words(loc)}"


def your_estimators() -> Any:
    """The project's estimators.py (train.model names one of its functions), or ParamsError saying why not."""
    try:
        from .. import estimators
    except Exception as error:  # your file: a missing library, a typo; one line, not a traceback
        reason = " ".join(str(error).split()) or type(error).__name__
        raise ParamsError(f"src/{__package__.split('.')[0]}/estimators.py cannot be imported: {reason}") from None
    return estimators


def validate(raw: dict[str, Any], source: str = "params.yaml") -> dict[str, Any]:
    """Return the params as plain dicts with defaults filled in, or raise ParamsError naming one problem."""
    your_estimators()
    try:
        return Params.model_validate(raw).model_dump(by_alias=True)
    except ValidationError as error:
        problems = error.errors(include_url=False)
        more = f" ({len(problems) - 1} more after fixing this)" if len(problems) > 1 else ""
        raise ParamsError(f"{source}: {describe(problems[0])}{more}") from None


class UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key written twice in one mapping (PyYAML keeps the last silently).

    DVC reads params.yaml with ruamel.yaml, which refuses duplicates too: a file that one accepts
    and the other does not would run a stage with settings nobody sees.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *defaults` merges keys on purpose
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} appears twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_params(path: str | Path = DEFAULT_PATH) -> dict[str, Any]:
    """Return the checked params file, or raise ParamsError naming what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: file not found; run commands from the project root")
    try:
        params = yaml.load(path.read_text(encoding="utf-8"), Loader=UniqueKeyLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(str(getattr(error, "problem", None) or error).split())
        raise ParamsError(f"{path}: not valid YAML{where}: {problem}") from None
    except UnicodeDecodeError as error:
        raise ParamsError(f"{path}: not UTF-8 text: {error.reason} at byte {error.start}") from None
    if not isinstance(params, dict):
        raise ParamsError(f"{path}: expected a mapping of sections, got {type(params).__name__}")
    return validate(params, str(path))


def section(params: dict[str, Any], name: str) -> dict[str, Any]:
    """Return one section of the params, or raise ParamsError if it is absent."""
    value = params.get(name)
    if not isinstance(value, dict):
        raise ParamsError(f"params.yaml: section {name!r} is missing or not a mapping")
    return value
