"""Pre-Deployment Checklist: planning, code and configuration review, infrastructure readiness."""
