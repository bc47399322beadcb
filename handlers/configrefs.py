"""Which ConfigMap, Secret or key a pod cannot get, from the kubelet's message, and where the pod
spec asks for it (env var, envFrom, volume) and whether that reference is `optional`.

Messages (FACTS.md §4, §9; kubelet `kubelet_pods.go` makeEnvironmentVariables, volume plugins):
    configmap "app-config" not found          (watch-based manager; `configmaps "x"` with Get/Cache)
    couldn't find key DB_HOST in ConfigMap shop/app-config
    secret "db-creds" not found               (`secrets "x"` likewise)
    couldn't find key password in Secret shop/db-creds
    MountVolume.SetUp failed for volume "config" : configmap "app-config" not found
    MountVolume.SetUp failed for volume "config" : configmap references non-existent config key: app.yaml
    container has runAsNonRoot and image will run as root (pod: "api-..._shop(uid)", container: api)

Secrets are never read: everything here comes from the message and the pod spec.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from handlers.model import Phrase
from handlers.objects import Obj


class ConfigProblem(StrEnum):
    MISSING_CONFIGMAP = "missing_configmap"
    MISSING_SECRET = "missing_secret"
    MISSING_CONFIGMAP_KEY = "missing_configmap_key"
    MISSING_SECRET_KEY = "missing_secret_key"
    RUN_AS_NON_ROOT = "run_as_non_root"
    SUBPATH = "subpath"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class ConfigError:
    """What the kubelet could not resolve."""

    problem: ConfigProblem
    name: str = ""  # ConfigMap/Secret name
    key: str = ""
    namespace: str = ""
    volume: str = ""  # from a FailedMount message
    #: runAsNonRoot: `root` (image runs as UID 0), `non-numeric` (image user is a name), `run-as-user`
    #: (the pod's own runAsUser is 0).
    variant: str = ""
    user: str = ""


@dataclass(frozen=True, slots=True)
class SpecRef:
    """One place in the pod spec that references a ConfigMap or Secret."""

    kind: str  # ConfigMap | Secret
    name: str
    key: str  # "" for envFrom / whole-volume references
    where: str  # `env DB_HOST (configMapKeyRef) of container api`, `volume config`
    container: str  # "" for volumes
    optional: bool
    #: The same place as data, for the evidence phrase: `env` | `envFrom` | `volume`, the env var or
    #: volume name, the `valueFrom`/`envFrom` field, the envFrom prefix.
    via: str = ""
    item: str = ""
    field: str = ""
    prefix: str = ""

    def text(self) -> str:
        key = f" key {self.key}" if self.key else ""
        opt = "optional: true" if self.optional else "required"
        return f"{self.where} -> {self.kind} {self.name}{key} ({opt})"

    def phrase(self) -> Phrase:
        """`Referenced by env DB_HOST (configMapKeyRef) of container api -> ConfigMap app key DB_HOST
        (required)`, worded in the asker's language (EV-POD-CONFIG-REFERENCED)."""
        return Phrase(
            "EV-POD-CONFIG-REFERENCED",
            {
                "via": self.via,
                "item": self.item,
                "field": self.field,
                "prefix": self.prefix,
                "container": self.container,
                "kind": self.kind,
                "name": self.name,
                "key": self.key,
                "optional": self.optional,
            },
        )


_MOUNT = re.compile(r'MountVolume\.SetUp failed for volume "([^"]+)"\s*:\s*(.*)$', re.S)
_PATTERNS: tuple[tuple[ConfigProblem, re.Pattern[str]], ...] = (
    (
        ConfigProblem.MISSING_CONFIGMAP_KEY,
        re.compile(r"couldn't find key (\S+) in ConfigMap ([^/\s]+)/(\S+)"),
    ),
    (ConfigProblem.MISSING_SECRET_KEY, re.compile(r"couldn't find key (\S+) in Secret ([^/\s]+)/(\S+)")),
    (ConfigProblem.MISSING_CONFIGMAP, re.compile(r'configmaps? "([^"]+)" not found')),
    (ConfigProblem.MISSING_SECRET, re.compile(r'secrets? "([^"]+)" not found')),
)
_VOLUME_KEY = re.compile(r"(configmap|secret) references non-existent (?:config|secret) key: (\S+)", re.I)
_NON_ROOT = re.compile(r"runAsNonRoot and image will run as root")
_NON_NUMERIC = re.compile(r"image has non-numeric user \(([^)]*)\)")
_RUN_AS_USER = re.compile(r"runAsUser breaks non-root policy")
_SUBPATH = re.compile(r"subPath|subpath", re.I)


def parse(message: str) -> ConfigError:
    """The problem named by a CreateContainerConfigError / FailedMount message."""
    volume = ""
    m = _MOUNT.search(message)
    if m:
        volume, message = m.group(1), m.group(2)
    k = _VOLUME_KEY.search(message)
    if k:
        problem = (
            ConfigProblem.MISSING_CONFIGMAP_KEY
            if k.group(1).lower() == "configmap"
            else ConfigProblem.MISSING_SECRET_KEY
        )
        return ConfigError(problem, key=k.group(2).rstrip(".,"), volume=volume)
    for problem, pattern in _PATTERNS:
        p = pattern.search(message)
        if not p:
            continue
        if problem in (ConfigProblem.MISSING_CONFIGMAP_KEY, ConfigProblem.MISSING_SECRET_KEY):
            return ConfigError(problem, name=p.group(3), key=p.group(1), namespace=p.group(2), volume=volume)
        return ConfigError(problem, name=p.group(1), volume=volume)
    if _NON_ROOT.search(message):
        return ConfigError(ConfigProblem.RUN_AS_NON_ROOT, variant="root")
    nn = _NON_NUMERIC.search(message)
    if nn:
        return ConfigError(ConfigProblem.RUN_AS_NON_ROOT, variant="non-numeric", user=nn.group(1))
    if _RUN_AS_USER.search(message):
        return ConfigError(ConfigProblem.RUN_AS_NON_ROOT, variant="run-as-user")
    if _SUBPATH.search(message):
        return ConfigError(ConfigProblem.SUBPATH, volume=volume)
    return ConfigError(ConfigProblem.OTHER, volume=volume)


def references(pod: Obj) -> list[SpecRef]:
    """Every ConfigMap/Secret reference in the pod spec (env, envFrom, volumes, projected volumes)."""
    refs: list[SpecRef] = []
    for key in ("initContainers", "containers"):
        for c in pod.children("spec", key):
            cname = c.text("name")
            for env in c.children("env"):
                for kind, field in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
                    r = env.child("valueFrom", field)
                    if r:
                        refs.append(
                            SpecRef(
                                kind,
                                r.text("name"),
                                r.text("key"),
                                f"env {env.text('name')} ({field}) of container {cname}",
                                cname,
                                r.flag("optional"),
                                via="env",
                                item=env.text("name"),
                                field=field,
                            )
                        )
            for ef in c.children("envFrom"):
                for kind, field in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                    r = ef.child(field)
                    if r:
                        prefix = f" (prefix {ef.text('prefix')})" if ef.text("prefix") else ""
                        refs.append(
                            SpecRef(
                                kind,
                                r.text("name"),
                                "",
                                f"envFrom {field}{prefix} of container {cname}",
                                cname,
                                r.flag("optional"),
                                via="envFrom",
                                field=field,
                                prefix=ef.text("prefix"),
                            )
                        )
    for vol in pod.children("spec", "volumes"):
        vname = vol.text("name")
        sources = [
            ("ConfigMap", vol.child("configMap"), "name"),
            ("Secret", vol.child("secret"), "secretName"),
        ]
        for src in vol.children("projected", "sources"):
            sources.append(("ConfigMap", src.child("configMap"), "name"))
            sources.append(("Secret", src.child("secret"), "name"))
        for kind, src, name_field in sources:
            if not src:
                continue
            keys = [i.text("key") for i in src.children("items")]
            for k in keys or [""]:
                refs.append(
                    SpecRef(
                        kind,
                        src.text(name_field),
                        k,
                        f"volume {vname}",
                        "",
                        src.flag("optional"),
                        via="volume",
                        item=vname,
                    )
                )
    return refs


def matching(refs: list[SpecRef], err: ConfigError, container: str = "") -> list[SpecRef]:
    """The references the error is about: same kind and name (and key, for a missing key); for a
    volume message, that volume; else prefer the failing container's own references."""
    kind = (
        "Secret"
        if err.problem in (ConfigProblem.MISSING_SECRET, ConfigProblem.MISSING_SECRET_KEY)
        else "ConfigMap"
    )
    out = [r for r in refs if r.kind == kind]
    if err.volume:
        out = [r for r in out if r.where == f"volume {err.volume}"]
    if err.name:
        out = [r for r in out if r.name == err.name]
    if err.key and err.problem in (ConfigProblem.MISSING_CONFIGMAP_KEY, ConfigProblem.MISSING_SECRET_KEY):
        keyed = [r for r in out if r.key == err.key]
        out = keyed or out
    if container and not err.volume:
        own = [r for r in out if r.container == container]
        out = own or out
    return out
