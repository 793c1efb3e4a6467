"""JUnit XML: one testcase per objective, so any CI shows the gates."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from igkit.verdicts import RunVerdicts, Status

# Characters XML 1.0 does not allow (C0 controls but tab/LF/CR, surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` made legal in XML 1.0: each forbidden character becomes ``\\uXXXX``, visibly."""
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _clean(element: ET.Element) -> None:
    for node in element.iter():
        node.attrib = {xml_text(k): xml_text(v) for k, v in node.attrib.items()}
        if node.text is not None:
            node.text = xml_text(node.text)
        if node.tail is not None:
            node.tail = xml_text(node.tail)


def to_junit(run: RunVerdicts) -> bytes:
    cases = [(g, o) for g in run.gates for o in g.objectives]
    gated = [(g, o) for g, o in cases if o.gated]
    failures = sum(o.status in (Status.FAIL, Status.NO_DATA) for _, o in gated)
    errors = sum(o.status is Status.ERROR for _, o in gated)
    skipped = sum(o.status is not Status.PASS for _, o in cases if not o.gated)
    empty = [g for g in run.gates if not g.objectives]
    suites = ET.Element("testsuites", name="igkit go-no-go")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"igkit go-no-go: {run.decision}",
        tests=str(len(cases) + len(empty)),
        failures=str(failures),
        errors=str(errors + len(empty)),
        skipped=str(skipped),
        timestamp=run.evaluated_at.strftime("%Y-%m-%dT%H:%M:%S"),
    )
    props = ET.SubElement(suite, "properties")
    for key, value in (
        ("decision", run.decision),
        ("scope", ",".join(run.scope.gates)),
        ("scope_complete", str(run.scope.complete).lower()),
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
        if not obj.gated and obj.status is not Status.PASS:
            # reported only (matrix gated: false): shown, but it never fails the run
            ET.SubElement(
                case, "skipped", message=f"{obj.status.value} (reported only, not gated)"
            ).text = "\n".join([*obj.reasons, *obj.warnings])
        elif obj.status is Status.ERROR:
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
    _clean(suites)
    ET.indent(suites)
    body: bytes = ET.tostring(suites, encoding="utf-8", xml_declaration=True)
    return body + b"\n"
