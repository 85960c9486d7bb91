"""The baseline for the intake benchmark: a minimal FastAPI service that only queues a task.

No authentication, no de-duplication, nothing stored: it parses the same body and calls
Celery's send_task, as the issue defines the baseline. Run by bench/intake.py with uvicorn.
"""

import os

from celery import Celery
from fastapi import FastAPI
from pydantic import BaseModel

celery = Celery(
    "baseline", broker=os.environ.get("BASELINE_BROKER_URL", "redis://127.0.0.1:6379/0")
)
celery.conf.task_default_queue = os.environ.get("BASELINE_QUEUE", "baseline-intake")
app = FastAPI()


class ExpenseBody(BaseModel):
    amount: str
    currency: str
    category: str
    merchant: str
    description: str
    incurred_on: str


@app.post("/expenses", status_code=202)
def submit(body: ExpenseBody) -> dict[str, str]:
    celery.send_task("baseline.evaluate", args=[body.merchant])
    return {"status": "queued"}
