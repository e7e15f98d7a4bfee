"""The demo agency and the simulated month: not the product, but what shows, tests and measures it.

`plan` decides a whole agency from a seed, in steps: `markets`, `names` and `texts` are its data tables,
`accounts` its ad accounts and campaigns with the problems planted among them, `record` its service record;
`metrics` draws the daily metrics from the plan and `write` stores it all in Cadence's database. `simulation`
runs a month of scheduled flows on it; `fakes` are local stand-ins for the outside services (ad platforms,
SendGrid) and `leaks` scans what runs left behind for secrets. Used by `cadence demo`, by `bench/` and by the
tests; nothing in `tasks/`, `flows/` or `models/` imports it.
"""
