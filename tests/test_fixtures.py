"""The seeded data sets: the same seed gives the same bytes in any process and whether an API
is built alone (as the sandbox does, on first read) or with the others, ids are unique,
the documented records are there, and the fast helpers give what the slow ways gave."""
from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from stdnum.util import get_cc_module

from fixtures import billing, build_datasets, commerce, exemptions
from fixtures.common import EPOCH, END_MS, START_MS, digits, iso_ms, moment, parse_ms, stamp_ms, stamp_s, ulid, uuid4
from fixtures.places import TABLE, from_zipcodes, table_source, us_places
from fixtures.pools import Pools
from fixtures.vat import RULES, vat_id
from sandbox import create_app
from sandbox.apis import billing as billing_api, commerce as commerce_api, exemptions as exemptions_api
from sandbox.apis import payments as payments_api
from sandbox.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
TODAY = date(2026, 1, 15)
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
# Prints the digest of a data set: run in another process, with another str hash seed.
DIGEST = """
import hashlib, json
from datetime import date
from fixtures import build_datasets
from sandbox.apis import billing, commerce, exemptions, payments
apis = [m.API if hasattr(m.API, "spec") else m.API.load() for m in (billing, commerce, exemptions, payments)]
data = build_datasets(apis, seed=7, scale=2, today=date(2026, 1, 15))
print(hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest())
"""


def definitions():
    apis = [m.API for m in (billing_api, commerce_api, exemptions_api, payments_api)]
    return [api if hasattr(api, "spec") else api.load() for api in apis]


@pytest.fixture(scope="module")
def data():
    return build_datasets(definitions(), seed=7, scale=2, today=TODAY)


def test_the_same_seed_gives_the_same_bytes_in_another_process(data):
    here = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    env = {**os.environ, "PYTHONHASHSEED": "12345"}  # str hashes differ from this process's
    there = subprocess.run([sys.executable, "-c", DIGEST], cwd=ROOT, env=env, capture_output=True, text=True,
                           check=True).stdout.strip()
    assert there == here
    other = build_datasets(definitions(), seed=8, scale=2, today=TODAY)
    assert json.dumps(other, sort_keys=True) != json.dumps(data, sort_keys=True)


def test_a_sandbox_building_each_api_alone_gives_the_bytes_of_one_build_of_all(data, monkeypatch):
    monkeypatch.setenv("SANDBOX_CACHE_DIR", "off")  # made here, not read back
    app = create_app(Settings(seed=7, scale=2, today=TODAY))
    dataset = app.extensions["sandbox"]["registry"].dataset(7, 2)
    for api in sorted(data, reverse=True):  # another order than build_datasets', each API alone
        assert api not in dataset.made and set(dataset[api]) == set(data[api])
        for name, records in data[api].items():
            collection = dataset[api][name]
            assert json.dumps(list(collection.values())) == json.dumps(sorted(records, key=collection.key)), (api, name)


def test_ids_are_unique_and_the_documented_records_are_there(data):
    for api, collections in data.items():
        for name, records in collections.items():
            found = [r["id"] for r in records]
            assert len(set(found)) == len(found), (api, name)
    ids = {(api, name): {r["id"] for r in records} for api, c in data.items() for name, records in c.items()}
    assert billing.DOCUMENTED_CUSTOMER in ids["billing", "customers"]
    assert {"biz_01h1w8r7s2v4l5m6n7p8j9k0q1", "biz_01h1w8r7s2v4l5m6n7p8j9k0q2"} <= ids["billing", "businesses"]
    assert exemptions.DOCUMENTED_CORPORATION in ids["exemptions", "corporations"]
    assert "cust_789" in ids["exemptions", "customers"]
    assert commerce.FIRST_ORGANIZATION in ids["commerce", "organizations"]
    assert commerce.DOCUMENTED_BUSINESS in ids["commerce", "businesses"]
    names = [c["name"] for c in data["exemptions"]["customers"]]
    assert len(set(names)) == len(names) and sum("acme" in n.lower() for n in names) == 1


def test_only_apis_said_to_hold_internal_keys_have_records_with_them(data):
    """``ApiDefinition.internal_keys`` lets the serving path skip looking for internal keys
    (leading ``_``): an API said to have none has no record with one, and one said to have
    them does."""
    by_name = {api.name: api for api in definitions()}
    for name, collections in data.items():
        hidden = [k for records in collections.values() for r in records for k in r if k.startswith("_")]
        assert bool(hidden) == by_name[name].internal_keys, name
    assert {n for n, api in by_name.items() if not api.internal_keys} == {"commerce", "payments"}


def test_names_and_addresses_vary_like_fakers_own(data):
    customers = data["payments"]["customers"]
    assert len({c["name"] for c in customers}) > 0.9 * len(customers)
    assert len({c["street_address"] for c in customers}) > 0.9 * len(customers)
    users = data["payments"]["users"]
    assert len({(u["first_name"], u["last_name"]) for u in users}) > 0.8 * len(users)
    businesses = data["billing"]["businesses"]
    assert len({b["name"] for b in businesses}) > 0.9 * len(businesses)


def test_pools_do_not_depend_on_the_order_they_are_first_asked_for():
    first, second = Pools(random.Random(1), 3), Pools(random.Random(1), 3)
    a = (first.values("de_DE", "last_name"), first.values("en_US", "first_name"))
    b = (second.values("en_US", "first_name"), second.values("de_DE", "last_name"))
    assert a == b[::-1] and len(a[0]) == first.size
    assert Pools(random.Random(2), 3).values("de_DE", "last_name") != a[0]


@pytest.mark.parametrize("country", sorted(RULES))
def test_vat_ids_pass_python_stdnum(country):
    rng = random.Random(country)
    made = [vat_id(country, rng) for _ in range(2000)]
    checker = get_cc_module(country.lower(), "vat")
    assert [v for v in made if not checker.is_valid(v)] == []
    assert len(set(made)) > 1900


def test_the_places_table_is_what_the_zipcodes_package_gives():
    assert us_places() == from_zipcodes()
    assert table_source(us_places()) == TABLE.read_text()  # `python -m fixtures.places` would change nothing


def test_the_quick_helpers_write_what_the_standard_library_writes():
    rng, twin = random.Random(3), random.Random(3)
    for _ in range(5000):
        assert uuid4(rng) == str(uuid.UUID(int=twin.getrandbits(128), version=4))
        ms = moment(rng)
        twin.random()
        assert START_MS <= ms <= END_MS
        when = EPOCH + timedelta(milliseconds=ms)
        assert stamp_ms(ms) == when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
        assert stamp_s(ms) == when.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert parse_ms(stamp_ms(ms)) == ms
        text = ulid(rng, ms)
        value = int(f"{twin.getrandbits(80):020x}", 16) | ms << 80
        assert text == "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))
    late = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=timezone.utc)
    assert iso_ms(late) == "9999-12-30T23:59:59.999Z"
    assert all(len(d) == 6 and d[0] != "0" and d.isdigit() for d in (digits(rng, "%#####") for _ in range(200)))
