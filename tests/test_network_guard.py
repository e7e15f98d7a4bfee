"""The test session cannot reach any host but this machine, and fails at once instead of hanging."""

from __future__ import annotations

import socket
import time

import httpx
import pytest
import requests

from network_guard import OutsideNetwork


@pytest.mark.parametrize("url", ["https://api.sendgrid.com/v3/mail/send", "https://googleads.googleapis.com/",
                                 "https://graph.facebook.com/v26.0/me", "http://93.184.216.34/"])
def test_outside_hosts_fail_at_once(url: str) -> None:
    started = time.perf_counter()
    with pytest.raises((OutsideNetwork, httpx.ConnectError, requests.exceptions.ConnectionError)) as caught:
        if "graph" in url:
            requests.get(url, timeout=30)
        else:
            httpx.get(url, timeout=30)
    assert "127.0.0.1" in str(caught.value)
    assert time.perf_counter() - started < 2


def test_loopback_still_connects() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    try:
        client = socket.create_connection(server.getsockname(), timeout=2)
        client.close()
    finally:
        server.close()
    with pytest.raises(OutsideNetwork):
        socket.create_connection(("10.1.2.3", 80), timeout=30)
