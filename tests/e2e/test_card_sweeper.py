"""A lost card redraw is retried by the sweeper, as a lost post is: the card ends up true."""

from collections.abc import Iterator

import pytest

from bench.standins.server import ServerThread
from tests.e2e.conftest import sweeping_stack
from tests.e2e.harness import Stack, expense_body
from tests.e2e.test_conversation import cancel_losing_the_redraw, card_showing, unique_merchant

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, openai_standin: ServerThread, redis_url: str
) -> Iterator[Stack]:
    yield from sweeping_stack(tmp_path_factory.mktemp("card-sweeper"), openai_standin, redis_url)


def test_a_lost_chat_update_is_redrawn_by_the_sweeper(stack: Stack) -> None:
    body = expense_body(amount="1950.00", merchant=unique_merchant())
    expense_id = stack.submit_ok("dana", body)
    card = stack.card(expense_id)
    cancel_losing_the_redraw(stack, expense_id, card)
    # Nobody clicks: the sweeper finds the card drawn before the expense last changed.
    card_showing(stack, expense_id, "cancelled by the submitter", buttons=False)
