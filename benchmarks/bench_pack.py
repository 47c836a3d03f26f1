"""Benchmark of `build_pack`: a 25-control workflow with 2,000 evidence records.

Prints the time to build (render + embed + sign) and pages per second, for 10, 25 and 50
controls, so that growth with the page count is visible. No assertions: numbers only.

    .venv/bin/python benchmarks/bench_pack.py
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from assay.models.assessment import (
    Assessment,
    CheckResult,
    ControlResult,
    Engine,
    EvidencePointer,
    Finding,
    HypercareState,
    InputDigest,
    RiskClassInfo,
    SourcePointer,
    Summary,
    Verdict,
    WorkflowInfo,
)
from assay.models.policy import Mappings
from assay.pack import Signer, build_pack

AS_OF = datetime(2026, 5, 1, 12, tzinfo=UTC)
STATUSES = ["pass", "pass", "pass", "fail", "blocked", "waived", "pass", "error"]
KINDS = ["deploy_record", "incident", "drift_log", "canary_report", "change_request"]


@dataclass(frozen=True)
class File:
    path: str
    role: str
    sha256: str
    data: bytes


@dataclass(frozen=True)
class Project:
    root: Path
    files: tuple[File, ...]


def _file(path: str, role: str, data: bytes) -> File:
    return File(path, role, hashlib.sha256(data).hexdigest(), data)


def synthetic(controls: int, records: int) -> tuple[Assessment, Project]:
    """A workflow with `controls` controls and `records` evidence records in 5 JSONL files."""
    per_kind: dict[str, list[str]] = {k: [] for k in KINDS}
    for i in range(records):
        kind = KINDS[i % len(KINDS)]
        created = AS_OF - timedelta(hours=i)
        per_kind[kind].append(
            json.dumps(
                {
                    "id": f"{kind}-{i}",
                    "kind": kind,
                    "workflow": "bench",
                    "recorded_by": "ci",
                    "created_at": created.isoformat().replace("+00:00", "Z"),
                    "value": i % 97,
                    "source_uri": f"https://ci.example.com/{i}",
                    "sha256": "0" * 64,
                },
                sort_keys=True,
            )
        )
    files = [
        _file(f"evidence/{k}.jsonl", "evidence", ("\n".join(v) + "\n").encode())
        for k, v in per_kind.items()
    ]
    files += [
        _file("policies/catalog.yaml", "policy", b"catalog: bench\n"),
        _file("workflows/bench.yaml", "workflow", b"id: bench\n"),
    ]
    by_path = {f.path: f for f in files}
    results = []
    for c in range(controls):
        cid = f"PROD-BENCH-{c:02d}"
        status = STATUSES[c % len(STATUSES)]
        checks = []
        for k in range(2):
            kind = KINDS[(c + k) % len(KINDS)]
            path = f"evidence/{kind}.jsonl"
            findings = [
                Finding(
                    outcome="fail" if status == "fail" and j < 3 else "pass",
                    message=f"{kind}-{j} observed value {j % 97}.",
                    evidence=[
                        EvidencePointer(
                            file=path,
                            line=j + 1,
                            record_id=f"{kind}-{j}",
                            kind=kind,
                            sha256=by_path[path].sha256,
                        )
                    ],
                )
                for j in range(8)  # the engine lists a few findings and counts the rest
            ]
            checks.append(
                CheckResult(
                    id=f"check_{k}",
                    kind="every",
                    description=f"Every {kind} satisfies the rule.",
                    status="fail" if status == "fail" and k == 0 else "pass",
                    summary=f"{records // len(KINDS)} records checked.",
                    records=records // 5,
                    findings=findings,
                    omitted=records // len(KINDS) - 8,
                    policy=SourcePointer(file="policies/catalog.yaml", line=c + 1),
                )
            )
        results.append(
            ControlResult(
                id=cid,
                title=f"Benchmark control {c}",
                intent="Keeps the benchmark honest.",
                severity="high",
                status=status,
                summary=f"{cid} is {status}.",
                required_by="class",
                requires=[f"PROD-BENCH-{c - 1:02d}"] if c % 4 else [],
                blocked_by=[f"PROD-BENCH-{c - 1:02d}"] if status == "blocked" and c % 4 else [],
                params={"window": "30d", "threshold": 0.95},
                param_sources={"window": "high"},
                checks=checks,
                mappings=Mappings(eu_ai_act=["Art. 15(1)"], nist_ai_rmf=["MS-2.3"]),
                remediation="Do the thing.",
                policy=SourcePointer(file="policies/catalog.yaml"),
            )
        )
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    assessment = Assessment(
        engine=Engine(version="bench"),
        as_of=AS_OF,
        release="9.9.9",
        workflow=WorkflowInfo(
            id="bench",
            name="Benchmark workflow",
            owner="perf@example.com",
            risk_class="high",
            launched=date(2026, 1, 1),
            eu_scope=True,
            role="provider",
        ),
        risk_class=RiskClassInfo(
            id="high", title="C3 High", level=3, prohibited=False, lineage=["high"]
        ),
        hypercare=HypercareState(
            active=False,
            started=date(2026, 1, 1),
            ends=datetime(2026, 4, 1, tzinfo=UTC),
            extensions=0,
        ),
        controls=results,
        inputs=[
            InputDigest(
                path=f.path,
                role=f.role,
                sha256=f.sha256,
                records=records // len(KINDS) if f.role == "evidence" else None,
            )
            for f in files
        ],
        summary=Summary(counts=counts, compliant=False, verdict=Verdict.NON_COMPLIANT),
    )
    return assessment, Project(Path("."), tuple(sorted(files, key=lambda f: f.path)))


def _signer(folder: Path) -> Signer:
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
    (folder / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Signer.from_pem(folder / "k.pem", folder / "c.pem")


def _pages(pdf: bytes, folder: Path) -> int:
    path = folder / "bench.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    return next(
        int(line.split()[-1]) for line in info.stdout.splitlines() if line.startswith("Pages:")
    )


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        signer = _signer(folder)
        build_pack(*synthetic(3, 50), signer)  # warm up fonts and imports
        print(
            f"{'controls':>8} {'records':>8} {'pages':>6} {'build s':>8} {'pages/s':>8} {'MB':>6}"
        )
        for controls in (10, 25, 50):
            assessment, project = synthetic(controls, 2000)
            start = time.perf_counter()
            pdf = build_pack(assessment, project, signer)
            elapsed = time.perf_counter() - start
            pages = _pages(pdf, folder)
            print(
                f"{controls:>8} {2000:>8} {pages:>6} {elapsed:>8.2f} {pages / elapsed:>8.1f} "
                f"{len(pdf) / 1e6:>6.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
