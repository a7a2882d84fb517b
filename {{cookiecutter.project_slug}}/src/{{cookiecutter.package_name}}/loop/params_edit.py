"""Write new values of train.<model> into params.yaml in place: only those values change.

The file is edited at the spans PyYAML's nodes give, so comments, layout and line endings stay as
they were; the result is read back and validated before it replaces the file (files.py).
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

from .files import replace_text
from .params import ParamsError, load_params


def yaml_scalar(value: Any) -> str:
    """A value as a YAML scalar that reads back as the same type (PyYAML needs a point in 1e-05)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = format(value, ".6g")
        mantissa, _, exponent = text.partition("e")
        mantissa = mantissa if "." in mantissa else mantissa + ".0"
        return mantissa + ("e" + exponent if exponent else "")
    return json.dumps(value)


def apply(path: Path, model: str, values: dict[str, Any]) -> list[str]:
    """Replace train.<model>.<key> values in place (comments and layout kept); return the keys changed."""
    import yaml

    with open(path, encoding="utf-8", newline="") as handle:  # keeps \r\n line ends as they are
        text = handle.read()
    current = load_params_text(text, path)["train"][model]
    values = {key: value for key, value in values.items() if current.get(key) != value}
    root = yaml.compose(text)
    node = mapping_value(mapping_value(root, "train"), model)
    edits = []
    for key, value in values.items():
        target = mapping_value(node, key)
        if not isinstance(target, yaml.ScalarNode):
            raise ParamsError(f"{path}: train.{model}.{key} is not a plain value; write it as `{key}: <value>`")
        edits.append((target.start_mark.index, target.end_mark.index, yaml_scalar(value)))
    changed = text
    for start, end, new in sorted(edits, reverse=True):
        changed = changed[:start] + new + changed[end:]
    params = load_params_text(changed, path)
    for key, value in values.items():
        if params["train"][model][key] != value and not (
            isinstance(value, float) and math.isclose(params["train"][model][key], value, rel_tol=1e-5)
        ):
            raise ParamsError(
                f"{path}: train.{model}.{key} reads back as {params['train'][model][key]!r}, not {value!r}"
            )
    if values:
        replace_text(path, changed)
    return list(values)


def mapping_value(node: Any, key: str) -> Any:
    import yaml

    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                return value_node
    raise ParamsError(f"params.yaml: cannot find the key {key!r} to write the tuned value into")


def load_params_text(text: str, path: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        copy_path = Path(scratch) / path.name
        copy_path.write_text(text, encoding="utf-8")
        try:
            return load_params(copy_path)
        except ParamsError as error:
            raise ParamsError(str(error).replace(str(copy_path), str(path))) from None
