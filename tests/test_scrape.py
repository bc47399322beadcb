"""`scrape <pod|service|workload>`: the prometheus.io/* annotations, the target they make, and the
usual mistakes. Every case runs on the snapshot file and through the fake Kubernetes API server.
"""

from __future__ import annotations

import re

from bot.catalogue import entries
from tests import traffic
from tests.conftest import ROOT
from tests.traffic import Asker, answer, codes, finding

ask = traffic.ask  # the shared fixture: each case from the snapshot and through the fake API

EXPORTER = "redis-exporter-7b6d5c9f84-d7j4f"
WORKER = "worker-5f4c8b9d76-knqsk"
API_POD = "api-6c7b8d9f45-bh6l6"
QUEUE = "queue-9d8c7b6f54-tgmzr"


def test_correct_pod_annotations_give_the_target_url(ask: Asker) -> None:
    data = answer(ask("scrape", f"scrape {EXPORTER} -n wiseco"))
    assert data["target"] == {"kind": "Pod", "namespace": "wiseco", "name": EXPORTER}
    assert codes(data) == ["SCRAPE-TARGET", "SCRAPE-CONVENTION"]
    f = finding(data, "SCRAPE-TARGET")
    assert f["title"] == f"Pod wiseco/{EXPORTER} is scraped at http://10.244.1.130:9121/metrics"
    assert f["evidence"] == [f"{EXPORTER}: http://10.244.1.130:9121/metrics"]
    convention = finding(data, "SCRAPE-CONVENTION")
    assert "not a Prometheus feature" in convention["title"]
    assert "relabel_configs" in convention["detail"]
    if ask.kube:  # the pod, and the namespace's Services (is it scraped through one too?)
        assert ask.requests == 2


def test_annotations_on_the_deployment_instead_of_the_template(ask: Asker) -> None:
    data = answer(ask("scrape", "scrape deploy/api -n wiseco"))
    assert codes(data) == ["SCRAPE-ON-WORKLOAD", "SCRAPE-CONVENTION"]
    f = finding(data, "SCRAPE-ON-WORKLOAD")
    assert f["title"] == "The scrape annotations are on Deployment wiseco/api itself, not on its pod template"
    assert "Deployment metadata.annotations: prometheus.io/scrape: true" in f["evidence"]
    assert "once on the template, api-6c7b8d9f45-bh6l6: http://10.244.1.131:9090/metrics" in f["evidence"]


def test_a_pod_of_that_deployment_finds_the_misplaced_annotations(ask: Asker) -> None:
    data = answer(ask("scrape", f"scrape {API_POD} -n wiseco"))
    assert codes(data) == ["SCRAPE-ON-WORKLOAD", "SCRAPE-CONVENTION"]
    if ask.kube:  # pod, its ReplicaSet, its Deployment, the Services
        assert ask.kube.received("GET", "/apis/apps/v1/namespaces/wiseco/replicasets/api-6c7b8d9f45") == 1
        assert ask.kube.received("GET", "/apis/apps/v1/namespaces/wiseco/deployments/api") == 1
        assert ask.requests == 4


def test_the_usual_mistakes_on_one_pod(ask: Asker) -> None:
    data = answer(ask("scrape", f"scrape {WORKER} -n wiseco"))
    assert codes(data) == [
        "SCRAPE-VALUE-NOT-TRUE",
        "SCRAPE-PORT-NAME",
        "SCRAPE-TARGET",
        "SCRAPE-PATH-NO-SLASH",
        "SCRAPE-SCHEME-INVALID",
        "SCRAPE-CONVENTION",
    ]
    value = finding(data, "SCRAPE-VALUE-NOT-TRUE")
    assert "`True`" in value["title"]
    assert "YAML boolean" in value["detail"]
    assert value["next_steps"] == [
        "kubectl -n wiseco patch deployment worker --type=merge -p "
        '\'{"spec":{"template":{"metadata":{"annotations":{"prometheus.io/scrape":"true"}}}}}\''
    ]
    assert 'use "9100"' in finding(data, "SCRAPE-PORT-NAME")["detail"]
    target = finding(data, "SCRAPE-TARGET")
    assert "would be scraped" in target["title"]
    # a port name is ignored: the pod role's own targets, one per declared port; https ignored too
    assert target["evidence"] == [
        f"{WORKER}: http://10.244.3.133:8080/metrics",
        f"{WORKER}: http://10.244.3.133:9100/metrics",
    ]
    assert "/metrics" in finding(data, "SCRAPE-PATH-NO-SLASH")["detail"]
    assert "`HTTPS`" in finding(data, "SCRAPE-SCHEME-INVALID")["title"]


def test_service_annotations_scrape_the_endpoints_and_double_with_the_pods(ask: Asker) -> None:
    data = answer(ask("scrape", "scrape billing -n wiseco"))
    assert data["target"]["kind"] == "Service"
    assert codes(data) == ["SCRAPE-TARGET", "SCRAPE-BOTH-LEVELS", "SCRAPE-CONVENTION"]
    target = finding(data, "SCRAPE-TARGET")
    assert "endpoints`-role job" in target["detail"]
    assert sorted(e.split(": ")[1] for e in target["evidence"]) == [
        "http://10.244.1.134:8080/metrics",
        "http://10.244.2.135:8080/metrics",
    ]
    assert "twice" in finding(data, "SCRAPE-BOTH-LEVELS")["detail"]


def test_misspelt_key_on_the_pod_and_the_service_that_does_scrape_it(ask: Asker) -> None:
    data = answer(ask("scrape", f"scrape {QUEUE} -n wiseco"))
    assert codes(data) == ["SCRAPE-ANNOTATION-TYPO", "SCRAPE-SERVICE-LEVEL", "SCRAPE-CONVENTION"]
    typo = finding(data, "SCRAPE-ANNOTATION-TYPO")
    assert "`prometheus.io/scrap`" in typo["title"] and "`prometheus.io/scrape`" in typo["title"]
    assert "queue-metrics" in finding(data, "SCRAPE-SERVICE-LEVEL")["title"]


def test_nothing_annotated(ask: Asker) -> None:
    data = answer(ask("ingress-ok", "scrape cart -n shop"))
    assert codes(data) == ["SCRAPE-NOT-ANNOTATED", "SCRAPE-CONVENTION"]
    assert (
        finding(data, "SCRAPE-NOT-ANNOTATED")["title"]
        == "Service shop/cart has no prometheus.io/scrape annotation"
    )


def test_unknown_name_is_not_found() -> None:
    run = Asker(None)("scrape", "scrape biling -n wiseco")
    assert run.returncode == 1
    assert "billing" in run.stderr


def test_scrape_needs_an_argument() -> None:
    assert Asker(None)("scrape", "scrape").returncode == 2


def test_every_scrape_code_is_in_the_catalogue_and_used() -> None:
    source = (ROOT / "handlers" / "scrape.py").read_text(encoding="utf-8")
    catalogue = {code for code in entries() if code.startswith("SCRAPE-")}
    assert set(re.findall(r'"(SCRAPE-[A-Z-]+)"', source)) == catalogue


def test_port_annotation_no_container_declares(ask: Asker) -> None:
    data = answer(ask("scrape", "scrape memcached-6f9c8d7b45-76qtd -n wiseco"))
    assert codes(data) == ["SCRAPE-TARGET", "SCRAPE-PORT-UNDECLARED", "SCRAPE-CONVENTION"]
    f = finding(data, "SCRAPE-PORT-UNDECLARED")
    assert f["severity"] == "warning"
    assert "9105" in f["title"] and "(9150, 11211)" in f["title"]
    assert "kubectl -n wiseco port-forward pod/memcached-6f9c8d7b45-76qtd :9105" in f["next_steps"]


def test_explicit_opt_out(ask: Asker) -> None:
    data = answer(ask("scrape", "scrape batch-5c9d8f7b64-nsbw2 -n wiseco"))
    assert codes(data) == ["SCRAPE-DISABLED", "SCRAPE-CONVENTION"]
    assert finding(data, "SCRAPE-DISABLED")["title"].startswith("Pod wiseco/batch-5c9d8f7b64-nsbw2 opts out")
