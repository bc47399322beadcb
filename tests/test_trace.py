"""`trace <host|ingress|service>` and `ingress <name>`: Ingress -> Service -> endpoints -> pods.

Every case runs twice through the CLI: on the snapshot file, and on the fake Kubernetes API server
serving the same objects. The path-matching tables of the Kubernetes docs ("Ingress": Examples,
Hostname wildcards) are also checked on the matching functions directly.
"""

from __future__ import annotations

import re

import pytest

from bot.catalogue import entries
from handlers import trace
from handlers.model import Severity
from handlers.trace import host_rank, path_matches
from tests import traffic
from tests.conftest import ROOT
from tests.fakes.kube_api import FakeKube
from tests.traffic import Asker, answer, codes, finding

ask = traffic.ask  # the shared fixture: each case from the snapshot and through the fake API

# -- the docs' matching tables, on the functions ------------------------------------------------


@pytest.mark.parametrize(
    ("path", "path_type", "request_path", "matches"),
    [
        ("/", "Prefix", "/anything/at/all", True),
        ("/foo", "Exact", "/foo", True),
        ("/foo", "Exact", "/bar", False),
        ("/foo", "Exact", "/foo/", False),
        ("/foo/", "Exact", "/foo", False),
        ("/foo", "Prefix", "/foo", True),
        ("/foo", "Prefix", "/foo/", True),
        ("/foo/", "Prefix", "/foo", True),
        ("/aaa/bb", "Prefix", "/aaa/bbb", False),
        ("/aaa/bbb", "Prefix", "/aaa/bbb", True),
        ("/aaa/bbb/", "Prefix", "/aaa/bbb", True),
        ("/aaa/bbb", "Prefix", "/aaa/bbb/", True),
        ("/aaa/bbb", "Prefix", "/aaa/bbb/ccc", True),
        ("/aaa/bbb", "Prefix", "/aaa/bbbxyz", False),
        ("/aaa", "Prefix", "/ccc", False),
    ],
)
def test_path_matching_follows_the_docs_table(
    path: str, path_type: str, request_path: str, matches: bool
) -> None:
    assert path_matches(path, path_type, request_path) is matches


@pytest.mark.parametrize(
    ("rule_host", "host", "rank"),
    [
        ("foo.bar.com", "foo.bar.com", 3),
        ("*.foo.com", "bar.foo.com", 2),
        ("*.foo.com", "baz.bar.foo.com", 0),  # a wildcard covers exactly one label
        ("*.foo.com", "foo.com", 0),
        ("", "anything.example.com", 1),
        ("Shop.Example.com", "shop.example.com", 3),  # hosts are case-insensitive
    ],
)
def test_host_matching_follows_the_docs_table(rule_host: str, host: str, rank: int) -> None:
    assert host_rank(rule_host, host) == rank


# -- a healthy way in ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "ingress", "path", "service"),
    [
        ("shop.example.com/cart/items", "shop", "/cart (Prefix)", "cart"),
        ("shop.example.com/cart/checkout", "shop", "/cart/checkout (Exact)", "checkout"),  # longest, Exact
        ("shop.example.com/cart/checkout/step2", "shop", "/cart (Prefix)", "cart"),  # Exact is not a prefix
        ("shop.example.com/cartoon", "shop", "/ (Prefix)", "frontend"),  # whole elements only
        ("https://SHOP.example.com:443/", "shop", "/ (Prefix)", "frontend"),
        ("foo.apps.example.com", "apps", "/ (Prefix)", "frontend"),  # *.apps.example.com
    ],
)
def test_host_and_path_pick_the_rule(url: str, ingress: str, path: str, service: str) -> None:
    data = answer(Asker(None)("ingress-ok", f"trace {url}"))
    route = finding(data, "ING-ROUTE")
    assert route["severity"] == "info"
    assert f"Ingress shop/{ingress}: host" in route["evidence"][0]
    assert route["evidence"][0].endswith(f"path {path}")
    assert f"Service shop/{service} port http 80/TCP" in route["title"]


def test_every_hop_of_a_healthy_route(ask: Asker) -> None:
    data = answer(ask("ingress-ok", "trace shop.example.com/cart"))
    assert data["target"] == {"kind": "Ingress", "namespace": "shop", "name": "shop"}
    assert data["status"] == "nginx shop.example.com 203.0.113.10 80, 443"
    assert codes(data) == ["ING-ROUTE", "ING-TLS-UNVERIFIED"]
    route = finding(data, "ING-ROUTE")
    assert (
        route["title"] == "shop.example.com/cart → Service shop/cart port http 80/TCP → 1 of 1 endpoint ready"
    )
    hops = route["evidence"]
    assert hops[0] == "Ingress shop/shop: host shop.example.com, path /cart (Prefix)"
    assert hops[1] == "class nginx (spec.ingressClassName) -> controller k8s.io/ingress-nginx"
    assert hops[2].startswith(
        "controller k8s.io/ingress-nginx: 1/1 pods ready (ingress-nginx/ingress-nginx-controller-"
    )
    assert "address 203.0.113.10 (status.loadBalancer)" in hops
    assert (
        "Service shop/cart (ClusterIP 10.96.14.31 <none> 80/TCP): port http 80/TCP -> targetPort http" in hops
    )
    assert any(h.startswith("10.244.2.13:8080 cart-7b8c9d6f54-") for h in hops)
    assert route["next_steps"] == [
        "kubectl -n shop describe ingress shop",
        "curl -svk --resolve shop.example.com:443:203.0.113.10 https://shop.example.com/cart",
    ]
    tls = finding(data, "ING-TLS-UNVERIFIED")
    assert "shop-tls" in tls["title"] and "kubectl -n shop get secret shop-tls" in tls["next_steps"]
    if ask.kube:
        # Ingresses (all namespaces, for a host), IngressClasses, controller pods, Ingress events,
        # then the Service, its slices and its pods. Never a Secret.
        assert ask.requests == 7
        assert not any("secrets" in r.path for r in ask.kube.requests)


def test_ingress_verb_walks_every_backend(ask: Asker) -> None:
    data = answer(ask("ingress-ok", "ingress shop -n shop"))
    routes = [f for f in data["findings"] if f["code"] == "ING-ROUTE"]
    assert [r["title"].split(" → ")[1] for r in routes] == [
        "Service shop/frontend port http 80/TCP",
        "Service shop/cart port http 80/TCP",
        "Service shop/checkout port http 80/TCP",
    ]


def test_trace_a_service_starts_at_the_ingress_that_routes_to_it(ask: Asker) -> None:
    data = answer(ask("ingress-ok", "trace cart -n shop"))
    assert data["target"] == {"kind": "Service", "namespace": "shop", "name": "cart"}
    assert codes(data)[0] == "ING-ROUTE"
    assert finding(data, "ING-ROUTE")["title"].startswith("shop.example.com/cart → Service shop/cart")


def test_trace_a_service_without_ingress_checks_the_service(ask: Asker) -> None:
    data = answer(ask("not-ready", "trace checkout -n shop"))
    assert codes(data)[:3] == ["ING-NO-INGRESS-FOR-SERVICE", "SVC-BACKENDS", "SVC-PODS-NOT-READY"]


# -- the first broken link ---------------------------------------------------------------------


def test_no_ingress_for_the_host(ask: Asker) -> None:
    data = answer(ask("ingress-ok", "trace shop.exmaple.com"))
    assert data["target"] == {"kind": "Host", "namespace": None, "name": "shop.exmaple.com"}
    assert codes(data) == ["ING-NO-INGRESS-FOR-HOST"]
    f = finding(data, "ING-NO-INGRESS-FOR-HOST")
    assert f["title"] == "No Ingress rule serves shop.exmaple.com (did you mean shop.example.com?)"
    assert "shop/shop: shop.example.com" in f["evidence"]


def test_a_wildcard_covers_one_label_only() -> None:
    data = answer(Asker(None)("ingress-ok", "trace a.b.apps.example.com"))
    assert codes(data) == ["ING-NO-INGRESS-FOR-HOST"]


def test_host_served_but_no_path_matches(ask: Asker) -> None:
    data = answer(ask("ingress-paths", "trace api.example.com/v2"))
    f = finding(data, "ING-PATH-NO-MATCH")
    assert f["title"] == "api.example.com is served by Ingress shop/api, but no path matches /v2"
    assert "/v1 (Prefix), /healthz (Exact)" in f["detail"]
    # Exact does not forgive a trailing slash
    assert codes(answer(Asker(None)("ingress-paths", "trace api.example.com/healthz/"))) == [
        "ING-PATH-NO-MATCH"
    ]


def test_unmatched_path_goes_to_the_default_backend(ask: Asker) -> None:
    data = answer(ask("ingress-paths", "trace fallback.example.com/x"))
    assert codes(data) == ["ING-ROUTE", "ING-DEFAULT-BACKEND"]
    assert "Service shop/cart" in finding(data, "ING-ROUTE")["title"]
    assert (
        "Ingress shop/fallback: host fallback.example.com, path defaultBackend"
        in finding(data, "ING-ROUTE")["evidence"]
    )


def test_backend_service_missing_suggests_the_close_name(ask: Asker) -> None:
    data = answer(ask("ingress-missing-service", "trace shop.example.com/catalog"))
    assert codes(data) == ["ING-ROUTE", "ING-BACKEND-SERVICE-MISSING"]
    route = finding(data, "ING-ROUTE")
    assert route["severity"] == "error"
    assert route["title"].endswith("— broken at the backend Service")
    f = finding(data, "ING-BACKEND-SERVICE-MISSING")
    assert f["title"] == (
        "Ingress shop/shop routes to Service shop/catalog, which does not exist (did you mean catalogue?)"
    )


def test_wrong_service_port_names_the_right_one(ask: Asker) -> None:
    data = answer(ask("ingress-wrong-port", "trace shop.example.com"))
    assert codes(data) == ["ING-ROUTE", "ING-BACKEND-PORT-MISSING"]
    f = finding(data, "ING-BACKEND-PORT-MISSING")
    assert "port 8080 of Service shop/frontend" in f["title"]
    assert "`8080` is the targetPort of http 80/TCP: use 80." in f["detail"]
    assert finding(data, "ING-ROUTE")["title"].endswith("— broken at the Service port")


def test_missing_tls_secret_reported_by_the_controller(ask: Asker) -> None:
    data = answer(ask("ingress-tls-missing", "trace shop.example.com"))
    f = finding(data, "ING-TLS-SECRET-MISSING")
    assert f["severity"] == "error"
    assert "shop/shop-tls" in f["title"]
    assert any("TLS secret shop-tls is invalid: secret doesn't exist" in e for e in f["evidence"])
    # TLS does not stop the walk: plain routing to the pods is fine
    route = finding(data, "ING-ROUTE")
    assert route["severity"] == "info"
    assert "controller nginx.org/ingress-controller: 1/1 pods ready" in route["evidence"][2]


def test_class_whose_controller_has_no_pods(ask: Asker) -> None:
    data = answer(ask("ingress-no-controller", "trace shop.example.com"))
    assert data["status"] == "nginx shop.example.com 80"
    assert codes(data) == ["ING-ROUTE", "ING-CONTROLLER-NOT-RUNNING", "ING-NO-ADDRESS"]
    f = finding(data, "ING-CONTROLLER-NOT-RUNNING")
    assert "k8s.io/ingress-nginx" in f["title"]
    assert "app.kubernetes.io/name=ingress-nginx,app.kubernetes.io/component=controller" in f["detail"]
    assert finding(data, "ING-ROUTE")["title"].endswith("— broken at the ingress controller")


def test_ingress_class_typo(ask: Asker) -> None:
    data = answer(ask("ingress-classes", "trace blog.example.com"))
    assert codes(data)[:2] == ["ING-ROUTE", "ING-CLASS-NOT-FOUND"]
    f = finding(data, "ING-CLASS-NOT-FOUND")
    assert "`ngnix`" in f["title"] and "did you mean nginx?" in f["title"]
    assert (
        'kubectl -n shop patch ingress blog --type=merge -p \'{"spec":{"ingressClassName":"nginx"}}\''
        in f["next_steps"]
    )


def test_deprecated_class_annotation_still_routes(ask: Asker) -> None:
    data = answer(ask("ingress-classes", "trace legacy.example.com"))
    assert codes(data) == ["ING-ROUTE", "ING-CLASS-ANNOTATION"]
    assert finding(data, "ING-CLASS-ANNOTATION")["severity"] == "warning"
    assert finding(data, "ING-ROUTE")["severity"] == "info"
    assert data["status"] == "<none> legacy.example.com 203.0.113.10 80"


def test_no_class_and_no_default_class(ask: Asker) -> None:
    data = answer(ask("ingress-classes", "ingress docs -n shop"))
    f = finding(data, "ING-NO-CLASS")
    assert f["severity"] == "error"
    assert f["title"] == "Ingress shop/docs has no class and there is no default IngressClass"
    assert finding(data, "ING-ROUTE")["title"].endswith("— broken at the Ingress class")


def test_broken_service_behind_a_good_ingress(ask: Asker) -> None:
    data = answer(ask("ingress-broken-service", "trace shop.example.com/cart/checkout"))
    assert codes(data)[:2] == ["ING-ROUTE", "SVC-NO-MATCHING-PODS"]
    assert finding(data, "ING-ROUTE")["title"].endswith("— broken at the Service endpoints")
    assert "app: checkout" in finding(data, "SVC-NO-MATCHING-PODS")["title"]


# -- the question itself --------------------------------------------------------------------------


def test_unknown_name_is_not_found_with_suggestions() -> None:
    run = Asker(None)("ingress-ok", "trace frontnd -n shop")
    assert run.returncode == 1
    assert "frontend" in run.stderr


def test_trace_needs_an_argument() -> None:
    assert Asker(None)("ingress-ok", "trace").returncode == 2
    assert Asker(None)("ingress-ok", "ingress").returncode == 2


# -- the catalogue and the code agree -------------------------------------------------------------


def test_every_ing_code_is_in_the_catalogue_with_the_severity_the_code_assumes() -> None:
    source = (ROOT / "handlers" / "trace.py").read_text(encoding="utf-8")
    catalogue = {code: e for code, e in entries().items() if code.startswith("ING-")}
    assert set(re.findall(r'"(ING-[A-Z-]+)"', source)) == set(catalogue)
    for code, entry in catalogue.items():
        assert trace._DEFAULT_SEVERITY.get(code, Severity.INFO) == entry.severity, code


def test_a_controller_outside_the_cluster_cannot_be_told(ask: Asker) -> None:
    data = answer(ask("ingress-unknown-controller", "trace shop.example.com"))
    assert codes(data) == ["ING-ROUTE", "ING-CONTROLLER-UNKNOWN"]
    f = finding(data, "ING-CONTROLLER-UNKNOWN")
    assert f["title"] == "Cannot tell whether the controller k8s.io/ingress-gce (IngressClass gce) is running"
    assert finding(data, "ING-ROUTE")["severity"] == "info"  # not knowing is not a broken link


def test_controller_pods_unreadable_cannot_be_told(fake_kube: FakeKube) -> None:
    fake_kube.fail("/api/v1/pods", 403)  # the bot may not list pods across namespaces
    data = answer(Asker(fake_kube)("ingress-ok", "trace shop.example.com"))
    f = finding(data, "ING-CONTROLLER-UNKNOWN")
    assert "Listing its pods failed" in f["detail"] and "forbidden" in f["detail"]
    assert finding(data, "ING-ROUTE")["severity"] == "info"


def test_wrong_service_port_name(ask: Asker) -> None:
    data = answer(ask("ingress-wrong-port", "trace shop.example.com/cart"))
    f = finding(data, "ING-BACKEND-PORT-MISSING")
    assert f["title"] == "Ingress shop/shop uses port web of Service shop/cart, which has no such port name"
    assert "backend.service.port.name must be a port name of the Service" in f["detail"]
