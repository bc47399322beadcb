"""Every snapshot form the contract lists reads the same cluster; bad snapshots are one clear line."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.snapshot import Snapshot, SnapshotView
from handlers import VERBS
from handlers.errors import SnapshotError
from tests.conftest import FIXTURES, run_cli

BASIC = FIXTURES / "basic"
CRASHING = "web-7d4b9c8f6d-q8l5m"
CRASHING_UID = "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
RUNNING = "web-7d4b9c8f6d-x2x9k"


def docs(name: str) -> list[dict[str, Any]]:
    """The objects of a fixture file, Lists flattened (each a fresh copy)."""
    out: list[dict[str, Any]] = []
    for doc in yaml.safe_load_all((BASIC / name).read_text()):
        if doc and doc.get("kind") == "List":
            out.extend(doc["items"])
        elif doc:
            out.append(doc)
    return copy.deepcopy(out)


def pods() -> list[dict[str, Any]]:
    return docs("pods.yaml")


def events() -> list[dict[str, Any]]:
    return docs("events.yaml")


def view(*paths: Path) -> SnapshotView:
    return SnapshotView(Snapshot.load(paths))


def assert_is_the_shop(v: SnapshotView, *, with_events: bool = True) -> None:
    """The same three pods, with their uids, whatever form they were saved in."""
    assert sorted(p.name for p in v.list("Pod", "shop")) == ["report", CRASHING, RUNNING]
    crashing = v.get("Pod", "shop", CRASHING)
    assert crashing is not None and crashing.uid == CRASHING_UID and crashing.kind == "Pod"
    if with_events:
        assert [e.text("reason") for e in v.events(crashing)] == [
            "Scheduled",
            "Pulled",
            "Created",
            "Started",
            "BackOff",
        ]


def without_type(obj: dict[str, Any]) -> dict[str, Any]:
    """An item as the API sends it inside a list (and `cluster-info dump` prints it): no kind."""
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


def api_list(kind: str, items: list[dict[str, Any]], api_version: str = "v1") -> dict[str, Any]:
    return {
        "kind": f"{kind}List",
        "apiVersion": api_version,
        "metadata": {"resourceVersion": "88540"},
        "items": [without_type(i) for i in items],
    }


def log_section(ns: str, pod: str, container: str, text: str) -> str:
    # kubectl cluster-info dump, printContainer: START line, the log as is, END line.
    return (
        f"==== START logs for container {container} of pod {ns}/{pod} ====\n"
        f"{text}"
        f"==== END logs for container {container} of pod {ns}/{pod} ====\n"
    )


CRASH_LOG = (
    "2024-06-11T10:04:58.100Z INFO  starting web 1.8.2\n2024-06-11T10:05:00.004Z ERROR database down\n"
)
RUNNING_LOG = "2024-06-11T09:40:01.002Z INFO  listening on :8080\n"


# -- the forms ------------------------------------------------------------------------------


def test_the_fixture_folder(tmp_path: Path) -> None:
    v = view(BASIC)
    assert_is_the_shop(v)
    assert v.namespaces() == ["shop"]
    assert [s.name for s in v.list("Service", "shop")] == ["web"]
    assert [p.name for p in v.list("Pod", labels={"app": "web"})] == [CRASHING, RUNNING]
    assert v.get("Deployment", "shop", "web") is not None
    assert v.taken_at is not None and v.taken_at.isoformat() == "2024-06-11T10:05:16+00:00"


def test_multi_document_yaml(tmp_path: Path) -> None:
    path = tmp_path / "all.yaml"
    path.write_text("---\n".join(yaml.safe_dump(d) for d in [*pods(), *events()]))
    assert_is_the_shop(view(path))


def test_kind_list_yaml(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [*pods(), *events()]}))
    assert_is_the_shop(view(path))


def test_json_list_as_kubectl_get_o_json_prints_it(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    doc = {
        "apiVersion": "v1",
        "items": [*pods(), *events()],
        "kind": "List",
        "metadata": {"resourceVersion": ""},
    }
    path.write_text(json.dumps(doc, indent=4))
    assert_is_the_shop(view(path))


def test_single_object_files_yaml_and_json(tmp_path: Path) -> None:
    for i, obj in enumerate([*pods(), *events()]):
        if i % 2:
            (tmp_path / f"obj{i}.json").write_text(json.dumps(obj, indent=4))
        else:
            (tmp_path / f"obj{i}.yaml").write_text(yaml.safe_dump(obj))
    assert_is_the_shop(view(*sorted(tmp_path.iterdir())))


def test_a_folder_of_files_nested_ignoring_readmes_and_hidden(tmp_path: Path) -> None:
    (tmp_path / "shop" / "workloads").mkdir(parents=True)
    (tmp_path / "shop" / "workloads" / "pods.yaml").write_text((BASIC / "pods.yaml").read_text())
    (tmp_path / "shop" / "events.json").write_text(json.dumps(api_list("Event", events())))
    (tmp_path / "README.txt").write_text("Taken with kubectl get -o yaml on 11 June.\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config.yaml").write_text("not: [valid\n")
    (tmp_path / "notes.md").write_text("# not read\n")
    assert_is_the_shop(view(tmp_path))


def test_a_typed_list_whose_items_lack_kind(tmp_path: Path) -> None:
    path = tmp_path / "pods.json"
    path.write_text(json.dumps(api_list("Pod", pods())))
    v = view(path)
    assert_is_the_shop(v, with_events=False)
    assert all(p.kind == "Pod" for p in v.list("Pod"))


def dump_stream(logs: str) -> str:
    """`kubectl cluster-info dump` stdout: JSON Lists (4-space indent, items without kind), logs."""
    node = {"metadata": {"name": "node-a", "uid": "n-1", "creationTimestamp": "2024-05-01T00:00:00Z"}}
    parts = [
        json.dumps({**api_list("Node", []), "items": [node]}, indent=4),
        json.dumps(api_list("Event", events()), indent=4),
        json.dumps(api_list("ReplicationController", []), indent=4),
        json.dumps(api_list("Service", docs("service.yaml")), indent=4),
        json.dumps(api_list("DaemonSet", [], "apps/v1"), indent=4),
        json.dumps(api_list("Deployment", docs("workloads.yaml")[:1], "apps/v1"), indent=4),
        json.dumps(api_list("ReplicaSet", docs("workloads.yaml")[1:], "apps/v1"), indent=4),
        json.dumps(api_list("Pod", pods()), indent=4),
    ]
    return "\n".join(parts) + "\n" + logs


def test_cluster_info_dump_stdout_stream(tmp_path: Path) -> None:
    path = tmp_path / "dump.txt"
    logs = (
        log_section("shop", CRASHING, "web", CRASH_LOG)
        + log_section("shop", RUNNING, "web", RUNNING_LOG)
        + log_section("shop", "report", "report", "")
    )
    path.write_text(dump_stream(logs))
    v = view(path)
    assert_is_the_shop(v)
    assert [n.name for n in v.list("Node")] == ["node-a"]
    rs = v.get("ReplicaSet", "shop", "web-7d4b9c8f6d")
    assert rs is not None and (rs.kind, rs.text("apiVersion")) == ("ReplicaSet", "apps/v1")  # from the list
    assert v.log("shop", CRASHING, "web", previous=False, tail=0) == CRASH_LOG
    assert v.log("shop", RUNNING, "web", previous=False) == RUNNING_LOG.rstrip("\n")
    assert v.log("shop", CRASHING, "web", previous=True) is None  # a dump has current logs only


def test_log_sections_between_the_lists_and_a_cut_short_dump(tmp_path: Path) -> None:
    path = tmp_path / "dump.txt"
    pods_json = json.dumps(api_list("Pod", pods()), indent=4)
    events_json = json.dumps(api_list("Event", events()), indent=4)
    cut = f"==== START logs for container web of pod shop/{RUNNING} ====\n{RUNNING_LOG}"
    path.write_text(
        pods_json + "\n" + log_section("shop", CRASHING, "web", CRASH_LOG) + events_json + "\n" + cut
    )
    v = view(path)
    assert_is_the_shop(v)
    assert v.log("shop", CRASHING, "web", previous=False, tail=0) == CRASH_LOG
    assert v.log("shop", RUNNING, "web", previous=False, tail=0) == RUNNING_LOG


def test_cluster_info_dump_output_directory(tmp_path: Path) -> None:
    node = {"metadata": {"name": "node-a", "uid": "n-1"}}
    (tmp_path / "nodes.json").write_text(json.dumps({**api_list("Node", []), "items": [node]}, indent=4))
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "events.json").write_text(json.dumps(api_list("Event", events()), indent=4))
    (shop / "services.json").write_text(json.dumps(api_list("Service", docs("service.yaml")), indent=4))
    (shop / "pods.json").write_text(json.dumps(api_list("Pod", pods()), indent=4))
    (shop / "daemonsets.json").write_text(json.dumps(api_list("DaemonSet", [], "apps/v1"), indent=4))
    for name, text in ((CRASHING, CRASH_LOG), (RUNNING, RUNNING_LOG)):
        (shop / name).mkdir()
        (shop / name / "logs.txt").write_text(log_section("shop", name, "web", text))
    (shop / "report").mkdir()
    (shop / "report" / "logs.txt").write_text(
        log_section("shop", "report", "report", 'Request log error: container "report" is waiting to start\n')
    )
    v = view(tmp_path)
    assert_is_the_shop(v)
    assert [s.name for s in v.list("Service", "shop")] == ["web"]
    assert v.log("shop", CRASHING, "web", previous=False, tail=0) == CRASH_LOG
    assert v.log("shop", RUNNING, "web", previous=False, tail=0) == RUNNING_LOG


def test_events_k8s_io_v1_are_normalised_to_core_events(tmp_path: Path) -> None:
    path = tmp_path / "events.yaml"
    converted = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": f"{CRASHING}.17d7a1c5f4a5b6c7", "namespace": "shop", "uid": "e-1"},
        "eventTime": None,
        "reason": "BackOff",
        "regarding": {
            "apiVersion": "v1",
            "kind": "Pod",
            "name": CRASHING,
            "namespace": "shop",
            "uid": CRASHING_UID,
        },
        "note": "Back-off restarting failed container web in pod web-7d4b9c8f6d-q8l5m_shop",
        "type": "Warning",
        "deprecatedCount": 23,
        "deprecatedFirstTimestamp": "2024-06-11T09:41:12Z",
        "deprecatedLastTimestamp": "2024-06-11T10:04:55Z",
        "deprecatedSource": {"component": "kubelet", "host": "node-b"},
        "reportingController": "kubelet",
        "reportingInstance": "node-b",
    }
    new_style = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": "report.17d7a4e0", "namespace": "shop", "uid": "e-2"},
        "eventTime": "2024-06-11T10:01:10.123456Z",
        "series": {"count": 3, "lastObservedTime": "2024-06-11T10:01:11.654321Z"},
        "action": "Scheduling",
        "reason": "FailedScheduling",
        "regarding": {"apiVersion": "v1", "kind": "Pod", "name": "report", "namespace": "shop", "uid": "r-0"},
        "note": "0/3 nodes are available: 3 Insufficient cpu.",
        "type": "Warning",
        "reportingController": "default-scheduler",
        "reportingInstance": "default-scheduler-control-plane",
    }
    path.write_text(yaml.safe_dump_all([*pods(), converted, new_style]))
    v = view(path)
    crashing = v.get("Pod", "shop", CRASHING)
    assert crashing is not None
    [ev] = v.events(crashing)
    assert ev.text("apiVersion") == "v1"
    assert ev.text("involvedObject", "uid") == CRASHING_UID
    assert ev.text("message").startswith("Back-off restarting failed container web")
    assert (ev.num("count"), ev.text("lastTimestamp")) == (23, "2024-06-11T10:04:55Z")
    assert (ev.text("source", "component"), ev.text("source", "host")) == ("kubelet", "node-b")
    scheduling = next(e for e in v.list("Event") if e.text("reason") == "FailedScheduling")
    assert scheduling.num("count") == 3
    assert scheduling.text("lastTimestamp") == "2024-06-11T10:01:11.654321Z"
    assert scheduling.text("firstTimestamp") == "2024-06-11T10:01:10.123456Z"
    assert scheduling.text("source", "component") == "default-scheduler"
    assert scheduling.text("reportingComponent") == "default-scheduler"


def test_pod_log_documents(tmp_path: Path) -> None:
    v = view(BASIC)
    previous = v.log("shop", CRASHING, "web", previous=True, tail=1)
    assert previous == "2024-06-11T10:02:41.005Z FATAL cannot start without a database, exiting with status 1"
    assert v.log("shop", CRASHING, "web", previous=False) is None
    current = v.log("shop", RUNNING, "web", previous=False)
    assert current is not None and len(current.splitlines()) == 4


def test_several_paths_add_up(tmp_path: Path) -> None:
    (tmp_path / "svc.json").write_text(json.dumps(docs("service.yaml")[0]))
    v = view(BASIC / "pods.yaml", BASIC / "events.yaml", tmp_path / "svc.json")
    assert_is_the_shop(v)
    assert v.get("Service", "shop", "web") is not None


# -- bad snapshots --------------------------------------------------------------------------

BAD_CASES: dict[str, tuple[str, Callable[[Path], Path], str]] = {}


def bad(name: str, expect: str) -> Callable[[Callable[[Path], Path]], Callable[[Path], Path]]:
    def register(make: Callable[[Path], Path]) -> Callable[[Path], Path]:
        BAD_CASES[name] = (name, make, expect)
        return make

    return register


@bad("yaml-syntax", "bad.yaml:4: mapping values are not allowed")
def _bad_yaml(tmp: Path) -> Path:
    path = tmp / "bad.yaml"
    path.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web: 1\n")
    return path


@bad("json-syntax", "bad.json:4: Expecting ',' delimiter")
def _bad_json(tmp: Path) -> Path:
    path = tmp / "bad.json"
    path.write_text('{\n    "kind": "Pod",\n    "metadata": {"name": "x"}\n    "spec": {}\n}\n')
    return path


@bad("missing", "nope.yaml: no such file or directory")
def _missing(tmp: Path) -> Path:
    return tmp / "nope.yaml"


@bad("empty-folder", "empty: no .yaml, .yml or .json files in this folder")
def _empty_folder(tmp: Path) -> Path:
    (tmp / "empty").mkdir()
    return tmp / "empty"


@bad("empty-file", "empty.yaml: no Kubernetes objects or logs in it")
def _empty_file(tmp: Path) -> Path:
    path = tmp / "empty.yaml"
    path.write_text("# nothing here\n")
    return path


@bad("helm-values", "values.yaml:5: a document has no `kind`")
def _values(tmp: Path) -> Path:
    path = tmp / "values.yaml"
    path.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: b}\n---\nreplicaCount: 2\n"
    )
    return path


@bad("a-yaml-list", "list.yaml:1: expected Kubernetes objects")
def _yaml_list(tmp: Path) -> Path:
    path = tmp / "list.yaml"
    path.write_text("- one\n- two\n")
    return path


@bad("json-numbers", "numbers.json:1: expected Kubernetes objects")
def _json_numbers(tmp: Path) -> Path:
    path = tmp / "numbers.json"
    path.write_text("[1, 2, 3]\n")
    return path


@bad("a-kubeconfig", "config.yaml:1: a `Config` without metadata.name is not an object from the API")
def _kubeconfig(tmp: Path) -> Path:
    path = tmp / "config.yaml"
    path.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    return path


@bad("binary", "blob.json: not a text file")
def _binary(tmp: Path) -> Path:
    path = tmp / "blob.json"
    path.write_bytes(b"\xff\xfe\x00{\x89PNG")
    return path


@pytest.fixture(params=sorted(BAD_CASES), ids=sorted(BAD_CASES))
def bad_snapshot(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    _, make, expect = BAD_CASES[request.param]
    yield make(tmp_path), expect


def test_bad_snapshots_raise_snapshot_error_naming_file_and_line(bad_snapshot: tuple[Path, str]) -> None:
    path, expect = bad_snapshot
    with pytest.raises(SnapshotError) as caught:
        Snapshot.load([path])
    where_detail = f"{caught.value.cluster}: {caught.value.detail}"
    assert where_detail.startswith(str(path.parent) + "/")
    assert expect in where_detail
    assert "\n" not in where_detail


def question(text: str) -> str:
    verb = text.split(maxsplit=1)[0]
    if verb not in VERBS:
        pytest.skip(f"the `{verb}` verb has not landed yet")
    return text


@pytest.mark.parametrize("asked", ["why x", "exit 137"])
def test_a_bad_snapshot_on_the_cli_is_exit_1_and_one_line(bad_snapshot: tuple[Path, str], asked: str) -> None:
    # The snapshot is read when the cluster is opened, before any verb runs: any question shows it.
    path, expect = bad_snapshot
    run = run_cli("ask", question(asked), "--snapshot", str(path))
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert expect in lines[0]
    assert "Traceback" not in run.stderr


def test_a_bad_snapshot_in_json_format_is_one_json_object(tmp_path: Path) -> None:
    path = _bad_yaml(tmp_path)
    run = run_cli("ask", question("exit 137"), "--snapshot", str(path), "--format", "json")
    assert run.returncode == 1
    answer = json.loads(run.stdout)
    assert answer["error"]["type"] == "SnapshotError"
    assert f"{path}:4" in answer["error"]["message"]
