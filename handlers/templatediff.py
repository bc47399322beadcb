"""What changed between two pod templates (two ReplicaSets or two ControllerRevisions of a workload).

Only what usually breaks a rollout, each as one data-like line: images, command and args, env
variable names and where their values come from (ConfigMap/Secret names and keys, never values),
envFrom, volume sources, resources, probes, and the pod-level fields that move pods around
(serviceAccountName, nodeSelector). Plain env values are not shown (they may be credentials): a
changed value is reported as changed.
"""

from __future__ import annotations

from handlers.containers import probe_line
from handlers.model import Phrase, Text
from handlers.objects import Obj

#: Annotations that `kubectl rollout restart` and friends set on the template.
_RESTART_ANNOTATIONS = ("kubectl.kubernetes.io/restartedAt",)


def _env_source(env: Obj) -> str:
    vf = env.child("valueFrom")
    if not vf:
        return "value"
    for key, label in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
        r = vf.child(key)
        if r:
            opt = ", optional" if r.flag("optional") else ""
            return f"{label} {r.text('name')} key {r.text('key')}{opt}"
    if vf.has("fieldRef"):
        return f"fieldRef {vf.text('fieldRef', 'fieldPath')}"
    if vf.has("resourceFieldRef"):
        return f"resourceFieldRef {vf.text('resourceFieldRef', 'resource')}"
    return "valueFrom"


def _env_from(c: Obj) -> list[str]:
    out: list[str] = []
    for ef in c.children("envFrom"):
        for key, label in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
            r = ef.child(key)
            if r:
                out.append(
                    f"{label} {r.text('name')}"
                    + (f" prefix {ef.text('prefix')}" if ef.text("prefix") else "")
                )
    return out


def _volume(v: Obj) -> str:
    for key, field in (
        ("configMap", "name"),
        ("secret", "secretName"),
        ("persistentVolumeClaim", "claimName"),
        ("hostPath", "path"),
        ("csi", "driver"),
    ):
        if v.has(key):
            return f"{key} {v.text(key, field)}"
    if v.has("projected"):
        parts = []
        for s in v.children("projected", "sources"):
            for key in ("configMap", "secret"):
                if s.has(key):
                    parts.append(f"{key} {s.text(key, 'name')}")
        return "projected " + ", ".join(parts) if parts else "projected"
    other = next((k for k in v if k != "name"), "")
    return other


def _labels(m: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(m.items())) or "<none>"


def _fmt(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]" if items else "<none>"


def _resources(c: Obj) -> dict[str, str]:
    out: dict[str, str] = {}
    for kind in ("requests", "limits"):
        for res, val in c.mapping("resources", kind).items():
            out[f"{kind}.{res}"] = val
    return out


def _added(what: str, detail: str) -> Phrase:
    return Phrase("EV-DIFF-ADDED", {"what": what, "detail": detail})


def _removed(what: str) -> Phrase:
    return Phrase("EV-DIFF-REMOVED", {"what": what})


def diff(old: Obj, new: Obj) -> list[Text]:
    """Lines such as `container web: image shop/web:1.4.2 -> shop/web:1.5.0`; [] if nothing we
    track changed. `old`/`new` are pod templates (`spec.template` of a ReplicaSet). A change quoted
    in the cluster's notation stays a string; "added", "removed", "value changed" are Phrases."""
    lines: list[Text] = []
    for key, label in (("initContainers", "init container"), ("containers", "container")):
        before = {c.text("name"): c for c in old.children("spec", key)}
        after = {c.text("name"): c for c in new.children("spec", key)}
        for name, spec in after.items():
            if name not in before:
                lines.append(_added(f"{label} {name}", f"image {spec.text('image')}"))
        for name in before:
            if name not in after:
                lines.append(_removed(f"{label} {name}"))
        for name, a in after.items():
            b = before.get(name)
            if b is not None:
                lines += _container_diff(f"{label} {name}", b, a)
    before_vols = {v.text("name"): _volume(v) for v in old.children("spec", "volumes")}
    after_vols = {v.text("name"): _volume(v) for v in new.children("spec", "volumes")}
    for name, src in after_vols.items():
        if name not in before_vols:
            lines.append(_added(f"volume {name}", src))
        elif before_vols[name] != src:
            lines.append(f"volume {name}: {before_vols[name]} -> {src}")
    for name in before_vols:
        if name not in after_vols:
            lines.append(_removed(f"volume {name}"))
    for path, label in (
        (("spec", "serviceAccountName"), "serviceAccountName"),
        (("spec", "runtimeClassName"), "runtimeClassName"),
        (("spec", "priorityClassName"), "priorityClassName"),
    ):
        if old.text(*path) != new.text(*path):
            lines.append(f"{label}: {old.text(*path) or '<none>'} -> {new.text(*path) or '<none>'}")
    if old.mapping("spec", "nodeSelector") != new.mapping("spec", "nodeSelector"):
        before_sel = _labels(old.mapping("spec", "nodeSelector"))
        after_sel = _labels(new.mapping("spec", "nodeSelector"))
        lines.append(f"nodeSelector: {before_sel} -> {after_sel}")
    for ann in _RESTART_ANNOTATIONS:
        was, now = old.annotations.get(ann, ""), new.annotations.get(ann, "")
        if was != now:
            lines.append(
                f"annotation {ann}: {was or '<none>'} -> {now or '<none>'} (kubectl rollout restart)"
            )
    return lines


def _container_diff(label: str, b: Obj, a: Obj) -> list[Text]:
    lines: list[Text] = []
    if b.text("image") != a.text("image"):
        lines.append(f"{label}: image {b.text('image')} -> {a.text('image')}")
    for key in ("command", "args"):
        if b.strings(key) != a.strings(key):
            lines.append(f"{label}: {key} {_fmt(b.strings(key))} -> {_fmt(a.strings(key))}")
    env_b = {e.text("name"): e for e in b.children("env")}
    env_a = {e.text("name"): e for e in a.children("env")}
    for name, e in env_a.items():
        if name not in env_b:
            lines.append(_added(f"{label}: env {name}", _env_source(e)))
        else:
            sb, sa = _env_source(env_b[name]), _env_source(e)
            if sb != sa:
                lines.append(f"{label}: env {name}: {sb} -> {sa}")
            elif sa == "value" and env_b[name].text("value") != e.text("value"):
                lines.append(Phrase("EV-DIFF-VALUE-CHANGED", {"what": f"{label}: env {name}"}))
    for name in env_b:
        if name not in env_a:
            lines.append(_removed(f"{label}: env {name}"))
    if _env_from(b) != _env_from(a):
        lines.append(f"{label}: envFrom {_fmt(_env_from(b))} -> {_fmt(_env_from(a))}")
    rb, ra = _resources(b), _resources(a)
    for res in sorted({*rb, *ra}):
        if rb.get(res) != ra.get(res):
            lines.append(f"{label}: resources.{res} {rb.get(res, '<none>')} -> {ra.get(res, '<none>')}")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        pb, pa = probe_line(b.child(probe)), probe_line(a.child(probe))
        if pb != pa:
            lines.append(f"{label}: {probe} {pb or '<none>'} -> {pa or '<none>'}")
    mb = sorted(f"{m.text('name')}:{m.text('mountPath')}" for m in b.children("volumeMounts"))
    ma = sorted(f"{m.text('name')}:{m.text('mountPath')}" for m in a.children("volumeMounts"))
    if mb != ma:
        lines.append(f"{label}: volumeMounts {_fmt(mb)} -> {_fmt(ma)}")
    for path in (("securityContext", "runAsNonRoot"), ("securityContext", "runAsUser")):
        if b.text(*path) != a.text(*path):
            lines.append(
                f"{label}: {'.'.join(path)} {b.text(*path) or '<unset>'} -> {a.text(*path) or '<unset>'}"
            )
    return lines
