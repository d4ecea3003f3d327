"""What the plant API answers, declared: these models are the response schemas of the OpenAPI
document, and FastAPI checks every answer against them before it leaves.

Fields a client relies on are named and typed; an answer may carry more (``extra="allow"``), so a
new figure can be added without breaking a client, and nothing is silently dropped.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


class Machine(Answer):
    id: str
    name: str
    line: str


class Stop(Answer):
    start: str = Field(description="ISO 8601, UTC")
    end: str = Field(description="ISO 8601, UTC; now while the stop goes on")
    local_start: str = Field(description="HH:MM in the plant's time zone")
    minutes: float
    reason: str | None
    category: str = Field(description="Loss category (breakdown, setup, unexplained, …)")
    ongoing: bool


class Recorded(Answer):
    status: Literal["recorded", "undone", "corrected"]


class ScrapRecorded(Recorded):
    entry: str = Field(description="DELETE /api/machines/{machine}/scrap/{entry} undoes it")


class OeeRow(Answer):
    machine: str
    period_start: str
    period_end: str
    planned_s: float
    run_s: float
    total_count: int = Field(ge=0)
    good_count: int = Field(ge=0)
    availability: float | None
    performance: float | None
    quality: float | None
    oee: float | None


class SmallStop(Answer):
    start: dt.datetime = Field(description="ISO 8601, UTC")
    seconds: float
    category: str


class SmallLosses(Answer):
    minor_stop_limit_s: float
    slow_factor: float
    stops: list[SmallStop]


class AuditEntry(Answer):
    logged_at: str = Field(description="ISO 8601, UTC")
    username: str
    action: str
    machine: str | None
    detail: dict[str, object]


class ParetoBar(Answer):
    reason: str
    category: str
    lost_s: float
    stops: int = Field(ge=0)
    share: float
    cumulative_share: float


class Me(BaseModel):
    username: str
    role: Literal["operator", "manager", "admin"]
    lines: list[str] = Field(description="An operator's lines; empty means all")
    csrf: str = Field(description="Send as X-CSRF-Token on writes with the session cookie")


class Tile(Answer):
    id: str
    name: str
    state: str
    category: str
    since: str | None
    oee: float | None
    target: float | None
    alert: bool


class OverviewLine(Answer):
    line: str
    machines: list[Tile]


class Overview(Answer):
    site: str
    now: str
    timezone: str
    lines: list[OverviewLine]


class UserOut(BaseModel):
    username: str
    role: Literal["operator", "manager", "admin"]
    lines: list[str]


class UserPage(BaseModel):
    total: int = Field(ge=0)
    items: list[UserOut]


class TokenOut(BaseModel):
    id: str = Field(description="The start of the token's hash: what revoking takes")
    username: str
    name: str
    created_at: str


class NewToken(BaseModel):
    token: str = Field(description="Shown once: keep it, it cannot be read again")
    id: str


class PlantOutline(Answer):
    site: str
    timezone: str
    lines: list[dict[str, object]]


class PlantModel(Answer):
    version: str
    toml: str
    outline: PlantOutline | None = Field(description="None when the stored text does not parse")


class PlantSaved(Answer):
    version: str
    outline: PlantOutline


class Questionnaire(Answer):
    dimensions: list[dict[str, object]]
    scale: list[str] = Field(description="Labels of the levels 0–5")
    roles: list[str] = Field(description="The roles a respondent may answer as")


class MyAnswers(Answer):
    round: str
    role: str | None
    answers: dict[str, object]
    missing: list[str] = Field(description="Questions still without an answer")
    complete: bool = Field(description="Complete answers count in the results")


class Rounds(Answer):
    round: str = Field(description="The round people answer now (T0, T1, …)")
    rounds: list[str]


class AssessResults(Answer):
    round: str
    scores: dict[str, object] | None = Field(description="None until someone answered")
    evidence: dict[str, object]
    losses: list[dict[str, object]]
    recommendations: list[dict[str, object]]
    blocked: list[dict[str, object]]
    next_step: dict[str, object] | None


class SkillsMatrix(Answer):
    people: list[str]
    matrix: dict[str, dict[str, int]]
    skills: list[dict[str, object]]
    levels: list[str]
    gaps: list[dict[str, object]]
    training: list[dict[str, object]]
    warnings: list[object]


class SkillLevel(Answer):
    person: str
    skill: str
    level: int = Field(ge=0, le=4)


class Erased(Answer):
    erased: str


class EventLogInfo(Answer):
    id: str
    name: str
    columns: dict[str, str | None]
    uploaded_at: str
    by: str
    events: int = Field(ge=0)
    cases: int = Field(ge=0)


class LogSummary(Answer):
    summary: dict[str, object] = Field(description="The `pilotline map summary` contract")
    variants: list[dict[str, object]]
    loopbacks: list[dict[str, object]]
    automation: list[dict[str, object]]


class ProcessMap(Answer):
    activities: int
    paths: int
    statistic: str = Field(description="What durations show: median (default), mean, …")
    metric: str
    activities_shown: int
    paths_shown: int
    notes: list[str]
    svg: str


class CasesBehind(Answer):
    what: Literal["activity", "path"]
    cases: int = Field(ge=0)
    share: float
    statistic: str
    variants: list[dict[str, object]]
    case_ids: list[str] = Field(description="The first cases; `more` says how many are left out")
    more: int = Field(ge=0)
    csv: str = Field(description="Where every case id is, as CSV")


class Conformance(Answer):
    cases: int = Field(ge=0)
    fitting_cases: int = Field(ge=0)
    fitting_share: float
    kind: str = Field(description="routing or petri net")
    model: str
    checked_at: str
    verdict: Literal["good", "warn", "bad"]
    failing_count: int = Field(ge=0)
    failing: list[dict[str, object]] = Field(description="The least fitting cases first")


class ImportRow(Answer):
    id: int
    file: str
    kind: str
    rows: int = Field(ge=0)
    new_rows: int = Field(ge=0)
    imported_at: str


class ImportPage(Answer):
    total: int = Field(ge=0)
    items: list[ImportRow]


class Collector(Answer):
    name: str
    age_s: float = Field(description="Seconds since the collector last wrote its status")
    running: bool
    sources: list[dict[str, object]]


class Imported(Answer):
    file: str
    kind: str
    rows: int = Field(ge=0)
    new_rows: int = Field(ge=0, description="0 when the same rows were imported before")
    notes: list[str]
    unknown_reasons: dict[str, int] = Field(
        description="Reason codes the plant model does not know, with how many rows have each"
    )


class Suggestion(BaseModel):
    header: str
    column: str | None = Field(description="The target column; None: leave the column out")
    why: str | None = Field(description="remembered, header or values")


class UploadPreview(Answer):
    file: str
    format: str
    headers: list[str]
    kind: str | None = Field(description="What the file seems to hold; None when unclear")
    suggestions: dict[str, list[Suggestion]]
    timestamp_formats: dict[str, list[str]] = Field(
        description="Per header, the layouts that read every sampled value"
    )
    decimal_comma: bool
    remembered: dict[str, object] | None
    unknown_machines: list[str]
    unknown_reasons: list[str]


class PlantAdded(Answer):
    machines: list[str]
    reasons: list[str]


class Effect(Answer):
    value: float
    low: float | None
    high: float | None
    scale: str = Field(description="difference, or ratio for count metrics")
    unit: str
    verdict: str


class PilotSummary(Answer):
    id: str
    title: str
    status: str = Field(description="draft, running, ended or decided")
    metric: str
    machines: list[str]
    effect: Effect | None = Field(description="None until the pilot period has data")
    why_no_effect: str | None
    review_date: str
    frozen: bool
    goalposts_moved: bool | list[object]


class PilotDetail(Answer):
    id: str
    pilot: dict[str, object] = Field(description="The pilot file's fields")
    status: str
    versions: list[dict[str, object]]
    decisions: list[dict[str, object]]
    evaluation: dict[str, object] | None = Field(
        description="As `pilotline pilot evaluate FILE --format json`; None before there is one"
    )
    why_no_evaluation: str | None


class PilotPlan(Answer):
    """What a draft could detect: minimum detectable effect, days needed, warnings."""


class Frozen(Answer):
    """What was frozen: the version, its fingerprint and the baseline's."""


class DecisionEntry(Answer):
    id: str
    title: str
    decision: str


class Decided(Answer):
    status: Literal["recorded"]
    decision: str
