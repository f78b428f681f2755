# syntax=docker/dockerfile:1
# docker-compose.yml's AWS emulator: moto with the project's lifecycle extension (dev/aws), the same
# pinned packages as `npm run stack` installs (dev/requirements.txt), listening on the container's
# network instead of loopback. Built with the repository root as context.
FROM python:3.11-slim
WORKDIR /emulator
COPY dev/requirements.txt ./
RUN pip install --no-cache-dir --disable-pip-version-check -r requirements.txt
COPY dev/aws ./
USER 1000:1000
EXPOSE 4566
ENTRYPOINT ["python", "server.py", "--host", "0.0.0.0", "--port", "4566"]
