"""KW003: another concept's name used as an emotion word."""

from __future__ import annotations

from typing import Iterator

from toolkit.lint.model import FileContext, Hit, Rule

# The next word that makes an emotion word attributive to a person: "a nervous laugh".
EXPRESSION_NOUNS = frozenset(
    """voice face smile laugh grin glance look eye tone expression sigh nod shrug gaze stare mood
    temper frown whisper shout silence gesture reply manner spirit heart breath chuckle giggle
    sneer scowl mouth jaw posture demeanour demeanor""".split()
)
# The words before an emotion word that grade it: "too nervous to speak".
DEGREE_WORDS = frozenset(
    "too so very utterly deeply terribly awfully increasingly unbearably strangely oddly almost perfectly".split()
)
DETERMINERS = frozenset("a an the this that these those every each any some no another".split())
CLAUSE_START = frozenset(".!?;:—–(\"“”‘'")
CLAUSE_END = frozenset([",", ".", ";", "!", "?", "—", "–", "and", "but", "as", "yet", ")", "”", '"'])
SENTENCE_START = frozenset(".!?(\"“”‘'")
# What may follow "Nervous," for the word to be fronted: the subject of the clause it describes.
SUBJECT_STARTS = frozenset("i you he she we they it the a an his her my our their this that".split())
# Taste and touch words that also name emotions: after a degree word they describe a thing
# ("the tea too bitter", "skin too sensitive for wool") unless a person is the subject.
TASTE_AND_TOUCH = frozenset("bitter sweet sour sensitive tender tense raw numb sore stiff".split())
# Words as often physical as emotional: fronted, they describe a thing unless a person follows
# ("Stuck, the lorry blocked the lane"; "Trapped, she...").
PHYSICAL_WORDS = frozenset("stuck trapped safe exposed hurt wounded drained secure protected".split())
THING_OR_PERSON = TASTE_AND_TOUCH | PHYSICAL_WORDS
# Fronted before a comma at the start of a sentence, these are formulas, not feelings: "Sorry, I..."
INTERJECTIONS = frozenset(["sorry"])
# Pronouns that start a clause about a person.
PERSON_STARTS = frozenset("i you he she we they".split())
# "Content, the caption *read*": a word quoted from a sign or a label.
SAYING_VERBS = frozenset("read say write announce state declare".split())
# "Grumpy, the smallest of the seven, *was* painted": the fronted word is the subject.
APPOSITION_VERBS = frozenset("was were is are had has".split())
POSSESSIVE_STARTS = frozenset("my your his her our their".split())
# Verbs between a subject and a degree word: "the tea *tasted* too bitter".
LINKING = frozenset("be become get grow seem look sound appear turn remain stay feel taste smell".split())


def _sentence_start(doc, i: int) -> bool:
    return i == 0 or doc[i - 1].text in SENTENCE_START


def _clause_end(doc, i: int) -> int:
    """The position of the first comma at or after ``i`` (the end of the text when there is none)."""
    while i < len(doc) and doc[i].text != ",":
        i += 1
    return i


def _person_follows(analysis, i: int) -> bool:
    """Whether the clause from ``i`` has a person for subject: "Tense, she..." or "Tense, the man
    at the rail..." (not "Tense, the rope held")."""
    from toolkit.lint.nlp import is_person_noun

    doc = analysis.doc
    if i >= len(doc):
        return False
    first = doc[i]
    if first.lower_ in PERSON_STARTS or (first.is_title and first.is_alpha and first.lower_ not in DETERMINERS):
        return True
    head = [t for t in doc[i : i + 4] if t.is_alpha]
    return bool(head) and head[0].lower_ in DETERMINERS | POSSESSIVE_STARTS and any(is_person_noun(t) for t in head[1:])


def _quoted_or_apposed(doc, i: int) -> bool:
    """After "Word," at a sentence start: "the caption read" (the word is quoted, a label) or "the
    smallest of the seven, was" (an apposition: the word is the subject, a name)."""
    if i + 2 < len(doc) and doc[i].lower_ in DETERMINERS and doc[i + 2].lemma_ in SAYING_VERBS:
        return True
    k = _clause_end(doc, i)
    return k - i <= 6 and k + 1 < len(doc) and doc[k + 1].lower_ in APPOSITION_VERBS


def _emotion_position(analysis, start: int, end: int) -> bool:
    doc = analysis.doc
    before = doc[start - 1] if start > 0 else None
    after = doc[end] if end < len(doc) else None
    if after is not None and after.lower_ == "of":
        return False
    clause_start = before is None or before.text in CLAUSE_START or before.text == ","
    if doc[start].is_title and not clause_start:
        return False  # a name: "Hope", "Joy"
    if _sentence_start(doc, start) and (after is None or after.text in ("!", "?", ".", "…")):
        return False  # a sentence of one word: "Patient!", "Content?" (a call, a name, a line)
    if doc[start].is_title and after is not None and after.is_title and after.is_alpha and after.lower_ != "i":
        return False  # a name of two capitalised words: "Lonely Hearts", "Happy Valley"
    if after is not None and after.lemma_ in EXPRESSION_NOUNS:
        return True
    word = doc[start:end].text.lower()
    if clause_start and after is not None and after.text == "," and _sentence_start(doc, start):
        if word in INTERJECTIONS:
            return False  # "Sorry, I thought you were someone else": an apology, not a feeling
        following = doc[end + 1] if end + 1 < len(doc) else None
        if _quoted_or_apposed(doc, end + 1):
            return False
        if word in THING_OR_PERSON:
            return _person_follows(analysis, end + 1)
        return following is not None and (following.lower_ in SUBJECT_STARTS or following.is_title)
    if clause_start and (after is None or after.lower_ in CLAUSE_END):
        if word in THING_OR_PERSON and _sentence_start(doc, start):
            return _person_follows(analysis, _clause_end(doc, end) + 1)  # "Bitter and thick, the coffee"
        return True
    if before is not None and before.lower_ in DEGREE_WORDS:
        if start >= 2 and doc[start - 2].lower_ in DETERMINERS:
            return False
        if word in TASTE_AND_TOUCH:
            verb = start - 1
            while verb > 0 and doc[verb - 1].lemma_ in LINKING:
                verb -= 1
            return analysis.subject(verb) == "person"
        return True
    return False


def check(ctx: FileContext) -> Iterator[Hit]:
    if ctx.analysis is None:
        return
    own = ctx.lexicon.family(ctx.text.concept) if ctx.text.concept else frozenset()
    labelled = [(lab.start_char, lab.end_char) for lab in ctx.analysis.labels]
    for span in ctx.analysis.emotions:
        concepts = frozenset().union(*(ctx.lexicon.names.get(stem, ()) for stem in span.stems))
        if not concepts or span.stems & own:
            continue
        if any(s < span.end_char and span.start_char < e for s, e in labelled):
            continue
        if _emotion_position(ctx.analysis, span.start, span.end):
            word = ctx.body[span.start_char : span.end_char]
            yield ctx.span_hit(
                "KW003",
                span.start_char,
                span.end_char,
                f"{word!r} names another concept ({', '.join(sorted(concepts))}) as an emotion word",
            )


RULE = Rule(
    code="KW003",
    name="other-emotion-word",
    severity="warning",
    summary="Another concept's name used as an emotion word.",
    scope="file",
    check=check,
    explanation="""\
One clear emotion per text: naming a second one ("Nervous, she...") blurs the sample
toward that concept. Explicit labels ("she felt nervous") are KW002's; this rule catches
the other names of concepts (and their inflections) used as emotion words. Many names
are everyday words in another sense ("the patient in bed four", "a kind of wrench",
"the content of the email", "the wall safe", "a calendar alert", "a stuck zipper"), so
without a parser the rule fires only where the word can only be an emotion word:

- before a word for a face, voice or gesture: "a nervous laugh", "his kind smile";
- on its own between clause breaks: "Nervous, she...", "...the door, patient.";
  fronted at the start of a sentence only before the subject it describes ("Nervous,
  she"), not before a verb ("Hope, come here"), not when it is quoted ("Content, the
  caption read") or is itself the subject ("Grumpy, the smallest of the seven, was...");
  a taste, touch or physical word fronted ("Bitter,", "Tense,", "Stuck,") only before a
  person ("Tense, she gripped the rail", not "Tense, the rope held"); "Sorry," is an apology;
- after a degree word not preceded by a determiner: "too nervous to speak"; a taste or
  touch word ("bitter", "sensitive", "tense") only when a person is the subject ("the
  tea was too bitter" is a taste).

It never fires before "of", on a capitalised word mid-sentence (a name such as Hope) or
before another capitalised word (a name such as Lonely Hearts),
on a sentence of one word ("Patient!" called to a dog, "Content?" as a line of
dialogue), or on a word of the text's own family (KW001 reports those). Derived forms
count as their concept's name ("nervously" is a form of nervous).

Bad (`stories/grateful.txt`):

    Nervous, she set the jar on his step and left before he could answer the door.

Good:

    She set the jar on his step, wiped her palms on her coat, and left before he could
    answer the door.
""",
)
