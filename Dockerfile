# GGMI Explorer: the Streamlit dashboard with Debian's Chromium for server-side PNG export.
# Build: docker build -t ggmi-explorer .   Run: docker run -p 8501:8501 ggmi-explorer
# scripts/test_deploy.sh builds and runs this file unchanged (with podman).

# Stage 1: the project as a wheel (pyproject.toml: the packages, app.py, pages/, assets/
# and .streamlit/config.toml). Only the wheel leaves this stage.
FROM python:3.11-slim-bookworm AS wheel
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

# Stage 2: the server.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BROWSER_PATH=/usr/bin/chromium \
    STREAMLIT_SERVER_HEADLESS=true \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    MALLOC_ARENA_MAX=2 \
    OPENBLAS_NUM_THREADS=1 \
    OMP_NUM_THREADS=1

# Chromium (kaleido renders PNGs with it) and fonts for readable figure text.
# Versions are not pinned on purpose: Debian's security updates replace them, and
# an old pin would stop the image from building once the archive drops it.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium fonts-liberation fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# A non-root user; its home holds Chromium's profile and caches.
RUN groupadd --gid 10001 app \
    && useradd --create-home --uid 10001 --gid 10001 --shell /usr/sbin/nologin app

# The tested dependencies first (requirements.txt, the same list the package declares), so
# that this layer is rebuilt only when they change, not on every change of the code.
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt && rm /tmp/requirements.txt

# The package itself, installed like any other (no source tree, no PYTHONPATH): the code
# stays owned by root, the app only reads it.
COPY --from=wheel /wheels /tmp/wheels
RUN pip install --no-cache-dir --no-deps /tmp/wheels/*.whl && rm -rf /tmp/wheels
# Build-time steps that need the installed package (such as compiling kernels ahead of
# time into site-packages) go here, as root, before USER: at run time the root file
# system may be read-only.

# The simulation's numba kernels, compiled into the image (no server or worker compiles).
ENV NUMBA_CACHE_DIR=/app/.numba-cache
RUN python -c "from ggmi_core._jit import compile_all; compile_all()" \
    && chown -R 10001:10001 /app/.numba-cache

# Numeric so orchestrators can verify the user is not root without /etc/passwd.
USER 10001:10001
WORKDIR /home/app
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://localhost:8501/_stcore/health', timeout=4).status == 200 else 1)"]

# ggmi-explorer (ggmi_app.serve) imports the app and builds the tour's figures, then runs
# `streamlit run` on the installed app.py with these options; Streamlit applies the
# .streamlit/config.toml installed beside that app.py. The health check answers once the
# server is warm.
CMD ["ggmi-explorer", "--server.address=0.0.0.0", "--server.port=8501"]
