"""Conversation turn overhead, side by side with the official SDK, in one process, on loopback.

A tiny HTTP server on 127.0.0.1 answers every ``POST /v1/responses`` at once with a fixed,
valid Response holding a 1024x1024 PNG, so what is measured is the client: compiling the turn
(validation, loading the image in context, data URLs), sending it, parsing the answer into a
result. The official SDK sends the same bodies, written by hand, to the same server.

Run: ``python bench/bench_conversation.py`` (prints a table).
"""

from __future__ import annotations

import base64
import json
import threading
import warnings
from http.server import ThreadingHTTPServer

import openai

import bench_client  # this folder's client bench: its loopback handler and helpers
import imagewright
from bench_client import _photo, _time
from imagewright import ImageOptions

PNG = _photo(1024, 1024, seed=3)
B64 = base64.b64encode(PNG).decode()
ANSWER = json.dumps(
    {
        "id": "resp_bench",
        "object": "response",
        "created_at": 1,
        "status": "completed",
        "model": "gpt-5",
        "output": [
            {"type": "reasoning", "id": "rs_bench", "summary": [], "encrypted_content": "e"},
            {
                "type": "image_generation_call",
                "id": "ig_bench",
                "status": "completed",
                "result": B64,
                "size": "1024x1024",
                "quality": "low",
                "output_format": "png",
            },
        ],
        "parallel_tool_calls": True,
        "tool_choice": {"type": "image_generation"},
        "tools": [{"type": "image_generation"}],
        "usage": {
            "input_tokens": 10,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": 5,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 15,
        },
        "tool_usage": {
            "image_gen": {
                "input_tokens": 10,
                "input_tokens_details": {"image_tokens": 0, "text_tokens": 10},
                "output_tokens": 196,
                "total_tokens": 206,
            },
            "web_search": {"num_requests": 0},
        },
    }
).encode()


class _Handler(bench_client._Handler):
    def answer(self) -> bytes:
        return ANSWER


def main() -> None:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    ours = imagewright.Client("sk-bench", base_url=url, max_retries=0)
    theirs = openai.OpenAI(api_key="sk-bench", base_url=url, max_retries=0)
    tool = {"type": "image_generation", "quality": "low"}
    force = {"type": "image_generation"}
    rows: list[tuple[str, tuple[float, float], tuple[float, float] | None]] = []

    conv = ours.conversation("gpt-5", image=ImageOptions(quality="low"))
    conv.send("a lighthouse")  # a head image in context, as on every later turn
    rows.append(
        (
            "turn, previous_response_id",
            _time(lambda: ours.send(conv.compile("make the light green")), 30),
            _time(
                lambda: theirs.responses.create(
                    model="gpt-5",
                    input=[{"role": "user", "content": [{"type": "input_text", "text": "x"}]}],
                    tools=[tool],  # type: ignore[list-item]
                    tool_choice=force,  # type: ignore[arg-type]
                    previous_response_id="resp_bench",
                ),
                30,
            ),
        )
    )
    rows.append(("compile only, previous_response_id", _time(lambda: conv.compile("x"), 30), None))

    for turns in (1, 5, 10):
        local = ours.conversation("gpt-5", store=False, image=ImageOptions(quality="low"))
        for k in range(turns):
            local.send(f"turn {k}")
        call = local.compile("next")
        body = dict(call.params)
        rows.append(
            (
                f"turn, store=False after {turns} turns ({len(json.dumps(body)) / 1e6:.1f} MB)",
                _time(lambda local=local: ours.send(local.compile("next")), 10),
                _time(lambda body=body: theirs.responses.create(**body), 10),
            )
        )
        rows.append(
            (
                f"compile only, store=False after {turns}",
                _time(lambda local=local: local.compile("x"), 10),
                None,
            )
        )

    ours.close()
    theirs.close()
    httpd.shutdown()
    httpd.server_close()

    print("| call (ms), median (best) | imagewright | openai 3.51.0 |")
    print("|---|---:|---:|")
    for name, mine, other in rows:
        right = f"{other[0]:.2f} ({other[1]:.2f})" if other else "-"
        print(f"| {name} | {mine[0]:.2f} ({mine[1]:.2f}) | {right} |")


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        main()
