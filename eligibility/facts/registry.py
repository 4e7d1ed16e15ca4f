"""Every fact a policy may use, declared once: its path, how it is computed, its words and its evidence.

A *fact* is one thing known (or not) about a submission under one policy: the patient's age, the
count of failed adequate antidepressant trials, whether a neurostimulator is within reach of the coil.
Its declaration says, in one place:

* the **field** a rule condition may test (``age``), computed from the submission (``None``: not known,
  so absent from what durable-rules sees, which only ``$nex`` matches);
* its **words**: the ``{placeholders}`` a reason may use (``{age}``, ``{age_text}``);
* its **evidence**: the ``@references`` a rule's evidence or missing information may use (``@age``),
  resolved to JSON Pointers into the submission.

Some facts exist once (``age``); others once per name a policy gives (each diagnosis code set, scale
window and count of its ``parameters``; each implant group of its therapy). Adding a fact is adding one
declaration here, and using it in the policy files that need it: the policy checker, the summary and
the explanation all read this registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from itertools import combinations
from typing import Any

from ..catalogue import Catalogue
from ..model import SEVERITY_RANK, Drug, Submission, age_on
from ..therapy import ImplantGroup, ImplantRules, Therapy
from .judging import Counted, Selected, count, select_score
from .specs import CountSpec, FactSpec, ScaleSpec
from .words import DESCRIBE, fmt, join, word

Compute = Callable[["Context"], Any]
# The ordering clinician's role as a sentence names it ("ordered by {clinician.role_phrase}").
ROLE_PHRASES = {"psychiatrist": "a psychiatrist", "psychiatric_nurse_practitioner": "a psychiatric nurse practitioner",
                "other_physician": "a physician who is not a psychiatrist",
                "other": "a clinician who is neither a physician nor a psychiatric nurse practitioner"}


class Context:
    """One submission under one policy: what the declarations compute from, each piece computed once."""

    __slots__ = ("sub", "spec", "catalogue", "therapy", "_cache")

    def __init__(self, sub: Submission, spec: FactSpec, catalogue: Catalogue, therapy: Therapy):
        self.sub, self.spec, self.catalogue, self.therapy = sub, spec, catalogue, therapy
        self._cache: dict[tuple, Any] = {}

    def _once(self, key: tuple, make: Callable[[], Any]):
        try:
            return self._cache[key]
        except KeyError:
            value = self._cache[key] = make()
            return value

    def counted(self, name: str) -> Counted:
        return self._once(("count", name), lambda: count(self, self.spec.counts[name]))

    def drug(self, trial) -> Drug | None:
        """The trial's drug as this policy's catalogue knows it (``None``: it does not). The submission was
        read with the newest catalogue; a policy written against an earlier one reads that one's entry."""
        return None if trial.drug is None else self.catalogue.by_name.get(trial.drug.name)

    def selected(self, name: str) -> Selected:
        return self._once(("scale", name), lambda: select_score(self.sub, self.spec.scales[name]))

    def implants(self, group: ImplantGroup) -> ImplantReading:
        return self._once(("implants", group.name), lambda: read_implants(self.sub, self.therapy.implants, group))

    def request(self, name: str):
        """A request field as given, else the therapy's default for it (``None``: not stated)."""
        value = getattr(self.sub.request, name)
        return value if value is not None else self.therapy.request_defaults.get(name)


@dataclass(frozen=True)
class Fact:
    """One declared fact. ``field`` is the path rules test (``None``: words and evidence only)."""

    field: str | None
    value: Compute | None = None
    words: dict[str, Compute] = field(default_factory=dict)
    evidence: dict[str, Compute] = field(default_factory=dict)


class Registry:
    """The facts one policy can use: fields by path, words by placeholder, evidence by reference."""

    def __init__(self):
        self.facts: list[Fact] = []
        self.fields: dict[str, Compute] = {}
        self.words: dict[str, Compute] = {}
        self.evidence: dict[str, Compute] = {}
        self._computes: dict[frozenset[str] | None, tuple[tuple[str, Compute], ...]] = {}

    def computes(self, paths: frozenset[str] | None) -> tuple[tuple[str, Compute], ...]:
        """(path, compute) for each of ``paths`` the registry declares (``None``: every field), in the order
        ``paths`` iterates; made once per set of paths, not once per summary."""
        try:
            return self._computes[paths]
        except KeyError:
            fields = self.fields
            made = self._computes[paths] = tuple((p, fields[p]) for p in (fields if paths is None else paths)
                                                 if p in fields)
            return made

    def fact(self, path: str | None, value: Compute | None = None, *, text: Compute | None = None,
             words: dict[str, Compute] | None = None, evidence: dict[str, Compute] | None = None) -> None:
        """Declare a fact: the field ``path`` computed by ``value`` (its words ``text``, by default the value
        as a reason prints it), further named ``words`` and named ``evidence`` references."""
        all_words = dict(words or {})
        if path is not None and value is not None:
            all_words.setdefault(path, text or (lambda c, value=value: word(value(c))))
        fact = Fact(path, value, all_words, dict(evidence or {}))
        taken = self.fields.keys() | self.words.keys() | self.evidence.keys()
        if taken & ({path} | all_words.keys() | fact.evidence.keys()):
            raise ValueError(f"a name of fact {path!r} is declared twice")
        self.facts.append(fact)
        if path is not None and value is not None:
            self.fields[path] = value
        self.words.update(fact.words)
        self.evidence.update(fact.evidence)


def registry(spec: FactSpec, therapy: Therapy) -> Registry:
    """Every fact a policy with these parameters, covering this therapy, can use."""
    r = Registry()
    _patient(r)
    _episode(r)
    _diagnoses(r, spec)
    for scale in spec.scales.values():
        _scale(r, scale)
    _safety(r, therapy)
    if therapy.implants is not None:
        for group in therapy.implants.groups:
            _implant_group(r, group)
    _request(r)
    for counted in spec.counts.values():
        _count(r, counted)
    return r


# -- the facts ----------------------------------------------------------------------------------------


def _pointer_if(path: str, present: bool) -> list[str]:
    return [path] if present else []


def _patient(r: Registry) -> None:
    def age_text(c: Context) -> str:
        p = c.sub.patient
        if p.age is None:
            return "not given"
        return str(p.age) if p.age_source == "age" else f"{p.age} (from birth_date)"

    r.fact("age", lambda c: c.sub.patient.age, words={"age_text": age_text},
           evidence={"@age": lambda c: _pointer_if(f"/patient/{c.sub.patient.age_source}",
                                                   c.sub.patient.age_source is not None)})
    r.fact("sex", lambda c: c.sub.patient.sex)
    r.fact("pregnant", lambda c: c.sub.patient.pregnant)
    r.fact("clinician.role", lambda c: c.sub.ordering_clinician_role,
           words={"clinician.role_phrase": lambda c: ROLE_PHRASES.get(c.sub.ordering_clinician_role, "not given")},
           evidence={"@clinician.role": lambda c: _pointer_if("/ordering_clinician/role",
                                                              bool(c.sub.ordering_clinician_role))})
    r.fact(None, words={"as_of": lambda c: c.sub.as_of.isoformat()})


def _episode(r: Registry) -> None:
    for name in ("severity", "psychotic_features", "catatonia", "ect_candidate"):
        def value(c: Context, name=name):
            return getattr(c.sub.episode, name)

        r.fact(f"episode.{name}", value,
               evidence={f"@episode.{name}": lambda c, name=name, value=value:
                         _pointer_if(f"/current_episode/{name}", value(c) is not None)})
    r.fact("episode.severity_rank",
           lambda c: None if c.sub.episode.severity is None else SEVERITY_RANK[c.sub.episode.severity])
    def onset_days(c: Context):
        return None if c.sub.episode.onset is None else (c.sub.as_of - c.sub.episode.onset).days

    def onset_years(c: Context):
        """Calendar years since the onset: whole years, plus the part of the year since the last anniversary
        (exactly 5 on the fifth anniversary, whatever leap days lie between)."""
        onset, as_of = c.sub.episode.onset, c.sub.as_of
        if onset is None:
            return None
        whole = age_on(onset, as_of)
        last = _anniversary(onset, whole)
        following = _anniversary(onset, whole + 1)
        return whole + round((as_of - last).days / (following - last).days, 4)

    r.fact("episode.onset_years", onset_years)
    r.fact("episode.onset_days", onset_days,
           words={"episode.onset": lambda c: word(c.sub.episode.onset and c.sub.episode.onset.isoformat())},
           evidence={"@episode.onset": lambda c: _pointer_if("/current_episode/onset",
                                                             c.sub.episode.onset is not None)})


def _anniversary(start: date, years: int) -> date:
    """``start`` moved on by ``years`` calendar years (29 February falls on 28 February in other years)."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


def _diagnoses(r: Registry, spec: FactSpec) -> None:
    def listed(c: Context) -> bool:
        return c.sub.diagnoses is not None

    def all_pointers(c: Context) -> list[str]:
        if c.sub.diagnoses is None:
            return []
        return [f"/diagnoses/{d.index}" for d in c.sub.diagnoses] or ["/diagnoses"]

    r.fact("dx.listed", lambda c: True if listed(c) else None)
    r.fact("dx.count", lambda c: len(c.sub.diagnoses) if listed(c) else None,
           text=lambda c: fmt(len(c.sub.diagnoses)) if listed(c) else "none given",
           words={"dx.codes": lambda c: ", ".join(d.code for d in c.sub.diagnoses) or "none" if listed(c)
                  else "none given"},
           evidence={"@dx": all_pointers})
    for name, code_set in spec.diagnosis_sets.items():
        def matching(c: Context, code_set=code_set):
            return [d for d in c.sub.diagnoses if d.code in code_set]

        r.fact(f"dx.{name}", lambda c, matching=matching: len(matching(c)) if listed(c) else None,
               text=lambda c, matching=matching: fmt(len(matching(c))) if listed(c) else "none given",
               words={f"dx.{name}.codes": lambda c, matching=matching:
                      ", ".join(d.code for d in matching(c)) or "none" if listed(c) else "none given",
                      # the same for every submission: filled in at load (see Policy.texts)
                      f"dx.{name}.set": lambda c, code_set=code_set: ", ".join(p.text for p in code_set)},
               evidence={f"@dx.{name}": lambda c, matching=matching:
                         [f"/diagnoses/{d.index}" for d in matching(c)] if listed(c) else []})


def _scale(r: Registry, spec: ScaleSpec) -> None:
    prefix, name = f"scale.{spec.name}", spec.name

    def chosen(c: Context):
        return c.selected(name).score

    def words_of(key: str, render: Callable) -> Compute:
        return lambda c: "not given" if chosen(c) is None else render(c, chosen(c))

    r.fact(f"{prefix}.listed", lambda c: c.selected(name).listed)
    r.fact(f"{prefix}.in_window", lambda c: c.selected(name).in_window if c.selected(name).listed else None)
    r.fact(f"{prefix}.instrument", lambda c: chosen(c) and chosen(c).instrument,
           text=words_of("instrument", lambda c, s: s.instrument.upper()))
    r.fact(f"{prefix}.score", lambda c: chosen(c) and chosen(c).score,
           text=words_of("score", lambda c, s: fmt(s.score)),
           evidence={f"@{prefix}": lambda c: _pointer_if(f"/scales/{chosen(c).index}" if chosen(c) else "",
                                                         chosen(c) is not None)})
    r.fact(f"{prefix}.threshold", lambda c: chosen(c) and spec.thresholds[chosen(c).instrument],
           text=words_of("threshold", lambda c, s: fmt(spec.thresholds[s.instrument])))
    r.fact(f"{prefix}.reaches", lambda c: None if chosen(c) is None else spec.reaches(chosen(c).instrument,
                                                                                        chosen(c).score),
           words={f"{prefix}.band": words_of("band", lambda c, s: (
               f"{fmt(spec.thresholds[s.instrument])}" if s.instrument not in spec.lows else
               f"{fmt(spec.lows[s.instrument])} to {fmt(spec.thresholds[s.instrument])} (the bandings the policy "
               f"cites disagree between these)"))})
    r.fact(f"{prefix}.days_ago", lambda c: None if chosen(c) is None else (c.sub.as_of - chosen(c).date).days,
           text=words_of("days_ago", lambda c, s: str((c.sub.as_of - s.date).days)),
           words={f"{prefix}.date": words_of("date", lambda c, s: s.date.isoformat()),
                  f"{prefix}.window_days": lambda c: str(spec.window_days),
                  f"{prefix}.text": lambda c: (
                      f"{chosen(c).instrument.upper()} {fmt(chosen(c).score)} on {chosen(c).date.isoformat()}"
                      if chosen(c) is not None else
                      f"no {'/'.join(spec.thresholds)} score dated within {spec.window_days} days")})


def _safety(r: Registry, therapy: Therapy) -> None:
    for name in therapy.safety_fields:
        r.fact(f"safety.{name}", lambda c, name=name: getattr(c.sub.safety, name, None))


def _request(r: Registry) -> None:
    r.fact("request.kind", lambda c: c.request("kind"))
    r.fact("request.protocol", lambda c: c.request("protocol"))
    r.fact("request.sessions", lambda c: c.request("sessions"))


def _count(r: Registry, spec: CountSpec) -> None:
    name, describe = spec.name, DESCRIBE[spec.source]
    pointer = f"/{spec.source}"

    def counted(c: Context) -> Counted:
        return c.counted(name)

    def when_listed(compute: Callable[[Counted], Any]) -> Compute:
        return lambda c: compute(counted(c)) if counted(c).listed else None

    def qualifying(k: Counted):
        return k.items(True)

    def options(c: Context, items) -> list[tuple[str, ...]]:
        """Each drug's class under each grouping a source gives (one, unless the sources disagree)."""
        return [getattr(drug, "classes", (drug.drug_class,)) for drug in map(c.drug, items) if drug]

    def class_names(c: Context, items) -> str:
        names = {}
        for classes in options(c, items):
            title, *others = (c.catalogue.class_title(k) for k in classes)
            names[title] = title + (f" (by another grouping: {', '.join(others)})" if others else "")
        return ", ".join(names[k] for k in sorted(names)) or "none"

    r.fact(f"{name}.listed", lambda c: counted(c).listed, words={
        f"{name}.title": lambda c: spec.title,
        f"{name}.adequacy": lambda c: spec.adequacy_text(),
        f"{name}.qualifying": lambda c: join([describe(i) for i in qualifying(counted(c))]),
        f"{name}.excluded": lambda c: join([f"{describe(i)}: {t.why_not()}" for i, t in counted(c).judged
                                            if t.value is False]),
        f"{name}.undetermined": lambda c: join([f"{describe(i)} ({', '.join(m[1] for m in t.missing)} not known)"
                                                for i, t in counted(c).judged if t.value is None]),
    }, evidence={
        f"@{name}.all": lambda c: ([f"{pointer}/{i.index}" for i, _ in counted(c).judged] or [pointer])
        if counted(c).listed else [pointer],
        f"@{name}.qualifying": lambda c: [f"{pointer}/{i.index}" for i in qualifying(counted(c))],
        f"@{name}.undetermined": lambda c: [f"{pointer}/{i.index}" for i in counted(c).items(None)],
        f"@{name}.missing": lambda c: [m for _, t in counted(c).judged if t.value is None for m in t.missing]
        if counted(c).listed else [(pointer, f"the complete list of {spec.source.replace('_', ' ')}, "
                                             "or an empty list if there were none")],
    })
    r.fact(f"{name}.count", when_listed(lambda k: len(qualifying(k))))
    r.fact(f"{name}.possible", when_listed(lambda k: len(qualifying(k)) + len(k.items(None))))
    if spec.source == "medication_trials":
        # Where sources group a drug differently, "how many classes" is a range: the fewest any grouping
        # allows (classes) and the most (classes_possible, which also counts the undecided trials).
        r.fact(f"{name}.classes", lambda c: fewest_classes(options(c, qualifying(counted(c))))
               if counted(c).listed else None)
        r.fact(f"{name}.classes_possible", lambda c: most_classes(options(c, qualifying(counted(c))
                                                                          + counted(c).items(None)))
               if counted(c).listed else None,
               words={f"{name}.class_names": lambda c: class_names(c, qualifying(counted(c)))})
    else:  # the words exist for every count, so that a reason may say "not given" or "none"
        r.fact(None, words={f"{name}.classes": lambda c: "not given", f"{name}.classes_possible": lambda c: "not given",
                            f"{name}.class_names": lambda c: "none"})
    if spec.source == "tms_courses":
        _sessions_with_request(r, spec)


def _sessions_with_request(r: Registry, spec: CountSpec) -> None:
    """``<count>.sessions_with_request``: the sessions the counted TMS courses gave, plus the sessions requested
    (for a cap on a course and its extension together). Not known while the list is not given, an item might
    count, a counted course does not say its sessions, or the request does not state its own."""
    name, pointer = spec.name, f"/{spec.source}"

    def given(c: Context) -> int | None:
        counted = c.counted(name)
        if not counted.listed or counted.items(None):
            return None
        courses = counted.items(True)
        if any(course.sessions is None for course in courses):
            return None
        return sum(course.sessions for course in courses)

    def with_request(c: Context) -> int | None:
        already, requested = given(c), c.request("sessions")
        return None if already is None or requested is None else already + requested

    def missing(c: Context) -> list:
        counted = c.counted(name)
        if not counted.listed:
            return [(pointer, "the patient's TMS courses, each with its episode and sessions, or an empty list if "
                              "there were none")]
        found = [m for _, t in counted.judged if t.value is None for m in t.missing]
        found += [(f"{pointer}/{course.index}/sessions", "how many sessions the course gave")
                  for course in counted.items(True) + counted.items(None) if course.sessions is None]
        return found

    r.fact(f"{name}.sessions_with_request", with_request,
           words={f"{name}.sessions": lambda c: word(given(c))},
           evidence={f"@{name}.sessions": lambda c: [f"{pointer}/{course.index}/sessions"
                                                      for course in c.counted(name).items(True)
                                                      if course.sessions is not None] if c.counted(name).listed else [],
                     f"@{name}.sessions.missing": missing})


def fewest_classes(options: list[tuple[str, ...]]) -> int:
    """The fewest distinct classes the drugs can span when each takes one of its classes (a smallest set of
    classes that gives every drug one of its own)."""
    choices = {frozenset(o) for o in options}
    classes = sorted(set().union(*choices)) if choices else []
    for size in range(len(classes) + 1):
        if any(all(choice & set(chosen) for choice in choices) for chosen in combinations(classes, size)):
            return size
    return len(classes)


def most_classes(options: list[tuple[str, ...]]) -> int:
    """The most distinct classes the drugs can span: a largest matching of drugs to distinct classes."""
    matched: dict[str, int] = {}

    def assign(i: int, seen: set[str]) -> bool:
        for k in options[i]:
            if k not in seen:
                seen.add(k)
                if k not in matched or assign(matched[k], seen):
                    matched[k] = i
                    return True
        return False

    return sum(assign(i, set()) for i in range(len(options)))


# -- implants -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImplantReading:
    """What the safety screen says of one implant group: ``at_site`` is True when one is within reach of
    the treatment, False when none can be, ``None`` when a location is not known (or nobody screened)."""

    at_site: bool | None
    elsewhere: bool
    pointers: tuple[str, ...]
    described: tuple[str, ...]


def read_implants(sub: Submission, rules: ImplantRules, group: ImplantGroup) -> ImplantReading:
    """Read ``safety.implants`` (where each implant is) and the group's v1 boolean together."""
    safety = sub.safety
    items = [i for i in (safety.implants or ()) if i.kind in group.kinds]
    boolean = getattr(safety, group.boolean) if group.boolean else None
    pointers = [f"/safety/implants/{i.index}" for i in items]
    described = [f"{i.kind.replace('_', ' ')} ({rules.location(i.kind, i.location) or 'location not given'})"
                 for i in items]
    readings = [rules.at_site(i.kind, i.location) for i in items]  # True, False or None (not known) each
    if boolean is True and not items:  # the boolean alone: its location is what the group implies, if anything
        location = group.boolean_location
        readings.append(None if location is None else location in rules.site_locations)
        pointers.append(f"/safety/{group.boolean}")
        described.append(f"{group.title} ({location or 'location not given'})")
    elif boolean is not None and group.boolean:
        pointers.append(f"/safety/{group.boolean}")
    # The screen's answer covers where its question asks (intracranial metal: the head; a neurostimulator:
    # anywhere): a listed implant there contradicts a "no", and a complete list naming none contradicts a "yes".
    denied = [i for i in items if group.boolean_location is None
              or rules.location(i.kind, i.location) == group.boolean_location]
    if (boolean is True and not items and safety.implants is not None) or (boolean is False and denied):
        # which of the two is right is for the clinician to settle
        described.append(f"the safety screen answers {'yes' if boolean else 'no'} for {group.title}, but the "
                         f"implant list {'names none' if boolean else 'names one'}")
        at_site = None
    elif True in readings:
        at_site = True
    elif None in readings:
        at_site = None  # one of them may be within reach: its location is not known
    elif readings or boolean is False or safety.implants is not None:
        at_site = False  # each is known to be elsewhere, or the screen (or the complete list) names none
    else:
        at_site = None  # nobody screened for it
    elsewhere = False in readings
    return ImplantReading(at_site, elsewhere, tuple(pointers), tuple(described))


def _implant_group(r: Registry, group: ImplantGroup) -> None:
    prefix = f"implant.{group.name}"
    r.fact(f"{prefix}.at_site", lambda c: c.implants(group).at_site,
           words={f"{prefix}.text": lambda c: join(list(c.implants(group).described)),
                  f"{prefix}.site": lambda c: c.therapy.implants.site},
           evidence={f"@{prefix}": lambda c: list(c.implants(group).pointers)})
    r.fact(f"{prefix}.elsewhere", lambda c: c.implants(group).elsewhere or None)
