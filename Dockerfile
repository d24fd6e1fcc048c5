# Crier's image: `crier serve` by default; `crier worker` and every other command with the same
# image (`docker run … crier:latest db upgrade`). Settings come from the environment (README,
# "Configuration reference"); compose.yaml runs it beside PostgreSQL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A user of its own, without a shell or a password; its home holds the SQLite file and the
# status cards when no other database is configured. On PostgreSQL the cards are kept in
# /tmp/crier-cards, which compose.yaml shares between serve and the workers.
RUN groupadd --system crier \
    && useradd --system --gid crier --home-dir /var/lib/crier --create-home \
       --shell /usr/sbin/nologin crier \
    && install -d -o crier -g crier -m 0750 /tmp/crier-cards

WORKDIR /src
COPY . .
# Every dependency ships as a wheel for this Python: no compiler needed.
RUN pip install . && cd / && rm -rf /src

USER crier
WORKDIR /var/lib/crier
EXPOSE 3000

# Python, not curl: the slim image has no curl. A 503 (no database) fails it too.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/healthz' % (os.environ.get('CRIER_PORT') or os.environ.get('PORT') or '3000'), timeout=4)"]

# serve and worker stop on SIGTERM within seconds: unfinished work stays in the database.
STOPSIGNAL SIGTERM
ENTRYPOINT ["crier"]
CMD ["serve", "--host", "0.0.0.0"]
