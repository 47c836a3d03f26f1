"""Fixtures shared across the test folders. Helpers importable by name live in
tests/support (on ``pythonpath``: tests have no packages)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from projectkit import Kit

from assay.cli.replay import GateReplay
from assay.evidence.cache import CACHE_DIR_NAME, CacheDir

ROOT = Path(__file__).resolve().parents[1]
CHECKOUT_PROJECTS = (ROOT / "examples", ROOT / "tests" / "scenarios")
"""The repository's own projects, which tests read in place: their caches go elsewhere."""


def _caches_in_checkout() -> set[Path]:
    return {p for base in CHECKOUT_PROJECTS for p in base.rglob(CACHE_DIR_NAME) if p.is_dir()}


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_CACHES_BEFORE] = _caches_in_checkout()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Tests never write into the checkout: a cache folder that appeared in one of its
    projects during the run fails it (a test that writes must work on a copy_project)."""
    new = _caches_in_checkout() - session.config.stash.get(_CACHES_BEFORE, set())
    if new:
        names = ", ".join(sorted(p.relative_to(ROOT).as_posix() for p in new))
        session.config.get_terminal_writer().line(
            f"tests wrote into the checkout: {names}", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_CACHES_BEFORE = pytest.StashKey[set[Path]]()


@pytest.fixture(scope="session", autouse=True)
def _caches_outside_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A project of the checkout read in place keeps its cache folder in a scratch folder,
    one per project, as if the checkout were read-only; any other project keeps its own."""
    scratch = tmp_path_factory.mktemp("checkout-caches")
    in_project = CacheDir.for_project.__func__  # type: ignore[attr-defined]

    def for_project(cls: type[CacheDir], root: Path) -> CacheDir:
        resolved = root.resolve()
        if any(resolved == base or base in resolved.parents for base in CHECKOUT_PROJECTS):
            key = hashlib.sha256(str(resolved).encode()).hexdigest()[:16]
            return in_project(cls, scratch / key)
        return in_project(cls, root)  # type: ignore[no-any-return]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CacheDir, "for_project", classmethod(for_project))
        yield


@pytest.fixture
def kit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Kit:
    """A small project in tmp_path (see tests/support/projectkit.py)."""
    return Kit(tmp_path / "project", capsys)


@pytest.fixture(autouse=True)
def _no_gate_replay(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Gates run in this process neither replay nor record (tests/cli/test_gate_replay.py,
    marked ``replay``, tests both): a test that patches the engine must not leave its
    outputs behind for another test, or for the examples' next user."""
    if request.node.get_closest_marker("replay") is None:
        monkeypatch.setattr(GateReplay, "lookup", lambda self: None)
        monkeypatch.setattr(GateReplay, "record", lambda self, *args, **kwargs: False)
