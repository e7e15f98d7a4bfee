"""Reports: the recap, the strategy pack, the stand-up and the client dossier — data, content, rendering and the
Prefect steps."""
