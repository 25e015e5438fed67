"""The release: ``python -m build`` makes an sdist and a wheel a stranger can install.

The wheel holds the package only; the sdist holds what the test suite needs. Each is installed
into a fresh virtual environment that runs a smoke script: import, a sandbox generate and a
masked edit, and the command line's ``--help``. The environments see the system's site-packages
(``--system-site-packages``) so the dependencies need no download; the script checks that
``imagewright`` itself is imported from the fresh environment, not from a development copy.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import textwrap
import venv
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

pytest.importorskip("build")
pytest.importorskip("hatchling")

ROOT = Path(__file__).parent.parent

SMOKE = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import imagewright
    from imagewright import EditRequest, Mask

    assert Path(imagewright.__file__).resolve().is_relative_to(Path(sys.prefix).resolve()), (
        imagewright.__file__
    )
    with imagewright.Client.sandbox() as client:
        first = client.generate("a red kite over a green hill", size="1024x1024", quality="low")
        mask = Mask.box(first.output.size, (0.0, 0.0, 1.0, 0.5))
        edit = client.edit(EditRequest(first.output.data, "a stormy sky", mask=mask))
    assert edit.preservation is not None and edit.preservation.passed
    print("smoke ok", imagewright.__version__, edit.size)
    """
)


def clean_env() -> dict[str, str]:
    """The environment without anything that would put a development copy on the path."""
    drop = ("PYTHONPATH", "OPENAI_", "AZURE_OPENAI", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


def test_the_wheel_holds_the_package_and_nothing_else(dist: dict[str, Path]) -> None:
    names = zipfile.ZipFile(dist["wheel"]).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"imagewright"}
    assert not [n for n in names if "/tests/" in n or "fixtures" in n or "bench" in n]
    for needed in ("imagewright/py.typed", "imagewright/sandbox/_engine.py", "imagewright/cli.py"):
        assert needed in names


def test_the_wheel_metadata_renders_the_readme_and_names_the_project(
    dist: dict[str, Path],
) -> None:
    with zipfile.ZipFile(dist["wheel"]) as whl:
        (meta_name,) = [n for n in whl.namelist() if n.endswith(".dist-info/METADATA")]
        meta = Parser().parsestr(whl.read(meta_name).decode())
        entry_points = whl.read(meta_name.replace("METADATA", "entry_points.txt")).decode()
    assert meta["Description-Content-Type"] == "text/markdown"
    assert meta.get_payload().lstrip().startswith("# imagewright")
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert {"Homepage", "Documentation", "Repository", "Issues", "Changelog"} <= set(urls)
    assert meta["Requires-Python"] == ">=3.10"
    assert {"ocr", "test", "docs"} <= set(meta.get_all("Provides-Extra"))
    assert "License :: OSI Approved :: MIT License" in meta.get_all("Classifier")
    assert "imagewright = imagewright.cli:main" in entry_points


def test_the_sdist_holds_what_the_tests_need(dist: dict[str, Path]) -> None:
    with tarfile.open(dist["sdist"]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for needed in (
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "CHANGELOG.md",
        "mkdocs.yml",
        "src/imagewright/py.typed",
        "tests/conftest.py",
        "tests/fixtures/mask-32x32.png",
        "docs/index.md",
        "docs/img/masked-edit.png",
        "examples/notebook.ipynb",
    ):
        assert needed in names, needed
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_installs_into_a_fresh_venv_and_runs(
    kind: str, dist: dict[str, Path], tmp_path: Path
) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=False)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / "python"

    def run(*args: str | Path) -> str:
        done = subprocess.run(
            [str(a) for a in args],
            env=clean_env(),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    flags = ["-q", "--no-deps", "--no-index", "--no-build-isolation"]
    run(python, "-m", "pip", "install", *flags, dist[kind])
    assert "smoke ok" in run(python, "-c", SMOKE)
    helped = run(bindir / "imagewright", "--help")
    for command in ("demo", "generate", "edit", "estimate", "diff", "serve"):
        assert command in helped
