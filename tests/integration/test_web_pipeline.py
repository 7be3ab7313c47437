"""Issue 3's last hop, for real: a raw mention produced to mentions.raw goes through the stream worker
(a separate `listening-center worker` process) and reaches a browser-like client on the console's SSE
stream, scored, with its text intact (escaping is the page's job, the stream carries JSON)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
import pytest

from infra.settings import Settings
from stream.schema import Mention
from tests.browser.console_server import live_console, send_raw
from tests.conftest import Processes, wait_for

pytestmark = pytest.mark.integration


def _mention(mid: str, text: str) -> Mention:
    return Mention(
        id=mid,
        platform="mastodon",
        text=text,
        created_at="2025-03-01T08:59:00Z",
        author_handle="@stranded",
        brand="skyway",
        url=f"https://example.social/@stranded/{mid.split(':')[1]}",
    )


def test_a_raw_mention_goes_through_the_worker_to_the_console_sse_stream(
    lc: Settings, processes: Processes
) -> None:
    processes.start("worker", "worker")
    with live_console(lc, START_FEED=True) as console:
        console.add_user("ana", "agent")
        assert console.state.consumer is not None
        wait_for(console.state.consumer.ready.is_set, timeout=30, what="the console's feed consumer")
        received: list[dict[str, Any]] = []
        done = threading.Event()
        with httpx.Client(timeout=120) as client:
            console.login(client, "ana")

            def read() -> None:
                with client.stream("GET", f"{console.url}/feed/stream") as resp:
                    assert resp.headers["content-type"].startswith("text/event-stream")
                    event = ""
                    for line in resp.iter_lines():
                        if line.startswith("event: "):
                            event = line[7:]
                        elif line.startswith("data: ") and event == "mention":
                            received.append(json.loads(line[6:]))
                            if received[-1]["mention"]["id"] == "mastodon:9002":
                                done.set()
                                return

            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            wait_for(lambda: console.state.hub.subscriber_count == 1, timeout=10, what="the SSE subscriber")
            # The first mention also waits out the worker's start-up (joining its group); the second one's
            # time is the pipeline's own latency.
            send_raw(lc, _mention("mastodon:9001", "Is Skyway flying to Denver today?"))
            wait_for(lambda: any(r["mention"]["id"] == "mastodon:9001" for r in received), timeout=90,
                     what="the first mention through the worker")
            started = time.monotonic()
            send_raw(lc, _mention("mastodon:9002", "Skyway lost my bag <b>again</b>, worst trip ever"))
            assert done.wait(60), "the second mention never reached the SSE stream"
            latency = time.monotonic() - started
            reader.join(5)
    last = received[-1]
    assert last["mention"]["text"] == "Skyway lost my bag <b>again</b>, worst trip ever"
    assert last["sentiment"]["label"] == "negative"
    assert last["lexicon_version"] and last["priority"]["score"] > 0
    print(f"mentions.raw -> worker -> mentions.scored -> console SSE: {latency * 1000:.0f} ms")
