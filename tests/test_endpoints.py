"""`endpoints <service>` (alias `service`): which pods back a Service and why the others do not.

Every case runs twice through the CLI: on the snapshot file, and on the fake Kubernetes API server
serving the same objects (the live path through the real `kubernetes` client).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.catalogue import entries
from handlers import endpoints
from handlers.model import Severity
from tests import traffic
from tests.conftest import ROOT
from tests.fakes.kube_api import FakeKube
from tests.traffic import Asker, answer, codes, finding

ask = traffic.ask  # the shared fixture: each case from the snapshot and through the fake API


def text_of(f: dict[str, Any]) -> str:
    return "\n".join([f["title"], f["detail"], *f["evidence"], *f["next_steps"]])


# -- the selector matches nothing ---------------------------------------------------------------


def test_selector_typo_shows_the_closest_pods_and_the_differing_label(ask: Asker) -> None:
    data = answer(ask("selector-typo", "endpoints web -n shop"))
    assert data["target"] == {"kind": "Service", "namespace": "shop", "name": "web"}
    assert data["status"] == "ClusterIP 10.96.14.20 <none> 80/TCP"
    assert codes(data) == ["SVC-BACKENDS", "SVC-NO-MATCHING-PODS"]
    f = finding(data, "SVC-NO-MATCHING-PODS")
    assert f["severity"] == "error"
    assert "app: myapp" in f["title"] and "app: my-app" in f["title"]
    assert "shop/my-app-5f8b9c7d64-4mpcm: app: myapp (selector: app: my-app)" in f["evidence"]
    # Pods with exactly the selector's labels run in another namespace: said, not selected.
    assert any(e.startswith("staging/my-app-6c4d8f7b95-") for e in f["evidence"])
    assert "staging" in f["detail"]
    assert "kubectl -n shop get pods -l app=my-app" in f["next_steps"]
    assert 'kubectl -n shop patch service web -p \'{"spec":{"selector":{"app":"myapp"}}}\'' in f["next_steps"]
    assert finding(data, "SVC-BACKENDS")["title"] == "shop/web: no endpoints"


def test_selector_miss_reads_the_namespace_and_the_selector_elsewhere(fake_kube: FakeKube) -> None:
    data = answer(Asker(fake_kube)("selector-typo", "endpoints web -n shop"))
    assert "SVC-NO-MATCHING-PODS" in codes(data)
    pods = [r for r in fake_kube.requests if r.path.endswith("/pods")]
    # by the selector in shop, the whole of shop for near misses, the selector in all namespaces
    assert [(r.path, r.query.get("labelSelector")) for r in pods] == [
        ("/api/v1/namespaces/shop/pods", "app=my-app"),
        ("/api/v1/namespaces/shop/pods", None),
        ("/api/v1/pods", "app=my-app"),
    ]
    assert len(fake_kube.requests) == 5


# -- pods match but are not ready ---------------------------------------------------------------


def test_not_ready_pods_are_named_with_their_readiness_probe_failures(ask: Asker) -> None:
    data = answer(ask("not-ready", "endpoints checkout -n shop"))
    assert codes(data)[:2] == ["SVC-BACKENDS", "SVC-PODS-NOT-READY"]
    summary = finding(data, "SVC-BACKENDS")
    assert summary["title"] == "shop/checkout: 1 of 3 endpoints ready"
    f = finding(data, "SVC-PODS-NOT-READY")
    assert f["severity"] == "warning"  # one pod still takes the traffic
    assert "checkout-6d8f7b9c4-qv9qz" in f["title"] and "checkout-6d8f7b9c4-t6f9x" in f["title"]
    assert "  Ready=False ContainersNotReady: containers with unready status: [app]" in f["evidence"]
    # The pod diagnosis of `why` follows, one per not-ready pod, quoting the probe and its events.
    diagnosed = [g for g in data["findings"] if g["code"] == "POD-READINESS-FAILED"]
    assert [g["title"].split(" ")[2] for g in diagnosed] == [
        "shop/checkout-6d8f7b9c4-qv9qz",
        "shop/checkout-6d8f7b9c4-t6f9x",
    ]
    assert any(
        "Readiness probe failed: HTTP probe failed with statuscode: 503" in e
        for e in diagnosed[0]["evidence"]
    )
    # Next steps with real names: the Service, its ClusterIP, a ready pod's IP and port.
    assert summary["next_steps"] == [
        "kubectl -n shop get endpointslices -l kubernetes.io/service-name=checkout",
        "kubectl -n shop port-forward svc/checkout 8080:80",
        "kubectl -n shop run tmp-curl --rm -it --image=curlimages/curl --restart=Never -- curl -sv http://10.96.20.5:80/",
        "kubectl -n shop run tmp-curl --rm -it --image=curlimages/curl --restart=Never -- curl -sv http://10.244.1.30:8080/",
    ]
    if ask.kube:  # Service, slices, pods by selector, then events + node of each diagnosed pod
        assert ask.requests == 7


def test_terminating_endpoints_say_which_still_serve(ask: Asker) -> None:
    data = answer(ask("terminating", "endpoints cart -n shop"))
    f = finding(data, "SVC-TERMINATING-ENDPOINTS")
    assert f["severity"] == "warning"  # nothing ready is left
    assert "cart-9c8d7b6f45-6wf72" in f["title"] and "cart-9c8d7b6f45-w2rzb" in f["title"]
    assert "(1 does)" in f["detail"]
    assert (
        "10.244.1.110:8080 cart-9c8d7b6f45-6wf72 terminating, serving (node-a, eu-west-1a)" in f["evidence"]
    )
    assert "SVC-PODS-NOT-READY" not in codes(data)


# -- targetPort resolution ---------------------------------------------------------------------


def test_named_target_port_missing_on_some_pods_leaves_them_out(ask: Asker) -> None:
    data = answer(ask("named-port-missing", "endpoints api -n shop"))
    assert finding(data, "SVC-BACKENDS")["title"] == "shop/api: 2 of 3 endpoints ready"
    f = finding(data, "SVC-TARGETPORT-NAME-MISSING")
    assert f["severity"] == "warning"  # 1 of 3 pods
    assert "`http`" in f["title"] and "1 of 3 pods" in f["title"]
    assert f["evidence"] == ["api-5b6c7d8f9-jdsps declares: api 8080/TCP (web)"]
    assert (
        "10.244.3.52 api-5b6c7d8f9-jdsps ready, no port (node-c, eu-west-1c)"
        in finding(data, "SVC-BACKENDS")["evidence"]
    )


def test_numeric_target_port_not_declared_is_a_warning(ask: Asker) -> None:
    data = answer(ask("targetport-number", "endpoints payments -n shop"))
    f = finding(data, "SVC-TARGETPORT-NOT-DECLARED")
    assert f["severity"] == "warning"
    assert "targetPort 8000" in f["title"] and "8080, 9102" in f["title"]
    assert "does not require a containerPort" in f["detail"]
    assert "kubectl -n shop port-forward pod/payments-84f9b7c6d5-sdxc5 :8000" in f["next_steps"]
    assert finding(data, "SVC-BACKENDS")["title"] == "shop/payments: 2 of 2 endpoints ready"


def test_named_port_with_another_protocol_drops_every_pod(ask: Asker) -> None:
    data = answer(ask("protocol-mismatch", "endpoints dns-cache -n infra"))
    assert data["status"] == "ClusterIP 10.96.40.10 <none> 53/UDP"
    f = finding(data, "SVC-PORT-PROTOCOL-MISMATCH")
    assert f["severity"] == "error"
    assert "UDP" in f["title"] and "as TCP" in f["title"]
    summary = finding(data, "SVC-BACKENDS")
    assert summary["title"] == "infra/dns-cache: 0 of 2 endpoints ready"
    # port-forward and curl test TCP only: not offered for a UDP port
    assert summary["next_steps"] == [
        "kubectl -n infra get endpointslices -l kubernetes.io/service-name=dns-cache"
    ]


# -- Services without pods behind them ------------------------------------------------------------


def test_service_without_selector_lists_its_hand_made_endpoints(ask: Asker) -> None:
    data = answer(ask("no-selector", "endpoints legacy-db -n shop"))
    assert codes(data) == ["SVC-BACKENDS", "SVC-NO-SELECTOR"]
    f = finding(data, "SVC-NO-SELECTOR")
    assert "2 ready endpoints" in f["title"]
    assert "legacy-db-7bqzm" in f["detail"] and "mirrored" in f["detail"]
    summary = finding(data, "SVC-BACKENDS")
    assert "10.20.0.15:5432 ready" in summary["evidence"]
    # not HTTP: a plain TCP connect; and no port-forward (kubectl needs a selector for svc/)
    assert summary["next_steps"][1:] == [
        "kubectl -n shop run tmp-curl --rm -it --image=curlimages/curl --restart=Never -- "
        "curl -v --max-time 5 telnet://10.96.50.3:5432",
        "kubectl -n shop run tmp-curl --rm -it --image=curlimages/curl --restart=Never -- "
        "curl -v --max-time 5 telnet://10.20.0.15:5432",
    ]


def test_service_without_selector_or_endpoints_goes_nowhere(ask: Asker) -> None:
    data = answer(ask("no-selector-empty", "endpoints reports -n shop"))
    assert codes(data) == ["SVC-BACKENDS", "SVC-NO-SELECTOR-NO-ENDPOINTS"]
    assert finding(data, "SVC-NO-SELECTOR-NO-ENDPOINTS")["severity"] == "error"


def test_externalname_is_a_cname_with_no_endpoints(ask: Asker) -> None:
    data = answer(ask("externalname", "endpoints billing -n shop"))
    assert data["status"] == "ExternalName <none> billing.example.net 443/TCP"
    assert codes(data) == ["SVC-EXTERNALNAME"]
    f = finding(data, "SVC-EXTERNALNAME")
    assert "billing.example.net" in f["title"]
    assert "billing.shop.svc.cluster.local" in f["detail"]
    if ask.kube:  # the Service only: no endpoints are expected, none are read
        assert ask.requests == 1


# -- kinds of Services -------------------------------------------------------------------------


def test_headless_service_publishing_not_ready_pods(ask: Asker) -> None:
    data = answer(ask("headless", "endpoints es -n logging"))
    assert data["status"] == "ClusterIP None <none> 9200/TCP,9300/TCP"
    assert {"SVC-HEADLESS", "SVC-PUBLISH-NOT-READY"} <= set(codes(data))
    f = finding(data, "SVC-PUBLISH-NOT-READY")
    assert "es-1" in f["detail"] and "receives" in f["detail"]
    assert "es-1: 0/1 Running, restarts 0, node node-b, IP 10.244.2.81" in f["evidence"]
    summary = finding(data, "SVC-BACKENDS")
    assert summary["title"] == "logging/es: 2 of 2 endpoints ready"
    assert not any("10.96." in s for s in summary["next_steps"])  # no ClusterIP to curl
    assert "nslookup es.logging.svc.cluster.local" in "\n".join(finding(data, "SVC-HEADLESS")["next_steps"])


def test_load_balancer_pending_and_client_ip_affinity(ask: Asker) -> None:
    data = answer(ask("lb-pending", "endpoints storefront -n shop"))
    assert data["status"] == "LoadBalancer 10.96.60.12 <pending> 80:31380/TCP"
    assert finding(data, "SVC-LB-PENDING")["severity"] == "warning"
    assert "no events" in finding(data, "SVC-LB-PENDING")["detail"]
    assert "10800s" in finding(data, "SVC-SESSION-AFFINITY")["title"]
    assert "port http 80/TCP -> targetPort http, nodePort 31380" in finding(data, "SVC-BACKENDS")["evidence"]


def test_falls_back_to_v1_endpoints_without_slices(ask: Asker) -> None:
    data = answer(ask("no-slices", "endpoints search -n shop"))
    assert {"SVC-PODS-NOT-READY", "SVC-ENDPOINTS-FALLBACK"} <= set(codes(data))
    summary = finding(data, "SVC-BACKENDS")
    assert summary["title"] == "shop/search: 1 of 2 endpoints ready"
    assert "10.244.2.101:7700 search-5d9b8c7f46-pbgft not ready (node-b)" in summary["evidence"]
    assert "search-5d9b8c7f46-pbgft" in finding(data, "SVC-PODS-NOT-READY")["title"]
    if ask.kube:
        assert ask.kube.received("GET", "/api/v1/namespaces/shop/endpoints/search") == 1


def test_truncated_endpoints(ask: Asker) -> None:
    data = answer(ask("truncated", "endpoints ws-gateway -n edge"))
    assert finding(data, "SVC-ENDPOINTS-TRUNCATED")["severity"] == "warning"
    summary = finding(data, "SVC-BACKENDS")
    assert summary["title"] == "edge/ws-gateway: 1000 of 1000 endpoints ready"
    assert summary["evidence"][-1] == "... 990 more"
    assert "SVC-NO-MATCHING-PODS" not in codes(data)  # the snapshot has no pods, the Endpoints say enough


# -- the question itself --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["service checkout -n shop", "svc shop/checkout", "endpoints svc/checkout -n shop"]
)
def test_spellings_of_the_question(query: str) -> None:
    data = answer(Asker(None)("not-ready", query))
    assert data["verb"] == "endpoints"
    assert data["target"]["name"] == "checkout"


def test_misspelt_service_gets_did_you_mean() -> None:
    run = Asker(None)("not-ready", "endpoints chekout -n shop")
    assert run.returncode == 1
    assert "checkout" in run.stderr


def test_no_service_name_is_a_usage_error() -> None:
    run = Asker(None)("not-ready", "endpoints")
    assert run.returncode == 2


def test_text_answer_reads_as_steps(ask: Asker) -> None:
    run = ask("not-ready", "endpoints checkout -n shop", fmt="text")
    assert run.returncode == 0, run.stderr
    assert "[warning] 2 of 3 pods behind shop/checkout are not ready" in run.stdout
    assert "  > kubectl -n shop port-forward svc/checkout 8080:80" in run.stdout


# -- the catalogue and the code agree -------------------------------------------------------------


def test_every_svc_code_is_in_the_catalogue_with_the_severity_the_code_assumes() -> None:
    source = (ROOT / "handlers" / "endpoints.py").read_text(encoding="utf-8")
    catalogue = {code: e for code, e in entries().items() if code.startswith("SVC-")}
    assert set(re.findall(r'"(SVC-[A-Z-]+)"', source)) == set(catalogue)
    for code, entry in catalogue.items():
        assert endpoints._DEFAULT_SEVERITY.get(code, Severity.INFO) == entry.severity, code
