"""The emotion vocabulary the KW rules look for, built from the manifest (no spaCy here).

A *phrase* is a lowercase keyword as written in the manifest ("fury", "at ease",
"self-conscious"). Each concept's *family* is its name in word form plus its manifest
keywords; inflections are not listed because the NLP layer matches base forms on lemmas.
Derivations are not listed either: ``derive`` builds them from the curated phrases by
English word formation (-ly adverbs, -ness nouns, -ful/-less adjectives and their
stacks, each with its spelling rules) and British/American spelling variants, and the
NLP layer matches them as forms of the phrases they come from.
The word lists below are the closed classes of the KW002 label constructions and a few
emotion words the manifest does not hold (so "filled with dread" names an emotion).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Container, Iterable, Mapping

from schemas.manifest import Manifest

# Emotion words beyond the manifest's families, for the label constructions only.
EXTRA_EMOTION_WORDS = (
    "agitation", "anticipation", "apprehension", "despair", "disappointed", "disappointment",
    "dismay", "dread", "emotion", "giddiness", "giddy", "heartache", "longing", "trepidation",
    "woe", "yearning", "tenderness", "elation", "glee", "rapture", "sorrow", "terror",
    "nerves", "jitters", "temper", "sour",
)

# Words that may stand between a label trigger and the emotion: "felt *so very* tired".
INTENSIFIERS = frozenset(
    """so very really too quite rather pretty almost nearly suddenly still just utterly completely
    totally deeply truly genuinely incredibly extremely terribly awfully strangely oddly faintly
    vaguely slightly somewhat more most less least not n't n’t never no all increasingly hugely
    immensely absolutely entirely thoroughly simply only finally unbearably unusually curiously
    weirdly briefly momentarily certainly also even ever already then fairly mildly newly always
    often usually sometimes rarely seldom constantly forever""".split()
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
    "shriek", "welling", "prickle", "glimmer", "spike", "ripple", "frisson", "note", "edge", "thrill",
    "tremor", "shudder", "tinge", "whiff", "undercurrent", "ache", "pinch",
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
OBJECT_PRONOUNS = ("me", "him", "her", "us", "them", "you", "everyone", "everybody", "someone", "somebody")

# Emotion words that after a copula are as often physical ("we were stuck in traffic", "he was
# hurt in the fall", "they were safe inside"); followed by one of PLACE_WORDS they are not labels.
PHYSICAL_SENSES = frozenset(
    """stuck safe exposed connected hurt wounded relieved trapped protected secure drained strained absorbed
    comfortable""".split()
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

# Words that open a multi-word name: "Mrs Okafor", "Uncle Bert".
TITLES = frozenset("mr mrs ms miss dr doctor professor uncle aunt auntie granny grandma grandpa nan father mother sister brother saint sir lady lord captain".split())
# Subjects that quantify over people: after them a physical word is a physical statement
# ("nobody was hurt", "everyone was safe"), not a label.
QUANTIFIER_SUBJECTS = frozenset("nobody everyone everybody anyone anybody none".split())
# Subjects that are not people: "it felt calmer", "everything was stuck".
THING_PRONOUNS = frozenset("it this that these those everything nothing something anything".split())
DAYS_AND_MONTHS = frozenset(
    """monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december christmas easter""".split()
)
# Nouns (lemmas) for people and groups of people, the subjects whose emotion a copula names.
PERSON_NOUNS = frozenset(
    """man woman boy girl child kid baby toddler teenager person people adult mother father mum mom
    dad parent son daughter brother sister sibling aunt uncle cousin niece nephew grandmother
    grandfather gran granny grandma grandpa grandad nan husband wife partner fiance fiancee
    friend neighbour neighbor stranger guest host visitor customer client patient nurse doctor
    teacher student pupil driver pilot captain sailor soldier officer guard clerk waiter
    waitress cook chef boss manager owner landlord landlady tenant worker colleague coach
    player referee judge lawyer priest vicar farmer baker porter cashier receptionist
    passenger traveller traveler tourist audience crowd class team family couple group staff
    crew committee jury lady gentleman gentlemen ladies men women children folk everyone""".split()
)
# Endings of nouns for people ("caretaker", "florist", "musician", "postman"), and words
# with those endings that are not people.
PERSON_ENDINGS = ("man", "men", "woman", "women", "taker", "keeper", "maker", "worker", "seller", "ist", "ician")
NOT_PERSON_ENDINGS = frozenset("mist wrist list twist fist gist assist resist insist persist consist exist".split())
# Words whose noun sense is not the emotion: "a wave of content", "full of patients".
NOUN_HOMOGRAPHS = frozenset("content patient kind safe bore rebel trap puzzle bond crush alert".split())
# Emotion nouns that after "with" make an idiom of manner: "with ease", "with a vengeance".
WITH_IDIOMS = frozenset("ease vengeance".split())
# Verb forms that are spelt as their base, so "a wave of fear *spread*" is no compound noun.
UNINFLECTED_PASTS = frozenset("hit cut set put let burst cast hurt shut split quit spread thrust".split())
# Words that are no noun head: prepositions, conjunctions, determiners, pronouns, auxiliaries.
FUNCTION_WORDS = frozenset(
    """a an the this that these those my your his her its our their some any no every each all
    of in on at to from with by for as into onto over under through about after before than then
    and or but nor so yet if when while because though although until since once where there here
    i me you he him she we us they them it who whom whose which what is am are was were be been
    being have has had do does did will would shall should can could may might must not""".split()
)
# Verbs (lemmas, and forms the lookup table leaves alone) an emotion noun does as the
# subject of a label: "Fear gripped her", "Anger flared in him", "Panic rose in her chest".
MOTION_VERBS = frozenset(
    """grip seize grab clutch squeeze tighten twist knot coil claw gnaw nag tug pull flare rise rose
    surge flood wash sweep course spread flicker bloom blossom swell well creep crawl climb settle
    burn rush boil bubble build churn curdle stir fill overwhelm overcome consume ebb drain prickle
    pool lodge curl shoot spike stab flow spill sting flash seep sink lift leap snake spark kindle
    smoulder smolder simmer seethe throb pulse crash break ripple crackle thrum hum buzz race tear
    radiate jolt""".split()
)
MOTION_PARTICLES = frozenset("in inside within through over into across along up at on around down".split())
POSSESSIVES = frozenset("my your his her our their".split())
# Places that stand for the people in them as the object of "Terror gripped the village".
COMMUNITIES = frozenset("village town city street neighbourhood neighborhood school office nation country household".split())
BODY_WORDS = frozenset(
    """heart chest throat stomach gut guts belly ribs spine neck shoulders shoulder face cheeks mind
    head voice breath lungs veins blood insides skin jaw eyes legs knees back hands fingers body
    bones limbs temples ears""".split()
)
# Prepositions that attach a phrase to a subject: "the crowd *at* the gate was restless".
SUBJECT_PREPOSITIONS = frozenset("at in on by from near behind outside inside beside with of".split())
CLAUSE_CONJUNCTIONS = frozenset("and but then as when until till before after while so because once".split())
# Adverbs that make a physical word physical: "was badly hurt".
PHYSICAL_DEGREE = frozenset("badly seriously slightly critically fatally physically mortally lightly".split())


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


# --- Derivation ---------------------------------------------------------------------------------

# Derived strings that are words of another meaning: "lovely" is not a form of "love".
NOT_DERIVATIONS = frozenset("lovely loveliness lovelier loveliest awful awfully awfulness".split())
# Endings of words that already are adjectives or adverbs, which take no -ful/-less.
_ADJECTIVE_ENDINGS = (
    "ful", "less", "ly", "ness", "ed", "ing", "ous", "ic", "al", "ive", "ent", "ant", "ible", "able", "ish", "y",
)
_VOWELS = frozenset("aeiou")


def adverb_forms(word: str) -> set[str]:
    """The -ly adverb of an adjective: happy -> happily, shy -> shyly, idle -> idly, tragic -> tragically."""
    if word.endswith("ly") or len(word) < 3:
        return set()
    if word.endswith("y") and word[-2] not in _VOWELS:
        return {word[:-1] + "ily", word + "ly"} if len(word) <= 4 else {word[:-1] + "ily"}
    if word.endswith("le") and word[-3] not in _VOWELS:
        return {word[:-1] + "y"}
    if word.endswith("ic"):
        return {word + "ally"}
    if word.endswith("ll"):
        return {word + "y"}
    if word.endswith("ue"):
        return {word[:-1] + "ly"}
    return {word + "ly"}


def noun_forms(word: str) -> set[str]:
    """The -ness noun of an adjective: wary -> wariness, shy -> shyness, surly -> surliness."""
    if word.endswith("ness") or len(word) < 3:
        return set()
    if word.endswith("y") and word[-2] not in _VOWELS:
        return {word[:-1] + "iness", word + "ness"} if len(word) <= 4 else {word[:-1] + "iness"}
    return {word + "ness"}


def adjective_forms(word: str) -> set[str]:
    """The -ful and -less adjectives of a noun: fear -> fearful, fearless; mercy -> merciful, merciless."""
    if len(word) < 3 or word.endswith(_ADJECTIVE_ENDINGS[:-1]):
        return set()
    base = word[:-1] + "i" if word.endswith("y") and word[-2] not in _VOWELS else word
    return {base + "ful", base + "less"}


def derivations(word: str) -> set[str]:
    """Every form derived from one word, stacked: fear -> fearless -> fearlessly, fearlessness."""
    adjectives = {word} | adjective_forms(word)
    out = adjectives - {word}
    for adjective in adjectives:
        out |= adverb_forms(adjective) | noun_forms(adjective)
    return out - NOT_DERIVATIONS


def spelling_groups(spellings: Mapping[str, str]) -> dict[str, frozenset[str]]:
    """Each word of a British -> American spelling table with its other spellings."""
    groups: dict[str, set[str]] = {}
    for british, american in spellings.items():
        if british.islower() and british.replace("-", "").isalpha() and american.replace("-", "").isalpha():
            group = groups.get(american) or groups.setdefault(american, {american})
            group.add(british)
            groups[british] = group
    return {word: frozenset(group - {word}) for word, group in groups.items()}


def derive(
    phrases: Iterable[str], spellings: Mapping[str, frozenset[str]], vocabulary: Container[str]
) -> dict[str, frozenset[str]]:
    """Each derived form with the phrases it is derived from ("hopeful" comes from "hope").

    Single words are derived ("wary" -> "warily", "wariness"), and a derivation is kept
    only if ``vocabulary`` (a dictionary's word list) holds it, so no made-up word such
    as "fearness" is matched. Every phrase and kept form also gets its other spellings
    from ``spellings`` (``spelling_groups``): "galvanized" -> "galvanised". Multi-word
    phrases are left as written.
    """
    phrases = set(phrases)
    sources: dict[str, set[str]] = {}
    for phrase in phrases:
        if " " in phrase:
            continue
        forms = {form for form in derivations(phrase) if form in vocabulary}
        for form in [*forms, phrase]:
            forms |= spellings.get(form, frozenset())
        for form in forms - {phrase}:
            sources.setdefault(form, set()).add(phrase)
    return {form: frozenset(s) for form, s in sources.items()}


def plural(noun: str) -> str:
    """The regular English plural: "sadness" -> "sadnesses", "anxiety" -> "anxieties", "fear" -> "fears"."""
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    if len(noun) > 2 and noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def plurals(forms: Iterable[str], nouns: Container[str]) -> dict[str, str]:
    """The regular plural of every single-word form that is a noun (or a -ness noun), by plural.

    The lookup lemmatizer knows the plurals of common nouns only ("fears", not "sadnesses" or
    "gratitudes"), so the plurals of the family's nouns are matched as forms of their own.
    """
    return {
        plural(form): form
        for form in forms
        if " " not in form and "-" not in form and (form in nouns or form.endswith("ness"))
    }


def adverbs(forms: Iterable[str]) -> frozenset[str]:
    """The forms that are -ly adverbs of other forms ("nervously" of "nervous"; not "lonely")."""
    forms = set(forms)
    return frozenset(a for form in forms for a in adverb_forms(form) if a in forms)
