"""SQLAlchemy models: people, expenses, decisions, delegations, Slack messages, audit, policies."""

from models.approval import ApprovalStep
from models.audit import AuditChainHead, AuditEvent
from models.base import Base
from models.delegation import Delegation
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
    "Delegation",
    "Employee",
    "Expense",
    "PolicyVersion",
    "SlackChannelPace",
    "SlackMessage",
    "SlackRequestReceipt",
]
