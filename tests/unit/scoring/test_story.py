"""examples/story.jsonl tells the story the README promises: A → B → C → D and back to A."""

from __future__ import annotations

from pathlib import Path

from schemas.codec import decode_event
from schemas.events import EventType
from scoring.changes import change_for
from scoring.fold import Params, fold
from scoring.model import load_model
from tests.support.builders import STORY_ALERTS

STORY = Path(__file__).parents[3] / "examples" / "story.jsonl"
MODEL = load_model()


def story_events():
    return [decode_event(line) for line in STORY.read_bytes().splitlines() if line.strip()]


def test_the_story_uses_every_event_type() -> None:
    used = {e.type for e in story_events()}
    assert used == set(EventType) - {EventType.REEVALUATE}


def test_the_story_goes_from_a_to_d_and_back_as_listings_are_removed() -> None:
    events = story_events()
    _, outcomes = fold([change_for(e, MODEL) for e in events], Params.of(MODEL))
    names = " ABCD"
    classes = [names[o.new_class] for o in outcomes]
    by_type = {str(e.type): c for e, c in zip(events, classes, strict=True)}
    # the narrative of the story, event by event
    assert classes[0] == "A"  # registered: a young firm, low risk
    assert by_type["penalty.imposed"] == "B"  # a food-safety penalty
    assert by_type["abnormal_list.added"] == "C"  # at least C while on the abnormal list
    assert by_type["serious_violation.added"] == "D"  # D while on the serious-violation list
    assert by_type["serious_violation.removed"] == "C"  # still on the abnormal list
    assert by_type["abnormal_list.removed"] == "B"
    assert classes[-1] == "A"  # penalty revoked, clean inspection
    changes = [
        (names[o.old_class], names[o.new_class]) for o in outcomes if o.old_class != o.new_class
    ]
    assert changes == [(" ", "A"), *STORY_ALERTS]
