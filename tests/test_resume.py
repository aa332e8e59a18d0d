"""Where reading resumes: a saved cursor's entry id, and entries read before told from new ones."""

from __future__ import annotations

from gaze.journal import JournalEntry
from gaze.resume import EntryId, ReadAgain, entry_id


def test_entries_read_before_are_told_from_new_ones() -> None:
    cursor = "s=aa;i=1f4;b=bb;m=1;t=2;x=3"
    assert entry_id(cursor) == EntryId("aa", 500)
    assert entry_id("garbage") is None and entry_id(None) is None and entry_id("s=aa;i=zz") is None
    again = ReadAgain(cursor, EntryId("aa", 500))
    old = JournalEntry("s=aa;i=1f3;b=bb", None, "read before")
    same = JournalEntry("s=aa;i=1f4;b=cc", None, "the saved one")
    later = JournalEntry("s=aa;i=1f5;b=bb", None, "after it")
    other = JournalEntry("s=cc;i=1;b=dd", None, "another file set")
    assert [again.keep(e) for e in (old, same, later, other)] == [False, False, True, True]
    assert again.dropped == 2 and again.first == later
    assert again.note(0).startswith("oc4d's log was cleaned up past the last line read")
