"""Service recovery cases: open from a mention or a profile, compensation within the role's limit or
waiting for a supervisor, SLA timers, follow-ups, and the reports."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from string import Template
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from web import audit
from web.context import db, now
from web.models import AuditEntry, Case, HandleLink, Member, MentionState, User
from web.recovery import (
    CATEGORIES,
    COMPENSATION_KINDS,
    OUTCOMES,
    SEVERITIES,
    RuleError,
    SlaStatus,
    compensation_value_cents,
    decide_approval,
    follow_up_state,
    initial_state,
    limit_for,
    median,
    move,
    sla_status,
    week_start,
)
from web.security import OVERSIGHT, STAFF, roles

bp = Blueprint("cases", __name__, url_prefix="/cases")

APOLOGIES = {
    "delay": "Hi $name, we are sorry your trip was delayed. We are looking into it for you now.",
    "cancellation": "Hi $name, we are very sorry your flight was cancelled. Let us make this right.",
    "baggage": "Hi $name, we are sorry about your bag. We are tracing it and will update you.",
    "general": "Hi $name, we are sorry about your experience. Thank you for telling us.",
}


def render_apology(key: str, name: str) -> str:
    # safe_substitute: a stray $ in a template never raises; the page escapes the result like any text.
    return Template(APOLOGIES.get(key, APOLOGIES["general"])).safe_substitute(name=name or "there")


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(v, v.replace("_", " ")) for v in values]


class CaseForm(FlaskForm):
    category = SelectField("Category", choices=_choices(CATEGORIES), validators=[DataRequired()])
    severity = SelectField("Severity", choices=_choices(SEVERITIES), default="medium", validators=[DataRequired()])
    notes = TextAreaField("Notes", validators=[Length(max=5000)])
    apology_template = SelectField("Apology template", choices=[(k, k) for k in APOLOGIES], default="general")
    apology = TextAreaField("Apology", validators=[Length(max=2000)])
    compensation_kind = SelectField("Compensation", choices=_choices(COMPENSATION_KINDS), default="none")
    amount = StringField(
        "Amount (points, or dollars for vouchers and refunds)", default="0", validators=[Length(max=12)]
    )
    follow_up_on = DateField("Follow up on", validators=[Optional()])
    mention_id = StringField(validators=[Length(max=300)])
    loyalty_id = StringField(validators=[Length(max=32)])

    def validate_amount(self, field: StringField) -> None:
        try:
            self.value_cents()
        except RuleError as exc:
            raise ValidationError(str(exc)) from exc

    def value_cents(self) -> int:
        kind = self.compensation_kind.data or "none"
        raw = (self.amount.data or "0").strip()
        try:
            number = Decimal(raw)
        except InvalidOperation as exc:
            raise RuleError(f"{raw!r} is not a number") from exc
        if kind == "points":
            if number != number.to_integral_value():
                raise RuleError("points are whole numbers")
            return compensation_value_cents(kind, int(number))
        return compensation_value_cents(kind, int((number * 100).to_integral_value()))


def _case_dict(case: Case) -> dict[str, Any]:
    return {
        "state": case.state,
        "category": case.category,
        "severity": case.severity,
        "compensation_kind": case.compensation_kind,
        "compensation_cents": case.compensation_cents,
        "follow_up_on": case.follow_up_on.isoformat() if case.follow_up_on else None,
        "outcome": case.outcome,
        "approved_by": case.approved_by,
    }


@dataclass(frozen=True)
class CaseRow:
    case: Case
    sla: SlaStatus
    state: str  # as shown: a case in progress whose follow-up date came is "follow_up_due"


def _get(case_id: int) -> Case:
    case = db().get(Case, case_id)
    if case is None:
        abort(404)
    return case


def _today() -> date:
    return now().date()


@bp.get("/")
@roles(*STAFF)
def index() -> str:
    session = db()
    at = now()
    mine = request.args.get("mine") == "1"
    query = sa.select(Case).order_by(Case.opened_at.desc()).limit(500)
    if mine:
        query = query.where(Case.opened_by == current_user.id)
    cases = list(session.scalars(query))
    rows = [
        CaseRow(
            case,
            sla_status(case.severity, case.opened_at, at, case.first_response_at, case.resolved_at),
            follow_up_state(case.state, case.follow_up_on, at.date()),
        )
        for case in cases
    ]
    due = [r for r in rows if r.state == "follow_up_due" and r.case.opened_by == current_user.id]
    waiting = [r for r in rows if r.state == "waiting_approval"]
    breaches = sum(1 for r in rows if r.sla.breached and r.state != "resolved")
    return render_template("cases.html", rows=rows, due=due, waiting=waiting, breaches=breaches, mine=mine)


@bp.route("/new", methods=["GET", "POST"])
@roles(*STAFF)
def new() -> str | Response:
    form = CaseForm()
    if request.method == "GET":
        form.mention_id.data = request.args.get("mention_id", "")
        form.loyalty_id.data = request.args.get("loyalty_id", "")
    session = db()
    mention_row = session.get(MentionState, form.mention_id.data) if form.mention_id.data else None
    member = session.get(Member, form.loyalty_id.data) if form.loyalty_id.data else None
    author_key = mention_row.author_key if mention_row else ""
    if member is None and author_key:
        link = session.scalar(sa.select(HandleLink).where(HandleLink.key == author_key))
        member = session.get(Member, link.loyalty_id) if link else None
    if request.method == "GET" and not form.apology.data:
        form.apology.data = render_apology(form.apology_template.data or "general", member.name if member else "")
    if form.validate_on_submit():
        if form.loyalty_id.data and member is None:
            form.loyalty_id.errors = [f"no member with loyalty ID {form.loyalty_id.data!r}"]
            return _new_page(form, member)
        value = form.value_cents()
        at = now()
        case = Case(
            mention_id=form.mention_id.data or None,
            loyalty_id=member.loyalty_id if member else None,
            author_key=author_key,
            category=form.category.data,
            severity=form.severity.data,
            notes=form.notes.data or "",
            apology=form.apology.data or "",
            compensation_kind=form.compensation_kind.data if value else "none",
            compensation_cents=value,
            follow_up_on=form.follow_up_on.data,
            state=initial_state(current_user.role, value),
            opened_by=current_user.id,
            opened_at=at,
            updated_at=at,
        )
        session.add(case)
        session.flush()
        audit.record(session, at, current_user, "case.open", "case", str(case.id), None, _case_dict(case))
        session.commit()
        if case.state == "waiting_approval":
            flash("The compensation is above your limit: the case waits for a supervisor's approval.", "warn")
        return redirect(url_for("cases.show", case_id=case.id))
    return _new_page(form, member)


def _new_page(form: CaseForm, member: Member | None) -> str:
    # Every template pre-filled with the customer's name: choosing one fills the apology (case_new.js).
    name = member.name if member else ""
    apologies = {key: render_apology(key, name) for key in APOLOGIES}
    return render_template(
        "case_new.html", form=form, member=member, limit=limit_for(current_user.role), apologies=apologies
    )


@bp.get("/<int:case_id>")
@roles(*STAFF)
def show(case_id: int) -> str:
    case = _get(case_id)
    at = now()
    sla = sla_status(case.severity, case.opened_at, at, case.first_response_at, case.resolved_at)
    member = db().get(Member, case.loyalty_id) if case.loyalty_id else None
    oversight = current_user.role in OVERSIGHT
    history = (
        list(
            db().scalars(
                sa.select(AuditEntry)
                .where(AuditEntry.object_type == "case", AuditEntry.object_id == str(case.id))
                .order_by(AuditEntry.id)
            )
        )
        if oversight  # the audit trail is for supervisors and admins
        else []
    )
    opener = db().get(User, case.opened_by)
    return render_template(
        "case.html",
        history=history,
        opener=opener.username if opener else "?",
        case=case,
        sla=sla,
        member=member,
        outcomes=OUTCOMES,
        shown_state=follow_up_state(case.state, case.follow_up_on, at.date()),
        can_decide=oversight,
    )


def _change(case: Case, action: str, apply: Any) -> Response:
    session = db()
    before = _case_dict(case)
    try:
        apply()
    except RuleError as exc:
        session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("cases.show", case_id=case.id))
    case.updated_at = now()
    audit.record(session, case.updated_at, current_user, action, "case", str(case.id), before, _case_dict(case))
    session.commit()
    return redirect(url_for("cases.show", case_id=case.id))


@bp.post("/<int:case_id>/move")
@roles(*STAFF)
def move_case(case_id: int) -> Response:
    case = _get(case_id)
    target = request.form.get("target", "")
    outcome = request.form.get("outcome", "")

    def apply() -> None:
        current = follow_up_state(case.state, case.follow_up_on, _today())
        case.state = move(current, target, outcome)
        if target == "resolved":
            case.outcome = outcome
            case.resolved_at = now()
            case.first_response_at = case.first_response_at or case.resolved_at
        elif case.resolved_at is not None:
            case.resolved_at, case.outcome = None, ""

    return _change(case, "case.move", apply)


@bp.post("/<int:case_id>/responded")
@roles(*STAFF)
def responded(case_id: int) -> Response:
    """The first reply went out: stops the first-response timer."""
    case = _get(case_id)

    def apply() -> None:
        if case.first_response_at is not None:
            raise RuleError("the first response is already recorded")
        case.first_response_at = now()
        if case.state == "open":
            case.state = "in_progress"

    return _change(case, "case.first_response", apply)


@bp.post("/<int:case_id>/decision")
@roles(*OVERSIGHT)
def decision(case_id: int) -> Response:
    case = _get(case_id)
    approve = request.form.get("decision") == "approve"

    def apply() -> None:
        case.state = decide_approval(case.state, current_user.role, case.compensation_cents, approve)
        case.approved_by = current_user.id
        if not approve:
            case.compensation_kind, case.compensation_cents = "none", 0

    return _change(case, "case.approve" if approve else "case.refuse", apply)


@bp.get("/reports")
@roles(*OVERSIGHT)
def reports() -> str:
    cases = list(db().scalars(sa.select(Case)))
    by_category_outcome: Counter[tuple[str, str]] = Counter((c.category, c.outcome or "(open)") for c in cases)
    first = [(c.first_response_at - c.opened_at).total_seconds() for c in cases if c.first_response_at is not None]
    resolution = [(c.resolved_at - c.opened_at).total_seconds() for c in cases if c.resolved_at is not None]
    weekly: defaultdict[date, int] = defaultdict(int)
    for c in cases:
        if c.compensation_cents and c.state != "waiting_approval":
            weekly[week_start(c.opened_at.date())] += c.compensation_cents
    return render_template(
        "case_reports.html",
        by_category_outcome=sorted(by_category_outcome.items()),
        median_first=median(first),
        median_resolution=median(resolution),
        weekly=sorted(weekly.items()),
        total=len(cases),
    )


def minutes(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 60:.0f} min"


@bp.app_template_filter("money")
def money(cents: int) -> str:
    return f"${cents / 100:,.2f}"


@bp.app_template_filter("minutes")
def minutes_filter(seconds: float | None) -> str:
    return minutes(seconds)


@bp.app_template_filter("when")
def when(value: datetime | None) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M")
