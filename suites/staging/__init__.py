"""Staging Deployment Checklist: pre-staging validation, deployment to staging, staging tests."""
