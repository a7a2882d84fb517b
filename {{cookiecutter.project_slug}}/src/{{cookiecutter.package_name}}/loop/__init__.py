"""The loop: every command of the project, from `ingest` to `register`, drift, refresh and tuning.

Changes to these modules arrive through `make template-update`; edit them only to change how the
loop works. What is yours lives one level up, and the loop calls nothing of it but this contract:
`source.load(path)` and `source.clean(frame, target)` (the ingest stage), `features.feature_kinds`
and `features.build_preprocessor` (train and tune), `estimators.ESTIMATORS`, `estimators.SCALED`
and `estimators.TRUSTED_TYPES` (train, tune, register and every reader of a registered model).
`cli.py` maps each command to the module of the same name; README "Where things are" has the map.
"""

PACKAGE = __name__.rsplit(".", 1)[0]  # the project's package: `python -m <PACKAGE>`
