"""Export scikit-learn's bundled demo datasets to the CSV files the template ships.

Run from the template root: `python scripts/export_demo_data.py`. tests/test_demo_data.py
checks the shipped files still equal what scikit-learn bundles.
"""

from pathlib import Path

from sklearn.datasets import load_breast_cancer, load_diabetes

TARGET = Path("{{cookiecutter.project_slug}}/data/raw")
LOADERS = {
    "breast_cancer.csv": lambda: load_breast_cancer(as_frame=True).frame,
    "diabetes.csv": lambda: load_diabetes(as_frame=True, scaled=False).frame,
}


def main() -> None:
    TARGET.mkdir(parents=True, exist_ok=True)
    for name, load in LOADERS.items():
        load().to_csv(TARGET / name, index=False)
        print(f"wrote {TARGET / name}")


if __name__ == "__main__":
    main()
