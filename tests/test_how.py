"""`how <topic> [<pod>] [-n NS]` through the CLI: placeholders without a pod, real names with one.

The snapshot tests/fixtures/how/ has three runtimes: logging/es-0 and es-1 (StatefulSet, containerd;
es-1 not started yet), billing/billing-api-6d9f7c5b8d-x7k2p (Deployment on a Docker node) and
monitoring/node-exporter-k2x9z (DaemonSet, hostNetwork, CRI-O).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from conftest import EXAMPLE, run_cli

from handlers.how import TOPICS

SNAPSHOT = "tests/fixtures/how"
ES0_ID = "120f3db44c442ee8e9797a25f33421d37633e79a3606c97ce1c6227ebe78e36a"
BILLING = "billing-api-6d9f7c5b8d-x7k2p"
BILLING_ID = "bbfb696840181c07be95518f5a4e52eb9750ae5b378f9a12d493d1491371837d"
EXPORTER = "node-exporter-k2x9z"
EXPORTER_ID = "f0d744b92fb55304f22e71bdd5d2871dee41d32a441e1a65a156f0ed9797c2a8"


def ask(query: str, *, snapshot: bool = True) -> dict[str, Any]:
    args = ["ask", query, "--format", "json"] + (["--snapshot", SNAPSHOT] if snapshot else [])
    run = run_cli(*args)
    assert run.returncode == 0, run.stderr
    return run.json()


def finding(answer: dict[str, Any], code: str) -> dict[str, Any]:
    found = [f for f in answer["findings"] if f["code"] == code]
    assert len(found) == 1, [f["code"] for f in answer["findings"]]
    return found[0]


def steps(answer: dict[str, Any], code: str) -> str:
    return "\n".join(finding(answer, code)["next_steps"])


@pytest.mark.parametrize("topic", list(TOPICS))
def test_every_topic_without_a_pod_has_placeholders_and_no_docker(topic: str) -> None:
    answer = ask(f"how {topic}", snapshot=False)
    assert answer["target"] == {"kind": "Runbook", "namespace": None, "name": topic}
    [only] = answer["findings"]
    assert only["code"] == TOPICS[topic]
    joined = "\n".join(only["next_steps"])
    assert "<pod>" in joined or "<hostname>" in joined or topic == "downward-api"
    assert "docker " not in joined
    assert "{{ " not in joined and "{%" not in joined  # no unrendered jinja ({{.info.pid}} is crictl's)


def test_capture_fills_in_node_namespace_container_and_the_bare_container_id() -> None:
    answer = ask("how capture es-0 -n logging")
    assert answer["target"] == {"kind": "Pod", "namespace": "logging", "name": "es-0"}
    capture = finding(answer, "HOW-CAPTURE")
    joined = "\n".join(capture["next_steps"])
    assert f"crictl inspect --output go-template --template '{{{{.info.pid}}}}' {ES0_ID}" in joined
    assert "containerd://" not in joined  # the ID without its runtime scheme
    assert "kubectl debug node/worker-1 -it --image=ubuntu --profile=sysadmin -- chroot /host" in joined
    assert "nsenter -t $PID -n -- tcpdump -i any -nn -w /tmp/es-0.pcap" in joined
    assert (
        "kubectl -n logging debug -it es-0 --image=nicolaka/netshoot --target=elasticsearch "
        "--profile=netadmin -- tcpdump -i any -nn"
    ) in joined
    assert "docker" not in joined
    assert f"containerStatuses[elasticsearch].containerID: containerd://{ES0_ID}" in capture["evidence"]
    assert "node worker-1 status.nodeInfo.containerRuntimeVersion: containerd://1.7.13" in capture["evidence"]


def test_a_pod_with_several_containers_says_which_one_the_commands_use() -> None:
    choice = finding(ask("how exec es-0 -n logging"), "HOW-CONTAINER-CHOICE")
    assert choice["title"] == "logging/es-0 has 2 containers; the commands use elasticsearch"
    assert "kubectl.kubernetes.io/default-container" in choice["detail"]
    assert "exporter" in choice["detail"]
    # Without the annotation kubectl takes the first container; so does the runbook.
    first = finding(ask(f"how exec {EXPORTER} -n monitoring"), "HOW-CONTAINER-CHOICE")
    assert first["title"].endswith("the commands use node-exporter")
    assert "default-container" not in first["detail"]


def test_docker_node_gets_docker_commands_and_no_crictl() -> None:
    answer = ask(f"how capture {BILLING} -n billing")
    joined = steps(answer, "HOW-CAPTURE")
    assert f"PID=$(docker inspect --format '{{{{.State.Pid}}}}' {BILLING_ID})" in joined
    assert "crictl" not in joined
    assert "docker://" not in joined
    assert "dockershim" in finding(answer, "HOW-CAPTURE")["detail"]
    exec_steps = steps(ask(f"how exec {BILLING} -n billing"), "HOW-EXEC")
    assert f"docker exec -it {BILLING_ID} sh" in exec_steps
    assert "crictl" not in exec_steps


def test_cri_o_node_gets_crictl_and_host_network_is_pointed_out() -> None:
    answer = ask(f"how capture {EXPORTER} -n monitoring")
    joined = steps(answer, "HOW-CAPTURE")
    assert f"crictl inspect --output go-template --template '{{{{.info.pid}}}}' {EXPORTER_ID}" in joined
    assert "docker" not in joined
    assert "scp worker-crio-1:/tmp/node-exporter-k2x9z.pcap ." in joined
    assert "worker-crio-1" in finding(answer, "HOW-HOST-NETWORK")["detail"]


def test_a_container_not_started_keeps_the_id_placeholder_and_says_why() -> None:
    answer = ask("how exec es-1 -n logging")
    joined = steps(answer, "HOW-EXEC")
    assert "crictl exec -it <container-id> sh" in joined  # containerd, known from the init container
    assert "nsenter" in joined and "worker-2" in joined
    warning = finding(answer, "HOW-NO-CONTAINER-ID")
    assert warning["severity"] == "warning"
    assert warning["next_steps"] == ["why es-1 -n logging"]


def test_the_pod_is_found_in_its_namespace_without_n() -> None:
    answer = ask(f"how cp {BILLING}")
    assert answer["target"]["namespace"] == "billing"
    joined = steps(answer, "HOW-CP")
    assert f"kubectl -n billing cp {BILLING}:/path/in/container ./local-file -c api" in joined
    assert f"kubectl -n billing exec {BILLING} -c api -- cat /path/in/container > ./local-file" in joined


def test_cp_explains_the_tar_requirement_and_the_ways_around_it() -> None:
    cp = finding(ask(f"how cp {EXPORTER}"), "HOW-CP")
    assert "tar" in cp["detail"]
    joined = "\n".join(cp["next_steps"])
    assert "cp /proc/$PID/root/path/in/container /tmp/" in joined
    assert f"kubectl -n monitoring exec {EXPORTER} -c copier -- cat /proc/1/root/path/in/container" in joined


def test_port_forward_uses_the_service_that_selects_the_pod() -> None:
    answer = ask("how port-forward es-0 -n logging")
    joined = steps(answer, "HOW-PORT-FORWARD")
    assert "kubectl -n logging port-forward svc/es 9200:9200" in joined  # the ClusterIP one, not headless
    assert "kubectl -n logging port-forward pod/es-0 9200:9200" in joined
    assert "one pod" in finding(answer, "HOW-PORT-FORWARD")["detail"]
    billing = steps(ask(f"how port-forward {BILLING}"), "HOW-PORT-FORWARD")
    # Service port 80 is below 1024, so the local side moves to 8080; the pod's own port is 8080.
    assert "kubectl -n billing port-forward svc/billing-api 8080:80" in billing
    assert f"kubectl -n billing port-forward pod/{BILLING} 8080:8080" in billing


def test_api_uses_the_facts_md_call_and_the_pod_service_account() -> None:
    answer = ask("how api es-0 -n logging")
    api = finding(answer, "HOW-API")
    assert api["next_steps"][1:3] == [
        "SA=/var/run/secrets/kubernetes.io/serviceaccount",
        'curl --cacert $SA/ca.crt -H "Authorization: Bearer $(cat $SA/token)" '
        "https://kubernetes.default.svc/api/v1/namespaces/$(cat $SA/namespace)/pods",
    ]
    assert "kubectl auth can-i --list -n logging --as=system:serviceaccount:logging:es" in api["next_steps"]
    assert "HOW-API-NO-TOKEN" not in [f["code"] for f in answer["findings"]]


def test_api_warns_when_the_pod_has_no_token() -> None:
    answer = ask(f"how api {BILLING}")
    warning = finding(answer, "HOW-API-NO-TOKEN")
    assert warning["severity"] == "warning"
    assert "TOKEN=$(kubectl -n billing create token default)" in warning["next_steps"]
    assert "spec.automountServiceAccountToken: false" in finding(answer, "HOW-API")["evidence"]


def test_configmap_lists_how_the_pod_uses_configmaps_and_the_owner_to_restart() -> None:
    answer = ask("how configmap es-0 -n logging")
    cm = finding(answer, "HOW-CONFIGMAP")
    assert cm["evidence"][-4:] == [
        "volume config: configMap es-config items [elasticsearch.yml->elasticsearch.yml]",
        "container elasticsearch mounts config at /usr/share/elasticsearch/config/elasticsearch.yml"
        " subPath elasticsearch.yml",
        "container elasticsearch env cluster.name <- configMapKeyRef es-config/cluster.name",
        "container elasticsearch envFrom configMapRef es-env prefix ES_ optional=true",
    ]
    assert "subPath" in cm["detail"] and "never updates" in cm["detail"]
    assert "kubectl -n logging rollout restart statefulset/es" in cm["next_steps"]
    # A Deployment's pod is restarted through the Deployment, found through its ReplicaSet.
    billing = finding(ask(f"how configmap {BILLING}"), "HOW-CONFIGMAP")
    assert "kubectl -n billing rollout restart deployment/billing-api" in billing["next_steps"]
    assert "kubectl -n billing get configmap billing-config -o yaml" in billing["next_steps"]


def test_downward_api_lists_exactly_which_fields_work_as_env_and_which_only_as_files() -> None:
    down = finding(ask(f"how downward-api {EXPORTER}"), "HOW-DOWNWARD-API")
    detail = down["detail"]
    env_only = (
        "spec.nodeName, spec.serviceAccountName, status.hostIP, status.hostIPs, status.podIP, status.podIPs"
    )
    assert f"env only: {env_only}" in detail
    assert "volume only: metadata.labels and metadata.annotations" in detail
    both = (
        "metadata.name, metadata.namespace, metadata.uid, "
        "metadata.labels['<key>'], metadata.annotations['<key>']"
    )
    assert f"env or volume: {both}" in detail
    assert "container node-exporter env NODE_NAME <- fieldRef spec.nodeName" in down["evidence"]
    assert "volume podinfo: downwardAPI labels <- metadata.labels" in down["evidence"]


def test_dns_uses_the_pod_hostname_and_subdomain() -> None:
    dns = finding(ask("how dns es-0 -n logging"), "HOW-DNS")
    assert "es-0.es-headless.logging.svc.cluster.local" in dns["detail"]
    assert "kubectl -n logging exec es-0 -c elasticsearch -- hostname -f" in dns["next_steps"]
    assert (
        "kubectl -n logging exec es-0 -c elasticsearch -- nslookup es-0.es-headless.logging.svc.cluster.local"
        in dns["next_steps"]
    )
    assert "dns es-0 -n logging" in dns["next_steps"]
    # No subdomain: no name under a Service, so the lookup uses the IP-based name.
    billing = finding(ask(f"how dns {BILLING}"), "HOW-DNS")
    assert "10-244-5-17.billing.pod.cluster.local" in "\n".join(billing["next_steps"])


def test_topic_aliases_and_case() -> None:
    assert finding(ask("how TCPDUMP es-0 -n logging"), "HOW-CAPTURE")
    assert finding(ask("how port_forward", snapshot=False), "HOW-PORT-FORWARD")


def test_how_alone_lists_the_topics() -> None:
    [topics] = ask("how", snapshot=False)["findings"]
    assert topics["code"] == "HOW-TOPICS"
    for topic in TOPICS:
        assert topic in topics["detail"]


def test_unknown_topic_is_a_usage_error_with_did_you_mean() -> None:
    run = run_cli("ask", "how captur es-0 -n logging", "--snapshot", SNAPSHOT, "--format", "json")
    assert run.returncode == 2
    error = json.loads(run.stdout)["error"]
    assert error["type"] == "UsageError"
    assert error["problem"] == "unknown_topic"
    assert error["close"][0] == "capture"
    assert "Did you mean `capture`" in error["message"]
    assert "captur" in run.stderr and "Traceback" not in run.stderr


def test_unknown_pod_is_not_found_with_close_names() -> None:
    run = run_cli("ask", "how exec es-9 -n logging", "--snapshot", SNAPSHOT, "--format", "json")
    assert run.returncode == 1
    error = json.loads(run.stdout)["error"]
    assert error["type"] == "NotFound"
    assert "logging/es-0" in error["close"]


def test_a_workload_reference_is_refused() -> None:
    run = run_cli("ask", "how exec sts/es -n logging", "--snapshot", SNAPSHOT)
    assert run.returncode == 2
    assert "takes a pod name" in run.stderr


def test_too_many_arguments_is_a_usage_error() -> None:
    run = run_cli("ask", "how exec es-0 extra -n logging", "--snapshot", SNAPSHOT)
    assert run.returncode == 2


def test_offline_fills_in_what_was_typed_and_says_so() -> None:
    answer = ask("how exec es-0 -n logging", snapshot=False)
    assert answer["target"] == {"kind": "Pod", "namespace": "logging", "name": "es-0"}
    joined = steps(answer, "HOW-EXEC")
    assert "kubectl -n logging exec -it es-0 -c <container> -- sh" in joined
    assert "<container-id>" in joined
    assert answer["notes"] and not answer["partial"]


def test_slack_format_renders_a_runbook() -> None:
    run = run_cli("ask", "how capture es-0 -n logging", "--snapshot", SNAPSHOT, "--format", "slack")
    assert run.returncode == 0, run.stderr
    messages = json.loads(run.stdout)
    assert any(ES0_ID in json.dumps(m["blocks"]) for m in messages)


def test_the_bundled_example_cluster_fills_in_es_0() -> None:
    """The README's example (examples/cluster): node and container ID come from the pod itself."""
    pods = yaml.safe_load((EXAMPLE / "pods.yaml").read_text(encoding="utf-8"))
    es0 = next(p for p in pods["items"] if p["metadata"]["name"] == "es-0")
    status = next(
        s for s in es0["status"]["containerStatuses"] if s["name"] == es0["spec"]["containers"][0]["name"]
    )
    bare_id = status["containerID"].partition("://")[2]
    run = run_cli("ask", "how capture es-0 -n logging", "--snapshot", str(EXAMPLE), "--format", "json")
    assert run.returncode == 0, run.stderr
    capture = finding(run.json(), "HOW-CAPTURE")
    joined = "\n".join(capture["next_steps"])
    assert f"kubectl debug node/{es0['spec']['nodeName']} -it" in joined
    assert bare_id in joined and "://" + bare_id not in joined
