"""Ad platform connectors: each platform's own client library behind one protocol (see base.py)."""
