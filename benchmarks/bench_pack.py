"""Benchmark of the audit pack: build (render + embed + sign) and ``verify --reassess``.

Generates a real project (25 controls of every check kind, 2,000 evidence records in JSON
Lines and YAML), assesses it with the engine, then measures, three times each (the median
is printed), wall and CPU time (this process and its children, e.g. Graphviz):

- **pack**: ``build_pack`` of the assessment, signed (ECDSA P-256);
- **verify**: ``verify_pack(..., reassess=True)`` of that pack (signature, manifest, and the
  engine re-run over the embedded inputs);

and the page count (poppler's ``pdfinfo``). ``--controls`` changes the project's size;
``--example`` also measures the example project's claims-triage pack (the bundled policies,
20 controls, ~21,000 records). ``--profile`` prints a cProfile of one build and one verify.
No assertions: numbers only. Targets (issue 12): pack <= 5 s, verify --reassess <= 1 s.

    .venv/bin/python benchmarks/bench_pack.py [--controls 25] [--example] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import assay
from assay.pack import Signer, build_pack, verify_pack

AS_OF = datetime(2026, 5, 1, 12, tzinfo=UTC)
RECORDS_PER_KIND = 400  # five kinds: 2,000 records
SHA = "ab" * 32
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _envelope(kind: str, rid: str, created: datetime) -> dict[str, Any]:
    return {
        "id": rid,
        "kind": kind,
        "workflow": "bench",
        "created_at": _stamp(created),
        "recorded_by": "ci@example.com",
        "source_uri": f"https://ci.example.com/{kind}/{rid}",
        "sha256": SHA,
    }


def _records() -> dict[str, list[dict[str, Any]]]:
    """Five kinds, 400 records each, one an hour back from the as-of time. A few of each
    break the rules the controls check, so the pack has failures to show."""
    out: dict[str, list[dict[str, Any]]] = {
        "drift": [],
        "incidents": [],
        "changes": [],
        "deploys": [],
        "canaries": [],
    }
    for i in range(RECORDS_PER_KIND):
        at = AS_OF - timedelta(hours=i + 1)
        drift = _envelope("drift_log", f"drift-{i:04d}", at)
        drift.update(
            {
                "run_at": _stamp(at),
                "metric": f"m{i % 8}",
                "segment": f"s{i % 3}",
                "value": round(0.05 + (i % 23) / 100, 2),
                "threshold": 0.25,
                "breach": i % 23 > 20,
            }
        )
        out["drift"].append(drift)
        incident = _envelope("incident", f"INC-{i:04d}", at)
        incident.update(
            {
                "severity": "SEV1" if i % 10 == 0 else "SEV3",
                "aware_at": _stamp(at),
                "paged_at": _stamp(at),
                "acked_at": _stamp(at + timedelta(minutes=5 + (i % 13))),
                "resolved_at": _stamp(at + timedelta(hours=2)),
                "owner": f"owner-{i % 50:02d}",
                "users_affected": False,
                "budget_burn_pct": 1.5,
                "si_determination": "no",
                "widespread_infringement": False,
            }
        )
        out["incidents"].append(incident)
        change = _envelope("change_request", f"chg-{i:04d}", at)
        change.update(
            {
                "title": f"Retrain on the data of week {i // 24}",
                "change_type": "model",
                "author": f"author-{i % 50:02d}",
                "eval_passed": True,
                "rollback_plan_ref": f"https://wiki.example.com/rollback/chg-{i:04d}",
                "approvers": [
                    {"id": f"reviewer-{(i + k) % 7}", "approved_at": _stamp(at)}
                    for k in range(1 if i % 17 == 0 else 2)
                ],
                "alters_system": False,
                "substantial_mod": False,
            }
        )
        out["changes"].append(change)
        deploy = _envelope("deploy_record", f"dep-{i:04d}", at)
        deploy.update(
            {
                "change_request_id": f"chg-{i:04d}",
                "model_version": f"v{i % 50}",
                "environment": "prod",
                "started_at": _stamp(at - timedelta(hours=30)),
                "promoted_at": _stamp(at),
                "error_budget_remaining_pct": 80.0,
                "disclosure_check": "n/a",
            }
        )
        out["deploys"].append(deploy)
        canary = _envelope("canary_report", f"canary-dep-{i:04d}", at)
        canary.update(
            {
                "deploy_id": f"dep-{i:04d}",
                "started_at": _stamp(at - timedelta(hours=30 if i % 19 else 12)),
                "ended_at": _stamp(at - timedelta(minutes=10)),
                "max_traffic_pct": 5,
                "sample_size": 120000,
                "verdict": "pass",
                "metrics": [
                    {"name": "error_rate", "canary": 0.011, "control": 0.012, "threshold": 0.005}
                ],
            }
        )
        out["canaries"].append(canary)
    return out


def _check(kind: int, c: int) -> dict[str, Any]:
    """Check number ``kind`` (0-4) of control ``c``: each looks at about eight records."""
    if kind == 0:
        return {
            "id": "drift_within_threshold",
            "kind": "every",
            "description": "Every drift run of the metric stays below its threshold.",
            "evidence": "drift_log",
            "window": "64h",
            "where": f'r.metric == "m{c % 8}"',
            "assert": "r.value <= r.threshold && !r.breach",
        }
    if kind == 1:
        return {
            "id": "canary_before_promotion",
            "kind": "covered",
            "description": "Every deployment of the version had a long enough canary.",
            "evidence": "deploy_record",
            "where": f'r.model_version == "v{c % 50}"',
            "by": {"evidence": "canary_report", "key": "deploy_id"},
            "from_field": "promoted_at",
            "to_field": "ended_at",
            "deadline": "0s",
            "assert": 'r.verdict == "pass" && r.ended_at - r.started_at >= params.min_canary',
        }
    if kind == 2:
        return {
            "id": "owner_active",
            "kind": "fresh",
            "description": "The owner handled an incident recently.",
            "evidence": "incident",
            "where": f'r.owner == "owner-{c % 50:02d}"',
            "max_age": "30d",
        }
    if kind == 3:
        return {
            "id": "runs_per_metric",
            "kind": "aggregate",
            "description": "Every metric ran at least twice in the last day.",
            "evidence": "drift_log",
            "window": "24h",
            "function": "count",
            "group_by": "metric",
            "op": ">=",
            "threshold": 2,
        }
    return {
        "id": "two_approvers",
        "kind": "every",
        "description": "Every change of the author has two approvals.",
        "evidence": "change_request",
        "where": f'r.author == "author-{c % 50:02d}"',
        "assert": "size(r.approvers) >= params.min_approvers",
    }


def write_project(root: Path, controls: int) -> None:
    """A real project: catalog, class, workflow, and the evidence."""
    kinds = {0: "drift_log", 1: "deploy_record", 2: "incident", 3: "drift_log", 4: "change_request"}
    catalog = []
    for c in range(controls):
        checks = [_check(c % 5, c), _check((c + 2) % 5, c)]
        evidence = sorted({kinds[c % 5], kinds[(c + 2) % 5]} | {"canary_report"})
        catalog.append(
            {
                "id": f"PROD-BENCH-{c:02d}",
                "title": f"Benchmark control {c}",
                "intent": "Keeps the benchmark honest.",
                "severity": "high",
                "requires": [f"PROD-BENCH-{c - 1:02d}"] if c % 4 else [],
                "mappings": {"eu_ai_act": ["Art. 15(1)"], "nist_ai_rmf": ["MS-2.3"]},
                "remediation": "Do the thing.",
                "evidence": evidence,
                "params": {
                    "min_canary": {"type": "duration", "description": "Shortest canary."},
                    "min_approvers": {"type": "integer", "description": "Fewest approvals."},
                },
                "checks": checks,
            }
        )
    params = {
        f"PROD-BENCH-{c:02d}": {"min_canary": "24h", "min_approvers": 2} for c in range(controls)
    }
    files: dict[str, str] = {
        "assay.yaml": "policies: [policies]\nworkflows: [workflows]\nevidence: [evidence]\n",
        "policies/catalog.yaml": json.dumps(
            {"catalog": "bench", "version": "1", "controls": catalog}, indent=2
        ),
        "policies/high.yaml": json.dumps(
            {
                "id": "high",
                "title": "C3 High",
                "level": 3,
                "controls": [f"PROD-BENCH-{c:02d}" for c in range(controls)],
                "params": params,
            },
            indent=2,
        ),
        "workflows/bench.yaml": (
            "id: bench\nname: Benchmark workflow\nowner: perf@example.com\n"
            "risk_class: high\nlaunched: 2025-01-06\n"
        ),
    }
    records = _records()
    for name in ("drift", "incidents", "changes", "canaries"):
        files[f"evidence/{name}.jsonl"] = "".join(json.dumps(r) + "\n" for r in records[name])
    # Deployments as a YAML list, as a release tool would export them.
    lines = []
    for record in records["deploys"]:
        for index, (key, value) in enumerate(record.items()):
            lines.append(f"{'- ' if index == 0 else '  '}{key}: {json.dumps(value)}")
    files["evidence/deploys.yaml"] = "\n".join(lines) + "\n"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _signer(folder: Path) -> tuple[Signer, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (folder / "k.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (folder / "c.pem").write_bytes(pem)
    return Signer.from_pem(folder / "k.pem", folder / "c.pem"), pem


def _pages(pdf: bytes, folder: Path) -> int:
    path = folder / "bench.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    return next(
        int(line.split()[-1]) for line in info.stdout.splitlines() if line.startswith("Pages:")
    )


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(run: Callable[[], Any], repeat: int) -> tuple[Any, float, float]:
    """The last result and the median wall and CPU seconds of ``repeat`` runs."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), _cpu()
        result = run()
        walls.append(time.perf_counter() - wall)
        cpus.append(_cpu() - cpu)
    return result, statistics.median(walls), statistics.median(cpus)


def _profile(label: str, run: Callable[[], Any]) -> None:
    profile = cProfile.Profile()
    profile.runcall(run)
    print(f"\n--- cProfile: {label} (cumulative, top 30) ---")
    pstats.Stats(profile).sort_stats("cumulative").print_stats(30)


def measure(
    label: str, project: Any, workflow: str, as_of: datetime, signer: Signer, pem: bytes,
    folder: Path, repeat: int, profile: bool,
) -> None:  # fmt: skip
    assessment = assay.assess(project, workflow, as_of=as_of, release="1.0")
    pdf, pack_wall, pack_cpu = _timed(lambda: build_pack(assessment, project, signer), repeat)
    report, verify_wall, verify_cpu = _timed(lambda: verify_pack(pdf, [pem], reassess=True), repeat)
    findings = sum(len(k.findings) for c in assessment.controls for k in c.checks)
    ok = "ok" if report.ok else "FAILED " + ",".join(report.failed)
    print(
        f"{label:<26} {len(assessment.controls):>8} {findings:>8} {_pages(pdf, folder):>6} "
        f"{pack_wall:>7.2f} {pack_cpu:>7.2f} {verify_wall:>7.2f} {verify_cpu:>7.2f} "
        f"{len(pdf) / 1e6:>6.2f}  {ok}"
    )
    if profile:
        _profile(f"build_pack {label}", lambda: build_pack(assessment, project, signer))
        _profile(f"verify --reassess {label}", lambda: verify_pack(pdf, [pem], reassess=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--controls", type=int, default=25)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--example", action="store_true", help="also the claims-triage pack")
    parser.add_argument("--profile", action="store_true", help="cProfile one build and verify")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        signer, pem = _signer(folder)
        root = folder / "project"
        write_project(root, args.controls)
        project = assay.load_project(root)
        build_pack(assay.assess(project, "bench", as_of=AS_OF), project, signer)  # warm up
        print(f"load average {os.getloadavg()[0]:.1f}; wall and CPU (self + children) seconds")
        print(
            f"{'pack':<26} {'controls':>8} {'findings':>8} {'pages':>6} {'pack s':>7} "
            f"{'cpu s':>7} {'verify':>7} {'cpu s':>7} {'MB':>6}"
        )
        measure(
            f"bench ({args.controls} controls)", project, "bench", AS_OF, signer, pem, folder,
            args.repeat, args.profile,
        )  # fmt: skip
        if args.example:
            example = assay.load_project(EXAMPLES)
            measure(
                "examples claims-triage", example, "claims-triage",
                datetime(2026, 11, 20, 12, tzinfo=UTC), signer, pem, folder, args.repeat,
                args.profile,
            )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
