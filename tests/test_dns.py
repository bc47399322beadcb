"""`dns <service> [<ordinal>]` and `dns <pod>`: every DNS form, offline and on snapshots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLE, FIXTURES, clean_env, run_cli
from tests.fakes.kube_api import FakeKube

DNS = FIXTURES / "dns"
SNAPSHOT = str(DNS / "cluster")


def ask(query: str, *extra: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    run = run_cli("ask", query, "--format", "json", *extra, env=env)
    assert run.returncode == 0, run.stderr
    answer: dict[str, Any] = run.json()
    return answer


def snap(query: str) -> dict[str, Any]:
    return ask(query, "--snapshot", SNAPSHOT)


def codes(answer: dict[str, Any]) -> list[str]:
    return [f["code"] for f in answer["findings"]]


def finding(answer: dict[str, Any], code: str) -> dict[str, Any]:
    found = [f for f in answer["findings"] if f["code"] == code]
    assert found, f"{code} not in {codes(answer)}"
    return found[0]


# -- offline ------------------------------------------------------------------------------------


def test_offline_statefulset_pod_name() -> None:
    answer = ask("dns redis-cluster 0 -n wiseco")
    assert codes(answer) == ["DNS-STS-POD-NAME", "DNS-SERVICE-SRV", "DNS-NOT-CHECKED", "DNS-SEARCH"]
    name = answer["findings"][0]
    assert name["title"] == "redis-cluster-0.redis-cluster.wiseco.svc.cluster.local"
    assert "assumes the StatefulSet is named redis-cluster" in name["detail"]
    srv = finding(answer, "DNS-SERVICE-SRV")
    assert "`_<port-name>._tcp.redis-cluster.wiseco.svc.cluster.local`" in srv["title"]
    checks = finding(answer, "DNS-NOT-CHECKED")["detail"]
    assert "headless (clusterIP: None)" in checks and "ordinal 0" in checks
    search = finding(answer, "DNS-SEARCH")["detail"]
    assert "ndots:5" in search and "`redis-cluster.wiseco`" in search
    assert answer["notes"] == ["No cluster or snapshot given: answered from knowledge only."]


def test_offline_service_assumes_default_namespace() -> None:
    answer = ask("dns web")
    assert answer["target"] == {"kind": "Service", "namespace": "default", "name": "web"}
    assert answer["findings"][0]["title"] == "web.default.svc.cluster.local → the Service's cluster IP"
    assert "`default` is assumed" in finding(answer, "DNS-NOT-CHECKED")["detail"]


@pytest.mark.parametrize("query", ["dns", "dns web -1", "dns web one", "dns web 0 1", "dns deploy/web"])
def test_usage_errors(query: str) -> None:
    run = run_cli("ask", query)
    assert run.returncode == 2, run.stdout
    assert "Traceback" not in run.stderr


# -- Services -------------------------------------------------------------------------------------


def test_clusterip_service_a_and_srv() -> None:
    answer = snap("dns web -n shop")
    assert codes(answer) == ["DNS-SERVICE-A", "DNS-SERVICE-SRV", "DNS-SEARCH"]
    a, srv, _ = answer["findings"]
    assert a["title"] == "web.shop.svc.cluster.local → 10.96.142.17"
    assert a["evidence"] == ["web.shop.svc.cluster.local A 10.96.142.17"]
    assert "resolves even when no pod is ready" in a["detail"]
    assert srv["evidence"] == ["_http._tcp.web.shop.svc.cluster.local SRV 80 web.shop.svc.cluster.local"]


def test_unnamed_port_gets_no_srv() -> None:
    srv = finding(snap("dns web-metrics -n shop"), "DNS-SERVICE-SRV")
    assert srv["title"] == "No SRV records: no port of shop/web-metrics has a name"
    assert "Port 9090 has no name, so no SRV record." in srv["detail"]
    assert srv["evidence"] == []


def test_loadbalancer_service_has_a_record_too() -> None:
    a = snap("dns web-public -n shop")["findings"][0]
    assert a["title"] == "web-public.shop.svc.cluster.local → 10.96.142.99"
    assert "a LoadBalancer Service is no exception" in a["detail"]


def test_externalname_is_cname_without_srv() -> None:
    answer = snap("dns payments -n shop")
    assert codes(answer) == ["DNS-EXTERNALNAME", "DNS-SEARCH"]
    f = answer["findings"][0]
    assert f["title"] == "payments.shop.svc.cluster.local is a CNAME for api.payments.example.com"
    assert f["evidence"] == ["payments.shop.svc.cluster.local CNAME api.payments.example.com"]


def test_externalname_with_ip_warns() -> None:
    answer = snap("dns legacy-db -n shop")
    assert codes(answer)[:2] == ["DNS-EXTERNALNAME", "DNS-EXTERNALNAME-IP"]
    assert answer["findings"][1]["severity"] == "warning"


def test_headless_with_ready_endpoints_lists_a_records_hostnames_and_srv() -> None:
    answer = snap("dns redis-cluster -n wiseco")
    assert codes(answer) == ["DNS-HEADLESS", "DNS-SERVICE-SRV", "DNS-SEARCH"]
    h = answer["findings"][0]
    assert h["title"] == "redis-cluster.wiseco.svc.cluster.local (headless) → 2 ready addresses"
    assert h["evidence"] == [
        "redis-cluster.wiseco.svc.cluster.local A 10.244.1.21 (pod redis-cluster-0)",
        "redis-cluster.wiseco.svc.cluster.local A 10.244.2.22 (pod redis-cluster-1)",
        "redis-cluster-0.redis-cluster.wiseco.svc.cluster.local A 10.244.1.21",
        "redis-cluster-1.redis-cluster.wiseco.svc.cluster.local A 10.244.2.22",
    ]
    assert "1 not-ready endpoint is left out" in h["detail"]
    srv = answer["findings"][1]
    assert len(srv["evidence"]) == 4  # 2 named ports x 2 ready endpoints
    assert "_tcp-redis-bus._tcp.redis-cluster.wiseco.svc.cluster.local SRV 16379 " in srv["evidence"][2]


def test_headless_without_ready_endpoint_is_nxdomain() -> None:
    answer = snap("dns checkout-peers -n shop")
    f = answer["findings"][0]
    assert f["code"] == "DNS-HEADLESS-NXDOMAIN"
    assert f["severity"] == "error"
    assert "1 endpoint exists but none is ready, and publishNotReadyAddresses is off" in f["detail"]
    assert f["evidence"] == [
        "EndpointSlice checkout-peers-w2x8p: 10.244.2.60 ready=false (pod checkout-6f9d8b7c5d-n4t2w)"
    ]
    assert "kubectl -n shop get pods -l app=checkout -o wide" in f["next_steps"]


def test_headless_without_selector_is_nxdomain() -> None:
    f = snap("dns external-peers -n shop")["findings"][0]
    assert f["code"] == "DNS-HEADLESS-NXDOMAIN"
    assert "It has no selector" in f["detail"]


def test_publish_not_ready_addresses_publishes_unready_pod() -> None:
    answer = snap("dns pg -n data")
    h = answer["findings"][0]
    assert h["title"] == "pg.data.svc.cluster.local (headless) → 2 ready addresses"
    assert "publishNotReadyAddresses is on" in h["detail"]
    pod2 = snap("dns pg 2 -n data")["findings"][0]
    assert pod2["title"] == "pg-2.pg.data.svc.cluster.local → 10.244.1.32"


def test_service_not_headless_governing_statefulset() -> None:
    answer = snap("dns cache -n shop")
    assert "DNS-SERVICE-NOT-HEADLESS" in codes(answer)
    f = finding(answer, "DNS-SERVICE-NOT-HEADLESS")
    assert "StatefulSet cache names it as spec.serviceName" in f["detail"]


# -- StatefulSet ordinals --------------------------------------------------------------------------


def test_statefulset_pod_resolves() -> None:
    answer = snap("dns redis-cluster 0 -n wiseco")
    assert codes(answer) == ["DNS-STS-POD-NAME", "DNS-HEADLESS", "DNS-SERVICE-SRV", "DNS-SEARCH"]
    name = answer["findings"][0]
    assert name["title"] == "redis-cluster-0.redis-cluster.wiseco.svc.cluster.local → 10.244.1.21"
    assert name["severity"] == "info"
    assert name["evidence"] == [
        "EndpointSlice redis-cluster-7xq2m: 10.244.1.21 hostname=redis-cluster-0 ready=true"
        " (pod redis-cluster-0)"
    ]
    assert name["next_steps"] == [
        "kubectl -n wiseco run dnscheck --rm -it --restart=Never --image=busybox:1.36 -- "
        "nslookup redis-cluster-0.redis-cluster.wiseco.svc.cluster.local"
    ]
    assert answer["notes"] == [
        "Answered from a snapshot taken around 2026-11-25 09:59 UTC; ages are relative to that time."
    ]


def test_statefulset_pod_not_ready() -> None:
    answer = snap("dns redis-cluster 2 -n wiseco")
    assert codes(answer)[:2] == ["DNS-STS-POD-NAME", "DNS-POD-NOT-READY"]
    assert (
        answer["findings"][0]["title"]
        == "redis-cluster-2.redis-cluster.wiseco.svc.cluster.local will not resolve"
    )
    assert answer["findings"][0]["severity"] == "error"
    assert "NXDOMAIN until it is" in answer["findings"][1]["title"]


def test_statefulset_ordinal_beyond_replicas() -> None:
    answer = snap("dns redis-cluster 3 -n wiseco")
    f = finding(answer, "DNS-STS-ORDINAL-OUT-OF-RANGE")
    assert f["title"] == (
        "Ordinal 3 is outside StatefulSet wiseco/redis-cluster:"
        " its pods are redis-cluster-0 … redis-cluster-2"
    )
    assert "3 replicas and ordinals start at 0" in f["detail"]


def test_statefulset_ordinals_start() -> None:
    answer = snap("dns pg 0 -n data")
    f = finding(answer, "DNS-STS-ORDINAL-OUT-OF-RANGE")
    assert f["title"] == "Ordinal 0 is outside StatefulSet data/pg: its pods are pg-1 … pg-2"
    assert "spec.ordinals.start is 1" in f["detail"]
    assert snap("dns pg 1 -n data")["findings"][0]["title"] == "pg-1.pg.data.svc.cluster.local → 10.244.2.31"


def test_statefulset_pod_not_created_yet_and_pod_without_ip() -> None:
    missing = snap("dns kafka 2 -n data")
    f = finding(missing, "DNS-POD-MISSING")
    assert (
        f["title"] == "Pod data/kafka-2 does not exist: kafka-2.kafka.data.svc.cluster.local will not resolve"
    )
    assert "OrderedReady" in f["detail"]
    no_ip = snap("dns kafka 1 -n data")
    assert finding(no_ip, "DNS-POD-NO-IP")["title"].startswith(
        "Pod data/kafka-1 has no IP yet (ContainerCreating)"
    )


def test_statefulset_governing_service_not_headless() -> None:
    answer = snap("dns cache 1 -n shop")
    assert codes(answer)[:2] == ["DNS-STS-POD-NAME", "DNS-SERVICE-NOT-HEADLESS"]
    f = answer["findings"][1]
    assert f["title"] == "Service shop/cache is not headless: per-pod names under it will not resolve"
    assert "cluster IP 10.96.77.12" in f["detail"]
    assert "cannot be changed" in f["detail"]


def test_statefulset_service_selector_misses_pod() -> None:
    f = finding(snap("dns mongo 0 -n data"), "DNS-SERVICE-NOT-SELECTING")
    assert "Pod mongo-0 lacks app=mongodb (pod has mongo)." in f["detail"]


def test_statefulset_service_in_wrong_namespace() -> None:
    answer = snap("dns queue-hl 0 -n shop")
    assert answer["target"] == {"kind": "StatefulSet", "namespace": "shop", "name": "queue"}
    assert answer["findings"][0]["title"] == "queue-0.queue-hl.shop.svc.cluster.local will not resolve"
    f = finding(answer, "DNS-SERVICE-MISSING")
    assert (
        f["title"]
        == "No Service `queue-hl` in namespace shop: StatefulSet queue's pods get no per-pod DNS names"
    )
    assert "A Service named queue-hl exists in default: wrong namespace." in f["detail"]


def test_statefulset_named_instead_of_service() -> None:
    answer = snap("dns queue 0 -n shop")
    assert answer["findings"][0]["title"] == "queue-0.queue-hl.shop.svc.cluster.local will not resolve"
    by_kind = snap("dns sts/redis-cluster 1 -n wiseco")
    assert (
        by_kind["findings"][0]["title"]
        == "redis-cluster-1.redis-cluster.wiseco.svc.cluster.local → 10.244.2.22"
    )


def test_service_governing_no_statefulset() -> None:
    answer = snap("dns redis-cluster-client 0 -n wiseco")
    f = answer["findings"][0]
    assert f["code"] == "DNS-STS-NOT-GOVERNED"
    assert f["title"] == "No StatefulSet in wiseco uses Service redis-cluster-client as its serviceName"
    assert "StatefulSets in wiseco: redis-cluster." in f["detail"]


def test_missing_service_in_the_asked_namespace_is_not_found_with_close_names() -> None:
    run = run_cli("ask", "dns redis-cluster 0 -n default", "--snapshot", SNAPSHOT)
    assert run.returncode == 1
    assert "No Service or Pod named `redis-cluster` in default" in run.stderr
    assert "wiseco/redis-cluster" in run.stderr


def test_unknown_name_is_not_found() -> None:
    run = run_cli("ask", "dns nosuchthing", "--snapshot", SNAPSHOT, "--format", "json")
    assert run.returncode == 1
    error = json.loads(run.stdout)["error"]
    assert error["type"] == "NotFound"
    assert error["kind"] == "Service or Pod"


# -- Pods ------------------------------------------------------------------------------------------


def test_statefulset_pod_by_pod_name() -> None:
    answer = snap("dns redis-cluster-0 -n wiseco")
    assert answer["target"] == {"kind": "Pod", "namespace": "wiseco", "name": "redis-cluster-0"}
    assert codes(answer) == ["DNS-POD-HOSTNAME", "DNS-POD-IP-RECORD", "DNS-POD-SERVICES", "DNS-RESOLV-CONF"]
    h = answer["findings"][0]
    assert h["title"] == "redis-cluster-0.redis-cluster.wiseco.svc.cluster.local → 10.244.1.21"
    assert "(both set by its StatefulSet)" in h["detail"]
    ip = answer["findings"][1]
    assert ip["title"] == "10-244-1-21.wiseco.pod.cluster.local: served (pods insecure)"
    behind = answer["findings"][2]
    assert (
        behind["title"]
        == "Pod wiseco/redis-cluster-0 is behind 2 Services: redis-cluster, redis-cluster-client"
    )
    resolv = answer["findings"][3]
    assert resolv["evidence"] == [
        "nameserver 10.96.0.10",
        "search wiseco.svc.cluster.local svc.cluster.local cluster.local <node's search domains>",
        "options ndots:5",
    ]
    assert "api.example.com.wiseco.svc.cluster.local" in resolv["detail"]


def test_pod_with_hostname_and_subdomain_resolves() -> None:
    h = snap("dns worker-a")["findings"][0]
    assert h["title"] == "worker-a.workers.shop.svc.cluster.local → 10.244.1.91"


def test_pod_with_subdomain_but_no_hostname() -> None:
    answer = snap("dns worker-b -n shop")
    assert codes(answer)[:2] == ["DNS-POD-HOSTNAME", "DNS-POD-NO-HOSTNAME"]
    assert (
        "only the headless Service's own name workers.shop.svc.cluster.local"
        in answer["findings"][1]["detail"]
    )


def test_pod_not_selected_by_its_subdomain_service() -> None:
    answer = snap("dns worker-c -n shop")
    assert codes(answer)[:2] == ["DNS-POD-HOSTNAME", "DNS-SERVICE-NOT-SELECTING"]
    assert finding(answer, "DNS-POD-SERVICES")["title"] == "No Service in shop selects pod worker-c"


def test_pod_without_subdomain_and_dns_policy_default() -> None:
    answer = snap("dns debug-shell -n shop")
    assert codes(answer)[0] == "DNS-POD-NO-SUBDOMAIN"
    resolv = finding(answer, "DNS-RESOLV-CONF")
    assert resolv["title"] == "/etc/resolv.conf of shop/debug-shell: dnsPolicy Default"
    assert "Default is not the default policy" in resolv["detail"]
    assert resolv["evidence"][0] == "nameserver <node's nameservers>"


def test_host_network_pod_with_cluster_first_falls_back() -> None:
    answer = snap("dns node-agent-pq7rt -n shop")
    resolv = finding(answer, "DNS-RESOLV-CONF")
    assert resolv["title"] == (
        "/etc/resolv.conf of shop/node-agent-pq7rt: dnsPolicy ClusterFirst, but on the host network it gets"
        " the node's settings"
    )
    assert "ClusterFirstWithHostNet" in resolv["detail"]
    assert "its IP is the node's" in finding(answer, "DNS-POD-IP-RECORD")["detail"]


def test_dns_policy_none_uses_only_dns_config() -> None:
    resolv = finding(snap("dns custom-dns -n shop"), "DNS-RESOLV-CONF")
    assert resolv["evidence"] == [
        "nameserver 1.1.1.1",
        "nameserver 8.8.8.8",
        "search shop.svc.cluster.local corp.example.com",
        "options ndots:2 edns0",
    ]


def test_dns_config_is_merged_into_cluster_first() -> None:
    resolv = finding(snap("dns tuned-dns -n shop"), "DNS-RESOLV-CONF")
    assert resolv["evidence"] == [
        "nameserver 10.96.0.10",
        "search shop.svc.cluster.local svc.cluster.local cluster.local <node's search domains>"
        " corp.example.com",
        "options ndots:2",
    ]
    assert "api.example.com, are tried as written first" in resolv["detail"]


def test_statefulset_pod_not_ready_by_pod_name() -> None:
    answer = snap("dns redis-cluster-2 -n wiseco")
    assert codes(answer)[:2] == ["DNS-POD-HOSTNAME", "DNS-POD-NOT-READY"]
    behind = finding(answer, "DNS-POD-SERVICES")
    assert (
        "redis-cluster.wiseco.svc.cluster.local (headless) does not include 10.244.1.23" in behind["evidence"]
    )


# -- CoreDNS settings and the cluster domain --------------------------------------------------------


def test_coredns_without_pods_option_and_with_endpoint_pod_names() -> None:
    shop = str(DNS / "cluster" / "shop.yaml")
    corefile = str(DNS / "coredns-no-pods.yaml")
    pod = ask("dns worker-a -n shop", "--snapshot", shop, "--snapshot", corefile)
    ip = finding(pod, "DNS-POD-IP-RECORD")
    assert ip["title"] == "10-244-1-91.shop.pod.cluster.local: not served by this cluster's CoreDNS"
    assert "so these names get NXDOMAIN" in ip["detail"]
    svc = ask("dns workers -n shop", "--snapshot", shop, "--snapshot", corefile)
    assert "worker-b.workers.shop.svc.cluster.local A 10.244.1.92" in svc["findings"][0]["evidence"]
    default = snap("dns workers -n shop")
    assert "10-244-1-92.workers.shop.svc.cluster.local A 10.244.1.92" in default["findings"][0]["evidence"]


def test_coredns_not_visible() -> None:
    shop = str(DNS / "cluster" / "shop.yaml")
    ip = finding(ask("dns worker-a -n shop", "--snapshot", shop), "DNS-POD-IP-RECORD")
    assert "not visible" in ip["detail"]
    resolv = finding(ask("dns worker-a -n shop", "--snapshot", shop), "DNS-RESOLV-CONF")
    assert resolv["evidence"][0] == "nameserver <kubelet --cluster-dns>"


def test_configured_cluster_domain_is_used(tmp_path: Path) -> None:
    config = tmp_path / "k8sbot.yaml"
    config.write_text(
        f"clusters:\n  lab:\n    snapshot: ['{SNAPSHOT}']\n    cluster_domain: corp.local\n", encoding="utf-8"
    )
    answer = ask("dns redis-cluster 1 -n wiseco", env=clean_env(K8SBOT_CONFIG=str(config)))
    assert (
        answer["findings"][0]["title"] == "redis-cluster-1.redis-cluster.wiseco.svc.corp.local → 10.244.2.22"
    )
    mismatch = finding(answer, "DNS-ZONE-MISMATCH")
    assert mismatch["title"] == "The cluster DNS serves cluster.local, not corp.local"


def test_zone_from_corefile_differs_from_default() -> None:
    wiseco = str(DNS / "cluster" / "wiseco.yaml")
    answer = ask(
        "dns redis-cluster -n wiseco",
        "--snapshot",
        wiseco,
        "--snapshot",
        str(DNS / "coredns-other-zone.yaml"),
    )
    assert (
        finding(answer, "DNS-ZONE-MISMATCH")["title"]
        == "The cluster DNS serves k8s.example.internal, not cluster.local"
    )


# -- formats -----------------------------------------------------------------------------------------


def test_no_double_spaces() -> None:
    for query in (
        "dns redis-cluster 0 -n wiseco",
        "dns redis-cluster 3 -n wiseco",
        "dns checkout-peers -n shop",
        "dns worker-b -n shop",
        "dns node-agent-pq7rt -n shop",
        "dns queue-hl 0 -n shop",
    ):
        for f in snap(query)["findings"]:
            assert "  " not in f["title"] + f["detail"], (query, f["code"])


def test_text_and_slack_formats() -> None:
    text = run_cli("ask", "dns redis-cluster 3 -n wiseco", "--snapshot", SNAPSHOT)
    assert text.returncode == 0
    assert (
        "[error] redis-cluster-3.redis-cluster.wiseco.svc.cluster.local will not resolve (DNS-STS-POD-NAME)"
        in text.stdout
    )
    slack = run_cli("ask", "dns redis-cluster 0 -n wiseco", "--snapshot", SNAPSHOT, "--format", "slack")
    assert slack.returncode == 0
    blocks = json.loads(slack.stdout)[0]["blocks"]
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert any(
        s.startswith(
            ":large_blue_circle: *redis-cluster-0.redis-cluster.wiseco.svc.cluster.local → 10.244.1.21*"
        )
        for s in sections
    )
    assert len(blocks) <= 50


# -- the example snapshot and the live path (fake API server) -------------------------------------


def test_example_snapshot_redis_cluster_and_elasticsearch() -> None:
    answer = ask("dns redis-cluster 0 -n wiseco", "--snapshot", str(EXAMPLE))
    name = answer["findings"][0]
    assert name["code"] == "DNS-STS-POD-NAME"
    assert name["title"].startswith("redis-cluster-0.redis-cluster.wiseco.svc.cluster.local → 10.")
    assert "DNS-SERVICE-SRV" in codes(answer)
    es = ask("dns es-0 -n logging", "--snapshot", str(EXAMPLE))
    assert es["findings"][0]["title"].startswith("es-0.es.logging.svc.cluster.local → ")
    resolv = finding(es, "DNS-RESOLV-CONF")
    assert resolv["evidence"][1].startswith(
        "search logging.svc.cluster.local svc.cluster.local cluster.local"
    )


def test_live_cluster_statefulset_pod(fake_kube: FakeKube) -> None:
    fake_kube.serve(SNAPSHOT)
    run = run_cli("ask", "dns redis-cluster 0 -n wiseco", "--format", "json", env=fake_kube.env())
    assert run.returncode == 0, run.stderr
    answer = run.json()
    assert (
        answer["findings"][0]["title"]
        == "redis-cluster-0.redis-cluster.wiseco.svc.cluster.local → 10.244.1.21"
    )
    slices = [
        r
        for r in fake_kube.requests
        if r.path == "/apis/discovery.k8s.io/v1/namespaces/wiseco/endpointslices"
    ]
    assert slices and all(
        r.query.get("labelSelector") == "kubernetes.io/service-name=redis-cluster" for r in slices
    )


def test_live_cluster_coredns_config_forbidden_is_partial(fake_kube: FakeKube) -> None:
    fake_kube.serve(SNAPSHOT)
    fake_kube.fail("/api/v1/namespaces/kube-system/configmaps", 403)
    run = run_cli("ask", "dns worker-a -n shop", "--format", "json", env=fake_kube.env())
    assert run.returncode == 0, run.stderr
    answer = run.json()
    assert answer["partial"] is True
    assert "not visible" in finding(answer, "DNS-POD-IP-RECORD")["detail"]
    assert (
        finding(answer, "DNS-POD-HOSTNAME")["title"]
        == "worker-a.workers.shop.svc.cluster.local → 10.244.1.91"
    )
