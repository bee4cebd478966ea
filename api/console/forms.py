"""HTML forms built from the API's own request models, and form posts turned back into them.

An action's form is derived field by field from its pydantic request model
(`domain.commands.XRequest`), the very model the API validates its JSON body with:
a bool is a check box (or an approve/reject choice when it has no default), an enum
a list to choose from, a list of enum members a set of check boxes, a nested model a
group of fields, a list of lines a few rows.
What the browser posts is rebuilt into the model's shape and validated by the model
itself; its errors come back keyed by field, to be shown beside the field (422).

Labels are catalogue keys: `field.<path>` with list indexes left out
(`field.items.sku`), choices `enum.<enum>.<value>`, yes/no `field.<path>.yes|no`.
"""

from __future__ import annotations

import re
import types
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Annotated, Any, Union, get_args, get_origin
from zoneinfo import ZoneInfo

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from domain.actors import Department

#: Rows offered for a list of lines (items of a change or a correction).
LIST_ROWS = 3
#: Free text longer than this gets a text area rather than a one-line box.
LONG_TEXT = 300

FormData = dict[str, list[str]]

#: How the values of several ticked boxes are kept in one `Input.value` (no value holds it).
CHOSEN = "\n"


class Widget(StrEnum):
    TEXT = "text"
    TEXTAREA = "textarea"
    NUMBER = "number"
    MONEY = "money"
    CHECKBOX = "checkbox"
    YES_NO = "yes_no"
    SELECT = "select"
    DATETIME = "datetime"
    DATE = "date"
    LINES = "lines"
    CHECKBOXES = "checkboxes"  # several members of an enum (departments a result goes to)


@dataclass(frozen=True)
class FieldError:
    #: The field's path (`shipping.contact_phone`), or "" for the form as a whole.
    field: str
    type: str
    message: str
    params: dict[str, Any]


@dataclass
class Input:
    """One form control."""

    name: str
    label: str
    widget: Widget
    required: bool
    choices: list[tuple[str, str]] = field(default_factory=list)
    attrs: dict[str, str] = field(default_factory=dict)
    value: str = ""
    error: FieldError | None = None
    #: The choices' second halves are shown as they are (names kept in the database, as
    #: the causes of feedback), not looked up in the catalogue.
    literal: bool = False

    @property
    def is_group(self) -> bool:
        return False

    @property
    def chosen(self) -> list[str]:
        """The values ticked, for a set of check boxes."""
        return self.value.split(CHOSEN) if self.value else []

    @property
    def dom_id(self) -> str:
        return dom_id(self.name)


@dataclass
class Group:
    """A nested model (shipping details) or one row of a list (an item): a fieldset."""

    name: str
    label: str
    members: list[Input | Group]
    required: bool
    #: A list of rows (its members are the rows), and a row's number from 1.
    is_list: bool = False
    index: int | None = None
    error: FieldError | None = None

    @property
    def is_group(self) -> bool:
        return True

    @property
    def dom_id(self) -> str:
        return dom_id(self.name)


Member = Input | Group


def dom_id(name: str) -> str:
    return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


def label_key(path: str) -> str:
    """`items.0.sku` -> `field.items.sku`."""
    return "field." + ".".join(p for p in path.split(".") if not p.isdigit())


#: Enums whose members have words of their own in the catalogue already (`department.sales`).
NAMED_ENUMS: dict[type[Enum], str] = {Department: "department"}


def enum_key(enum: type[Enum], value: str) -> str:
    if enum in NAMED_ENUMS:
        return f"{NAMED_ENUMS[enum]}.{value}"
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", enum.__name__).lower()
    return f"enum.{snake}.{value}"


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    """(the type inside `X | None`, whether None was allowed); validators attached with
    `Annotated[...]` are the model's business, not the form's."""
    optional = False
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            annotation, optional = args[0], True
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation, optional


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _attrs(info: FieldInfo) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for meta in info.metadata:
        if isinstance(meta, MaxLen):
            attrs["maxlength"] = str(meta.max_length)
        elif isinstance(meta, MinLen):
            attrs["minlength"] = str(meta.min_length)
        elif isinstance(meta, Ge):
            attrs["min"] = str(meta.ge)
        elif isinstance(meta, Gt):
            attrs["min"] = str(meta.gt)
        elif isinstance(meta, Le):
            attrs["max"] = str(meta.le)
        elif isinstance(meta, Lt):
            attrs["max"] = str(meta.lt)
    return attrs


def build(model: type[BaseModel], prefix: str = "") -> list[Member]:
    """The form controls of a request model, in the model's field order."""
    members: list[Member] = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        annotation, optional = _unwrap_optional(info.annotation)
        required = info.is_required() and not optional
        members.append(_member(path, annotation, info, required))
    return members


def _member(path: str, annotation: Any, info: FieldInfo, required: bool) -> Member:
    label = label_key(path)
    attrs = _attrs(info)
    if _is_model(annotation):
        return Group(path, label, build(annotation, f"{path}."), required)
    if get_origin(annotation) is list:
        (inner,) = get_args(annotation)
        if _is_model(inner):
            rows: list[Member] = [
                Group(f"{path}.{i}", label, build(inner, f"{path}.{i}."), False, index=i + 1)
                for i in range(LIST_ROWS)
            ]
            return Group(path, label, rows, required, is_list=True)
        if isinstance(inner, type) and issubclass(inner, Enum):
            choices = [(str(m.value), enum_key(inner, str(m.value))) for m in inner]
            return Input(path, label, Widget.CHECKBOXES, required, choices=choices)
        # A list's length limits are counts of lines, not characters of the text area.
        return Input(path, label, Widget.LINES, required)
    if annotation is bool:
        if info.is_required():
            choices = [("true", f"{label}.yes"), ("false", f"{label}.no")]
            return Input(path, label, Widget.YES_NO, True, choices=choices)
        return Input(path, label, Widget.CHECKBOX, False)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        choices = [(str(m.value), enum_key(annotation, str(m.value))) for m in annotation]
        default = info.default if isinstance(info.default, Enum) else None
        value = str(default.value) if default is not None else ""
        return Input(path, label, Widget.SELECT, required, choices=choices, value=value)
    if annotation is int:
        return Input(path, label, Widget.NUMBER, required, attrs=attrs)
    if annotation is Decimal:
        value = f"{info.default}" if isinstance(info.default, Decimal) else ""
        return Input(
            path, label, Widget.MONEY, required, attrs=attrs | {"step": "0.01"}, value=value
        )
    if annotation is datetime:
        return Input(path, label, Widget.DATETIME, required)
    if annotation is date:
        return Input(path, label, Widget.DATE, required)
    long = int(attrs.get("maxlength", "0")) > LONG_TEXT
    return Input(path, label, Widget.TEXTAREA if long else Widget.TEXT, required, attrs=attrs)


# --- posted forms -> request models -----------------------------------------------------------


def first(form: FormData, name: str) -> str:
    values = form.get(name)
    return values[0].strip() if values else ""


def _value(member: Input, form: FormData, zone: ZoneInfo) -> Any:
    """The posted value of a control; `None` for "not given" (the model's default applies)."""
    if member.widget is Widget.CHECKBOXES:
        return [v for v in form.get(member.name, []) if v.strip()] or None
    raw = first(form, member.name)
    if member.widget is Widget.CHECKBOX:
        return True if raw else None
    if member.widget is Widget.YES_NO:
        return {"true": True, "false": False}.get(raw, raw or None)
    if member.widget is Widget.LINES:
        lines = [line.strip() for line in raw.splitlines() if line.strip()]
        return lines or None
    if not raw:
        return None
    if member.widget is Widget.DATETIME:
        try:
            return datetime.fromisoformat(raw).replace(tzinfo=zone)
        except ValueError:
            return raw  # the model says what is wrong with it
    return raw


def _collect(members: list[Member], form: FormData, zone: ZoneInfo) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for member in members:
        key = member.name.rsplit(".", 1)[-1]
        if isinstance(member, Input):
            value = _value(member, form, zone)
        elif member.is_list:
            rows = [_collect(r.members, form, zone) for r in member.members if isinstance(r, Group)]
            value = [row for row in rows if row] or None
        else:
            value = _collect(member.members, form, zone) or None
        if value is not None:
            data[key] = value
    return data


def parse(model: type[BaseModel], form: FormData, zone: ZoneInfo) -> dict[str, Any]:
    """The posted form in the shape of the model's JSON body (left out: what was not given)."""
    return _collect(build(model), form, zone)


def errors_of(error: ValidationError) -> list[FieldError]:
    return [
        FieldError(
            field=".".join(str(part) for part in e["loc"]),
            type=e["type"],
            message=e["msg"],
            params={k: v for k, v in (e.get("ctx") or {}).items() if isinstance(v, int | str)},
        )
        for e in error.errors()
    ]


def validate(
    model: type[BaseModel], form: FormData, zone: ZoneInfo
) -> tuple[BaseModel | None, list[FieldError]]:
    """The request model built from the form, or the reasons it cannot be."""
    try:
        return model.model_validate(parse(model, form, zone)), []
    except ValidationError as error:
        return None, errors_of(error)


# --- filling a form again, after a refusal ----------------------------------------------------


def _walk(members: list[Member]) -> list[Member]:
    out: list[Member] = []
    for member in members:
        out.append(member)
        if isinstance(member, Group):
            out.extend(_walk(member.members))
    return out


def refill(members: list[Member], form: FormData) -> None:
    """Put back what was posted, so nobody types it twice."""
    for member in _walk(members):
        if isinstance(member, Input) and member.name in form:
            posted = form[member.name]
            member.value = CHOSEN.join(posted) if member.widget is Widget.CHECKBOXES else posted[0]


def place_errors(members: list[Member], errors: list[FieldError]) -> list[FieldError]:
    """Attach each error to its control (or the nearest group); return those left for the form."""
    by_name = {m.name: m for m in _walk(members)}
    left: list[FieldError] = []
    for error in errors:
        path = error.field
        while path and path not in by_name:
            path = path.rsplit(".", 1)[0] if "." in path else ""
        target = by_name.get(path)
        if target is None:
            left.append(error)
        elif target.error is None:
            target.error = error
    return left
