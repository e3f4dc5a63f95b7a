"""(h) Documents rendered per second, in process: the demo's Word engagement letter filled
as DOCX and as PDF (LibreOffice when installed, else mammoth and WeasyPrint), and an HTML
letter of the same length as PDF (WeasyPrint). No database: the merge data is built once,
as `merge_data` returns it, so the figure is the rendering alone."""

import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bench.stats import Summary, summarize
from webapp.adapters import rendering
from webapp.services.seed import LETTER_FILE

HTML_LETTER = """<!doctype html><html><head><meta charset="utf-8"><style>
body { font-family: serif; font-size: 11pt; } h1 { font-size: 16pt; }</style></head><body>
<h1>{{ firm.name }}</h1><p>{{ today|date }}</p>
<p>To: {% for party in matter.parties %}{{ party.name }} ({{ party.email }}){% if not loop.last %},
{% endif %}{% endfor %}</p>
<p><strong>Engagement letter: {{ matter.title }}, our reference {{ matter.reference }}</strong></p>
<p>Thank you for instructing {{ firm.name }}. This letter sets out the terms on which we will
act for you in {{ matter.title }}.</p>
<p>The lawyer responsible for your matter is {{ matter.owner.name }} ({{ matter.owner.email }}).</p>
{% if matter.members.paralegals %}<p>{% for person in matter.members.paralegals %}{{ person.name
}}{% if not loop.last %}, {% endif %}{% endfor %} will assist with the day-to-day work.</p>{% endif %}
<p>We ask for a retainer of {{ 1500|money("USD") }} before work begins.</p>
<p>Yours sincerely,</p><p>{{ matter.owner.name }}</p><p>For {{ firm.name }}</p>
</body></html>"""
KINDS = ("HTML → PDF", "Word → DOCX", "Word → PDF")


def merge_data() -> dict[str, Any]:
    client = {"name": "Casey Client", "email": "client@demo.test"}
    return {
        "firm": {"name": "Demo Law LLP"},
        "matter": {
            "reference": "DEMO-001",
            "title": "Acme Corp v. Widget Ltd",
            "status": "OPEN",
            "owner": {"name": "Lee Lawyer", "email": "lawyer@demo.test"},
            "members": {
                "lawyers": [],
                "paralegals": [{"name": "Pat Paralegal", "email": "paralegal@demo.test"}],
                "clients": [client],
            },
            "parties": [client],
        },
        "instance": {"title": "Engagement letter", "context": {}, "parameters": {}},
        "steps": {},
        "today": date(2026, 12, 7),
    }


@dataclass
class DocumentResult:
    kind: str
    converter: str
    per_second_runs: list[float] = field(default_factory=list)
    size_bytes: int = 0

    @property
    def per_second(self) -> Summary:
        return summarize(self.per_second_runs)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "converter": self.converter,
            "per_second": self.per_second.as_dict(),
            "size_bytes": self.size_bytes,
        }


def bench_documents(runs: int, seconds: float) -> list[DocumentResult]:
    word, data = LETTER_FILE.read_bytes(), merge_data()
    jobs = {
        KINDS[0]: lambda: rendering.render_document("html", HTML_LETTER, "pdf", data),
        KINDS[1]: lambda: rendering.render_document("docx", word, "docx", data),
        KINDS[2]: lambda: rendering.render_document("docx", word, "pdf", data),
    }
    via = "LibreOffice" if rendering.converter() else "mammoth + WeasyPrint"
    converters = {KINDS[0]: "WeasyPrint", KINDS[1]: "docxtpl", KINDS[2]: f"docxtpl, {via}"}
    results = []
    for kind, job in jobs.items():
        result = DocumentResult(kind, converters[kind], size_bytes=len(job()))  # warmed up
        for _ in range(runs):
            done, began = 0, time.perf_counter()
            while time.perf_counter() - began < seconds:
                job()
                done += 1
            result.per_second_runs.append(done / (time.perf_counter() - began))
        results.append(result)
    return results


def report(results: list[DocumentResult]) -> None:
    print("\n(h) Documents rendered per second, in process (the demo letter, one page)")
    for result in results:
        figure = result.per_second
        print(
            f"    {result.kind:<12} {figure.median:,.1f}/s [{figure.low:,.1f}..{figure.high:,.1f}]"
            f"  {result.size_bytes / 1024:,.0f} KB each  ({result.converter})"
        )
