"""The gate's costs on a synthetic fleet, against the floor of merely parsing its evidence.

    python benchmarks/bench_gate.py                  # generates benchmarks/data/fleet if missing
    python benchmarks/bench_gate.py --generate       # regenerate first
    python benchmarks/bench_gate.py --data DIR --generate --fleet-args "--workflows 120 --seed 11"
    python benchmarks/bench_gate.py --scale 10       # a 10x fleet (10M drift records), on demand
    python benchmarks/bench_gate.py --profile        # plus the warm fleet gate under cProfile

In one run, each measurement ``--repeat`` times (median reported, the slowest run's peak RSS):

* **floor**: reading and parsing every evidence file with orjson (JSON Lines line by line,
  JSON whole) and libyaml (YAML, Markdown front matter), in this process; nothing else;
* **cold fleet gate**: ``assay gate --all`` with the project's cache (``.assay/``) deleted;
* **warm fleet gate (replayed)**: the same again, nothing changed: the gate replays what it
  recorded (``.assay/results/``, see ``src/assay/cli/replay.py``);
* **warm fleet gate, new --as-of**: unchanged evidence, but an ``--as-of`` a few seconds on
  (another each repeat), so the gate assesses again on the warm evidence store;
* **warm fleet gate, an earlier --as-of**: the same, asked about the fleet as it stood
  180 days before (most of its evidence created later, many checks counting nothing);
* **one workflow**: ``assay gate --workflow W``, warm: replayed, and with a new ``--as-of``;
* **incremental**: ``assay gate --workflow W`` after one new evidence file landed in W's
  folder (removed again afterwards, and the cache settled before the next repeat);
* **library incremental**: the same re-gate through the library in a process that already
  imported Assay (``load_project`` + ``assess_fleet([W])``), and the warm one before it;
* ``assay --version`` and ``assay gate --all`` on ``examples/``.

Every command runs as a child process, its output discarded; ``os.wait4`` gives the peak
resident memory of exactly that child. Next to each figure: the 1-minute load average when
it was taken (the machine may be shared; ratios against the floor of the same run are what
compare). It exits 2 when a gate reports invalid input (exit 2): the fleet must load cleanly
for the figures to mean anything. Exit 1 from a gate is expected (some workflows fail).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _fleet_common import (  # noqa: E402
    BENCH_DIR,
    DEFAULT_AS_OF,
    DEFAULT_DATA,
    REPO_ROOT,
    evidence_files,
    parse_file,
)

# The targets of the evidence-engine work, on the 2-core development machine.
EARLIER_DAYS = 180  # how far back the earlier --as-of lies
TARGET_COLD = 1.5  # x the floor
TARGET_WARM = 0.3  # x the floor
TARGET_ONE_S = 0.3  # one workflow, and an incremental re-gate: whole process
TARGET_ONE_MB = 200.0
TARGET_LIBRARY_S = 0.1  # an incremental re-gate through the library
TARGET_FLEET_MB = 500.0
TARGET_VERSION_S = 0.15
TARGET_EXAMPLES_S = 0.4

# A scaled fleet multiplies every volume of the default fleet.
BASE_VOLUMES = {
    "--workflows": 200,
    "--drift-records": 1_000_000,
    "--deploys": 20_000,
    "--incidents": 2_000,
    "--feedback": 10_000,
}


@dataclass(frozen=True)
class Run:
    seconds: float
    exit_code: int
    peak_rss_mb: float
    load: float
    stderr: str


@dataclass(frozen=True)
class Figure:
    label: str
    seconds: float
    peak_rss_mb: float | None
    load: float
    runs: int


def load_average() -> float:
    return os.getloadavg()[0]


def measure_floor(root: Path) -> tuple[float, int, int]:
    """Seconds to parse every evidence file, the number of records and of bytes read."""
    files = evidence_files(root)
    start = time.perf_counter()
    records = 0
    size = 0
    for path in files:
        size += path.stat().st_size
        for _ in parse_file(path):
            records += 1
    return time.perf_counter() - start, records, size


def assay(*args: str) -> list[str]:
    return [sys.executable, "-m", "assay", *args]


def gate_command(root: Path, as_of: str, *selection: str) -> list[str]:
    # Output goes to a discarded stdout, not `--output /dev/null`: the CLI writes files
    # atomically (temp file + rename), which must never be pointed at a device node.
    return assay(
        "gate", "--project", str(root), *(selection or ("--all",)), "--as-of", as_of,
        "--format", "json",
    )  # fmt: skip


def run_child(command: Sequence[str], cwd: Path | None = None) -> Run:
    """Run a child process; its wall time, exit code, peak RSS and stderr."""
    with tempfile.TemporaryFile() as err:
        load = load_average()
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, cwd=cwd)
        # wait4 returns the resource usage of exactly this child (ru_maxrss in KiB on Linux).
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    return Run(seconds, proc.returncode, usage.ru_maxrss / 1024, load, stderr)


class GateFailed(Exception):
    def __init__(self, label: str, run: Run):
        super().__init__(label)
        self.label = label
        self.run = run


def measure(
    label: str,
    command: Sequence[str] | Callable[[int], Sequence[str]],
    repeat: int,
    before: Callable[[int], None] | None = None,
    after: Callable[[int], None] | None = None,
) -> Figure:
    """``repeat`` runs of ``command`` (``before``/``after`` each, unmeasured): the median."""
    runs = []
    for i in range(repeat):
        if before is not None:
            before(i)
        try:
            run = run_child(command(i) if callable(command) else command)
        finally:
            if after is not None:
                after(i)
        if run.exit_code not in (0, 1):
            raise GateFailed(label, run)
        runs.append(run)
        print(
            f"  {label:<34} {run.seconds:8.3f} s {run.peak_rss_mb:8.0f} MB  load {run.load:4.1f}",
            flush=True,
        )
    return Figure(
        label,
        statistics.median(r.seconds for r in runs),
        max(r.peak_rss_mb for r in runs),
        statistics.median(r.load for r in runs),
        len(runs),
    )


def first_workflow(root: Path) -> str:
    return sorted(p.stem for p in (root / "workflows").glob("*.yaml"))[0]


class NewFile:
    """One new evidence file for a workflow: the first 100 drift runs of its log again,
    under new ids (a different content each repeat, so it is new to the cache)."""

    def __init__(self, root: Path, workflow: str):
        self.root = root
        self.folder = root / "evidence" / workflow
        self.path = self.folder / "drift_log-bench-extra.jsonl"
        self.lines = (self.folder / "drift_log.jsonl").read_bytes().splitlines()[:100]

    def add(self, i: int) -> None:
        prefix = f'"id":"bench{i}-'.encode()
        self.path.write_bytes(
            b"".join(line.replace(b'"id":"', prefix, 1) + b"\n" for line in self.lines)
        )

    def remove(self, _: int = 0) -> None:
        self.path.unlink(missing_ok=True)


def wipe_cache(root: Path) -> None:
    shutil.rmtree(root / ".assay", ignore_errors=True)


# Through the library, in one process that has imported Assay already: a warm re-gate of
# one workflow, then the same after one new evidence file (each: load the project, assess
# that workflow, close). What an editor integration or a long-running service would pay.
_LIBRARY_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from assay import load_project
from assay.evaluate import assess_fleet
from assay.models.time import parse_instant
root, workflow, as_of = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
extra, lines, tag = Path(sys.argv[4]), Path(sys.argv[5]).read_bytes().splitlines()[:100], sys.argv[6]
when = parse_instant(as_of)

def regate():
    # The machine's clock is "now", as for the CLI (evidence may not postdate it).
    start = time.perf_counter()
    project = load_project(root)
    try:
        assess_fleet(project, [workflow], when)
    finally:
        project.close()
    return time.perf_counter() - start

regate()  # settles the cache and warms this process (imports, first queries)
warm = min(regate() for _ in range(3))
prefix = ('"id":"lib' + tag + '-').encode()
extra.write_bytes(b"".join(line.replace(b'"id":"', prefix, 1) + b"\n" for line in lines))
try:
    incremental = regate()
finally:
    extra.unlink()
regate()  # the file gone: settle again
print(json.dumps({"warm": warm, "incremental": incremental,
    "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure_library(root: Path, workflow: str, as_of: str, tag: str) -> dict[str, float]:
    folder = root / "evidence" / workflow
    load = load_average()
    out = subprocess.run(
        [
            sys.executable, "-c", _LIBRARY_CHILD, str(root), workflow, as_of,
            str(folder / "drift_log-bench-lib.jsonl"), str(folder / "drift_log.jsonl"), tag,
        ],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    result: dict[str, float] = json.loads(out.stdout)
    result["load"] = load
    return result


def profile_gate(root: Path, as_of: str, top: int) -> None:
    """The warm fleet gate in this process under cProfile (so ~1.5-2x slower)."""
    from assay import load_project
    from assay.evaluate import assess_fleet
    from assay.formats import get_formatter
    from assay.models.time import parse_instant

    when = parse_instant(as_of)
    profiler = cProfile.Profile()
    profiler.enable()
    project = load_project(root)
    get_formatter("json")(assess_fleet(project, None, when))
    project.close()
    profiler.disable()
    for key in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(key).print_stats(top)
        print(f"\nTop {top} functions by {key} time (warm fleet gate, under cProfile):")
        text = out.getvalue()
        print(text[text.find("   ncalls") :].rstrip())


def ensure_fleet(root: Path, regenerate: bool, as_of: str, fleet_args: Sequence[str]) -> None:
    if (root / "assay.yaml").is_file() and not regenerate:
        return
    import generate_fleet

    print(f"generating the fleet in {root} {' '.join(fleet_args)} ...", flush=True)
    start = time.perf_counter()
    generate_fleet.main(["--out", str(root), "--as-of", as_of, *fleet_args])
    print(f"generated in {time.perf_counter() - start:.1f} s\n", flush=True)


def verdict(value: float, target: float) -> str:
    return "met" if value <= target else "NOT met"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Gate benchmark: the gate's costs vs a floor.")
    parser.add_argument("--data", type=Path, default=None, help="Fleet folder.")
    parser.add_argument("--generate", action="store_true", help="(Re)generate the fleet first.")
    parser.add_argument(
        "--fleet-args", default="", help="Extra generate_fleet.py options (another shape)."
    )
    parser.add_argument(
        "--scale",
        type=int,
        default=1,
        help="Multiply every volume of the default fleet (10: 10M drift records, ~5 GB, "
        "generated on demand in benchmarks/data/fleet-10x).",
    )
    parser.add_argument("--as-of", default=DEFAULT_AS_OF, help="The fleet's fixed 'now'.")
    parser.add_argument("--repeat", type=int, default=3, help="Runs per measurement (median).")
    parser.add_argument("--skip-cold", action="store_true", help="Leave the cold gate out.")
    parser.add_argument("--profile", action="store_true", help="Also profile the warm gate.")
    parser.add_argument("--top", type=int, default=30, help="Functions shown by --profile.")
    args = parser.parse_args(argv)
    fleet_args = shlex.split(args.fleet_args)
    if args.scale != 1:
        fleet_args = [
            *(a for flag, n in BASE_VOLUMES.items() for a in (flag, str(n * args.scale))),
            *fleet_args,
        ]
    data = args.data or (
        DEFAULT_DATA if args.scale == 1 else BENCH_DIR / "data" / f"fleet-{args.scale}x"
    )
    root: Path = data.resolve()
    ensure_fleet(root, args.generate, args.as_of, fleet_args)
    workflow = first_workflow(root)
    files = evidence_files(root)
    print(f"fleet: {root} ({len(list((root / 'workflows').glob('*.yaml')))} workflows)")
    print(f"evidence: {len(files):,} files; one workflow = {workflow}\n")

    repeat = args.repeat
    floors = []
    records = size = 0
    for _ in range(repeat):
        load = load_average()
        seconds, records, size = measure_floor(root)
        floors.append((seconds, load))
        print(f"  {'floor (orjson + libyaml)':<34} {seconds:8.3f} s {'':>11}  load {load:4.1f}")
    floor = statistics.median(s for s, _ in floors)
    floor_load = statistics.median(load for _, load in floors)

    def later(i: int) -> str:
        """--as-of a few seconds on: the same evidence, a question not asked before, so the
        gate assesses instead of replaying its record."""
        when = datetime.fromisoformat(args.as_of) + timedelta(seconds=i + 1)
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")

    def earlier(i: int) -> str:
        """An --as-of months back (and a few seconds on each repeat): what an auditor asks."""
        when = datetime.fromisoformat(args.as_of) - timedelta(days=EARLIER_DAYS, seconds=-i)
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")

    extra = NewFile(root, workflow)
    extra.remove()
    one = ("--workflow", workflow)
    figures: dict[str, Figure] = {}
    try:
        if not args.skip_cold:
            figures["cold"] = measure(
                "cold fleet gate (cache deleted)",
                gate_command(root, args.as_of),
                repeat,
                before=lambda _: wipe_cache(root),
            )
        else:
            run_child(gate_command(root, args.as_of))  # the cache built, unmeasured
        figures["warm"] = measure(
            "warm fleet gate (replayed)", gate_command(root, args.as_of), repeat
        )
        figures["warm-assessed"] = measure(
            "warm fleet gate, new --as-of", lambda i: gate_command(root, later(i)), repeat
        )
        figures["warm-earlier"] = measure(
            f"warm fleet gate, --as-of {EARLIER_DAYS}d back",
            lambda i: gate_command(root, earlier(i)),
            repeat,
        )
        run_child(gate_command(root, args.as_of, *one))  # the gate asked once: recorded
        figures["one"] = measure(
            "one workflow, warm (replayed)", gate_command(root, args.as_of, *one), repeat
        )
        figures["one-assessed"] = measure(
            "one workflow, warm, new --as-of",
            lambda i: gate_command(root, later(i), *one),
            repeat,
        )

        def settle(i: int) -> None:
            extra.remove()
            run_child(gate_command(root, args.as_of, *one))  # the deletion recorded

        figures["incremental"] = measure(
            "one workflow after one new file",
            gate_command(root, args.as_of, *one),
            repeat,
            before=extra.add,
            after=settle,
        )
        figures["version"] = measure("assay --version", assay("--version"), repeat)
        examples = REPO_ROOT / "examples"
        figures["examples"] = measure(
            "assay gate on examples/",
            assay("gate", "--project", str(examples), "--all", "--format", "json"),
            repeat,
        )
    except GateFailed as failed:
        print(f"\n{failed.label}: exit {failed.run.exit_code} (invalid input or a crash):")
        for line in failed.run.stderr.splitlines()[:20]:
            print(f"  {line}")
        return 2
    finally:
        extra.remove()
    library = [measure_library(root, workflow, args.as_of, str(i)) for i in range(repeat)]
    lib_warm = statistics.median(r["warm"] for r in library)
    lib_incr = statistics.median(r["incremental"] for r in library)
    lib_load = statistics.median(r["load"] for r in library)
    lib_rss = max(r["rss"] for r in library)
    for r in library:
        print(
            f"  {'library: warm / after one new file':<34} {r['warm']:8.3f} s / "
            f"{r['incremental']:.3f} s {r['rss']:6.0f} MB  load {r['load']:4.1f}"
        )

    print(f"\nrecords parsed {records:,} ({size / 1e6:,.0f} MB in {len(files):,} files)")
    print(f"median of {repeat}; load = 1-minute load average when measured\n")
    print(f"{'':<36}{'seconds':>9}{'/floor':>8}{'peak RSS':>10}{'load':>6}  target")

    def row(label: str, seconds: float, rss: float | None, load: float, target: str) -> None:
        ratio = f"{seconds / floor:8.2f}" if floor > 0 else f"{'-':>8}"
        memory = f"{rss:7.0f} MB" if rss is not None else f"{'':>10}"
        print(f"{label:<36}{seconds:9.3f}{ratio}{memory}{load:6.1f}  {target}")

    row("floor (orjson + libyaml)", floor, None, floor_load, "")
    for key, figure in figures.items():
        s, mb = figure.seconds, figure.peak_rss_mb or 0.0
        if key == "cold":
            target = (
                f"<= {TARGET_COLD} x floor: {verdict(s / floor, TARGET_COLD)}; "
                f"<= {TARGET_FLEET_MB:.0f} MB: {verdict(mb, TARGET_FLEET_MB)}"
            )
        elif key in ("warm", "warm-assessed", "warm-earlier"):
            target = (
                f"<= {TARGET_WARM} x floor: {verdict(s / floor, TARGET_WARM)}; "
                f"<= {TARGET_FLEET_MB:.0f} MB: {verdict(mb, TARGET_FLEET_MB)}"
            )
        elif key in ("one", "one-assessed", "incremental"):
            target = (
                f"<= {TARGET_ONE_S} s: {verdict(s, TARGET_ONE_S)}; "
                f"<= {TARGET_ONE_MB:.0f} MB: {verdict(mb, TARGET_ONE_MB)}"
            )
        elif key == "version":
            target = f"<= {TARGET_VERSION_S} s: {verdict(s, TARGET_VERSION_S)}"
        else:
            target = f"<= {TARGET_EXAMPLES_S} s: {verdict(s, TARGET_EXAMPLES_S)}"
        row(figure.label, s, figure.peak_rss_mb, figure.load, target)
    row("library: one workflow, warm", lib_warm, lib_rss, lib_load, "")
    row(
        "library: after one new file",
        lib_incr,
        None,
        lib_load,
        f"<= {TARGET_LIBRARY_S} s: {verdict(lib_incr, TARGET_LIBRARY_S)}",
    )
    if args.profile:
        profile_gate(root, args.as_of, args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
