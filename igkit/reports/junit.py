"""JUnit XML: one testcase per objective, so any CI shows the gates."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from igkit.verdicts import RunVerdicts, Status


def to_junit(run: RunVerdicts) -> bytes:
    cases = [(g, o) for g in run.gates for o in g.objectives]
    failures = sum(o.status in (Status.FAIL, Status.NO_DATA) for _, o in cases)
    errors = sum(o.status is Status.ERROR for _, o in cases)
    empty = [g for g in run.gates if not g.objectives]
    suites = ET.Element("testsuites", name="igkit go-no-go")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"igkit go-no-go: {run.decision}",
        tests=str(len(cases) + len(empty)),
        failures=str(failures),
        errors=str(errors + len(empty)),
        skipped="0",
        timestamp=run.evaluated_at.strftime("%Y-%m-%dT%H:%M:%S"),
    )
    props = ET.SubElement(suite, "properties")
    for key, value in (
        ("decision", run.decision),
        ("evaluated_at", run.evaluated_at.isoformat()),
        ("matrix_sha256", run.matrix_sha256),
        ("source", run.source),
    ):
        ET.SubElement(props, "property", name=key, value=value)
    for gate, obj in cases:
        case = ET.SubElement(
            suite, "testcase", classname=f"{gate.id} {gate.name}", name=obj.name, time="0"
        )
        text = "\n".join(obj.reasons)
        if obj.status is Status.ERROR:
            ET.SubElement(
                case, "error", type=obj.status.value, message=obj.reasons[0] if obj.reasons else ""
            ).text = text
        elif obj.status is not Status.PASS:
            ET.SubElement(
                case,
                "failure",
                type=obj.status.value,
                message=obj.reasons[0] if obj.reasons else "",
            ).text = text
        else:
            ET.SubElement(case, "system-out").text = text
    for gate in empty:
        case = ET.SubElement(
            suite, "testcase", classname=f"{gate.id} {gate.name}", name="(gate)", time="0"
        )
        ET.SubElement(case, "error", type="ERROR", message=gate.reasons[0]).text = "\n".join(
            gate.reasons
        )
    ET.indent(suites)
    body: bytes = ET.tostring(suites, encoding="utf-8", xml_declaration=True)
    return body + b"\n"
