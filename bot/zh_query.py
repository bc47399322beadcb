"""Questions asked in Chinese, rewritten into the question grammar before it is parsed.

Kubernetes names, numbers and flags are ASCII in both languages, so a Chinese question is the
grammar's ASCII tokens with Chinese words around them: `为什么 es-0 一直重启 -n logging`,
`es-0 怎么了`, `退出码 137 是什么意思`, `怎么抓包 es-0`, `logging 命名空间的 es-0 为什么挂了`.
This module finds the verb among the Chinese words (any position), a `how` topic, a namespace named
with 命名空间, and drops the other Chinese words (no Kubernetes name can contain them). Text with no
Chinese characters is returned unchanged, so English questions parse exactly as before.
"""

from __future__ import annotations

import re
import unicodedata

from bot.i18n import HAN_RANGES, detect

#: Chinese words for each verb, longest first where one contains another (`怎么了` before `怎么`).
#: `how` needs a topic as well (see below): `es-0 怎么一直重启` asks why, not how.
VERB_WORDS: tuple[tuple[str, str], ...] = (
    ("出什么问题", "why"),
    ("什么问题", "why"),
    ("怎么回事", "why"),
    ("怎么了", "why"),
    ("为什么", "why"),
    ("为啥", "why"),
    ("咋了", "why"),
    ("诊断", "why"),
    ("排查", "why"),
    ("退出码", "exit"),
    ("退出代码", "exit"),
    ("解析名字", "name"),
    ("解析名称", "name"),
    ("名字", "name"),
    ("名称", "name"),
    ("域名", "dns"),
    ("端点", "endpoints"),
    ("后端", "endpoints"),
    ("追踪", "trace"),
    ("链路", "trace"),
    ("抓取", "scrape"),
    ("监控采集", "scrape"),
    ("巡检", "digest"),
    ("健康摘要", "digest"),
    ("摘要", "digest"),
    ("日报", "digest"),
    ("帮助", "help"),
    ("用法", "help"),
    ("怎么", "how"),
    ("如何", "how"),
    ("怎样", "how"),
    ("操作手册", "how"),
    ("什么意思", "reason"),
    ("是什么", "reason"),
    ("含义", "reason"),
    ("解释", "reason"),
)

#: `how` topics in Chinese (the English names and aliases work as they are).
TOPIC_WORDS: tuple[tuple[str, str], ...] = (
    ("端口转发", "port-forward"),
    ("抓包", "capture"),
    ("进入容器", "exec"),
    ("进容器", "exec"),
    ("命名空间进入", "exec"),
    ("拷贝文件", "cp"),
    ("复制文件", "cp"),
    ("传文件", "cp"),
    ("拷贝", "cp"),
    ("复制", "cp"),
    ("调用api", "api"),
    ("访问api", "api"),
    ("api server", "api"),
    ("配置文件", "configmap"),
    ("configmap", "configmap"),
    ("downward", "downward-api"),
    ("域名", "dns"),
)

NAMESPACE_WORDS = ("命名空间", "名字空间", "名称空间")
_ENGLISH_TOPICS = frozenset(
    [
        *("capture", "tcpdump", "pcap", "nsenter", "exec", "shell", "cp", "copy", "api"),
        *("port-forward", "portforward", "configmap", "downward-api", "downward", "dns"),
    ]
)
_ENGLISH_VERBS = frozenset(
    [
        *("why", "exit", "name", "dns", "endpoints", "service", "svc", "trace", "ingress"),
        *("how", "reason", "scrape", "digest", "help"),
    ]
)
_HAN = HAN_RANGES
_BOUNDARY = re.compile(rf"(?<=[{_HAN}])(?=[^\s{_HAN}])|(?<=[^\s{_HAN}])(?=[{_HAN}])")
_CJK_PUNCT = "。、，；：？！「」『』《》【】（）…·～"
_TRAILING = re.compile(r"[?!.,;:。、，；：？！…]+$")


def _is_chinese(tok: str) -> bool:
    return bool(tok) and all(re.match(f"[{_HAN}]", ch) or ch in _CJK_PUNCT for ch in tok)


def normalise(text: str) -> str:
    """A Chinese question as grammar text; any other text unchanged."""
    if detect(text) is None:
        return text
    # Full-width ASCII (ｅｓ－０, －ｎ, ？) -> ASCII; Chinese characters are unchanged by NFKC.
    text = unicodedata.normalize("NFKC", text)
    text = _BOUNDARY.sub(" ", text)
    tokens = [_TRAILING.sub("", t) if not t.startswith("-") else t for t in text.split()]
    tokens = [t for t in tokens if t]
    chinese = [t for t in tokens if _is_chinese(t)]
    ascii_toks = [t for t in tokens if not _is_chinese(t)]
    joined = " ".join(chinese)

    namespace = _namespace(tokens)
    if namespace:
        ascii_toks = _drop_once(ascii_toks, namespace)
        ascii_toks += ["-n", namespace]

    topic = next((t for w, t in TOPIC_WORDS if w in joined.lower()), None)
    english_topic = any(t.lower() in _ENGLISH_TOPICS for t in ascii_toks[:1])
    verb = None
    for word, named in VERB_WORDS:
        if word in joined:
            # 怎么 with no runbook topic is "how come": a why question.
            verb = "why" if named == "how" and not (topic or english_topic) else named
            break
    if verb is None and topic:
        verb = "how"
    if verb == "reason" and ascii_toks and _is_int(ascii_toks[0]):
        verb = "exit"
    first = ascii_toks[0].lower() if ascii_toks else ""
    if verb is None:
        if not ascii_toks or first in _ENGLISH_VERBS:
            return " ".join(ascii_toks) or text
        # No verb word (`es-0 挂了`, `CrashLoopBackOff?`): a number asks about an exit code, a
        # capitalised word (no object name has capitals) about a reason, anything else is a why.
        verb = "exit" if _is_int(ascii_toks[0]) else "reason" if ascii_toks[0][:1].isupper() else "why"
    if first == verb or first in _ENGLISH_VERBS:
        verb_tokens: list[str] = []  # the English verb is already there
    else:
        verb_tokens = [verb]
    if verb == "how" and topic and not english_topic:
        verb_tokens.append(topic)
    return " ".join([*verb_tokens, *ascii_toks])


def _namespace(tokens: list[str]) -> str | None:
    """`命名空间 logging`, `logging 命名空间下的`, `命名空间logging` (split already) -> logging."""
    for i, tok in enumerate(tokens):
        if not _is_chinese(tok) or not any(w in tok for w in NAMESPACE_WORDS):
            continue
        # `命名空间 logging` names the one after; `logging 命名空间的/下/里 es-0` the one before.
        bare = tok in NAMESPACE_WORDS
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        prev = tokens[i - 1] if i > 0 else None
        for cand in (nxt, prev) if bare else (prev, nxt):
            if cand and not _is_chinese(cand) and not cand.startswith("-"):
                return cand
    return None


def _drop_once(tokens: list[str], value: str) -> list[str]:
    out = list(tokens)
    out.remove(value)
    return out


def _is_int(tok: str) -> bool:
    try:
        int(tok)
    except ValueError:
        return False
    return True
