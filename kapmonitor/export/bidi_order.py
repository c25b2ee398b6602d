"""The Unicode Bidirectional Algorithm (UAX #9) for one paragraph of plain text: the embedding level of every
character, and the visual order of a line.

Names and notes are plain text, so the explicit embeddings, overrides and isolates (X1-X10) are not applied: their
formatting characters are resolved as neutrals. Everything else is: the base direction from the first strong
character (P2, P3), weak types (W1-W7), bracket pairs (N0), neutrals (N1, N2), implicit levels (I1, I2), trailing
whitespace (L1) and the reordering of a line (L2). python-bidi, the library for it, gives only the reordered string,
not the levels that say which characters a font run holds; the tests compare this with it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

_STRONG = {"L": "L", "R": "R", "AL": "R"}
_NEUTRAL = {"B", "S", "WS", "ON", "BN", "LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"}
_BRACKETS = {"(": ")", "[": "]", "{": "}", "\u2329": "\u232a", "\u3008": "\u3009", "\uff08": "\uff09"}
_CLOSING = {v: k for k, v in _BRACKETS.items()}
# Bidi_Mirroring_Glyph for the characters names and notes use (L4: drawn mirrored at an odd level).
MIRRORED = {
    **_BRACKETS,
    **_CLOSING,
    "<": ">",
    ">": "<",
    "\u00ab": "\u00bb",
    "\u00bb": "\u00ab",
    "\u2039": "\u203a",
    "\u203a": "\u2039",
    "\u2264": "\u2265",
    "\u2265": "\u2264",
}


def base_level(text: str) -> int:
    """0 (left to right) or 1 (right to left): the direction of the first strong character (P2, P3); 0 if none."""
    for c in text:
        kind = unicodedata.bidirectional(c)
        if kind in _STRONG:
            return 0 if kind == "L" else 1
    return 0


def levels(text: str, base: int | None = None) -> list[int]:
    """The resolved embedding level of each character of ``text`` (one paragraph), before line breaking."""
    level = base_level(text) if base is None else base
    edge = "L" if level % 2 == 0 else "R"
    kinds = [unicodedata.bidirectional(c) or "L" for c in text]
    _weak(kinds, edge)
    strong = [_as_strong(k) for k in kinds]
    _brackets(text, kinds, strong, edge)
    _neutrals(kinds, strong, edge)
    out = []
    for kind in kinds:
        if level % 2 == 0:
            out.append(level + (1 if kind == "R" else 2 if kind in ("AN", "EN") else 0))
        else:
            out.append(level + (1 if kind in ("L", "AN", "EN") else 0))
    return out


def _as_strong(kind: str) -> str | None:
    """The strong direction a resolved type counts as for neutrals: numbers count as R (N1)."""
    return "L" if kind == "L" else "R" if kind in ("R", "AN", "EN") else None


def _weak(kinds: list[str], edge: str) -> None:
    """W1-W7, in place."""
    previous = edge
    for i, kind in enumerate(kinds):  # W1: a mark takes the type of what it marks
        if kind == "NSM":
            kinds[i] = "ON" if previous in _NEUTRAL else previous
        previous = kinds[i]
    last_strong = edge
    for i, kind in enumerate(kinds):  # W2, W3
        if kind in ("L", "R", "AL"):
            last_strong = kind
        if kind == "EN" and last_strong == "AL":
            kinds[i] = "AN"
    kinds[:] = ["R" if k == "AL" else k for k in kinds]
    for i in range(1, len(kinds) - 1):  # W4
        before, here, after = kinds[i - 1], kinds[i], kinds[i + 1]
        if here == "ES" and before == after == "EN":
            kinds[i] = "EN"
        elif here == "CS" and before == after and before in ("EN", "AN"):
            kinds[i] = before
    for i, kind in enumerate(kinds):  # W5: terminators next to European numbers
        if kind == "EN":
            j = i - 1
            while j >= 0 and kinds[j] == "ET":
                kinds[j] = "EN"
                j -= 1
            j = i + 1
            while j < len(kinds) and kinds[j] == "ET":
                kinds[j] = "EN"
                j += 1
    kinds[:] = ["ON" if k in ("ES", "ET", "CS") else k for k in kinds]  # W6
    last_strong = edge
    for i, kind in enumerate(kinds):  # W7
        if kind in ("L", "R"):
            last_strong = kind
        elif kind == "EN" and last_strong == "L":
            kinds[i] = "L"


def _brackets(text: str, kinds: list[str], strong: list[str | None], edge: str) -> None:
    """N0: a bracket pair takes the embedding direction when it holds that direction, else the direction before
    it when it holds the other one."""
    stack: list[tuple[str, int]] = []
    pairs: list[tuple[int, int]] = []
    for i, c in enumerate(text):
        if kinds[i] != "ON":
            continue
        if c in _BRACKETS:
            if len(stack) == 63:
                break
            stack.append((_BRACKETS[c], i))
        elif c in _CLOSING:
            for depth in range(len(stack) - 1, -1, -1):
                if stack[depth][0] == c:
                    pairs.append((stack[depth][1], i))
                    del stack[depth:]
                    break
    for opening, closing in sorted(pairs):
        inside = {strong[j] for j in range(opening + 1, closing)} - {None}
        if not inside:
            continue
        # with only the other direction inside, the pair takes the direction before it
        before: str = next((s for s in reversed(strong[:opening]) if s), edge)
        direction = edge if edge in inside else before
        for j in (opening, closing):
            kinds[j] = direction
            strong[j] = direction


def _neutrals(kinds: list[str], strong: list[str | None], edge: str) -> None:
    """N1, N2: a run of neutrals between two of one direction takes it, else the embedding direction."""
    i = 0
    while i < len(kinds):
        if kinds[i] not in _NEUTRAL:
            i += 1
            continue
        j = i
        while j < len(kinds) and kinds[j] in _NEUTRAL:
            j += 1
        before: str = next((s for s in reversed(strong[:i]) if s), edge)
        after: str = (strong[j] if j < len(kinds) else None) or edge
        direction = before if before == after else edge
        for k in range(i, j):
            kinds[k] = direction
        i = j


def line_levels(text: str, paragraph_levels: Sequence[int], base: int) -> list[int]:
    """L1 for one line: trailing whitespace (and separators) goes back to the paragraph's level."""
    out = list(paragraph_levels)
    for i in range(len(text) - 1, -1, -1):
        if unicodedata.bidirectional(text[i]) in ("WS", "S", "B", "BN") or text[i].isspace():
            out[i] = base
        else:
            break
    for i, c in enumerate(text):
        if unicodedata.bidirectional(c) in ("S", "B"):
            out[i] = base
    return out


def visual_order(line_levels: Sequence[int]) -> list[int]:
    """L2: the logical indices of a line's characters, left to right."""
    order = list(range(len(line_levels)))
    if not order:
        return order
    highest = max(line_levels)
    lowest_odd = min((lv for lv in line_levels if lv % 2), default=highest + 1)
    for level in range(highest, lowest_odd - 1, -1):
        i = 0
        while i < len(order):
            if line_levels[order[i]] >= level:
                j = i
                while j < len(order) and line_levels[order[j]] >= level:
                    j += 1
                order[i:j] = reversed(order[i:j])
                i = j
            else:
                i += 1
    return order


def display(text: str, base: int | None = None) -> str:
    """``text`` as one line in visual order (no mirroring, which is the renderer's part, L4): what python-bidi's
    ``get_display`` gives."""
    level = base_level(text) if base is None else base
    resolved = line_levels(text, levels(text, level), level)
    return "".join(text[i] for i in visual_order(resolved))
