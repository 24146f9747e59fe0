"""Chinese text uses Chinese punctuation (full-width in prose, half-width only inside code), the
glossary's terms rather than the renderings it rejects, and 倍 for a ratio.

Checked: every *.zh-CN.md of the repository, docs/glossary.md (the rules only fire where Chinese
is, so its English columns pass untouched) and the Chinese strings of the tour (chapter/tour.py,
each stage's tour.py) and of the registry (each stage.json's title).

What is left out before checking: fenced code blocks, inline code spans (each becomes one opaque
token, "a span"), link and image targets (`[text](target)` keeps only its text), bare URLs and
autolinks, and, in the tour's strings, the `{placeholders}`. Markdown emphasis (`*`, `**`) is
transparent. A paragraph (or a list item) is checked as one segment, so a parenthesis may open on
one line and close on the next; each heading line and each table cell is a segment of its own.

In what follows a "CJK character" is a Han character, CJK punctuation (U+3000-U+303F: 、。「」),
a full-width form (U+FF00-U+FFEF: ，；：（）！？) or Chinese quotes and ellipsis (“”‘’…). The
"neighbour" of a mark on one side is the nearest character that is not white space or emphasis;
if it is a code span, the character beyond the span (again skipping white space) stands in for it,
so "支持 `epoll`,BSD" counts as a comma with a Chinese neighbour. A segment is "Chinese" if it
contains a Han character.

A segment is flagged for:

1. A half-width `,` `;` `:` `?` `!` with a CJK neighbour on either side ("构建,然后", "1.4 MiB;下一",
   "`pselect6`:0 到 2"). A `::` is never punctuation (::1, std::map) and is left alone by every rule.
2. In a Chinese segment, a half-width `,` `;` `:` that ends the segment ("然后按 Ctrl-C:" before a
   code block).
3. In a Chinese segment, a half-width `,` or `;` glued to the next ASCII character with no space
   ("4.4 MB,06 是"), except a thousands separator (digit, then exactly three digits: 108,171).
4. In a Chinese segment, a single `:` glued between two ASCII letters ("bufferevent:libevent");
   not `::` (std::map) and not a digit on either side (12:30, 127.0.0.1:40713 stay).
5. A `:` between digits whose left number is glued to a CJK character, as in "，05:1294 次": a
   label, not a time of day or a port (those stand after a space).
6. A pair of half-width parentheses that is a Chinese aside: its content has a CJK character, or
   its outer neighbour on the left or the right is CJK ("响应头(这里是 ...)", "0(E02.10)；").
   Exempt is function or formula notation, "(" glued to an ASCII word that starts with a letter,
   when the content has no CJK character or the word is one letter: select(), epoll(7), O(n),
   O(最大描述符). An unpaired half-width parenthesis is flagged when a neighbour is CJK.
7. Full-width parentheses in formula notation: "（" glued to a lone letter O (O（n）, big-O) or an
   empty "（）" glued to an ASCII word (select（）): these belong to the formula, half-width. A unit
   before an aside ("138 µs（9.16×）", "IPv6（而不是 IPv4）") is prose and stays full-width.
8. A pair of ASCII double quotes around text with a CJK character ("就绪"): Chinese quotes “”.

Each rule has good and bad examples below, so the check is itself tested; the last test runs it
over the repository and lists every finding as path:line: rule: excerpt.

The same texts are also checked for renderings the project has rejected, looked for verbatim
everywhere in the text, code blocks included, since a Chinese comment in a shell example is read
as prose too:

- a glossary term's rejected renderings: docs/glossary.md gives each term one Chinese rendering,
  and its last column ("Rejected · 不用") the renderings it replaced, separated by 、 (GLOSSARY
  below reads them; that column of the glossary itself is of course not checked);
- calques that are not a term: word-for-word renderings of an English phrase (CALQUES below,
  each with what the texts say instead).

And for a ratio written the English way: in the prose of a Chinese segment (not in a code span or
a code block, and not in a table, where a column of figures keeps the results' notation), a
number glued to × or x ("4.82×") is flagged: Chinese prose says 4.82 倍. Since docs/test_guides.py
checks the ratios of the English texts (written ×) against the committed benchmark results, a
test here checks that every ratio a Chinese text writes with 倍 is one its English twin writes.
"""
from __future__ import annotations

import pathlib
import re

import pytest

from chapter import stages, tour

REPO = pathlib.Path(__file__).resolve().parent.parent.parent

SPAN = "\ue000"  # stands for one inline code span
CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\u3000-\u303f\uff00-\uffef\u2018\u2019\u201c\u201d"
                 "\u2026]")
HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]")
CODE_SPAN = re.compile(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)")
LINK = re.compile(r"!?\[([^\]]*)\]\([^)\s]*\)")
AUTOLINK = re.compile(r"<[a-z]+:[^>\s]*>")
URL_CHAR = r"[A-Za-z0-9\-._~:/?#\[\]@!$&'*+,;=%]"
URL = re.compile(rf"\b[a-z]+://(?:{URL_CHAR}|\({URL_CHAR}*\))+")
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
FENCE = re.compile(r"^\s*```")
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")
SKIPPED = " \t\n*"  # white space and emphasis: never a neighbour


def is_cjk(char: str) -> bool:
    return bool(char) and bool(CJK.match(char))


def neighbour(text: str, pos: int, step: int) -> str:
    """The nearest character to text[pos] in direction step (-1 or +1) that is not white space or
    emphasis; a code span is looked past, to the character beyond it. '' at either end."""
    i = pos + step
    while 0 <= i < len(text) and text[i] in SKIPPED:
        i += step
    if not 0 <= i < len(text):
        return ""
    if text[i] == SPAN:
        i += step
        while 0 <= i < len(text) and text[i] in SKIPPED:
            i += step
        if not 0 <= i < len(text):
            return SPAN
    return text[i]


def prepare(text: str) -> str:
    """A segment with its code spans, links, URLs made harmless (see the module's docstring)."""
    text = CODE_SPAN.sub(SPAN, text)
    text = AUTOLINK.sub("x", text)
    text = LINK.sub(lambda m: m.group(1), text)
    return URL.sub("x", text)


def check_segment(raw: str) -> list[tuple[int, str, str]]:
    """Findings in one segment: (line of the mark within the segment, counted from 0, rule,
    excerpt)."""
    text = prepare(raw)
    chinese = bool(HAN.search(text))
    found: list[tuple[int, str]] = []

    for m in re.finditer(r"[,;:?!]", text):
        i, mark = m.start(), m.group()
        before, after = neighbour(text, i, -1), neighbour(text, i, +1)
        prev_char = text[i - 1] if i else ""
        next_char = text[i + 1] if i + 1 < len(text) else ""
        if mark == ":" and ":" in (prev_char, next_char):
            continue  # ::1, std::map: never punctuation
        if is_cjk(before) or is_cjk(after):
            found.append((i, f"half-width '{mark}' beside Chinese"))
        elif not chinese or mark in "?!":
            continue
        elif after == "":
            found.append((i, f"half-width '{mark}' ends a Chinese segment"))
        elif mark in ",;" and next_char.isascii() and not next_char.isspace() and next_char:
            thousands = (mark == "," and prev_char.isdigit()
                         and re.match(r"\d{3}(?!\d)", text[i + 1:]))
            entity = mark == ";" and re.search(r"&#?\w+$", text[:i])
            if not thousands and not entity:
                found.append((i, f"half-width '{mark}' with no space after it"))
        elif mark == ":" and prev_char.isascii() and prev_char.isalpha() \
                and next_char.isascii() and next_char.isalpha():
            found.append((i, "half-width ':' between two words"))
        elif mark == ":" and prev_char.isdigit() and next_char.isdigit():
            number = re.search(r"[0-9.]+$", text[:i])
            glued = text[number.start() - 1] if number.start() else ""
            if is_cjk(glued):
                found.append((i, "half-width ':' after a label"))

    # Parentheses, paired within the segment.
    stack: list[int] = []
    pairs: list[tuple[int, int]] = []
    unpaired: list[int] = []
    for m in re.finditer(r"[()]", text):
        if m.group() == "(":
            stack.append(m.start())
        elif stack:
            pairs.append((stack.pop(), m.start()))
        else:
            unpaired.append(m.start())
    unpaired.extend(stack)
    for i in unpaired:
        if is_cjk(neighbour(text, i, -1)) or is_cjk(neighbour(text, i, +1)):
            found.append((i, f"unpaired half-width '{text[i]}' beside Chinese"))
    for start, end in pairs:
        content = text[start + 1:end]
        word = re.search(r"[A-Za-z_][A-Za-z0-9_]*$", text[:start])
        content_cjk = bool(CJK.search(content))
        if word and (not content_cjk or len(word.group()) == 1):
            continue  # select(), epoll(7), O(n), O(最大描述符)
        if content_cjk or is_cjk(neighbour(text, start, -1)) or is_cjk(neighbour(text, end, +1)):
            found.append((start, "half-width parentheses around a Chinese aside"))

    for m in re.finditer(r"(?<![A-Za-z0-9_\u00b5])O（|[A-Za-z0-9_]（）", text):
        found.append((m.start(), "full-width parentheses in formula notation"))

    quotes = [m.start() for m in re.finditer('"', text)]
    for start, end in zip(quotes[::2], quotes[1::2]):
        if HAN.search(text[start + 1:end]):
            found.append((start, 'ASCII quotes "" around Chinese text'))

    found.sort()
    return [(text[:i].count("\n"), rule,
             text[max(0, i - 12):i + 13].replace("\n", " ").replace(SPAN, "`…`"))
            for i, rule in found]


def markdown_segments(text: str) -> list[tuple[int, str]]:
    """(first line number, text) of every segment of a Markdown file: paragraphs and list items,
    heading lines and table cells; fenced code blocks are left out."""
    segments: list[tuple[int, str]] = []
    current: list[str] = []
    first = 0
    fenced = False

    def flush():
        if current:
            segments.append((first, "\n".join(current)))
            current.clear()

    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            flush()
            fenced = not fenced
            continue
        stripped = line.strip()
        if fenced or not stripped:
            flush()
            continue
        if stripped.startswith("#"):
            flush()
            segments.append((number, line))
        elif stripped.startswith("|"):
            flush()
            # Cells split on the pipes outside code spans (a span may hold one: EPOLLIN|EPOLLOUT).
            cells = CODE_SPAN.sub(lambda m: m.group().replace("|", "\ue001"), stripped)
            for cell in cells.strip("|").split("|"):
                segments.append((number, cell.replace("\ue001", "|")))
        else:
            if LIST_ITEM.match(line):
                flush()
            if not current:
                first = number
            current.append(line)
    flush()
    return segments


def findings_in_markdown(path: pathlib.Path) -> list[str]:
    out = []
    for first, segment in markdown_segments(path.read_text(encoding="utf-8")):
        for line, rule, excerpt in check_segment(segment):
            out.append(f"{path.relative_to(REPO)}:{first + line}: {rule}: …{excerpt}…")
    return out


def tour_strings() -> dict[str, str]:
    """Every Chinese string of the tour and the registry, by where it is: the tour's shared
    narration, each stage's step (its tour.py) and each stage's title (its stage.json)."""
    found = {f"chapter/tour.py: zh-CN {k}": v for k, v in tour.TEXT["zh-CN"].items()}
    for d in stages.descriptions():
        found[f"{d.directory}/stage.json: title"] = d.title["zh-CN"]
        if d.has("tour"):
            step = tour.load_step(d).TEXT["zh-CN"]
            found.update({f"{d.directory}/tour.py: zh-CN {k}": v for k, v in step.items()})
    return found


def chinese_markdown_files() -> list[pathlib.Path]:
    found = [p for p in REPO.rglob("*.zh-CN.md")
             if not any(part.startswith((".", "build")) for part in p.relative_to(REPO).parts)]
    return sorted(found) + [REPO / "docs" / "glossary.md"]


# The rule itself, on small strings: each bad example must be flagged, each good one must not.
BAD = [
    "安装缺少的软件包、构建,然后逐个阶段演示",                  # 1: comma between Han
    "直接使用 epoll:libevent 在 Linux 上",                      # 4: colon glued between words
    "# 09-example-server:libevent 负责读写",                    # 4, in a heading
    "Linux 有 `epoll`,BSD 和 macOS 有 `kqueue`",                # 1: looks past the code span
    "显示 0.0%;`ls -l /proc/$PID/fd` 的布局",                   # 1 (";" before a code span)
    "我们数到，09:1294 次 `epoll_wait`",                         # 5: a label, not a time
    "1293 次 `sendto`;10:4984 次",                               # 1 and 5
    "常驻内存 3.3 MB（09 是 4.4 MB,10 是 5.7 MB）",              # 3
    "然后按 Ctrl-C:",                                           # 2
    "每次唤醒的开销是 O（最大描述符）。",                        # 7
    "调用 select（）之后",                                      # 7
    "响应头(这里是 `Server: SimpleHTTP`)、一个空行",             # 6
    "退出状态为 0(E02.10)；监听所有网卡",                        # 6: glued to a digit, not a word
    "选用最好的后端(epoll)，空闲连接",                           # 6: CJK outside
    "见 `fcntl`(对监听套接字)",                                  # 6
    "那就是 `select()`,\n阶段 09。",                             # 1, across a line break
    "为什么?",                                                  # 1
    '这个 0 就是"页面已经完整"的信号',                            # 8
    "等在 `recv()` 里(以及\n`send()` 里)。",                     # 6, across lines
]
GOOD = [
    "[中文](09-example-server/README.zh-CN.md) · [English](09-example-server/README.md)",
    "见[勘误](../docs/ERRATA.md#errata-09)中的 09 一节",
    "`socat TCP-LISTEN:8001,bind=127.0.0.1,reuseaddr -` 可以代替 `nc -l`。",
    "会议定在 12:30 开始，监听 127.0.0.1:40713。",
    "每次调用开销 O(1)，一次唤醒的开销是 O(就绪数)，见 epoll(7)。",
    "fork() 让每个客户端的代码保持简单。",
    "每秒 108,171 次 `accept4`。",
    "书里打印 \"No ipv6 support, sorry.\"，而且只尝试第一个地址。",
    "文档站点见 https://example.org/a,b;c:d(e) 上的说明。",
    "它打印的是 `epoll; round trip 20 us -> 17 us with 2000 idle`（09：`23 us -> 307 us`）。",
    "用 `std::map` 和 common::Fd 管理描述符，监听 ::1 或 127.0.0.1。",
    "**E01.2**：出错时 stderr 上只有一行（`a: b: c`），退出状态非零。",
    "English only, (with parentheses): fine; and so on.",
    "`EPOLLIN|EPOLLOUT` 的一次 `MOD`；“就绪”模型",
    "旁边有一千个时是 138 µs（9.16 倍），走的是 IPv6（而不是 IPv4）。",
]


@pytest.mark.parametrize("text", BAD)
def test_the_check_flags_half_width_punctuation_in_chinese(text):
    assert check_segment(text), f"not flagged: {text!r}"


@pytest.mark.parametrize("text", GOOD)
def test_the_check_leaves_code_links_and_english_alone(text):
    assert not check_segment(text), f"flagged: {check_segment(text)}"


def test_the_check_reads_markdown_segments_and_skips_code_blocks():
    text = ("# 标题：好\n\n段落第一行(括号\n跨行)结束。\n\n```sh\nmake,然后\n```\n\n"
            "| 列 | `a|b` |\n|---|---|\n| 单元格,坏 | 好 |\n\n- 列表项:坏\n- 列表项（好）\n")
    segments = markdown_segments(text)
    assert (3, "段落第一行(括号\n跨行)结束。") in segments
    assert not any("make" in s for _, s in segments)
    assert (12, " 单元格,坏 ") in segments and (10, " `a|b` ") in segments
    flagged = [(n, s) for n, s in segments if check_segment(s)]
    assert [n for n, _ in flagged] == [3, 12, 14]


# Calques the project has removed, each with what the Chinese texts say instead. A calque is
# listed only where the string cannot be correct Chinese for something else: 固定 alone stays
# allowed (固定大小的线程池, 固定缓冲区 are right), and so do 饿 and 回答 (the glossary rejects only
# the collocations that rendered "starve" and "answer"). A term's rejected renderings are not
# here but in the glossary (GLOSSARY).
CALQUES = {
    # "What 02 got for free": not 白白 (in vain), but what separate processes give by nature.
    "白白得到": "因为进程彼此独立而自然具备的",
    # "A zombie in all but name".
    "除了名字之外": "虽然不叫僵尸，实际上就是",
    # "Creating a thread leaves the per-connection path".
    "离开了每个连接": "每来一个连接不再需要创建线程",
    # "io_uring_enter does both halves".
    "兼做两半": "同时承担提交和等待两件事",
    # "Every stage speaks one small protocol".
    "讲同一个小协议": "遵守同一个协议",
    # "Grades a folder of submissions".
    "一文件夹的": "一个文件夹里的全部作业",
    # evbuffer_drain() removes bytes from the front of a buffer.
    "drain 掉": "删去",
    "drain掉": "删去",
    # "Its version of E02.8".
    "它版本的": "相当于它的",
}

GLOSSARY = REPO / "docs" / "glossary.md"
REJECTED_HEADER = "Rejected · 不用"


def table_cells(line: str) -> list[str]:
    """The cells of a Markdown table row, split on the pipes outside code spans."""
    cells = CODE_SPAN.sub(lambda m: m.group().replace("|", "\ue001"), line.strip())
    return [cell.strip().replace("\ue001", "|") for cell in cells.strip("|").split("|")]


def glossary_rejections(text: str) -> dict[str, str]:
    """rejected rendering -> the glossary's Chinese term, from the column REJECTED_HEADER of every
    table of the glossary's text."""
    rejections: dict[str, str] = {}
    column = None
    for line in text.splitlines():
        if not line.lstrip().startswith("|"):
            column = None
            continue
        cells = table_cells(line)
        if column is None:
            column = cells.index(REJECTED_HEADER) if REJECTED_HEADER in cells else -1
        elif column >= 0 and len(cells) > column and not set(line) <= set("|-: "):
            for rendering in filter(None, (r.strip() for r in cells[column].split("、"))):
                rejections[rendering] = cells[1]
    return rejections


def without_rejections(text: str) -> str:
    """The glossary's text with its column REJECTED_HEADER emptied: the one place where a rejected
    rendering is written on purpose."""
    out, column = [], None
    for line in text.splitlines():
        if line.lstrip().startswith("|"):
            cells = table_cells(line)
            if column is None:
                column = cells.index(REJECTED_HEADER) if REJECTED_HEADER in cells else -1
            elif column >= 0 and len(cells) > column:
                cells[column] = ""
                line = "| " + " | ".join(cells) + " |"
        else:
            column = None
        out.append(line)
    return "\n".join(out)


# Every rejected string and what to say instead: the calques, then the glossary's renderings.
REJECTED = {**CALQUES, **glossary_rejections(GLOSSARY.read_text(encoding="utf-8"))}


def calques_in(text: str, rejected: dict[str, str] = REJECTED) -> list[tuple[int, str]]:
    """(line number, counted from 1, rejected string) of every string of `rejected` in `text`, in
    the order they appear."""
    return [(number, calque) for number, line in enumerate(text.splitlines(), start=1)
            for _, calque in sorted((line.index(c), c) for c in rejected if c in line)]


def test_the_glossary_is_read_for_rejected_renderings():
    sample = ("intro | not a table\n\n"
              "| English | 中文 | Definition | 释义 | Rejected · 不用 |\n|---|---|---|---|---|\n"
              "| ready line | 监听提示行 | `a|b` x | y | 就绪行、启动提示行 |\n"
              "| fork | fork | x | y |  |\n\n"
              "| English | 中文 | Definition | 释义 |\n|---|---|---|---|\n| a | 甲 | x | 乙 |\n")
    assert glossary_rejections(sample) == {"就绪行": "监听提示行", "启动提示行": "监听提示行"}
    assert "就绪行" not in without_rejections(sample)
    assert "`a|b` x" in without_rejections(sample)
    # The glossary's own terms, each with the renderings it replaced.
    assert REJECTED["电平触发"] == "水平触发" and REJECTED["弄丢唤醒"] == "丢失唤醒"
    assert REJECTED["就绪行"] == "监听提示行" and REJECTED["完成通知"] == "完成事件"


def test_the_calque_check_catches_a_planted_calque_and_leaves_correct_chinese_alone():
    planted = "第一行没问题。\n在 `nc` 里按 Ctrl-C：客户端读到文件结束，退出状态为 0。\n"
    assert calques_in(planted) == [(2, "文件结束")]
    assert calques_in("测试里所固定的规则；读水位线是 16384 字节") == [(1, "所固定的"), (1, "读水位")]
    assert calques_in("服务器先打印它的就绪行；每个子进程靠独立的进程白白得到的东西") == [
        (1, "就绪行"), (1, "白白得到")]
    correct = ("固定大小的线程池；悄悄丢弃字节的固定缓冲区；客户端读到 EOF；"
               "读高水位线与写低水位线；检验每项修正的测试；水平触发与边缘触发；背压；"
               "监听提示行；在途的 recv；丢失唤醒；这道题没有要回答的问题；线程池让客户端陷入饥饿")
    assert calques_in(correct) == []


def test_no_chinese_text_uses_a_calque_or_a_rendering_the_glossary_rejects():
    findings = []
    for path in chinese_markdown_files():
        text = path.read_text(encoding="utf-8")
        if path == GLOSSARY:
            text = without_rejections(text)
        for number, calque in calques_in(text):
            findings.append(f"{path.relative_to(REPO)}:{number}: {calque} (say {REJECTED[calque]})")
    for key, value in tour_strings().items():
        for _, calque in calques_in(value):
            findings.append(f"{key}: {calque} (say {REJECTED[calque]})")
    assert not findings, "\n" + "\n".join(findings)


RATIO = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)[×x](?!\w)")
TIMES = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*倍")


def prose_segments(text: str) -> list[tuple[int, str]]:
    """The segments of a Markdown text that are prose: not code blocks and not tables (each table
    line is blanked, keeping the line numbers)."""
    return markdown_segments("\n".join("" if line.lstrip().startswith("|") else line
                                       for line in text.splitlines()))


def ratios_in(text: str) -> list[tuple[int, str]]:
    """(line, counted from 0 within `text`, excerpt) of every ratio written N× in the prose of a
    Chinese segment of `text` (one segment)."""
    prepared = prepare(text)
    if not HAN.search(prepared):
        return []
    return [(prepared[:m.start()].count("\n"), m.group()) for m in RATIO.finditer(prepared)]


def test_the_ratio_check_flags_chinese_prose_only():
    assert [r for _, s in prose_segments("甲是它之前的 1.00×；乙是 4.82×。\n") for r in ratios_in(s)] \
        == [(0, "1.00×"), (0, "4.82×")]
    assert ratios_in("旁边有 1000 个时是 246 µs（7.29x）") == [(0, "7.29x")]
    left_alone = ("乙是它之前的 4.82 倍，`0.5×` 在代码里。\n\n"
                  "| 阶段 | 比值 |\n|---|---|\n| 乙 | 4.82× |\n\n```\n9.9× 的输出\n```\n\n"
                  "50 个连接 × 深度 16；0x80 是一个字节。\n\nThe English reaches 0.88×.\n")
    assert [r for _, s in prose_segments(left_alone) for r in ratios_in(s)] == []


def test_chinese_prose_writes_ratios_with_bei():
    findings = []
    for path in chinese_markdown_files():
        for first, segment in prose_segments(path.read_text(encoding="utf-8")):
            for line, ratio in ratios_in(segment):
                findings.append(f"{path.relative_to(REPO)}:{first + line}: {ratio} "
                                f"(say {ratio[:-1]} 倍)")
    for key, value in tour_strings().items():
        for _, ratio in ratios_in(PLACEHOLDER.sub("0", value)):
            findings.append(f"{key}: {ratio} (say {ratio[:-1]} 倍)")
    assert not findings, "\n" + "\n".join(findings)


def twins() -> list[tuple[pathlib.Path, pathlib.Path]]:
    """(Chinese text, its English twin) for every *.zh-CN.md that has one."""
    pairs = [(p, p.with_name(p.name.replace(".zh-CN.md", ".md")))
             for p in chinese_markdown_files() if p.name.endswith(".zh-CN.md")]
    return [(chinese, english) for chinese, english in pairs if english.exists()]


def test_every_ratio_a_chinese_text_writes_is_one_its_english_twin_writes():
    findings, checked = [], 0
    for chinese, english in twins():
        written = {m.group(1) for _, s in markdown_segments(english.read_text(encoding="utf-8"))
                   for m in RATIO.finditer(prepare(s))}
        for first, segment in prose_segments(chinese.read_text(encoding="utf-8")):
            prepared = prepare(segment)
            for m in TIMES.finditer(prepared):
                checked += 1
                if m.group(1) not in written:
                    line = first + prepared[:m.start()].count("\n")
                    findings.append(f"{chinese.relative_to(REPO)}:{line}: {m.group()} "
                                    f"(no {m.group(1)}× in {english.relative_to(REPO)})")
    assert checked, "no ratio written with 倍 found: is TIMES still right?"
    assert not findings, "\n" + "\n".join(findings)


def test_every_chinese_text_uses_chinese_punctuation():
    findings = []
    for path in chinese_markdown_files():
        assert path.exists(), f"{path} is missing"
        findings += findings_in_markdown(path)
    for key, value in tour_strings().items():
        for _, rule, excerpt in check_segment(PLACEHOLDER.sub("0", value)):
            findings.append(f"{key}: {rule}: …{excerpt}…")
    assert not findings, "\n" + "\n".join(findings)
