"""Conformance: the official IONOS Container Registry Python SDK against Tollgate.

Run by the Rust test `conformance::official_python_sdk_conforms`, which starts
Tollgate and passes, in the environment:
  TOLLGATE_URL                          base URL of the running service
  OWNER_EMAIL, OWNER_PASSWORD           a registry manager (contract owner)
  PLAIN_EMAIL, PLAIN_PASSWORD           a member of the same contract without the privilege
  OTHER_EMAIL, OTHER_PASSWORD           the owner of another contract
Every call goes through the SDK unchanged; answers are checked field by field.
"""

import base64
import datetime
import json
import os
import re
import time
import unittest
import urllib.request
import uuid

import ionoscloud_container_registry as cr
from ionoscloud_container_registry.rest import ApiException

URL = os.environ["TOLLGATE_URL"]
HOST = URL + "/containerregistries"
UUID_RE = re.compile(r"^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$")
DOMAIN = os.environ.get("REGISTRY_DOMAIN", "cr.example.test")


def client(email=None, password=None, token=None):
    configuration = cr.Configuration(host=HOST, username=email, password=password, token=token)
    return cr.ApiClient(configuration)


def owner():
    return client(os.environ["OWNER_EMAIL"], os.environ["OWNER_PASSWORD"])


def unique_name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def generate_jwt(email, password):
    request = urllib.request.Request(URL + "/auth/v1/tokens/generate?ttl=3600")
    credentials = base64.b64encode(f"{email}:{password}".encode()).decode()
    request.add_header("Authorization", "Basic " + credentials)
    with urllib.request.urlopen(request) as response:
        return json.load(response)["token"]


def header(response, name):
    """A response header, whatever case the transport gave its name."""
    return {key.lower(): value for key, value in response.headers.items()}[name.lower()]


def scope(name, *actions):
    return cr.Scope(type="repository", name=name, actions=list(actions))


class Conformance(unittest.TestCase):
    def setUp(self):
        self.api = owner()
        self.registries = cr.RegistriesApi(self.api)
        self.tokens = cr.TokensApi(self.api)

    def assert_api_error(self, status, call, *args, **kwargs):
        with self.assertRaises(ApiException) as caught:
            call(*args, **kwargs)
        self.assertEqual(caught.exception.status, status, caught.exception.body)
        if caught.exception.body:
            body = json.loads(caught.exception.body)
            self.assertEqual(body["httpStatus"], status)
            self.assertEqual(len(body["messages"]), 1)
            self.assertTrue(body["messages"][0]["errorCode"])
            self.assertTrue(body["messages"][0]["message"])
            return body["messages"][0]["message"]
        return ""

    def create_registry(self, name=None, **properties):
        name = name or unique_name("reg")
        response = self.registries.registries_post_with_http_info(
            cr.PostRegistryInput(properties=cr.PostRegistryProperties(name=name, location="de/fra", **properties))
        )
        self.assertEqual(response.status_code, 201)
        return response.data

    def check_metadata(self, metadata, state):
        self.assertEqual(metadata.created_by, os.environ["OWNER_EMAIL"])
        self.assertRegex(metadata.created_by_user_id, UUID_RE)
        self.assertIsInstance(metadata.created_date, datetime.datetime)
        self.assertEqual(metadata.created_date.tzinfo.utcoffset(None), datetime.timedelta(0))
        self.assertEqual(metadata.state, state)

    # Locations and names -------------------------------------------------

    def test_locations_lists_the_configured_locations(self):
        response = cr.LocationsApi(self.api).locations_get()
        self.assertEqual([item.id for item in response.items], ["de/fra", "de/txl"])

    def test_names_check_usage(self):
        names = cr.NamesApi(self.api)
        free = unique_name("free")
        self.assert_api_error(404, names.names_check_usage, free)
        self.assert_api_error(400, names.names_check_usage, "Not_Valid")
        self.create_registry(free)
        names.names_check_usage(free)  # 200: valid and taken

    # Registries ------------------------------------------------------------

    def test_registry_post_get_and_fields(self):
        name = unique_name("fields")
        schedule = cr.WeeklySchedule(days=["Monday", "Friday"], time="04:17:00+00:00")
        features = cr.RegistryFeatures(vulnerability_scanning=cr.FeatureVulnerabilityScanning(enabled=True))
        response = self.registries.registries_post_with_http_info(
            cr.PostRegistryInput(
                properties=cr.PostRegistryProperties(
                    name=name,
                    location="de/txl",
                    garbage_collection_schedule=schedule,
                    features=features,
                    api_subnet_allow_list=["192.0.2.0/24", "2001:db8::1"],
                )
            )
        )
        self.assertEqual(response.status_code, 201)
        created = response.data
        self.assertRegex(created.id, UUID_RE)
        self.assertEqual(header(response, "Location"), created.href)
        self.assertEqual(created.href, f"{HOST}/registries/{created.id}")
        self.assertEqual(created.type, "registry")
        self.check_metadata(created.metadata, "Running")
        p = created.properties
        self.assertEqual(p.name, name)
        self.assertEqual(p.location, "de/txl")
        self.assertEqual(p.hostname, f"{name}.{DOMAIN}")
        self.assertEqual(p.garbage_collection_schedule.days, ["Monday", "Friday"])
        self.assertEqual(p.garbage_collection_schedule.time, "04:17:00+00:00")
        self.assertTrue(p.features.vulnerability_scanning.enabled)
        self.assertEqual(p.api_subnet_allow_list, ["192.0.2.0/24", "2001:db8::1"])
        self.assertEqual(p.storage_usage.bytes, 0)

        fetched = self.registries.registries_find_by_id(created.id)
        self.assertEqual(fetched.to_dict(), created.to_dict())

    def test_registry_list_filters_and_paginates(self):
        prefix = unique_name("page")
        ids = [self.create_registry(f"{prefix}-{i}").id for i in range(5)]
        seen, token = [], None
        pages = 0
        while True:
            page = self.registries.registries_get(filter_name=prefix, limit="2", pagination_token=token)
            pages += 1
            self.assertEqual(page.pagination.limit, 2)
            self.assertLessEqual(len(page.items), 2)
            seen += [item.id for item in page.items]
            self.assertTrue(page.links.var_self)
            token = page.pagination.token
            if not token:
                self.assertEqual(page.links.next, "")
                break
            self.assertIn("pagination.token=", page.links.next)
        self.assertEqual(pages, 3)
        self.assertEqual(seen, ids, "every registry once, in creation order")
        everything = self.registries.registries_get()
        self.assertTrue(set(ids) <= {item.id for item in everything.items})
        self.assert_api_error(400, self.registries.registries_get, pagination_token="garbage!")
        self.assert_api_error(400, self.registries.registries_get, limit="0")

    def test_registry_put_creates_then_replaces(self):
        registry_id = str(uuid.uuid4())
        name = unique_name("put")
        body = cr.PutRegistryInput(properties=cr.PostRegistryProperties(name=name, location="de/fra"))
        first = self.registries.registries_put_with_http_info(registry_id, body)
        self.assertEqual(first.status_code, 201)
        self.assertEqual(first.data.id, registry_id)
        self.assertEqual(header(first, "Location"), first.data.href)
        body.properties.garbage_collection_schedule = cr.WeeklySchedule(days=["Sunday"], time="01:00:00")
        second = self.registries.registries_put_with_http_info(registry_id, body)
        self.assertEqual(second.status_code, 200)
        self.assertEqual(second.data.properties.garbage_collection_schedule.days, ["Sunday"])
        self.assertEqual(second.data.properties.garbage_collection_schedule.time, "01:00:00+00:00")
        self.assertEqual(second.data.metadata.last_modified_by, os.environ["OWNER_EMAIL"])
        self.assertIsNotNone(second.data.metadata.last_modified_date)
        renamed = cr.PutRegistryInput(properties=cr.PostRegistryProperties(name=unique_name("other"), location="de/fra"))
        message = self.assert_api_error(400, self.registries.registries_put, registry_id, renamed)
        self.assertIn("name", message)

    def test_registry_patch_changes_only_what_is_given(self):
        created = self.create_registry(api_subnet_allow_list=["10.0.0.0/8"])
        patched = self.registries.registries_patch(
            created.id,
            cr.PatchRegistryInput(
                features=cr.RegistryFeatures(vulnerability_scanning=cr.FeatureVulnerabilityScanning(enabled=True))
            ),
        )
        self.assertTrue(patched.properties.features.vulnerability_scanning.enabled)
        self.assertEqual(patched.properties.api_subnet_allow_list, ["10.0.0.0/8"])
        patched = self.registries.registries_patch(created.id, cr.PatchRegistryInput(api_subnet_allow_list=[]))
        self.assertEqual(patched.properties.api_subnet_allow_list, [])
        self.assertTrue(patched.properties.features.vulnerability_scanning.enabled)

    def test_registry_delete_removes_it_and_its_tokens(self):
        created = self.create_registry()
        token = self.tokens.registries_tokens_post(
            created.id, cr.PostTokenInput(properties=cr.PostTokenProperties(name="doomed"))
        )
        response = self.registries.registries_delete_with_http_info(created.id)
        self.assertEqual(response.status_code, 204)
        self.assert_api_error(404, self.registries.registries_find_by_id, created.id)
        self.assert_api_error(404, self.tokens.registries_tokens_find_by_id, created.id, token.id)
        self.assert_api_error(404, self.registries.registries_delete, created.id)

    def test_registry_bad_input(self):
        self.assert_api_error(400, self.create_registry, "Bad_Name")
        taken = self.create_registry().properties.name
        self.assert_api_error(409, self.create_registry, taken)
        bad_location = cr.PostRegistryInput(properties=cr.PostRegistryProperties(name=unique_name("loc"), location="mars/base"))
        message = self.assert_api_error(400, self.registries.registries_post, bad_location)
        self.assertIn("location", message)
        message = self.assert_api_error(400, self.create_registry, api_subnet_allow_list=["10.0.0.0/33"])
        self.assertIn("apiSubnetAllowList[0]", message)
        self.assert_api_error(400, self.registries.registries_find_by_id, "not-a-uuid")
        self.assert_api_error(404, self.registries.registries_find_by_id, str(uuid.uuid4()))

    # Tokens ----------------------------------------------------------------

    def test_token_post_shows_the_password_once(self):
        registry = self.create_registry()
        expiry = datetime.datetime(2031, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
        response = self.tokens.registries_tokens_post_with_http_info(
            registry.id,
            cr.PostTokenInput(
                properties=cr.PostTokenProperties(
                    name="push-token",
                    expiry_date=expiry,
                    scopes=[scope("team/*", "push", "pull"), scope("*", "pull")],
                    status="enabled",
                )
            ),
        )
        self.assertEqual(response.status_code, 201)
        created = response.data
        self.assertRegex(created.id, UUID_RE)
        self.assertEqual(created.href, f"{HOST}/registries/{registry.id}/tokens/{created.id}")
        self.assertEqual(header(response, "Location"), created.href)
        self.assertEqual(created.type, "token")
        self.check_metadata(created.metadata, "enabled")
        p = created.properties
        self.assertEqual(p.name, "push-token")
        self.assertEqual(p.credentials.username, "push-token")
        self.assertGreaterEqual(len(p.credentials.password), 43)
        self.assertEqual(p.expiry_date, expiry)
        self.assertEqual(p.status, "enabled")
        self.assertEqual([(s.type, s.name, s.actions) for s in p.scopes],
                         [("repository", "team/*", ["pull", "push"]), ("repository", "*", ["pull"])])

        fetched = self.tokens.registries_tokens_find_by_id(registry.id, created.id)
        self.assertEqual(fetched.properties.credentials.password, "")
        self.assertEqual(fetched.properties.credentials.username, "push-token")
        listed = self.tokens.registries_tokens_get(registry.id)
        self.assertEqual([t.properties.credentials.password for t in listed.items], [""])
        expected = created.to_dict()
        expected["properties"]["credentials"]["password"] = ""
        self.assertEqual(fetched.to_dict(), expected)

    def test_token_list_paginates_with_offset_and_limit(self):
        registry = self.create_registry()
        ids = []
        for i in range(5):
            token = self.tokens.registries_tokens_post(
                registry.id, cr.PostTokenInput(properties=cr.PostTokenProperties(name=f"t{i}"))
            )
            ids.append(token.id)
        seen, offset = [], 0
        while True:
            page = self.tokens.registries_tokens_get(registry.id, offset=str(offset), limit="2")
            self.assertEqual((page.offset, page.limit, page.total), (offset, 2, 5))
            self.assertEqual(page.count, len(page.items))
            self.assertIn(f"offset={offset}", page.links.var_self)
            self.assertEqual(page.links.previous != "", offset > 0)
            seen += [t.id for t in page.items]
            if not page.links.next:
                break
            self.assertIn(f"offset={offset + 2}", page.links.next)
            offset += 2
        self.assertEqual(sorted(seen), sorted(ids))
        self.assertEqual(len(seen), 5)
        # The order is stable: the same page twice is the same page.
        again = self.tokens.registries_tokens_get(registry.id, offset="0", limit="100")
        self.assertEqual([t.id for t in again.items], seen)
        defaults = self.tokens.registries_tokens_get(registry.id)
        self.assertEqual((defaults.offset, defaults.limit), (0, 100))
        self.assert_api_error(400, self.tokens.registries_tokens_get, registry.id, offset="-1")
        self.assert_api_error(400, self.tokens.registries_tokens_get, registry.id, limit="1001")
        self.assert_api_error(400, self.tokens.registries_tokens_get, registry.id, limit="ten")

    def test_token_put_creates_then_replaces_but_never_renames(self):
        registry = self.create_registry()
        token_id = str(uuid.uuid4())
        body = cr.PutTokenInput(properties=cr.PostTokenProperties(name="put-token", scopes=[scope("*", "pull")]))
        first = self.tokens.registries_tokens_put_with_http_info(registry.id, token_id, body)
        self.assertEqual(first.status_code, 201)
        self.assertEqual(first.data.id, token_id)
        self.assertGreaterEqual(len(first.data.properties.credentials.password), 43)
        body.properties.status = "disabled"
        body.properties.scopes = [scope("app", "pull", "push", "delete")]
        second = self.tokens.registries_tokens_put_with_http_info(registry.id, token_id, body)
        self.assertEqual(second.status_code, 200)
        self.assertEqual(second.data.properties.credentials.password, "")
        self.assertEqual(second.data.properties.status, "disabled")
        self.assertEqual(second.data.properties.scopes[0].actions, ["pull", "push", "delete"])
        renamed = cr.PutTokenInput(properties=cr.PostTokenProperties(name="new-name"))
        self.assertIn("name", self.assert_api_error(400, self.tokens.registries_tokens_put, registry.id, token_id, renamed))

    def test_token_patch_status_expiry_and_scopes(self):
        registry = self.create_registry()
        token = self.tokens.registries_tokens_post(
            registry.id, cr.PostTokenInput(properties=cr.PostTokenProperties(name="patchy", scopes=[scope("*", "pull")]))
        )
        patched = self.tokens.registries_tokens_patch(registry.id, token.id, cr.PatchTokenInput(status="disabled"))
        self.assertEqual(patched.properties.status, "disabled")
        self.assertEqual(patched.metadata.state, "disabled")
        self.assertEqual(patched.properties.scopes[0].name, "*")
        expiry = datetime.datetime(2032, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)
        patched = self.tokens.registries_tokens_patch(registry.id, token.id, cr.PatchTokenInput(expiry_date=expiry))
        self.assertEqual(patched.properties.expiry_date, expiry)
        self.assertEqual(patched.properties.status, "disabled")
        patched = self.tokens.registries_tokens_patch(registry.id, token.id, cr.PatchTokenInput(expiry_date=None))
        self.assertIsNone(patched.properties.expiry_date)
        patched = self.tokens.registries_tokens_patch(
            registry.id, token.id, cr.PatchTokenInput(scopes=[scope("team/app", "push")], status="enabled")
        )
        self.assertEqual([(s.name, s.actions) for s in patched.properties.scopes], [("team/app", ["push"])])
        self.assertEqual(patched.properties.status, "enabled")
        self.assertEqual(patched.properties.credentials.password, "")
        self.assert_api_error(400, self.tokens.registries_tokens_patch, registry.id, token.id, cr.PatchTokenInput(status="paused"))

    def test_token_delete(self):
        registry = self.create_registry()
        token = self.tokens.registries_tokens_post(
            registry.id, cr.PostTokenInput(properties=cr.PostTokenProperties(name="gone"))
        )
        response = self.tokens.registries_tokens_delete_with_http_info(registry.id, token.id)
        self.assertEqual(response.status_code, 204)
        self.assert_api_error(404, self.tokens.registries_tokens_find_by_id, registry.id, token.id)
        self.assert_api_error(404, self.tokens.registries_tokens_delete, registry.id, token.id)

    def test_token_bad_input(self):
        registry = self.create_registry()
        post = self.tokens.registries_tokens_post
        self.assert_api_error(400, post, registry.id, cr.PostTokenInput(properties=cr.PostTokenProperties(name="9lives")))
        self.assert_api_error(400, post, registry.id, cr.PostTokenInput(
            properties=cr.PostTokenProperties(name="ok-name", scopes=[scope("*", "admin")])))
        self.assert_api_error(400, post, registry.id, cr.PostTokenInput(
            properties=cr.PostTokenProperties(name="ok-name", scopes=[cr.Scope(type="registry", name="*", actions=["pull"])])))
        self.assert_api_error(400, post, registry.id, cr.PostTokenInput(
            properties=cr.PostTokenProperties(name="ok-name", scopes=[scope("*")])))
        self.assert_api_error(400, post, registry.id, cr.PostTokenInput(
            properties=cr.PostTokenProperties(name="ok-name", status="on")))
        post(registry.id, cr.PostTokenInput(properties=cr.PostTokenProperties(name="twice")))
        self.assert_api_error(409, post, registry.id, cr.PostTokenInput(properties=cr.PostTokenProperties(name="twice")))
        self.assert_api_error(400, self.tokens.registries_tokens_find_by_id, registry.id, "not-a-uuid")
        self.assert_api_error(404, self.tokens.registries_tokens_find_by_id, registry.id, str(uuid.uuid4()))
        self.assert_api_error(404, self.tokens.registries_tokens_get, str(uuid.uuid4()))

    # Authentication and authorization ---------------------------------------

    def test_bearer_token_from_the_auth_api_works(self):
        jwt = generate_jwt(os.environ["OWNER_EMAIL"], os.environ["OWNER_PASSWORD"])
        bearer = client(token=jwt)
        registry = cr.RegistriesApi(bearer).registries_post(
            cr.PostRegistryInput(properties=cr.PostRegistryProperties(name=unique_name("bearer"), location="de/fra"))
        )
        token = cr.TokensApi(bearer).registries_tokens_post(
            registry.id, cr.PostTokenInput(properties=cr.PostTokenProperties(name="via-bearer"))
        )
        self.assertEqual(token.metadata.created_by, os.environ["OWNER_EMAIL"])
        fetched = cr.RegistriesApi(self.api).registries_find_by_id(registry.id)
        self.assertEqual(fetched.id, registry.id)

    def test_tollgate_extension_fields_are_ignored_by_the_sdk(self):
        registry = self.create_registry()
        created = self.tokens.registries_tokens_post(
            registry.id,
            cr.PostTokenInput(properties=cr.PostTokenProperties(name="used", scopes=[scope("*", "pull")])),
        )
        password = created.properties.credentials.password
        service = f"{registry.properties.name}.{DOMAIN}"
        login = urllib.request.Request(f"{URL}/registry/token?service={service}")
        login.add_header("Authorization", "Basic " + base64.b64encode(f"used:{password}".encode()).decode())
        with urllib.request.urlopen(login) as response:
            self.assertEqual(response.status, 200)
        path = f"{HOST}/registries/{registry.id}/tokens/{created.id}"
        owner_basic = base64.b64encode(
            f"{os.environ['OWNER_EMAIL']}:{os.environ['OWNER_PASSWORD']}".encode()
        ).decode()
        rotate = urllib.request.Request(path + "/rotate", data=b'{"gracePeriodSeconds": 600}', method="POST")
        rotate.add_header("Authorization", "Basic " + owner_basic)
        rotate.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(rotate) as response:
            self.assertEqual(response.status, 200)
        raw = {}
        for _ in range(100):
            read = urllib.request.Request(path)
            read.add_header("Authorization", "Basic " + owner_basic)
            with urllib.request.urlopen(read) as response:
                raw = json.load(response)
            if "lastUsedDate" in raw["properties"]:
                break
            time.sleep(0.1)
        for extension in ("lastUsedDate", "lastUsedFrom", "previousPasswordValidUntil"):
            self.assertIn(extension, raw["properties"])
        # The SDK reads the same answer and simply leaves the extensions out.
        token = self.tokens.registries_tokens_find_by_id(registry.id, created.id)
        self.assertEqual(token.properties.name, "used")
        self.assertEqual(token.properties.status, "enabled")
        self.assertNotIn("lastUsedDate", json.dumps(token.to_dict(), default=str))
        listed = self.tokens.registries_tokens_get(registry.id)
        self.assertEqual([t.id for t in listed.items], [created.id])

    def test_wrong_credentials_are_refused(self):
        wrong = cr.RegistriesApi(client(os.environ["OWNER_EMAIL"], "wrong password"))
        self.assert_api_error(401, wrong.registries_get)
        forged = cr.RegistriesApi(client(token="a.b.c"))
        self.assert_api_error(401, forged.registries_get)

    def test_members_without_the_privilege_are_forbidden(self):
        registry = self.create_registry()
        plain = client(os.environ["PLAIN_EMAIL"], os.environ["PLAIN_PASSWORD"])
        self.assert_api_error(403, cr.RegistriesApi(plain).registries_get)
        self.assert_api_error(403, cr.RegistriesApi(plain).registries_find_by_id, registry.id)
        self.assert_api_error(403, cr.TokensApi(plain).registries_tokens_get, registry.id)

    def test_other_contracts_registries_do_not_exist(self):
        registry = self.create_registry()
        token = self.tokens.registries_tokens_post(
            registry.id, cr.PostTokenInput(properties=cr.PostTokenProperties(name="mine"))
        )
        other = client(os.environ["OTHER_EMAIL"], os.environ["OTHER_PASSWORD"])
        registries, tokens = cr.RegistriesApi(other), cr.TokensApi(other)
        self.assert_api_error(404, registries.registries_find_by_id, registry.id)
        self.assert_api_error(404, registries.registries_delete, registry.id)
        self.assert_api_error(404, tokens.registries_tokens_get, registry.id)
        self.assert_api_error(404, tokens.registries_tokens_find_by_id, registry.id, token.id)
        self.assertNotIn(registry.id, [r.id for r in registries.registries_get().items])
        self.registries.registries_find_by_id(registry.id)


if __name__ == "__main__":
    unittest.main(verbosity=2)
