"""Regenerate ``village_tales.txt``: procedurally written English stories for the tiny LM workload.

The text is self-written by this grammar (no third-party text), so it ships under the project's
licence. It is deterministic: ``python datasets/corpus/make_corpus.py`` rewrites the same bytes.
Structure at several scales (spelling, agreement, recurring characters within a story, dialogue,
counting) gives a character-level model something to learn at every size.
"""

from __future__ import annotations

import random
from pathlib import Path

TARGET_BYTES = 320_000
SEED = 20240611

NAMES = [
    "Ada",
    "Ben",
    "Clara",
    "Dev",
    "Elena",
    "Farid",
    "Greta",
    "Hugo",
    "Ines",
    "Jonah",
    "Kira",
    "Luca",
    "Mira",
    "Nils",
    "Olga",
    "Pablo",
    "Quinn",
    "Rosa",
    "Sami",
    "Tova",
    "Umar",
    "Vera",
    "Wim",
    "Yara",
    "Zeno",
]
ANIMALS = [
    "fox",
    "owl",
    "goat",
    "heron",
    "badger",
    "cat",
    "dog",
    "crow",
    "hare",
    "mule",
    "otter",
    "sparrow",
    "toad",
    "wolf",
    "beetle",
    "mouse",
]
PLACES = [
    "the mill",
    "the harbour",
    "the old bridge",
    "the orchard",
    "the market",
    "the forest",
    "the bakery",
    "the hill above the village",
    "the river bank",
    "the library",
    "the well",
    "the lighthouse",
    "the meadow",
    "the school",
    "the workshop",
    "the station",
]
OBJECTS = [
    "a lantern",
    "a map",
    "a basket of apples",
    "a silver key",
    "a broken clock",
    "a red kite",
    "a loaf of bread",
    "a letter",
    "a wooden box",
    "a blue scarf",
    "a jar of honey",
    "a compass",
    "a fishing net",
    "a small bell",
    "a book of songs",
    "a pair of boots",
]
ADJECTIVES = [
    "quiet",
    "bright",
    "cold",
    "windy",
    "strange",
    "gentle",
    "long",
    "busy",
    "dark",
    "warm",
    "grey",
    "golden",
    "narrow",
    "muddy",
    "peaceful",
    "noisy",
]
FEELINGS = ["happy", "worried", "tired", "curious", "surprised", "proud", "afraid", "calm"]
WEATHER = [
    "It was raining softly",
    "The sun was low and orange",
    "A thick fog covered the roofs",
    "Snow had fallen in the night",
    "The wind shook the shutters",
    "The sky was clear and blue",
]
TIMES = ["In the morning", "At noon", "Before supper", "Late in the evening", "At dawn", "Later"]
VERBS_PAST = [
    ("found", "looked for"),
    ("carried", "wanted to carry"),
    ("repaired", "tried to repair"),
    ("sold", "meant to sell"),
    ("hid", "decided to hide"),
    ("painted", "began to paint"),
    ("lost", "worried about losing"),
    ("gave away", "thought about giving away"),
]
SAYINGS = [
    "We should go before it gets dark",
    "I have never seen anything like this",
    "Do you remember where we left it",
    "Nothing is lost that cannot be found again",
    "Let us ask the old miller, he knows everything",
    "It is heavier than it looks",
    "Wait here, I will be back soon",
    "Who left the gate open",
    "The river is higher than last year",
    "I think someone has been here before us",
]
NUMBER_WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
]


def _story(rng: random.Random) -> str:
    a, b = rng.sample(NAMES, 2)
    pet = rng.choice(ANIMALS)
    place, other = rng.sample(PLACES, 2)
    thing = rng.choice(OBJECTS)
    adj = rng.choice(ADJECTIVES)
    out = [
        f"{rng.choice(WEATHER)} when {a} walked to {place} with a {adj} {pet}.",
        f"{a} was {rng.choice(FEELINGS)}, because {b} had {rng.choice(VERBS_PAST)[0]} "
        f"{thing} the day before.",
    ]
    for _ in range(rng.randint(3, 8)):
        kind = rng.random()
        who, whom = (a, b) if rng.random() < 0.5 else (b, a)
        if kind < 0.25:
            out.append(f'"{rng.choice(SAYINGS)}," said {who}.')
            if rng.random() < 0.5:
                out.append(f'"{rng.choice(SAYINGS)}?" asked {whom}.')
        elif kind < 0.45:
            done, wish = rng.choice(VERBS_PAST)
            out.append(
                f"{rng.choice(TIMES)}, {who} {wish} {rng.choice(OBJECTS)}, but the {pet} "
                f"ran off towards {other}."
            )
        elif kind < 0.6:
            n = rng.randint(2, 12)
            m = rng.randint(1, n - 1)
            out.append(
                f"There were {NUMBER_WORDS[n]} boats at {other}; {NUMBER_WORDS[m]} of them were "
                f"{rng.choice(ADJECTIVES)}, so {NUMBER_WORDS[n - m]} were not."
            )
        elif kind < 0.75:
            out.append(
                f"The {pet} sat by {rng.choice(PLACES)} and watched the {rng.choice(ADJECTIVES)} "
                f"water, and {who} felt {rng.choice(FEELINGS)}."
            )
        elif kind < 0.9:
            out.append(
                f"{who} and {whom} went to {rng.choice(PLACES)} together, where they "
                f"{rng.choice(VERBS_PAST)[0]} {rng.choice(OBJECTS)}."
            )
        else:
            out.append(f"{rng.choice(TIMES)} the {rng.choice(ADJECTIVES)} day was over.")
    out.append(
        f"In the end {a} kept {thing}, {b} went home, and the {pet} slept "
        f"{'by the fire' if rng.random() < 0.5 else 'under the stars'}."
    )
    return " ".join(out)


def make_corpus(target_bytes: int = TARGET_BYTES, seed: int = SEED) -> str:
    """Return about ``target_bytes`` of ASCII text, one story per paragraph."""
    rng = random.Random(seed)
    parts: list[str] = []
    size = 0
    while size < target_bytes:
        story = _story(rng)
        parts.append(story)
        size += len(story) + 2
    return "\n\n".join(parts) + "\n"


if __name__ == "__main__":
    path = Path(__file__).with_name("village_tales.txt")
    path.write_text(make_corpus())
    print(f"wrote {path} ({path.stat().st_size} bytes)")
