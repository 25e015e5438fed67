"""Security: the key never shows, TLS is verified, files stay in their folder, loads are
checked, nothing is unpickled, and the sandbox server stays on loopback unless told loudly.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import logging
import os
import pickle
import socket
import ssl
import subprocess
import sys
import threading
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import imagewright
from imagewright import EditRequest, Mask, Result, Session
from imagewright._receipts import RECEIPT_NAME
from imagewright.batches import BatchJob
from imagewright.files import UploadCache
from imagewright.sandbox import SandboxServer

from . import _rawserver as raw
from .conftest import png_bytes

KEY = "sk-proj-SENTINEL-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
SRC = Path(imagewright.__file__).parent


# ------------------------------------------------------------------------------ key grep


class Surfaces:
    """Everything a key could leak into, collected as text and grepped at the end."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def add(self, where: str, *objects: Any) -> None:
        for obj in objects:
            self.texts.append((where, obj if isinstance(obj, str) else repr(obj)))

    def add_error(self, where: str, exc: BaseException) -> None:
        self.add(where, str(exc), repr(exc), "".join(traceback.format_exception(exc)))
        self.add(where, {k: v for k, v in vars(exc).items() if k != "__traceback__"})
        request = getattr(exc, "request", None)
        if request is not None:
            self.add(where + ".request.headers", dict(request.headers))
        response = getattr(exc, "response", None)
        if response is not None:
            self.add(where + ".response.request.headers", dict(response.request.headers))
            for earlier in response.history:
                self.add(where + ".response.history", dict(earlier.request.headers))

    def add_folder(self, where: str, folder: Path) -> None:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                self.add(f"{where}/{path.name}", path.read_bytes().decode("latin-1"))
                self.add(f"{where}/name", str(path))

    def leaks(self) -> list[str]:
        return [where for where, text in self.texts if KEY in text]


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger (imagewright, httpx2, httpcore2, the sandbox) captured at DEBUG."""
    caplog.set_level(logging.DEBUG)
    return caplog


async def _expect_error(client: Any, **kw: Any) -> imagewright.ImagewrightError:
    with pytest.raises(imagewright.ImagewrightError) as info:
        await client.generate('a "SIGN"', quality="low", **kw)
    return info.value


async def _await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def _map_with_ledger(client: Any, seen: Surfaces, folder: Path) -> None:
    """A map with a ledger and a progress bar: a success, a failure recorded in the ledger."""
    requests = [
        {"prompt": 'a "SIGN"', "key": "sign"},
        {"prompt": 'a "FAIL"', "extra_headers": {"X-Sandbox-Fault": "500"}},
    ]
    run = client.client.map(requests, quality="low", ledger=folder / "book.sqlite", progress=True)
    outcomes = [o async for o in run] if client.is_async else list(run)
    assert sorted(type(o).__name__ for o in outcomes) == ["Failure", "Result"]
    seen.add("map", outcomes, run.summary, str(run.summary))
    seen.add_error("map.failure", next(o.error for o in outcomes if hasattr(o, "error")))
    assert any((folder / "book.sqlite.results").iterdir())  # the ledger's result folders
    seen.add_folder("ledger", folder)


async def _batch_files(client: Any, seen: Surfaces, folder: Path) -> None:
    """A Batch API job: its upload cache on disk, the JSONL as uploaded, the output file, the
    saved handle, and the progress bar of wait()."""
    c = client.client
    c.upload_cache = UploadCache(folder / "uploads.jsonl")
    edit = EditRequest(png_bytes((64, 64)), "paint it", mask=Mask.box((64, 64), (0, 0, 32, 32)))
    job = await _await(c.batches.submit([("one", 'a "SIGN"'), ("two", edit)], quality="low"))
    await _await(job.wait(progress=True, poll=0.01))
    results = await _await(job.results())
    seen.add("batch", job, results, [vars(r) for r in results])
    status = await _await(job.status())
    for batch in status.batches:
        for name in ("input_file_id", "output_file_id"):
            data = await _await(c.files.content(batch[name]))
            seen.add(f"batch.{name}", data.decode("latin-1"))
    assert b'"custom_id":"one"' in b"".join(
        [(await _await(c.files.content(b["input_file_id"]))) for b in status.batches]
    )  # the input JSONL really was read back
    job.save(folder / "job.json")
    seen.add_folder("batch-files", folder)


async def _session_folder(client: Any, seen: Surfaces, folder: Path) -> None:
    session = client.client.session(png_bytes((64, 64)), quality="low", save_to=folder / "auto")
    await _await(session.edit("paint it", mask=Mask.box((64, 64), (0, 0, 32, 32))))
    session.save(folder / "saved")
    seen.add("session", session, session.summary(), session._repr_html_())
    seen.add_folder("session", folder)


async def test_the_key_appears_nowhere(
    make_client: Any,
    all_logs: pytest.LogCaptureFixture,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    seen = Surfaces()
    with SandboxServer(api_key=KEY, verbose=True) as server:
        client = make_client(api_key=KEY, base_url=server.url, max_retries=1)
        seen.add("client", client.client, str(client.client), client.client.settings)
        seen.add("with_options", client.client.with_options(max_retries=0))
        # A success: the result, its receipt, its folder, its curl rendering.
        result = await client.generate('a "SIGN"', quality="low")
        seen.add("result", result, result.summary(), result.response, vars(result))
        seen.add("curl", result.call.to_curl(), result.call.to_curl(server.url))
        seen.add_folder("saved", result.save(tmp_path / "gen"))
        # An edit streamed with a mask: partial images, the mask, the inputs on disk.
        events = await client.stream(
            "stream_edit",
            EditRequest(png_bytes((64, 64)), "paint it", mask=Mask.box((64, 64), (0, 0, 32, 32))),
            partial_images=1,
            quality="low",
        )
        seen.add("stream", events)
        seen.add_folder("saved-edit", events[-1].save(tmp_path / "edit"))
        # Failures of every kind.
        seen.add_error("500", await _expect_error(client, extra_headers={"X-Sandbox-Fault": "500"}))
        seen.add_error(
            "truncate", await _expect_error(client, extra_headers={"X-Sandbox-Fault": "truncate"})
        )
        seen.add_error(
            "stall",
            await _expect_error(
                client,
                timeout=0.2,
                extra_headers={"X-Sandbox-Fault": "stall", "X-Sandbox-Stall": "1"},
            ),
        )
        # Many requests, the Batch API and a session: every file they write.
        await _map_with_ledger(client, seen, tmp_path / "map")
        await _batch_files(client, seen, tmp_path / "batch")
        await _session_folder(client, seen, tmp_path / "session")
        seen.add("sandbox.history", server.sandbox.history)
        await client.close()
    with SandboxServer(api_key="sk-some-other-key") as server:
        client = make_client(api_key=KEY, base_url=server.url, max_retries=0)
        seen.add_error("401", await _expect_error(client))
        await client.close()
    with raw.RawServer(
        raw.redirect(
            307, "/moved/images/generations", raw.any_json({"error": {"message": "no"}}, 400)
        )
    ) as srv:
        client = make_client(api_key=KEY, base_url=srv.url, max_retries=0)
        seen.add_error("redirected-400", await _expect_error(client))
        await client.close()
    client = make_client(api_key=KEY, base_url="http://127.0.0.1:9/v1", max_retries=0)
    seen.add_error("refused", await _expect_error(client))
    await client.close()
    seen.add("logs", all_logs.text, [(r.getMessage(), r.args) for r in all_logs.records])
    out, err = capfd.readouterr()
    seen.add("stdout+stderr", out, err)
    assert len(all_logs.records) > 5  # the logs really were captured
    assert "imagewright map: 100%" in err  # so were both progress bars (tqdm, on stderr)
    assert "batch: 100%" in err
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "book.sqlite" for p in written)
    assert any(p.name == "uploads.jsonl" for p in written)
    assert any(p.name == "job.json" for p in written)
    assert any(p.name == "session.json" for p in written)
    assert seen.leaks() == []
    assert len(seen.texts) > 100


def test_the_key_is_not_forwarded_to_another_origin_on_redirect() -> None:
    with raw.RawServer(raw.answer_ok()) as other:
        target = f"{other.url}/images/generations"
        with raw.RawServer(raw.redirect(307, target, raw.answer_ok())) as first:
            with imagewright.Client(KEY, base_url=first.url, max_retries=0) as client:
                result = client.generate("x", quality="low")
            assert result.outputs
            assert first.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert "authorization" not in other.requests[0].headers


# ------------------------------------------------------------------------------ TLS


@pytest.mark.parametrize("cls", [imagewright.Client, imagewright.AsyncClient])
def test_tls_verification_is_on_by_default(cls: type[Any]) -> None:
    client = cls(KEY)
    client.http._transport._shards.acquire()  # make the first shard, as a call would
    ctx = client.http._transport.shards[0]._pool._ssl_context
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname is True


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


def test_a_self_signed_server_is_refused(self_signed: tuple[Path, Path]) -> None:
    cert, key = self_signed
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    got_request = threading.Event()

    def serve() -> None:
        conn, _ = sock.accept()
        try:
            with ctx.wrap_socket(conn, server_side=True) as tls:
                if tls.recv(1):
                    got_request.set()
        except (ssl.SSLError, OSError):
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    url = f"https://127.0.0.1:{port}/v1"
    with (
        imagewright.Client(KEY, base_url=url, max_retries=0) as c,
        pytest.raises(imagewright.APIConnectionError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        c.generate("x", quality="low")
    thread.join(timeout=5)
    sock.close()
    assert not got_request.is_set()  # not one byte of the request (or the key) was sent


# ------------------------------------------------------------------------------ plain http


@pytest.mark.parametrize("cls", [imagewright.Client, imagewright.AsyncClient])
def test_plain_http_to_another_machine_warns(cls: type[Any]) -> None:
    with pytest.warns(imagewright.InsecureURLWarning, match="10.1.2.3"):
        cls(KEY, base_url="http://10.1.2.3:8000/v1")


def test_plain_http_from_the_environment_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://api.example.com/v1")
    with pytest.warns(imagewright.InsecureURLWarning, match="api.example.com"):
        imagewright.Client(KEY)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.example.com/v1",
        "http://127.0.0.1:8089/v1",
        "http://localhost:8089/v1",
        "http://[::1]:8089/v1",
        "http://127.9.9.9/v1",
    ],
)
def test_https_and_loopback_are_quiet(url: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        imagewright.Client(KEY, base_url=url)
        imagewright.Client.sandbox()


# ------------------------------------------------------------------------------ folders


@pytest.fixture
def saved_edit(tmp_path: Path) -> Path:
    client = imagewright.Client.sandbox()
    request = EditRequest(
        png_bytes((64, 64)),
        "paint it",
        mask=Mask.box((64, 64), (0, 0, 32, 32)),
        metadata={"name": "../../escaped", "file": "/tmp/escaped.png", "key": "..\\x"},
    )
    events = list(client.stream_edit(request, partial_images=1, quality="low"))
    folder: Path = events[-1].save(tmp_path / "out")
    client.close()
    return folder


def test_hostile_metadata_writes_nothing_outside_the_folder(saved_edit: Path) -> None:
    # The fixture saved into tmp_path/out: nothing else may exist under tmp_path.
    outside = [
        p for p in saved_edit.parent.rglob("*") if p != saved_edit and saved_edit not in p.parents
    ]
    assert outside == []
    assert len(list(saved_edit.iterdir())) > 3
    assert Result.load(saved_edit).outputs


def _receipt(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / RECEIPT_NAME).read_text())
    return data


def _write_receipt(folder: Path, rec: dict[str, Any]) -> None:
    (folder / RECEIPT_NAME).write_text(json.dumps(rec))


@pytest.mark.parametrize(
    "name", ["../outside.png", "/etc/passwd", "sub/x.png", "..\\x.png", ".hidden.png"]
)
def test_a_receipt_cannot_point_outside_its_folder(saved_edit: Path, name: str) -> None:
    rec = _receipt(saved_edit)
    rec["call"]["images"][0]["file"] = name
    _write_receipt(saved_edit, rec)
    with pytest.raises(ValueError, match="unsafe file"):
        Result.load(saved_edit)


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("which", ["output", "input", "mask", "partial"])
def test_a_tampered_file_fails_the_sha256_check(saved_edit: Path, which: str) -> None:
    rec = _receipt(saved_edit)
    entry = {
        "output": rec["outputs"][0],
        "input": rec["call"]["images"][0],
        "mask": rec["call"]["mask"],
        "partial": rec["partial_images"][0],
    }[which]
    _flip_byte(saved_edit / entry["file"])
    with pytest.raises(ValueError, match="sha256"):
        Result.load(saved_edit)


@pytest.mark.parametrize("which", ["output", "input", "mask", "partial"])
def test_a_receipt_edited_to_skip_the_check_is_refused(saved_edit: Path, which: str) -> None:
    rec = _receipt(saved_edit)
    entry = {
        "output": rec["outputs"][0],
        "input": rec["call"]["images"][0],
        "mask": rec["call"]["mask"],
        "partial": rec["partial_images"][0],
    }[which]
    del entry["sha256"]
    _flip_byte(saved_edit / entry["file"])
    _write_receipt(saved_edit, rec)
    with pytest.raises(ValueError, match="sha256"):
        Result.load(saved_edit)


def test_a_raw_file_is_checked_against_raw_sha256(tmp_path: Path) -> None:
    """Regression: the raw (pre-paste-back) output was read without any check."""
    from imagewright._receipts import read_checked, sha256

    (tmp_path / "output-0.raw.png").write_bytes(b"tampered")
    entry = {"raw_file": "output-0.raw.png", "raw_sha256": sha256(b"original")}
    with pytest.raises(ValueError, match="sha256"):
        read_checked(tmp_path, entry, key="raw_file")


@pytest.fixture
def saved_session(tmp_path: Path) -> Path:
    """A session of two masked edits, saved by the sync client on the sandbox."""
    with imagewright.Client.sandbox() as client:
        session = client.session(png_bytes((64, 64)), quality="low")
        for text in ("paint it", "paint it again"):
            session.edit(text, mask=Mask.box((64, 64), (0, 0, 32, 32)))
        folder: Path = session.save(tmp_path / "session")
    return folder


def _edit_json(path: Path, change: Any) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, indent=2))


@pytest.mark.parametrize(
    "which", ["source", "step output", "step input", "step mask", "step receipt"]
)
def test_a_tampered_session_fails_the_sha256_check(saved_session: Path, which: str) -> None:
    manifest = json.loads((saved_session / "session.json").read_text())
    step = saved_session / "step-002"
    receipt = _receipt(step)
    if which == "source":
        _flip_byte(saved_session / manifest["source"]["file"])
    elif which == "step output":
        _flip_byte(step / receipt["outputs"][0]["file"])
    elif which == "step input":
        _flip_byte(step / receipt["call"]["images"][0]["file"])
    elif which == "step mask":
        _flip_byte(step / receipt["call"]["mask"]["file"])
    else:  # an edited receipt: the prompt now claims another instruction
        _edit_json(step / RECEIPT_NAME, lambda r: r["call"].update(prompt="something else"))
    with pytest.raises(imagewright.IntegrityError, match="sha256"):
        Session.load(saved_session)


def test_an_untouched_session_loads(saved_session: Path) -> None:
    assert [s.result.call.prompt for s in Session.load(saved_session).steps] == [
        "paint it",
        "paint it again",
    ]


@pytest.fixture
def saved_job(tmp_path: Path) -> tuple[Path, imagewright.Client]:
    client = imagewright.Client.sandbox()
    job = client.batches.submit([("one", 'a "SIGN"'), ("two", 'a "POSTER"')], quality="low")
    return job.save(tmp_path / "job.json"), client


def _set_prompt(doc: dict[str, Any]) -> None:
    doc["lines"][0]["prompt"] = "something else"


def _set_batch(doc: dict[str, Any]) -> None:
    doc["batches"][0]["id"] = "batch_someone_elses"


def _drop_hash(doc: dict[str, Any]) -> None:
    del doc["sha256"]


@pytest.mark.parametrize(
    "tamper",
    [_set_prompt, _set_batch, _drop_hash, "flipped byte"],
    ids=lambda t: getattr(t, "__name__", t).strip("_"),
)
def test_a_tampered_batch_handle_fails_the_sha256_check(
    saved_job: tuple[Path, imagewright.Client], tamper: Any
) -> None:
    path, client = saved_job
    if tamper == "flipped byte":
        _flip_byte(path)
    else:
        _edit_json(path, tamper)
    with pytest.raises(imagewright.IntegrityError, match=r"sha256|not JSON"):
        BatchJob.load(path, client)
    client.close()


def test_an_untouched_batch_handle_loads_and_collects(
    saved_job: tuple[Path, imagewright.Client],
) -> None:
    path, client = saved_job
    job = BatchJob.load(path, client)
    job.wait(progress=False, poll=0.01)
    assert [r.call.prompt for r in job.results()] == ['a "SIGN"', 'a "POSTER"']
    client.close()


def test_a_malformed_receipt_is_a_value_error(saved_edit: Path) -> None:
    rec = _receipt(saved_edit)
    del rec["outputs"][0]["index"]
    _write_receipt(saved_edit, rec)
    with pytest.raises(ValueError, match="malformed"):
        Result.load(saved_edit)


# ------------------------------------------------------------------------------ hostile names

HOSTILE_NAMES = [
    "../x",
    "..",
    "a/../../x",
    "/tmp/imagewright-escaped",
    "a\\b",
    "a\x00b",
    "x" * 129,
    "x" * 4096,
    "CON",
    "nul",
    "Aux.png",
    "com1",
    "LPT9.txt",
    "trailing.",
    ".hidden",
    "-dash",
    "",
    "a b",
    "\u00e9t\u00e9",
]


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("key", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
async def test_a_hostile_map_key_is_refused_before_anything_is_sent(
    make_client: Any, tmp_path: Path, key: str
) -> None:
    client = make_client.sandbox()
    out = tmp_path / "out"
    requests = [{"prompt": 'a "SIGN"', "key": "fine"}, {"prompt": 'a "SIGN"', "key": key}]
    with pytest.raises(imagewright.ValidationError, match=r"requests\[1\]\.key") as info:
        client.client.map(requests, save_to=out, quality="low", progress=False)
    assert "a key names the request's result folder" in str(info.value)
    assert client.client.sandbox_engine.requests == 0
    assert _files_under(tmp_path) == []


async def test_a_hostile_key_from_a_generator_fails_alone_and_writes_inside(
    make_client: Any, tmp_path: Path
) -> None:
    """A generator is read as it goes: each hostile key is its own typed Failure; the good
    request is sent and saved, and nothing is written outside ``save_to``."""
    client = make_client.sandbox()
    out = tmp_path / "out"
    requests = (
        {"prompt": 'a "SIGN"', "key": k} for k in ["fine", "../escaped", "/tmp/x", "CON", "nul."]
    )
    run = client.client.map(requests, save_to=out, quality="low", progress=False)
    outcomes = [o async for o in run] if client.is_async else list(run)
    failures = [o for o in outcomes if isinstance(o, imagewright.Failure)]
    assert len(failures) == 4
    assert all(isinstance(f.error, imagewright.ValidationError) for f in failures)
    assert all(f.may_have_been_billed is False for f in failures)
    assert client.client.sandbox_engine.billed_images == 1
    assert [p.name for p in out.iterdir()] == ["fine"]
    assert all(out in p.parents for p in _files_under(tmp_path))


def test_hostile_custom_ids_stay_inside_the_collect_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``imagewright batch collect`` names each result folder by its line's custom_id: an id
    that is a path, ``..``, a NUL, a device name or too long gets a hashed name instead, and a
    result is never lost or written outside ``--out``."""
    from imagewright._batch_cli import _collect

    outside = tmp_path / "outside-target"
    ids = [
        "../escaped",
        str(outside),
        "a\x00b",
        "x" * 300,
        "CON",
        "failures.jsonl",
        "Sign",
        "sign",
        "ok-1",
    ]
    with SandboxServer() as server:
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        with imagewright.Client() as client:
            job = client.batches.submit([(i, f'a "SIGN {n}"') for n, i in enumerate(ids)])
            handle = job.save(tmp_path / "job.json")
        args = argparse.Namespace(
            job=str(handle),
            out=str(tmp_path / "out"),
            wait=True,
            quiet=True,
            poll=0.01,
            sandbox=False,
            budget=None,
        )
        assert _collect(args) == 0
    out = tmp_path / "out"
    assert not outside.exists()
    assert not (tmp_path / "escaped").exists()
    assert all(p == handle or out in p.parents for p in _files_under(tmp_path))
    folders = sorted(p.name for p in out.iterdir())
    assert len(folders) == len(ids)  # every paid result kept, none replaced by another
    assert {"Sign", "ok-1"} <= set(folders)
    assert sum(name.startswith("request-") for name in folders) == len(ids) - 2
    prompts = sorted(Result.load(out / name).call.prompt for name in folders)
    assert prompts == sorted(f'a "SIGN {n}"' for n in range(len(ids)))
    assert "cannot name its folder here" in capsys.readouterr().out


# ------------------------------------------------------------------------------ no pickle

_UNSAFE_MODULES = {
    "pickle",
    "cPickle",
    "_pickle",
    "shelve",
    "marshal",
    "dill",
    "cloudpickle",
    "joblib",
}


def test_no_source_module_imports_a_deserialiser_of_code() -> None:
    found = []
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module.split(".")[0]]
            elif isinstance(node, ast.keyword) and node.arg == "allow_pickle":
                names = ["allow_pickle"]
            found += [
                f"{path.name}:{node.lineno} {n}"
                for n in names
                if n in _UNSAFE_MODULES | {"allow_pickle"}
            ]  # type: ignore[attr-defined]
    assert found == []


def test_save_and_load_never_unpickle(saved_edit: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("something was unpickled")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    loaded = Result.load(saved_edit)
    loaded.save(saved_edit.parent / "again")
    assert Result.load(saved_edit.parent / "again").outputs[0].data == loaded.outputs[0].data


# ------------------------------------------------------------------------------ serve


def _serve(*args: str) -> tuple[str, str]:
    env = {**os.environ, "PYTHONPATH": str(SRC.parent)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "imagewright", "serve", "--port", "0", "--quiet", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    return first, err


def test_serve_binds_loopback_by_default_and_says_so() -> None:
    first, err = _serve()
    assert "listening on http://127.0.0.1:" in first
    assert "WARNING" not in err


def test_serve_on_another_interface_warns_loudly() -> None:
    first, err = _serve("--host", "0.0.0.0")
    assert "listening on http://0.0.0.0:" in first
    assert "WARNING: the sandbox is bound to 0.0.0.0" in err
    assert "other machines on the network can reach it" in err
