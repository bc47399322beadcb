"""`name <pod-name>`: decode a generated name into its owner, template hash and random suffix.

Offline the readings come from the naming rules alone, ranked most likely first (a name can fit
several: `web-7d4b9c8f6d-x2x9k` is a Deployment's pod, or the pod of a DaemonSet named
`web-7d4b9c8f6d`). With a cluster or snapshot the real ownerReferences chain confirms or corrects
the guess. Rules (FACTS.md §1): apimachinery `util/rand/rand.go` (alphabet, SafeEncodeString),
apiserver `storage/names/generate.go` (58 + 5), `controller_utils.go` (ComputeHash),
`stateful_set_utils.go`, `indexed_job_utils.go` (podGenerateNameWithIndex), cronjob `utils.go`
(getJobName: Unix minutes), kubelet `config/common.go` (static pods `<name>-<node>`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from handlers.errors import UsageError
from handlers.kinds import KINDS
from handlers.model import FieldValue, Finding, Note, Phrase, Request, Result, Target, Text
from handlers.objects import Obj, age
from handlers.view import ClusterView

#: `utilrand.String` draws from these 27 characters: no vowels, no 0, 1 or 3 (so no words form).
ALPHABET: Final = "bcdfghjklmnpqrstvwxz2456789"
#: SafeEncodeString maps each decimal digit c to ALPHABET[ord(c) % 27]: 0->4 1->5 ... 9->f.
ENCODE: Final = {d: ALPHABET[ord(d) % len(ALPHABET)] for d in "0123456789"}
DECODE: Final = {v: k for k, v in ENCODE.items()}
HASH_CHARS: Final = frozenset(DECODE)
SUFFIX_LEN: Final = 5
#: generate.go: names are at most 63 characters, so generateName bases are cut at 63 - 5.
MAX_NAME: Final = 63
MAX_GENERATED_BASE: Final = MAX_NAME - SUFFIX_LEN
#: pod-template-hash is the decimal FNV-32a sum, so at most 4294967295 (10 digits).
UINT32_MAX: Final = 2**32 - 1
#: A CronJob name may be at most 52 characters: the controller appends `-` + 10 more (docs).
MAX_CRONJOB_NAME: Final = 52
#: CronJobs appeared in 2016 (batch/v2alpha1): job-name timestamps before that are not timestamps.
CRON_EPOCH: Final = datetime(2016, 1, 1, tzinfo=UTC)
#: Control-plane static pods as kubeadm names them: `<manifest>-<nodeName>`.
STATIC_MANIFESTS: Final = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd")
#: Indexed Jobs allow at most 10^5 completions (batch validation), so bigger "indexes" are unlikely.
MAX_INDEX: Final = 100_000

_VALID = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_DECIMAL = re.compile(r"^(0|[1-9][0-9]*)$")


def encode_hash(decimal: str) -> str:
    """SafeEncodeString of a decimal pod-template-hash: `41035808` -> `85479d4d`."""
    return "".join(ENCODE[c] for c in decimal)


def decode_hash(encoded: str) -> str | None:
    """The decimal FNV sum behind an encoded hash, or None if a character cannot appear in one."""
    if not encoded or any(c not in HASH_CHARS for c in encoded):
        return None
    return "".join(DECODE[c] for c in encoded)


def is_suffix(part: str) -> bool:
    """Exactly 5 characters from the generateName alphabet."""
    return len(part) == SUFFIX_LEN and all(c in ALPHABET for c in part)


def is_hash(part: str, *, cut: bool = False) -> bool:
    """Could `part` be a pod-template-hash (or, if `cut`, the start of one)?

    The decimal value has no leading zero (so an encoded hash never starts with `4` unless it is
    just `4`) and fits in 32 bits (at most 10 characters).
    """
    dec = decode_hash(part)
    if dec is None or len(dec) > 10 or (len(dec) > 1 and dec[0] == "0"):
        return False
    return cut or int(dec) <= UINT32_MAX


def _decimal(part: str) -> bool:
    return bool(_DECIMAL.match(part))


def _hash_score(length: int) -> int:
    # FNV sums are uniform over 2^32: 77% have 10 digits, 21% have 9, 2% have 8, 0.2% have 7.
    if length >= 9:
        return 90
    if length == 8:
        return 70
    if length == 7:
        return 50
    return 30


@dataclass(frozen=True, slots=True)
class Reading:
    """One way the name could have been generated."""

    code: str
    score: int
    #: Expected controller chain from the object upward: (allowed kinds, name or name prefix).
    chain: tuple[tuple[frozenset[str], str], ...]
    fields: dict[str, FieldValue] = field(default_factory=dict)
    #: The owner name may be longer than what survived the 58-character cut.
    prefix_only: bool = False


_GENERATE_NAME_OWNERS: Final = frozenset({"DaemonSet", "Job", "ReplicaSet", "ReplicationController"})


def decode(name: str, now: datetime, nodes: tuple[str, ...] = ()) -> list[Reading]:
    """Every reading of `name`, most likely first (deterministic for the same input and `now`)."""
    readings: list[Reading] = []
    tokens = name.split("-")
    last = tokens[-1]
    if len(tokens) >= 2 and is_suffix(last):
        readings += _generated(name[: -(SUFFIX_LEN + 1)], last, now, maybe_cut=len(name) == MAX_NAME)
    elif len(name) == MAX_NAME and is_suffix(name[MAX_GENERATED_BASE:]):
        readings += _cut_generated(name[:MAX_GENERATED_BASE], name[MAX_GENERATED_BASE:])
    if len(tokens) >= 2:
        head = name[: -(len(last) + 1)]
        if _decimal(last):
            readings += _numbered(head, last, now)
        if is_hash(last):
            readings.append(_replicaset(name, head, last))
    readings += _static(name, nodes)
    if len(tokens) == 1:
        readings += _bare_hash(name)
    order = {r.code: i for i, r in enumerate(readings)}
    return sorted(readings, key=lambda r: (-r.score, order[r.code]))


def _generated(base: str, suffix: str, now: datetime, *, maybe_cut: bool) -> list[Reading]:
    """`<base>-<suffix>`: generateName `<base>-` plus 5 random characters."""
    out: list[Reading] = []
    parts = base.split("-")
    if len(parts) >= 2:
        head, last = "-".join(parts[:-1]), parts[-1]
        if is_hash(last):
            dec = decode_hash(last) or ""
            out.append(
                Reading(
                    "NAME-DEPLOYMENT-POD",
                    _hash_score(len(last)),
                    ((frozenset({"ReplicaSet"}), base), (frozenset({"Deployment"}), head)),
                    {
                        "deployment": head,
                        "replicaset": base,
                        "hash": last,
                        "hash_decimal": dec,
                        "hash_len": len(last),
                        "suffix": suffix,
                        "cut": False,
                    },
                )
            )
        if _decimal(last):
            out += _numbered_pod(head, last, base, suffix, now, maybe_cut=maybe_cut)
    out.append(
        Reading(
            "NAME-OWNER-POD",
            40,
            ((_GENERATE_NAME_OWNERS, base),),
            {"owner": base, "suffix": suffix, "cut": maybe_cut},
            prefix_only=maybe_cut,
        )
    )
    return out


def _cut_generated(base: str, suffix: str) -> list[Reading]:
    """A 63-character name whose generateName was cut at 58: no dash before the suffix."""
    out: list[Reading] = []
    parts = base.split("-")
    if len(parts) >= 2:
        head, last = "-".join(parts[:-1]), parts[-1]
        if is_hash(last, cut=True):
            out.append(
                Reading(
                    "NAME-DEPLOYMENT-POD",
                    80,
                    ((frozenset({"ReplicaSet"}), base), (frozenset({"Deployment"}), head)),
                    {
                        "deployment": head,
                        "replicaset": base,
                        "hash": last,
                        "hash_decimal": decode_hash(last) or "",
                        "hash_len": len(last),
                        "suffix": suffix,
                        "cut": True,
                    },
                    prefix_only=True,
                )
            )
        elif _decimal(last) and len(head) <= MAX_CRONJOB_NAME:
            out.append(
                Reading(
                    "NAME-CRONJOB-POD",
                    50,
                    ((frozenset({"Job"}), base), (frozenset({"CronJob"}), head)),
                    {
                        "cronjob": head,
                        "job": base,
                        "stamp": last,
                        "unit": "",
                        "scheduled": "",
                        "ago": "",
                        "suffix": suffix,
                        "cut": True,
                    },
                    prefix_only=True,
                )
            )
    out.append(
        Reading(
            "NAME-OWNER-POD",
            45,
            ((_GENERATE_NAME_OWNERS, base),),
            {"owner": base, "suffix": suffix, "cut": True},
            prefix_only=True,
        )
    )
    return out


def cron_time(stamp: str, unit: str, now: datetime) -> datetime | None:
    """The scheduled time a CronJob's job-name number stands for, if plausible (2016..now+1d)."""
    if len(stamp) > 12:
        return None
    seconds = int(stamp) * (60 if unit == "minutes" else 1)
    when = datetime.fromtimestamp(seconds, tz=UTC)
    return when if CRON_EPOCH <= when <= now + timedelta(days=1) else None


def _cron_fields(stamp: str, unit: str, when: datetime, now: datetime) -> dict[str, FieldValue]:
    return {
        "stamp": stamp,
        "unit": unit,
        "scheduled": when.strftime("%Y-%m-%d %H:%M UTC"),
        "ago": age(when, now) if when <= now else "",
    }


def _numbered_pod(
    head: str, number: str, base: str, suffix: str, now: datetime, *, maybe_cut: bool = False
) -> list[Reading]:
    """`<head>-<number>-<suffix>`: a CronJob's pod, an indexed Job's pod, or a pre-1.8 Deployment's."""
    out: list[Reading] = []
    for unit, score in (("minutes", 85), ("seconds", 35)):
        when = cron_time(number, unit, now)
        if when is not None and len(head) <= MAX_CRONJOB_NAME:
            out.append(
                Reading(
                    "NAME-CRONJOB-POD",
                    score,
                    ((frozenset({"Job"}), base), (frozenset({"CronJob"}), head)),
                    {
                        "cronjob": head,
                        "job": base,
                        **_cron_fields(number, unit, when, now),
                        "suffix": suffix,
                        "cut": False,
                    },
                )
            )
    out.append(
        Reading(
            "NAME-INDEXED-JOB-POD",
            70 if int(number) < MAX_INDEX else 15,
            ((frozenset({"Job"}), head),),
            # podGenerateNameWithIndex cuts the job name, never `-<index>-`, to fit 58 characters.
            {"job": head, "index": number, "suffix": suffix, "cut": maybe_cut},
            prefix_only=maybe_cut,
        )
    )
    if len(number) >= 6 and int(number) <= UINT32_MAX:
        out.append(
            Reading(
                "NAME-LEGACY-HASH-POD",
                55 if len(number) >= 9 else 30,
                ((frozenset({"ReplicaSet"}), base), (frozenset({"Deployment"}), head)),
                {
                    "deployment": head,
                    "replicaset": base,
                    "hash": number,
                    "encoded": encode_hash(number),
                    "suffix": suffix,
                },
            )
        )
    return out


def _numbered(head: str, number: str, now: datetime) -> list[Reading]:
    """`<head>-<number>`: a StatefulSet pod, a CronJob's Job, or a pre-1.8 ReplicaSet."""
    out: list[Reading] = []
    for unit, score in (("minutes", 85), ("seconds", 35)):
        when = cron_time(number, unit, now)
        if when is not None and len(head) <= MAX_CRONJOB_NAME:
            out.append(
                Reading(
                    "NAME-CRONJOB-JOB",
                    score,
                    ((frozenset({"CronJob"}), head),),
                    {"cronjob": head, "job": f"{head}-{number}", **_cron_fields(number, unit, when, now)},
                )
            )
    out.append(
        Reading(
            "NAME-STATEFULSET-POD",
            80 if len(number) <= 4 else 20,
            ((frozenset({"StatefulSet"}), head),),
            {"statefulset": head, "ordinal": int(number)},
        )
    )
    if len(number) >= 6 and int(number) <= UINT32_MAX:
        out.append(
            Reading(
                "NAME-LEGACY-REPLICASET",
                30,
                ((frozenset({"Deployment"}), head),),
                {"deployment": head, "hash": number, "encoded": encode_hash(number)},
            )
        )
    return out


def _replicaset(name: str, head: str, hash_: str) -> Reading:
    return Reading(
        "NAME-REPLICASET",
        _hash_score(len(hash_)) - 15,
        ((frozenset({"Deployment"}), head),),
        {"deployment": head, "replicaset": name, "hash": hash_, "hash_decimal": decode_hash(hash_) or ""},
    )


def _static(name: str, nodes: tuple[str, ...]) -> list[Reading]:
    """Static pods are mirrored as `<manifest name>-<node name>` (node name lower-cased)."""
    out: list[Reading] = []
    for node in sorted(nodes, key=len, reverse=True):
        node_l = node.lower()
        if name.endswith(f"-{node_l}") and len(name) > len(node_l) + 1:
            manifest = name[: -(len(node_l) + 1)]
            out.append(
                Reading(
                    "NAME-STATIC-POD",
                    95,
                    ((frozenset({"Node"}), node),),
                    {"manifest": manifest, "node": node, "node_seen": True},
                )
            )
            return out
    for manifest in STATIC_MANIFESTS:
        if name.startswith(f"{manifest}-") and len(name) > len(manifest) + 1:
            node = name[len(manifest) + 1 :]
            out.append(
                Reading(
                    "NAME-STATIC-POD",
                    60 if nodes else 75,
                    ((frozenset({"Node"}), node),),
                    {"manifest": manifest, "node": node, "node_seen": False},
                )
            )
    return out


def _bare_hash(token: str) -> list[Reading]:
    """A lone token: a pod-template-hash label value, decimal (old clusters) or encoded."""
    out: list[Reading] = []
    if _decimal(token) and int(token) <= UINT32_MAX and len(token) >= 3:
        out.append(Reading("NAME-HASH-DECIMAL", 60, (), {"value": token, "encoded": encode_hash(token)}))
    if is_hash(token) and len(token) >= 3:
        out.append(
            Reading("NAME-HASH-ENCODED", 50, (), {"hash": token, "hash_decimal": decode_hash(token) or ""})
        )
    return out


def not_generated(name: str) -> Finding:
    """Why no part of `name` can have come from a generator (the suffix alphabet and length)."""
    tokens = name.split("-")
    last = tokens[-1] if len(tokens) > 1 else ""
    bad = "".join(sorted({c for c in last if c not in ALPHABET}))
    before = tokens[-2] if len(tokens) > 2 else ""
    if before and is_hash(before):
        looks_like = "deployment-pod"
    elif before and _decimal(before):
        looks_like = "numbered-pod"
    else:
        looks_like = ""
    return Finding(
        "NAME-NOT-GENERATED",
        {
            "name": name,
            "part": last,
            "bad_chars": bad,
            "length": len(last),
            "wrong_len": bool(last) and len(last) != SUFFIX_LEN,
            "looks_like": looks_like,
        },
    )


# -- the verb ---------------------------------------------------------------------------------


def decode_name(req: Request, view: ClusterView) -> Result:
    """`name <pod-name>`: readings from the rules; with a cluster, the real owner chain."""
    if not req.args:
        raise UsageError("missing_arg", "name", reason="pod_name")
    if len(req.args) > 1:
        raise UsageError("extra_args", "name", value=" ".join(req.args[1:]))
    raw = req.args[0].strip()
    ns_inline, _, name = raw.rpartition("/") if "/" in raw else ("", "", raw)
    namespace = req.namespace or ns_inline or None
    if not _VALID.match(name) or len(name) > 253:
        bad = "".join(sorted({c for c in name if not (c.islower() or c.isdigit() or c in "-.")}))
        return Result.answer(
            req,
            target=Target("Name", namespace, name),
            findings=[Finding("NAME-INVALID", {"name": name, "bad": bad, "upper": name.lower() != name})],
        )
    nodes = tuple(n.name for n in view.soft_list("Node")) if view.has_data else ()
    readings = decode(name, req.now, nodes)
    notes: list[Note] = []
    confirmed: list[Finding] = []
    target = Target("Name", namespace, name)
    if view.has_data:
        confirmed, target = _confirm(req, view, name, namespace, readings)
    else:
        notes.append(Note("OFFLINE"))
    # Once the object is found, the readings' commands can name its namespace.
    ns = target.namespace or namespace
    findings = [
        *confirmed,
        *(_reading_finding(r, i + 1, len(readings), name, ns) for i, r in enumerate(readings)),
    ]
    # Say plainly when no part can be generated: nothing fits, or only weak readings remain and the
    # last part is neither a random suffix nor a number (StatefulSet ordinal, CronJob timestamp).
    last = name.split("-")[-1]
    weak = not any(r.score >= 50 for r in readings) and not is_suffix(last) and not last.isdigit()
    if not readings or weak:
        findings.append(not_generated(name))
    return Result.answer(req, target=target, findings=findings, notes=notes)


def _reading_finding(r: Reading, rank: int, total: int, name: str, namespace: str | None) -> Finding:
    return Finding(r.code, {**r.fields, "name": name, "rank": rank, "of": total, "ns": namespace or ""})


# -- confirmation against the cluster ---------------------------------------------------------

#: Kinds a user may paste a generated name of, in the order we look for them.
_CONFIRM_KINDS: Final = ("Pod", "Job", "ReplicaSet")
#: How many same-named objects (in different namespaces) to confirm before listing the rest.
_MAX_CONFIRM: Final = 3


@dataclass(frozen=True, slots=True)
class _Link:
    kind: str
    name: str
    obj: Obj | None


def _confirm(
    req: Request, view: ClusterView, name: str, namespace: str | None, readings: list[Reading]
) -> tuple[list[Finding], Target]:
    for kind in _CONFIRM_KINDS:
        if namespace:
            found = [o for o in [view.soft_get(kind, namespace, name)] if o is not None]
        else:
            found = sorted((o for o in view.soft_list(kind) if o.name == name), key=lambda o: o.ref)
        if found:
            out = [_confirmed(req, view, obj, readings) for obj in found[:_MAX_CONFIRM]]
            first = found[0]
            return out, Target(kind, first.namespace or None, first.name)
    scope = namespace or ""
    return [Finding("NAME-NOT-IN-CLUSTER", {"name": name, "scope": scope})], Target("Name", namespace, name)


def _chain(view: ClusterView, obj: Obj) -> list[_Link]:
    links: list[_Link] = []
    cur = obj
    for _ in range(4):  # Pod -> Job -> CronJob is the longest built-in chain
        ref = cur.controller
        if not ref:
            break
        kind, name = ref.text("kind"), ref.text("name")
        nxt = view.soft_get(kind, cur.namespace, name) if kind in KINDS and kind != "Node" else None
        links.append(_Link(kind, name, nxt))
        if nxt is None:
            break
        cur = nxt
    if not links and obj.kind == "Pod" and "kubernetes.io/config.mirror" in obj.annotations:
        links.append(_Link("Node", obj.text("spec", "nodeName"), None))
    return links


def _matches(reading: Reading, links: list[_Link]) -> bool:
    """The reading's expected owners agree with the real chain, as far as both go."""
    if not reading.chain or not links:
        return False
    for (kinds, want), link in zip(reading.chain, links, strict=False):
        if link.kind not in kinds:
            return False
        same = link.name.startswith(want) if reading.prefix_only else link.name == want
        if not same:
            return False
    return True


def _label_state(label_hash: str, name_hash: str, cut: bool) -> str:
    """How the pod-template-hash label compares with the hash in the name."""
    if not label_hash:
        return "absent"
    if not name_hash:
        return "unused"
    if label_hash == name_hash or (cut and label_hash.startswith(name_hash)):
        return "same"
    if _decimal(label_hash):
        encoded = encode_hash(label_hash)
        if encoded == name_hash or (cut and encoded.startswith(name_hash)):
            return "decimal"
    return "differs"


def _confirmed(req: Request, view: ClusterView, obj: Obj, readings: list[Reading]) -> Finding:
    kind = obj.kind or "Pod"
    links = _chain(view, obj)
    match_rank = next((i + 1 for i, r in enumerate(readings) if _matches(r, links)), 0)
    chain_text = " → ".join([f"{kind} {obj.ref}", *(f"{link.kind} {link.name}" for link in links)])
    evidence: list[Text] = []
    for link_obj in [obj, *(lk.obj for lk in links if lk.obj is not None)]:
        for ref in link_obj.owner_refs:
            owner = f"{ref.text('kind')} {ref.text('name')}"
            controller = ref.text("controller") or "false"
            evidence.append(
                f"{link_obj.kind or kind} {link_obj.name}: ownerReference {owner} (controller={controller})"
            )
        stamp = link_obj.annotations.get("batch.kubernetes.io/cronjob-scheduled-timestamp")
        if stamp:
            evidence.append(
                f"{link_obj.kind} {link_obj.name}: batch.kubernetes.io/cronjob-scheduled-timestamp={stamp}"
            )
    labels = obj.labels
    for key in (
        "pod-template-hash",
        "apps.kubernetes.io/pod-index",
        "statefulset.kubernetes.io/pod-name",
        "batch.kubernetes.io/job-completion-index",
        "batch.kubernetes.io/job-name",
    ):
        if key in labels:
            evidence.append(Phrase("EV-NAME-LABEL", {"key": key, "value": labels[key]}))
    label_hash = labels.get("pod-template-hash", "")
    name_hash, cut = _name_hash(readings)
    return Finding(
        "NAME-CONFIRMED",
        {
            "kind": kind,
            "ns": obj.namespace,
            "name": obj.name,
            "chain": chain_text,
            "owner_kind": links[0].kind if links else "",
            "owner": links[0].name if links else "",
            "top_kind": links[-1].kind if links else "",
            "top": links[-1].name if links else "",
            "match_rank": match_rank,
            "readings": len(readings),
            "label_hash": label_hash,
            "label_encoded": encode_hash(label_hash) if _decimal(label_hash) else "",
            "name_hash": name_hash,
            "label_state": _label_state(label_hash, name_hash, cut),
            "age": age(obj.created, req.now),
        },
        evidence=tuple(evidence),
    )


def _name_hash(readings: list[Reading]) -> tuple[str, bool]:
    """The encoded hash the name carries (if any reading finds one), and whether it was cut."""
    for r in readings:
        if r.code in ("NAME-DEPLOYMENT-POD", "NAME-REPLICASET"):
            return str(r.fields.get("hash", "")), bool(r.fields.get("cut", False))
    return "", False
