FROM python:3.11-slim
WORKDIR /srv/expense-bot
# Production, explicitly: it refuses to start on example or placeholder secrets.
ENV APP_ENV=production
COPY pyproject.toml requirements.lock README.md ./
COPY app app
COPY models models
COPY slack slack
COPY tasks tasks
# Editable install: the project's `slack` package must not overwrite slack_sdk's legacy `slack`.
# /srv/receipts is created owned by the bot, so a fresh named volume mounted there is writable.
RUN pip install --no-cache-dir -c requirements.lock -e . && useradd --system expense-bot \
    && mkdir -p /srv/receipts && chown expense-bot /srv/receipts
USER expense-bot
EXPOSE 8000
CMD ["expense-bot", "api", "--host", "0.0.0.0", "--port", "8000"]
