"""The demo agency and the simulated month: not the product, but what shows, tests and measures it.

`plan` decides a whole agency from a seed; `write` stores it in Cadence's database; `simulation` runs a month of
scheduled flows on it; `fakes` are local stand-ins for the outside services (ad platforms, SendGrid) and `leaks`
scans what runs left behind for secrets. Used by `cadence demo`, by `bench/` and by the tests; nothing in `tasks/`,
`flows/` or `models/` imports it.
"""
