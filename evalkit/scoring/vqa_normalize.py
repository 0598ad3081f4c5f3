"""VQA answer normalisation, as in GT-Vision-Lab/VQA ``vqaEval.py`` (``processPunctuation``,
``processDigitArticle``).

Both passes are reproduced quirk for quirk:

* punctuation: the 21 marks are each *deleted* when the original text has a space on either
  side of that mark, or when it contains a digit-comma-digit anywhere; otherwise each is
  *replaced by a space*. The decision looks at the input text, not at the partly edited one.
* periods: the official pattern ``(?!<=\\d)(\\.)(?!\\d)`` has a typo'd look-behind that is really
  a look-ahead for ``<=digit`` and never fires, so it removes every ``.`` not followed by a digit.
  It is called as ``sub("", text, re.UNICODE)``: the flag lands in the *count* argument, so at
  most ``int(re.UNICODE) == 32`` periods are removed.
* digits/articles: lower-case, split on whitespace, map number words (``none`` -> ``0`` ...
  ``ten`` -> ``10``), drop ``a``/``an``/``the``, then expand the contraction table (its
  capitalised keys can never match after lower-casing; ``somebody'd`` -> ``somebodyd`` is kept).

:class:`AnswerNormalizer` memoises both passes per distinct string (VQAv2's 2.1M answers hold
far fewer distinct strings), which is where most of the scorer's speed comes from.
"""

from __future__ import annotations

import re

PUNCTUATION_MARKS = (
    ";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-",
    ">", "<", "@", "`", ",", "?", "!",
)  # fmt: skip
# 32: the official code passes the re.UNICODE flag where ``count`` goes
PERIOD_STRIP_COUNT = int(re.UNICODE)
_PERIOD_STRIP = re.compile(r"\.(?!\d)")
_DIGIT_COMMA_DIGIT = re.compile(r"\d,\d")
_ANY_MARK = re.compile(r'[;/\[\]"{}()=+\\_\-><@`,?!.]')

NUMBER_WORDS = {
    "none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
}  # fmt: skip
ARTICLES = frozenset({"a", "an", "the"})

# The official contraction table, key -> expansion (data, reproduced verbatim).
CONTRACTIONS = {
    "aint": "ain't", "arent": "aren't", "cant": "can't", "couldve": "could've",
    "couldnt": "couldn't", "couldn'tve": "couldn't've", "couldnt've": "couldn't've",
    "didnt": "didn't", "doesnt": "doesn't", "dont": "don't", "hadnt": "hadn't",
    "hadnt've": "hadn't've", "hadn'tve": "hadn't've", "hasnt": "hasn't", "havent": "haven't",
    "hed": "he'd", "hed've": "he'd've", "he'dve": "he'd've", "hes": "he's", "howd": "how'd",
    "howll": "how'll", "hows": "how's", "Id've": "I'd've", "I'dve": "I'd've", "Im": "I'm",
    "Ive": "I've", "isnt": "isn't", "itd": "it'd", "itd've": "it'd've", "it'dve": "it'd've",
    "itll": "it'll", "let's": "let's", "maam": "ma'am", "mightnt": "mightn't",
    "mightnt've": "mightn't've", "mightn'tve": "mightn't've", "mightve": "might've",
    "mustnt": "mustn't", "mustve": "must've", "neednt": "needn't", "notve": "not've",
    "oclock": "o'clock", "oughtnt": "oughtn't", "ow's'at": "'ow's'at", "'ows'at": "'ow's'at",
    "'ow'sat": "'ow's'at", "shant": "shan't", "shed've": "she'd've", "she'dve": "she'd've",
    "she's": "she's", "shouldve": "should've", "shouldnt": "shouldn't",
    "shouldnt've": "shouldn't've", "shouldn'tve": "shouldn't've", "somebody'd": "somebodyd",
    "somebodyd've": "somebody'd've", "somebody'dve": "somebody'd've",
    "somebodyll": "somebody'll", "somebodys": "somebody's", "someoned": "someone'd",
    "someoned've": "someone'd've", "someone'dve": "someone'd've", "someonell": "someone'll",
    "someones": "someone's", "somethingd": "something'd", "somethingd've": "something'd've",
    "something'dve": "something'd've", "somethingll": "something'll", "thats": "that's",
    "thered": "there'd", "thered've": "there'd've", "there'dve": "there'd've",
    "therere": "there're", "theres": "there's", "theyd": "they'd", "theyd've": "they'd've",
    "they'dve": "they'd've", "theyll": "they'll", "theyre": "they're", "theyve": "they've",
    "twas": "'twas", "wasnt": "wasn't", "wed've": "we'd've", "we'dve": "we'd've",
    "weve": "we've", "werent": "weren't", "whatll": "what'll", "whatre": "what're",
    "whats": "what's", "whatve": "what've", "whens": "when's", "whered": "where'd",
    "wheres": "where's", "whereve": "where've", "whod": "who'd", "whod've": "who'd've",
    "who'dve": "who'd've", "wholl": "who'll", "whos": "who's", "whove": "who've",
    "whyll": "why'll", "whyre": "why're", "whys": "why's", "wont": "won't",
    "wouldve": "would've", "wouldnt": "wouldn't", "wouldnt've": "wouldn't've",
    "wouldn'tve": "wouldn't've", "yall": "y'all", "yall'll": "y'all'll", "y'allll": "y'all'll",
    "yall'd've": "y'all'd've", "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've",
    "youd": "you'd", "youd've": "you'd've", "you'dve": "you'd've", "youll": "you'll",
    "youre": "you're", "youve": "you've",
}  # fmt: skip


def process_punctuation(text: str) -> str:
    """Official ``processPunctuation``: delete or space out marks, then strip up to 32 periods."""
    if _ANY_MARK.search(text) is None:
        return text
    delete_all = _DIGIT_COMMA_DIGIT.search(text) is not None
    out = text
    for mark in PUNCTUATION_MARKS:
        if delete_all or (mark + " " in text) or (" " + mark in text):
            out = out.replace(mark, "")
        else:
            out = out.replace(mark, " ")
    return _PERIOD_STRIP.sub("", out, count=PERIOD_STRIP_COUNT)


def process_digit_article(text: str) -> str:
    """Official ``processDigitArticle``: lower-case, number words to digits, no articles, contractions."""
    words = [NUMBER_WORDS.get(word, word) for word in text.lower().split()]
    return " ".join(CONTRACTIONS.get(word, word) for word in words if word not in ARTICLES)


def clean_whitespace(text: str) -> str:
    """The official ``replace('\\n', ' ').replace('\\t', ' ').strip()`` applied to answers."""
    return text.replace("\n", " ").replace("\t", " ").strip()


class AnswerNormalizer:
    """Memoised official passes; make one per scoring call (the caches are plain dicts)."""

    def __init__(self) -> None:
        self._punct: dict[str, str] = {}
        self._full: dict[str, str] = {}

    def punctuation(self, text: str) -> str:
        """:func:`process_punctuation`, cached."""
        out = self._punct.get(text)
        if out is None:
            out = self._punct[text] = process_punctuation(text)
        return out

    def full(self, text: str) -> str:
        """Punctuation pass then digit/article pass, cached."""
        out = self._full.get(text)
        if out is None:
            out = self._full[text] = process_digit_article(self.punctuation(text))
        return out
