"""The product catalogue (P3.1, P3.3): the list every member of staff reads, and the forms
sales, the warehouse and admin keep it with.

The pages run the API's own routes (`GET /api/v1/products`, `GET` and `PUT
/api/v1/products/{sku}`) with the model the API validates the body with
(`ProductDetails`), so the console and the API cannot disagree about what a product
is. What the model refuses comes back beside its field in the reader's words (422)
and nothing is stored. Adding refuses a sku the catalogue has already (the API's PUT
would replace it: that is what editing is for).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field, ValidationError

from api.console.access import ConsoleError, admits, app_state, form_of, staff_of, viewer_of
from api.console.forms import FieldError, FormData, Member, build, errors_of, parse, refill
from api.console.refusals import Refused, ShownForm, attempt, show_beside
from api.console.render import page, redirect
from api.errors import ApiError
from api.routes import products as product_routes
from domain.catalogue import Product, ProductDetails
from domain.order.details import SKU_PATTERN

router = APIRouter()

#: Products on one page of the list.
PAGE_SIZE = 50

#: What the page says after a product was stored, by the `done` of its address.
DONE = {"added": "products.added", "saved": "products.saved"}


class NewSku(BaseModel):
    """The sku of a product to add: the path parameter of `PUT /api/v1/products/{sku}`."""

    sku: str = Field(pattern=SKU_PATTERN, max_length=64)


#: The checks of `ProductDetails` that span fields (its model validator), by the words it
#: raises them with: the field each is shown beside, and its error type (its words are
#: `error.field.<type>`). A check missing here is still shown, in the model's English.
CONSISTENCY: dict[str, tuple[str, str]] = {
    "floor_price is above list_price": ("floor_price", "product_floor_above_list"),
    "a restricted product names its required_check": ("required_check", "product_check_missing"),
    "required_check is for restricted products": ("required_check", "product_check_unrestricted"),
    "a service has no package, so no accessories": ("accessories", "product_service_accessories"),
    "accessories are names of 1 to 50 characters": ("accessories", "product_accessory_name"),
}


def placed(error: FieldError) -> FieldError:
    """A check across fields, put beside the field it is about, with words of its own."""
    if error.field or error.type != "value_error":
        return error
    said = error.message.removeprefix("Value error, ")
    if said not in CONSISTENCY:
        return error
    field, kind = CONSISTENCY[said]
    return FieldError(field=field, type=kind, message=said, params={})


def read_details(form: FormData, zone: ZoneInfo) -> tuple[ProductDetails | None, list[FieldError]]:
    """The product as posted, or why it cannot be one (field by field)."""
    try:
        return ProductDetails.model_validate(parse(ProductDetails, form, zone)), []
    except ValidationError as error:
        return None, [placed(e) for e in errors_of(error)]


def read_sku(form: FormData, zone: ZoneInfo) -> tuple[str | None, list[FieldError]]:
    try:
        return NewSku.model_validate(parse(NewSku, form, zone)).sku, []
    except ValidationError as error:
        return None, errors_of(error)


def as_posted(product: Product) -> FormData:
    """A product as its edit form would post it: the form starts from what is stored."""
    values: dict[str, Any] = product.model_dump(mode="json", exclude={"sku"})
    form: FormData = {}
    for name, value in values.items():
        if value is None or value is False or value == []:
            continue
        if value is True:
            form[name] = ["true"]
        elif isinstance(value, list):
            form[name] = ["\n".join(value)]
        else:
            form[name] = [str(value)]
    return form


@dataclass(kw_only=True)
class ProductForm(ShownForm):
    """The form that adds a product (sku first) or changes one."""

    action: str


def new_product_form() -> ProductForm:
    members: list[Member] = [*build(NewSku), *build(ProductDetails)]
    return ProductForm(form_id="add", members=members, action="add")


def keeps_catalogue(request: Request) -> bool:
    """Whether the viewer's department may change the catalogue (the API's PUT rule)."""
    return admits(staff_of(request).department, product_routes.put_product)


def checked_sku(sku: str) -> str:
    """A sku from the address; the API's path pattern, checked here as FastAPI would."""
    if not re.fullmatch(SKU_PATTERN, sku):
        raise ConsoleError(404, "error.not_found")
    return sku


async def stored(request: Request, sku: str) -> Product | None:
    try:
        return await product_routes.get_product(sku, staff_of(request), app_state(request))
    except ApiError as error:
        if error.status_code == 404:
            return None
        raise


async def _list_page(
    request: Request,
    after: str,
    *,
    failure: tuple[FormData, Refused] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    viewer = viewer_of(request)
    if after and not re.fullmatch(SKU_PATTERN, after):
        raise ConsoleError(422, "error.status.422")
    listed = await product_routes.list_products(
        staff_of(request), app_state(request), after=after or None, limit=PAGE_SIZE
    )
    more_url = ""
    if listed.next_after:
        more_url = f"{viewer.base}/products?{urlencode({'after': listed.next_after})}"
    form = new_product_form() if keeps_catalogue(request) else None
    if form is not None and failure is not None:
        show_beside(form, failure[0], failure[1], viewer.locale)
    return page(
        request,
        "products.html",
        status_code=status_code,
        items=listed.items,
        after=after,
        more_url=more_url,
        form=form,
    )


async def _product_page(
    request: Request,
    product: Product,
    *,
    failure: tuple[FormData, Refused] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    viewer = viewer_of(request)
    form = None
    if keeps_catalogue(request):
        form = ProductForm(form_id="edit", members=build(ProductDetails), action="edit")
        if failure is None:
            refill(form.members, as_posted(product))
        else:
            show_beside(form, failure[0], failure[1], viewer.locale)
    done = DONE.get(request.query_params.get("done", ""), "")
    return page(
        request,
        "product.html",
        status_code=status_code,
        product=product,
        form=form,
        done=done,
    )


@router.get("/products", response_class=HTMLResponse)
async def product_list(request: Request, after: str = "") -> HTMLResponse:
    return await _list_page(request, after.strip())


@router.post("/products", response_model=None)
async def add_product(request: Request) -> HTMLResponse | RedirectResponse:
    viewer = viewer_of(request)
    form = form_of(request)
    sku, sku_errors = read_sku(form, viewer.locale.zone)
    details, errors = read_details(form, viewer.locale.zone)
    errors = sku_errors + errors
    if sku is not None and await stored(request, sku) is not None:
        errors.append(FieldError("sku", "product_exists", f"{sku} exists", {"sku": sku}))
    refused: Refused | None = Refused(422, errors=errors) if errors else None
    if refused is None and sku is not None and details is not None:
        staff, state = staff_of(request), app_state(request)
        refused = await attempt(product_routes.put_product(sku, details, staff, state))
    if refused is not None or sku is None:
        refused = refused or Refused(422)
        return await _list_page(
            request, "", failure=(form, refused), status_code=refused.status_code
        )
    return redirect(viewer, f"{viewer.base}/products/{quote(sku, safe='')}?done=added")


@router.get("/products/{sku}", response_class=HTMLResponse)
async def product_page(request: Request, sku: str) -> HTMLResponse:
    product = await stored(request, checked_sku(sku))
    if product is None:
        raise ConsoleError(404, "products.not_found", sku=sku)
    return await _product_page(request, product)


@router.post("/products/{sku}", response_model=None)
async def edit_product(request: Request, sku: str) -> HTMLResponse | RedirectResponse:
    viewer = viewer_of(request)
    product = await stored(request, checked_sku(sku))
    if product is None:  # editing changes a product; adding is the list page's form
        raise ConsoleError(404, "products.not_found", sku=sku)
    form = form_of(request)
    details, errors = read_details(form, viewer.locale.zone)
    refused: Refused | None = Refused(422, errors=errors) if errors else None
    if refused is None and details is not None:
        staff, state = staff_of(request), app_state(request)
        refused = await attempt(product_routes.put_product(sku, details, staff, state))
    if refused is not None or details is None:
        refused = refused or Refused(422)
        return await _product_page(
            request, product, failure=(form, refused), status_code=refused.status_code
        )
    return redirect(viewer, f"{viewer.base}/products/{quote(sku, safe='')}?done=saved")
