"""The product catalogue in the console (P3.1, P3.3), over real HTTP against the real app:
every department reads it; sales (and admin) adds products and changes their listing and
prices, the warehouse their package, with a form built from the API's own model, which
refuses a faulty product beside its field in the reader's language and stores nothing;
the others get no form and a 403."""

from __future__ import annotations

import re
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from api.console.pages.products import CONSISTENCY, PAGE_SIZE, read_details
from domain.actors import Department
from tests.support.console import ConsoleBrowser
from tests.support.system import System

SHANGHAI = ZoneInfo("Asia/Shanghai")


def new_sku(prefix: str = "0") -> str:
    """A sku of this test alone, sorting before the skus other tests list (first page)."""
    return f"{prefix}-{uuid.uuid4().hex[:10].upper()}"


def forms_on(html: str) -> list[str]:
    return re.findall(r'<form [^>]*data-action="([a-z_]+)"', html)


def kettle(**changes: str) -> dict[str, str]:
    fields = {
        "name": "电热水壶 1.7L",
        "kind": "goods",
        "list_price": "129.00",
        "floor_price": "99.00",
        "accessories": "manual\nwarranty_card",
        "size_class": "medium",
    }
    return fields | changes


async def product(system: System, sku: str) -> tuple[int, dict[str, Any]]:
    response = await system.get("logistics", f"/api/v1/products/{sku}")
    return response.status_code, response.json()


def error_beside(html: str, form_id: str, field: str) -> str:
    """The error shown beside a field of a form, named by the field's aria-describedby."""
    control = f'id="{form_id}-f-{field}"'
    assert control in html, f"no field {field}"
    tag = re.search(rf"<(?:input|textarea|select)[^>]*{control}[^>]*>", html)
    assert tag and 'aria-invalid="true"' in tag.group(0), f"{field} not marked invalid"
    found = re.search(rf'<p class="field-error" id="{form_id}-f-{field}-error">([^<]*)</p>', html)
    assert found, f"no error beside {field}"
    return found.group(1)


async def test_every_department_reads_the_catalogue_with_its_products(system: System):
    sku = new_sku()
    system.put_product(
        sku,
        name="折叠刀",
        list_price="59.00",
        floor_price="45.50",
        accessories=["sheath"],
        restricted=True,
        required_check="age_verified",
        size_class="small",
    )
    async with ConsoleBrowser(system) as console:
        await console.sign_in(Department.LOGISTICS)
        assert 'href="/console/products"' in (await console.get("/console/inbox")).text  # nav
        listed = await console.get("/console/products")
        assert listed.status_code == 200
        row = re.search(rf'<tr data-sku="{sku}">(.*?)</tr>', listed.text, re.S)
        assert row, "the product is not listed"
        for shown in (
            "折叠刀",
            "<td>商品</td>",
            "¥59.00",
            "¥45.50",
            "sheath",
            "限售：age_verified",
            "小件",
        ):
            assert shown in row.group(1), shown
        assert f'href="/console/products/{sku}"' in row.group(1)

        page = await console.get(f"/console/products/{sku}")
        assert page.status_code == 200 and "折叠刀" in page.text and "¥45.50" in page.text
        missing = await console.get("/console/products/NO-SUCH-SKU")
        assert missing.status_code == 404 and "没有编码为 NO-SUCH-SKU 的商品" in missing.text


async def test_the_catalogue_is_listed_a_page_at_a_time(system: System):
    prefix = new_sku("P")
    skus = [f"{prefix}-{n:02d}" for n in range(PAGE_SIZE + 1)]
    for sku in skus:
        system.put_product(sku, name=sku, list_price="10.00", floor_price="8.00")
    async with ConsoleBrowser(system) as console:
        await console.sign_in(Department.FINANCE)
        first = await console.get("/console/products", after=f"{prefix}-")
        listed = re.findall(r'<tr data-sku="([^"]+)">', first.text)
        assert listed == skus[:PAGE_SIZE]
        more = re.search(r'<a href="(/console/products\?after=[^"]+)">下一页</a>', first.text)
        assert more, "no link to the next page"
        second = await console.get(more.group(1).replace("&amp;", "&"))
        assert re.findall(r'<tr data-sku="([^"]+)">', second.text)[0] == skus[PAGE_SIZE]
        assert 'href="/console/products">第一页</a>' in second.text
        assert (await console.get("/console/products", after="not a sku!")).status_code == 422


async def test_sales_adds_and_changes_a_product_through_the_form(system: System):
    sku = new_sku()
    async with ConsoleBrowser(system) as console:
        await console.sign_in(Department.SALES)
        listed = await console.get("/console/products")
        assert forms_on(listed.text) == ["add"]
        assert 'id="add-f-sku"' in listed.text and 'name="floor_price"' in listed.text
        # Up to 20 accessories, one a line: no limit on the characters of the text area.
        assert not re.search(r'<textarea[^>]*name="accessories"[^>]*maxlength', listed.text)

        added = await console.post("/console/products", kettle(sku=sku))
        assert added.headers["location"] == f"/console/products/{sku}?done=added"
        shown = await console.follow(added)
        assert f"已新增商品 {sku}。" in shown.text
        status, stored = await product(system, sku)
        assert status == 200
        assert stored == {
            "sku": sku,
            "name": "电热水壶 1.7L",
            "kind": "goods",
            "list_price": "129.00",
            "floor_price": "99.00",
            "accessories": ["manual", "warranty_card"],
            "restricted": False,
            "required_check": None,
            "size_class": "medium",
        }

        # The edit form starts from what is stored.
        assert forms_on(shown.text) == ["edit"]
        assert 'value="电热水壶 1.7L"' in shown.text and 'value="99.00"' in shown.text
        assert ">manual\nwarranty_card</textarea>" in shown.text

        sales_facts = {
            "name": "电热水壶 1.7L（新款）",
            "list_price": "139.00",
            "floor_price": "109.00",
            "restricted": "true",
            "required_check": "age_verified",
        }
        # The package is the warehouse's (P3.3): sales changing it is refused, with why.
        repacked = await console.post(
            f"/console/products/{sku}", kettle(**sales_facts, size_class="large")
        )
        assert repacked.status_code == 403
        assert "销售部不维护商品的这些信息：体积等级" in repacked.text
        changed = await console.post(f"/console/products/{sku}", kettle(**sales_facts))
        assert changed.headers["location"] == f"/console/products/{sku}?done=saved"
        assert f"已保存商品 {sku} 的修改" in (await console.follow(changed)).text

        # Adding a sku the catalogue has is refused: changing it is the edit form's job.
        again = await console.post("/console/products", kettle(sku=sku, name="replaced"))
        assert again.status_code == 422
        assert (
            error_beside(again.text, "add", "sku")
            == f"商品目录中已有 {sku}，请在该商品的页面上修改。"
        )

    status, stored = await product(system, sku)
    assert status == 200
    assert stored["name"] == "电热水壶 1.7L（新款）"
    assert (stored["list_price"], stored["floor_price"]) == ("139.00", "109.00")
    assert (stored["restricted"], stored["required_check"]) == (True, "age_verified")
    assert stored["size_class"] == "medium"


async def test_a_faulty_product_is_shown_beside_its_field_and_nothing_is_stored(system: System):
    sku = new_sku()
    async with ConsoleBrowser(system) as console:
        await console.sign_in(Department.WAREHOUSE)
        await console.get("/console/products")
        faulty = await console.post(
            "/console/products", kettle(sku=sku, list_price="99.00", floor_price="129.00")
        )
        assert faulty.status_code == 422
        assert error_beside(faulty.text, "add", "floor_price") == "最低售价不能高于标价。"
        assert 'value="129.00"' in faulty.text  # what was typed comes back
        assert f'value="{sku}"' in faulty.text
        assert (await product(system, sku))[0] == 404

        bad_sku = await console.post("/console/products", kettle(sku="no spaces"))
        assert bad_sku.status_code == 422
        assert error_beside(bad_sku.text, "add", "sku") == "格式不正确。"

        # In English, the same refusal in English words.
        await console.post("/console/language", {"language": "en", "next": "/console/products"})
        await console.get("/console/products")
        english = await console.post(
            "/console/products",
            kettle(sku=sku, restricted="true", kind="service", accessories=""),
        )
        assert english.status_code == 422
        assert error_beside(english.text, "add", "required_check") == (
            "A restricted product names the check it needs."
        )
        assert (await product(system, sku))[0] == 404

        # A faulty change leaves the stored product as it was.
        system.put_product(sku, **{**kettle(), "accessories": ["manual"]})
        edit = await console.post(
            f"/console/products/{sku}", kettle(kind="service", accessories="manual")
        )
        assert edit.status_code == 422
        assert error_beside(edit.text, "edit", "accessories") == (
            "A service has no package, so no accessories."
        )
        status, stored = await product(system, sku)
        assert (status, stored["kind"], stored["accessories"]) == (200, "goods", ["manual"])


async def test_other_departments_read_the_catalogue_but_may_not_change_it(system: System):
    sku = new_sku()
    system.put_product(sku, name="kettle", list_price="129.00", floor_price="99.00")
    async with ConsoleBrowser(system) as console:
        await console.sign_in(Department.LOGISTICS)
        listed = await console.get("/console/products")
        assert forms_on(listed.text) == [] and "物流部只能查看商品目录" in listed.text
        page = await console.get(f"/console/products/{sku}")
        assert forms_on(page.text) == []
        refused = await console.post("/console/products", kettle(sku=new_sku()))
        assert refused.status_code == 403
        assert "物流部无权执行" in refused.text
        edit = await console.post(f"/console/products/{sku}", kettle(name="changed"))
        assert edit.status_code == 403
    async with ConsoleBrowser(system) as console:
        await console.sign_in(Department.SALES)
        await console.get("/console/products")
        forged = await console.post(
            f"/console/products/{sku}", kettle(name="forged"), csrf="0" * 32
        )
        assert forged.status_code == 403
    assert (await product(system, sku))[1]["name"] == "kettle"


async def test_the_catalogue_page_reads_in_both_languages(system: System):
    sku = new_sku()
    system.put_product(sku, name="rice cooker", list_price="399.00", floor_price="350.00")
    async with ConsoleBrowser(system) as console:
        await console.sign_in(Department.ADMIN)
        chinese = await console.get("/console/products")
        assert '<html lang="zh-CN">' in chinese.text
        assert "<h1>商品目录</h1>" in chinese.text and "最低售价" in chinese.text
        assert "新增商品" in chinese.text and "体积等级" in chinese.text
        switched = await console.post(
            "/console/language", {"language": "en", "next": "/console/products"}
        )
        assert switched.status_code == 303
        english = await console.get("/console/products")
        assert '<html lang="en">' in english.text
        assert "<h1>Product catalogue</h1>" in english.text
        for words in ("Lowest price", "Add a product", "Size class", "Goods", "¥399.00"):
            assert words in english.text, words
        detail = await console.get(f"/console/products/{sku}")
        assert "Product " + sku in detail.text and "Save the changes" in detail.text


def test_each_check_across_fields_is_shown_beside_its_field_with_words_of_its_own():
    faults = {
        "floor_price": {"list_price": "1.00", "floor_price": "2.00"},
        "required_check": {"restricted": "true"},
        "accessories": {"kind": "service"},
    }
    cases = [
        *faults.items(),
        ("required_check", {"required_check": "age_verified"}),
        ("accessories", {"accessories": "x" * 51}),
    ]
    seen = set()
    for field, fault in cases:
        posted = {name: [value] for name, value in kettle(**fault).items()}
        details, errors = read_details(posted, SHANGHAI)
        assert details is None
        assert [
            (e.field, e.type in {kind for _, kind in CONSISTENCY.values()}) for e in errors
        ] == [(field, True)], fault
        seen.add(errors[0].type)
    assert seen == {kind for _, kind in CONSISTENCY.values()}  # every check of the model
