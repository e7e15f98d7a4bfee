"""The daily sweep's detectors: pure functions over whole DataFrames, vectorised over every campaign at once.

Where things live (no module here imports Prefect or the database):
- window: the input frames' columns, DEFAULT_THRESHOLDS, and prepare_window, which indexes them into a SweepWindow
- evidence: FINDINGS_COLUMNS and the helpers a detector writes its findings with
- one module per detector family: conversions, delivery, anomaly, account, gaps
- causes: fold_root_causes; materiality: apply_materiality and MATERIAL_FLOORS
- run: DETECTORS, the one list of detectors, and run_detectors, which the sweep calls

A new detector is a pure function over a SweepWindow in its family's module, listed in run.DETECTORS, with a table
test. Underscore names are shared between these modules, not outside the package.
"""
