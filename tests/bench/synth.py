"""A synthetic cluster the size that matters: 10,000 pods in ~300 namespaces, shaped like the API's.

Every object is what `kubectl get -o json` returns from a real cluster: full metadata (uids,
resourceVersions, ownerReferences, generateName, managedFields in the FieldsV1 format the server
writes), specs with the fields the apiserver defaults, statuses as the kubelet and controllers
write them. About 3% of pods are broken the way pods break: CrashLoopBackOff (exit 1, with
previous logs), OOMKilled (137), ImagePullBackOff (a tag that does not exist) and Pending
(unschedulable), each with the events the kubelet or scheduler records for it.

Deterministic: the same seed gives the same cluster. `python -m tests.bench.synth` prints a summary.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

#: "now" of the synthetic cluster; objects are dated before it.
NOW = datetime(2024, 6, 11, 10, 0, 0, tzinfo=UTC)

# rand.SafeEncodeString's alphabet (k8s.io/apimachinery/pkg/util/rand): generated name suffixes.
_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"
_WORDS = (
    "shop",
    "billing",
    "search",
    "auth",
    "media",
    "payments",
    "catalog",
    "orders",
    "ledger",
    "notify",
    "reports",
    "ingest",
    "etl",
    "ml",
    "ads",
    "geo",
    "chat",
    "mail",
    "users",
    "audit",
)
_APPS = (
    ("web", "nginx", 8080),
    ("api", "api", 8080),
    ("worker", "worker", 9000),
    ("cart", "cart", 8080),
    ("checkout", "checkout", 8443),
    ("frontend", "frontend", 3000),
    ("gateway", "gateway", 8000),
    ("indexer", "indexer", 9200),
    ("scheduler", "scheduler", 8081),
    ("metrics", "exporter", 9100),
)
_STATEFUL = (
    ("redis", "redis:7.2.4", 6379),
    ("postgres", "postgres:16.2", 5432),
    ("kafka", "bitnami/kafka:3.7", 9092),
)
_ZONES = ("eu-west-1a", "eu-west-1b", "eu-west-1c")

BROKEN_SHARE = 0.03
#: How the broken pods break: CrashLoopBackOff, OOMKilled, ImagePullBackOff, Pending.
BROKEN_MIX = (("crashloop", 0.4), ("oomkilled", 0.2), ("imagepull", 0.2), ("pending", 0.2))


def ts(t: datetime) -> str:
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}Z"


def _hash(rng: random.Random) -> str:
    """A pod-template-hash: SafeEncodeString of a uint32's decimal digits."""
    return "".join(_ALPHANUMS[ord(c) % len(_ALPHANUMS)] for c in str(rng.randrange(10**8, 2**32)))


def _suffix(rng: random.Random, n: int = 5) -> str:
    return "".join(rng.choice(_ALPHANUMS) for _ in range(n))


def _uid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def fields_v1(value: object) -> dict[str, Any]:
    """The managedFields `fieldsV1` tree of a value, as the apiserver writes it.

    Maps get `f:<key>` entries; lists of maps with a merge key get `k:{"name":"x"}` entries (with the
    `.` marker for the item itself); scalars and atomic lists are `{}`.
    """
    if type(value) is dict:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out[f"f:{k}"] = fields_v1(v)
        return {".": {}, **out} if out else {}
    if type(value) is list and value and type(value[0]) is dict:
        out = {}
        for item in value:
            key = _merge_key(item)
            if key is None:
                return {}
            out[f"k:{orjson.dumps(key).decode()}"] = fields_v1(item)
        return out
    return {}


def _merge_key(item: Mapping[str, Any]) -> dict[str, Any] | None:
    for keys in (
        ("containerPort", "protocol"),
        ("name",),
        ("type",),
        ("ip",),
        ("uid",),
        ("mountPath",),
        ("key",),
    ):
        if all(k in item for k in keys):
            return {k: item[k] for k in keys}
    return None


def managed(
    manager: str, when: datetime, body: Mapping[str, Any], *, subresource: str = "", api: str = "v1"
) -> dict[str, Any]:
    tree = fields_v1(body)
    tree.pop(".", None)
    entry: dict[str, Any] = {
        "apiVersion": api,
        "fieldsType": "FieldsV1",
        "fieldsV1": tree,
        "manager": manager,
        "operation": "Update",
    }
    if subresource:
        entry["subresource"] = subresource
    entry["time"] = ts(when)
    return entry


@dataclass
class Cluster:
    """The objects (each with kind and apiVersion) and container logs of a synthetic cluster."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    logs: dict[tuple[str, str, str, bool], str] = field(default_factory=dict)
    #: (namespace, pod name, how) of every broken pod.
    broken: list[tuple[str, str, str]] = field(default_factory=list)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for o in self.objects:
            out[o["kind"]] = out.get(o["kind"], 0) + 1
        return dict(sorted(out.items()))


class _Builder:
    def __init__(self, seed: int, nodes: int) -> None:
        self.rng = random.Random(seed)
        self.out = Cluster()
        self.rv = 1_000_000
        self.nodes = [self._node(i) for i in range(nodes)]
        self.next_ip = 0
        self.pods = 0
        self._shapes: dict[tuple[object, ...], dict[str, Any]] = {}

    def _rv(self) -> str:
        self.rv += self.rng.randrange(1, 40)
        return str(self.rv)

    def _ip(self, node_index: int) -> str:
        self.next_ip += 1
        return f"10.{(node_index // 250) + 64}.{node_index % 250}.{(self.next_ip % 250) + 2}"

    # -- nodes ----------------------------------------------------------------------------
    def _node(self, i: int) -> dict[str, Any]:
        rng = self.rng
        name = f"ip-10-0-{i // 250}-{i % 250 + 10}.eu-west-1.compute.internal"
        zone = _ZONES[i % 3]
        created = NOW - timedelta(days=rng.randrange(3, 60))
        labels = {
            "beta.kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/instance-type": "m6i.4xlarge",
            "beta.kubernetes.io/os": "linux",
            "failure-domain.beta.kubernetes.io/region": "eu-west-1",
            "failure-domain.beta.kubernetes.io/zone": zone,
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/hostname": name,
            "kubernetes.io/os": "linux",
            "node.kubernetes.io/instance-type": "m6i.4xlarge",
            "topology.kubernetes.io/region": "eu-west-1",
            "topology.kubernetes.io/zone": zone,
        }
        beat = NOW - timedelta(seconds=rng.randrange(1, 40))
        conds = [
            (
                "MemoryPressure",
                "False",
                "KubeletHasSufficientMemory",
                "kubelet has sufficient memory available",
            ),
            ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ]
        images = [
            {
                "names": [
                    f"registry.example.com/team/app-{j}@sha256:{rng.getrandbits(256):064x}",
                    f"registry.example.com/team/app-{j}:1.{j}.{rng.randrange(20)}",
                ],
                "sizeBytes": rng.randrange(20_000_000, 900_000_000),
            }
            for j in range(25)
        ]
        status = {
            "addresses": [
                {"address": f"10.0.{i // 250}.{i % 250 + 10}", "type": "InternalIP"},
                {"address": name, "type": "InternalDNS"},
                {"address": name, "type": "Hostname"},
            ],
            "allocatable": {
                "cpu": "15890m",
                "ephemeral-storage": "95491237762",
                "hugepages-1Gi": "0",
                "hugepages-2Mi": "0",
                "memory": "63236164Ki",
                "pods": "110",
            },
            "capacity": {
                "cpu": "16",
                "ephemeral-storage": "104845292Ki",
                "hugepages-1Gi": "0",
                "hugepages-2Mi": "0",
                "memory": "65179204Ki",
                "pods": "110",
            },
            "conditions": [
                {
                    "lastHeartbeatTime": ts(beat),
                    "lastTransitionTime": ts(created),
                    "message": msg,
                    "reason": reason,
                    "status": st,
                    "type": t,
                }
                for t, st, reason, msg in conds
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "images": images,
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": _uid(rng),
                "containerRuntimeVersion": "containerd://1.7.11",
                "kernelVersion": "5.10.215-203.850.amzn2.x86_64",
                "kubeProxyVersion": "v1.30.0-eks-036c24b",
                "kubeletVersion": "v1.30.0-eks-036c24b",
                "machineID": f"{rng.getrandbits(128):032x}",
                "operatingSystem": "linux",
                "osImage": "Amazon Linux 2",
                "systemUUID": _uid(rng),
            },
        }
        meta = {
            "annotations": {
                "alpha.kubernetes.io/provided-node-ip": f"10.0.{i // 250}.{i % 250 + 10}",
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
            "creationTimestamp": ts(created),
            "labels": labels,
            "name": name,
            "resourceVersion": self._rv(),
            "uid": _uid(rng),
        }
        spec = {"providerID": f"aws:///{zone}/i-0{rng.getrandbits(64):016x}"}
        meta["managedFields"] = [
            managed("kubelet", created, {"metadata": {"annotations": meta["annotations"], "labels": labels}}),
            managed("kube-controller-manager", beat, {"spec": {"podCIDR": {}}}),
            managed("kubelet", beat, {"status": status}, subresource="status"),
        ]
        node = {"apiVersion": "v1", "kind": "Node", "metadata": meta, "spec": spec, "status": status}
        self.out.objects.append(node)
        return node

    # -- namespaces and workloads ---------------------------------------------------------
    def namespace(self, name: str) -> None:
        created = NOW - timedelta(days=self.rng.randrange(5, 400))
        meta = {
            "creationTimestamp": ts(created),
            "labels": {"kubernetes.io/metadata.name": name, "team": name.split("-", maxsplit=1)[0]},
            "name": name,
            "resourceVersion": self._rv(),
            "uid": _uid(self.rng),
        }
        meta["managedFields"] = [managed("kubectl-create", created, {"metadata": {"labels": meta["labels"]}})]
        self.out.objects.append(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": meta,
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            }
        )

    def _container(self, name: str, image: str, port: int, *, sidecar: bool = False) -> dict[str, Any]:
        rng = self.rng
        env = [
            {"name": f"{name.upper()}_SETTING_{j}", "value": f"value-{rng.randrange(1000)}"} for j in range(6)
        ]
        env.append(
            {
                "name": "POD_NAME",
                "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}},
            }
        )
        env.append(
            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"key": "password", "name": f"{name}-db"}}}
        )
        c: dict[str, Any] = {
            "env": env,
            "image": image,
            "imagePullPolicy": "IfNotPresent",
            "name": name,
            "ports": [{"containerPort": port, "name": "http", "protocol": "TCP"}],
            "resources": {
                "limits": {"memory": f"{rng.choice((256, 512, 1024))}Mi"},
                "requests": {
                    "cpu": f"{rng.choice((50, 100, 250))}m",
                    "memory": f"{rng.choice((128, 256))}Mi",
                },
            },
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
            "volumeMounts": [{"mountPath": "/etc/config", "name": "config", "readOnly": True}],
        }
        if not sidecar:
            probe = {
                "failureThreshold": 3,
                "httpGet": {"path": "/healthz", "port": port, "scheme": "HTTP"},
                "periodSeconds": 10,
                "successThreshold": 1,
                "timeoutSeconds": 1,
            }
            c["livenessProbe"] = {**probe, "initialDelaySeconds": 10}
            c["readinessProbe"] = {**probe, "httpGet": {"path": "/ready", "port": port, "scheme": "HTTP"}}
        return c

    def _template(self, app: str, image: str, port: int, labels: Mapping[str, str]) -> dict[str, Any]:
        containers = [self._container(app, image, port)]
        if self.rng.random() < 0.3:
            containers.append(self._container("envoy", "envoyproxy/envoy:v1.30.1", 9901, sidecar=True))
        return {
            "metadata": {"creationTimestamp": None, "labels": dict(labels)},
            "spec": {
                "containers": containers,
                "dnsPolicy": "ClusterFirst",
                "restartPolicy": "Always",
                "schedulerName": "default-scheduler",
                "securityContext": {},
                "terminationGracePeriodSeconds": 30,
                "volumes": [{"configMap": {"defaultMode": 420, "name": f"{app}-config"}, "name": "config"}],
            },
        }

    def deployment(self, ns: str, app: str, image: str, port: int, replicas: int) -> None:
        rng = self.rng
        created = NOW - timedelta(days=rng.randrange(1, 200))
        rolled = NOW - timedelta(hours=rng.randrange(1, 240))
        h = _hash(rng)
        labels = {"app": app}
        tmpl = self._template(app, image, port, labels)
        dep_uid, rs_uid = _uid(rng), _uid(rng)
        revision = str(rng.randrange(1, 30))
        dep_spec = {
            "progressDeadlineSeconds": 600,
            "replicas": replicas,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": labels},
            "strategy": {
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                "type": "RollingUpdate",
            },
            "template": tmpl,
        }
        dep_meta: dict[str, Any] = {
            "annotations": {
                "deployment.kubernetes.io/revision": revision,
                "kubectl.kubernetes.io/last-applied-configuration": orjson.dumps(
                    {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "metadata": {"labels": labels, "name": app, "namespace": ns},
                        "spec": dep_spec,
                    }
                ).decode()
                + "\n",
            },
            "creationTimestamp": ts(created),
            "generation": int(revision),
            "labels": labels,
            "name": app,
            "namespace": ns,
            "resourceVersion": self._rv(),
            "uid": dep_uid,
        }
        dep_status = {
            "availableReplicas": replicas,
            "conditions": [
                {
                    "lastTransitionTime": ts(created),
                    "lastUpdateTime": ts(rolled),
                    "message": "Deployment has minimum availability.",
                    "reason": "MinimumReplicasAvailable",
                    "status": "True",
                    "type": "Available",
                },
                {
                    "lastTransitionTime": ts(created),
                    "lastUpdateTime": ts(rolled),
                    "message": f'ReplicaSet "{app}-{h}" has successfully progressed.',
                    "reason": "NewReplicaSetAvailable",
                    "status": "True",
                    "type": "Progressing",
                },
            ],
            "observedGeneration": int(revision),
            "readyReplicas": replicas,
            "replicas": replicas,
            "updatedReplicas": replicas,
        }
        dep_meta["managedFields"] = [
            managed(
                "kubectl-client-side-apply",
                created,
                {"metadata": {"labels": labels}, "spec": dep_spec},
                api="apps/v1",
            ),
            managed(
                "kube-controller-manager", rolled, {"status": dep_status}, subresource="status", api="apps/v1"
            ),
        ]
        self.out.objects.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": dep_meta,
                "spec": dep_spec,
                "status": dep_status,
            }
        )
        rs_labels = {**labels, "pod-template-hash": h}
        rs_tmpl = self._template(app, image, port, rs_labels)
        rs_tmpl["spec"] = tmpl["spec"]
        rs_spec = {"replicas": replicas, "selector": {"matchLabels": rs_labels}, "template": rs_tmpl}
        rs_meta: dict[str, Any] = {
            "annotations": {
                "deployment.kubernetes.io/desired-replicas": str(replicas),
                "deployment.kubernetes.io/max-replicas": str(replicas + max(1, replicas // 4)),
                "deployment.kubernetes.io/revision": revision,
            },
            "creationTimestamp": ts(rolled),
            "generation": 1,
            "labels": rs_labels,
            "name": f"{app}-{h}",
            "namespace": ns,
            "ownerReferences": [_owner("apps/v1", "Deployment", app, dep_uid)],
            "resourceVersion": self._rv(),
            "uid": rs_uid,
        }
        rs_status = {
            "availableReplicas": replicas,
            "fullyLabeledReplicas": replicas,
            "observedGeneration": 1,
            "readyReplicas": replicas,
            "replicas": replicas,
        }
        rs_meta["managedFields"] = [
            managed(
                "kube-controller-manager",
                rolled,
                {"metadata": rs_meta["annotations"], "spec": rs_spec},
                api="apps/v1",
            ),
            managed(
                "kube-controller-manager", rolled, {"status": rs_status}, subresource="status", api="apps/v1"
            ),
        ]
        self.out.objects.append(
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": rs_meta,
                "spec": rs_spec,
                "status": rs_status,
            }
        )
        self._event(
            (ns, "Deployment", app, dep_uid, "apps/v1"),
            "Normal",
            "ScalingReplicaSet",
            f"Scaled up replica set {app}-{h} to {replicas}",
            component="deployment-controller",
            first=rolled,
        )
        pods = [
            self.pod(
                ns,
                f"{app}-{h}-{_suffix(rng)}",
                rs_tmpl,
                _owner("apps/v1", "ReplicaSet", f"{app}-{h}", rs_uid),
                rolled,
            )
            for _ in range(replicas)
        ]
        self.service(ns, app, port, labels, pods, headless=False)

    def statefulset(self, ns: str, app: str, image: str, port: int, replicas: int) -> None:
        rng = self.rng
        created = NOW - timedelta(days=rng.randrange(1, 300))
        labels = {"app": app}
        tmpl = self._template(app, image, port, labels)
        uid = _uid(rng)
        rev = f"{app}-{_hash(rng)}"
        spec = {
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            "podManagementPolicy": "OrderedReady",
            "replicas": replicas,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": labels},
            "serviceName": app,
            "template": tmpl,
            "updateStrategy": {"rollingUpdate": {"partition": 0}, "type": "RollingUpdate"},
        }
        status = {
            "availableReplicas": replicas,
            "collisionCount": 0,
            "currentReplicas": replicas,
            "currentRevision": rev,
            "observedGeneration": 1,
            "readyReplicas": replicas,
            "replicas": replicas,
            "updateRevision": rev,
            "updatedReplicas": replicas,
        }
        meta: dict[str, Any] = {
            "creationTimestamp": ts(created),
            "generation": 1,
            "labels": labels,
            "name": app,
            "namespace": ns,
            "resourceVersion": self._rv(),
            "uid": uid,
        }
        meta["managedFields"] = [
            managed("helm", created, {"metadata": {"labels": labels}, "spec": spec}, api="apps/v1"),
            managed(
                "kube-controller-manager", created, {"status": status}, subresource="status", api="apps/v1"
            ),
        ]
        self.out.objects.append(
            {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta, "spec": spec, "status": status}
        )
        pods = []
        for i in range(replicas):
            pod_tmpl = {
                "metadata": {
                    "labels": {
                        **labels,
                        "apps.kubernetes.io/pod-index": str(i),
                        "controller-revision-hash": rev,
                        "statefulset.kubernetes.io/pod-name": f"{app}-{i}",
                    }
                },
                "spec": {**tmpl["spec"], "hostname": f"{app}-{i}", "subdomain": app},
            }
            pods.append(
                self.pod(
                    ns,
                    f"{app}-{i}",
                    pod_tmpl,
                    _owner("apps/v1", "StatefulSet", app, uid),
                    created,
                    generated=False,
                )
            )
        self.service(ns, app, port, labels, pods, headless=True)

    def daemonset(self, ns: str, app: str, image: str) -> None:
        rng = self.rng
        created = NOW - timedelta(days=rng.randrange(30, 300))
        labels = {"k8s-app": app}
        tmpl = self._template(app, image, 10256, labels)
        tmpl["spec"]["hostNetwork"] = True
        tmpl["spec"]["priorityClassName"] = "system-node-critical"
        uid = _uid(rng)
        n = len(self.nodes)
        spec = {
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": labels},
            "template": tmpl,
            "updateStrategy": {
                "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
                "type": "RollingUpdate",
            },
        }
        status = {
            "currentNumberScheduled": n,
            "desiredNumberScheduled": n,
            "numberAvailable": n,
            "numberMisscheduled": 0,
            "numberReady": n,
            "observedGeneration": 1,
            "updatedNumberScheduled": n,
        }
        meta: dict[str, Any] = {
            "annotations": {"deprecated.daemonset.template.generation": "1"},
            "creationTimestamp": ts(created),
            "generation": 1,
            "labels": labels,
            "name": app,
            "namespace": ns,
            "resourceVersion": self._rv(),
            "uid": uid,
        }
        meta["managedFields"] = [
            managed("eks", created, {"metadata": {"labels": labels}, "spec": spec}, api="apps/v1"),
            managed(
                "kube-controller-manager", created, {"status": status}, subresource="status", api="apps/v1"
            ),
        ]
        self.out.objects.append(
            {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta, "spec": spec, "status": status}
        )
        for i in range(n):
            self.pod(
                ns, f"{app}-{_suffix(rng)}", tmpl, _owner("apps/v1", "DaemonSet", app, uid), created, node=i
            )

    # -- pods -----------------------------------------------------------------------------
    def pod(
        self,
        ns: str,
        name: str,
        tmpl: Mapping[str, Any],
        owner: dict[str, Any],
        created: datetime,
        *,
        generated: bool = True,
        node: int | None = None,
    ) -> dict[str, Any]:
        rng = self.rng
        node_i = rng.randrange(len(self.nodes)) if node is None else node
        node_name = self.nodes[node_i]["metadata"]["name"]
        uid = _uid(rng)
        started = max(created, NOW - timedelta(hours=rng.randrange(1, 2000)))
        ip = self._ip(node_i)
        token_vol = f"kube-api-access-{_suffix(rng)}"
        containers = []
        for c in tmpl["spec"]["containers"]:
            c2 = dict(c)
            c2["volumeMounts"] = [
                *c.get("volumeMounts", ()),
                {
                    "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                    "name": token_vol,
                    "readOnly": True,
                },
            ]
            containers.append(c2)
        spec = {
            **{k: v for k, v in tmpl["spec"].items() if k != "containers"},
            "containers": containers,
            "enableServiceLinks": True,
            "nodeName": node_name,
            "preemptionPolicy": "PreemptLowerPriority",
            "priority": 0,
            "serviceAccount": "default",
            "serviceAccountName": "default",
            "tolerations": [
                {
                    "effect": "NoExecute",
                    "key": "node.kubernetes.io/not-ready",
                    "operator": "Exists",
                    "tolerationSeconds": 300,
                },
                {
                    "effect": "NoExecute",
                    "key": "node.kubernetes.io/unreachable",
                    "operator": "Exists",
                    "tolerationSeconds": 300,
                },
            ],
            "volumes": [
                *tmpl["spec"].get("volumes", ()),
                {
                    "name": token_vol,
                    "projected": {
                        "defaultMode": 420,
                        "sources": [
                            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                            {
                                "configMap": {
                                    "items": [{"key": "ca.crt", "path": "ca.crt"}],
                                    "name": "kube-root-ca.crt",
                                }
                            },
                            {
                                "downwardAPI": {
                                    "items": [
                                        {
                                            "fieldRef": {
                                                "apiVersion": "v1",
                                                "fieldPath": "metadata.namespace",
                                            },
                                            "path": "namespace",
                                        }
                                    ]
                                }
                            },
                        ],
                    },
                },
            ],
        }
        statuses = []
        for c in containers:
            statuses.append(
                {
                    "containerID": f"containerd://{rng.getrandbits(256):064x}",
                    "image": c["image"],
                    "imageID": f"{c['image'].split(':')[0]}@sha256:{rng.getrandbits(256):064x}",
                    "lastState": {},
                    "name": c["name"],
                    "ready": True,
                    "restartCount": 0,
                    "started": True,
                    "state": {"running": {"startedAt": ts(started + timedelta(seconds=3))}},
                }
            )
        conds = [
            ("PodReadyToStartContainers", "True", started + timedelta(seconds=2)),
            ("Initialized", "True", started),
            ("Ready", "True", started + timedelta(seconds=14)),
            ("ContainersReady", "True", started + timedelta(seconds=14)),
            ("PodScheduled", "True", started),
        ]
        status: dict[str, Any] = {
            "conditions": [
                {"lastProbeTime": None, "lastTransitionTime": ts(t), "status": st, "type": ct}
                for ct, st, t in conds
            ],
            "containerStatuses": statuses,
            "hostIP": self.nodes[node_i]["status"]["addresses"][0]["address"],
            "hostIPs": [{"ip": self.nodes[node_i]["status"]["addresses"][0]["address"]}],
            "phase": "Running",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "qosClass": "Burstable",
            "startTime": ts(started),
        }
        meta: dict[str, Any] = {
            "creationTimestamp": ts(started),
            "labels": dict(tmpl["metadata"]["labels"]),
            "name": name,
            "namespace": ns,
            "ownerReferences": [owner],
            "resourceVersion": self._rv(),
            "uid": uid,
        }
        if generated:
            meta["generateName"] = name[: -len(name.rsplit("-", 1)[-1])]
        if rng.random() < 0.2:
            meta["annotations"] = {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": str(containers[0]["ports"][0]["containerPort"]),
                "kubectl.kubernetes.io/restartedAt": ts(started - timedelta(minutes=1)),
            }
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}
        # Pods of one template have the same field set: compute its tree once (as the server's
        # output would be identical), then date it per pod.
        shape = (owner["uid"], len(meta), len(spec), *meta["labels"])
        spec_entry = self._shapes.get(shape)
        if spec_entry is None:
            spec_entry = managed(
                "kube-controller-manager",
                started,
                {"metadata": {k: meta[k] for k in ("labels", "ownerReferences")}, "spec": spec},
            )
            self._shapes[shape] = spec_entry
        meta["managedFields"] = [
            {**spec_entry, "time": ts(started)},
            managed("kubelet", started + timedelta(seconds=14), {"status": status}, subresource="status"),
        ]
        self.out.objects.append(pod)
        self.pods += 1
        if rng.random() < 0.3:  # started within the event TTL (1 h): its normal events are still there
            self._normal_events(pod)
        return pod

    def _normal_events(self, pod: dict[str, Any]) -> None:
        meta, spec = pod["metadata"], pod["spec"]
        ns, name, uid = meta["namespace"], meta["name"], meta["uid"]
        t = NOW - timedelta(minutes=self.rng.randrange(2, 59))
        ref = (ns, "Pod", name, uid, "v1")
        node = spec["nodeName"]
        assigned = f"Successfully assigned {ns}/{name} to {node}"
        self._event(ref, "Normal", "Scheduled", assigned, component="default-scheduler", first=t)
        for c in spec["containers"]:
            at = {
                "component": "kubelet",
                "first": t,
                "field_path": f"spec.containers{{{c['name']}}}",
                "host": node,
            }
            self._event(
                ref, "Normal", "Pulled", f'Container image "{c["image"]}" already present on machine', **at
            )
            self._event(ref, "Normal", "Created", f"Created container {c['name']}", **at)
            self._event(ref, "Normal", "Started", f"Started container {c['name']}", **at)

    def _event(
        self,
        ref: tuple[str, str, str, str, str],
        etype: str,
        reason: str,
        message: str,
        *,
        component: str,
        first: datetime,
        field_path: str = "",
        host: str = "",
        count: int = 1,
        last: datetime | None = None,
    ) -> None:
        """An event about `ref` = (namespace, kind, name, uid, apiVersion), as core/v1 stores it."""
        ns, kind, name, uid, api = ref
        last = last or first
        involved: dict[str, Any] = {
            "apiVersion": api,
            "kind": kind,
            "name": name,
            "namespace": ns,
            "uid": uid,
        }
        if field_path:
            involved["fieldPath"] = field_path
        involved["resourceVersion"] = str(self.rv)
        ev_name = f"{name}.{self.rng.getrandbits(64):x}"[:253]
        source = {"component": component, **({"host": host} if host else {})}
        body = {
            "count": count,
            "firstTimestamp": ts(first),
            "involvedObject": involved,
            "lastTimestamp": ts(last),
            "message": message,
            "reason": reason,
            "source": source,
            "type": etype,
        }
        meta = {
            "creationTimestamp": ts(first),
            "name": ev_name,
            "namespace": ns,
            "resourceVersion": self._rv(),
            "uid": _uid(self.rng),
            "managedFields": [managed(component, last, body)],
        }
        self.out.objects.append(
            {
                "apiVersion": "v1",
                "kind": "Event",
                **body,
                "eventTime": None,
                "metadata": meta,
                "reportingComponent": component,
                "reportingInstance": host,
            }
        )

    # -- breakage -------------------------------------------------------------------------
    def break_pod(self, pod: dict[str, Any], how: str) -> None:
        rng = self.rng
        meta, spec, status = pod["metadata"], pod["spec"], pod["status"]
        ns, name, uid = meta["namespace"], meta["name"], meta["uid"]
        c = spec["containers"][0]
        cs = status["containerStatuses"][0]
        node = spec.get("nodeName", "")
        first = NOW - timedelta(minutes=rng.randrange(20, 600))
        last = NOW - timedelta(seconds=rng.randrange(5, 280))
        ref = (ns, "Pod", name, uid, "v1")
        at: dict[str, Any] = {
            "component": "kubelet",
            "first": first,
            "last": last,
            "field_path": f"spec.containers{{{c['name']}}}",
            "host": node,
        }
        self.out.broken.append((ns, name, how))

        def not_ready(reason: str) -> None:
            for cond in status["conditions"]:
                if cond["type"] in ("Ready", "ContainersReady"):
                    cond.update(
                        status="False",
                        reason=reason,
                        lastTransitionTime=ts(last),
                        message=f"containers with unready status: [{c['name']}]",
                    )

        if how in ("crashloop", "oomkilled"):
            restarts = rng.randrange(5, 300)
            oom = how == "oomkilled"
            finished = last
            cs.update(
                ready=False,
                started=False,
                restartCount=restarts,
                lastState={
                    "terminated": {
                        "containerID": f"containerd://{rng.getrandbits(256):064x}",
                        "exitCode": 137 if oom else 1,
                        "finishedAt": ts(finished),
                        "reason": "OOMKilled" if oom else "Error",
                        "startedAt": ts(finished - timedelta(seconds=rng.randrange(2, 90))),
                    }
                },
                state={
                    "waiting": {
                        "message": f"back-off 5m0s restarting failed container={c['name']} "
                        f"pod={name}_{ns}({uid})",
                        "reason": "CrashLoopBackOff",
                    }
                },
            )
            not_ready("ContainersNotReady")
            backoff = f"Back-off restarting failed container {c['name']} in pod {name}_{ns}({uid})"
            self._event(ref, "Warning", "BackOff", backoff, **at, count=restarts * 4)
            pulled = f'Container image "{c["image"]}" already present on machine'
            self._event(ref, "Normal", "Pulled", pulled, **at, count=restarts)
            if oom:
                text = "".join(
                    f"2024-06-11T09:{m:02d}:00Z INFO loading partition {m} into memory ({m * 37} MiB)\n"
                    for m in range(20)
                )
            else:
                text = (
                    "2024-06-11T09:58:01Z INFO starting server version=1.8.3\n"
                    "2024-06-11T09:58:01Z INFO reading configuration from /etc/config/app.yaml\n"
                    f"2024-06-11T09:58:02Z ERROR dial tcp 10.96.{rng.randrange(255)}.{rng.randrange(1, 255)}"
                    ":5432: "
                    "connect: connection refused\n"
                    "2024-06-11T09:58:02Z FATAL cannot connect to database, exiting\n"
                )
            self.out.logs[(ns, name, c["name"], True)] = text
        elif how == "imagepull":
            bad = c["image"].rsplit(":", 1)[0] + ":" + f"1.{rng.randrange(40)}.{rng.randrange(9)}-rc"
            c["image"] = bad
            cs.update(
                ready=False,
                started=False,
                image=bad,
                imageID="",
                lastState={},
                state={
                    "waiting": {"message": f'Back-off pulling image "{bad}"', "reason": "ImagePullBackOff"}
                },
            )
            cs.pop("containerID", None)
            status["phase"] = "Pending"
            not_ready("ContainersNotReady")
            msg = (
                f'Failed to pull image "{bad}": rpc error: code = NotFound desc = failed to pull and '
                f'unpack image "{bad}": failed to resolve reference "{bad}": {bad}: not found'
            )
            self._event(ref, "Normal", "Pulling", f'Pulling image "{bad}"', **at, count=12)
            self._event(ref, "Warning", "Failed", msg, **at, count=12)
            self._event(ref, "Warning", "Failed", "Error: ErrImagePull", **at, count=12)
            self._event(ref, "Normal", "BackOff", f'Back-off pulling image "{bad}"', **at, count=250)
            self._event(ref, "Warning", "Failed", "Error: ImagePullBackOff", **at, count=250)
        elif how == "pending":
            n = len(self.nodes)
            message = (
                f"0/{n} nodes are available: {n} Insufficient memory. preemption: 0/{n} nodes are available: "
                f"{n} No preemption victims found for incoming pod."
            )
            c["resources"]["requests"]["memory"] = "96Gi"
            spec.pop("nodeName", None)
            pod["status"] = {
                "conditions": [
                    {
                        "lastProbeTime": None,
                        "lastTransitionTime": ts(first),
                        "message": message,
                        "reason": "Unschedulable",
                        "status": "False",
                        "type": "PodScheduled",
                    }
                ],
                "phase": "Pending",
                "qosClass": "Burstable",
            }
            scheduler = managed("kube-scheduler", first, {"status": pod["status"]}, subresource="status")
            meta["managedFields"] = [meta["managedFields"][0], scheduler]
            count = rng.randrange(3, 60)
            self._event(
                ref,
                "Warning",
                "FailedScheduling",
                message,
                component="default-scheduler",
                first=first,
                count=count,
                last=last,
            )

    def service(
        self,
        ns: str,
        app: str,
        port: int,
        selector: Mapping[str, str],
        pods: Sequence[dict[str, Any]],
        *,
        headless: bool,
    ) -> None:
        rng = self.rng
        created = NOW - timedelta(days=rng.randrange(1, 300))
        uid = _uid(rng)
        cluster_ip = "None" if headless else f"172.20.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        spec = {
            "clusterIP": cluster_ip,
            "clusterIPs": [cluster_ip],
            "internalTrafficPolicy": "Cluster",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "ports": [
                {
                    "name": "http",
                    "port": 80 if not headless else port,
                    "protocol": "TCP",
                    "targetPort": "http",
                }
            ],
            "selector": dict(selector),
            "sessionAffinity": "None",
            "type": "ClusterIP",
        }
        meta: dict[str, Any] = {
            "creationTimestamp": ts(created),
            "labels": {"app": app},
            "name": app,
            "namespace": ns,
            "resourceVersion": self._rv(),
            "uid": uid,
        }
        meta["managedFields"] = [
            managed(
                "kubectl-client-side-apply", created, {"metadata": {"labels": meta["labels"]}, "spec": spec}
            )
        ]
        self.out.objects.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": meta,
                "spec": spec,
                "status": {"loadBalancer": {}},
            }
        )
        endpoints = []
        for p in pods:
            ready = all(cs.get("ready") for cs in p["status"].get("containerStatuses") or [{"ready": False}])
            if not p["status"].get("podIP"):
                continue
            ep: dict[str, Any] = {
                "addresses": [p["status"]["podIP"]],
                "conditions": {"ready": ready, "serving": ready, "terminating": False},
                "nodeName": p["spec"]["nodeName"],
                "targetRef": {
                    "kind": "Pod",
                    "name": p["metadata"]["name"],
                    "namespace": ns,
                    "uid": p["metadata"]["uid"],
                },
                "zone": _ZONES[rng.randrange(3)],
            }
            if headless:
                ep["hostname"] = p["metadata"]["name"]
            endpoints.append(ep)
        slice_meta: dict[str, Any] = {
            "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": ts(created)},
            "creationTimestamp": ts(created),
            "generateName": f"{app}-",
            "generation": rng.randrange(1, 80),
            "labels": {
                "app": app,
                "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                "kubernetes.io/service-name": app,
                **({"service.kubernetes.io/headless": ""} if headless else {}),
            },
            "name": f"{app}-{_suffix(rng)}",
            "namespace": ns,
            "ownerReferences": [_owner("v1", "Service", app, uid)],
            "resourceVersion": self._rv(),
            "uid": _uid(rng),
        }
        ports = [{"name": "http", "port": port, "protocol": "TCP"}]
        slice_meta["managedFields"] = [
            managed(
                "endpointslice-controller.k8s.io",
                created,
                {"metadata": {"labels": slice_meta["labels"]}, "endpoints": endpoints, "ports": ports},
                api="discovery.k8s.io/v1",
            )
        ]
        self.out.objects.append(
            {
                "addressType": "IPv4",
                "apiVersion": "discovery.k8s.io/v1",
                "endpoints": endpoints,
                "kind": "EndpointSlice",
                "metadata": slice_meta,
                "ports": ports,
            }
        )


def _owner(api: str, kind: str, name: str, uid: str) -> dict[str, Any]:
    return {
        "apiVersion": api,
        "blockOwnerDeletion": True,
        "controller": True,
        "kind": kind,
        "name": name,
        "uid": uid,
    }


def build(pods: int = 10_000, namespaces: int = 300, nodes: int = 120, seed: int = 7) -> Cluster:
    """The synthetic cluster: `pods` pods (DaemonSets in kube-system included) over `namespaces`."""
    b = _Builder(seed, nodes)
    rng = b.rng
    b.namespace("kube-system")
    b.daemonset(
        "kube-system", "kube-proxy", "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/kube-proxy:v1.30.0"
    )
    b.daemonset(
        "kube-system", "aws-node", "602401143452.dkr.ecr.eu-west-1.amazonaws.com/amazon-k8s-cni:v1.18.1"
    )
    b.deployment(
        "kube-system", "coredns", "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/coredns:v1.11.1", 53, 2
    )
    names = [f"{_WORDS[i % len(_WORDS)]}-{i // len(_WORDS) + 1}" for i in range(namespaces - 1)]
    left = pods - b.pods
    for i, ns in enumerate(names):
        b.namespace(ns)
        budget = left // (len(names) - i)  # spread what is left evenly over the namespaces left
        left -= budget
        if rng.random() < 0.3 and budget >= 6:
            sts_name, image, port = rng.choice(_STATEFUL)
            b.statefulset(ns, sts_name, image, port, 3)
            budget -= 3
        for app, img, port in rng.sample(_APPS, k=len(_APPS)):
            if budget <= 0:
                break
            replicas = budget if app == _APPS[-1][0] else min(budget, rng.randrange(2, 9))
            version = f"{rng.randrange(1, 4)}.{rng.randrange(30)}.{rng.randrange(10)}"
            b.deployment(ns, app, f"registry.example.com/{ns}/{img}:{version}", port, replicas)
            budget -= replicas
        if budget > 0:  # every app used: the last one gets the rest
            b.deployment(ns, "batch", f"registry.example.com/{ns}/batch:1.0.0", 8080, budget)
    all_pods = b.out.of("Pod")
    candidates = [p for p in all_pods if p["metadata"]["namespace"] != "kube-system"]
    broken = rng.sample(candidates, k=round(len(all_pods) * BROKEN_SHARE))
    start = 0
    for how, share in BROKEN_MIX:
        n = round(len(broken) * share)
        for p in broken[start : start + n]:
            b.break_pod(p, how)
        start += n
    return b.out


def iter_json_sizes(cluster: Cluster) -> Iterator[tuple[str, int, int, int]]:
    """Per kind: (kind, count, JSON bytes as served, JSON bytes as the bot keeps them (bot.cluster.slim))."""
    from bot.cluster import slim

    for kind, count in cluster.counts().items():
        full = kept = 0
        for o in cluster.of(kind):
            data = orjson.dumps(o)
            full += len(data)
            kept += len(orjson.dumps(slim(orjson.loads(data))))
        yield kind, count, full, kept


if __name__ == "__main__":
    import time

    t0 = time.perf_counter()
    c = build()
    print(f"built in {time.perf_counter() - t0:.1f}s: {c.counts()}")
    how = ", ".join(f"{h}={sum(1 for b in c.broken if b[2] == h)}" for h, _ in BROKEN_MIX)
    print(f"broken: {len(c.broken)} ({how})")
    for kind, count, full, kept in iter_json_sizes(c):
        print(f"  {kind:14} {count:6} {full / 1e6:8.1f} MB as served, {kept / 1e6:8.1f} MB as kept")
