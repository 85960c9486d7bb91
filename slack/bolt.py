"""Builds the Bolt app: signature checks (Bolt's), origin and replay guards, and our listeners."""

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient
from sqlalchemy.exc import IntegrityError

from app.db import Database, enqueue_after_commit
from app.job_names import APPLY_DECISION_REQUEST
from app.services.slack_requests import record_foreign_request
from app.settings import Settings
from models import SlackRequestReceipt
from slack.decision_requests import answer_request, decision_request
from slack.listeners import actions, commands, events, views
from slack.listeners.common import AfterAck
from slack.origin import SlackOrigin, claimed_app_id

log = logging.getLogger(__name__)

Middleware = Callable[[BoltRequest, BoltResponse, Callable[[], BoltResponse]], BoltResponse]


def origin_guard(db: Database, origin: SlackOrigin) -> Middleware:
    """A request signed with our secret but from another workspace or app changes nothing."""

    def guard(
        req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        reason = origin.mismatch(
            team_id=req.context.team_id,
            app_id=claimed_app_id(req.body),
            enterprise_id=req.context.enterprise_id,
        )
        if reason is None:
            return next()
        log.warning("refused a Slack request: %s", reason)
        with db.session() as session:
            record_foreign_request(session, slack_user_id=req.context.user_id, reason=reason)
        return BoltResponse(status=403, body="")

    return guard


def receipt_guard(db: Database) -> Middleware:
    """Each signed request is recorded once, with the decision it asks for, before the ack.

    The same signature twice is a replay: ack it and ignore it. A recorded decision survives
    the process dying after the ack; a worker (or, failing that, the sweeper) applies it once.
    """

    def guard(
        req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        signature = (req.headers.get("x-slack-signature") or [""])[0][:100]
        request = decision_request(req.body)
        try:
            with db.session() as session:
                request = request or answer_request(session, req.body)
                session.add(
                    SlackRequestReceipt(
                        signature=signature,
                        decision_request=request.to_json() if request else None,
                    )
                )
                if request is not None:
                    # Applied by a worker, not here: this process only acks, so acks stay fast
                    # however many decisions are being applied. (Handed to the job relay at
                    # commit; if that is lost, the sweeper applies the stored request.)
                    enqueue_after_commit(session, APPLY_DECISION_REQUEST, signature)
        except IntegrityError:
            return BoltResponse(status=200, body="")
        return next()

    return guard


def build_bolt_app(settings: Settings, db: Database, client: WebClient) -> App:
    threads = settings.slack_listener_threads
    bolt = App(
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        client=client,
        # No auth.test at start-up: the API must boot even while Slack is unreachable.
        token_verification_enabled=False,
        # Bolt's listeners only ack and hand off, so this pool is never blocked on Slack or the DB.
        listener_executor=ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bolt-ack"),
    )
    origin = SlackOrigin(
        team_id=settings.slack_team_id,
        app_id=settings.slack_app_id,
        enterprise_id=settings.slack_enterprise_id,
    )
    bolt.middleware(origin_guard(db, origin))
    bolt.middleware(receipt_guard(db))
    after_ack = AfterAck(threads)
    actions.register(bolt, db, after_ack)
    views.register(bolt)
    commands.register(bolt, db, after_ack)
    events.register(bolt, db, after_ack)
    return bolt
