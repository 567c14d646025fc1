# Studio on a CUDA machine: the app and its worker (GPU lane + CPU lane) in one container.
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

# STUDIO_DEMO=1: without logins (STUDIO_AUTH / STUDIO_API_TOKENS) the image is a
# public demo (each browser its own visitor, no admin powers, work deleted after
# STUDIO_DEMO_RETENTION_H); with logins it has no effect. Models are not
# downloaded in the demo: put them in the image or in /data/models.
ENV DEBIAN_FRONTEND=noninteractive PYTHONUNBUFFERED=1 \
    STUDIO_HOME=/data GRADIO_SERVER_NAME=0.0.0.0 GRADIO_SERVER_PORT=7860 \
    STUDIO_DEMO=1
RUN apt-get update && apt-get install -y --no-install-recommends \
        python3 python3-venv python3-dev build-essential libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /app
COPY requirements.txt .
# torch==2.13.0 from PyPI is the CUDA build on Linux x86-64.
RUN pip install --no-cache-dir -r requirements.txt
COPY . .

# The studio and everything it runs (jobs, scenario scripts) run as an
# unprivileged user: it owns only /data (state) and its home (model caches);
# the code in /app stays root-owned and read-only to it.
RUN useradd --create-home --uid 10001 --user-group --shell /usr/sbin/nologin studio \
    && mkdir -p /data && chown studio:studio /data
ENV HOME=/home/studio HF_HOME=/home/studio/.cache/huggingface
USER studio

VOLUME /data
EXPOSE 7860
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s \
    CMD python3 -c "import urllib.request,json,sys; h=json.load(urllib.request.urlopen('http://127.0.0.1:7860/api/v1/health')); sys.exit(0 if h['worker']['alive'] else 1)"
CMD ["python3", "app.py"]
