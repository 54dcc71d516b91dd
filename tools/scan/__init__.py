"""Scanning the synthesized infrastructure: Pulumi stack exports translated for checkov and cfn-lint, plus IAM linting.

See docs/scanning.md. The translation runs in the project venv; the scanners run from their own venv (.venv-scan).
"""
