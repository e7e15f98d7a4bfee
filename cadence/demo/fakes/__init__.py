"""Local stand-ins for the outside services Cadence talks to."""
