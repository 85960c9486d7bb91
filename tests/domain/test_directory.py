"""The directory's rules without a database: reading CSV, and planning a change."""

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.directory import COLUMNS, PersonRecord, Row, person_record, read_csv
from app.domain.directory_plan import (
    Outcome,
    check_keeps_admin,
    check_may_deactivate,
    plan_changes,
)
from app.domain.errors import InvalidRows, WouldLockOut

HEADER = ",".join(COLUMNS)


def csv_bytes(*lines: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def problems(data: bytes) -> list[tuple[int | None, str]]:
    with pytest.raises(InvalidRows) as refused:
        read_csv(data)
    return [(p.line, p.field) for p in refused.value.problems]


def record(
    email: str,
    manager: str | None = None,
    *,
    slack_user_id: str | None = None,
    department: str | None = None,
    roles: Sequence[str] = (),
    line: int | None = None,
) -> PersonRecord:
    return person_record(
        line=line,
        email=email,
        name=email.split("@")[0],
        slack_user_id=slack_user_id,
        manager_email=manager,
        department=department,
        cost_center=None,
        roles=roles,
    )


def row(line: int | None, email: str, manager: str | None = None, **fields: Any) -> Row:
    return Row(line, record(email, manager, line=line, **fields))


def stored(*records: PersonRecord) -> dict[str, PersonRecord]:
    return {r.email: r for r in records}


def plan_problems(
    rows: list[Row], directory: dict[str, PersonRecord]
) -> list[tuple[int | None, str, str]]:
    with pytest.raises(InvalidRows) as refused:
        plan_changes(rows, directory)
    return [(p.line, p.field, p.message) for p in refused.value.problems]


# --- reading CSV --------------------------------------------------------------------------


def test_a_file_is_read_with_its_line_numbers_roles_and_normalised_values() -> None:
    data = "\ufeff" + (
        "Email, Name ,slack_user_id,manager_email,department,cost_center,roles\n"
        "Ann@Corp.Example,Ann Lee,u0ann,BOB@corp.example,Sales,CC-1,approver; finance\n"
        "\n"
        '"bob@corp.example","Bob, Jr.",,,,,\n'
    )
    rows = read_csv(data.encode())
    assert [r.line for r in rows] == [2, 4]
    ann, bob = rows[0].record, rows[1].record
    assert ann.email == "ann@corp.example"
    assert ann.slack_user_id == "U0ANN"
    assert ann.manager_email == "bob@corp.example"
    assert ann.roles == ("approver", "employee", "finance")
    assert (ann.department, ann.cost_center) == ("Sales", "CC-1")
    assert bob.name == "Bob, Jr."
    assert bob.roles == ("employee",)
    assert (bob.slack_user_id, bob.manager_email, bob.department) == (None, None, None)


def test_a_header_alone_is_an_empty_directory_change() -> None:
    assert read_csv(csv_bytes()) == []


GOOD = "ann@corp.example,Ann,U0ANN,,Sales,CC-1,approver"


@pytest.mark.parametrize(
    ("bad_line", "field"),
    [
        ("not-an-email,Ann,,,,,", "email"),
        ("ann@corp,Ann,,,,,", "email"),
        (",Ann,,,,,", "email"),
        ("x@corp.example,,,,,,", "name"),
        ("x@corp.example,\u202e,,,,,", "name"),
        ('x@corp.example,"Two\nlines",,,,,', "name"),
        ("x@corp.example," + "n" * 201 + ",,,,,", "name"),
        ("x@corp.example,X,12345,,,,", "slack_user_id"),
        ("x@corp.example,X,U0 X,,,,", "slack_user_id"),
        ("x@corp.example,X,,boss,,,", "manager_email"),
        ("x@corp.example,X,,," + "d" * 101 + ",,", "department"),
        ("x@corp.example,X,,,," + "c" * 65 + ",", "cost_center"),
        ("x@corp.example,X,,,,,king", "roles"),
        ("x@corp.example,X,,,,,approver,finance", "row"),
        ("x@corp.example,X", "row"),
        ('x@corp.example,"X"y,,,,,', "row"),
        (GOOD.replace("U0ANN", "U0OTHER"), "email"),
        (GOOD.replace("ann@", "ann2@"), "slack_user_id"),
    ],
)
def test_each_bad_row_names_its_line_and_field(bad_line: str, field: str) -> None:
    found = problems(csv_bytes(GOOD, "bob@corp.example,Bob,,,,,", bad_line))
    assert found == [(4, field)]


def test_every_problem_is_reported_not_just_the_first() -> None:
    data = csv_bytes("bad,,U1 1,,,,king", GOOD, "also bad,B,,,,,")
    assert problems(data) == [
        (2, "email"),
        (2, "name"),
        (2, "slack_user_id"),
        (2, "roles"),
        (4, "email"),
    ]


def test_values_are_never_echoed_in_problems() -> None:
    secret = "hunter2-" + "x" * 30
    with pytest.raises(InvalidRows) as refused:
        read_csv(csv_bytes(f"{secret},{secret},{secret},{secret},,,{secret}"))
    assert secret not in str(refused.value)


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b"", (1, "header")),
        (b"email,name\nann@corp.example,Ann\n", (1, "header")),
        (csv_bytes(header=HEADER + ",salary"), (1, "header")),
        (csv_bytes(header=HEADER.replace("roles", "email")), (1, "header")),
        (csv_bytes(GOOD) + b"b@corp.example,\xff\xfe,,,,,\n", (3, "file")),
        (csv_bytes(GOOD, "b@corp.example,B\x00,,,,,"), (3, "file")),
    ],
)
def test_unreadable_files_say_where(data: bytes, where: tuple[int, str]) -> None:
    assert problems(data) == [where]


def test_an_unknown_column_is_named_when_it_looks_like_one() -> None:
    with pytest.raises(InvalidRows) as refused:
        read_csv(csv_bytes(header=HEADER + ",salary,\u202eevil"))
    message = refused.value.problems[0].message
    assert "'salary'" in message
    assert "column 9" in message
    assert "\u202e" not in message


# --- planning -----------------------------------------------------------------------------


def test_a_manager_may_be_on_a_later_row() -> None:
    plan = plan_changes(
        [row(2, "ann@corp.example", "bob@corp.example"), row(3, "bob@corp.example")], {}
    )
    assert [c.outcome for c in plan.changes] == [Outcome.ADDED, Outcome.ADDED]
    assert plan.changes[0].changes["manager_email"] == (None, "bob@corp.example")


def test_the_same_people_again_change_nothing_and_a_difference_is_an_update() -> None:
    directory = stored(
        record("ann@corp.example", "bob@corp.example", slack_user_id="U0ANN"),
        record("bob@corp.example"),
    )
    same = [row(2, "ann@corp.example", "bob@corp.example"), row(3, "bob@corp.example")]
    assert [c.outcome for c in plan_changes(same, directory).changes] == [Outcome.UNCHANGED] * 2
    promoted = [row(2, "bob@corp.example", roles=("approver",), department="Ops")]
    change = plan_changes(promoted, directory).changes[0]
    assert change.outcome is Outcome.UPDATED
    assert change.changes == {
        "department": (None, "Ops"),
        "roles": (("employee",), ("approver", "employee")),
    }


def test_an_empty_slack_id_keeps_the_stored_one() -> None:
    directory = stored(record("ann@corp.example", slack_user_id="U0ANN"))
    plan = plan_changes([row(2, "ann@corp.example")], directory)
    assert plan.changes[0].record.slack_user_id == "U0ANN"
    assert plan.needing_slack_id() == []


def test_a_loop_of_managers_within_the_file_is_refused_once() -> None:
    rows = [
        row(2, "a@corp.example", "b@corp.example"),
        row(3, "b@corp.example", "c@corp.example"),
        row(4, "c@corp.example", "a@corp.example"),
    ]
    assert plan_problems(rows, {}) == [
        (
            2,
            "manager_email",
            "managers would loop: a@corp.example -> b@corp.example -> c@corp.example "
            "-> a@corp.example",
        )
    ]


def test_a_loop_through_someone_already_stored_is_refused() -> None:
    directory = stored(record("boss@corp.example", "mid@corp.example"), record("mid@corp.example"))
    found = plan_problems([row(7, "mid@corp.example", "boss@corp.example")], directory)
    assert found == [
        (
            7,
            "manager_email",
            "managers would loop: mid@corp.example -> boss@corp.example -> mid@corp.example",
        )
    ]


def test_a_chain_of_thousands_of_managers_is_planned_and_its_loop_found() -> None:
    people = [f"p{i}@corp.example" for i in range(3000)]
    chain = [
        row(i + 2, email, people[i + 1] if i + 1 < len(people) else None)
        for i, email in enumerate(people)
    ]
    assert plan_changes(chain, {}).count(Outcome.ADDED) == len(people)
    looped = [*chain[:-1], row(len(people) + 1, people[-1], people[0])]
    [(line, field, message)] = plan_problems(looped, {})
    assert (line, field) == (2, "manager_email")
    assert message.startswith(f"managers would loop: {people[0]} -> {people[1]} -> ")


def test_managing_oneself_and_unknown_managers_are_refused() -> None:
    rows = [row(2, "a@corp.example", "a@corp.example"), row(3, "b@corp.example", "z@corp.example")]
    assert [(line, field) for line, field, _ in plan_problems(rows, {})] == [
        (2, "manager_email"),
        (3, "manager_email"),
    ]


def test_a_slack_id_held_by_someone_else_is_refused() -> None:
    directory = stored(record("ann@corp.example", slack_user_id="U0ANN"))
    found = plan_problems([row(5, "bob@corp.example", slack_user_id="U0ANN")], directory)
    assert found == [(5, "slack_user_id", "this Slack user id belongs to ann@corp.example")]


def test_slack_ids_may_be_swapped_in_one_change() -> None:
    directory = stored(
        record("ann@corp.example", slack_user_id="U0ANN"),
        record("bob@corp.example", slack_user_id="U0BOB"),
    )
    rows = [
        row(2, "ann@corp.example", slack_user_id="U0BOB"),
        row(3, "bob@corp.example", slack_user_id="U0ANN"),
    ]
    assert [c.outcome for c in plan_changes(rows, directory).changes] == [Outcome.UPDATED] * 2


def test_a_looked_up_id_already_linked_is_reported_not_stored() -> None:
    directory = stored(record("ann@corp.example", slack_user_id="U0ANN"))
    plan = plan_changes(
        [row(2, "alias@corp.example"), row(3, "cy@corp.example")],
        directory,
        {"alias@corp.example": "U0ANN", "cy@corp.example": "U0CY"},
    )
    assert plan.changes[0].record.slack_user_id is None
    assert plan.lookup_refused == {
        "alias@corp.example": "Slack user U0ANN is already linked to ann@corp.example"
    }
    assert plan.changes[1].record.slack_user_id == "U0CY"


def test_an_admin_may_not_lock_themselves_out() -> None:
    directory = stored(record("root@corp.example"))
    demoted = plan_changes([row(None, "root@corp.example", roles=("finance",))], directory)
    with pytest.raises(WouldLockOut):
        check_keeps_admin(demoted, "root@corp.example")
    check_keeps_admin(demoted, "other@corp.example")
    kept = plan_changes([row(None, "root@corp.example", roles=("admin",))], directory)
    check_keeps_admin(kept, "root@corp.example")
    with pytest.raises(WouldLockOut):
        check_may_deactivate("root@corp.example", "root@corp.example")
    check_may_deactivate("root@corp.example", "other@corp.example")


# --- a property: planning the result of a plan changes nothing ----------------------------

people = st.lists(
    st.tuples(
        st.sampled_from(["ann", "bob", "cy", "dee", "eve", "fay"]),
        st.sampled_from([None, "Sales", "Ops"]),
        st.lists(st.sampled_from(["approver", "finance", "auditor", "admin"]), max_size=2),
    ),
    max_size=6,
    unique_by=lambda p: p[0],
)


@given(people=people, data=st.data())
def test_applying_a_plan_and_planning_again_changes_nothing(
    people: list[tuple[str, str | None, list[str]]], data: st.DataObject
) -> None:
    rows = []
    for line, (handle, department, roles) in enumerate(people, 2):
        # Managers only point at earlier people, so no loop is generated.
        earlier = [p[0] for p in people[: line - 2]]
        manager = data.draw(st.sampled_from([None, *earlier]))
        rows.append(
            row(
                line,
                f"{handle}@corp.example",
                f"{manager}@corp.example" if manager else None,
                department=department,
                roles=roles,
            )
        )
    first = plan_changes(rows, {})
    assert all(c.outcome is Outcome.ADDED for c in first.changes)
    directory = stored(*(c.record for c in first.changes))
    again = plan_changes(rows, directory)
    assert all(c.outcome is Outcome.UNCHANGED and not c.changes for c in again.changes)
