"""Fictional names from a syllable generator: places, people, organisations, units.

They sound Spanish but are invented; any match with a real place or person is chance.

>>> import numpy as np
>>> names = place_names(np.random.default_rng(3), 5)
>>> len(set(names)) == 5 and all(n[0].isupper() for n in names)
True
"""

from __future__ import annotations

import numpy as np

_ONSETS = ("b", "c", "ch", "d", "g", "gu", "j", "l", "m", "n", "p", "qu", "r", "s", "t", "v", "y", "z", "br", "tr")
_VOWELS = ("a", "e", "i", "o", "u", "a", "o", "ia", "ue")
_CODAS = ("", "", "", "", "n", "r", "s", "l")
_PLACE_PREFIXES = ("", "", "", "San ", "Santa ", "La ", "El ", "Puerto ", "Alto ", "Bajo ", "Nueva ", "Caño ",
                   "Vereda ", "Loma ")


def words(rng: np.random.Generator, n: int, *, syllables: tuple[int, int] = (2, 3), ending: str = "") -> np.ndarray:
    """``n`` capitalised invented words of 2-3 syllables (``ending`` replaces the last vowel sound)."""
    k_max = syllables[1]
    on = rng.integers(0, len(_ONSETS), (n, k_max))
    vo = rng.integers(0, len(_VOWELS), (n, k_max))
    co = rng.integers(0, len(_CODAS), n)
    length = rng.integers(syllables[0], syllables[1] + 1, n)
    out = []
    for i in range(n):
        k = int(length[i])
        word = "".join(_ONSETS[on[i, j]] + _VOWELS[vo[i, j]] for j in range(k))
        word = word[:-1] + ending if ending else word + _CODAS[co[i]]
        out.append(word.capitalize())
    return np.array(out, dtype=object)


def unique_words(rng: np.random.Generator, n: int, **kwargs: object) -> np.ndarray:
    """``n`` distinct words, in draw order."""
    pool = words(rng, 3 * n + 20, **kwargs)  # type: ignore[arg-type]
    _, first = np.unique(pool, return_index=True)
    return pool[np.sort(first)][:n]


def place_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct invented place names such as ``San Quelora`` or ``Caño Birén``."""
    base = unique_words(rng, n)
    prefix = np.array(_PLACE_PREFIXES, dtype=object)[rng.integers(0, len(_PLACE_PREFIXES), n)]
    return prefix + base


def given_names(rng: np.random.Generator, sex: np.ndarray) -> np.ndarray:
    """Invented given names ending in -a for women and -o for men."""
    n = len(sex)
    female = words(rng, n, syllables=(2, 3), ending="a")
    male = words(rng, n, syllables=(2, 3), ending="o")
    return np.where(sex == "female", female, male).astype(object)


def family_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """Invented family names."""
    return words(rng, n, syllables=(2, 3))
