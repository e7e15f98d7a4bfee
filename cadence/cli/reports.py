"""`cadence reports serve`: the read-only report server alone (`cadence server` starts it beside Prefect's)."""

from __future__ import annotations

import typer
from rich.console import Console

from cadence.cli.prefect_ops import open_report_server
from tasks.settings import get_settings

app = typer.Typer(help="The rendered reports (HTML and PDF) for browsers.", no_args_is_help=True)
out = Console(highlight=False, markup=False, emoji=False, soft_wrap=True)


@app.command("serve")
def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on; beyond loopback it needs "
                             "PREFECT_SERVER_API_AUTH_STRING (user:password), the Prefect server's"),
    port: int | None = typer.Option(None, "--port", min=1, max=65535,
                                    help="port; default: CADENCE_REPORTS_PORT (4201)"),
) -> None:
    """Serve the reports folder read only (GET/HEAD) until Ctrl-C; the artifacts' report links point here."""
    settings = get_settings()
    server = open_report_server(host, port or settings.reports_port)
    out.print(f"Reports: http://{host}:{server.port}/ (read only, {settings.reports_path}); artifacts link to "
              f"{settings.reports_base_url} (CADENCE_REPORTS_URL); Ctrl-C stops")
    out.file.flush()  # the address, before the server takes over the process
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        out.print("stopped")
    finally:
        server.server_close()
