"""The object kinds the bot reads, with their API coordinates.

This table is the single list of what the bot may read: the live cluster view, the fake API server
in tests, and the RBAC manifests' test are all derived from it. Secrets are deliberately absent:
a missing Secret is diagnosed from the kubelet's event messages, never by reading the Secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final


@dataclass(frozen=True, slots=True)
class Kind:
    """One readable kind: `group` is "" for the core API."""

    kind: str
    group: str
    version: str
    plural: str
    namespaced: bool
    aliases: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        """The REST path, e.g. `/apis/apps/v1/namespaces/shop/deployments/web`."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
        return base


_ALL: Final = (
    Kind("Namespace", "", "v1", "namespaces", False, ("ns", "namespace")),
    Kind("Node", "", "v1", "nodes", False, ("no", "node")),
    Kind("Pod", "", "v1", "pods", True, ("po", "pod")),
    Kind("Service", "", "v1", "services", True, ("svc", "service")),
    Kind("Endpoints", "", "v1", "endpoints", True, ("ep",)),
    Kind("Event", "", "v1", "events", True, ("ev", "event")),
    Kind("ConfigMap", "", "v1", "configmaps", True, ("cm", "configmap")),
    Kind("PersistentVolumeClaim", "", "v1", "persistentvolumeclaims", True, ("pvc",)),
    Kind("PersistentVolume", "", "v1", "persistentvolumes", False, ("pv",)),
    Kind("ServiceAccount", "", "v1", "serviceaccounts", True, ("sa",)),
    Kind("ReplicationController", "", "v1", "replicationcontrollers", True, ("rc",)),
    Kind("Deployment", "apps", "v1", "deployments", True, ("deploy", "deployment")),
    Kind("ReplicaSet", "apps", "v1", "replicasets", True, ("rs", "replicaset")),
    Kind("StatefulSet", "apps", "v1", "statefulsets", True, ("sts", "statefulset")),
    Kind("DaemonSet", "apps", "v1", "daemonsets", True, ("ds", "daemonset")),
    Kind("ControllerRevision", "apps", "v1", "controllerrevisions", True, ()),
    Kind("Job", "batch", "v1", "jobs", True, ("job",)),
    Kind("CronJob", "batch", "v1", "cronjobs", True, ("cj", "cronjob")),
    Kind("Ingress", "networking.k8s.io", "v1", "ingresses", True, ("ing", "ingress")),
    Kind("IngressClass", "networking.k8s.io", "v1", "ingressclasses", False, ()),
    Kind("EndpointSlice", "discovery.k8s.io", "v1", "endpointslices", True, ()),
    Kind("StorageClass", "storage.k8s.io", "v1", "storageclasses", False, ("sc",)),
)

KINDS: Final = MappingProxyType({k.kind: k for k in _ALL})

#: `deploy` -> `Deployment`, plurals and lower-case names too (`kubectl get` spellings).
ALIASES: Final = MappingProxyType(
    {alias: k.kind for k in _ALL for alias in (*k.aliases, k.kind.lower(), k.plural)}
)

#: The kinds whose pods a `why <kind>/<name>` question is about.
WORKLOADS: Final = frozenset(
    {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicationController"}
)
