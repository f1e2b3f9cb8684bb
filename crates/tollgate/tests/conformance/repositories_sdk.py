"""The official IONOS Container Registry Python SDK reads repositories,
artifacts and vulnerabilities (API 1.2.1) from Tollgate.

Run by the Rust test `repositories::a_real_registry_reports_pushes_and_pulls_that_the_official_sdk_reads`,
after skopeo pushed `team/app:v1`, `team/app:v2` (one image) and `other/tool:v1`
(the same image) to a Distribution that notifies Tollgate, and pulled
`team/app:v1` twice, and pushed `scratch/tmp:v1`, which the SDK deletes
first (setUpModule). The environment gives:
  TOLLGATE_URL   base URL of the running service
  TOKEN          an owner's access token (these operations take Bearer only)
  REGISTRY_ID    the registry's id
  DIGEST         the digest of the image's manifest
  PUSHER         the name of the registry token skopeo pushed with
Every call goes through the SDK unchanged.
"""

import datetime
import os
import unittest

import ionoscloud_container_registry as cr
from ionoscloud_container_registry.rest import ApiException

HOST = os.environ["TOLLGATE_URL"] + "/containerregistries"
REGISTRY = os.environ["REGISTRY_ID"]
DIGEST = os.environ["DIGEST"]
PUSHER = os.environ["PUSHER"]
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def api_client():
    return cr.ApiClient(cr.Configuration(host=HOST, token=os.environ["TOKEN"]))


def setUpModule():
    """Deletes `scratch/tmp` through the SDK; the other tests then see only the two."""
    api = cr.RepositoriesApi(api_client())
    api.registries_repositories_delete(REGISTRY, "scratch/tmp")
    try:
        api.registries_repositories_find_by_name(REGISTRY, "scratch/tmp")
    except ApiException as e:
        assert e.status == 404, e.status
    else:
        raise AssertionError("scratch/tmp is still there after its deletion")


class Repositories(unittest.TestCase):
    def setUp(self):
        self.api = cr.RepositoriesApi(api_client())

    def test_lists_both_repositories_last_pushed_first(self):
        listed = self.api.registries_repositories_get(REGISTRY)
        self.assertEqual([r.properties.name for r in listed.items], ["other/tool", "team/app"])
        self.assertEqual([r.id for r in listed.items], ["other/tool", "team/app"])
        self.assertEqual((listed.offset, listed.limit), (0, 100))
        self.assertIsNotNone(listed.links.var_self)
        self.assertIsNone(listed.links.next)
        self.assertIsNone(listed.links.prev)

    def test_counts_and_times_of_a_repository(self):
        team = self.api.registries_repositories_find_by_name(REGISTRY, "team/app")
        self.assertEqual(team.properties.name, "team/app")
        self.assertEqual(team.type, "repository")
        self.assertTrue(team.href.endswith("/repositories/team%2Fapp"), team.href)
        meta = team.metadata
        self.assertEqual(meta.artifact_count, 1)
        self.assertEqual(meta.push_count, 2)
        self.assertEqual(meta.pull_count, 2)
        self.assertIsInstance(meta.last_pushed_at, datetime.datetime)
        self.assertIsInstance(meta.last_pulled_at, datetime.datetime)
        self.assertGreaterEqual(meta.last_pulled_at, meta.last_pushed_at)
        # Who pushed, as the registry names them: the registry token.
        self.assertEqual((meta.created_by, meta.last_modified_by), (PUSHER, PUSHER))
        self.assertEqual(meta.last_modified_date, meta.last_pushed_at)
        tool = self.api.registries_repositories_find_by_name(REGISTRY, "other/tool")
        self.assertEqual((tool.metadata.artifact_count, tool.metadata.push_count, tool.metadata.pull_count), (1, 1, 0))
        self.assertIsNone(tool.metadata.last_pulled_at)

    def test_filter_order_and_pages(self):
        named = self.api.registries_repositories_get(REGISTRY, filter_name="tool")
        self.assertEqual([r.properties.name for r in named.items], ["other/tool"])
        by_name = self.api.registries_repositories_get(REGISTRY, order_by="name")
        self.assertEqual([r.properties.name for r in by_name.items], ["other/tool", "team/app"])
        most_pulled = self.api.registries_repositories_get(REGISTRY, order_by="-pullCount")
        self.assertEqual(most_pulled.items[0].properties.name, "team/app")
        first = self.api.registries_repositories_get(REGISTRY, limit=1, order_by="name")
        self.assertEqual([r.properties.name for r in first.items], ["other/tool"])
        self.assertIsNotNone(first.links.next)
        second = self.api.registries_repositories_get(REGISTRY, offset=1, limit=1, order_by="name")
        self.assertEqual([r.properties.name for r in second.items], ["team/app"])
        self.assertIsNotNone(second.links.prev)
        self.assertIsNone(second.links.next)
        scanned = self.api.registries_repositories_get(REGISTRY, filter_vulnerability_severity="critical")
        self.assertEqual(scanned.items, [])

    def test_unknown_repository_and_bad_order_are_refused(self):
        with self.assertRaises(ApiException) as caught:
            self.api.registries_repositories_find_by_name(REGISTRY, "team/nothing")
        self.assertEqual(caught.exception.status, 404)
        with self.assertRaises(ApiException) as caught:
            self.api.registries_repositories_get(REGISTRY, order_by="size")
        self.assertEqual(caught.exception.status, 400)


class Artifacts(unittest.TestCase):
    def setUp(self):
        self.api = cr.ArtifactsApi(api_client())

    def test_the_artifact_of_a_repository_with_its_tags(self):
        listed = self.api.registries_repositories_artifacts_get(REGISTRY, "team/app")
        self.assertEqual(len(listed.items), 1)
        artifact = listed.items[0]
        self.assertEqual(artifact.id, DIGEST)
        self.assertEqual(artifact.type, "artifact")
        self.assertEqual(artifact.properties.digest, DIGEST)
        self.assertEqual(artifact.properties.repository_name, "team/app")
        self.assertEqual(artifact.properties.tags, ["v1", "v2"])
        self.assertEqual(artifact.properties.media_type, OCI_MANIFEST)
        self.assertEqual((artifact.metadata.push_count, artifact.metadata.pull_count), (2, 2))
        self.assertIsInstance(artifact.metadata.last_pushed_at, datetime.datetime)
        self.assertIsInstance(artifact.metadata.last_pulled_at, datetime.datetime)
        self.assertEqual((artifact.metadata.created_by, artifact.metadata.last_modified_by), (PUSHER, PUSHER))
        self.assertEqual(artifact.metadata.last_modified_date, artifact.metadata.last_pushed_at)

    def test_one_artifact_by_digest(self):
        found = self.api.registries_repositories_artifacts_find_by_digest(REGISTRY, "team/app", DIGEST)
        self.assertEqual(found.properties.tags, ["v1", "v2"])
        self.assertTrue(found.href.endswith("/repositories/team%2Fapp/artifacts/" + DIGEST), found.href)
        with self.assertRaises(ApiException) as caught:
            self.api.registries_repositories_artifacts_find_by_digest(REGISTRY, "team/app", "sha256:" + "0" * 64)
        self.assertEqual(caught.exception.status, 404)

    def test_every_artifact_of_the_registry_most_pulled_first(self):
        listed = self.api.registries_artifacts_get(REGISTRY)
        self.assertEqual([(a.properties.repository_name, a.metadata.pull_count) for a in listed.items],
                         [("team/app", 2), ("other/tool", 0)])
        affected = self.api.registries_artifacts_get(REGISTRY, filter_vulnerability_id="CVE-2024-3094")
        self.assertEqual(affected.items, [])

    def test_vulnerabilities_are_an_empty_list_without_a_scanner(self):
        listed = self.api.registries_repositories_artifacts_vulnerabilities_get(
            REGISTRY, "team/app", DIGEST, filter_fixable=True, order_by="-score")
        self.assertEqual(listed.items, [])
        self.assertEqual((listed.offset, listed.limit), (0, 100))


class Vulnerabilities(unittest.TestCase):
    def test_no_vulnerability_is_known(self):
        api = cr.VulnerabilitiesApi(api_client())
        with self.assertRaises(ApiException) as caught:
            api.vulnerabilities_find_by_id("CVE-2024-3094")
        self.assertEqual(caught.exception.status, 404)


class StorageUsage(unittest.TestCase):
    def test_the_registry_reports_what_it_stores(self):
        registry = cr.RegistriesApi(api_client()).registries_find_by_id(REGISTRY)
        usage = registry.properties.storage_usage
        self.assertGreater(usage.bytes, 0)
        self.assertIsInstance(usage.updated_at, datetime.datetime)


if __name__ == "__main__":
    unittest.main(verbosity=2)
