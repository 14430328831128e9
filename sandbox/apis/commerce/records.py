"""Writing businesses: defaults, the generated brand name, and the BusinessAccount link.

Shared by the API's handlers and the sandbox's simulated checkout; ``collection`` names a
commerce collection of one workspace.
"""
from __future__ import annotations

import uuid
from typing import Any, Callable

from ...engine.store import Collection
from .assignment import account_key, brand_name

Record = dict[str, Any]
Collections = Callable[[str], Collection]
_ACCOUNT_NAMESPACE = uuid.UUID("4f1c2d3e-5a6b-4c7d-8e9f-0a1b2c3d4e5f")


def new_business(organization_id: str, record_id: str, now: str, **attributes: Any) -> Record:
    """A business record with every attribute present (null when not given) and no relations."""
    business = {"id": record_id, "organization_id": organization_id, "name": attributes["name"],
                "brand_name": None, "domain": None, "billing_email": None, "vat_id": None, "notes": None,
                "custom_entry_map": {}, "created_at": now, "updated_at": now, "billing_address_id": None,
                "logo_image_id": None, "payment_setup_id": None, "business_account_id": None}
    business.update(attributes)
    return business


def account_id(key: tuple[str, str]) -> str:
    """The BusinessAccount id of a (domain, normalized name): the same in every workspace and seed,
    as one company is one platform-wide identity."""
    return str(uuid.uuid5(_ACCOUNT_NAMESPACE, "\n".join(key)))


def link_account(collection: Collections, business: Record, now: str) -> Record | None:
    """Point ``business`` at the BusinessAccount of its (domain, normalized name), creating the
    account on first sight; a business without a company domain is linked to none."""
    key = account_key(business.get("domain"), business["name"])
    if key is None:
        business["business_account_id"] = None
        return None
    accounts = collection("business_accounts")
    account = accounts.get(account_id(key))
    if account is None:
        account = accounts.put({"id": account_id(key), "domain": key[0], "normalized_name": key[1], "created_at": now})
    business["business_account_id"] = account["id"]
    return account


def save_business(collection: Collections, business: Record, now: str) -> Record:
    """Store ``business`` with a brand name (generated when empty), its account link and ``now``."""
    if not business.get("brand_name"):
        business["brand_name"] = brand_name(business["name"])
    business["updated_at"] = now
    link_account(collection, business, now)
    return collection("businesses").put(business)
