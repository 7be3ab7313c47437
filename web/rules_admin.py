"""Keyword rule sets for admins: list, edit the YAML, preview over the indexed history, save & publish.

Saving goes through listeners.rules_store (check -> new version -> publish to listen.rules after the commit),
so every running listener swaps its rules within seconds. Every preview, rejected save, save and republish
is in the audit trail; a save's audit entry is written in the same transaction as the version it records.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from listeners.rules import DEFAULT_RULES_PATH, RuleSet, load_rules, ruleset_from_dict
from listeners.rules_preview import MAX_DAYS, Preview, preview_history
from listeners.rules_store import (
    Check,
    KafkaRulesPublisher,
    Problem,
    RulesConflict,
    RulesPublisher,
    RulesRejected,
    RuleStore,
    RuleVersion,
    check_name,
    check_rules,
)
from web import audit
from web.context import console, db, now
from web.security import roles

bp = Blueprint("rules_admin", __name__, url_prefix="/admin/rules")

DEFAULT_SET = "default"  # the name whose absence means "the rule file shipped with the listeners"
DEFAULT_DAYS = 14
NEW_SET_TEMPLATE = """\
version: 1
brands:
  - name: mybrand
    rules:
      - id: mybrand-handle
        query: '@MyBrand OR "My Brand"'
    topics:
      baggage: 'bag OR luggage'
    fixtures:
      match:
        - text: "@MyBrand lost my bag"
          topics: [baggage]
"""


def _store() -> RuleStore:
    state = console()
    return RuleStore(state.sessions, state.clock)


def _publisher() -> RulesPublisher:
    configured: RulesPublisher | None = current_app.config.get("RULES_PUBLISHER")
    if configured is not None:
        return configured
    state = console()
    if "rules_publisher" not in state.extra:
        state.extra["rules_publisher"] = KafkaRulesPublisher(state.settings.kafka_bootstrap,
                                                             state.settings.topic("listen.rules"))
    found: RulesPublisher = state.extra["rules_publisher"]
    return found


def _es() -> Any:
    configured = current_app.config.get("RULES_ES")
    if configured is not None:
        return configured
    state = console()
    if "rules_es" not in state.extra:
        from stream.es_admin import client

        state.extra["rules_es"] = client(state.settings.es_url)
    return state.extra["rules_es"]


def _live_rules(name: str, current: RuleVersion | None) -> RuleSet | None:
    """What listeners run for this name now: the stored version, or for `default` the shipped file."""
    if current is not None:
        return ruleset_from_dict(json.loads(current.document))
    return load_rules() if name == DEFAULT_SET else None


def _initial_text(name: str, current: RuleVersion | None) -> str:
    if current is not None:
        return current.source
    return DEFAULT_RULES_PATH.read_text(encoding="utf-8") if name == DEFAULT_SET else NEW_SET_TEMPLATE


def _valid_name(name: str) -> str:
    if check_name(name):
        abort(404)
    return name


def _days() -> int:
    try:
        days = int(request.form.get("days", DEFAULT_DAYS))
    except ValueError:
        days = DEFAULT_DAYS
    return min(max(days, 1), MAX_DAYS)


def _problem_view(p: Problem) -> dict[str, Any]:
    caret = ""
    if p.rule and p.column is not None and "\n" not in p.rule:
        caret = " " * (p.column - 1) + "^"
    return {"severity": p.severity, "message": p.message, "where": p.where, "column": p.column, "line": p.line,
            "rule": p.rule, "caret": caret}


def _edit_page(name: str, text: str, note: str, days: int, check: Check | None = None,
               preview: Preview | None = None, preview_error: str = "", status: int = 200) -> tuple[str, int]:
    store = _store()
    current = store.current(name)
    problems = [_problem_view(p) for p in check.problems] if check else []
    peak = max([max(d.current, d.new) for d in preview.days] + [1]) if preview else 1
    page = render_template(
        "rules_edit.html", name=name, text=text, note=note, days=days, max_days=MAX_DAYS, current=current,
        history=store.history(name), check=check, problems=problems, preview=preview, peak=peak,
        preview_error=preview_error, is_default=name == DEFAULT_SET,
    )
    return page, status


def _audit(session: Session, action: str, name: str, before: dict[str, Any] | None,
           after: dict[str, Any] | None) -> None:
    audit.record(session, now(), current_user, action, "rule_set", name, before, after)


@bp.get("/")
@roles("admin")
def index() -> str:
    return render_template("rules.html", sets=_store().names(), default_set=DEFAULT_SET, error="")


@bp.post("/new")
@roles("admin")
def new() -> str | Response:
    name = request.form.get("name", "").strip()
    error = check_name(name)
    if error:
        return render_template("rules.html", sets=_store().names(), default_set=DEFAULT_SET, error=error), 400  # type: ignore[return-value]
    return redirect(url_for("rules_admin.edit", name=name))


@bp.get("/<name>")
@roles("admin")
def edit(name: str) -> tuple[str, int]:
    _valid_name(name)
    current = _store().current(name)
    return _edit_page(name, _initial_text(name, current), "", DEFAULT_DAYS)


@bp.post("/<name>")
@roles("admin")
def submit(name: str) -> tuple[str, int] | Response:
    _valid_name(name)
    text = request.form.get("source", "").replace("\r\n", "\n")
    note = request.form.get("note", "").strip()[:500]
    action = request.form.get("action", "preview")
    if action == "save":
        return _save(name, text, note)
    if action == "republish":
        return _republish(name)
    return _preview(name, text, note, _days())


def _preview(name: str, text: str, note: str, days: int) -> tuple[str, int]:
    check = check_rules(text)
    preview: Preview | None = None
    error = ""
    if check.rules is not None:
        try:
            preview = preview_history(_es(), console().settings.index_prefix,
                                      _live_rules(name, _store().current(name)), check.rules, now(), days)
        except Exception as exc:  # Elasticsearch down: the check still helps, the page says what is missing
            error = f"the indexed history could not be read: {type(exc).__name__}: {exc}"
    session = db()
    _audit(session, "rules.preview", name, None, {
        "days": days, "errors": len(check.errors), "warnings": len(check.warnings),
        "current": preview.current if preview else None, "new": preview.new if preview else None,
    })
    session.commit()
    return _edit_page(name, text, note, days, check, preview, error, 200 if check.ok else 422)


def _save(name: str, text: str, note: str) -> tuple[str, int] | Response:
    def audited(session: Session, new: RuleVersion, previous: RuleVersion | None) -> None:
        before = {"version": previous.version} if previous else None
        _audit(session, "rules.publish", name, before, {"version": new.version, "note": note})

    try:
        saved = _store().save(name, text, current_user.username, _publisher(), note, audited)
    except RulesRejected as exc:
        session = db()
        _audit(session, "rules.reject", name, None, {"errors": [str(p) for p in exc.check.errors[:20]]})
        session.commit()
        return _edit_page(name, text, note, DEFAULT_DAYS, exc.check, status=422)
    except RulesConflict as exc:
        flash(str(exc), "error")
        return _edit_page(name, text, note, DEFAULT_DAYS, status=409)
    v = saved.version.version
    if not saved.published:
        flash(f"Version {v} of {name} is saved but NOT live: publishing failed ({saved.publish_error}). "
              "Use “Publish again”.", "error")
    elif saved.created:
        flash(f"Version {v} of {name} saved and published; listeners reload it within seconds.", "ok")
    else:
        flash(f"No change to version {v} of {name}; published it again.", "ok")
    return redirect(url_for("rules_admin.edit", name=name))


def _republish(name: str) -> Response:
    row, error = _store().publish_current(name, _publisher())
    if row is None:
        abort(404)
    session = db()
    _audit(session, "rules.republish", name, None, {"version": row.version, "error": error})
    session.commit()
    if error:
        flash(f"Publishing version {row.version} of {name} failed: {error}", "error")
    else:
        flash(f"Version {row.version} of {name} published again.", "ok")
    return redirect(url_for("rules_admin.edit", name=name))
