FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN useradd --create-home --uid 10001 sandbox

COPY pyproject.toml README.md ./
COPY sandbox ./sandbox
COPY fixtures ./fixtures
COPY openapi ./openapi
RUN pip install --no-cache-dir -e .

USER 10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/_sandbox/health')"]
CMD ["sandbox", "serve", "--host", "0.0.0.0", "--port", "8000"]
