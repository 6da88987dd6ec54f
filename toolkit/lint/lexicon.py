"""The emotion vocabulary the KW rules look for, built from the manifest (no spaCy here).

A *phrase* is a lowercase keyword as written in the manifest ("fury", "at ease",
"self-conscious"). Each concept's *family* is its name in word form plus its manifest
keywords; inflections are not listed because the NLP layer matches base forms on lemmas.
The word lists below are the closed classes of the KW002 label constructions and a few
emotion words the manifest does not hold (so "filled with dread" names an emotion).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.manifest import Manifest

# Emotion words beyond the manifest's families, for the label constructions only.
EXTRA_EMOTION_WORDS = (
    "agitation", "anticipation", "apprehension", "despair", "disappointed", "disappointment",
    "dismay", "dread", "emotion", "giddiness", "giddy", "heartache", "longing", "trepidation",
    "woe", "yearning", "tenderness", "elation", "glee", "rapture", "sorrow", "terror",
)

# Words that may stand between a label trigger and the emotion: "felt *so very* tired".
INTENSIFIERS = frozenset(
    """so very really too quite rather pretty almost nearly suddenly still just utterly completely
    totally deeply truly genuinely incredibly extremely terribly awfully strangely oddly faintly
    vaguely slightly somewhat more most less least not n't n’t never no all increasingly hugely
    immensely absolutely entirely thoroughly simply only finally unbearably unusually curiously
    weirdly briefly momentarily certainly also even ever already then fairly mildly newly""".split()
)
# Multi-word intensifiers, as token sequences.
INTENSIFIER_PHRASES = (("a", "bit"), ("a", "little"), ("kind", "of"), ("sort", "of"), ("a", "touch"))

# Before the emotion noun of "a wave of ___" or "filled with ___", also articles,
# possessives and the adjectives that commonly colour an emotion noun.
NOUN_MODIFIERS = frozenset(
    """a an the his her their my our your its such pure sheer raw quiet cold hot sudden deep fierce
    bright warm sharp strange familiar new old slow blind absolute total utter helpless real
    genuine small little great huge vague faint dull low""".split()
)

# Label triggers, keyed by kind; every entry is matched on lemmas (lowercase).
FEEL_VERBS = ("feel",)
COPULAS = ("be", "become", "get", "grow", "seem", "look", "sound", "appear", "turn", "remain", "stay")
NOUN_OF = (
    "wave", "surge", "rush", "pang", "flash", "flood", "stab", "twinge", "jolt", "sense", "feeling",
    "fit", "burst", "flush", "flicker", "spasm", "tide", "glow", "swell", "knot", "shiver", "spark",
    "hint", "touch", "trace", "state", "moment", "look", "expression", "cry", "sigh", "tear",
    "shriek", "welling", "prickle",
)
FILL_WITH = (
    ("fill", "with"), ("overcome", "with"), ("overcome", "by"), ("consume", "by"), ("consume", "with"),
    ("seize", "by"), ("seize", "with"), ("grip", "by"), ("flood", "with"), ("overwhelm", "by"),
    ("overwhelm", "with"), ("swell", "with"), ("brim", "with"), ("overflow", "with"), ("wrack", "with"),
    ("rack", "with"), ("strike", "with"), ("stricken", "with"), ("full", "of"), ("sick", "with"),
    ("giddy", "with"), ("heavy", "with"), ("numb", "with"), ("wild", "with"), ("crazy", "with"),
    ("shake", "with"), ("tremble", "with"), ("quiver", "with"), ("beam", "with"), ("glow", "with"),
    ("burn", "with"), ("seethe", "with"), ("weep", "with"), ("weep", "in"), ("cry", "with"), ("shiver", "with"),
    ("boil", "with"), ("bristle", "with"), ("sob", "with"), ("flush", "with"), ("ache", "with"),
    ("scream", "in"), ("recoil", "in"), ("freeze", "in"), ("gasp", "in"), ("stare", "in"),
    ("tremble", "in"), ("shake", "in"), ("cry", "in"), ("shout", "in"), ("howl", "in"), ("in", "a", "fit", "of"),
)
# Object pronouns of "it made her ___" / "the call left him ___".
MAKE_VERBS = ("make", "leave", "render")
OBJECT_PRONOUNS = ("me", "him", "her", "us", "them", "you")

# Emotion words that after a copula are as often physical ("we were stuck in traffic", "he was
# hurt in the fall", "they were safe inside"); followed by one of PLACE_WORDS they are not labels.
PHYSICAL_SENSES = frozenset(
    "stuck safe exposed connected hurt relieved trapped protected secure drained strained absorbed".split()
)
PLACE_WORDS = frozenset(
    """in on at inside outside under behind between by from to into of for with there here home
    indoors upstairs downstairs""".split()
)

# A copula names the subject's emotion only with a personal subject.
PERSONAL_PRONOUNS = frozenset(
    "i you he she we they everyone everybody someone somebody nobody anyone anybody".split()
)
# Words that stand between a subject and its copula: "she had *not* been", "I'd *never* felt".
AUXILIARIES = frozenset(
    """had has have 'd ’d 's ’s would could will 'll ’ll might must should shall did does do can
    not n't n’t never always still just also suddenly already finally really""".split()
)
# Title-case words that start a clause but are not a person: "The", "It", "This" ...
NOT_SUBJECTS = frozenset(
    """the a an this that these those it its there here what which who whose when where why how
    then but and or so if as yet because while after before once though although everything
    nothing something anything all each every one some none both either neither another""".split()
)


def name_forms(concept: str) -> list[str]:
    """A concept's name as words: ``on_edge`` is written "on edge" (and "on-edge")."""
    if "_" not in concept:
        return [concept]
    return [concept.replace("_", " "), concept.replace("_", "-")]


@dataclass
class Lexicon:
    """Every emotion phrase, which families it belongs to, and which concepts it names."""

    families: dict[str, frozenset[str]] = field(default_factory=dict)
    names: dict[str, frozenset[str]] = field(default_factory=dict)
    phrases: frozenset[str] = frozenset()

    def family(self, concept: str) -> frozenset[str]:
        """The concept's family; a concept missing from the manifest has just its name."""
        return self.families.get(concept) or frozenset(name_forms(concept))


def build_lexicon(manifest: Manifest) -> Lexicon:
    families: dict[str, frozenset[str]] = {}
    names: dict[str, set[str]] = {}
    for concept, spec in manifest.concepts.items():
        forms = name_forms(concept)
        families[concept] = frozenset([*forms, *(k.lower() for k in spec.keywords)])
        for form in forms:
            names.setdefault(form, set()).add(concept)
    phrases = set(EXTRA_EMOTION_WORDS)
    for family in families.values():
        phrases |= family
    return Lexicon(
        families=families,
        names={phrase: frozenset(c) for phrase, c in names.items()},
        phrases=frozenset(phrases),
    )
