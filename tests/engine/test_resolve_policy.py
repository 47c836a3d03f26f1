"""Resolution: class inheritance, tighten-only parameters, hypercare, waiver states."""

from __future__ import annotations

import pytest
from projectkit import (
    Kit,
    at,
    check,
    control,
    incident,
    param,
    review,
    risk_class,
    waiver,
    workflow,
)

from assay.errors import InputErrors
from assay.models.duration import Duration
from assay.resolve import resolve

ACK = control(
    "T-ACK-01",
    check("every", assert_="r.acked_at - r.paged_at <= params.ack_sla", allow_empty=True),
    params={"ack_sla": param("duration", "lower")},
)
REVIEW = control(
    "T-REV-01",
    check("fresh", evidence="quarterly_review", max_age="$cadence"),
    params={"cadence": param("duration", "lower")},
)


def classes(
    high_ack: str = "15m", hypercare: dict[str, object] | None = None
) -> list[dict[str, object]]:
    high = risk_class("high", 3, ["T-REV-01"], {"T-ACK-01": {"ack_sla": high_ack}}, extends="low")
    if hypercare is not None:
        high["hypercare"] = hypercare
    return [
        risk_class(
            "low", 1, ["T-ACK-01"], {"T-ACK-01": {"ack_sla": "60m"}, "T-REV-01": {"cadence": "92d"}}
        ),
        high,
    ]


def test_higher_class_inherits_controls_and_tightens(kit: Kit) -> None:
    kit.setup([ACK, REVIEW], classes(), [workflow(launched="2020-01-06")])
    resolved = resolve(kit.load(), "wf", at("2026-06-01T00:00:00Z"))
    assert sorted(resolved.controls) == ["T-ACK-01", "T-REV-01"]
    ack = resolved.controls["T-ACK-01"]
    assert ack.params == {"ack_sla": Duration(15, "m")}
    assert ack.param_sources == {"ack_sla": "high"}
    assert resolved.controls["T-REV-01"].param_sources == {"cadence": "low"}
    assert [r.id for r in resolved.lineage] == ["high", "low"]


def test_a_class_that_loosens_a_parameter_is_an_input_error(kit: Kit) -> None:
    kit.setup([ACK, REVIEW], classes(high_ack="2h"), [workflow(launched="2020-01-06")])
    with pytest.raises(InputErrors) as info:
        kit.assess()
    (err,) = info.value.errors
    assert "risk class high loosens T-ACK-01 ack_sla from 60m (low) to 2h" in err.message
    assert err.location is not None
    assert err.location.file == "policies/class-high.yaml"
    assert err.location.pointer == "/params/T-ACK-01/ack_sla"


def test_loosening_exits_2_on_the_cli(kit: Kit) -> None:
    kit.setup([ACK, REVIEW], classes(high_ack="2h"), [workflow(launched="2020-01-06")])
    run = kit.run("gate", "-w", "wf", "--as-of", "2026-06-01T00:00:00Z")
    assert run.code == 2
    assert "loosens T-ACK-01 ack_sla" in run.err
    assert "Traceback" not in run.err


def hc_kit(kit: Kit, *evidence: dict[str, object], hc_ack: str = "5m") -> Kit:
    hypercare = {"days": 90, "extension_days": 30, "params": {"T-ACK-01": {"ack_sla": hc_ack}}}
    return kit.setup(
        [ACK, REVIEW],
        classes(hypercare=hypercare),
        [workflow(launched="2026-01-05")],
        list(evidence),
    )


def test_hypercare_active_in_the_first_days(kit: Kit) -> None:
    project = hc_kit(kit).load()
    resolved = resolve(project, "wf", at("2026-03-01T00:00:00Z"))
    state = resolved.hypercare
    assert state.active and state.extensions == 0
    assert state.ends == at("2026-04-05T00:00:00Z")
    assert resolved.controls["T-ACK-01"].params["ack_sla"] == Duration(5, "m")
    assert resolved.controls["T-ACK-01"].param_sources["ack_sla"] == "hypercare (high)"


def test_hypercare_extends_without_a_passing_exit_review(kit: Kit) -> None:
    failing_exit = review(
        "R-EXIT",
        "2026-04-10T00:00:00Z",
        review_type="hypercare_exit",
        exit_criteria={"no_open_sev1": True, "drift_resolved": False},
    )
    project = hc_kit(kit, failing_exit).load()
    state = resolve(project, "wf", at("2026-06-01T00:00:00Z")).hypercare
    # Nominal end 2026-04-05; 57 days later two 30-day extensions have begun.
    assert state.active
    assert state.extensions == 2
    assert state.ends == at("2026-06-04T00:00:00Z")


def test_hypercare_ends_with_a_passing_exit_review(kit: Kit) -> None:
    exit_review = review(
        "R-EXIT",
        "2026-04-10T00:00:00Z",
        review_type="hypercare_exit",
        exit_criteria={"no_open_sev1": True, "drift_resolved": True},
    )
    project = hc_kit(kit, exit_review).load()
    resolved = resolve(project, "wf", at("2026-06-01T00:00:00Z"))
    assert not resolved.hypercare.active
    assert resolved.hypercare.extensions == 1
    assert resolved.hypercare.ends == at("2026-04-10T00:00:00Z")  # ends with the exit review
    assert resolved.controls["T-ACK-01"].params["ack_sla"] == Duration(15, "m")
    # Before the review was held, hypercare was still running.
    assert resolve(project, "wf", at("2026-04-08T00:00:00Z")).hypercare.active


def test_hypercare_takes_the_stricter_value(kit: Kit) -> None:
    # A looser hypercare value does not loosen the class value.
    project = hc_kit(kit, hc_ack="30m").load()
    ack = resolve(project, "wf", at("2026-03-01T00:00:00Z")).controls["T-ACK-01"]
    assert ack.params["ack_sla"] == Duration(15, "m")
    assert ack.param_sources["ack_sla"] == "high"


def test_hypercare_only_controls(kit: Kit) -> None:
    hypercare = {"days": 90, "controls": ["T-EXTRA-01"]}
    extra = control("T-EXTRA-01", check("present", evidence="quarterly_review"))
    exit_review = review(
        "R-EXIT", "2026-04-10T00:00:00Z", review_type="hypercare_exit", exit_criteria={"ok": True}
    )
    kit.setup(
        [ACK, REVIEW, extra],
        classes(hypercare=hypercare),
        [workflow(launched="2026-01-05")],
        [exit_review],
    )
    project = kit.load()
    during = resolve(project, "wf", at("2026-02-01T00:00:00Z")).controls
    assert during["T-EXTRA-01"].required_by == "hypercare"
    after = resolve(project, "wf", at("2026-06-01T00:00:00Z"))
    assert not after.hypercare.active
    assert "T-EXTRA-01" not in after.controls


@pytest.mark.parametrize(
    ("approved", "expires", "state"),
    [
        ("2026-05-01T00:00:00Z", "2026-07-01T00:00:00Z", "active"),
        ("2026-04-01T00:00:00Z", "2026-05-15T00:00:00Z", "expired"),
        ("2026-06-10T00:00:00Z", "2026-07-01T00:00:00Z", "not_yet_valid"),
        ("2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z", "expired"),
    ],
)
def test_waiver_states(kit: Kit, approved: str, expires: str, state: str) -> None:
    kit.setup(
        [ACK, REVIEW],
        classes(),
        [workflow(launched="2020-01-06")],
        [incident("I-1", "2026-05-01T00:00:00Z")],
        [waiver("W-1", "T-REV-01", approved, expires)],
    )
    resolved = resolve(kit.load(), "wf", at("2026-06-01T00:00:00Z"))
    (found,) = resolved.controls["T-REV-01"].waivers
    assert found.state == state
    assert (resolved.controls["T-REV-01"].active_waiver is not None) == (state == "active")
