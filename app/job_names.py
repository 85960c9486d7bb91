"""Background job names, shared by the services that queue jobs and the tasks that run them."""

EVALUATE_EXPENSE = "tasks.evaluation.evaluate_expense"
# Many evaluations in one message: what the API's job relay sends (app/job_relay.py).
EVALUATE_EXPENSES = "tasks.evaluation.evaluate_expenses"
POST_APPROVAL_CARD = "tasks.notifications.post_approval_card"
UPDATE_APPROVAL_CARD = "tasks.notifications.update_approval_card"
POST_COMMENT = "tasks.notifications.post_comment"
NOTIFY_SUBMITTER = "tasks.notifications.notify_submitter"
NOTIFY_STEP = "tasks.notifications.notify_step"
SWEEP_STUCK = "tasks.maintenance.sweep_stuck"
APPLY_DECISION_REQUEST = "tasks.decision_requests.apply_decision_request"
POST_AUDIT_WITNESS = "tasks.witness.post_audit_witness"
