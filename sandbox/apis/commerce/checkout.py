"""A simulated checkout: the customer is found or created and assigned to a business by the
document's rule (``assignment.assign_business``), end to end, in one workspace.

Checkout has no endpoint in document 001; the sandbox's control API offers it
(``POST /_sandbox/commerce/checkouts``) so that partners can watch the rule work.
"""
from __future__ import annotations

from typing import Any

from fixtures.common import iso_ms, uuid4

from ...engine.errors import Detail, NotFound
from ...engine.store import Workspace
from .assignment import Candidate, assign_business
from .jsonapi import Graph, resource
from .records import new_business, save_business

Record = dict[str, Any]


def _customer(customers, org: str, email: str, first_name: str, last_name: str, now: str, rng) -> Record:
    """The organization's customer with this email (case-insensitive), or a new one."""
    for customer in customers.values(parent=org):
        if customer["email"].casefold() == email.casefold():
            return dict(customer)
    return {"id": uuid4(rng), "organization_id": org, "business_id": None, "first_name": first_name,
            "last_name": last_name, "email": email, "company_name": None, "created_at": now, "updated_at": now}


def _account_view(collection, account_id: str | None) -> Record | None:
    """The BusinessAccount and every business linked to it, in every organization."""
    if account_id is None:
        return None
    account = collection("business_accounts").get(account_id)
    linked = [{"organization_id": b["organization_id"], "business_id": b["id"], "name": b["name"]}
              for b in collection("businesses").values() if b["business_account_id"] == account_id]
    return {**account, "businesses": linked}


def checkout(workspace: Workspace, organization_id: str, email: str, company_name: str | None = None,
             first_name: str = "", last_name: str = "", prefix: str = "/commerce") -> Record:
    """Run a checkout: find or create the customer, assign a business, link accounts."""
    def collection(name: str):
        return workspace.collection("commerce", name)

    if organization_id not in collection("organizations"):
        raise NotFound(f"No organization {organization_id} in this workspace.",
                       [Detail("body.organization_id", "no such organization")])
    now = iso_ms(workspace.now())
    customers = collection("customers")
    customer = _customer(customers, organization_id, email, first_name, last_name, now, workspace.rng)
    businesses = list(collection("businesses").values(parent=organization_id))
    verdict = assign_business(email, company_name,
                              [Candidate(b["id"], b["name"], b["domain"]) for b in businesses])
    business = None
    if verdict.business_id is not None:
        business = dict(collection("businesses").get(verdict.business_id))
        if verdict.links_accounts:
            business = save_business(collection, business, business["updated_at"])
    elif verdict.rule == "new_business":
        fresh = new_business(organization_id, uuid4(workspace.rng), now, name=company_name.strip(),
                             domain=verdict.new_business_domain)
        business = save_business(collection, fresh, now)
    if company_name is not None:
        customer["company_name"] = company_name
    if business is not None:
        customer["business_id"] = business["id"]
    customer["updated_at"] = now
    customers.put(customer)
    graph = Graph(collection, organization_id)
    return {
        "rule": verdict.rule,
        "customer": resource("customers", customer, graph, prefix),
        "business": None if business is None else resource("businesses", business, graph, prefix),
        "business_account": _account_view(collection, None if business is None else business["business_account_id"]),
    }
