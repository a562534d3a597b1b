# The Rasa server: NLU + dialogue, REST channel, trackers in the project database.
# The model is trained while the image is built, so every replica serves the same model.
# Build from the repository root:  docker build -f deploy/rasa.Dockerfile -t posbot-rasa .
FROM python:3.10-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RASA_TELEMETRY_ENABLED=false \
    OPENBLAS_NUM_THREADS=1 \
    OMP_NUM_THREADS=1 \
    MKL_NUM_THREADS=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 \
    PYTHONPATH=/srv/posbot \
    HOME=/srv/posbot

WORKDIR /srv/posbot

COPY requirements-rasa.txt ./
# rasa brings psycopg2 (its SQLTrackerStore's PostgreSQL driver) and redis (its lock store).
RUN pip install -r requirements-rasa.txt

# Training inputs (bot/ carries the custom NLU components; nothing else of it runs here).
COPY config.yml domain.yml credentials.yml ./
COPY data/nlu ./data/nlu
COPY data/dialogue ./data/dialogue
COPY data/jieba ./data/jieba
COPY bot ./bot
RUN rasa train --config config.yml --domain domain.yml --data data/nlu data/dialogue \
        --out models --fixed-model-name posbot

COPY deploy/rasa/endpoints.yml ./endpoints.yml

RUN useradd --system --uid 10001 --home-dir /srv/posbot posbot \
    && chown -R posbot /srv/posbot
USER 10001

EXPOSE 5005
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:5005/version', timeout=4).status != 200)"]
# The API token comes from the environment (POSBOT_RASA_TOKEN), never from the command line.
CMD ["python", "-m", "bot.rasa.serve", "--port", "5005", "--model", "models/posbot.tar.gz", "--endpoints", "endpoints.yml"]
