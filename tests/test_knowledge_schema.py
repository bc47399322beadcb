"""The reason knowledge (templates/knowledge/reasons.yaml) and the REASON-/HOW- catalogue entries, as data.

Schema: every entry has the required keys with the right types, only known keys, known `appears_in`
and `source` values, see_also pointing at entries that exist; every reason FACTS.md §3/§4 names (and
the ones the brief adds) is present; legacy reasons say what replaced them. Rendering: every entry
renders through its catalogue template, every runbook renders with and without a pod.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import knowledge
from bot.catalogue import entries, render_finding
from handlers.how import TOPICS, placeholders
from handlers.model import Finding

ROOT = Path(__file__).resolve().parent.parent
REASONS = ROOT / "templates" / "knowledge" / "reasons.yaml"

REQUIRED: dict[str, type] = {
    "appears_in": list,
    "source": list,
    "ref": list,
    "summary": str,
    "meaning": str,
    "causes": list,
    "next_steps": list,
}
OPTIONAL: dict[str, type] = {
    "message": str,
    "see_also": list,
    "legacy": dict,
    "unverified": str,
    "aliases": list,
    "prefix": str,
}
APPEARS_IN = {
    "container-waiting",
    "container-terminated",
    "pod-status",
    "pod-phase",
    "pod-condition",
    "kubectl-status",
    "event",
    "node-event",
    "kubelet-sync",
}
SOURCES = {
    "kubelet",
    "kube-scheduler",
    "kube-controller-manager",
    "container runtime",
    "node-problem-detector",
    "kubectl",
    "dockershim",
}

# Every reason FACTS.md names: §3 (terminated reasons), §4 (waiting reasons, sync results, legacy,
# event reasons, eviction, OOM events) and §5 (kubectl STATUS values and kubelet admission reasons).
FACTS_REASONS = {
    # §3
    "Completed", "Error", "OOMKilled", "StartError", "ContainerStatusUnknown",
    # §4 waiting reasons
    "ContainerCreating", "PodInitializing", "ErrImagePull", "ImagePullBackOff", "ImageInspectError",
    "ErrImageNeverPull", "InvalidImageName", "RegistryUnavailable", "SignatureValidationFailed",
    "CrashLoopBackOff", "CreateContainerConfigError", "CreateContainerError", "PreCreateHookError",
    "PreStartHookError", "PostStartHookError", "RunContainerError",
    # §4 sync results
    "KillContainerError", "CreatePodSandboxError", "ConfigPodSandboxError", "KillPodSandboxError",
    "ResizePodInPlaceError", "RemoveContainerError",
    # §4 legacy
    "VerifyNonRootError", "RunInitContainerError", "SetupNetworkError", "TeardownNetworkError",
    "ContainerCannotRun",
    # §4 events
    "FailedCreatePodSandBox", "SandboxChanged", "Created", "Started", "Failed", "Killing", "Preempting",
    "BackOff", "ExceededGracePeriod", "Pulling", "Pulled", "InspectFailed", "Unhealthy", "ProbeWarning",
    "FailedMount", "FailedAttachVolume", "FailedMapVolume", "FailedPostStartHook", "FailedPreStopHook",
    "FailedSync", "NetworkNotReady", "FailedKillPod", "FailedCreatePodContainer", "Evicted",
    "FailedScheduling", "Scheduled", "SystemOOM", "OOMKilling",
    # §5 (kubectl STATUS, pod status.reason, kubelet admission)
    "NodeLost", "OutOfcpu", "OutOfmemory", "NodeAffinity", "SchedulingGated", "Terminating", "Unknown",
    "NotReady",
}  # fmt: skip
# The brief adds these; Preempted is the scheduler's event, Preempting the kubelet's.
BRIEF_REASONS = {"NodeNotReady", "Preempted", "Pending", "OutOfephemeral-storage", "OutOfpods"}
FACTS_LEGACY = {
    "VerifyNonRootError",
    "RunInitContainerError",
    "SetupNetworkError",
    "TeardownNetworkError",
    "ContainerCannotRun",
}
PLACEHOLDER = re.compile(r"<[a-z][a-z0-9-]*>")
#: A jinja expression that did not render (a typo in a template would leave one).
PLACEHOLDER_LEFT = re.compile(r"{{ |{%")


@functools.cache
def _data() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(REASONS.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name).lower()


def test_every_entry_has_the_required_keys_with_the_right_types() -> None:
    problems = []
    for name, entry in _data().items():
        for key, kind in REQUIRED.items():
            if not isinstance(entry.get(key), kind) or not entry[key]:
                problems.append(f"{name}: {key} must be a non-empty {kind.__name__}")
        for key in entry:
            if key not in REQUIRED and key not in OPTIONAL:
                problems.append(f"{name}: unknown key {key}")
            elif key in OPTIONAL and not isinstance(entry[key], OPTIONAL[key]):
                problems.append(f"{name}: {key} must be a {OPTIONAL[key].__name__}")
        for key in ("causes", "next_steps", "ref", "see_also", "aliases"):
            for item in entry.get(key) or ():
                if not isinstance(item, str) or not item.strip() or item != item.strip():
                    problems.append(f"{name}: {key} items must be trimmed non-empty strings: {item!r}")
    assert problems == []


def test_appears_in_and_source_use_the_known_words() -> None:
    for name, entry in _data().items():
        assert set(entry["appears_in"]) <= APPEARS_IN, name
        assert set(entry["source"]) <= SOURCES, name


def test_see_also_names_existing_entries_and_never_itself() -> None:
    data = _data()
    for name, entry in data.items():
        for other in entry.get("see_also") or ():
            assert other in data, f"{name}: see_also {other} is not an entry"
            assert other != name


def test_every_reason_facts_md_names_is_present() -> None:
    missing = (FACTS_REASONS | BRIEF_REASONS) - set(_data())
    assert missing == set()


def test_legacy_reasons_are_marked_and_say_what_replaced_them() -> None:
    data = _data()
    legacy = {name for name, entry in data.items() if entry.get("legacy")}
    assert legacy == FACTS_LEGACY
    for name in legacy:
        assert set(data[name]["legacy"]) == {"removed", "now"}, name
        # "now" names at least one current reason, and that reason is explained too.
        named = [
            n for n in data if n != name and not data[n].get("legacy") and n in data[name]["legacy"]["now"]
        ]
        assert named, f"{name}: legacy.now names no current reason"


def test_spellings_are_unique_after_normalising() -> None:
    seen: dict[str, str] = {}
    for name, entry in _data().items():
        for spelling in (name, *(entry.get("aliases") or ())):
            key = _norm(spelling)
            assert key not in seen, f"{spelling} ({name}) collides with {seen.get(key)}"
            seen[key] = name


def test_texts_are_plain_translatable_sentences() -> None:
    """Texts are rendered as they are: no template syntax, one whole sentence or more per string."""
    lowercase_names = {"containerd", "kubelet", "kubectl", "node-problem-detector"}
    problems = []
    for name, entry in _data().items():
        texts = [entry["summary"], entry["meaning"], *entry["causes"]]
        if entry.get("legacy"):
            texts.append(entry["legacy"]["now"])
        if entry.get("unverified"):
            texts.append(entry["unverified"])
        for text in texts:
            if "{{" in text or "{%" in text:
                problems.append(f"{name}: template syntax in {text[:40]!r}")
            if not (text[0].isupper() or text[0] in "`(" or text.startswith(tuple(lowercase_names))):
                problems.append(f"{name}: {text[:30]!r} should start a sentence")
            if not text.rstrip("`)").endswith((".", "?")):
                problems.append(f"{name}: {text[-30:]!r} should end a sentence")
    assert problems == []


def test_next_steps_use_only_the_known_placeholders() -> None:
    known = {
        "<ns>",
        "<pod>",
        "<container>",
        "<init-container>",
        "<node>",
        "<image>",
        "<registry>",
        "<code>",
        "<container-id>",
    }
    for name, entry in _data().items():
        for step in entry["next_steps"]:
            assert set(PLACEHOLDER.findall(step)) <= known, f"{name}: {step}"


def test_every_entry_renders_through_its_catalogue_template() -> None:
    for name in _data():
        code = "REASON-LEGACY" if _data()[name].get("legacy") else "REASON-EXPLAINED"
        fields = {"reason": name, "asked": name, "init": False, "corrected": False, "member": ""}
        rendered = render_finding(Finding(code, fields))
        assert name in rendered.title
        assert _data()[name]["meaning"] in rendered.detail
        assert list(rendered.next_steps) == _data()[name]["next_steps"]


def test_the_index_handed_to_handlers_matches_the_data() -> None:
    data = _data()
    index = knowledge.index()
    assert {r.name for r in index.reasons} == set(data)
    assert {r.name for r in index.reasons if r.legacy} == FACTS_LEGACY
    assert [r.prefix for r in index.reasons if r.prefix] == ["OutOf"]


@pytest.mark.parametrize("topic", list(TOPICS))
def test_every_runbook_renders_without_and_with_each_runtime(topic: str) -> None:
    # The placeholders `how` itself fills in when no pod is named (one list, in handlers/how.py).
    base: dict[str, Any] = placeholders(None, "cluster.local")
    named = dict(base, named=True, ns="shop", pod="web-0", container="web", node="n1", container_id="abc123")
    for fields in (base, dict(named, runtime="containerd"), dict(named, runtime="docker", docker=True)):
        rendered = render_finding(Finding(TOPICS[topic], fields))
        assert rendered.next_steps, topic
        joined = "\n".join(rendered.next_steps)
        assert not PLACEHOLDER_LEFT.search(joined + rendered.title + rendered.detail), topic
        # Docker-era commands only on Docker nodes (dockershim was removed in v1.24); on those the
        # node-side steps use docker instead of crictl.
        if not fields["docker"]:
            assert "docker " not in joined, (topic, fields["runtime"])
        elif topic in ("capture", "exec", "cp"):
            assert "docker inspect --format '{{.State.Pid}}' abc123" in joined
            assert "crictl" not in joined


def test_every_reason_and_how_code_is_in_the_catalogue() -> None:
    used = set()
    for path in (ROOT / "handlers" / "reason.py", ROOT / "handlers" / "how.py"):
        used |= set(re.findall(r'"((?:REASON|HOW)-[A-Z-]+)"', path.read_text(encoding="utf-8")))
    defined = {code for code in entries() if code.startswith(("REASON-", "HOW-"))}
    assert used == defined
    for code in defined:
        assert entries()[code].since == "0.1.0"
