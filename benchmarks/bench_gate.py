"""Time `assay gate --all` on a synthetic fleet against the floor of merely parsing its evidence.

    python benchmarks/bench_gate.py                 # generates benchmarks/data/fleet if missing
    python benchmarks/bench_gate.py --generate      # regenerate first
    python benchmarks/bench_gate.py --profile       # in-process run under cProfile

In one run it measures, each ``--repeat`` times (median reported):

* the **floor**: reading and parsing every evidence file of the fleet with orjson (JSON Lines
  line by line, JSON whole) and libyaml (YAML files, Markdown front matter); nothing else;
* the **gate**: ``assay gate --project DIR --all --as-of T --format json`` as a subprocess with
  its output discarded, and the peak resident memory of that process.

It prints both times, the ratio gate/floor and the gate's peak RSS, and exits non-zero when the
gate reports invalid input (exit 2): the fleet must load cleanly for the figures to mean
anything. Exit 1 from the gate is expected (the fleet has non-compliant workflows).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _fleet_common import (  # noqa: E402
    DEFAULT_AS_OF,
    DEFAULT_DATA,
    evidence_files,
    parse_file,
)

TARGET_RATIO = 3.0
TARGET_RSS_MB = 2048.0


@dataclass(frozen=True)
class GateRun:
    seconds: float
    exit_code: int
    peak_rss_mb: float
    stderr: str


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


def gate_command(root: Path, as_of: str) -> list[str]:
    # Output goes to a discarded stdout, not `--output /dev/null`: the CLI writes files
    # atomically (temp file + rename), which must never be pointed at a device node.
    return [
        sys.executable,
        "-m",
        "assay",
        "gate",
        "--project",
        str(root),
        "--all",
        "--as-of",
        as_of,
        "--format",
        "json",
    ]


def measure_gate(root: Path, as_of: str) -> GateRun:
    """Run the gate as a child process; its wall time, exit code and peak RSS."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(gate_command(root, as_of), stdout=subprocess.DEVNULL, stderr=err)
        # wait4 returns the resource usage of exactly this child (ru_maxrss in KiB on Linux).
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    return GateRun(seconds, proc.returncode, usage.ru_maxrss / 1024, stderr)


def profile_gate(root: Path, as_of: str, top: int) -> None:
    """Run load + assess + JSON format in-process: phase times, then the same under cProfile."""
    from assay import assess, get_formatter, load_project
    from assay.models.time import parse_instant

    when = parse_instant(as_of)

    def run() -> dict[str, float]:
        phases: dict[str, float] = {}
        t0 = time.perf_counter()
        project = load_project(root)
        t1 = time.perf_counter()
        assessments = [assess(project, wf, when, None) for wf in project.workflows]
        t2 = time.perf_counter()
        get_formatter("json")(assessments)
        t3 = time.perf_counter()
        phases["load_project"] = t1 - t0
        phases["assess (all workflows)"] = t2 - t1
        phases["format json"] = t3 - t2
        return phases

    print("\nIn-process phases (no profiler):")
    for name, seconds in run().items():
        print(f"  {name:<24} {seconds:8.2f} s")
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    for key in ("cumulative", "tottime"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats(key).print_stats(top)
        print(f"\nTop {top} functions by {key} time (under cProfile, so ~1.5-2x slower):")
        text = out.getvalue()
        print(text[text.find("   ncalls") :].rstrip())


# The evidence store, measured phase by phase in a child process each (so that every phase
# has its own peak RSS). Until the gate runs on the store, the child drives the loader's
# steps itself: policies and workflows, then the store, then one workflow's records.
_STORE_CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from pathlib import Path
from assay.evidence.cache import CacheDir
from assay.evidence.index import EvidenceIndex
from assay.evidence.readers import ReaderLimits
from assay.evidence.store import open_store
from assay.load.config import load_config
from assay.load.discover import DiskSource
from assay.load.project import _discover, _Loader
root, mode, workflow = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
source = DiskSource(root)
config, _ = load_config(source)
loader = _Loader(source, config)
loader.load_policies()
workflows = loader.load_workflows()
rels = _discover(source, config.evidence, None, "evidence", loader.errors, required=True)
paths = [root / rel for rel in rels]
limits = ReaderLimits(config.max_yaml_bytes, config.max_evidence_bytes)
cache = CacheDir.for_project(root)
if mode == "cold":
    cache.wipe()
t1 = time.perf_counter()
store, report = open_store(root, paths, set(workflows), limits, cache=cache, rehash=mode == "rehash")
t2 = time.perf_counter()
records = len(EvidenceIndex(store.batches([workflow])))
t3 = time.perf_counter()
store.close()
print(json.dumps({"start": t1 - t0, "sync": t2 - t1, "one": t3 - t2, "records": records,
    "parsed": len(report.parsed), "hashed": len(report.hashed), "errors": len(report.errors),
    "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def store_phase(root: Path, mode: str, workflow: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _STORE_CHILD, str(root), mode, workflow],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    result: dict[str, float] = json.loads(out.stdout)
    result["wall"] = time.perf_counter() - start
    return result


def measure_store(root: Path, floor: float) -> None:
    """Cold build, warm re-open, --no-cache rehash, and one new file, each with one
    workflow's records read back; printed next to the floor of the same run."""
    workflow = sorted(p.stem for p in (root / "workflows").glob("*.yaml"))[0]
    extra = root / "evidence" / workflow / "drift_log-bench-extra.jsonl"
    extra.unlink(missing_ok=True)
    rows = [("cold (store built)", "cold"), ("warm", "warm"), ("rehash (--no-cache)", "rehash")]
    results = [(label, store_phase(root, mode, workflow)) for label, mode in rows]
    source = root / "evidence" / workflow / "drift_log.jsonl"
    lines = source.read_bytes().splitlines()[:100]
    extra.write_bytes(b"".join(line.replace(b'"id":"', b'"id":"x-', 1) + b"\n" for line in lines))
    try:
        results.append(("one new file", store_phase(root, "warm", workflow)))
    finally:
        extra.unlink()
    print(f"\nEvidence store (one child process per row; one workflow = {workflow}):")
    print(
        f"  {'':<22}{'process':>9}{'start':>8}{'store':>8}{'/floor':>8}{'1 wf':>8}"
        f"{'parsed':>8}{'hashed':>8}{'RSS MB':>8}"
    )
    for label, r in results:
        print(
            f"  {label:<22}{r['wall']:>8.2f}s{r['start']:>7.2f}s{r['sync']:>7.2f}s"
            f"{r['sync'] / floor:>8.2f}{r['one']:>7.3f}s{int(r['parsed']):>8}{int(r['hashed']):>8}"
            f"{r['rss']:>8.0f}"
        )


def ensure_fleet(root: Path, regenerate: bool, as_of: str) -> None:
    if (root / "assay.yaml").is_file() and not regenerate:
        return
    import generate_fleet

    print(f"generating the fleet in {root} ...", flush=True)
    start = time.perf_counter()
    generate_fleet.main(["--out", str(root), "--as-of", as_of])
    print(f"generated in {time.perf_counter() - start:.1f} s\n", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Gate benchmark: assay gate --all vs parse floor.")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Fleet folder.")
    parser.add_argument("--generate", action="store_true", help="(Re)generate the fleet first.")
    parser.add_argument("--as-of", default=DEFAULT_AS_OF, help="The fleet's fixed 'now'.")
    parser.add_argument("--repeat", type=int, default=3, help="Runs per measurement (median).")
    parser.add_argument(
        "--profile", action="store_true", help="Also profile the gate in-process (cProfile)."
    )
    parser.add_argument("--top", type=int, default=25, help="Functions shown by --profile.")
    parser.add_argument(
        "--store", action="store_true", help="Also measure the evidence store's phases."
    )
    args = parser.parse_args(argv)
    root: Path = args.data.resolve()
    ensure_fleet(root, args.generate, args.as_of)

    files = evidence_files(root)
    print(f"fleet: {root}")
    print(f"evidence: {len(files):,} files\n")

    if args.repeat == 0:  # the store's phases only, against one floor
        floor, _, _ = measure_floor(root)
        print(f"floor {floor:.2f} s")
        measure_store(root, floor)
        return 0
    floors: list[float] = []
    gates: list[GateRun] = []
    records = size = 0
    for i in range(args.repeat):
        seconds, records, size = measure_floor(root)
        floors.append(seconds)
        print(f"  run {i + 1}: floor {seconds:7.2f} s", end="", flush=True)
        run = measure_gate(root, args.as_of)
        gates.append(run)
        print(
            f"   gate {run.seconds:7.2f} s  exit {run.exit_code}  peak RSS {run.peak_rss_mb:,.0f} MB",
            flush=True,
        )
        if run.exit_code not in (0, 1):
            print("\nthe gate did not assess the fleet (exit 2: invalid input or crash):")
            for line in run.stderr.splitlines()[:20]:
                print(f"  {line}")
            return 2

    floor = statistics.median(floors)
    gate = statistics.median(r.seconds for r in gates)
    rss = max(r.peak_rss_mb for r in gates)
    ratio = gate / floor if floor > 0 else float("inf")
    print()
    print(f"records parsed        {records:>14,}  ({size / 1e6:,.0f} MB in {len(files):,} files)")
    print(f"floor (median of {args.repeat})   {floor:>12.2f} s")
    print(f"gate (median of {args.repeat})    {gate:>12.2f} s")
    print(
        f"ratio gate/floor      {ratio:>14.2f}  "
        f"(target <= {TARGET_RATIO:g}: {'met' if ratio <= TARGET_RATIO else 'NOT met'})"
    )
    print(
        f"gate peak RSS         {rss:>11,.0f} MB  "
        f"(target <= {TARGET_RSS_MB:,.0f} MB: {'met' if rss <= TARGET_RSS_MB else 'NOT met'})"
    )
    print(f"gate exit code        {gates[-1].exit_code:>14}  (1 expected: some workflows fail)")
    if args.store:
        measure_store(root, floor)
    if args.profile:
        profile_gate(root, args.as_of, args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
