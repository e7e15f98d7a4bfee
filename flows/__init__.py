"""One file per cadence flow; a flow only puts tasks in order."""
