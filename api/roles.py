"""Who may call each endpoint: the role matrix, in one place (issue 6; docs/roles.md).

Every route of the API has a rule here, keyed by method and path template; a route
without one is refused (deny by default), and a test checks that every route of the
OpenAPI schema has exactly one rule. Order actions take their departments from
`domain.actions.ACTION_RULES`, which the workflow's validators check again.

`python -m api.roles` prints the matrix as Markdown (docs/roles.md is that output).
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.actions import ACTION_RULES, Action
from domain.actors import WORKING_DEPARTMENTS, Department
from domain.feedback import HANDLING_DEPARTMENTS, INTAKE_DEPARTMENTS, RATING_DEPARTMENTS

D = Department
ALL = frozenset(Department)
STAFF = ALL  # any authenticated member of staff or system account
SUPERVISORS = frozenset({D.SUPERVISION, D.ADMIN})
WAREHOUSE_OR_ADMIN = frozenset({D.WAREHOUSE, D.ADMIN})
#: Sales keeps the listings and prices (P3.1), the warehouse the packages (P3.3): each
#: changes only its own facts (domain.catalogue.KEPT_BY, checked by the route).
CATALOGUE_KEEPERS = frozenset({D.SALES, D.WAREHOUSE, D.ADMIN})


@dataclass(frozen=True)
class Rule:
    #: None: no token needed. Otherwise the departments whose tokens are admitted.
    departments: frozenset[Department] | None
    why: str
    #: Departments of `departments` admitted for their leads only (P8.2: a department's
    #: scorecard is its lead's to see, not every member's).
    leads_only: frozenset[Department] = frozenset()

    @property
    def public(self) -> bool:
        return self.departments is None

    def admits(self, department: Department, *, lead: bool) -> bool:
        """Whether a member of `department` (a lead or not) may call the endpoint."""
        if self.departments is None:
            return True
        if department not in self.departments:
            return False
        return lead or department not in self.leads_only


def action(name: Action) -> Rule:
    rule = ACTION_RULES[name]
    return Rule(rule.departments, f"{rule.clause}: {name.value}")


ORDERS = "/api/v1/orders"
ORDER = "/api/v1/orders/{order_id}"
TASK = "/api/v1/tasks/{task_id}"
SKU = "/api/v1/inventory/{sku}"
FEEDBACK = "/api/v1/feedback"
PRODUCT = "/api/v1/products/{sku}"
CUSTOMER = "/api/v1/customers/{customer_id}"
#: Who works rectification items (P8.1.3): the departments, and the supervisors.
WORKING_DEPARTMENTS_AND_SUPERVISORS = frozenset(WORKING_DEPARTMENTS) | SUPERVISORS
#: Who judges customers' qualification (P3.1) and who supervises it.
REVIEWERS = frozenset({D.SALES, D.ADMIN})
TRAINING = "/api/v1/training"
#: P7.3.2: customer service tags the causes of the feedback it resolved; supervision and
#: admin may correct a tag.
CAUSE_TAGGERS = SUPERVISORS | {D.CUSTOMER_SERVICE}
#: P7.1: supervision records training; customer service reads its own sessions and who is due.
TRAINING_READERS = SUPERVISORS | {D.CUSTOMER_SERVICE}

ROLE_MATRIX: dict[tuple[str, str], Rule] = {
    ("GET", "/healthz"): Rule(None, "load balancers and probes"),
    ("GET", "/metrics"): Rule(
        None, "Prometheus scraping; with OMS_METRICS_TOKEN set, that token as bearer"
    ),
    ("POST", "/api/v1/carriers/{carrier}/events"): Rule(
        None, "P3.4: carriers' tracking callbacks, signed with each carrier's secret (HMAC)"
    ),
    ("POST", ORDERS): Rule(frozenset({D.PLATFORM}), "P2.2: the payment system hands orders over"),
    ("GET", ORDERS): Rule(STAFF, "P6.3: departments query orders as their work needs"),
    ("GET", ORDER): Rule(STAFF, "P3.5, P6.3"),
    ("GET", f"{ORDER}/history"): Rule(SUPERVISORS, "P6.1, P8.1: the timeline from the history"),
    ("GET", f"{ORDER}/notifications"): Rule(STAFF, "P3-P5: what the customer was told, and when"),
    ("POST", f"{ORDER}/corrections"): action(Action.CORRECT),
    ("POST", f"{ORDER}/review"): action(Action.REVIEW),
    ("POST", f"{ORDER}/backorder"): action(Action.RECORD_BACKORDER),
    ("POST", f"{ORDER}/pack"): action(Action.PACK),
    ("POST", f"{ORDER}/dispatch"): action(Action.DISPATCH),
    ("POST", f"{ORDER}/tracking"): action(Action.TRACKING),
    ("POST", f"{ORDER}/changes"): action(Action.REQUEST_CHANGE),
    ("POST", f"{ORDER}/changes/{{case_id}}/decision"): action(Action.DECIDE_CHANGE),
    ("POST", f"{ORDER}/cancel"): action(Action.CANCEL),
    ("POST", f"{ORDER}/payment-events"): action(Action.PAYMENT_EVENT),
    ("POST", f"{ORDER}/refunds/{{refund_id}}/complete"): action(Action.COMPLETE_REFUND),
    ("POST", f"{ORDER}/exceptions/{{case_id}}/decision"): action(Action.DECIDE_LOGISTICS_EXCEPTION),
    ("POST", f"{ORDER}/exceptions/{{case_id}}/cause"): action(Action.RECORD_LOGISTICS_CAUSE),
    ("POST", f"{ORDER}/returns"): action(Action.REQUEST_RETURN),
    ("POST", f"{ORDER}/returns/{{case_id}}/decision"): action(Action.DECIDE_RETURN),
    ("POST", f"{ORDER}/returns/{{case_id}}/inspection"): action(Action.INSPECT_RETURN),
    ("POST", f"{ORDER}/supplier-claims/{{case_id}}"): action(Action.SUPPLIER_CLAIM),
    ("POST", f"{ORDER}/appointment"): action(Action.SCHEDULE_SERVICE),
    ("POST", f"{ORDER}/service-work"): action(Action.RECORD_SERVICE_WORK),
    ("POST", f"{ORDER}/service-confirmation"): action(Action.CONFIRM_SERVICE),
    ("POST", f"{ORDER}/service-complaint"): action(Action.SERVICE_COMPLAINT),
    ("GET", "/api/v1/tasks"): Rule(
        STAFF, "task inboxes; supervisors see all; `escalated=true` as /escalations"
    ),
    ("GET", TASK): Rule(STAFF, "task inboxes"),
    ("POST", f"{TASK}/complete"): action(Action.COMPLETE_TASK),
    ("POST", f"{TASK}/claim"): action(Action.CLAIM_TASK),
    ("POST", f"{TASK}/unclaim"): action(Action.CLAIM_TASK),
    ("POST", f"{TASK}/reassign"): action(Action.CLAIM_TASK),
    ("GET", SKU): Rule(STAFF, "P3.2: stock levels"),
    ("PUT", SKU): Rule(WAREHOUSE_OR_ADMIN, "P3.2: stock counts"),
    ("POST", f"{SKU}/receipts"): Rule(frozenset({D.WAREHOUSE}), "P3.2: restock receipts"),
    ("GET", "/api/v1/products"): Rule(STAFF, "P3.1: the catalogue orders are checked against"),
    ("GET", PRODUCT): Rule(STAFF, "P3.1, P3.3"),
    ("PUT", PRODUCT): Rule(
        CATALOGUE_KEEPERS,
        "each its own facts: sales prices and legality (P3.1), warehouse the package (P3.3)",
    ),
    ("GET", f"{CUSTOMER}/standing"): Rule(
        REVIEWERS | frozenset({D.CUSTOMER_SERVICE, D.SUPERVISION}),
        "P3.1: customer qualification",
    ),
    ("PUT", f"{CUSTOMER}/block"): Rule(REVIEWERS, "P3.1: the blocked customer list"),
    ("DELETE", f"{CUSTOMER}/block"): Rule(REVIEWERS, "P3.1: the blocked customer list"),
    ("POST", FEEDBACK): Rule(INTAKE_DEPARTMENTS, "P7.2: feedback from the channels"),
    ("GET", FEEDBACK): Rule(STAFF, "P7.3: feedback and its results"),
    ("GET", f"{FEEDBACK}/{{feedback_id}}"): Rule(STAFF, "P7.3"),
    ("POST", f"{FEEDBACK}/{{feedback_id}}/replies"): Rule(HANDLING_DEPARTMENTS, "P7.2: replies"),
    ("POST", f"{FEEDBACK}/{{feedback_id}}/resolve"): Rule(HANDLING_DEPARTMENTS, "P7.3: results"),
    ("POST", f"{ORDER}/rating"): Rule(RATING_DEPARTMENTS, "P6.3: satisfaction ratings"),
    ("GET", f"{ORDER}/rating"): Rule(STAFF, "P6.3"),
    ("GET", "/api/v1/escalations"): Rule(
        frozenset(WORKING_DEPARTMENTS) | SUPERVISORS,
        "P8.1: a department's escalations, to its leads (named); its members see them too",
    ),
    ("GET", "/api/v1/reports/orders"): Rule(SUPERVISORS, "P6.3: order volume"),
    ("GET", "/api/v1/reports/revenue"): Rule(SUPERVISORS, "P6.3: revenue net of refunds"),
    ("GET", "/api/v1/reports/satisfaction"): Rule(SUPERVISORS, "P6.3: customer satisfaction"),
    ("GET", "/api/v1/reports/snapshots"): Rule(SUPERVISORS, "P6.3: daily snapshots"),
    ("GET", "/api/v1/kpis"): Rule(SUPERVISORS, "P8.2: KPIs per department"),
    ("POST", "/api/v1/supervision/runs"): Rule(SUPERVISORS, "P8.1: run the supervision checks now"),
    ("GET", "/api/v1/rectifications"): Rule(
        WORKING_DEPARTMENTS_AND_SUPERVISORS,
        "P8.1.3: rectification items; a department its own, supervision all",
    ),
    ("GET", "/api/v1/rectifications/{item_id}"): Rule(
        WORKING_DEPARTMENTS_AND_SUPERVISORS, "P8.1.3: one item with every transition"
    ),
    ("POST", "/api/v1/rectifications/{item_id}/answer"): Rule(
        frozenset(WORKING_DEPARTMENTS) | {D.SUPERVISION},
        "P8.1.3: the item's department answers (cause, corrective action, evidence)",
    ),
    ("POST", "/api/v1/rectifications/{item_id}/verify"): Rule(
        frozenset({D.SUPERVISION}), "P8.1.3: supervision accepts or rejects the answer"
    ),
    ("GET", "/api/v1/scorecards"): Rule(
        WORKING_DEPARTMENTS_AND_SUPERVISORS,
        "P8.2, P8.3: a month's scorecards; supervision all, a department's lead their own",
        leads_only=frozenset(WORKING_DEPARTMENTS),
    ),
    ("GET", "/api/v1/scorecards/targets"): Rule(
        WORKING_DEPARTMENTS_AND_SUPERVISORS,
        "P8.2: the targets in force and their history; a lead their department's",
        leads_only=frozenset(WORKING_DEPARTMENTS),
    ),
    ("PUT", "/api/v1/scorecards/targets/{department}/{kpi}"): Rule(
        SUPERVISORS, "P8.2: supervision sets the departments' targets"
    ),
    ("POST", "/api/v1/scorecards/evaluations"): Rule(
        SUPERVISORS, "P8.2: evaluate a month now (the schedule does it monthly)"
    ),
    ("POST", "/api/v1/scorecards/{period}/standings"): Rule(
        SUPERVISORS, "P8.3: confirm or change a standing, with the reward or penalty decided"
    ),
    ("GET", "/api/v1/supervision/runs/{run_id}"): Rule(
        SUPERVISORS, "P8.1: a supervision run and its findings"
    ),
    ("GET", "/api/v1/feedback-causes"): Rule(STAFF, "P7.3.2: the causes feedback is tagged with"),
    ("PUT", "/api/v1/feedback-causes/{code}"): Rule(
        SUPERVISORS, "P7.3.2: supervision keeps the list of causes"
    ),
    ("DELETE", "/api/v1/feedback-causes/{code}"): Rule(
        SUPERVISORS, "P7.3.2: supervision retires a cause (its tags keep it)"
    ),
    ("GET", f"{FEEDBACK}/{{feedback_id}}/cause"): Rule(STAFF, "P7.3.2: a feedback's cause"),
    ("PUT", f"{FEEDBACK}/{{feedback_id}}/cause"): Rule(
        CAUSE_TAGGERS, "P7.3.2: customer service tags resolved feedback; supervision corrects"
    ),
    ("GET", "/api/v1/reports/feedback-causes"): Rule(
        SUPERVISORS | {D.CUSTOMER_SERVICE},
        "P7.3.2: causes, their trend and departments; customer service reads its analysis",
    ),
    ("POST", f"{TRAINING}/sessions"): Rule(SUPERVISORS, "P7.1: a training session held"),
    ("GET", f"{TRAINING}/sessions"): Rule(TRAINING_READERS, "P7.1: training sessions"),
    ("GET", f"{TRAINING}/sessions/{{session_id}}"): Rule(
        TRAINING_READERS, "P7.1: a session and who attended"
    ),
    ("POST", f"{TRAINING}/sessions/{{session_id}}/attendance"): Rule(
        SUPERVISORS, "P7.1: who attended a session"
    ),
    ("GET", f"{TRAINING}/due"): Rule(
        TRAINING_READERS, "P7.1: customer-service members due for training"
    ),
}


def rule_for(method: str, path: str) -> Rule | None:
    return ROLE_MATRIX.get((method.upper(), path))


def as_markdown() -> str:
    departments = list(Department)
    header = "| method | path | " + " | ".join(d.value for d in departments) + " | why |"
    lines = [
        "# Role matrix",
        "",
        "Generated by `python -m api.roles` from `api/roles.py` (the one place where it is",
        "kept); `x` = admitted, `lead` = the department's leads only, blank = 403, `public` =",
        "no token needed. Without a token, or with an unknown, expired or revoked one, every",
        "non-public endpoint answers 401.",
        "",
        "Revocation is not instant on the API: each API process trusts a token it has looked",
        "up for `OMS_API_TOKEN_CACHE_SECONDS` (5 s by default), so a revoked or rotated token",
        "keeps working for at most that long; `0` makes revocation immediate (every request",
        "is looked up). Console sessions and the codec server check the database on every",
        "request: there a revoked token stops at once.",
        "",
        "`public` endpoints are limited per client address (`OMS_PUBLIC_RATE_LIMIT_PER_SECOND`,",
        "`OMS_PUBLIC_RATE_LIMIT_BURST`; 429 with `Retry-After`), the others per member of staff.",
        "",
        "Service orders (P1.2) are delivered by `logistics`, which already goes to customers'",
        "addresses: it agrees the visit with the customer (`appointment`) and records the work",
        "done on site (`service-work`); the customer's confirmation comes through",
        "`customer_service` or the `platform`, and a complaint (a rework visit or a refund) is",
        "customer service's decision.",
        "",
        header,
        "| --- | --- | " + " | ".join("---" for _ in departments) + " | --- |",
    ]
    for (method, path), rule in sorted(ROLE_MATRIX.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if rule.departments is None:
            cells = ["public"] * len(departments)
        else:
            cells = [
                ("lead" if d in rule.leads_only else "x") if d in rule.departments else ""
                for d in departments
            ]
        lines.append(f"| {method} | `{path}` | " + " | ".join(cells) + f" | {rule.why} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(as_markdown(), end="")
