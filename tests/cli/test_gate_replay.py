"""A gate whose inputs, options and --as-of are unchanged replays its recorded outputs and
exit code (src/assay/cli/replay.py). Every change to what the gate read makes it assess
again; a damaged, copied or committed record is never replayed; nothing is recorded for
inputs that changed too recently to trust their stat, nor for a gate without --as-of."""

from __future__ import annotations

import importlib
import os
import shutil
import time
from pathlib import Path

import pytest
from projectkit import copy_project

from assay.cli import replay
from assay.cli.main import main

pytestmark = pytest.mark.replay

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
AS_OF = "2026-11-20T12:00:00Z"
# The module, not the `main` function the package exports under the same name.
cli_main = importlib.import_module("assay.cli.main")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    copy_project(EXAMPLES, root)
    for name in ("NO_COLOR", "COLUMNS", "TERM"):
        monkeypatch.delenv(name, raising=False)
    # The copy is seconds old: trust stats taken after the gate starts (the real margin is
    # tested below), and let the clock move past the copy's change times.
    monkeypatch.setattr(replay, "SETTLED_NS", 0)
    time.sleep(0.02)
    return root


@pytest.fixture
def assessed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the gates that really ran (loaded the project), not replayed."""
    calls: list[int] = []
    real = cli_main._load

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(cli_main, "_load", counting)
    return calls


def gate(
    capsys: pytest.CaptureFixture[str], root: Path, *extra: str, as_of: str | None = AS_OF
) -> tuple[int, str, str]:
    capsys.readouterr()
    dated = ("--as-of", as_of) if as_of else ()
    code = main(["gate", "--project", str(root), "--all", *dated, *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def entries(root: Path) -> list[Path]:
    return sorted((root / ".assay" / "results").glob("*.gate"))


def test_unchanged_inputs_replay_the_same_outputs_and_exit_code(
    project: Path, assessed: list[int], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    report = tmp_path / "out" / "report.sarif"
    first = gate(capsys, project, "--format", "json", "--format", f"sarif={report}")
    assert first[0] == 1 and first[2] == "" and first[1].startswith("{")
    assert len(assessed) == 1 and len(entries(project)) == 1
    sarif = report.read_bytes()
    report.unlink()

    again = gate(capsys, project, "--format", "json", "--format", f"sarif={report}")
    assert again == first
    assert len(assessed) == 1, "the second gate assessed instead of replaying"
    assert report.read_bytes() == sarif  # the file output is written again, byte for byte


def test_touching_a_file_without_changing_it_still_replays(
    project: Path, assessed: list[int], capsys: pytest.CaptureFixture[str]
) -> None:
    first = gate(capsys, project)
    evidence = next((project / "evidence").rglob("*.jsonl"))
    os.utime(evidence)  # a new mtime, the same bytes: hashed again, and it matches
    assert gate(capsys, project) == first
    assert len(assessed) == 1


def _edit_comment(root: Path, rel: str) -> None:
    path = root / rel
    path.write_text(path.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")


def _first(root: Path, pattern: str) -> str:
    return min(p.relative_to(root).as_posix() for p in root.glob(pattern))


def _change_record_same_size(root: Path) -> None:
    """Change one character of an evidence file and put its mtime back: only the change
    time (which cannot be set back) and the content tell."""
    path = root / "evidence" / "claims-triage" / "incidents" / "incidents.yaml"
    before = path.stat()
    data = path.read_bytes()
    assert b"severity: SEV1" in data
    path.write_bytes(data.replace(b"severity: SEV1", b"severity: SEV2", 1))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


CHANGES = {
    "config": lambda root: _edit_comment(root, "assay.yaml"),
    "workflow": lambda root: _edit_comment(root, _first(root, "workflows/*.yaml")),
    "waiver": lambda root: _edit_comment(root, _first(root, "waivers/*.yaml")),
    "evidence edited, same size and mtime": _change_record_same_size,
    "evidence removed": lambda root: (root / _first(root, "evidence/**/*.jsonl")).unlink(),
    "evidence added (invalid)": lambda root: (root / "evidence" / "new.jsonl").write_text(
        "{not json\n", encoding="utf-8"
    ),
    "config removed": lambda root: (root / "assay.yaml").rename(root / "assay.yaml.bak"),
    "workflow folder gains a file": lambda root: (root / "workflows" / "extra.yaml").write_text(
        "[]\n", encoding="utf-8"
    ),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_any_change_of_an_input_assesses_again(
    change: str, project: Path, assessed: list[int], capsys: pytest.CaptureFixture[str]
) -> None:
    gate(capsys, project)
    CHANGES[change](project)
    time.sleep(0.02)
    after = gate(capsys, project)
    assert len(assessed) == 2, f"{change}: the gate replayed a stale record"
    assert after == gate(capsys, project, "--no-cache")  # what a fresh gate says


@pytest.mark.parametrize(
    "options",
    [
        ("--as-of", "2026-11-21T12:00:00Z"),
        ("--format", "markdown"),
        ("--quiet",),
        ("--width", "60"),
    ],
    ids=lambda o: " ".join(o),
)
def test_other_options_are_another_gate(
    options: tuple[str, ...],
    project: Path,
    assessed: list[int],
    capsys: pytest.CaptureFixture[str],
) -> None:
    gate(capsys, project)
    extra = options if options[0] != "--as-of" else ()
    as_of = options[1] if options[0] == "--as-of" else AS_OF
    other = gate(capsys, project, *extra, as_of=as_of)
    assert len(assessed) == 2
    assert gate(capsys, project, *extra, as_of=as_of) == other
    assert len(assessed) == 2  # and that one is recorded too


def test_a_damaged_record_is_not_replayed_and_is_replaced(
    project: Path, assessed: list[int], capsys: pytest.CaptureFixture[str]
) -> None:
    first = gate(capsys, project, "--format", "json")
    (entry,) = entries(project)
    data = bytearray(entry.read_bytes())
    at = data.index(b'"verdict"')
    data[at + 1 : at + 8] = b"VERDICT"
    entry.write_bytes(bytes(data))
    assert gate(capsys, project, "--format", "json") == first
    assert len(assessed) == 2
    assert gate(capsys, project, "--format", "json") == first
    assert len(assessed) == 2  # the record written again is whole


def test_a_copied_or_committed_cache_is_not_replayed(
    project: Path, assessed: list[int], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first = gate(capsys, project)
    # A clone of a repository that committed its .assay/, or a copied checkout: the same
    # bytes everywhere, the record included, but not the cache folder that recorded it.
    copy = tmp_path / "copy"
    shutil.copytree(project, copy)
    time.sleep(0.02)
    assert entries(copy)
    assert gate(capsys, copy) == first
    assert len(assessed) == 2, "a record copied from another checkout was replayed"


def test_recently_changed_inputs_are_not_recorded(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replay, "SETTLED_NS", 2_000_000_000)  # the shipped margin
    assert replay.SETTLED_NS == 2_000_000_000
    gate(capsys, project)
    assert entries(project) == []  # the copy is younger than two seconds


def test_a_gate_without_as_of_is_never_recorded(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gate(capsys, project, as_of=None)
    assert entries(project) == []


def test_no_cache_assesses_even_with_a_record(
    project: Path, assessed: list[int], capsys: pytest.CaptureFixture[str]
) -> None:
    first = gate(capsys, project)
    assert gate(capsys, project, "--no-cache") == first
    assert len(assessed) == 2


def test_records_are_bounded(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for day in range(10, 10 + replay.MAX_ENTRIES + 3):
        gate(capsys, project, as_of=f"2026-11-{day}T12:00:00Z")
    assert len(entries(project)) == replay.MAX_ENTRIES


def test_a_clock_set_back_assesses_again(
    project: Path,
    assessed: list[int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Evidence may not postdate the machine's clock: a record made before the clock was
    set back says nothing about what a gate says now."""
    first = gate(capsys, project)
    real = time.time_ns
    monkeypatch.setattr(replay.time, "time_ns", lambda: real() - 3_600_000_000_000)
    assert gate(capsys, project) == first
    assert len(assessed) == 2


def test_a_config_file_created_where_there_was_none_assesses_again(
    project: Path, assessed: list[int], capsys: pytest.CaptureFixture[str]
) -> None:
    """Without assay.yaml the defaults apply (policies in policies/); a config file that
    appears later is an input the record must not have missed."""
    from assay.load.config import BUNDLED_POLICIES

    shutil.copytree(BUNDLED_POLICIES, project / "policies")
    (project / "assay.yaml").unlink()
    time.sleep(0.02)
    first = gate(capsys, project)
    assert first[0] == 1 and len(entries(project)) == 1
    (project / "assay.yaml").write_text("policies: [policies]\n", encoding="utf-8")
    time.sleep(0.02)
    assert gate(capsys, project) == gate(capsys, project, "--no-cache")
    assert len(assessed) == 3


def test_a_record_keeps_every_output_exactly_whatever_its_characters_or_size(
    project: Path,
) -> None:
    """Outputs are encoded a chunk at a time as they are written: lengths and bytes must
    still be exact across chunk boundaries, for text that is not ASCII and longer than a
    chunk (a fleet's report)."""
    (project / "evidence" / "note.md").write_text("x", encoding="utf-8")
    wide = "é€𝄞" * ((1 << 20) // 2) + "end"  # 1-4 UTF-8 bytes each, over a chunk
    outputs = (
        replay.Output(None, "plain ascii\n", False),
        replay.Output("report.json", wide, False),
        replay.Output(None, "", True),
        replay.Output("r.txt", "\x1b[31mFAIL\x1b[0m ünïcode\n", True),
    )
    record = replay.GateReplay(project, "k" * 64)
    assert record.record(
        replay.Recorded(1, outputs),
        started_ns=time.time_ns(),
        folders=[],
        files=[("evidence/note.md", "0" * 64, None)],
    )
    # the file's SHA-256 above is wrong on purpose: its stat is what lookup checks first
    found = replay.GateReplay(project, "k" * 64).lookup()
    assert found is not None
    with found:
        assert found.exit_code == 1
        assert [(o.target, b"".join(o.chunks()).decode(), o.color) for o in found.outputs] == [
            (o.target, o.text, o.color) for o in outputs
        ]
        assert [o.length() for o in found.outputs] == [len(str(o.text).encode()) for o in outputs]


def test_a_replay_holds_a_chunk_of_a_large_report_never_the_report(
    project: Path, tmp_path: Path
) -> None:
    """A thousand workflows make a JSON report of hundreds of megabytes: the record is
    checked and written out a chunk at a time (memory measured by tracemalloc, which counts
    allocations, not time)."""
    import tracemalloc

    (project / "evidence" / "note.md").write_text("x", encoding="utf-8")
    report = ("{" + '"k": "é", ' * 100_000 + "}\n") * 16  # ~17 MB of UTF-8
    target = tmp_path / "out" / "report.json"
    record = replay.GateReplay(project, "r" * 64)
    assert record.record(
        replay.Recorded(1, (replay.Output(str(target), report, False),)),
        started_ns=time.time_ns(),
        folders=[],
        files=[("evidence/note.md", "0" * 64, None)],
    )
    del report
    tracemalloc.start()
    try:
        found = replay.GateReplay(project, "r" * 64).lookup()
        assert found is not None
        with found:
            replay.GateReplay.emit(found)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert target.stat().st_size > 16 << 20
    assert peak < 4 << 20, peak
    assert target.read_text(encoding="utf-8") == ("{" + '"k": "é", ' * 100_000 + "}\n") * 16


def test_a_record_cut_short_after_it_was_checked_is_an_error_naming_the_output(
    tmp_path: Path,
) -> None:
    """Records are replaced by rename, never changed in place; if one is cut short between
    its check and its replay anyway, writing it fails with words, not half a report."""
    from assay.errors import UsageError

    spool_file = tmp_path / "entry"
    spool_file.write_bytes(b"header\nshort")
    target = tmp_path / "report.json"
    with open(spool_file, "rb") as handle:
        output = replay.Output(str(target), replay.Spool(handle, 7, 100))
        with pytest.raises(UsageError, match="report.json: the recorded output ends early"):
            replay.GateReplay.emit(replay.Recorded(1, (output,)))
    assert not target.exists()
