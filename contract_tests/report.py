"""A run's findings, and the three ways out: the console summary, JUnit XML and Markdown."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

CONTRACT = "contract"
DECISION = "sandbox decision"


@dataclass(frozen=True)
class Finding:
    """One broken rule: where, by which check, judged by whose word, and how to reproduce it."""

    operation: str
    check: str
    verdict: str  # CONTRACT or DECISION
    message: str
    curl: str = ""

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.operation, self.check, self.verdict, self.message.splitlines()[0] if self.message else "")


@dataclass
class Report:
    api: str
    target: str
    strict: bool
    findings: list[Finding] = field(default_factory=list)
    passed: Counter = field(default_factory=Counter)  # (operation, check) -> passes
    notes: list[str] = field(default_factory=list)
    parity: list[str] = field(default_factory=list)  # --compare-sandbox, per operation
    requests: int = 0
    seconds: float = 0.0

    def add(self, finding: Finding) -> None:
        if all(f.key != finding.key for f in self.findings):
            self.findings.append(finding)

    def ok(self, operation: str, check: str) -> None:
        self.passed[(operation, check)] += 1

    def failing(self, finding: Finding) -> bool:
        return finding.verdict == CONTRACT or self.strict

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if self.failing(f)]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if not self.failing(f)]

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0

    def checks_by_operation(self) -> dict[str, dict[str, tuple[int, list[Finding]]]]:
        table: dict[str, dict[str, tuple[int, list[Finding]]]] = defaultdict(dict)
        for (operation, check), count in self.passed.items():
            table[operation][check] = (count, [])
        for f in self.findings:
            count, found = table[f.operation].get(f.check, (0, []))
            table[f.operation][f.check] = (count, found + [f])
        return {op: dict(sorted(checks.items())) for op, checks in sorted(table.items())}

    @property
    def verdict(self) -> str:
        if self.failures:
            return f"FAILED: {len(self.failures)} failure(s), {len(self.warnings)} warning(s)"
        return f"PASSED with {len(self.warnings)} warning(s)" if self.warnings else "PASSED"

    # -- outputs -------------------------------------------------------------------------------

    def text(self) -> str:
        lines = [f"contract-test {self.api} against {self.target}: {self.verdict} "
                 f"({self.requests} requests, {self.seconds:.1f} s)", ""]
        for operation, checks in self.checks_by_operation().items():
            lines.append(operation)
            for check, (count, found) in checks.items():
                state = "ok" if not found else ("FAIL" if any(map(self.failing, found)) else "warn")
                lines.append(f"  {state:4} {check} ({count} passed, {len(found)} found)")
        for title, group in (("Failures", self.failures), ("Warnings (sandbox decisions)", self.warnings)):
            if group:
                lines += ["", f"{title}:"]
                for f in group:
                    lines.append(f"- [{f.verdict}] {f.operation} / {f.check}: {f.message}")
                    if f.curl:
                        lines.append(f"    {f.curl}")
        lines += ["", *self.parity] + [f"note: {n}" for n in self.notes]
        return "\n".join(lines).rstrip() + "\n"

    def write_junit(self, path: str | Path) -> None:
        table = self.checks_by_operation()
        suites = ET.Element("testsuites", name=f"contract-test {self.api}")
        total = sum(len(checks) for checks in table.values())
        suite = ET.SubElement(suites, "testsuite", name=f"{self.api} @ {self.target}", tests=str(total),
                              failures=str(sum(1 for c in table.values() for _, f in c.values()
                                               if any(map(self.failing, f)))),
                              errors="0", skipped="0", time=f"{self.seconds:.3f}")
        for operation, checks in table.items():
            for check, (count, found) in checks.items():
                case = ET.SubElement(suite, "testcase", classname=operation, name=check, time="0")
                failing = [f for f in found if self.failing(f)]
                if failing:
                    failure = ET.SubElement(case, "failure", message=failing[0].message.splitlines()[0][:300],
                                            type=failing[0].verdict)
                    failure.text = "\n\n".join(f"{f.message}\n{f.curl}" for f in failing)
                warned = [f for f in found if not self.failing(f)]
                if warned:
                    out = ET.SubElement(case, "system-out")
                    out.text = "\n\n".join(f"warning [{f.verdict}]: {f.message}\n{f.curl}" for f in warned)
        ET.indent(suites)
        Path(path).write_text(ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n",
                              encoding="utf-8")

    def markdown(self) -> str:
        icon = {True: ":x:", False: ":warning:"}
        lines = [f"## contract-test `{self.api}`: {self.verdict}", "",
                 f"Target `{self.target}`; {self.requests} requests in {self.seconds:.1f} s.", "",
                 "| Operation | Check | Passed | Result |", "|---|---|---:|---|"]
        for operation, checks in self.checks_by_operation().items():
            for check, (count, found) in checks.items():
                result = ":white_check_mark:" if not found else icon[any(map(self.failing, found))] + f" {len(found)}"
                lines.append(f"| `{operation}` | {check} | {count} | {result} |")
        for title, group in (("Failures", self.failures), ("Warnings: sandbox decisions", self.warnings)):
            if group:
                lines += ["", f"### {title}", ""]
                for f in group:
                    lines += [f"- **{f.operation}** / `{f.check}` ({f.verdict}): {f.message.splitlines()[0]}"]
                    if f.curl:
                        lines += ["", "  ```", f"  {f.curl}", "  ```"]
        if self.parity:
            lines += ["", "```", *self.parity, "```"]
        if self.notes:
            lines += ["", *[f"> {n}" for n in self.notes]]
        return "\n".join(lines) + "\n"
