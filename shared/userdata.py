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
ENV_FILE = "/run/student-helper/backend.env"
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
    *, region: str, image_parameter: str, settings_parameter: str, port: int, log_group: str
) -> str:
    """A bash script for cloud-init that installs the backend as a systemd service.

    It holds no settings and no image tag: the service reads both from SSM parameters each time it starts, so
    this script (and so the instance) does not change when they do.
    """
    q = shlex.quote
    return f"""#!/bin/bash
set -euo pipefail
# Docker comes from the AL2023 repositories, which are served from S3 (the gateway endpoint reaches them).
dnf install -y docker
systemctl enable --now docker

cat > /usr/local/bin/{SERVICE} <<'RUN'
#!/bin/bash
# Read the settings and the image from SSM, log in to ECR and pull through the VPC endpoints, run the container.
set -euo pipefail
umask 077
install -d -m 0700 /run/student-helper
# Non-secret settings only: the application reads secret values from Secrets Manager at run time.
aws ssm get-parameter --region {q(region)} --name {q(settings_parameter)} \\
  --query Parameter.Value --output text > {ENV_FILE}
image=$(aws ssm get-parameter --region {q(region)} --name {q(image_parameter)} \\
  --query Parameter.Value --output text)
aws ecr get-login-password --region {q(region)} \\
  | docker login --username AWS --password-stdin "${{image%%/*}}"
docker pull "$image"
docker rm -f backend 2>/dev/null || true
exec docker run --rm --name backend -p {port}:{port} --env-file {ENV_FILE} --log-driver awslogs \\
  --log-opt awslogs-region={q(region)} --log-opt awslogs-group={q(log_group)} \\
  "$image"
RUN
chmod 0755 /usr/local/bin/{SERVICE}

cat > /etc/systemd/system/{SERVICE}.service <<'UNIT'
[Unit]
Description=Student Helper FastAPI backend
After=docker.service network-online.target
Requires=docker.service
Wants=network-online.target

[Service]
Restart=always
RestartSec=5
ExecStart=/usr/local/bin/{SERVICE}
ExecStop=/usr/bin/docker stop backend

[Install]
WantedBy=multi-user.target
UNIT

systemctl daemon-reload
systemctl enable --now {SERVICE}.service
"""
