"""SQLAlchemy models: employees, expenses, decisions, Slack messages, audit log, policy texts."""

from models.approval import ApprovalStep
from models.audit import AuditChainHead, AuditEvent
from models.base import Base
from models.employee import ApiToken, Employee
from models.expense import Comment, Decision, Expense
from models.policy import PolicyVersion
from models.slack import SlackChannelPace, SlackMessage, SlackRequestReceipt

__all__ = [
    "ApiToken",
    "ApprovalStep",
    "AuditChainHead",
    "AuditEvent",
    "Base",
    "Comment",
    "Decision",
    "Employee",
    "Expense",
    "PolicyVersion",
    "SlackChannelPace",
    "SlackMessage",
    "SlackRequestReceipt",
]
