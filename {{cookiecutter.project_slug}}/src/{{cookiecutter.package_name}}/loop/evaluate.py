"""Evaluate: score the candidate on the holdout rows and draw the plots.

Writes every metric of the task to a JSON file (DVC metrics), and for each plot a PNG for
people and a CSV for `dvc plots`: classification gets a confusion matrix, ROC and
precision-recall curves; regression gets predicted-vs-actual and residuals. With `--card`, also
the numbers of the model card (card.py: intervals, worst slices, permutation importance, the
training rows' summary) and the importance chart.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .data import DataError, read_table, split_target
from .errors import fail
from .metrics import score
from .params import ParamsError, load_params, section
from .strict_json import dumps


def curve_tables(target: pd.Series, proba: np.ndarray, classes: list[Any]) -> dict[str, pd.DataFrame]:
    """ROC and precision-recall points; one-vs-rest micro-average when there are more than two classes."""
    from sklearn.metrics import precision_recall_curve, roc_curve
    from sklearn.preprocessing import label_binarize

    if len(classes) == 2:
        truth, scores = (np.asarray(target) == classes[1]).astype(int), proba[:, 1]
    else:
        truth, scores = label_binarize(target, classes=classes).ravel(), proba.ravel()
    fpr, tpr, _ = roc_curve(truth, scores)
    precision, recall, _ = precision_recall_curve(truth, scores)
    return {
        "roc": pd.DataFrame({"fpr": fpr, "tpr": tpr}),
        "precision_recall": pd.DataFrame({"recall": recall, "precision": precision}),
    }


def plot_tables(task: str, model: Any, features: pd.DataFrame, target: pd.Series) -> dict[str, pd.DataFrame]:
    """Return the data behind every plot of the task, keyed by plot name."""
    predicted = model.predict(features)
    tables = {"predictions": pd.DataFrame({"actual": np.asarray(target), "predicted": predicted})}
    if task == "classification":
        tables.update(curve_tables(target, model.predict_proba(features), list(model.classes_)))
    else:
        tables["residuals"] = pd.DataFrame({"predicted": predicted, "residual": np.asarray(target) - predicted})
    return tables


def draw(name: str, table: pd.DataFrame, path: Path) -> None:
    """Draw one plot to a PNG file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    figure, axes = plt.subplots(figsize=(5, 4.5))
    if name == "confusion_matrix":
        ConfusionMatrixDisplay.from_predictions(table["actual"], table["predicted"], ax=axes, colorbar=False)
    elif name in {"roc", "precision_recall"}:
        x, y = table.columns
        axes.plot(table[x], table[y])
        axes.set(xlabel=x, ylabel=y, title=name.replace("_", "-").upper() if name == "roc" else "Precision-recall")
    elif name == "predictions":
        axes.scatter(table["actual"], table["predicted"], s=10, alpha=0.6)
        low, high = table.min().min(), table.max().max()
        axes.plot([low, high], [low, high], color="grey", linestyle="--")
        axes.set(xlabel="actual", ylabel="predicted", title="Predicted vs actual")
    else:
        axes.scatter(table["predicted"], table["residual"], s=10, alpha=0.6)
        axes.axhline(0, color="grey", linestyle="--")
        axes.set(xlabel="predicted", ylabel="actual - predicted", title="Residuals")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="fitted pipeline (joblib)")
    parser.add_argument("--holdout", required=True, help="holdout rows (CSV)")
    parser.add_argument("--metrics", required=True, help="where to write the metrics JSON")
    parser.add_argument("--plots-dir", required=True, help="where to write the plot PNG and CSV files")
    parser.add_argument("--card", help="where to write the model card's numbers (JSON); needs --train")
    parser.add_argument("--train", help="training rows (CSV), summarised in the card")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    if args.card and not args.train:
        parser.error("--card needs --train")

    import joblib

    try:
        params = load_params(args.params)
        data = section(params, "data")
        holdout = read_table(args.holdout)
        features, target = split_target(holdout, data["target"])
        model = joblib.load(args.model)
        train = read_table(args.train) if args.card else None
    except (DataError, ParamsError, OSError) as error:
        return fail(error, 2)
    metrics = {**score(data["task"], model, features, target), "holdout_rows": len(features)}
    Path(args.metrics).parent.mkdir(parents=True, exist_ok=True)
    Path(args.metrics).write_text(dumps(metrics, indent=2) + "\n", encoding="utf-8")

    plots_dir = Path(args.plots_dir)
    plots_dir.mkdir(parents=True, exist_ok=True)
    tables = plot_tables(data["task"], model, features, target)
    if data["task"] == "classification":
        tables["confusion_matrix"] = tables.pop("predictions")
    for name, table in tables.items():
        table.to_csv(plots_dir / f"{name}.csv", index=False)
        draw(name, table, plots_dir / f"{name}.png")
    if args.card:
        write_card(params, model, args, holdout, train)
    shown = ", ".join(f"{name}={value:.4g}" for name, value in metrics.items())
    print(f"evaluate: {shown}; plots in {plots_dir}" + (f"; model card in {args.card}" if args.card else ""))
    return 0


def write_card(params: dict[str, Any], model: Any, args: argparse.Namespace, holdout: Any, train: Any) -> None:
    """Write the model card's numbers, tied to the model file by its md5, and the importance chart."""
    from .card import build_card, draw_importance
    from .gate import file_md5

    found = build_card(params, model, file_md5(args.model), holdout, train, file_md5(args.train))
    Path(args.card).parent.mkdir(parents=True, exist_ok=True)
    Path(args.card).write_text(dumps(found, indent=2) + "\n", encoding="utf-8")
    draw_importance(found["importance"], Path(args.plots_dir) / "importance.png")
