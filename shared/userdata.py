"""The backend instance's user data: Docker from the AL2023 repositories, the image from ECR, a systemd unit.

With no NAT, the instance reaches only VPC endpoints: dnf's AL2023 repositories are S3-hosted (the S3 gateway
endpoint), ECR login and pulls use the ecr.api / ecr.dkr endpoints (layers from S3), and container logs go to
CloudWatch through the logs endpoint. Nothing is fetched from the internet.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping

_ENV_KEY = re.compile(r"^[A-Z][A-Z0-9_]*$")
ENV_FILE = "/etc/student-helper/backend.env"
SERVICE = "student-helper-backend"


def render_env_file(settings: Mapping[str, str]) -> str:
    """``KEY=value`` lines for ``docker run --env-file`` (which takes values literally: no quoting)."""
    lines = []
    for key, value in sorted(settings.items()):
        if not _ENV_KEY.match(key):
            raise ValueError(f"environment variable name {key!r} must match {_ENV_KEY.pattern}")
        if "\n" in value:
            raise ValueError(f"environment variable {key} must be a single line")
        lines.append(f"{key}={value}")
    return "\n".join(lines) + "\n"


def render_backend_user_data(
    *, region: str, image_uri: str, port: int, log_group: str, settings: Mapping[str, str]
) -> str:
    """A bash script for cloud-init that installs and starts the backend container as a systemd service."""
    registry = image_uri.split("/", 1)[0]
    return f"""#!/bin/bash
set -euo pipefail
# Docker comes from the AL2023 repositories, which are served from S3 (the gateway endpoint reaches them).
dnf install -y docker
systemctl enable --now docker

install -d -m 0755 /etc/student-helper
# Non-secret settings only: the application reads secret values from Secrets Manager at run time.
cat > {ENV_FILE} <<'ENVFILE'
{render_env_file(settings)}ENVFILE
chmod 0600 {ENV_FILE}

cat > /usr/local/bin/{SERVICE}-ecr-login <<'LOGIN'
#!/bin/bash
set -euo pipefail
aws ecr get-login-password --region {shlex.quote(region)} \\
  | docker login --username AWS --password-stdin {shlex.quote(registry)}
LOGIN
chmod 0755 /usr/local/bin/{SERVICE}-ecr-login

cat > /etc/systemd/system/{SERVICE}.service <<'UNIT'
[Unit]
Description=Student Helper FastAPI backend
After=docker.service network-online.target
Requires=docker.service
Wants=network-online.target

[Service]
Restart=always
RestartSec=5
ExecStartPre=-/usr/bin/docker rm -f backend
ExecStartPre=/usr/local/bin/{SERVICE}-ecr-login
ExecStartPre=/usr/bin/docker pull {image_uri}
ExecStart=/usr/bin/docker run --rm --name backend -p {port}:{port} --env-file {ENV_FILE} \\
  --log-driver awslogs --log-opt awslogs-region={region} --log-opt awslogs-group={log_group} \\
  {image_uri}
ExecStop=/usr/bin/docker stop backend

[Install]
WantedBy=multi-user.target
UNIT

systemctl daemon-reload
systemctl enable --now {SERVICE}.service
"""
