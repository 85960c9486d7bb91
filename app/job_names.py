"""Background job names, shared by the services that queue jobs and the tasks that run them."""

EVALUATE_EXPENSE = "tasks.evaluation.evaluate_expense"
POST_APPROVAL_CARD = "tasks.notifications.post_approval_card"
UPDATE_APPROVAL_CARD = "tasks.notifications.update_approval_card"
POST_COMMENT = "tasks.notifications.post_comment"
NOTIFY_SUBMITTER = "tasks.notifications.notify_submitter"
SWEEP_STUCK = "tasks.maintenance.sweep_stuck"
POST_AUDIT_WITNESS = "tasks.witness.post_audit_witness"
