"""Access answers for every request, not a sample: identity policies as SMT formulas (z3).

One request is a handful of solver variables: the action, the resource, and per condition key a
document uses whether it is present and its value. A principal's effective policy (identity
policies, explicit denies, the AWS permissions boundary, RAM resource-group scoping as
``access.grants_of`` collects them) becomes one formula ``allows(request)`` with exactly the
semantics ``baseline.analysis.evaluator`` documents:

- actions are compared case-insensitively (the action variable holds the lower-cased action);
- resources match part by part for an ARN pattern (``*`` and ``?`` never cross the fixed parts
  ``acs:service:region:account:`` / ``arn:partition:service:region:account:``), as a whole string
  otherwise; a malformed ARN pattern matches nothing; ``NotAction``/``NotResource`` negate;
- conditions: string, ``IgnoreCase``, ``Bool``, ARN operators and ``Null`` exactly, negated and
  ``IfExists`` operators on an absent key as the evaluator reads them, ``ForAnyValue`` /
  ``ForAllValues`` over a key with up to two values (a bound, stated in every answer using one);
  numeric, date and IP operators are uninterpreted predicates of the request value (the same
  symbol on both sides of a comparison), and every answer that depends on one says so;
- keys the cloud sets on every request (``baseline.analysis.cloud_keys``) are always present:
  an omitted one means "some value", never "absent".

How: every test a policy makes is a test of one string of the request (the action's service or
name, one ARN part, a condition value) against one pattern. Each string becomes the finite set of
truth vectors some real string gives its patterns (``classes_of``: the patterns walked as
automata over their own characters, or z3's string solver where a pattern is not a plain
wildcard; every vector carries a readable string that has it), and z3 answers the Boolean
question over those vectors: Zelkova's abstraction of strings by the policies' own literals,
exact by construction. z3's string theory on the whole documents was tried first and gave no
answer within 20 s on the pipeline's test deploy policy (negated denies over many literals).

Questions (Zelkova's, Backes et al., FMCAD 2018; IAM Access Analyzer's ``CheckNoNewAccess`` /
``CheckAccessNotGranted``): ``new_access(base, new)`` -> a proof that ``new`` allows nothing
``base`` does not, or witnesses generalised into classes (blocking each found class, up to a
limit); ``any_allowed(grants, ...)`` -> a witness request or a proof of none. Every witness is
re-checked by the concrete evaluator before it is returned; a disagreement raises
``SolverMismatch``.

What it proves: a *request* is one action on one resource with its context, as
``evaluator.evaluate_request`` decides it (a key the action never carries, by the authorization
reference, is absent: ``Encoder.carriage``). The cloud allows a *call* only when every resource
it is authorised on is (``evaluator.evaluate_call``), so a proof that no request is allowed holds
for every call, while a witness request is one of its call's requests, not a call: ``diff``
completes each witness into a call or says it is "a request only", and ``can --any`` names the
call's other resource types.

Imported only by ``diff``, ``can --any`` and the tests: never by ``plan``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import z3

from baseline.analysis.cloud_keys import always_present
from baseline.analysis.evaluator import (
    NamedPolicy,
    PolicyError,
    _arn_parts,
    _Operator,
    arn_matches,
    as_list,
    carried_by,
    evaluate_request,
    free_key,
    glob_match,
    request_context,
)
from baseline.errors import BASELINE, PlanError

S = z3.StringSort()
RE = z3.ReSort(S)
_ANY = z3.AllChar(RE)
_NOT_COLON = z3.Union(z3.Range(chr(0), "9"), z3.Range(";", chr(0x2FFFF)))  # ":" is between
_SLOTS_QUALIFIED = 2  # values per key a ForAnyValue/ForAllValues operator is asked about
_READABLE = z3.Union(z3.Range("a", "z"), z3.Range("A", "Z"), z3.Range("0", "9"), z3.Re("-"), z3.Re("_"))


class SolverMismatch(PlanError):
    """The solver and the concrete evaluator disagree on a request (or the solver gave no answer):
    a bug in one of them. The CLI prints it as one line and exits 3, like any program bug."""

    def __init__(self, message: str) -> None:
        super().__init__(f"solver and evaluator disagree (a bug, please report it): {message}")


# --- string predicates: one string of the request, one pattern ------------------------------------


def _glob_re(pattern: str, *, ignore_case: bool = False) -> z3.ReRef:
    pieces: list[z3.ReRef] = []
    literal = ""

    def flush() -> None:
        nonlocal literal
        if literal:
            pieces.append(_literal_re(literal, ignore_case))
            literal = ""

    for char in pattern:
        if char in "*?":
            flush()
            pieces.append(z3.Star(_ANY) if char == "*" else _ANY)
        else:
            literal += char
    flush()
    if not pieces:
        return z3.Re("")
    return pieces[0] if len(pieces) == 1 else z3.Concat(*pieces)


def _literal_re(text: str, ignore_case: bool) -> z3.ReRef:
    if not ignore_case or text.lower() == text.upper():
        return z3.Re(text)
    parts = [
        z3.Union(z3.Re(c.lower()), z3.Re(c.upper())) if c.lower() != c.upper() else z3.Re(c) for c in text
    ]
    return parts[0] if len(parts) == 1 else z3.Concat(*parts)


def _arn_shape(prefix: str) -> z3.ReRef:
    fixed = 3 if prefix == "acs:" else 4  # colon-free parts after the prefix, before the last part
    return z3.Concat(z3.Re(prefix), *[z3.Concat(z3.Star(_NOT_COLON), z3.Re(":"))] * fixed, z3.Star(_ANY))


def _part_re(pattern: str) -> z3.ReRef:
    pieces = [z3.Star(_NOT_COLON) if c == "*" else _NOT_COLON if c == "?" else z3.Re(c) for c in pattern]
    if not pieces:
        return z3.Re("")
    return pieces[0] if len(pieces) == 1 else z3.Concat(*pieces)


@dataclass(frozen=True)
class Pattern:
    """A test of one request string: ``glob`` (``*``/``?``, optionally ignoring case) or ``arn``
    (``evaluator.arn_matches``). Each has its concrete twin, used for fast candidates."""

    kind: str  # "glob" | "arn" | "equals"
    text: str
    ignore_case: bool = False

    def holds(self, value: str) -> bool:
        if self.kind == "equals":
            return value.lower() == self.text.lower() if self.ignore_case else value == self.text
        if self.kind == "arn":
            return arn_matches(self.text, value)
        return glob_match(self.text, value, ignore_case=self.ignore_case)

    def formula(self, value: z3.SeqRef) -> z3.BoolRef:
        if self.kind == "equals":
            if self.ignore_case:
                return z3.InRe(value, _literal_re(self.text, True))
            return value == z3.StringVal(self.text)
        if self.kind == "arn":
            return _arn_formula(self.text, value)
        if not self.ignore_case and "?" not in self.text:
            stars = self.text.count("*")
            if stars == 0:
                return value == z3.StringVal(self.text)
            if self.text == "*":
                return z3.BoolVal(True)
            if stars == 1 and self.text.endswith("*"):
                return z3.PrefixOf(z3.StringVal(self.text[:-1]), value)
        return z3.InRe(value, _glob_re(self.text, ignore_case=self.ignore_case))

    def candidates(self) -> list[str]:
        """Strings that likely answer this pattern differently from the rest (never needed for
        exactness: the solver finds every class they miss)."""
        if self.kind == "equals":
            texts = [self.text]
        else:
            texts = [
                self.text.replace("*", "example").replace("?", "a"),
                self.text.replace("*", "").replace("?", "a"),
            ]
        return [
            t for text in texts for t in ([text, text.lower(), text.upper()] if self.ignore_case else [text])
        ]


def _arn_formula(pattern: str, value: z3.SeqRef) -> z3.BoolRef:
    if pattern == "*":
        return z3.BoolVal(True)
    parts = _arn_parts(pattern)
    if parts is None and pattern.startswith(("acs:", "arn:")):
        return z3.BoolVal(False)
    whole = Pattern("glob", pattern).formula(value)
    if parts is None or not any(c in p for p in parts[:-1] for c in "*?"):
        # No wildcard in the fixed parts: part by part and as a whole string mean the same.
        return whole
    pieces = [z3.Concat(_part_re(p), z3.Re(":")) for p in parts[:-1]]
    partwise = z3.Concat(*pieces, _glob_re(parts[-1]))
    return z3.If(z3.InRe(value, _arn_shape(pattern[:4])), z3.InRe(value, partwise), whole)


# Which strings each piece of a request can be.
_WORD = z3.Plus(z3.Union(z3.Range("a", "z"), z3.Range("0", "9"), z3.Re("-")))
_NAME = z3.Plus(z3.Union(z3.Range("a", "z"), z3.Range("0", "9")))
_DOMAINS: dict[str, z3.ReRef] = {"service": _WORD, "name": _NAME, "part": z3.Star(_NOT_COLON)}
_READABLE_CHARS = z3.Union(_READABLE, z3.Re("/"), z3.Re("."))
_READABLE_DOMAINS: dict[str, z3.ReRef] = {
    "service": _WORD,
    "name": _NAME,
    "part": z3.Option(z3.Plus(_READABLE)),
    "rest": z3.Plus(_READABLE_CHARS),
    "value": z3.Plus(z3.Union(_READABLE_CHARS, z3.Re(":"))),
}


def _domain_holds(kind: str, value: str) -> bool:
    if kind in _ALLOWED:  # an action's service and name: lower-case, no wildcard, never empty
        return bool(value) and all(c in _ALLOWED[kind] for c in value)
    if kind == "part":
        return ":" not in value
    return True


@cache
def classes_of(kind: str, patterns: tuple[Pattern, ...]) -> tuple[tuple[tuple[bool, ...], str], ...]:
    """Every way the strings of ``kind`` answer ``patterns`` (a truth vector), with a readable
    string answering so: the finite alphabet the policies' own literals cut a string into.

    Complete (the automaton walk reaches every combination, or the solver confirms no string
    answers any other way), so a formula over these vectors is exact: Zelkova's abstraction of
    strings by the policies' literals.
    """
    found: dict[tuple[bool, ...], str] = {}
    for pattern in (Pattern("equals", "example"), *patterns):
        for text in pattern.candidates():
            if _domain_holds(kind, text):
                found.setdefault(tuple(p.holds(text) for p in patterns), text)
    explored = _explore(kind, patterns)
    if explored is not None:
        for vector, text in explored.items():
            found.setdefault(vector, text)
        _confirm(kind, patterns, found)
        return tuple(found.items())
    var = z3.String("s")
    flags = [z3.Bool(f"p{i}") for i in range(len(patterns))]
    solver = z3.Solver()
    solver.set("timeout", 20000)
    if kind in _DOMAINS:
        solver.add(z3.InRe(var, _DOMAINS[kind]))
    solver.add(*[f == p.formula(var) for f, p in zip(flags, patterns, strict=True)])

    def block(vector: tuple[bool, ...]) -> None:
        solver.add(
            z3.Not(z3.And(*[f if v else z3.Not(f) for f, v in zip(flags, vector, strict=True)] or [True]))
        )

    for vector in found:
        block(vector)
    while True:
        verdict = solver.check()
        if verdict == z3.unknown:
            raise SolverMismatch(f"the solver gave no answer on {kind} strings ({solver.reason_unknown()})")
        if verdict == z3.unsat:
            break
        model = solver.model()
        vector = tuple(z3.is_true(model.eval(f, model_completion=True)) for f in flags)
        same = [f if v else z3.Not(f) for f, v in zip(flags, vector, strict=True)]
        solver.push()  # a readable string of the same class, when there is one
        solver.add(
            *same, z3.InRe(var, _READABLE_DOMAINS.get(kind, _ANY)) if kind in _READABLE_DOMAINS else True
        )
        text = model.eval(var, model_completion=True).as_string()
        if solver.check() == z3.sat:
            text = solver.model().eval(var, model_completion=True).as_string()
        solver.pop()
        found[vector] = text
        block(vector)
    _confirm(kind, patterns, found)
    return tuple(found.items())


def _confirm(kind: str, patterns: tuple[Pattern, ...], found: Mapping[tuple[bool, ...], str]) -> None:
    for vector, text in found.items():  # the concrete twin agrees on every witness string
        if tuple(p.holds(text) for p in patterns) != vector or not _domain_holds(kind, text):
            raise SolverMismatch(f"pattern encoding disagrees with the evaluator on {text!r}")


_ALLOWED = {
    "service": "abcdefghijklmnopqrstuvwxyz0123456789-",
    "name": "abcdefghijklmnopqrstuvwxyz0123456789",
}
_MAX_STATES = 50_000


def _explore(kind: str, patterns: tuple[Pattern, ...]) -> dict[tuple[bool, ...], str] | None:
    """Every truth vector some string of ``kind`` gives ``patterns``, by walking the product of
    their automata over the patterns' own characters plus one character none of them names (all
    such characters behave alike). Exact; None when a pattern is not a plain wildcard pattern
    (an ARN pattern with wildcards in its fixed parts) or the product grows too large: then the
    solver enumerates instead."""
    globs: list[tuple[str, bool, bool]] = []  # (text, literal, ignore_case)
    for p in patterns:
        if p.kind == "arn":
            parts = _arn_parts(p.text)
            if p.text == "*" or (parts is not None and not any(c in q for q in parts[:-1] for c in "*?")):
                globs.append((p.text, False, False))
            elif parts is None and p.text.startswith(("acs:", "arn:")):
                globs.append(("\x00never", True, False))  # a malformed ARN pattern: no string
            else:
                return None
        else:
            globs.append((p.text, p.kind == "equals", p.ignore_case))
    letters = {c for text, _, ic in globs for c in text for c in ({c.lower(), c.upper()} if ic else {c})}
    allowed = _ALLOWED.get(kind)
    if allowed is not None:
        letters &= set(allowed)
        spare = [c for c in allowed if c not in letters]
    else:
        letters.discard(":") if kind == "part" else None
        spare = [c for c in "qzxjkvwy0123456789" if c not in letters]
    pool = [*allowed] if allowed is not None else [*spare, *"abcdefghijklmnopqrstuvwxyz/._-"]
    if kind == "part":
        pool = [c for c in pool if c != ":"]

    memo: dict[tuple[int, frozenset[int], str], frozenset[int]] = {}

    def step(index: int, states: frozenset[int], char: str) -> frozenset[int]:
        key = (index, states, char)
        known = memo.get(key)
        if known is not None:
            return known
        text, literal, ignore_case = globs[index]
        moved = set()
        for i in states:
            if i == len(text):
                continue
            want = text[i]
            if not literal and want == "*":
                moved.add(i)
            elif (
                (not literal and want == "?")
                or want == char
                or (ignore_case and want.lower() == char.lower())
            ):
                moved.add(i + 1)
        memo[key] = result = closure(text, literal, frozenset(moved))
        return result

    def closure(text: str, literal: bool, states: frozenset[int]) -> frozenset[int]:
        found = set(states)
        for i in sorted(states):
            j = i
            while not literal and j < len(text) and text[j] == "*":
                j += 1
                found.add(j)
        return frozenset(found)

    dead: frozenset[int] = frozenset()
    start = (tuple(closure(t, lit, frozenset({0})) for t, lit, _ in globs), False)
    seen = {start: ""}
    queue = [start]
    vectors: dict[tuple[bool, ...], str] = {}
    indices = range(len(globs))
    while queue:
        state = queue.pop(0)
        states, nonempty = state
        text = seen[state]
        if nonempty or allowed is None:
            vector = tuple(len(globs[i][0]) in states[i] for i in indices)
            vectors.setdefault(vector, text)
        # Only the characters a live pattern expects next matter one by one; every other one
        # moves every pattern alike (through * and ? only), so one stands for them all.
        expected = {
            c
            for i in indices
            for pos in states[i]
            if pos < len(globs[i][0]) and (globs[i][1] or globs[i][0][pos] not in "*?")
            for c in (
                {globs[i][0][pos].lower(), globs[i][0][pos].upper()} if globs[i][2] else {globs[i][0][pos]}
            )
            if c in letters
        }
        other = next((c for c in pool if c not in expected), None)
        for char in [*sorted(expected), *([other] if other is not None else [])]:
            following = (tuple(step(i, states[i], char) if states[i] else dead for i in indices), True)
            if following not in seen:
                seen[following] = text + char
                queue.append(following)
                if len(seen) > _MAX_STATES:
                    return None
    return vectors


# --- the request ---------------------------------------------------------------------------------


_CONSTRAINTS: dict[tuple[str, str, tuple[Pattern, ...]], z3.BoolRef] = {}


def _slot_constraint(
    name: str, kind: str, patterns: tuple[Pattern, ...], flags: tuple[z3.BoolRef, ...]
) -> z3.BoolRef:
    """The slot's flags take only a vector some string gives them (one formula per pattern set)."""
    if not patterns:
        return z3.BoolVal(True)
    key = (name, kind, patterns)
    if key not in _CONSTRAINTS:
        negated = [z3.Not(f) for f in flags]
        _CONSTRAINTS[key] = _fast(
            z3.Z3_mk_or,
            [
                _fast(z3.Z3_mk_and, [f if v else n for f, n, v in zip(flags, negated, vector, strict=True)])
                for vector, _ in classes_of(kind, patterns)
            ],
        )
    return _CONSTRAINTS[key]


def _atom_id(literal: z3.BoolRef) -> int:
    """The id of the atom a literal (an atom or its negation) is about."""
    return (literal.arg(0) if z3.is_not(literal) else literal).get_id()


def _fast(make, args: list[z3.BoolRef]) -> z3.BoolRef:
    """And/Or of many Booleans straight through the C API (z3py's checks cost more than z3)."""
    context = z3.main_ctx()
    array = (z3.z3types.Ast * len(args))(*[a.as_ast() for a in args])
    return z3.BoolRef(make(context.ref(), len(args), array), context)


@dataclass
class _Slot:
    """One string of the request: the patterns asked of it, each a Boolean of the formula."""

    name: str
    kind: str  # service | name | part | rest | value
    patterns: dict[Pattern, z3.BoolRef] = field(default_factory=dict)

    def test(self, pattern: Pattern) -> z3.BoolRef:
        if pattern not in self.patterns:
            self.patterns[pattern] = z3.Bool(
                f"{self.name} ~ {pattern.kind}:{pattern.text}:{pattern.ignore_case}"
            )
        return self.patterns[pattern]

    def constraint(self) -> z3.BoolRef:
        return _slot_constraint(self.name, self.kind, tuple(self.patterns), tuple(self.patterns.values()))

    def value(self, model: z3.ModelRef) -> str:
        patterns = tuple(self.patterns)
        if not patterns:
            return {"service": "svc", "name": "action", "part": "", "rest": "x", "value": "x"}[self.kind]
        vector = tuple(z3.is_true(model.eval(self.patterns[p], model_completion=True)) for p in patterns)
        return dict(classes_of(self.kind, patterns))[vector]


@dataclass
class _Key:
    name: str  # lower-cased
    present: z3.BoolRef
    values: list[_Slot]
    count: z3.ArithRef | None  # for a key a qualifier reads: how many values the request sends
    shown: str = ""  # as the first document writes it


class Encoder:
    """Solver variables for one question and the formulas of the policies asked about.

    The request is a few strings: the action as service and name (lower-case, colon-free: an
    action has exactly one colon, so a pattern's one colon can only meet it), the resource as
    ``*`` or an ARN of the principal's cloud split at its fixed colons (the evaluator's
    ``_arn_parts``), and per condition key its value(s). Every test of the policies is a test of
    one of these strings against one pattern; the formula is Boolean over those tests, and each
    string's tests may take only the truth vectors some string gives them (``classes_of``).

    Every atom (a string test, a key's presence, ``resource == "*"``) is recorded, so a witness
    can be generalised into the class of requests that answer every atom alike.
    """

    def __init__(self, cloud: str) -> None:
        self.cloud = cloud
        self.prefix = "acs" if cloud == "alicloud" else "arn"
        self.service = _Slot("action.service", "service")
        self.name = _Slot("action.name", "name")
        self.star = z3.Bool("resource == *")
        fixed = 3 if cloud == "alicloud" else 4
        self.parts = [_Slot(f"resource.part{i + 1}", "part") for i in range(fixed)]
        self.rest = _Slot("resource.rest", "rest")
        self.keys: dict[str, _Key] = {}
        self.approximations: set[str] = set()
        # Where the statement being encoded sits in the question: +1 when the question needs it to
        # hold (an Allow asked positively), -1 when it needs it to fail (a Deny, a base policy of
        # new_access, a bound outside which the question looks). ForAnyValue/ForAllValues uses
        # are recorded with it, to know when asking up to _SLOTS_QUALIFIED values is exact.
        self.polarity = 1
        self.qualified_uses: list[tuple[str, str | None, int]] = []
        self.uninterpreted: list[z3.BoolRef] = []  # tests not encoded exactly, free atoms
        self.literal_actions: dict[str, str] = {}  # lower-cased -> as written
        self.action_labels: dict[str, z3.BoolRef] = {}
        self.not_action = False  # some statement has NotAction: any action may be covered
        self._carriage: tuple[tuple[str, ...], list[z3.BoolRef]] | None = None
        self.resource_labels: dict[str, z3.BoolRef] = {}
        self.condition_labels: dict[tuple[str, str, str], z3.BoolRef] = {}

    def slots(self) -> list[_Slot]:
        found = [self.service, self.name, *self.parts, self.rest]
        for key in self.keys.values():
            found += key.values
        return found

    def key(self, name: str, slots: int = 1) -> _Key:
        lowered = name.lower()
        known = self.keys.get(lowered)
        if known is not None and len(known.values) >= slots:
            return known
        if known is not None:  # now read by a qualifier: more value slots, the first one kept
            known.values += [_Slot(f"{lowered}[{i}]", "value") for i in range(len(known.values), slots)]
            known.count = z3.Int(f"count of {lowered}")
            return known
        present = z3.Bool(f"{lowered} present")
        values = [_Slot(f"{lowered}[{i}]", "value") for i in range(slots)]
        count = z3.Int(f"count of {lowered}") if slots > 1 else None
        self.keys[lowered] = _Key(lowered, present, values, count, name)
        return self.keys[lowered]

    def counts(self) -> dict[tuple[str, int], z3.BoolRef]:
        """``count of key == n`` as Boolean atoms (a class may pin how many values a key has)."""
        return {
            (key.name, n): z3.Bool(f"{key.name} has {n} values")
            for key in self.keys.values()
            if key.count is not None
            for n in range(len(key.values) + 1)
        }

    def carriage(self) -> list[z3.BoolRef]:
        """A key an action never carries is absent from its requests: for each action the
        reference has a row for (named literally, or on Alibaba Cloud covered by a pattern the
        documents use), ``action == A -> not present`` for each key no reading of A carries.
        Global, always-present and this tool's own keys stay free, and so does every key of an
        action the reference lacks (as ``evaluator.request_context`` reads them)."""
        from baseline.analysis import reference

        keys = tuple(sorted(k for k in self.keys if not free_key(self.cloud, k)))
        if self._carriage is not None and self._carriage[0] == keys:
            return self._carriage[1]
        facts: list[z3.BoolRef] = []
        if keys:
            rows = {}
            for lowered in self.literal_actions:
                if (ref := reference.lookup(self.cloud, lowered)) is not None:
                    rows[lowered] = ref
            if self.cloud == "alicloud":
                patterns = [p for p in self.action_labels if "*" in p or "?" in p]
                for lowered, ref in reference.alicloud_actions().items():
                    if lowered not in rows and (
                        self.not_action or any(glob_match(p, lowered, ignore_case=True) for p in patterns)
                    ):
                        rows[lowered] = ref
            for lowered, ref in sorted(rows.items()):
                never = [self.keys[k].present for k in keys if not carried_by(self.cloud, ref, k)]
                if never:
                    facts.append(z3.Implies(self.action_test(lowered), z3.Not(z3.Or(*never))))
        self._carriage = (keys, facts)
        return facts

    def domain(self) -> z3.BoolRef:
        """What a request can be: each string only as some string can answer its tests, an
        always-present key present, a multi-valued key with 1..n values when present, a key the
        action never carries absent."""
        carriage = self.carriage()  # first: it may add action tests, which the slots then answer
        facts = [*carriage, *(slot.constraint() for slot in self.slots())]
        for key in self.keys.values():
            if always_present(key.name):
                facts.append(key.present)
            if key.count is not None:
                facts.append(z3.If(key.present, key.count >= 1, key.count == 0))
                facts.append(key.count <= len(key.values))
        facts += [flag == (self.keys[name].count == n) for (name, n), flag in self.counts().items()]
        return z3.And(*facts)

    # tests of the request
    def action_test(self, pattern: str) -> z3.BoolRef:
        lowered = pattern.lower()
        if lowered == "*":
            return z3.BoolVal(True)
        if lowered.count(":") == 1:
            service, name = lowered.split(":")
            return z3.And(self.service.test(Pattern("glob", service)), self.name.test(Pattern("glob", name)))
        if ":" in lowered or not any(c in lowered for c in "*?"):
            return z3.BoolVal(False)  # two colons, or no colon and no wildcard: no action matches
        self.approximations.add(f"action pattern {pattern!r} without a colon is not encoded")
        return self._free(f"action ~ {lowered}")

    def resource_test(self, pattern: str) -> z3.BoolRef:
        if pattern == "*":
            return z3.BoolVal(True)
        parts = _arn_parts(pattern)
        if parts is None and pattern.startswith(("acs:", "arn:")):
            return z3.BoolVal(False)  # a malformed ARN pattern matches nothing
        if parts is not None:
            if parts[0] != self.prefix:
                return z3.BoolVal(False)  # the other cloud's ARN: its literal prefix never matches
            fixed = [slot.test(Pattern("glob", p)) for p, slot in zip(parts[1:-1], self.parts, strict=True)]
            return z3.And(z3.Not(self.star), *fixed, self.rest.test(Pattern("glob", parts[-1])))
        if pattern.startswith("*"):
            self.approximations.add(f"resource pattern {pattern!r} is not encoded")
            return self._free(f"resource ~ {pattern}")
        return z3.And(self.star, z3.BoolVal(glob_match(pattern, "*")))  # a non-ARN literal prefix

    def fixed_resource(self, resource: str) -> z3.BoolRef:
        """The request names exactly ``resource`` (``*`` or an ARN of this cloud)."""
        if resource == "*":
            return self.star
        parts = _arn_parts(resource)
        if parts is None or parts[0] != self.prefix:
            raise ValueError(f"{resource!r} is neither '*' nor an {self.prefix}: ARN")
        slots = [*self.parts, self.rest]
        tests = [slot.test(Pattern("equals", p)) for slot, p in zip(slots, parts[1:], strict=True)]
        return z3.And(z3.Not(self.star), *tests)

    def _free(self, name: str) -> z3.BoolRef:
        atom = z3.Bool(name)
        if not any(atom.eq(known) for known in self.uninterpreted):
            self.uninterpreted.append(atom)
        return atom

    # atoms
    def action_atom(self, pattern: str) -> z3.BoolRef:
        lowered = pattern.lower()
        if "*" not in lowered and "?" not in lowered:
            self.literal_actions.setdefault(lowered, pattern)
        return self.action_labels.setdefault(lowered, self.action_test(lowered))

    def resource_atom(self, pattern: str) -> z3.BoolRef:
        return self.resource_labels.setdefault(pattern, self.resource_test(pattern))

    def _value_test(self, base: str, policy_value: str, slot: _Slot, key: str) -> z3.BoolRef:
        if base == "stringequals":
            return slot.test(Pattern("equals", policy_value))
        if base in ("stringequalsignorecase", "bool"):
            return slot.test(Pattern("equals", policy_value, True))
        if base == "stringlike":
            return slot.test(Pattern("glob", policy_value))
        if base in ("arnequals", "arnlike"):
            return slot.test(Pattern("arn", policy_value))
        # numeric, date, ip: an uninterpreted predicate of the request value.
        self.approximations.add(f"{base} on {key} is not encoded exactly (an uninterpreted test)")
        return self._free(f"{slot.name} {base} {policy_value}")

    def condition(self, operator: str, key_name: str, policy_values: Any) -> z3.BoolRef:
        """``evaluator.condition_holds`` for one operator/key pair, symbolically."""
        op = _Operator.parse(operator)
        values = [str(v) for v in as_list(policy_values)]
        qualified = op.qualifier is not None
        key = self.key(key_name, _SLOTS_QUALIFIED if qualified else 1)
        self.qualified_uses.append((key.name, op.qualifier, self.polarity))
        label = (operator.lower(), key.name, json.dumps(values))
        if op.base == "null":
            wants_absent = any(v.lower() == "true" for v in values)
            return self.condition_labels.setdefault(
                label, z3.Not(key.present) if wants_absent else key.present
            )

        def matches(slot: _Slot) -> z3.BoolRef:
            hit = z3.Or(*[self._value_test(op.base, p, slot, key.name) for p in values] or [False])
            return z3.Not(hit) if op.negated else hit

        slots = [(i, matches(slot)) for i, slot in enumerate(key.values)]
        if key.count is None:
            sent_all = sent_any = slots[0][1]
        else:
            sent_all = z3.And(*[z3.Implies(key.count > i, m) for i, m in slots])
            sent_any = z3.Or(*[z3.And(key.count > i, m) for i, m in slots])
        if op.qualifier == "forallvalues":
            formula = z3.Or(z3.Not(key.present), sent_all)
        elif op.qualifier == "foranyvalue":
            formula = z3.And(key.present, sent_any)
        else:
            absent = z3.BoolVal(op.if_exists or op.negated)
            formula = z3.If(key.present, sent_all if op.negated else sent_any, absent)
        return self.condition_labels.setdefault(label, formula)

    # statements and policies
    def statement(self, statement: Mapping[str, Any]) -> z3.BoolRef:
        if "Action" in statement:
            act = z3.Or(*[self.action_atom(str(p)) for p in as_list(statement["Action"])] or [False])
        elif "NotAction" in statement:
            self.not_action = True
            act = z3.Not(
                z3.Or(*[self.action_atom(str(p)) for p in as_list(statement["NotAction"])] or [False])
            )
        else:
            return z3.BoolVal(False)
        if "Resource" in statement:
            res = z3.Or(*[self.resource_atom(str(p)) for p in as_list(statement["Resource"])] or [False])
        elif "NotResource" in statement:
            res = z3.Not(
                z3.Or(*[self.resource_atom(str(p)) for p in as_list(statement["NotResource"])] or [False])
            )
        else:
            return z3.BoolVal(False)
        conditions = []
        for operator, block in (statement.get("Condition") or {}).items():
            if not isinstance(block, Mapping):
                raise PolicyError(f"condition operator {operator!r} needs a map of keys")
            for key, values in block.items():
                conditions.append(self.condition(operator, key, values))
        return z3.And(act, res, *conditions)

    def _effects(self, policies: Sequence[NamedPolicy]) -> tuple[list[z3.BoolRef], list[z3.BoolRef]]:
        allows, denies = [], []
        for policy in policies:
            statements = policy.document.get("Statement", [])
            for statement in [statements] if isinstance(statements, Mapping) else statements:
                effect = str(statement.get("Effect", ""))
                if effect not in ("Allow", "Deny"):
                    raise PolicyError(f"{policy.name} has a statement with Effect {effect!r}")
                outer, self.polarity = self.polarity, self.polarity * (1 if effect == "Allow" else -1)
                (allows if effect == "Allow" else denies).append(self.statement(statement))
                self.polarity = outer
        return allows, denies

    def settle(self) -> None:
        """Name the multi-valued keys whose answer rests on asking at most _SLOTS_QUALIFIED values.

        A request's value set must meet every condition the question needs to hold or to fail. A
        universal one (ForAllValues needed to hold, ForAnyValue needed to fail) holds for every
        subset of a set that meets it; an existential one (the other two) needs one value of the
        set. So one value per existential use suffices: with no more such uses of a key than
        value slots, the bounded encoding is exact. A use without qualifier on such a key is
        counted as existential (conservative).
        """
        existential: dict[str, int] = {}
        for name, qualifier, polarity in self.qualified_uses:
            exists = (qualifier == "foranyvalue") == (polarity > 0) if qualifier else True
            existential[name] = existential.get(name, 0) + int(exists)
        for name, key in self.keys.items():
            if key.count is not None and existential.get(name, 0) > len(key.values):
                where, asked = key.shown or name, len(key.values)
                self.approximations.add(
                    f"ForAnyValue/ForAllValues on {where}: requests with up to {asked} values asked"
                )

    def allows(self, policies: Sequence[NamedPolicy], boundary: Sequence[NamedPolicy] | None) -> z3.BoolRef:
        """``evaluator.evaluate(...).allowed`` as a formula of the request."""
        allows, denies = self._effects(policies)
        parts = [z3.Or(*allows) if allows else z3.BoolVal(False)]
        if boundary is not None:
            bound_allows, bound_denies = self._effects(boundary)
            denies += bound_denies
            parts.append(z3.Or(*bound_allows) if bound_allows else z3.BoolVal(False))
        if denies:
            parts.append(z3.Not(z3.Or(*denies)))
        return z3.And(*parts)


# --- answers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Witness:
    """One concrete request, as ``can`` would be asked it."""

    action: str
    resource: str
    context: dict[str, list[str]]  # present keys only; an always-present key is always listed

    def can_command(self, stack: str, principal: str, also: Sequence[str] = ()) -> str:
        """``also``: the call's other resources, so ``can`` (which asks calls) reproduces it."""
        parts = [f"{BASELINE} can", f"--stack {stack}", f"--principal {principal}"]
        parts += [f"--action {self.action}", f"--resource {_quote(self.resource)}"]
        parts += [f"--resource {_quote(r)}" for r in also]
        parts += [f"--context {_quote(f'{k}={v}')}" for k, values in self.context.items() for v in values]
        return " ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "resource": self.resource, "context": self.context}


def _quote(text: str) -> str:
    return (
        text if all(c.isalnum() or c in ":/_-.=@" for c in text) else "'" + text.replace("'", "'\\''") + "'"
    )


@dataclass
class AccessClass:
    """Requests that every atom of the question answers alike: one line of a diff."""

    action: str  # the action, or the narrowest pattern it is one of
    resource: str  # the narrowest resource pattern, or the witness resource
    excluded_resources: list[str]
    conditions: list[str]  # "no ecs:CommandRunAs", "ecs:CommandRunAs=user01", "k=v (not a, b)"
    witness: Witness
    absent_keys: list[str] = field(default_factory=list)
    excluded_actions: list[str] = field(default_factory=list)
    also_actions: list[str] = field(default_factory=list)  # given alike by the same class

    @property
    def actions(self) -> list[str]:
        return [self.action, *self.also_actions]

    def describe(self) -> str:
        text = ", ".join(self.actions)
        if self.excluded_actions:
            text += " (not " + ", ".join(self.excluded_actions) + ")"
        text += f" on {self.resource}"
        if self.excluded_resources:
            text += " (not " + ", ".join(self.excluded_resources) + ")"
        if self.conditions:
            text += " with " + ", ".join(self.conditions)
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "class": self.describe(),
            "action": self.action,
            "actions": self.actions,
            "resource": self.resource,
            "excludedActions": self.excluded_actions,
            "excludedResources": self.excluded_resources,
            "conditions": self.conditions,
            "absentKeys": self.absent_keys,
            "witness": self.witness.as_dict(),
        }


@dataclass
class Answer:
    """A proof (``classes`` empty, ``complete``) or witnesses; ``approximations`` it rests on."""

    classes: list[AccessClass]
    complete: bool  # every class was enumerated (False: the limit was reached)
    approximations: list[str]

    @property
    def proved_none(self) -> bool:
        return not self.classes


def _fingerprint(policies: Sequence[NamedPolicy], boundary: Sequence[NamedPolicy] | None) -> str:
    return json.dumps(
        [[p.document for p in policies], None if boundary is None else [p.document for p in boundary]],
        sort_keys=True,
    )


def same_policies(a: Any, b: Any) -> bool:
    """Whether two ``access.Grants`` hold the same documents (then they allow alike, no solver)."""
    return _fingerprint(a.policies, a.boundary) == _fingerprint(b.policies, b.boundary)


def _narrowest(patterns: Iterable[str]) -> str | None:
    ranked = sorted(patterns, key=lambda p: (-len(p.replace("*", "").replace("?", "")), p))
    return ranked[0] if ranked else None


class Question:
    """One solver session over an encoder: formulas, domain, witnesses and their classes."""

    def __init__(self, cloud: str) -> None:
        self.enc = Encoder(cloud)
        self.solver = z3.Solver()
        self.solver.set("timeout", 20000)

    def formula(self, grants: Any) -> z3.BoolRef:
        return self.enc.allows(grants.policies, grants.boundary)

    def _model(self, preferences: Sequence[z3.BoolRef]) -> z3.ModelRef | None:
        # Try the most readable witness first; the proof is the last check, without preferences.
        for n in range(len(preferences), -1, -1):
            self.solver.push()
            self.solver.add(*preferences[:n])
            verdict = self.solver.check()
            model = self.solver.model() if verdict == z3.sat else None
            self.solver.pop()
            if model is not None:
                return model
            if verdict == z3.unknown:
                raise SolverMismatch(f"the solver gave no answer ({self.solver.reason_unknown()})")
        return None

    def _true(self, model: z3.ModelRef, formula: z3.BoolRef) -> bool:
        return z3.is_true(model.eval(formula, model_completion=True))

    def witness(self, model: z3.ModelRef) -> Witness:
        enc = self.enc
        action = f"{enc.service.value(model)}:{enc.name.value(model)}"
        action = enc.literal_actions.get(action, action)
        if self._true(model, enc.star):
            resource = "*"
        else:
            resource = ":".join(
                [enc.prefix, *(slot.value(model) for slot in enc.parts), enc.rest.value(model)]
            )
        context: dict[str, list[str]] = {}
        for key in enc.keys.values():
            if not self._true(model, key.present):
                continue
            count = 1 if key.count is None else model.eval(key.count, model_completion=True).as_long()
            context[key.shown] = [slot.value(model) for slot in key.values[: max(count, 1)]]
        return Witness(action, resource, context)

    def atoms(self) -> list[z3.BoolRef]:
        enc = self.enc
        found = [enc.star] + [f for slot in enc.slots() for f in slot.patterns.values()]
        found += [key.present for key in enc.keys.values()]
        found += list(enc.counts().values()) + enc.uninterpreted
        return found

    def classify(
        self, model: z3.ModelRef, witness: Witness, query: z3.BoolRef
    ) -> tuple[AccessClass, z3.BoolRef]:
        """The witness generalised: the fewest atoms, as the model answers them, that imply the
        query (an unsat core of "these atoms and not the query"), described and as a formula."""
        enc = self.enc
        literals = [a if self._true(model, a) else z3.Not(a) for a in self.atoms()]
        general = z3.Solver()
        general.set("core.minimize", True)
        general.add(enc.domain(), z3.Not(query))
        # Unsat by construction: the literals fix every atom the query is made of.
        core = list(general.unsat_core()) if general.check(*literals) == z3.unsat else literals
        held = {(not z3.is_not(c), _atom_id(c)) for c in core}

        def pinned(atom: z3.BoolRef) -> bool | None:
            if (True, atom.get_id()) in held:
                return True
            if (False, atom.get_id()) in held:
                return False
            return None

        # Blocked: the class without the resources it avoids (a Deny, a grant the base had), so
        # one grant is one class, not one per resource it happens to avoid.
        resource_atoms = {enc.star.get_id()} | {
            f.get_id() for slot in [*enc.parts, enc.rest] for f in slot.patterns.values()
        }
        wide = [c for c in core if not (z3.is_not(c) and _atom_id(c) in resource_atoms)]
        # The other actions the policies name that the rest of the class gives alike: one class
        # for "these actions on this resource with these conditions", not one per action.
        action_atoms = {f.get_id() for slot in (enc.service, enc.name) for f in slot.patterns.values()}
        rest = [c for c in core if _atom_id(c) not in action_atoms]
        rest_wide = [c for c in wide if _atom_id(c) not in action_atoms]
        access_class = self._describe(witness, pinned)
        alike = []
        possible = self.solver  # the question with every class found so far blocked
        service = witness.action.lower().split(":")[0] + ":"
        for lowered, written in enc.literal_actions.items():
            if lowered == witness.action.lower() or not lowered.startswith(service):
                continue  # one service per class: a class reads as one grant
            test = enc.action_test(lowered)
            general.push()
            general.add(test)
            # Alike only when it needs exactly the same facts (not a wider grant of its own).
            implied = general.check(*rest) == z3.unsat and len(general.unsat_core()) == len(rest)
            general.pop()
            if implied:
                possible.push()
                possible.add(test)
                if possible.check(*rest) == z3.sat:
                    alike.append((written, test))
                possible.pop()
        access_class.also_actions = [a for a, _ in alike]
        formula = z3.And(*wide) if wide else z3.BoolVal(True)
        if alike:
            formula = z3.Or(formula, z3.And(*rest_wide, z3.Or(*[t for _, t in alike])))
        return access_class, formula

    def _describe(self, witness: Witness, pinned) -> AccessClass:
        enc = self.enc

        def slot_text(slot: _Slot, default: str) -> tuple[str, list[str]]:
            positive = [p.text for p, f in slot.patterns.items() if pinned(f) is True]
            negative = [p.text for p, f in slot.patterns.items() if pinned(f) is False]
            narrowest = _narrowest(positive)
            return (default if narrowest is None else narrowest), negative

        service, service_not = slot_text(enc.service, "*")
        name, name_not = slot_text(enc.name, "*")
        literal = "*" not in name and "?" not in name and "*" not in service
        action = witness.action if literal else f"{service}:{name}" if (service, name) != ("*", "*") else "*"
        excluded_actions = [f"{service}:{n}" for n in name_not] + [f"{s}:*" for s in service_not]
        if pinned(enc.star) is True:
            resource, excluded = "*", []
        else:
            texts = [slot_text(slot, "*") for slot in [*enc.parts, enc.rest]]
            resource = ":".join([enc.prefix, *(t[0] for t in texts)])
            if all(t[0] == "*" for t in texts) and pinned(enc.star) is None:
                resource = "*"
            excluded = []
            for index, (positive, negative) in enumerate(texts):
                if positive == "*":
                    continue  # a narrower grant or a Deny elsewhere: not what this class is about
                for pattern in negative:
                    pieces = [t[0] for t in texts]
                    pieces[index] = pattern
                    excluded.append(":".join([enc.prefix, *pieces]))
        conditions, absent = [], []
        for key in enc.keys.values():
            state = pinned(key.present)
            if state is False:
                conditions.append(f"no {key.shown}")
                absent.append(key.shown)
                continue
            tests = [(p, pinned(f)) for slot in key.values[:1] for p, f in slot.patterns.items()]
            positive = [p for p, t in tests if t is True]
            negative = [p for p, t in tests if t is False]
            sent = witness.context.get(key.shown, [""])[0]
            if any(p.kind == "equals" for p in positive):
                equal = next(p for p in positive if p.kind == "equals")
                conditions.append(
                    f"{key.shown}={equal.text}" + (" (ignoring case)" if equal.ignore_case else "")
                )
            elif positive or negative:
                what = [f"like {p.text}" for p in positive]
                if negative:
                    what.append("not " + ", ".join(p.text for p in negative))
                if key.shown not in witness.context:  # absent, or present with such a value
                    conditions.append(f"{key.shown} absent or {' and '.join(what)}")
                else:
                    conditions.append(f"{key.shown} {' and '.join(what)} (e.g. {sent})")
            elif state is True and not always_present(key.shown):
                conditions.append(f"{key.shown} present (e.g. {sent})")
        return AccessClass(action, resource, excluded, conditions, witness, absent, excluded_actions)


def _check(grants: Any, witness: Witness, expected: bool, approximate: bool) -> None:
    decision = evaluate_request(
        grants.policies,
        grants.principal.cloud,
        witness.action,
        witness.resource,
        witness.context,
        boundary=grants.boundary,
    )
    if decision.allowed != expected and not approximate:
        raise SolverMismatch(
            f"the solver says {'allow' if expected else 'deny'} but the evaluator says "
            f"{decision.word} for {witness.as_dict()}: {decision.reason}"
        )


def _enumerate(
    question: Question,
    query: z3.BoolRef,
    checks: Sequence[tuple[Any, bool]],
    limit: int,
    focus: Sequence[z3.BoolRef] = (),
) -> Answer:
    enc = question.enc
    enc.settle()
    question.solver.add(enc.domain(), query)
    literal = z3.Or(*[enc.action_test(a) for a in enc.literal_actions]) if enc.literal_actions else None
    preferences = [literal] if literal is not None else []
    approximate = bool(enc.approximations)
    classes: list[AccessClass] = []
    complete = True
    for stage in [*focus, None]:
        while True:
            if len(classes) >= limit:
                complete = question.solver.check() == z3.unsat
                break
            question.solver.push()
            if stage is not None:
                question.solver.add(stage)
            model = question._model(preferences)
            question.solver.pop()
            if model is None:
                break
            witness = question.witness(model)
            for grants, expected in checks:
                _check(grants, witness, expected, approximate)
            access_class, formula = question.classify(model, witness, query)
            classes.append(access_class)
            question.solver.add(z3.Not(formula))
        if len(classes) >= limit:
            break
    return Answer(classes, complete, sorted(enc.approximations))


def new_access(base: Any, new: Any, *, limit: int = 12, focus_actions: Iterable[str] = ()) -> Answer:
    """What ``new`` allows and ``base`` does not (``access.Grants`` or None for "nothing")."""
    cloud = (new or base).principal.cloud
    question = Question(cloud)
    enc = question.enc
    focus = list(focus_actions)
    for action in focus:  # their own classes, and found first
        enc.action_atom(action)
    allows_new = question.formula(new) if new is not None else z3.BoolVal(False)
    enc.polarity = -1  # new access: what base allows must fail
    allows_base = question.formula(base) if base is not None else z3.BoolVal(False)
    enc.polarity = 1
    checks = [(g, e) for g, e in ((new, True), (base, False)) if g is not None]
    stage = [z3.Or(*[enc.action_test(a) for a in focus])] if focus else []
    return _enumerate(question, z3.And(allows_new, z3.Not(allows_base)), checks, limit, stage)


@dataclass(frozen=True)
class Constraint:
    """A context constraint of ``can --any``: KEY=VALUE, KEY!=VALUE, or KEY absent."""

    key: str
    value: str | None
    negated: bool = False

    @classmethod
    def parse(cls, text: str) -> Constraint:
        from baseline.errors import ConfigError

        if text.startswith("!") and "=" not in text:
            return cls(text[1:], None, True)
        key, sep, value = text.partition("=")
        negated = key.endswith("!")
        key = key.removesuffix("!")
        if not sep or not key:
            raise ConfigError(
                key="--context",
                value=text,
                problem="with --any a context entry is KEY=VALUE, KEY!=VALUE or !KEY (absent)",
                fix="e.g. ecs:CommandRunAs!=user01",
            )
        return cls(key, value, negated)


def any_allowed(
    grants: Any,
    action_pattern: str = "*",
    resource_pattern: str = "*",
    constraints: Sequence[Constraint] = (),
    *,
    limit: int = 1,
) -> Answer:
    """Is some request matching the patterns and constraints allowed? Witnesses, or a proof."""
    question = Question(grants.principal.cloud)
    enc = question.enc
    allowed = question.formula(grants)
    facts = [enc.action_test(action_pattern), enc.resource_test(resource_pattern)]
    for constraint in constraints:
        key = enc.keys.get(constraint.key.lower()) or enc.key(constraint.key)
        if constraint.value is None:
            facts.append(z3.Not(key.present))
            continue
        equal = key.values[0].test(Pattern("equals", constraint.value))
        facts.append(
            z3.Or(z3.Not(key.present), z3.Not(equal)) if constraint.negated else z3.And(key.present, equal)
        )
    return _enumerate(question, z3.And(allowed, *facts), [(grants, True)], limit)


REACH_FILE = Path(__file__).with_name("intended_reach.yaml")


@cache
def _reach_entries() -> tuple[dict[str, Any], ...]:
    from baseline.analysis import reference

    return tuple(reference.load_yaml(REACH_FILE.read_text())["reach"])


def intended_reach(principal: Any) -> list[dict[str, Any]]:
    """The bounds ``intended_reach.yaml`` states for this principal (name glob and cloud)."""
    return [
        entry
        for entry in _reach_entries()
        if entry["cloud"] == principal.cloud and glob_match(entry["principal"], principal.name)
    ]


@dataclass
class Reach:
    """An escalation proof: what a principal allows outside its bounds, and bounds it never uses."""

    outside: Answer
    unused: list[str]  # the ``why`` of each bound no allowed escalation request falls in


def escalation_reach(grants: Any, actions: Iterable[str], bounds: Sequence[Mapping[str, Any]]) -> Reach:
    """Requests whose action is one of ``actions`` that ``grants`` allow outside every bound.

    A bound is a policy statement's shape (``Action``, ``Resource`` or ``NotResource``,
    ``Condition``) plus ``why``: the intended reach. An empty ``outside`` proves nothing reaches
    further, on any resource and in any context.
    """
    question = Question(grants.principal.cloud)
    enc = question.enc
    allowed = question.formula(grants)
    wanted = z3.Or(*[enc.action_atom(a) for a in actions])
    enc.polarity = -1  # the question looks outside every bound
    inside = [
        enc.statement(
            {k: v for k, v in bound.items() if k in ("Action", "Resource", "NotResource", "Condition")}
        )
        for bound in bounds
    ]
    enc.polarity = 1
    unused = []
    if inside:
        probe = z3.Solver()
        probe.add(enc.domain(), allowed, wanted)
        for bound, formula in zip(bounds, inside, strict=True):
            probe.push()
            probe.add(formula)
            if probe.check() == z3.unsat:
                unused.append(bound["why"])
            probe.pop()
    outside = z3.Not(z3.Or(*inside)) if inside else z3.BoolVal(True)
    answer = _enumerate(question, z3.And(allowed, wanted, outside), [(grants, True)], 5)
    return Reach(answer, unused)


def decide(grants: Any, action: str, resource: str, context: Mapping[str, Sequence[str]]) -> bool:
    """The solver's verdict on one fixed request (for the agreement test with the evaluator)."""
    question = Question(grants.principal.cloud)
    enc = question.enc
    allowed = question.formula(grants)
    facts = [enc.action_test(action.lower()), enc.fixed_resource(resource)]
    enc.literal_actions.setdefault(action.lower(), action)  # its keys are constrained (carriage)
    kept, _ = request_context(grants.principal.cloud, action, context)
    given = {k.lower(): [str(v)] if isinstance(v, str) else [str(x) for x in v] for k, v in kept.items()}
    for name in set(enc.keys) | set(given):
        key = enc.keys.get(name) or enc.key(name)
        values = given.get(name)
        if values is None:
            if not always_present(name):  # an omitted always-present key is "some value"
                facts.append(z3.Not(key.present))
            continue
        facts.append(key.present)
        if key.count is not None:
            facts.append(key.count == min(len(values), len(key.values)))
        facts += [slot.test(Pattern("equals", v)) for slot, v in zip(key.values, values, strict=False)]
    solver = z3.Solver()
    solver.add(allowed, *facts, enc.domain())
    return solver.check() == z3.sat


# --- `can --any` ---------------------------------------------------------------------------------


def _call_note(cloud: str, witness: Witness) -> str:
    """What the witness request is to its call: of a type no call names, or one of several
    resources the call needs ("" when it is the whole call, or the reference lacks the action)."""
    from baseline.analysis import reference
    from baseline.analysis.evaluator import foreign_resources

    ref = reference.lookup(cloud, witness.action)
    if ref is None or witness.resource == "*":
        return ""
    if foreign_resources(ref, [witness.resource]):
        types = ", ".join(sorted({t.arn for r in ref.readings for t in r.resources}))
        return f"no call names it: {ref.action} is authorised on {types}"
    needed = [*ref.primary.required, *(types[0] for types in ref.primary.choices.values())]
    others = [t.arn for t in needed if t.arn != "*" and not arn_matches(t.pattern, witness.resource)]
    if not others:
        return ""
    return (
        f"one of the call's: {ref.action} is also authorised on {', '.join(others)} "
        "(ask `can` without --any for the call)"
    )


def any_question(
    stack: str,
    grants: Any,
    asked_as: str,
    action: str,
    resource: str,
    pairs: Sequence[str],
    fmt: str,
    *,
    config_file: str | None = None,
    limit: int = 3,
) -> tuple[str, bool]:
    """``can --any``: is any request matching these patterns allowed, in any context the
    ``--context`` constraints leave open? Allow with witnesses, or deny with a proof."""
    constraints = [Constraint.parse(pair) for pair in pairs]
    answer = any_allowed(grants, action, resource, constraints, limit=limit)
    allowed = not answer.proved_none

    def reproduce(witness: Witness) -> str:
        command = witness.can_command(stack, asked_as)
        if config_file:
            command = command.replace(f"--stack {stack} ", f"--stack {stack} --config-file {config_file} ", 1)
        return command

    principal = grants.principal
    asked = f"{action} on {resource}" + (f" with {', '.join(pairs)}" if pairs else " in any context")
    if fmt == "json":
        result = {
            "stack": stack,
            "principal": {"cloud": principal.cloud, "kind": principal.kind, "name": principal.name},
            "question": {"action": action, "resource": resource, "context": list(pairs)},
            "decision": "allow" if allowed else "deny",
            "proved": not allowed,
            "classes": [{**c.as_dict(), "reproduce": reproduce(c.witness)} for c in answer.classes],
            "complete": answer.complete,
            "approximations": answer.approximations,
            "notEvaluated": list(grants.not_evaluated),
        }
        return json.dumps(result, indent=2) + "\n", allowed
    scope = " by the policies evaluated offline" if grants.not_evaluated else ""
    lines = [
        "allow" if allowed else f"deny (proved: no request matching the question is allowed{scope})",
        f"  principal: {principal.label} (stack {stack})",
        f"  question:  any request for {asked}",
    ]
    for item in answer.classes:
        lines.append(f"  allowed:   {item.describe()}")
        lines.append(f"  witness:   {reproduce(item.witness)}")
        if note := _call_note(principal.cloud, item.witness):
            lines.append(f"  request:   {note}")
    if allowed and not answer.complete:
        lines.append(f"  (more allowed requests than the {len(answer.classes)} classes shown)")
    lines.extend(f"  approximate: {a}" for a in answer.approximations)
    lines.extend(f"  also attached: {item}" for item in grants.not_evaluated)
    return "\n".join(lines) + "\n", allowed
